package perf

import (
	"fmt"
	"time"
)

// Metric names of a Regression.
const (
	MetricLCP             = "lcp"
	MetricFirstVisitBytes = "first_visit_bytes"
	MetricRequests        = "requests"
	MetricTTFB            = "ttfb"
)

// Regression thresholds. A metric regresses when it grew by at least the relative AND
// the absolute amount, so that a tiny app does not flap on noise (5 → 10 ms of TTFB is
// +100% but no regression) and a large one is not flagged for a rounding (2.00 → 2.05 MB
// is 50 KB but 2.5%).
const (
	LCPPercent    = 20 // LCP: +20% and +100 ms
	LCPAbsolute   = 100 * time.Millisecond
	BytesPercent  = 10 // first-visit bytes: +10% and +10 KiB
	BytesAbsolute = 10 << 10
	RequestsMore  = 2  // requests: 2 more (a count does not jitter; no relative bound)
	TTFBPercent   = 50 // TTFB: +50% and +50 ms (a slow round trip)
	TTFBAbsolute  = 50 * time.Millisecond
)

// Regression is one metric that got worse between two measurements.
type Regression struct {
	Metric   string `json:"metric"`
	Previous string `json:"previous"`
	Current  string `json:"current"`
	Message  string `json:"message"`
}

// Compare lists the metrics of cur that regressed against prev (see the thresholds). A
// metric that either measurement lacks is not compared: a zero prev (no previous
// deployment) gives none, and LCP only when Chromium measured both.
func Compare(prev, cur Metrics) []Regression {
	var out []Regression
	if prev.LCPSource == LCPSourceChromium && cur.LCPSource == LCPSourceChromium && prev.LCP > 0 {
		if grewBy(int64(prev.LCP), int64(cur.LCP), LCPPercent, int64(LCPAbsolute)) {
			out = append(out, durationRegression(MetricLCP, "Largest Contentful Paint", prev.LCP, cur.LCP, LCPPercent, LCPAbsolute))
		}
	}
	if prev.FirstVisitBytes > 0 && cur.FirstVisitBytes > 0 &&
		grewBy(prev.FirstVisitBytes, cur.FirstVisitBytes, BytesPercent, BytesAbsolute) {
		d := cur.FirstVisitBytes - prev.FirstVisitBytes
		out = append(out, Regression{
			Metric:   MetricFirstVisitBytes,
			Previous: formatBytes(prev.FirstVisitBytes),
			Current:  formatBytes(cur.FirstVisitBytes),
			Message: fmt.Sprintf("a first visit transfers %s, %s more than before (+%.0f%%); flagged at +%d%% and +%s",
				formatBytes(cur.FirstVisitBytes), formatBytes(d), percent(prev.FirstVisitBytes, cur.FirstVisitBytes),
				BytesPercent, formatBytes(BytesAbsolute)),
		})
	}
	if prev.Requests > 0 && cur.Requests > 0 && cur.Requests-prev.Requests >= RequestsMore {
		out = append(out, Regression{
			Metric:   MetricRequests,
			Previous: fmt.Sprint(prev.Requests),
			Current:  fmt.Sprint(cur.Requests),
			Message: fmt.Sprintf("a first visit makes %d requests, %d more than before; flagged at %d more",
				cur.Requests, cur.Requests-prev.Requests, RequestsMore),
		})
	}
	if prev.TTFB > 0 && cur.TTFB > 0 && grewBy(int64(prev.TTFB), int64(cur.TTFB), TTFBPercent, int64(TTFBAbsolute)) {
		out = append(out, durationRegression(MetricTTFB, "Time to first byte", prev.TTFB, cur.TTFB, TTFBPercent, TTFBAbsolute))
	}
	return out
}

// grewBy reports whether cur exceeds prev by at least pct percent of prev and at least
// abs. Integers: no rounding at the boundary.
func grewBy(prev, cur, pct, abs int64) bool {
	d := cur - prev
	return d >= abs && d*100 >= pct*prev
}

func durationRegression(metric, name string, prev, cur time.Duration, pct int64, abs time.Duration) Regression {
	return Regression{
		Metric:   metric,
		Previous: formatDuration(prev),
		Current:  formatDuration(cur),
		Message: fmt.Sprintf("%s is %s, %s slower than before (+%.0f%%); flagged at +%d%% and +%s",
			name, formatDuration(cur), formatDuration(cur-prev), percent(int64(prev), int64(cur)), pct, formatDuration(abs)),
	}
}

func percent(prev, cur int64) float64 { return 100 * float64(cur-prev) / float64(prev) }

// formatDuration rounds to the millisecond: 1.234s, 87ms.
func formatDuration(d time.Duration) string { return d.Round(time.Millisecond).String() }

// formatBytes is a size for people: 812 B, 14.2 KiB, 1.31 MiB.
func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	}
}
