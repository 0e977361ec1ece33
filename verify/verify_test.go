package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const index = `<!doctype html><html><head>
<link rel="icon" href="/favicon.svg">
<script type="module" crossorigin src="/assets/index-abc.js"></script>
<link rel="stylesheet" crossorigin href="/assets/index-def.css">
<link rel="stylesheet" href="https://fonts.example.com/x.css">
</head><body><div id="root"></div></body></html>`

type site struct {
	files map[string][2]string // path -> content type, body
	spa   bool
}

func (s site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/" {
		p = "/index.html"
	}
	f, ok := s.files[p]
	if !ok && s.spa && !strings.HasPrefix(p, "/assets/") {
		f, ok = s.files["/index.html"]
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f[0])
	w.Write([]byte(f[1]))
}

func goodSite() site {
	return site{spa: true, files: map[string][2]string{
		"/index.html":           {"text/html; charset=utf-8", index},
		"/assets/index-abc.js":  {"text/javascript", "console.log(1)"},
		"/assets/index-def.css": {"text/css", "body{}"},
		"/favicon.svg":          {"image/svg+xml", "<svg/>"},
	}}
}

func TestSite(t *testing.T) {
	ctx := context.Background()
	broken := func(f func(s *site)) site { s := goodSite(); f(&s); return s }
	for _, tc := range []struct {
		name string
		site site
		want string // substring of the first problem; "" for healthy
	}{
		{"healthy", goodSite(), ""},
		{"missing script", broken(func(s *site) { delete(s.files, "/assets/index-abc.js") }), "index-abc.js answered 404"},
		{"css served as text", broken(func(s *site) { s.files["/assets/index-def.css"] = [2]string{"text/plain", "body{}"} }), `content type "text/plain", want text/css`},
		{"no spa fallback", broken(func(s *site) { s.spa = false }), "answered 404"},
		{"no index", broken(func(s *site) { delete(s.files, "/index.html"); s.spa = false }), "/ answered 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.site)
			defer srv.Close()
			rep, err := Site(ctx, srv.Client(), srv.URL, Options{DeepLink: "/some/route"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.OK() {
					t.Fatalf("problems = %v", rep.Problems)
				}
				// index, three assets (the external stylesheet is skipped), the deep link
				if len(rep.Checks) != 5 {
					t.Errorf("checks = %d, want 5: %+v", len(rep.Checks), rep.Checks)
				}
				return
			}
			if rep.OK() || !strings.Contains(rep.Problems[0], tc.want) {
				t.Errorf("problems = %v, want one containing %q", rep.Problems, tc.want)
			}
		})
	}
}

func TestSiteUnreachable(t *testing.T) {
	srv := httptest.NewServer(goodSite())
	url := srv.URL
	srv.Close()
	rep, err := Site(context.Background(), &http.Client{Timeout: 2 * time.Second}, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Error("an unreachable site passed")
	}
	if _, err := Site(context.Background(), http.DefaultClient, "not a url", Options{}); err == nil {
		t.Error("a bad URL gave no error")
	}
}

func TestHTTPClientResolvesLocalhostNames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Host))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	c := NewHTTPClient(5*time.Second, "")
	resp, err := c.Get("http://my-app.appforge.localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 100)
	n, _ := resp.Body.Read(buf)
	if got := string(buf[:n]); got != "my-app.appforge.localhost:"+port {
		t.Errorf("host seen by the server = %q", got)
	}
	for host, want := range map[string]bool{"localhost": true, "a.localhost": true, "A.LOCALHOST.": true, "localhost.com": false, "example.com": false} {
		if IsLocalhost(host) != want {
			t.Errorf("IsLocalhost(%q) = %v", host, !want)
		}
	}
}

func TestSiteWithNotFoundPage(t *testing.T) {
	s := goodSite()
	s.spa = false
	s.files["/404.html"] = [2]string{"text/html", "<h1>Not here</h1>"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.files[r.URL.Path]; !ok && r.URL.Path != "/" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(s.files["/404.html"][1]))
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	rep, err := Site(context.Background(), srv.Client(), srv.URL, Options{DeepLink: "/x/y", NotFoundPage: true})
	if err != nil || !rep.OK() {
		t.Fatalf("404-page site: %v %v", err, rep.Problems)
	}
	// A site in 404-page mode that answers 200 for everything fails.
	spa := httptest.NewServer(goodSite())
	defer spa.Close()
	if rep, _ := Site(context.Background(), spa.Client(), spa.URL, Options{DeepLink: "/x/y", NotFoundPage: true}); rep.OK() {
		t.Error("a site without its 404 page passed")
	}
}
