package agent

import (
	"fmt"
	"strings"

	"github.com/appforge/appforge/files"
)

// Which files the model may write. Everything it writes goes into the app's source and
// is built by Vite, so it is confined to the folders and the few config files a Vite app
// needs; package.json changes only through add_dependency, where every name and version
// is checked.

// configFiles are the files outside src/ and public/ the model may write. Neither
// runs as code at build time: the type checker and Vite read them as data.
var configFiles = map[string]bool{"index.html": true, "tsconfig.json": true}

// viteConfig is the template's Vite config. The model may read it, never write it: Vite
// runs it as a Node program on the build worker, where it could read the worker's files
// and environment (keys, tokens) and put them in the public bundle. A request that a
// config change would serve (a plugin, an alias) is answered in the app's code instead.
const viteConfig = "vite.config.ts"

// essentialFiles may be changed but not deleted: without them nothing builds.
var essentialFiles = map[string]bool{"index.html": true, "vite.config.ts": true, "tsconfig.json": true,
	"package.json": true, "src/main.tsx": true}

const packageJSON = "package.json"

// pathRule is what every refusal tells the model, so that it can correct itself.
const pathRule = "Files must be under src/ or public/, or be index.html or tsconfig.json, " +
	"given as a relative path such as src/components/List.tsx; package.json changes only through add_dependency."

// writablePath checks that the model may write p and returns it in canonical form. The
// error is written for the model: it says what is wrong and what the rule is.
func writablePath(p string) (string, error) {
	clean, err := readablePath(p)
	if err != nil {
		return "", err
	}
	segs := strings.Split(clean, "/")
	for _, s := range segs {
		switch {
		case s == "node_modules" || s == "dist":
			return "", fmt.Errorf("%q is inside %s/, which the build manages. %s", p, s, pathRule)
		case strings.HasPrefix(s, "."):
			return "", fmt.Errorf("%q is a hidden file or folder (secrets and tool settings live in those, never in the app). %s", p, pathRule)
		}
	}
	switch {
	case clean == packageJSON:
		return "", fmt.Errorf("package.json cannot be written directly; use add_dependency to add a package")
	case clean == viteConfig || strings.HasPrefix(clean, "vite.config."):
		return "", fmt.Errorf("%s is fixed: the build runs it as code, so appforge keeps the template's. Do what you need in the app's code under src/ instead (no Vite plugins or aliases)", clean)
	case configFiles[clean]:
		return clean, nil
	case len(segs) > 1 && (segs[0] == "src" || segs[0] == "public"):
		return clean, nil
	}
	return "", fmt.Errorf("%q is outside the app's source. %s", p, pathRule)
}

// readablePath checks that p names a file of the app at all (relative, no "..") and
// returns it in canonical form. A leading "./" is forgiven.
func readablePath(p string) (string, error) {
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	if strings.TrimSpace(p) == "" {
		return "", fmt.Errorf("the path is empty. %s", pathRule)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") || (len(p) > 1 && p[1] == ':') {
		return "", fmt.Errorf("%q is an absolute path; paths are relative to the app folder. %s", p, pathRule)
	}
	if strings.Contains(p, "\\") {
		return "", fmt.Errorf("%q contains a backslash; use forward slashes. %s", p, pathRule)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("%q leaves the app folder (..). %s", p, pathRule)
		}
		if seg != strings.TrimSpace(seg) {
			return "", fmt.Errorf("%q has spaces at the start or end of a name. %s", p, pathRule)
		}
	}
	clean, err := files.CleanPath(p)
	if err != nil {
		return "", fmt.Errorf("%v. %s", err, pathRule)
	}
	return clean, nil
}

// planPath checks a path the plan names: a writable path, or package.json (which the
// agent changes through add_dependency).
func planPath(p string) (string, error) {
	if c, err := readablePath(p); err == nil && c == packageJSON {
		return c, nil
	}
	return writablePath(p)
}
