package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// The edge's durable state under DataDir:
//
//	state.json            scripts: metadata, asset manifests and config, subdomain state
//	assets/ab/abcdef...   asset contents, content-addressed by the client's 32-hex hash
//	                      and shared by every script of the account
//	modules/ab/abcdef...  script module contents, by SHA-256
//	sessions/<id>.json    asset upload sessions, pruned after their tokens expire
//	keys/token.key        the HMAC key that signs upload and completion tokens
//
// Every file is written to a temporary name and renamed into place, so a crash never
// leaves a torn file behind.

// script is one Worker. A *script reachable from the store is never modified:
// updates build a new value and swap it in, so readers need no lock beyond the lookup.
type script struct {
	Name               string            `json:"name"`
	Tag                string            `json:"tag"`
	CreatedOn          time.Time         `json:"created_on"`
	ModifiedOn         time.Time         `json:"modified_on"`
	Etag               string            `json:"etag"`
	DeploymentID       string            `json:"deployment_id"`
	CompatibilityDate  string            `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string          `json:"compatibility_flags,omitempty"`
	MainModule         string            `json:"main_module,omitempty"`
	Modules            []module          `json:"modules,omitempty"`
	Bindings           []json.RawMessage `json:"bindings,omitempty"`
	Assets             *assetSet         `json:"assets,omitempty"`
	Subdomain          subdomainState    `json:"subdomain"`
}

// module is one uploaded module part of a script; its content is in modules/.
type module struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Hash        string `json:"hash"`
	Size        int64  `json:"size"`
}

// assetSet is the static assets a script serves.
type assetSet struct {
	Manifest map[string]manifestEntry `json:"manifest"` // by path, "/index.html"
	Config   assetConfig              `json:"config"`
}

type manifestEntry struct {
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// assetConfig is metadata.assets.config of a script upload.
type assetConfig struct {
	HTMLHandling     string          `json:"html_handling,omitempty"`
	NotFoundHandling string          `json:"not_found_handling,omitempty"`
	Headers          string          `json:"_headers,omitempty"`
	Redirects        string          `json:"_redirects,omitempty"`
	RunWorkerFirst   json.RawMessage `json:"run_worker_first,omitempty"`
}

type subdomainState struct {
	Enabled         bool `json:"enabled"`
	PreviewsEnabled bool `json:"previews_enabled"`
}

// session is an asset upload session: the manifest a client announced.
type session struct {
	ID       string                   `json:"id"`
	Account  string                   `json:"account"`
	Script   string                   `json:"script"`
	Manifest map[string]manifestEntry `json:"manifest"`
	Created  time.Time                `json:"created"`
}

// state is the content of state.json.
type state struct {
	Version int                `json:"version"`
	Scripts map[string]*script `json:"scripts"`
}

const stateVersion = 1

type store struct {
	dir string

	mu      sync.RWMutex // guards scripts and state.json
	scripts map[string]*script
}

var (
	assetHashPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	sessionIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func openStore(dir string) (*store, error) {
	for _, sub := range []string{"assets", "modules", "sessions", "keys"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	s := &store{dir: dir, scripts: map[string]*script{}}
	data, err := os.ReadFile(s.statePath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.statePath(), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s has version %d, want %d", s.statePath(), st.Version, stateVersion)
	}
	if st.Scripts != nil {
		s.scripts = st.Scripts
	}
	return s, nil
}

func (s *store) statePath() string { return filepath.Join(s.dir, "state.json") }
func (s *store) keyPath() string   { return filepath.Join(s.dir, "keys", "token.key") }

// script returns the script named name.
func (s *store) script(name string) (*script, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc, ok := s.scripts[name]
	return sc, ok
}

// list returns every script, by name.
func (s *store) list() []*script {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slices.Collect(maps.Values(s.scripts))
	slices.SortFunc(out, func(a, b *script) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// update runs fn on a copy of the scripts map and, if fn succeeds, persists the copy
// and makes it current. fn must replace entries rather than modify them.
func (s *store) update(fn func(scripts map[string]*script) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.scripts)
	if err := fn(next); err != nil {
		return err
	}
	data, err := json.MarshalIndent(state{Version: stateVersion, Scripts: next}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := writeFileAtomic(s.statePath(), data, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	s.scripts = next
	return nil
}

func (s *store) assetPath(hash string) string {
	return filepath.Join(s.dir, "assets", hash[:2], hash)
}

// hasAsset reports whether the content of hash is stored.
func (s *store) hasAsset(hash string) bool {
	if !assetHashPattern.MatchString(hash) {
		return false
	}
	_, err := os.Stat(s.assetPath(hash))
	return err == nil
}

// putAsset stores content under hash. Storing a hash twice keeps the first copy:
// content is addressed by hash, and the hash is the client's promise.
func (s *store) putAsset(hash string, content []byte) error {
	if !assetHashPattern.MatchString(hash) {
		return fmt.Errorf("invalid asset hash %q", hash)
	}
	if s.hasAsset(hash) {
		return nil
	}
	p := s.assetPath(hash)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(p, content, 0o644)
}

// openAsset opens the stored content of hash.
func (s *store) openAsset(hash string) (*os.File, error) {
	if !assetHashPattern.MatchString(hash) {
		return nil, fmt.Errorf("invalid asset hash %q", hash)
	}
	return os.Open(s.assetPath(hash))
}

// putModule stores a module's content and returns its SHA-256.
func (s *store) putModule(content []byte) (string, error) {
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	p := filepath.Join(s.dir, "modules", hash[:2], hash)
	if _, err := os.Stat(p); err == nil {
		return hash, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return hash, writeFileAtomic(p, content, 0o644)
}

// readModule returns a module's content.
func (s *store) readModule(hash string) ([]byte, error) {
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("invalid module hash %q", hash)
	}
	return os.ReadFile(filepath.Join(s.dir, "modules", hash[:2], hash))
}

func (s *store) sessionPath(id string) string {
	return filepath.Join(s.dir, "sessions", id+".json")
}

func (s *store) saveSession(ss *session) error {
	data, err := json.Marshal(ss)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	return writeFileAtomic(s.sessionPath(ss.ID), data, 0o644)
}

// errNoSession is returned by loadSession for an unknown or pruned session.
var errNoSession = errors.New("upload session not found")

func (s *store) loadSession(id string) (*session, error) {
	if !sessionIDPattern.MatchString(id) {
		return nil, errNoSession
	}
	data, err := os.ReadFile(s.sessionPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	var ss session
	if err := json.Unmarshal(data, &ss); err != nil {
		return nil, fmt.Errorf("parse session %s: %w", id, err)
	}
	return &ss, nil
}

// sessionRetention is how long a session is kept: its upload token lasts one hour,
// and a completion token issued at the end of that hour lasts one more.
const sessionRetention = 2 * tokenLifetime

// pruneSessions deletes sessions no token can refer to any more.
func (s *store) pruneSessions(now time.Time) (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "sessions"))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, ent := range entries {
		id, ok := strings.CutSuffix(ent.Name(), ".json")
		if !ok || ent.IsDir() {
			continue
		}
		ss, err := s.loadSession(id)
		if err == nil && now.Sub(ss.Created) < sessionRetention {
			continue
		}
		// Unreadable sessions are removed too: no token can use them.
		if err := os.Remove(filepath.Join(s.dir, "sessions", ent.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// writeFileAtomic writes data to path through a temporary file in the same folder
// and a rename, syncing both, so readers see the old or the new content, never part.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
