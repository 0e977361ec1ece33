package edge

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// _headers and _redirects of Workers static assets. wrangler sends both files as
// text in metadata.assets.config; Cloudflare parses them and its asset server
// applies them. This follows Cloudflare's own code (cloudflare/workers-sdk,
// packages/workers-shared: utils/configuration/parseRedirects.ts, parseHeaders.ts,
// constants.ts, validateURL.ts; asset-worker/src/handler.ts, utils/rules-engine.ts,
// utils/headers.ts) and the docs (developers.cloudflare.com/workers/static-assets/
// redirects and .../headers):
//
// _redirects: one "source destination [status]" per line, # comments; status 301,
// 302 (default), 303, 307, 308, or 200 (a rewrite: the destination's asset is served
// at the source URL; relative destinations only). Sources may use * (a splat) and
// :placeholders; destinations may use :splat and the placeholders. Rules without
// them that come before the first dynamic one are "static" (exact matches, checked
// first); at most 2,000 static and 100 dynamic rules, lines of at most 2,000
// characters; invalid lines, duplicates, /* to /index.html loops and rules past the
// limits are ignored. Redirects apply before assets, whether or not an asset
// matches.
//
// _headers: a path line (relative, or https://host/path) then indented
// "Name: value" lines, or "! Name" to remove a header; at most 100 rules. Every rule
// whose path matches the request applies, in order: the first rule that sets a
// header replaces the response's value, later ones append; removals apply before a
// rule's sets. Paths take * and :placeholders like redirects, and values may use
// them. Headers apply to every response of the asset server, redirects included.

// Limits from workers-shared's constants.ts.
const (
	maxRuleLineLength     = 2000
	maxHeaderRules        = 100
	maxStaticRedirects    = 2000
	maxDynamicRedirects   = 100
	defaultRedirectStatus = 302
)

var (
	placeholderPattern = regexp.MustCompile(`:([A-Za-z]\w*)`)
	absoluteURLPattern = regexp.MustCompile(`^https://+([^/]+)/?(.*)$`)
	hostWithPort       = regexp.MustCompile(`.*:\d+$`)
	lineIsPath         = regexp.MustCompile(`^([^\s]+://|/)`)
	protoPattern       = regexp.MustCompile(`^\w+://`)
	repeatedSlashes    = regexp.MustCompile(`/+`)
)

// rule is a compiled source pattern.
type rule struct {
	crossHost bool // matches https://host/path rather than the path
	re        *regexp.Regexp
}

// compileRule makes the matcher of a rule path: * captures as splat, :name as a
// path segment ([^/]+, or [^/.]+ in the host of an absolute rule). Like Cloudflare's
// (whose JavaScript RegExp refuses a repeated group name), a pattern naming a group
// twice, such as two *, matches nothing.
func compileRule(pattern string) (rule, bool) {
	crossHost := strings.HasPrefix(pattern, "https://")
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	expr := strings.Join(parts, `(?P<splat>.*)`)
	hostEnd := -1
	if crossHost {
		// The host is what follows https:// up to the next (escaped) slash.
		if i := strings.Index(expr[len("https://"):], "/"); i >= 0 {
			hostEnd = len("https://") + i
		} else {
			hostEnd = len(expr)
		}
	}
	names := map[string]bool{}
	if len(parts) > 1 {
		names["splat"] = true
		if len(parts) > 2 {
			return rule{}, false
		}
	}
	dup := false
	var b strings.Builder
	last := 0
	for _, m := range placeholderPattern.FindAllStringSubmatchIndex(expr, -1) {
		name := expr[m[2]:m[3]]
		if names[name] {
			dup = true
		}
		names[name] = true
		class := `[^/]+`
		if m[0] < hostEnd {
			class = `[^/.]+`
		}
		b.WriteString(expr[last:m[0]])
		b.WriteString(`(?P<` + name + `>` + class + `)`)
		last = m[1]
	}
	b.WriteString(expr[last:])
	if dup {
		return rule{}, false
	}
	re, err := regexp.Compile("^" + b.String() + "$")
	if err != nil {
		return rule{}, false
	}
	return rule{crossHost: crossHost, re: re}, true
}

// match returns the captures of the rule for a request, or false.
func (ru rule) match(host, escapedPath string) (map[string]string, bool) {
	target := escapedPath
	if ru.crossHost {
		target = "https://" + host + escapedPath
	}
	m := ru.re.FindStringSubmatch(target)
	if m == nil {
		return nil, false
	}
	caps := map[string]string{}
	for i, name := range ru.re.SubexpNames() {
		if name != "" {
			caps[name] = m[i]
		}
	}
	return caps, true
}

// replacePlaceholders substitutes :name with its capture; unknown names stay.
func replacePlaceholders(s string, caps map[string]string) string {
	return placeholderPattern.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := caps[m[1:]]; ok {
			return v
		}
		return m
	})
}

// normalizeURL is validateURL.ts: an https:// URL keeps its host (no port when
// disallowPorts), a path gets a leading slash (onlyRelative) and is normalised like
// new URL("//"+path, "relative://").pathname; search and hash are kept on request.
func normalizeURL(token string, onlyRelative, disallowPorts, keepSearch, keepHash bool) (string, bool) {
	if m := absoluteURLPattern.FindStringSubmatch(token); m != nil && m[1] != "" {
		if onlyRelative {
			return "", false
		}
		if disallowPorts && hostWithPort.MatchString(m[1]) {
			return "", false
		}
		p, ok := extractPathname(m[2], keepSearch, keepHash)
		if !ok {
			return "", false
		}
		return "https://" + m[1] + p, true
	}
	if !strings.HasPrefix(token, "/") {
		if !onlyRelative {
			return "", false
		}
		token = "/" + token
	}
	return extractPathname(token, keepSearch, keepHash)
}

func extractPathname(p string, keepSearch, keepHash bool) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u, err := url.Parse("relative://host" + p)
	if err != nil {
		return "", false
	}
	out := u.EscapedPath()
	if out == "" {
		out = "/"
	}
	// Keep * and : literal, as the WHATWG URL parser does in paths.
	out = strings.NewReplacer("%2A", "*", "%3A", ":").Replace(out)
	if keepSearch && u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if keepHash && u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return out, true
}

// redirectRule is one parsed line of _redirects.
type redirectRule struct {
	from, to string
	status   int
	line     int
	rule     rule
}

// redirects is a parsed _redirects file.
type redirects struct {
	static  map[string]redirectRule
	dynamic []redirectRule
}

// parseRedirects is parseRedirects.ts plus constructRedirects.
func parseRedirects(text, htmlHandling string) *redirects {
	out := &redirects{static: map[string]redirectRule{}}
	seen := map[string]bool{}
	staticCount, dynamicCount := 0, 0
	canStatic := true
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || len(line) > maxRuleLineLength {
			continue
		}
		tokens := strings.Fields(line)
		for j := 2; j < len(tokens); j++ {
			if strings.HasPrefix(tokens[j], "#") {
				tokens = tokens[:j]
				break
			}
		}
		if len(tokens) < 2 || len(tokens) > 3 {
			continue
		}
		from, ok := normalizeURL(tokens[0], true, true, false, false)
		if !ok {
			continue
		}
		isStatic := canStatic && !strings.Contains(from, "*") && !placeholderPattern.MatchString(from)
		if isStatic {
			staticCount++
			if staticCount > maxStaticRedirects {
				continue
			}
		} else {
			dynamicCount++
			canStatic = false
			if dynamicCount > maxDynamicRedirects {
				break
			}
		}
		to, ok := normalizeURL(tokens[1], false, false, true, true)
		if !ok {
			continue
		}
		status := defaultRedirectStatus
		if len(tokens) == 3 {
			n, err := strconv.Atoi(tokens[2])
			if err != nil {
				continue
			}
			status = n
		}
		switch status {
		case 200, 301, 302, 303, 307, 308:
		default:
			continue
		}
		relative := absoluteURLPattern.FindStringSubmatch(to) == nil
		wildcardToIndex := strings.HasSuffix(from, "/*") && indexSuffix.MatchString(to)
		rootToIndex := strings.HasSuffix(from, "/") && indexSuffix.MatchString(to)
		if relative && (wildcardToIndex || (rootToIndex && htmlHandling != htmlNone)) {
			continue
		}
		if seen[from] {
			continue
		}
		seen[from] = true
		if status == 200 && !relative {
			continue
		}
		rr := redirectRule{from: from, to: to, status: status, line: i + 1}
		if isStatic {
			out.static[from] = rr
			continue
		}
		if rr.rule, ok = compileRule(from); ok {
			out.dynamic = append(out.dynamic, rr)
		}
	}
	return out
}

var indexSuffix = regexp.MustCompile(`/index(\.html)?$`)

// match finds the redirect of a request: static rules first (with or without the
// host, the earlier line winning), then the first dynamic rule that matches. It
// returns the rule's status and destination with placeholders replaced.
func (rs *redirects) match(host, escapedPath string) (int, string, bool) {
	withHost, okHost := rs.static["https://"+host+escapedPath]
	plain, okPlain := rs.static[escapedPath]
	switch {
	case okHost && okPlain:
		if withHost.line < plain.line {
			return withHost.status, withHost.to, true
		}
		return plain.status, plain.to, true
	case okHost:
		return withHost.status, withHost.to, true
	case okPlain:
		return plain.status, plain.to, true
	}
	for _, rr := range rs.dynamic {
		caps, ok := rr.rule.match(host, escapedPath)
		if !ok {
			continue
		}
		to := strings.TrimSpace(replacePlaceholders(rr.to, caps))
		if !protoPattern.MatchString(to) {
			to = repeatedSlashes.ReplaceAllString(to, "/")
		}
		return rr.status, to, true
	}
	return 0, "", false
}

// headerRule is one rule of _headers.
type headerRule struct {
	path  string
	rule  rule
	set   []headerValue // in file order, names lower case
	unset []string
}

type headerValue struct{ name, value string }

// parseHeaders is parseHeaders.ts plus constructHeaders: a later rule for the same
// path replaces the earlier one in its place.
func parseHeaders(text string) []headerRule {
	var rules []headerRule
	index := map[string]int{}
	var cur *headerRule
	add := func() {
		if cur == nil || (len(cur.set) == 0 && len(cur.unset) == 0) {
			return
		}
		compiled, ok := compileRule(cur.path)
		if !ok {
			return
		}
		cur.rule = compiled
		if i, dup := index[cur.path]; dup {
			rules[i] = *cur
			return
		}
		index[cur.path] = len(rules)
		rules = append(rules, *cur)
	}
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || len(line) > maxRuleLineLength {
			continue
		}
		if lineIsPath.MatchString(line) {
			if len(rules) >= maxHeaderRules {
				break
			}
			add()
			cur = nil
			p, ok := normalizeURL(line, false, true, false, false)
			if !ok {
				continue
			}
			cur = &headerRule{path: p}
			continue
		}
		if !strings.Contains(line, ":") {
			if cur != nil {
				if name, ok := strings.CutPrefix(line, "! "); ok {
					cur.unset = append(cur.unset, strings.TrimSpace(name))
				}
			}
			continue
		}
		rawName, value, _ := strings.Cut(line, ":")
		name := strings.ToLower(strings.TrimSpace(rawName))
		value = strings.TrimSpace(value)
		if name == "" || value == "" || strings.Contains(name, " ") || cur == nil {
			continue
		}
		merged := false
		for i := range cur.set {
			if cur.set[i].name == name {
				cur.set[i].value += ", " + value
				merged = true
			}
		}
		if !merged {
			cur.set = append(cur.set, headerValue{name, value})
		}
	}
	add()
	return rules
}

// apply applies the rules matching a request to h (attachCustomHeaders).
func applyHeaderRules(rules []headerRule, host, escapedPath string, h http.Header) {
	set := map[string]bool{}
	for _, hr := range rules {
		caps, ok := hr.rule.match(host, escapedPath)
		if !ok {
			continue
		}
		for _, name := range hr.unset {
			h.Del(name)
		}
		for _, hv := range hr.set {
			v := replacePlaceholders(hv.value, caps)
			if set[hv.name] {
				h.Add(hv.name, v)
			} else {
				h.Set(hv.name, v)
				set[hv.name] = true
			}
		}
	}
}

// siteRules is the parsed _headers and _redirects of one deployed version.
type siteRules struct {
	headers   []headerRule
	redirects *redirects
}

// ruleCache keeps the parsed rules of the versions being served.
type ruleCache struct {
	mu sync.Mutex
	m  map[string]*siteRules // by script name + etag
}

func (c *ruleCache) get(sc *script) *siteRules {
	cfg := sc.Assets.Config
	if cfg.Headers == "" && cfg.Redirects == "" {
		return nil
	}
	key := sc.Name + "\x00" + sc.Etag
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[key]; ok {
		return r
	}
	r := &siteRules{headers: parseHeaders(cfg.Headers), redirects: parseRedirects(cfg.Redirects, cfg.HTMLHandling)}
	if c.m == nil || len(c.m) > 256 {
		c.m = map[string]*siteRules{}
	}
	c.m[key] = r
	return r
}
