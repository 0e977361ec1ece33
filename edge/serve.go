package edge

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Values of metadata.assets.config the data plane acts on.
const (
	notFoundNone    = "none" // Cloudflare's default
	notFound404Page = "404-page"
	notFoundSPA     = "single-page-application"
	htmlNone        = "none"
)

// serveSite serves a request of the data plane, the way Cloudflare serves an
// assets-only Worker (its asset-worker's handler.ts):
//   - _redirects rules apply first: a redirect answers at once, a 200 rule rewrites
//     the path that assets are looked up by;
//   - a path resolves to the exact asset, or with html_handling (default
//     auto-trailing-slash, kept simple here: no redirects) to path.html or
//     path/index.html; "/" is /index.html;
//   - an unmatched path gets, by not_found_handling: "single-page-application"
//     /index.html with 200 (for an assets-only Worker Cloudflare does this for every
//     unmatched request, navigation or not), "404-page" the nearest 404.html with
//     404, "none" an empty 404; a rewritten path that matches nothing is a 404;
//   - GET and HEAD only (405 otherwise, for a path that resolves);
//   - _headers rules apply to every response, matched against the request's path.
func (e *Edge) serveSite(w http.ResponseWriter, r *http.Request, s site) {
	sc, found := e.store.script(s.script)
	switch {
	case s.script == "":
		e.noSite(w, r, s, fmt.Sprintf("Apps on this edge are served at {app}.%s.localhost.", e.cfg.Subdomain))
		return
	case !found:
		e.noSite(w, r, s, fmt.Sprintf("No app named %q is deployed.", s.script))
		return
	case sc.Assets == nil:
		e.noSite(w, r, s, fmt.Sprintf("The Worker %q has no static assets to serve.", s.script))
		return
	case !sc.Subdomain.Enabled && !s.custom:
		e.noSite(w, r, s, fmt.Sprintf("The Worker %q is not enabled on its workers.dev subdomain yet.", s.script))
		return
	}
	escaped := r.URL.EscapedPath()
	if escaped == "" {
		escaped = "/"
	}
	rules := e.rules.get(sc)
	if rules != nil && len(rules.headers) > 0 {
		w = &headerWriter{ResponseWriter: w, apply: func(h http.Header) {
			applyHeaderRules(rules.headers, s.host, escaped, h)
		}}
	}
	decoded := r.URL.Path
	proxied := false
	if rules != nil {
		if status, to, ok := rules.redirects.match(s.host, escaped); ok {
			dest, err := requestURL(r).Parse(to)
			if err != nil {
				e.log.Debug("redirect destination does not parse", "script", sc.Name, "to", to, "err", err)
				http.Error(w, "bad redirect destination", http.StatusInternalServerError)
				return
			}
			if status != http.StatusOK {
				w.Header().Set("Location", redirectLocation(r, dest))
				w.WriteHeader(status)
				return
			}
			decoded, proxied = dest.Path, true
		}
	}
	assets := sc.Assets
	p := cleanURLPath(decoded)
	name, ent, status, ok := resolveAsset(assets, p)
	if !ok && !proxied {
		name, ent, status, ok = notFoundAsset(assets, p)
	}
	if !ok {
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	e.serveAsset(w, r, sc, name, ent, status)
}

// requestURL is the absolute URL of a data-plane request.
func requestURL(r *http.Request) *url.URL {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return &u
}

// redirectLocation is the Location of a redirect to dest, as handler.ts builds it:
// a same-origin destination as a path, the request's query string kept when the
// destination has none.
func redirectLocation(r *http.Request, dest *url.URL) string {
	search := ""
	if r.URL.RawQuery != "" {
		search = "?" + r.URL.RawQuery
	}
	if dest.RawQuery != "" {
		search = "?" + dest.RawQuery
	}
	hash := ""
	if dest.Fragment != "" {
		hash = "#" + dest.EscapedFragment()
	}
	base := requestURL(r)
	if dest.Scheme == base.Scheme && dest.Host == base.Host {
		return dest.EscapedPath() + search + hash
	}
	u := *dest
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	return u.String() + search + hash
}

// headerWriter applies _headers rules to a response just before its header is
// written.
type headerWriter struct {
	http.ResponseWriter
	apply func(http.Header)
	wrote bool
}

func (hw *headerWriter) WriteHeader(status int) {
	if !hw.wrote {
		hw.wrote = true
		hw.apply(hw.Header())
	}
	hw.ResponseWriter.WriteHeader(status)
}

func (hw *headerWriter) Write(b []byte) (int, error) {
	if !hw.wrote {
		hw.WriteHeader(http.StatusOK)
	}
	return hw.ResponseWriter.Write(b)
}

// notFoundAsset is what not_found_handling serves for p, if anything.
func notFoundAsset(assets *assetSet, p string) (string, manifestEntry, int, bool) {
	switch assets.Config.NotFoundHandling {
	case notFoundSPA:
		if ent, ok := assets.Manifest["/index.html"]; ok {
			return "/index.html", ent, http.StatusOK, true
		}
	case notFound404Page:
		if name, ent, ok := nearest404(assets.Manifest, p); ok {
			return name, ent, http.StatusNotFound, true
		}
	}
	return "", manifestEntry{}, 0, false
}

// cleanURLPath cleans p and keeps a trailing slash, which html_handling looks at.
func cleanURLPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// resolveAsset finds the asset that serves p.
func resolveAsset(assets *assetSet, p string) (string, manifestEntry, int, bool) {
	candidates := []string{p}
	if assets.Config.HTMLHandling != htmlNone {
		if dir, ok := strings.CutSuffix(p, "/"); ok {
			candidates = []string{p + "index.html"}
			if dir != "" {
				candidates = append(candidates, dir+".html")
			}
		} else {
			candidates = append(candidates, p+".html", p+"/index.html")
		}
	}
	for _, c := range candidates {
		if ent, ok := assets.Manifest[c]; ok {
			return c, ent, http.StatusOK, true
		}
	}
	return "", manifestEntry{}, 0, false
}

// nearest404 finds the 404.html closest to p, walking up its folders.
func nearest404(m map[string]manifestEntry, p string) (string, manifestEntry, bool) {
	dir := path.Dir(p)
	if strings.HasSuffix(p, "/") {
		dir = strings.TrimSuffix(p, "/")
	}
	for {
		name := path.Join(dir, "404.html")
		if ent, ok := m[name]; ok {
			return name, ent, true
		}
		if dir == "/" || dir == "." || dir == "" {
			return "", manifestEntry{}, false
		}
		dir = path.Dir(dir)
	}
}

// serveAsset writes one asset. A 200 goes through http.ServeContent, which answers
// If-None-Match with 304, HEAD without a body, and ranges.
func (e *Edge) serveAsset(w http.ResponseWriter, r *http.Request, sc *script, name string, ent manifestEntry, status int) {
	f, err := e.store.openAsset(ent.Hash)
	if err != nil {
		e.log.Error("open asset", "script", sc.Name, "path", name, "hash", ent.Hash, "err", err)
		http.Error(w, "asset content is missing", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	h := w.Header()
	ct := contentType(name)
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", cacheControl(name))
	if status == http.StatusOK && compressible(ct) && ent.Size >= minCompressBytes {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) && r.Header.Get("Range") == "" {
			if gz, err := e.store.gzipped(ent.Hash); err == nil {
				h.Set("Content-Encoding", "gzip")
				h.Set("ETag", `W/"`+ent.Hash+`"`)
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(gz))
				return
			}
		}
	}
	if status == http.StatusOK {
		h.Set("ETag", `"`+ent.Hash+`"`)
		http.ServeContent(w, r, "", time.Time{}, f)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(ent.Size, 10))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, f); err != nil {
			e.log.Debug("write asset", "script", sc.Name, "path", name, "err", err)
		}
	}
}

// Cache policies: hashed file names never change content, so browsers may keep them
// for a year; HTML names a bundle and must be revalidated on every load; other
// assets (favicon.ico, robots.txt) get Cloudflare's default, revalidate.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "public, max-age=0, must-revalidate"
	cacheHTML       = "no-cache"
)

var (
	// Rollup/Vite's default [hash]: 8 base64url characters after "-" or ".".
	shortHashPattern = regexp.MustCompile(`[-.][A-Za-z0-9_-]{8}$`)
	// webpack and others: 8 to 64 hex characters.
	hexHashPattern = regexp.MustCompile(`[-.][0-9a-f]{8,64}$`)
)

func cacheControl(name string) string {
	if isHTML(name) {
		return cacheHTML
	}
	if isHashedName(path.Base(name)) {
		return cacheImmutable
	}
	return cacheRevalidate
}

func isHTML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".html" || ext == ".htm"
}

// isHashedName reports whether a file name carries a content hash, like
// index-BHpbNtuy.js or main.3f2a9c1d.css. A candidate must contain a digit or both
// cases, so that words (chunk-vendors.js) do not pass for hashes.
func isHashedName(base string) bool {
	stem := strings.TrimSuffix(base, path.Ext(base))
	var hash string
	switch {
	case hexHashPattern.MatchString(stem):
		hash = hexHashPattern.FindString(stem)[1:]
	case shortHashPattern.MatchString(stem):
		hash = shortHashPattern.FindString(stem)[1:]
	default:
		return false
	}
	hasDigit := strings.ContainsAny(hash, "0123456789")
	hasUpper := strings.ContainsFunc(hash, func(r rune) bool { return r >= 'A' && r <= 'Z' })
	hasLower := strings.ContainsFunc(hash, func(r rune) bool { return r >= 'a' && r <= 'z' })
	return hasDigit || (hasUpper && hasLower)
}

// contentTypes maps extensions to Content-Type. A fixed table, so answers do not
// depend on the machine's mime.types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".cjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json; charset=utf-8",
	".map":         "application/json; charset=utf-8",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
	".xml":         "application/xml",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".wav":         "audio/wav",
}

func contentType(name string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return ct
	}
	return "application/octet-stream"
}

// noSite answers a data-plane request no deployed app serves.
func (e *Edge) noSite(w http.ResponseWriter, r *http.Request, s site, why string) {
	e.log.Debug("no site", "host", s.host, "path", r.URL.Path, "reason", why)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nothing here yet</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>Nothing is deployed at %s</h1>
<p>%s</p>
<p>This is appforge's local edge.</p>
</body></html>
`, html.EscapeString(s.host), html.EscapeString(why))
}
