// Package activities holds the steps of a chat turn as Temporal activities. They are
// thin: each loads what it needs from the store, calls one provider (generator, builder,
// deployer, site checker) and records the outcome and its progress events. Every
// activity is idempotent, keyed by the chat message or version it works on, so a retry
// after a crash finds the work done or finishes it, never doubles it.
package activities

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/secrets"
)

// Activity names, pinned: they are recorded in workflow histories.
const (
	LoadAppName    = "LoadApp"
	StartTurnName  = "StartTurn"
	PlanName       = "Plan"
	GenerateName   = "Generate"
	BuildName      = "Build"
	DeployName     = "Deploy"
	VerifyName     = "Verify"
	FinishTurnName = "FinishTurn"
)

// Error types of non-retryable activity failures, pinned for the same reason.
const (
	ErrTypeInvalidInput     = "InvalidInput"
	ErrTypeNotFound         = "NotFound"
	ErrTypeGeneration       = "GenerationFailed"
	ErrTypeCloudflareAuth   = "CloudflareAuth"
	ErrTypeCloudflareReject = "CloudflareRejected"
	// ErrTypeSecretsNotSet: the script took the new bundle but a secret could not be
	// set, so the script serves a version without its secrets; the workflow puts the
	// environment's previous version back. Retryable or not as the secret call's error.
	ErrTypeSecretsNotSet = "SecretsNotSet"
	// ErrTypeScriptChanged: the deploy failed after the script may have taken the new
	// bundle (enabling workers.dev, or an answer lost on the way back); the workflow
	// puts the environment's previous version back as for ErrTypeSecretsNotSet.
	ErrTypeScriptChanged = "ScriptChanged"
)

// Builder builds a version's files into a bundle (build.Builder).
type Builder interface {
	Build(ctx context.Context, req build.Request, heartbeat func(stage string)) (*build.Output, error)
	// MeasureBudget measures a stored production report against an app's budget.
	MeasureBudget(r build.Report, app build.Budget) build.Report
}

// Deployer puts a bundle on a Workers script and keeps its secrets (cloudflare.Deployer).
type Deployer interface {
	Deploy(ctx context.Context, req cloudflare.DeployRequest, progress func(msg string)) (cloudflare.DeployResult, error)
	PutSecret(ctx context.Context, script, name, value string) error
	DeleteSecret(ctx context.Context, script, name string) error
}

// Activities holds the providers the activities call. Register it once per worker;
// every method is safe for concurrent use.
type Activities struct {
	Store     *models.Store
	Generator generate.Generator
	Builder   Builder
	Deployer  Deployer
	// Secrets opens sealed secret values to send them to Cloudflare.
	Secrets *secrets.Box
	// DomainProvider sets custom domains up (cloudflare.Deployer); Domains configures them.
	DomainProvider DomainProvider
	Domains        DomainConfig
	// HTTPClient fetches deployed sites for verification; it must resolve the edge's
	// *.localhost hostnames when deploying locally.
	HTTPClient *http.Client
	// Chromium measures Largest Contentful Paint ("" for Debian's /usr/bin/chromium, "-"
	// for none); BrowserHostRules maps hostnames for it (apps on an edge in another
	// container).
	Chromium string
	// PlaywrightPath is the node_modules folder with playwright-core ("": perf's own
	// search).
	PlaywrightPath   string
	BrowserHostRules string
	Logger           *slog.Logger
}

func (a *Activities) log() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// emit appends a progress event. Events are how users follow a turn, but losing one is
// not worth failing the work: errors are logged, not returned.
func (a *Activities) emit(ctx context.Context, appID string, ev models.NewEvent) {
	if _, err := a.Store.AppendEvent(ctx, appID, ev); err != nil {
		a.log().Warn("append event", "app_id", appID, "type", ev.Type, "err", err)
	}
}
