package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

// waitLimit bounds every wait for the stream. Tests that must not rely on polling set
// the poll interval far beyond it, so an event that arrives in time arrived by wake-up.
const (
	waitLimit = 5 * time.Second
	never     = time.Hour
)

// sseFrame is one Server-Sent Events frame: the lines up to a blank line.
type sseFrame struct {
	ID, Event, Data, Retry string
	Comments               []string
}

func (f sseFrame) isEvent() bool { return f.ID != "" || f.Event != "" || f.Data != "" }

// parseFrames reads frames until the stream ends or emit returns false.
func parseFrames(r io.Reader, emit func(sseFrame) bool) {
	sc := bufio.NewScanner(r)
	var f sseFrame
	started := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if started && !emit(f) {
				return
			}
			f, started = sseFrame{}, false
			continue
		}
		started = true
		if c, ok := strings.CutPrefix(line, ":"); ok {
			f.Comments = append(f.Comments, strings.TrimSpace(c))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			f.ID = value
		case "event":
			f.Event = value
		case "data":
			if f.Data != "" {
				f.Data += "\n"
			}
			f.Data += value
		case "retry":
			f.Retry = value
		}
	}
}

// eventData is the JSON of an event's data line.
type eventData struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	Message   string          `json:"message"`
	Version   int             `json:"version"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// stream is an open event stream.
type stream struct {
	resp   *http.Response
	frames <-chan sseFrame
}

// openStream connects to path and reads its frames in the background until the test ends.
func (ts *testServer) openStream(t *testing.T, path string, kv ...string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+path, nil)
	storetest.Must(t, err, "new request")
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := ts.Client().Do(req)
	storetest.Must(t, err, "GET %s", path)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: status = %d, want 200; body %s", path, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", cc)
	}
	ch := make(chan sseFrame, 64)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) }) // runs before the body is closed
	go func() {
		defer close(ch)
		parseFrames(resp.Body, func(f sseFrame) bool {
			select {
			case ch <- f:
				return true
			case <-done:
				return false
			}
		})
	}()
	return &stream{resp: resp, frames: ch}
}

// next returns the next event frame, skipping retry hints and comments.
func (s *stream) next(t *testing.T) sseFrame {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatal("the stream ended, want another event")
			}
			if f.isEvent() {
				return f
			}
		case <-timeout:
			t.Fatalf("no event within %v", waitLimit)
		}
	}
}

// wantEnd waits for the server to end the stream, failing on any further event.
func (s *stream) wantEnd(t *testing.T) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return
			}
			if f.isEvent() {
				t.Errorf("got event %+v, want the stream to end", f)
			}
		case <-timeout:
			t.Fatalf("the stream is still open after %v, want it ended", waitLimit)
		}
	}
}

// all waits for the server to end the stream and returns every frame it sent.
func (s *stream) all(t *testing.T) []sseFrame {
	t.Helper()
	var out []sseFrame
	timeout := time.After(waitLimit)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return out
			}
			out = append(out, f)
		case <-timeout:
			t.Fatalf("the stream did not end within %v", waitLimit)
		}
	}
}

// readAll reads a stream that ends by itself (?follow=false, or after CloseStreams) and
// returns its event frames.
func (ts *testServer) readAll(t *testing.T, path string, kv ...string) []sseFrame {
	t.Helper()
	var out []sseFrame
	for _, f := range ts.openStream(t, path, kv...).all(t) {
		if f.isEvent() {
			out = append(out, f)
		}
	}
	return out
}

func ids(frames []sseFrame) []string {
	out := []string{}
	for _, f := range frames {
		out = append(out, f.ID)
	}
	return out
}

func appendEvent(t *testing.T, s *models.Store, appID string, ne models.NewEvent) models.Event {
	t.Helper()
	ev, err := s.AppendEvent(t.Context(), appID, ne)
	storetest.Must(t, err, "append %s event", ne.Type)
	return ev
}

// withEvents makes app todoapp00001 with three events.
func withEvents(t *testing.T, s *models.Store) {
	t.Helper()
	newStoreApp(t, s, "todoapp00001")
	appendEvent(t, s, "todoapp00001", models.NewEvent{Type: models.EventTurnStarted, Message: "Working on it"})
	appendEvent(t, s, "todoapp00001", models.NewEvent{Type: models.EventFileWritten, Message: "Wrote src/App.tsx", VersionNumber: 1, Data: map[string]any{"path": "src/App.tsx", "bytes": 120}})
	appendEvent(t, s, "todoapp00001", models.NewEvent{Type: models.EventBuildStarted, Message: "Building\nversion 1", VersionNumber: 1})
}

func TestEventsReplay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		withEvents(t, s)
		ts := newTestServer(t, s, api.Options{})

		// The wire format, as EventSource reads it.
		raw := ts.get(t, "/v1/apps/todoapp00001/events?follow=false")
		wantContains(t, "stream", string(raw.Body), "retry: 2000\n\nid: 1\nevent: turn_started\ndata: {\"seq\":1,", "\n\nid: 3\nevent: build_started\ndata: {")

		frames := ts.openStream(t, "/v1/apps/todoapp00001/events?follow=false").all(t)
		if len(frames) == 0 || frames[0].Retry != "2000" || frames[0].isEvent() {
			t.Fatalf("frames = %+v, want a retry hint of 2000 ms first", frames)
		}
		frames = frames[1:]
		want := []struct {
			id, event, message string
			version            int
			data               string
		}{
			{"1", models.EventTurnStarted, "Working on it", 0, ""},
			{"2", models.EventFileWritten, "Wrote src/App.tsx", 1, `{"bytes":120,"path":"src/App.tsx"}`},
			{"3", models.EventBuildStarted, "Building\nversion 1", 1, ""},
		}
		if len(frames) != len(want) {
			t.Fatalf("got frames %+v, want %d events", frames, len(want))
		}
		for i, f := range frames {
			w := want[i]
			if f.ID != w.id || f.Event != w.event {
				t.Errorf("frame %d: id, event = %q, %q, want %q, %q", i, f.ID, f.Event, w.id, w.event)
			}
			var d eventData
			if err := json.Unmarshal([]byte(f.Data), &d); err != nil {
				t.Fatalf("frame %d data %q is not one line of JSON: %v", i, f.Data, err)
			}
			if strconv.FormatInt(d.Seq, 10) != w.id || d.Type != w.event || d.Message != w.message || d.Version != w.version || d.CreatedAt.IsZero() {
				t.Errorf("frame %d data = %+v, want seq %s, type %s, message %q, version %d, a time", i, d, w.id, w.event, w.message, w.version)
			}
			if string(d.Data) != w.data {
				t.Errorf("frame %d data.data = %s, want %s", i, d.Data, w.data)
			}
		}
	})
}

func TestEventsResume(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	withEvents(t, ts.Store)
	tests := []struct {
		name  string
		query string
		kv    []string
		want  []string
	}{
		{"from the start", "", nil, []string{"1", "2", "3"}},
		{"after=0", "&after=0", nil, []string{"1", "2", "3"}},
		{"Last-Event-ID 1", "", []string{"Last-Event-ID", "1"}, []string{"2", "3"}},
		{"after=2", "&after=2", nil, []string{"3"}},
		{"Last-Event-ID wins over after", "&after=0", []string{"Last-Event-ID", "2"}, []string{"3"}},
		{"Last-Event-ID at the end", "", []string{"Last-Event-ID", "3"}, []string{}},
		{"after beyond the end", "&after=99", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(ts.readAll(t, "/v1/apps/todoapp00001/events?follow=false"+tt.query, tt.kv...))
			if !slices.Equal(got, tt.want) {
				t.Errorf("event ids = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEventsInvalidResume(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	withEvents(t, ts.Store)
	tests := []struct {
		name  string
		query string
		kv    []string
		want  string
	}{
		{"Last-Event-ID not a number", "", []string{"Last-Event-ID", "abc"}, `"abc"`},
		{"Last-Event-ID negative", "", []string{"Last-Event-ID", "-1"}, `"-1"`},
		{"Last-Event-ID fraction", "", []string{"Last-Event-ID", "1.5"}, `"1.5"`},
		{"after not a number", "?after=x", nil, `"x"`},
		{"after negative", "?after=-5", nil, `"-5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, http.MethodGet, "/v1/apps/todoapp00001/events"+tt.query, "", hdr(tt.kv...))
			msg := wantError(t, r, http.StatusBadRequest, "invalid_event_id")
			wantContains(t, "message", msg, tt.want)
		})
	}
}

// TestEventsFollowWakesOnAppend checks that an event appended in this process reaches an
// open stream through Store.Subscribe: polling is set far beyond the wait.
func TestEventsFollowWakesOnAppend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		withEvents(t, s)
		ts := newTestServer(t, s, api.Options{EventPollInterval: never, KeepAliveInterval: never})
		st := ts.openStream(t, "/v1/apps/todoapp00001/events", "Last-Event-ID", "2")
		if f := st.next(t); f.ID != "3" {
			t.Fatalf("first event id = %q, want 3", f.ID)
		}

		appendEvent(t, s, "todoapp00001", models.NewEvent{Type: models.EventBuildFinished, Message: "Built"})
		if f := st.next(t); f.ID != "4" || f.Event != models.EventBuildFinished {
			t.Errorf("event = %+v, want 4 build_finished", f)
		}

		// A message sent through the API shows up in the stream as it is queued.
		accepted(t, ts.post(t, "/v1/apps/todoapp00001/messages", `{"message": "Add dark mode", "message_id": "m-2"}`))
		f := st.next(t)
		if f.ID != "5" || f.Event != models.EventMessageQueued {
			t.Errorf("event = %+v, want 5 message_queued", f)
		}
		wantContains(t, "data", f.Data, `"message_id":"m-2"`)
	})
}

// TestEventsFollowPollsOtherProcesses appends through a second Store on the same
// database, as a worker process does: no wake-up reaches the API's Store, polling must
// find the event.
func TestEventsFollowPollsOtherProcesses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "appforge.db")
	open := func() *models.Store {
		s, err := models.Open(t.Context(), models.Options{SQLitePath: path})
		storetest.Must(t, err, "open store")
		t.Cleanup(func() { s.Close() })
		return s
	}
	apiStore, worker := open(), open()
	newStoreApp(t, apiStore, "todoapp00001")
	ts := newTestServer(t, apiStore, api.Options{EventPollInterval: 20 * time.Millisecond, KeepAliveInterval: never})
	st := ts.openStream(t, "/v1/apps/todoapp00001/events")

	appendEvent(t, worker, "todoapp00001", models.NewEvent{Type: models.EventTurnStarted, Message: "Working on it"})
	if f := st.next(t); f.ID != "1" || f.Event != models.EventTurnStarted {
		t.Errorf("event = %+v, want 1 turn_started", f)
	}
}

func TestEventsKeepAlive(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{EventPollInterval: never, KeepAliveInterval: 10 * time.Millisecond})
	newStoreApp(t, ts.Store, "todoapp00001")
	st := ts.openStream(t, "/v1/apps/todoapp00001/events")
	timeout := time.After(waitLimit)
	for {
		select {
		case f, ok := <-st.frames:
			if !ok {
				t.Fatal("the stream ended, want it kept alive")
			}
			if f.isEvent() {
				t.Fatalf("got event %+v, want only a keep-alive on an idle app", f)
			}
			if slices.Contains(f.Comments, "keep-alive") {
				return
			}
		case <-timeout:
			t.Fatalf("no keep-alive within %v", waitLimit)
		}
	}
}

func TestCloseStreams(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{EventPollInterval: never, KeepAliveInterval: never})
	withEvents(t, ts.Store)
	st := ts.openStream(t, "/v1/apps/todoapp00001/events")
	for _, want := range []string{"1", "2", "3"} {
		if f := st.next(t); f.ID != want {
			t.Fatalf("event id = %q, want %q", f.ID, want)
		}
	}
	ts.API.CloseStreams()
	st.wantEnd(t)

	// A client reconnecting during shutdown gets what there is, then the stream ends.
	if got, want := ids(ts.readAll(t, "/v1/apps/todoapp00001/events", "Last-Event-ID", "1")), []string{"2", "3"}; !slices.Equal(got, want) {
		t.Errorf("after CloseStreams event ids = %q, want %q", got, want)
	}
	ts.API.CloseStreams() // a second call is harmless
}

// TestEventsLongBacklog replays more events than the stream reads in one batch.
func TestEventsLongBacklog(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{EventPollInterval: never, KeepAliveInterval: never})
	newStoreApp(t, ts.Store, "todoapp00001")
	const n = 1203
	for i := range n {
		appendEvent(t, ts.Store, "todoapp00001", models.NewEvent{Type: models.EventFileWritten, Message: fmt.Sprint(i)})
	}
	check := func(frames []sseFrame, from int) {
		t.Helper()
		if len(frames) != n-from {
			t.Fatalf("got %d events, want %d", len(frames), n-from)
		}
		for i, f := range frames {
			if want := strconv.Itoa(from + i + 1); f.ID != want {
				t.Fatalf("event %d has id %q, want %q", i, f.ID, want)
			}
		}
	}
	check(ts.readAll(t, "/v1/apps/todoapp00001/events?follow=false"), 0)
	check(ts.readAll(t, "/v1/apps/todoapp00001/events?follow=false&after=499"), 499)

	// A following stream gets the whole backlog at once, then waits.
	st := ts.openStream(t, "/v1/apps/todoapp00001/events?after=1000")
	var got []sseFrame
	for range n - 1000 {
		got = append(got, st.next(t))
	}
	check(got, 1000)
}
