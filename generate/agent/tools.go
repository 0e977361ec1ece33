package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// The tools the model works with. Their results are plain text written for the model;
// a refused or failed call is a result that says what was wrong, never a Go error.
const (
	toolWriteFile     = "write_file"
	toolEditFile      = "edit_file"
	toolDeleteFile    = "delete_file"
	toolReadFile      = "read_file"
	toolListFiles     = "list_files"
	toolAddDependency = "add_dependency"
	toolFinish        = "finish"
	toolSubmitPlan    = "submit_plan"
)

// toolNames lists the step tools in the order the model is told about them.
var toolNames = []string{toolWriteFile, toolEditFile, toolDeleteFile, toolReadFile, toolListFiles, toolAddDependency, toolFinish}

// toolSchemas are the JSON-schema parameters of each tool, as sent to the model.
var toolSchemas = map[string]string{
	toolWriteFile: `{"type":"object","properties":{` +
		`"path":{"type":"string","description":"Relative path, e.g. src/components/RecipeList.tsx"},` +
		`"content":{"type":"string","description":"The complete new content of the file"}},` +
		`"required":["path","content"],"additionalProperties":false}`,
	toolEditFile: `{"type":"object","properties":{` +
		`"path":{"type":"string","description":"Relative path of an existing file"},` +
		`"old_text":{"type":"string","description":"Exact text to replace; it must occur exactly once in the file, so include enough surrounding lines"},` +
		`"new_text":{"type":"string","description":"Text that replaces old_text"}},` +
		`"required":["path","old_text","new_text"],"additionalProperties":false}`,
	toolDeleteFile: `{"type":"object","properties":{` +
		`"path":{"type":"string","description":"Relative path of the file to delete"}},` +
		`"required":["path"],"additionalProperties":false}`,
	toolReadFile: `{"type":"object","properties":{` +
		`"path":{"type":"string","description":"Relative path of the file to read"}},` +
		`"required":["path"],"additionalProperties":false}`,
	toolListFiles: `{"type":"object","properties":{},"additionalProperties":false}`,
	toolAddDependency: `{"type":"object","properties":{` +
		`"name":{"type":"string","description":"npm package name, e.g. date-fns or @tanstack/react-query"},` +
		`"version":{"type":"string","description":"Exact version (4.1.0) or caret/tilde range (^4.1.0, ~4.1.0)"},` +
		`"dev":{"type":"boolean","description":"true for a devDependency (types, build tools)"}},` +
		`"required":["name","version"],"additionalProperties":false}`,
	toolFinish: `{"type":"object","properties":{` +
		`"summary":{"type":"string","description":"One paragraph for the user: what the app does now and what changed"}},` +
		`"required":["summary"],"additionalProperties":false}`,
	toolSubmitPlan: `{"type":"object","properties":{` +
		`"is_web_app":{"type":"boolean","description":"true if the request asks to build or change this web app and it can be done in the browser"},` +
		`"reply":{"type":"string","description":"When is_web_app is false or the request cannot be done: a plain answer to the user. Otherwise empty"},` +
		`"title":{"type":"string","description":"Short name of the app, e.g. Recipe Book"},` +
		`"summary":{"type":"string","description":"One paragraph: what the app will do and what changes"},` +
		`"files":{"type":"array","items":{"type":"object","properties":{` +
		`"path":{"type":"string"},"action":{"type":"string","enum":["create","modify","delete"]},"purpose":{"type":"string"}},` +
		`"required":["path","action","purpose"],"additionalProperties":false}}},` +
		`"required":["is_web_app","reply","title","summary","files"],"additionalProperties":false}`,
}

var toolDescriptions = map[string]string{
	toolWriteFile:     "Create a file or replace its whole content.",
	toolEditFile:      "Replace one exact piece of text in an existing file. old_text must occur exactly once.",
	toolDeleteFile:    "Delete a file.",
	toolReadFile:      "Read a file's current content.",
	toolListFiles:     "List the app's files with their sizes.",
	toolAddDependency: "Add an npm package to package.json. Use only when really needed; prefer plain React and CSS.",
	toolFinish:        "Call when the app is complete and every file is written; ends your work.",
	toolSubmitPlan:    "Submit the plan for the request.",
}

func tool(name string) openai.Tool {
	return openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
		Name: name, Description: toolDescriptions[name], Parameters: json.RawMessage(toolSchemas[name])}}
}

func stepTools() []openai.Tool {
	out := make([]openai.Tool, 0, len(toolNames))
	for _, n := range toolNames {
		out = append(out, tool(n))
	}
	return out
}

// call is a parsed tool call.
type call struct {
	Name    string
	Path    string
	Content string // write_file
	OldText string // edit_file
	NewText string // edit_file
	Package string // add_dependency
	Version string // add_dependency
	Dev     bool   // add_dependency
	Summary string // finish
}

// argSpec says which arguments a tool takes.
type argSpec struct {
	required []string
	optional []string
}

var toolArgs = map[string]argSpec{
	toolWriteFile:     {required: []string{"path", "content"}},
	toolEditFile:      {required: []string{"path", "old_text", "new_text"}},
	toolDeleteFile:    {required: []string{"path"}},
	toolReadFile:      {required: []string{"path"}},
	toolListFiles:     {},
	toolAddDependency: {required: []string{"name", "version"}, optional: []string{"dev"}},
	toolFinish:        {required: []string{"summary"}},
}

// parseCall reads a tool call's arguments. It never panics; an error is written for the
// model and says what is wrong with the arguments.
func parseCall(name, args string) (call, error) {
	spec, ok := toolArgs[name]
	if !ok {
		return call{}, fmt.Errorf("there is no tool named %q; the tools are %s", clip(name, 60), strings.Join(toolNames, ", "))
	}
	c := call{Name: name}
	trimmed := strings.TrimSpace(args)
	if trimmed == "" {
		trimmed = "{}"
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) || trimmed == "null" {
			return call{}, fmt.Errorf("the arguments of %s must be one JSON object, such as %s", name, example(name))
		}
		return call{}, fmt.Errorf("the arguments of %s are not valid JSON (%s); send one complete JSON object, such as %s", name, jsonProblem(err), example(name))
	}
	if raw == nil {
		return call{}, fmt.Errorf("the arguments of %s must be one JSON object, such as %s", name, example(name))
	}
	for _, k := range spec.required {
		if _, ok := raw[k]; !ok {
			return call{}, fmt.Errorf("%s needs the argument %q; send %s", name, k, example(name))
		}
	}
	str := func(k string, dst *string) error {
		v, ok := raw[k]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("the argument %q of %s must be a string", k, name)
		}
		return nil
	}
	var err error
	switch name {
	case toolWriteFile:
		err = errors.Join(str("path", &c.Path), str("content", &c.Content))
	case toolEditFile:
		err = errors.Join(str("path", &c.Path), str("old_text", &c.OldText), str("new_text", &c.NewText))
	case toolDeleteFile, toolReadFile:
		err = str("path", &c.Path)
	case toolAddDependency:
		err = errors.Join(str("name", &c.Package), str("version", &c.Version))
		if v, ok := raw["dev"]; ok && err == nil {
			var s string
			switch {
			case json.Unmarshal(v, &c.Dev) == nil:
			case json.Unmarshal(v, &s) == nil && (s == "true" || s == "false"):
				c.Dev = s == "true"
			case bytes.Equal(v, []byte("null")):
			default:
				err = fmt.Errorf("the argument \"dev\" of %s must be true or false", name)
			}
		}
	case toolFinish:
		err = str("summary", &c.Summary)
	}
	if err != nil {
		return call{}, err
	}
	return c, nil
}

// jsonProblem describes a JSON decoding error in a few words, with where it is.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	}
	return err.Error()
}

func example(name string) string {
	switch name {
	case toolWriteFile:
		return `{"path": "src/App.tsx", "content": "..."}`
	case toolEditFile:
		return `{"path": "src/App.tsx", "old_text": "...", "new_text": "..."}`
	case toolDeleteFile, toolReadFile:
		return `{"path": "src/App.tsx"}`
	case toolAddDependency:
		return `{"name": "date-fns", "version": "^4.1.0", "dev": false}`
	case toolFinish:
		return `{"summary": "..."}`
	}
	return "{}"
}

// Prefixes of tool results and messages that later steps recognise in the transcript:
// the transcript is all that survives between steps, so the counts of bad answers and
// refusals are read back from it.
const (
	badPrefix     = "Unusable answer: "
	outsidePrefix = "Refused, outside the app: "
	filesPrefix   = "Refused, too many files: "
	sizePrefix    = "Refused, file too large: "
	totalPrefix   = "Refused, app too large: "
	depsPrefix    = "Refused, too many dependencies: "
	errorPrefix   = "Error: "
	repairPrefix  = "The build failed"
)

// workspace is the in-memory file set one step works on.
type workspace struct {
	files  map[string][]byte
	total  int
	limits generate.Limits
}

func newWorkspace(fs []files.File, limits generate.Limits) *workspace {
	w := &workspace{files: make(map[string][]byte, len(fs)), limits: limits}
	for _, f := range fs {
		if old, ok := w.files[f.Path]; ok {
			w.total -= len(old)
		}
		w.files[f.Path] = f.Content
		w.total += len(f.Content)
	}
	return w
}

// list returns the files, sorted by path.
func (w *workspace) list() []files.File {
	out := make([]files.File, 0, len(w.files))
	for p, c := range w.files {
		out = append(out, files.File{Path: p, Content: c})
	}
	return files.Sort(out)
}

// result is what running one call did.
type result struct {
	text     string // the tool result for the model
	ok       bool
	note     string // for StepOutput.Notes, when worth telling the user
	finished bool
	summary  string
	progress *generate.Progress
}

func failed(prefix, format string, args ...any) result {
	return result{text: prefix + fmt.Sprintf(format, args...)}
}

// run executes one call against the workspace.
func (w *workspace) run(c call) result {
	switch c.Name {
	case toolWriteFile:
		p, err := writablePath(c.Path)
		if err != nil {
			return refusedOutside(c.Name, c.Path, err)
		}
		return w.put(p, []byte(c.Content), "Wrote")
	case toolEditFile:
		return w.edit(c)
	case toolDeleteFile:
		p, err := writablePath(c.Path)
		if err != nil {
			return refusedOutside(c.Name, c.Path, err)
		}
		old, ok := w.files[p]
		if !ok {
			return failed(errorPrefix, "%s does not exist, so there is nothing to delete.", p)
		}
		if essentialFiles[p] {
			return failed(errorPrefix, "%s is needed to build the app and cannot be deleted; change it instead.", p)
		}
		delete(w.files, p)
		w.total -= len(old)
		return result{text: fmt.Sprintf("Deleted %s.", p), ok: true,
			progress: &generate.Progress{Path: p, Action: generate.Delete, Message: "deleted " + p}}
	case toolReadFile:
		p, err := readablePath(c.Path)
		if err != nil {
			return refusedOutside(c.Name, c.Path, err)
		}
		content, ok := w.files[p]
		if !ok {
			return failed(errorPrefix, "%s does not exist. list_files shows the app's files.", p)
		}
		if len(content) == 0 {
			return result{text: fmt.Sprintf("(%s is empty)", p), ok: true}
		}
		return result{text: string(content), ok: true}
	case toolListFiles:
		var b strings.Builder
		fmt.Fprintf(&b, "%d files, %s in total:\n", len(w.files), size(w.total))
		for _, f := range w.list() {
			fmt.Fprintf(&b, "%s (%s)\n", f.Path, size(len(f.Content)))
		}
		return result{text: b.String(), ok: true}
	case toolAddDependency:
		return w.addDependency(c)
	case toolFinish:
		return result{text: "Finished.", ok: true, finished: true, summary: strings.TrimSpace(c.Summary)}
	}
	return failed(badPrefix, "there is no tool named %q; the tools are %s.", c.Name, strings.Join(toolNames, ", "))
}

func refusedOutside(tool, p string, err error) result {
	return result{text: outsidePrefix + err.Error(),
		note: fmt.Sprintf("refused the model's %s of %q: outside the app", tool, clip(p, 80))}
}

// put writes content at p (a checked path) within the limits.
func (w *workspace) put(p string, content []byte, verb string) result {
	old, exists := w.files[p]
	if len(content) > w.limits.MaxFileBytes {
		return result{text: sizePrefix + fmt.Sprintf("%s would be %s; one file may be at most %s. Split it into smaller files (components, hooks, styles).",
			p, size(len(content)), size(w.limits.MaxFileBytes)),
			note: fmt.Sprintf("refused %s: %s is over the %s file limit", p, size(len(content)), size(w.limits.MaxFileBytes))}
	}
	if !exists && len(w.files) >= w.limits.MaxFiles {
		return result{text: filesPrefix + fmt.Sprintf("the app already has %d files, the most it may have. Change existing files, or delete files it no longer needs.", len(w.files)),
			note: fmt.Sprintf("refused %s: the app has the most files allowed (%d)", p, w.limits.MaxFiles)}
	}
	if total := w.total - len(old) + len(content); total > w.limits.MaxTotalBytes {
		return result{text: totalPrefix + fmt.Sprintf("with this %s the app would be %s; it may be at most %s in all. Write less, or delete files it no longer needs.",
			p, size(total), size(w.limits.MaxTotalBytes)),
			note: fmt.Sprintf("refused %s: the app would be over %s", p, size(w.limits.MaxTotalBytes))}
	}
	w.files[p] = content
	w.total += len(content) - len(old)
	action, how := generate.Create, "new file"
	if exists {
		action, how = generate.Modify, "replaced"
	}
	word := "wrote"
	if verb == "Edited" {
		word = "edited"
	}
	return result{text: fmt.Sprintf("%s %s (%s, %s).", verb, p, size(len(content)), how), ok: true,
		progress: &generate.Progress{Path: p, Action: action, Bytes: len(content), Message: fmt.Sprintf("%s %s (%s)", word, p, size(len(content)))}}
}

// edit replaces the one occurrence of c.OldText in the file with c.NewText.
func (w *workspace) edit(c call) result {
	p, err := writablePath(c.Path)
	if err != nil {
		return refusedOutside(c.Name, c.Path, err)
	}
	content, ok := w.files[p]
	if !ok {
		return failed(errorPrefix, "%s does not exist; create it with write_file.", p)
	}
	if c.OldText == "" {
		return failed(errorPrefix, "old_text is empty; give the exact text to replace, or use write_file to replace the whole file.")
	}
	text := string(content)
	oldText, newText := c.OldText, c.NewText
	at := occurrences(text, oldText)
	if len(at) == 0 {
		// Models often send LF where the file has CRLF, or the other way round.
		switch {
		case strings.Contains(text, "\r\n") && !strings.Contains(oldText, "\r"):
			oldText, newText = toCRLF(oldText), toCRLF(newText)
		case !strings.Contains(text, "\r") && strings.Contains(oldText, "\r\n"):
			oldText, newText = strings.ReplaceAll(oldText, "\r\n", "\n"), strings.ReplaceAll(newText, "\r\n", "\n")
		}
		if oldText != c.OldText {
			at = occurrences(text, oldText)
		}
	}
	switch {
	case len(at) == 0:
		return failed(errorPrefix, "old_text was not found in %s, so nothing changed.%s Read the file with read_file and copy old_text exactly, including indentation.",
			p, closestLine(text, c.OldText))
	case len(at) > 1:
		lines := make([]string, 0, len(at))
		for i, a := range at {
			if i == 5 {
				lines = append(lines, "…")
				break
			}
			lines = append(lines, fmt.Sprint(lineOf(text, a)))
		}
		more := ""
		if len(at) > maxOccurrences {
			more = " or more"
		}
		return failed(errorPrefix, "old_text occurs %d%s times in %s (lines %s), so nothing changed; include more surrounding lines so that it occurs exactly once.",
			len(at), more, p, strings.Join(lines, ", "))
	}
	if oldText == newText {
		return result{text: fmt.Sprintf("old_text and new_text are the same; %s is unchanged.", p), ok: true}
	}
	updated := text[:at[0]] + newText + text[at[0]+len(oldText):]
	r := w.put(p, []byte(updated), "Edited")
	if r.ok {
		r.text = fmt.Sprintf("Edited %s at line %d (now %s).", p, lineOf(text, at[0]), size(len(updated)))
	}
	return r
}

func toCRLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

const maxOccurrences = 50

// occurrences returns where sub occurs in s, overlapping ones included, up to
// maxOccurrences+1.
func occurrences(s, sub string) []int {
	var at []int
	for i := 0; i <= len(s); {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			break
		}
		at = append(at, i+j)
		if len(at) > maxOccurrences {
			break
		}
		i += j + 1
	}
	return at
}

func lineOf(s string, offset int) int {
	return strings.Count(s[:offset], "\n") + 1
}

// closestLine points the model at the line of the file most like the first line of
// text it looked for, if one is close.
func closestLine(content, oldText string) string {
	var first string
	for _, l := range strings.Split(oldText, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			first = t
			break
		}
	}
	if first == "" {
		return ""
	}
	best, bestLine, bestText := -1, 0, ""
	fr := []rune(clip(first, 200))
	for i, l := range strings.Split(content, "\n") {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if t == first {
			return fmt.Sprintf(" Its first line matches line %d of the file, so the difference is in whitespace or in later lines.", i+1)
		}
		if i > 5000 {
			break
		}
		d := distance(fr, []rune(clip(t, 200)))
		if best < 0 || d < best {
			best, bestLine, bestText = d, i+1, t
		}
	}
	if best < 0 || best > len(fr)/3+1 {
		return ""
	}
	return fmt.Sprintf(" The closest line is line %d: %s", bestLine, clip(bestText, 160))
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (w *workspace) addDependency(c call) result {
	if err := checkDependency(c.Package, c.Version); err != nil {
		return failed(errorPrefix, "%v.", err)
	}
	pkg, ok := w.files[packageJSON]
	if !ok {
		return failed(errorPrefix, "the app has no package.json.")
	}
	updated, added, err := addDependency(pkg, c.Package, c.Version, c.Dev)
	if err != nil {
		return failed(errorPrefix, "%v.", err)
	}
	if added > w.limits.MaxDependencies {
		return result{text: depsPrefix + fmt.Sprintf("an app may add at most %d packages to its foundation, and it has %d already. Do without %s.",
			w.limits.MaxDependencies, added-1, c.Package),
			note: fmt.Sprintf("refused the package %s: the app may add at most %d", c.Package, w.limits.MaxDependencies)}
	}
	list := "dependencies"
	if c.Dev {
		list = "devDependencies"
	}
	r := w.put(packageJSON, updated, "Wrote")
	if r.ok {
		r.text = fmt.Sprintf("Added %s %s to %s in package.json (%d of the %d packages an app may add).", c.Package, c.Version, list, added, w.limits.MaxDependencies)
		r.progress.Message = fmt.Sprintf("added %s %s", c.Package, c.Version)
	}
	return r
}

// size formats a byte count for people and models.
func size(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// changes lists what differs between two file sets, sorted by path.
func changes(before, after []files.File) []generate.Change {
	old := make(map[string][]byte, len(before))
	for _, f := range before {
		old[f.Path] = f.Content
	}
	var out []generate.Change
	seen := make(map[string]bool, len(after))
	for _, f := range after {
		seen[f.Path] = true
		prev, ok := old[f.Path]
		switch {
		case !ok:
			out = append(out, generate.Change{Path: f.Path, Action: generate.Create})
		case !bytes.Equal(prev, f.Content):
			out = append(out, generate.Change{Path: f.Path, Action: generate.Modify})
		}
	}
	for p := range old {
		if !seen[p] {
			out = append(out, generate.Change{Path: p, Action: generate.Delete})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
