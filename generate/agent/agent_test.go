package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

const recipeRequest = "Create a recipe book where I can add recipes with ingredients and search them"

func TestNew(t *testing.T) {
	tests := []struct {
		cfg     Config
		name    string
		repairs int
		wantErr bool
	}{
		{Config{Repairs: 3}, "gpt-4.1 (api.openai.com)", 3, false},
		{Config{BaseURL: "http://localhost:11434/v1/", Model: "qwen2.5-coder", Repairs: 5}, "qwen2.5-coder (localhost:11434)", 5, false},
		{Config{}, "gpt-4.1 (api.openai.com)", 0, false},
		{Config{Repairs: -1}, "", 0, true},
		{Config{BaseURL: "ftp://example.com"}, "", 0, true},
		{Config{BaseURL: "not a url"}, "", 0, true},
	}
	for _, tt := range tests {
		a, err := New(tt.cfg)
		if (err != nil) != tt.wantErr {
			t.Errorf("New(%+v) error = %v, want error %v", tt.cfg, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := a.Name(); got != tt.name {
			t.Errorf("Name() = %q, want %q", got, tt.name)
		}
		if got, want := generate.Describe(a), "the model "+tt.name; got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
		if got := a.Repairs(); got != tt.repairs {
			t.Errorf("Repairs() = %d, want %d", got, tt.repairs)
		}
		if got := a.Limits(); got != generate.DefaultLimits {
			t.Errorf("Limits() = %+v, want the defaults", got)
		}
	}
}

func TestNewErrorHidesCredentials(t *testing.T) {
	_, err := New(Config{BaseURL: "ftp://user:hunter2secret@example.com/v1"})
	if err == nil || strings.Contains(err.Error(), "hunter2secret") {
		t.Fatalf("New error = %v, want an error without the URL's password", err)
	}
}

func TestPrices(t *testing.T) {
	tests := []struct {
		model   string
		in, out float64
		known   bool
	}{
		{"gpt-4.1", 2, 8, true},
		{"openai/gpt-4.1-mini", 0.4, 1.6, true},
		{"gpt-4o-2024-08-06", 2.5, 10, true},
		{"llama3.1:8b", 0, 0, false},
	}
	for _, tt := range tests {
		got := priceOf(tt.model)
		if got.in != tt.in || got.out != tt.out || got.known != tt.known {
			t.Errorf("priceOf(%q) = %+v, want %v/%v known %v", tt.model, got, tt.in, tt.out, tt.known)
		}
	}
	a, _ := New(Config{Model: "llama3.1:8b", InputPrice: 1, OutputPrice: 2})
	u, _ := a.usage(nil, 4_000_000, 4_000_000)
	if u.PromptTokens != 1_000_000 || u.CompletionTokens != 1_000_000 || u.CostUSD != 3 {
		t.Errorf("estimated usage = %+v, want 1M tokens each costing $3", u)
	}
}

func TestPlan(t *testing.T) {
	args := mustJSON(map[string]any{
		"is_web_app": true, "reply": "", "title": "Recipe Book",
		"summary": "A recipe book with a search box.",
		"files": []any{
			map[string]any{"path": "src/types.ts", "action": "create", "purpose": "Recipe type"},
			map[string]any{"path": "src/components/RecipeList.tsx", "action": "create", "purpose": "the list"},
			map[string]any{"path": "src/App.tsx", "action": "create", "purpose": "wire it up"},
			map[string]any{"path": "../etc/passwd", "action": "create", "purpose": "bad"},
			map[string]any{"path": ".env", "action": "create", "purpose": "bad"},
			map[string]any{"path": "src/gone.ts", "action": "delete", "purpose": "not there"},
		},
	})
	s, a := newScripted(t, planAnswer(args))
	plan, err := a.Plan(context.Background(), generate.Request{AppID: "app_1", Message: recipeRequest})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Supported || plan.Title != "Recipe Book" || plan.Summary != "A recipe book with a search box." {
		t.Errorf("plan = %+v", plan)
	}
	want := []generate.Change{{Path: "src/types.ts", Action: generate.Create},
		{Path: "src/components/RecipeList.tsx", Action: generate.Create}, {Path: "src/App.tsx", Action: generate.Modify}}
	if mustJSON(plan.Changes) != mustJSON(want) {
		t.Errorf("changes = %v, want %v", plan.Changes, want)
	}
	wantUsage := generate.Usage{Calls: 1, PromptTokens: 2000, CompletionTokens: 150, CostUSD: (2000*2.0 + 150*8.0) / 1e6}
	if plan.Usage != wantUsage {
		t.Errorf("usage = %+v, want %+v", plan.Usage, wantUsage)
	}
	var st PlanState
	if err := json.Unmarshal(plan.State, &st); err != nil {
		t.Fatal(err)
	}
	if st.PlanUsage != wantUsage || len(st.Files) != 3 || st.Files[1].Purpose != "the list" || len(st.Dropped) != 2 {
		t.Errorf("state = %s", plan.State)
	}

	req := s.request(0)
	if req.Stream {
		t.Error("the plan call streamed")
	}
	choice, _ := json.Marshal(req.ToolChoice)
	if !strings.Contains(string(choice), `"name":"submit_plan"`) {
		t.Errorf("tool_choice = %s, want submit_plan forced", choice)
	}
	contains(t, "plan request", lastUser(req), recipeRequest, "new app", "src/App.tsx", "<file path=\"src/App.tsx\">")
	if s.auth[0] != "Bearer "+testKey {
		t.Errorf("Authorization = %q", s.auth[0])
	}
}

func TestPlanNotAWebApp(t *testing.T) {
	_, a := newScripted(t, planAnswer(`{"is_web_app": false, "reply": "Paris is the capital of France.", "title": "", "summary": "", "files": []}`))
	plan, err := a.Plan(context.Background(), generate.Request{Message: "What is the capital of France?"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Supported || plan.Reply != "Paris is the capital of France." || len(plan.Changes) != 0 || plan.Usage.Calls != 1 {
		t.Errorf("plan = %+v", plan)
	}
}

func TestPlanBadAnswers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"malformed JSON", planAnswer(`{"is_web_app": true, "files": [`)},
		{"no tool call", stream(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, a := newScripted(t, tt.handler)
			_, err := a.Plan(context.Background(), generate.Request{Message: "a todo app"})
			var pe *generate.ProviderError
			if !errors.As(err, &pe) || pe.Kind != "transient" {
				t.Errorf("Plan error = %v, want a transient provider error", err)
			}
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	s, a := newScripted(t)
	for _, msg := range []string{"", "  \n\t ", strings.Repeat("x", 16<<10+1)} {
		_, err := a.Plan(context.Background(), generate.Request{Message: msg})
		if !errors.Is(err, generate.ErrInvalidRequest) {
			t.Errorf("Plan(%d bytes) error = %v, want ErrInvalidRequest", len(msg), err)
		}
		_, err = a.Step(context.Background(), generate.StepInput{Request: generate.Request{Message: msg}, Step: 1}, nil)
		if !errors.Is(err, generate.ErrInvalidRequest) {
			t.Errorf("Step(%d bytes) error = %v, want ErrInvalidRequest", len(msg), err)
		}
	}
	_, err := a.Plan(context.Background(), generate.Request{Message: strings.Repeat("x", 16<<10+1)})
	contains(t, "huge message error", err.Error(), "16.0 KB")
	if s.count() != 0 {
		t.Errorf("%d model calls, want none", s.count())
	}
}

func firstStep() generate.StepInput {
	return generate.StepInput{
		Request: generate.Request{AppID: "app_1", Message: recipeRequest},
		Plan: generate.Plan{Supported: true, Title: "Recipe Book", Summary: "A recipe book.",
			Changes: []generate.Change{{Path: "src/App.tsx", Action: generate.Modify}}},
		Files: generate.Template(),
		Step:  1,
	}
}

func TestStepWritesFilesThenFinishes(t *testing.T) {
	list := "export default function RecipeList() {\n  return <ul className=\"recipes\">\n  </ul>\n}\n"
	app := "import RecipeList from './components/RecipeList'\n\nexport default function App() {\n  return <main className=\"page\"><h1>Recipes — «Küche» 🍲</h1><RecipeList /></main>\n}\n"
	s, a := newScripted(t, toolAnswer("tool_calls", 7,
		tc{"write_file", writeArgs("src/components/RecipeList.tsx", list)},
		tc{"write_file", writeArgs("src/App.tsx", app)},
		tc{"finish", `{"summary": "A recipe book."}`},
	))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Finished || out.Summary != "A recipe book." || out.Stopped != "" || len(out.Notes) != 0 {
		t.Errorf("out = finished %v summary %q stopped %q notes %q", out.Finished, out.Summary, out.Stopped, out.Notes)
	}
	roles := []string{}
	for _, m := range out.Messages {
		roles = append(roles, m.Role)
	}
	if got, want := strings.Join(roles, ","), "system,user,assistant,tool,tool,tool"; got != want {
		t.Fatalf("message roles = %s, want %s", got, want)
	}
	contains(t, "first user message", out.Messages[1].Content, "## Request\n\n"+recipeRequest+"\n", "## Plan: Recipe Book", "- modify src/App.tsx",
		"This is a new app", "<file path=\"src/App.tsx\">", "<file path=\"src/index.css\">")
	contains(t, "system prompt", out.Messages[0].Content, "React 19", "noUnusedLocals", "finish", "secrets", "src/")
	asst := out.Messages[2]
	if len(asst.ToolCalls) != 3 || asst.ToolCalls[0].ID != "call_1" || asst.ToolCalls[1].Name != "write_file" {
		t.Errorf("assistant tool calls = %+v", asst.ToolCalls)
	}
	for i, m := range out.Messages[3:] {
		if m.ToolCallID != asst.ToolCalls[i].ID {
			t.Errorf("tool message %d answers %q, want %q", i, m.ToolCallID, asst.ToolCalls[i].ID)
		}
	}
	if f, _ := files.Find(out.Files, "src/App.tsx"); string(f.Content) != app {
		t.Errorf("src/App.tsx = %q, want %q", f.Content, app)
	}
	if f, _ := files.Find(out.Files, "src/components/RecipeList.tsx"); string(f.Content) != list {
		t.Errorf("RecipeList = %q", f.Content)
	}
	wantChanges := []generate.Change{{Path: "src/App.tsx", Action: generate.Modify}, {Path: "src/components/RecipeList.tsx", Action: generate.Create}}
	if mustJSON(out.Changes) != mustJSON(wantChanges) {
		t.Errorf("changes = %v, want %v", out.Changes, wantChanges)
	}
	if len(out.Files) != len(generate.Template())+1 {
		t.Errorf("%d files, want the template's and one more", len(out.Files))
	}
	wantUsage := generate.Usage{Calls: 1, PromptTokens: 1200, CompletionTokens: 340, CostUSD: (1200*2.0 + 340*8.0) / 1e6}
	if out.Usage != wantUsage {
		t.Errorf("usage = %+v, want %+v", out.Usage, wantUsage)
	}
	req := s.request(0)
	if !req.Stream || req.StreamOptions == nil || !req.StreamOptions.IncludeUsage {
		t.Errorf("stream = %v, options %+v; want a stream with usage", req.Stream, req.StreamOptions)
	}
	var names []string
	for _, tl := range req.Tools {
		names = append(names, tl.Function.Name)
	}
	if got := strings.Join(names, ","); got != "write_file,edit_file,delete_file,read_file,list_files,add_dependency,finish" {
		t.Errorf("tools = %s", got)
	}
}

func TestStepEditFileOnLaterStep(t *testing.T) {
	in := firstStep()
	in.Step = 2
	in.Transcript = []generate.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"},
		{Role: "assistant", ToolCalls: []generate.ToolCall{{ID: "call_9", Name: "list_files", Arguments: "{}"}}},
		{Role: "tool", ToolCallID: "call_9", Content: "…"}}
	s, a := newScripted(t, toolAnswer("tool_calls", 5,
		tc{"edit_file", `{"path": "src/App.tsx", "old_text": "<h1>New app</h1>", "new_text": "<h1>Recipes</h1>"}`},
		tc{"edit_file", `{"path": "src/App.tsx", "old_text": "not in the file", "new_text": "x"}`},
	))
	out, err := a.Step(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 3 || out.Messages[0].Role != "assistant" {
		t.Fatalf("messages = %+v, want the assistant and two tool results only", out.Messages)
	}
	contains(t, "edit result", out.Messages[1].Content, "Edited src/App.tsx at line 4")
	contains(t, "failed edit result", out.Messages[2].Content, "Error: old_text was not found")
	f, _ := files.Find(out.Files, "src/App.tsx")
	contains(t, "App.tsx", string(f.Content), "<h1>Recipes</h1>")
	if out.Finished || out.Stopped != "" || len(out.Changes) != 1 {
		t.Errorf("finished %v stopped %q changes %v", out.Finished, out.Stopped, out.Changes)
	}
	if got := len(s.request(0).Messages); got != 4 {
		t.Errorf("sent %d messages, want the 4 of the transcript", got)
	}
}

func TestStepProgress(t *testing.T) {
	content := strings.Repeat("const line = 'abcdefghij'\n", 200) // 5,200 bytes
	_, a := newScripted(t, toolAnswer("tool_calls", 100,
		tc{"write_file", writeArgs("src/big.ts", content)},
		tc{"edit_file", `{"path": "src/App.tsx", "old_text": "New app", "new_text": "Recipes"}`},
	))
	var clock time.Time
	var mu sync.Mutex
	a.now = func() time.Time { // every look at the clock is 100 ms later
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(100 * time.Millisecond)
		return clock
	}
	var events []generate.Progress
	out, err := a.Step(context.Background(), firstStep(), func(p generate.Progress) { events = append(events, p) })
	if err != nil {
		t.Fatal(err)
	}
	var writing []generate.Progress
	wrote := false
	for _, e := range events {
		switch {
		case e.Path == "src/big.ts" && strings.HasPrefix(e.Message, "writing "):
			writing = append(writing, e)
		case e.Path == "src/big.ts" && strings.HasPrefix(e.Message, "wrote "):
			wrote = true
		}
	}
	chunks := len(pieces(writeArgs("src/big.ts", content), 100))
	if len(writing) < 3 || len(writing) >= chunks {
		t.Errorf("%d writing events for %d chunks, want several but throttled", len(writing), chunks)
	}
	for i := 1; i < len(writing); i++ {
		if writing[i].Bytes <= writing[i-1].Bytes {
			t.Errorf("event %d: %d bytes after %d", i, writing[i].Bytes, writing[i-1].Bytes)
		}
	}
	if last := writing[len(writing)-1]; last.Bytes != len(content) || last.Action != generate.Create || last.Message != "writing src/big.ts (5.1 KB)" {
		t.Errorf("last writing event = %+v, want all %d bytes", last, len(content))
	}
	// Executed changes are reported through StepOutput.Changes, not as progress.
	if wrote {
		t.Errorf("progress repeated an executed change; events: %+v", events)
	}
	if len(out.Changes) != 2 {
		t.Errorf("changes = %+v, want src/big.ts and src/App.tsx", out.Changes)
	}
	edited := false
	for _, e := range events {
		if e.Path == "src/App.tsx" && e.Action == generate.Modify && strings.HasPrefix(e.Message, "edit") {
			edited = true
		}
	}
	if !edited {
		t.Errorf("no event for the edit; events: %+v", events)
	}
	if len(out.Changes) != 2 {
		t.Errorf("changes = %v", out.Changes)
	}
}

func TestStepProviderErrors(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		kind      string
		message   string
		retryMin  time.Duration
		retryMax  time.Duration
		retryable bool
	}{
		{"401", apiError(401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided: "+testKey, nil),
			"auth", "the model provider refused the API key; check OPENAI_API_KEY", 0, 0, false},
		{"403", apiError(403, "", "", "forbidden", nil), "auth", "OPENAI_API_KEY", 0, 0, false},
		{"404 model", apiError(404, "model_not_found", "invalid_request_error", "The model `gpt-9` does not exist", nil),
			"model", "model gpt-4.1 is not available at http://127.0.0.1", 0, 0, false},
		{"404 plain", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "model", "check APPFORGE_MODEL", 0, 0, false},
		{"400", apiError(400, "invalid_value", "invalid_request_error", "Invalid value for 'tools'", nil),
			"rejected", "the model provider rejected the request: Invalid value for 'tools'", 0, 0, false},
		{"429 seconds", apiError(429, "rate_limit_exceeded", "tokens", "Rate limit reached", map[string]string{"Retry-After": "7"}),
			"rate_limited", "rate limiting", 7 * time.Second, 7 * time.Second, true},
		{"429 date", apiError(429, "rate_limit_exceeded", "requests", "Rate limit reached", map[string]string{"Retry-After": date}),
			"rate_limited", "rate limiting", 80 * time.Second, 91 * time.Second, true},
		{"429 ms", apiError(429, "", "", "slow down", map[string]string{"retry-after-ms": "1500", "Retry-After": "9"}),
			"rate_limited", "rate limiting", 1500 * time.Millisecond, 1500 * time.Millisecond, true},
		{"429 quota", apiError(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota", nil),
			"rejected", "quota", 0, 0, false},
		{"500", apiError(500, "", "server_error", "The server had an error", nil), "transient", "HTTP 500", 0, 0, true},
		{"502 html", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		}, "transient", "HTTP 502", 0, 0, true},
		{"stream cut without finish", stream(false,
			delta(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": "c", "type": "function",
				"function": map[string]any{"name": "write_file", "arguments": `{"path": "src/A`}}}}, nil)),
			"transient", "stopped in the middle", 0, 0, true},
		{"connection dropped mid-stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			b, _ := json.Marshal(delta(map[string]any{"content": "Let me"}, nil))
			w.Write([]byte("data: " + string(b) + "\n\n"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, "transient", "appforge will try again", 0, 0, true},
		{"error event mid-stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			b, _ := json.Marshal(delta(map[string]any{"content": "Let me"}, nil))
			w.Write([]byte("data: " + string(b) + "\n\n"))
			w.Write([]byte(`data: {"error": {"message": "overloaded", "type": "server_error", "code": null}}` + "\n\n"))
		}, "transient", "had a problem", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, a := newScripted(t, tt.handler)
			_, err := a.Step(context.Background(), firstStep(), nil)
			var pe *generate.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v (%T), want a *generate.ProviderError", err, err)
			}
			if pe.Kind != tt.kind || pe.Retryable() != tt.retryable {
				t.Errorf("kind = %q retryable %v, want %q %v (%v)", pe.Kind, pe.Retryable(), tt.kind, tt.retryable, err)
			}
			contains(t, "message", pe.Error(), tt.message)
			if pe.RetryAfter < tt.retryMin || pe.RetryAfter > tt.retryMax {
				t.Errorf("RetryAfter = %v, want %v to %v", pe.RetryAfter, tt.retryMin, tt.retryMax)
			}
			if strings.Contains(pe.Error(), testKey) || strings.Contains(pe.Unwrap().Error(), testKey) {
				t.Errorf("the error shows the API key: %v / %v", pe.Error(), pe.Unwrap())
			}
		})
	}
}

func TestPlanProviderError(t *testing.T) {
	_, a := newScripted(t, apiError(401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided", nil))
	_, err := a.Plan(context.Background(), generate.Request{Message: "a todo app"})
	var pe *generate.ProviderError
	if !errors.As(err, &pe) || pe.Kind != "auth" {
		t.Errorf("Plan error = %v, want auth", err)
	}
}

func TestStepContextTooLong(t *testing.T) {
	_, a := newScripted(t, apiError(400, "context_length_exceeded", "invalid_request_error", "This model's maximum context length is 128000 tokens.", nil))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "stopped", out.Stopped, "longer than model gpt-4.1 can read")
	if len(out.Files) != len(generate.Template()) {
		t.Errorf("files changed on a failed call")
	}
}

func TestStepCancelled(t *testing.T) {
	block := make(chan struct{})
	_, a := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-block:
		}
	})
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := a.Step(ctx, firstStep(), nil)
	var pe *generate.ProviderError
	if !errors.Is(err, context.Canceled) || errors.As(err, &pe) {
		t.Errorf("error = %v, want context.Canceled and not a provider error", err)
	}
}

func TestStepMalformedArguments(t *testing.T) {
	_, a := newScripted(t, toolAnswer("tool_calls", 4,
		tc{"write_file", `{"path": "src/a.ts", "content": "export const a = 1"`},
		tc{"write_file", `{"path": "src/b.ts", "content": "export const b = 2\n"}`},
		tc{"run_shell", `{"cmd": "rm -rf /"}`},
	))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	asst := out.Messages[2]
	if asst.ToolCalls[0].Arguments != "{}" {
		t.Errorf("malformed arguments kept in the transcript: %q", asst.ToolCalls[0].Arguments)
	}
	results := out.Messages[3:]
	contains(t, "malformed result", results[0].Content, badPrefix, "not valid JSON", "unexpected end of JSON input")
	contains(t, "good result", results[1].Content, "Wrote src/b.ts")
	contains(t, "unknown tool result", results[2].Content, badPrefix, `no tool named "run_shell"`, "write_file, edit_file")
	if len(out.Notes) != 2 {
		t.Errorf("notes = %q, want two", out.Notes)
	}
	if _, ok := files.Find(out.Files, "src/a.ts"); ok {
		t.Error("the malformed call wrote a file")
	}
	if out.Stopped != "" || out.Finished {
		t.Errorf("stopped %q finished %v after one bad answer", out.Stopped, out.Finished)
	}
}

func TestStepTruncated(t *testing.T) {
	_, a := newScripted(t, toolAnswer("length", 50,
		tc{"write_file", `{"path": "src/ok.ts", "content": "export {}\n"}`},
		tc{"write_file", `{"path": "src/App.tsx", "content": "export default function App() { return <main>`},
	))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	results := out.Messages[3:]
	if len(results) != 2 {
		t.Fatalf("results = %+v", results)
	}
	contains(t, "truncated result", results[1].Content, badPrefix, "cut off at the length limit", "edit_file")
	contains(t, "notes", strings.Join(out.Notes, "|"), "cut off")
	if _, ok := files.Find(out.Files, "src/ok.ts"); !ok {
		t.Error("the complete call before the cut was not run")
	}

	// A text answer cut off: the model is told in a user message.
	_, a = newScripted(t, textAnswer("length", "I will now write a very long"))
	out, err = a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := out.Messages[len(out.Messages)-1]
	if last.Role != "user" {
		t.Fatalf("last message = %+v, want a user message", last)
	}
	contains(t, "cut-off message", last.Content, badPrefix, "cut off")
}

func TestBadAnswersAreBoundedAcrossSteps(t *testing.T) {
	s, a := newScripted(t,
		textAnswer("stop", "I think the app should have a list."),
		toolAnswer("tool_calls", 0, tc{"write_file", `{"path": `}),
		textAnswer("stop", "Done!"),
	)
	in := firstStep()
	var transcript []generate.Message
	var out generate.StepOutput
	for step := 1; step <= 3; step++ {
		in.Step, in.Transcript = step, transcript
		var err error
		out, err = a.Step(context.Background(), in, nil)
		if err != nil {
			t.Fatal(err)
		}
		transcript = append(transcript, out.Messages...)
		if step < 3 && out.Stopped != "" {
			t.Fatalf("step %d stopped early: %s", step, out.Stopped)
		}
		in.Files = out.Files
	}
	contains(t, "stopped", out.Stopped, "3 unusable answers in a row")
	contains(t, "no-tool message", lastUser(s.request(1)), badPrefix, "called no tool")
	if n, _ := badStreak(transcript); n != 3 {
		t.Errorf("badStreak = %d, want 3", n)
	}

	// Once stopped, a further step does not call the model.
	in.Step, in.Transcript = 4, transcript
	out, err := a.Step(context.Background(), in, nil)
	if err != nil || out.Stopped == "" || s.count() != 3 {
		t.Errorf("step after the limit: stopped %q, err %v, %d calls", out.Stopped, err, s.count())
	}
}

func TestGoodAnswerResetsBadStreak(t *testing.T) {
	_, a := newScripted(t,
		textAnswer("stop", "Hmm."),
		toolAnswer("tool_calls", 0, tc{"list_files", `{}`}),
		textAnswer("stop", "Hmm."),
		textAnswer("stop", "Hmm."),
	)
	in := firstStep()
	var transcript []generate.Message
	for step := 1; step <= 4; step++ {
		in.Step, in.Transcript = step, transcript
		out, err := a.Step(context.Background(), in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Stopped != "" {
			t.Fatalf("step %d stopped: %s", step, out.Stopped)
		}
		transcript = append(transcript, out.Messages...)
	}
	if n, _ := badStreak(transcript); n != 2 {
		t.Errorf("badStreak = %d, want 2", n)
	}
}

func TestTooManyToolCalls(t *testing.T) {
	var calls []tc
	for i := 0; i < generate.DefaultLimits.MaxToolCalls+1; i++ {
		calls = append(calls, tc{"write_file", mustJSON(map[string]string{"path": "src/f" + string(rune('a'+i)) + ".ts", "content": "x"})})
	}
	_, a := newScripted(t, toolAnswer("tool_calls", 0, calls...))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Changes) != 0 {
		t.Errorf("changes = %v, want none run", out.Changes)
	}
	if got := len(out.Messages) - 3; got != len(calls) {
		t.Errorf("%d tool results for %d calls", got, len(calls))
	}
	contains(t, "result", out.Messages[3].Content, badPrefix, "none of them was run")
	contains(t, "note", strings.Join(out.Notes, "|"), "25 tool calls")
}

func TestMaxSteps(t *testing.T) {
	s, a := newScripted(t, toolAnswer("tool_calls", 0, tc{"list_files", `{}`}))
	in := firstStep()
	in.Step = generate.DefaultLimits.MaxSteps + 1
	out, err := a.Step(context.Background(), in, nil)
	if err != nil || out.Stopped != "the model did not finish within 24 steps" || s.count() != 0 {
		t.Errorf("step beyond the limit: stopped %q, err %v, %d calls", out.Stopped, err, s.count())
	}
	if len(out.Files) != len(in.Files) {
		t.Errorf("files = %d, want the input's %d", len(out.Files), len(in.Files))
	}
	// The last allowed step that does not finish stops the generation too.
	in.Step = generate.DefaultLimits.MaxSteps
	out, err = a.Step(context.Background(), in, nil)
	if err != nil || out.Stopped != "the model did not finish within 24 steps" || s.count() != 1 {
		t.Errorf("last step: stopped %q, err %v, %d calls", out.Stopped, err, s.count())
	}
}

func TestRepairRound(t *testing.T) {
	s, a := newScripted(t, toolAnswer("tool_calls", 0,
		tc{"edit_file", `{"path": "src/App.tsx", "old_text": "New app", "new_text": "Fixed"}`},
		tc{"finish", `{"summary": "Fixed the type error."}`}))
	in := firstStep()
	in.Round, in.Step = 1, 1
	in.Transcript = []generate.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"},
		{Role: "assistant", ToolCalls: []generate.ToolCall{{ID: "c1", Name: "finish", Arguments: `{"summary":"x"}`}}},
		{Role: "tool", ToolCallID: "c1", Content: "Finished."}}
	in.Feedback = []string{"src/App.tsx(3,7): error TS6133: 'x' is declared but its value is never read."}
	out, err := a.Step(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Messages[0].Role != "user" {
		t.Fatalf("first message = %+v, want the repair message", out.Messages[0])
	}
	got := lastUser(s.request(0))
	contains(t, "repair message", got, "The build failed with these errors:", "error TS6133", "<file path=\"src/App.tsx\">", "then call finish")
	if !out.Finished || out.Summary != "Fixed the type error." {
		t.Errorf("finished %v summary %q", out.Finished, out.Summary)
	}
}

func TestRefusalsStopTheRound(t *testing.T) {
	var calls []tc
	for _, p := range []string{".env", "/etc/passwd", "../x.ts", "node_modules/a.js", "server.js"} {
		calls = append(calls, tc{"write_file", mustJSON(map[string]string{"path": p, "content": "SECRET=1"})})
	}
	_, a := newScripted(t, toolAnswer("tool_calls", 0, calls...))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Stopped != "the model kept writing outside the app (5 refused paths)" {
		t.Errorf("stopped = %q", out.Stopped)
	}
	for _, m := range out.Messages[3:] {
		contains(t, "refusal", m.Content, outsidePrefix, "src/")
	}
	if len(out.Changes) != 0 || len(out.Notes) != 5 {
		t.Errorf("changes %v notes %q", out.Changes, out.Notes)
	}
}

func TestFinishAfterFailedWriteIsRefused(t *testing.T) {
	_, a := newScripted(t, toolAnswer("tool_calls", 0,
		tc{"edit_file", `{"path": "src/App.tsx", "old_text": "missing", "new_text": "x"}`},
		tc{"finish", `{"summary": "done"}`}))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Finished {
		t.Error("finished although the edit failed")
	}
	contains(t, "finish result", out.Messages[len(out.Messages)-1].Content, "not finished")
}

func TestStreamWithoutFinishReason(t *testing.T) {
	// Some servers end with [DONE] but send no finish reason, and all calls at index 0.
	call := func(id, args string) map[string]any {
		return delta(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": id, "type": "function",
			"function": map[string]any{"name": "write_file", "arguments": args}}}}, nil)
	}
	_, a := newScripted(t, stream(true, call("a", writeArgs("src/a.ts", "export {}\n")), call("b", writeArgs("src/b.ts", "export {}\n"))))
	out, err := a.Step(context.Background(), firstStep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Changes) != 2 || len(out.Notes) != 0 {
		t.Errorf("changes %v notes %q, want both files written", out.Changes, out.Notes)
	}
	if out.Usage.PromptTokens == 0 || out.Usage.CompletionTokens == 0 {
		t.Errorf("usage = %+v, want an estimate without a usage chunk", out.Usage)
	}
}
