package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/appforge/appforge/files"
)

// Headers returns the _headers file (Cloudflare's syntax, which the edge follows too)
// for a bundle built with profile p from the app's source files src:
//
//	/assets/*   Cache-Control: public, max-age=31536000, immutable  (names carry a hash)
//	/, /*.html  Cache-Control: no-cache                            (always revalidated)
//	/*          Content-Security-Policy, X-Content-Type-Options: nosniff,
//	            Referrer-Policy: strict-origin-when-cross-origin
//
// The Content-Security-Policy is the strict one (see CSP) fitted to what the bundle
// uses. Previews get the same policy without frame-ancestors, so that the dashboard
// can show a preview in a frame and a preview still behaves as production will.
func Headers(p Profile, bundle, src []files.File) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by appforge for a " + string(p) + " build.\n")
	b.WriteString("/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n")
	b.WriteString("/\n  Cache-Control: no-cache\n")
	b.WriteString("/*.html\n  Cache-Control: no-cache\n")
	b.WriteString("/*\n")
	b.WriteString("  Content-Security-Policy: " + CSP(p, bundle, src) + "\n")
	b.WriteString("  X-Content-Type-Options: nosniff\n")
	b.WriteString("  Referrer-Policy: strict-origin-when-cross-origin\n")
	return b.Bytes()
}

// CSP returns the Content-Security-Policy for a bundle: everything from the app's own
// origin only, plus what the bundle itself shows it needs:
//
//   - default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self';
//     frame-ancestors 'none' (production only);
//   - script-src 'self', plus the hash of each inline <script> of the HTML and the
//     origin of each external <script src>;
//   - style-src 'self', plus 'unsafe-inline' only when the app needs it: style="..."
//     attributes in the HTML; app code (src) that renders <style> elements, makes them
//     or sets style attributes; or a dependency that injects <style> elements at run
//     time (CSS-in-JS: styled-components, Emotion, MUI…). React's style props set
//     properties and need nothing; Vite's CSS is a file. Otherwise the hash of each
//     inline <style>. Plus external stylesheet origins. Library code in the bundle is
//     not searched for <style> elements: react-dom itself makes them, but only for
//     <style> elements an app renders, which the app's code shows;
//   - img-src 'self' data:, plus blob: when the code makes object URLs, plus the origins
//     of image URLs in the HTML, CSS and JS (by extension, or a known image host);
//   - font-src 'self' data:, plus font origins (fonts.gstatic.com with Google Fonts);
//   - media-src 'self', plus blob: and the origins of audio and video URLs;
//   - connect-src 'self' https: (apps may call public APIs).
func CSP(p Profile, bundle, src []files.File) string {
	var a cspAnalysis
	a.init()
	for _, f := range src {
		switch {
		case f.Path == "package.json":
			a.packageJSON(f.Content)
		case strings.HasPrefix(f.Path, "src/") && jsSource[path.Ext(f.Path)]:
			a.source(f.Content)
		}
	}
	for _, f := range bundle {
		switch ext := path.Ext(f.Path); ext {
		case ".html":
			a.html(f.Content)
		case ".css":
			a.css(f.Content)
		case ".js", ".mjs":
			a.js(f.Content)
		}
	}

	style := a.src["style-src"]
	if a.unsafeInlineStyle {
		// A hash beside 'unsafe-inline' makes browsers ignore 'unsafe-inline'.
		style = append(style[:1:1], "'unsafe-inline'")
		style = append(style, a.origins["style-src"]...)
	} else {
		style = append(style, a.hashes["style-src"]...)
		style = append(style, a.origins["style-src"]...)
	}
	directive := func(name string, base ...string) string {
		vals := append([]string(nil), base...)
		vals = append(vals, a.hashes[name]...)
		vals = append(vals, capOrigins(a.origins[name])...)
		return name + " " + strings.Join(vals, " ")
	}
	parts := []string{
		"default-src 'self'",
		directive("script-src", "'self'"),
		"style-src " + strings.Join(dedupeKeep(style), " "),
		directive("img-src", append([]string{"'self'", "data:"}, a.blobs("img-src")...)...),
		directive("font-src", "'self'", "data:"),
		directive("media-src", append([]string{"'self'"}, a.blobs("media-src")...)...),
		"connect-src 'self' https:",
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
	}
	if p == ProfileProduction {
		parts = append(parts, "frame-ancestors 'none'")
	}
	return strings.Join(parts, "; ")
}

// maxOrigins bounds the origins listed in one directive; beyond it the directive
// allows https: as a whole.
const maxOrigins = 16

func capOrigins(origins []string) []string {
	if len(origins) > maxOrigins {
		return []string{"https:"}
	}
	return origins
}

// cspAnalysis collects what a bundle needs beyond 'self'.
type cspAnalysis struct {
	src               map[string][]string
	hashes            map[string][]string
	origins           map[string][]string
	seen              map[string]bool
	unsafeInlineStyle bool
	objectURLs        bool
}

func (a *cspAnalysis) init() {
	a.src = map[string][]string{"style-src": {"'self'"}}
	a.hashes = map[string][]string{}
	a.origins = map[string][]string{}
	a.seen = map[string]bool{}
}

func (a *cspAnalysis) blobs(string) []string {
	if a.objectURLs {
		return []string{"blob:"}
	}
	return nil
}

func (a *cspAnalysis) addHash(directive string, content []byte) {
	sum := sha256.Sum256(content)
	a.add(a.hashes, directive, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
}

func (a *cspAnalysis) addOrigin(directive, rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsAny(u.Host, " ;,'\"") {
		return
	}
	a.add(a.origins, directive, "https://"+strings.ToLower(u.Host))
	if directive == "style-src" && strings.EqualFold(u.Host, "fonts.googleapis.com") {
		a.add(a.origins, "font-src", "https://fonts.gstatic.com")
	}
}

func (a *cspAnalysis) add(m map[string][]string, directive, v string) {
	if k := directive + " " + v; !a.seen[k] {
		a.seen[k] = true
		m[directive] = append(m[directive], v)
	}
}

var (
	htmlScript    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	htmlStyle     = regexp.MustCompile(`(?is)<style\b[^>]*>(.*?)</style\s*>`)
	htmlStyleAttr = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=`)
	htmlLink      = regexp.MustCompile(`(?is)<link\b([^>]*)>`)
	htmlImg       = regexp.MustCompile(`(?is)<(?:img|source|video|audio)\b([^>]*)>`)
	attrSrc       = regexp.MustCompile(`(?i)\b(?:src|href|poster)\s*=\s*["']?([^"'\s>]+)`)
	attrRel       = regexp.MustCompile(`(?i)\brel\s*=\s*["']?([^"'>]+)`)
	attrAs        = regexp.MustCompile(`(?i)\bas\s*=\s*["']?([a-z]+)`)
	httpsURL      = regexp.MustCompile(`https://[A-Za-z0-9.-]+(?::\d+)?(?:/[^\s"'` + "`" + `()<>\\]*)?`)
	cssImport     = regexp.MustCompile(`@import\s+(?:url\()?\s*["']?(https://[^"')\s;]+)`)
	// App code that renders or makes <style> elements, sets style attributes or writes
	// HTML that may hold them: CSP governs all of these (element.style properties, which
	// React's style props set, it does not).
	srcInlineStyle = regexp.MustCompile(`<style[\s>]|createElement\(\s*["'` + "`" + `]style["'` + "`" + `]|setAttribute\(\s*["'` + "`" + `]style["'` + "`" + `]|\.cssText\s*=|insertAdjacentHTML|\.innerHTML\s*=|dangerouslySetInnerHTML`)
)

// jsSource are the extensions of app code searched for inline styles.
var jsSource = map[string]bool{".ts": true, ".tsx": true, ".js": true, ".jsx": true, ".mjs": true, ".mts": true}

// styleInjectors are packages that inject <style> elements at run time.
var styleInjectors = []string{
	"styled-components", "@emotion/", "goober", "react-hot-toast", "sonner", "@mui/", "@chakra-ui/",
	"@mantine/", "antd", "@ant-design/", "@stitches/", "jss", "react-jss", "@fluentui/", "@griffel/",
	"styled-jsx", "twind", "@twind/", "react-tooltip", "@fortawesome/fontawesome-svg-core",
}

var (
	imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".avif": true, ".svg": true, ".ico": true, ".bmp": true}
	fontExts  = map[string]bool{".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true}
	mediaExts = map[string]bool{".mp3": true, ".wav": true, ".ogg": true, ".oga": true, ".m4a": true, ".aac": true, ".flac": true, ".mp4": true, ".webm": true, ".ogv": true, ".mov": true}
	// Hosts that serve images under paths without an extension.
	imageHosts = map[string]bool{
		"images.unsplash.com": true, "source.unsplash.com": true, "plus.unsplash.com": true, "picsum.photos": true,
		"placehold.co": true, "via.placeholder.com": true, "i.pravatar.cc": true, "images.pexels.com": true,
		"cdn.pixabay.com": true, "upload.wikimedia.org": true, "avatars.githubusercontent.com": true,
		"api.dicebear.com": true, "robohash.org": true, "loremflickr.com": true,
	}
)

// urlDirective says which directive a URL found in code or CSS belongs to, if any.
func urlDirective(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	ext := strings.ToLower(path.Ext(u.Path))
	switch {
	case imageExts[ext] || imageHosts[strings.ToLower(u.Hostname())]:
		return "img-src"
	case fontExts[ext]:
		return "font-src"
	case mediaExts[ext]:
		return "media-src"
	}
	return ""
}

func (a *cspAnalysis) html(b []byte) {
	for _, m := range htmlScript.FindAllSubmatch(b, -1) {
		attrs, body := m[1], m[2]
		if src := attrSrc.FindSubmatch(attrs); src != nil {
			a.addOrigin("script-src", string(src[1]))
			continue
		}
		if t := bytes.ToLower(attrs); bytes.Contains(t, []byte("application/ld+json")) || bytes.Contains(t, []byte("importmap")) && len(bytes.TrimSpace(body)) == 0 {
			continue // data, not script
		}
		a.addHash("script-src", body)
	}
	for _, m := range htmlStyle.FindAllSubmatch(b, -1) {
		a.addHash("style-src", m[1])
	}
	if htmlStyleAttr.Match(b) {
		a.unsafeInlineStyle = true
	}
	for _, m := range htmlLink.FindAllSubmatch(b, -1) {
		href := attrSrc.FindSubmatch(m[1])
		rel := attrRel.FindSubmatch(m[1])
		if href == nil || rel == nil {
			continue
		}
		switch rels := " " + strings.ToLower(string(rel[1])) + " "; {
		case strings.Contains(rels, " stylesheet "):
			a.addOrigin("style-src", string(href[1]))
		case strings.Contains(rels, " icon ") || strings.Contains(rels, " apple-touch-icon "):
			a.addOrigin("img-src", string(href[1]))
		case strings.Contains(rels, " preload "):
			if as := attrAs.FindSubmatch(m[1]); as != nil {
				switch string(bytes.ToLower(as[1])) {
				case "font":
					a.addOrigin("font-src", string(href[1]))
				case "image":
					a.addOrigin("img-src", string(href[1]))
				case "style":
					a.addOrigin("style-src", string(href[1]))
				}
			}
		}
	}
	for _, m := range htmlImg.FindAllSubmatch(b, -1) {
		for _, src := range attrSrc.FindAllSubmatch(m[1], -1) {
			d := urlDirective(string(src[1]))
			if d == "" {
				d = "img-src"
				if t := bytes.ToLower(m[0]); bytes.HasPrefix(t, []byte("<video")) || bytes.HasPrefix(t, []byte("<audio")) {
					d = "media-src"
				}
			}
			a.addOrigin(d, string(src[1]))
		}
	}
}

func (a *cspAnalysis) css(b []byte) {
	for _, m := range cssImport.FindAllSubmatch(b, -1) {
		a.addOrigin("style-src", string(m[1]))
	}
	for _, u := range httpsURL.FindAll(b, -1) {
		if d := urlDirective(string(u)); d != "" {
			a.addOrigin(d, string(u))
		}
	}
}

func (a *cspAnalysis) source(b []byte) {
	if srcInlineStyle.Match(b) {
		a.unsafeInlineStyle = true
	}
}

func (a *cspAnalysis) packageJSON(b []byte) {
	set, err := parseDeps(b)
	if err != nil {
		return
	}
	for _, d := range set {
		for _, p := range styleInjectors {
			if d.name == p || strings.HasSuffix(p, "/") && strings.HasPrefix(d.name, p) {
				a.unsafeInlineStyle = true
			}
		}
	}
}

func (a *cspAnalysis) js(b []byte) {
	if bytes.Contains(b, []byte("createObjectURL")) {
		a.objectURLs = true
	}
	for _, u := range httpsURL.FindAll(b, -1) {
		if d := urlDirective(string(u)); d != "" {
			a.addOrigin(d, string(u))
		}
	}
}

// dedupeKeep drops repeated values, keeping the first of each, in order.
func dedupeKeep(vals []string) []string {
	seen := map[string]bool{}
	out := vals[:0:0]
	for _, v := range vals {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
