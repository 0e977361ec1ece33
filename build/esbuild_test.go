package build_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
	"github.com/appforge/appforge/files"
)

// The evaluation of the in-process esbuild path for previews: for the template, every
// app kind of the offline generator and the larger app with lazy routes, a preview built
// by esbuild must behave as the production build by Vite does:
//
//   - the same files outside assets/ (index.html, public/ files, _headers);
//   - the same stylesheets and lazy chunks under assets/ (by name, without the hash);
//   - the same CSS rules, both normalised by esbuild's minifier;
//   - every reference of index.html and of the chunks to another file resolves;
//   - in headless Chromium (when installed), every page, reached by URL and by clicking
//     its link, shows the same title, text and computed styles, with no error and no
//     Content-Security-Policy violation under the bundle's own _headers.

// comparedApp is an app of the evaluation.
type comparedApp struct {
	name   string
	files  []files.File
	paths  []string
	clicks []click
}

type click struct {
	From string `json:"from"`
	Link string `json:"link"`
	Path string `json:"path"`
}

func comparedApps(t testing.TB) []comparedApp {
	t.Helper()
	apps := []comparedApp{{name: "template", files: testapp.Template(), paths: []string{"/"}}}
	kinds, err := testapp.Kinds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		apps = append(apps, comparedApp{name: k.Name, files: k.Files, paths: []string{"/"}})
	}
	return append(apps, comparedApp{
		name: "routes", files: testapp.Routes(), paths: testapp.RouteURLs,
		clicks: []click{{"/", "Stats", "/stats"}, {"/stats", "Settings", "/settings"}, {"/settings", "Home", "/"}},
	})
}

// builtPair is an app built by both paths.
type builtPair struct {
	app               comparedApp
	vite, esbuild     *build.Output
	viteMS, esbuildMS float64
}

func TestESBuildPreviewBehavesAsViteProduction(t *testing.T) {
	vite := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1 })
	esb := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1; c.PreviewEngine = build.EngineESBuild })
	var pairs []builtPair
	for _, app := range comparedApps(t) {
		pv, err := vite.Build(t.Context(), build.Request{ID: "cmp-vite-" + app.name, Files: app.files, Profile: build.ProfileProduction}, nil)
		if err != nil {
			t.Fatalf("%s: vite: %v", app.name, err)
		}
		pe, err := esb.Build(t.Context(), build.Request{ID: "cmp-esbuild-" + app.name, Files: app.files, Profile: build.ProfilePreview}, nil)
		if err != nil {
			t.Fatalf("%s: esbuild: %v", app.name, err)
		}
		if pe.Report.Engine != build.EngineESBuild {
			t.Fatalf("%s: the preview was built by %s: %s", app.name, pe.Report.Engine, pe.Report.EngineNote)
		}
		pairs = append(pairs, builtPair{app: app, vite: pv, esbuild: pe,
			viteMS: ms(pv.Report.BundleDuration), esbuildMS: ms(pe.Report.BundleDuration)})
	}

	for _, p := range pairs {
		t.Run(p.app.name, func(t *testing.T) {
			compareFiles(t, p.vite, p.esbuild)
			compareCSS(t, p.vite.Assets, p.esbuild.Assets)
			for _, out := range []*build.Output{p.vite, p.esbuild} {
				checkReferences(t, string(out.Report.Engine), out.Assets)
			}
			t.Logf("bundle: vite production %.0f ms, esbuild preview %.0f ms", p.viteMS, p.esbuildMS)
		})
	}
	t.Run("browser", func(t *testing.T) { compareInBrowser(t, pairs) })
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// hashedName matches a file name with Vite's or esbuild's 8-character hash.
var hashedName = regexp.MustCompile(`^(.+)-[A-Za-z0-9_-]{8}(\.[a-z0-9]+)$`)

// stem is a bundle path without its hash: "assets/Stats.css".
func stem(p string) string {
	dir, base := path.Split(p)
	if m := hashedName.FindStringSubmatch(base); m != nil {
		return dir + m[1] + m[2]
	}
	return p
}

func compareFiles(t *testing.T, vite, esb *build.Output) {
	t.Helper()
	outside := func(out *build.Output) []string {
		var ps []string
		for _, f := range out.Assets {
			if !strings.HasPrefix(f.Path, "assets/") {
				ps = append(ps, f.Path)
			}
		}
		return ps
	}
	if a, b := outside(vite), outside(esb); !slices.Equal(a, b) {
		t.Errorf("files outside assets/: vite %q, esbuild %q", a, b)
	}
	// Stylesheets and non-code assets by name; lazy chunks by name. esbuild names its
	// shared chunks "chunk" and Vite its vendor chunk "vendor": code layout, not behaviour.
	kinds := func(out *build.Output) (assets, lazy []string) {
		for _, f := range out.Assets {
			if strings.HasPrefix(f.Path, "assets/") && !strings.HasSuffix(f.Path, ".js") && !strings.HasSuffix(f.Path, ".map") {
				assets = append(assets, stem(f.Path))
			}
		}
		for _, c := range out.Report.Chunks {
			if c.Kind == build.ChunkLazy {
				lazy = append(lazy, c.Name)
			}
		}
		sort.Strings(assets)
		sort.Strings(lazy)
		return assets, lazy
	}
	va, vl := kinds(vite)
	ea, el := kinds(esb)
	if !slices.Equal(va, ea) {
		t.Errorf("assets: vite %q, esbuild %q", va, ea)
	}
	if !slices.Equal(vl, el) {
		t.Errorf("lazy chunks: vite %q, esbuild %q", vl, el)
	}
}

func compareCSS(t *testing.T, vite, esb []files.File) {
	t.Helper()
	vr, er := cssRules(t, vite), cssRules(t, esb)
	var onlyVite, onlyESBuild []string
	for r := range vr {
		if !er[r] {
			onlyVite = append(onlyVite, r)
		}
	}
	for r := range er {
		if !vr[r] {
			onlyESBuild = append(onlyESBuild, r)
		}
	}
	sort.Strings(onlyVite)
	sort.Strings(onlyESBuild)
	if len(onlyVite)+len(onlyESBuild) > 0 {
		t.Errorf("CSS rules differ (%d rules from vite, %d from esbuild):\nonly vite:\n  %s\nonly esbuild:\n  %s",
			len(vr), len(er), strings.Join(onlyVite, "\n  "), strings.Join(onlyESBuild, "\n  "))
	}
	if len(vr) == 0 {
		t.Error("no CSS rules")
	}
}

// cssRules returns every CSS rule of a bundle, each minified by esbuild for the build
// target, with the at-rules that hold it: "@media (prefers-…){.a{color:red}}".
func cssRules(t *testing.T, assets []files.File) map[string]bool {
	t.Helper()
	rules := map[string]bool{}
	engines := []api.Engine{{Name: api.EngineChrome, Version: "111"}, {Name: api.EngineEdge, Version: "111"}, {Name: api.EngineFirefox, Version: "114"}, {Name: api.EngineSafari, Version: "16.4"}, {Name: api.EngineIOS, Version: "16.4"}}
	for _, f := range assets {
		if !strings.HasSuffix(f.Path, ".css") {
			continue
		}
		res := api.Transform(string(f.Content), api.TransformOptions{Loader: api.LoaderCSS, MinifyWhitespace: true, MinifySyntax: true, Engines: engines})
		if len(res.Errors) > 0 {
			t.Fatalf("%s: %v", f.Path, res.Errors)
		}
		splitRules(strings.TrimSpace(string(res.Code)), "", rules)
	}
	return rules
}

// splitRules adds the top-level rules of minified CSS to out, recursing into
// conditional group rules.
func splitRules(css, prefix string, out map[string]bool) {
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(css); i++ {
		c := css[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				rule := strings.TrimSpace(css[start : i+1])
				open := strings.IndexByte(rule, '{')
				prelude := rule[:open]
				if strings.HasPrefix(prelude, "@media") || strings.HasPrefix(prelude, "@supports") || strings.HasPrefix(prelude, "@layer") || strings.HasPrefix(prelude, "@container") {
					splitRules(rule[open+1:len(rule)-1], prefix+normaliseMedia(prelude)+"{", out)
				} else {
					out[prefix+normaliseRule(rule)+strings.Repeat("}", strings.Count(prefix, "{"))] = true
				}
				start = i + 1
			}
		case c == ';' && depth == 0:
			if r := strings.TrimSpace(css[start : i+1]); r != "" {
				out[prefix+r] = true // @import, @charset
			}
			start = i + 1
		}
	}
}

// normaliseRule makes two minifiers' output of one rule compare equal when it means
// the same: declarations sorted (lightningcss reorders them, keeping their meaning),
// no space after a custom property's colon or around "/", colours as #rrggbbaa, and
// lightningcss's own --lightningcss-* helper properties (for light-dark()) left out.
// Keyframes and other blocks of blocks are kept whole.
func normaliseRule(rule string) string {
	open := strings.IndexByte(rule, '{')
	sel, body := rule[:open], rule[open+1:len(rule)-1]
	if strings.ContainsRune(body, '{') {
		return sel + "{" + normaliseValue(body) + "}"
	}
	var decls []string
	for _, d := range splitTop(body, ';') {
		name, value, ok := strings.Cut(d, ":")
		if !ok || strings.HasPrefix(name, "--lightningcss-") {
			continue
		}
		value = normaliseValue(strings.TrimSpace(value))
		switch {
		case strings.HasPrefix(name, "border") && !strings.HasPrefix(name, "--"):
			// currentColor is border-color's initial value: lightningcss leaves it out.
			value = strings.TrimSpace(strings.ReplaceAll(value, " currentColor", ""))
		case name == "animation":
			// The shorthand's parts in any order mean the same; lightningcss reorders them.
			var anims []string
			for _, a := range splitTop(value, ',') {
				parts := strings.Fields(a)
				sort.Strings(parts)
				anims = append(anims, strings.Join(parts, " "))
			}
			value = strings.Join(anims, ",")
		case name == "flex" && !strings.Contains(value, " ") && strings.TrimLeft(value, "0123456789.") != "" && value != "auto" && value != "none":
			value = "1 1 " + value // flex: 240px is flex: 1 1 240px
		}
		decls = append(decls, name+":"+value)
	}
	sort.Strings(decls)
	return sel + "{" + strings.Join(decls, ";") + "}"
}

// splitTop splits s at sep outside parentheses and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

var mediaRange = regexp.MustCompile(`\((max|min)-(width|height):\s*([^)]+)\)`)

// normaliseMedia writes media features in range syntax, as lightningcss does for the
// target: (max-width:720px) is (width<=720px).
func normaliseMedia(prelude string) string {
	return mediaRange.ReplaceAllStringFunc(prelude, func(m string) string {
		g := mediaRange.FindStringSubmatch(m)
		op := "<="
		if g[1] == "min" {
			op = ">="
		}
		return "(" + g[2] + op + g[3] + ")"
	})
}

var (
	transparent = regexp.MustCompile(`\btransparent\b`)
	slashSpace  = regexp.MustCompile(`\s*/\s*`)
	hexColour   = regexp.MustCompile(`#([0-9a-fA-F]{3,8})\b`)
	rgbColour   = regexp.MustCompile(`rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[/,]\s*([\d.]+%?))?\s*\)`)
)

func normaliseValue(v string) string {
	v = slashSpace.ReplaceAllString(v, "/")
	v = transparent.ReplaceAllString(v, "#0000")
	if v == "0 0" { // lightningcss writes background:transparent as background:0 0, which means the same
		v = "#0000"
	}
	v = hexColour.ReplaceAllStringFunc(v, func(m string) string {
		h := strings.ToLower(m[1:])
		switch len(h) {
		case 3, 4:
			var b strings.Builder
			for _, c := range h {
				b.WriteString(strings.Repeat(string(c), 2))
			}
			h = b.String()
		case 6, 8:
		default:
			return m
		}
		if len(h) == 6 {
			h += "ff"
		}
		return "#" + h
	})
	return rgbColour.ReplaceAllStringFunc(v, func(m string) string {
		g := rgbColour.FindStringSubmatch(m)
		var rgba [4]int
		for i := range 3 {
			f, _ := strconv.ParseFloat(g[i+1], 64)
			rgba[i] = int(math.Round(f))
		}
		rgba[3] = 255
		if a := g[4]; a != "" {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(a, "%"), 64)
			if strings.HasSuffix(a, "%") {
				f /= 100
			}
			rgba[3] = int(math.Round(f * 255))
		}
		return fmt.Sprintf("#%02x%02x%02x%02x", rgba[0], rgba[1], rgba[2], rgba[3])
	})
}

var (
	htmlRefs = regexp.MustCompile(`(?i)\s(?:src|href)="([^"]+)"`)
	jsRefs   = regexp.MustCompile(`["'` + "`" + `](?:\./|/assets/)([A-Za-z0-9_.-]+\.(?:js|css))["'` + "`" + `]`)
)

// checkReferences checks that index.html's and the chunks' references to files of the
// bundle resolve.
func checkReferences(t *testing.T, engine string, assets []files.File) {
	t.Helper()
	has := func(p string) bool { _, ok := files.Find(assets, p); return ok }
	index, _ := files.Find(assets, "index.html")
	n := 0
	for _, m := range htmlRefs.FindAllSubmatch(index.Content, -1) {
		ref := string(m[1])
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "data:") {
			continue
		}
		n++
		if !has(strings.TrimPrefix(ref, "/")) {
			t.Errorf("%s: index.html refers to %s, not in the bundle", engine, ref)
		}
	}
	if n < 2 {
		t.Errorf("%s: index.html refers to %d files, want a script and a stylesheet at least", engine, n)
	}
	for _, f := range assets {
		if !strings.HasSuffix(f.Path, ".js") {
			continue
		}
		for _, m := range jsRefs.FindAllSubmatch(f.Content, -1) {
			if !has("assets/" + string(m[1])) {
				t.Errorf("%s: %s refers to %s, not in the bundle", engine, f.Path, m[1])
			}
		}
	}
}

// serveBundle serves a bundle as the edge would: files by path, index.html for / and
// for paths that name no file (single-page-application fallback), and the headers of
// the bundle's _headers rules that match.
func serveBundle(t *testing.T, assets []files.File) *httptest.Server {
	t.Helper()
	type rule struct {
		re      *regexp.Regexp
		headers [][2]string
	}
	var rules []rule
	h, _ := files.Find(assets, "_headers")
	for _, line := range strings.Split(string(h.Content), "\n") {
		switch {
		case strings.HasPrefix(line, "/"):
			parts := strings.Split(line, "*")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			rules = append(rules, rule{re: regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")})
		case strings.HasPrefix(line, "  ") && len(rules) > 0:
			k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
			rules[len(rules)-1].headers = append(rules[len(rules)-1].headers, [2]string{k, v})
		}
	}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".txt": "text/plain", ".map": "application/json"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		f, ok := files.Find(assets, p)
		if !ok || p == "" || p == "_headers" {
			if path.Ext(p) != "" && p != "" {
				http.NotFound(w, r)
				return
			}
			f, _ = files.Find(assets, "index.html")
		}
		for _, rl := range rules {
			if rl.re.MatchString(r.URL.Path) {
				for _, kv := range rl.headers {
					w.Header().Set(kv[0], kv[1])
				}
			}
		}
		w.Header().Set("Content-Type", types[path.Ext(f.Path)])
		w.Write(f.Content)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// browserTools finds headless Chromium and playwright-core, or skips (fails in CI).
func browserTools(t *testing.T) (chromium, nodePath string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (make browser installs it)", what)
		}
		t.Skipf("%s not installed: run `make browser`", what)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium")
	}
	nodePath, _ = filepath.Abs("../.tools/browser/node_modules")
	if _, err := os.Stat(filepath.Join(nodePath, "playwright-core")); err != nil {
		missing("playwright-core")
	}
	return chromium, nodePath
}

// page is what render.cjs reports of one page.
type page struct {
	Title  string   `json:"title"`
	Text   string   `json:"text"`
	Styles []string `json:"styles"`
	Errors []string `json:"errors"`
}

func compareInBrowser(t *testing.T, pairs []builtPair) {
	chromium, nodePath := browserTools(t)
	type job struct {
		Name   string   `json:"name"`
		Base   string   `json:"base"`
		Paths  []string `json:"paths"`
		Clicks []click  `json:"clicks"`
	}
	var jobs []job
	for _, p := range pairs {
		for engine, out := range map[string]*build.Output{"vite": p.vite, "esbuild": p.esbuild} {
			jobs = append(jobs, job{Name: p.app.name + "/" + engine, Base: serveBundle(t, out.Assets).URL, Paths: p.app.paths, Clicks: p.app.clicks})
		}
	}
	in, _ := json.Marshal(jobs)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "testdata/render.cjs")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "CHROMIUM="+chromium)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr.String())
	}
	var got map[string]map[string]page
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("render output %q: %v", out, err)
	}
	for _, p := range pairs {
		vite, esb := got[p.app.name+"/vite"], got[p.app.name+"/esbuild"]
		for _, key := range slices.Sorted(maps.Keys(vite)) {
			v, e := vite[key], esb[key]
			where := fmt.Sprintf("%s %s", p.app.name, key)
			for engine, pg := range map[string]page{"vite": v, "esbuild": e} {
				if len(pg.Errors) > 0 {
					t.Errorf("%s (%s): errors: %q", where, engine, pg.Errors)
				}
				if strings.TrimSpace(pg.Text) == "" {
					t.Errorf("%s (%s): the page shows no text", where, engine)
				}
			}
			if v.Title != e.Title || v.Text != e.Text {
				t.Errorf("%s: vite shows %q %q, esbuild %q %q", where, v.Title, v.Text, e.Title, e.Text)
			}
			if !slices.Equal(v.Styles, e.Styles) {
				for i := range max(len(v.Styles), len(e.Styles)) {
					var a, b string
					if i < len(v.Styles) {
						a = v.Styles[i]
					}
					if i < len(e.Styles) {
						b = e.Styles[i]
					}
					if a != b {
						t.Errorf("%s: element %d styled differently:\n  vite    %s\n  esbuild %s", where, i, a, b)
					}
				}
			}
		}
		if len(vite) != len(p.app.paths)+len(p.app.clicks) || len(esb) != len(vite) {
			t.Errorf("%s: %d pages from vite, %d from esbuild, want %d", p.app.name, len(vite), len(esb), len(p.app.paths)+len(p.app.clicks))
		}
	}
}

func TestESBuildFallsBackToVite(t *testing.T) {
	b := newBuilder(t, func(c *build.Config) { c.OutputCacheBytes = -1 }) // the default: esbuild for previews
	tests := []struct {
		name    string
		overlay map[string]string
		note    string // in Report.EngineNote
	}{
		{"the template", nil, ""},
		{"a config of its own", map[string]string{"vite.config.ts": "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n\nexport default defineConfig({ plugins: [react()], resolve: { alias: { '@': '/src' } } })\n"}, "vite.config.ts does more than add the React plugin"},
		{"another package", map[string]string{
			"package.json": withDeps(t, map[string]string{"clsx": "2.1.1"}),
			"src/App.tsx":  "import clsx from 'clsx'\n\nexport default function App() {\n  return <main className={clsx('page')}>x</main>\n}\n",
		}, `the app imports "clsx"`},
		{"a glob import", map[string]string{"src/App.tsx": "const pages = import.meta.glob('./*.tsx')\n\nexport default function App() {\n  return <main>{Object.keys(pages).length}</main>\n}\n"}, "import.meta.glob"},
		{"import.meta.env as a whole", map[string]string{"src/App.tsx": "export default function App() {\n  return <main>{Object.keys(import.meta.env).join()}</main>\n}\n"}, "which only Vite defines"},
		{"an undefined env variable", map[string]string{"src/App.tsx": "export default function App() {\n  return <main>{import.meta.env.VITE_NOPE ?? 'none'}</main>\n}\n"}, "import.meta.env.VITE_NOPE"},
		{"a defined env variable", map[string]string{".env": "VITE_NAME=Atlas\n", "src/App.tsx": "export default function App() {\n  return <main>{import.meta.env.VITE_NAME} {import.meta.env.MODE}</main>\n}\n"}, ""},
		{"PostCSS configuration", map[string]string{"postcss.config.js": "export default { plugins: {} }\n"}, "PostCSS"},
		{"tsconfig paths", map[string]string{"tsconfig.json": `{"compilerOptions": {"jsx": "react-jsx", "paths": {"@/*": ["./src/*"]}}, "include": ["src"]}`}, "compilerOptions.paths"},
		{"an asset in index.html", map[string]string{"src/logo.svg": "<svg/>", "index.html": "<!doctype html><html><head><link rel=\"icon\" href=\"/src/logo.svg\"></head><body><div id=\"root\"></div><script type=\"module\" src=\"/src/main.tsx\"></script></body></html>"}, "an asset Vite would bundle"},
		{"code esbuild rejects", map[string]string{"src/App.tsx": "export default function App() {\n  return <main>{</main>\n}\n"}, "esbuild failed, so Vite built it"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := b.Build(t.Context(), build.Request{ID: "fb" + strconv.Itoa(i), Files: app(tt.overlay)}, nil)
			var f *build.Failure
			if tt.note == "esbuild failed, so Vite built it" {
				// Vite's verdict counts: the failure is Vite's, as production would give it.
				if !errors.As(err, &f) || len(f.Errors) == 0 || !strings.HasPrefix(f.Errors[0], "src/App.tsx(2,18): error ") {
					t.Fatalf("err = %v, want Vite's failure", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := build.EngineESBuild
			if tt.note != "" {
				want = build.EngineVite
			}
			if out.Report.Engine != want || !strings.Contains(out.Report.EngineNote, tt.note) {
				t.Errorf("engine %s, note %q; want %s and a note with %q", out.Report.Engine, out.Report.EngineNote, want, tt.note)
			}
		})
	}
}

func TestBuildsReadNothingOutsideTheApp(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(secret, []byte(`{"token": "s3cr3t"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	b := newBuilder(t, func(c *build.Config) { c.WorkDir = work; c.OutputCacheBytes = -1 })
	for i, p := range []build.Profile{build.ProfilePreview, build.ProfileProduction} {
		id := "outside-" + strconv.Itoa(i)
		rel, err := filepath.Rel(filepath.Join(work, id, "src"), secret)
		if err != nil {
			t.Fatal(err)
		}
		src := app(map[string]string{"src/App.tsx": "import secret from '" + filepath.ToSlash(rel) + "'\n\nexport default function App() {\n  return <main>{secret.token}</main>\n}\n"})
		out, err := b.Build(t.Context(), build.Request{ID: id, Files: src, Profile: p}, nil)
		var f *build.Failure
		if !errors.As(err, &f) {
			for _, a := range out.Assets {
				if bytes.Contains(a.Content, []byte("s3cr3t")) {
					t.Errorf("%s: %s holds the secret", p, a.Path)
				}
			}
			t.Fatalf("%s: err = %v, want a Failure", p, err)
		}
		if !strings.Contains(strings.Join(f.Errors, "\n"), "is outside the app and its dependencies") {
			t.Errorf("%s: errors %q", p, f.Errors)
		}
	}
}
