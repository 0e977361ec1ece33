package edge

import (
	"context"
	"net/http"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

func TestRateLimit(t *testing.T) {
	const limit, window = 5, 10 * time.Second
	f := startFixture(t, t.TempDir(), newClock(), func(c *Config) {
		c.RateLimit, c.RateLimitWindow = limit, window
	})
	ws := f.workers(testToken)
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "") // 4 requests
	f.clock.Advance(window)
	params := workers.SubdomainGetParams{AccountID: cf.F(testAccount)}
	get := func() (*http.Response, error) {
		var resp *http.Response
		_, err := ws.Subdomains.Get(context.Background(), params, option.WithResponseInto(&resp))
		return resp, err
	}
	for i := range limit {
		resp, err := get()
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if got, want := resp.Header.Get("Ratelimit-Policy"), `"default";q=5;w=10`; got != want {
			t.Errorf("Ratelimit-Policy: got %q, want %q", got, want)
		}
		if got, want := resp.Header.Get("Ratelimit"), `"default";r=`+string(rune('0'+limit-1-i))+`;t=10`; got != want {
			t.Errorf("request %d Ratelimit: got %q, want %q", i+1, got, want)
		}
	}
	_, err := get()
	apiErr := wantAPIError(t, err, http.StatusTooManyRequests, 971)
	if got, want := apiErr.Errors[0].Message, "Please wait and consider throttling your request speed"; got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
	if got := apiErr.Response.Header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After: got %q, want 10", got)
	}
	// The whole next window is blocked, as Cloudflare documents.
	f.clock.Advance(window - time.Second)
	_, err = get()
	apiErr = wantAPIError(t, err, http.StatusTooManyRequests, 971)
	if got := apiErr.Response.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After late in the block: got %q, want 1", got)
	}
	// Bad tokens are refused before they count.
	if _, err := f.workers("wrong").Subdomains.Get(context.Background(), params); err == nil {
		t.Fatal("a wrong token passed")
	} else {
		wantAPIError(t, err, http.StatusForbidden, 10000)
	}
	f.clock.Advance(time.Second)
	if _, err := get(); err != nil {
		t.Errorf("after the block: %v", err)
	}
	// The data plane is not rate-limited.
	for range 2 * limit {
		if resp := f.do(t, "GET", host, "/", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("the data plane answered %d", resp.StatusCode)
		}
	}
}

func TestRateLimitOffAndDefaults(t *testing.T) {
	if l := newRateLimiter(-1, 0); l != nil {
		t.Errorf("a negative limit: got a limiter, want none")
	}
	l := newRateLimiter(0, 0)
	if l.limit != DefaultRateLimit || l.window != DefaultRateLimitWindow {
		t.Errorf("defaults: got %d per %s", l.limit, l.window)
	}
	now := time.Now()
	for i := range DefaultRateLimit {
		if d := l.take("token", now); !d.allowed {
			t.Fatalf("request %d refused", i+1)
		}
	}
	if d := l.take("token", now); d.allowed || d.retryAfter != 5*time.Minute {
		t.Errorf("request 1201: got %+v, want a refusal for 5 minutes", d)
	}
	if d := l.take("another token", now); !d.allowed {
		t.Errorf("another token shares the budget")
	}
}
