package build

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/appforge/appforge/files"
)

// The output cache. A build's inputs are its files, its dependency set, its profile,
// its bundler, whether it type-checks, the node binary and the builder's own version
// (builderVersion): outputKey hashes them all. CacheDir/out/<key>.build holds the output
// of a successful build of those inputs: a header line with a checksum, then the gob of
// the report and every file of the bundle. A build whose key is there returns that
// output without writing a workspace or running anything.
//
// Entries are written to CacheDir/tmp and renamed into place, so readers see a complete
// entry or none; a reader holds the file open, so an entry evicted meanwhile still reads
// whole. A hit touches the entry's mtime; when the entries exceed OutputCacheBytes the
// least recently used go until they fill 90% of it, under CacheDir/locks/out.lock (one
// sweeper at a time, across processes; a busy lock skips the sweep). Failures are not
// cached.
//
// Per-app caches (CacheDir/apps/<hash of AppID>/, Vite's cacheDir) are swept the same
// way against AppCacheBytes; a build holds a shared lock on its app's cache, and the
// sweeper leaves a locked one alone.

const (
	cacheOutDir    = "out"
	cacheAppsDir   = "apps"
	outputFormat   = "appforge-build 1"
	outputExt      = ".build"
	sweepTarget    = 0.9 // a sweep leaves this share of the bound filled
	defaultOutMax  = 1 << 30
	defaultAppsMax = 512 << 20
)

// outputKey hashes everything a build's output depends on.
func (b *Builder) outputKey(inputs []files.File, set []dep, p Profile, engine Engine, typeCheck bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "appforge output v1\nbuilder %s\nprofile %s\nengine %s\ntypecheck %t\n", builderVersion, p, engine, typeCheck)
	fmt.Fprintf(h, "platform %s/%s\nnode %s\nscripts %t\n", runtime.GOOS, runtime.GOARCH, b.nodeID, b.cfg.InstallScripts)
	for _, d := range set {
		fmt.Fprintf(h, "dep %s\x00%s\n", d.name, d.spec)
	}
	fmt.Fprintf(h, "files %s\n", files.TreeHash(inputs))
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// nodeIdentity names the node binary by its real path, size and modification time:
// what changes when node is upgraded, learnt without running it.
func nodeIdentity(node string) string {
	real, err := filepath.EvalSymlinks(node)
	if err != nil {
		real = node
	}
	fi, err := os.Stat(real)
	if err != nil {
		return real
	}
	return fmt.Sprintf("%s %d %d", real, fi.Size(), fi.ModTime().UnixNano())
}

// cachedBuild is an entry of the output cache.
type cachedBuild struct {
	Report Report
	Assets []files.File
}

// outputCache is the output cache of one Builder.
type outputCache struct {
	dir, tmp, lock string
	max            int64
	log            *slog.Logger

	mu    sync.Mutex
	total int64 // bytes in dir as this process last knew; < 0 until first counted
}

func (c *outputCache) path(key string) string {
	return filepath.Join(c.dir, key+outputExt)
}

// get returns the entry of key, or false. A damaged entry is removed.
func (c *outputCache) get(key string) (*cachedBuild, bool) {
	if c == nil {
		return nil, false
	}
	p := c.path(key)
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	entry, err := decodeEntry(f)
	if err != nil {
		c.log.Warn("output cache: damaged entry removed", "key", key, "error", err)
		_ = os.Remove(p)
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // last use, for the LRU sweep
	return entry, true
}

// put stores an entry under key and sweeps when the cache has outgrown its bound.
func (c *outputCache) put(key string, entry *cachedBuild) error {
	if c == nil {
		return nil
	}
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(entry); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	sum := sha256.Sum256(body.Bytes())
	tmp, err := os.CreateTemp(c.tmp, key+".*"+outputExt)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // nothing left to remove once renamed
	w := bufio.NewWriter(tmp)
	header := fmt.Sprintf("%s %s\n", outputFormat, hex.EncodeToString(sum[:]))
	_, _ = w.WriteString(header)
	_, _ = w.Write(body.Bytes())
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.path(key)); err != nil {
		return err
	}
	size := int64(len(header) + body.Len())
	c.mu.Lock()
	if c.total >= 0 {
		c.total += size
	}
	over := c.total < 0 || c.total > c.max
	c.mu.Unlock()
	if over {
		left, err := sweepLRU(c.dir, c.tmp, c.lock, c.max, nil)
		if err != nil {
			c.log.Warn("output cache: sweep", "error", err)
		}
		if left >= 0 {
			c.mu.Lock()
			c.total = left
			c.mu.Unlock()
		}
	}
	return nil
}

func decodeEntry(r io.Reader) (*cachedBuild, error) {
	br := bufio.NewReader(r)
	header, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line := strings.TrimSuffix(header, "\n")
	i := strings.LastIndexByte(line, ' ')
	if i < 0 || line[:i] != outputFormat {
		return nil, fmt.Errorf("unknown format %q", line)
	}
	sum := line[i+1:]
	body, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256(body)
	if hex.EncodeToString(got[:]) != sum {
		return nil, errors.New("checksum mismatch")
	}
	var entry cachedBuild
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&entry); err != nil {
		return nil, err
	}
	return &entry, nil
}

// sweepLRU removes the least recently used entries (files or folders) of dir until they
// fill sweepTarget of max, and returns the bytes left (-1 when another process holds the
// sweep lock). busy, if set, takes a non-blocking exclusive lock on an entry; an entry
// it cannot lock is in use and stays.
func sweepLRU(dir, tmp, lock string, max int64, busy func(name string) (unlock func(), ok bool)) (int64, error) {
	lf, err := os.OpenFile(lock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return -1, err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return -1, nil // another sweeper is at it
		}
		return -1, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return -1, err
	}
	type entry struct {
		name string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		size := fi.Size()
		if fi.IsDir() {
			size = dirSize(filepath.Join(dir, e.Name()))
		}
		all = append(all, entry{e.Name(), size, fi.ModTime()})
		total += size
	}
	if total <= max {
		return total, nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	target := int64(float64(max) * sweepTarget)
	for _, e := range all {
		if total <= target {
			break
		}
		if busy != nil {
			unlock, ok := busy(e.name)
			if !ok {
				continue
			}
			err = removeEntry(filepath.Join(dir, e.name), tmp)
			unlock()
		} else {
			err = removeEntry(filepath.Join(dir, e.name), tmp)
		}
		if err == nil {
			total -= e.size
		}
	}
	return total, nil
}

// removeEntry moves an entry out of its folder (atomically, so that nobody sees half of
// it) and then removes it.
func removeEntry(p, tmp string) error {
	dst, err := os.MkdirTemp(tmp, "evict.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dst)
	if err := os.Rename(p, filepath.Join(dst, "x")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func dirSize(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// appCache is the per-app cache folder of a build, held with a shared lock while the
// build uses it.
type appCache struct {
	dir    string // CacheDir/apps/<key>
	unlock func()
}

// appKey names an app's cache folder: the app ID hashed, so that any ID is a safe name.
func appKey(appID string) string {
	sum := sha256.Sum256([]byte("appforge app\x00" + appID))
	return hex.EncodeToString(sum[:])[:32]
}

// openAppCache takes a shared lock on an app's cache folder and creates it.
func (b *Builder) openAppCache(ctx context.Context, appID string) (*appCache, error) {
	key := appKey(appID)
	lock := filepath.Join(b.cfg.CacheDir, cacheLocksDir, "app-"+key+".lock")
	unlock, err := lockShared(ctx, lock)
	if err != nil {
		return nil, fmt.Errorf("lock app cache: %w", err)
	}
	dir := filepath.Join(b.cfg.CacheDir, cacheAppsDir, key)
	if err := os.MkdirAll(filepath.Join(dir, "vite"), 0o755); err != nil {
		unlock()
		return nil, fmt.Errorf("app cache: %w", err)
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
	return &appCache{dir: dir, unlock: unlock}, nil
}

// appSweepEvery spaces the sweeps of the per-app caches, which walk every app's folder.
const appSweepEvery = time.Minute

// sweepApps bounds the per-app caches, at most once every appSweepEvery.
func (b *Builder) sweepApps() {
	b.mu.Lock()
	if time.Since(b.lastAppSweep) < appSweepEvery {
		b.mu.Unlock()
		return
	}
	b.lastAppSweep = time.Now()
	b.mu.Unlock()
	dir := filepath.Join(b.cfg.CacheDir, cacheAppsDir)
	_, err := sweepLRU(dir, filepath.Join(b.cfg.CacheDir, cacheTmpDir), filepath.Join(b.cfg.CacheDir, cacheLocksDir, "apps.lock"), b.cfg.AppCacheBytes,
		func(name string) (func(), bool) {
			return tryLock(filepath.Join(b.cfg.CacheDir, cacheLocksDir, "app-"+name+".lock"))
		})
	if err != nil {
		b.log.Warn("app caches: sweep", "error", err)
	}
}

// lockShared takes a shared flock on name, polling so that ctx can cancel the wait.
func lockShared(ctx context.Context, name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tryLock takes an exclusive flock on name without waiting.
func tryLock(name string) (func(), bool) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}
