package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// A tiny scripted OpenAI-compatible server: each request to /v1/chat/completions gets
// the next handler of the script, and the request is kept for the test to inspect.

const testKey = "sk-test-0123456789abcdef"

type scripted struct {
	t        *testing.T
	mu       sync.Mutex
	handlers []http.HandlerFunc
	requests []openai.ChatCompletionRequest
	auth     []string
}

func newScripted(t *testing.T, handlers ...http.HandlerFunc) (*scripted, *Agent) {
	t.Helper()
	s := &scripted{t: t, handlers: handlers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	a, err := New(Config{APIKey: testKey, BaseURL: srv.URL + "/v1", Model: "gpt-4.1", HTTPClient: srv.Client(), Repairs: 3})
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.t.Errorf("request body: %v", err)
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	if n >= len(s.handlers) {
		s.t.Errorf("unexpected request %d", n+1)
		http.Error(w, "no more script", http.StatusInternalServerError)
		return
	}
	s.handlers[n](w, r)
}

func (s *scripted) request(i int) openai.ChatCompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.requests) {
		s.t.Fatalf("request %d was not made (%d made)", i+1, len(s.requests))
	}
	return s.requests[i]
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// tc is a tool call for a scripted answer.
type tc struct {
	name, args string
}

// toolAnswer streams an answer with the calls, each call's arguments split into
// pieces of at most split bytes, then a finish reason and a usage chunk.
func toolAnswer(finish string, split int, calls ...tc) http.HandlerFunc {
	var chunks []any
	for i, c := range calls {
		chunks = append(chunks, delta(map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": fmt.Sprintf("call_%d", i+1), "type": "function",
			"function": map[string]any{"name": c.name, "arguments": ""}}}}, nil))
		for _, piece := range pieces(c.args, split) {
			chunks = append(chunks, delta(map[string]any{"tool_calls": []any{map[string]any{
				"index": i, "function": map[string]any{"arguments": piece}}}}, nil))
		}
	}
	chunks = append(chunks, delta(map[string]any{}, finish), usageChunk(1200, 340))
	return stream(true, chunks...)
}

// textAnswer streams a plain text answer.
func textAnswer(finish, text string) http.HandlerFunc {
	return stream(true, delta(map[string]any{"role": "assistant", "content": text}, nil), delta(map[string]any{}, finish), usageChunk(900, 20))
}

func pieces(s string, n int) []string {
	if n <= 0 || len(s) <= n {
		return []string{s}
	}
	var out []string
	for len(s) > n {
		cut := n // on a rune boundary: servers send whole characters
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// writeArgs are write_file's arguments with path first, as models write them.
func writeArgs(path, content string) string {
	return `{"path": ` + mustJSON(path) + `, "content": ` + mustJSON(content) + `}`
}

func delta(d map[string]any, finish any) map[string]any {
	return map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
		"choices": []any{map[string]any{"index": 0, "delta": d, "finish_reason": finish}}}
}

func usageChunk(prompt, completion int) map[string]any {
	return map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
		"choices": []any{}, "usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}
}

// stream writes the chunks as server-sent events, flushing each; done adds [DONE].
func stream(done bool, chunks ...any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for _, c := range chunks {
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		}
		if done {
			fmt.Fprint(w, "data: [DONE]\n\n")
			fl.Flush()
		}
	}
}

// apiError answers with an OpenAI-style error body.
func apiError(status int, code, typ, msg string, header map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		var c any = code
		if code == "" {
			c = nil
		}
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
	}
}

// planAnswer answers a (non-streaming) plan call with submit_plan.
func planAnswer(args string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-plan", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{
				"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
					"id": "call_plan", "type": "function", "function": map[string]any{"name": "submit_plan", "arguments": args}}}}}},
			"usage": map[string]any{"prompt_tokens": 2000, "completion_tokens": 150, "total_tokens": 2150},
		})
	}
}

func lastUser(req openai.ChatCompletionRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return req.Messages[i].Content
		}
	}
	return ""
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, clip(got, 600), w)
		}
	}
}
