package cloudflare_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/edge"
	"github.com/appforge/appforge/files"
)

// deployerEndpoints are the calls a first Deploy makes, as fault endpoints.
var deployerEndpoints = []string{
	"POST /workers/scripts/*/assets-upload-session",
	"POST /workers/assets/upload",
	"PUT /workers/scripts/*",
	"POST /workers/scripts/*/subdomain",
	"GET /workers/subdomain",
}

// clock is a settable clock for edge.Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wantServes checks that the edge has exactly one script, app-1, serving the bundle
// of version.
func wantServes(t *testing.T, te *testEdge, res cloudflare.DeployResult, version string) {
	t.Helper()
	if got := te.scripts(t); len(got) != 1 || got[0] != "app-1" {
		t.Errorf("scripts: got %v, want only app-1", got)
	}
	for path, want := range map[string]string{"/": version, "/assets/index-BHpbNtuy.js": "console.log('app')", "/deep/link": version} {
		if status, body := te.get(t, res.URL+path); status != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: got %d %q, want 200 containing %q", path, status, body, want)
		}
	}
}

// TestDeployFaults: every fault class on every call of a deploy gives a classified,
// retryable error; once the faults stop, a second Deploy leaves one script serving
// the bundle.
func TestDeployFaults(t *testing.T) {
	classes := []struct {
		name      string
		fault     edge.Fault
		timeout   time.Duration // of the deployer's HTTP client
		wantKind  cloudflare.Kind
		wantRetry time.Duration
		wantMsg   string
	}{
		{name: "500", fault: edge.Fault{ErrorRate: 1}, wantKind: cloudflare.KindTransient, wantMsg: "HTTP 500"},
		{name: "503 page", fault: edge.Fault{ErrorRate: 1, ErrorStatus: 503}, wantKind: cloudflare.KindTransient, wantMsg: "HTTP 503"},
		{name: "429", fault: edge.Fault{RateLimitRate: 1, RetryAfter: 4 * time.Second}, wantKind: cloudflare.KindRateLimited,
			wantRetry: 4 * time.Second, wantMsg: "retry after 4s"},
		{name: "latency", fault: edge.Fault{Latency: 2 * time.Second}, timeout: 150 * time.Millisecond,
			wantKind: cloudflare.KindTransient, wantMsg: "Cloudflare"},
		{name: "dropped request", fault: edge.Fault{DropRate: 1}, wantKind: cloudflare.KindTransient, wantMsg: "could not reach Cloudflare"},
		{name: "dropped response", fault: edge.Fault{DropRate: 1, Drop: edge.DropResponse}, wantKind: cloudflare.KindTransient},
	}
	for _, endpoint := range deployerEndpoints {
		for _, class := range classes {
			t.Run(endpoint+"/"+class.name, func(t *testing.T) {
				t.Parallel()
				te := startEdge(t, nil)
				fault := class.fault
				fault.Endpoint = endpoint
				if err := te.edge.SetFaults(fault); err != nil {
					t.Fatal(err)
				}
				cfg := te.config(testToken)
				if class.timeout > 0 {
					client := *te.srv.Client()
					client.Timeout = class.timeout
					cfg.HTTPClient = &client
				}
				d, err := cloudflare.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, err = d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
				var ce *cloudflare.Error
				if !errors.As(err, &ce) {
					t.Fatalf("got %v (%T), want a *cloudflare.Error", err, err)
				}
				if ce.Kind != class.wantKind || !ce.Retryable() {
					t.Errorf("got kind %s retryable %v, want %s and retryable (%v)", ce.Kind, ce.Retryable(), class.wantKind, err)
				}
				if ce.RetryAfter != class.wantRetry {
					t.Errorf("RetryAfter: got %s, want %s", ce.RetryAfter, class.wantRetry)
				}
				if !strings.Contains(ce.Message, class.wantMsg) {
					t.Errorf("message: got %q, want it to contain %q", ce.Message, class.wantMsg)
				}
				if strings.Contains(err.Error(), testToken) {
					t.Errorf("the error shows the API token: %v", err)
				}

				te.edge.ClearFaults()
				res, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
				if err != nil {
					t.Fatalf("the deploy after the faults: %v", err)
				}
				wantServes(t, te, res, "v1")
			})
		}
	}
}

// TestDeployInterruptedAnywhere: a deploy cut off at any call, after the edge acted
// on it or before, and run again by a restarted worker (a new Deployer), completes
// the same single script with the same bundle.
func TestDeployInterruptedAnywhere(t *testing.T) {
	for _, endpoint := range deployerEndpoints {
		for _, phase := range []string{edge.DropRequest, edge.DropResponse} {
			t.Run(endpoint+"/"+phase, func(t *testing.T) {
				t.Parallel()
				te := startEdge(t, nil)
				// An earlier version is live: the interrupted deploy must not lose it.
				if _, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v0")}, nil); err != nil {
					t.Fatal(err)
				}
				times := 1
				if phase == edge.DropRequest && strings.HasPrefix(endpoint, "GET ") {
					// Go's transport sends a GET again, once, when a reused connection
					// closes before any response: drop that one too.
					times = 2
				}
				if err := te.edge.SetFaults(edge.Fault{Endpoint: endpoint, DropRate: 1, Drop: phase, Times: times}); err != nil {
					t.Fatal(err)
				}
				// The account subdomain is asked only by a fresh Deployer.
				_, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
				if left := te.edge.Faults(); len(left) != 0 && left[0].Times == times {
					t.Fatalf("the deploy never reached %s", endpoint)
				}
				te.edge.ClearFaults()
				if cloudflare.KindOf(err) != cloudflare.KindTransient {
					t.Fatalf("the interrupted deploy: got %v, want a transient error", err)
				}
				if status, body := te.get(t, "http://app-1.appforge.localhost:"+te.port+"/"); status != 200 ||
					(!strings.Contains(body, "v0") && !strings.Contains(body, "v1")) {
					t.Errorf("while interrupted the site answers %d %q, want v0 or v1", status, body)
				}
				res, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
				if err != nil {
					t.Fatalf("the deploy run again: %v", err)
				}
				wantServes(t, te, res, "v1")
			})
		}
	}
}

func TestDeployRateLimited(t *testing.T) {
	clk := &clock{t: time.Now()}
	te := startEdge(t, nil, func(c *edge.Config) {
		c.Now = clk.Now
		c.RateLimit, c.RateLimitWindow = 4, time.Minute
	})
	d := te.deployer(t)
	res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	var ce *cloudflare.Error
	if !errors.As(err, &ce) || ce.Kind != cloudflare.KindRateLimited || ce.Status != 429 || ce.Code != 971 {
		t.Fatalf("the fifth call: got %v, want rate_limited 429 971", err)
	}
	if ce.RetryAfter != time.Minute || res.Calls != 5 {
		t.Errorf("got RetryAfter %s after %d calls, want 1m after 5", ce.RetryAfter, res.Calls)
	}
	if !strings.Contains(ce.Message, "Please wait and consider throttling your request speed") {
		t.Errorf("message: %q", ce.Message)
	}
	// Within the block every call is refused.
	clk.Advance(30 * time.Second)
	if _, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil); cloudflare.KindOf(err) != cloudflare.KindRateLimited {
		t.Errorf("during the block: got %v, want rate_limited", err)
	}
	clk.Advance(30 * time.Second)
	res, err = d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	if err != nil {
		t.Fatalf("after the window: %v", err)
	}
	clk.Advance(time.Minute) // wantServes lists scripts through the API
	wantServes(t, te, res, "v1")
}

// TestExpiredUploadSessionReplaced: an upload token that expires during a deploy
// (the edge's clock jumps past its hour) gets a new session in the same Deploy; a
// session left by a crashed attempt is never reused.
func TestExpiredUploadSessionReplaced(t *testing.T) {
	clk := &clock{t: time.Now()}
	var jumped atomic.Bool
	jump := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/workers/assets/upload") && jumped.CompareAndSwap(false, true) {
				clk.Advance(61 * time.Minute)
			}
			next.ServeHTTP(w, r)
		})
	}
	te := startEdge(t, jump, func(c *edge.Config) { c.Now = clk.Now })
	var steps []string
	res, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")},
		func(s string) { steps = append(steps, s) })
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Calls != 7 || res.Uploaded != 4 {
		t.Errorf("got %d calls and %d uploads, want 7 (a second session) and 4", res.Calls, res.Uploaded)
	}
	if !strings.Contains(strings.Join(steps, "\n"), "starting a new one") {
		t.Errorf("progress does not tell of the new session: %q", steps)
	}
	wantServes(t, te, res, "v1")

	// A crashed attempt: its session is abandoned mid-upload, the worker restarts two
	// hours later and deploys anew.
	if err := te.edge.SetFaults(edge.Fault{Endpoint: "POST /workers/assets/upload", DropRate: 1, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil); err == nil {
		t.Fatal("the crashed attempt succeeded")
	}
	clk.Advance(2 * time.Hour)
	res, err = te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil)
	if err != nil {
		t.Fatalf("the deploy after the crash: %v", err)
	}
	wantServes(t, te, res, "v2")
}

func TestDeployNotFoundHandlingDefault(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	with404 := append(bundle("v1"), files.File{Path: "404.html", Content: []byte("custom 404")})
	res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "with-404", Assets: with404}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := te.get(t, res.URL+"/missing"); status != 404 || body != "custom 404" {
		t.Errorf("a bundle with 404.html: GET /missing got %d %q, want the 404 page", status, body)
	}
	// A 404.html below the root does not switch the mode.
	nested := append(bundle("v1"), files.File{Path: "blog/404.html", Content: []byte("blog 404")})
	res, err = d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "spa", Assets: nested}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := te.get(t, res.URL+"/missing"); status != 200 || !strings.Contains(body, "v1") {
		t.Errorf("a bundle without a root 404.html: GET /missing got %d %q, want the app shell", status, body)
	}
	// An explicit mode wins.
	res, err = d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "forced", Assets: with404, NotFoundHandling: cloudflare.NotFoundSPA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := te.get(t, res.URL+"/missing"); status != 200 {
		t.Errorf("an explicit single-page-application: GET /missing got %d, want 200", status)
	}
}

func TestDeployAppliesHeadersAndRedirects(t *testing.T) {
	te := startEdge(t, nil)
	assets := append(bundle("v1"),
		files.File{Path: "_headers", Content: []byte("/*\n  X-Frame-Options: DENY\n")},
		files.File{Path: "_redirects", Content: []byte("/old /new 301\n/new /index.html 200\n")})
	res, err := te.deployer(t).Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: assets}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := te.browser()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(res.URL + "/old")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/new" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /old: got %d Location %q X-Frame-Options %q, want 301 to /new with DENY",
			resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Frame-Options"))
	}
	if status, body := te.get(t, res.URL+"/new"); status != 200 || !strings.Contains(body, "v1") {
		t.Errorf("GET /new (a 200 rewrite): got %d %q", status, body)
	}
}

// TestDeployTellsWhetherTheScriptChanged: a deploy that fails tells its caller whether
// the script may already serve the new bundle, so that what was live can be put back.
func TestDeployTellsWhetherTheScriptChanged(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	if _, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fault   edge.Fault
		changed bool
	}{
		// The script upload is refused: the script is as it was.
		{edge.Fault{Endpoint: "PUT /workers/scripts/*", ErrorRate: 1, ErrorStatus: 400, ErrorCode: 10021, Times: 1}, false},
		// The upload went through but its answer was lost: it may have changed.
		{edge.Fault{Endpoint: "PUT /workers/scripts/*", DropRate: 1, Drop: edge.DropResponse, Times: 1}, true},
		// The script took the bundle; enabling workers.dev was refused after.
		{edge.Fault{Endpoint: "POST /workers/scripts/*/subdomain", ErrorRate: 1, ErrorStatus: 403, Times: 1}, true},
	} {
		if err := te.edge.SetFaults(tc.fault); err != nil {
			t.Fatal(err)
		}
		res, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil)
		if err == nil {
			t.Fatalf("%s: the deploy succeeded", tc.fault.Endpoint)
		}
		if res.ScriptChanged != tc.changed {
			t.Errorf("%s (%v): ScriptChanged = %v, want %v", tc.fault.Endpoint, err, res.ScriptChanged, tc.changed)
		}
		te.edge.ClearFaults()
		// Put v1 back for the next case.
		if _, err := d.Deploy(context.Background(), cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil); err != nil {
			t.Fatal(err)
		}
	}
}
