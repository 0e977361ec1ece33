package generate

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageBytes bounds how much of a message the offline generator reads.
const maxMessageBytes = 8 << 10

// newIntent is what the offline generator understood from the first message of an app.
type newIntent struct {
	Kind kindID // empty when nothing in the message points to a kind
	// Other names an app the offline generator has no template for ("a weather app"),
	// when the message mentions one.
	Other   string
	Title   string // empty for the kind's default
	Tagline string // landing page only; empty for the default
	Accent  *accent
	Dark    *bool
	Step    int    // counter; 0 when not given
	Seconds int    // timer countdown length; 0 when not given
	Mode    string // timer; empty when not given
	// Rest is true when the message asks for more than the generator understood.
	Rest bool
}

// changeIntent is what the offline generator understood from a later message.
type changeIntent struct {
	Title   *string
	Tagline *string
	Accent  *accent
	Dark    *bool
	Rest    bool
}

func (c changeIntent) any() bool {
	return c.Title != nil || c.Tagline != nil || c.Accent != nil || c.Dark != nil
}

// text is a message being read: the original, with the spans already understood blanked
// out (same length) so that later readers do not see them again.
type text struct {
	s string
}

func newText(msg string) *text {
	if len(msg) > maxMessageBytes {
		msg = strings.ToValidUTF8(msg[:maxMessageBytes], "")
	}
	// Line breaks and tabs read as spaces; keeping one byte each keeps offsets aligned.
	msg = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) && r < utf8.RuneSelf {
			return ' '
		}
		return r
	}, msg)
	return &text{s: msg}
}

func (t *text) clone() *text { return &text{s: t.s} }

// mask blanks s[i:j].
func (t *text) mask(i, j int) {
	if i < 0 || j > len(t.s) || i >= j {
		return
	}
	t.s = t.s[:i] + strings.Repeat(" ", j-i) + t.s[j:]
}

func (t *text) maskSpans(spans [][2]int) {
	for _, sp := range spans {
		t.mask(sp[0], sp[1])
	}
}

// maskAll blanks every match of re and reports how many there were.
func (t *text) maskAll(re *regexp.Regexp) int {
	ms := re.FindAllStringIndex(t.s, -1)
	for _, m := range ms {
		t.mask(m[0], m[1])
	}
	return len(ms)
}

func re(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + pattern)
}

// Kind signals: patterns read in order, each blanking what it matched so that a longer
// phrase ("count down") is not read again as a shorter one ("count"). A kind's score is
// the sum of the weights of its signals present in the message.
type signal struct {
	re     *regexp.Regexp
	kind   kindID
	weight int
}

var signals = []signal{
	{re(`\blanding[\s-]*pages?\b|\b(?:home|splash|marketing|product|promo|launch|sales|coming[\s-]+soon|wait[\s-]*list|one[\s-]+pager?|single[\s-]+page)[\s-]*(?:page|site|web[\s-]*site)s?\b`), kindLanding, 6},
	{re(`\bcount[\s-]*downs?\b|\bstop[\s-]*watch(?:es)?\b|\bpomodoros?\b`), kindTimer, 5},
	{re(`\btimers?\b`), kindTimer, 4},
	{re(`\bto[\s-]?dos?(?:[\s-]+lists?)?\b|\bto\s+do\s+lists?\b|\b(?:things|what)\s+to\s+do\b|\b(?:task|chore|errand|shopping|grocery|groceries|packing|reading|bucket|check|wish|action)[\s-]*lists?\b`), kindTodo, 5},
	{re(`\btask[\s-]*(?:manager|tracker|app|board)s?\b|\btasks?\b|\bchores?\b|\berrands?\b|\bcheck[\s-]*lists?\b|\breminders?\b|\bgroceries\b`), kindTodo, 3},
	{re(`\bnote[\s-]*(?:taking|taker|pad|book)s?\b|\bnotepads?\b|\bnotebooks?\b`), kindNotes, 5},
	{re(`\bnotes?\b`), kindNotes, 4},
	{re(`\bjournal(?:s|ing)?\b|\bdiary\b|\bdiaries\b|\bmemos?\b|\bjot(?:ting)?\b|\bscratch[\s-]*pads?\b`), kindNotes, 3},
	{re(`\b(?:tally|click|tap|people|score)[\s-]*counters?\b|\bcounters?\b|\btally\b|\btallies\b|\bclickers?\b|\bscore[\s-]*(?:keeper|board)s?\b`), kindCounter, 4},
	{re(`\bcount(?:s|ing|er)?\b|\bincrement\b|\bdecrement\b|\bscores?\b`), kindCounter, 2},
	{re(`\bhow\s+many\b`), kindCounter, 1},
	{re(`\bhabits?\b|\bgoals?\b|\bplanner\b`), kindTodo, 1},
	{re(`\bideas?\b|\bthoughts?\b|\bsnippets?\b|\bwrit(?:e|ing)\b`), kindNotes, 1},
	{re(`\bclocks?\b|\balarms?\b|\bminutes?\b|\bseconds?\b|\bhours?\b|\btiming\b|\bworkouts?\b|\bintervals?\b`), kindTimer, 1},
	{re(`\bweb[\s-]*sites?\b|\bhome[\s-]*pages?\b|\bsites?\b|\bportfolio\b`), kindLanding, 3},
	{re(`\bweb[\s-]*pages?\b|\bpages?\b`), kindLanding, 2},
	{re(`\bstartup\b|\bbusiness\b|\bcompany\b|\bproduct\b|\bbrand\b|\bagency\b|\brestaurant\b|\bcaf[eé]\b|\bbakery\b|\bshop\b|\bstore\b|\bstudio\b|\blaunch\b|\bmarketing\b|\bevent\b|\bconference\b|\bnewsletter\b`), kindLanding, 1},
}

// minKindScore is the least score that picks a kind; weaker hints are not a signal.
const minKindScore = 2

// strongKindScore is the score at which a kind wins even when the message also names an
// app the generator has no template for ("a todo app with login").
const strongKindScore = 4

// otherApps names apps the offline generator has no template for, so that a reply can
// say so instead of making the wrong thing.
var otherApps = []struct {
	re   *regexp.Regexp
	name string
}{
	{re(`\bweather\b`), "a weather app"},
	{re(`\bcalculators?\b`), "a calculator"},
	{re(`\bchat(?:s|bot|room)?\b|\bmessag(?:ing|es?)\b|\bmessenger\b`), "a chat app"},
	{re(`\be-?commerce\b|\bonline\s+(?:store|shop)\b|\bshopping\s+cart\b|\bcheckout\b|\bpayments?\b`), "an online shop"},
	{re(`\bblogs?\b|\bforums?\b|\bsocial\s+(?:network|media)\b`), "a blog or social app"},
	{re(`\bgames?\b|\bquiz(?:zes)?\b|\btic[\s-]*tac[\s-]*toe\b|\bsnake\b|\bsudoku\b`), "a game"},
	{re(`\bcalendars?\b|\bbookings?\b|\bappointments?\b|\bscheduler\b`), "a calendar or booking app"},
	{re(`\bdashboards?\b|\banalytics\b|\bcharts?\b|\bgraphs?\b|\bspreadsheets?\b`), "a dashboard"},
	{re(`\bkanban\b`), "a kanban board"},
	{re(`\blog[\s-]*in\b|\bsign[\s-]*(?:up|in)\b|\bauth(?:entication)?\b|\baccounts?\b|\bpasswords?\b`), "login and accounts"},
	{re(`\brecipes?\b`), "a recipe app"},
	{re(`\bmaps?\b`), "a map"},
	{re(`\bmusic\b|\bvideos?\b|\bpodcasts?\b|\bplayer\b`), "a media player"},
	{re(`\bphotos?\b|\bgallery\b|\bimages?\b`), "a photo gallery"},
	{re(`\bexpenses?\b|\bbudget(?:ing)?\b|\bfinances?\b|\binvoices?\b`), "a budget app"},
	{re(`\bsurveys?\b|\bpolls?\b|\bforms?\b`), "a survey or form"},
}

// detectKind scores the kinds in t (blanking the signals it reads) and returns the best
// one with its score; kind is empty when no kind reaches minKindScore.
func detectKind(t *text) (kindID, int) {
	scores := map[kindID]int{}
	for _, s := range signals {
		if t.maskAll(s.re) > 0 {
			scores[s.kind] += s.weight
		}
	}
	best, bestScore := kindID(""), 0
	for _, k := range kinds {
		if scores[k.ID] > bestScore {
			best, bestScore = k.ID, scores[k.ID]
		}
	}
	if bestScore < minKindScore {
		return "", bestScore
	}
	return best, bestScore
}

// detectOther returns the first app named in t that has no template, blanking it.
func detectOther(t *text) string {
	found := ""
	for _, o := range otherApps {
		if t.maskAll(o.re) > 0 && found == "" {
			found = o.name
		}
	}
	return found
}

// Quotes: an opening rune and the runes that may close it.
var quotePairs = map[rune]string{
	'"':  `"”`,
	'“':  `”"`,
	'”':  `”`,
	'„':  `“”`,
	'‘':  `’'`,
	'\'': `'’`,
	'«':  `»`,
	'`':  "`",
}

// quotedAt reads a quoted string starting at s[i]: its inner text and the end of the
// closing quote.
func quotedAt(s string, i int) (string, int, bool) {
	if i >= len(s) {
		return "", 0, false
	}
	open, size := utf8.DecodeRuneInString(s[i:])
	closers, ok := quotePairs[open]
	if !ok {
		return "", 0, false
	}
	if open == '\'' && i > 0 {
		// An apostrophe inside a word ("it's") opens nothing.
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(prev) || unicode.IsDigit(prev) {
			return "", 0, false
		}
	}
	for j := i + size; j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		if strings.ContainsRune(closers, r) {
			next, _ := utf8.DecodeRuneInString(s[j+n:])
			// A closing apostrophe followed by a letter is part of a word ("Bob's").
			if (r == '\'' || r == '’') && j+n < len(s) && (unicode.IsLetter(next) || unicode.IsDigit(next)) {
				j += n
				continue
			}
			inner := strings.TrimSpace(s[i+size : j])
			if inner == "" {
				return "", 0, false
			}
			return inner, j + n, true
		}
		j += n
	}
	return "", 0, false
}

// findQuoted returns the first quoted string in s with its span.
func findQuoted(s string) (string, int, int, bool) {
	for i, r := range s {
		if _, ok := quotePairs[r]; !ok {
			continue
		}
		if inner, end, ok := quotedAt(s, i); ok {
			return inner, i, end, true
		}
	}
	return "", 0, 0, false
}

// Words that end an unquoted phrase such as a title: "called Groceries with a green
// theme" reads "Groceries".
var phraseStops = wordSet(`and with using in on then but please that which so plus while
	where when because also instead for to as or if thanks thank now make use switch change
	set turn add give it is should`)

// Words that end an unquoted tagline, which may itself say "for" or "and".
var taglineStops = wordSet(`please thanks then using`)

// Verbs after which "and" ends a tagline: "... and make it green".
var commandWords = wordSet(`make use switch change set turn give add put also in with let`)

// Generic nouns that end a title read from "for my ...": "for my bakery website".
var derivedStops = wordSet(`app apps application website websites site page pages domain
	tool thing i we you they he she`)

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// phraseOpts says how phraseAt reads a phrase.
type phraseOpts struct {
	maxWords int
	stops    map[string]bool
	extra    map[string]bool // more stops, optional
	// tagline makes "and", "with" and "in" stop only before a command, colour or theme.
	tagline bool
}

var (
	titlePhrase   = phraseOpts{maxWords: 8, stops: phraseStops}
	derivedPhrase = phraseOpts{maxWords: 5, stops: phraseStops, extra: derivedStops}
	taglinePhrase = phraseOpts{maxWords: 20, stops: taglineStops, tagline: true}
)

const trailingPunct = ".,;:!?)]}\"“”‘’'`»"

// phraseAt reads the phrase that starts at s[i]: a quoted string, or words up to a stop
// word, punctuation or opts.maxWords. It returns the phrase, where it ends and whether it
// was quoted.
func phraseAt(s string, i int, opts phraseOpts) (string, int, bool) {
	for i < len(s) && (s[i] == ' ' || s[i] == ':' || s[i] == '=') {
		i++
	}
	if inner, end, ok := quotedAt(s, i); ok {
		return inner, end, true
	}
	start, end, words := i, i, 0
	k := i
	for words < opts.maxWords {
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k >= len(s) {
			break
		}
		tokEnd := strings.IndexByte(s[k:], ' ')
		if tokEnd < 0 {
			tokEnd = len(s)
		} else {
			tokEnd += k
		}
		tok := s[k:tokEnd]
		if strings.ContainsAny(tok[:1], "([{") {
			break
		}
		core := strings.TrimRight(tok, trailingPunct)
		lower := strings.ToLower(strings.Trim(core, `"'“”‘’`))
		if core == "" || opts.stops[lower] || opts.extra[lower] {
			break
		}
		if opts.tagline {
			if lower == "and" || lower == "with" || lower == "in" {
				next := nextWord(s, tokEnd)
				if lower == "and" && commandWords[next] ||
					lower == "with" && (next == "a" || next == "an" || next == "the") && colourNear(s[tokEnd:]) ||
					lower == "in" && (next == "dark" || next == "light" || palette[next].Hex != "") {
					break
				}
			}
		}
		end = k + len(core)
		words++
		if len(core) < len(tok) {
			break // the word ended a clause: "Groceries, please"
		}
		k = tokEnd
	}
	return strings.TrimSpace(s[start:end]), end, false
}

func nextWord(s string, i int) string {
	f := strings.Fields(s[i:])
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(strings.TrimRight(f[0], trailingPunct))
}

// colourNear reports whether the next few words of s mention a colour or theme.
func colourNear(s string) bool {
	f := strings.Fields(s)
	if len(f) > 4 {
		f = f[:4]
	}
	for _, w := range f {
		w = strings.ToLower(strings.TrimRight(w, trailingPunct))
		if palette[w].Hex != "" || w == "theme" || w == "accent" || w == "dark" || w == "light" ||
			strings.HasPrefix(w, "#") {
			return true
		}
	}
	return false
}

// Small words that stay lower case inside a title.
var smallWords = wordSet(`a an and the of for in on to with at by or`)

// titleCase capitalises each word of a lower-case phrase: "my tasks" → "My Tasks".
func titleCase(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if i > 0 && smallWords[w] {
			continue
		}
		parts := strings.Split(w, "-")
		for j, p := range parts {
			r, n := utf8.DecodeRuneInString(p)
			if n > 0 {
				parts[j] = string(unicode.ToUpper(r)) + p[n:]
			}
		}
		words[i] = strings.Join(parts, "-")
	}
	return strings.Join(words, " ")
}

// lowerish reports whether s is written in lower case, apart from the word "I".
func lowerish(s string) bool {
	for _, w := range strings.Fields(s) {
		if w != "I" && !strings.HasPrefix(w, "I'") && w != strings.ToLower(w) {
			return false
		}
	}
	return true
}

// cleanTitle tidies a title read from a message: quotes and spacing trimmed, lower-case
// unquoted text title-cased, control characters dropped and the length bounded.
func cleanTitle(v string, quoted bool, maxRunes int) string {
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, v)
	v = strings.Join(strings.Fields(v), " ")
	v = strings.Trim(v, ` "'“”‘’`+"`«»")
	if !quoted && lowerish(v) {
		v = titleCase(v)
	}
	if utf8.RuneCountInString(v) > maxRunes {
		r := []rune(v)[:maxRunes]
		cut := string(r)
		if i := strings.LastIndexByte(cut, ' '); i > maxRunes/2 {
			cut = cut[:i]
		}
		v = strings.TrimSpace(cut)
	}
	return v
}

// Title and tagline patterns. Each ends where the value starts.
var (
	taglineRes = []*regexp.Regexp{
		re(`\b(?:tag[\s-]?line|slogan|sub[\s-]?title|sub[\s-]?heading|motto|catch[\s-]?phrase|strap[\s-]?line)(?:\s+text)?(?:\s*(?:should\s+(?:say|read|be)|to\s+(?:say|read|be)|that\s+(?:says|reads)|saying|reading|is\s+now|is|of|to|as|into|=|:))?\s*`),
	}
	newTitleRes = []*regexp.Regexp{
		re(`\b(?:called|named|titled|entitled)\s+`),
		re(`\b(?:with|having)\s+(?:the\s+|a\s+)?(?:title|name|heading)\s+(?:of\s+)?`),
		re(`\b(?:title|name|heading)(?:\s*[:=]|\s+(?:should\s+be|is|of))\s*`),
	}
	changeTitleRes = []*regexp.Regexp{
		re(`\b(?:change|set|update|switch|make|edit|modify|alter)\s+(?:the\s+|its\s+|my\s+)?(?:app(?:'s)?\s+|page(?:'s)?\s+|site(?:'s)?\s+|main\s+)?(?:title|name|heading|header|headline)(?:\s+text)?\s+(?:to\s+(?:say|read|be)\s+|to\s+|into\s+|as\s+|(?:say|says|read|reads)\s+|=\s*|:\s*)`),
		re(`\b(?:the\s+|its\s+)?(?:title|name|heading|header|headline)(?:\s+text)?(?:\s+(?:should\s+(?:say|read|be)|to\s+(?:say|read|be)|must\s+(?:say|read|be)|is\s+now|becomes?)|\s*[:=])\s*`),
		re(`\b(?:rename|retitle)\s+(?:(?:it|this|the\s+(?:[\w-]+\s+){0,3}?(?:app|page|site|list|project|title|heading|product|thing))\s+)?(?:to\s+|as\s+|into\s+)?`),
		re(`\b(?:call|name|title)\s+(?:it|this|the\s+(?:app|page|site))\s+(?:to\s+|as\s+)?`),
		re(`\b(?:called|named|titled|entitled)\s+`),
	}
	// titleWordRe tells that a quoted string in a later message is probably a title.
	titleWordRe = re(`\b(?:title|name|heading|header|headline|rename|retitle|call)\b`)

	forRe    = re(`\bfor\s+`)
	toVerbRe = re(`\bto\s+(?:keep\s+track\s+of|track|manage|organi[sz]e|plan|log|record|count|time|store|save|list|write\s+down|jot\s+down|remember|collect)\s+`)
	listRe   = re(`\b(grocery|groceries|shopping|packing|reading|bucket|wish|chores?|errands?|movies?|watch|gifts?|homework|study|holiday|travel|wedding|moving|party)[\s-]+lists?\b`)
	leadRe   = re(`^\s*(?:(?:my|our|your|the|a|an|all|of|his|her|their|some|tracking|keeping\s+track\s+of|managing|organi[sz]ing|planning|logging|recording|counting|timing|writing|jotting\s+down|taking|storing|saving|listing|collecting)\s+)+`)
	// Phrases after "for" that are not what the app is about.
	derivedReject = wordSet(`me us you myself ourselves everyone everybody people free fun now
		today mobile web desktop iphone android ios home work-from-home kids`)
	questionWords = wordSet(`how what when where who why which whether`)
	domainLikeRe  = re(`\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b`)
)

// findPhrase looks for the first match of any pattern in t and reads the phrase after
// it. It returns the phrase, whether it was quoted and the span of pattern and phrase.
func findPhrase(t *text, res []*regexp.Regexp, opts phraseOpts) (string, bool, int, int) {
	bestStart := -1
	var val string
	var quoted bool
	var end int
	for _, r := range res {
		for _, m := range r.FindAllStringIndex(t.s, -1) {
			v, e, q := phraseAt(t.s, m[1], opts)
			if strings.TrimSpace(v) == "" {
				continue
			}
			if bestStart < 0 || m[0] < bestStart {
				bestStart, val, quoted, end = m[0], v, q, e
			}
			break
		}
	}
	if bestStart < 0 {
		return "", false, 0, 0
	}
	return val, quoted, bestStart, end
}

// derivedTitle reads what the app is for from phrases such as "for my groceries", "to
// track my homework" or "a shopping list". It returns the subject in lower case as
// written, the title made from it and its span.
func derivedTitle(t *text, k kindID) (subject, title string, start, end int) {
	if k == kindTodo {
		if m := listRe.FindStringIndex(t.s); m != nil {
			phrase := strings.ToLower(t.s[m[0]:m[1]])
			phrase = strings.Join(strings.Fields(strings.ReplaceAll(phrase, "-", " ")), " ")
			if !strings.HasSuffix(phrase, "lists") {
				return phrase, titleCase(phrase), m[0], m[1]
			}
			return phrase, titleCase(strings.TrimSuffix(phrase, "s")), m[0], m[1]
		}
	}
	type cand struct{ start, valueAt int }
	var cands []cand
	for _, r := range []*regexp.Regexp{toVerbRe, forRe} {
		for _, m := range r.FindAllStringIndex(t.s, -1) {
			cands = append(cands, cand{m[0], m[1]})
		}
	}
	// Earliest first, so that the phrase nearest the app's description wins.
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && cands[j].start < cands[j-1].start; j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	for _, c := range cands {
		at := c.valueAt
		if lead := leadRe.FindStringIndex(t.s[at:]); lead != nil {
			at += lead[1]
		}
		v, e, quoted := phraseAt(t.s, at, derivedPhrase)
		if quoted || v == "" {
			continue
		}
		lower := strings.ToLower(v)
		first := strings.Fields(lower)[0]
		if derivedReject[lower] || questionWords[first] || domainLikeRe.MatchString(lower) ||
			strings.IndexFunc(lower, unicode.IsLetter) < 0 {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(first); unicode.IsDigit(r) {
			continue // "for 10 minutes", "for 1h 30m"
		}
		return lower, cleanTitle(v, false, maxTitleRunes), c.start, e
	}
	return "", "", 0, 0
}

// Colours.
var (
	hexRe    = re(`#(?:[0-9a-f]{6}|[0-9a-f]{3})\b`)
	colourRe = re(`\b(?:(?:dark|light|bright|deep|pale|pastel|soft|vivid|hot|sky)[\s-]+)?(` +
		colourWords + `)(?:[\s-]*(?:colou?r(?:ed)?|ish))?\b`)
	// A colour after these words is the one being replaced: "instead of blue".
	oldColourRe = re(`\b(?:from|not|instead\s+of|rather\s+than|than|replace|replacing|no\s+more|no\s+longer|except|but\s+not|away\s+from)\s+(?:(?:the|a|an|that|this|current|old|existing)\s+)*$`)
	// Colour words that are often something else ("gold medal", "black friday") count
	// only next to these.
	colourAfterRe  = re(`^[\s-]*(?:theme|accent|colou?rs?|scheme|palette|buttons?|style|look|tones?|highlights?|brand)\b`)
	colourBeforeRe = re(`\b(?:make\s+it|paint\s+it|turn\s+it|in|use|using|to|into|go|switch\s+to)\s+$`)
	ambiguous      = wordSet(`gold lime sky navy rose brown slate black`)
)

// findAccent reads the accent colour asked for in t, blanking every colour it sees. When
// several are named, the last one that is not being replaced wins ("change the blue to
// green" is green).
func findAccent(t *text) *accent {
	type hit struct {
		at int
		a  accent
	}
	var hits []hit
	for _, m := range hexRe.FindAllStringIndex(t.s, -1) {
		hex, _ := normaliseHex(t.s[m[0]:m[1]])
		if !oldColourRe.MatchString(t.s[max(0, m[0]-40):m[0]]) {
			hits = append(hits, hit{m[0], namedAccent(hex)})
		}
		t.mask(m[0], m[1])
	}
	for _, m := range colourRe.FindAllStringSubmatchIndex(t.s, -1) {
		word := strings.ToLower(t.s[m[2]:m[3]])
		before := t.s[max(0, m[0]-40):m[0]]
		counts := !ambiguous[word] || colourAfterRe.MatchString(t.s[m[1]:]) ||
			colourBeforeRe.MatchString(before)
		if counts {
			t.mask(m[0], m[1])
			if !oldColourRe.MatchString(before) {
				hits = append(hits, hit{m[0], palette[word]})
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	last := hits[0]
	for _, h := range hits[1:] {
		if h.at > last.at {
			last = h
		}
	}
	return &last.a
}

// Light and dark mode.
var (
	lightRe = re(`\b(?:light|day|bright)[\s-]*(?:mode|theme|background|look|version|scheme|ui|style)\b` +
		`|\b(?:disable|remove|turn\s+off|switch\s+off|no|without|not|stop|exit|leave|drop|get\s+rid\s+of|no\s+more)\s+(?:the\s+|using\s+)?dark(?:[\s-]*(?:mode|theme))?\b` +
		`|\bdark[\s-]*(?:mode|theme)\s+off\b|\bturn\s+(?:the\s+)?dark[\s-]*(?:mode|theme)\s+off\b` +
		`|\b(?:make|turn|switch|set|go|change)\s+(?:it\s+|this\s+|the\s+(?:app|page|site|theme)\s+)?(?:back\s+)?(?:to\s+|into\s+)?light(?:er)?\b` +
		`|\blight\s+again\b`)
	darkRe = re(`\b(?:dark|night|dim)[\s-]*(?:mode|theme|background|look|version|scheme|ui|style|colou?rs|themed)\b` +
		`|\bdarkmode\b` +
		`|\b(?:make|turn|switch|set|go|change)\s+(?:it\s+|this\s+|the\s+(?:app|page|site|theme)\s+)?(?:to\s+|into\s+)?dark(?:er)?\b` +
		`|\bdark(?:er)?\b`)
	oldModeRe = re(`\b(?:from|instead\s+of|rather\s+than|than|away\s+from)\s+(?:(?:the|a)\s+)?$`)
)

// findDark reads whether the message asks for dark mode (true) or light mode (false),
// blanking what it reads; nil when it says neither. Colours must be read first, so that
// "dark green" is a colour and not a theme.
func findDark(t *text) *bool {
	type hit struct {
		at   int
		dark bool
	}
	var hits []hit
	for _, r := range []struct {
		re   *regexp.Regexp
		dark bool
	}{{lightRe, false}, {darkRe, true}} {
		for _, m := range r.re.FindAllStringIndex(t.s, -1) {
			if !oldModeRe.MatchString(t.s[max(0, m[0]-30):m[0]]) {
				hits = append(hits, hit{m[0], r.dark})
			}
			t.mask(m[0], m[1])
		}
	}
	if len(hits) == 0 {
		return nil
	}
	last := hits[0]
	for _, h := range hits[1:] {
		if h.at > last.at {
			last = h
		}
	}
	return &last.dark
}

// Counter step and timer duration.
var (
	stepWordRe  = re(`\b(?:steps?\s+(?:size\s+)?(?:of\s+)?|increments?\s+of\s+|(?:counts?|counting|goes|go|increases?|increments?)\s+(?:up\s+)?by\s+|by\s+)(\d{1,4})s?\b`)
	durationRe  = re(`\b(\d{1,4}(?:\.\d+)?)[\s-]*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b`)
	pomodoroRe  = re(`\bpomodoros?\b`)
	stopwatchRe = re(`\bstop[\s-]*watch(?:es)?\b|\blap\s+timer\b|\belapsed\b`)
	countdownRe = re(`\bcount[\s-]*downs?\b`)
)

// findStep reads a counter step ("count by 5", "in steps of 10") and the spans it read.
func findStep(s string) (int, [][2]int) {
	m := stepWordRe.FindStringSubmatchIndex(s)
	if m == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(s[m[2]:m[3]])
	if err != nil || n < 1 || n > maxStep {
		return 0, nil
	}
	return n, [][2]int{{m[0], m[1]}}
}

// findSeconds reads a duration ("a 10 minute timer", "1h 30m") and the spans it read.
func findSeconds(s string) (int, [][2]int) {
	total := 0.0
	var spans [][2]int
	for _, m := range durationRe.FindAllStringSubmatchIndex(s, -1) {
		n, err := strconv.ParseFloat(s[m[2]:m[3]], 64)
		if err != nil {
			continue
		}
		switch unit := strings.ToLower(s[m[4]:m[5]]); {
		case strings.HasPrefix(unit, "h"):
			total += n * 3600
		case strings.HasPrefix(unit, "m"):
			total += n * 60
		default:
			total += n
		}
		spans = append(spans, [2]int{m[0], m[1]})
	}
	secs := int(total + 0.5)
	if secs < 1 || secs > maxSeconds {
		return 0, nil
	}
	return secs, spans
}

// fillers are words that carry no request of their own: courtesy, generic nouns,
// adjectives of taste, and the deploy talk the pipeline handles. What is left after
// everything understood and every filler is removed is a request the generator did not
// act on.
var fillers = wordSet(`
	a an the my our your his her their its it this that these those me us i we you i'd i'm
	i'll we'd we're you're let's lets please pls thanks thank cheers can could would will
	should shall might may do does did done don't dont be is are was were am been being
	have has had get got give make made build built create creating created generate set
	setup up start new simple basic nice beautiful modern clean minimal minimalist small
	little cool pretty good great quick fancy sleek elegant lovely awesome responsive
	friendly stylish professional polished tiny easy just really very some want wanted
	need needs like love with and or but also too then so for to of in on at by from as
	into onto about which who what where there here now today one single app apps
	application web website site tool thing something kind sort type version look looking
	style styled theme themed colour color colours colors coloured colored accent mode
	scheme palette background use using used hey hi hello ok okay yes sure quickly help
	myself all any every each own personal fully working functional real proper keep keeps
	track tracking manage managing organise organize add adding list lists stuff things
	items item everything mobile desktop browser react vite typescript deploy deployed
	deploying publish published host hosted hosting live online domain subdomain url https
	ssl dns launch put ship change changed changing switch switched turn turned instead
	rather than not no now again back enable disable on off please lot bit more less
	title name named called titled heading header text say says read reads rename call
	same same-looking main page pages please main whole entire everything rest else bright
	light dark mode tone shade button buttons brand primary secondary feel look prefer
	preferred would've let able
`)

// featureRe introduces a feature in a first message.
var featureRe = re(`\b(?:with|that|which|where|including|plus|and|has|have|can|should|lets?|allows?|also|but)\b`)

var wordRe = regexp.MustCompile(`[\p{L}\p{N}][\p{L}\p{N}'’-]*`)

// hasRest reports whether t still holds a word that asks for something.
func hasRest(t *text) bool {
	t.maskAll(domainLikeRe)
	for _, w := range wordRe.FindAllString(t.s, -1) {
		w = strings.ToLower(strings.TrimRight(w, "'’-"))
		w = strings.ReplaceAll(w, "’", "'")
		if len(w) <= 2 || fillers[w] {
			continue
		}
		if _, err := strconv.Atoi(w); err == nil {
			continue
		}
		return true
	}
	return false
}

// parseNew reads the first message of an app.
func parseNew(msg string) newIntent {
	var in newIntent
	t := newText(msg)

	tagline, tagQuoted, tagStart, tagEnd := findPhrase(t, taglineRes, taglinePhrase)
	if tagline != "" {
		t.mask(tagStart, tagEnd)
	}

	title, quoted, tStart, tEnd := findPhrase(t, newTitleRes, titlePhrase)
	if title == "" {
		if q, s, e, ok := findQuoted(t.s); ok {
			title, quoted, tStart, tEnd = q, true, s, e
		}
	}
	if title != "" {
		t.mask(tStart, tEnd)
		in.Title = cleanTitle(title, quoted, maxTitleRunes)
		// "called Nimbus, a cloud storage app for teams": the words after a landing
		// page's name describe it.
		if tagline == "" {
			if m := appositiveRe.FindStringSubmatchIndex(t.s[tEnd:]); m != nil && !colourNear(t.s[tEnd+m[2]:tEnd+m[3]]) {
				tagline, tagQuoted = t.s[tEnd+m[2]:tEnd+m[3]], false
				t.mask(tEnd+m[0], tEnd+m[1])
				tagline = sentence(tagline)
			}
		}
	}

	// Numbers are read before the kind, whose signals include "minutes".
	step, stepSpans := findStep(t.s)
	seconds, secondSpans := findSeconds(t.s)

	scored := t.clone()
	kind, score := detectKind(scored)
	if kind == "" {
		// The name may be the only hint: "an app called Todo".
		whole := newText(msg)
		if tagline != "" {
			whole.mask(tagStart, tagEnd)
		}
		kind, score = detectKind(whole)
	}
	in.Other = detectOther(scored)
	if in.Other != "" && score < strongKindScore {
		kind = ""
	}
	in.Kind = kind
	if kind == "" {
		return in
	}

	// What the app is for: "for my groceries" titles a todo list "Groceries" when no
	// title was given, and describes a landing page.
	subject, derived, dStart, dEnd := derivedTitle(t, kind)
	if derived != "" {
		if in.Title == "" {
			in.Title = derived
		}
		t.mask(dStart, dEnd)
		scored.mask(dStart, dEnd)
	}
	if kind == kindLanding {
		switch {
		case tagline != "":
			in.Tagline = cleanTitle(tagline, true, maxTagRunes)
			if !tagQuoted {
				in.Tagline = sentence(in.Tagline)
			}
		case subject != "" && in.Title != "" && !strings.EqualFold(subject, in.Title):
			in.Tagline = "The " + subject + " you've been looking for."
		}
	}

	// Colours, theme and parameters are read from what is left, so that a title such as
	// "Red Rock Cafe" is not read as a colour.
	in.Accent = findAccent(scored)
	in.Dark = findDark(scored)
	switch kind {
	case kindCounter:
		in.Step = step
		scored.maskSpans(stepSpans)
	case kindTimer:
		in.Seconds = seconds
		scored.maskSpans(secondSpans)
		if in.Seconds == 0 && pomodoroRe.MatchString(msg) {
			in.Seconds = 25 * 60
		}
		if stopwatchRe.MatchString(msg) && !countdownRe.MatchString(msg) && in.Seconds == 0 {
			in.Mode = modeStopwatch
		}
	}
	// Only words after one that introduces a feature ("with due dates", "that syncs")
	// count as a request not acted on; the rest of a first message describes the app.
	if m := featureRe.FindStringIndex(scored.s); m != nil {
		in.Rest = hasRest(&text{s: scored.s[m[1]:]})
	}
	return in
}

// appositiveRe reads ", a cloud storage app for teams" after a name.
var appositiveRe = re(`^\s*,\s*((?:an?|the)\s+[^,.;!?]{3,120})`)

// sentence capitalises s and ends it with a full stop unless it has its own.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}

// parseChange reads a later message.
func parseChange(msg string) changeIntent {
	var c changeIntent
	t := newText(msg)

	if v, quoted, s, e := findPhrase(t, taglineRes, taglinePhrase); v != "" {
		t.mask(s, e)
		tag := cleanTitle(v, true, maxTagRunes)
		if !quoted {
			tag = sentence(tag)
		}
		c.Tagline = &tag
	}
	v, quoted, s, e := findPhrase(t, changeTitleRes, titlePhrase)
	if v == "" && titleWordRe.MatchString(t.s) {
		if q, qs, qe, ok := findQuoted(t.s); ok {
			v, quoted, s, e = q, true, qs, qe
		}
	}
	if v != "" {
		t.mask(s, e)
		title := cleanTitle(v, quoted, maxTitleRunes)
		if title != "" {
			c.Title = &title
		}
	}
	c.Accent = findAccent(t)
	c.Dark = findDark(t)
	c.Rest = hasRest(t)
	return c
}
