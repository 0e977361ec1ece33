package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
)

// TestStopMessage: a waiting message is stopped at once (200), the turn at work is
// asked to stop (202); an answer, a finished message, one past stopping or one never
// sent is refused with a reason.
func TestStopMessage(t *testing.T) {
	ctx := context.Background()
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "todoapp00001")
	base := "/v1/apps/todoapp00001/messages/"
	for _, id := range []string{"first", "second", "third"} {
		accepted(t, ts.do(t, http.MethodPost, base[:len(base)-1], `{"message": "make it green", "message_id": "`+id+`"}`, nil))
	}

	r := ts.do(t, http.MethodPost, base+"second/stop", "", nil)
	if got := decode[map[string]any](t, r); r.Status != http.StatusOK || got["status"] != "stopped" || got["was"] != "waiting" {
		t.Errorf("waiting message: %d %v", r.Status, got)
	}
	r = ts.do(t, http.MethodPost, base+"first/stop", "", nil)
	if got := decode[map[string]any](t, r); r.Status != http.StatusAccepted || got["status"] != "stopping" || got["was"] != "working" {
		t.Errorf("working message: %d %v", r.Status, got)
	}

	ts.WF.tooLate = map[string]bool{"third": true}
	wantContains(t, "message", wantError(t, ts.do(t, http.MethodPost, base+"third/stop", "", nil), http.StatusConflict, "too_late"), "going live")
	wantContains(t, "message", wantError(t, ts.do(t, http.MethodPost, base+"never-sent/stop", "", nil), http.StatusNotFound, "not_found"), "never-sent")
	wantError(t, ts.do(t, http.MethodPost, base+"first/stop", `{"force": true}`, nil), http.StatusBadRequest, "invalid_json")

	// A message whose turn ended, and an answer, cannot be stopped.
	if err := ts.Store.UpdateMessage(ctx, "todoapp00001", "third", map[string]any{"status": models.MessageDone}); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "message", wantError(t, ts.do(t, http.MethodPost, base+"third/stop", "", nil), http.StatusConflict, "too_late"), "answered already")
	if _, _, err := ts.Store.SaveMessage(ctx, models.ChatMessage{AppID: "todoapp00001", ID: "third.reply", Role: models.RoleAssistant, Content: "Done.", ReplyTo: "third", Status: models.MessageDone}); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "message", wantError(t, ts.do(t, http.MethodPost, base+"third.reply/stop", "", nil), http.StatusNotFound, "not_found"), "an answer")

	// Unknown to the workflow (not delivered yet): a conflict that says to retry.
	if _, _, err := ts.Store.SaveMessage(ctx, models.ChatMessage{AppID: "todoapp00001", ID: "undelivered", Role: models.RoleUser, Content: "hi", Status: models.MessageQueued}); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "message", wantError(t, ts.do(t, http.MethodPost, base+"undelivered/stop", "", nil), http.StatusConflict, "not_stoppable"), "retry in a moment")
}
