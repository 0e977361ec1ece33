package edge

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Cloudflare's API rate limit, from developers.cloudflare.com/fundamentals/api/
// reference/limits: "The global rate limit for the Cloudflare API is 1,200 requests
// per five minute period per user ... If you exceed this limit, all API calls for the
// next five minutes will be blocked, receiving a HTTP 429 response." The same page
// lists the headers: Ratelimit ("default";r=<remaining>;t=<seconds to reset>) and
// Ratelimit-Policy ("default";q=<quota>;w=<window seconds>) on every response, and
// retry-after ("the number of seconds, rounded up, until more capacity is
// available") on a 429.
//
// The edge counts a fixed window per API token that starts with the token's first
// request; the request past the limit starts a block of one whole window. The body
// of the 429 is Cloudflare's: code 971, "Please wait and consider throttling your
// request speed" (quoted from real 429 answers in several projects' notes, e.g. a
// Terraform runner's "429 {"code":971,"message":"Please wait and consider
// throttling your request speed"}").
const (
	DefaultRateLimit       = 1200
	DefaultRateLimitWindow = 5 * time.Minute

	codeRateLimited = 971
	msgRateLimited  = "Please wait and consider throttling your request speed"
)

type rateLimiter struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	buckets map[[32]byte]*rateBucket
}

type rateBucket struct {
	start        time.Time // of the current window
	count        int
	blockedUntil time.Time
}

// rateDecision is what the limiter decided for one request.
type rateDecision struct {
	allowed    bool
	remaining  int
	reset      time.Duration // until the window (or block) ends
	retryAfter time.Duration // on a refusal
}

func newRateLimiter(limit int, window time.Duration) *rateLimiter {
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		limit = DefaultRateLimit
	}
	if window <= 0 {
		window = DefaultRateLimitWindow
	}
	return &rateLimiter{limit: limit, window: window, buckets: map[[32]byte]*rateBucket{}}
}

// take counts one request of the user credential and says whether it may proceed.
func (l *rateLimiter) take(credential string, now time.Time) rateDecision {
	key := sha256.Sum256([]byte(credential))
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &rateBucket{start: now}
		l.buckets[key] = b
	}
	if now.Before(b.blockedUntil) {
		wait := b.blockedUntil.Sub(now)
		return rateDecision{reset: wait, retryAfter: wait}
	}
	if now.Sub(b.start) >= l.window || now.Before(b.start) {
		b.start, b.count = now, 0
	}
	b.count++
	if b.count > l.limit {
		b.blockedUntil = now.Add(l.window)
		b.start, b.count = b.blockedUntil, 0
		return rateDecision{reset: l.window, retryAfter: l.window}
	}
	return rateDecision{allowed: true, remaining: l.limit - b.count, reset: b.start.Add(l.window).Sub(now)}
}

// setHeaders writes the rate-limit headers of d.
func (l *rateLimiter) setHeaders(h http.Header, d rateDecision) {
	h.Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, d.remaining, ceilSeconds(d.reset)))
	h.Set("Ratelimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, l.limit, ceilSeconds(l.window)))
	if !d.allowed {
		h.Set("Retry-After", strconv.FormatInt(ceilSeconds(d.retryAfter), 10))
	}
}

// ceilSeconds rounds d up to whole seconds, at least 1 for a positive d.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

func errRateLimited() *apiError {
	return apiErrorf(http.StatusTooManyRequests, codeRateLimited, msgRateLimited)
}
