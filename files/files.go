// Package files holds the source files of one app version: the type every stage of the
// pipeline passes around (generator, store, builder) and the rules a path must follow.
package files

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// File is one file of an app, its path relative to the app root with forward slashes.
type File struct {
	Path    string `json:"path"`
	Content []byte `json:"content"`
}

// Hash is the hex SHA-256 of content: the content address used by the store and the
// build cache.
func Hash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// ErrInvalidPath is returned (wrapped) by CleanPath for a path an app may not hold.
var ErrInvalidPath = errors.New("invalid path")

// MaxPathLength bounds a file path.
const MaxPathLength = 200

// CleanPath checks that p is a relative path inside the app and returns it in canonical
// form. It refuses absolute paths, "..", empty segments, backslashes and control
// characters. Which folders an app may write to is a generator's policy, not this one.
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidPath)
	}
	if len(p) > MaxPathLength {
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidPath, MaxPathLength)
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: %q is absolute", ErrInvalidPath, p)
	}
	if strings.ContainsAny(p, "\\:") {
		return "", fmt.Errorf("%w: %q contains a backslash or colon", ErrInvalidPath, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: %q contains a control character", ErrInvalidPath, p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return "", fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, p)
		case ".", "..":
			return "", fmt.Errorf("%w: %q leaves the app folder", ErrInvalidPath, p)
		}
	}
	return path.Clean(p), nil
}

// Sort orders fs by path, in place, and returns it.
func Sort(fs []File) []File {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs
}

// Find returns the file at p, if any.
func Find(fs []File, p string) (File, bool) {
	for _, f := range fs {
		if f.Path == p {
			return f, true
		}
	}
	return File{}, false
}

// Merge returns base with every file of overlay replacing or adding to it, sorted.
func Merge(base, overlay []File) []File {
	byPath := make(map[string]File, len(base)+len(overlay))
	for _, f := range base {
		byPath[f.Path] = f
	}
	for _, f := range overlay {
		byPath[f.Path] = f
	}
	out := make([]File, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	return Sort(out)
}

// TreeHash is a stable hash of a whole file set (paths and contents), independent of
// order: the identity of a build input.
func TreeHash(fs []File) string {
	sorted := append([]File(nil), fs...)
	Sort(sorted)
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s\x00%s\x00", f.Path, Hash(f.Content))
	}
	return hex.EncodeToString(h.Sum(nil))
}
