package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
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

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "testdata/todo_in_browser.cjs", end.Field("url")+"/")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("browser run failed: %v\n%s%s", err, out, stderr)
	}
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
