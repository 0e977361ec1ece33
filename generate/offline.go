package generate

import (
	"context"
	"fmt"
	"strings"

	"github.com/appforge/appforge/files"
)

// Offline makes apps from built-in templates with no language model: the generator used
// when no LLM is configured. It reads the message with keyword rules, so it makes a few
// kinds of app (todo list, notes, counter, timer, landing page) and changes only their
// title, tagline, accent colour and light or dark mode; for anything else it says so
// and names the LLM setting that enables it. It is deterministic and safe for
// concurrent use.
type Offline struct{}

// NewOffline returns the offline generator.
func NewOffline() *Offline { return &Offline{} }

var _ Generator = (*Offline)(nil)

// Name implements Generator.
func (*Offline) Name() string { return "offline generator" }

// Describe names the generator inside a sentence (see generate.Describe).
func (*Offline) Describe() string { return "the offline generator" }

// llmHint ends every reply about something the offline generator cannot do.
const llmHint = "To build anything else, configure an LLM by setting OPENAI_API_KEY."

// Plan implements Generator. A message it cannot act on gives a plan with Supported
// false and a Reply that says why; only an empty message or a cancelled ctx is an error.
func (o *Offline) Plan(ctx context.Context, req Request) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	msg := strings.TrimSpace(req.Message)
	if msg == "" {
		return Plan{}, fmt.Errorf("%w: empty message", ErrInvalidRequest)
	}
	if len(req.Base) == 0 {
		return planNew(msg)
	}
	return planChange(req, msg)
}

// Generate implements Generator. It makes the files the plan describes: for a new app the
// template with the kind's files, for a change the base with only the planned files
// edited. progress, when not nil, is called once per file written.
func (o *Offline) Generate(ctx context.Context, req Request, plan Plan, progress func(Progress)) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if strings.TrimSpace(req.Message) == "" {
		return Result{}, fmt.Errorf("%w: empty message", ErrInvalidRequest)
	}
	if len(plan.State) == 0 {
		// A plan from elsewhere, or one whose state was lost: plan again.
		p, err := o.Plan(ctx, req)
		if err != nil {
			return Result{}, err
		}
		plan = p
	}
	if !plan.Supported {
		return Result{}, fmt.Errorf("%w: the offline generator cannot make this change: %s",
			ErrInvalidRequest, plan.Reply)
	}
	target, err := decodeState(plan.State)
	if err != nil {
		return Result{}, fmt.Errorf("%w: plan state: %v", ErrInvalidRequest, err)
	}
	if progress == nil {
		progress = func(Progress) {}
	}

	var out []files.File
	var written []Change
	if len(req.Base) == 0 {
		out, err = render(target)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
		}
		for _, f := range out {
			written = append(written, Change{Path: f.Path, Action: Create})
		}
	} else {
		cur := currentState(req)
		var changed []string
		out, changed = applyState(req.Base, cur, target)
		if len(changed) == 0 {
			return Result{}, fmt.Errorf("%w: the plan changes no file of the base version", ErrInvalidRequest)
		}
		for _, p := range changed {
			written = append(written, Change{Path: p, Action: Modify})
		}
	}
	for _, c := range written {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		f, _ := files.Find(out, c.Path)
		progress(Progress{Path: c.Path, Action: c.Action, Bytes: len(f.Content)})
	}
	return Result{Files: out, Summary: plan.Summary, State: target.encode()}, nil
}

// planNew plans the first version of an app.
func planNew(msg string) (Plan, error) {
	in := parseNew(msg)
	if in.Kind == "" {
		reply := "The offline generator could not tell which app to make from that."
		if in.Other != "" {
			reply = "The offline generator has no template for " + in.Other + "."
		}
		reply += " Without an LLM it can make a todo list, a notes app, a counter, a timer " +
			"(countdown or stopwatch) or a landing page, for example \"Create a todo app for my " +
			"groceries with a green theme\". " + llmHint
		return Plan{Supported: false, Reply: reply, Summary: "Offline generator: no app made."}, nil
	}
	st := stateFor(in)
	fs, err := render(st)
	if err != nil {
		return Plan{}, fmt.Errorf("render %s: %w", st.Kind, err)
	}
	changes := make([]Change, 0, len(fs))
	for _, f := range fs {
		changes = append(changes, Change{Path: f.Path, Action: Create})
	}
	return Plan{
		Supported: true,
		Summary:   describeNew(st, in),
		Title:     st.Title,
		Changes:   changes,
		State:     st.encode(),
	}, nil
}

// stateFor turns what was read from the first message into the app's state.
func stateFor(in newIntent) appState {
	k, _ := kindByID(in.Kind)
	s := appState{
		Generator: stateGenerator,
		Version:   stateVersion,
		Kind:      k.ID,
		Title:     in.Title,
		Accent:    defaultAccent.Hex,
		Dark:      in.Dark != nil && *in.Dark,
	}
	if s.Title == "" {
		s.Title = k.DefaultTitle
	}
	if in.Accent != nil {
		s.Accent, s.AccentName = in.Accent.Hex, in.Accent.Name
	} else {
		s.AccentName = defaultAccent.Name
	}
	switch k.ID {
	case kindLanding:
		s.Tagline = in.Tagline
		if s.Tagline == "" {
			s.Tagline = "Simple, dependable and made for you."
		}
	case kindCounter:
		s.Step = in.Step
		if s.Step == 0 {
			s.Step = defaultStep
		}
	case kindTimer:
		s.Mode, s.Seconds = in.Mode, in.Seconds
		if s.Mode == "" {
			s.Mode = modeCountdown
		}
		if s.Seconds == 0 {
			s.Seconds = defaultSeconds
		}
	}
	return s
}

// describeNew is the summary of a new app: what the offline generator made, with what.
func describeNew(s appState, in newIntent) string {
	k, _ := kindByID(s.Kind)
	var b strings.Builder
	b.WriteString("Offline generator: ")
	b.WriteString(article(k.Label) + " " + k.Label)
	if s.Kind == kindLanding {
		fmt.Fprintf(&b, " for %q", s.Title)
	} else {
		fmt.Fprintf(&b, " titled %q", s.Title)
	}
	b.WriteString(" with " + accentPhrase(s.accent()))
	if s.Dark {
		b.WriteString(", in dark mode")
	}
	b.WriteString(". ")
	if s.Kind == kindLanding {
		fmt.Fprintf(&b, "Tagline: %q", s.Tagline)
		if !strings.ContainsAny(s.Tagline[len(s.Tagline)-1:], ".!?") {
			b.WriteString(".")
		}
		b.WriteString(" ")
	}
	b.WriteString(k.Does)
	switch s.Kind {
	case kindCounter:
		if s.Step != 1 {
			fmt.Fprintf(&b, " It counts in steps of %d.", s.Step)
		}
	case kindTimer:
		if s.Mode == modeStopwatch {
			b.WriteString(" It opens on the stopwatch.")
		} else {
			fmt.Fprintf(&b, " The countdown starts at %s.", spokenDuration(s.Seconds))
		}
	}
	switch {
	case in.Other != "":
		fmt.Fprintf(&b, " This is the closest template the offline generator has; %s needs an LLM (set OPENAI_API_KEY).", in.Other)
	case in.Rest:
		b.WriteString(" The offline generator builds this from its standard template, so other " +
			"details in your message were not applied; an LLM (set OPENAI_API_KEY) can do those.")
	}
	return b.String()
}

// accentPhrase says "a green accent" or "the accent colour #ff8800".
func accentPhrase(a accent) string {
	if a.Name == "" {
		return "the accent colour " + a.Hex
	}
	return article(a.Name) + " " + a.Name + " accent"
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

func spokenDuration(seconds int) string {
	h, m, s := seconds/3600, seconds%3600/60, seconds%60
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{h, "hour"}, {m, "minute"}, {s, "second"}} {
		switch {
		case p.n == 1:
			parts = append(parts, "1 "+p.unit)
		case p.n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", p.n, p.unit))
		}
	}
	return strings.Join(parts, " ")
}

// currentState is the state of the base version: the stored state when it is the
// offline generator's, corrected by what the files show (they are what is live), or
// read from the files alone when the state is missing or unreadable.
func currentState(req Request) appState {
	fromFiles := stateFromFiles(req.Base)
	s, err := decodeState(req.BaseState)
	if err != nil {
		return fromFiles
	}
	if fromFiles.Title != "" {
		s.Title = fromFiles.Title
	}
	if fromFiles.Accent != s.Accent {
		s.Accent, s.AccentName = fromFiles.Accent, fromFiles.AccentName
	}
	s.Dark = fromFiles.Dark
	if fromFiles.Tagline != "" {
		s.Tagline = fromFiles.Tagline
	}
	return s
}

// applyState edits base from state cur to state target, field by field, and returns the
// complete new file set and the paths that changed, sorted.
func applyState(base []files.File, cur, target appState) ([]files.File, []string) {
	set := newFileSet(base)
	if target.Title != cur.Title {
		applyTitle(set, cur.Title, target.Title)
	}
	if target.Tagline != cur.Tagline {
		applyTagline(set, target.Tagline)
	}
	if _, ok := normaliseHex(target.Accent); ok && target.Accent != cur.Accent {
		applyAccent(set, target.accent())
	}
	if target.Dark != cur.Dark {
		applyDark(set, target.Dark)
	}
	out := set.files()
	var changed []string
	for _, f := range out {
		old, ok := files.Find(base, f.Path)
		if !ok || string(old.Content) != string(f.Content) {
			changed = append(changed, f.Path)
		}
	}
	return out, changed
}

// planChange plans a change to an existing app.
func planChange(req Request, msg string) (Plan, error) {
	cur := currentState(req)
	c := parseChange(msg)
	if !c.any() {
		return Plan{Supported: false, Reply: cannotChangeReply(cur), Summary: "Offline generator: no change made."}, nil
	}

	target := cur
	var done, already, failed []string
	// try applies one requested change on its own, to tell a change that does something
	// from one that is already so or cannot be made to this app's files.
	try := func(next appState, did, was, cannot string) {
		if sameLook(next, target) {
			already = append(already, was)
			return
		}
		if _, changed := applyState(req.Base, target, next); len(changed) == 0 {
			failed = append(failed, cannot)
			return
		}
		target = next
		done = append(done, did)
	}
	if c.Title != nil {
		next := target
		next.Title = *c.Title
		noun := "title"
		if cur.Kind == kindLanding {
			noun = "name"
		}
		try(next,
			fmt.Sprintf("changed the %s to %q", noun, *c.Title),
			fmt.Sprintf("the %s is already %q", noun, *c.Title),
			"the title (this app has no <title> in index.html to change)")
	}
	if c.Tagline != nil {
		next := target
		next.Tagline = *c.Tagline
		try(next,
			fmt.Sprintf("changed the tagline to %q", *c.Tagline),
			fmt.Sprintf("the tagline already says %q", *c.Tagline),
			"the tagline (only the offline generator's landing pages have one)")
	}
	if c.Accent != nil {
		next := target
		next.Accent, next.AccentName = c.Accent.Hex, c.Accent.Name
		try(next,
			"made the accent colour "+c.Accent.String(),
			"the accent is already "+c.Accent.String(),
			"the accent colour (src/index.css has no --accent variable)")
	}
	if c.Dark != nil {
		next := target
		next.Dark = *c.Dark
		did, was := "switched to dark mode", "dark mode is already on"
		if !*c.Dark {
			did, was = "switched to light mode", "the app is already in light mode"
		}
		try(next, did, was, "the theme (index.html has no <html> element)")
	}

	if len(done) == 0 {
		var parts []string
		if len(already) > 0 {
			if !c.Rest && len(failed) == 0 {
				parts = append(parts, "Nothing to change: "+joinAnd(already)+".")
			} else {
				parts = append(parts, sentence(joinAnd(already)))
			}
		}
		if len(failed) > 0 {
			parts = append(parts, "The offline generator cannot change "+joinAnd(failed)+".")
		}
		if c.Rest {
			parts = append(parts, "The offline generator cannot make the rest of that change.")
		}
		if c.Rest || len(failed) > 0 {
			parts = append(parts, capabilities(cur))
		}
		return Plan{Supported: false, Reply: strings.Join(parts, " "), Summary: "Offline generator: no change made."}, nil
	}

	_, changed := applyState(req.Base, cur, target)
	changes := make([]Change, 0, len(changed))
	for _, p := range changed {
		changes = append(changes, Change{Path: p, Action: Modify})
	}
	summary := "Offline generator: " + joinAnd(done) + "."
	if len(already) > 0 {
		summary += " " + sentence(joinAnd(already))
	}
	if len(failed) > 0 {
		summary += " It could not change " + joinAnd(failed) + "."
	}
	if c.Rest {
		summary += " Anything else in your message was not applied: the offline generator can " +
			"only change the title, accent colour and light or dark mode; an LLM (set " +
			"OPENAI_API_KEY) can do the rest."
	}
	return Plan{
		Supported: true,
		Summary:   summary,
		Title:     target.Title,
		Changes:   changes,
		State:     target.encode(),
	}, nil
}

// sameLook reports whether two states make the same files: the accent's name is only a
// word for the reply.
func sameLook(a, b appState) bool {
	a.AccentName, b.AccentName = "", ""
	return a == b
}

// cannotChangeReply answers a message that asks for no change the offline generator
// can make.
func cannotChangeReply(cur appState) string {
	return "The offline generator cannot make that change. " + capabilities(cur)
}

// capabilities says what the offline generator can change in this app, and what enables
// the rest.
func capabilities(cur appState) string {
	can := "this app's title (\"rename it to My Tasks\"), accent colour (\"make it green\" or " +
		"\"use #0ea5e9 as the accent\") and light or dark mode (\"switch to dark mode\")"
	if cur.Kind == kindLanding {
		can = "this landing page's name (\"rename it to Nimbus\"), tagline (\"change the " +
			"tagline to Storage that just works\"), accent colour (\"make it green\" or \"use " +
			"#0ea5e9 as the accent\") and light or dark mode (\"switch to dark mode\")"
	}
	return "Without an LLM it can change " + can + ". To add pages, features or anything else, " +
		"configure an LLM by setting OPENAI_API_KEY."
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
