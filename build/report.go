package build

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/appforge/appforge/files"
)

// Chunk is one JavaScript chunk of a bundle and what it is made of: the breakdown behind
// a budget warning. Production builds report every chunk.
type Chunk struct {
	File     string    `json:"file"` // "assets/vendor-3f2a9c1b.js"
	Name     string    `json:"name"` // "vendor", "index", "Settings"
	Kind     ChunkKind `json:"kind"`
	Size     int64     `json:"size"`
	GzipSize int64     `json:"gzip_size"`
	// Modules are the chunk's largest modules, largest first, at most maxChunkModules;
	// ModuleCount counts them all.
	Modules     []Module `json:"modules"`
	ModuleCount int      `json:"module_count"`
}

// ChunkKind says why a chunk exists.
type ChunkKind string

const (
	ChunkEntry  ChunkKind = "entry"  // loaded by index.html
	ChunkVendor ChunkKind = "vendor" // the packages the first page load needs
	ChunkLazy   ChunkKind = "lazy"   // a dynamic import, such as a lazy route
	ChunkShared ChunkKind = "shared" // code shared between chunks
)

// Module is one source module's part of a chunk.
type Module struct {
	// ID is the module's path in the app ("src/App.tsx") or under node_modules
	// ("node_modules/react-dom/cjs/react-dom-client.production.js"); bundler-made
	// modules keep their name ("vite/modulepreload-polyfill.js").
	ID      string `json:"id"`
	Package string `json:"package,omitempty"` // the npm package of a node_modules module
	// Size is the module's bytes in the chunk as served. Vite reports each module's size
	// before minification, so for Vite builds Size shares the chunk's size out in
	// proportion to RenderedSize: an estimate. esbuild reports exact sizes.
	Size         int64 `json:"size"`
	RenderedSize int64 `json:"rendered_size"`
}

const maxChunkModules = 10

// readDist reads every regular file under dist, sorted by path. Symlinks and other
// special files are left out: a build script could point one anywhere on the machine.
func readDist(ctx context.Context, dist string) ([]files.File, error) {
	var assets []files.File
	err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dist, p)
		if err != nil {
			return err
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		assets = append(assets, files.File{Path: filepath.ToSlash(rel), Content: content})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	return files.Sort(assets), nil // WalkDir's lexical order is per folder; make it by whole path
}

// measure reports every asset with its size and its size compressed by gzip at its
// default level (-6, what servers use to compress on the fly; -9 would take two and a
// half times as long for sizes a fraction of a percent smaller), files compressed in
// parallel.
func measure(assets []files.File) (*Report, error) {
	report := &Report{Files: make([]OutputFile, len(assets))}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(assets)) {
		wg.Go(func() {
			zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression) // the level is valid
			for i := range work {
				var n countingWriter
				zw.Reset(&n)
				_, _ = zw.Write(assets[i].Content) // a countingWriter never fails
				_ = zw.Close()
				report.Files[i] = OutputFile{Path: assets[i].Path, Size: int64(len(assets[i].Content)), GzipSize: int64(n)}
			}
		})
	}
	for i := range assets {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, f := range report.Files {
		report.TotalSize += f.Size
		report.TotalGzipSize += f.GzipSize
	}
	return report, nil
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// viteStats is what the wrapper config's plugin writes to stats.json.
type viteStats struct {
	CacheDir string `json:"cacheDir"`
	Chunks   []struct {
		File    string `json:"file"`
		Name    string `json:"name"`
		Entry   bool   `json:"entry"`
		Dynamic bool   `json:"dynamic"`
		Modules []struct {
			ID   string `json:"id"`
			Size int64  `json:"size"`
		} `json:"modules"`
	} `json:"chunks"`
}

// viteChunks turns the plugin's stats into chunks measured like the report's files.
func viteChunks(raw []byte, ws string, r *Report) ([]Chunk, error) {
	var st viteStats
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("read build stats: %w", err)
	}
	sizes := make(map[string]OutputFile, len(r.Files))
	for _, f := range r.Files {
		sizes[f.Path] = f
	}
	var out []Chunk
	for _, c := range st.Chunks {
		f, ok := sizes[c.File]
		if !ok {
			continue // a chunk the post-processing dropped
		}
		chunk := Chunk{File: c.File, Name: c.Name, Kind: chunkKind(c.Name, c.Entry, c.Dynamic), Size: f.Size, GzipSize: f.GzipSize}
		var rendered int64
		for _, m := range c.Modules {
			rendered += m.Size
		}
		for _, m := range c.Modules {
			if m.Size <= 0 {
				continue // index.html and other modules that leave no code
			}
			id, pkg := moduleID(m.ID, ws)
			size := m.Size
			if rendered > 0 {
				size = int64(float64(f.Size) * float64(m.Size) / float64(rendered))
			}
			chunk.Modules = append(chunk.Modules, Module{ID: id, Package: pkg, Size: size, RenderedSize: m.Size})
		}
		out = append(out, finishChunk(chunk))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func chunkKind(name string, entry, dynamic bool) ChunkKind {
	switch {
	case entry:
		return ChunkEntry
	case dynamic:
		return ChunkLazy
	case name == "vendor":
		return ChunkVendor
	}
	return ChunkShared
}

// finishChunk sorts a chunk's modules, largest first, and keeps the largest.
func finishChunk(c Chunk) Chunk {
	sort.SliceStable(c.Modules, func(i, j int) bool {
		if c.Modules[i].Size != c.Modules[j].Size {
			return c.Modules[i].Size > c.Modules[j].Size
		}
		return c.Modules[i].ID < c.Modules[j].ID
	})
	c.ModuleCount = len(c.Modules)
	if len(c.Modules) > maxChunkModules {
		c.Modules = c.Modules[:maxChunkModules]
	}
	if c.Modules == nil {
		c.Modules = []Module{}
	}
	return c
}

// moduleID makes a bundler's module ID position-independent: relative to the
// workspace, node_modules paths from their last node_modules folder (the cache's real
// path, through the workspace's links), virtual modules without their \0 marker.
func moduleID(id, ws string) (rel, pkg string) {
	id = strings.TrimPrefix(id, "\x00")
	if q := strings.IndexByte(id, '?'); q >= 0 {
		id = id[:q]
	}
	if i := strings.LastIndex("/"+id, "/node_modules/"); i >= 0 {
		rel = id[i:]
		rest := strings.TrimPrefix(rel, "node_modules/")
		parts := strings.SplitN(rest, "/", 3)
		pkg = parts[0]
		if strings.HasPrefix(pkg, "@") && len(parts) > 1 {
			pkg += "/" + parts[1]
		}
		return rel, pkg
	}
	if filepath.IsAbs(id) {
		roots := []string{ws}
		if real, err := filepath.EvalSymlinks(ws); err == nil && real != ws {
			roots = append(roots, real)
		}
		for _, root := range roots {
			if r, err := filepath.Rel(root, id); err == nil && !strings.HasPrefix(r, "..") {
				return filepath.ToSlash(r), ""
			}
		}
	}
	return id, ""
}

// File names of the Cloudflare static-assets configuration files.
const (
	headersFile   = "_headers"
	redirectsFile = "_redirects"
)

// finishProduction makes sure a production bundle serves no source map, whatever the
// app's config or plugins did: .map files are dropped and sourceMappingURL comments
// (inline maps included) cut from JS and CSS. It returns the bundle and what it removed.
func finishProduction(assets []files.File) ([]files.File, []string) {
	var removed []string
	out := assets[:0:0]
	for _, a := range assets {
		if strings.HasSuffix(a.Path, ".map") {
			removed = append(removed, a.Path)
			continue
		}
		if strings.HasSuffix(a.Path, ".js") || strings.HasSuffix(a.Path, ".css") {
			if c, ok := cutSourceMapComment(a.Content); ok {
				a = files.File{Path: a.Path, Content: c}
				removed = append(removed, a.Path+" (sourceMappingURL)")
			}
		}
		out = append(out, a)
	}
	return out, removed
}

// cutSourceMapComment removes a last "//# sourceMappingURL=" or "/*# sourceMappingURL="
// comment line.
func cutSourceMapComment(b []byte) ([]byte, bool) {
	i := bytes.LastIndex(b, []byte("# sourceMappingURL="))
	if i < 2 || (string(b[i-2:i]) != "//" && string(b[i-2:i]) != "/*") {
		return b, false
	}
	start := i - 2
	end := bytes.IndexByte(b[i:], '\n')
	if end < 0 {
		end = len(b)
	} else {
		end += i + 1
	}
	out := append(append([]byte(nil), b[:start]...), b[end:]...)
	return out, true
}
