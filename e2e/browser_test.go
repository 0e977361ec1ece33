package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/perf"
)

// browserTools finds headless Chromium (Debian's package) and playwright-core (installed
// by `make browser` into .tools/browser) the way the performance monitor does. Without
// them the test is skipped with the reason, except in CI, where it must run.
func browserTools(t *testing.T) (chromium, nodePath string) {
	t.Helper()
	chromium, _, nodePath, err := perf.BrowserTools(perf.Options{Chromium: os.Getenv("CHROMIUM")})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI must run the browser tests; make test installs what they need)", err)
		}
		t.Skipf("%v: run `make browser` to install Debian's chromium and playwright-core", err)
	}
	return chromium, nodePath
}

// runBrowserScript runs one of the testdata browser scripts with node and returns the
// JSON report it prints.
func runBrowserScript(t *testing.T, chromium, nodePath string, timeout time.Duration, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("browser run of %s failed: %v\n%s%s", script, err, out, stderr)
	}
	return out
}

// TestTodoAppWorksInABrowser opens a generated todo app in headless Chromium and uses it.
func TestTodoAppWorksInABrowser(t *testing.T) {
	chromium, nodePath := browserTools(t)
	e := newEnv(t, nil)
	e.start()
	var created sendResponse
	if code := e.request("POST", "/v1/apps", map[string]string{"message": "Create a todo app called Chores"}, &created); code != http.StatusAccepted {
		t.Fatalf("create: %d", code)
	}
	evs := e.follow(created.AppID, 0, created.MessageID, 3*time.Minute)
	end := evs[len(evs)-1]
	if end.Type != "live" {
		t.Fatalf("turn ended with %s: %s", end.Type, end.Message)
	}

	out := runBrowserScript(t, chromium, nodePath, 2*time.Minute, "testdata/todo_in_browser.cjs", end.Field("url")+"/")
	var rep struct {
		Title, Heading, Left, LeftAfterReload string
		BuyMilkDone                           bool
		Errors                                []string
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("browser report %q: %v", out, err)
	}
	if rep.Title != "Chores" || rep.Heading != "Chores" {
		t.Errorf("title %q heading %q, want Chores", rep.Title, rep.Heading)
	}
	if rep.Left != "1 task left" || rep.LeftAfterReload != "1 task left" || !rep.BuyMilkDone {
		t.Errorf("after adding two tasks and ticking one: %+v", rep)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("the page logged errors: %v", rep.Errors)
	}
}

// TestChatPageInABrowser uses the chat page at / in headless Chromium: a new app appears
// in its preview, a change shows up there after its build, a refused message is shown,
// and after a reload the conversation and the preview are back.
func TestChatPageInABrowser(t *testing.T) {
	chromium, nodePath := browserTools(t)
	e := newEnv(t, nil)
	e.start()

	out := runBrowserScript(t, chromium, nodePath, 8*time.Minute, "testdata/chat_page.cjs", e.st.APIURL)
	var rep struct {
		AppID, First, Second, Refused, AfterReload, Selected, PreviewLink string
		Lines, Errors                                                     []string
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("browser report %q: %v", out, err)
	}
	if rep.First != "Chores" || rep.Second != "My Tasks" || rep.AfterReload != "My Tasks" {
		t.Errorf("preview headings: %q, then %q, after reload %q; want Chores, My Tasks, My Tasks", rep.First, rep.Second, rep.AfterReload)
	}
	if rep.AppID == "" || rep.Selected != rep.AppID {
		t.Errorf("page follows app %q, its list selects %q", rep.AppID, rep.Selected)
	}
	var app struct {
		PreviewURL string `json:"preview_url"`
	}
	if code := e.request("GET", "/v1/apps/"+rep.AppID, nil, &app); code != http.StatusOK || rep.PreviewLink != app.PreviewURL {
		t.Errorf("preview link %q, app's preview URL %q (%d)", rep.PreviewLink, app.PreviewURL, code)
	}
	if !strings.Contains(rep.Refused, "at most 8000 are accepted") {
		t.Errorf("the refused message showed %q, want the API's reason", rep.Refused)
	}
	seen := map[string]int{}
	for _, l := range rep.Lines {
		seen[l]++
	}
	for _, want := range []string{"plan", "file_written", "build_finished", "deployed", "verified"} {
		if seen[want] == 0 {
			t.Errorf("the log after a reload shows no %s line: %v", want, rep.Lines)
		}
	}
	if seen["live"] != 2 || seen["writing"] != 0 {
		t.Errorf("the log shows %d live lines and %d writing lines, want 2 and none left once files are written", seen["live"], seen["writing"])
	}
	if len(rep.Errors) > 0 {
		t.Errorf("the page logged errors: %v", rep.Errors)
	}
}
