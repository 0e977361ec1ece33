package build_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// These tests run real npm, tsc and vite. They share one dependency cache, made by
// TestMain, so npm installs the template's dependency set once per `go test` run.
var cacheDir string

// The test binary doubles as a second process for TestConcurrentBuildsInstallOnce.
const helperEnv = "APPFORGE_BUILD_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperEnsureDeps())
	}
	dir, err := os.MkdirTemp("", "appforge-build-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// helperEnsureDeps installs a package.json's dependency set from another process.
func helperEnsureDeps() int {
	pkg, err := os.ReadFile(os.Getenv(helperEnv + "_PKG"))
	if err == nil {
		var b *build.Builder
		b, err = build.New(build.Config{
			WorkDir: os.Getenv(helperEnv + "_WORK"), CacheDir: os.Getenv(helperEnv + "_CACHE"),
			NPM: os.Getenv(helperEnv + "_NPM"),
		})
		if err == nil {
			var key string
			key, _, err = b.EnsureDeps(context.Background(), pkg)
			fmt.Print(key)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func newBuilder(t testing.TB, configure func(*build.Config)) *build.Builder {
	t.Helper()
	cfg := build.Config{WorkDir: t.TempDir(), CacheDir: cacheDir}
	if configure != nil {
		configure(&cfg)
	}
	b, err := build.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// app is the foundation template with some files replaced or added.
func app(overlay map[string]string) []files.File {
	var fs []files.File
	for p, c := range overlay {
		fs = append(fs, files.File{Path: p, Content: []byte(c)})
	}
	return files.Merge(generate.Template(), fs)
}

// withDeps returns the template's package.json with extra dependencies.
func withDeps(t testing.TB, extra map[string]string) string {
	t.Helper()
	pkg, _ := files.Find(generate.Template(), "package.json")
	var m map[string]any
	if err := json.Unmarshal(pkg.Content, &m); err != nil {
		t.Fatal(err)
	}
	deps := m["dependencies"].(map[string]any)
	for k, v := range extra {
		deps[k] = v
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// countingNPM returns an npm that appends a line to the returned file each time it runs.
func countingNPM(t testing.TB) (npm, count string) {
	t.Helper()
	real, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	count = filepath.Join(dir, "runs")
	npm = filepath.Join(dir, "npm")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %q\nexec %q \"$@\"\n", count, real)
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm, count
}

func npmRuns(t testing.TB, count string) int {
	t.Helper()
	b, err := os.ReadFile(count)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

var (
	hashedJS  = regexp.MustCompile(`^assets/index-[A-Za-z0-9_-]{8}\.js$`)
	hashedCSS = regexp.MustCompile(`^assets/index-[A-Za-z0-9_-]{8}\.css$`)
)

func TestBuildTemplate(t *testing.T) {
	// Every stage runs, vite among them.
	b := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1; c.PreviewEngine = build.EngineVite })
	var stages []string
	out, err := b.Build(t.Context(), build.Request{ID: "template", Files: generate.Template(), TypeCheck: true}, func(stage string) {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := out.Report

	if want := []string{"prepare", "install", "link", "typecheck", "build", "report"}; !slices.Equal(stages, want) {
		t.Errorf("stages = %v, want %v", stages, want)
	}
	var html, js, css bool
	var total, totalGzip int64
	for _, f := range rep.Files {
		total += f.Size
		totalGzip += f.GzipSize
		if f.Size <= 0 || f.GzipSize <= 0 {
			t.Errorf("%s: size %d, gzip size %d; want both > 0", f.Path, f.Size, f.GzipSize)
		}
		switch {
		case f.Path == "index.html":
			html = true
		case hashedJS.MatchString(f.Path):
			js = true
			if f.GzipSize >= f.Size {
				t.Errorf("%s: gzip size %d not below size %d", f.Path, f.GzipSize, f.Size)
			}
		case hashedCSS.MatchString(f.Path):
			css = true
		}
	}
	if !html || !js || !css {
		t.Errorf("report files %+v: want index.html, a hashed JS and a hashed CSS file", rep.Files)
	}
	if rep.TotalSize != total || rep.TotalGzipSize != totalGzip {
		t.Errorf("totals %d/%d, want the sums %d/%d", rep.TotalSize, rep.TotalGzipSize, total, totalGzip)
	}
	if len(out.Assets) != len(rep.Files) {
		t.Fatalf("%d assets for %d report files", len(out.Assets), len(rep.Files))
	}
	for i, a := range out.Assets {
		if a.Path != rep.Files[i].Path || int64(len(a.Content)) != rep.Files[i].Size {
			t.Errorf("asset %d is %s (%d bytes), report says %s (%d bytes)", i, a.Path, len(a.Content), rep.Files[i].Path, rep.Files[i].Size)
		}
	}
	if !slices.IsSortedFunc(out.Assets, func(a, b files.File) int { return strings.Compare(a.Path, b.Path) }) {
		t.Error("assets are not sorted by path")
	}
	if index, _ := files.Find(out.Assets, "index.html"); !bytes.Contains(index.Content, []byte(`<div id="root">`)) {
		t.Errorf("index.html = %q", index.Content)
	}
	if len(rep.DepsKey) != 32 {
		t.Errorf("DepsKey = %q, want 32 hex characters", rep.DepsKey)
	}
	if rep.ViteDuration <= 0 || rep.Duration < rep.ViteDuration {
		t.Errorf("Duration %v, ViteDuration %v", rep.Duration, rep.ViteDuration)
	}
	if !strings.Contains(rep.Log, "built in") {
		t.Errorf("log does not show vite's summary:\n%s", rep.Log)
	}
	t.Logf("deps cached %v, duration %v, vite %v, %d bytes (%d gzip)", rep.DepsCached, rep.Duration, rep.ViteDuration, rep.TotalSize, rep.TotalGzipSize)
}

func TestWarmBuildDoesNotInstallAndIsByteIdentical(t *testing.T) {
	first, err := newBuilder(t, nil).Build(t.Context(), build.Request{ID: "first", Files: generate.Template()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second Builder over the same cache, whose npm does not exist: it must not need it.
	b := newBuilder(t, func(c *build.Config) { c.NPM = "/nonexistent/npm" })
	second, err := b.Build(t.Context(), build.Request{ID: "second", Files: generate.Template()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Report.DepsCached {
		t.Error("second build: DepsCached = false, want true")
	}
	if second.Report.DepsKey != first.Report.DepsKey {
		t.Errorf("deps keys differ: %s, %s", first.Report.DepsKey, second.Report.DepsKey)
	}
	if len(first.Assets) != len(second.Assets) {
		t.Fatalf("%d assets, then %d", len(first.Assets), len(second.Assets))
	}
	for i := range first.Assets {
		a, b := first.Assets[i], second.Assets[i]
		if a.Path != b.Path || !bytes.Equal(a.Content, b.Content) {
			t.Errorf("asset %d: %s (%d bytes), then %s (%d bytes)", i, a.Path, len(a.Content), b.Path, len(b.Content))
		}
	}
	t.Logf("warm build: duration %v, vite %v", second.Report.Duration, second.Report.ViteDuration)
}

func TestConcurrentBuildsInstallOnce(t *testing.T) {
	npm, count := countingNPM(t)
	pkg := withDeps(t, map[string]string{"clsx": "2.1.1"}) // a set no other test uses
	src := app(map[string]string{
		"package.json": pkg,
		"src/App.tsx": `import clsx from 'clsx'

export default function App() {
  return <main className={clsx('page', { wide: true })}>clsx</main>
}
`,
	})
	a := newBuilder(t, func(c *build.Config) { c.NPM = npm })
	other := newBuilder(t, func(c *build.Config) { c.NPM = npm }) // another Builder: only the lock file guards it

	// A second process too.
	pkgFile := filepath.Join(t.TempDir(), "package.json")
	if err := os.WriteFile(pkgFile, []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	helper := exec.CommandContext(t.Context(), os.Args[0])
	helper.Env = append(os.Environ(), helperEnv+"=1", helperEnv+"_PKG="+pkgFile,
		helperEnv+"_WORK="+t.TempDir(), helperEnv+"_CACHE="+cacheDir, helperEnv+"_NPM="+npm)
	var helperOut bytes.Buffer
	helper.Stdout, helper.Stderr = &helperOut, &helperOut

	type result struct {
		out *build.Output
		err error
	}
	results := make([]result, 3)
	var wg sync.WaitGroup
	for i, b := range []*build.Builder{a, a, other} {
		wg.Go(func() {
			out, err := b.Build(t.Context(), build.Request{ID: "concurrent-" + strconv.Itoa(i), Files: src}, nil)
			results[i] = result{out, err}
		})
	}
	helperErr := helper.Run()
	wg.Wait()

	if helperErr != nil {
		t.Errorf("helper process: %v\n%s", helperErr, helperOut.String())
	}
	installed := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("build %d: %v", i, r.err)
		}
		if !r.out.Report.DepsCached {
			installed++
		}
		if key := strings.TrimSpace(helperOut.String()); r.out.Report.DepsKey != key {
			t.Errorf("build %d: deps key %s, helper process %s", i, r.out.Report.DepsKey, key)
		}
	}
	if n := npmRuns(t, count); n != 1 {
		t.Errorf("npm ran %d times, want 1", n)
	}
	if installed > 1 {
		t.Errorf("%d builds report installing the set, want at most 1", installed)
	}
}

func TestTypeErrorIsFailure(t *testing.T) {
	b := newBuilder(t, nil)
	src := app(map[string]string{"src/App.tsx": `export default function App() {
  const n: number = "not a number"
  return <main>{n}</main>
}
`})
	_, err := b.Build(t.Context(), build.Request{ID: "type-error", Files: src, TypeCheck: true}, nil)
	var f *build.Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a *build.Failure", err)
	}
	if f.Stage != "typecheck" {
		t.Errorf("stage = %q, want typecheck", f.Stage)
	}
	want := "src/App.tsx(2,9): error TS2322: Type 'string' is not assignable to type 'number'."
	if len(f.Errors) != 1 || f.Errors[0] != want {
		t.Errorf("errors = %q, want [%q]", f.Errors, want)
	}
	checkClean(t, b, f)
	if !strings.Contains(err.Error(), "typecheck failed: "+want) {
		t.Errorf("error %q does not carry the first error line", err)
	}
}

func TestBuildErrorsAreFailures(t *testing.T) {
	tests := []struct {
		name    string
		overlay map[string]string
		want    string // a prefix of the first error line
	}{
		{
			name:    "syntax error",
			overlay: map[string]string{"src/App.tsx": "export default function App() {\n  return <main>{</main>\n}\n"},
			want:    "src/App.tsx(2,18): error ",
		},
		{
			name:    "unresolved import",
			overlay: map[string]string{"src/App.tsx": "import x from './nope'\nexport default function App() {\n  return <main>{x}</main>\n}\n"},
			want:    "src/App.tsx(1,15): error UNRESOLVED_IMPORT: Could not resolve './nope' in src/App.tsx",
		},
		{
			name: "missing export",
			overlay: map[string]string{
				"src/x.ts":    "export const y = 1\n",
				"src/App.tsx": "import { nope } from './x'\nexport default function App() {\n  return <main>{nope}</main>\n}\n",
			},
			want: `src/App.tsx(1,10): error MISSING_EXPORT: "nope" is not exported by "src/x.ts".`,
		},
		{
			name:    "broken vite config",
			overlay: map[string]string{"vite.config.ts": "import { defineConfig } from 'vite'\nexport default defineConfig({ plugins: [nope()] })\n"},
			want:    "failed to load config from vite.config.ts",
		},
	}
	b := newBuilder(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Build(t.Context(), build.Request{ID: "fail-" + strconv.Itoa(i), Files: app(tt.overlay)}, nil)
			var f *build.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *build.Failure", err)
			}
			if f.Stage != "build" {
				t.Errorf("stage = %q, want build", f.Stage)
			}
			t.Logf("errors: %q", f.Errors)
			if len(f.Errors) == 0 || !strings.HasPrefix(f.Errors[0], tt.want) {
				t.Errorf("errors = %q, want the first to start with %q", f.Errors, tt.want)
			}
			checkClean(t, b, f)
		})
	}
}

// checkClean checks that a Failure's text is free of colour codes and machine paths.
func checkClean(t *testing.T, b *build.Builder, f *build.Failure) {
	t.Helper()
	text := strings.Join(f.Errors, "\n") + f.Log
	if strings.Contains(text, "\x1b") {
		t.Errorf("ANSI escape in failure text: %q", text)
	}
	for _, dir := range []string{cacheDir, os.TempDir() + "/"} {
		if strings.Contains(text, dir) {
			t.Errorf("failure text names %s:\n%s", dir, text)
		}
	}
	if f.Log == "" {
		t.Error("Failure.Log is empty")
	}
}

// hangConfig is a vite config whose build never finishes. It starts a child process that
// argv names marker, and with stubborn set both ignore SIGTERM.
func hangConfig(marker string, stubborn bool) string {
	ignore := ""
	if stubborn {
		ignore = "process.on('SIGTERM', () => {}); "
	}
	return fmt.Sprintf(`import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import { spawn } from 'node:child_process'

%s
export default defineConfig({
  plugins: [react(), {
    name: 'hang',
    buildStart() {
      spawn(process.execPath, ['-e', %q, %q], { stdio: 'ignore' })
      return new Promise(() => { setInterval(() => {}, 1000) })
    },
  }],
})
`, ignore, ignore+"setInterval(() => {}, 1000)", marker)
}

// proc is a process seen in /proc.
type proc struct {
	pid, pgid int
	cmdline   string
}

func processes(t testing.TB) []proc {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	var out []proc
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err1 := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		cmd, err2 := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err1 != nil || err2 != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 3 || f[0] == "Z" {
			continue // zombies are dead; their parent reaps them
		}
		pgid, _ := strconv.Atoi(f[2])
		out = append(out, proc{pid: pid, pgid: pgid, cmdline: strings.ReplaceAll(string(cmd), "\x00", " ")})
	}
	return out
}

// waitFor polls /proc until a live process's command line contains s, and returns it.
func waitFor(t *testing.T, s string) proc {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, p := range processes(t) {
			if strings.Contains(p.cmdline, s) {
				return p
			}
		}
	}
	t.Fatalf("no process running %q", s)
	return proc{}
}

// checkGone checks that no process is left in group pgid or runs marker.
func checkGone(t *testing.T, pgid int, marker string) {
	t.Helper()
	var left []proc
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		left = left[:0]
		for _, p := range processes(t) {
			if p.pgid == pgid || strings.Contains(p.cmdline, marker) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
	}
	t.Errorf("processes left behind: %+v", left)
}

func TestCancelKillsProcessGroup(t *testing.T) {
	const grace = 500 * time.Millisecond
	b := newBuilder(t, func(c *build.Config) { c.KillGrace = grace })
	marker := fmt.Sprintf("appforge-cancel-%d", time.Now().UnixNano())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	errc := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, build.Request{ID: "cancel", Files: app(map[string]string{"vite.config.ts": hangConfig(marker, true)})}, nil)
		errc <- err
	}()
	child := waitFor(t, marker)
	vite := waitFor(t, "/cancel/node_modules/vite/bin/vite.js")
	if vite.pgid != vite.pid || child.pgid != vite.pgid {
		t.Errorf("vite pid %d in group %d, its child in group %d: want one group led by vite", vite.pid, vite.pgid, child.pgid)
	}
	if vite.pgid == os.Getpid() || vite.pgid == syscall.Getpgrp() {
		t.Errorf("vite runs in the test's own process group %d", vite.pgid)
	}

	start := time.Now()
	cancel()
	var err error
	select {
	case err = <-errc:
	case <-time.After(grace + 5*time.Second):
		t.Fatal("Build did not return after its context was cancelled")
	}
	t.Logf("returned %v after cancel: %v", time.Since(start), err)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("err = %v, want a cancellation", err)
	}
	var f *build.Failure
	if errors.As(err, &f) {
		t.Errorf("a cancelled build is not a Failure: %v", f)
	}
	checkGone(t, vite.pgid, marker)
}

func TestTimeout(t *testing.T) {
	const timeout = 1500 * time.Millisecond
	b := newBuilder(t, func(c *build.Config) { c.Timeout = timeout; c.KillGrace = 500 * time.Millisecond })
	marker := fmt.Sprintf("appforge-timeout-%d", time.Now().UnixNano())
	var mu sync.Mutex
	beats := 0
	start := time.Now()
	_, err := b.Build(t.Context(), build.Request{ID: "timeout", Files: app(map[string]string{"vite.config.ts": hangConfig(marker, false)})}, func(stage string) {
		mu.Lock()
		defer mu.Unlock()
		if stage == "build" {
			beats++
		}
	})
	elapsed := time.Since(start)
	if !errors.Is(err, build.ErrTimeout) || !strings.Contains(err.Error(), "vite build timed out after 1.5s") {
		t.Fatalf("err = %v, want vite build timed out after 1.5s", err)
	}
	var f *build.Failure
	if errors.As(err, &f) {
		t.Errorf("a timeout is not a Failure: %v", f)
	}
	if elapsed > timeout+5*time.Second {
		t.Errorf("Build returned after %v", elapsed)
	}
	if beats < 2 {
		t.Errorf("%d heartbeats in the build stage, want the stage's and at least one while vite ran", beats)
	}
	checkGone(t, -1, marker)
}

func TestRefusesBadRequests(t *testing.T) {
	template := generate.Template()
	tests := []struct {
		name  string
		id    string
		file  string
		isBad error // besides build.ErrInvalidRequest
	}{
		{name: "parent folder", id: "bad", file: "../escape.txt", isBad: files.ErrInvalidPath},
		{name: "nested parent folder", id: "bad", file: "src/../../escape.txt", isBad: files.ErrInvalidPath},
		{name: "absolute", id: "bad", file: "/tmp/escape.txt", isBad: files.ErrInvalidPath},
		{name: "node_modules", id: "bad", file: "node_modules/react/index.js"},
		{name: "dist", id: "bad", file: "dist/index.html"},
		{name: "file and folder", id: "bad", file: "src/App.tsx/x.ts"},
		{name: "duplicate", id: "bad", file: "src/App.tsx"},
		{name: "ID with a slash", id: "a/b"},
		{name: "ID leaving WorkDir", id: ".."},
		{name: "hidden ID", id: ".locks"},
		{name: "empty ID", id: ""},
	}
	work := t.TempDir()
	b := newBuilder(t, func(c *build.Config) { c.WorkDir = filepath.Join(work, "ws"); c.NPM = "/nonexistent/npm" })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := template
			if tt.file != "" {
				fs = append(slices.Clip(template), files.File{Path: tt.file, Content: []byte("x")})
			}
			_, err := b.Build(t.Context(), build.Request{ID: tt.id, Files: fs}, nil)
			if !errors.Is(err, build.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if tt.isBad != nil && !errors.Is(err, tt.isBad) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.isBad)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(work, "escape.txt")); err == nil {
		t.Error("a file was written outside the workspace")
	}
	if _, err := os.Stat("/tmp/escape.txt"); err == nil {
		t.Error("/tmp/escape.txt was written")
	}

	_, err := b.Build(t.Context(), build.Request{ID: "no-package", Files: []files.File{{Path: "index.html", Content: []byte("<p>")}}}, nil)
	var f *build.Failure
	if !errors.As(err, &f) || f.Stage != "install" {
		t.Errorf("without package.json: err = %v, want an install Failure", err)
	}
}

func TestUninstallableDependenciesAreFailures(t *testing.T) {
	tests := []struct {
		name string
		deps map[string]string
		want string // in some error line
	}{
		{name: "no such package", deps: map[string]string{"appforge-no-such-package-zz9": "1.0.0"}, want: "appforge-no-such-package-zz9"},
		{name: "no such version", deps: map[string]string{"clsx": "99.0.0"}, want: "No matching version found for clsx@99.0.0"},
		{name: "local path", deps: map[string]string{"evil": "file:../../../etc"}, want: "is not a registry version"},
		{name: "git repository", deps: map[string]string{"evil": "github:someone/evil"}, want: "is not a registry version"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t, nil)
			_, err := b.Build(t.Context(), build.Request{ID: "deps-" + strconv.Itoa(i), Files: app(map[string]string{"package.json": withDeps(t, tt.deps)})}, nil)
			var f *build.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *build.Failure", err)
			}
			t.Logf("errors: %q", f.Errors)
			if f.Stage != "install" {
				t.Errorf("stage = %q, want install", f.Stage)
			}
			if !slices.ContainsFunc(f.Errors, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("errors = %q, want one containing %q", f.Errors, tt.want)
			}
		})
	}
}

func TestRegistryOutageIsRetryable(t *testing.T) {
	t.Setenv("npm_config_registry", "http://127.0.0.1:9/") // nothing listens on the discard port
	t.Setenv("npm_config_fetch_retries", "0")
	b := newBuilder(t, nil)
	_, err := b.Build(t.Context(), build.Request{ID: "outage", Files: app(map[string]string{"package.json": withDeps(t, map[string]string{"clsx": "2.1.0"})})}, nil)
	if err == nil {
		t.Fatal("build succeeded without a registry")
	}
	var f *build.Failure
	if errors.As(err, &f) || errors.Is(err, build.ErrInvalidRequest) {
		t.Fatalf("err = %v, want an ordinary (retryable) error", err)
	}
	if !strings.Contains(err.Error(), "ECONNREFUSED") {
		t.Errorf("err = %v, want it to name ECONNREFUSED", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(cacheDir, "tmp")); len(entries) > 0 {
		t.Errorf("failed install left %d folders in the cache's tmp", len(entries))
	}
}

func TestRetriedBuildStartsClean(t *testing.T) {
	work := t.TempDir()
	b := newBuilder(t, func(c *build.Config) {
		c.WorkDir, c.KeepWorkspaces, c.OutputCacheBytes, c.PreviewEngine = work, true, -1, build.EngineVite
	})
	first := app(map[string]string{"public/stale.txt": "old", "src/Stale.tsx": "export const stale = 1\n"})
	if _, err := b.Build(t.Context(), build.Request{ID: "retry", Files: first}, nil); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(work, "retry")
	if err := os.WriteFile(filepath.Join(ws, "dist", "leftover.js"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := b.Build(t.Context(), build.Request{ID: "retry", Files: generate.Template()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"stale.txt", "leftover.js"} {
		if _, ok := files.Find(out.Assets, p); ok {
			t.Errorf("the retried build's bundle holds %s from the first", p)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "src", "Stale.tsx")); err == nil {
		t.Error("the retried workspace holds src/Stale.tsx from the first build")
	}

	// The workspace's node_modules is its own folder of links into the cache, and vite's
	// scratch folder lands in it, not in the shared cache.
	nm := filepath.Join(ws, "node_modules")
	if fi, err := os.Lstat(nm); err != nil || !fi.IsDir() {
		t.Fatalf("node_modules: %v, %v: want a real folder", fi, err)
	}
	for _, name := range []string{"react", ".bin", "@vitejs"} {
		target, err := os.Readlink(filepath.Join(nm, name))
		if err != nil || !strings.HasPrefix(target, cacheDir) {
			t.Errorf("node_modules/%s links to %q (%v), want into the cache", name, target, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(nm, ".vite-temp")); err != nil {
		t.Errorf("no node_modules/.vite-temp in the workspace: %v", err)
	}
	cached := filepath.Join(cacheDir, "deps", out.Report.DepsKey, "node_modules", ".vite-temp")
	if _, err := os.Lstat(cached); err == nil {
		t.Errorf("%s exists: a build wrote into the shared cache", cached)
	}
}

func TestSameIDBuildsAreSerialised(t *testing.T) {
	// A retried activity can overlap the attempt it replaces: the second build of an ID
	// waits for the first instead of clearing its workspace under it.
	b := newBuilder(t, nil)
	outs := make([]*build.Output, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			outs[i], errs[i] = b.Build(t.Context(), build.Request{ID: "same", Files: generate.Template(), TypeCheck: true}, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	if files.TreeHash(outs[0].Assets) != files.TreeHash(outs[1].Assets) {
		t.Error("the two builds of one ID differ")
	}
}

func TestEnsureDeps(t *testing.T) {
	b := newBuilder(t, nil)
	pkg, _ := files.Find(generate.Template(), "package.json")
	key, nm, err := b.EnsureDeps(t.Context(), pkg.Content)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(nm, "vite", "bin", "vite.js")); err != nil {
		t.Errorf("EnsureDeps returned %s without vite: %v", nm, err)
	}
	// The same set written differently has the same key.
	var m map[string]any
	if err := json.Unmarshal(pkg.Content, &m); err != nil {
		t.Fatal(err)
	}
	m["name"], m["version"], m["scripts"] = "other", "9.9.9", nil
	again, _ := json.Marshal(m)
	key2, nm2, err := b.EnsureDeps(t.Context(), again)
	if err != nil || key2 != key || nm2 != nm {
		t.Errorf("EnsureDeps of the same set: %s %s %v, want %s %s", key2, nm2, err, key, nm)
	}
}
