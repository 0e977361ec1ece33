package llmscript_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/llmscript"
)

// app is the file set of an app as the scripted tool calls leave it, applied the way the
// agent applies them. It is a test double of the agent's file tools, strict where the
// script must be right: an edit_file old_text occurs exactly once, read_file and
// delete_file name existing files, nothing follows finish.
type app struct {
	files    map[string][]byte
	finished bool
	refused  []string // paths the agent refuses (outside the app), in order
	rejected []string // answers the agent sends back: unknown tools, bad JSON, truncated
	written  int      // write_file calls applied
}

func newApp(base []files.File) *app {
	a := &app{files: make(map[string][]byte, len(base))}
	for _, f := range base {
		a.files[f.Path] = f.Content
	}
	return a
}

func (a *app) list() []files.File {
	out := make([]files.File, 0, len(a.files))
	for p, c := range a.files {
		out = append(out, files.File{Path: p, Content: c})
	}
	return files.Sort(out)
}

// configFiles are the files outside src/ and public/ the model may write (package.json
// changes only through add_dependency).
var configFiles = []string{"index.html", "tsconfig.json"}

// allowed is the agent's path policy: inside the app, under src/ or public/, or a known
// config file.
func allowed(p string) bool {
	clean, err := files.CleanPath(p)
	if err != nil || clean != p {
		return false
	}
	return strings.HasPrefix(p, "src/") || strings.HasPrefix(p, "public/") || slices.Contains(configFiles, p)
}

// apply plays one answer. Errors are script bugs; what the agent would refuse or reject
// is recorded instead.
func (a *app) apply(ans llmscript.Answer) error {
	if a.finished {
		return errors.New("an answer after finish")
	}
	if ans.FinishReason == "length" {
		a.rejected = append(a.rejected, "truncated answer")
		return nil
	}
	if len(ans.ToolCalls) == 0 {
		a.rejected = append(a.rejected, "no tool call")
		return nil
	}
	known := []string{"write_file", "edit_file", "delete_file", "read_file", "list_files", "add_dependency", "finish"}
	for _, tc := range ans.ToolCalls {
		if !slices.Contains(known, tc.Name) {
			a.rejected = append(a.rejected, "unknown tool "+tc.Name)
			continue
		}
		var args struct {
			Path    *string `json:"path"`
			Content *string `json:"content"`
			OldText *string `json:"old_text"`
			NewText *string `json:"new_text"`
			Summary *string `json:"summary"`
		}
		if err := json.Unmarshal([]byte(tc.Arguments), &args); err != nil {
			a.rejected = append(a.rejected, "malformed arguments of "+tc.Name)
			continue
		}
		if a.finished {
			return errors.New("a tool call after finish")
		}
		str := func(p *string, name string) (string, error) {
			if p == nil {
				return "", errors.New(tc.Name + ": missing " + name)
			}
			return *p, nil
		}
		p := ""
		if tc.Name != "list_files" && tc.Name != "finish" && tc.Name != "add_dependency" {
			var err error
			if p, err = str(args.Path, "path"); err != nil {
				return err
			}
			if !allowed(p) {
				a.refused = append(a.refused, p)
				continue
			}
		}
		switch tc.Name {
		case "write_file":
			content, err := str(args.Content, "content")
			if err != nil {
				return err
			}
			a.files[p] = []byte(content)
			a.written++
		case "edit_file":
			old, err := str(args.OldText, "old_text")
			if err != nil {
				return err
			}
			repl, err := str(args.NewText, "new_text")
			if err != nil {
				return err
			}
			cur, ok := a.files[p]
			if !ok {
				return errors.New("edit_file: no file " + p)
			}
			if n := strings.Count(string(cur), old); n != 1 {
				return errors.New("edit_file " + p + ": old_text occurs " + strconv.Itoa(n) + " times, want exactly once: " + old)
			}
			a.files[p] = []byte(strings.Replace(string(cur), old, repl, 1))
		case "delete_file":
			if _, ok := a.files[p]; !ok {
				return errors.New("delete_file: no file " + p)
			}
			delete(a.files, p)
		case "read_file":
			if _, ok := a.files[p]; !ok {
				return errors.New("read_file: no file " + p)
			}
		case "list_files":
		case "finish":
			if _, err := str(args.Summary, "summary"); err != nil {
				return err
			}
			a.finished = true
		case "add_dependency":
			return errors.New("add_dependency: not supported by the test applier")
		}
	}
	return nil
}

// extraSteps is how many steps past its script a never-finishing scenario is played.
const extraSteps = 5

// playRound applies every scripted step of round r and reports whether it ended with
// finish.
func playRound(sc *llmscript.Scenario, a *app, r int) error {
	a.finished = false
	n := sc.Steps(r)
	if sc.RepeatsLast() {
		n += extraSteps
	}
	for i := range n {
		ans, err := sc.Answer(r, i)
		if err != nil {
			return err
		}
		if err := a.apply(ans); err != nil {
			return errors.New("step " + strconv.Itoa(i) + ": " + err.Error())
		}
		if a.finished && i != n-1 {
			return errors.New("finish at step " + strconv.Itoa(i) + " before the last step")
		}
	}
	if sc.RepeatsLast() == a.finished {
		if a.finished {
			return errors.New("a never-finishing scenario finished")
		}
		return errors.New("round " + strconv.Itoa(r) + " does not end with finish")
	}
	return nil
}

// rounds plays a scenario on top of its base and returns the files after each round.
func rounds(t *testing.T, byName map[string]*llmscript.Scenario, sc *llmscript.Scenario) (base []files.File, out [][]files.File, last *app) {
	t.Helper()
	base = generate.Template()
	if sc.Base != "" {
		b, ok := byName[sc.Base]
		if !ok {
			t.Fatalf("base %q is not a scenario", sc.Base)
		}
		_, bo, _ := rounds(t, byName, b)
		base = bo[len(bo)-1]
	}
	a := newApp(base)
	for r := range sc.Rounds() {
		if err := playRound(sc, a, r); err != nil {
			t.Fatalf("%s round %d: %v", sc.Name, r, err)
		}
		out = append(out, a.list())
	}
	return base, out, a
}

// depsDir is the shared dependency cache of the builds: APPFORGE_TEST_DEPS_DIR (as
// `make test` sets it) or one temporary folder for the whole run.
var (
	depsOnce sync.Once
	depsPath string
)

func depsDir(t *testing.T) string {
	if d := os.Getenv("APPFORGE_TEST_DEPS_DIR"); d != "" {
		return d
	}
	depsOnce.Do(func() {
		d, err := os.MkdirTemp("", "llmscript-deps-")
		if err != nil {
			t.Fatal(err)
		}
		depsPath = d
	})
	return depsPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if depsPath != "" {
		_ = os.RemoveAll(depsPath)
	}
	os.Exit(code)
}

// TestBuiltinScenariosBuild plays every builtin scenario's tool calls on the template
// (and on its base scenario's files, for a follow-up) and builds each round's result with
// the real builder, type check included: every final state builds, and a round followed
// by a repair round fails the way the repair expects.
func TestBuiltinScenariosBuild(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm is not on PATH and CI is set: the builds must run: %v", err)
		}
		t.Skip("npm is not on PATH: skipping the real builds of the scenarios")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	b, err := build.New(build.Config{WorkDir: t.TempDir(), CacheDir: depsDir(t)})
	if err != nil {
		t.Fatal(err)
	}

	scs := llmscript.Builtin()
	byName := make(map[string]*llmscript.Scenario, len(scs))
	for i := range scs {
		byName[scs[i].Name] = &scs[i]
	}
	for i := range scs {
		sc := &scs[i]
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			if !sc.Plan.IsWebApp {
				if sc.Steps(0) != 0 || sc.Plan.Reply == "" {
					t.Fatalf("not a web app: got %d steps and reply %q, want no steps and a reply", sc.Steps(0), sc.Plan.Reply)
				}
				return
			}
			base, states, last := rounds(t, byName, sc)
			checkPlan(t, sc, base, states[len(states)-1])
			checkScenario(t, sc, base, states, last)
			for r, fs := range states {
				out, err := b.Build(ctx, build.Request{ID: sc.Name + "-r" + strconv.Itoa(r), Files: fs, TypeCheck: true}, nil)
				if r == len(states)-1 {
					if err != nil {
						t.Fatalf("round %d (final): build failed: %v", r, err)
					}
					t.Logf("round %d builds: %d source files, %d output files, %d bytes gzipped", r, len(fs), len(out.Assets), out.Report.TotalGzipSize)
					continue
				}
				var f *build.Failure
				if !errors.As(err, &f) {
					t.Fatalf("round %d is repaired by round %d, so its build must fail with a *build.Failure; got %v", r, r+1, err)
				}
				checkFailure(t, sc, r, f)
			}
		})
	}
}

// checkPlan checks that every file the plan names ends up as the plan says.
func checkPlan(t *testing.T, sc *llmscript.Scenario, base, final []files.File) {
	t.Helper()
	if len(sc.Plan.Files) == 0 {
		t.Error("plan lists no files")
	}
	for _, pf := range sc.Plan.Files {
		before, inBase := files.Find(base, pf.Path)
		after, inFinal := files.Find(final, pf.Path)
		switch pf.Action {
		case "create":
			if inBase || !inFinal {
				t.Errorf("plan creates %s: in base %v, at the end %v; want false, true", pf.Path, inBase, inFinal)
			}
		case "modify":
			if !inBase || !inFinal || string(before.Content) == string(after.Content) {
				t.Errorf("plan modifies %s: it must be in the base and changed at the end", pf.Path)
			}
		case "delete":
			if !inBase || inFinal {
				t.Errorf("plan deletes %s: in base %v, at the end %v; want true, false", pf.Path, inBase, inFinal)
			}
		}
	}
}

// checkScenario checks what each scenario is there to prove.
func checkScenario(t *testing.T, sc *llmscript.Scenario, base []files.File, states [][]files.File, a *app) {
	t.Helper()
	final := states[len(states)-1]
	switch sc.Name {
	case "recipe-book-search":
		// Only the planned files change; everything else carries over byte for byte.
		var changed []string
		for _, f := range final {
			if b, ok := files.Find(base, f.Path); !ok || string(b.Content) != string(f.Content) {
				changed = append(changed, f.Path)
			}
		}
		want := []string{"src/App.css", "src/App.tsx", "src/components/SearchBar.tsx"}
		if !slices.Equal(changed, want) || len(final) != len(base)+1 {
			t.Errorf("changed files: got %v (%d files from %d), want %v and one new file", changed, len(final), len(base), want)
		}
	case "escape-attempt":
		want := []string{"../../etc/passwd", "/tmp/x", "node_modules/x/index.js", ".env"}
		if !slices.Equal(a.refused, want) {
			t.Errorf("refused paths: got %q, want %q", a.refused, want)
		}
	case "file-flood":
		if a.written < 300 {
			t.Errorf("file-flood wrote %d files, want at least 300", a.written)
		}
	case "fault-malformed-json":
		if !slices.Contains(a.rejected, "malformed arguments of write_file") {
			t.Errorf("rejected: got %q, want a malformed write_file", a.rejected)
		}
	case "fault-truncated":
		if !slices.Contains(a.rejected, "truncated answer") {
			t.Errorf("rejected: got %q, want a truncated answer", a.rejected)
		}
	case "fault-no-tool-call":
		if !slices.Equal(a.rejected, []string{"no tool call"}) {
			t.Errorf("rejected: got %q, want one answer without a tool call", a.rejected)
		}
	case "fault-unknown-tool":
		if len(a.rejected) != 1 || !strings.HasPrefix(a.rejected[0], "unknown tool ") {
			t.Errorf("rejected: got %q, want one unknown tool", a.rejected)
		}
	default:
		if len(a.refused)+len(a.rejected) > 0 {
			t.Errorf("refused %q and rejected %q; want none", a.refused, a.rejected)
		}
	}
}

// checkFailure checks the failure a repair round answers.
func checkFailure(t *testing.T, sc *llmscript.Scenario, r int, f *build.Failure) {
	t.Helper()
	t.Logf("round %d fails as scripted: %v", r, f)
	if sc.Name != "typescript-repair" {
		return
	}
	if f.Stage != build.StageTypeCheck {
		t.Errorf("stage: got %q, want %q", f.Stage, build.StageTypeCheck)
	}
	want := "error TS2322: Type 'number' is not assignable to type 'string'"
	for _, e := range f.Errors {
		if strings.Contains(e, "src/components/HabitRow.tsx") && strings.Contains(e, want) {
			return
		}
	}
	t.Errorf("errors: got %q, want one in src/components/HabitRow.tsx containing %q", f.Errors, want)
}
