package perf

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/evanw/esbuild/pkg/api"
	"golang.org/x/net/html"
)

// ref is a reference from one resource to another, as written (not yet resolved).
type ref struct {
	url  string
	kind string
	// specifier: the url is a module specifier from an import statement, where a bare
	// name ("react") is not a relative URL but unresolvable without an import map.
	specifier bool
}

// inline is CSS or module code written in the document itself, whose references resolve
// against the document.
type inline struct {
	code string
	kind string // KindStylesheet or KindModule
}

// htmlRefs lists what a browser fetches from the document doc on a first paint (see the
// package documentation), the <base href> if any, and the inline styles and module
// scripts to read for further references.
func htmlRefs(doc []byte) (refs []ref, base string, inlines []inline) {
	z := html.NewTokenizer(bytes.NewReader(doc))
	template := 0                     // depth of <template>: its content is inert
	inScript, inStyle := false, false // inside an inline module script, a <style>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return refs, base, inlines
		case html.TextToken:
			if template > 0 {
				continue
			}
			if inScript {
				inlines = append(inlines, inline{string(z.Text()), KindModule})
			} else if inStyle {
				inlines = append(inlines, inline{string(z.Text()), KindStylesheet})
			}
			continue
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "template":
				template = max(0, template-1)
			case "script":
				inScript = false
			case "style":
				inStyle = false
			}
			continue
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		t := z.Token()
		if t.Data == "template" && tt == html.StartTagToken {
			template++
		}
		if template > 0 {
			continue
		}
		attr := func(name string) (string, bool) {
			for _, a := range t.Attr {
				if a.Key == name {
					return strings.TrimSpace(a.Val), true
				}
			}
			return "", false
		}
		if style, ok := attr("style"); ok && style != "" {
			inlines = append(inlines, inline{style, KindStylesheet})
		}
		switch t.Data {
		case "base":
			if href, ok := attr("href"); ok && base == "" {
				base = href
			}
		case "script":
			typ, _ := attr("type")
			module := strings.EqualFold(typ, "module")
			if _, nomodule := attr("nomodule"); nomodule || !(module || isJavaScriptType(typ)) {
				continue
			}
			src, _ := attr("src")
			switch {
			case src != "" && module:
				refs = append(refs, ref{url: src, kind: KindModule})
			case src != "":
				refs = append(refs, ref{url: src, kind: KindScript})
			case module && tt == html.StartTagToken:
				inScript = true
			}
		case "style":
			inStyle = tt == html.StartTagToken
		case "link":
			href, _ := attr("href")
			if href == "" {
				continue
			}
			relAttr, _ := attr("rel")
			rel := strings.Fields(strings.ToLower(relAttr))
			_, disabled := attr("disabled")
			switch {
			case slices.Contains(rel, "stylesheet"):
				if !slices.Contains(rel, "alternate") && !disabled {
					refs = append(refs, ref{url: href, kind: KindStylesheet})
				}
			case slices.Contains(rel, "modulepreload"):
				refs = append(refs, ref{url: href, kind: KindModulePreload})
			case slices.Contains(rel, "preload"):
				refs = append(refs, ref{url: href, kind: KindPreload})
			case slices.Contains(rel, "icon"):
				refs = append(refs, ref{url: href, kind: KindIcon})
			}
		case "img":
			src, _ := attr("src")
			if src == "" {
				srcset, _ := attr("srcset")
				src = firstSrcsetCandidate(srcset)
			}
			if src != "" {
				refs = append(refs, ref{url: src, kind: KindImage})
			}
		}
	}
}

// isJavaScriptType reports whether a classic <script type> is run as JavaScript: no type,
// or one of the JavaScript MIME type essence matches of the HTML standard.
func isJavaScriptType(typ string) bool {
	t := strings.ToLower(strings.TrimSpace(typ))
	if t == "" {
		return true
	}
	switch t {
	case "text/javascript", "application/javascript", "application/ecmascript", "application/x-ecmascript",
		"application/x-javascript", "text/ecmascript", "text/javascript1.0", "text/javascript1.1",
		"text/javascript1.2", "text/javascript1.3", "text/javascript1.4", "text/javascript1.5",
		"text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript":
		return true
	}
	return false
}

// firstSrcsetCandidate is the URL of a srcset's first candidate.
func firstSrcsetCandidate(srcset string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(srcset), ",")
	f := strings.Fields(first)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// cssRefs lists what a browser may fetch for the stylesheet css: @import rules, the file
// each @font-face picks for latin text, and every other url(). See the package
// documentation for the rules.
func cssRefs(css string) []ref {
	css = stripCSSComments(css)
	var refs []ref
	var rest strings.Builder // css without @import and @font-face, for the remaining url()s
	for i := 0; i < len(css); {
		at := strings.IndexByte(css[i:], '@')
		if at < 0 {
			rest.WriteString(css[i:])
			break
		}
		at += i
		rest.WriteString(css[i:at])
		kw := atKeyword(css[at+1:])
		switch strings.ToLower(kw) {
		case "import":
			end := scanUntil(css, at, ";")
			if u := importURL(css[at+1+len(kw) : end]); u != "" {
				refs = append(refs, ref{url: u, kind: KindStylesheet})
			}
			i = min(end+1, len(css))
		case "font-face":
			open := scanUntil(css, at, "{")
			if open >= len(css) {
				i = len(css)
				continue
			}
			end := scanUntil(css, open+1, "}")
			if u := fontFaceURL(css[open+1 : end]); u != "" {
				refs = append(refs, ref{url: u, kind: KindFont})
			}
			i = min(end+1, len(css))
		default:
			rest.WriteString(css[at : at+1+len(kw)])
			i = at + 1 + len(kw)
		}
	}
	for _, u := range cssURLs(rest.String()) {
		refs = append(refs, ref{url: u, kind: KindImage})
	}
	return refs
}

func stripCSSComments(css string) string {
	var b strings.Builder
	for i := 0; i < len(css); {
		switch c := css[i]; {
		case c == '"' || c == '\'':
			end := skipString(css, i)
			b.WriteString(css[i:end])
			i = end
		case c == '/' && i+1 < len(css) && css[i+1] == '*':
			end := strings.Index(css[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += 2 + end + 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipString returns the index just past the string literal that starts at css[i].
func skipString(css string, i int) int {
	q := css[i]
	for j := i + 1; j < len(css); j++ {
		switch css[j] {
		case '\\':
			j++
		case q, '\n':
			return j + 1
		}
	}
	return len(css)
}

// scanUntil returns the index of the first of stops at or after from that is outside
// strings and parentheses, or len(css).
func scanUntil(css string, from int, stops string) int {
	depth := 0
	for i := from; i < len(css); i++ {
		switch c := css[i]; {
		case c == '"' || c == '\'':
			i = skipString(css, i) - 1
		case c == '\\':
			i++
		case c == '(':
			depth++
		case c == ')':
			depth = max(0, depth-1)
		case depth == 0 && strings.IndexByte(stops, c) >= 0:
			return i
		}
	}
	return len(css)
}

func atKeyword(s string) string {
	n := 0
	for n < len(s) && (s[n] == '-' || s[n] == '_' || isAlnum(s[n])) {
		n++
	}
	return s[:n]
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// importURL is the URL of an @import rule's prelude: url(…) or a string.
func importURL(prelude string) string {
	p := strings.TrimSpace(prelude)
	if p == "" {
		return ""
	}
	if p[0] == '"' || p[0] == '\'' {
		end := skipString(p, 0)
		return unquoteCSS(p[:end])
	}
	if us := cssURLs(p); len(us) > 0 {
		return us[0]
	}
	return ""
}

// fontFaceURL is the file a browser downloads for the @font-face with the descriptors
// body, when it is used for latin text: "" when its unicode-range leaves out printable
// ASCII or when it names no file the browser can use.
func fontFaceURL(body string) string {
	var src string
	for _, decl := range splitTop(body, ';') {
		name, value, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "src":
			src = value
		case "unicode-range":
			if !coversASCII(value) {
				return ""
			}
		}
	}
	for _, cand := range splitTop(src, ',') {
		c := strings.TrimSpace(cand)
		if !strings.HasPrefix(strings.ToLower(c), "url(") && !strings.HasPrefix(c, `"`) && !strings.HasPrefix(c, `'`) {
			continue // local(), or nothing
		}
		if f := formatHint(c); f != "" && !supportedFontFormats[f] {
			continue
		}
		u := ""
		if us := allCSSURLs(c); len(us) > 0 {
			u = us[0]
		} else {
			u = importURL(c) // src: "file.woff2" is not valid CSS, but be lenient
		}
		if u == "" {
			continue
		}
		if fetchesNothing(u) {
			return "" // an inline font: the browser uses it and fetches nothing
		}
		return u
	}
	return ""
}

// supportedFontFormats are the format() hints Chromium downloads.
var supportedFontFormats = map[string]bool{
	"woff2": true, "woff": true, "truetype": true, "opentype": true, "collection": true,
	"woff2-variations": true, "woff-variations": true, "truetype-variations": true, "opentype-variations": true,
}

// formatHint is the lower-cased argument of a src candidate's format(), or "".
func formatHint(cand string) string {
	lc := strings.ToLower(cand)
	i := strings.Index(lc, "format(")
	if i < 0 {
		return ""
	}
	arg := lc[i+len("format("):]
	end := strings.IndexByte(arg, ')')
	if end < 0 {
		return ""
	}
	return strings.Trim(strings.TrimSpace(arg[:end]), `"'`)
}

// coversASCII reports whether a unicode-range value includes some of U+0020–007E.
func coversASCII(value string) bool {
	for _, r := range strings.Split(value, ",") {
		r = strings.ToUpper(strings.TrimSpace(r))
		if !strings.HasPrefix(r, "U+") {
			continue
		}
		r = r[2:]
		var lo, hi string
		if a, b, ok := strings.Cut(r, "-"); ok {
			lo, hi = a, b
		} else if strings.Contains(r, "?") {
			lo, hi = strings.ReplaceAll(r, "?", "0"), strings.ReplaceAll(r, "?", "F")
		} else {
			lo, hi = r, r
		}
		l, err1 := strconv.ParseUint(lo, 16, 32)
		h, err2 := strconv.ParseUint(hi, 16, 32)
		if err1 != nil || err2 != nil {
			return true // unparsable: assume used rather than hide a cost
		}
		if l <= 0x7E && h >= 0x20 {
			return true
		}
	}
	return false
}

// splitTop splits s on sep outside strings and parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	for {
		i := scanUntil(s, 0, string(sep))
		out = append(out, s[:i])
		if i >= len(s) {
			return out
		}
		s = s[i+1:]
	}
}

// cssURLs lists the url() references in css, skipping data: URLs and fragment-only
// references (SVG filters, markers), which fetch nothing.
func cssURLs(css string) []string {
	var out []string
	for _, u := range allCSSURLs(css) {
		if !fetchesNothing(u) {
			out = append(out, u)
		}
	}
	return out
}

func fetchesNothing(u string) bool {
	return u == "" || strings.HasPrefix(u, "#") || strings.HasPrefix(strings.ToLower(u), "data:")
}

// allCSSURLs lists the arguments of the url() tokens in css, outside strings.
func allCSSURLs(css string) []string {
	var out []string
	for i := 0; i < len(css); {
		c := css[i]
		if c == '"' || c == '\'' {
			i = skipString(css, i)
			continue
		}
		if c == '\\' {
			i += 2
			continue
		}
		if !(c == 'u' || c == 'U') || len(css)-i < 4 || !strings.EqualFold(css[i:i+4], "url(") ||
			(i > 0 && (isAlnum(css[i-1]) || css[i-1] == '-' || css[i-1] == '_')) {
			i++
			continue
		}
		k := i + 4
		for k < len(css) && isCSSSpace(css[k]) {
			k++
		}
		var u string
		if k < len(css) && (css[k] == '"' || css[k] == '\'') {
			end := skipString(css, k)
			u = unquoteCSS(css[k:end])
			i = end
		} else {
			end := strings.IndexByte(css[k:], ')')
			if end < 0 {
				end = len(css) - k
			}
			u = css[k : k+end]
			i = k + end
		}
		out = append(out, strings.TrimSpace(u))
	}
	return out
}

func isCSSSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// unquoteCSS removes a CSS string's quotes and backslash escapes of single characters.
func unquoteCSS(s string) string {
	if len(s) < 2 {
		return ""
	}
	s = s[1:]
	if last := s[len(s)-1]; last == '"' || last == '\'' {
		s = s[:len(s)-1]
	}
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// moduleImports lists the specifiers of the static imports and re-exports of the ES
// module code: what the browser fetches before it runs the module. Dynamic import() and
// require() are left out. The code is parsed by esbuild; a module it cannot parse is an
// error.
func moduleImports(name, code string) ([]string, error) {
	var mu sync.Mutex
	var specs []string
	collect := api.Plugin{Name: "appforge-perf-imports", Setup: func(pb api.PluginBuild) {
		pb.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			if a.Kind == api.ResolveJSImportStatement {
				mu.Lock()
				specs = append(specs, a.Path)
				mu.Unlock()
			}
			return api.OnResolveResult{Path: a.Path, External: true}, nil
		})
	}}
	res := api.Build(api.BuildOptions{
		Stdin:    &api.StdinOptions{Contents: code, Sourcefile: name, Loader: api.LoaderJS},
		Bundle:   true,
		Format:   api.FormatESModule,
		Platform: api.PlatformBrowser,
		Write:    false,
		LogLevel: api.LogLevelSilent,
		Plugins:  []api.Plugin{collect},
	})
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		if e.Location != nil {
			return nil, fmt.Errorf("parse %s: line %d: %s", name, e.Location.Line, e.Text)
		}
		return nil, fmt.Errorf("parse %s: %s", name, e.Text)
	}
	// Drop repeats: a specifier imported twice is fetched once.
	seen := map[string]bool{}
	out := specs[:0]
	for _, s := range specs {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}
