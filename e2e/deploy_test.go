package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"github.com/appforge/appforge/apiclient"
	"github.com/appforge/appforge/stack"
	"github.com/appforge/appforge/workflows"
)

// operation posts an operation and follows it to its end.
func (e *env) operation(appID, path, body string, after int64) []apiclient.Event {
	e.t.Helper()
	var sent sendResponse
	var b any
	if body != "" {
		json.Unmarshal([]byte(body), &b)
	}
	if code := e.request("POST", path, b, &sent); code != http.StatusAccepted {
		e.t.Fatalf("POST %s: %d", path, code)
	}
	return e.follow(appID, after, sent.MessageID, 3*time.Minute)
}

func last(evs []apiclient.Event) apiclient.Event { return evs[len(evs)-1] }

// buildsAfterStart counts builds that ran in a turn (after its turn_started): the
// production bundle of the turn before is built after that turn's answer.
func buildsAfterStart(evs []apiclient.Event) int {
	n, started := 0, false
	for _, ev := range evs {
		started = started || ev.Type == "turn_started"
		if started && ev.Type == "build_started" {
			n++
		}
	}
	return n
}

// TestEnvironmentsRollbackRestore: publish by chat and by API, roll production back,
// restore an old version, compare versions — nothing rebuilt that was built before.
func TestEnvironmentsRollbackRestore(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	appID, evs := e.turn("", "Create a todo app called Groceries", 0)
	preview := liveEnd(t, evs).Field("url")

	// A budget of 100 KB for this app (the template's production bundle is about 220 KB):
	// publishing is refused with what is heavy, and the preview still serves.
	budget := func(body string) (limit int64, live string) {
		t.Helper()
		var b struct {
			LimitBytes int64 `json:"limit_bytes"`
			Live       struct {
				Status string `json:"status"`
			} `json:"live_version"`
		}
		var in any
		json.Unmarshal([]byte(body), &in)
		if code := e.request("PUT", "/v1/apps/"+appID+"/budget", in, &b); code != http.StatusOK {
			t.Fatalf("PUT budget %s: %d", body, code)
		}
		return b.LimitBytes, b.Live.Status
	}
	budget(`{"warn_bytes": "50KB", "limit_bytes": "100KB"}`)
	_, evs = e.turn(appID, "deploy it", last(evs).Seq)
	if end := last(evs); end.Type != "reply" || !strings.Contains(end.Message, "Version 1 is not published") || !strings.Contains(end.Message, "assets/vendor-") {
		t.Fatalf("publish over the app's budget ended with %s: %q", end.Type, end.Message)
	}
	checkServed(t, e, preview, "Groceries")
	// Back to the server's budget: the same production bundle, measured again, publishes.
	if limit, live := budget(`{}`); limit != 1<<20 || live != "ok" {
		t.Errorf("budget reset: limit %d, live version %q", limit, live)
	}

	// "deploy it" publishes the live preview to production.
	_, evs = e.turn(appID, "deploy it", last(evs).Seq)
	end := liveEnd(t, evs)
	prod := end.Field("url")
	if end.Field("environment") != "production" || !strings.HasPrefix(prod, "http://"+appID+".appforge.localhost:") || prod == preview {
		t.Fatalf("publish ended with %+v (url %s)", end, prod)
	}
	if n := buildsAfterStart(evs); n != 0 {
		t.Errorf("publishing built %d times: the production bundle is built when the preview goes live", n)
	}
	checkServed(t, e, prod, "Groceries")

	// Production is measured after the answer: first byte, first visit, LCP.
	measured := e.waitForEvent(appID, end.Seq, "performance", time.Minute)
	t.Logf("production measured: %s", measured.Message)
	var deps struct {
		Deployments []struct {
			Environment string
			Performance struct {
				TTFB            int64  `json:"ttfb_ns"`
				FirstVisitBytes int64  `json:"first_visit_bytes"`
				Requests        int    `json:"requests"`
				LCP             int64  `json:"lcp_ns"`
				BrowserSkipped  string `json:"browser_skipped"`
			} `json:"performance"`
			Regressed bool `json:"regressed"`
		} `json:"deployments"`
	}
	e.request("GET", "/v1/apps/"+appID+"/deployments", nil, &deps)
	p := deps.Deployments[0]
	if p.Environment != "production" || p.Performance.TTFB <= 0 || p.Performance.FirstVisitBytes < 10_000 || p.Performance.Requests < 3 || p.Regressed {
		t.Errorf("production measurement = %+v (event %q)", p, measured.Message)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil && p.Performance.LCP <= 0 {
		t.Errorf("Chromium is installed but no LCP was measured: %q", p.Performance.BrowserSkipped)
	}

	// A change goes to preview only; the API publishes it.
	_, evs = e.turn(appID, "make the title say My Tasks", measured.Seq)
	liveEnd(t, evs)
	checkServed(t, e, prod, "Groceries")
	evs = e.operation(appID, "/v1/apps/"+appID+"/environments/production/deploy", "", last(evs).Seq)
	if liveEnd(t, evs).Version != 2 {
		t.Errorf("published version %d, want 2", last(evs).Version)
	}
	checkServed(t, e, prod, "My Tasks")

	// Roll production back in one call: version 1 again, no build.
	evs = e.operation(appID, "/v1/apps/"+appID+"/environments/production/rollback", "", last(evs).Seq)
	end = liveEnd(t, evs)
	if !strings.Contains(end.Message, "Production is back on version 1 (it was on version 2)") || buildsAfterStart(evs) != 0 {
		t.Errorf("rollback: %q (builds %d)", end.Message, buildsAfterStart(evs))
	}
	checkServed(t, e, prod, "Groceries")
	checkServed(t, e, preview, "My Tasks")

	// Restore version 1 as version 3 in preview, reusing its bundle.
	evs = e.operation(appID, "/v1/apps/"+appID+"/versions/1/restore", "", last(evs).Seq)
	end = liveEnd(t, evs)
	if end.Version != 3 || !strings.Contains(end.Message, "files of version 1") || !strings.Contains(end.Message, "reused") {
		t.Errorf("restore: %+v", end)
	}
	checkServed(t, e, preview, "Groceries")

	var diff struct {
		Added, Removed, Changed []struct{ Path string }
	}
	e.request("GET", "/v1/apps/"+appID+"/versions/3/diff?against=2", nil, &diff)
	var changed []string
	for _, c := range diff.Changed {
		changed = append(changed, c.Path)
	}
	if len(diff.Added)+len(diff.Removed) != 0 || strings.Join(changed, ",") != "index.html,src/config.ts" {
		t.Errorf("diff 2→3 = %+v", diff)
	}
	var envs struct {
		Environments []struct {
			Name        string
			Version     int
			Deployments []struct{ Status string }
		} `json:"environments"`
	}
	e.request("GET", "/v1/apps/"+appID+"/environments", nil, &envs)
	if len(envs.Environments) != 2 || envs.Environments[0].Version != 3 || envs.Environments[1].Version != 1 {
		t.Errorf("environments = %+v", envs)
	}
	if prodDeps := envs.Environments[1].Deployments; len(prodDeps) != 3 || prodDeps[0].Status != "live" || prodDeps[1].Status != "replaced" {
		t.Errorf("production deployments = %+v", prodDeps)
	}
}

// TestSecretsNeverLeak plants a secret value and looks for it everywhere it must not be:
// workflow history, logs, events, the model's transcript and the deployed bundles.
func TestSecretsNeverLeak(t *testing.T) {
	const planted = "sk_live_PLANTED_c0ffee_9d2a"
	e, _ := newLLMEnv(t, nil)
	e.start()
	appID, evs := e.turn("", "Create a recipe book where I can add recipes with ingredients", 0)
	liveEnd(t, evs)
	for _, env := range []string{"preview", "production"} {
		var out map[string]any
		if code := e.request("PUT", "/v1/apps/"+appID+"/environments/"+env+"/secrets/STRIPE_KEY", map[string]string{"value": planted}, &out); code != http.StatusCreated {
			t.Fatalf("put secret: %d %v", code, out)
		}
	}
	// A change by the model: it may be told the secret's name, never its value.
	_, evs = e.turn(appID, "add a search box", last(evs).Seq)
	liveEnd(t, evs)
	_, evs = e.turn(appID, "publish", last(evs).Seq)
	prod := liveEnd(t, evs).Field("url")

	// The secret reached both scripts.
	time.Sleep(500 * time.Millisecond) // the preview sync is queued behind the turns
	for _, env := range []string{"preview", "production"} {
		var list struct {
			Secrets []struct {
				Name   string
				Synced bool
			} `json:"secrets"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			e.request("GET", "/v1/apps/"+appID+"/environments/"+env+"/secrets", nil, &list)
			if len(list.Secrets) == 1 && list.Secrets[0].Synced || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(list.Secrets) != 1 || !list.Secrets[0].Synced {
			t.Errorf("%s secrets = %+v, want STRIPE_KEY synced", env, list.Secrets)
		}
	}
	names := e.edgeSecrets(appID)
	if names != "STRIPE_KEY" {
		t.Errorf("the production script's secrets at the edge = %q", names)
	}

	// Cloudflare refuses the production script's next two secret calls. A new value
	// cannot be synced, and the chat says so; a publish that cannot set it fails with
	// the reason, and production goes back to what it served (never a version without
	// its secrets, never the failure skipped).
	servedBefore := e.bundle(prod)["/"]
	e.edgeFaults(`{"faults":[{"endpoint":"PUT /workers/scripts/` + appID + `/secrets","error_rate":1,"error_status":400,"error_code":10021,"times":2}]}`)
	after := last(evs).Seq
	if code := e.request("PUT", "/v1/apps/"+appID+"/environments/production/secrets/STRIPE_KEY", map[string]string{"value": planted + "_v2"}, nil); code != http.StatusOK {
		t.Fatalf("replace secret: %d", code)
	}
	if ev := e.waitForEvent(appID, after, "turn_failed", time.Minute); !strings.Contains(ev.Message, "could not update the secrets of production") || !strings.Contains(ev.Message, "STRIPE_KEY") {
		t.Errorf("failed sync said %q", ev.Message)
	}
	evs = e.operation(appID, "/v1/apps/"+appID+"/versions/1/restore", "", after)
	liveEnd(t, evs)
	evs = e.operation(appID, "/v1/apps/"+appID+"/environments/production/deploy", "", last(evs).Seq)
	if end := last(evs); end.Type != "turn_failed" || !strings.Contains(end.Message, "could not set secret STRIPE_KEY") || !strings.Contains(end.Message, "version 2 is back in production") {
		t.Fatalf("publish with a refused secret ended with %s: %q", end.Type, end.Message)
	}
	if !slices.ContainsFunc(evs, func(ev apiclient.Event) bool {
		return ev.Type == "rolled_back" && ev.Version == 2 && strings.Contains(ev.Message, "back on production")
	}) {
		t.Error("no rolled_back event for version 2 put back in production")
	}
	if served := e.bundle(prod)["/"]; !bytes.Equal(served, servedBefore) {
		t.Error("production does not serve version 2 again after the failed publish")
	}
	// The refusals are used up: the next publish sets the secret and goes live.
	evs = e.operation(appID, "/v1/apps/"+appID+"/environments/production/deploy", "", last(evs).Seq)
	if end := liveEnd(t, evs); end.Version != 3 {
		t.Errorf("published version %d, want 3", end.Version)
	}
	var deps struct {
		Deployments []struct {
			Environment string
			Version     int
			Status      string
			Error       string
		} `json:"deployments"`
	}
	e.request("GET", "/v1/apps/"+appID+"/deployments", nil, &deps)
	var prodStates []string
	for _, d := range deps.Deployments {
		if d.Environment == "production" {
			prodStates = append(prodStates, fmt.Sprintf("%d:%s", d.Version, d.Status))
		}
	}
	if got := strings.Join(prodStates, ","); got != "3:live,2:replaced,3:failed,2:replaced" {
		t.Errorf("production deployments, newest first = %s", got)
	}

	var tr struct {
		Messages []struct{ Content string } `json:"messages"`
	}
	e.request("GET", "/v1/apps/"+appID+"/versions/2/transcript", nil, &tr)
	transcript, _ := json.Marshal(tr)
	if !strings.Contains(string(transcript), "STRIPE_KEY") {
		t.Error("the model was not told the secret's name")
	}

	haystacks := map[string][]byte{
		"the model's transcript": transcript,
		"the stack's logs":       []byte(e.logs.String()),
		"workflow history":       e.history(workflows.AppWorkflowID(appID)),
		"events":                 e.rawEvents(appID),
	}
	for _, site := range []string{prod, e.previewURL(appID)} {
		for path, body := range e.bundle(site) {
			haystacks["deployed "+path] = body
		}
	}
	for where, b := range haystacks {
		if bytes.Contains(b, []byte(planted)) {
			t.Errorf("the secret value is in %s", where)
		}
	}
	if len(haystacks) < 8 {
		t.Errorf("scanned only %d places", len(haystacks))
	}
}

func (e *env) previewURL(appID string) string {
	var app appResponse
	e.request("GET", "/v1/apps/"+appID, nil, &app)
	return app.PreviewURL
}

// bundle fetches index.html and everything it references from a deployed site.
func (e *env) bundle(site string) map[string][]byte {
	out := map[string][]byte{}
	_, index := e.get(site + "/")
	out["/"] = index
	for _, m := range assetRef.FindAllStringSubmatch(string(index), -1) {
		_, b := e.get(site + m[1])
		out[m[1]] = b
	}
	return out
}

func (e *env) rawEvents(appID string) []byte {
	resp, err := http.Get(e.st.APIURL + "/v1/apps/" + appID + "/events?follow=false")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func (e *env) history(workflowID string) []byte {
	it := e.st.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(hist)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// edgeAPI calls the local edge's Cloudflare API with the stack's credentials.
func (e *env) edgeAPI(method, path string, body io.Reader) []byte {
	e.t.Helper()
	c := e.st.EdgeCredentials
	req, _ := http.NewRequest(method, e.st.EdgeURL+"/client/v4/accounts/"+c.AccountID+path, body)
	req.Header.Set("Authorization", "Bearer "+c.APIToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("edge %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// edgeFaults sets the edge's fault injection over its control endpoint.
func (e *env) edgeFaults(body string) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.st.EdgeURL+"/__edge/faults", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.st.EdgeCredentials.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("set faults: %d %s", resp.StatusCode, b)
	}
}

func (e *env) edgeSecrets(appID string) string {
	var res struct {
		Result []struct{ Name string } `json:"result"`
	}
	json.Unmarshal(e.edgeAPI("GET", "/workers/scripts/"+appID+"/secrets", nil), &res)
	var names []string
	for _, s := range res.Result {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

func (e *env) edgeScripts() []string {
	var res struct {
		Result []struct{ ID string } `json:"result"`
	}
	json.Unmarshal(e.edgeAPI("GET", "/workers/scripts", nil), &res)
	var names []string
	for _, s := range res.Result {
		names = append(names, s.ID)
	}
	return names
}

// workerProcess runs `appforge worker` as its own process against this installation.
type workerProcess struct {
	cmd *exec.Cmd
	log *os.File
}

func (e *env) startWorker(bin string, n int) *workerProcess {
	e.t.Helper()
	logPath := filepath.Join(e.vars["APPFORGE_DATA_DIR"], fmt.Sprintf("worker-%d.log", n))
	f, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS=127.0.0.1:"+e.vars["APPFORGE_TEMPORAL_PORT"], "LOG_LEVEL=debug")
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "APPFORGE_EDGE_ADDR="+strings.TrimPrefix(e.st.EdgeURL, "http://"))
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd, log: f}
	e.t.Cleanup(func() {
		w.kill()
		if e.t.Failed() {
			b, _ := os.ReadFile(logPath)
			e.t.Logf("worker %d log:\n%s", n, tail(string(b), 8000))
		}
	})
	return w
}

// kill ends the worker at once, as a crash would: no cleanup, no graceful stop.
func (w *workerProcess) kill() {
	if w.cmd.Process != nil {
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		w.cmd.Wait()
	}
	w.log.Close()
}

// buildBinary builds cmd/appforge once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "appforge")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/appforge")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDeploySurvivesAWorkerKilledMidUpload kills the worker process (SIGKILL) while it
// uploads a bundle, starts another, and checks that the deployment completes once: one
// script, one deployment record, the site served.
func TestDeploySurvivesAWorkerKilledMidUpload(t *testing.T) {
	bin := buildBinary(t)
	e := newEnv(t, nil)
	e.startParts(stack.Parts{DevServer: true, Edge: true, API: true})
	w1 := e.startWorker(bin, 1)

	// Slow bucket uploads down so that the kill lands in the middle of one.
	e.edgeFaults(`{"faults":[{"endpoint":"POST /workers/assets/upload","latency":"4s","times":1}]}`)

	var sent sendResponse
	if code := e.request("POST", "/v1/apps", map[string]string{"message": "Create a counter called Laps"}, &sent); code != http.StatusAccepted {
		t.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var seen []apiclient.Event
	err := e.api().Follow(ctx, sent.AppID, 0, func(ev apiclient.Event) bool {
		seen = append(seen, ev)
		return ev.Type != "deploy_started"
	})
	if err != nil {
		t.Fatalf("waiting for the deploy: %v (%v)", err, eventTypes(seen))
	}
	time.Sleep(1500 * time.Millisecond) // the upload is in flight at the edge
	w1.kill()
	e.startWorker(bin, 2)

	evs := e.follow(sent.AppID, last(seen).Seq, sent.MessageID, 3*time.Minute)
	end := liveEnd(t, append(seen, evs...))
	if n := count(append(seen, evs...), "deploy_started"); n < 2 {
		t.Errorf("deploy started %d times, want a second attempt after the crash", n)
	}
	checkServed(t, e, end.Field("url"), "Laps")
	if scripts := e.edgeScripts(); len(scripts) != 1 || scripts[0] != sent.AppID+"-preview" {
		t.Errorf("scripts at the edge = %v, want only %s-preview", scripts, sent.AppID)
	}
	var deps struct {
		Deployments []struct{ Status string } `json:"deployments"`
	}
	e.request("GET", "/v1/apps/"+sent.AppID+"/deployments", nil, &deps)
	if len(deps.Deployments) != 1 || deps.Deployments[0].Status != "live" {
		t.Errorf("deployments = %+v, want one, live", deps.Deployments)
	}
}

// TestDeployRetriesThroughEdgeFaults: Cloudflare answering 503 and 429 delays a deploy;
// Temporal retries it (waiting the server's Retry-After) and the app goes live.
func TestDeployRetriesThroughEdgeFaults(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.edgeFaults(`{"faults":[
		{"endpoint":"PUT /workers/scripts/*","error_rate":1,"error_status":503,"times":2},
		{"endpoint":"POST /workers/scripts/*/assets-upload-session","rate_limit_rate":1,"retry_after":"1s","times":1}]}`)
	appID, evs := e.turn("", "Create a notes app", 0)
	end := liveEnd(t, evs)
	if n := count(evs, "deploy_started"); n < 4 {
		t.Errorf("deploy started %d times, want 4 (one 429, two 503s, then success)", n)
	}
	checkServed(t, e, end.Field("url"), "Notes")
	if scripts := e.edgeScripts(); len(scripts) != 1 || scripts[0] != appID+"-preview" {
		t.Errorf("scripts = %v", scripts)
	}
}
