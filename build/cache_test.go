package build_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
	"github.com/appforge/appforge/files"
)

// countingNode returns a node that appends a line to the returned file each time it
// runs (tsc and vite run through it, and scripts that find node on PATH).
func countingNode(t testing.TB) (node, count string) {
	t.Helper()
	real, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	count = filepath.Join(dir, "runs")
	node = filepath.Join(dir, "node")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %q\nexec %q \"$@\"\n", count, real)
	if err := os.WriteFile(node, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return node, count
}

// unique is the template with a heading no other test builds, so that the output cache
// starts without it.
func unique(t testing.TB) []files.File {
	return testapp.With(map[string]string{"src/App.tsx": fmt.Sprintf(`export default function App() {
  return <main className="page"><h1>%s %d</h1></main>
}
`, t.Name(), time.Now().UnixNano())})
}

func TestOutputCacheHitRunsNothingAndIsByteIdentical(t *testing.T) {
	src := unique(t)
	node, count := countingNode(t)
	first, err := newBuilder(t, func(c *build.Config) { c.Node = node }).Build(t.Context(),
		build.Request{ID: "first", Files: src, Profile: build.ProfileProduction, TypeCheck: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Report.Cached || npmRuns(t, count) == 0 {
		t.Fatalf("first build: cached %v, node ran %d times: want a real build", first.Report.Cached, npmRuns(t, count))
	}

	// Another Builder (as after a restart), another build ID, the same inputs: nothing
	// runs, not even node to learn its version, and no npm.
	if err := os.Remove(count); err != nil {
		t.Fatal(err)
	}
	var stages []string
	b := newBuilder(t, func(c *build.Config) { c.Node = node; c.NPM = "/nonexistent/npm" })
	second, err := b.Build(t.Context(), build.Request{ID: "second", Files: src, Profile: build.ProfileProduction, TypeCheck: true},
		func(s string) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	if n := npmRuns(t, count); n != 0 {
		t.Errorf("node ran %d times for a cached build", n)
	}
	if !second.Report.Cached || len(stages) != 0 || second.Report.BundleDuration != 0 {
		t.Errorf("cached %v, stages %v, bundle %v: want a hit that runs no stage", second.Report.Cached, stages, second.Report.BundleDuration)
	}
	if second.Report.InputKey != first.Report.InputKey || second.Report.Budget == nil || second.Report.Budget.Status != build.BudgetOK {
		t.Errorf("input keys %s, %s; budget %+v", first.Report.InputKey, second.Report.InputKey, second.Report.Budget)
	}
	if files.TreeHash(first.Assets) != files.TreeHash(second.Assets) || len(first.Assets) != len(second.Assets) {
		t.Fatal("the cached bundle differs from the built one")
	}
	for i := range first.Assets {
		if !bytes.Equal(first.Assets[i].Content, second.Assets[i].Content) || first.Report.Files[i] != second.Report.Files[i] {
			t.Errorf("%s differs", first.Assets[i].Path)
		}
	}
	if len(second.Report.Chunks) == 0 || second.Report.Log == "" {
		t.Error("the cached report lost its chunks or log")
	}
	t.Logf("built in %v, from the cache in %v", first.Report.Duration, second.Report.Duration)

	// Anything that changes the output misses: the profile, a file, the type check.
	for name, req := range map[string]build.Request{
		"profile":   {ID: "p", Files: src, Profile: build.ProfilePreview, TypeCheck: true},
		"file":      {ID: "f", Files: files.Merge(src, []files.File{{Path: "public/x.txt", Content: []byte("x")}}), Profile: build.ProfileProduction, TypeCheck: true},
		"typecheck": {ID: "t", Files: src, Profile: build.ProfileProduction},
	} {
		b := newBuilder(t, nil)
		out, err := b.Build(t.Context(), req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Report.Cached || out.Report.InputKey == first.Report.InputKey {
			t.Errorf("another %s: cached %v, same key %v", name, out.Report.Cached, out.Report.InputKey == first.Report.InputKey)
		}
	}
}

func TestOutputCacheConcurrentBuilds(t *testing.T) {
	src := unique(t)
	b := newBuilder(t, nil)
	outs := make([]*build.Output, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			outs[i], errs[i] = b.Build(t.Context(), build.Request{ID: "c" + strconv.Itoa(i), Files: src, Profile: build.ProfileProduction}, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if files.TreeHash(outs[i].Assets) != files.TreeHash(outs[0].Assets) {
			t.Errorf("build %d made another bundle", i)
		}
	}
	after, err := b.Build(t.Context(), build.Request{ID: "after", Files: src, Profile: build.ProfileProduction}, nil)
	if err != nil || !after.Report.Cached || files.TreeHash(after.Assets) != files.TreeHash(outs[0].Assets) {
		t.Errorf("after the concurrent builds: %v, cached %v", err, after != nil && after.Report.Cached)
	}
}

func TestOutputCacheOff(t *testing.T) {
	src := unique(t)
	b := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1 })
	for i := range 2 {
		out, err := b.Build(t.Context(), build.Request{ID: "off" + strconv.Itoa(i), Files: src}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Report.Cached {
			t.Errorf("build %d cached with the output cache off", i)
		}
	}
}

// countingConfig is a Vite config whose plugin counts the builds that shared its
// cacheDir (a file in it) and reports the count and the folder in the bundle.
const countingConfig = `import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

let dir = ''
export default defineConfig({
  plugins: [react(), {
    name: 'count-builds',
    configResolved(config) {
      dir = config.cacheDir
    },
    generateBundle() {
      mkdirSync(dir, { recursive: true })
      const file = join(dir, 'builds.txt')
      const n = existsSync(file) ? Number(readFileSync(file, 'utf8')) + 1 : 1
      writeFileSync(file, String(n))
      this.emitFile({ type: 'asset', fileName: 'builds.txt', source: String(n) })
      this.emitFile({ type: 'asset', fileName: 'cachedir.txt', source: dir })
    },
  }],
})
`

func TestViteCacheKeptPerApp(t *testing.T) {
	b := newBuilder(t, nil)
	n := 0
	build1 := func(appID string) (count, dir string) {
		t.Helper()
		n++ // a different file each time: no output cache hit
		src := files.Merge(unique(t), []files.File{{Path: "vite.config.ts", Content: []byte(countingConfig)}, {Path: "public/n.txt", Content: []byte(strconv.Itoa(n))}})
		out, err := b.Build(t.Context(), build.Request{ID: "vc" + strconv.Itoa(n), Files: src, AppID: appID}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := files.Find(out.Assets, "builds.txt")
		d, _ := files.Find(out.Assets, "cachedir.txt")
		return string(c.Content), string(d.Content)
	}
	a1, dirA := build1("app-a")
	a2, dirA2 := build1("app-a")
	b1, dirB := build1("app-b")
	a3, _ := build1("app-a")
	none1, dirNone := build1("")
	none2, _ := build1("")
	if a1 != "1" || a2 != "2" || a3 != "3" || b1 != "1" {
		t.Errorf("builds seen by app a's cache: %s %s %s, app b's: %s; want 1 2 3 and 1", a1, a2, a3, b1)
	}
	if none1 != "1" || none2 != "1" {
		t.Errorf("builds without an app ID share a cache: %s %s", none1, none2)
	}
	apps := filepath.Join(cacheDir, "apps") + "/"
	if !strings.HasPrefix(dirA, apps) || dirA != dirA2 || dirB == dirA || !strings.HasPrefix(dirB, apps) {
		t.Errorf("cache folders: a %s, %s; b %s; want one per app under %s", dirA, dirA2, dirB, apps)
	}
	if strings.HasPrefix(dirNone, cacheDir) {
		t.Errorf("a build without an app ID kept its Vite cache in %s", dirNone)
	}
}
