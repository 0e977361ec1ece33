package generate

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/appforge/appforge/files"
)

// kindID names an app kind the offline generator makes.
type kindID string

const (
	kindTodo    kindID = "todo"
	kindNotes   kindID = "notes"
	kindCounter kindID = "counter"
	kindTimer   kindID = "timer"
	kindLanding kindID = "landing"
)

// kind describes one app the offline generator can make. Its files live in
// kinds/<id>/ (copied as they are) plus the named files of kinds/shared/; src/config.ts
// is written from the app's state.
type kind struct {
	ID           kindID
	Label        string // "todo list app", used in summaries
	DefaultTitle string
	Shared       []string
	// Marker is a file only this kind writes: how a kind is recognised from files alone.
	Marker string
	// Does says what the app does, one sentence for the summary.
	Does string
}

// kinds in tie-break order: when two kinds score the same, the earlier wins.
var kinds = []kind{
	{
		ID: kindTodo, Label: "todo list app", DefaultTitle: "Todo List",
		Shared: []string{"src/hooks/useLocalStorage.ts", "src/id.ts"},
		Marker: "src/components/TodoItem.tsx",
		Does: "Add tasks, tick them off, delete them, filter all, active or done tasks and see " +
			"how many are left; tasks are saved in the browser (localStorage).",
	},
	{
		ID: kindNotes, Label: "notes app", DefaultTitle: "Notes",
		Shared: []string{"src/hooks/useLocalStorage.ts", "src/id.ts"},
		Marker: "src/components/NoteEditor.tsx",
		Does: "Create, edit, search and delete notes; notes are saved in the browser " +
			"(localStorage).",
	},
	{
		ID: kindTimer, Label: "timer app", DefaultTitle: "Timer",
		Marker: "src/components/TimeDisplay.tsx",
		Does:   "A countdown with presets and a stopwatch with laps; start, pause and reset.",
	},
	{
		ID: kindCounter, Label: "counter app", DefaultTitle: "Counter",
		Shared: []string{"src/hooks/useLocalStorage.ts"},
		Marker: "src/components/CounterControls.tsx",
		Does: "Count up and down with an adjustable step, reset, and use the keyboard; the " +
			"count is saved in the browser (localStorage).",
	},
	{
		ID: kindLanding, Label: "landing page", DefaultTitle: "Your Product",
		Marker: "src/components/Hero.tsx",
		Does: "A navigation bar, a hero with a call to action, three feature cards, an email " +
			"sign-up section and a footer.",
	},
}

func kindByID(id kindID) (kind, bool) {
	for _, k := range kinds {
		if k.ID == id {
			return k, true
		}
	}
	return kind{}, false
}

//go:embed all:kinds
var kindsFS embed.FS

// Paths of the files the offline generator edits in place on later turns.
const (
	indexHTMLPath = "index.html"
	indexCSSPath  = "src/index.css"
	configPath    = "src/config.ts"
	faviconPath   = "public/favicon.svg"
)

// Timer modes, as written to src/config.ts.
const (
	modeCountdown = "countdown"
	modeStopwatch = "stopwatch"
)

// Defaults and bounds of the kind parameters.
const (
	defaultStep    = 1
	maxStep        = 1000
	defaultSeconds = 5 * 60
	maxSeconds     = 24*60*60 - 1
	maxTitleRunes  = 60
	maxTagRunes    = 140
)

// stateGenerator and stateVersion mark the offline generator's state in Plan.State and
// Result.State; a state without them is someone else's.
const (
	stateGenerator = "offline"
	stateVersion   = 1
)

// appState is everything the offline generator needs to remake or change an app. It is
// stored as JSON with each version and comes back as Request.BaseState.
type appState struct {
	Generator string `json:"generator"`
	Version   int    `json:"version"`
	// Kind is empty when the app was not made by the offline generator (its state was
	// derived from the files).
	Kind       kindID `json:"kind,omitempty"`
	Title      string `json:"title"`
	Tagline    string `json:"tagline,omitempty"` // landing page
	Accent     string `json:"accent"`            // "#rrggbb"; empty if the files have none
	AccentName string `json:"accent_name,omitempty"`
	Dark       bool   `json:"dark"`
	Step       int    `json:"step,omitempty"`    // counter
	Mode       string `json:"mode,omitempty"`    // timer: "countdown" or "stopwatch"
	Seconds    int    `json:"seconds,omitempty"` // timer: countdown length
}

func (s appState) accent() accent {
	return accent{Hex: s.Accent, Name: s.AccentName}
}

func (s appState) encode() json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		panic("generate: encode offline state: " + err.Error())
	}
	return b
}

var errBadState = errors.New("not an offline generator state")

// decodeState reads and checks a stored state.
func decodeState(raw json.RawMessage) (appState, error) {
	var s appState
	if len(raw) == 0 {
		return s, fmt.Errorf("%w: empty", errBadState)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("%w: %v", errBadState, err)
	}
	if s.Generator != stateGenerator || s.Version != stateVersion {
		return s, fmt.Errorf("%w: generator %q version %d", errBadState, s.Generator, s.Version)
	}
	// Empty when the app's files have no accent the offline generator can read.
	if _, ok := normaliseHex(s.Accent); !ok && s.Accent != "" {
		return s, fmt.Errorf("%w: accent %q", errBadState, s.Accent)
	}
	if _, ok := kindByID(s.Kind); !ok && s.Kind != "" {
		return s, fmt.Errorf("%w: kind %q", errBadState, s.Kind)
	}
	return s, nil
}

// checkParams checks what render relies on for kind k. A state read back for a change
// need not pass: a change edits the files that are there.
func (s appState) checkParams(k kind) error {
	if strings.TrimSpace(s.Title) == "" {
		return fmt.Errorf("%w: empty title", errBadState)
	}
	switch k.ID {
	case kindCounter:
		if s.Step < 1 || s.Step > maxStep {
			return fmt.Errorf("%w: step %d", errBadState, s.Step)
		}
	case kindTimer:
		if s.Mode != modeCountdown && s.Mode != modeStopwatch {
			return fmt.Errorf("%w: timer mode %q", errBadState, s.Mode)
		}
		if s.Seconds < 1 || s.Seconds > maxSeconds {
			return fmt.Errorf("%w: timer seconds %d", errBadState, s.Seconds)
		}
	case kindLanding:
		if strings.TrimSpace(s.Tagline) == "" {
			return fmt.Errorf("%w: empty tagline", errBadState)
		}
	}
	return nil
}

// render returns the complete file set of a new app in state s: the template, the kind's
// files and its config, with title, accent and theme applied.
func render(s appState) ([]files.File, error) {
	k, ok := kindByID(s.Kind)
	if !ok {
		return nil, fmt.Errorf("%w: kind %q", errBadState, s.Kind)
	}
	if err := s.checkParams(k); err != nil {
		return nil, err
	}
	if _, ok := normaliseHex(s.Accent); !ok {
		return nil, fmt.Errorf("%w: accent %q", errBadState, s.Accent)
	}
	overlay, err := kindFiles(k)
	if err != nil {
		return nil, err
	}
	overlay = append(overlay, files.File{Path: configPath, Content: configTS(s)})
	set := newFileSet(files.Merge(Template(), overlay))
	// The same edits that change an app later make it now, so that a version made in one
	// step and one changed into the same state are byte-identical.
	applyTitle(set, "", s.Title)
	applyAccent(set, s.accent())
	applyDark(set, s.Dark)
	return set.files(), nil
}

// kindFiles reads the kind's own files and the shared files it uses.
func kindFiles(k kind) ([]files.File, error) {
	var out []files.File
	root := path.Join("kinds", string(k.ID))
	err := fs.WalkDir(kindsFS, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := kindsFS.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, files.File{Path: strings.TrimPrefix(p, root+"/"), Content: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s files: %w", k.ID, err)
	}
	for _, p := range k.Shared {
		b, err := kindsFS.ReadFile(path.Join("kinds", "shared", p))
		if err != nil {
			return nil, fmt.Errorf("read shared file %s: %w", p, err)
		}
		out = append(out, files.File{Path: p, Content: b})
	}
	return out, nil
}

// configTS writes src/config.ts: the settings the kind's components import.
func configTS(s appState) []byte {
	var b strings.Builder
	b.WriteString("// Settings written by appforge's offline generator.\n")
	if s.Kind == kindTimer {
		b.WriteString("import type { Mode } from './types'\n")
	}
	b.WriteString("\n")
	b.WriteString("export const title = " + tsString(s.Title) + "\n")
	switch s.Kind {
	case kindLanding:
		b.WriteString("export const tagline = " + tsString(s.Tagline) + "\n")
	case kindCounter:
		b.WriteString("export const defaultStep = " + strconv.Itoa(s.Step) + "\n")
	case kindTimer:
		b.WriteString("export const defaultMode: Mode = " + tsString(s.Mode) + "\n")
		b.WriteString("export const defaultSeconds = " + strconv.Itoa(s.Seconds) + "\n")
	}
	return []byte(b.String())
}

// tsString quotes s as a TypeScript string literal (a JSON string is one).
func tsString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic("generate: quote string: " + err.Error())
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// fileSet is a file set being edited, by path.
type fileSet struct {
	byPath map[string][]byte
}

func newFileSet(fs []files.File) *fileSet {
	s := &fileSet{byPath: make(map[string][]byte, len(fs))}
	for _, f := range fs {
		s.byPath[f.Path] = f.Content
	}
	return s
}

func (s *fileSet) get(p string) ([]byte, bool) {
	b, ok := s.byPath[p]
	return b, ok
}

// set replaces the content at an existing or new path.
func (s *fileSet) set(p string, b []byte) {
	s.byPath[p] = b
}

func (s *fileSet) files() []files.File {
	out := make([]files.File, 0, len(s.byPath))
	for p, b := range s.byPath {
		out = append(out, files.File{Path: p, Content: b})
	}
	return files.Sort(out)
}

// replaceFirst replaces the first match of re in b, expanding template against it.
func replaceFirst(re *regexp.Regexp, b []byte, template string) ([]byte, bool) {
	m := re.FindSubmatchIndex(b)
	if m == nil {
		return b, false
	}
	var out []byte
	out = append(out, b[:m[0]]...)
	out = re.Expand(out, []byte(template), b, m)
	out = append(out, b[m[1]:]...)
	return out, true
}

var (
	titleTagRe    = regexp.MustCompile(`(?s)<title>(.*?)</title>`)
	titleConstRe  = regexp.MustCompile(`(?m)^export const title = .*$`)
	taglineRe     = regexp.MustCompile(`(?m)^export const tagline = (.*)$`)
	stepRe        = regexp.MustCompile(`(?m)^export const defaultStep = (\d+)$`)
	modeRe        = regexp.MustCompile(`(?m)^export const defaultMode: Mode = "(countdown|stopwatch)"$`)
	secondsRe     = regexp.MustCompile(`(?m)^export const defaultSeconds = (\d+)$`)
	htmlTagRe     = regexp.MustCompile(`<html\b[^>]*>`)
	dataThemeRe   = regexp.MustCompile(`\s+data-theme=("[^"]*"|'[^']*')`)
	darkThemeRe   = regexp.MustCompile(`<html\b[^>]*\sdata-theme=["']dark["']`)
	accentVarRe   = regexp.MustCompile(`(--accent:\s*)([^;]+);`)
	contrastVarRe = regexp.MustCompile(`(--accent-contrast:\s*)([^;]+);`)
	faviconRe     = regexp.MustCompile(`^<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="(#[0-9a-fA-F]{3,6})"/><path d="M9 22 16 8l7 14h-4l-3-6-3 6z" fill="(#[0-9a-fA-F]{3,6})"/></svg>\n?$`)
)

// applyTitle sets the app's title: the <title> of index.html and the title in
// src/config.ts. An app without src/config.ts (made by another generator) gets the
// heading text that showed the old title replaced instead. Paths changed are returned.
func applyTitle(s *fileSet, old, title string) []string {
	var changed []string
	if b, ok := s.get(indexHTMLPath); ok {
		if nb, ok := replaceFirst(titleTagRe, b, "<title>"+escapeTemplate(html.EscapeString(title))+"</title>"); ok && !bytes.Equal(nb, b) {
			s.set(indexHTMLPath, nb)
			changed = append(changed, indexHTMLPath)
		}
	}
	if b, ok := s.get(configPath); ok && titleConstRe.Match(b) {
		nb, _ := replaceFirst(titleConstRe, b, escapeTemplate("export const title = "+tsString(title)))
		if !bytes.Equal(nb, b) {
			s.set(configPath, nb)
			changed = append(changed, configPath)
		}
		return changed
	}
	return append(changed, replaceHeadingText(s, old, title)...)
}

// replaceHeadingText replaces JSX text ">old<" with the new title in src/**/*.tsx, for
// apps whose title is not in src/config.ts.
func replaceHeadingText(s *fileSet, old, title string) []string {
	if strings.TrimSpace(old) == "" || strings.ContainsAny(old, "{}<>&") {
		return nil
	}
	repl := ">" + title + "<"
	if strings.ContainsAny(title, "{}<>&") {
		repl = ">{" + tsString(title) + "}<"
	}
	var changed []string
	for _, f := range s.files() {
		if !strings.HasPrefix(f.Path, "src/") || !strings.HasSuffix(f.Path, ".tsx") {
			continue
		}
		nb := bytes.ReplaceAll(f.Content, []byte(">"+old+"<"), []byte(repl))
		if !bytes.Equal(nb, f.Content) {
			s.set(f.Path, nb)
			changed = append(changed, f.Path)
		}
	}
	return changed
}

// applyTagline sets the landing page's tagline in src/config.ts.
func applyTagline(s *fileSet, tagline string) []string {
	b, ok := s.get(configPath)
	if !ok || !taglineRe.Match(b) {
		return nil
	}
	nb, _ := replaceFirst(taglineRe, b, escapeTemplate("export const tagline = "+tsString(tagline)))
	if bytes.Equal(nb, b) {
		return nil
	}
	s.set(configPath, nb)
	return []string{configPath}
}

// applyAccent sets --accent and --accent-contrast in src/index.css and recolours the
// template's favicon to match. An app without the --accent variable is left as it is.
func applyAccent(s *fileSet, a accent) []string {
	contrast := contrastText(a.Hex)
	var changed []string
	b, ok := s.get(indexCSSPath)
	if !ok || !accentVarRe.Match(b) {
		return nil
	}
	nb, _ := replaceFirst(accentVarRe, b, "${1}"+a.Hex+";")
	nb, _ = replaceFirst(contrastVarRe, nb, "${1}"+contrast+";")
	if !bytes.Equal(nb, b) {
		s.set(indexCSSPath, nb)
		changed = append(changed, indexCSSPath)
	}
	if b, ok := s.get(faviconPath); ok {
		if m := faviconRe.FindSubmatchIndex(b); m != nil {
			var nb []byte
			nb = append(nb, b[:m[2]]...)
			nb = append(nb, a.Hex...)
			nb = append(nb, b[m[3]:m[4]]...)
			nb = append(nb, contrast...)
			nb = append(nb, b[m[5]:]...)
			if !bytes.Equal(nb, b) {
				s.set(faviconPath, nb)
				changed = append(changed, faviconPath)
			}
		}
	}
	return changed
}

// applyDark sets or clears data-theme="dark" on the <html> element of index.html; the
// template's CSS switches its colours on it.
func applyDark(s *fileSet, dark bool) []string {
	b, ok := s.get(indexHTMLPath)
	if !ok {
		return nil
	}
	loc := htmlTagRe.FindIndex(b)
	if loc == nil {
		return nil
	}
	tag := dataThemeRe.ReplaceAllString(string(b[loc[0]:loc[1]]), "")
	if dark {
		tag = strings.TrimSuffix(tag, ">") + ` data-theme="dark">`
	}
	var nb []byte
	nb = append(nb, b[:loc[0]]...)
	nb = append(nb, tag...)
	nb = append(nb, b[loc[1]:]...)
	if bytes.Equal(nb, b) {
		return nil
	}
	s.set(indexHTMLPath, nb)
	return []string{indexHTMLPath}
}

// escapeTemplate protects "$" in a replacement from regexp.Expand.
func escapeTemplate(s string) string {
	return strings.ReplaceAll(s, "$", "$$")
}

// stateFromFiles reads what it can of an app's state from its files: the fallback when
// the stored state is missing or unreadable, and the truth about what is live.
func stateFromFiles(fs []files.File) appState {
	s := appState{Generator: stateGenerator, Version: stateVersion}
	set := newFileSet(fs)
	if b, ok := set.get(indexHTMLPath); ok {
		if m := titleTagRe.FindSubmatch(b); m != nil {
			s.Title = strings.TrimSpace(html.UnescapeString(string(m[1])))
		}
		s.Dark = darkThemeRe.Match(b)
	}
	if b, ok := set.get(indexCSSPath); ok {
		if m := accentVarRe.FindSubmatch(b); m != nil {
			if hex, ok := normaliseHex(string(m[2])); ok {
				a := namedAccent(hex)
				s.Accent, s.AccentName = a.Hex, a.Name
			}
		}
	}
	if b, ok := set.get(configPath); ok {
		if m := taglineRe.FindSubmatch(b); m != nil {
			var t string
			if json.Unmarshal(m[1], &t) == nil {
				s.Tagline = t
			}
		}
		if m := stepRe.FindSubmatch(b); m != nil {
			s.Step, _ = strconv.Atoi(string(m[1]))
		}
		if m := modeRe.FindSubmatch(b); m != nil {
			s.Mode = string(m[1])
		}
		if m := secondsRe.FindSubmatch(b); m != nil {
			s.Seconds, _ = strconv.Atoi(string(m[1]))
		}
	}
	for _, k := range kinds {
		if _, ok := set.get(k.Marker); ok {
			s.Kind = k.ID
			break
		}
	}
	return s
}
