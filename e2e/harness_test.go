// Package e2e drives appforge end to end through its HTTP API: the real Temporal dev
// server, Postgres, the local edge, npm and vite, exactly as `make dev` runs them.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"github.com/appforge/appforge/apiclient"
	"github.com/appforge/appforge/config"
	"github.com/appforge/appforge/models/storetest"
	"github.com/appforge/appforge/stack"
	"github.com/appforge/appforge/verify"
)

// env is one appforge installation: a data folder, a database and fixed ports, so that a
// restarted stack finds what the previous one left.
type env struct {
	t    *testing.T
	vars map[string]string
	st   *stack.Stack
	http *http.Client
	logs *lockedWriter
}

func temporalCLI(t *testing.T) string {
	t.Helper()
	cli := os.Getenv("APPFORGE_TEMPORAL_CLI")
	if cli == "" {
		cli, _ = filepath.Abs("../.tools/bin/temporal")
	}
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Temporal CLI is required in CI (make tools): %v", err)
		}
		t.Skipf("no Temporal CLI at %s: run `make tools` (or `make test`, which builds it)", cli)
	}
	return cli
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// newEnv prepares an installation on Postgres; start runs it.
func newEnv(t *testing.T, extra map[string]string) *env {
	t.Helper()
	deps := os.Getenv("APPFORGE_TEST_DEPS_DIR")
	if deps == "" {
		deps = filepath.Join(os.TempDir(), "appforge-test-deps")
	}
	vars := map[string]string{
		"APPFORGE_DATA_DIR":          t.TempDir(),
		"APPFORGE_DEPS_DIR":          deps,
		"DATABASE_URL":               storetest.NewPostgresDatabase(t),
		"APPFORGE_HTTP_ADDR":         "127.0.0.1:" + freePort(t),
		"APPFORGE_EDGE_ADDR":         "127.0.0.1:" + freePort(t),
		"APPFORGE_TEMPORAL_PORT":     freePort(t),
		"APPFORGE_TEMPORAL_HEADLESS": "true",
		"APPFORGE_TEMPORAL_CLI":      temporalCLI(t),
		"LOG_LEVEL":                  "debug",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return &env{t: t, vars: vars, http: verify.NewHTTPClient(30*time.Second, "")}
}

func (e *env) start() {
	e.t.Helper()
	e.startParts(stack.All)
}

// startParts starts some parts of the stack in this process (the rest may run as other
// processes).
func (e *env) startParts(parts stack.Parts) {
	e.t.Helper()
	cfg, err := config.LoadFrom(func(k string) string { return e.vars[k] })
	if err != nil {
		e.t.Fatal(err)
	}
	e.logs = &lockedWriter{}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.st, err = stack.Start(ctx, cfg, parts, log)
	if err != nil {
		e.t.Fatalf("start stack: %v", err)
	}
	e.t.Cleanup(e.stop)
	if err := e.st.WaitWarm(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) stop() {
	if e.st == nil {
		return
	}
	if err := e.st.Close(context.Background()); err != nil {
		e.t.Errorf("stop stack: %v", err)
	}
	e.st = nil
	if e.t.Failed() && e.logs != nil {
		e.t.Logf("stack logs:\n%s", tail(e.logs.String(), 20000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// api is the appforge API of the running stack.
func (e *env) api() *apiclient.Client {
	return &apiclient.Client{BaseURL: e.st.APIURL, HTTP: &http.Client{Timeout: time.Minute}}
}

// request sends a JSON request to the API, decodes the answer into out and returns the
// HTTP status.
func (e *env) request(method, path string, body any, out any) int {
	e.t.Helper()
	status, err := e.api().Do(context.Background(), method, path, body, out)
	var apiErr *apiclient.Error
	if err != nil && !errors.As(err, &apiErr) {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status
}

// follow reads the app's event stream from after lastID until the turn of messageID
// ends, and returns every event read.
func (e *env) follow(appID string, lastID int64, messageID string, timeout time.Duration) []apiclient.Event {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	evs, err := e.api().WaitTurn(ctx, appID, lastID, messageID)
	if err != nil {
		var lines []string
		for _, ev := range evs {
			lines = append(lines, ev.Type+": "+ev.Message)
		}
		e.t.Fatalf("%v; events:\n%s", err, strings.Join(lines, "\n"))
	}
	return evs
}

// get fetches a URL of a deployed app.
func (e *env) get(url string) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.http.Get(url)
	if err != nil {
		e.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// lockedWriter collects the stack's logs, to show them when a test fails.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// recordHistory writes the workflow's history as JSON to name.json in the folder named
// by APPFORGE_RECORD_HISTORY, if set: how workflows/testdata gets the histories its
// replay test replays.
func (e *env) recordHistory(workflowID, name string) {
	e.t.Helper()
	dir := os.Getenv("APPFORGE_RECORD_HISTORY")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, name+".json")
	ctx := context.Background()
	it := e.st.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("recorded %d history events of %s to %s", len(hist.Events), workflowID, path)
}
