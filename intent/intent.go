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
	fillerRe     = regexp.MustCompile(`(?i)\b(?:please|pls|now|then|and|it|this|the|app|my|to|production|prod|also|just|ok|okay|go|ahead|can|you|could|would|let'?s|lets|version|latest|current|one|again)\b`)
	wordRe       = regexp.MustCompile(`[\p{L}\p{N}]+`)
	versionRe    = regexp.MustCompile(`(?i)\b(?:version|v)\s*#?\s*(\d{1,6})\b`)
	// "to my domain myapp.com", "on shop.example.org", "at www.myapp.io": a hostname
	// after a word that puts the app somewhere.
	domainRe = regexp.MustCompile(`(?i)\b(?:domain|to|on|at|under)\s+(?:my\s+(?:own\s+)?(?:custom\s+)?domain\s+|the\s+domain\s+)?((?:https?://)?(?:[a-z0-9\p{L}](?:[a-z0-9\p{L}-]{0,61}[a-z0-9\p{L}])?\.)+[a-z\p{L}]{2,63})\b`)
)

// Read reads a chat message.
func Read(message string) Intent {
	m := strings.TrimSpace(message)
	domain := ""
	if d := domainRe.FindStringSubmatch(m); d != nil && publishRe.MatchString(m) {
		domain = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(d[1]), "https://"), "http://")
		m = strings.Replace(m, d[0], " ", 1)
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
