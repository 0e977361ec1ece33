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
	// TypeCheck runs the TypeScript checker before vite, for generators that repair
	// their own errors: its messages are the fastest and clearest feedback.
	TypeCheck bool
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
}

// Build builds a version's files and stores its bundle and report. It heartbeats while
// it runs and stops (killing vite) when the activity is cancelled.
func (a *Activities) Build(ctx context.Context, in VersionInput) (BuildResult, error) {
	v, err := a.Store.VersionByID(ctx, in.VersionID)
	if err != nil {
		return BuildResult{}, notFoundOr(err)
	}
	// The same files make the same bundle: a retry after the bundle was stored (or a
	// restore of an old version) reuses it.
	if res, ok := reuseBuild(v); ok {
		return res, nil
	}
	if err := a.Store.UpdateVersion(ctx, v.ID, map[string]any{"status": models.VersionBuilding}); err != nil {
		return BuildResult{}, err
	}
	src, err := a.Store.Files(ctx, v.ID)
	if err != nil {
		return BuildResult{}, err
	}
	attempt := activity.GetInfo(ctx).Attempt
	startMsg := fmt.Sprintf("Building version %d", v.Number)
	if attempt > 1 {
		startMsg += fmt.Sprintf(" (attempt %d)", attempt)
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: fmt.Sprintf("build:%s:%d", v.ID, attempt), Type: models.EventBuildStarted, VersionNumber: v.Number, Message: startMsg})

	out, err := a.Builder.Build(ctx, build.Request{ID: v.ID, Files: src, TypeCheck: in.TypeCheck}, func(stage string) {
		activity.RecordHeartbeat(ctx, stage)
	})
	var failure *build.Failure
	if errors.As(err, &failure) {
		report, _ := json.Marshal(storedReport{TreeHash: v.TreeHash, Stage: failure.Stage, Errors: failure.Errors})
		if err := a.Store.SaveBuild(ctx, v.ID, nil, string(report), failure.Log); err != nil {
			return BuildResult{}, err
		}
		a.emit(ctx, in.AppID, models.NewEvent{Key: "build-failed:" + v.ID, Type: models.EventBuildFailed, VersionNumber: v.Number,
			Message: fmt.Sprintf("Build of version %d failed at %s: %s", v.Number, failure.Stage, firstLine(failure.Errors)),
			Data:    map[string]any{"stage": failure.Stage, "errors": failure.Errors}})
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
	if err := a.Store.SaveBuild(ctx, v.ID, saved, string(report), out.Report.Log); err != nil {
		return BuildResult{}, err
	}
	res := resultOf(out.Report)
	a.emit(ctx, in.AppID, models.NewEvent{Key: "build-done:" + v.ID, Type: models.EventBuildFinished, VersionNumber: v.Number,
		Message: fmt.Sprintf("Built version %d in %.1fs: %d files, %s (%s gzipped)", v.Number, float64(res.DurationMS)/1000, res.Files, kb(res.TotalSize), kb(res.TotalGzipSize)),
		Data: map[string]any{"total_size": res.TotalSize, "total_gzip_size": res.TotalGzipSize, "duration_ms": res.DurationMS,
			"vite_ms": out.Report.ViteDuration.Milliseconds(), "files": out.Report.Files, "deps_cached": out.Report.DepsCached}})
	return res, nil
}

func reuseBuild(v models.AppVersion) (BuildResult, bool) {
	var r storedReport
	if err := json.Unmarshal([]byte(v.BuildReport), &r); err != nil || len(r.Files) == 0 || r.TreeHash != v.TreeHash {
		return BuildResult{}, false
	}
	res := resultOf(r.Report)
	res.Reused = true
	return res, true
}

func resultOf(r build.Report) BuildResult {
	return BuildResult{OK: true, TotalSize: r.TotalSize, TotalGzipSize: r.TotalGzipSize, DurationMS: r.Duration.Milliseconds(), Files: len(r.Files)}
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
