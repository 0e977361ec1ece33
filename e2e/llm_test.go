package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/apiclient"
	"github.com/appforge/appforge/llmscript"
)

// newLLMEnv is an installation whose generator is the LLM agent, talking to the scripted
// OpenAI-compatible server over HTTP with the real go-openai client.
func newLLMEnv(t *testing.T, extra map[string]string) (*env, *llmscript.Server) {
	t.Helper()
	srv, err := llmscript.New(llmscript.Options{Scenarios: llmscript.Builtin(), APIKey: "scripted-key", Models: []string{"scripted-model"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	vars := map[string]string{
		"OPENAI_API_KEY":  "scripted-key",
		"OPENAI_BASE_URL": hs.URL + "/v1",
		"APPFORGE_MODEL":  "scripted-model",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return newEnv(t, vars), srv
}

// turn sends a message (creating an app when appID is empty) and follows it to its end.
func (e *env) turn(appID, message string, after int64) (string, []apiclient.Event) {
	e.t.Helper()
	var sent sendResponse
	path := "/v1/apps"
	if appID != "" {
		path = "/v1/apps/" + appID + "/messages"
	}
	if code := e.request("POST", path, map[string]string{"message": message}, &sent); code != http.StatusAccepted {
		e.t.Fatalf("POST %s: %d", path, code)
	}
	return sent.AppID, e.follow(sent.AppID, after, sent.MessageID, 4*time.Minute)
}

func firstIndex(evs []apiclient.Event, typ string) int {
	for i, ev := range evs {
		if ev.Type == typ {
			return i
		}
	}
	return -1
}

func count(evs []apiclient.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

type versionInfo struct {
	Number           int     `json:"number"`
	Status           string  `json:"status"`
	Live             bool    `json:"live"`
	ModelCalls       int     `json:"model_calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	Repairs          int     `json:"repairs"`
	Error            string  `json:"error"`
}

func (e *env) versions(appID string) []versionInfo {
	var out struct {
		Versions []versionInfo `json:"versions"`
	}
	e.request("GET", "/v1/apps/"+appID+"/versions", nil, &out)
	return out.Versions
}

func (e *env) fileHashes(appID string, n int) map[string]string {
	var out struct {
		Files []struct{ Path, Hash string } `json:"files"`
	}
	e.request("GET", "/v1/apps/"+appID+"/versions/"+strconv.Itoa(n)+"/files", nil, &out)
	m := map[string]string{}
	for _, f := range out.Files {
		m[f.Path] = f.Hash
	}
	return m
}

func liveEnd(t *testing.T, evs []apiclient.Event) apiclient.Event {
	t.Helper()
	end := evs[len(evs)-1]
	if end.Type != "live" {
		var lines []string
		for _, ev := range evs {
			lines = append(lines, ev.Type+": "+ev.Message)
		}
		t.Fatalf("turn ended with %s: %s\n%s", end.Type, end.Message, strings.Join(lines, "\n"))
	}
	return end
}

// TestAgentCreatesModifiesAndRepairs: a multi-component app from a plan, a follow-up
// that changes only what it must, and a build error the agent fixes, visibly.
func TestAgentCreatesModifiesAndRepairs(t *testing.T) {
	e, _ := newLLMEnv(t, nil)
	e.start()

	// Create: the plan comes before any file, files stream, the app goes live.
	appID, evs := e.turn("", "Create a recipe book where I can add recipes with ingredients", 0)
	end := liveEnd(t, evs)
	plan, firstFile := firstIndex(evs, "plan"), firstIndex(evs, "file_written")
	if plan < 0 || firstFile < 0 || plan > firstFile {
		t.Errorf("plan event at %d, first file at %d: the plan must come first", plan, firstFile)
	}
	if p := evs[plan]; p.Field("generator") == "" || !strings.Contains(p.Field("generator"), "scripted-model") || len(p.Message) < 20 {
		t.Errorf("plan event = %+v", p)
	}
	if count(evs, "writing") == 0 {
		t.Error("no progress while the model wrote files")
	}
	v1 := e.fileHashes(appID, 1)
	for _, want := range []string{"src/App.tsx", "src/components/RecipeForm.tsx", "src/components/RecipeList.tsx", "src/hooks/useRecipes.ts"} {
		if _, ok := v1[want]; !ok {
			t.Errorf("version 1 has no %s", want)
		}
	}
	_, body := e.get(end.Field("url") + "/")
	if !strings.Contains(string(body), "<script") {
		t.Errorf("preview index.html = %s", body)
	}
	vs := e.versions(appID)
	if len(vs) != 1 || vs[0].ModelCalls < 3 || vs[0].PromptTokens == 0 || vs[0].CompletionTokens == 0 {
		t.Errorf("version 1 usage = %+v", vs)
	}

	// Modify: only what the change needs; every other file carries over untouched.
	_, evs2 := e.turn(appID, "add a search box", end.Seq)
	liveEnd(t, evs2)
	v2 := e.fileHashes(appID, 2)
	var changed []string
	for p, h := range v2 {
		if v1[p] != h {
			changed = append(changed, p)
		}
	}
	for p := range v1 {
		if _, ok := v2[p]; !ok {
			changed = append(changed, "-"+p)
		}
	}
	t.Logf("the follow-up changed %v", changed)
	if len(changed) == 0 || len(changed) > 4 {
		t.Errorf("the follow-up changed %v, want the few files search needs", changed)
	}

	// Repair: the first attempt does not type-check; the agent sees the errors and
	// fixes them, and the chat says so.
	app2, evs3 := e.turn("", "Create a habit tracker", 0)
	liveEnd(t, evs3)
	i := firstIndex(evs3, "repair_started")
	if i < 0 {
		t.Fatalf("no repair event in %v", eventTypes(evs3))
	}
	if msg := evs3[i].Message; msg != "Build failed: 1 error, fixing, attempt 1 of 3" {
		t.Errorf("repair message = %q", msg)
	}
	if f := firstIndex(evs3, "build_failed"); f < 0 || f > i {
		t.Errorf("build_failed at %d, repair at %d", f, i)
	}
	if vs := e.versions(app2); len(vs) != 1 || vs[0].Repairs != 1 || vs[0].Status != "deployed" {
		t.Errorf("repaired version = %+v", vs)
	}
	var tr struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	e.request("GET", "/v1/apps/"+app2+"/versions/1/transcript", nil, &tr)
	sawErrors := false
	for _, m := range tr.Messages {
		if m.Role == "user" && strings.Contains(m.Content, "TS2322") {
			sawErrors = true
		}
	}
	if !sawErrors {
		t.Errorf("the transcript does not show the build errors going back to the model (%d messages)", len(tr.Messages))
	}
	e.recordHistory("app/"+app2, "app_workflow_repair_history")
}

// TestAgentRecoversFromProviderFaults: rate limits, server errors, slow and cut streams,
// malformed, truncated and toolless answers, unknown tools — each app still goes live.
func TestAgentRecoversFromProviderFaults(t *testing.T) {
	e, _ := newLLMEnv(t, nil)
	e.start()
	for _, tc := range []struct {
		request string
		note    bool // the model was told about its bad answer
	}{
		{"Create a tip calculator", false},                          // 429 with Retry-After
		{"Create a unit converter for kilometres and miles", false}, // 500
		{"Create a word counter", false},                            // slow stream
		{"Create a color palette generator", false},                 // connection cut mid-stream
		{"Create a dice roller", true},                              // malformed tool arguments
		{"Create a countdown to a date", true},                      // finish_reason length
		{"Create a flashcard quiz", true},                           // unknown tool
		{"Create a tally counter", true},                            // no tool call
	} {
		t.Run(tc.request, func(t *testing.T) {
			_, evs := e.turn("", tc.request, 0)
			liveEnd(t, evs)
			if tc.note && count(evs, "agent_note") == 0 {
				t.Errorf("no agent_note event: %v", eventTypes(evs))
			}
		})
	}
}

// TestAgentLimitsAndBadRequests: a model that writes outside the app is refused, one that
// floods files or never finishes is stopped with the reason, a request for something
// other than a web app gets a plain answer; none leaves a broken version live.
func TestAgentLimitsAndBadRequests(t *testing.T) {
	e, _ := newLLMEnv(t, nil)
	e.start()

	_, evs := e.turn("", "Create a password generator", 0)
	liveEnd(t, evs)
	if count(evs, "agent_note") < 4 {
		t.Errorf("escape attempts were not refused one by one: %v", eventTypes(evs))
	}

	for _, tc := range []struct{ request, reason string }{
		{"Create an emoji gallery", "more than 80 files"},
		{"Create a stopwatch", "did not finish within 24 steps"},
	} {
		appID, evs := e.turn("", tc.request, 0)
		end := evs[len(evs)-1]
		if end.Type != "turn_failed" || !strings.Contains(end.Message, tc.reason) {
			t.Errorf("%s ended with %s: %q, want a failure naming %q", tc.request, end.Type, end.Message, tc.reason)
		}
		if count(evs, "generation_stopped") != 1 {
			t.Errorf("%s: no generation_stopped event", tc.request)
		}
		if vs := e.versions(appID); len(vs) != 1 || vs[0].Status != "failed" || !strings.Contains(vs[0].Error, tc.reason) {
			t.Errorf("%s: versions = %+v", tc.request, vs)
		}
		var app appResponse
		e.request("GET", "/v1/apps/"+appID, nil, &app)
		if app.LiveVersion != 0 {
			t.Errorf("%s: a stopped version went live", tc.request)
		}
	}

	appID, evs := e.turn("", "write me a poem about the sea", 0)
	end := evs[len(evs)-1]
	if end.Type != "reply" || len(end.Message) < 10 {
		t.Errorf("not a web app: ended with %s %q", end.Type, end.Message)
	}
	if vs := e.versions(appID); len(vs) != 0 {
		t.Errorf("a non-app request made versions: %+v", vs)
	}
}

// TestAgentWithRefusedKeyOrUnknownModel: answered at once in plain words, not retried.
func TestAgentWithRefusedKeyOrUnknownModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"wrong key", map[string]string{"OPENAI_API_KEY": "not-the-key"}, "OPENAI_API_KEY"},
		{"unknown model", map[string]string{"APPFORGE_MODEL": "no-such-model"}, "APPFORGE_MODEL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newLLMEnv(t, tc.vars)
			e.start()
			start := time.Now()
			_, evs := e.turn("", "Create a recipe book where I can add recipes with ingredients", 0)
			end := evs[len(evs)-1]
			if end.Type != "turn_failed" || !strings.Contains(end.Message, tc.want) {
				t.Errorf("ended with %s: %q, want a failure naming %s", end.Type, end.Message, tc.want)
			}
			if strings.Contains(end.Message, "not-the-key") {
				t.Error("the reply shows the key")
			}
			if took := time.Since(start); took > time.Minute {
				t.Errorf("took %s: a refused key was retried", took)
			}
		})
	}
}

// TestStopWhileTheModelWrites: the user stops a new app while the model streams its first
// files (the slow-stream scenario, about 3 s). The turn ends at once as turn_stopped, its
// version is failed, nothing goes live, and the app takes the next message as usual.
func TestStopWhileTheModelWrites(t *testing.T) {
	e, _ := newLLMEnv(t, nil)
	e.start()
	var sent sendResponse
	if code := e.request("POST", "/v1/apps", map[string]string{"message": "Create a word counter"}, &sent); code != http.StatusAccepted {
		t.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var writing apiclient.Event
	err := e.api().Follow(ctx, sent.AppID, 0, func(ev apiclient.Event) bool {
		writing = ev
		return ev.Type != "writing"
	})
	if err != nil || writing.Type != "writing" {
		t.Fatalf("no writing event before the stop (%v): %+v", err, writing)
	}
	var stop struct{ Status, Was string }
	if code := e.request("POST", "/v1/apps/"+sent.AppID+"/messages/"+sent.MessageID+"/stop", nil, &stop); code != http.StatusAccepted || stop.Status != "stopping" || stop.Was != "working" {
		t.Fatalf("stop: %d %+v", code, stop)
	}
	evs := e.follow(sent.AppID, writing.Seq, sent.MessageID, time.Minute)
	end := evs[len(evs)-1]
	if end.Type != "turn_stopped" || end.Field("outcome") != "stopped" || !strings.Contains(end.Message, "version 1 was not finished") {
		t.Fatalf("the turn ended with %s: %s", end.Type, end.Message)
	}
	for _, typ := range []string{"build_started", "deploy_started", "live"} {
		if count(evs, typ) > 0 {
			t.Errorf("a stopped turn went on to %s: %v", typ, eventTypes(evs))
		}
	}
	if vs := e.versions(sent.AppID); len(vs) != 1 || vs[0].Status != "failed" || vs[0].Error != "stopped at your request" {
		t.Errorf("versions = %+v", vs)
	}
	var msgs struct {
		Messages []struct{ ID, Status string } `json:"messages"`
	}
	e.request("GET", "/v1/apps/"+sent.AppID+"/messages", nil, &msgs)
	if len(msgs.Messages) == 0 || msgs.Messages[0].ID != sent.MessageID || msgs.Messages[0].Status != "stopped" {
		t.Errorf("messages = %+v", msgs.Messages)
	}
	code, err := e.api().Do(ctx, "POST", "/v1/apps/"+sent.AppID+"/messages/"+sent.MessageID+"/stop", nil, nil)
	if apiErr := (*apiclient.Error)(nil); code != http.StatusConflict || !errors.As(err, &apiErr) || apiErr.Code != "too_late" {
		t.Errorf("stopping it again: %d %v", code, err)
	}

	// The stream is no longer slow: the same request now goes live.
	_, evs = e.turn(sent.AppID, "Create a word counter", end.Seq)
	liveEnd(t, evs)
}
