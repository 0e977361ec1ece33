package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

// A message stored while the workflow service was down reaches its workflow later
// even if the client never retries.
func TestRedeliverMessagesTheWorkflowServiceMissed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ts := newTestServer(t, s, api.Options{})
		ts.WF.setUnavailable(true)
		down := ts.post(t, "/v1/apps", `{"message": "Create a todo app"}`)
		wantError(t, down, http.StatusServiceUnavailable, "workflow_service_unavailable")
		if ts.WF.sentCount() != 0 {
			t.Fatal("the fake accepted a message while down")
		}

		// Still down: nothing is delivered, nothing is lost.
		if n, err := ts.API.Redeliver(t.Context(), 0); err == nil || n != 0 {
			t.Errorf("Redeliver while down = %d, %v; want 0 and an error", n, err)
		}
		ts.WF.setUnavailable(false)
		// Too recent: left for the client's own retry.
		if n, _ := ts.API.Redeliver(t.Context(), time.Hour); n != 0 {
			t.Errorf("Redeliver delivered %d messages younger than the grace period", n)
		}
		n, err := ts.API.Redeliver(t.Context(), 0)
		storetest.Must(t, err, "redeliver")
		if n != 1 || ts.WF.sentCount() != 1 {
			t.Fatalf("Redeliver = %d (sent %d), want 1", n, ts.WF.sentCount())
		}
		// Delivered once is enough.
		if n, _ := ts.API.Redeliver(t.Context(), 0); n != 0 {
			t.Errorf("second Redeliver = %d, want 0", n)
		}
	})
}

func TestCrossOriginWritesAreRefused(t *testing.T) {
	ts := newSQLiteServer(t, api.Options{})
	body := `{"message": "Create a todo app"}`
	r := ts.post(t, "/v1/apps", body, "Origin", "https://evil.example")
	msg := wantError(t, r, http.StatusForbidden, "cross_origin")
	if !strings.Contains(msg, "evil.example") {
		t.Errorf("message = %q", msg)
	}
	if ts.WF.sentCount() != 0 {
		t.Error("a cross-origin request reached the workflow")
	}
	host := strings.TrimPrefix(ts.URL, "http://")
	if r := ts.post(t, "/v1/apps", body, "Origin", "http://"+host); r.Status != http.StatusAccepted {
		t.Errorf("same-origin POST = %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, http.MethodGet, "/v1/apps", "", hdr("Origin", "https://evil.example")); r.Status != http.StatusOK {
		t.Errorf("cross-origin GET = %d, want 200 (reads are harmless)", r.Status)
	}
}
