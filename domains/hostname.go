package domains

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// ErrInvalid is wrapped by every error Normalize returns. The error is an
// *InvalidError whose Reason can be shown to the user as it is.
var ErrInvalid = errors.New("invalid hostname")

// InvalidError says why a hostname was refused. It wraps ErrInvalid.
type InvalidError struct {
	Input  string // what the user gave, trimmed of surrounding spaces
	Reason string // one sentence in plain words, e.g. "github.io is a public suffix: use a name under it that you own, e.g. yourname.github.io"
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%v %s: %s", ErrInvalid, show(e.Input), e.Reason)
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Hostname is a hostname that a user may attach to an app.
type Hostname struct {
	Name    string // canonical ASCII: lower case, punycode, no trailing dot, e.g. "xn--bcher-kva.example.com"
	Unicode string // for display, e.g. "bücher.example.com"; equals Name when Name has no xn-- label
	Apex    string // registrable domain (eTLD+1, private public-suffix section included), e.g. "example.com" for "shop.example.com"
	IsApex  bool   // Name == Apex
	// WWW is the www counterpart: "www."+Apex for an apex, Apex for "www."+Apex,
	// and empty for any other hostname (or when "www."+Apex would exceed 253
	// characters).
	WWW string
}

// PrimaryProblem says why primary ("apex", "www" or "") does not fit h, or "". Only an
// apex domain chooses: a www name is its pair's www side already, and any other
// subdomain has no pair.
func PrimaryProblem(h Hostname, primary string) string {
	switch {
	case primary == "":
		return ""
	case primary != "apex" && primary != "www":
		return `primary must be "apex" or "www"`
	case h.IsApex && h.WWW == "" && primary == "www":
		return fmt.Sprintf("www.%s would be longer than a hostname may be; leave primary out", h.Name)
	case h.IsApex, h.WWW != "" && primary == "www":
		return "" // an apex chooses; www.<apex> is the www side, as asked
	case h.WWW != "":
		return fmt.Sprintf("%s is the www side of %s; to serve at the apex with www redirecting to it, attach %s with primary \"apex\"", h.Name, h.WWW, h.WWW)
	}
	return fmt.Sprintf("primary chooses between an apex domain and its www name; %s has no such pair: leave primary out", h.Name)
}

// Options adjusts NormalizeWith.
type Options struct {
	// AllowReserved accepts names under the special-use top-level domains
	// .localhost, .test, .example, .invalid, .local and .internal (RFC 2606,
	// RFC 6761, RFC 6762), which do not exist on the public internet. It is
	// meant for demos and tests against the local edge (e.g. "todo.localhost");
	// production code calls Normalize. .arpa and .onion stay refused.
	AllowReserved bool
}

const (
	maxNameLen  = 253  // RFC 1035, without the trailing dot
	maxLabelLen = 63   // RFC 1035
	maxInputLen = 4096 // a pasted URL may be long; anything longer is not a hostname
)

// Normalize checks a hostname a user typed and returns it in canonical form
// (ASCII, punycode, lower case, no trailing dot). It is NormalizeWith with
// zero Options.
//
// Normalize is forgiving about how a name is written and strict about which
// names it accepts:
//
//   - Surrounding spaces are trimmed, one trailing dot ("myapp.com.") is
//     dropped, upper case is lowered, and international names are converted to
//     punycode (IDNA2008; full-width letters and ideographic full stops are
//     mapped as UTS #46 recommends for user input).
//   - A pasted URL is accepted silently: "https://MyApp.com:8443/path?q" gives
//     "myapp.com". The scheme, user info, port, path, query and fragment are
//     dropped; so are a port ("myapp.com:443") and a path ("myapp.com/about")
//     without a scheme. Refusing them would only make the user retype what we
//     can read. An email address ("me@myapp.com") is refused: it names a
//     mailbox, not a website.
//   - Refused, each with a reason the user can act on: IP addresses,
//     wildcards ("*.example.com"), empty labels, labels that start or end with
//     a hyphen or hold "--" in positions 3–4 without being xn--, underscores and
//     other characters outside letters, digits and hyphens (emoji and symbols
//     included: IDNA2008 disallows them), labels over 63 and names over 253
//     bytes in ASCII form, single labels ("myapp"), an all-digit last label,
//     top-level domains that do not exist ("myapp.cmo"), public suffixes from
//     both sections of the Public Suffix List ("co.uk", "github.io",
//     "workers.dev"), the reserved TLDs listed at Options.AllowReserved, and
//     .arpa and .onion.
//
// Whatever Normalize accepts, Normalize(h.Name) returns unchanged.
func Normalize(input string) (Hostname, error) {
	return NormalizeWith(input, Options{})
}

// NormalizeWith is Normalize with options.
func NormalizeWith(input string, opts Options) (Hostname, error) {
	trimmed := strings.TrimSpace(input)
	host, reason := extractHost(trimmed)
	if reason == "" {
		host, reason = toASCII(host)
	}
	var h Hostname
	if reason == "" {
		h, reason = check(host, opts)
	}
	if reason != "" {
		return Hostname{}, &InvalidError{Input: trimmed, Reason: reason}
	}
	return h, nil
}

// dots maps the full stops that UTS #46 treats as label separators to ".".
var dots = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".")

// extractHost takes the host out of what the user typed (a bare hostname, a
// URL, host:port) and refuses what is clearly not a hostname.
func extractHost(s string) (host, reason string) {
	switch {
	case s == "":
		return "", "enter a hostname, such as myapp.com"
	case len(s) > maxInputLen:
		return "", "this is far too long to be a hostname"
	case !utf8.ValidString(s):
		return "", "this is not valid text (it is not UTF-8)"
	}
	rest := s
	isURL := false
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		if !isScheme(scheme) {
			return "", "this is neither a hostname nor a web address: enter just the hostname, such as myapp.com"
		}
		rest, isURL = after, true
	} else if after, ok := strings.CutPrefix(rest, "//"); ok {
		rest, isURL = after, true
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 && (isURL || strings.Contains(rest[:i], ".")) {
		rest = rest[:i]
	}
	if isURL {
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			rest = rest[i+1:]
		}
	} else if _, domain, ok := strings.Cut(rest, "@"); ok {
		return "", fmt.Sprintf("this looks like an email address: enter just the domain, such as %s", show(domain))
	}

	if strings.HasPrefix(rest, "[") {
		return "", "this is an IP address, not a domain name: enter a domain you own, such as myapp.com"
	}
	if strings.Count(rest, ":") == 1 {
		name, port, _ := strings.Cut(rest, ":")
		if !allDigits(port) && port != "" {
			return "", fmt.Sprintf("%s is not a port number: enter just the hostname, such as myapp.com", show(port))
		}
		rest = name
	}
	if addr, err := netip.ParseAddr(rest); err == nil {
		return "", fmt.Sprintf("%s is an IP address, not a domain name: enter a domain you own, such as myapp.com", addr)
	}
	if strings.Contains(rest, ":") {
		return "", `a hostname cannot contain ":": enter just the hostname, such as myapp.com`
	}

	rest = dots.Replace(rest)
	rest = strings.TrimSuffix(rest, ".")
	if rest == "" {
		return "", "enter a hostname, such as myapp.com"
	}
	for _, r := range rest {
		switch {
		case unicode.IsSpace(r):
			return "", "a hostname cannot contain spaces"
		case unicode.IsControl(r):
			return "", fmt.Sprintf("this contains the invisible control character %U, which a hostname cannot contain", r)
		}
	}
	labels := strings.Split(rest, ".")
	for i := len(labels) - 1; i >= 0; i-- {
		if labels[i] == "*" {
			example := "app.example.com"
			if i+1 < len(labels) {
				example = "app." + strings.Join(labels[i+1:], ".")
			}
			return "", fmt.Sprintf("wildcard custom domains are not supported: add each hostname you need on its own, e.g. %s", example)
		}
	}
	return rest, ""
}

// mapper applies the UTS #46 mapping (case folding, width and compatibility
// mappings, NFC) to user input before the strict registration check, as
// RFC 5895 suggests for names typed by people.
var mapper = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule())

// runeMapper is mapper without the Bidi rule, for testing runes one by one.
var runeMapper = idna.New(idna.MapForLookup(), idna.Transitional(false))

// registration is x/net/idna's strict registration profile (RFC 5891
// section 4: no mapping, STD3 rules, hyphen, joiner and Bidi checks), minus
// its length check: check measures lengths itself to give a precise reason.
var registration = idna.New(idna.ValidateForRegistration(), idna.VerifyDNSLength(false))

// toASCII lower-cases each label and converts international labels to
// punycode with the strict registration profile.
func toASCII(host string) (name, reason string) {
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if l == "" {
			return "", emptyLabelReason
		}
		if isASCII(l) {
			labels[i] = strings.ToLower(l)
			continue
		}
		m, err := mapper.ToUnicode(l)
		if err != nil {
			return "", labelReason(l)
		}
		switch {
		case m == "":
			return "", fmt.Sprintf("%s consists only of invisible characters", show(l))
		case strings.Contains(m, "."):
			return "", fmt.Sprintf("%s contains a character that stands for a dot: type the dots yourself", show(l))
		case isASCII(m):
			labels[i] = m
			continue
		}
		if r := uLabelReason(show(l), m); r != "" {
			return "", r
		}
		a, err := registration.ToASCII(m)
		if err != nil {
			return "", labelReason(m)
		}
		labels[i] = a
	}
	return strings.Join(labels, "."), ""
}

// check validates a candidate canonical ASCII name and fills in a Hostname.
// It depends on name alone, which makes Normalize idempotent.
func check(name string, opts Options) (Hostname, string) {
	labels := strings.Split(name, ".")
	unicodeLabels := make([]string, len(labels))
	for i, l := range labels {
		if l == "" {
			return Hostname{}, emptyLabelReason
		}
		if r := asciiLabelReason(l); r != "" {
			return Hostname{}, r
		}
		u := l
		if strings.HasPrefix(l, "xn--") {
			var err error
			u, err = registration.ToUnicode(l)
			if err != nil {
				return Hostname{}, fmt.Sprintf("%s is not a valid international (xn--) label", show(l))
			}
			if r := uLabelReason(fmt.Sprintf("%s (%s)", show(l), show(u)), u); r != "" {
				return Hostname{}, r
			}
			if back, err := registration.ToASCII(u); err != nil || back != l {
				return Hostname{}, fmt.Sprintf("%s is not a valid international (xn--) label", show(l))
			}
		}
		if len(l) > maxLabelLen {
			return Hostname{}, fmt.Sprintf("%s is too long: each part between dots can have at most %d characters (international names count in their xn-- form)", show(u), maxLabelLen)
		}
		unicodeLabels[i] = u
	}
	if len(name) > maxNameLen {
		return Hostname{}, fmt.Sprintf("the hostname is %d characters long; the limit is %d", len(name), maxNameLen)
	}
	tld := labels[len(labels)-1]
	displayTLD := unicodeLabels[len(labels)-1]
	if allDigits(tld) {
		return Hostname{}, "this looks like an IP address, not a domain name: enter a domain you own, such as myapp.com"
	}
	if why, ok := refusedTLDs[tld]; ok {
		return Hostname{}, why
	}
	_, reserved := reservedTLDs[tld]
	if reserved && !opts.AllowReserved {
		if len(labels) == 1 {
			return Hostname{}, fmt.Sprintf("%s is a reserved name that does not exist on the public internet: use a domain you have registered, such as myapp.com", tld)
		}
		return Hostname{}, fmt.Sprintf(".%s names %s and do not exist on the public internet: use a domain you have registered, such as myapp.com", tld, reservedTLDs[tld])
	}
	// A final pass over the whole name catches rules that span labels, such
	// as the Bidi rule for names that mix right-to-left labels with others.
	if a, err := registration.ToASCII(name); err != nil || a != name {
		return Hostname{}, "this is not a valid international domain name (it may mix right-to-left and left-to-right text in a way domain names do not allow)"
	}
	suffix, icann := publicsuffix.PublicSuffix(name)
	if suffix == name && (icann || strings.Contains(suffix, ".")) {
		display := strings.Join(unicodeLabels, ".")
		if len(labels) == 1 {
			return Hostname{}, fmt.Sprintf("%s is a top-level domain: use a name under it that you own, e.g. yourname.%s", display, display)
		}
		return Hostname{}, fmt.Sprintf("%s is a public suffix: use a name under it that you own, e.g. yourname.%s", display, display)
	}
	if len(labels) < 2 {
		return Hostname{}, fmt.Sprintf("%s is not a full domain name: add the ending it is registered under, e.g. %s.com", show(unicodeLabels[0]), unicodeLabels[0])
	}
	// The list's default rule makes any unknown last label a suffix; it is
	// neither ICANN nor private, and never holds a dot.
	if !icann && !strings.Contains(suffix, ".") && !reserved {
		return Hostname{}, fmt.Sprintf(".%s is not a top-level domain that exists: check the spelling of the ending", displayTLD)
	}
	apex, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return Hostname{}, "this is not a domain name that can be registered"
	}
	h := Hostname{
		Name:    name,
		Unicode: strings.Join(unicodeLabels, "."),
		Apex:    apex,
		IsApex:  name == apex,
	}
	switch {
	case h.IsApex && len("www."+apex) <= maxNameLen:
		h.WWW = "www." + apex
	case name == "www."+apex:
		h.WWW = apex
	}
	return h, ""
}

// reservedTLDs are special-use names (RFC 2606, 6761, 6762 and ICANN's
// .internal) that Options.AllowReserved lets through, with why they are refused otherwise.
var reservedTLDs = map[string]string{
	"localhost": "refer to your own computer",
	"local":     "are for devices on a local network (mDNS)",
	"internal":  "are reserved for private networks",
	"test":      "are reserved for testing",
	"example":   "are reserved for documentation",
	"invalid":   "are reserved for names that must never work",
}

// refusedTLDs are refused whatever the options.
var refusedTLDs = map[string]string{
	"arpa":  ".arpa is reserved for internet infrastructure (such as reverse DNS) and cannot serve a website",
	"onion": ".onion names are reachable only through Tor and cannot be served by Cloudflare",
}

const emptyLabelReason = "a hostname cannot have an empty part: check for two dots in a row or a dot at the start"

// asciiLabelReason says what is wrong with a lower-case ASCII label, or "".
func asciiLabelReason(l string) string {
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case c == '_':
			return fmt.Sprintf("%s contains an underscore, which hostnames do not allow: use a hyphen instead (%s)", show(l), show(strings.ReplaceAll(l, "_", "-")))
		case c >= utf8.RuneSelf:
			return fmt.Sprintf("%s is not a valid label", show(l))
		default:
			return fmt.Sprintf("%s contains %s, %s", show(l), showRune(rune(c)), runeProblem(rune(c)))
		}
	}
	switch {
	case strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-"):
		return fmt.Sprintf("%s cannot start or end with a hyphen", show(l))
	case len(l) >= 4 && l[2:4] == "--" && !strings.HasPrefix(l, "xn--"):
		return fmt.Sprintf("%s cannot have hyphens in both the third and fourth place: that is reserved for encoded international names (xn--)", show(l))
	}
	return ""
}

// labelReason explains why a label failed IDNA validation, as precisely as it can.
func labelReason(l string) string {
	lower := strings.ToLower(l)
	for _, r := range lower {
		if r < utf8.RuneSelf {
			if !idna2008Rune(r) {
				return fmt.Sprintf("%s contains %s, %s", show(l), showRune(r), runeProblem(r))
			}
			continue
		}
		if m, err := runeMapper.ToUnicode(string(r)); err != nil && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) && r != 0x200C && r != 0x200D {
			return fmt.Sprintf("%s contains %s, %s", show(l), showRune(r), runeProblem(r))
		} else if err == nil {
			for _, mr := range m {
				if !idna2008Rune(mr) {
					return fmt.Sprintf("%s contains %s, %s", show(l), showRune(r), runeProblem(r))
				}
			}
		}
	}
	if r := asciiLabelReason(lower); isASCII(lower) && r != "" {
		return r
	}
	if strings.HasPrefix(lower, "-") || strings.HasSuffix(lower, "-") {
		return fmt.Sprintf("%s cannot start or end with a hyphen", show(l))
	}
	return fmt.Sprintf("%s is not a valid international domain name label (IDNA2008): check for accents, joining characters or right-to-left text in unusual places", show(l))
}

// uLabelReason checks the runes of a mapped Unicode label against IDNA2008
// (RFC 5892), which x/net/idna does not fully enforce, and says what is wrong
// with it, or "". display names the label in the message.
func uLabelReason(display, u string) string {
	runes := []rune(u)
	arabicIndic, extendedArabicIndic := false, false
	japanese := strings.IndexFunc(u, isJapanese) >= 0
	for i, r := range runes {
		if !idna2008Rune(r) {
			return fmt.Sprintf("%s contains %s, %s", display, showRune(r), runeProblem(r))
		}
		// The CONTEXTO rules of RFC 5892 appendix A.
		ok := true
		switch {
		case r == 0x00B7: // MIDDLE DOT: only in Catalan "l·l"
			ok = i > 0 && i+1 < len(runes) && runes[i-1] == 'l' && runes[i+1] == 'l'
		case r == 0x0375: // GREEK LOWER NUMERAL SIGN: before Greek
			ok = i+1 < len(runes) && unicode.Is(unicode.Greek, runes[i+1])
		case r == 0x05F3 || r == 0x05F4: // HEBREW GERESH, GERSHAYIM: after Hebrew
			ok = i > 0 && unicode.Is(unicode.Hebrew, runes[i-1])
		case r == 0x30FB: // KATAKANA MIDDLE DOT: in a Japanese label
			ok = japanese
		case 0x0660 <= r && r <= 0x0669:
			arabicIndic = true
			ok = !extendedArabicIndic
		case 0x06F0 <= r && r <= 0x06F9:
			extendedArabicIndic = true
			ok = !arabicIndic
		}
		if !ok {
			return fmt.Sprintf("%s contains %s in a place where domain names do not allow it", display, showRune(r))
		}
	}
	return ""
}

func isJapanese(r rune) bool {
	return r != 0x30FB && unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han)
}

// idna2008Rune reports whether r may appear in a U-label under RFC 5892
// (IDNA2008), approximated by general category plus the RFC's exceptions.
// x/net/idna's registration profile follows UTS #46, which lets emoji and
// other symbols through; this closes that gap. Context rules (joiners, the
// Bidi rule) are left to x/net/idna.
func idna2008Rune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-'
	}
	switch r {
	case 0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007, // PVALID exceptions
		0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB, // CONTEXTO
		0x200C, 0x200D: // CONTEXTJ
		return true
	case 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303B: // DISALLOWED exceptions
		return false
	}
	return unicode.In(r, unicode.Ll, unicode.Lo, unicode.Lm, unicode.Mn, unicode.Mc, unicode.Nd)
}

func runeProblem(r rune) string {
	if unicode.IsSymbol(r) || unicode.Is(unicode.So, r) {
		return "which cannot be used in a domain name: emoji and symbols are not allowed"
	}
	return "which cannot be used in a domain name: use only letters, digits and hyphens"
}

func showRune(r rune) string {
	if unicode.IsPrint(r) && !unicode.Is(unicode.Mn, r) {
		return strconv.Quote(string(r))
	}
	return fmt.Sprintf("the invisible character %U", r)
}

// show quotes s for a message, shortened if it is long.
func show(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return strconv.Quote(s)
}

func isScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
