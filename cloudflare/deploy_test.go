package cloudflare_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/workers"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/edge"
	"github.com/appforge/appforge/files"
)

const (
	testAccount = "local-account"
	testToken   = "s3cret-api-token-do-not-print"
)

// testEdge is a local edge behind a real HTTP server, optionally behind a wrapping
// handler that injects faults.
type testEdge struct {
	edge *edge.Edge
	dir  string
	srv  *httptest.Server
	port string
}

func startEdge(t testing.TB, wrap func(http.Handler) http.Handler, options ...func(*edge.Config)) *testEdge {
	t.Helper()
	cfg := edge.Config{
		DataDir:   t.TempDir(),
		AccountID: testAccount,
		APIToken:  testToken,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	for _, o := range options {
		o(&cfg)
	}
	e, err := edge.New(cfg)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	h := e.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		_ = e.Close()
	})
	u, _ := url.Parse(srv.URL)
	return &testEdge{edge: e, dir: cfg.DataDir, srv: srv, port: u.Port()}
}

func (te *testEdge) config(token string) cloudflare.Config {
	return cloudflare.Config{
		APIToken:    token,
		AccountID:   testAccount,
		BaseURL:     te.srv.URL + "/client/v4",
		HTTPClient:  te.srv.Client(),
		URLTemplate: "http://{script}.{subdomain}.localhost:" + te.port,
	}
}

func (te *testEdge) deployer(t *testing.T) *cloudflare.Deployer {
	t.Helper()
	d, err := cloudflare.New(te.config(testToken))
	if err != nil {
		t.Fatalf("cloudflare.New: %v", err)
	}
	return d
}

// browser fetches served URLs: it dials the edge whatever the host, since Go's
// resolver does not map *.localhost to loopback.
func (te *testEdge) browser() *http.Client {
	addr := te.srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func (te *testEdge) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := te.browser().Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (te *testEdge) scripts(t *testing.T) []string {
	t.Helper()
	ws := workers.NewWorkerService(option.WithBaseURL(te.srv.URL+"/client/v4"), option.WithAPIToken(testToken), option.WithMaxRetries(0))
	page, err := ws.Scripts.List(context.Background(), workers.ScriptListParams{AccountID: cf.F(testAccount)})
	if err != nil {
		t.Fatalf("list scripts: %v", err)
	}
	var names []string
	for _, s := range page.Result {
		names = append(names, s.ID)
	}
	return names
}

func bundle(version string) []files.File {
	return []files.File{
		{Path: "index.html", Content: []byte(`<!doctype html><script src="/assets/index-BHpbNtuy.js"></script>` + version)},
		{Path: "assets/index-BHpbNtuy.js", Content: []byte("console.log('app')")},
		{Path: "assets/index-D1x2y3z4.css", Content: []byte("body{margin:0}")},
		{Path: "favicon.svg", Content: []byte("<svg/>")},
	}
}

func TestDeploy(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	var steps []string
	res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")},
		func(msg string) { steps = append(steps, msg) })
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	want := cloudflare.DeployResult{
		Script:   "app-1",
		URL:      "http://app-1.appforge.localhost:" + te.port,
		Uploaded: 4,
		Reused:   0,
		Calls:    5, // session, one bucket, script, subdomain, account subdomain
		// The script serves the bundle.
		ScriptChanged: true,
	}
	got := res
	got.DeploymentID = ""
	if got != want {
		t.Errorf("result: got %+v, want %+v", got, want)
	}
	if len(res.DeploymentID) != 36 {
		t.Errorf("deployment id: got %q, want a UUID", res.DeploymentID)
	}
	if len(steps) < 4 || !strings.HasPrefix(steps[len(steps)-1], "Live at ") {
		t.Errorf("progress: got %q, want steps ending with the URL", steps)
	}
	for _, tt := range []struct {
		path, want string
	}{
		{"/", "v1"},
		{"/todos/42", "v1"}, // single-page-application is the default
		{"/assets/index-BHpbNtuy.js", "console.log('app')"},
	} {
		status, body := te.get(t, res.URL+tt.path)
		if status != http.StatusOK || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: got %d %q, want 200 containing %q", tt.path, status, body, tt.want)
		}
	}
}

func TestRedeploy(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()
	first, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	if err != nil {
		t.Fatalf("first deploy: %v", err)
	}

	again, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	if err != nil {
		t.Fatalf("same deploy again: %v", err)
	}
	if again.Uploaded != 0 || again.Reused != 4 || again.Calls != 3 {
		t.Errorf("same deploy again: got uploaded %d reused %d calls %d, want 0, 4 and 3 (session, script, subdomain)",
			again.Uploaded, again.Reused, again.Calls)
	}
	if again.URL != first.URL || again.DeploymentID == first.DeploymentID {
		t.Errorf("same deploy again: got URL %s deployment %s, want the same URL and a new deployment", again.URL, again.DeploymentID)
	}

	changed, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil)
	if err != nil {
		t.Fatalf("deploy with one changed file: %v", err)
	}
	if changed.Uploaded != 1 || changed.Reused != 3 {
		t.Errorf("one changed file: got uploaded %d reused %d, want 1 and 3", changed.Uploaded, changed.Reused)
	}
	if status, body := te.get(t, changed.URL+"/"); status != 200 || !strings.Contains(body, "v2") {
		t.Errorf("after redeploy: got %d %q, want the v2 page", status, body)
	}
	if got := te.scripts(t); len(got) != 1 || got[0] != "app-1" {
		t.Errorf("scripts: got %v, want only app-1", got)
	}

	// A second deployer (a restarted worker) shares the content already uploaded.
	other, err := te.deployer(t).Deploy(ctx, cloudflare.DeployRequest{Script: "app-2", Assets: bundle("v2")}, nil)
	if err != nil {
		t.Fatalf("deploy another app: %v", err)
	}
	if other.Uploaded != 0 || other.Calls != 4 {
		t.Errorf("another app with the same files: got uploaded %d calls %d, want 0 and 4", other.Uploaded, other.Calls)
	}
}

func TestDeployNotFoundHandling(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	assets := append(bundle("v1"), files.File{Path: "404.html", Content: []byte("custom 404")})
	res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "site", Assets: assets, NotFoundHandling: cloudflare.NotFound404Page}, nil)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if status, body := te.get(t, res.URL+"/missing"); status != 404 || body != "custom 404" {
		t.Errorf("GET /missing: got %d %q, want 404 with the custom page", status, body)
	}
}

// fault answers requests whose path ends with suffix with a canned response.
type fault struct {
	suffix string
	status int
	header http.Header
	body   string
	hits   atomic.Int32
}

func (f *fault) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, f.suffix) {
			next.ServeHTTP(w, r)
			return
		}
		f.hits.Add(1)
		for k, vs := range f.header {
			w.Header()[k] = vs
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(f.status)
		// A hostile or buggy server echoing the credential back.
		body := strings.ReplaceAll(f.body, "{auth}", r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, body)
	})
}

func envelope(code int, msg string) string {
	return fmt.Sprintf(`{"success":false,"errors":[{"code":%d,"message":%q}],"messages":[],"result":null}`, code, msg)
}

func TestDeployErrors(t *testing.T) {
	in7s := time.Now().Add(7 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name        string
		fault       *fault
		token       string
		account     string
		wantKind    cloudflare.Kind
		wantStatus  int
		wantCode    int
		wantMsg     string
		wantRetry   time.Duration // lower bound when not zero
		wantOneCall bool
		wantHits    int32 // calls of the failing endpoint; default 1
	}{
		{
			name: "bad token", token: "wrong-token",
			wantKind: cloudflare.KindAuth, wantStatus: 403, wantCode: 10000,
			wantMsg: "Cloudflare rejected the API token (code 10000): Authentication error",
		},
		{
			name: "unknown account", account: "someone-else",
			wantKind: cloudflare.KindNotFound, wantStatus: 404, wantCode: 7003,
			wantMsg: "perhaps your object identifier is invalid",
		},
		{
			name:     "rate limited, Retry-After in seconds",
			fault:    &fault{suffix: "/assets-upload-session", status: 429, header: http.Header{"Retry-After": {"7"}}, body: envelope(971, "Please wait and consider throttling your request speed")},
			wantKind: cloudflare.KindRateLimited, wantStatus: 429, wantCode: 971, wantRetry: 7 * time.Second,
			wantMsg: "retry after 7s", wantOneCall: true,
		},
		{
			name:     "rate limited, Retry-After as an HTTP date",
			fault:    &fault{suffix: "/assets-upload-session", status: 429, header: http.Header{"Retry-After": {in7s}}, body: envelope(971, "slow down")},
			wantKind: cloudflare.KindRateLimited, wantStatus: 429, wantCode: 971, wantRetry: 5 * time.Second,
			wantMsg: "rate-limiting", wantOneCall: true,
		},
		{
			name:     "server error",
			fault:    &fault{suffix: "/workers/scripts/app-1", status: 500, body: envelope(10013, "An unknown error has occurred.")},
			wantKind: cloudflare.KindTransient, wantStatus: 500, wantCode: 10013,
			wantMsg: "Cloudflare had a temporary problem (HTTP 500, code 10013): An unknown error has occurred.",
		},
		{
			name:     "gateway error page, not JSON",
			fault:    &fault{suffix: "/subdomain", status: 502, header: http.Header{"Content-Type": {"text/html"}}, body: "<html>502 Bad Gateway</html>"},
			wantKind: cloudflare.KindTransient, wantStatus: 502,
			wantMsg: "HTTP 502",
		},
		{
			// A refused upload token gets one new session, then the error.
			name:     "upload token refused",
			fault:    &fault{suffix: "/workers/assets/upload", status: 401, body: envelope(10000, "Unauthorized: expired JWT")},
			wantKind: cloudflare.KindTransient, wantStatus: 401, wantCode: 10000,
			wantMsg: "refused the asset upload session token", wantHits: 2,
		},
		{
			name:     "conflict",
			fault:    &fault{suffix: "/workers/scripts/app-1", status: 409, body: envelope(10035, "concurrent modification")},
			wantKind: cloudflare.KindConflict, wantStatus: 409, wantCode: 10035,
		},
		{
			name:     "too large",
			fault:    &fault{suffix: "/workers/scripts/app-1", status: 413, body: envelope(10027, "script too large")},
			wantKind: cloudflare.KindValidation, wantStatus: 413, wantCode: 10027,
		},
		{
			name:     "server echoes the token",
			fault:    &fault{suffix: "/assets-upload-session", status: 400, body: envelope(10021, "bad header {auth}")},
			wantKind: cloudflare.KindValidation, wantStatus: 400, wantCode: 10021,
			wantMsg: "bad header Bearer [redacted]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wrap func(http.Handler) http.Handler
			if tt.fault != nil {
				wrap = tt.fault.wrap
			}
			te := startEdge(t, wrap)
			cfg := te.config(testToken)
			if tt.token != "" {
				cfg.APIToken = tt.token
			}
			if tt.account != "" {
				cfg.AccountID = tt.account
			}
			d, err := cloudflare.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
			var ce *cloudflare.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want a *cloudflare.Error", err, err)
			}
			t.Logf("error: %v", err)
			if ce.Kind != tt.wantKind || ce.Status != tt.wantStatus || ce.Code != tt.wantCode {
				t.Errorf("got kind %s status %d code %d, want %s %d %d (%v)",
					ce.Kind, ce.Status, ce.Code, tt.wantKind, tt.wantStatus, tt.wantCode, err)
			}
			if !strings.Contains(ce.Message, tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", ce.Message, tt.wantMsg)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the API token: %v", err)
			}
			if tt.wantRetry > 0 && (ce.RetryAfter < tt.wantRetry || ce.RetryAfter > tt.wantRetry+3*time.Second) {
				t.Errorf("RetryAfter: got %s, want about %s", ce.RetryAfter, tt.wantRetry)
			}
			wantHits := tt.wantHits
			if wantHits == 0 {
				wantHits = 1
			}
			if tt.fault != nil && tt.fault.hits.Load() != wantHits {
				t.Errorf("the failing endpoint was called %d times, want %d (no SDK retries)", tt.fault.hits.Load(), wantHits)
			}
			if tt.wantOneCall && res.Calls != 1 {
				t.Errorf("calls: got %d, want 1", res.Calls)
			}
			if ce.Retryable() != (tt.wantKind == cloudflare.KindTransient || tt.wantKind == cloudflare.KindRateLimited) {
				t.Errorf("Retryable: got %v for kind %s", ce.Retryable(), ce.Kind)
			}
		})
	}
}

func TestDeployUnreachable(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	te.srv.Close()
	_, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	if got := cloudflare.KindOf(err); got != cloudflare.KindTransient {
		t.Fatalf("kind: got %q, want transient (%v)", got, err)
	}
	var ce *cloudflare.Error
	errors.As(err, &ce)
	if ce.Status != 0 || !strings.Contains(ce.Message, "could not reach Cloudflare") {
		t.Errorf("got status %d message %q, want no status and an unreachable message", ce.Status, ce.Message)
	}
}

func TestDeployValidatesLocally(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	tests := []struct {
		name string
		req  cloudflare.DeployRequest
	}{
		{"upper-case script", cloudflare.DeployRequest{Script: "App", Assets: bundle("v1")}},
		{"underscore script", cloudflare.DeployRequest{Script: "my_app", Assets: bundle("v1")}},
		{"no files", cloudflare.DeployRequest{Script: "app"}},
		{"path leaves the site", cloudflare.DeployRequest{Script: "app", Assets: []files.File{{Path: "../x.html", Content: []byte("x")}}}},
		{"path listed twice", cloudflare.DeployRequest{Script: "app", Assets: []files.File{{Path: "a.html"}, {Path: "./a.html"}}}},
		{"unknown not-found handling", cloudflare.DeployRequest{Script: "app", Assets: bundle("v1"), NotFoundHandling: "spa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.Deploy(context.Background(), tt.req, nil)
			if got := cloudflare.KindOf(err); got != cloudflare.KindValidation {
				t.Errorf("kind: got %q, want validation (%v)", got, err)
			}
			if res.Calls != 0 {
				t.Errorf("calls: got %d, want 0", res.Calls)
			}
		})
	}
}

func TestDeployHeadersAndRedirectsTravelAsConfig(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	assets := append(bundle("v1"),
		files.File{Path: "_headers", Content: []byte("/*\n  X-Frame-Options: DENY\n")},
		files.File{Path: "_redirects", Content: []byte("/old /new 301\n")})
	res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: assets}, nil)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Uploaded != 4 {
		t.Errorf("uploaded: got %d, want 4 (not _headers and _redirects)", res.Uploaded)
	}
	// Under single-page-application an unknown path answers index.html, never the
	// _headers file.
	if _, body := te.get(t, res.URL+"/_headers"); strings.Contains(body, "X-Frame-Options") {
		t.Errorf("_headers is served as an asset")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  cloudflare.Config
	}{
		{"no token", cloudflare.Config{AccountID: "a"}},
		{"bad account", cloudflare.Config{APIToken: "t", AccountID: "a/b"}},
		{"bad base URL", cloudflare.Config{APIToken: "t", AccountID: "a", BaseURL: "ftp://x"}},
		{"template without script", cloudflare.Config{APIToken: "t", AccountID: "a", URLTemplate: "https://x.dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cloudflare.New(tt.cfg); err == nil {
				t.Errorf("got no error")
			} else if strings.Contains(err.Error(), tt.cfg.APIToken+"x") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	if _, err := cloudflare.New(cloudflare.Config{APIToken: "t", AccountID: "0123456789abcdef0123456789abcdef"}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestConcurrentDeploys(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	const n = 6
	type outcome struct {
		res cloudflare.DeployResult
		err error
	}
	done := make(chan outcome, n)
	for i := range n {
		go func() {
			assets := append(bundle("v1"), files.File{Path: "own.txt", Content: []byte(fmt.Sprintf("app %d", i))})
			res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: fmt.Sprintf("app-%d", i), Assets: assets}, nil)
			done <- outcome{res, err}
		}()
	}
	for range n {
		o := <-done
		if o.err != nil {
			t.Errorf("Deploy: %v", o.err)
			continue
		}
		if status, body := te.get(t, o.res.URL+"/own.txt"); status != 200 || body != "app "+strings.TrimPrefix(o.res.Script, "app-") {
			t.Errorf("GET %s/own.txt: got %d %q", o.res.URL, status, body)
		}
	}
	if got := te.scripts(t); len(got) != n {
		t.Errorf("scripts: got %v, want %d", got, n)
	}
}
