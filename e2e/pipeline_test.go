package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/appforge/appforge/apiclient"
	"github.com/appforge/appforge/workflows"
)

type sendResponse struct {
	AppID     string `json:"app_id"`
	MessageID string `json:"message_id"`
	Position  int    `json:"position"`
	Duplicate bool   `json:"duplicate"`
	Links     struct {
		Events string `json:"events"`
	} `json:"links"`
}

type appResponse struct {
	ID            string              `json:"id"`
	Name          string              `json:"name"`
	PreviewURL    string              `json:"preview_url"`
	LiveVersion   int                 `json:"live_version"`
	LatestVersion int                 `json:"latest_version"`
	State         *workflows.AppState `json:"state"`
	StateError    string              `json:"state_error"`
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/[^"]+)"`)

// checkServed fetches the preview as a browser would: index.html, every asset it
// references with the right type and caching, and a client route.
func checkServed(t *testing.T, e *env, url, wantTitle string) {
	t.Helper()
	resp, body := e.get(url + "/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s/ = %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "<title>"+wantTitle+"</title>") {
		t.Errorf("index.html has no <title>%s</title>:\n%s", wantTitle, body)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("index.html Cache-Control = %q, want no-cache", cc)
	}
	refs := assetRef.FindAllStringSubmatch(string(body), -1)
	var js, css int
	for _, m := range refs {
		path := m[1]
		resp, b := e.get(url + path)
		if resp.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("GET %s = %d (%d bytes)", path, resp.StatusCode, len(b))
			continue
		}
		ct := resp.Header.Get("Content-Type")
		switch {
		case strings.HasSuffix(path, ".js"):
			js++
			if !strings.HasPrefix(ct, "text/javascript") {
				t.Errorf("%s Content-Type = %q", path, ct)
			}
		case strings.HasSuffix(path, ".css"):
			css++
			if !strings.HasPrefix(ct, "text/css") {
				t.Errorf("%s Content-Type = %q", path, ct)
			}
		}
		if strings.HasPrefix(path, "/assets/") && !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s Cache-Control = %q, want immutable", path, resp.Header.Get("Cache-Control"))
		}
	}
	if js == 0 || css == 0 {
		t.Errorf("index.html references %d scripts and %d stylesheets, want both: %v", js, css, refs)
	}
	deep, deepBody := e.get(url + "/lists/groceries/42")
	if deep.StatusCode != http.StatusOK || string(deepBody) != string(body) {
		t.Errorf("a client route answered %d and not index.html (single-page-app fallback)", deep.StatusCode)
	}
}

func eventTypes(evs []apiclient.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// TestChatToLivePreview is the whole story: create an app by chat, follow its progress,
// load the preview, change it, see version 2 served with version 1 kept; then restart
// everything and find it all where it was.
func TestChatToLivePreview(t *testing.T) {
	e := newEnv(t, nil)
	e.start()

	var created sendResponse
	if code := e.request("POST", "/v1/apps", map[string]string{"message": "Create a todo app called Groceries"}, &created); code != http.StatusAccepted {
		t.Fatalf("create app: %d %+v", code, created)
	}
	if created.AppID == "" || created.MessageID == "" || !strings.HasSuffix(created.Links.Events, "/v1/apps/"+created.AppID+"/events") {
		t.Fatalf("create answer = %+v", created)
	}
	evs := e.follow(created.AppID, 0, created.MessageID, 3*time.Minute)
	last := evs[len(evs)-1]
	if last.Type != "live" {
		t.Fatalf("turn ended with %s: %s", last.Type, last.Message)
	}
	types := strings.Join(eventTypes(evs), ",")
	for _, want := range []string{"message_queued", "turn_started", "plan", "file_written", "version_created", "build_started", "build_finished", "deploy_started", "deployed", "verified", "live"} {
		if !strings.Contains(types, want) {
			t.Errorf("no %s event in %s", want, types)
		}
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has id %d: ids must count 1, 2, 3…", i, ev.Seq)
		}
	}
	for _, ev := range evs {
		switch ev.Type {
		case "plan":
			if ev.Field("generator") != "offline generator" || !strings.Contains(ev.Message, "Offline generator") {
				t.Errorf("plan event does not say offline generator: %+v", ev)
			}
		case "build_finished":
			if ev.Field("total_size") == "" || ev.Field("total_gzip_size") == "" {
				t.Errorf("build_finished has no bundle size: %s", ev.Data)
			}
		}
	}
	url := last.Field("url")
	if !strings.HasPrefix(url, "http://"+created.AppID+"-preview.appforge.localhost:") {
		t.Fatalf("preview URL = %q", url)
	}
	checkServed(t, e, url, "Groceries")

	// Version 2 by chat, on the same URL.
	var second sendResponse
	if code := e.request("POST", "/v1/apps/"+created.AppID+"/messages", map[string]string{"message": "make the title say My Tasks"}, &second); code != http.StatusAccepted {
		t.Fatalf("post message: %d", code)
	}
	evs2 := e.follow(created.AppID, last.Seq, second.MessageID, 3*time.Minute)
	if got := evs2[0].Seq; got != last.Seq+1 {
		t.Errorf("resumed stream started at event %d, want %d", got, last.Seq+1)
	}
	if end := evs2[len(evs2)-1]; end.Type != "live" || end.Version != 2 || end.Field("url") != url {
		t.Fatalf("second turn ended with %+v", end)
	}
	checkServed(t, e, url, "My Tasks")

	var versions struct {
		Versions []struct {
			Number int    `json:"number"`
			Status string `json:"status"`
			Live   bool   `json:"live"`
		} `json:"versions"`
	}
	e.request("GET", "/v1/apps/"+created.AppID+"/versions", nil, &versions)
	if len(versions.Versions) != 2 || versions.Versions[0].Live || !versions.Versions[1].Live || versions.Versions[0].Status != "deployed" {
		t.Errorf("versions = %+v", versions.Versions)
	}
	var v1files struct {
		Files []struct{ Path string } `json:"files"`
	}
	e.request("GET", "/v1/apps/"+created.AppID+"/versions/1/files", nil, &v1files)
	if len(v1files.Files) < 10 {
		t.Errorf("version 1 lists %d files", len(v1files.Files))
	}
	resp, v1index := e.get(e.st.APIURL + "/v1/apps/" + created.AppID + "/versions/1/files/index.html")
	if resp.StatusCode != 200 || !strings.Contains(string(v1index), "<title>Groceries</title>") {
		t.Errorf("version 1 index.html = %d %q", resp.StatusCode, v1index)
	}

	// Operators find the run by its search attributes (visibility is eventually
	// consistent: give it a moment).
	ctx := context.Background()
	query := `AppforgeAppID="` + created.AppID + `" AND AppforgePhase="idle"`
	found := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		list, err := e.st.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if found = len(list.Executions); found == 1 && list.Executions[0].Execution.WorkflowId == workflows.AppWorkflowID(created.AppID) {
			break
		}
	}
	if found != 1 {
		t.Errorf("visibility query %s found %d runs, want 1", query, found)
	}

	// Restart everything: the app, its versions and its preview are where they were,
	// and the next message works.
	e.stop()
	e.start()
	var app appResponse
	e.request("GET", "/v1/apps/"+created.AppID, nil, &app)
	if app.LiveVersion != 2 || app.PreviewURL != url || app.State == nil || app.State.LiveVersion != 2 || app.State.Phase != workflows.PhaseIdle || app.Name != "My Tasks" {
		t.Fatalf("after restart app = %+v (state error %q)", app, app.StateError)
	}
	checkServed(t, e, url, "My Tasks")
	var third sendResponse
	e.request("POST", "/v1/apps/"+created.AppID+"/messages", map[string]string{"message": "switch to dark mode"}, &third)
	evs3 := e.follow(created.AppID, evs2[len(evs2)-1].Seq, third.MessageID, 3*time.Minute)
	if end := evs3[len(evs3)-1]; end.Type != "live" || end.Version != 3 {
		t.Fatalf("third turn after restart ended with %+v", end)
	}
	_, body := e.get(url + "/")
	if !strings.Contains(string(body), `data-theme="dark"`) {
		t.Errorf("dark mode not served: %s", body)
	}
	e.recordHistory(workflows.AppWorkflowID(created.AppID), "app_workflow_steps_history")
}

// TestUnsupportedChangeAndDuplicateMessage: a change the offline generator cannot make
// gets a plain answer and no version; a retried POST with the same message ID runs once.
func TestUnsupportedChangeAndDuplicateMessage(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	var created sendResponse
	e.request("POST", "/v1/apps", map[string]string{"message": "Create a notes app", "message_id": "first-1"}, &created)
	var again sendResponse
	e.request("POST", "/v1/apps", map[string]string{"message": "Create a notes app", "message_id": "first-1"}, &again)
	if again.AppID != created.AppID {
		t.Fatalf("a retried create made another app: %s and %s", created.AppID, again.AppID)
	}
	evs := e.follow(created.AppID, 0, "first-1", 3*time.Minute)
	if evs[len(evs)-1].Type != "live" {
		t.Fatalf("first turn: %+v", evs[len(evs)-1])
	}
	var m sendResponse
	e.request("POST", "/v1/apps/"+created.AppID+"/messages", map[string]string{"message": "add a login page with OAuth"}, &m)
	evs2 := e.follow(created.AppID, evs[len(evs)-1].Seq, m.MessageID, time.Minute)
	end := evs2[len(evs2)-1]
	if end.Type != "reply" || !strings.Contains(end.Message, "offline generator cannot") {
		t.Errorf("unsupported change answered %s: %q", end.Type, end.Message)
	}
	var app appResponse
	e.request("GET", "/v1/apps/"+created.AppID, nil, &app)
	if app.LatestVersion != 1 || app.LiveVersion != 1 {
		t.Errorf("versions after an unsupported change: latest %d live %d, want 1 and 1", app.LatestVersion, app.LiveVersion)
	}
	n := 0
	for _, ev := range append(evs, evs2...) {
		if ev.Type == "turn_started" && ev.Field("message_id") == "first-1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("message first-1 started %d turns, want 1", n)
	}
}
