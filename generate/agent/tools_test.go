package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

func testWorkspace(fs ...files.File) *workspace {
	return newWorkspace(fs, generate.DefaultLimits)
}

func file(p, content string) files.File { return files.File{Path: p, Content: []byte(content)} }

func TestEditFile(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		old, new string
		want     string // the file after; "" with ok false means unchanged
		ok       bool
		says     string
	}{
		{"exactly once", "a\nb\nc\n", "b\n", "B\n", "a\nB\nc\n", true, "Edited src/x.ts at line 2"},
		{"multi-line", "one\ntwo\nthree\n", "one\ntwo", "1\n2", "1\n2\nthree\n", true, "line 1"},
		{"delete text", "keep drop keep", " drop", "", "keep keep", true, ""},
		{"zero", "a\nb\n", "c", "x", "", false, "was not found"},
		{"zero, closest line", "  const total = items.length\n", "const totl = items.length", "x", "", false, "closest line is line 1: const total = items.length"},
		{"zero, whitespace only", "function App() {\n\treturn 1\n}\n", "function App() {\n  return 1\n}", "x", "", false, "first line matches line 1"},
		{"many", "x\nx\nx\n", "x", "y", "", false, "occurs 3 times in src/x.ts (lines 1, 2, 3)"},
		{"overlapping", "aaa", "aa", "b", "", false, "occurs 2 times"},
		{"empty old_text", "abc", "", "x", "", false, "old_text is empty"},
		{"unicode", "<h1>Grüße 🍲</h1>\n", "Grüße 🍲", "Küche «neu»", "<h1>Küche «neu»</h1>\n", true, ""},
		{"CRLF file, LF old_text", "a\r\nb\r\nc\r\n", "a\nb\n", "x\ny\n", "x\r\ny\r\nc\r\n", true, ""},
		{"LF file, CRLF old_text", "a\nb\nc\n", "b\r\nc", "B\r\nC", "a\nB\nC\n", true, ""},
		{"CRLF exact", "a\r\nb\r\n", "a\r\n", "z\r\n", "z\r\nb\r\n", true, ""},
		{"same text", "abc", "b", "b", "abc", true, "unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := testWorkspace(file("src/x.ts", tt.content))
			r := w.run(call{Name: toolEditFile, Path: "src/x.ts", OldText: tt.old, NewText: tt.new})
			if r.ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%s)", r.ok, tt.ok, r.text)
			}
			got := string(w.files["src/x.ts"])
			want := tt.want
			if !tt.ok {
				want = tt.content
				if !strings.HasPrefix(r.text, errorPrefix) {
					t.Errorf("result = %q, want an error", r.text)
				}
			}
			if got != want {
				t.Errorf("file = %q, want %q", got, want)
			}
			if !strings.Contains(r.text, tt.says) {
				t.Errorf("result = %q, want it to say %q", r.text, tt.says)
			}
		})
	}
}

func TestEditFileMissingAndRefused(t *testing.T) {
	w := testWorkspace(file("src/x.ts", "x"))
	if r := w.run(call{Name: toolEditFile, Path: "src/y.ts", OldText: "x", NewText: "y"}); r.ok || !strings.Contains(r.text, "does not exist") {
		t.Errorf("edit of a missing file: %q", r.text)
	}
	if r := w.run(call{Name: toolEditFile, Path: "../y.ts", OldText: "x", NewText: "y"}); r.ok || !strings.HasPrefix(r.text, outsidePrefix) {
		t.Errorf("edit outside: %q", r.text)
	}
}

func TestFileTools(t *testing.T) {
	w := testWorkspace(generate.Template()...)
	n := len(w.files)
	steps := []struct {
		c    call
		ok   bool
		says string
	}{
		{call{Name: toolWriteFile, Path: "src/a.ts", Content: "export const a = 1\n"}, true, "Wrote src/a.ts (19 B, new file)"},
		{call{Name: toolWriteFile, Path: "src/a.ts", Content: "export const a = 2\n"}, true, "replaced"},
		{call{Name: toolReadFile, Path: "src/a.ts"}, true, "export const a = 2"},
		{call{Name: toolReadFile, Path: "package.json"}, true, `"react"`},
		{call{Name: toolReadFile, Path: "src/nope.ts"}, false, "does not exist"},
		{call{Name: toolListFiles}, true, "src/a.ts (19 B)"},
		{call{Name: toolDeleteFile, Path: "src/a.ts"}, true, "Deleted src/a.ts"},
		{call{Name: toolDeleteFile, Path: "src/a.ts"}, false, "nothing to delete"},
		{call{Name: toolDeleteFile, Path: "src/main.tsx"}, false, "cannot be deleted"},
		{call{Name: toolDeleteFile, Path: "index.html"}, false, "cannot be deleted"},
		{call{Name: toolDeleteFile, Path: "package.json"}, false, outsidePrefix},
		{call{Name: toolFinish, Summary: " done "}, true, "Finished."},
	}
	for i, s := range steps {
		r := w.run(s.c)
		if r.ok != s.ok || !strings.Contains(r.text, s.says) {
			t.Errorf("step %d %s(%s): ok %v %q; want ok %v and %q", i, s.c.Name, s.c.Path, r.ok, r.text, s.ok, s.says)
		}
	}
	if len(w.files) != n {
		t.Errorf("%d files, want %d", len(w.files), n)
	}
}

func TestLimits(t *testing.T) {
	limits := generate.Limits{MaxFiles: 3, MaxFileBytes: 10, MaxTotalBytes: 20}
	w := newWorkspace([]files.File{file("index.html", "12345"), file(packageJSON, "{}")}, withDefaults(limits))
	tests := []struct {
		c      call
		prefix string
	}{
		{call{Name: toolWriteFile, Path: "src/big.ts", Content: strings.Repeat("x", 11)}, sizePrefix},
		{call{Name: toolWriteFile, Path: "src/a.ts", Content: "0123456789"}, ""},
		{call{Name: toolWriteFile, Path: "src/b.ts", Content: "x"}, filesPrefix},
		{call{Name: toolWriteFile, Path: "index.html", Content: "0123456789"}, totalPrefix},
		{call{Name: toolWriteFile, Path: "index.html", Content: "0123456"}, ""},
		{call{Name: toolEditFile, Path: "src/a.ts", OldText: "9", NewText: "9a"}, sizePrefix},
		{call{Name: toolDeleteFile, Path: "src/a.ts"}, ""},
		{call{Name: toolAddDependency, Package: "date-fns", Version: "4.1.0"}, sizePrefix},
	}
	check := func(w *workspace, tests []struct {
		c      call
		prefix string
	}) {
		t.Helper()
		for i, tt := range tests {
			r := w.run(tt.c)
			switch {
			case tt.prefix == "" && !r.ok:
				t.Errorf("call %d %s %s: %q, want it done", i, tt.c.Name, tt.c.Path, r.text)
			case tt.prefix != "" && (r.ok || !strings.HasPrefix(r.text, tt.prefix) || r.note == ""):
				t.Errorf("call %d %s %s: %q (note %q), want a refusal starting %q", i, tt.c.Name, tt.c.Path, r.text, r.note, tt.prefix)
			}
		}
		total := 0
		for _, c := range w.files {
			total += len(c)
		}
		if total != w.total {
			t.Errorf("tracked total %d, real %d", w.total, total)
		}
	}
	check(w, tests)

	w = newWorkspace(generate.Template(), withDefaults(generate.Limits{MaxDependencies: 1}))
	check(w, []struct {
		c      call
		prefix string
	}{
		{call{Name: toolAddDependency, Package: "date-fns", Version: "4.1.0"}, ""},
		{call{Name: toolAddDependency, Package: "zod", Version: "3.23.8"}, depsPrefix},
		{call{Name: toolAddDependency, Package: "date-fns", Version: "^4.1.0", Dev: true}, ""},
	})
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCheckDependency(t *testing.T) {
	tests := []struct {
		name, version string
		ok            bool
	}{
		{"date-fns", "4.1.0", true},
		{"date-fns", "^4.1.0", true},
		{"date-fns", "~4.1", true},
		{"lodash.debounce", "^4", true},
		{"@tanstack/react-query", "5.59.0", true},
		{"@types/uuid", "10.0.0", true},
		{"zod", "3.24.0-beta.1", true},
		{"react-markdown", "9.0.1+build.5", true},
		{"a", "1.0.0", true},

		{"date-fns", "latest", false},
		{"date-fns", "next", false},
		{"date-fns", "*", false},
		{"date-fns", "", false},
		{"date-fns", ">=4.0.0", false},
		{"date-fns", "4.x", false},
		{"date-fns", "4", false},
		{"date-fns", "^4.1.0 || ^5", false},
		{"date-fns", "01.2.3", false},
		{"date-fns", "https://example.com/x.tgz", false},
		{"date-fns", "git+https://github.com/x/y.git", false},
		{"date-fns", "github:x/y", false},
		{"date-fns", "file:../x", false},
		{"date-fns", "npm:other@1.0.0", false},
		{"Date-Fns", "4.1.0", false},
		{"", "4.1.0", false},
		{".hidden", "1.0.0", false},
		{"_under", "1.0.0", false},
		{"has space", "1.0.0", false},
		{"@scope", "1.0.0", false},
		{"@/x", "1.0.0", false},
		{"@scope/", "1.0.0", false},
		{"a/b", "1.0.0", false},
		{"node_modules", "1.0.0", false},
		{strings.Repeat("a", 215), "1.0.0", false},
		{"react", "19.0.0", false},
		{"vite", "^8.0.0", false},
		{"typescript", "7.0.2", false},
	}
	for _, tt := range tests {
		err := checkDependency(tt.name, tt.version)
		if (err == nil) != tt.ok {
			t.Errorf("checkDependency(%q, %q) = %v, want ok %v", tt.name, tt.version, err, tt.ok)
		}
	}
}

func TestAddDependencyKeepsPackageJSONTidy(t *testing.T) {
	tmpl, _ := files.Find(generate.Template(), packageJSON)

	// Re-emitting the template without a real change keeps it byte for byte, apart
	// from the new package.
	got, added, err := addDependency(tmpl.Content, "date-fns", "^4.1.0", false)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(tmpl.Content), `"dependencies": {
    "react": "19.3.1",`, `"dependencies": {
    "date-fns": "^4.1.0",
    "react": "19.3.1",`, 1)
	if string(got) != want || added != 1 {
		t.Errorf("package.json =\n%s\nwant\n%s (added %d)", got, want, added)
	}

	// Moving to devDependencies, sorted, with the top-level order kept.
	got, added, err = addDependency(got, "date-fns", "4.1.0", true)
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies    map[string]string
		DevDependencies map[string]string
	}
	json.Unmarshal(got, &pkg)
	if _, ok := pkg.Dependencies["date-fns"]; ok || pkg.DevDependencies["date-fns"] != "4.1.0" || added != 1 {
		t.Errorf("after moving: %s", got)
	}
	if i, j := strings.Index(string(got), `"@vitejs/plugin-react"`), strings.Index(string(got), `"date-fns"`); i > j || j > strings.Index(string(got), `"typescript"`) {
		t.Errorf("devDependencies not sorted:\n%s", got)
	}
	if !strings.HasPrefix(string(got), "{\n  \"name\": \"appforge-app\",\n  \"private\": true,") || !strings.HasSuffix(string(got), "}\n") {
		t.Errorf("top-level order or format changed:\n%s", got)
	}

	// A package.json with no lists gets one; a broken one is refused.
	got, _, err = addDependency([]byte(`{"name": "x"}`), "zod", "3.23.8", false)
	if err != nil || string(got) != "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"zod\": \"3.23.8\"\n  }\n}\n" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{`{"dependencies": [1]}`, `[]`, `{`, `{} {}`, ``} {
		if _, _, err := addDependency([]byte(bad), "zod", "3.23.8", false); err == nil {
			t.Errorf("addDependency(%q) did not fail", bad)
		}
	}
}

func TestParseCall(t *testing.T) {
	tests := []struct {
		name, args string
		want       call
		says       string // error; "" means parsed
	}{
		{toolWriteFile, `{"path":"src/a.ts","content":"x"}`, call{Name: toolWriteFile, Path: "src/a.ts", Content: "x"}, ""},
		{toolWriteFile, `{"path":"src/a.ts","content":"x","extra":1}`, call{Name: toolWriteFile, Path: "src/a.ts", Content: "x"}, ""},
		{toolWriteFile, `{"path":"src/a.ts"}`, call{}, `needs the argument "content"`},
		{toolWriteFile, `{"path":"src/a.ts","content":5}`, call{}, `"content" of write_file must be a string`},
		{toolWriteFile, `{"path":"src/a.ts","content":"x"`, call{}, "not valid JSON (unexpected end of JSON input at byte 32)"},
		{toolWriteFile, `{"path":"src/a.ts" "content":"x"}`, call{}, "at byte"},
		{toolWriteFile, `["src/a.ts"]`, call{}, "must be one JSON object"},
		{toolWriteFile, `null`, call{}, "must be one JSON object"},
		{toolListFiles, ``, call{Name: toolListFiles}, ""},
		{toolListFiles, `{}`, call{Name: toolListFiles}, ""},
		{toolAddDependency, `{"name":"zod","version":"3.0.0","dev":"true"}`, call{Name: toolAddDependency, Package: "zod", Version: "3.0.0", Dev: true}, ""},
		{toolAddDependency, `{"name":"zod","version":"3.0.0","dev":null}`, call{Name: toolAddDependency, Package: "zod", Version: "3.0.0"}, ""},
		{toolAddDependency, `{"name":"zod","version":"3.0.0","dev":"yes"}`, call{}, "true or false"},
		{toolFinish, `{"summary":"done"}`, call{Name: toolFinish, Summary: "done"}, ""},
		{"shell", `{}`, call{}, `no tool named "shell"`},
		{"", `{}`, call{}, "no tool named"},
	}
	for _, tt := range tests {
		got, err := parseCall(tt.name, tt.args)
		if tt.says == "" {
			if err != nil || got != tt.want {
				t.Errorf("parseCall(%s, %s) = %+v, %v; want %+v", tt.name, tt.args, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("parseCall(%s, %s) error = %v, want it to say %q", tt.name, tt.args, err, tt.says)
		}
	}
}

func TestPartialArgs(t *testing.T) {
	tests := []struct {
		args, key string
		path      string
		n         int
	}{
		{`{"path": "src/App.tsx", "content": "abc`, "content", "src/App.tsx", 3},
		{`{"path": "src/App.ts`, "content", "", 0},
		{`{"path": "src/App.tsx", "content": "a\nb\u00e9\`, "content", "src/App.tsx", 5},
		{`{"path":"src/a.ts","old_text":"xx","new_text":"yyyy"}`, "new_text", "src/a.ts", 4},
		{`{"content": "abcdef", "path": "src/a.ts"}`, "content", "src/a.ts", 6},
		{`{"dev": true, "path": "src/a.ts", "content": ""`, "content", "src/a.ts", 0},
		{`{"x": {"y": [1, "}"]}, "path": "p"`, "content", "p", 0},
		{`garbage`, "content", "", 0},
		{``, "content", "", 0},
	}
	for _, tt := range tests {
		path, n := partialArgs(tt.args, tt.key)
		if path != tt.path || n != tt.n {
			t.Errorf("partialArgs(%q) = %q, %d; want %q, %d", tt.args, path, n, tt.path, tt.n)
		}
	}
}

func TestBadStreakAndRefusals(t *testing.T) {
	asst := generate.Message{Role: "assistant", Content: "x"}
	bad := generate.Message{Role: "user", Content: badPrefix + "it called no tool."}
	badTool := generate.Message{Role: "tool", Content: badPrefix + "not valid JSON"}
	good := generate.Message{Role: "tool", Content: "Wrote src/a.ts"}
	repair := generate.Message{Role: "user", Content: repairPrefix + " with these errors:"}
	outside := generate.Message{Role: "tool", Content: outsidePrefix + "x"}
	tests := []struct {
		name    string
		convo   []generate.Message
		streak  int
		outside int
	}{
		{"empty", nil, 0, 0},
		{"one bad", []generate.Message{asst, bad}, 1, 0},
		{"bad tool then bad text", []generate.Message{asst, good, badTool, asst, bad}, 2, 0},
		{"good resets", []generate.Message{asst, bad, asst, good, asst, bad}, 1, 0},
		{"repair resets", []generate.Message{asst, bad, asst, bad, repair, asst, bad}, 1, 0},
		{"before the answer", []generate.Message{asst, bad, asst, bad, repair}, 0, 0},
		{"refusals by round", []generate.Message{asst, outside, outside, repair, asst, outside}, 0, 1},
	}
	for _, tt := range tests {
		if got, _ := badStreak(tt.convo); got != tt.streak {
			t.Errorf("%s: badStreak = %d, want %d", tt.name, got, tt.streak)
		}
		if got := roundRefusals(tt.convo)[outsidePrefix]; got != tt.outside {
			t.Errorf("%s: outside refusals = %d, want %d", tt.name, got, tt.outside)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := mustTime("2026-01-02T15:04:05Z")
	tests := []struct {
		header map[string]string
		want   string
	}{
		{nil, "0s"},
		{map[string]string{"Retry-After": "12"}, "12s"},
		{map[string]string{"Retry-After": "0.5"}, "500ms"},
		{map[string]string{"Retry-After": "Fri, 02 Jan 2026 15:05:05 GMT"}, "1m0s"},
		{map[string]string{"Retry-After": "Fri, 02 Jan 2026 15:00:00 GMT"}, "0s"},
		{map[string]string{"Retry-After": "soon"}, "0s"},
		{map[string]string{"Retry-After": "-3"}, "0s"},
		{map[string]string{"Retry-After": "86400"}, "10m0s"},
		{map[string]string{"retry-after-ms": "250", "Retry-After": "1"}, "250ms"},
	}
	for _, tt := range tests {
		s := &headerSink{header: map[string][]string{}}
		for k, v := range tt.header {
			s.header.Set(k, v)
		}
		if got := retryAfter(s, now).String(); got != tt.want {
			t.Errorf("retryAfter(%v) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

func TestFirstUserMessage(t *testing.T) {
	base := generate.Template()
	big := strings.Repeat("// filler line of a large component\n", 1000) // 35.2 KB
	base = files.Sort(append(base, file("src/components/A.tsx", big), file("src/components/B.tsx", big), file("public/data.json", "{}")))
	in := generate.StepInput{
		Request: generate.Request{Message: "  add a search box\n(keep it simple)  ", Base: base},
		Plan:    generate.Plan{Summary: "Adds a search box.", Changes: []generate.Change{{Path: "src/App.tsx", Action: generate.Modify}}},
		Files:   base,
	}
	got := firstUserMessage(in)
	contains(t, "first message", got,
		"## Request\n\n  add a search box\n(keep it simple)  \n\n", // verbatim
		"## Plan\n\nAdds a search box.", "- modify src/App.tsx\n",
		"current version; change only what the request needs",
		"- src/components/B.tsx (35.2 KB)", "- public/data.json (2 B)",
		`<file path="src/App.tsx">`, `<file path="src/components/A.tsx">`,
		"Not shown for space (read them with read_file when you need them): src/components/B.tsx")
	if strings.Contains(got, `<file path="public/data.json">`) || strings.Contains(got, `<file path="vite.config.ts">`) {
		t.Error("contents shown of files outside src/, index.html and package.json")
	}
}
