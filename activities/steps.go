package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/models"
)

// Activity names of step-based generation.
const (
	BeginVersionName = "BeginVersion"
	StepName         = "GenerateStep"
)

// Error types of model provider failures that retrying cannot fix.
const (
	ErrTypeModelAuth     = "ModelAuth"
	ErrTypeModelNotFound = "ModelNotFound"
	ErrTypeModelRejected = "ModelRejected"
)

// BeginVersion makes the version a turn works on, starting from the live version's
// files (or the template, for a new app). A message makes one version: a retry returns
// it.
func (a *Activities) BeginVersion(ctx context.Context, in TurnInput) (GenerateResult, error) {
	if v, err := a.Store.VersionByMessage(ctx, in.AppID, in.MessageID); err == nil {
		return GenerateResult{VersionID: v.ID, Number: v.Number, FileCount: v.FileCount}, nil
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
	start := req.Base
	if len(start) == 0 {
		start = generate.Template()
	}
	v, created, err := a.Store.CreateVersion(ctx, models.NewVersion{
		ID: models.NewID("v_"), AppID: in.AppID, MessageID: in.MessageID, ParentNumber: in.BaseVersion,
		Request: in.Text, Summary: plan.Summary, Generator: a.Generator.Name(), Files: start,
	})
	if err != nil {
		return GenerateResult{}, err
	}
	if created && plan.Usage.Calls > 0 {
		if err := a.Store.AddUsage(ctx, v.ID, plan.Usage.Calls, plan.Usage.PromptTokens, plan.Usage.CompletionTokens, plan.Usage.CostUSD); err != nil {
			return GenerateResult{}, err
		}
	}
	if err := a.Store.UpdateMessage(ctx, in.AppID, in.MessageID, map[string]any{"version_number": v.Number}); err != nil {
		return GenerateResult{}, err
	}
	fields := map[string]any{"generator": a.Generator.Name()}
	if plan.Title != "" && in.BaseVersion == 0 {
		fields["name"] = clip(plan.Title, 200)
	}
	if err := a.Store.UpdateApp(ctx, in.AppID, fields); err != nil {
		return GenerateResult{}, err
	}
	a.emit(ctx, in.AppID, models.NewEvent{Key: "version:" + v.ID, Type: models.EventVersionCreated, VersionNumber: v.Number,
		Message: fmt.Sprintf("Version %d: writing files with %s", v.Number, generate.Describe(a.Generator)), Data: map[string]any{"version_id": v.ID}})
	return GenerateResult{VersionID: v.ID, Number: v.Number, FileCount: v.FileCount, Summary: plan.Summary}, nil
}

// StepInput names one generation step.
type StepInput struct {
	AppID     string
	MessageID string
	VersionID string
	// BaseVersion is the live version the turn started from (0 for a new app).
	BaseVersion int
	Round       int
	Step        int
	// MaxRounds is the repair rounds allowed, for the "attempt k of n" message.
	MaxRounds int
}

// StepResult is what the workflow needs of a step.
type StepResult struct {
	Finished bool
	Summary  string
	Stopped  string
	Changes  int
	Notes    int
	Usage    generate.Usage
}

// Step runs one generation step (for the LLM agent: one model call and its tool calls)
// and records it with the version's files in one transaction. A step that was recorded
// before is not run again, so a retry resends one model call at most and never applies
// its work twice; what follows the record (the version's fields and the step's events)
// is done again from the record, since the attempt that recorded it may have died
// before doing it.
func (a *Activities) Step(ctx context.Context, in StepInput) (StepResult, error) {
	if prev, err := a.recordedStep(ctx, in); err == nil {
		return a.completeRecordedStep(ctx, in, prev)
	} else if !errors.Is(err, models.ErrNotFound) {
		return StepResult{}, err
	}
	v, err := a.Store.VersionByID(ctx, in.VersionID)
	if err != nil {
		return StepResult{}, notFoundOr(err)
	}
	msg, plan, err := a.messagePlan(ctx, in.AppID, in.MessageID)
	if err != nil {
		return StepResult{}, err
	}
	req, err := a.generateRequest(ctx, TurnInput{AppID: in.AppID, MessageID: in.MessageID, Text: msg.Content, BaseVersion: in.BaseVersion})
	if err != nil {
		return StepResult{}, err
	}
	current, err := a.Store.Files(ctx, v.ID)
	if err != nil {
		return StepResult{}, err
	}
	transcript, err := a.transcript(ctx, in.AppID, in.MessageID)
	if err != nil {
		return StepResult{}, err
	}
	sin := generate.StepInput{Request: req, Plan: plan, Files: current, Transcript: transcript, Round: in.Round, Step: in.Step}
	if in.Round > 0 && in.Step == 1 {
		sin.Feedback = buildErrors(v)
		a.emit(ctx, in.AppID, models.NewEvent{Key: fmt.Sprintf("repair:%s:%d", v.ID, in.Round), Type: models.EventRepairStarted, VersionNumber: v.Number,
			Message: fmt.Sprintf("Build failed: %d %s, fixing, attempt %d of %d", len(sin.Feedback), plural(len(sin.Feedback), "error", "errors"), in.Round, in.MaxRounds),
			Data:    map[string]any{"round": in.Round, "max_rounds": in.MaxRounds, "errors": sin.Feedback}})
	}

	started := time.Now()
	stop := heartbeatEvery(ctx, 5*time.Second, "generating")
	out, err := a.Generator.Step(ctx, sin, a.progress(ctx, in, v.Number))
	stop()
	if err != nil {
		return StepResult{}, providerError(err)
	}
	if _, created, err := a.Store.RecordStep(ctx, stepRecord(in, v.ID, out, time.Since(started))); err != nil {
		return StepResult{}, err
	} else if !created {
		// Another attempt of this step recorded it first; its record stands, and it is
		// completed from that record as a retry would.
		prev, err := a.recordedStep(ctx, in)
		if err != nil {
			return StepResult{}, err
		}
		return a.completeRecordedStep(ctx, in, prev)
	}
	if err := a.finishStep(ctx, in, v, out); err != nil {
		return StepResult{}, err
	}
	return stepResult(out), nil
}

// stepRecord is what Step records of a step's output.
func stepRecord(in StepInput, versionID string, out generate.StepOutput, took time.Duration) models.StepRecord {
	notes, _ := json.Marshal(out.Notes)
	changes, _ := json.Marshal(out.Changes)
	return models.StepRecord{
		Step: models.GenerationStep{AppID: in.AppID, MessageID: in.MessageID, Round: in.Round, Step: in.Step, VersionID: versionID,
			Finished: out.Finished, Summary: out.Summary, Stopped: out.Stopped, State: string(out.State), Notes: string(notes), Changes: string(changes),
			ModelCalls: out.Usage.Calls, PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens,
			CostUSD: out.Usage.CostUSD, DurationMS: took.Milliseconds()},
		Messages: transcriptRows(out.Messages),
		Files:    out.Files,
	}
}

// finishStep does what follows a step's record: the version's repair count, and once
// the generator is done its summary and state, then the step's events. Doing it twice
// is harmless (the same fields, keyed events), which is what lets a retry redo it.
func (a *Activities) finishStep(ctx context.Context, in StepInput, v models.AppVersion, out generate.StepOutput) error {
	fields := map[string]any{"repairs": in.Round}
	if out.Finished {
		if out.Summary != "" {
			fields["summary"] = out.Summary
		}
		if len(out.State) > 0 {
			fields["generator_state"] = string(out.State)
		}
	}
	if err := a.Store.UpdateVersion(ctx, v.ID, fields); err != nil {
		return err
	}
	a.stepEvents(ctx, in, v.Number, out)
	return nil
}

// completeRecordedStep finishes a step recorded before, from its record, and returns
// what the step did.
func (a *Activities) completeRecordedStep(ctx context.Context, in StepInput, prev models.GenerationStep) (StepResult, error) {
	out := generate.StepOutput{Finished: prev.Finished, Summary: prev.Summary, Stopped: prev.Stopped,
		Usage: generate.Usage{Calls: prev.ModelCalls, PromptTokens: prev.PromptTokens, CompletionTokens: prev.CompletionTokens, CostUSD: prev.CostUSD}}
	if prev.State != "" {
		out.State = json.RawMessage(prev.State)
	}
	if err := unmarshalRecorded(prev.Changes, &out.Changes); err != nil {
		return StepResult{}, fmt.Errorf("step %d.%d of message %s: changes: %w", in.Round, in.Step, in.MessageID, err)
	}
	if err := unmarshalRecorded(prev.Notes, &out.Notes); err != nil {
		return StepResult{}, fmt.Errorf("step %d.%d of message %s: notes: %w", in.Round, in.Step, in.MessageID, err)
	}
	v, err := a.Store.VersionByID(ctx, prev.VersionID)
	if err != nil {
		return StepResult{}, notFoundOr(err)
	}
	if len(out.Changes) > 0 {
		// The file_written events give each file's size. The version's files are still
		// those the step left: the workflow runs the next step only after this one.
		if out.Files, err = a.Store.Files(ctx, v.ID); err != nil {
			return StepResult{}, err
		}
	}
	if err := a.finishStep(ctx, in, v, out); err != nil {
		return StepResult{}, err
	}
	return stepResult(out), nil
}

// unmarshalRecorded reads one of a step record's JSON columns; empty means none.
func unmarshalRecorded(raw string, into any) error {
	if raw == "" {
		return nil
	}
	return json.Unmarshal([]byte(raw), into)
}

// stepResult is the part of a step's output the workflow decides by.
func stepResult(out generate.StepOutput) StepResult {
	return StepResult{Finished: out.Finished, Summary: out.Summary, Stopped: out.Stopped, Changes: len(out.Changes), Notes: len(out.Notes), Usage: out.Usage}
}

// messagePlan loads a chat message and the plan the Plan activity stored with it.
func (a *Activities) messagePlan(ctx context.Context, appID, messageID string) (models.ChatMessage, generate.Plan, error) {
	var plan generate.Plan
	msg, err := a.Store.Message(ctx, appID, messageID)
	if err != nil {
		return msg, plan, err
	}
	if err := json.Unmarshal([]byte(msg.Plan), &plan); err != nil {
		return msg, plan, nonRetryable(ErrTypeGeneration, fmt.Errorf("the plan for message %s is missing or unreadable: %w", messageID, err))
	}
	return msg, plan, nil
}

// recordedStep returns the record of a step recorded before, or ErrNotFound.
func (a *Activities) recordedStep(ctx context.Context, in StepInput) (models.GenerationStep, error) {
	steps, err := a.Store.GenerationSteps(ctx, in.AppID, in.MessageID)
	if err != nil {
		return models.GenerationStep{}, err
	}
	for _, s := range steps {
		if s.Round == in.Round && s.Step == in.Step {
			return s, nil
		}
	}
	return models.GenerationStep{}, fmt.Errorf("step %d.%d: %w", in.Round, in.Step, models.ErrNotFound)
}

// stepEvents tells the user what a step did.
func (a *Activities) stepEvents(ctx context.Context, in StepInput, number int, out generate.StepOutput) {
	key := fmt.Sprintf("%s:%d:%d", in.MessageID, in.Round, in.Step)
	for _, c := range out.Changes {
		size := 0
		if f, ok := files.Find(out.Files, c.Path); ok {
			size = len(f.Content)
		}
		a.emit(ctx, in.AppID, models.NewEvent{Key: "file:" + key + ":" + c.Path, Type: models.EventFileWritten, VersionNumber: number,
			Message: fmt.Sprintf("%s %s (%d bytes)", verb(c.Action), c.Path, size), Data: map[string]any{"path": c.Path, "action": c.Action, "bytes": size, "round": in.Round}})
	}
	for i, n := range out.Notes {
		a.emit(ctx, in.AppID, models.NewEvent{Key: fmt.Sprintf("note:%s:%d", key, i), Type: models.EventAgentNote, VersionNumber: number, Message: n})
	}
	if out.Stopped != "" {
		a.emit(ctx, in.AppID, models.NewEvent{Key: "stopped:" + key, Type: models.EventGenerationStopped, VersionNumber: number, Message: out.Stopped})
	}
}

// progress reports what the model is writing, as it streams, and heartbeats.
func (a *Activities) progress(ctx context.Context, in StepInput, number int) func(generate.Progress) {
	var mu sync.Mutex
	return func(p generate.Progress) {
		activity.RecordHeartbeat(ctx, p.Path)
		if p.Path == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		msg := p.Message
		if msg == "" {
			msg = fmt.Sprintf("writing %s (%s)", p.Path, kb(int64(p.Bytes)))
		}
		a.emit(ctx, in.AppID, models.NewEvent{Type: models.EventWriting, VersionNumber: number, Message: msg,
			Data: map[string]any{"path": p.Path, "bytes": p.Bytes, "round": in.Round, "step": in.Step}})
	}
}

func (a *Activities) transcript(ctx context.Context, appID, messageID string) ([]generate.Message, error) {
	rows, err := a.Store.Transcript(ctx, appID, messageID)
	if err != nil {
		return nil, err
	}
	out := make([]generate.Message, 0, len(rows))
	for _, r := range rows {
		m := generate.Message{Role: r.Role, Content: r.Content, ToolCallID: r.ToolCallID, Name: r.Name}
		if r.ToolCalls != "" {
			if err := json.Unmarshal([]byte(r.ToolCalls), &m.ToolCalls); err != nil {
				return nil, fmt.Errorf("transcript message %d: %w", r.Seq, err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func transcriptRows(ms []generate.Message) []models.TranscriptMessage {
	out := make([]models.TranscriptMessage, 0, len(ms))
	for _, m := range ms {
		row := models.TranscriptMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, Name: m.Name}
		if len(m.ToolCalls) > 0 {
			b, _ := json.Marshal(m.ToolCalls)
			row.ToolCalls = string(b)
		}
		out = append(out, row)
	}
	return out
}

// buildErrors are the last failed build's errors, as the build stored them.
func buildErrors(v models.AppVersion) []string {
	var r struct {
		Errors []string `json:"errors"`
	}
	json.Unmarshal([]byte(v.BuildReport), &r)
	if len(r.Errors) == 0 && v.BuildLog != "" {
		return []string{clip(v.BuildLog, 4000)}
	}
	return r.Errors
}

// providerError turns a model provider's classified failure into the Temporal error
// that makes the right retry decision.
func providerError(err error) error {
	var pe *generate.ProviderError
	if !errors.As(err, &pe) {
		return generationError("step", err)
	}
	switch pe.Kind {
	case "auth":
		return temporal.NewNonRetryableApplicationError(pe.Error(), ErrTypeModelAuth, nil)
	case "model":
		return temporal.NewNonRetryableApplicationError(pe.Error(), ErrTypeModelNotFound, nil)
	case "rejected":
		return temporal.NewNonRetryableApplicationError(pe.Error(), ErrTypeModelRejected, nil)
	case "rate_limited":
		delay := pe.RetryAfter
		if delay <= 0 {
			delay = 10 * time.Second
		}
		return temporal.NewApplicationErrorWithOptions(pe.Error(), "ModelRateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	}
	return temporal.NewApplicationError(pe.Error(), "ModelUnavailable")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
