package build_test

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
	"github.com/appforge/appforge/files"
)

// hashedAsset is a file under assets/ with Vite's 8-character hash.
var hashedAsset = regexp.MustCompile(`^assets/[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.(js|css|js\.map|css\.map|svg|png)$`)

// minified reports whether code looks minified: on average at least 400 bytes a line
// (React's unminified production build averages about 35).
func minified(b []byte) bool {
	return len(b) < 400 || len(b)/(bytes.Count(b, []byte("\n"))+1) >= 400
}

func chunkOf(t *testing.T, r build.Report, kind build.ChunkKind, name string) build.Chunk {
	t.Helper()
	for _, c := range r.Chunks {
		if c.Kind == kind && (name == "" || c.Name == name) {
			return c
		}
	}
	t.Fatalf("no %s chunk %q among %+v", kind, name, r.Chunks)
	return build.Chunk{}
}

func hasModule(c build.Chunk, pkg string) bool {
	return slices.ContainsFunc(c.Modules, func(m build.Module) bool { return m.Package == pkg })
}

func TestProductionProfile(t *testing.T) {
	b := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1 })
	src := testapp.Routes()
	out, err := b.Build(t.Context(), build.Request{ID: "production", Files: src, Profile: build.ProfileProduction}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := out.Report
	if r.Profile != build.ProfileProduction || r.Engine != build.EngineVite {
		t.Errorf("profile %q engine %q, want production and vite", r.Profile, r.Engine)
	}

	for _, f := range out.Assets {
		switch {
		case strings.HasSuffix(f.Path, ".map"):
			t.Errorf("%s: a source map in a production bundle", f.Path)
		case bytes.Contains(f.Content, []byte("sourceMappingURL")):
			t.Errorf("%s refers to a source map", f.Path)
		case strings.HasPrefix(f.Path, "assets/") && !hashedAsset.MatchString(f.Path):
			t.Errorf("%s: not a hashed asset name", f.Path)
		}
		// Minified: long lines, and components' names mangled away.
		if strings.HasSuffix(f.Path, ".js") || strings.HasSuffix(f.Path, ".css") {
			if !minified(f.Content) {
				t.Errorf("%s is not minified: %d lines in %d bytes", f.Path, bytes.Count(f.Content, []byte("\n")), len(f.Content))
			}
			if bytes.Contains(f.Content, []byte("function ProgressBar")) || bytes.Contains(f.Content, []byte("function Settings")) {
				t.Errorf("%s keeps function names: not minified", f.Path)
			}
		}
	}

	// react and react-dom in a vendor chunk of their own; the app's code elsewhere.
	vendor := chunkOf(t, r, build.ChunkVendor, "vendor")
	entry := chunkOf(t, r, build.ChunkEntry, "index")
	if !hasModule(vendor, "react-dom") || !hasModule(vendor, "react") {
		t.Errorf("vendor chunk modules %+v: want react and react-dom", vendor.Modules)
	}
	if hasModule(entry, "react-dom") || hasModule(entry, "react") || entry.Size > 20<<10 {
		t.Errorf("entry chunk (%d bytes) holds vendor code: %+v", entry.Size, entry.Modules)
	}
	if slices.ContainsFunc(vendor.Modules, func(m build.Module) bool { return strings.HasPrefix(m.ID, "src/") }) {
		t.Errorf("vendor chunk holds app code: %+v", vendor.Modules)
	}
	var sum int64
	for _, m := range vendor.Modules {
		sum += m.Size
	}
	if sum > vendor.Size || sum < vendor.Size*9/10 {
		t.Errorf("vendor modules add up to %d of the chunk's %d bytes", sum, vendor.Size)
	}

	// Each lazy route in a chunk of its own, with its CSS beside it, loaded on demand.
	index, _ := files.Find(out.Assets, "index.html")
	for _, route := range []string{"Stats", "Settings"} {
		c := chunkOf(t, r, build.ChunkLazy, route)
		if bytes.Contains(index.Content, []byte(c.File)) {
			t.Errorf("index.html loads the lazy chunk %s", c.File)
		}
		css := slices.IndexFunc(out.Assets, func(f files.File) bool {
			return strings.HasPrefix(f.Path, "assets/"+route+"-") && strings.HasSuffix(f.Path, ".css")
		})
		if css < 0 {
			t.Errorf("no stylesheet of its own for the %s route", route)
		} else if bytes.Contains(index.Content, []byte(out.Assets[css].Path)) {
			t.Errorf("index.html loads the %s route's stylesheet", route)
		}
	}
	for _, want := range []string{`<script type="module" crossorigin src="/` + entry.File + `">`, `<link rel="modulepreload" crossorigin href="/` + vendor.File + `">`} {
		if !bytes.Contains(index.Content, []byte(want)) {
			t.Errorf("index.html lacks %s:\n%s", want, index.Content)
		}
	}

	// A _headers file for the bundle; the budget checked.
	h, ok := files.Find(out.Assets, "_headers")
	if !ok {
		t.Fatal("no _headers in a production bundle")
	}
	for _, want := range []string{"/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n", "frame-ancestors 'none'", "style-src 'self';"} {
		if !bytes.Contains(h.Content, []byte(want)) {
			t.Errorf("_headers lacks %q:\n%s", want, h.Content)
		}
	}
	if r.Budget == nil || r.Budget.Status != build.BudgetOK || r.BudgetErr() != nil {
		t.Errorf("budget %+v, want ok", r.Budget)
	}
	t.Logf("production: %d files, %d bytes (%d gzip); vendor %d (%d gzip), entry %d (%d gzip)",
		len(r.Files), r.TotalSize, r.TotalGzipSize, vendor.Size, vendor.GzipSize, entry.Size, entry.GzipSize)
}

func TestPreviewProfile(t *testing.T) {
	for _, engine := range []build.Engine{build.EngineVite, build.EngineESBuild} {
		t.Run(string(engine), func(t *testing.T) {
			b := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1; c.PreviewEngine = engine })
			out, err := b.Build(t.Context(), build.Request{ID: "preview", Files: testapp.Routes()}, nil) // the default profile
			if err != nil {
				t.Fatal(err)
			}
			r := out.Report
			if r.Profile != build.ProfilePreview || r.Engine != engine || r.Budget != nil {
				t.Errorf("profile %q, engine %q (%s), budget %+v: want a preview by %s without a budget", r.Profile, r.Engine, r.EngineNote, r.Budget, engine)
			}
			js := 0
			for _, f := range out.Assets {
				if !strings.HasSuffix(f.Path, ".js") {
					continue
				}
				js++
				if !hashedAsset.MatchString(f.Path) {
					t.Errorf("%s: not a hashed asset name", f.Path)
				}
				if _, ok := files.Find(out.Assets, f.Path+".map"); !ok {
					t.Errorf("%s has no source map", f.Path)
				}
				if !bytes.Contains(f.Content, []byte("//# sourceMappingURL=")) {
					t.Errorf("%s does not name its source map", f.Path)
				}
				if minified(f.Content) && len(f.Content) > 4096 {
					t.Errorf("%s looks minified; previews are not", f.Path)
				}
			}
			if js < 4 {
				t.Errorf("%d JS files, want the entry, vendor and two lazy chunks", js)
			}
			if !slices.ContainsFunc(r.Chunks, func(c build.Chunk) bool { return c.Kind == build.ChunkVendor && hasModule(c, "react-dom") }) {
				t.Errorf("no vendor chunk with react-dom among %+v", r.Chunks)
			}
			h, _ := files.Find(out.Assets, "_headers")
			if bytes.Contains(h.Content, []byte("frame-ancestors")) || !bytes.Contains(h.Content, []byte("Content-Security-Policy: default-src 'self'")) {
				t.Errorf("preview _headers:\n%s\nwant the CSP without frame-ancestors", h.Content)
			}
		})
	}
}

// hostileConfig tries every way an app's config has to undo the production settings.
const hostileConfig = `import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig(({ mode }) => ({
  base: './',
  publicDir: '/etc',
  envPrefix: '',
  plugins: [
    react(),
    {
      name: 'undo',
      enforce: 'post',
      config() {
        return { build: { sourcemap: 'inline', minify: false, outDir: 'elsewhere' } }
      },
      outputOptions(o) {
        return { ...o, entryFileNames: '[name].js', chunkFileNames: '[name].js', minify: false, sourcemap: true }
      },
    },
  ],
  build: {
    sourcemap: true,
    minify: mode === 'production' ? false : 'oxc',
    cssMinify: false,
    outDir: 'out',
    target: 'es2015',
    rollupOptions: { output: { entryFileNames: '[name].js', manualChunks: () => 'all' } },
  },
}))
`

func TestProductionSettingsCannotBeTurnedOff(t *testing.T) {
	b := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1 })
	src := files.Merge(testapp.Routes(), []files.File{{Path: "vite.config.ts", Content: []byte(hostileConfig)}})
	out, err := b.Build(t.Context(), build.Request{ID: "hostile", Files: src, Profile: build.ProfileProduction}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clean, err := b.Build(t.Context(), build.Request{ID: "clean", Files: testapp.Routes(), Profile: build.ProfileProduction}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same bundle as with the template's config: every setting the config touched
	// was put back.
	paths := func(o *build.Output) (ps []string) {
		for _, f := range o.Assets {
			ps = append(ps, f.Path)
		}
		return ps
	}
	if got, want := paths(out), paths(clean); !slices.Equal(got, want) {
		t.Errorf("bundle with the hostile config: %q\nwith the template's: %q", got, want)
	}
	for _, f := range out.Assets {
		if strings.HasPrefix(f.Path, "passwd") || strings.HasSuffix(f.Path, ".map") || bytes.Contains(f.Content, []byte("sourceMappingURL")) {
			t.Errorf("%s in the bundle", f.Path)
		}
		if (strings.HasSuffix(f.Path, ".js") || strings.HasSuffix(f.Path, ".css")) && !minified(f.Content) {
			t.Errorf("%s is not minified", f.Path)
		}
	}
	index, _ := files.Find(out.Assets, "index.html")
	if !bytes.Contains(index.Content, []byte(`src="/assets/index-`)) {
		t.Errorf("index.html does not load /assets/ with base /:\n%s", index.Content)
	}
}

func TestUnknownProfileIsRefused(t *testing.T) {
	b := newBuilder(t, func(c *build.Config) { c.NPM = "/nonexistent/npm" })
	_, err := b.Build(t.Context(), build.Request{ID: "p", Files: testapp.Template(), Profile: "staging"}, nil)
	if !errors.Is(err, build.ErrInvalidRequest) {
		t.Errorf("err = %v, want ErrInvalidRequest", err)
	}
}
