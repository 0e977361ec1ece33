package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/intent"
	"github.com/appforge/appforge/models"
)

// LoadAppInput names the app to load.
type LoadAppInput struct {
	AppID string
}

// AppSnapshot is what the workflow needs to know of an app when it (re)starts.
type AppSnapshot struct {
	AppID         string
	PreviewScript string
	PreviewURL    string
	LatestVersion int
	LiveVersion   int
	LiveVersionID string

	ProductionScript  string
	ProductionURL     string
	ProductionVersion int
}

// LoadApp returns the app's stored state, creating the app record if the workflow was
// started without one (for example from the Temporal CLI).
func (a *Activities) LoadApp(ctx context.Context, in LoadAppInput) (AppSnapshot, error) {
	if in.AppID == "" {
		return AppSnapshot{}, nonRetryable(ErrTypeInvalidInput, errors.New("load app: no app id"))
	}
	app, _, err := a.Store.CreateApp(ctx, models.App{ID: in.AppID, Name: "New app", PreviewScript: PreviewScript(in.AppID), ProductionScript: ProductionScript(in.AppID)})
	if err != nil {
		return AppSnapshot{}, err
	}
	if app.ProductionScript == "" {
		app.ProductionScript = ProductionScript(app.ID)
		if err := a.Store.UpdateApp(ctx, app.ID, map[string]any{"production_script": app.ProductionScript}); err != nil {
			return AppSnapshot{}, err
		}
	}
	snap := AppSnapshot{AppID: app.ID, PreviewScript: app.PreviewScript, PreviewURL: app.PreviewURL, LatestVersion: app.LatestVersion, LiveVersion: app.LiveVersion,
		ProductionScript: app.ProductionScript, ProductionURL: app.ProductionURL, ProductionVersion: app.ProductionVersion}
	if app.LiveVersion > 0 {
		v, err := a.Store.Version(ctx, app.ID, app.LiveVersion)
		if err != nil {
			return AppSnapshot{}, err
		}
		snap.LiveVersionID = v.ID
	}
	return snap, nil
}

// PreviewScript names the Workers script that serves an app's previews.
func PreviewScript(appID string) string { return appID + "-preview" }

// ProductionScript names the Workers script that serves an app in production.
func ProductionScript(appID string) string { return appID }

// TurnInput identifies one chat turn.
type TurnInput struct {
	AppID     string
	MessageID string
	Text      string
	// BaseVersion is the live version the change starts from; 0 for a new app.
	BaseVersion int
}

// TurnStart is what a message asks beyond the change to the app.
type TurnStart struct {
	Intent intent.Intent
}

// StartTurn records the user's message as being worked on and reads what it asks of
// appforge itself (publishing).
func (a *Activities) StartTurn(ctx context.Context, in TurnInput) (TurnStart, error) {
	// A message sent as a signal is not in the store yet; one sent through the API is.
	m, created, err := a.Store.SaveMessage(ctx, models.ChatMessage{AppID: in.AppID, ID: in.MessageID, Role: models.RoleUser, Content: in.Text,
		Status: models.MessageProcessing, Delivered: true})
	if err != nil {
		return TurnStart{}, err
	}
	if !created && (m.Status != models.MessageProcessing || !m.Delivered) {
		if err := a.Store.UpdateMessage(ctx, in.AppID, in.MessageID, map[string]any{"status": models.MessageProcessing, "delivered": true}); err != nil {
			return TurnStart{}, err
		}
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "turn:" + in.MessageID, Type: models.EventTurnStarted,
		Message: "Working on: " + clip(in.Text, 200), Data: map[string]any{"message_id": in.MessageID, "base_version": in.BaseVersion}})
	return TurnStart{Intent: intent.Read(in.Text)}, nil
}

// PlanResult is the part of a plan the workflow decides by; the whole plan is stored
// with the message.
type PlanResult struct {
	Supported bool
	Reply     string
	Summary   string
	Title     string
	Changes   int
	Generator string
	// Repairs is how many repair rounds may follow a failed build.
	Repairs int
	// Steps is true for generators that work in steps (every one but the pre-step
	// offline path of old histories).
	Steps bool
}

// Plan asks the generator what it will do and shows the plan to the user.
func (a *Activities) Plan(ctx context.Context, in TurnInput) (PlanResult, error) {
	req, err := a.generateRequest(ctx, in)
	if err != nil {
		return PlanResult{}, err
	}
	started := time.Now()
	stop := heartbeatEvery(ctx, 5*time.Second, "planning")
	plan, err := a.Generator.Plan(ctx, req)
	stop()
	if err != nil {
		return PlanResult{}, providerError(err)
	}
	took := time.Since(started)
	b, err := json.Marshal(plan)
	if err != nil {
		return PlanResult{}, err
	}
	if err := a.Store.UpdateMessage(ctx, in.AppID, in.MessageID, map[string]any{"plan": string(b)}); err != nil {
		return PlanResult{}, err
	}
	name := a.Generator.Name()
	res := PlanResult{Supported: plan.Supported, Reply: plan.Reply, Summary: plan.Summary, Title: plan.Title, Changes: len(plan.Changes),
		Generator: name, Repairs: a.Generator.Repairs(), Steps: true}
	if plan.Supported {
		a.emit(ctx, in.AppID, models.NewEvent{Key: "plan:" + in.MessageID, Type: models.EventPlan, Message: plan.Summary,
			Data: map[string]any{"generator": name, "title": plan.Title, "changes": plan.Changes, "message_id": in.MessageID,
				"duration_ms": took.Milliseconds(), "usage": plan.Usage}})
	}
	return res, nil
}

// GenerateResult is the version a turn made.
type GenerateResult struct {
	VersionID string
	Number    int
	FileCount int
	Summary   string
}

// Generate writes the new version's files. A message makes at most one version: if it
// already made one, that one is returned.
func (a *Activities) Generate(ctx context.Context, in TurnInput) (GenerateResult, error) {
	if v, err := a.Store.VersionByMessage(ctx, in.AppID, in.MessageID); err == nil {
		return GenerateResult{VersionID: v.ID, Number: v.Number, FileCount: v.FileCount, Summary: v.Summary}, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return GenerateResult{}, err
	}
	_, plan, err := a.messagePlan(ctx, in.AppID, in.MessageID)
	if err != nil {
		return GenerateResult{}, err
	}
	req, err := a.generateRequest(ctx, in)
	if err != nil {
		return GenerateResult{}, err
	}
	// The pre-step path: only generators that make a version in one go have it.
	oneShot, ok := a.Generator.(interface {
		Generate(context.Context, generate.Request, generate.Plan, func(generate.Progress)) (generate.Result, error)
	})
	if !ok {
		return GenerateResult{}, nonRetryable(ErrTypeGeneration, fmt.Errorf("generate: %s works in steps", a.Generator.Name()))
	}
	res, err := oneShot.Generate(ctx, req, plan, func(p generate.Progress) {
		msg := p.Message
		if msg == "" {
			msg = fmt.Sprintf("%s %s (%d bytes)", verb(p.Action), p.Path, p.Bytes)
		}
		a.emit(ctx, in.AppID, models.NewEvent{Key: "file:" + in.MessageID + ":" + p.Path, Type: models.EventFileWritten, Message: msg,
			Data: map[string]any{"path": p.Path, "action": p.Action, "bytes": p.Bytes}})
	})
	if err != nil {
		return GenerateResult{}, generationError("generate", err)
	}
	if len(res.Files) == 0 {
		return GenerateResult{}, nonRetryable(ErrTypeGeneration, errors.New("the generator produced no files"))
	}
	for _, f := range res.Files {
		if _, err := files.CleanPath(f.Path); err != nil {
			return GenerateResult{}, nonRetryable(ErrTypeGeneration, fmt.Errorf("the generator produced a bad file: %w", err))
		}
	}
	summary := res.Summary
	if summary == "" {
		summary = plan.Summary
	}
	v, _, err := a.Store.CreateVersion(ctx, models.NewVersion{
		ID: models.NewID("v_"), AppID: in.AppID, MessageID: in.MessageID, ParentNumber: in.BaseVersion,
		Request: in.Text, Summary: summary, Generator: a.Generator.Name(), GeneratorState: string(res.State), Files: res.Files,
	})
	if err != nil {
		return GenerateResult{}, err
	}
	if err := a.Store.UpdateMessage(ctx, in.AppID, in.MessageID, map[string]any{"version_number": v.Number}); err != nil {
		return GenerateResult{}, err
	}
	fields := map[string]any{"generator": a.Generator.Name()}
	if plan.Title != "" {
		fields["name"] = clip(plan.Title, 200)
	}
	if err := a.Store.UpdateApp(ctx, in.AppID, fields); err != nil {
		return GenerateResult{}, err
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "version:" + v.ID, Type: models.EventVersionCreated, VersionNumber: v.Number,
		Message: fmt.Sprintf("Version %d: %d files", v.Number, v.FileCount), Data: map[string]any{"version_id": v.ID, "files": v.FileCount}})
	return GenerateResult{VersionID: v.ID, Number: v.Number, FileCount: v.FileCount, Summary: summary}, nil
}

// generateRequest loads the base version the turn starts from.
func (a *Activities) generateRequest(ctx context.Context, in TurnInput) (generate.Request, error) {
	req := generate.Request{AppID: in.AppID, Message: in.Text}
	names := map[string]bool{}
	for _, env := range []string{models.EnvPreview, models.EnvProduction} {
		list, err := a.Store.Secrets(ctx, in.AppID, env, false)
		if err != nil {
			return req, err
		}
		for _, s := range list {
			if !names[s.Name] {
				names[s.Name] = true
				req.SecretNames = append(req.SecretNames, s.Name)
			}
		}
	}
	if in.BaseVersion == 0 {
		return req, nil
	}
	base, err := a.Store.Version(ctx, in.AppID, in.BaseVersion)
	if err != nil {
		return req, err
	}
	req.Base, err = a.Store.Files(ctx, base.ID)
	if err != nil {
		return req, err
	}
	if base.GeneratorState != "" {
		req.BaseState = json.RawMessage(base.GeneratorState)
	}
	return req, nil
}

// Turn outcomes, as FinishTurn records them.
const (
	OutcomeLive   = "live"
	OutcomeFailed = "failed"
	// OutcomeUnsupported: the request could not be carried out, and the reply says why.
	OutcomeUnsupported = "unsupported"
	// OutcomeAccepted: the request was taken and goes on beside the chat (a domain's
	// setup), with its own events.
	OutcomeAccepted = "accepted"
	// OutcomeStopped: the user stopped the message; a version it began is failed.
	OutcomeStopped = "stopped"
)

// FinishTurnInput is how a turn ended.
type FinishTurnInput struct {
	AppID     string
	MessageID string
	Outcome   string
	// Reply is the assistant's answer, in plain words.
	Reply string
	// VersionID and Number are the version the turn made, if any.
	VersionID string
	Number    int
	// For a live outcome: the deployment now serving and its URL.
	DeploymentID string
	URL          string
	// Error is the technical reason of a failure, stored on the version.
	Error string
	// FailedDeploymentID is a deployment that did not go live (FailedStatus: failed, the
	// default, or unhealthy when it deployed but failed its check).
	FailedDeploymentID string
	FailedStatus       string
	// Environment is where a live outcome went live: preview (default) or production.
	Environment string
	// Part tells apart the replies to one message (e.g. ".publish" after the change);
	// More is set when another part follows, so that clients wait for it.
	Part string
	More bool
}

// FinishTurn records a turn's outcome: the version's status, what is live, the
// assistant's reply and the closing event.
func (a *Activities) FinishTurn(ctx context.Context, in FinishTurnInput) error {
	msgStatus := models.MessageDone
	switch in.Outcome {
	case OutcomeLive:
		if err := a.Store.UpdateVersion(ctx, in.VersionID, map[string]any{"status": models.VersionDeployed, "error": ""}); err != nil {
			return err
		}
		fields := map[string]any{"live_version": in.Number, "preview_url": in.URL}
		if in.Environment == models.EnvProduction {
			fields = map[string]any{"production_version": in.Number, "production_url": in.URL}
		} else if title, err := a.plannedTitle(ctx, in.AppID, in.MessageID); err != nil {
			return err
		} else if title != "" {
			// The app's name follows the title of what the preview serves ("make the
			// title say My Tasks" renames it in the app list too).
			fields["name"] = clip(title, 200)
		}
		if err := a.Store.UpdateApp(ctx, in.AppID, fields); err != nil {
			return err
		}
	case OutcomeFailed, OutcomeStopped:
		// A version the turn began did not go out: it is failed, with the reason. (A
		// failed publish leaves its version as it was.)
		msgStatus = models.MessageFailed
		if in.Outcome == OutcomeStopped {
			msgStatus = models.MessageStopped
		}
		if in.VersionID != "" && in.Environment != models.EnvProduction {
			if err := a.Store.UpdateVersion(ctx, in.VersionID, map[string]any{"status": models.VersionFailed, "error": in.Error}); err != nil {
				return err
			}
		}
	case OutcomeUnsupported, OutcomeAccepted:
	default:
		return nonRetryable(ErrTypeInvalidInput, fmt.Errorf("finish turn: unknown outcome %q", in.Outcome))
	}
	if in.FailedDeploymentID != "" {
		status := in.FailedStatus
		if status == "" {
			status = models.DeploymentFailed
		}
		if d, err := a.Store.Deployment(ctx, in.FailedDeploymentID); err == nil && d.Status != status {
			d.Status = status
			if d.Error == "" {
				d.Error = in.Error
			}
			if err := a.Store.SaveDeployment(ctx, d); err != nil {
				return err
			}
		}
	}
	if err := a.Store.UpdateMessage(ctx, in.AppID, in.MessageID, map[string]any{"status": msgStatus}); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if _, _, err := a.Store.SaveMessage(ctx, models.ChatMessage{AppID: in.AppID, ID: in.MessageID + ".reply" + in.Part, Role: models.RoleAssistant,
		Content: in.Reply, ReplyTo: in.MessageID, VersionNumber: in.Number, Status: msgStatus}); err != nil {
		return err
	}
	data := map[string]any{"message_id": in.MessageID, "outcome": in.Outcome, "environment": orPreview(in.Environment), "final": !in.More}
	if in.URL != "" {
		data["url"] = in.URL
	}
	if in.Error != "" {
		data["error"] = in.Error
	}
	evType := models.EventReply
	switch in.Outcome {
	case OutcomeLive:
		evType = models.EventLive
	case OutcomeFailed:
		evType = models.EventTurnFailed
	case OutcomeStopped:
		evType = models.EventTurnStopped
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "finish:" + in.MessageID + in.Part, Type: evType, Message: in.Reply, VersionNumber: in.Number, Data: data})
	return nil
}

// plannedTitle is the app title in the plan of a message's turn, "" when the message
// has no readable plan (a command, such as a rollback, plans nothing).
func (a *Activities) plannedTitle(ctx context.Context, appID, messageID string) (string, error) {
	msg, err := a.Store.Message(ctx, appID, messageID)
	if errors.Is(err, models.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var plan generate.Plan
	if msg.Plan == "" || json.Unmarshal([]byte(msg.Plan), &plan) != nil {
		return "", nil
	}
	return strings.TrimSpace(plan.Title), nil
}

func orPreview(env string) string {
	if env == "" {
		return models.EnvPreview
	}
	return env
}

// nonRetryable wraps err as a Temporal error that is not retried, with a type callers
// can match.
func nonRetryable(errType string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), errType, err)
}

// generationError makes a generator's failure non-retryable when retrying cannot help.
func generationError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *generate.ProviderError
	if errors.As(err, &pe) {
		return providerError(err)
	}
	if errors.Is(err, generate.ErrInvalidRequest) {
		return nonRetryable(ErrTypeInvalidInput, fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

func verb(a generate.Action) string {
	switch a {
	case generate.Create:
		return "Wrote"
	case generate.Modify:
		return "Changed"
	case generate.Delete:
		return "Deleted"
	}
	return "Wrote"
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
