package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// deployWithRules deploys files with _headers and _redirects text, as wrangler sends
// them: inside metadata.assets.config.
func deployWithRules(t *testing.T, f *fixture, script string, files map[string]string, headers, redirects, notFound string) {
	t.Helper()
	ws := f.workers(testToken)
	jwt := uploadAll(t, ws, startSession(t, ws, script, files), files)
	cfg, _ := json.Marshal(map[string]string{"_headers": headers, "_redirects": redirects, "not_found_handling": notFound})
	putRaw(t, f, script, `{"compatibility_date":"2025-09-01","assets":{"jwt":"`+jwt+`","config":`+string(cfg)+`}}`)
	enableSubdomain(t, ws, script)
}

var rulesSite = map[string]string{
	"/index.html":               "<p>home</p>",
	"/about.html":               "<p>about</p>",
	"/users/id.html":            "<p>user page</p>",
	"/assets/app-BHpbNtuy.js":   "app()",
	"/docs/index.html":          "<p>docs</p>",
	"/blog/2024/post.html":      "<p>post</p>",
	"/secure/page.html":         "<p>secure</p>",
	"/fonts/inter-a1B2c3D4.ttf": "font",
}

const rulesHeaders = `# global headers
/*
  X-Frame-Options: DENY
  X-Robots-Tag: noindex

/assets/*
  Cache-Control: public, max-age=60
  X-Asset: :splat

/users/:id
  X-User: user-:id

/secure/*
  ! X-Robots-Tag
  X-Frame-Options: SAMEORIGIN

https://:sub.appforge.localhost/about
  X-Sub: :sub

bad line without a path
/fonts/*
  Access-Control-Allow-Origin: *
`

const rulesRedirects = `# static first
/old          /about          301
/temp         /about
/see-other    /about          303
/keep         /about          307
/perm         /about          308
/external     https://example.com/landing?from=edge 302
/with-query   /about?x=1      301
/old          /ignored-duplicate 301

# dynamic
/blog/*       /news/:splat    301
/users/:id    /users/id.html  200
/posts/:year/:slug  /blog/:year/:slug  302
/rewrite-missing  /nothing-here.html  200

# ignored: bad status, proxy to another host, loops, too many tokens
/bad-status   /about          404
/proxy        https://example.com/x  200
/*            /index.html     200
/a /b 301 extra
`

func TestHeadersAndRedirects(t *testing.T) {
	f := newFixture(t)
	deployWithRules(t, f, "app", rulesSite, rulesHeaders, rulesRedirects, "404-page")
	tests := []struct {
		name, path     string
		wantStatus     int
		wantBody       string
		wantHeaders    map[string]string // "" means absent
		wantLocation   string
		noFollowChecks bool
	}{
		{name: "every response gets the global headers", path: "/", wantStatus: 200, wantBody: "<p>home</p>",
			wantHeaders: map[string]string{"X-Frame-Options": "DENY", "X-Robots-Tag": "noindex"}},
		{name: "a later rule replaces a header, not appends", path: "/assets/app-BHpbNtuy.js", wantStatus: 200, wantBody: "app()",
			wantHeaders: map[string]string{"Cache-Control": "public, max-age=60", "X-Asset": "app-BHpbNtuy.js", "X-Frame-Options": "DENY"}},
		{name: "! removes a header, later sets append", path: "/secure/page", wantStatus: 200, wantBody: "<p>secure</p>",
			wantHeaders: map[string]string{"X-Robots-Tag": "", "X-Frame-Options": "DENY, SAMEORIGIN"}},
		{name: "host placeholder", path: "/about", wantStatus: 200,
			wantHeaders: map[string]string{"X-Sub": "app"}},
		{name: "a header value with a star", path: "/fonts/inter-a1B2c3D4.ttf", wantStatus: 200,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{name: "301", path: "/old", wantStatus: 301, wantLocation: "/about",
			wantHeaders: map[string]string{"X-Frame-Options": "DENY"}},
		{name: "302 is the default", path: "/temp", wantStatus: 302, wantLocation: "/about"},
		{name: "303", path: "/see-other", wantStatus: 303, wantLocation: "/about"},
		{name: "307", path: "/keep", wantStatus: 307, wantLocation: "/about"},
		{name: "308", path: "/perm", wantStatus: 308, wantLocation: "/about"},
		{name: "the request's query string is kept", path: "/temp?q=1", wantStatus: 302, wantLocation: "/about?q=1"},
		{name: "the destination's query string wins", path: "/with-query?q=1", wantStatus: 301, wantLocation: "/about?x=1"},
		{name: "external destination", path: "/external", wantStatus: 302, wantLocation: "https://example.com/landing?from=edge"},
		{name: "splat", path: "/blog/2024/post", wantStatus: 301, wantLocation: "/news/2024/post"},
		{name: "placeholders", path: "/posts/2025/hello", wantStatus: 302, wantLocation: "/blog/2025/hello"},
		{name: "200 rewrites, the URL stays", path: "/users/42", wantStatus: 200, wantBody: "<p>user page</p>",
			wantHeaders: map[string]string{"X-User": "user-42"}},
		{name: "a rewrite to nothing is a 404, not the 404 page", path: "/rewrite-missing", wantStatus: 404, wantBody: ""},
		{name: "a bad status is ignored", path: "/bad-status", wantStatus: 404, wantBody: "", wantHeaders: map[string]string{"Location": ""}},
		{name: "a proxy to another host is ignored", path: "/proxy", wantStatus: 404},
		{name: "the /* to /index.html loop is ignored", path: "/nothing", wantStatus: 404},
		{name: "a duplicate source is ignored", path: "/old", wantStatus: 301, wantLocation: "/about"},
		{name: "_headers and _redirects are not assets", path: "/_headers", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, "GET", "app.appforge.localhost", tt.path, nil, nil)
			body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d (%q), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body: got %q, want %q", body, tt.wantBody)
			}
			if got := resp.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location: got %q, want %q", got, tt.wantLocation)
			}
			for name, want := range tt.wantHeaders {
				if got := strings.Join(resp.Header.Values(name), ", "); got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
		})
	}
	t.Run("redirects apply to any method", func(t *testing.T) {
		resp := f.do(t, "POST", "app.appforge.localhost", "/old", nil, nil)
		if resp.StatusCode != 301 {
			t.Errorf("POST /old: got %d, want 301", resp.StatusCode)
		}
	})
	t.Run("custom headers on a 304", func(t *testing.T) {
		first := f.do(t, "GET", "app.appforge.localhost", "/", nil, nil)
		again := f.do(t, "GET", "app.appforge.localhost", "/", http.Header{"If-None-Match": {first.Header.Get("ETag")}}, nil)
		if again.StatusCode != 304 || again.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("got %d with X-Frame-Options %q, want 304 with DENY", again.StatusCode, again.Header.Get("X-Frame-Options"))
		}
	})
}

func TestRedirectLimits(t *testing.T) {
	var b strings.Builder
	for i := range maxStaticRedirects + 5 {
		fmt.Fprintf(&b, "/s%d /t%d 301\n", i, i)
	}
	for i := range maxDynamicRedirects + 5 {
		fmt.Fprintf(&b, "/d%d/* /t/:splat 301\n", i)
	}
	fmt.Fprintf(&b, "/%s /x 301\n", strings.Repeat("l", maxRuleLineLength))
	rs := parseRedirects(b.String(), "")
	if len(rs.static) != maxStaticRedirects || len(rs.dynamic) != maxDynamicRedirects {
		t.Errorf("rules: got %d static and %d dynamic, want %d and %d", len(rs.static), len(rs.dynamic), maxStaticRedirects, maxDynamicRedirects)
	}
	// A static-looking rule after a dynamic one is matched in order, as a dynamic one.
	rs = parseRedirects("/a/* /first 301\n/a/b /second 301\n", "")
	if status, to, ok := rs.match("h", "/a/b"); !ok || status != 301 || to != "/first" {
		t.Errorf("order: got %d %q %v, want the first rule", status, to, ok)
	}
	// Two splats make a rule Cloudflare cannot compile: it matches nothing.
	rs = parseRedirects("/a/*/b/* /x 301\n", "")
	if _, _, ok := rs.match("h", "/a/1/b/2"); ok {
		t.Errorf("a rule with two splats matched")
	}
	// Inline comments after the status, fragments in the destination.
	rs = parseRedirects("/c /d#top 301 # comment\n", "")
	if status, to, ok := rs.match("h", "/c"); !ok || status != 301 || to != "/d#top" {
		t.Errorf("comment and fragment: got %d %q %v", status, to, ok)
	}
	// / to /index with html_handling: a loop, ignored; with html_handling none, kept.
	if rs := parseRedirects("/ /index 301\n", ""); len(rs.static) != 0 {
		t.Errorf("/ to /index with html handling was kept")
	}
	if rs := parseRedirects("/ /index 301\n", htmlNone); len(rs.static) != 1 {
		t.Errorf("/ to /index without html handling was dropped")
	}
}

func TestHeaderRuleLimits(t *testing.T) {
	var b strings.Builder
	for i := range maxHeaderRules + 10 {
		fmt.Fprintf(&b, "/p%d\n  X-N: %d\n", i, i)
	}
	// Cloudflare's parser stops at the path line after the 100th rule, then keeps
	// the rule it was reading: 101 rules.
	if got := len(parseHeaders(b.String())); got != maxHeaderRules+1 {
		t.Errorf("rules: got %d, want %d", got, maxHeaderRules+1)
	}
	rules := parseHeaders("X-Before-Path: x\n/a\n  no colon here\n  X-Empty:\n  Bad Name: v\n  X-Ok: 1\n  x-ok: 2\n/same\n  A: 1\n/b\n  B: 1\n/same\n  A: 2\n")
	if len(rules) != 3 || rules[0].path != "/a" || len(rules[0].set) != 1 || rules[0].set[0].value != "1, 2" {
		t.Fatalf("rules: got %+v", rules)
	}
	if rules[1].path != "/same" || rules[1].set[0].value != "2" {
		t.Errorf("a repeated path: got %+v, want the later rule in the first place", rules[1])
	}
}
