package edge

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// siteFiles is a typical Vite bundle plus pages for html_handling and 404 pages.
var siteFiles = map[string]string{
	"/index.html":                 "<!doctype html><div id=root></div>",
	"/assets/index-BHpbNtuy.js":   "console.log('app')",
	"/assets/index-D1x2y3z4.css":  "body{margin:0}",
	"/assets/logo-Dw-5dBa_.svg":   "<svg/>",
	"/assets/photo.3f2a9c1d.png":  "\x89PNG",
	"/assets/font-a1B2c3D4.woff2": "wOF2",
	"/favicon.ico":                "ico",
	"/robots.txt":                 "User-agent: *",
	"/data/todos.json":            "[]",
	"/about.html":                 "<p>about</p>",
	"/docs/index.html":            "<p>docs</p>",
	"/404.html":                   "<p>not found</p>",
	"/blog/404.html":              "<p>no such post</p>",
}

const host = "app.appforge.localhost"

func TestServeContentTypesAndCaching(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "app", siteFiles, "single-page-application")
	tests := []struct {
		path, wantType, wantCache, wantBody string
	}{
		{"/", "text/html; charset=utf-8", cacheHTML, siteFiles["/index.html"]},
		{"/index.html", "text/html; charset=utf-8", cacheHTML, siteFiles["/index.html"]},
		{"/assets/index-BHpbNtuy.js", "text/javascript; charset=utf-8", cacheImmutable, siteFiles["/assets/index-BHpbNtuy.js"]},
		{"/assets/index-D1x2y3z4.css", "text/css; charset=utf-8", cacheImmutable, siteFiles["/assets/index-D1x2y3z4.css"]},
		{"/assets/logo-Dw-5dBa_.svg", "image/svg+xml", cacheImmutable, siteFiles["/assets/logo-Dw-5dBa_.svg"]},
		{"/assets/photo.3f2a9c1d.png", "image/png", cacheImmutable, siteFiles["/assets/photo.3f2a9c1d.png"]},
		{"/assets/font-a1B2c3D4.woff2", "font/woff2", cacheImmutable, siteFiles["/assets/font-a1B2c3D4.woff2"]},
		{"/favicon.ico", "image/x-icon", cacheRevalidate, siteFiles["/favicon.ico"]},
		{"/robots.txt", "text/plain; charset=utf-8", cacheRevalidate, siteFiles["/robots.txt"]},
		{"/data/todos.json", "application/json; charset=utf-8", cacheRevalidate, siteFiles["/data/todos.json"]},
		{"/about", "text/html; charset=utf-8", cacheHTML, siteFiles["/about.html"]},
		{"/docs", "text/html; charset=utf-8", cacheHTML, siteFiles["/docs/index.html"]},
		{"/docs/", "text/html; charset=utf-8", cacheHTML, siteFiles["/docs/index.html"]},
		{"/assets/../about", "text/html; charset=utf-8", cacheHTML, siteFiles["/about.html"]},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := f.do(t, "GET", host, tt.path, nil, nil)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200 (%s)", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.wantCache)
			}
			if body != tt.wantBody {
				t.Errorf("body: got %q, want %q", body, tt.wantBody)
			}
			if resp.Header.Get("ETag") == "" {
				t.Errorf("no ETag")
			}
		})
	}
}

func TestServeNotFoundHandling(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "spa", siteFiles, "single-page-application")
	f.deploy(t, "pages", siteFiles, "404-page")
	f.deploy(t, "plain", siteFiles, "none")
	f.deploy(t, "default", siteFiles, "")
	tests := []struct {
		script, path string
		wantStatus   int
		wantBody     string
	}{
		// A deep link of a single-page app gets the app shell.
		{"spa", "/todos/42", 200, siteFiles["/index.html"]},
		{"spa", "/settings/profile/", 200, siteFiles["/index.html"]},
		// For an assets-only Worker Cloudflare answers every unmatched request with
		// index.html, asset-looking or not.
		{"spa", "/assets/missing-AbCd1234.js", 200, siteFiles["/index.html"]},
		{"pages", "/nope", 404, siteFiles["/404.html"]},
		{"pages", "/blog/missing-post", 404, siteFiles["/blog/404.html"]},
		{"pages", "/blog/2024/deep/post", 404, siteFiles["/blog/404.html"]},
		{"plain", "/nope", 404, ""},
		{"default", "/nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.script+tt.path, func(t *testing.T) {
			resp := f.do(t, "GET", tt.script+".appforge.localhost", tt.path, nil, nil)
			if body := readBody(t, resp); resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestServeConditionalAndHead(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "app", siteFiles, "single-page-application")
	for _, p := range []string{"/assets/index-BHpbNtuy.js", "/index.html", "/todos/42"} {
		t.Run(p, func(t *testing.T) {
			first := f.do(t, "GET", host, p, nil, nil)
			etag := first.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag: got %q, want a quoted strong tag", etag)
			}
			again := f.do(t, "GET", host, p, http.Header{"If-None-Match": {etag}}, nil)
			if body := readBody(t, again); again.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("If-None-Match: got %d %q, want 304 and no body", again.StatusCode, body)
			}
			stale := f.do(t, "GET", host, p, http.Header{"If-None-Match": {`"0000"`}}, nil)
			if stale.StatusCode != http.StatusOK {
				t.Errorf("stale If-None-Match: got %d, want 200", stale.StatusCode)
			}
			head := f.do(t, "HEAD", host, p, nil, nil)
			if body := readBody(t, head); head.StatusCode != http.StatusOK || body != "" || head.Header.Get("Content-Length") == "" {
				t.Errorf("HEAD: got %d %q Content-Length %q, want 200, no body, a length",
					head.StatusCode, body, head.Header.Get("Content-Length"))
			}
		})
	}
}

func TestServeHosts(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "app", siteFiles, "")
	// Published but never enabled on workers.dev.
	ws := f.workers(testToken)
	sess := startSession(t, ws, "hidden", siteFiles)
	if _, err := putAssetsScript(ws, "hidden", uploadAll(t, ws, sess, siteFiles), ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, host, method string
		wantStatus         int
		wantText           string
	}{
		{"deployed app, any port", "app.appforge.localhost:8787", "GET", 200, "<div id=root>"},
		{"upper-case host", "APP.AppForge.LOCALHOST", "GET", 200, "<div id=root>"},
		{"unknown app", "nope.appforge.localhost", "GET", 404, `No app named &#34;nope&#34; is deployed`},
		{"another subdomain", "app.someone-else.localhost", "GET", 404, "Nothing is deployed at app.someone-else.localhost"},
		{"bare localhost subdomain", "appforge.localhost", "GET", 404, "Nothing is deployed"},
		{"not enabled on workers.dev", "hidden.appforge.localhost", "GET", 404, "not enabled"},
		{"write to a site", "app.appforge.localhost", "POST", 405, "method not allowed"},
		{"localhost is the API", "localhost:8787", "GET", 403, `"code":10000`},
		{"an IP is the API", "127.0.0.1", "GET", 403, `"code":10000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, tt.method, tt.host, "/client/v4/accounts/"+testAccount+"/workers/subdomain", nil, nil)
			if tt.wantStatus == 200 || tt.method == "POST" {
				resp = f.do(t, tt.method, tt.host, "/", nil, nil)
			}
			body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body, tt.wantText) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.wantStatus, tt.wantText)
			}
		})
	}
}

func TestServeHTMLHandlingNone(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	sess := startSession(t, ws, "exact", siteFiles)
	jwt := uploadAll(t, ws, sess, siteFiles)
	md := `{"compatibility_date":"2025-09-01","assets":{"jwt":"` + jwt + `","config":{"html_handling":"none"}}}`
	putRaw(t, f, "exact", md)
	enableSubdomain(t, ws, "exact")
	for _, tt := range []struct {
		path       string
		wantStatus int
	}{{"/about.html", 200}, {"/about", 404}, {"/docs/", 404}} {
		resp := f.do(t, "GET", "exact.appforge.localhost", tt.path, nil, nil)
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: got %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
		}
	}
}

// putRaw uploads a script whose metadata is the given JSON, as wrangler sends it: a
// plain form field.
func putRaw(t *testing.T, f *fixture, script, metadata string) {
	t.Helper()
	body := "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" + metadata + "\r\n--b--\r\n"
	h := bearer(testToken)
	h.Set("Content-Type", "multipart/form-data; boundary=b")
	resp := f.do(t, "PUT", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/"+script, h, strings.NewReader(body))
	if env := decodeEnvelope(t, resp); resp.StatusCode != 200 || !*env.Success {
		t.Fatalf("put %s: got %d %+v", script, resp.StatusCode, env.Errors)
	}
}

func TestIsHashedName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"index-BHpbNtuy.js", true},
		{"index-Dw-5dBa_.js", true},
		{"vendor.3f2a9c1d.css", true},
		{"main.3f2a9c1d4e5f6a7b8c9d.js", true},
		{"index.js", false},
		{"my-component-v2.js", false},
		{"chunk-vendors.js", false},
		{"favicon.ico", false},
		{"react-router.js", false},
	}
	for _, tt := range tests {
		if got := isHashedName(tt.name); got != tt.want {
			t.Errorf("isHashedName(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestServeCompressesText(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("console.log('appforge');\n", 200)
	files := map[string]string{"/index.html": siteFiles["/index.html"], "/assets/big-AbCdEf12.js": big, "/logo-AbCdEf12.png": strings.Repeat("\x89PNG", 400)}
	f.deploy(t, "app", files, "")
	gz := f.do(t, "GET", host, "/assets/big-AbCdEf12.js", http.Header{"Accept-Encoding": {"gzip, br"}}, nil)
	if gz.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(gz.Header.Get("ETag"), `W/"`) || !strings.Contains(gz.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip response headers = %v", gz.Header)
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != big {
		t.Error("the gzip body does not decode to the asset")
	}
	raw := f.do(t, "GET", host, "/assets/big-AbCdEf12.js", http.Header{"Accept-Encoding": {"identity"}}, nil)
	if raw.Header.Get("Content-Encoding") != "" || readBody(t, raw) != big {
		t.Error("a client without gzip got a compressed body")
	}
	img := f.do(t, "GET", host, "/logo-AbCdEf12.png", http.Header{"Accept-Encoding": {"gzip"}}, nil)
	if img.Header.Get("Content-Encoding") != "" {
		t.Error("an image was compressed")
	}
	again := f.do(t, "GET", host, "/assets/big-AbCdEf12.js", http.Header{"Accept-Encoding": {"gzip"}, "If-None-Match": {gz.Header.Get("ETag")}}, nil)
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match on the weak tag = %d, want 304", again.StatusCode)
	}
}
