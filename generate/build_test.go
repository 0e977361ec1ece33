package generate

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/files"
)

// buildStep is one version of an app in a build chain: the message that makes it from
// the previous version (or from nothing).
type buildStep struct {
	name    string
	message string
}

// buildChains makes, for every kind, a new app and then each kind of change, one on top
// of the other, ending with a title full of characters that need escaping.
var buildChains = map[kindID][]buildStep{
	kindTodo: {
		{"new", "Create a todo app for my groceries"},
		{"title", "make the title say My Tasks"},
		{"accent", "make it green"},
		{"hex-dark", "use #ff8800 as the accent and switch to dark mode"},
		{"light-odd-title", `switch to light mode and rename it to "Q&A <Board> {x} $1 'it'"`},
	},
	kindNotes: {
		{"new", "Create a notes app named Journal with a purple theme in dark mode"},
		{"title", "rename it to Ideas"},
		{"accent", "use #0ea5e9 as the accent"},
		{"light", "switch to light mode"},
		{"odd-title", `change the title to "</title><script>x</script> & {y}"`},
	},
	kindCounter: {
		{"new", "build a counter that counts by 5"},
		{"title", "call it Push-ups"},
		{"accent", "make it teal"},
		{"dark", "dark mode please"},
		{"odd-title", `rename it to "Count \"quoted\" ${n}"`},
	},
	kindTimer: {
		{"new", "a 10 minute pomodoro timer called Focus"},
		{"title", "change the title to Deep Work"},
		{"accent", "make it red"},
		{"dark", "switch to dark mode"},
		{"odd-title", `rename it to "<b>Timer</b> & co"`},
	},
	kindLanding: {
		{"new", "Create a landing page for my coffee shop called Bean There, in amber"},
		{"title", "rename it to Nimbus"},
		{"tagline", "change the tagline to Storage that just works"},
		{"accent-dark", "use #16a34a as the accent and dark mode"},
		{"odd", `change the tagline to "It's <fast> & {safe}" and rename it to "A & B"`},
	},
}

// TestOfflineKindsBuild type-checks and builds every kind and every change for real:
// tsc --noEmit and vite build with the template's dependencies, installed once per run.
func TestOfflineKindsBuild(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm is not on PATH and CI is set: the builds must run: %v", err)
		}
		t.Skip("npm is not on PATH: skipping the real tsc and vite build of every kind")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("npm is on PATH but node is not: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel) // after the parallel subtests, unlike defer

	// One dependency install for the whole run, shared through a node_modules link.
	deps := t.TempDir()
	pkg, ok := files.Find(Template(), "package.json")
	if !ok {
		t.Fatal("template has no package.json")
	}
	if err := os.WriteFile(filepath.Join(deps, "package.json"), pkg.Content, 0o644); err != nil {
		t.Fatal(err)
	}
	run(ctx, t, deps, npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	modules := filepath.Join(deps, "node_modules")

	// Build the chains' versions first (cheap, sequential), then the builds in parallel.
	type version struct {
		name  string
		files []files.File
	}
	var versions []version
	g := NewOffline()
	for _, k := range kinds {
		chain := buildChains[k.ID]
		if len(chain) == 0 {
			t.Fatalf("no build chain for kind %s", k.ID)
		}
		var base []files.File
		var state []byte
		for _, step := range chain {
			req := Request{AppID: "build-test", Message: step.message, Base: base, BaseState: state}
			plan, err := g.Plan(ctx, req)
			if err != nil {
				t.Fatalf("%s/%s: plan: %v", k.ID, step.name, err)
			}
			if !plan.Supported {
				t.Fatalf("%s/%s: %q not supported: %s", k.ID, step.name, step.message, plan.Reply)
			}
			res, err := g.Generate(ctx, req, plan, nil)
			if err != nil {
				t.Fatalf("%s/%s: generate: %v", k.ID, step.name, err)
			}
			if len(base) == 0 {
				if got, _ := decodeState(res.State); got.Kind != k.ID {
					t.Fatalf("%s/%s: made kind %q, want %q", k.ID, step.name, got.Kind, k.ID)
				}
			}
			base, state = res.Files, res.State
			versions = append(versions, version{string(k.ID) + "/" + step.name, res.Files})
		}
	}

	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range v.files {
				p := filepath.Join(dir, filepath.FromSlash(f.Path))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
				t.Fatal(err)
			}
			run(ctx, t, dir, filepath.Join(dir, "node_modules", ".bin", "tsc"), "--noEmit", "-p", ".")
			out := run(ctx, t, dir, node, filepath.Join("node_modules", "vite", "bin", "vite.js"), "build")

			if _, err := os.Stat(filepath.Join(dir, "dist", "index.html")); err != nil {
				t.Errorf("no dist/index.html: %v", err)
			}
			js, _ := filepath.Glob(filepath.Join(dir, "dist", "assets", "*.js"))
			if len(js) == 0 {
				t.Errorf("no JS asset in dist/assets")
			}
			for _, line := range sizeLines(out) {
				t.Log(line)
			}
		})
	}
}

// run runs a command in dir and returns its combined output, failing the test with it.
func run(ctx context.Context, t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

var ansiRe = regexp.MustCompile("\x1b\\[[0-9;]*m")

// sizeLines picks vite's report of output files ("dist/assets/index-x.js  201 kB").
func sizeLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(ansiRe.ReplaceAllString(out, ""), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "dist/") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	return lines
}
