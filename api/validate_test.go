package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

// TestBadMessageRequests sends each bad (and each barely good) request to both endpoints
// that take a chat message.
func TestBadMessageRequests(t *testing.T) {
	t.Parallel()
	const maxBytes = 100
	// The body limit leaves room for JSON escapes: 6 bytes per message byte and 4 KiB.
	const bodyLimit = maxBytes*6 + 4096
	ts := newSQLiteServer(t, api.Options{MaxMessageBytes: maxBytes})
	newStoreApp(t, ts.Store, "todoapp00001")

	id80 := strings.Repeat("m", 80)
	tests := []struct {
		name   string
		body   string
		header []string
		status int
		code   string
		want   []string // the error message holds these
	}{
		{name: "empty body", body: "", status: 400, code: "invalid_json", want: []string{"empty", `"message"`}},
		{name: "blank body", body: " \n\t ", status: 400, code: "invalid_json", want: []string{"empty"}},
		{name: "malformed JSON", body: `{"message": "hi"`, status: 400, code: "invalid_json", want: []string{"not valid JSON", "unexpected EOF"}},
		{name: "bad character", body: `{"message": 'hi'}`, status: 400, code: "invalid_json", want: []string{"not valid JSON at byte 13", "invalid character"}},
		{name: "not an object", body: `["hi"]`, status: 400, code: "invalid_json", want: []string{"must be a JSON object, not a list"}},
		{name: "message not a string", body: `{"message": 42}`, status: 400, code: "invalid_json", want: []string{`"message" must be a string, not a number`}},
		{name: "message_id not a string", body: `{"message": "hi", "message_id": true}`, status: 400, code: "invalid_json", want: []string{`"message_id" must be a string, not true or false`}},
		{name: "unknown field", body: `{"mesage": "Create a todo app"}`, status: 400, code: "invalid_json", want: []string{`unknown field "mesage"`}},
		{name: "missing message", body: `{}`, status: 400, code: "message_empty", want: []string{`"message" is missing or empty`}},
		{name: "null message", body: `{"message": null}`, status: 400, code: "message_empty", want: []string{`"message"`}},
		{name: "blank message", body: `{"message": "  \n\t "}`, status: 400, code: "message_empty", want: []string{`"message" is missing or empty`}},
		{name: "message too long", body: `{"message": "` + strings.Repeat("a", maxBytes+1) + `"}`, status: 400, code: "message_too_long", want: []string{"101 bytes", "at most 100"}},
		{name: "multi-byte message too long", body: `{"message": "` + strings.Repeat("é", maxBytes/2) + `a"}`, status: 400, code: "message_too_long", want: []string{"101 bytes"}},
		{name: "body too large", body: `{"message": "hi"}` + strings.Repeat(" ", bodyLimit), status: 400, code: "message_too_long", want: []string{"request body is larger than", "100 bytes"}},
		{name: "message_id with spaces", body: `{"message": "hi", "message_id": "my id"}`, status: 400, code: "invalid_message_id", want: []string{`"my id"`, "letters, digits"}},
		{name: "message_id too long", body: `{"message": "hi", "message_id": "` + id80 + `m"}`, status: 400, code: "invalid_message_id", want: []string{"longer than 80"}},
		{name: "message_id with a slash", body: `{"message": "hi", "message_id": "a/b"}`, status: 400, code: "invalid_message_id", want: []string{`"a/b"`}},
		{name: "idempotency key with spaces", body: `{"message": "hi"}`, header: []string{"Idempotency-Key", "my key"}, status: 400, code: "invalid_message_id", want: []string{`"my key"`}},
		{name: "message_id differs from idempotency key", body: `{"message": "hi", "message_id": "a"}`, header: []string{"Idempotency-Key", "b"}, status: 400, code: "invalid_message_id", want: []string{"message_id", "Idempotency-Key"}},
		{name: "two JSON values", body: `{"message": "hi"} {"message": "again"}`, status: 400, code: "invalid_json", want: []string{"more than"}},
		{name: "trailing brace", body: `{"message": "hi"}}`, status: 400, code: "invalid_json", want: []string{"more than"}},
		{name: "trailing garbage", body: `{"message": "hi"} x`, status: 400, code: "invalid_json", want: []string{"more than"}},
		{name: "NUL in message", body: `{"message": "make a\u0000 todo app"}`, status: 400, code: "invalid_message", want: []string{"control character U+0000", "plain text"}},
		{name: "bell in message", body: `{"message": "ding\u0007"}`, status: 400, code: "invalid_message", want: []string{"U+0007"}},
		{name: "C1 control in message", body: `{"message": "next\u0085line"}`, status: 400, code: "invalid_message", want: []string{"U+0085"}},
		{name: "content type html", body: `{"message": "hi"}`, header: []string{"Content-Type", "text/html"}, status: 415, code: "unsupported_media_type", want: []string{"JSON"}},
		{name: "content type xml", body: `{"message": "hi"}`, header: []string{"Content-Type", "application/xml"}, status: 415, code: "unsupported_media_type"},
		{name: "content type multipart", body: `{"message": "hi"}`, header: []string{"Content-Type", "multipart/form-data; boundary=x"}, status: 415, code: "unsupported_media_type"},
		{name: "content type unparseable", body: `{"message": "hi"}`, header: []string{"Content-Type", "json;;"}, status: 415, code: "unsupported_media_type"},

		// Good requests at the edges.
		{name: "message at the limit", body: `{"message": "` + strings.Repeat("a", maxBytes) + `"}`, status: 202},
		{name: "multi-byte message at the limit", body: `{"message": "` + strings.Repeat("é", maxBytes/2) + `"}`, status: 202},
		{name: "fully escaped message at the limit", body: `{"message": "` + strings.Repeat(`\u0041`, maxBytes) + `"}`, status: 202},
		{name: "tabs and line breaks", body: `{"message": "a\tb\r\nc"}`, status: 202},
		{name: "surrounding space is not counted", body: `{"message": "  ` + strings.Repeat("a", maxBytes) + `\n"}`, status: 202},
		{name: "message_id of 80 characters", body: `{"message": "hi", "message_id": "` + id80 + `"}`, status: 202},
		{name: "message_id equals idempotency key", body: `{"message": "hi", "message_id": "same-1"}`, header: []string{"Idempotency-Key", "same-1"}, status: 202},
		{name: "json with charset", body: `{"message": "hi"}`, header: []string{"Content-Type", "application/json; charset=utf-8"}, status: 202},
		{name: "no content type", body: `{"message": "hi"}`, header: []string{"Content-Type", ""}, status: 202},
		{name: "curl -d content type", body: `{"message": "hi"}`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 202},
	}
	endpoints := []string{"/v1/apps", "/v1/apps/todoapp00001/messages"}
	for _, tt := range tests {
		for _, path := range endpoints {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				apps, sent := countApps(t, ts.Store), ts.WF.sentCount()
				r := ts.do(t, http.MethodPost, path, tt.body, hdr(tt.header...))
				if tt.status == http.StatusAccepted {
					accepted(t, r)
					return
				}
				msg := wantError(t, r, tt.status, tt.code)
				wantContains(t, "message", msg, tt.want...)
				if strings.Contains(msg, "Go value") || strings.Contains(msg, "api.") || strings.Contains(msg, "json: ") {
					t.Errorf("message %q speaks of the decoder, not of the request", msg)
				}
				if got := countApps(t, ts.Store); got != apps {
					t.Errorf("apps went from %d to %d, want no new app", apps, got)
				}
				if got := ts.WF.sentCount(); got != sent {
					t.Errorf("workflow messages went from %d to %d, want none sent", sent, got)
				}
			})
		}
	}
	// No rejected request left a message behind: every stored message was accepted.
	if got, want := len(messagesOf(t, ts.Store, "todoapp00001")), len(ts.WF.sentTo("todoapp00001")); got != want {
		t.Errorf("app has %d stored messages, want %d, as many as the workflow accepted", got, want)
	}
}

// TestMessageOverWorkflowLimit sets the API's limit above the workflow's: the workflow's
// own check still answers 400, not a failed hand-over.
func TestMessageOverWorkflowLimit(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{MaxMessageBytes: 64 << 10})
	msg := wantError(t, ts.post(t, "/v1/apps", `{"message": "`+strings.Repeat("a", 40<<10)+`"}`), http.StatusBadRequest, "invalid_message")
	wantContains(t, "message", msg, "longer than")
	if n := countApps(t, ts.Store); n != 0 {
		t.Errorf("got %d apps, want none", n)
	}
}

// TestOddBytesOnEveryDialect sends what Postgres refuses outright (NUL) where it would
// reach a query: a clear 4xx and no half-made app, on both databases.
func TestOddBytesOnEveryDialect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, store *models.Store) {
		ts := newTestServer(t, store, api.Options{})
		newStoreApp(t, ts.Store, "todoapp00001")
		wantError(t, ts.post(t, "/v1/apps", `{"message": "a\u0000b"}`), http.StatusBadRequest, "invalid_message")
		wantError(t, ts.post(t, "/v1/apps/todoapp00001/messages", `{"message": "a\u0000b"}`), http.StatusBadRequest, "invalid_message")
		if n := countApps(t, ts.Store); n != 1 {
			t.Errorf("got %d apps, want only the one made by the test", n)
		}
		for _, path := range []string{"/v1/apps/%00", "/v1/apps/a%00b/versions", "/v1/apps/a%20b/messages", "/v1/apps/%C3%A9t%C3%A9", "/v1/apps/" + strings.Repeat("a", 65)} {
			msg := wantError(t, ts.do(t, http.MethodGet, path, "", nil), http.StatusNotFound, "not_found")
			wantContains(t, path, msg, "not found")
		}
		// A message id in a path that no message can have is not found either.
		for _, id := range []string{"a%00b", "%C3%A9t%C3%A9", "a%20b", strings.Repeat("m", 81)} {
			path := "/v1/apps/todoapp00001/messages/" + id + "/stop"
			msg := wantError(t, ts.do(t, http.MethodPost, path, "", nil), http.StatusNotFound, "not_found")
			wantContains(t, path, msg, "no message")
		}
	})
}
