package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

func TestFaultClasses(t *testing.T) {
	acct := "/client/v4/accounts/" + testAccount
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, resp *http.Response, err error)
	}{
		{
			name:  "server error 500",
			fault: Fault{Endpoint: "GET /workers/subdomain", ErrorRate: 1},
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != 500 {
					t.Fatalf("got %v %v, want 500", resp, err)
				}
				if body := readBody(t, resp); !strings.Contains(body, `"code":10013`) {
					t.Errorf("body: got %s, want the Workers API's unknown error", body)
				}
			},
		},
		{
			name:  "gateway error 503",
			fault: Fault{Endpoint: "/workers/subdomain", ErrorRate: 1, ErrorStatus: 503},
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("got %v %v, want 503 with an HTML page", resp, err)
				}
				if body := readBody(t, resp); !strings.Contains(body, "503 Service Unavailable") || !strings.Contains(body, "cloudflare") {
					t.Errorf("body: got %s", body)
				}
			},
		},
		{
			name:  "refusal 400",
			fault: Fault{Endpoint: "GET /workers/subdomain", ErrorRate: 1, ErrorStatus: 400, ErrorCode: 10021},
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != 400 {
					t.Fatalf("got %v %v, want 400", resp, err)
				}
				env := decodeEnvelope(t, resp)
				if len(env.Errors) != 1 || env.Errors[0].Code != 10021 || !strings.Contains(env.Errors[0].Message, "fault injected for GET /workers/subdomain") {
					t.Errorf("errors: got %+v, want code 10021 saying the edge injected it", env.Errors)
				}
			},
		},
		{
			name:  "rate limit",
			fault: Fault{Endpoint: "GET /workers/*", RateLimitRate: 1, RetryAfter: 2500 * time.Millisecond},
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
					t.Fatalf("got %v %v, want 429 with Retry-After 3", resp, err)
				}
				env := decodeEnvelope(t, resp)
				if env.Errors[0].Code != 971 {
					t.Errorf("errors: got %+v, want code 971", env.Errors)
				}
			},
		},
		{
			name:  "dropped before the request",
			fault: Fault{Endpoint: "GET /workers/subdomain", DropRate: 1},
			check: func(t *testing.T, resp *http.Response, err error) {
				if err == nil {
					t.Fatalf("got %d, want a connection error", resp.StatusCode)
				}
			},
		},
		{
			name:  "dropped mid-response",
			fault: Fault{Endpoint: "GET /workers/subdomain", DropRate: 1, Drop: DropResponse},
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					return // the connection closed before the headers: fine too
				}
				if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("reading the body: got %v, want unexpected EOF", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if err := f.edge.SetFaults(tt.fault); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", f.srv.URL+acct+"/workers/subdomain", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
			if resp != nil {
				t.Cleanup(func() { resp.Body.Close() })
			}
			tt.check(t, resp, err)
			// Other endpoints are not affected.
			resp2 := f.do(t, "GET", "", acct+"/workers/scripts", bearer(testToken), nil)
			if tt.fault.Endpoint != "GET /workers/*" && resp2.StatusCode != 200 {
				t.Errorf("an unaffected endpoint answered %d", resp2.StatusCode)
			}
			f.edge.ClearFaults()
			if resp := f.do(t, "GET", "", acct+"/workers/subdomain", bearer(testToken), nil); resp.StatusCode != 200 {
				t.Errorf("after clearing the faults: got %d", resp.StatusCode)
			}
		})
	}
}

func TestFaultLatency(t *testing.T) {
	f := newFixture(t)
	if err := f.edge.SetFaults(Fault{Endpoint: "GET /workers/subdomain", Latency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp := f.do(t, "GET", "", "/client/v4/accounts/"+testAccount+"/workers/subdomain", bearer(testToken), nil)
	if took := time.Since(start); resp.StatusCode != 200 || took < 150*time.Millisecond {
		t.Errorf("got %d after %s, want 200 after at least 150ms", resp.StatusCode, took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.workers(testToken).Subdomains.Get(ctx, workers.SubdomainGetParams{AccountID: cf.F(testAccount)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a client that gives up: got %v, want a deadline error", err)
	}
}

// TestFaultDropAfterResponse: the edge makes the change, the client never hears of
// it; a retry finds the change made.
func TestFaultDropAfterResponse(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	files := map[string]string{"/index.html": "dropped"}
	jwt := uploadAll(t, ws, startSession(t, ws, "app", files), files)
	if err := f.edge.SetFaults(Fault{Endpoint: "PUT /workers/scripts/*", DropRate: 1, Drop: DropResponse, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := putAssetsScript(ws, "app", jwt, ""); err == nil {
		t.Fatalf("the PUT succeeded through a dropped response")
	}
	if _, ok := f.edge.store.script("app"); !ok {
		t.Errorf("the dropped PUT did not reach the store")
	}
	if len(f.edge.Faults()) != 0 {
		t.Errorf("a fault with Times 1 is still set after one request: %+v", f.edge.Faults())
	}
	if _, err := putAssetsScript(ws, "app", jwt, ""); err != nil {
		t.Errorf("the retry: %v", err)
	}
}

func TestFaultTimesAndSeed(t *testing.T) {
	f := newFixture(t)
	path := "/client/v4/accounts/" + testAccount + "/workers/subdomain"
	if err := f.edge.SetFaults(Fault{Endpoint: "GET /workers/subdomain", ErrorRate: 1, ErrorStatus: 502, Times: 2}); err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 4 {
		got = append(got, f.do(t, "GET", "", path, bearer(testToken), nil).StatusCode)
	}
	if want := []int{502, 502, 200, 200}; !equalInts(got, want) {
		t.Errorf("Times 2: got %v, want %v", got, want)
	}
	run := func() []int {
		if err := f.edge.SetFaults(Fault{Endpoint: "GET /workers/subdomain", ErrorRate: 0.5, Seed: 42}); err != nil {
			t.Fatal(err)
		}
		var out []int
		for range 16 {
			out = append(out, f.do(t, "GET", "", path, bearer(testToken), nil).StatusCode)
		}
		return out
	}
	first, second := run(), run()
	if !equalInts(first, second) {
		t.Errorf("the same seed gave %v and %v", first, second)
	}
	if !containsInt(first, 200) || !containsInt(first, 500) {
		t.Errorf("rate 0.5 over 16 requests: got %v, want both outcomes", first)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestFaultPatterns(t *testing.T) {
	tests := []struct {
		endpoint, method, path string
		want                   bool
	}{
		{"PUT /workers/scripts/*", "PUT", "/client/v4/accounts/a/workers/scripts/app", true},
		{"PUT /workers/scripts/*", "GET", "/client/v4/accounts/a/workers/scripts/app", false},
		{"PUT /workers/scripts/*", "PUT", "/client/v4/accounts/a/workers/scripts/app/secrets", false},
		{"* /workers/scripts/*/**", "PUT", "/client/v4/accounts/a/workers/scripts/app/secrets", true},
		{"/workers/scripts/app-*", "GET", "/client/v4/accounts/a/workers/scripts/app-7", true},
		{"POST /workers/assets/upload", "POST", "/client/v4/accounts/a/workers/assets/upload", true},
		{"GET /client/v4/memberships", "GET", "/client/v4/memberships", true},
		{"GET /memberships", "GET", "/client/v4/memberships", true},
		{"get /workers/subdomain", "GET", "/client/v4/accounts/a/workers/subdomain", true},
	}
	for _, tt := range tests {
		a, err := compileFault(Fault{Endpoint: tt.endpoint, ErrorRate: 1})
		if err != nil {
			t.Fatalf("%s: %v", tt.endpoint, err)
		}
		s := faultSet{faults: []*activeFault{a}}
		req, _ := http.NewRequest(tt.method, "http://x"+tt.path, nil)
		if _, got := s.decide(req); got != tt.want {
			t.Errorf("%s on %s %s: got %v, want %v", tt.endpoint, tt.method, tt.path, got, tt.want)
		}
	}
	for _, bad := range []Fault{
		{Endpoint: "workers", ErrorRate: 1},
		{Endpoint: "/x", ErrorRate: 1.5},
		{Endpoint: "/x", ErrorRate: 0.6, DropRate: 0.6},
		{Endpoint: "/x", ErrorRate: 1, ErrorStatus: 302},
		{Endpoint: "/x", ErrorRate: 1, ErrorStatus: 429},
		{Endpoint: "/x", DropRate: 1, Drop: "sometimes"},
		{Endpoint: "/x"},
	} {
		if _, err := compileFault(bad); err == nil {
			t.Errorf("%+v: got no error", bad)
		}
	}
}

func TestFaultsControlEndpoint(t *testing.T) {
	f := newFixture(t)
	put := func(token, body string) *http.Response {
		h := bearer(token)
		h.Set("Content-Type", "application/json")
		return f.do(t, "PUT", "", "/__edge/faults", h, strings.NewReader(body))
	}
	if resp := put("wrong", `{"faults":[]}`); resp.StatusCode != 403 {
		t.Errorf("without the API token: got %d, want 403", resp.StatusCode)
	}
	resp := put(testToken, `{"faults":[{"endpoint":"POST /workers/assets/upload","error_rate":1,"error_status":503,"latency":"10ms","times":3,"seed":7}]}`)
	env := decodeEnvelope(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("set faults: got %d %+v", resp.StatusCode, env.Errors)
	}
	var got struct {
		Faults []Fault `json:"faults"`
	}
	if err := json.Unmarshal(env.Result, &got); err != nil {
		t.Fatal(err)
	}
	want := Fault{Endpoint: "POST /workers/assets/upload", ErrorRate: 1, ErrorStatus: 503, Latency: 10 * time.Millisecond,
		LatencyRate: 1, RetryAfter: time.Second, Drop: DropRequest, Times: 3, Seed: 7}
	if len(got.Faults) != 1 || got.Faults[0] != want {
		t.Errorf("faults: got %+v, want %+v", got.Faults, want)
	}
	if len(f.edge.Faults()) != 1 {
		t.Errorf("the control endpoint did not set the edge's faults")
	}
	if resp := put(testToken, `{"faults":[{"endpoint":"/x","error_rate":2}]}`); resp.StatusCode != 400 {
		t.Errorf("an invalid fault: got %d, want 400", resp.StatusCode)
	}
	if resp := put(testToken, `{"faults":[{"endpoint":"/x","error_rate":1,"bogus":1}]}`); resp.StatusCode != 400 {
		t.Errorf("an unknown field: got %d, want 400", resp.StatusCode)
	}
	if resp := f.do(t, "GET", "", "/__edge/faults", bearer(testToken), nil); resp.StatusCode != 200 {
		t.Errorf("list faults: got %d", resp.StatusCode)
	}
	if resp := f.do(t, "DELETE", "", "/__edge/faults", bearer(testToken), nil); resp.StatusCode != 200 || len(f.edge.Faults()) != 0 {
		t.Errorf("clear faults: got %d with %d faults left", resp.StatusCode, len(f.edge.Faults()))
	}
}
