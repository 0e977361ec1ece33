package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/verify"
)

// DeployInput is one deploy of a built version to an environment's script.
type DeployInput struct {
	AppID     string
	VersionID string
	// DeploymentID is chosen by the workflow, so a retry updates the same record.
	DeploymentID string
	Environment  string
	Script       string
	// Rollback marks a redeploy of an earlier version after a failed one.
	Rollback bool
}

// DeployResult is where the version is served.
type DeployResult struct {
	URL      string
	Uploaded int
	Reused   int
	Calls    int
}

// Deploy uploads a version's bundle to its script. Cloudflare's answers are classified
// here: a bad token or a rejected request fails at once with a plain reason, a rate
// limit waits the delay Cloudflare asked for, anything else is retried.
func (a *Activities) Deploy(ctx context.Context, in DeployInput) (DeployResult, error) {
	v, err := a.Store.VersionByID(ctx, in.VersionID)
	if err != nil {
		return DeployResult{}, notFoundOr(err)
	}
	// Production serves the production bundle (minified, split); preview the preview
	// one. A version built before production bundles existed serves its one bundle.
	bundle, err := a.Store.Bundle(ctx, v.ID, models.ProfilePreview)
	if err != nil {
		return DeployResult{}, err
	}
	if in.Environment == models.EnvProduction {
		prod, err := a.Store.Bundle(ctx, v.ID, models.ProfileProduction)
		if err != nil {
			return DeployResult{}, err
		}
		if len(prod) > 0 {
			bundle = prod
		}
	}
	if len(bundle) == 0 {
		return DeployResult{}, nonRetryable(ErrTypeNotFound, fmt.Errorf("version %d has no build output to deploy", v.Number))
	}
	d := models.Deployment{ID: in.DeploymentID, AppID: in.AppID, VersionID: v.ID, VersionNumber: v.Number, Environment: in.Environment,
		Script: in.Script, Status: models.DeploymentDeploying}
	if prev, err := a.Store.Deployment(ctx, in.DeploymentID); err == nil {
		d.CreatedAt = prev.CreatedAt
	}
	if err := a.Store.SaveDeployment(ctx, d); err != nil {
		return DeployResult{}, err
	}
	// A version's status follows its way to the preview; publishing a version that is
	// already deployed there leaves it "deployed", whatever production does.
	if !in.Rollback && in.Environment != models.EnvProduction {
		if err := a.Store.UpdateVersion(ctx, v.ID, map[string]any{"status": models.VersionDeploying}); err != nil {
			return DeployResult{}, err
		}
	}
	attempt := activity.GetInfo(ctx).Attempt
	msg := fmt.Sprintf("Deploying version %d to %s", v.Number, in.Environment)
	if in.Rollback {
		msg = fmt.Sprintf("Putting version %d back on %s", v.Number, in.Environment)
	}
	if attempt > 1 {
		msg += fmt.Sprintf(" (attempt %d)", attempt)
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: fmt.Sprintf("deploy:%s:%d", in.DeploymentID, attempt), Type: models.EventDeployStarted, VersionNumber: v.Number, Message: msg,
		Data: map[string]any{"environment": in.Environment, "script": in.Script, "files": len(bundle)}})

	stop := heartbeatEvery(ctx, 5*time.Second, "deploying")
	res, err := a.Deployer.Deploy(ctx, cloudflare.DeployRequest{Script: in.Script, Assets: bundle}, func(m string) {
		activity.RecordHeartbeat(ctx, m)
	})
	stop()
	if err != nil {
		changed := res.ScriptChanged
		err = deployError(err)
		if changed && !in.Rollback {
			// The script may serve the new bundle although the deploy failed: the
			// workflow puts back what the environment served.
			err = scriptChanged(ErrTypeScriptChanged, err)
		}
		d.Error = err.Error()
		if saveErr := a.Store.SaveDeployment(ctx, d); saveErr != nil {
			a.log().Warn("record deploy error", "app_id", in.AppID, "err", saveErr)
		}
		return DeployResult{}, err
	}
	d.URL = res.URL
	d.ProviderID = res.DeploymentID
	d.Uploaded, d.Reused, d.APICalls = res.Uploaded, res.Reused, res.Calls
	// Secrets changed since the last sync (or set before the environment's first deploy)
	// go to the script now, before the deployment counts as live: a failed one fails
	// the deploy with its reason, never skipped. A rollback puts an earlier version back
	// whatever the secrets do: the script keeps the values it had.
	if _, err := a.syncSecrets(ctx, in.AppID, in.Environment, in.Script); err != nil {
		if !in.Rollback {
			d.Status, d.Error = models.DeploymentFailed, err.Error()
			if saveErr := a.Store.SaveDeployment(ctx, d); saveErr != nil {
				a.log().Warn("record deploy error", "app_id", in.AppID, "err", saveErr)
			}
			return DeployResult{}, scriptChanged(ErrTypeSecretsNotSet, err)
		}
		a.emit(ctx, in.AppID, models.NewEvent{Key: "rollback-secrets:" + in.DeploymentID, Type: "secrets_failed", VersionNumber: v.Number,
			Message: fmt.Sprintf("Version %d is back on %s; its secrets were not updated: %s", v.Number, in.Environment, err)})
	}
	d.Status = models.DeploymentLive
	d.Error = ""
	if err := a.Store.SaveDeployment(ctx, d); err != nil {
		return DeployResult{}, err
	}
	if err := a.Store.MarkReplaced(ctx, in.AppID, in.Environment, d.ID); err != nil {
		return DeployResult{}, err
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "deployed:" + in.DeploymentID, Type: models.EventDeployed, VersionNumber: v.Number,
		Message: fmt.Sprintf("Deployed version %d to %s (%d %s uploaded, %d already there)", v.Number, res.URL, res.Uploaded, plural(res.Uploaded, "file", "files"), res.Reused),
		Data:    map[string]any{"url": res.URL, "environment": in.Environment, "uploaded": res.Uploaded, "reused": res.Reused, "api_calls": res.Calls}})
	if in.Rollback {
		a.emit(ctx, in.AppID, models.NewEvent{Key: "rolled-back:" + in.DeploymentID, Type: models.EventRolledBack, VersionNumber: v.Number,
			Message: fmt.Sprintf("Version %d is back on %s after the failed deploy", v.Number, in.Environment),
			Data:    map[string]any{"url": res.URL, "environment": in.Environment}})
	}
	return DeployResult{URL: res.URL, Uploaded: res.Uploaded, Reused: res.Reused, Calls: res.Calls}, nil
}

// heartbeatEvery heartbeats until stopped, so that a long call (a large upload) keeps
// the activity alive while a dead worker is noticed within the heartbeat timeout.
func heartbeatEvery(ctx context.Context, every time.Duration, detail string) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, detail)
			}
		}
	}()
	return func() { close(done) }
}

// deployError turns a classified Cloudflare error into the Temporal error that makes the
// right retry decision.
func deployError(err error) error {
	var cf *cloudflare.Error
	if !errors.As(err, &cf) {
		return err
	}
	switch cf.Kind {
	// The message says it all; the raw response stays out of the workflow's history.
	case cloudflare.KindAuth:
		return temporal.NewNonRetryableApplicationError(cf.Error(), ErrTypeCloudflareAuth, nil)
	case cloudflare.KindValidation, cloudflare.KindNotFound, cloudflare.KindConflict:
		return temporal.NewNonRetryableApplicationError(cf.Error(), ErrTypeCloudflareReject, nil)
	case cloudflare.KindRateLimited:
		delay := cf.RetryAfter
		if delay <= 0 {
			delay = 30 * time.Second
		}
		return temporal.NewApplicationErrorWithOptions(cf.Error(), "CloudflareRateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	}
	return err
}

// scriptChanged marks a deploy that failed after the script may have taken the new
// bundle (errType ErrTypeScriptChanged or ErrTypeSecretsNotSet), keeping whether and
// when the failed call may be retried.
func scriptChanged(errType string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var opts temporal.ApplicationErrorOptions
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		opts.NonRetryable, opts.NextRetryDelay = ae.NonRetryable(), ae.NextRetryDelay()
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), errType, opts)
}

// VerifyInput is a deployed site to check.
type VerifyInput struct {
	AppID        string
	VersionID    string
	DeploymentID string
	URL          string
}

// VerifyResult says whether the site serves the version as a browser needs it.
type VerifyResult struct {
	OK       bool
	Problems []string
	Assets   int
}

// Verify fetches the deployed site's index.html and every asset it references, and a
// deep link that the single-page-app fallback must answer. Problems are retried briefly
// (an edge may take a moment to serve a new bundle) before they are reported.
func (a *Activities) Verify(ctx context.Context, in VerifyInput) (VerifyResult, error) {
	var (
		rep verify.Report
		err error
	)
	opts := verify.Options{DeepLink: "/appforge-check/deep/link"}
	if bundle, err := a.Store.BuildFiles(ctx, in.VersionID); err == nil {
		for _, f := range bundle {
			if f.Path == "404.html" {
				opts.NotFoundPage = true // served with 404-page handling, not the SPA fallback
			}
		}
	}
	for i := 0; i < 4; i++ {
		rep, err = verify.Site(ctx, a.HTTPClient, in.URL, opts)
		if err != nil {
			return VerifyResult{}, nonRetryable(ErrTypeInvalidInput, err)
		}
		if rep.OK() {
			break
		}
		activity.RecordHeartbeat(ctx, rep.Problems)
		select {
		case <-ctx.Done():
			return VerifyResult{}, ctx.Err()
		case <-time.After(time.Duration(250*(i+1)) * time.Millisecond):
		}
	}
	v, _ := a.Store.VersionByID(ctx, in.VersionID)
	res := VerifyResult{OK: rep.OK(), Problems: rep.Problems, Assets: len(rep.Checks)}
	if res.OK {
		a.emit(ctx, in.AppID, models.NewEvent{Key: "verified:" + in.DeploymentID, Type: models.EventVerified, VersionNumber: v.Number,
			Message: fmt.Sprintf("Checked %s: index.html and %d %s load", in.URL, len(rep.Checks)-2, plural(len(rep.Checks)-2, "asset", "assets")), Data: rep})
	} else {
		a.emit(ctx, in.AppID, models.NewEvent{Key: "verify-failed:" + in.DeploymentID, Type: models.EventVerifyFailed, VersionNumber: v.Number,
			Message: fmt.Sprintf("%s does not load correctly: %s", in.URL, rep.Problems[0]), Data: rep})
	}
	return res, nil
}
