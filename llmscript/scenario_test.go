package llmscript_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/appforge/appforge/llmscript"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for p, c := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(c)}
	}
	return fsys
}

const okPlan = `"plan": {"is_web_app": true, "reply": "r", "title": "T", "summary": "s", "files": []}`

func TestLoadScenariosRejects(t *testing.T) {
	step := `"steps": [{"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}]`
	for _, tc := range []struct {
		name, json, want string
	}{
		{"unknown field", `{"request": "x", "colour": "red", ` + okPlan + `, ` + step + `}`, `unknown field "colour"`},
		{"name differs from folder", `{"name": "b", "request": "x", ` + okPlan + `, ` + step + `}`, `differs from its folder`},
		{"no request or match", `{` + okPlan + `, ` + step + `}`, `needs a request or a match rule`},
		{"match misses its request", `{"request": "make a clock", "match": {"contains": "stopwatch"}, ` + okPlan + `, ` + step + `}`, `does not match its own request`},
		{"bad regexp", `{"request": "x", "match": {"regexp": "("}, ` + okPlan + `, ` + step + `}`, `match:`},
		{"no plan", `{"request": "x", ` + step + `}`, `needs a plan`},
		{"web app without steps", `{"request": "x", ` + okPlan + `}`, `a web app needs steps`},
		{"bad plan action", `{"request": "x", "plan": {"is_web_app": true, "files": [{"path": "a", "action": "rename"}]}, ` + step + `}`, `action "rename"`},
		{"bad fault kind", `{"request": "x", ` + okPlan + `, "steps": [{"fault": "418", "content": "hi"}]}`, `kind "418"`},
		{"delay on a 429", `{"request": "x", ` + okPlan + `, "steps": [{"fault": {"kind": "429", "delay": "1s"}, "content": "hi"}]}`, `delay goes with kind slow`},
		{"bad duration", `{"request": "x", ` + okPlan + `, "steps": [{"fault": {"kind": "slow", "delay": "soon"}, "content": "hi"}]}`, `duration "soon"`},
		{"empty step", `{"request": "x", ` + okPlan + `, "steps": [{}]}`, `needs content or tool_calls`},
		{"missing file", `{"request": "x", ` + okPlan + `, "steps": [{"tool_calls": [{"name": "write_file", "arguments": {"path": "a", "content": {"$file": "nope.ts"}}}]}]}`, `nope.ts`},
		{"file outside", `{"request": "x", ` + okPlan + `, "steps": [{"tool_calls": [{"name": "write_file", "arguments": {"content": {"$file": "../../etc/passwd"}}}]}]}`, `leaves the scenario folders`},
		{"arguments and raw", `{"request": "x", ` + okPlan + `, "steps": [{"tool_calls": [{"name": "f", "arguments": {}, "raw_arguments": "{"}]}]}`, `not both`},
		{"arguments not an object", `{"request": "x", ` + okPlan + `, "steps": [{"tool_calls": [{"name": "f", "arguments": [1]}]}]}`, `not an object`},
		{"bad finish reason", `{"request": "x", ` + okPlan + `, "steps": [{"content": "hi", "finish_reason": "tired"}]}`, `finish_reason "tired"`},
		{"unknown base", `{"request": "x", "base": "nothing", ` + okPlan + `, ` + step + `}`, `base "nothing"`},
		{"repeat and repairs", `{"request": "x", "repeat_last": true, ` + okPlan + `, ` + step + `, "repairs": [[{"content": "x"}]]}`, `repeat_last and repairs`},
		{"not a web app with steps", `{"request": "x", "plan": {"is_web_app": false, "reply": "no"}, ` + step + `}`, `has no steps`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := llmscript.LoadScenarios(mapFS(map[string]string{"a/scenario.json": tc.json}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := llmscript.LoadScenarios(mapFS(map[string]string{"a/readme.md": "x"})); err == nil {
		t.Error("a folder without scenarios: no error")
	}
}

func TestBuiltinLoads(t *testing.T) {
	scs := llmscript.Builtin()
	want := []string{
		"escape-attempt", "fault-429", "fault-500", "fault-disconnect", "fault-malformed-json", "fault-no-tool-call",
		"fault-slow-stream", "fault-truncated", "fault-unknown-tool", "file-flood", "never-finishes", "not-a-web-app",
		"recipe-book", "recipe-book-basic", "recipe-book-search", "typescript-repair",
	}
	var got []string
	for _, sc := range scs {
		got = append(got, sc.Name)
		if sc.Request == "" || sc.Description == "" {
			t.Errorf("%s: request and description are documentation: fill them in", sc.Name)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("builtin scenarios: got %v, want %v", got, want)
	}
}

// TestCustomScenario covers what the builtins do not use: a regexp match, a fault on the
// plan call, a fault played twice, a disconnect at a chosen chunk, placeholders in a
// repeated call, and a server with no key and no model list.
func TestCustomScenario(t *testing.T) {
	scs, err := llmscript.LoadScenarios(mapFS(map[string]string{
		"clock/scenario.json": `{
			"request": "Make me a clock, please",
			"match": {"regexp": "\\b(clock|watch)\\b"},
			"plan": {"is_web_app": true, "reply": "ok", "title": "Clock", "summary": "A clock.", "files": [{"path": "src/App.tsx", "action": "modify", "purpose": "the clock"}]},
			"plan_fault": {"kind": "500", "times": 2},
			"steps": [
				{"fault": {"kind": "disconnect", "cut_after": 2}, "tool_calls": [{"name": "write_file", "repeat": 3, "arguments": {"path": "src/c{{step}}-{{i}}.ts", "content": {"$file": "body.txt"}, "n": 1}}]},
				{"tool_calls": [{"name": "finish", "arguments": {"summary": "{{step}} {{i}}"}}]}
			]
		}`,
		"clock/body.txt": "export const tick = '{{step}}'\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, llmscript.Options{Scenarios: scs}) // any key, any model
	client := f.clientWith("any-key-will-do")
	ctx := context.Background()

	req := planRequest("what a WATCH", false)
	req.Model = "whatever-model"
	for range 2 {
		_, err := client.CreateChatCompletion(ctx, req)
		checkAPIError(t, err, http.StatusInternalServerError, "", "server had an error")
	}
	if _, err := client.CreateChatCompletion(ctx, req); err != nil {
		t.Fatalf("plan after two faults: %v", err)
	}

	a, err := scs[0].Answer(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ToolCalls) != 3 || a.ToolCalls[2].Arguments != `{"path": "src/c0-2.ts", "content": "export const tick = '{{step}}'\n", "n": 1}` {
		t.Errorf("repeated call: got %+v; want 3 calls, placeholders filled in inline strings only", a.ToolCalls)
	}
	if fin, _ := scs[0].Answer(0, 1); fin.ToolCalls[0].Arguments != `{"summary": "1 0"}` {
		t.Errorf("finish: got %s", fin.ToolCalls[0].Arguments)
	}
	for _, at := range [][2]int{{0, 2}, {1, 0}, {0, -1}} {
		if _, err := scs[0].Answer(at[0], at[1]); !errors.Is(err, llmscript.ErrNoStep) {
			t.Errorf("Answer(%d, %d): got %v, want ErrNoStep", at[0], at[1], err)
		}
	}

	wreq := writeRequest(opening("a clock"))
	stream, err := client.CreateChatCompletionStream(ctx, wreq)
	if err != nil {
		t.Fatal(err)
	}
	s := readStream(t, stream)
	if !errors.Is(s.err, io.ErrUnexpectedEOF) || s.chunks != 2 {
		t.Errorf("cut after chunk 2: got %d chunks and error %v, want 2 and an unexpected EOF", s.chunks, s.err)
	}
	stream, err = client.CreateChatCompletionStream(ctx, wreq)
	if err != nil {
		t.Fatal(err)
	}
	if s = readStream(t, stream); s.err != nil || len(s.calls) != 3 || s.usage == nil {
		t.Errorf("after the cut: %d calls, usage %v, error %v", len(s.calls), s.usage, s.err)
	}

	list, err := client.ListModels(ctx)
	if err != nil || len(list.Models) != 1 || list.Models[0].ID != llmscript.DefaultModel {
		t.Errorf("models without a list: got %+v, %v; want only %s", list.Models, err, llmscript.DefaultModel)
	}
}
