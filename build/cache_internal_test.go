package build

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/appforge/appforge/files"
)

func testCache(t *testing.T, max int64) *outputCache {
	t.Helper()
	root := t.TempDir()
	c := &outputCache{
		dir: filepath.Join(root, "out"), tmp: filepath.Join(root, "tmp"), lock: filepath.Join(root, "out.lock"),
		max: max, log: slog.New(slog.NewTextHandler(io.Discard, nil)), total: -1,
	}
	for _, d := range []string{c.dir, c.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func entryOf(size int, tag string) *cachedBuild {
	return &cachedBuild{Report: Report{Profile: ProfileProduction, Log: tag}, Assets: []files.File{{Path: "assets/a.js", Content: bytes.Repeat([]byte(tag[:1]), size)}}}
}

func TestOutputCacheLRU(t *testing.T) {
	c := testCache(t, 1<<20)
	if err := c.put("probe", entryOf(3000, "probe")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.path("probe"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(c.path("probe"))
	c = testCache(t, fi.Size()*7/2) // room for three entries: a fourth evicts one
	age := func(key string, ago time.Duration) {
		t.Helper()
		when := time.Now().Add(-ago)
		if err := os.Chtimes(c.path(key), when, when); err != nil {
			t.Fatal(err)
		}
	}
	for i, key := range []string{"a", "b", "c"} {
		if err := c.put(key, entryOf(3000, key)); err != nil {
			t.Fatal(err)
		}
		age(key, time.Duration(10-i)*time.Minute) // a oldest
	}
	if _, ok := c.get("a"); !ok { // a is used: now the most recent
		t.Fatal("a missing")
	}
	if err := c.put("d", entryOf(3000, "d")); err != nil { // over the bound: b goes
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := c.get(key); ok != want {
			t.Errorf("entry %s present %v, want %v", key, ok, want)
		}
	}
	got, ok := c.get("d")
	if !ok || got.Report.Log != "d" || len(got.Assets) != 1 || len(got.Assets[0].Content) != 3000 {
		t.Errorf("entry d read back as %+v", got)
	}
	if left, _ := os.ReadDir(c.tmp); len(left) != 0 {
		t.Errorf("%d files left in tmp", len(left))
	}
}

func TestOutputCacheDamagedEntryIsAMiss(t *testing.T) {
	c := testCache(t, 1<<20)
	for name, damage := range map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { b[len(b)-10] ^= 0xff; return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)/2] },
		"other format": func(b []byte) []byte { return append([]byte("appforge-build 0 x\n"), b...) },
		"empty":        func([]byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.put("k", entryOf(100, "k")); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(c.path("k"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.path("k"), damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			if got, ok := c.get("k"); ok {
				t.Errorf("damaged entry read as %+v", got)
			}
			if _, err := os.Stat(c.path("k")); err == nil {
				t.Error("damaged entry left in place")
			}
		})
	}
}

func TestSweepLeavesBusyEntries(t *testing.T) {
	root := t.TempDir()
	dir, tmp, locks := filepath.Join(root, "apps"), filepath.Join(root, "tmp"), filepath.Join(root, "locks")
	for _, d := range []string{dir, tmp, locks} {
		os.MkdirAll(d, 0o755)
	}
	for i, name := range []string{"old", "busy", "new"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "f"), bytes.Repeat([]byte("x"), 1000), 0o644)
		when := time.Now().Add(time.Duration(i-3) * time.Hour)
		os.Chtimes(p, when, when)
	}
	unlock, err := lockShared(t.Context(), filepath.Join(locks, "busy.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	left, err := sweepLRU(dir, tmp, filepath.Join(locks, "sweep.lock"), 1500, func(name string) (func(), bool) {
		return tryLock(filepath.Join(locks, name+".lock"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"old": false, "busy": true, "new": false} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s kept %v, want %v", name, err == nil, want)
		}
	}
	if left != 1000 {
		t.Errorf("%d bytes left, want 1000", left)
	}
}
