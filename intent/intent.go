// Package intent reads what a chat message asks of appforge itself, beside the change
// to the app: publishing to production ("deploy it", "publish", "go live"). Rules, not a
// model: cheap, predictable, and the same for every generator.
package intent

import (
	"regexp"
	"strconv"
	"strings"
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
	domainWordRe  = regexp.MustCompile(`(?i)\bdomain\s+(?:name\s+)?(?:is\s+|of\s+)?(` + hostPattern + `)`)
	domainAfterRe = regexp.MustCompile(`(?i)\b(?:publish(?:ed)?|deploy(?:ed)?|go\s+live|make\s+it\s+live|put\s+it\s+live|ship\s+it|release\s+it)(?:\s+(?:it|this|the\s+app|my\s+app|(?:the\s+)?(?:latest|current)\s+version|version\s+\d{1,6}|v\d{1,6}))?(?:\s+live)?\s+((?:to|on|at|under)\s+(` + hostPattern + `))`)
)

// hostPattern is a hostname as typed, with an optional scheme the caller strips.
const hostPattern = `(?:https?://)?(?:[a-z0-9\p{L}](?:[a-z0-9\p{L}-]{0,61}[a-z0-9\p{L}])?\.)+[a-z\p{L}]{2,63}\b`

// Read reads a chat message.
func Read(message string) Intent {
	m := strings.TrimSpace(message)
	domain := ""
	if publishRe.MatchString(m) {
		// The span to drop from the message, and the hostname inside it.
		var drop, host []int
		if d := domainWordRe.FindStringSubmatchIndex(m); d != nil {
			drop, host = d[0:2], d[2:4]
		} else if d := domainAfterRe.FindStringSubmatchIndex(m); d != nil {
			drop, host = d[2:4], d[4:6]
		}
		if host != nil {
			domain = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(m[host[0]:host[1]]), "https://"), "http://")
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
