package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/models"
)

// VersionInput names a version of an app.
type VersionInput struct {
	AppID     string
	VersionID string
	// TypeCheck runs the TypeScript checker before the bundler, for generators that
	// repair their own errors: its messages are the fastest and clearest feedback.
	TypeCheck bool
	// Profile is models.ProfilePreview (the default) or models.ProfileProduction.
	Profile string
}

func (in VersionInput) profile() string {
	if in.Profile == "" {
		return models.ProfilePreview
	}
	return in.Profile
}

// storedReport is a build report as stored on the version, with the identity of the
// files it built: a version's files change while a generator repairs them.
type storedReport struct {
	build.Report
	TreeHash string   `json:"tree_hash"`
	Stage    string   `json:"stage,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// BuildResult is the outcome of a build. A build that fails because of the app's code is
// a result (OK false), not an activity error: retrying it cannot help.
type BuildResult struct {
	OK            bool
	Errors        []string
	TotalSize     int64
	TotalGzipSize int64
	DurationMS    int64
	Files         int
	// Reused is true when the version had been built before and its bundle was kept.
	Reused bool
	// OverBudget is set for a production bundle over the app's size limit: Budget says
	// which files are heavy and why. BudgetWarning is set over the warning size.
	OverBudget    bool
	BudgetWarning bool
	Budget        string
}

// Build builds a version's files for a profile and stores its bundle and report. It
// heartbeats while it runs and stops (killing the bundler) when cancelled.
func (a *Activities) Build(ctx context.Context, in VersionInput) (BuildResult, error) {
	v, err := a.Store.VersionByID(ctx, in.VersionID)
	if err != nil {
		return BuildResult{}, notFoundOr(err)
	}
	profile := in.profile()
	app, err := a.Store.App(ctx, in.AppID)
	if err != nil {
		return BuildResult{}, notFoundOr(err)
	}
	// The app's own budget, read at each build: a stored bundle is measured again, since
	// the budget may have changed since it was built.
	budget := build.Budget{WarnBytes: app.BudgetWarnBytes, LimitBytes: app.BudgetLimitBytes}
	// The same files make the same bundle: a retry after the bundle was stored (or a
	// restore of an old version) reuses it.
	if res, ok := a.reuseBuild(v, profile, budget); ok {
		return res, nil
	}
	preview := profile == models.ProfilePreview
	if preview {
		if err := a.Store.UpdateVersion(ctx, v.ID, map[string]any{"status": models.VersionBuilding}); err != nil {
			return BuildResult{}, err
		}
	}
	src, err := a.Store.Files(ctx, v.ID)
	if err != nil {
		return BuildResult{}, err
	}
	attempt := activity.GetInfo(ctx).Attempt
	startMsg := fmt.Sprintf("Building version %d", v.Number)
	if !preview {
		startMsg = fmt.Sprintf("Building version %d for production", v.Number)
	}
	if attempt > 1 {
		startMsg += fmt.Sprintf(" (attempt %d)", attempt)
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: fmt.Sprintf("build:%s:%s:%d", v.ID, profile, attempt), Type: models.EventBuildStarted, VersionNumber: v.Number, Message: startMsg,
		Data: map[string]any{"profile": profile}})

	req := build.Request{ID: v.ID + "-" + profile, Files: src, TypeCheck: in.TypeCheck, Profile: build.Profile(profile), AppID: in.AppID, Budget: budget}
	out, err := a.Builder.Build(ctx, req, func(stage string) {
		activity.RecordHeartbeat(ctx, stage)
	})
	var failure *build.Failure
	if errors.As(err, &failure) {
		report, _ := json.Marshal(storedReport{TreeHash: v.TreeHash, Stage: failure.Stage, Errors: failure.Errors})
		if err := a.Store.SaveBundle(ctx, v.ID, profile, nil, string(report), failure.Log); err != nil {
			return BuildResult{}, err
		}
		a.emit(ctx, in.AppID, models.NewEvent{Key: "build-failed:" + v.ID + ":" + profile, Type: models.EventBuildFailed, VersionNumber: v.Number,
			Message: fmt.Sprintf("Build of version %d failed at %s: %s", v.Number, failure.Stage, firstLine(failure.Errors)),
			Data:    map[string]any{"stage": failure.Stage, "errors": failure.Errors, "profile": profile}})
		return BuildResult{OK: false, Errors: failure.Errors}, nil
	}
	if err != nil {
		return BuildResult{}, fmt.Errorf("build version %d: %w", v.Number, err)
	}

	gzip := make(map[string]int64, len(out.Report.Files))
	for _, f := range out.Report.Files {
		gzip[f.Path] = f.GzipSize
	}
	saved := make([]models.BuildOutputFile, 0, len(out.Assets))
	for _, f := range out.Assets {
		saved = append(saved, models.BuildOutputFile{File: f, GzipSize: gzip[f.Path]})
	}
	report, err := json.Marshal(storedReport{Report: out.Report, TreeHash: v.TreeHash})
	if err != nil {
		return BuildResult{}, err
	}
	if err := a.Store.SaveBundle(ctx, v.ID, profile, saved, string(report), out.Report.Log); err != nil {
		return BuildResult{}, err
	}
	res := resultOf(out.Report)
	what := fmt.Sprintf("Built version %d", v.Number)
	if !preview {
		what = fmt.Sprintf("Built version %d for production", v.Number)
	}
	msg := fmt.Sprintf("%s in %.1fs: %d files, %s (%s gzipped)", what, float64(res.DurationMS)/1000, res.Files, kb(res.TotalSize), kb(res.TotalGzipSize))
	if out.Report.Cached {
		msg = fmt.Sprintf("%s: the same files were built before, reused at once (%d files, %s gzipped)", what, res.Files, kb(res.TotalGzipSize))
	}
	if res.Budget != "" {
		msg += ". " + res.Budget
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "build-done:" + v.ID + ":" + profile, Type: models.EventBuildFinished, VersionNumber: v.Number, Message: msg,
		Data: map[string]any{"profile": profile, "engine": out.Report.Engine, "cached": out.Report.Cached, "total_size": res.TotalSize,
			"total_gzip_size": res.TotalGzipSize, "duration_ms": res.DurationMS, "bundle_ms": out.Report.BundleDuration.Milliseconds(),
			"vite_ms": out.Report.ViteDuration.Milliseconds(), "files": out.Report.Files, "deps_cached": out.Report.DepsCached,
			"chunks": out.Report.Chunks, "budget": out.Report.Budget}})
	return res, nil
}

func (a *Activities) reuseBuild(v models.AppVersion, profile string, budget build.Budget) (BuildResult, bool) {
	stored := v.BuildReport
	if profile == models.ProfileProduction {
		stored = v.ProductionReport
	}
	var r storedReport
	if err := json.Unmarshal([]byte(stored), &r); err != nil || len(r.Files) == 0 || r.TreeHash != v.TreeHash {
		return BuildResult{}, false
	}
	res := resultOf(a.Builder.MeasureBudget(r.Report, budget))
	res.Reused = true
	return res, true
}

func resultOf(r build.Report) BuildResult {
	res := BuildResult{OK: true, TotalSize: r.TotalSize, TotalGzipSize: r.TotalGzipSize, DurationMS: r.Duration.Milliseconds(), Files: len(r.Files)}
	if r.Budget != nil {
		switch {
		case r.BudgetErr() != nil:
			res.OverBudget, res.Budget = true, r.Budget.Message
		case r.Budget.Status != build.BudgetOK:
			res.BudgetWarning, res.Budget = true, r.Budget.Message
		}
	}
	return res
}

func firstLine(lines []string) string {
	if len(lines) == 0 {
		return "see the build log"
	}
	s := lines[0]
	if len(lines) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(lines)-1)
	}
	return s
}

func kb(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1024), ".0") + " KB"
}

func notFoundOr(err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return nonRetryable(ErrTypeNotFound, err)
	}
	return err
}
