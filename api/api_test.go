package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
	"github.com/appforge/appforge/workflows"
)

// fakeWorkflows is an in-memory api.Workflows. Like the real app workflow it
// deduplicates by message ID within an app (a repeated ID is answered with the first
// result, as a repeated Temporal update ID is), queues messages in order and reports
// each one's position. It can be switched to fail as an unreachable Temporal does.
type fakeWorkflows struct {
	mu          sync.Mutex
	sent        []sentMessage                   // accepted messages, in order
	results     map[string]workflows.SendResult // by appID + "/" + message ID
	unavailable bool
	stateErr    error
	statePanics bool
	tooLate     map[string]bool // messages Stop refuses as too late
	// domainSignals records "check:host", "detach:host" and "detach-ended:host".
	domainSignals []string
}

type sentMessage struct {
	AppID   string
	Message workflows.ChatMessage
}

func newFakeWorkflows() *fakeWorkflows {
	return &fakeWorkflows{results: map[string]workflows.SendResult{}}
}

func (f *fakeWorkflows) Send(ctx context.Context, appID string, m workflows.ChatMessage) (workflows.SendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unavailable {
		// Wrapped as workflows.Client wraps it: the API must look through the chain.
		return workflows.SendResult{}, fmt.Errorf("send message %s to app %s: %w", m.ID, appID, serviceerror.NewUnavailable("connection refused"))
	}
	// The workflow's update validator: the API must never hand over what it rejects.
	if err := workflows.ValidateMessage(m); err != nil {
		return workflows.SendResult{}, fmt.Errorf("send message %s to app %s: %w", m.ID, appID, err)
	}
	key := appID + "/" + m.ID
	if res, ok := f.results[key]; ok {
		return res, nil
	}
	pos := 0
	for _, s := range f.sent {
		if s.AppID == appID {
			pos++
		}
	}
	res := workflows.SendResult{MessageID: m.ID, Position: pos}
	f.results[key] = res
	f.sent = append(f.sent, sentMessage{AppID: appID, Message: m})
	return res, nil
}

func (f *fakeWorkflows) State(ctx context.Context, appID string) (workflows.AppState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statePanics {
		panic("fake state panics")
	}
	if f.stateErr != nil {
		return workflows.AppState{}, fmt.Errorf("query app %s: %w", appID, f.stateErr)
	}
	st := workflows.AppState{AppID: appID, Phase: workflows.PhaseIdle, Queue: []workflows.ChatMessage{}, PreviewScript: appID + "-preview", Loaded: true}
	for _, s := range f.sent {
		if s.AppID == appID {
			st.Queue = append(st.Queue, s.Message)
		}
	}
	return st, nil
}

// Stop answers like the app workflow: the first message an app was sent is the turn at
// work, later ones wait; tooLate names messages past the point of stopping.
func (f *fakeWorkflows) Stop(ctx context.Context, appID, messageID string) (workflows.StopResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tooLate[messageID] {
		return workflows.StopResult{}, fmt.Errorf("stop: %w", temporal.NewApplicationError("message "+messageID+" can no longer be stopped: its version is going live", workflows.StopErrTooLate))
	}
	first := true
	for i, s := range f.sent {
		if s.AppID != appID {
			continue
		}
		if s.Message.ID == messageID {
			if first {
				return workflows.StopResult{MessageID: messageID, Was: "working"}, nil
			}
			f.sent = append(f.sent[:i:i], f.sent[i+1:]...)
			return workflows.StopResult{MessageID: messageID, Was: "waiting"}, nil
		}
		first = false
	}
	return workflows.StopResult{}, fmt.Errorf("stop: %w", temporal.NewApplicationError("there is no message "+messageID+" waiting or at work", workflows.StopErrNotFound))
}

func (f *fakeWorkflows) CheckDomain(ctx context.Context, hostname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domainSignals = append(f.domainSignals, "check:"+hostname)
	return nil
}

func (f *fakeWorkflows) DetachDomain(ctx context.Context, hostname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domainSignals = append(f.domainSignals, "detach:"+hostname)
	return nil
}

// DetachEndedDomain records "detach-ended:host" beside the signals.
func (f *fakeWorkflows) DetachEndedDomain(ctx context.Context, d models.Domain) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domainSignals = append(f.domainSignals, "detach-ended:"+d.Hostname)
	return nil
}

func (f *fakeWorkflows) DomainState(ctx context.Context, hostname string) (workflows.DomainState, error) {
	return workflows.DomainState{Status: "waiting_for_dns", Checks: 3}, nil
}

func (f *fakeWorkflows) setUnavailable(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unavailable = v
}

func (f *fakeWorkflows) setStateErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stateErr = err
}

func (f *fakeWorkflows) setStatePanics(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statePanics = v
}

// sentTo lists the messages the app's workflow accepted.
func (f *fakeWorkflows) sentTo(appID string) []workflows.ChatMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []workflows.ChatMessage
	for _, s := range f.sent {
		if s.AppID == appID {
			out = append(out, s.Message)
		}
	}
	return out
}

func (f *fakeWorkflows) sentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// testServer is the API on a real HTTP server, over a real store and the fake workflows.
type testServer struct {
	*httptest.Server
	API   *api.Server
	Store *models.Store
	WF    *fakeWorkflows
}

func newTestServer(t *testing.T, store *models.Store, opts api.Options) *testServer {
	t.Helper()
	wf := newFakeWorkflows()
	opts.Store = store
	opts.Workflows = wf
	srv := api.NewServer(opts)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	// Cleanups run last-in first-out: open event streams end before Close waits for them.
	t.Cleanup(srv.CloseStreams)
	return &testServer{Server: hs, API: srv, Store: store, WF: wf}
}

// newSQLiteServer is the usual server for tests that need not run on every dialect.
func newSQLiteServer(t *testing.T, opts api.Options) *testServer {
	t.Helper()
	return newTestServer(t, storetest.Open(t, "sqlite"), opts)
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// hdr builds request headers from name, value pairs. An empty value means the header is
// not sent at all (do sets Content-Type: application/json on a body otherwise).
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// do makes one request and reads the whole answer.
func (ts *testServer) do(t *testing.T, method, path, body string, header http.Header) response {
	t.Helper()
	r, err := ts.tryDo(t, method, path, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for goroutines other than the test's, which must not call t.Fatal.
func (ts *testServer) tryDo(t *testing.T, method, path, body string, header http.Header) (response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, r)
	if err != nil {
		return response{}, fmt.Errorf("new request %s %s: %w", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header.Del(k)
		for _, v := range vs {
			if v != "" {
				req.Header.Add(k, v)
			}
		}
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func (ts *testServer) get(t *testing.T, path string) response {
	t.Helper()
	return ts.do(t, http.MethodGet, path, "", nil)
}

func (ts *testServer) post(t *testing.T, path, body string, kv ...string) response {
	t.Helper()
	return ts.do(t, http.MethodPost, path, body, hdr(kv...))
}

// sendResult is the 202 answer to POST /v1/apps and POST /v1/apps/{id}/messages.
type sendResult struct {
	AppID     string `json:"app_id"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Position  int    `json:"position"`
	Duplicate bool   `json:"duplicate"`
	Links     struct {
		App        string `json:"app"`
		Events     string `json:"events"`
		Messages   string `json:"messages"`
		Versions   string `json:"versions"`
		TemporalUI string `json:"temporal_ui"`
	} `json:"links"`
}

// accepted checks a 202 answer and decodes it.
func accepted(t *testing.T, r response) sendResult {
	t.Helper()
	if r.Status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body %s", r.Status, r.Body)
	}
	return decode[sendResult](t, r)
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// wantError checks that r is an error answer of the one JSON shape,
// {"error": {"code": "...", "message": "..."}}, and returns its message.
func wantError(t *testing.T, r response, status int, code string) string {
	t.Helper()
	if r.Status != status {
		t.Errorf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("error body %s is not {\"error\": {...}}: %v", r.Body, err)
	}
	e, ok := body["error"]
	if !ok || len(body) != 1 {
		t.Fatalf("error body = %s, want {\"error\": {\"code\", \"message\"}}", r.Body)
	}
	for k := range e {
		if k != "code" && k != "message" && k != "app_id" && k != "message_id" {
			t.Errorf("error body has unknown field %q: %s", k, r.Body)
		}
	}
	gotCode, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if gotCode != code {
		t.Errorf("error code = %q, want %q (message %q)", gotCode, code, msg)
	}
	if msg == "" {
		t.Errorf("error message is empty in %s", r.Body)
	}
	return msg
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

func countApps(t *testing.T, s *models.Store) int {
	t.Helper()
	apps, err := s.Apps(t.Context(), 0, "")
	storetest.Must(t, err, "list apps")
	return len(apps)
}

func messagesOf(t *testing.T, s *models.Store, appID string) []models.ChatMessage {
	t.Helper()
	ms, err := s.Messages(t.Context(), appID)
	storetest.Must(t, err, "messages of %s", appID)
	return ms
}

func eventsOf(t *testing.T, s *models.Store, appID string) []models.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), appID, 0, 0)
	storetest.Must(t, err, "events of %s", appID)
	return evs
}

func newStoreApp(t *testing.T, s *models.Store, id string) models.App {
	t.Helper()
	app, _, err := s.CreateApp(t.Context(), models.App{ID: id, Name: "Todo", PreviewScript: id + "-preview"})
	storetest.Must(t, err, "create app %s", id)
	return app
}

var appIDPattern = regexp.MustCompile(`^[a-z][a-z2-7]{11}$`)

func TestCreateApp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{PublicURL: "http://api.test", TemporalUIURL: "http://temporal.test:8233", Namespace: "apps"})

		got := accepted(t, ts.post(t, "/v1/apps", `{"message": "  Create a todo app \n"}`))
		if !appIDPattern.MatchString(got.AppID) {
			t.Errorf("app_id = %q, want 12 lower-case base32 characters starting with a letter", got.AppID)
		}
		if !strings.HasPrefix(got.MessageID, "m_") {
			t.Errorf("message_id = %q, want a generated m_ ID", got.MessageID)
		}
		if got.Status != "queued" || got.Position != 0 || got.Duplicate {
			t.Errorf("status, position, duplicate = %q, %d, %v, want queued, 0, false", got.Status, got.Position, got.Duplicate)
		}
		base := "http://api.test/v1/apps/" + got.AppID
		links := map[string][2]string{
			"app":         {got.Links.App, base},
			"events":      {got.Links.Events, base + "/events"},
			"messages":    {got.Links.Messages, base + "/messages"},
			"versions":    {got.Links.Versions, base + "/versions"},
			"temporal_ui": {got.Links.TemporalUI, "http://temporal.test:8233/namespaces/apps/workflows/app%2F" + got.AppID},
		}
		for name, l := range links {
			if l[0] != l[1] {
				t.Errorf("links.%s = %q, want %q", name, l[0], l[1])
			}
		}

		app, err := s.App(t.Context(), got.AppID)
		storetest.Must(t, err, "stored app")
		if app.PreviewScript != got.AppID+"-preview" || app.Name == "" {
			t.Errorf("stored app = %+v, want a name and preview script %s-preview", app, got.AppID)
		}
		ms := messagesOf(t, s, got.AppID)
		if len(ms) != 1 {
			t.Fatalf("got %d stored messages, want 1", len(ms))
		}
		if m := ms[0]; m.ID != got.MessageID || m.Role != models.RoleUser || m.Content != "Create a todo app" || m.Status != models.MessageQueued {
			t.Errorf("stored message = %+v, want user message %s %q, queued", m, got.MessageID, "Create a todo app")
		}
		want := []workflows.ChatMessage{{ID: got.MessageID, Text: "Create a todo app"}}
		if sent := ts.WF.sentTo(got.AppID); !slices.Equal(sent, want) {
			t.Errorf("workflow got %+v, want %+v", sent, want)
		}
		evs := eventsOf(t, s, got.AppID)
		if len(evs) != 1 || evs[0].Type != models.EventMessageQueued || evs[0].Seq != 1 {
			t.Fatalf("events = %+v, want one message_queued event", evs)
		}
		var data struct {
			MessageID string `json:"message_id"`
			Position  int    `json:"position"`
		}
		storetest.Must(t, json.Unmarshal([]byte(evs[0].Data), &data), "event data %s", evs[0].Data)
		if data.MessageID != got.MessageID || data.Position != 0 {
			t.Errorf("event data = %+v, want message_id %s, position 0", data, got.MessageID)
		}

		// A second message to the app queues behind the first.
		next := accepted(t, ts.post(t, "/v1/apps/"+got.AppID+"/messages", `{"message": "Add dark mode"}`))
		if next.AppID != got.AppID || next.Position != 1 || next.MessageID == got.MessageID {
			t.Errorf("second message = %+v, want app %s, position 1, a new message ID", next, got.AppID)
		}
		if evs := eventsOf(t, s, got.AppID); len(evs) != 2 || !strings.Contains(evs[1].Message, "1 turn") {
			t.Errorf("events after second message = %+v, want a second message_queued saying it waits behind 1 turn", evs)
		}
		list := decode[struct {
			Messages []models.ChatMessage `json:"messages"`
		}](t, ts.get(t, "/v1/apps/"+got.AppID+"/messages"))
		var texts []string
		for _, m := range list.Messages {
			texts = append(texts, m.Content)
		}
		if want := []string{"Create a todo app", "Add dark mode"}; !slices.Equal(texts, want) {
			t.Errorf("GET messages = %q, want %q", texts, want)
		}
		if n := countApps(t, s); n != 1 {
			t.Errorf("got %d apps, want 1", n)
		}
	})
}

func TestCreateAppWithoutTemporalUI(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	r := ts.post(t, "/v1/apps", `{"message": "Create a todo app"}`)
	got := accepted(t, r)
	if strings.Contains(string(r.Body), "temporal_ui") {
		t.Errorf("body %s has a temporal_ui link, want none without TemporalUIURL", r.Body)
	}
	if want := "/v1/apps/" + got.AppID + "/events"; got.Links.Events != want {
		t.Errorf("links.events = %q, want %q", got.Links.Events, want)
	}
}

func TestCreateAppIsIdempotent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		kv   []string
	}{
		{"idempotency key", `{"message": "Create a todo app"}`, []string{"Idempotency-Key", "create-1"}},
		{"message_id", `{"message": "Create a todo app", "message_id": "create-1"}`, nil},
		{"both, equal", `{"message": "Create a todo app", "message_id": "create-1"}`, []string{"Idempotency-Key", "create-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *models.Store) {
				ts := newTestServer(t, s, api.Options{})
				first := accepted(t, ts.post(t, "/v1/apps", tt.body, tt.kv...))
				again := accepted(t, ts.post(t, "/v1/apps", tt.body, tt.kv...))
				if first.MessageID != "create-1" {
					t.Errorf("message_id = %q, want create-1", first.MessageID)
				}
				if again.AppID != first.AppID || again.MessageID != first.MessageID || again.Position != first.Position {
					t.Errorf("retry answered %+v, want the first answer %+v", again, first)
				}
				if n := countApps(t, s); n != 1 {
					t.Errorf("got %d apps, want 1", n)
				}
				if n := len(messagesOf(t, s, first.AppID)); n != 1 {
					t.Errorf("got %d stored messages, want 1", n)
				}
				if n := ts.WF.sentCount(); n != 1 {
					t.Errorf("workflow got %d messages, want 1", n)
				}
				if n := len(eventsOf(t, s, first.AppID)); n != 1 {
					t.Errorf("got %d events, want 1", n)
				}
			})
		})
	}
}

// TestCreateAppConcurrentRetries sends the same keyed create request many times at once,
// as a client that double-submits or retries while the first request is still running.
func TestCreateAppConcurrentRetries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{})
		const n = 16
		results := make([]response, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = ts.tryDo(t, http.MethodPost, "/v1/apps", `{"message": "Create a todo app"}`, hdr("Idempotency-Key", "double-submit"))
			})
		}
		close(start) // all at once, so that they race past the lookup of the message ID
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		first := accepted(t, results[0])
		for i, r := range results[1:] {
			if got := accepted(t, r); got.AppID != first.AppID {
				t.Errorf("request %d made app %s, want %s like request 0", i+1, got.AppID, first.AppID)
			}
		}
		if got := countApps(t, s); got != 1 {
			t.Errorf("got %d apps, want 1", got)
		}
		if got := ts.WF.sentCount(); got != 1 {
			t.Errorf("workflow got %d messages, want 1", got)
		}
	})
}

func TestMessageIDReused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{})
		first := accepted(t, ts.post(t, "/v1/apps", `{"message": "Create a todo app", "message_id": "m-1"}`))
		msgs := "/v1/apps/" + first.AppID + "/messages"

		msg := wantError(t, ts.post(t, msgs, `{"message": "Something else", "message_id": "m-1"}`), http.StatusConflict, "message_id_reused")
		wantContains(t, "message", msg, "m-1")
		wantError(t, ts.post(t, msgs, `{"message": "Something else"}`, "Idempotency-Key", "m-1"), http.StatusConflict, "message_id_reused")
		wantError(t, ts.post(t, "/v1/apps", `{"message": "Something else", "message_id": "m-1"}`), http.StatusConflict, "message_id_reused")

		// The same text again is a retry, not a conflict.
		again := accepted(t, ts.post(t, msgs, `{"message": "Create a todo app", "message_id": "m-1"}`))
		if again.MessageID != "m-1" || again.Position != 0 {
			t.Errorf("retry = %+v, want the first answer (m-1, position 0)", again)
		}
		ms := messagesOf(t, s, first.AppID)
		if len(ms) != 1 || ms[0].Content != "Create a todo app" {
			t.Errorf("stored messages = %+v, want only the first", ms)
		}
		if n := ts.WF.sentCount(); n != 1 {
			t.Errorf("workflow got %d messages, want 1", n)
		}
		if n := countApps(t, s); n != 1 {
			t.Errorf("got %d apps, want 1", n)
		}
	})
}

// A late retry of a message whose turn has finished is answered from the database and
// not handed to the workflow again: the workflow remembers only its last message IDs
// (none after a reset), so it would run the turn again and put the message's old
// version back live. A message still waiting for its turn is handed over as before.
func TestLateRetryOfFinishedMessageIsNotSentAgain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{})
		create := `{"message": "Create a todo app", "message_id": "late-1"}`
		first := accepted(t, ts.post(t, "/v1/apps", create))
		msgs := "/v1/apps/" + first.AppID + "/messages"
		change := `{"message": "Add dark mode", "message_id": "late-2"}`
		accepted(t, ts.post(t, msgs, change))
		waiting := `{"message": "Add a footer", "message_id": "late-3"}`
		accepted(t, ts.post(t, msgs, waiting))
		// The first two turns end, one live and one failed, as FinishTurn records them.
		storetest.Must(t, s.UpdateMessage(t.Context(), first.AppID, "late-1", map[string]any{"status": models.MessageDone}), "finish late-1")
		storetest.Must(t, s.UpdateMessage(t.Context(), first.AppID, "late-2", map[string]any{"status": models.MessageFailed}), "finish late-2")
		events := len(eventsOf(t, s, first.AppID))
		// The workflow forgets every message ID, as after an operator reset.
		ts.WF.mu.Lock()
		ts.WF.sent, ts.WF.results = nil, map[string]workflows.SendResult{}
		ts.WF.mu.Unlock()

		for _, tc := range []struct{ path, body, id, status string }{{"/v1/apps", create, "late-1", "done"}, {msgs, create, "late-1", "done"}, {msgs, change, "late-2", "failed"}} {
			got := accepted(t, ts.post(t, tc.path, tc.body))
			if got.AppID != first.AppID || got.MessageID != tc.id || got.Status != tc.status || got.Position != 0 || !got.Duplicate {
				t.Errorf("late retry of %s to %s = %+v, want app %s, %s, position 0, a duplicate", tc.id, tc.path, got, first.AppID, tc.status)
			}
		}
		if sent := ts.WF.sentTo(first.AppID); len(sent) != 0 {
			t.Errorf("workflow got %+v again, want no finished message handed over twice", sent)
		}
		if n := len(eventsOf(t, s, first.AppID)); n != events {
			t.Errorf("got %d events after the late retries, want %d as before", n, events)
		}
		// A message whose turn has not run yet still reaches the workflow on a retry.
		again := accepted(t, ts.post(t, msgs, waiting))
		if again.MessageID != "late-3" || again.Duplicate {
			t.Errorf("retry of the waiting message = %+v, want late-3 handed over", again)
		}
		want := []workflows.ChatMessage{{ID: "late-3", Text: "Add a footer"}}
		if sent := ts.WF.sentTo(first.AppID); !slices.Equal(sent, want) {
			t.Errorf("workflow got %+v, want %+v", sent, want)
		}
	})
}

func TestWorkflowServiceUnavailable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{})
		body := `{"message": "Create a todo app", "message_id": "retry-1"}`

		ts.WF.setUnavailable(true)
		down := ts.post(t, "/v1/apps", body)
		msg := wantError(t, down, http.StatusServiceUnavailable, "workflow_service_unavailable")
		wantContains(t, "message", msg, "retry")
		wantContains(t, "error body", string(down.Body), `"message_id":"retry-1"`, `"app_id":"`)
		stored, err := s.UserMessage(t.Context(), "retry-1")
		storetest.Must(t, err, "the message is stored while the workflow service is down")
		if stored.Content != "Create a todo app" || stored.Status != models.MessageQueued {
			t.Errorf("stored message = %+v, want the text, queued", stored)
		}
		if n := len(eventsOf(t, s, stored.AppID)); n != 0 {
			t.Errorf("got %d events, want none before the workflow has the message", n)
		}

		ts.WF.setUnavailable(false)
		got := accepted(t, ts.post(t, "/v1/apps", body))
		if got.AppID != stored.AppID || got.MessageID != "retry-1" || got.Duplicate {
			t.Errorf("retry = %+v, want app %s, message retry-1, not a duplicate", got, stored.AppID)
		}
		if n := countApps(t, s); n != 1 {
			t.Errorf("got %d apps, want 1", n)
		}
		if n := len(messagesOf(t, s, got.AppID)); n != 1 {
			t.Errorf("got %d stored messages, want 1", n)
		}
		if n := len(eventsOf(t, s, got.AppID)); n != 1 {
			t.Errorf("got %d events, want 1 message_queued", n)
		}

		// The same on an existing app.
		msgs := "/v1/apps/" + got.AppID + "/messages"
		body = `{"message": "Add dark mode", "message_id": "retry-2"}`
		ts.WF.setUnavailable(true)
		wantError(t, ts.post(t, msgs, body), http.StatusServiceUnavailable, "workflow_service_unavailable")
		if ms := messagesOf(t, s, got.AppID); len(ms) != 2 || ms[1].ID != "retry-2" {
			t.Errorf("stored messages = %+v, want retry-2 stored too", ms)
		}
		ts.WF.setUnavailable(false)
		next := accepted(t, ts.post(t, msgs, body))
		if next.Position != 1 {
			t.Errorf("position = %d, want 1", next.Position)
		}
		if n := len(messagesOf(t, s, got.AppID)); n != 2 {
			t.Errorf("got %d stored messages, want 2", n)
		}
		want := []workflows.ChatMessage{{ID: "retry-1", Text: "Create a todo app"}, {ID: "retry-2", Text: "Add dark mode"}}
		if sent := ts.WF.sentTo(got.AppID); !slices.Equal(sent, want) {
			t.Errorf("workflow got %+v, want %+v", sent, want)
		}
	})
}

func TestUnknownApp(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "otherapp0001") // some other app exists
	tests := []struct{ method, path, body string }{
		{"GET", "/v1/apps/nosuchapp001", ""},
		{"POST", "/v1/apps/nosuchapp001/messages", `{"message": "hi"}`},
		{"POST", "/v1/apps/nosuchapp001/messages", ""},
		{"GET", "/v1/apps/nosuchapp001/messages", ""},
		{"GET", "/v1/apps/nosuchapp001/events", ""},
		{"GET", "/v1/apps/nosuchapp001/events?follow=false", ""},
		{"GET", "/v1/apps/nosuchapp001/versions", ""},
		{"GET", "/v1/apps/nosuchapp001/versions/1", ""},
		{"GET", "/v1/apps/nosuchapp001/versions/x", ""},
		{"GET", "/v1/apps/nosuchapp001/versions/1/files", ""},
		{"GET", "/v1/apps/nosuchapp001/versions/1/files/index.html", ""},
		{"GET", "/v1/apps/nosuchapp001/deployments", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			msg := wantError(t, ts.do(t, tt.method, tt.path, tt.body, nil), http.StatusNotFound, "not_found")
			wantContains(t, "message", msg, "nosuchapp001")
		})
	}
	if n := ts.WF.sentCount(); n != 0 {
		t.Errorf("workflow got %d messages, want none", n)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	tests := []struct {
		method, path string
		status       int
		code         string
		allow        []string // want these in the Allow header of a 405
	}{
		{"GET", "/nope", http.StatusNotFound, "not_found", nil},
		{"GET", "/v1", http.StatusNotFound, "not_found", nil},
		{"GET", "/v2/apps", http.StatusNotFound, "not_found", nil},
		{"GET", "/v1/apps/x/nope", http.StatusNotFound, "not_found", nil},
		{"DELETE", "/v1/apps", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET", "POST"}},
		{"PUT", "/v1/apps/someapp", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
		{"DELETE", "/v1/apps/someapp/messages", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET", "POST"}},
		{"POST", "/v1/apps/someapp/events", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
		{"POST", "/healthz", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, "", nil)
			msg := wantError(t, r, tt.status, tt.code)
			wantContains(t, "message", msg, tt.path)
			for _, m := range tt.allow {
				wantContains(t, "Allow", r.Header.Get("Allow"), m)
			}
		})
	}
}

func TestGetApp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{PublicURL: "http://api.test"})
		created := accepted(t, ts.post(t, "/v1/apps", `{"message": "Create a todo app", "message_id": "m-1"}`))
		path := "/v1/apps/" + created.AppID

		type appBody struct {
			ID            string              `json:"id"`
			Name          string              `json:"name"`
			PreviewScript string              `json:"preview_script"`
			LatestVersion int                 `json:"latest_version"`
			LiveVersion   int                 `json:"live_version"`
			State         *workflows.AppState `json:"state"`
			StateError    string              `json:"state_error"`
			Links         struct {
				App string `json:"app"`
			} `json:"links"`
		}
		got := decode[appBody](t, ts.get(t, path))
		if got.ID != created.AppID || got.Name == "" || got.PreviewScript != created.AppID+"-preview" {
			t.Errorf("app = %+v, want id %s, a name and its preview script", got, created.AppID)
		}
		if want := "http://api.test" + path; got.Links.App != want {
			t.Errorf("links.app = %q, want %q", got.Links.App, want)
		}
		if got.StateError != "" {
			t.Errorf("state_error = %q, want none", got.StateError)
		}
		if got.State == nil {
			t.Fatal("state is missing")
		}
		if want := []workflows.ChatMessage{{ID: "m-1", Text: "Create a todo app"}}; got.State.AppID != created.AppID || !slices.Equal(got.State.Queue, want) {
			t.Errorf("state = %+v, want the fake's state of %s with queue %+v", got.State, created.AppID, want)
		}

		// The app is still shown while the workflow service is down.
		ts.WF.setStateErr(serviceerror.NewUnavailable("connection refused"))
		r := ts.get(t, path)
		if r.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200 without the state; body %s", r.Status, r.Body)
		}
		got = decode[appBody](t, r)
		if got.ID != created.AppID || got.State != nil {
			t.Errorf("app = %+v, want id %s and no state", got, created.AppID)
		}
		wantContains(t, "state_error", got.StateError, "connection refused")
		if strings.Contains(string(r.Body), `"state":`) {
			t.Errorf("body %s has a state, want none", r.Body)
		}
	})
}

func TestListApps(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	var want []string
	for _, text := range []string{"A todo app", "A weather app"} {
		want = append(want, accepted(t, ts.post(t, "/v1/apps", `{"message": "`+text+`"}`)).AppID)
	}
	got := decode[struct {
		Apps []models.App `json:"apps"`
	}](t, ts.get(t, "/v1/apps"))
	var ids []string
	for _, a := range got.Apps {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("apps = %q, want %q", ids, want)
	}
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "todoapp00001")
	d := models.Deployment{ID: "d1", AppID: "todoapp00001", VersionID: "v1", VersionNumber: 1, Environment: models.EnvPreview, Script: "todoapp00001-preview", URL: "http://preview.test", Status: models.DeploymentLive}
	storetest.Must(t, ts.Store.SaveDeployment(t.Context(), d), "save deployment")
	got := decode[struct {
		Deployments []models.Deployment `json:"deployments"`
	}](t, ts.get(t, "/v1/apps/todoapp00001/deployments"))
	if len(got.Deployments) != 1 || got.Deployments[0].ID != "d1" || got.Deployments[0].URL != d.URL || got.Deployments[0].Status != models.DeploymentLive {
		t.Errorf("deployments = %+v, want d1, live at %s", got.Deployments, d.URL)
	}
}

func TestPanicIsInternalError(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "todoapp00001")
	ts.WF.setStatePanics(true)
	msg := wantError(t, ts.get(t, "/v1/apps/todoapp00001"), http.StatusInternalServerError, "internal")
	if strings.Contains(msg, "fake state panics") {
		t.Errorf("message = %q leaks the panic", msg)
	}
	ts.WF.setStatePanics(false)
	if r := ts.get(t, "/v1/apps/todoapp00001"); r.Status != http.StatusOK {
		t.Errorf("after a panic status = %d, want 200", r.Status)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	r := ts.get(t, "/healthz")
	if r.Status != http.StatusOK {
		t.Errorf("status = %d, want 200", r.Status)
	}
	if got := decode[map[string]string](t, r); got["status"] != "ok" {
		t.Errorf("body = %s, want status ok", r.Body)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	errTemporal := errors.New("temporal at 127.0.0.1:7233: connection refused")
	type readyBody struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	tests := []struct {
		name       string
		ready      func(context.Context) error
		closeStore bool
		status     int
		checks     map[string]string // check name -> text the check must hold
	}{
		{"no ready func", nil, false, http.StatusOK, map[string]string{"database": "ok"}},
		{"ready", func(context.Context) error { return nil }, false, http.StatusOK, map[string]string{"database": "ok", "temporal": "ok"}},
		{"temporal down", func(context.Context) error { return errTemporal }, false, http.StatusServiceUnavailable, map[string]string{"database": "ok", "temporal": errTemporal.Error()}},
		{"database down", func(context.Context) error { return nil }, true, http.StatusServiceUnavailable, map[string]string{"database": "closed", "temporal": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.Open(t, "sqlite")
			ts := newTestServer(t, s, api.Options{Ready: tt.ready})
			if tt.closeStore {
				storetest.Must(t, s.Close(), "close store")
			}
			r := ts.get(t, "/readyz")
			if r.Status != tt.status {
				t.Errorf("status = %d, want %d; body %s", r.Status, tt.status, r.Body)
			}
			got := decode[readyBody](t, r)
			wantStatus := "ready"
			if tt.status != http.StatusOK {
				wantStatus = "not ready"
			}
			if got.Status != wantStatus {
				t.Errorf("status = %q, want %q", got.Status, wantStatus)
			}
			if len(got.Checks) != len(tt.checks) {
				t.Errorf("checks = %v, want %d of them", got.Checks, len(tt.checks))
			}
			for name, want := range tt.checks {
				wantContains(t, "check "+name, got.Checks[name], want)
			}
		})
	}
}

func TestChatPage(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	r := ts.get(t, "/")
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200", r.Status)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	wantContains(t, "Content-Security-Policy", r.Header.Get("Content-Security-Policy"), "default-src 'self'")
	body := strings.ToLower(string(r.Body))
	wantContains(t, "page", body, "<!doctype html>", "/v1/apps", "eventsource")
}

// TestListAppsPages walks the apps a page at a time: every app once, newest first, on
// both databases (apps made in the same instant are told apart by id).
func TestListAppsPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, store *models.Store) {
		ts := newTestServer(t, store, api.Options{})
		for i := range 7 {
			newStoreApp(t, store, fmt.Sprintf("pageapp%05d", i))
		}
		type page struct {
			Apps []models.App `json:"apps"`
			Next string       `json:"next"`
		}
		var seen []string
		path := "/v1/apps?limit=3"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatalf("more pages than apps: %q", seen)
			}
			p := decode[page](t, ts.get(t, path))
			for _, a := range p.Apps {
				seen = append(seen, a.ID)
			}
			if p.Next == "" {
				break
			}
			path = "/v1/apps?limit=3&before=" + p.Next
		}
		all := decode[page](t, ts.get(t, "/v1/apps"))
		var want []string
		for _, a := range all.Apps {
			want = append(want, a.ID)
		}
		if len(want) != 7 || all.Next != "" || !slices.Equal(seen, want) {
			t.Errorf("pages gave %q, one page %q (next %q), want the 7 apps in the same order", seen, want, all.Next)
		}
		for i := 1; i < len(all.Apps); i++ {
			if all.Apps[i].CreatedAt.After(all.Apps[i-1].CreatedAt) {
				t.Errorf("app %s is newer than the one before it", all.Apps[i].ID)
			}
		}
		wantError(t, ts.get(t, "/v1/apps?limit=0"), http.StatusBadRequest, "invalid_limit")
		wantError(t, ts.get(t, "/v1/apps?limit=101"), http.StatusBadRequest, "invalid_limit")
		wantError(t, ts.get(t, "/v1/apps?before=nosuchapp"), http.StatusBadRequest, "invalid_cursor")
	})
}
