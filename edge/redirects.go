package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Single Redirects: GET and PUT
// /zones/{zone}/rulesets/phases/http_request_dynamic_redirect/entrypoint. The PUT
// replaces the zone's entry point ruleset of the phase (making a new version); the
// GET of a phase that never had one is 404, code 10003, "could not find entrypoint
// ruleset in the <phase> phase" (observed live and quoted in public Cloudflare
// tooling). A rule is
//
//	{"action": "redirect", "expression": "(http.host eq \"www.myapp.com\")",
//	 "action_parameters": {"from_value": {"target_url": {"expression":
//	   "concat(\"https://myapp.com\", http.request.uri.path)"} | {"value": "https://..."},
//	   "status_code": 301, "preserve_query_string": true}},
//	 "enabled": true, "description": "...", "ref": "..."}
//
// status_code is 301 (the default), 302, 303, 307 or 308; preserve_query_string
// defaults to false (developers.cloudflare.com/rules/url-forwarding/single-redirects/
// settings/). In this phase the first enabled rule that matches redirects.
//
// The edge evaluates a subset of Cloudflare's Rules language: comparisons of
// http.host, http.request.uri.path and http.request.uri.query with eq, ne, == or !=
// against a string, "in {"a" "b"}", the boolean field ssl, combined with and, or,
// not and parentheses; a target is a string or concat() of strings and those
// fields. Anything else is refused with 400 and a message that says what the edge
// supports (code 20200, the edge's own: Cloudflare's code for an expression it
// cannot parse is not in the sources I found).
const (
	phaseDynamicRedirect = "http_request_dynamic_redirect"
	codeNoEntrypoint     = 10003
	codeRuleInvalid      = 20200
)

// ruleset is a zone's entry point ruleset of one phase.
type ruleset struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Phase       string        `json:"phase"`
	Version     int           `json:"version"`
	LastUpdated time.Time     `json:"last_updated"`
	Rules       []rulesetRule `json:"rules"`
}

type rulesetRule struct {
	ID               string          `json:"id"`
	Version          int             `json:"version"`
	Action           string          `json:"action"`
	Expression       string          `json:"expression"`
	Description      string          `json:"description,omitempty"`
	Enabled          bool            `json:"enabled"`
	Ref              string          `json:"ref"`
	ActionParameters json.RawMessage `json:"action_parameters,omitempty"`
	LastUpdated      time.Time       `json:"last_updated"`
}

type rulesetObject struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Kind        string              `json:"kind"`
	Phase       string              `json:"phase"`
	Version     string              `json:"version"`
	LastUpdated time.Time           `json:"last_updated"`
	Rules       []rulesetRuleObject `json:"rules"`
}

type rulesetRuleObject struct {
	ID               string          `json:"id"`
	Version          string          `json:"version"`
	Action           string          `json:"action"`
	Expression       string          `json:"expression"`
	Description      string          `json:"description,omitempty"`
	Enabled          bool            `json:"enabled"`
	Ref              string          `json:"ref"`
	ActionParameters json.RawMessage `json:"action_parameters,omitempty"`
	LastUpdated      time.Time       `json:"last_updated"`
}

func rulesetResult(rs *ruleset) rulesetObject {
	out := rulesetObject{ID: rs.ID, Name: rs.Name, Description: rs.Description, Kind: "zone", Phase: rs.Phase,
		Version: fmt.Sprint(rs.Version), LastUpdated: rs.LastUpdated, Rules: []rulesetRuleObject{}}
	for _, ru := range rs.Rules {
		out.Rules = append(out.Rules, rulesetRuleObject{ID: ru.ID, Version: fmt.Sprint(ru.Version), Action: ru.Action,
			Expression: ru.Expression, Description: ru.Description, Enabled: ru.Enabled, Ref: ru.Ref,
			ActionParameters: ru.ActionParameters, LastUpdated: ru.LastUpdated})
	}
	return out
}

func errNoEntrypoint(phase string) *apiError {
	return apiErrorf(http.StatusNotFound, codeNoEntrypoint, "could not find entrypoint ruleset in the %s phase", phase)
}

func checkPhase(phase string) error {
	if phase != phaseDynamicRedirect {
		return apiErrorf(http.StatusBadRequest, codeRuleInvalid,
			"the local edge keeps rulesets of the %s phase only, not %s", phaseDynamicRedirect, phase)
	}
	return nil
}

// getEntrypoint is GET /zones/{zone}/rulesets/phases/{phase}/entrypoint.
func (e *Edge) getEntrypoint(r *http.Request) (reply, error) {
	_, z := e.requestZone(r)
	phase := r.PathValue("phase")
	rs := z.Rulesets[phase]
	if rs == nil {
		return reply{}, errNoEntrypoint(phase)
	}
	return ok(rulesetResult(rs))
}

type rulesetRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Rules       []struct {
		ID               string          `json:"id"`
		Action           string          `json:"action"`
		Expression       string          `json:"expression"`
		Description      string          `json:"description"`
		Enabled          *bool           `json:"enabled"`
		Ref              string          `json:"ref"`
		ActionParameters json.RawMessage `json:"action_parameters"`
	} `json:"rules"`
}

// putEntrypoint is PUT /zones/{zone}/rulesets/phases/{phase}/entrypoint.
func (e *Edge) putEntrypoint(r *http.Request) (reply, error) {
	phase := r.PathValue("phase")
	if err := checkPhase(phase); err != nil {
		return reply{}, err
	}
	var req rulesetRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	now := e.now()
	var rules []rulesetRule
	for i, in := range req.Rules {
		if in.Action != "redirect" {
			return reply{}, apiErrorf(http.StatusBadRequest, codeRuleInvalid, "rules[%d]: action %q is not allowed in the %s phase: use redirect", i, in.Action, phase)
		}
		if _, err := compileRedirectRule(in.Expression, in.ActionParameters); err != nil {
			return reply{}, apiErrorf(http.StatusBadRequest, codeRuleInvalid, "rules[%d]: %v", i, err)
		}
		ru := rulesetRule{ID: in.ID, Version: 1, Action: in.Action, Expression: in.Expression, Description: in.Description,
			Enabled: in.Enabled == nil || *in.Enabled, Ref: in.Ref, ActionParameters: in.ActionParameters, LastUpdated: now}
		if ru.ID == "" {
			ru.ID = newID()
		}
		if ru.Ref == "" {
			ru.Ref = ru.ID
		}
		rules = append(rules, ru)
	}
	var out rulesetObject
	_, _, err := e.updateZone(r, func(_ *domainState, z *zone) error {
		prev := z.Rulesets[phase]
		rs := &ruleset{ID: newID(), Name: req.Name, Description: req.Description, Phase: phase, Version: 1, LastUpdated: now}
		if prev != nil {
			rs.ID, rs.Version = prev.ID, prev.Version+1
			for i := range rules {
				if j := slices.IndexFunc(prev.Rules, func(p rulesetRule) bool { return p.ID == rules[i].ID }); j >= 0 {
					rules[i].Version = prev.Rules[j].Version + 1
				}
			}
		}
		if rs.Name == "" {
			rs.Name = "default"
		}
		rs.Rules = rules
		if z.Rulesets == nil {
			z.Rulesets = map[string]*ruleset{}
		}
		z.Rulesets[phase] = rs
		out = rulesetResult(rs)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("redirect rules set", "zone_id", r.PathValue("zone"), "rules", len(rules), "version", out.Version)
	return ok(out)
}

// singleRedirect is a compiled redirect rule.
type singleRedirect struct {
	match         exprNode
	target        []exprNode // concatenated
	status        int
	preserveQuery bool
}

// redirectRequest is what a redirect rule looks at.
type redirectRequest struct {
	host, path, query string
	ssl               bool
}

func compileRedirectRule(expression string, params json.RawMessage) (*singleRedirect, error) {
	match, err := parseExpression(expression)
	if err != nil {
		return nil, fmt.Errorf("expression: %w", err)
	}
	if match.kind != kindBool {
		return nil, fmt.Errorf("expression %q is not a condition", expression)
	}
	var ap struct {
		FromValue *struct {
			TargetURL struct {
				Value      string `json:"value"`
				Expression string `json:"expression"`
			} `json:"target_url"`
			StatusCode          int  `json:"status_code"`
			PreserveQueryString bool `json:"preserve_query_string"`
		} `json:"from_value"`
		FromList json.RawMessage `json:"from_list"`
	}
	if len(params) > 0 {
		if err := json.Unmarshal(params, &ap); err != nil {
			return nil, fmt.Errorf("action_parameters: %v", err)
		}
	}
	if ap.FromValue == nil {
		if ap.FromList != nil {
			return nil, fmt.Errorf("action_parameters.from_list (Bulk Redirects) is not supported by the local edge: use from_value")
		}
		return nil, fmt.Errorf("action_parameters.from_value is required")
	}
	fv := ap.FromValue
	ru := &singleRedirect{match: match, status: fv.StatusCode, preserveQuery: fv.PreserveQueryString}
	if ru.status == 0 {
		ru.status = http.StatusMovedPermanently
	}
	if !slices.Contains([]int{301, 302, 303, 307, 308}, ru.status) {
		return nil, fmt.Errorf("status_code %d is not 301, 302, 303, 307 or 308", ru.status)
	}
	switch tu := fv.TargetURL; {
	case tu.Value != "" && tu.Expression != "":
		return nil, fmt.Errorf("target_url takes a value or an expression, not both")
	case tu.Value != "":
		u, err := url.Parse(tu.Value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("target_url.value %q is not an absolute http(s) URL", tu.Value)
		}
		ru.target = []exprNode{{kind: kindString, str: tu.Value}}
	case tu.Expression != "":
		t, err := parseTarget(tu.Expression)
		if err != nil {
			return nil, fmt.Errorf("target_url.expression: %w", err)
		}
		ru.target = t
	default:
		return nil, fmt.Errorf("target_url needs a value or an expression")
	}
	return ru, nil
}

// location is the redirect's target for req, or false when the rule does not
// match.
func (ru *singleRedirect) location(req redirectRequest) (string, bool) {
	if !ru.match.eval(req).b {
		return "", false
	}
	var b strings.Builder
	for _, n := range ru.target {
		b.WriteString(n.eval(req).str)
	}
	loc := b.String()
	if ru.preserveQuery && req.query != "" {
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		loc += sep + req.query
	}
	return loc, true
}

// redirectCache keeps compiled rulesets by zone and version.
type redirectCache struct {
	mu sync.Mutex
	m  map[string][]*singleRedirect
}

// rules returns the compiled enabled rules of rs.
func (c *redirectCache) rules(zoneID string, rs *ruleset) []*singleRedirect {
	key := fmt.Sprintf("%s/%s/%d", zoneID, rs.ID, rs.Version)
	c.mu.Lock()
	defer c.mu.Unlock()
	if out, ok := c.m[key]; ok {
		return out
	}
	var out []*singleRedirect
	for _, ru := range rs.Rules {
		if !ru.Enabled {
			continue
		}
		if compiled, err := compileRedirectRule(ru.Expression, ru.ActionParameters); err == nil {
			out = append(out, compiled)
		}
	}
	if c.m == nil || len(c.m) > 256 {
		c.m = map[string][]*singleRedirect{}
	}
	c.m[key] = out
	return out
}

// The expression language subset.

type exprKind int

const (
	kindString exprKind = iota
	kindBool
)

type exprNode struct {
	kind  exprKind
	op    string // "", "field", "eq", "ne", "in", "and", "or", "not"
	str   string // literal string, or the field name
	set   []string
	left  *exprNode
	right *exprNode
}

type exprValue struct {
	str string
	b   bool
}

func (n exprNode) eval(req redirectRequest) exprValue {
	switch n.op {
	case "":
		return exprValue{str: n.str}
	case "field":
		switch n.str {
		case "http.host":
			return exprValue{str: req.host}
		case "http.request.uri.path":
			return exprValue{str: req.path}
		case "http.request.uri.query":
			return exprValue{str: req.query}
		case "ssl":
			return exprValue{b: req.ssl}
		}
	case "eq":
		return exprValue{b: n.left.eval(req).str == n.right.eval(req).str}
	case "ne":
		return exprValue{b: n.left.eval(req).str != n.right.eval(req).str}
	case "in":
		return exprValue{b: slices.Contains(n.set, n.left.eval(req).str)}
	case "and":
		return exprValue{b: n.left.eval(req).b && n.right.eval(req).b}
	case "or":
		return exprValue{b: n.left.eval(req).b || n.right.eval(req).b}
	case "not":
		return exprValue{b: !n.left.eval(req).b}
	}
	return exprValue{}
}

// fieldKinds are the fields the edge knows.
var fieldKinds = map[string]exprKind{
	"http.host":              kindString,
	"http.request.uri.path":  kindString,
	"http.request.uri.query": kindString,
	"ssl":                    kindBool,
}

const supportedExpressions = `the local edge supports comparisons of http.host, http.request.uri.path and http.request.uri.query with eq, ne, == or != and a "string", in {"a" "b"}, the field ssl, and, or, not and parentheses`

type token struct {
	text string
	str  bool // a string literal (text is its value)
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			out = append(out, token{text: b.String(), str: true})
			i = j + 1
		case strings.ContainsRune("(){},", rune(c)):
			out = append(out, token{text: string(c)})
			i++
		case c == '=' || c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				out = append(out, token{text: s[i : i+2]})
				i += 2
			} else {
				return nil, fmt.Errorf("unexpected %q at offset %d", c, i)
			}
		case unicode.IsLetter(rune(c)) || c == '_':
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_' || s[j] == '.') {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d (%s)", c, i, supportedExpressions)
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.pos++
	}
	return t, ok
}

func (p *parser) keyword(words ...string) (string, bool) {
	t, ok := p.peek()
	if !ok || t.str {
		return "", false
	}
	for _, w := range words {
		if t.text == w {
			p.pos++
			return w, true
		}
	}
	return "", false
}

func parseExpression(s string) (exprNode, error) {
	toks, err := tokenize(s)
	if err != nil {
		return exprNode{}, err
	}
	if len(toks) == 0 {
		return exprNode{}, fmt.Errorf("the expression is empty")
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return exprNode{}, err
	}
	if t, more := p.peek(); more {
		return exprNode{}, fmt.Errorf("unexpected %q (%s)", t.text, supportedExpressions)
	}
	return n, nil
}

func (p *parser) or() (exprNode, error) {
	left, err := p.and()
	if err != nil {
		return left, err
	}
	for {
		if _, ok := p.keyword("or", "||"); !ok {
			return left, nil
		}
		right, err := p.and()
		if err != nil {
			return right, err
		}
		l, r := left, right
		left = exprNode{kind: kindBool, op: "or", left: &l, right: &r}
	}
}

func (p *parser) and() (exprNode, error) {
	left, err := p.unary()
	if err != nil {
		return left, err
	}
	for {
		if _, ok := p.keyword("and", "&&"); !ok {
			return left, nil
		}
		right, err := p.unary()
		if err != nil {
			return right, err
		}
		if left.kind != kindBool || right.kind != kindBool {
			return exprNode{}, fmt.Errorf("and joins conditions (%s)", supportedExpressions)
		}
		l, r := left, right
		left = exprNode{kind: kindBool, op: "and", left: &l, right: &r}
	}
}

func (p *parser) unary() (exprNode, error) {
	if _, ok := p.keyword("not"); ok {
		n, err := p.unary()
		if err != nil {
			return n, err
		}
		if n.kind != kindBool {
			return exprNode{}, fmt.Errorf("not applies to a condition")
		}
		return exprNode{kind: kindBool, op: "not", left: &n}, nil
	}
	t, ok := p.peek()
	if ok && !t.str && t.text == "(" {
		p.pos++
		n, err := p.or()
		if err != nil {
			return n, err
		}
		if t, ok := p.next(); !ok || t.str || t.text != ")" {
			return exprNode{}, fmt.Errorf("missing )")
		}
		return n, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (exprNode, error) {
	t, ok := p.next()
	if !ok || t.str {
		return exprNode{}, fmt.Errorf("expected a field (%s)", supportedExpressions)
	}
	kind, known := fieldKinds[t.text]
	if !known {
		return exprNode{}, fmt.Errorf("%s is not supported (%s)", t.text, supportedExpressions)
	}
	field := exprNode{kind: kind, op: "field", str: t.text}
	if kind == kindBool {
		return field, nil
	}
	op, ok := p.keyword("eq", "==", "ne", "!=", "in")
	if !ok {
		return exprNode{}, fmt.Errorf("%s must be compared with eq, ne or in (%s)", t.text, supportedExpressions)
	}
	switch op {
	case "in":
		if t, ok := p.next(); !ok || t.str || t.text != "{" {
			return exprNode{}, fmt.Errorf("in takes a set: {\"a\" \"b\"}")
		}
		var set []string
		for {
			t, ok := p.next()
			if !ok {
				return exprNode{}, fmt.Errorf("missing }")
			}
			if !t.str && t.text == "}" {
				break
			}
			if !t.str {
				return exprNode{}, fmt.Errorf("a set holds strings only")
			}
			set = append(set, t.text)
		}
		return exprNode{kind: kindBool, op: "in", left: &field, set: set}, nil
	default:
		v, ok := p.next()
		if !ok || !v.str {
			return exprNode{}, fmt.Errorf("%s %s takes a \"string\"", t.text, op)
		}
		value := exprNode{kind: kindString, str: v.text}
		name := "eq"
		if op == "ne" || op == "!=" {
			name = "ne"
		}
		return exprNode{kind: kindBool, op: name, left: &field, right: &value}, nil
	}
}

// parseTarget parses a target URL expression: a string, a string field, or
// concat() of them.
func parseTarget(s string) ([]exprNode, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	arg := func() (exprNode, error) {
		t, ok := p.next()
		switch {
		case !ok:
			return exprNode{}, fmt.Errorf("unexpected end")
		case t.str:
			return exprNode{kind: kindString, str: t.text}, nil
		}
		if k, known := fieldKinds[t.text]; known && k == kindString {
			return exprNode{kind: kindString, op: "field", str: t.text}, nil
		}
		return exprNode{}, fmt.Errorf("%q is not supported: the local edge supports a \"string\", http.host, http.request.uri.path, http.request.uri.query or concat() of them", t.text)
	}
	var out []exprNode
	if _, ok := p.keyword("concat"); ok {
		if t, ok := p.next(); !ok || t.str || t.text != "(" {
			return nil, fmt.Errorf("concat takes arguments in parentheses")
		}
		for {
			n, err := arg()
			if err != nil {
				return nil, err
			}
			out = append(out, n)
			t, ok := p.next()
			if !ok {
				return nil, fmt.Errorf("missing )")
			}
			if !t.str && t.text == ")" {
				break
			}
			if t.str || t.text != "," {
				return nil, fmt.Errorf("concat arguments are separated by commas")
			}
		}
	} else {
		n, err := arg()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if t, more := p.peek(); more {
		return nil, fmt.Errorf("unexpected %q after the target", t.text)
	}
	if len(out) == 0 || out[0].op != "" || !(strings.HasPrefix(out[0].str, "https://") || strings.HasPrefix(out[0].str, "http://")) {
		return nil, fmt.Errorf("the target must start with a literal \"https://host\" or \"http://host\"")
	}
	return out, nil
}
