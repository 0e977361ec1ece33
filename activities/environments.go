package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/secrets"
)

// Activity names of environments and versions.
const (
	ResolveVersionName     = "ResolveVersion"
	PreviousDeploymentName = "PreviousDeployment"
	RestoreVersionName     = "RestoreVersion"
	SyncSecretsName        = "SyncSecrets"
)

// ResolveInput names a version by number.
type ResolveInput struct {
	AppID  string
	Number int
}

// ResolvedVersion is a version and whether it has a bundle to deploy.
type ResolvedVersion struct {
	Found     bool
	VersionID string
	Number    int
	Built     bool
	Status    string
}

// ResolveVersion looks a version up by number.
func (a *Activities) ResolveVersion(ctx context.Context, in ResolveInput) (ResolvedVersion, error) {
	v, err := a.Store.Version(ctx, in.AppID, in.Number)
	if errors.Is(err, models.ErrNotFound) {
		return ResolvedVersion{Number: in.Number}, nil
	}
	if err != nil {
		return ResolvedVersion{}, err
	}
	bundle, err := a.Store.BuildFiles(ctx, v.ID)
	if err != nil {
		return ResolvedVersion{}, err
	}
	return ResolvedVersion{Found: true, VersionID: v.ID, Number: v.Number, Built: len(bundle) > 0, Status: v.Status}, nil
}

// EnvironmentInput names an app's environment.
type EnvironmentInput struct {
	AppID       string
	Environment string
	Script      string
}

// PreviousDeployment finds what a rollback of the environment puts back: the newest
// earlier deployment that went live and passed its check.
func (a *Activities) PreviousDeployment(ctx context.Context, in EnvironmentInput) (ResolvedVersion, error) {
	d, err := a.Store.PreviousHealthy(ctx, in.AppID, in.Environment)
	if errors.Is(err, models.ErrNotFound) {
		return ResolvedVersion{}, nil
	}
	if err != nil {
		return ResolvedVersion{}, err
	}
	return ResolvedVersion{Found: true, VersionID: d.VersionID, Number: d.VersionNumber, Built: true, Status: d.Status}, nil
}

// RestoreInput makes a new version from an old one's files.
type RestoreInput struct {
	AppID     string
	MessageID string
	From      int
	// BaseVersion is the live version the restore replaces.
	BaseVersion int
}

// RestoreVersion makes a new version with the files of an old one; history is never
// rewritten. The old version's bundle comes along (same files, same bundle), so the
// restore deploys without building. A message makes one version: a retry returns it.
func (a *Activities) RestoreVersion(ctx context.Context, in RestoreInput) (GenerateResult, error) {
	if v, err := a.Store.VersionByMessage(ctx, in.AppID, in.MessageID); err == nil {
		return GenerateResult{VersionID: v.ID, Number: v.Number, FileCount: v.FileCount, Summary: v.Summary}, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return GenerateResult{}, err
	}
	old, err := a.Store.Version(ctx, in.AppID, in.From)
	if err != nil {
		return GenerateResult{}, notFoundOr(err)
	}
	src, err := a.Store.Files(ctx, old.ID)
	if err != nil {
		return GenerateResult{}, err
	}
	summary := fmt.Sprintf("Restored version %d: %s", old.Number, old.Summary)
	v, created, err := a.Store.CreateVersion(ctx, models.NewVersion{
		ID: models.NewID("v_"), AppID: in.AppID, MessageID: in.MessageID, ParentNumber: in.BaseVersion,
		Request: fmt.Sprintf("Restore version %d", old.Number), Summary: summary, Generator: old.Generator,
		GeneratorState: old.GeneratorState, Files: src,
	})
	if err != nil {
		return GenerateResult{}, err
	}
	if created {
		for _, b := range []struct{ profile, report, log string }{
			{models.ProfilePreview, old.BuildReport, old.BuildLog},
			{models.ProfileProduction, old.ProductionReport, ""},
		} {
			if b.report == "" {
				continue
			}
			if err := a.copyBundle(ctx, old.ID, v.ID, b.profile, b.report, b.log); err != nil {
				return GenerateResult{}, err
			}
		}
	}
	if err := a.Store.UpdateMessage(ctx, in.AppID, in.MessageID, map[string]any{"version_number": v.Number}); err != nil && !errors.Is(err, models.ErrNotFound) {
		return GenerateResult{}, err
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "version:" + v.ID, Type: models.EventVersionCreated, VersionNumber: v.Number,
		Message: fmt.Sprintf("Version %d: the files of version %d", v.Number, old.Number), Data: map[string]any{"version_id": v.ID, "restored_from": old.Number}})
	return GenerateResult{VersionID: v.ID, Number: v.Number, FileCount: v.FileCount, Summary: summary}, nil
}

// copyBundle gives a restored version the bundle its files made before.
func (a *Activities) copyBundle(ctx context.Context, fromID, toID, profile, report, log string) error {
	bundle, err := a.Store.Bundle(ctx, fromID, profile)
	if err != nil {
		return err
	}
	rows, err := a.Store.BundleFiles(ctx, fromID, profile)
	if err != nil {
		return err
	}
	gz := map[string]int64{}
	for _, r := range rows {
		gz[r.Path] = r.GzipSize
	}
	out := make([]models.BuildOutputFile, 0, len(bundle))
	for _, f := range bundle {
		out = append(out, models.BuildOutputFile{File: f, GzipSize: gz[f.Path]})
	}
	return a.Store.SaveBundle(ctx, toID, profile, out, report, log)
}

// SyncResult counts what a sync sent.
type SyncResult struct {
	Set, Deleted int
	// Skipped is true when the environment has no script yet; its first deploy syncs.
	Skipped bool
}

// SyncSecrets sends the environment's changed secrets to its script: PUT, one secret per
// call, and DELETE for removed ones. Values are opened only here, in memory; they never
// reach logs, events or workflow history. A failed call fails the sync with the
// secret's name and Cloudflare's reason; nothing is skipped.
func (a *Activities) SyncSecrets(ctx context.Context, in EnvironmentInput) (SyncResult, error) {
	deps, err := a.Store.Deployments(ctx, in.AppID)
	if err != nil {
		return SyncResult{}, err
	}
	deployed := false
	for _, d := range deps {
		if d.Environment == in.Environment && (d.Status == models.DeploymentLive || d.Status == models.DeploymentReplaced || d.Status == models.DeploymentUnhealthy) {
			deployed = true
			break
		}
	}
	if !deployed {
		return SyncResult{Skipped: true}, nil
	}
	return a.syncSecrets(ctx, in.AppID, in.Environment, in.Script)
}

func (a *Activities) syncSecrets(ctx context.Context, appID, env, script string) (SyncResult, error) {
	list, err := a.Store.Secrets(ctx, appID, env, true)
	if err != nil {
		return SyncResult{}, err
	}
	// Removals first: an environment at the Worker's limit of secrets that swaps one
	// for another must make room before the new one arrives.
	slices.SortStableFunc(list, func(x, y models.Secret) int {
		switch {
		case x.Deleted == y.Deleted:
			return 0
		case x.Deleted:
			return -1
		}
		return 1
	})
	var res SyncResult
	for _, sec := range list {
		if sec.SyncedRevision == sec.Revision {
			continue
		}
		if sec.Deleted {
			if err := a.Deployer.DeleteSecret(ctx, script, sec.Name); err != nil && cloudflare.KindOf(err) != cloudflare.KindNotFound {
				return res, secretError(sec.Name, "remove", err)
			}
			res.Deleted++
		} else {
			if a.Secrets == nil {
				return res, nonRetryable(ErrTypeInvalidInput, errors.New("secrets are stored but no secret key is configured (APPFORGE_SECRET_KEY)"))
			}
			value, err := a.Secrets.Open(sec.Sealed, secrets.Where(appID, env, sec.Name))
			if err != nil {
				return res, nonRetryable(ErrTypeInvalidInput, fmt.Errorf("secret %s does not open with the configured key (APPFORGE_SECRET_KEY changed?); set it again", sec.Name))
			}
			err = a.Deployer.PutSecret(ctx, script, sec.Name, string(value))
			clear(value)
			if err != nil {
				return res, secretError(sec.Name, "set", err)
			}
			res.Set++
		}
		if err := a.Store.SecretSynced(ctx, sec, sec.Revision); err != nil {
			return res, err
		}
	}
	if res.Set+res.Deleted > 0 {
		a.emit(ctx, appID, models.NewEvent{Type: "secrets_synced", Message: fmt.Sprintf("Secrets of %s: %d set, %d removed on %s", env, res.Set, res.Deleted, script),
			Data: map[string]any{"environment": env, "set": res.Set, "deleted": res.Deleted}})
	}
	return res, nil
}

// secretError names the secret and keeps the provider's classification.
func secretError(name, verb string, err error) error {
	var cf *cloudflare.Error
	if errors.As(err, &cf) {
		wrapped := *cf
		wrapped.Message = fmt.Sprintf("could not %s secret %s: %s", verb, name, cf.Message)
		return deployError(&wrapped)
	}
	return fmt.Errorf("could not %s secret %s: %w", verb, name, err)
}
