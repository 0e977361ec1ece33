package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/workflows"
)

func TestOperationsAreQueuedAsMessages(t *testing.T) {
	ts := newSQLiteServer(t, api.Options{})
	withVersions(t, ts.Store)
	for _, tc := range []struct {
		path, body string
		want       workflows.ChatMessage
	}{
		{"/v1/apps/todoapp00001/environments/production/deploy", "", workflows.ChatMessage{Command: "publish", Environment: "production"}},
		{"/v1/apps/todoapp00001/environments/production/deploy", `{"version": 1}`, workflows.ChatMessage{Command: "publish", Environment: "production", Version: 1}},
		{"/v1/apps/todoapp00001/environments/production/rollback", "", workflows.ChatMessage{Command: "rollback", Environment: "production"}},
		{"/v1/apps/todoapp00001/environments/preview/rollback", "{}", workflows.ChatMessage{Command: "rollback", Environment: "preview"}},
		{"/v1/apps/todoapp00001/versions/1/restore", "", workflows.ChatMessage{Command: "restore", Version: 1}},
	} {
		before := len(ts.WF.sentTo("todoapp00001"))
		r := ts.do(t, http.MethodPost, tc.path, tc.body, nil)
		if r.Status != http.StatusAccepted {
			t.Errorf("POST %s = %d %s", tc.path, r.Status, r.Body)
			continue
		}
		sent := ts.WF.sentTo("todoapp00001")
		if len(sent) != before+1 {
			t.Fatalf("POST %s sent %d messages", tc.path, len(sent)-before)
		}
		got := sent[len(sent)-1]
		got.ID = ""
		if got != tc.want {
			t.Errorf("POST %s sent %+v, want %+v", tc.path, got, tc.want)
		}
	}
	// The chat shows the operations in words.
	var chat struct {
		Messages []struct{ Content string } `json:"messages"`
	}
	json.Unmarshal(ts.get(t, "/v1/apps/todoapp00001/messages").Body, &chat)
	if n := len(chat.Messages); n != 5 || chat.Messages[1].Content != "Publish version 1 to production" {
		t.Errorf("chat = %+v", chat.Messages)
	}
	// A retried operation with its key runs once.
	for i := 0; i < 2; i++ {
		ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/environments/production/rollback", "", hdr("Idempotency-Key", "rollback-7"))
	}
	n := 0
	for _, m := range ts.WF.sentTo("todoapp00001") {
		if m.ID == "rollback-7" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the keyed rollback was sent %d times", n)
	}

	wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/environments/preview/deploy", "", nil), 400, "preview_is_automatic")
	wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/environments/staging/deploy", "", nil), 404, "not_found")
	msg := wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/environments/production/deploy", `{"version": "two"}`, nil), 400, "invalid_json")
	wantContains(t, "message", msg, `"version" must be a whole number, not a string`)
	wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/versions/9/restore", "", nil), 404, "not_found")
	// A field where none is taken is refused, not ignored: rollback has no version.
	before := len(ts.WF.sentTo("todoapp00001"))
	msg = wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/environments/production/rollback", `{"version": 1}`, nil), 400, "invalid_json")
	wantContains(t, "message", msg, "takes no body", "deploy", `"version"`)
	wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/versions/1/restore", `{"version": 2}`, nil), 400, "invalid_json")
	wantError(t, ts.do(t, http.MethodPost, "/v1/apps/todoapp00001/environments/production/deploy", `{"version": 1}`, hdr("Content-Type", "text/html")), 415, "unsupported_media_type")
	if after := len(ts.WF.sentTo("todoapp00001")); after != before {
		t.Errorf("refused requests sent %d messages", after-before)
	}
}

func TestDiffAndEnvironments(t *testing.T) {
	ts := newSQLiteServer(t, api.Options{})
	withVersions(t, ts.Store)
	var d struct {
		From, To                int
		Added, Removed, Changed []struct{ Path string }
		Unchanged               int
	}
	r := ts.get(t, "/v1/apps/todoapp00001/versions/2/diff")
	if err := json.Unmarshal(r.Body, &d); err != nil || r.Status != 200 {
		t.Fatalf("diff = %d %s", r.Status, r.Body)
	}
	if d.From != 1 || d.To != 2 || len(d.Added) != 0 || len(d.Removed) != 1 || d.Removed[0].Path != "package.json" || len(d.Changed) != 2 {
		t.Errorf("diff 1→2 = %s", r.Body)
	}
	json.Unmarshal(ts.get(t, "/v1/apps/todoapp00001/versions/1/diff?against=2").Body, &d)
	if len(d.Added) != 1 || d.Added[0].Path != "package.json" {
		t.Errorf("diff 2→1 = %+v", d)
	}
	wantError(t, ts.get(t, "/v1/apps/todoapp00001/versions/1/diff"), 400, "invalid_version")
	wantError(t, ts.get(t, "/v1/apps/todoapp00001/versions/2/diff?against=x"), 400, "invalid_version")

	var envs struct {
		Environments []struct {
			Name, Script string
			Version      int
		} `json:"environments"`
	}
	json.Unmarshal(ts.get(t, "/v1/apps/todoapp00001/environments").Body, &envs)
	if len(envs.Environments) != 2 || envs.Environments[0].Name != "preview" || envs.Environments[0].Version != 1 || envs.Environments[1].Script != "todoapp00001" {
		t.Errorf("environments = %+v", envs)
	}
}
