package llmscript

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scenario is one scripted conversation: the request that selects it, the plan, and the
// answers of every write step, in order.
type Scenario struct {
	Name        string
	Description string
	// Request is the chat message a user types to select the scenario (documentation and
	// demos; matching uses the match rule, which defaults to this text).
	Request string
	// Base names the scenario whose final files this one starts from, for follow-ups such
	// as "add a search box"; empty for a new app. The server does not use it.
	Base string
	Plan Plan

	planFault  *Fault // served on the plan call before the plan, if set
	match      matcher
	rounds     [][]stepSpec // rounds[0]: the first attempt; rounds[r]: repair round r
	repeatLast bool
}

// Plan is the argument object of the submit_plan tool call.
type Plan struct {
	IsWebApp bool       `json:"is_web_app"`
	Reply    string     `json:"reply"`
	Title    string     `json:"title"`
	Summary  string     `json:"summary"`
	Files    []PlanFile `json:"files"`
}

// PlanFile is one file the plan will create, modify or delete.
type PlanFile struct {
	Path    string `json:"path"`
	Action  string `json:"action"`
	Purpose string `json:"purpose"`
}

// Answer is the model's answer at one step: text, tool calls, or both, and the fault
// served before it, if any.
type Answer struct {
	Content   string
	ToolCalls []ToolCall
	// FinishReason is "stop", "tool_calls" or "length".
	FinishReason string
	Fault        *Fault
}

// ToolCall is one tool call of an answer.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON text exactly as sent, invalid or cut short where the script
	// says so.
	Arguments string
}

// FaultKind names a fault the server can play before answering a step.
type FaultKind string

const (
	// FaultRateLimit answers 429 with a Retry-After header.
	FaultRateLimit FaultKind = "429"
	// FaultServerError answers 500.
	FaultServerError FaultKind = "500"
	// FaultSlow sends the step's answer with a pause before every chunk.
	FaultSlow FaultKind = "slow"
	// FaultDisconnect sends part of the answer and cuts the connection.
	FaultDisconnect FaultKind = "disconnect"
)

// Fault is played on the first Times requests for a step of one conversation; later
// requests for the same step get the answer normally. A fault is not a step: the step
// index of the conversation does not move.
type Fault struct {
	Kind FaultKind
	// Times is how many requests get the fault; at least 1.
	Times int
	// RetryAfter is the delay a 429 asks for (Retry-After header and message).
	RetryAfter time.Duration
	// Delay is the pause before each chunk of a slow answer.
	Delay time.Duration
	// CutAfter is how many chunks (streaming) or how many bytes of the body (not
	// streaming) a disconnect sends before cutting; 0 means half.
	CutAfter int
}

// clone copies f, so that callers cannot change the script.
func (f *Fault) clone() *Fault {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}

// Errors of Scenario.Answer.
var (
	// ErrNoStep is returned (wrapped) for a step or round the script does not have.
	ErrNoStep = errors.New("no such step")
)

// Rounds returns how many rounds the script has: the first attempt and its repair rounds.
func (sc *Scenario) Rounds() int { return len(sc.rounds) }

// Steps returns how many steps round r scripts (a scenario that repeats its last step
// answers any step past them too).
func (sc *Scenario) Steps(round int) int {
	if round < 0 || round >= len(sc.rounds) {
		return 0
	}
	return len(sc.rounds[round])
}

// RepeatsLast reports whether the scenario answers every step past its script with its
// last step, never finishing.
func (sc *Scenario) RepeatsLast() bool { return sc.repeatLast }

// Answer returns the answer of step (0-based) in round (0 for the first attempt, r for
// repair round r), with placeholders filled in.
func (sc *Scenario) Answer(round, step int) (Answer, error) {
	if round < 0 || round >= len(sc.rounds) {
		return Answer{}, fmt.Errorf("%w: scenario %q has no repair round %d (it scripts %d)", ErrNoStep, sc.Name, round, len(sc.rounds)-1)
	}
	steps := sc.rounds[round]
	i := step
	if step < 0 || step >= len(steps) {
		if !sc.repeatLast || step < 0 || len(steps) == 0 {
			return Answer{}, fmt.Errorf("%w: scenario %q has %d steps in round %d; the conversation is at step %d", ErrNoStep, sc.Name, len(steps), round, step)
		}
		i = len(steps) - 1
	}
	return steps[i].answer(sc.Name, round, step), nil
}

// matchIn finds the scenario's request in lowered, a lower-cased text: the first hit, as
// [start, end).
func (sc *Scenario) matchIn(lowered string) (start, end int, ok bool) { return sc.match.find(lowered) }

// PlanAnswer returns the plan as the arguments of a submit_plan tool call.
func (sc *Scenario) PlanAnswer() Answer {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	p := sc.Plan
	if p.Files == nil {
		p.Files = []PlanFile{}
	}
	if err := enc.Encode(p); err != nil {
		panic("llmscript: encode plan: " + err.Error()) // plain strings and bools
	}
	return Answer{
		ToolCalls: []ToolCall{{
			ID:        callID(sc.Name, "plan", 0),
			Name:      planTool,
			Arguments: strings.TrimSuffix(buf.String(), "\n"),
		}},
		FinishReason: "tool_calls",
		Fault:        sc.planFault.clone(),
	}
}

// planTool is the tool whose presence makes a request the plan call.
const planTool = "submit_plan"

// matcher is a case-insensitive substring or a regular expression.
type matcher struct {
	contains string // lower case
	re       *regexp.Regexp
}

// find returns the first hit of the rule in text, which is lower case (regular
// expressions are compiled case-insensitive, so they match it as they would the original).
func (m matcher) find(text string) (start, end int, ok bool) {
	if m.re != nil {
		loc := m.re.FindStringIndex(text)
		if loc == nil {
			return 0, 0, false
		}
		return loc[0], loc[1], true
	}
	if m.contains == "" {
		return 0, 0, false
	}
	i := strings.Index(text, m.contains)
	if i < 0 {
		return 0, 0, false
	}
	return i, i + len(m.contains), true
}

func (m matcher) String() string {
	if m.re != nil {
		return "regexp " + m.re.String()
	}
	return "contains " + strconv.Quote(m.contains)
}

// stepSpec is one scripted step as loaded, before placeholders are filled in.
type stepSpec struct {
	content      string
	calls        []callSpec
	finishReason string
	fault        *Fault
}

// callSpec is one scripted tool call.
type callSpec struct {
	name string
	// args are the top-level members of the arguments object in script order, so that
	// "path" comes before "content" as a model would write it; raw is used instead when
	// the script gives the arguments as raw text (malformed JSON on purpose).
	args          []argSpec
	raw           *string
	truncateAfter int
	repeat        int
}

type argSpec struct {
	key   string
	value json.RawMessage // encoded JSON value
	text  *string         // a string value given inline: placeholders are filled in
}

// Placeholders filled in inline string arguments (never in file contents): the step
// index and, in a repeated tool call, the repetition index.
const (
	stepPlaceholder   = "{{step}}"
	repeatPlaceholder = "{{i}}"
)

func (s stepSpec) answer(scenario string, round, step int) Answer {
	a := Answer{Content: s.content, Fault: s.fault.clone(), FinishReason: s.finishReason}
	n := 0
	for _, c := range s.calls {
		reps := max(c.repeat, 1)
		for i := range reps {
			a.ToolCalls = append(a.ToolCalls, ToolCall{
				ID:        callID(scenario, fmt.Sprintf("r%d.s%d", round, step), n),
				Name:      c.name,
				Arguments: c.arguments(step, i),
			})
			n++
		}
	}
	if a.FinishReason == "" {
		a.FinishReason = "stop"
		if len(a.ToolCalls) > 0 {
			a.FinishReason = "tool_calls"
		}
	}
	return a
}

func (c callSpec) arguments(step, i int) string {
	fill := strings.NewReplacer(stepPlaceholder, strconv.Itoa(step), repeatPlaceholder, strconv.Itoa(i))
	var out string
	if c.raw != nil {
		out = fill.Replace(*c.raw)
	} else {
		var b strings.Builder
		b.WriteByte('{')
		for j, a := range c.args {
			if j > 0 {
				b.WriteString(", ")
			}
			b.Write(encodeString(a.key))
			b.WriteString(": ")
			if a.text != nil {
				b.Write(encodeString(fill.Replace(*a.text)))
			} else {
				b.Write(a.value)
			}
		}
		b.WriteByte('}')
		out = b.String()
	}
	if c.truncateAfter > 0 && c.truncateAfter < len(out) {
		cut := c.truncateAfter
		for cut > 0 && !utf8Start(out[cut]) {
			cut--
		}
		out = out[:cut]
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// encodeString encodes s as a JSON string the way a model writes it: <, > and & as they
// are.
func encodeString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// callID is a stable tool call ID, so that a replayed conversation hashes the same.
func callID(scenario, at string, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", scenario, at, n))
	return "call_" + hex.EncodeToString(sum[:12])
}

// ScenarioFile is the name of the script in a scenario's folder.
const ScenarioFile = "scenario.json"

// LoadScenarios reads every <name>/scenario.json at the root of fsys, resolving the
// files its tool calls reference, and returns the scenarios sorted by name.
func LoadScenarios(fsys fs.FS) ([]Scenario, error) {
	paths, err := fs.Glob(fsys, "*/"+ScenarioFile)
	if err != nil {
		return nil, fmt.Errorf("llmscript: find scenarios: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("llmscript: no */%s found", ScenarioFile)
	}
	out := make([]Scenario, 0, len(paths))
	byName := make(map[string]bool, len(paths))
	for _, p := range paths {
		sc, err := loadScenario(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("llmscript: scenario %s: %w", p, err)
		}
		byName[sc.Name] = true
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for _, sc := range out {
		if sc.Base != "" && !byName[sc.Base] {
			return nil, fmt.Errorf("llmscript: scenario %s: base %q is not a scenario", sc.Name, sc.Base)
		}
	}
	return out, nil
}

// The JSON form of a scenario; see README.md.
type scenarioJSON struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Request     string       `json:"request"`
	Match       *matchJSON   `json:"match"`
	Base        string       `json:"base"`
	Plan        *Plan        `json:"plan"`
	PlanFault   *faultJSON   `json:"plan_fault"`
	Steps       []stepJSON   `json:"steps"`
	Repairs     [][]stepJSON `json:"repairs"`
	RepeatLast  bool         `json:"repeat_last"`
}

type matchJSON struct {
	Contains string `json:"contains"`
	Regexp   string `json:"regexp"`
}

type stepJSON struct {
	Note         string     `json:"note"`   // documentation only
	Repeat       int        `json:"repeat"` // the step fills this many step indices in a row
	Content      string     `json:"content"`
	ToolCalls    []callJSON `json:"tool_calls"`
	FinishReason string     `json:"finish_reason"`
	Fault        *faultJSON `json:"fault"`
}

type callJSON struct {
	Name          string          `json:"name"`
	Arguments     json.RawMessage `json:"arguments"`
	RawArguments  *string         `json:"raw_arguments"`
	TruncateAfter int             `json:"truncate_after"`
	Repeat        int             `json:"repeat"`
}

type faultJSON struct {
	Kind       FaultKind `json:"kind"`
	Times      int       `json:"times"`
	RetryAfter *duration `json:"retry_after"`
	Delay      *duration `json:"delay"`
	CutAfter   int       `json:"cut_after"`
}

// UnmarshalJSON takes a fault as an object or as its kind alone ("429").
func (f *faultJSON) UnmarshalJSON(b []byte) error {
	var kind string
	if err := json.Unmarshal(b, &kind); err == nil {
		*f = faultJSON{Kind: FaultKind(kind)}
		return nil
	}
	type plain faultJSON
	return strictUnmarshal(b, (*plain)(f))
}

// duration is a JSON number of seconds or a string: a number of seconds ("1", "1.5") or
// a Go duration ("250ms").
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var secs float64
	switch v := v.(type) {
	case float64:
		secs = v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			secs = f
		} else if dd, err := time.ParseDuration(v); err == nil {
			*d = duration(dd)
			return checkDuration(time.Duration(*d))
		} else {
			return fmt.Errorf("duration %q: want seconds or a duration such as 250ms", v)
		}
	default:
		return fmt.Errorf("duration %s: want seconds or a duration such as 250ms", b)
	}
	if math.IsNaN(secs) || secs < 0 || secs > 3600 {
		return fmt.Errorf("duration %s out of range", b)
	}
	*d = duration(time.Duration(secs * float64(time.Second)))
	return nil
}

func checkDuration(d time.Duration) error {
	if d < 0 || d > time.Hour {
		return fmt.Errorf("duration %s out of range", d)
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// Scenario names are folder names and appear in URLs of demos: keep them plain.
var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func loadScenario(fsys fs.FS, file string) (Scenario, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return Scenario{}, err
	}
	var j scenarioJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return Scenario{}, err
	}
	dir := path.Dir(file)
	if j.Name == "" {
		j.Name = dir
	}
	if j.Name != dir {
		return Scenario{}, fmt.Errorf("name %q differs from its folder %q", j.Name, dir)
	}
	if !nameRe.MatchString(j.Name) {
		return Scenario{}, fmt.Errorf("name %q: use lower-case letters, digits and dashes", j.Name)
	}
	sc := Scenario{Name: j.Name, Description: j.Description, Request: j.Request, Base: j.Base, repeatLast: j.RepeatLast}

	switch {
	case j.Match == nil || (j.Match.Contains == "" && j.Match.Regexp == ""):
		if strings.TrimSpace(j.Request) == "" {
			return Scenario{}, errors.New("needs a request or a match rule")
		}
		sc.match.contains = strings.ToLower(j.Request)
	case j.Match.Contains != "" && j.Match.Regexp != "":
		return Scenario{}, errors.New("match: give contains or regexp, not both")
	case j.Match.Regexp != "":
		re, err := regexp.Compile("(?i)" + j.Match.Regexp)
		if err != nil {
			return Scenario{}, fmt.Errorf("match: %w", err)
		}
		sc.match.re = re
	default:
		sc.match.contains = strings.ToLower(j.Match.Contains)
	}
	if j.Request != "" {
		if _, _, ok := sc.match.find(strings.ToLower(j.Request)); !ok {
			return Scenario{}, fmt.Errorf("its match rule (%s) does not match its own request %q", sc.match, j.Request)
		}
	}

	if j.Plan == nil {
		return Scenario{}, errors.New("needs a plan")
	}
	sc.Plan = *j.Plan
	for _, f := range sc.Plan.Files {
		switch f.Action {
		case "create", "modify", "delete":
		default:
			return Scenario{}, fmt.Errorf("plan: %s: action %q is not create, modify or delete", f.Path, f.Action)
		}
	}
	if sc.planFault, err = j.PlanFault.resolve(); err != nil {
		return Scenario{}, fmt.Errorf("plan_fault: %w", err)
	}
	if !sc.Plan.IsWebApp && (len(j.Steps) > 0 || len(j.Repairs) > 0) {
		return Scenario{}, errors.New("a plan that is not a web app has no steps")
	}
	if sc.Plan.IsWebApp && len(j.Steps) == 0 {
		return Scenario{}, errors.New("a web app needs steps")
	}
	if j.RepeatLast && len(j.Repairs) > 0 {
		return Scenario{}, errors.New("repeat_last and repairs do not go together: the first round never ends")
	}

	for r, steps := range append([][]stepJSON{j.Steps}, j.Repairs...) {
		if r > 0 && len(steps) == 0 {
			return Scenario{}, fmt.Errorf("repair round %d has no steps", r)
		}
		round := make([]stepSpec, 0, len(steps))
		for i, s := range steps {
			spec, err := s.resolve(fsys, dir)
			if err != nil {
				return Scenario{}, fmt.Errorf("round %d step %d: %w", r, i, err)
			}
			if s.Repeat < 0 || s.Repeat > 1000 {
				return Scenario{}, fmt.Errorf("round %d step %d: repeat %d is not between 0 and 1000", r, i, s.Repeat)
			}
			for range max(s.Repeat, 1) {
				round = append(round, spec)
			}
		}
		sc.rounds = append(sc.rounds, round)
	}
	return sc, nil
}

func (f *faultJSON) resolve() (*Fault, error) {
	if f == nil {
		return nil, nil
	}
	out := &Fault{Kind: f.Kind, Times: f.Times, CutAfter: f.CutAfter}
	switch f.Kind {
	case FaultRateLimit:
		out.RetryAfter = time.Second
		if f.RetryAfter != nil {
			out.RetryAfter = time.Duration(*f.RetryAfter)
		}
	case FaultSlow:
		out.Delay = 100 * time.Millisecond
		if f.Delay != nil {
			out.Delay = time.Duration(*f.Delay)
		}
	case FaultServerError, FaultDisconnect:
	default:
		return nil, fmt.Errorf("kind %q is not 429, 500, slow or disconnect", f.Kind)
	}
	if f.RetryAfter != nil && f.Kind != FaultRateLimit {
		return nil, errors.New("retry_after goes with kind 429")
	}
	if f.Delay != nil && f.Kind != FaultSlow {
		return nil, errors.New("delay goes with kind slow")
	}
	if f.CutAfter != 0 && f.Kind != FaultDisconnect {
		return nil, errors.New("cut_after goes with kind disconnect")
	}
	if out.Times < 0 || out.CutAfter < 0 {
		return nil, errors.New("times and cut_after cannot be negative")
	}
	if out.Times == 0 {
		out.Times = 1
	}
	return out, nil
}

func (s stepJSON) resolve(fsys fs.FS, dir string) (stepSpec, error) {
	fault, err := s.Fault.resolve()
	if err != nil {
		return stepSpec{}, fmt.Errorf("fault: %w", err)
	}
	spec := stepSpec{content: s.Content, finishReason: s.FinishReason, fault: fault}
	switch s.FinishReason {
	case "", "stop", "tool_calls", "length":
	default:
		return stepSpec{}, fmt.Errorf("finish_reason %q is not stop, tool_calls or length", s.FinishReason)
	}
	if s.Content == "" && len(s.ToolCalls) == 0 {
		return stepSpec{}, errors.New("needs content or tool_calls")
	}
	for i, c := range s.ToolCalls {
		call, err := c.resolve(fsys, dir)
		if err != nil {
			return stepSpec{}, fmt.Errorf("tool call %d (%s): %w", i, c.Name, err)
		}
		spec.calls = append(spec.calls, call)
	}
	return spec, nil
}

func (c callJSON) resolve(fsys fs.FS, dir string) (callSpec, error) {
	if c.Name == "" {
		return callSpec{}, errors.New("needs a name")
	}
	if c.Repeat < 0 || c.Repeat > 10000 || c.TruncateAfter < 0 {
		return callSpec{}, errors.New("repeat (at most 10000) and truncate_after cannot be negative")
	}
	spec := callSpec{name: c.Name, raw: c.RawArguments, truncateAfter: c.TruncateAfter, repeat: c.Repeat}
	if c.RawArguments != nil {
		if len(c.Arguments) > 0 {
			return callSpec{}, errors.New("give arguments or raw_arguments, not both")
		}
		return spec, nil
	}
	if len(c.Arguments) == 0 {
		c.Arguments = json.RawMessage("{}")
	}
	args, err := orderedMembers(c.Arguments)
	if err != nil {
		return callSpec{}, fmt.Errorf("arguments: %w", err)
	}
	for _, a := range args {
		if f, ok := fileRef(a.value); ok {
			p := path.Join(dir, f)
			if !fs.ValidPath(p) {
				return callSpec{}, fmt.Errorf("arguments.%s: $file %q leaves the scenario folders", a.key, f)
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return callSpec{}, fmt.Errorf("arguments.%s: %w", a.key, err)
			}
			a.value = encodeString(string(b)) // file contents are never filled in
		} else if a.value[0] == '"' {
			var s string
			if err := json.Unmarshal(a.value, &s); err != nil {
				return callSpec{}, fmt.Errorf("arguments.%s: %w", a.key, err)
			}
			a.text = &s
		}
		spec.args = append(spec.args, a)
	}
	return spec, nil
}

// fileRef recognises {"$file": "relative/path"}: an argument whose value is the text of
// a file of the scenario folder (or, through "..", of another scenario's).
func fileRef(v json.RawMessage) (string, bool) {
	if len(v) == 0 || v[0] != '{' {
		return "", false
	}
	var ref map[string]string
	if err := json.Unmarshal(v, &ref); err != nil || len(ref) != 1 || ref["$file"] == "" {
		return "", false
	}
	return ref["$file"], true
}

// orderedMembers splits a JSON object into its members, keeping their order.
func orderedMembers(obj json.RawMessage) ([]argSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var out []argSpec
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return nil, fmt.Errorf("%q appears twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, argSpec{key: key, value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}
