package llmscript_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/llmscript"
)

const (
	testKey   = "sk-test-key"
	testModel = "scripted-model"
)

// headerRecorder keeps the headers of the last response, which go-openai does not hand
// back with an error.
type headerRecorder struct {
	mu   sync.Mutex
	last http.Header
}

func (h *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		h.mu.Lock()
		h.last = res.Header.Clone()
		h.mu.Unlock()
	}
	return res, err
}

func (h *headerRecorder) header() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

type fixture struct {
	srv     *llmscript.Server
	url     string
	client  *openai.Client
	headers *headerRecorder
	byName  map[string]*llmscript.Scenario
}

// newFixture serves scs behind testKey, knowing testModel and one more.
func newFixture(t *testing.T, scs []llmscript.Scenario) *fixture {
	t.Helper()
	return newFixtureWith(t, llmscript.Options{Scenarios: scs, APIKey: testKey, Models: []string{testModel, "other-model"}})
}

func newFixtureWith(t *testing.T, opts llmscript.Options) *fixture {
	t.Helper()
	srv, err := llmscript.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f := &fixture{srv: srv, url: ts.URL, headers: &headerRecorder{}, byName: map[string]*llmscript.Scenario{}}
	f.client = f.clientWith(opts.APIKey)
	for i := range opts.Scenarios {
		f.byName[opts.Scenarios[i].Name] = &opts.Scenarios[i]
	}
	return f
}

func (f *fixture) clientWith(key string) *openai.Client {
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = f.url + "/v1"
	cfg.HTTPClient = &http.Client{Transport: f.headers, Timeout: time.Minute}
	return openai.NewClientWithConfig(cfg)
}

func tool(name string, props map[string]string, required ...string) openai.Tool {
	properties := map[string]any{}
	for p, typ := range props {
		properties[p] = map[string]string{"type": typ}
	}
	return openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
		Name:       name,
		Parameters: map[string]any{"type": "object", "properties": properties, "required": required},
	}}
}

// The agent's tools, as far as the server cares: their names.
var (
	planTools = []openai.Tool{tool("submit_plan", map[string]string{
		"is_web_app": "boolean", "reply": "string", "title": "string", "summary": "string", "files": "array",
	}, "is_web_app", "reply", "title", "summary", "files")}
	writeTools = []openai.Tool{
		tool("write_file", map[string]string{"path": "string", "content": "string"}, "path", "content"),
		tool("edit_file", map[string]string{"path": "string", "old_text": "string", "new_text": "string"}, "path", "old_text", "new_text"),
		tool("delete_file", map[string]string{"path": "string"}, "path"),
		tool("read_file", map[string]string{"path": "string"}, "path"),
		tool("list_files", map[string]string{}),
		tool("add_dependency", map[string]string{"name": "string", "version": "string", "dev": "boolean"}, "name", "version"),
		tool("finish", map[string]string{"summary": "string"}, "summary"),
	}
)

// opening is the system message and the first user message, which carries the request.
func opening(request string) []openai.ChatCompletionMessage {
	return []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "You write React + TypeScript + Vite apps with the tools you are given."},
		{Role: openai.ChatMessageRoleUser, Content: "The app's files: index.html, src/App.tsx, …\n\nThe user's request:\n" + request},
	}
}

func planRequest(request string, stream bool) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{
		Model:               testModel,
		Messages:            opening(request),
		Tools:               planTools,
		ToolChoice:          openai.ToolChoice{Type: openai.ToolTypeFunction, Function: openai.ToolFunction{Name: "submit_plan"}},
		MaxCompletionTokens: 4000,
		Stream:              stream,
	}
	if stream {
		req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	return req
}

func writeRequest(msgs []openai.ChatCompletionMessage) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:               testModel,
		Messages:            msgs,
		Tools:               writeTools,
		Stream:              true,
		StreamOptions:       &openai.StreamOptions{IncludeUsage: true},
		MaxCompletionTokens: 16000,
	}
}

// streamed is a streamed answer put back together, with what the chunks looked like.
type streamed struct {
	content   string
	calls     []openai.ToolCall
	finish    openai.FinishReason
	usage     *openai.Usage
	chunks    int
	fragments map[int]int // argument fragments per tool call index
	err       error       // from Recv, other than io.EOF
}

func readStream(t *testing.T, stream *openai.ChatCompletionStream) streamed {
	t.Helper()
	defer stream.Close()
	s := streamed{fragments: map[int]int{}}
	sawUsage := false
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.err = err
			return s
		}
		s.chunks++
		if sawUsage {
			t.Errorf("chunk %d after the usage chunk", s.chunks)
		}
		if chunk.Object != "chat.completion.chunk" || chunk.ID == "" || chunk.Model != testModel || chunk.Created == 0 {
			t.Errorf("chunk %d: object %q id %q model %q created %d; want a chat.completion.chunk of %s",
				s.chunks, chunk.Object, chunk.ID, chunk.Model, chunk.Created, testModel)
		}
		if chunk.Usage != nil {
			if len(chunk.Choices) != 0 {
				t.Errorf("usage chunk has %d choices, want none", len(chunk.Choices))
			}
			s.usage, sawUsage = chunk.Usage, true
			continue
		}
		if len(chunk.Choices) != 1 {
			t.Fatalf("chunk %d has %d choices, want 1", s.chunks, len(chunk.Choices))
		}
		ch := chunk.Choices[0]
		if s.chunks == 1 && ch.Delta.Role != openai.ChatMessageRoleAssistant {
			t.Errorf("first chunk: role %q, want assistant", ch.Delta.Role)
		}
		if s.finish != "" {
			t.Errorf("chunk %d after the finish reason", s.chunks)
		}
		s.finish = ch.FinishReason
		s.content += ch.Delta.Content
		for _, tc := range ch.Delta.ToolCalls {
			if tc.Index == nil {
				t.Fatalf("tool call delta without index")
			}
			i := *tc.Index
			switch {
			case i == len(s.calls):
				if tc.ID == "" || tc.Type != openai.ToolTypeFunction || tc.Function.Name == "" {
					t.Errorf("first delta of tool call %d: id %q type %q name %q; want all three", i, tc.ID, tc.Type, tc.Function.Name)
				}
				s.calls = append(s.calls, openai.ToolCall{ID: tc.ID, Type: tc.Type, Function: tc.Function})
			case i == len(s.calls)-1:
				if tc.ID != "" || tc.Function.Name != "" {
					t.Errorf("later delta of tool call %d repeats id or name", i)
				}
				s.calls[i].Function.Arguments += tc.Function.Arguments
				s.fragments[i]++
			default:
				t.Fatalf("tool call delta index %d out of order (have %d calls)", i, len(s.calls))
			}
		}
	}
	return s
}

// wantAnswer compares a received answer with the scripted one.
func wantAnswer(t *testing.T, what string, content string, calls []openai.ToolCall, finish openai.FinishReason, want llmscript.Answer) {
	t.Helper()
	if content != want.Content {
		t.Errorf("%s: content %q, want %q", what, content, want.Content)
	}
	if string(finish) != want.FinishReason {
		t.Errorf("%s: finish reason %q, want %q", what, finish, want.FinishReason)
	}
	if len(calls) != len(want.ToolCalls) {
		t.Fatalf("%s: %d tool calls, want %d", what, len(calls), len(want.ToolCalls))
	}
	for i, c := range calls {
		w := want.ToolCalls[i]
		if c.ID != w.ID || c.Function.Name != w.Name || c.Function.Arguments != w.Arguments {
			t.Errorf("%s: tool call %d: got %s %s %.80q, want %s %s %.80q", what, i,
				c.ID, c.Function.Name, c.Function.Arguments, w.ID, w.Name, w.Arguments)
		}
	}
}

// continueWith appends an answer and a result for each of its tool calls, as the agent
// does.
func continueWith(msgs []openai.ChatCompletionMessage, content string, calls []openai.ToolCall) []openai.ChatCompletionMessage {
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content, ToolCalls: calls})
	for _, c := range calls {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: c.ID, Content: "ok"})
	}
	if len(calls) == 0 {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: "Use the tools to write the app."})
	}
	return msgs
}

// conversationAt plays the scripted answers of round 0 up to step, returning the
// conversation as the agent would send it for that step.
func conversationAt(t *testing.T, sc *llmscript.Scenario, step int) []openai.ChatCompletionMessage {
	t.Helper()
	msgs := opening(sc.Request)
	for i := range step {
		a, err := sc.Answer(0, i)
		if err != nil {
			t.Fatal(err)
		}
		var calls []openai.ToolCall
		for _, c := range a.ToolCalls {
			calls = append(calls, openai.ToolCall{ID: c.ID, Type: openai.ToolTypeFunction, Function: openai.FunctionCall{Name: c.Name, Arguments: c.Arguments}})
		}
		msgs = continueWith(msgs, a.Content, calls)
	}
	return msgs
}

func mustAnswer(t *testing.T, sc *llmscript.Scenario, round, step int) llmscript.Answer {
	t.Helper()
	a, err := sc.Answer(round, step)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPlanCall(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	ctx := context.Background()
	for _, name := range []string{"recipe-book", "recipe-book-basic", "recipe-book-search", "not-a-web-app"} {
		sc := f.byName[name]
		want := sc.PlanAnswer()
		want.FinishReason = "stop" // tool_choice names submit_plan: OpenAI says stop

		t.Run(name+"/not-streaming", func(t *testing.T) {
			req := planRequest(sc.Request, false)
			res, err := f.client.CreateChatCompletion(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Object != "chat.completion" || len(res.Choices) != 1 {
				t.Fatalf("object %q with %d choices, want chat.completion with 1", res.Object, len(res.Choices))
			}
			msg := res.Choices[0].Message
			wantAnswer(t, "plan", msg.Content, msg.ToolCalls, res.Choices[0].FinishReason, want)
			checkPlanArguments(t, msg.ToolCalls, sc.Plan)
			checkUsage(t, res.Usage, req, want)
		})
		t.Run(name+"/streaming", func(t *testing.T) {
			req := planRequest(sc.Request, true)
			stream, err := f.client.CreateChatCompletionStream(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			s := readStream(t, stream)
			if s.err != nil {
				t.Fatal(s.err)
			}
			wantAnswer(t, "plan", s.content, s.calls, s.finish, want)
			checkPlanArguments(t, s.calls, sc.Plan)
			if s.usage == nil {
				t.Fatal("no usage chunk")
			}
			checkUsage(t, *s.usage, req, want)
		})
	}
}

func checkPlanArguments(t *testing.T, calls []openai.ToolCall, want llmscript.Plan) {
	t.Helper()
	if len(calls) != 1 {
		return // reported by wantAnswer
	}
	var got llmscript.Plan
	if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &got); err != nil {
		t.Fatalf("plan arguments: %v", err)
	}
	if want.Files == nil {
		want.Files = []llmscript.PlanFile{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan: got %+v, want %+v", got, want)
	}
}

// checkUsage checks the estimate: a quarter of the characters of the request's messages
// and of the answer, rounded up.
func checkUsage(t *testing.T, got openai.Usage, req openai.ChatCompletionRequest, a llmscript.Answer) {
	t.Helper()
	chars := 0
	for _, m := range req.Messages {
		chars += len([]rune(m.Content))
		for _, c := range m.ToolCalls {
			chars += len([]rune(c.Function.Name)) + len([]rune(c.Function.Arguments))
		}
	}
	out := len([]rune(a.Content))
	for _, c := range a.ToolCalls {
		out += len([]rune(c.Name)) + len([]rune(c.Arguments))
	}
	want := openai.Usage{PromptTokens: (chars + 3) / 4, CompletionTokens: (out + 3) / 4}
	want.TotalTokens = want.PromptTokens + want.CompletionTokens
	if got.PromptTokens != want.PromptTokens || got.CompletionTokens != want.CompletionTokens || got.TotalTokens != want.TotalTokens {
		t.Errorf("usage: got %d+%d=%d, want %d+%d=%d", got.PromptTokens, got.CompletionTokens, got.TotalTokens,
			want.PromptTokens, want.CompletionTokens, want.TotalTokens)
	}
}

// TestWriteConversations plays whole scenarios through the client, streaming, as the
// agent does: every step's tool calls reassemble to the scripted arguments, and the
// repair round answers after a build failure.
func TestWriteConversations(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	ctx := context.Background()
	for _, name := range []string{"recipe-book", "recipe-book-search", "typescript-repair", "file-flood"} {
		t.Run(name, func(t *testing.T) {
			sc := f.byName[name]
			msgs := opening(sc.Request)
			if name == "recipe-book" {
				// The plan exchange, if the agent keeps it, is not a step.
				plan := sc.PlanAnswer().ToolCalls[0]
				msgs = continueWith(msgs, "", []openai.ToolCall{{ID: plan.ID, Type: openai.ToolTypeFunction,
					Function: openai.FunctionCall{Name: plan.Name, Arguments: plan.Arguments}}})
			}
			for r := range sc.Rounds() {
				if r > 0 {
					msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser,
						Content: "The build failed with these errors: src/components/HabitRow.tsx(36,20): error TS2322: Type 'number' is not assignable to type 'string'."})
				}
				for i := range sc.Steps(r) {
					req := writeRequest(msgs)
					stream, err := f.client.CreateChatCompletionStream(ctx, req)
					if err != nil {
						t.Fatalf("round %d step %d: %v", r, i, err)
					}
					s := readStream(t, stream)
					if s.err != nil {
						t.Fatalf("round %d step %d: %v", r, i, s.err)
					}
					want := mustAnswer(t, sc, r, i)
					wantAnswer(t, "round "+strconv.Itoa(r)+" step "+strconv.Itoa(i), s.content, s.calls, s.finish, want)
					if s.usage == nil {
						t.Fatalf("round %d step %d: no usage chunk", r, i)
					}
					checkUsage(t, *s.usage, req, want)
					for j, c := range s.calls {
						if len(c.Function.Arguments) > 200 && s.fragments[j] < 2 {
							t.Errorf("round %d step %d call %d: %d bytes of arguments in %d fragments; want them split",
								r, i, j, len(c.Function.Arguments), s.fragments[j])
						}
					}
					msgs = continueWith(msgs, s.content, s.calls)
				}
			}
			// Past the script: a clear 400.
			_, err := f.client.CreateChatCompletionStream(ctx, writeRequest(msgs))
			checkAPIError(t, err, http.StatusBadRequest, "step_not_found", "has")
		})
	}
}

func checkAPIError(t *testing.T, err error, status int, code, inMessage string) *openai.APIError {
	t.Helper()
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error: got %v (%T), want an *openai.APIError", err, err)
	}
	gotCode, _ := apiErr.Code.(string)
	if apiErr.HTTPStatusCode != status || gotCode != code || !strings.Contains(apiErr.Message, inMessage) {
		t.Errorf("error: got %d %q %q, want %d %q with a message containing %q",
			apiErr.HTTPStatusCode, gotCode, apiErr.Message, status, code, inMessage)
	}
	return apiErr
}

// TestFaults plays each builtin fault: the first request for the step gets the fault,
// the same request again gets the step.
func TestFaults(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	ctx := context.Background()

	stepOf := func(t *testing.T, name string, kind llmscript.FaultKind) (*llmscript.Scenario, int, llmscript.Answer) {
		t.Helper()
		sc := f.byName[name]
		for i := range sc.Steps(0) {
			if a := mustAnswer(t, sc, 0, i); a.Fault != nil && a.Fault.Kind == kind {
				return sc, i, a
			}
		}
		t.Fatalf("%s has no %s fault", name, kind)
		return nil, 0, llmscript.Answer{}
	}
	served := func(t *testing.T, req openai.ChatCompletionRequest, want llmscript.Answer) {
		t.Helper()
		stream, err := f.client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			t.Fatalf("after the fault: %v", err)
		}
		s := readStream(t, stream)
		if s.err != nil {
			t.Fatalf("after the fault: %v", s.err)
		}
		wantAnswer(t, "after the fault", s.content, s.calls, s.finish, want)
	}

	t.Run("429", func(t *testing.T) {
		sc, step, want := stepOf(t, "fault-429", llmscript.FaultRateLimit)
		req := writeRequest(conversationAt(t, sc, step))
		_, err := f.client.CreateChatCompletionStream(ctx, req)
		checkAPIError(t, err, http.StatusTooManyRequests, "rate_limit_exceeded", "try again in 1s")
		h := f.headers.header()
		if got := h.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After: got %q, want 1", got)
		}
		if got := h.Get("retry-after-ms"); got != "1000" {
			t.Errorf("retry-after-ms: got %q, want 1000", got)
		}
		served(t, req, want)
	})
	t.Run("500", func(t *testing.T) {
		sc, step, want := stepOf(t, "fault-500", llmscript.FaultServerError)
		req := writeRequest(conversationAt(t, sc, step))
		_, err := f.client.CreateChatCompletionStream(ctx, req)
		apiErr := checkAPIError(t, err, http.StatusInternalServerError, "", "server had an error")
		if apiErr != nil && apiErr.Type != "server_error" {
			t.Errorf("type: got %q, want server_error", apiErr.Type)
		}
		served(t, req, want)
	})
	t.Run("slow", func(t *testing.T) {
		sc, step, want := stepOf(t, "fault-slow-stream", llmscript.FaultSlow)
		req := writeRequest(conversationAt(t, sc, step))
		start := time.Now()
		stream, err := f.client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		s := readStream(t, stream)
		took := time.Since(start)
		if s.err != nil {
			t.Fatal(s.err)
		}
		// Every chunk but the first waits the delay: a lower bound, never flaky.
		if min := time.Duration(s.chunks-1) * want.Fault.Delay; took < min {
			t.Errorf("slow stream of %d chunks took %s, want at least %s", s.chunks, took, min)
		}
		t.Logf("slow stream: %d chunks in %s", s.chunks, took)
		wantAnswer(t, "slow", s.content, s.calls, s.finish, want)
		served(t, req, want)
	})
	t.Run("disconnect", func(t *testing.T) {
		sc, step, want := stepOf(t, "fault-disconnect", llmscript.FaultDisconnect)
		req := writeRequest(conversationAt(t, sc, step))
		stream, err := f.client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		s := readStream(t, stream)
		if s.err == nil || s.finish != "" || s.usage != nil {
			t.Fatalf("cut stream: error %v, finish %q, usage %v after %d chunks; want an error before the end", s.err, s.finish, s.usage, s.chunks)
		}
		if s.chunks == 0 {
			t.Error("cut stream: no chunk arrived before the cut")
		}
		t.Logf("cut after %d chunks: %v", s.chunks, s.err)
		served(t, req, want)
	})
	t.Run("disconnect/not-streaming", func(t *testing.T) {
		sc, step, want := stepOf(t, "fault-disconnect", llmscript.FaultDisconnect)
		req := writeRequest(conversationAt(t, sc, step))
		req.Stream, req.StreamOptions, req.User = false, nil, "not-streaming" // a conversation of its own
		if _, err := f.client.CreateChatCompletion(ctx, req); err == nil {
			t.Fatal("cut response: no error")
		}
		res, err := f.client.CreateChatCompletion(ctx, req)
		if err != nil {
			t.Fatalf("after the fault: %v", err)
		}
		wantAnswer(t, "after the fault", res.Choices[0].Message.Content, res.Choices[0].Message.ToolCalls, res.Choices[0].FinishReason, want)
	})
}

// TestFaultsPerConversation checks that faults are counted per conversation, so
// concurrent runs of one scenario each meet the fault, and that reset replays them.
func TestFaultsPerConversation(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	ctx := context.Background()
	sc := f.byName["fault-500"]
	msgs := conversationAt(t, sc, 1)

	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			req := writeRequest(msgs)
			req.Stream, req.StreamOptions = false, nil
			req.User = "run-" + strconv.Itoa(i) // what tells concurrent identical conversations apart
			_, err := f.client.CreateChatCompletion(ctx, req)
			var apiErr *openai.APIError
			if errors.As(err, &apiErr) {
				statuses[i] = apiErr.HTTPStatusCode
			} else if err == nil {
				statuses[i] = http.StatusOK
			}
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusInternalServerError {
			t.Errorf("run %d: first request got %d, want 500", i, s)
		}
	}

	req := writeRequest(msgs)
	req.Stream, req.StreamOptions = false, nil
	req.User = "run-0"
	if _, err := f.client.CreateChatCompletion(ctx, req); err != nil {
		t.Fatalf("second request of run 0: %v", err)
	}
	res, err := http.Post(f.url+"/control/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("reset without the key: got %d, want 401", res.StatusCode)
	}
	hreq, _ := http.NewRequest(http.MethodPost, f.url+"/control/reset", nil)
	hreq.Header.Set("Authorization", "Bearer "+testKey)
	if res, err = http.DefaultClient.Do(hreq); err != nil {
		t.Fatal(err)
	}
	var body struct {
		FaultsForgotten int `json:"faults_forgotten"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || body.FaultsForgotten != len(statuses) {
		t.Errorf("reset: got %d forgetting %d faults, want 200 forgetting %d", res.StatusCode, body.FaultsForgotten, len(statuses))
	}
	_, err = f.client.CreateChatCompletion(ctx, req)
	checkAPIError(t, err, http.StatusInternalServerError, "", "server had an error")
}

// TestOrdinaryBadAnswers checks the answers that are steps of their own: malformed
// arguments, a truncated answer, an unknown tool, no tool call.
func TestOrdinaryBadAnswers(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	ctx := context.Background()
	first := func(t *testing.T, name string) streamed {
		t.Helper()
		stream, err := f.client.CreateChatCompletionStream(ctx, writeRequest(opening(f.byName[name].Request)))
		if err != nil {
			t.Fatal(err)
		}
		s := readStream(t, stream)
		if s.err != nil {
			t.Fatal(s.err)
		}
		wantAnswer(t, name, s.content, s.calls, s.finish, mustAnswer(t, f.byName[name], 0, 0))
		return s
	}
	t.Run("malformed-json", func(t *testing.T) {
		s := first(t, "fault-malformed-json")
		if len(s.calls) != 1 || json.Valid([]byte(s.calls[0].Function.Arguments)) || s.finish != openai.FinishReasonToolCalls {
			t.Errorf("got %d calls finishing %q, want one with invalid JSON arguments finishing tool_calls", len(s.calls), s.finish)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s := first(t, "fault-truncated")
		if len(s.calls) != 1 || json.Valid([]byte(s.calls[0].Function.Arguments)) || s.finish != openai.FinishReasonLength ||
			!strings.HasPrefix(s.calls[0].Function.Arguments, `{"path": "src/App.tsx", "content": "import`) {
			t.Errorf("got %d calls finishing %q, want one cut-off write_file finishing length", len(s.calls), s.finish)
		}
	})
	t.Run("unknown-tool", func(t *testing.T) {
		s := first(t, "fault-unknown-tool")
		if len(s.calls) != 1 || s.calls[0].Function.Name != "run_command" {
			t.Errorf("got %+v, want one run_command call", s.calls)
		}
	})
	t.Run("no-tool-call", func(t *testing.T) {
		s := first(t, "fault-no-tool-call")
		if len(s.calls) != 0 || s.content == "" || s.finish != openai.FinishReasonStop {
			t.Errorf("got %d calls, content %q, finishing %q; want prose finishing stop", len(s.calls), s.content, s.finish)
		}
	})
	t.Run("never-finishes", func(t *testing.T) {
		sc := f.byName["never-finishes"]
		a := mustAnswer(t, sc, 0, 57)
		if len(a.ToolCalls) != 1 || a.ToolCalls[0].Arguments != `{"path": "src/laps/lap57.ts", "content": "export const lap57 = 57\n"}` {
			t.Errorf("step 57: got %+v", a.ToolCalls)
		}
	})
}

func TestErrors(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	ctx := context.Background()
	req := planRequest("Create a recipe book where I can add recipes with ingredients", false)

	t.Run("bad key", func(t *testing.T) {
		_, err := f.clientWith("sk-wrong").CreateChatCompletion(ctx, req)
		checkAPIError(t, err, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key")
	})
	t.Run("no key", func(t *testing.T) {
		_, err := f.clientWith("").CreateChatCompletion(ctx, req)
		checkAPIError(t, err, http.StatusUnauthorized, "invalid_api_key", "provide an API key")
	})
	t.Run("unknown model", func(t *testing.T) {
		r := req
		r.Model = "gpt-nonexistent"
		_, err := f.client.CreateChatCompletion(ctx, r)
		checkAPIError(t, err, http.StatusNotFound, "model_not_found", "gpt-nonexistent")
	})
	t.Run("unknown model streaming", func(t *testing.T) {
		r := planRequest("Create a recipe book", true)
		r.Model = "gpt-nonexistent"
		_, err := f.client.CreateChatCompletionStream(ctx, r)
		checkAPIError(t, err, http.StatusNotFound, "model_not_found", "gpt-nonexistent")
	})
	t.Run("no scenario", func(t *testing.T) {
		r := planRequest("Build me a spaceship", false)
		_, err := f.client.CreateChatCompletion(ctx, r)
		apiErr := checkAPIError(t, err, http.StatusBadRequest, "scenario_not_found", "no scenario matches")
		for _, name := range []string{"recipe-book", "typescript-repair", "fault-429"} {
			if apiErr != nil && !strings.Contains(apiErr.Message, name) {
				t.Errorf("message %q does not list scenario %s", apiErr.Message, name)
			}
		}
	})
	t.Run("no step", func(t *testing.T) {
		sc := f.byName["not-a-web-app"]
		_, err := f.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: testModel, Messages: opening(sc.Request), Tools: writeTools})
		checkAPIError(t, err, http.StatusBadRequest, "step_not_found", "0 steps")
	})
	t.Run("models", func(t *testing.T) {
		list, err := f.client.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range list.Models {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, []string{testModel, "other-model"}) {
			t.Errorf("models: got %v", ids)
		}
		if _, err := f.client.GetModel(ctx, "gpt-nonexistent"); err == nil {
			t.Error("GetModel of an unknown model: no error")
		}
	})
}

// TestMatching checks that the request wins over whatever follows it in the first user
// message, and that the most specific scenario wins.
func TestMatching(t *testing.T) {
	scs := llmscript.Builtin()
	f := newFixture(t, scs)
	planOf := func(t *testing.T, text string) string {
		t.Helper()
		req := planRequest("", false)
		req.Messages[1].Content = text
		res, err := f.client.CreateChatCompletion(context.Background(), req)
		if err != nil {
			t.Fatalf("%.60q: %v", text, err)
		}
		return res.Choices[0].Message.ToolCalls[0].ID
	}
	var others strings.Builder
	for _, sc := range scs {
		others.WriteString("- " + sc.Request + "\n")
	}
	for _, sc := range scs {
		// As the agent writes it: the request, then the plan and the files, which here
		// quote every scenario's request.
		text := "## Request\n\n" + sc.Request + "\n\n## Plan: " + sc.Plan.Title + "\n\n" + sc.Plan.Summary +
			"\n\n## Current files\n\n" + others.String()
		if got, want := planOf(t, text), sc.PlanAnswer().ToolCalls[0].ID; got != want {
			t.Errorf("%s: its request, first, did not select it", sc.Name)
		}
	}
	for _, tc := range []struct{ request, want string }{
		{"Create a recipe book where I can add recipes with ingredients and search them", "recipe-book"},
		{"create a RECIPE book where I can add recipes with ingredients", "recipe-book-basic"},
		{"Please add a search box", "recipe-book-search"},
		{"Write me a poem about the sea!", "not-a-web-app"},
	} {
		if got, want := planOf(t, tc.request), f.byName[tc.want].PlanAnswer().ToolCalls[0].ID; got != want {
			t.Errorf("%q: answered with the plan of another scenario than %s", tc.request, tc.want)
		}
	}
}

// TestWireFormat reads the raw SSE stream: OpenAI's framing and null fields.
func TestWireFormat(t *testing.T) {
	f := newFixture(t, llmscript.Builtin())
	body := `{"model":"` + testModel + `","stream":true,"stream_options":{"include_usage":true},
		"tools":[{"type":"function","function":{"name":"write_file"}}],
		"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"Create a stopwatch"}]}]}`
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("content type %q", ct)
	}
	var events []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data line", line)
		}
		events = append(events, data)
	}
	if len(events) < 4 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("got %d events ending %q, want several ending [DONE]", len(events), events[len(events)-1])
	}
	var chunks []map[string]any
	for _, e := range events[:len(events)-1] {
		var c map[string]any
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("event %q: %v", e, err)
		}
		chunks = append(chunks, c)
	}
	first := chunks[0]["choices"].([]any)[0].(map[string]any)
	if first["finish_reason"] != nil || first["delta"].(map[string]any)["role"] != "assistant" {
		t.Errorf("first chunk %v: want role assistant and finish_reason null", first)
	}
	if _, ok := first["finish_reason"]; !ok {
		t.Error("first chunk: finish_reason missing, want null")
	}
	if u, ok := chunks[0]["usage"]; !ok || u != nil {
		t.Errorf("first chunk: usage %v, want null with include_usage", u)
	}
	last := chunks[len(chunks)-1]
	if c := last["choices"].([]any); len(c) != 0 || last["usage"] == nil {
		t.Errorf("last chunk %v: want no choices and usage", last)
	}
	end := chunks[len(chunks)-2]["choices"].([]any)[0].(map[string]any)
	if end["finish_reason"] != "tool_calls" || len(end["delta"].(map[string]any)) != 0 {
		t.Errorf("finishing chunk %v: want an empty delta and finish_reason tool_calls", end)
	}
}
