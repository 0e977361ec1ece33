// Package llmscript is a scripted OpenAI-compatible chat completions server for tests and
// demos. It plays recorded conversations (scenarios) that build real apps with the
// generation agent's tools, streaming or not, and plays faults on cue: rate limits,
// server errors, slow streams, cut connections, malformed or truncated tool calls.
//
// A request selects its scenario by the text of its first user message, which carries
// the user's request; the plan call is the one that offers the submit_plan tool; any
// other call is a write step, and the step to answer is the number of assistant
// messages already in the conversation since the start of its round. A user message
// containing "build failed" starts the next (repair) round. The server keeps no
// conversation state: only the count of faults served per conversation and step.
package llmscript

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// Scenarios to play; at least one. See LoadScenarios and Builtin.
	Scenarios []Scenario
	// APIKey is the one key accepted as "Authorization: Bearer <key>"; empty accepts any
	// key, or none.
	APIKey string
	// Models the server knows; a request for another model gets 404 model_not_found.
	// Empty accepts any model and lists DefaultModel.
	Models []string
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
}

// DefaultModel is the model GET /v1/models lists when Options.Models is empty.
const DefaultModel = "llmscript"

// Server serves the OpenAI chat completions protocol from scenarios. It is safe for
// concurrent use.
type Server struct {
	scenarios []Scenario
	apiKey    string
	models    []string
	log       *slog.Logger
	created   int64

	mu     sync.Mutex
	faults map[string]int // faults served, by scenario, step and conversation hash
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	if len(opts.Scenarios) == 0 {
		return nil, errors.New("llmscript: no scenarios")
	}
	seen := make(map[string]bool, len(opts.Scenarios))
	for _, sc := range opts.Scenarios {
		if sc.Name == "" || len(sc.rounds) == 0 {
			return nil, fmt.Errorf("llmscript: scenario %q was not loaded with LoadScenarios", sc.Name)
		}
		if seen[sc.Name] {
			return nil, fmt.Errorf("llmscript: scenario %q appears twice", sc.Name)
		}
		seen[sc.Name] = true
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		scenarios: append([]Scenario(nil), opts.Scenarios...),
		apiKey:    opts.APIKey,
		models:    append([]string(nil), opts.Models...),
		log:       log,
		created:   time.Now().Unix(),
		faults:    make(map[string]int),
	}, nil
}

// Reset forgets every fault served, so that each plays again.
func (s *Server) Reset() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.faults)
	clear(s.faults)
	return n
}

// Handler serves:
//
//	POST /v1/chat/completions  the scripted answers, streaming or not
//	GET  /v1/models            the known models
//	GET  /v1/models/{model}
//	GET  /control/scenarios    the scenarios and their request texts
//	POST /control/reset        forget the faults served (for tests)
//
// Every route asks for the API key when one is configured.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.listModels)
	mux.HandleFunc("GET /v1/models/{model}", s.getModel)
	mux.HandleFunc("GET /control/scenarios", s.listScenarios)
	mux.HandleFunc("POST /control/reset", s.reset)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "",
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	})
	return s.auth(mux)
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.apiKey == "" {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok || key == "":
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "",
				"You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.")
		case subtle.ConstantTimeCompare([]byte(key), []byte(s.apiKey)) != 1:
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "",
				"Incorrect API key provided.")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// maxBody bounds a request: whole conversations with file contents fit easily.
const maxBody = 32 << 20

// repairRe marks the user message that opens a repair round.
var repairRe = regexp.MustCompile(`(?i)\bbuild failed\b`)

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", "",
				fmt.Sprintf("The request is larger than %d bytes.", maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "",
			"We could not parse the JSON body of your request: "+err.Error())
		return
	}
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "model",
			"you must provide a model parameter")
		return
	}
	if !s.knownModel(req.Model) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", req.Model))
		return
	}
	text, first := req.firstUserText()
	if first < 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "messages",
			"messages must contain a user message")
		return
	}
	sc := s.match(text)
	if sc == nil {
		s.log.Warn("no scenario matches", "request", clip(text, 120))
		writeError(w, http.StatusBadRequest, "invalid_request_error", "scenario_not_found", "messages",
			s.noScenarioMessage(text))
		return
	}

	log := s.log.With("scenario", sc.Name, "model", req.Model, "stream", req.Stream)
	var (
		ans Answer
		at  string
	)
	if req.hasTool(planTool) {
		ans, at = sc.PlanAnswer(), "plan"
		if req.forcesFunction() {
			ans.FinishReason = "stop" // what OpenAI says when tool_choice names the function
		}
		log = log.With("call", "plan")
	} else {
		round, step := position(req.Messages, first)
		a, err := sc.Answer(round, step)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "step_not_found", "messages",
				"llmscript: "+err.Error())
			log.Warn("no such step", "round", round, "step", step)
			return
		}
		ans, at = a, fmt.Sprintf("r%d.s%d", round, step)
		log = log.With("call", "step", "round", round, "step", step)
	}

	var p pace
	if f := ans.Fault; f != nil && s.takeFault(sc.Name+"/"+at+"/"+req.hash(), f.Times) {
		log = log.With("fault", string(f.Kind))
		switch f.Kind {
		case FaultRateLimit:
			log.Info("fault served")
			writeRateLimit(w, f.RetryAfter)
			return
		case FaultServerError:
			log.Info("fault served")
			writeError(w, http.StatusInternalServerError, "server_error", "", "",
				"The server had an error while processing your request. Sorry about that!")
			return
		case FaultSlow:
			p.delay = f.Delay
		case FaultDisconnect:
			p.cut, p.cutAfter = true, f.CutAfter
		}
	}

	u := usage{PromptTokens: tokens(req.promptChars()), CompletionTokens: tokens(answerChars(ans))}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	log.Info("answer", "tool_calls", len(ans.ToolCalls), "finish_reason", ans.FinishReason,
		"prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens)
	res := response{
		id: "chatcmpl-" + rand.Text(), created: time.Now().Unix(), model: req.Model,
		answer: ans, usage: u, pace: p,
	}
	if req.Stream {
		res.stream(w, r, req.includeUsage())
	} else {
		res.write(w, r)
	}
}

// position returns the round of the conversation (0, then one more for each user message
// reporting a failed build) and the step within it: the assistant messages since the
// round began. An assistant message that only submits the plan is not a step.
func position(msgs []message, first int) (round, step int) {
	for _, m := range msgs[first+1:] {
		switch {
		case m.Role == "user" && repairRe.MatchString(string(m.Content)):
			round++
			step = 0
		case m.Role == "assistant" && !onlyPlan(m):
			step++
		}
	}
	return round, step
}

func onlyPlan(m message) bool {
	if len(m.ToolCalls) == 0 {
		return false
	}
	for _, tc := range m.ToolCalls {
		if tc.Function.Name != planTool {
			return false
		}
	}
	return true
}

// match returns the scenario whose match rule hits text, nil if none does. When several
// do, the hit that starts first wins, then the longest: the agent puts the user's request
// before the plan and the files it shows the model, and "… with ingredients and search
// them" must beat "… with ingredients".
func (s *Server) match(text string) *Scenario {
	var best *Scenario
	bestStart, bestLen := -1, -1
	lowered := strings.ToLower(text)
	for i := range s.scenarios {
		start, end, ok := s.scenarios[i].matchIn(lowered)
		if ok && (best == nil || start < bestStart || start == bestStart && end-start > bestLen) {
			best, bestStart, bestLen = &s.scenarios[i], start, end-start
		}
	}
	return best
}

// clip shortens text to n runes for messages and logs.
func clip(text string, n int) string {
	if r := []rune(text); len(r) > n {
		return string(r[:n]) + "…"
	}
	return text
}

func (s *Server) noScenarioMessage(text string) string {
	text = clip(text, 120)
	names := make([]string, 0, len(s.scenarios))
	for _, sc := range s.scenarios {
		names = append(names, sc.Name)
	}
	return fmt.Sprintf("llmscript: no scenario matches the first user message %q; the scenarios are %s (GET /control/scenarios lists their request texts)",
		text, strings.Join(names, ", "))
}

// takeFault counts one more fault for key and reports whether it is due: the first
// times requests for a step of one conversation get the fault.
func (s *Server) takeFault(key string, times int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults[key] >= times {
		return false
	}
	s.faults[key]++
	return true
}

func (s *Server) knownModel(model string) bool {
	if len(s.models) == 0 {
		return true
	}
	for _, m := range s.models {
		if m == model {
			return true
		}
	}
	return false
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelList() []string {
	if len(s.models) == 0 {
		return []string{DefaultModel}
	}
	return s.models
}

func (s *Server) listModels(w http.ResponseWriter, _ *http.Request) {
	data := []modelObject{}
	for _, m := range s.modelList() {
		data = append(data, modelObject{ID: m, Object: "model", Created: s.created, OwnedBy: "llmscript"})
	}
	writeJSON(w, http.StatusOK, struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", data})
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	m := r.PathValue("model")
	if !s.knownModel(m) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", m))
		return
	}
	writeJSON(w, http.StatusOK, modelObject{ID: m, Object: "model", Created: s.created, OwnedBy: "llmscript"})
}

// ScenarioInfo describes a scenario for GET /control/scenarios.
type ScenarioInfo struct {
	Name        string `json:"name"`
	Request     string `json:"request"`
	Description string `json:"description"`
	Base        string `json:"base,omitempty"`
}

// Scenarios describes the scenarios the server plays, in order.
func (s *Server) Scenarios() []ScenarioInfo {
	out := make([]ScenarioInfo, 0, len(s.scenarios))
	for _, sc := range s.scenarios {
		out = append(out, ScenarioInfo{Name: sc.Name, Request: sc.Request, Description: sc.Description, Base: sc.Base})
	}
	return out
}

func (s *Server) listScenarios(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Scenarios []ScenarioInfo `json:"scenarios"`
	}{s.Scenarios()})
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	n := s.Reset()
	s.log.Info("reset", "faults_forgotten", n)
	writeJSON(w, http.StatusOK, struct {
		Reset          bool `json:"reset"`
		FaultsForgoten int  `json:"faults_forgotten"`
	}{true, n})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // a client that went away is none of our business
}

// writeError writes an error in OpenAI's shape; empty code and param are null.
func writeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	if param != "" {
		e.Param = &param
	}
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{e})
}

// writeRateLimit answers 429 the way OpenAI does, with the delay in every header a
// client may read: Retry-After (whole seconds), retry-after-ms and
// x-ratelimit-reset-requests.
func writeRateLimit(w http.ResponseWriter, after time.Duration) {
	secs := int(math.Ceil(after.Seconds()))
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("retry-after-ms", strconv.FormatInt(after.Milliseconds(), 10))
	h.Set("x-ratelimit-limit-requests", "60")
	h.Set("x-ratelimit-remaining-requests", "0")
	h.Set("x-ratelimit-reset-requests", after.String())
	writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "",
		fmt.Sprintf("Rate limit reached for requests on the scripted model. Please try again in %s.", after))
}

// pace says how a fault shapes an answer that is still served: slowly, or cut short.
type pace struct {
	delay    time.Duration
	cut      bool
	cutAfter int
}

// response is one answer on its way out.
type response struct {
	id      string
	created int64
	model   string
	answer  Answer
	usage   usage
	pace    pace
}

// fragmentSize is about how many bytes of text or arguments one chunk carries.
const fragmentSize = 40

func (res *response) write(w http.ResponseWriter, r *http.Request) {
	msg := responseMessage{Role: "assistant", Refusal: jsonNull}
	if res.answer.Content != "" || len(res.answer.ToolCalls) == 0 {
		c := res.answer.Content
		msg.Content = &c
	}
	for _, tc := range res.answer.ToolCalls {
		var wc wireToolCall
		wc.ID, wc.Type, wc.Function.Name, wc.Function.Arguments = tc.ID, "function", tc.Name, tc.Arguments
		msg.ToolCalls = append(msg.ToolCalls, wc)
	}
	body := append(marshal(completion{
		ID: res.id, Object: "chat.completion", Created: res.created, Model: res.model,
		Choices: []completionChoice{{
			Index: 0, Message: msg, Logprobs: jsonNull, FinishReason: res.answer.FinishReason,
		}},
		Usage: res.usage, SystemFingerprint: systemFingerprint,
	}), '\n')

	if res.pace.delay > 0 {
		// As long as the stream of the same answer would take.
		n := len(res.chunks(false)) - 1
		if !sleep(r, time.Duration(n)*res.pace.delay) {
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if res.pace.cut {
		cut := res.pace.cutAfter
		if cut <= 0 || cut >= len(body) {
			cut = len(body) / 2
		}
		_, _ = w.Write(body[:cut])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // net/http's way to drop the connection mid-response
	}
	_, _ = w.Write(body)
}

const systemFingerprint = "fp_llmscript"

// stream sends the answer as server-sent events, chunk by chunk as OpenAI does: the role,
// then text or tool-call fragments, then the finish reason, then usage if asked, then
// [DONE].
func (res *response) stream(w http.ResponseWriter, r *http.Request, includeUsage bool) {
	chunks := res.chunks(includeUsage)
	cut := len(chunks) + 1
	if res.pace.cut {
		cut = res.pace.cutAfter
		if cut <= 0 || cut >= len(chunks) {
			cut = len(chunks) / 2
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, c := range chunks {
		if i == cut {
			_ = rc.Flush()
			panic(http.ErrAbortHandler) // net/http's way to drop the connection mid-response
		}
		if i > 0 && res.pace.delay > 0 && !sleep(r, res.pace.delay) {
			return
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", marshal(c)); err != nil {
			return // the client went away
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// chunks renders the stream of the answer.
func (res *response) chunks(includeUsage bool) []chunk {
	var out []chunk
	var usageField json.RawMessage
	if includeUsage {
		usageField = jsonNull
	}
	add := func(d delta, finish string) {
		fr := jsonNull
		if finish != "" {
			fr = json.RawMessage(strconv.Quote(finish))
		}
		out = append(out, chunk{
			ID: res.id, Object: "chat.completion.chunk", Created: res.created, Model: res.model,
			SystemFingerprint: systemFingerprint, Usage: usageField,
			Choices: []chunkChoice{{Index: 0, Delta: d, Logprobs: jsonNull, FinishReason: fr}},
		})
	}
	a := res.answer
	if a.Content != "" || len(a.ToolCalls) == 0 {
		add(delta{Role: "assistant", Content: json.RawMessage(`""`), Refusal: jsonNull}, "")
		for _, f := range fragments(a.Content, fragmentSize) {
			add(delta{Content: marshal(f)}, "")
		}
	}
	for i, tc := range a.ToolCalls {
		first := wireToolCall{Index: &i, ID: tc.ID, Type: "function"}
		first.Function.Name = tc.Name
		d := delta{ToolCalls: []wireToolCall{first}}
		if len(out) == 0 {
			d.Role, d.Content, d.Refusal = "assistant", jsonNull, jsonNull
		}
		add(d, "")
		for _, f := range fragments(tc.Arguments, fragmentSize) {
			frag := wireToolCall{Index: &i}
			frag.Function.Arguments = f
			add(delta{ToolCalls: []wireToolCall{frag}}, "")
		}
	}
	add(delta{}, a.FinishReason)
	if includeUsage {
		out = append(out, chunk{
			ID: res.id, Object: "chat.completion.chunk", Created: res.created, Model: res.model,
			SystemFingerprint: systemFingerprint, Choices: []chunkChoice{},
			Usage: marshal(res.usage),
		})
	}
	return out
}

// sleep waits d or until the client goes away, reporting whether it waited d.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
