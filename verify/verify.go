// Package verify checks a deployed site the way a browser would load it: index.html,
// then every script, stylesheet and icon it references, each with the right status and
// content type, and a deep link answered by the single-page-app fallback.
package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// Check is one fetched URL.
type Check struct {
	URL          string `json:"url"`
	Status       int    `json:"status"`
	ContentType  string `json:"content_type"`
	Bytes        int    `json:"bytes"`
	CacheControl string `json:"cache_control,omitempty"`
	DurationMS   int64  `json:"duration_ms"`
}

// Report is the outcome of a site check. Problems is empty when the site is healthy.
type Report struct {
	URL      string   `json:"url"`
	Checks   []Check  `json:"checks"`
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the site passed.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Options tune a check.
type Options struct {
	// DeepLink, when set, is a client-side route that must answer with index.html
	// (single-page-app fallback), e.g. "/some/client/route".
	DeepLink string
	// NotFoundPage: the site has a 404.html and unknown paths must answer it with 404
	// instead of the single-page-app fallback.
	NotFoundPage bool
	// MaxAssets bounds how many referenced assets are fetched; default 50.
	MaxAssets int
}

// Site checks the site at siteURL. It returns an error only when the check itself could
// not run (a bad URL); an unreachable or broken site is a Report with Problems.
func Site(ctx context.Context, client *http.Client, siteURL string, opts Options) (Report, error) {
	base, err := url.Parse(siteURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return Report{}, fmt.Errorf("verify: %q is not an absolute URL", siteURL)
	}
	if opts.MaxAssets == 0 {
		opts.MaxAssets = 50
	}
	r := &Report{URL: siteURL}
	root := base.ResolveReference(&url.URL{Path: "/"})
	body, ok := r.fetch(ctx, client, root.String(), "text/html")
	if !ok {
		return *r, nil
	}
	refs := references(body)
	if len(refs) == 0 {
		r.problem("index.html references no scripts or stylesheets")
	}
	seen := map[string]bool{}
	for _, ref := range refs {
		u, err := root.Parse(ref.url)
		if err != nil || u.Host != root.Host || seen[u.Path] {
			continue
		}
		seen[u.Path] = true
		if len(seen) > opts.MaxAssets {
			break
		}
		r.fetch(ctx, client, u.String(), ref.want)
	}
	if opts.DeepLink != "" {
		deep := root.ResolveReference(&url.URL{Path: opts.DeepLink})
		if opts.NotFoundPage {
			r.expectNotFound(ctx, client, deep.String())
		} else if got, ok := r.fetch(ctx, client, deep.String(), "text/html"); ok && !bytes.Equal(got, body) {
			r.problem(fmt.Sprintf("%s did not answer with index.html (single-page-app fallback)", deep.Path))
		}
	}
	return *r, nil
}

func (r *Report) problem(p string) { r.Problems = append(r.Problems, p) }

// fetch GETs u and checks status 200 and, when want is set, the content type.
func (r *Report) fetch(ctx context.Context, client *http.Client, u, want string) ([]byte, bool) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		r.problem(fmt.Sprintf("%s: %v", u, err))
		return nil, false
	}
	resp, err := client.Do(req)
	if err != nil {
		r.problem(fmt.Sprintf("%s: %v", u, err))
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 20<<20))
	c := Check{URL: u, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Bytes: len(body),
		CacheControl: resp.Header.Get("Cache-Control"), DurationMS: time.Since(start).Milliseconds()}
	r.Checks = append(r.Checks, c)
	if err != nil {
		r.problem(fmt.Sprintf("%s: reading the body: %v", u, err))
		return nil, false
	}
	if resp.StatusCode != http.StatusOK {
		r.problem(fmt.Sprintf("%s answered %d, want 200", u, resp.StatusCode))
		return nil, false
	}
	if want != "" && !contentTypeIs(c.ContentType, want) {
		r.problem(fmt.Sprintf("%s has content type %q, want %s", u, c.ContentType, want))
		return body, false
	}
	return body, true
}

// expectNotFound checks that u answers the site's 404 page with status 404.
func (r *Report) expectNotFound(ctx context.Context, client *http.Client, u string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		r.problem(fmt.Sprintf("%s: %v", u, err))
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		r.problem(fmt.Sprintf("%s: %v", u, err))
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r.Checks = append(r.Checks, Check{URL: u, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Bytes: len(body)})
	if resp.StatusCode != http.StatusNotFound || !contentTypeIs(resp.Header.Get("Content-Type"), "text/html") {
		r.problem(fmt.Sprintf("%s answered %d %s, want the 404 page with status 404", u, resp.StatusCode, resp.Header.Get("Content-Type")))
	}
}

func contentTypeIs(got, want string) bool {
	mt, _, err := mime.ParseMediaType(got)
	if err != nil {
		return false
	}
	if want == "text/javascript" {
		return mt == "text/javascript" || mt == "application/javascript"
	}
	return mt == want
}

type reference struct {
	url  string
	want string // expected content type, "" for any
}

// references lists the same-document resources index.html loads.
func references(doc []byte) []reference {
	var out []reference
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		t := z.Token()
		attr := func(name string) string {
			for _, a := range t.Attr {
				if a.Key == name {
					return a.Val
				}
			}
			return ""
		}
		switch t.Data {
		case "script":
			if src := attr("src"); src != "" {
				out = append(out, reference{src, "text/javascript"})
			}
		case "link":
			href := attr("href")
			if href == "" {
				continue
			}
			switch rel := strings.ToLower(attr("rel")); {
			case rel == "stylesheet":
				out = append(out, reference{href, "text/css"})
			case rel == "modulepreload":
				out = append(out, reference{href, "text/javascript"})
			case strings.Contains(rel, "icon"), rel == "manifest", rel == "preload":
				out = append(out, reference{href, ""})
			}
		case "img":
			if src := attr("src"); src != "" && !strings.HasPrefix(src, "data:") {
				out = append(out, reference{src, ""})
			}
		}
	}
}

// NewHTTPClient returns a client for checking sites that resolves every *.localhost
// hostname to the loopback address, as browsers do (Go's resolver does not). With
// localEdge set (host:port), *.localhost names are dialled there instead: the local edge
// as seen from another container.
func NewHTTPClient(timeout time.Duration, localEdge string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && IsLocalhost(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
			if localEdge != "" {
				addr = localEdge
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	tr.Proxy = nil
	return &http.Client{Timeout: timeout, Transport: tr}
}

// IsLocalhost reports whether host is localhost or a name under it.
func IsLocalhost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
