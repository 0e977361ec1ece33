package perf_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appforge/appforge/perf"
)

func TestCompare(t *testing.T) {
	ms := time.Millisecond
	base := perf.Metrics{TTFB: 100 * ms, FirstVisitBytes: 200_000, Requests: 6, LCP: 1000 * ms, LCPSource: perf.LCPSourceChromium}
	with := func(f func(*perf.Metrics)) perf.Metrics {
		m := base
		f(&m)
		return m
	}
	tests := []struct {
		name      string
		prev, cur perf.Metrics
		want      []string // metrics flagged, in order
	}{
		{"no previous deployment", perf.Metrics{}, base, nil},
		{"unchanged", base, base, nil},
		{"better everywhere", base, perf.Metrics{TTFB: 50 * ms, FirstVisitBytes: 1000, Requests: 2, LCP: 300 * ms, LCPSource: perf.LCPSourceChromium}, nil},

		{"LCP +20% and +200 ms", base, with(func(m *perf.Metrics) { m.LCP = 1200 * ms }), []string{perf.MetricLCP}},
		{"LCP just under +20%", base, with(func(m *perf.Metrics) { m.LCP = 1199 * ms }), nil},
		{"LCP +100% but only +60 ms (tiny app)", with(func(m *perf.Metrics) { m.LCP = 60 * ms }), with(func(m *perf.Metrics) { m.LCP = 120 * ms }), nil},
		{"LCP +100 ms exactly and +50%", with(func(m *perf.Metrics) { m.LCP = 200 * ms }), with(func(m *perf.Metrics) { m.LCP = 300 * ms }), []string{perf.MetricLCP}},
		{"LCP not measured before", with(func(m *perf.Metrics) { m.LCP, m.LCPSource = 0, "" }), with(func(m *perf.Metrics) { m.LCP = 5000 * ms }), nil},
		{"LCP not measured now", base, with(func(m *perf.Metrics) { m.LCP, m.LCPSource = 0, "" }), nil},

		{"bytes +10% and +20 KB", base, with(func(m *perf.Metrics) { m.FirstVisitBytes = 220_000 }), []string{perf.MetricFirstVisitBytes}},
		{"bytes +9.9%", base, with(func(m *perf.Metrics) { m.FirstVisitBytes = 219_999 }), nil},
		{"bytes doubled but only +5 KB (tiny app)", with(func(m *perf.Metrics) { m.FirstVisitBytes = 5000 }), with(func(m *perf.Metrics) { m.FirstVisitBytes = 10_000 }), nil},
		{"bytes +10 KiB exactly on a small app", with(func(m *perf.Metrics) { m.FirstVisitBytes = 20_000 }), with(func(m *perf.Metrics) { m.FirstVisitBytes = 20_000 + 10<<10 }), []string{perf.MetricFirstVisitBytes}},
		{"bytes +50 KB on a large app (+2.5%)", with(func(m *perf.Metrics) { m.FirstVisitBytes = 2_000_000 }), with(func(m *perf.Metrics) { m.FirstVisitBytes = 2_050_000 }), nil},

		{"one more request", base, with(func(m *perf.Metrics) { m.Requests = 7 }), nil},
		{"two more requests", base, with(func(m *perf.Metrics) { m.Requests = 8 }), []string{perf.MetricRequests}},

		{"TTFB +50% and +50 ms", base, with(func(m *perf.Metrics) { m.TTFB = 150 * ms }), []string{perf.MetricTTFB}},
		{"TTFB +49 ms", base, with(func(m *perf.Metrics) { m.TTFB = 149 * ms }), nil},
		{"TTFB tripled on localhost", with(func(m *perf.Metrics) { m.TTFB = 2 * ms }), with(func(m *perf.Metrics) { m.TTFB = 6 * ms }), nil},
		{"TTFB +60 ms on a slow origin (+12%)", with(func(m *perf.Metrics) { m.TTFB = 500 * ms }), with(func(m *perf.Metrics) { m.TTFB = 560 * ms }), nil},

		{"everything worse", base, perf.Metrics{TTFB: 400 * ms, FirstVisitBytes: 900_000, Requests: 20, LCP: 4 * time.Second, LCPSource: perf.LCPSourceChromium},
			[]string{perf.MetricLCP, perf.MetricFirstVisitBytes, perf.MetricRequests, perf.MetricTTFB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs := perf.Compare(tt.prev, tt.cur)
			var got []string
			for _, r := range regs {
				got = append(got, r.Metric)
				if r.Previous == "" || r.Current == "" || r.Message == "" {
					t.Errorf("incomplete regression %+v", r)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("flagged %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompareMessages(t *testing.T) {
	prev := perf.Metrics{TTFB: 80 * time.Millisecond, FirstVisitBytes: 150 << 10, Requests: 5, LCP: 900 * time.Millisecond, LCPSource: perf.LCPSourceChromium}
	cur := perf.Metrics{TTFB: 200 * time.Millisecond, FirstVisitBytes: 300 << 10, Requests: 9, LCP: 1500 * time.Millisecond, LCPSource: perf.LCPSourceChromium}
	want := map[string][3]string{
		perf.MetricLCP:             {"900ms", "1.5s", "Largest Contentful Paint is 1.5s, 600ms slower than before (+67%); flagged at +20% and +100ms"},
		perf.MetricFirstVisitBytes: {"150.0 KiB", "300.0 KiB", "a first visit transfers 300.0 KiB, 150.0 KiB more than before (+100%); flagged at +10% and +10.0 KiB"},
		perf.MetricRequests:        {"5", "9", "a first visit makes 9 requests, 4 more than before; flagged at 2 more"},
		perf.MetricTTFB:            {"80ms", "200ms", "Time to first byte is 200ms, 120ms slower than before (+150%); flagged at +50% and +50ms"},
	}
	regs := perf.Compare(prev, cur)
	if len(regs) != len(want) {
		t.Fatalf("%d regressions, want %d: %+v", len(regs), len(want), regs)
	}
	for _, r := range regs {
		w := want[r.Metric]
		if r.Previous != w[0] || r.Current != w[1] || r.Message != w[2] {
			t.Errorf("%s:\n got %q %q %q\nwant %q %q %q", r.Metric, r.Previous, r.Current, r.Message, w[0], w[1], w[2])
		}
		if !strings.Contains(r.Message, "flagged at") {
			t.Errorf("%s: the message does not give the threshold", r.Metric)
		}
	}
}
