package perf_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appforge/appforge/perf"
	"github.com/appforge/appforge/verify"
)

// site is a built-looking app: index.html with a module script, a modulepreload, a
// stylesheet and a favicon; the script statically imports a chunk that imports another
// and lazily imports a third; the stylesheet @imports another, declares a latin font (with
// a fallback format) and a cyrillic one, and a background image; a big image is the
// largest paint. Text responses are gzipped when the client accepts gzip.
type site struct {
	files map[string]file
	// indexDelay holds the document back, so that TTFB has a floor.
	indexDelay time.Duration

	mu       sync.Mutex
	fetched  map[string]int // path → requests
	encoding map[string]string
	conns    int
}

type file struct {
	contentType string
	body        []byte
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{indexDelay: 15 * time.Millisecond, fetched: map[string]int{}, encoding: map[string]string{}}
	s.files = map[string]file{
		"/": {"text/html; charset=utf-8", []byte(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Perf fixture</title>
  <link rel="icon" type="image/svg+xml" href="/favicon.svg">
  <script type="module" crossorigin src="/assets/app.js"></script>
  <link rel="modulepreload" crossorigin href="/assets/vendor.js">
  <link rel="stylesheet" crossorigin href="/assets/app.css">
  <link rel="prefetch" href="/assets/later.js">
</head>
<body>
  <div class="banner"></div>
  <p id="msg">loading</p>
  <img id="hero" src="/assets/hero.png" width="480" height="320" alt="">
  <noscript><img src="/assets/noscript.png" alt=""></noscript>
</body>
</html>
`)},
		"/favicon.svg": {"image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#4f46e5"/></svg>`)},
		"/assets/app.js": {"text/javascript", []byte(`import { greet } from "./vendor.js";
document.getElementById("msg").textContent = greet();
// Loaded only when someone clicks: not part of a first visit.
document.addEventListener("click", () => import("./lazy.js"));
const note = "import fake from './not-an-import.js'";
`)},
		"/assets/vendor.js": {"text/javascript", []byte(`import { name } from "./shared.js";
export const greet = () => ` + "`hello ${name}`" + `;
`)},
		"/assets/shared.js": {"text/javascript", []byte(`export const name = "world";` + "\n")},
		"/assets/lazy.js":   {"text/javascript", []byte(`export default 1;` + "\n")},
		"/assets/later.js":  {"text/javascript", []byte(`export default 2;` + "\n")},
		"/assets/app.css": {"text/css", []byte(`@import "./base.css";
/* url(/assets/commented-out.png) */
@font-face {
  font-family: Brand;
  src: local("Brand"), url(/assets/brand.eot) format("embedded-opentype"), url(/assets/brand.woff2) format("woff2");
}
@font-face {
  font-family: Brand;
  src: url(/assets/brand-cyrillic.woff2) format("woff2");
  unicode-range: U+0400-045F;
}
body { font-family: Brand, sans-serif; margin: 0 }
.banner { height: 40px; background: url("banner.png") no-repeat }
`)},
		"/assets/base.css":    {"text/css", []byte("html { color: #111 }\n")},
		"/assets/brand.woff2": {"font/woff2", randomBytes(20 << 10)},
		"/assets/banner.png":  {"image/png", pngImage(t, 64, 40)},
		"/assets/hero.png":    {"image/png", pngImage(t, 480, 320)},
	}
	return s
}

// firstVisit is what a first visit fetches, worked out by hand from the files above.
var firstVisit = []string{"/", "/favicon.svg", "/assets/app.js", "/assets/vendor.js", "/assets/shared.js",
	"/assets/app.css", "/assets/base.css", "/assets/brand.woff2", "/assets/banner.png", "/assets/hero.png"}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.fetched[r.URL.Path]++
	s.encoding[r.URL.Path] = r.Header.Get("Accept-Encoding")
	s.mu.Unlock()
	f, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == "/" {
		time.Sleep(s.indexDelay)
	}
	w.Header().Set("Content-Type", f.contentType)
	if compressible(f.contentType) && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		// Streamed: no Content-Length, so HTTP/1.1 chunked framing, which must not count.
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(f.body)
		_ = zw.Close()
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(f.body)))
	_, _ = w.Write(f.body)
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "svg") || strings.Contains(ct, "javascript")
}

// wireSize is what a gzip-accepting client receives for path.
func (s *site) wireSize(t *testing.T, path string) int64 {
	t.Helper()
	f := s.files[path]
	if !compressible(f.contentType) {
		return int64(len(f.body))
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(f.body)
	_ = zw.Close()
	return int64(b.Len())
}

func (s *site) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func (s *site) counts() (fetched map[string]int, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.fetched), s.conns
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// pngImage is a w×h PNG of noise: big on the wire, as photos are.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32()), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// browserOptions returns the browser options for the tests that need Chromium, skipping
// the test with the reason when it is not installed, except in CI, where it must be.
func browserOptions(t *testing.T) perf.Options {
	t.Helper()
	opts := perf.Options{Chromium: os.Getenv("CHROMIUM")}
	if _, _, _, err := perf.BrowserTools(opts); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the browser is required in CI (make browser installs it): %v", err)
		}
		t.Skipf("no browser measurement: %v", err)
	}
	return opts
}

func TestMeasureFirstVisit(t *testing.T) {
	s := newSite(t)
	srv := s.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	m, err := perf.Measure(ctx, srv.URL+"/", perf.Options{HTTPClient: srv.Client(), SkipBrowser: true})
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}

	if m.TTFB < s.indexDelay {
		t.Errorf("TTFB %v, want at least the document's %v delay", m.TTFB, s.indexDelay)
	}
	if len(m.TTFBSamples) != perf.DefaultRuns {
		t.Errorf("%d TTFB samples, want %d", len(m.TTFBSamples), perf.DefaultRuns)
	}
	var want int64
	for _, p := range firstVisit {
		want += s.wireSize(t, p)
	}
	if m.FirstVisitBytes != want {
		t.Errorf("FirstVisitBytes %d, want %d", m.FirstVisitBytes, want)
	}
	if m.Requests != len(firstVisit) {
		t.Errorf("Requests %d, want %d", m.Requests, len(firstVisit))
	}
	var got []string
	for _, r := range m.Resources {
		got = append(got, strings.TrimPrefix(r.URL, srv.URL))
		if r.Status != http.StatusOK {
			t.Errorf("%s: status %d", r.URL, r.Status)
		}
	}
	if !sameSet(got, firstVisit) {
		t.Errorf("fetched %v, want %v", got, firstVisit)
	}
	if m.Resources[0].Kind != perf.KindDocument || m.Resources[0].ContentEncoding != "gzip" {
		t.Errorf("first resource %+v, want the gzipped document", m.Resources[0])
	}
	if len(m.Notes) > 0 {
		t.Errorf("notes: %q", m.Notes)
	}
	if m.LCPSource != "" || m.LCP != 0 || m.Browser != nil || m.BrowserSkipped == "" {
		t.Errorf("browser skipped: LCP %v from %q, browser %v, skipped %q", m.LCP, m.LCPSource, m.Browser, m.BrowserSkipped)
	}

	fetched, conns := s.counts()
	for _, p := range []string{"/assets/lazy.js", "/assets/later.js", "/assets/brand.eot", "/assets/brand-cyrillic.woff2", "/assets/noscript.png", "/assets/not-an-import.js", "/assets/commented-out.png"} {
		if fetched[p] > 0 {
			t.Errorf("%s was fetched; a first visit does not", p)
		}
	}
	if fetched["/"] != perf.DefaultRuns+1 {
		t.Errorf("the document was fetched %d times, want %d (TTFB tries and the visit)", fetched["/"], perf.DefaultRuns+1)
	}
	// Every TTFB try on its own connection, and the visit on at least one more.
	if conns < perf.DefaultRuns+1 {
		t.Errorf("%d connections, want at least %d", conns, perf.DefaultRuns+1)
	}
	if ae := s.encoding["/assets/hero.png"]; !strings.Contains(ae, "gzip") || !strings.Contains(ae, "br") {
		t.Errorf("Accept-Encoding %q, want gzip and br", ae)
	}
}

func TestMeasureInChromium(t *testing.T) {
	opts := browserOptions(t)
	s := newSite(t)
	srv := s.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	opts.HTTPClient = srv.Client()
	m, err := perf.Measure(ctx, srv.URL+"/", opts)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if m.BrowserError != "" || m.BrowserSkipped != "" || m.Browser == nil {
		t.Fatalf("browser: error %q, skipped %q", m.BrowserError, m.BrowserSkipped)
	}
	b := m.Browser
	if m.LCPSource != perf.LCPSourceChromium || m.LCP <= 0 {
		t.Errorf("LCP %v from %q, want > 0 from chromium", m.LCP, m.LCPSource)
	}
	if b.LCPElement != "img#hero" || b.LCPURL != srv.URL+"/assets/hero.png" {
		t.Errorf("LCP element %q %q, want img#hero %s/assets/hero.png", b.LCPElement, b.LCPURL, srv.URL)
	}
	if b.LCPSize != 480*320 {
		t.Errorf("LCP size %d, want %d", b.LCPSize, 480*320)
	}
	if b.DOMContentLoaded <= 0 || b.Load < b.DOMContentLoaded {
		t.Errorf("DOMContentLoaded %v, load %v", b.DOMContentLoaded, b.Load)
	}
	// On this fixture, whose every font and image is used, the browser fetches just what
	// the Go visit counts, byte for byte, and, when idle after load, the prefetch, which
	// the Go visit leaves out (it is for a later page).
	var got []string
	requests, bodies := b.Requests, b.EncodedBodyBytes
	for _, r := range b.Resources {
		p := strings.TrimPrefix(r.URL, srv.URL)
		if p == "/assets/later.js" {
			requests, bodies = requests-1, bodies-r.EncodedBodyBytes
			continue
		}
		got = append(got, p)
	}
	if !sameSet(got, firstVisit) {
		t.Errorf("the browser fetched %v, want %v (and maybe the prefetch)", got, firstVisit)
	}
	if requests != m.Requests || bodies != m.FirstVisitBytes {
		t.Errorf("browser saw %d requests, %d body bytes (prefetch aside); the Go visit %d, %d", requests, bodies, m.Requests, m.FirstVisitBytes)
	}
	if b.TransferBytes <= b.EncodedBodyBytes {
		t.Errorf("transfer %d bytes, want more than the bodies' %d (headers)", b.TransferBytes, b.EncodedBodyBytes)
	}
	fetched, _ := s.counts()
	if fetched["/assets/lazy.js"] > 0 || fetched["/assets/brand-cyrillic.woff2"] > 0 {
		t.Errorf("the browser fetched the lazy chunk or the cyrillic font: %v", fetched)
	}
	t.Logf("TTFB %v, %d requests, %d bytes, LCP %v (%s), DCL %v, load %v",
		m.TTFB, m.Requests, m.FirstVisitBytes, m.LCP, b.LCPElement, b.DOMContentLoaded, b.Load)
}

func TestMeasureCustomHostname(t *testing.T) {
	opts := browserOptions(t)
	s := newSite(t)
	srv := s.start(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The Go client dials the test server for any name; Chromium is told to.
	client := srv.Client()
	tr := client.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	opts.HTTPClient = &http.Client{Transport: tr}
	opts.HostResolverRules = "MAP myapp.example 127.0.0.1"
	m, err := perf.Measure(ctx, "http://myapp.example:"+port+"/", opts)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if m.LCPSource != perf.LCPSourceChromium || m.Browser == nil || m.Browser.LCPElement != "img#hero" {
		t.Fatalf("LCP %v from %q, browser error %q", m.LCP, m.LCPSource, m.BrowserError)
	}
}

func TestMeasureWithoutBrowser(t *testing.T) {
	s := newSite(t)
	srv := s.start(t)
	empty := t.TempDir()
	tests := []struct {
		name string
		opts perf.Options
		want string // in BrowserSkipped
	}{
		{"no chromium", perf.Options{Chromium: filepath.Join(empty, "chromium")}, "chromium not found"},
		{"no playwright", perf.Options{NodePath: empty}, "playwright-core not found"},
		{"not asked", perf.Options{SkipBrowser: true}, "not asked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.HTTPClient = srv.Client()
			tt.opts.Runs = 1
			m, err := perf.Measure(context.Background(), srv.URL, tt.opts)
			if err != nil {
				t.Fatalf("Measure: %v", err)
			}
			if !strings.Contains(m.BrowserSkipped, tt.want) || m.BrowserError != "" {
				t.Errorf("skipped %q, error %q; want skipped with %q", m.BrowserSkipped, m.BrowserError, tt.want)
			}
			if m.LCPSource != "" || m.LCP != 0 || m.Browser != nil {
				t.Errorf("LCP %v from %q, browser %v; want none", m.LCP, m.LCPSource, m.Browser)
			}
			if m.Requests != len(firstVisit) || m.TTFB <= 0 {
				t.Errorf("the Go metrics are missing: %d requests, TTFB %v", m.Requests, m.TTFB)
			}
		})
	}
	if _, _, _, err := perf.BrowserTools(tests[0].opts); !errors.Is(err, perf.ErrBrowserUnavailable) {
		t.Errorf("BrowserTools without chromium: %v, want ErrBrowserUnavailable", err)
	}
}

// A browser that fails to start is reported, and the Go metrics stand.
func TestMeasureBrowserFails(t *testing.T) {
	opts := browserOptions(t)
	opts.Chromium = filepath.Join(t.TempDir(), "chromium")
	script := "#!/bin/sh\necho 'chromium: error while loading shared libraries: libnss3.so' >&2\nexit 127\n"
	if err := os.WriteFile(opts.Chromium, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opts.Runs = 1
	s := newSite(t)
	srv := s.start(t)
	opts.HTTPClient = srv.Client()
	m, err := perf.Measure(context.Background(), srv.URL, opts)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if strings.Count(m.BrowserError, "libnss3.so") != 1 || len(m.BrowserError) > 1200 || m.Browser != nil || m.LCPSource != "" {
		t.Errorf("browser error %q, browser %v, LCP source %q; want a short error with the browser's reason", m.BrowserError, m.Browser, m.LCPSource)
	}
	if m.Requests != len(firstVisit) {
		t.Errorf("Requests %d, want %d", m.Requests, len(firstVisit))
	}
}

// Brotli cannot be decoded without a new module: a br body is counted as sent, and read
// from a second, uncounted fetch offering gzip only.
func TestMeasureBrotliIsCountedAndReadAgain(t *testing.T) {
	fakeBrotli := []byte("\x1b\x10\x00brotli-bytes-go-cannot-read")
	var mu sync.Mutex
	cssFetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<link rel=stylesheet href="/s.css"><p>hi</p>`)
		case "/s.css":
			mu.Lock()
			cssFetches++
			mu.Unlock()
			w.Header().Set("Content-Type", "text/css")
			if strings.Contains(r.Header.Get("Accept-Encoding"), "br") {
				w.Header().Set("Content-Encoding", "br")
				_, _ = w.Write(fakeBrotli)
				return
			}
			fmt.Fprint(w, `p { background: url(/p.png) }`)
		case "/p.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(make([]byte, 100))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m, err := perf.Measure(context.Background(), srv.URL, perf.Options{HTTPClient: srv.Client(), SkipBrowser: true, Runs: 1})
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if m.Requests != 3 {
		t.Errorf("Requests %d, want 3 (document, stylesheet, image)", m.Requests)
	}
	css := m.Resources[1]
	if css.ContentEncoding != "br" || css.WireBytes != int64(len(fakeBrotli)) || css.Bytes != -1 {
		t.Errorf("stylesheet %+v, want %d br bytes, decoded size unknown", css, len(fakeBrotli))
	}
	if cssFetches != 2 || len(m.Notes) != 1 || !strings.Contains(m.Notes[0], "fetched again") {
		t.Errorf("%d fetches of the stylesheet, notes %q; want 2 and a note", cssFetches, m.Notes)
	}
}

func TestMeasureRedirectsAndBrokenReferences(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			http.Redirect(w, r, "/app/", http.StatusFound)
		case "/app/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<base href="/static/"><script src="main.js"></script>`+
				`<script type="module" src="gone.js"></script><img src="missing.png">`+
				`<script src="https://cdn.example.com/lib.js"></script><script type="module">import "./inline-dep.js"</script>`)
		case "/static/main.js", "/static/inline-dep.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `console.log(1)`)
		case "/static/gone.js": // a single-page-app fallback answers a missing chunk
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><script type="module" src="/never.js"></script>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m, err := perf.Measure(context.Background(), srv.URL+"/", perf.Options{HTTPClient: srv.Client(), SkipBrowser: true, Runs: 1})
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	type row struct {
		path, kind string
		status     int
	}
	var got []row
	for _, r := range m.Resources {
		got = append(got, row{strings.TrimPrefix(r.URL, srv.URL), r.Kind, r.Status})
	}
	want := []row{
		{"/", perf.KindRedirect, 302}, {"/app/", perf.KindDocument, 200},
		{"/static/main.js", perf.KindScript, 200}, {"/static/gone.js", perf.KindModule, 200},
		{"/static/missing.png", perf.KindImage, 404}, {"/static/inline-dep.js", perf.KindModule, 200},
	}
	sort.Slice(got[2:], func(i, j int) bool { return got[2+i].path < got[2+j].path })
	sort.Slice(want[2:], func(i, j int) bool { return want[2+i].path < want[2+j].path })
	if !slices.Equal(got, want) {
		t.Errorf("resources\n got %v\nwant %v", got, want)
	}
	if !slices.Equal(m.External, []string{"https://cdn.example.com/lib.js"}) {
		t.Errorf("External %v", m.External)
	}
}

// A preloaded file is read when a later reference uses it: a stylesheet for its images,
// a module for its imports. Each is fetched once.
func TestMeasurePreloadedThenUsed(t *testing.T) {
	var mu sync.Mutex
	fetched := map[string]int{}
	files := map[string][2]string{
		"/": {"text/html", `<link rel="preload" as="style" href="/a.css"><link rel="preload" as="script" href="/dep.js" crossorigin>` +
			`<script type="module" src="/main.js"></script><link rel="stylesheet" href="/a.css">`},
		"/a.css":     {"text/css", `body { background: url(/bg.png) }`},
		"/main.js":   {"text/javascript", `import "./dep.js";`},
		"/dep.js":    {"text/javascript", `import "./deeper.js";`},
		"/deeper.js": {"text/javascript", `export {};`},
		"/bg.png":    {"image/png", "png"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched[r.URL.Path]++
		mu.Unlock()
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f[0])
		fmt.Fprint(w, f[1])
	}))
	defer srv.Close()
	m, err := perf.Measure(context.Background(), srv.URL+"/", perf.Options{HTTPClient: srv.Client(), SkipBrowser: true, Runs: 1})
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	var got []string
	for _, r := range m.Resources {
		got = append(got, strings.TrimPrefix(r.URL, srv.URL))
	}
	want := slices.Collect(maps.Keys(files))
	if !sameSet(got, want) || m.Requests != len(files) {
		t.Errorf("%d requests: %v, want %v", m.Requests, got, want)
	}
	delete(fetched, "/") // the TTFB try fetched it too
	for p, n := range fetched {
		if n != 1 {
			t.Errorf("%s fetched %d times, want once", p, n)
		}
	}
}

func TestMeasureNotMeasurable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	_, err := perf.Measure(context.Background(), srv.URL, perf.Options{HTTPClient: srv.Client(), SkipBrowser: true, Runs: 2})
	if !errors.Is(err, perf.ErrNotMeasurable) {
		t.Errorf("a failing site: %v, want ErrNotMeasurable", err)
	}
	for _, u := range []string{"", "example.com", "ftp://example.com/", "/relative"} {
		if _, err := perf.Measure(context.Background(), u, perf.Options{SkipBrowser: true}); err == nil {
			t.Errorf("Measure(%q) succeeded, want an error", u)
		}
	}
}

// The client the deploy passes, verify.NewHTTPClient, reaches *.localhost names.
func TestMeasureLocalhostName(t *testing.T) {
	s := newSite(t)
	srv := s.start(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	m, err := perf.Measure(context.Background(), "http://myapp.appforge.localhost:"+port+"/",
		perf.Options{HTTPClient: verify.NewHTTPClient(10*time.Second, ""), SkipBrowser: true, Runs: 1})
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if m.Requests != len(firstVisit) {
		t.Errorf("Requests %d, want %d", m.Requests, len(firstVisit))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestMeasureStopsAtMaxResources(t *testing.T) {
	s := newSite(t)
	srv := s.start(t)
	m, err := perf.Measure(context.Background(), srv.URL, perf.Options{HTTPClient: srv.Client(), SkipBrowser: true, Runs: 1, MaxResources: 3})
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	if m.Requests != 3 || len(m.Notes) != 1 || !strings.Contains(m.Notes[0], "stopped at 3 requests") {
		t.Errorf("%d requests, notes %q; want 3 and a note", m.Requests, m.Notes)
	}
}
