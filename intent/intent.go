// Package intent reads what a chat message asks of appforge itself, beside the change
// to the app: publishing to production ("deploy it", "publish", "go live"). Rules, not a
// model: cheap, predictable, and the same for every generator.
package intent

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Intent is what a message asks beyond changing the app.
type Intent struct {
	// Publish: put the result in production once it is live in preview.
	Publish bool `json:"publish,omitempty"`
	// OnlyPublish: the message asks for nothing else (no change to the app).
	OnlyPublish bool `json:"only_publish,omitempty"`
	// Version is the version to publish when the message names one ("publish version 3").
	Version int `json:"version,omitempty"`
	// Domain is a hostname to serve the app at ("deploy it to my domain myapp.com"), as
	// typed: the domain workflow validates it.
	Domain string `json:"domain,omitempty"`
}

var (
	publishRe = regexp.MustCompile(`(?i)\b(?:publish(?:ed)?|go\s+live|ship\s+it|make\s+it\s+live|put\s+it\s+live|deploy(?:ed)?(?:\s+(?:it|this|the\s+app|my\s+app))?(?:\s+to\s+(?:prod(?:uction)?|live|the\s+world))?|push\s+(?:it\s+)?to\s+prod(?:uction)?|release\s+it)\b`)
	// A "deploy" that is about something other than this app ("deploy button") is not
	// a request to publish.
	notPublishRe = regexp.MustCompile(`(?i)\b(?:publish|deploy)\s+(?:button|buttons|date|dates|status|form|page|section)\b|\bhow\s+(?:do|to|can)\b`)
	fillerRe     = regexp.MustCompile(`(?i)\b(?:please|pls|now|then|and|it|this|the|app|my|to|production|prod|also|just|ok|okay|go|ahead|can|you|could|would|let'?s|lets|version|latest|current|one|again|use|custom|own|there|with)\b`)
	wordRe       = regexp.MustCompile(`[\p{L}\p{N}]+`)
	versionRe    = regexp.MustCompile(`(?i)\b(?:version|v)\s*#?\s*(\d{1,6})\b`)
	// A hostname is a domain only where the message says so: after the word "domain"
	// ("to my domain myapp.com", "use the custom domain shop.example.org"), or right
	// after the verb that publishes ("publish it on shop.example.org", "go live at
	// myapp.io"). "Add a link to github.com and deploy it" names a link, not a domain.
	// The name is taken loosely ("my_app.com", "*.myapp.com", "localhost" too): the
	// domain's setup checks it and says in plain words why one cannot be used, where a
	// strict pattern here would drop it without a word.
	domainWordRe  = regexp.MustCompile(`(?i)\bdomain\s+(?:name\s+)?(?:is\s+|of\s+)?(` + hostToken + `)`)
	domainAfterRe = regexp.MustCompile(`(?i)\b(?:publish(?:ed)?|deploy(?:ed)?|go\s+live|make\s+it\s+live|put\s+it\s+live|ship\s+it|release\s+it)(?:\s+(?:it|this|the\s+app|my\s+app|(?:the\s+)?(?:latest|current)\s+version|version\s+\d{1,6}|v\d{1,6}))?(?:\s+live)?\s+((?:to|on|at|under)\s+(` + hostToken + `))`)
)

// hostToken is a word that may be a hostname; hostLike decides.
const hostToken = `[^\s,;!?'"()<>\[\]]+`

// hostLike returns tok as a hostname when it looks like one, as typed but for case, the
// scheme and trailing dots and slashes: a dotted name whose last label has a letter
// ("5.30pm" and "e.g." are not), or localhost.
func hostLike(tok string) (string, bool) {
	h := strings.ToLower(tok)
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimRight(h, "./:")
	if h == "localhost" {
		return h, true
	}
	i := strings.LastIndexByte(h, '.')
	if i <= 0 {
		return "", false
	}
	last := h[i+1:]
	return h, len(last) >= 2 && strings.IndexFunc(last, unicode.IsLetter) == 0
}

// Read reads a chat message.
func Read(message string) Intent {
	m := strings.TrimSpace(message)
	domain := ""
	if publishRe.MatchString(m) {
		// The span to drop from the message: the name and what introduces it.
		var drop []int
		for _, d := range domainWordRe.FindAllStringSubmatchIndex(m, -1) {
			if h, ok := hostLike(m[d[2]:d[3]]); ok {
				domain, drop = h, d[0:2]
				break
			}
		}
		if domain == "" {
			for _, d := range domainAfterRe.FindAllStringSubmatchIndex(m, -1) {
				if h, ok := hostLike(m[d[4]:d[5]]); ok {
					domain, drop = h, d[2:4]
					break
				}
			}
		}
		if drop != nil {
			m = m[:drop[0]] + " " + m[drop[1]:]
		}
	}
	if !publishRe.MatchString(m) || notPublishRe.MatchString(m) {
		return Intent{}
	}
	in := Intent{Publish: true, Domain: domain}
	rest := publishRe.ReplaceAllString(m, " ")
	if v := versionRe.FindStringSubmatch(rest); v != nil {
		in.Version, _ = strconv.Atoi(v[1])
		rest = versionRe.ReplaceAllString(rest, " ")
	}
	rest = fillerRe.ReplaceAllString(rest, " ")
	in.OnlyPublish = len(wordRe.FindAllString(rest, -1)) == 0
	if !in.OnlyPublish {
		in.Version = 0 // a change makes a new version: that is the one to publish
	}
	return in
}
