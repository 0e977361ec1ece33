package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/edge"
)

// TestRejectedTokenIsExplained deploys to a Cloudflare-compatible edge that refuses the
// configured token: the turn ends at once (no retries of a hopeless call) with a reply
// that says what is wrong and what to do, and nothing is marked live.
func TestRejectedTokenIsExplained(t *testing.T) {
	ed, err := edge.New(edge.Config{DataDir: t.TempDir(), AccountID: "0123456789abcdef0123456789abcdef", APIToken: "the-right-token"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ed.Handler())
	defer srv.Close()
	defer ed.Close()

	e := newEnv(t, map[string]string{
		"CLOUDFLARE_API_TOKEN":          "a-wrong-token",
		"CLOUDFLARE_ACCOUNT_ID":         "0123456789abcdef0123456789abcdef",
		"CLOUDFLARE_API_BASE_URL":       srv.URL + "/client/v4",
		"APPFORGE_WORKERS_URL_TEMPLATE": "http://{script}.{subdomain}.localhost:1",
	})
	e.start()
	var created sendResponse
	if code := e.request("POST", "/v1/apps", map[string]string{"message": "Create a counter"}, &created); code != http.StatusAccepted {
		t.Fatalf("create: %d", code)
	}
	start := time.Now()
	evs := e.follow(created.AppID, 0, created.MessageID, 2*time.Minute)
	end := evs[len(evs)-1]
	t.Logf("reply: %s", end.Message)
	if end.Type != "turn_failed" {
		t.Fatalf("turn ended with %s: %s", end.Type, end.Message)
	}
	for _, want := range []string{"could not deploy version 1", "10000", "CLOUDFLARE_API_TOKEN"} {
		if !strings.Contains(end.Message, want) {
			t.Errorf("reply %q does not say %q", end.Message, want)
		}
	}
	if strings.Contains(end.Message, "a-wrong-token") {
		t.Error("the reply shows the token")
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("the refused deploy took %s: it was retried", took)
	}
	var app appResponse
	e.request("GET", "/v1/apps/"+created.AppID, nil, &app)
	if app.LiveVersion != 0 || app.PreviewURL != "" {
		t.Errorf("app = %+v, want nothing live", app)
	}
	var versions struct {
		Versions []struct {
			Status, Error string
		} `json:"versions"`
	}
	e.request("GET", "/v1/apps/"+created.AppID+"/versions", nil, &versions)
	if len(versions.Versions) != 1 || versions.Versions[0].Status != "failed" || !strings.Contains(versions.Versions[0].Error, "10000") {
		t.Errorf("versions = %+v", versions.Versions)
	}
	var deps struct {
		Deployments []struct{ Status, Error string } `json:"deployments"`
	}
	e.request("GET", "/v1/apps/"+created.AppID+"/deployments", nil, &deps)
	if len(deps.Deployments) != 1 || deps.Deployments[0].Status != "failed" {
		t.Errorf("deployments = %+v", deps.Deployments)
	}
	var chat struct {
		Messages []struct{ Role, Content, Status string } `json:"messages"`
	}
	e.request("GET", "/v1/apps/"+created.AppID+"/messages", nil, &chat)
	if len(chat.Messages) != 2 || chat.Messages[1].Role != "assistant" || chat.Messages[0].Status != "failed" {
		t.Errorf("chat = %+v", chat.Messages)
	}
}
