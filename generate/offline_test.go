package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/appforge/appforge/files"
)

// newApp plans and generates the first version of an app, failing the test on anything
// but a supported plan.
func newApp(t *testing.T, msg string) Result {
	t.Helper()
	g := NewOffline()
	req := Request{AppID: "app-1", Message: msg}
	plan, err := g.Plan(context.Background(), req)
	if err != nil {
		t.Fatalf("plan %q: %v", msg, err)
	}
	if !plan.Supported {
		t.Fatalf("plan %q not supported: %s", msg, plan.Reply)
	}
	res, err := g.Generate(context.Background(), req, plan, nil)
	if err != nil {
		t.Fatalf("generate %q: %v", msg, err)
	}
	return res
}

// change plans and generates a change to base.
func change(t *testing.T, base Result, msg string) (Plan, Result, []Progress) {
	t.Helper()
	g := NewOffline()
	req := Request{AppID: "app-1", Message: msg, Base: base.Files, BaseState: base.State}
	plan, err := g.Plan(context.Background(), req)
	if err != nil {
		t.Fatalf("plan %q: %v", msg, err)
	}
	if !plan.Supported {
		t.Fatalf("plan %q not supported: %s", msg, plan.Reply)
	}
	var progress []Progress
	res, err := g.Generate(context.Background(), req, plan, func(p Progress) { progress = append(progress, p) })
	if err != nil {
		t.Fatalf("generate %q: %v", msg, err)
	}
	return plan, res, progress
}

func fileText(t *testing.T, fs []files.File, p string) string {
	t.Helper()
	f, ok := files.Find(fs, p)
	if !ok {
		t.Fatalf("no file %s", p)
	}
	return string(f.Content)
}

func state(t *testing.T, raw json.RawMessage) appState {
	t.Helper()
	s, err := decodeState(raw)
	if err != nil {
		t.Fatalf("state %s: %v", raw, err)
	}
	return s
}

func TestOfflineName(t *testing.T) {
	if got, want := NewOffline().Name(), "offline generator"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := Describe(NewOffline()), "the offline generator"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestOfflineNewApp(t *testing.T) {
	tests := []struct {
		msg       string
		kind      kindID
		title     string
		accent    string
		dark      bool
		want      []string // files beyond the template, besides src/config.ts
		summaryIn []string
	}{
		{"Create a todo app for my groceries with a green theme", kindTodo, "Groceries", "#15803d", false,
			[]string{"src/App.css", "src/components/FilterBar.tsx", "src/components/TodoForm.tsx",
				"src/components/TodoItem.tsx", "src/components/TodoList.tsx", "src/hooks/useLocalStorage.ts",
				"src/id.ts", "src/types.ts"},
			[]string{`Offline generator: a todo list app titled "Groceries" with a green accent.`}},
		{"a notes app in dark mode", kindNotes, "Notes", defaultAccent.Hex, true,
			[]string{"src/App.css", "src/components/NoteEditor.tsx", "src/components/NoteList.tsx",
				"src/components/SearchBar.tsx", "src/hooks/useLocalStorage.ts", "src/id.ts", "src/types.ts"},
			[]string{"notes app", "in dark mode"}},
		{"a counter that counts by 5, accent #ff8800", kindCounter, "Counter", "#ff8800", false,
			[]string{"src/App.css", "src/components/CounterControls.tsx", "src/components/CounterDisplay.tsx",
				"src/components/StepPicker.tsx", "src/hooks/useLocalStorage.ts"},
			[]string{"the accent colour #ff8800", "steps of 5"}},
		{"a stopwatch called Laps", kindTimer, "Laps", defaultAccent.Hex, false,
			[]string{"src/App.css", "src/components/DurationPicker.tsx", "src/components/LapList.tsx",
				"src/components/ModeSwitch.tsx", "src/components/TimeDisplay.tsx",
				"src/components/TimerControls.tsx", "src/format.ts", "src/hooks/useStopwatch.ts", "src/types.ts"},
			[]string{"timer app", "stopwatch"}},
		{"Create a landing page for Nimbus with the tagline \"Storage that just works\"", kindLanding, "Nimbus",
			defaultAccent.Hex, false,
			[]string{"src/App.css", "src/components/CallToAction.tsx", "src/components/FeatureCard.tsx",
				"src/components/Features.tsx", "src/components/Footer.tsx", "src/components/Hero.tsx",
				"src/components/Logo.tsx", "src/components/NavBar.tsx"},
			[]string{`landing page for "Nimbus"`, `Tagline: "Storage that just works"`}},
	}
	template := Template()
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			g := NewOffline()
			req := Request{AppID: "app-1", Message: tt.msg}
			plan, err := g.Plan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !plan.Supported || plan.Reply != "" {
				t.Fatalf("supported = %v, reply %q", plan.Supported, plan.Reply)
			}
			for _, s := range tt.summaryIn {
				if !strings.Contains(plan.Summary, s) {
					t.Errorf("summary %q does not say %q", plan.Summary, s)
				}
			}
			if plan.Title != tt.title {
				t.Errorf("plan title = %q, want %q", plan.Title, tt.title)
			}

			var progress []Progress
			res, err := g.Generate(context.Background(), req, plan, func(p Progress) { progress = append(progress, p) })
			if err != nil {
				t.Fatal(err)
			}

			// The file set: the template plus the kind's files, sorted.
			var paths []string
			for _, f := range res.Files {
				paths = append(paths, f.Path)
			}
			if !sort.StringsAreSorted(paths) {
				t.Errorf("files not sorted: %v", paths)
			}
			want := map[string]bool{configPath: true}
			for _, f := range template {
				want[f.Path] = true
			}
			for _, p := range tt.want {
				want[p] = true
			}
			var wantPaths []string
			for p := range want {
				wantPaths = append(wantPaths, p)
			}
			sort.Strings(wantPaths)
			if !reflect.DeepEqual(paths, wantPaths) {
				t.Errorf("files = %v\nwant %v", paths, wantPaths)
			}
			if fileText(t, res.Files, "src/App.tsx") == fileText(t, template, "src/App.tsx") {
				t.Error("src/App.tsx is the template's placeholder, want the kind's")
			}

			// The plan lists every file as created; progress reports each once.
			if len(plan.Changes) != len(res.Files) || len(progress) != len(res.Files) {
				t.Fatalf("%d changes, %d progress reports, %d files", len(plan.Changes), len(progress), len(res.Files))
			}
			for i, f := range res.Files {
				if c := plan.Changes[i]; c.Path != f.Path || c.Action != Create {
					t.Errorf("change %d = %+v, want create %s", i, c, f.Path)
				}
				if p := progress[i]; p.Path != f.Path || p.Action != Create || p.Bytes != len(f.Content) {
					t.Errorf("progress %d = %+v, want create %s (%d bytes)", i, p, f.Path, len(f.Content))
				}
			}

			// Title, accent and theme land where the app reads them.
			html := fileText(t, res.Files, "index.html")
			if !strings.Contains(html, "<title>"+tt.title+"</title>") {
				t.Errorf("index.html has no <title>%s</title>:\n%s", tt.title, html)
			}
			if got := strings.Contains(html, `data-theme="dark"`); got != tt.dark {
				t.Errorf("index.html dark = %v, want %v", got, tt.dark)
			}
			if cfg := fileText(t, res.Files, configPath); !strings.Contains(cfg, "export const title = "+tsString(tt.title)+"\n") {
				t.Errorf("src/config.ts does not set the title %q:\n%s", tt.title, cfg)
			}
			if css := fileText(t, res.Files, indexCSSPath); !strings.Contains(css, "--accent: "+tt.accent+";") {
				t.Errorf("src/index.css does not set --accent: %s", tt.accent)
			}
			if fav := fileText(t, res.Files, faviconPath); !strings.Contains(fav, `fill="`+tt.accent+`"`) {
				t.Errorf("favicon not in the accent %s: %s", tt.accent, fav)
			}

			s := state(t, res.State)
			if s.Kind != tt.kind || s.Title != tt.title || s.Accent != tt.accent || s.Dark != tt.dark {
				t.Errorf("state = %+v", s)
			}
			if !bytes.Equal(res.State, plan.State) {
				t.Errorf("result state %s differs from plan state %s", res.State, plan.State)
			}
		})
	}
}

func TestOfflineUnsupportedNewApp(t *testing.T) {
	for _, msg := range []string{"hello", "a weather app", "build me a calculator"} {
		t.Run(msg, func(t *testing.T) {
			g := NewOffline()
			req := Request{Message: msg}
			plan, err := g.Plan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Supported || len(plan.Changes) != 0 || len(plan.State) != 0 {
				t.Fatalf("plan = %+v, want unsupported with no changes", plan)
			}
			for _, s := range []string{"offline generator", "todo list", "notes", "counter", "timer",
				"landing page", "OPENAI_API_KEY"} {
				if !strings.Contains(plan.Reply, s) {
					t.Errorf("reply %q does not mention %q", plan.Reply, s)
				}
			}
			res, err := g.Generate(context.Background(), req, plan, nil)
			if !errors.Is(err, ErrInvalidRequest) || len(res.Files) != 0 {
				t.Errorf("generate from an unsupported plan = %d files, %v; want ErrInvalidRequest", len(res.Files), err)
			}
		})
	}
}

func TestOfflineChanges(t *testing.T) {
	tests := []struct {
		name  string
		app   string
		msg   string
		want  []string // paths modified, sorted
		check func(t *testing.T, fs []files.File, s appState)
	}{
		{"title", "a todo app", "make the title say My Tasks",
			[]string{configPath, indexHTMLPath},
			func(t *testing.T, fs []files.File, s appState) {
				if s.Title != "My Tasks" {
					t.Errorf("title = %q", s.Title)
				}
				if !strings.Contains(fileText(t, fs, indexHTMLPath), "<title>My Tasks</title>") {
					t.Error("index.html title not changed")
				}
			}},
		{"rename", "a notes app", "rename it to Ideas", []string{configPath, indexHTMLPath}, nil},
		{"title with markup", "a todo app", `change the title to "<Q&A> {x} $1"`,
			[]string{configPath, indexHTMLPath},
			func(t *testing.T, fs []files.File, s appState) {
				if !strings.Contains(fileText(t, fs, indexHTMLPath), "<title>&lt;Q&amp;A&gt; {x} $1</title>") {
					t.Errorf("index.html title not escaped:\n%s", fileText(t, fs, indexHTMLPath))
				}
				if !strings.Contains(fileText(t, fs, configPath), `export const title = "<Q&A> {x} $1"`) {
					t.Errorf("config title wrong:\n%s", fileText(t, fs, configPath))
				}
			}},
		{"accent name", "a todo app", "make it green", []string{faviconPath, indexCSSPath},
			func(t *testing.T, fs []files.File, s appState) {
				if s.Accent != "#15803d" || s.AccentName != "green" {
					t.Errorf("accent = %s %s", s.Accent, s.AccentName)
				}
				if !strings.Contains(fileText(t, fs, indexCSSPath), "--accent: #15803d;") {
					t.Error("index.css accent not changed")
				}
			}},
		{"accent hex", "a counter", "use #0ea5e9 as the accent", []string{faviconPath, indexCSSPath},
			func(t *testing.T, fs []files.File, s appState) {
				css := fileText(t, fs, indexCSSPath)
				if !strings.Contains(css, "--accent: #0ea5e9;") || !strings.Contains(css, "--accent-contrast: #0f172a;") {
					t.Errorf("index.css accent not changed:\n%s", css[:200])
				}
			}},
		{"dark", "a timer", "switch to dark mode", []string{indexHTMLPath},
			func(t *testing.T, fs []files.File, s appState) {
				if !s.Dark || !strings.Contains(fileText(t, fs, indexHTMLPath), `<html lang="en" data-theme="dark">`) {
					t.Error("not dark")
				}
			}},
		{"light", "a dark notes app", "switch to light mode", []string{indexHTMLPath},
			func(t *testing.T, fs []files.File, s appState) {
				if s.Dark || !strings.Contains(fileText(t, fs, indexHTMLPath), `<html lang="en">`) {
					t.Error("not light")
				}
			}},
		{"tagline", "a landing page for Nimbus", "change the tagline to Storage that just works",
			[]string{configPath},
			func(t *testing.T, fs []files.File, s appState) {
				if s.Tagline != "Storage that just works." {
					t.Errorf("tagline = %q", s.Tagline)
				}
			}},
		{"several", "a todo app", "make the title say My Tasks and use a green theme in dark mode",
			[]string{faviconPath, configPath, indexHTMLPath, indexCSSPath},
			func(t *testing.T, fs []files.File, s appState) {
				if s.Title != "My Tasks" || s.Accent != "#15803d" || !s.Dark {
					t.Errorf("state = %+v", s)
				}
			}},
		{"partly already", "a green todo app", "make it green and switch to dark mode", []string{indexHTMLPath},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sort.Strings(tt.want) // files are in path order
			base := newApp(t, tt.app)
			plan, res, progress := change(t, base, tt.msg)

			var planned []string
			for _, c := range plan.Changes {
				if c.Action != Modify {
					t.Errorf("change %+v, want modify", c)
				}
				planned = append(planned, c.Path)
			}
			if !reflect.DeepEqual(planned, tt.want) {
				t.Errorf("planned changes = %v, want %v", planned, tt.want)
			}
			if len(progress) != len(tt.want) {
				t.Errorf("%d progress reports, want %d", len(progress), len(tt.want))
			}
			for i, p := range progress {
				f, _ := files.Find(res.Files, p.Path)
				if p.Path != tt.want[i] || p.Action != Modify || p.Bytes != len(f.Content) {
					t.Errorf("progress %d = %+v", i, p)
				}
			}

			// Only the planned files differ; every other file is byte-identical.
			if len(res.Files) != len(base.Files) {
				t.Fatalf("%d files, base had %d", len(res.Files), len(base.Files))
			}
			var changed []string
			for i, f := range res.Files {
				b := base.Files[i]
				if f.Path != b.Path {
					t.Fatalf("file %d is %s, base has %s", i, f.Path, b.Path)
				}
				if !bytes.Equal(f.Content, b.Content) {
					changed = append(changed, f.Path)
				}
			}
			if !reflect.DeepEqual(changed, tt.want) {
				t.Errorf("changed files = %v, want %v", changed, tt.want)
			}
			if !strings.HasPrefix(plan.Summary, "Offline generator: ") {
				t.Errorf("summary %q does not say it is the offline generator", plan.Summary)
			}
			s := state(t, res.State)
			if tt.check != nil {
				tt.check(t, res.Files, s)
			}
		})
	}
}

// A change and a new app with the same settings make the same files.
func TestOfflineChangeMatchesNewApp(t *testing.T) {
	tests := []struct{ first, later, direct string }{
		{"a todo app", `rename it to "Weekend Jobs", make it pink and use dark mode`,
			`a todo app called "Weekend Jobs" in pink, dark mode`},
		{"a dark notes app in teal", "switch to light mode and make it #ff8800",
			"a notes app with #ff8800"},
		{"a landing page for Acme", `rename it to Nimbus and change the tagline to "Storage that just works"`,
			`a landing page called Nimbus with the tagline "Storage that just works"`},
	}
	for _, tt := range tests {
		_, changed, _ := change(t, newApp(t, tt.first), tt.later)
		direct := newApp(t, tt.direct)
		if got, want := files.TreeHash(changed.Files), files.TreeHash(direct.Files); got != want {
			for _, f := range direct.Files {
				if c, _ := files.Find(changed.Files, f.Path); !bytes.Equal(c.Content, f.Content) {
					t.Errorf("%s differs:\nchanged: %s\ndirect:  %s", f.Path, c.Content, f.Content)
				}
			}
		}
		if s1, s2 := state(t, changed.State), state(t, direct.State); !sameLook(s1, s2) {
			t.Errorf("states differ: %+v vs %+v", s1, s2)
		}
	}
}

func TestOfflineUnsupportedChange(t *testing.T) {
	tests := []struct {
		app, msg string
		replyIn  []string
	}{
		{"a todo app", "add a login page", []string{"offline generator cannot make that change", "title",
			"accent colour", "dark mode", "OPENAI_API_KEY"}},
		{"a todo app", "make it look nicer", []string{"cannot make that change", "OPENAI_API_KEY"}},
		{"a landing page for Nimbus", "add a pricing section", []string{"tagline", "OPENAI_API_KEY"}},
		{"a green todo app", "make it green", []string{"Nothing to change: the accent is already green."}},
		{"a todo app", "switch to light mode", []string{"already in light mode"}},
		{"a dark todo app", "dark mode", []string{"dark mode is already on"}},
		{"a todo app for my groceries", "rename it to Groceries", []string{`the title is already "Groceries"`}},
		{"a green todo app in dark mode", "make it green in dark mode",
			[]string{"the accent is already green and dark mode is already on"}},
		{"a todo app", "change the tagline to Hello", []string{"cannot change the tagline"}},
	}
	for _, tt := range tests {
		t.Run(tt.app+"/"+tt.msg, func(t *testing.T) {
			base := newApp(t, tt.app)
			g := NewOffline()
			req := Request{Message: tt.msg, Base: base.Files, BaseState: base.State}
			plan, err := g.Plan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Supported || len(plan.Changes) != 0 || len(plan.State) != 0 {
				t.Fatalf("plan = %+v, want unsupported with no changes", plan)
			}
			for _, s := range tt.replyIn {
				if !strings.Contains(plan.Reply, s) {
					t.Errorf("reply %q does not say %q", plan.Reply, s)
				}
			}
			res, err := g.Generate(context.Background(), req, plan, nil)
			if !errors.Is(err, ErrInvalidRequest) || len(res.Files) != 0 {
				t.Errorf("generate = %d files, %v; want no files and ErrInvalidRequest", len(res.Files), err)
			}
		})
	}
}

func TestOfflineChangeNotesWhatItSkipped(t *testing.T) {
	plan, _, _ := change(t, newApp(t, "a todo app"), "make it green and add a login page")
	if !strings.Contains(plan.Summary, "made the accent colour green") ||
		!strings.Contains(plan.Summary, "not applied") || !strings.Contains(plan.Summary, "OPENAI_API_KEY") {
		t.Errorf("summary %q should say what was done and what was not", plan.Summary)
	}
}

// A missing or unreadable state is read back from the files.
func TestOfflineChangeWithoutState(t *testing.T) {
	base := newApp(t, "a counter called Laps in blue that counts by 3")
	for name, raw := range map[string]json.RawMessage{
		"missing":     nil,
		"corrupt":     json.RawMessage(`{"generator":`),
		"foreign":     json.RawMessage(`{"model":"gpt","messages":[]}`),
		"wrong kind":  json.RawMessage(`{"generator":"offline","version":1,"kind":"chat","title":"x","accent":"#000000"}`),
		"stale title": json.RawMessage(`{"generator":"offline","version":1,"kind":"counter","title":"Old","accent":"#2563eb","dark":false,"step":3}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, res, _ := change(t, Result{Files: base.Files, State: raw}, "rename it to Reps and make it red")
			s := state(t, res.State)
			if s.Kind != kindCounter || s.Title != "Reps" || s.Accent != "#dc2626" || s.Step != 3 {
				t.Errorf("state = %+v", s)
			}
		})
	}
}

// An app the offline generator did not make (no src/config.ts) still gets its title,
// accent and theme changed where they are.
func TestOfflineChangeForeignApp(t *testing.T) {
	base := Template()
	set := newFileSet(base)
	set.set("src/App.tsx", []byte("export default function App() {\n  return <h1>Shop</h1>\n}\n"))
	set.set("index.html", []byte(strings.Replace(string(fileText(t, base, "index.html")), "<title>App</title>", "<title>Shop</title>", 1)))
	base = set.files()

	_, res, _ := change(t, Result{Files: base}, "rename it to Market and use dark mode")
	if got := fileText(t, res.Files, "src/App.tsx"); !strings.Contains(got, "<h1>Market</h1>") {
		t.Errorf("App.tsx heading not renamed:\n%s", got)
	}
	html := fileText(t, res.Files, "index.html")
	if !strings.Contains(html, "<title>Market</title>") || !strings.Contains(html, `data-theme="dark"`) {
		t.Errorf("index.html not changed:\n%s", html)
	}
	if s := state(t, res.State); s.Kind != "" || s.Title != "Market" || !s.Dark {
		t.Errorf("state = %+v", s)
	}

	// Without the theme variables, the accent cannot change, and the reply says so; the
	// title still can.
	set = newFileSet(res.Files)
	set.set(indexCSSPath, []byte("body { color: teal; }\n"))
	bare := Result{Files: set.files(), State: res.State}
	plan, err := NewOffline().Plan(context.Background(), Request{Message: "make it green", Base: bare.Files, BaseState: bare.State})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Supported || !strings.Contains(plan.Reply, "cannot change the accent colour") {
		t.Errorf("plan = %+v, want unsupported: no accent variable", plan)
	}
	_, res, _ = change(t, bare, "rename it to Bazaar")
	if s := state(t, res.State); s.Title != "Bazaar" || s.Accent != "" {
		t.Errorf("state = %+v", s)
	}
}

func TestOfflineDeterministic(t *testing.T) {
	msgs := []string{
		"Create a todo app for my groceries with a green theme",
		"a notes app called Journal in dark mode",
		"a counter in #ff8800",
		"a pomodoro timer",
		"a landing page for Nimbus, a cloud storage app for teams",
	}
	for _, msg := range msgs {
		a, b := newApp(t, msg), newApp(t, msg)
		if files.TreeHash(a.Files) != files.TreeHash(b.Files) || !bytes.Equal(a.State, b.State) || a.Summary != b.Summary {
			t.Errorf("%q: two runs differ", msg)
		}
		_, ca, _ := change(t, a, "rename it to Again and make it purple")
		_, cb, _ := change(t, b, "rename it to Again and make it purple")
		if files.TreeHash(ca.Files) != files.TreeHash(cb.Files) || !bytes.Equal(ca.State, cb.State) {
			t.Errorf("%q: two changes differ", msg)
		}
	}
}

func TestOfflinePathsAreClean(t *testing.T) {
	for _, k := range kinds {
		for _, step := range buildChains[k.ID][:1] {
			res := newApp(t, step.message)
			for _, f := range res.Files {
				clean, err := files.CleanPath(f.Path)
				if err != nil || clean != f.Path {
					t.Errorf("%s: path %q: clean %q, %v", k.ID, f.Path, clean, err)
				}
			}
		}
	}
}

func TestOfflineInvalidRequest(t *testing.T) {
	g := NewOffline()
	for _, msg := range []string{"", "   ", "\n\t "} {
		if _, err := g.Plan(context.Background(), Request{Message: msg}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Plan(%q) error = %v, want ErrInvalidRequest", msg, err)
		}
		if _, err := g.Generate(context.Background(), Request{Message: msg}, Plan{}, nil); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Generate(%q) error = %v, want ErrInvalidRequest", msg, err)
		}
	}
}

func TestOfflineHonoursContext(t *testing.T) {
	g := NewOffline()
	req := Request{Message: "a todo app"}
	plan, err := g.Plan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Plan(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("Plan with a cancelled context: %v", err)
	}
	if _, err := g.Generate(ctx, req, plan, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a cancelled context: %v", err)
	}

	// Cancelled while writing: it stops at the next file.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	n := 0
	_, err = g.Generate(ctx, req, plan, func(Progress) {
		n++
		if n == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Errorf("cancelled mid-way: %d files reported, error %v", n, err)
	}
}

// A plan without state (from elsewhere, or lost) is made again from the request.
func TestOfflineGenerateWithoutPlanState(t *testing.T) {
	g := NewOffline()
	req := Request{Message: "a todo app for my groceries"}
	res, err := g.Generate(context.Background(), req, Plan{Supported: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := state(t, res.State); s.Title != "Groceries" {
		t.Errorf("title = %q", s.Title)
	}
}

func TestTemplateHasWhatChangesEdit(t *testing.T) {
	tpl := newFileSet(Template())
	html, _ := tpl.get(indexHTMLPath)
	css, _ := tpl.get(indexCSSPath)
	fav, _ := tpl.get(faviconPath)
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"<title> in index.html", titleTagRe.Match(html)},
		{"<html> in index.html", htmlTagRe.Match(html)},
		{"--accent in src/index.css", accentVarRe.Match(css)},
		{"--accent-contrast in src/index.css", contrastVarRe.Match(css)},
		{"the recolourable favicon", faviconRe.Match(fav)},
		{"the dark theme in src/index.css", bytes.Contains(css, []byte(":root[data-theme='dark']"))},
	} {
		if !c.ok {
			t.Errorf("template lacks %s", c.what)
		}
	}
	if s := stateFromFiles(Template()); s.Accent != defaultAccent.Hex || s.Title != "App" || s.Dark {
		t.Errorf("template state = %+v", s)
	}
}
