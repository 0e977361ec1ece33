package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/perf"
)

// MeasureName is the activity that measures a production deployment.
const MeasureName = "MeasurePerformance"

// MeasureInput names a deployment to measure.
type MeasureInput struct {
	AppID        string
	DeploymentID string
	URL          string
}

// MeasureResult is what the workflow needs of a measurement.
type MeasureResult struct {
	Regressions int
}

// Measure loads the app from its served URL as a first-time visitor and records per
// deployment: time to first byte, bytes and requests of a first visit, and Largest
// Contentful Paint through headless Chromium where it is installed; then compares with
// the previous production deployment and flags regressions.
func (a *Activities) Measure(ctx context.Context, in MeasureInput) (MeasureResult, error) {
	stop := heartbeatEvery(ctx, 5*time.Second, "measuring")
	defer stop()
	m, err := perf.Measure(ctx, in.URL, perf.Options{HTTPClient: a.HTTPClient, Chromium: a.Chromium, SkipBrowser: a.Chromium == "-", NodePath: a.PlaywrightPath, HostResolverRules: a.BrowserHostRules})
	if errors.Is(err, perf.ErrNotMeasurable) {
		return MeasureResult{}, nonRetryable(ErrTypeInvalidInput, err)
	}
	if err != nil {
		return MeasureResult{}, err
	}
	d, err := a.Store.Deployment(ctx, in.DeploymentID)
	if err != nil {
		return MeasureResult{}, notFoundOr(err)
	}
	var regressions []perf.Regression
	if prev, ok := a.previousMeasurement(ctx, d); ok {
		regressions = perf.Compare(prev, m)
	}
	mb, _ := json.Marshal(m)
	rb, _ := json.Marshal(regressions)
	d.Performance, d.Regressions = string(mb), string(rb)
	if err := a.Store.SaveDeployment(ctx, d); err != nil {
		return MeasureResult{}, err
	}
	msg := fmt.Sprintf("Version %d in %s: first byte %s, first visit %s in %d requests", d.VersionNumber, d.Environment,
		m.TTFB.Round(time.Millisecond/10), kb(m.FirstVisitBytes), m.Requests)
	if m.LCP > 0 {
		msg += fmt.Sprintf(", Largest Contentful Paint %s", m.LCP.Round(time.Millisecond))
	} else if m.BrowserSkipped != "" {
		msg += " (no LCP: " + m.BrowserSkipped + ")"
	}
	msg += "."
	if len(regressions) > 0 {
		var parts []string
		for _, r := range regressions {
			parts = append(parts, r.Message)
		}
		msg += " Slower than the previous production deployment: " + strings.Join(parts, "; ") + "."
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "perf:" + d.ID, Type: "performance", VersionNumber: d.VersionNumber, Message: msg,
		Data: map[string]any{"deployment_id": d.ID, "ttfb_ms": float64(m.TTFB.Microseconds()) / 1000, "first_visit_bytes": m.FirstVisitBytes,
			"requests": m.Requests, "lcp_ms": m.LCP.Milliseconds(), "regressions": regressions}})
	return MeasureResult{Regressions: len(regressions)}, nil
}

// previousMeasurement is the newest earlier measured deployment of the same environment.
func (a *Activities) previousMeasurement(ctx context.Context, d models.Deployment) (perf.Metrics, bool) {
	ds, err := a.Store.Deployments(ctx, d.AppID)
	if err != nil {
		return perf.Metrics{}, false
	}
	for _, p := range ds { // newest first
		if p.ID == d.ID || p.Environment != d.Environment || p.Performance == "" || !p.CreatedAt.Before(d.CreatedAt) {
			continue
		}
		var m perf.Metrics
		if json.Unmarshal([]byte(p.Performance), &m) == nil {
			return m, true
		}
	}
	return perf.Metrics{}, false
}
