package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/appforge/appforge/files"
)

// Generation runs in steps so that a workflow can make each step its own activity: for
// the LLM agent a step is one model call and the tool calls it asks for, so a retry
// resends one call, never the whole generation. The caller keeps the transcript and the
// version's files between steps (in the database); a step gets them and returns what
// to append and the files as they stand after it.

// Message is one message of a generation's transcript, in the shape of OpenAI's chat
// messages.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant or tool
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
}

// ToolCall is a tool call the model made; Arguments is the raw JSON text it wrote.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Usage counts model use.
type Usage struct {
	Calls            int     `json:"calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// Add returns u plus v.
func (u Usage) Add(v Usage) Usage {
	return Usage{Calls: u.Calls + v.Calls, PromptTokens: u.PromptTokens + v.PromptTokens,
		CompletionTokens: u.CompletionTokens + v.CompletionTokens, CostUSD: u.CostUSD + v.CostUSD}
}

// StepInput is what one step works on.
type StepInput struct {
	Request Request `json:"request"`
	Plan    Plan    `json:"plan"`
	// Files is the new version's complete file set as it stands: the base version's
	// files (or the template, for a new app) before the first step.
	Files []files.File `json:"files"`
	// Transcript is every message so far, in order; empty before the first step.
	Transcript []Message `json:"transcript,omitempty"`
	// Feedback, set on the first step of a repair round, is what went wrong with the
	// last attempt (type-check and build errors, trimmed), for the generator to fix.
	Feedback []string `json:"feedback,omitempty"`
	// Round is 0 for the first attempt, then 1, 2, … for each repair round.
	Round int `json:"round"`
	// Step counts steps within the round, from 1.
	Step int `json:"step"`
}

// StepOutput is what one step did.
type StepOutput struct {
	// Messages are appended to the transcript, in order.
	Messages []Message `json:"messages,omitempty"`
	// Files is the complete file set after the step.
	Files []files.File `json:"files"`
	// Changes lists the files this step created, modified or deleted.
	Changes []Change `json:"changes,omitempty"`
	// Finished means the generator is done with this round; Summary says what the
	// version does, in a paragraph for the user.
	Finished bool   `json:"finished"`
	Summary  string `json:"summary,omitempty"`
	// State is stored with the version and returned as Request.BaseState next turn.
	State json.RawMessage `json:"state,omitempty"`
	// Stopped, when set, ends the generation without a usable version: a limit was
	// reached (too many files or steps, a path outside the app…). It says why in plain
	// words.
	Stopped string `json:"stopped,omitempty"`
	// Notes are problems the step told the model about and recovered from (malformed
	// tool arguments, an unknown tool, an answer cut off at the length limit).
	Notes []string `json:"notes,omitempty"`
	Usage Usage    `json:"usage"`
}

// Describe names a generator inside a sentence ("writing files with …"): "the offline
// generator", "the model gpt-4.1 (api.openai.com)". A generator says it itself with a
// Describe method; otherwise its Name is used.
func Describe(g Generator) string {
	if d, ok := g.(interface{ Describe() string }); ok {
		return d.Describe()
	}
	return g.Name()
}

// Generator makes app versions from chat messages. Implementations must be safe for
// concurrent use; a step called again with the same input must be safe to retry (the
// caller records a finished step and does not run it twice).
type Generator interface {
	// Name is recorded on each version and shown to users, e.g. "offline generator" or
	// "gpt-4.1 (api.openai.com)".
	Name() string
	// Plan says what the generator will do, before any file is written.
	Plan(ctx context.Context, req Request) (Plan, error)
	// Step does one unit of work. progress, when not nil, reports files being written.
	Step(ctx context.Context, in StepInput, progress func(Progress)) (StepOutput, error)
	// Repairs is how many repair rounds may follow a failed type check or build; 0 means
	// a failed build fails the version.
	Repairs() int
}

// ProviderError is a model provider's failure, classified once where it happens.
type ProviderError struct {
	// Kind is one of "auth" (the key was refused), "model" (unknown model), "rejected"
	// (the provider refused the request as it is), "rate_limited" or "transient".
	Kind    string
	Message string // plain words, for the chat
	// RetryAfter is the provider's requested delay, for rate_limited.
	RetryAfter time.Duration
	Err        error
}

func (e *ProviderError) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

func (e *ProviderError) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later.
func (e *ProviderError) Retryable() bool {
	return e.Kind == "rate_limited" || e.Kind == "transient"
}

// Limits bound what one generation may do; a generator that reaches one stops with a
// reason (StepOutput.Stopped).
type Limits struct {
	MaxFiles        int // files in the app, template included
	MaxFileBytes    int // one file
	MaxTotalBytes   int // all files
	MaxSteps        int // steps (model calls) per round
	MaxToolCalls    int // tool calls in one step
	MaxBadAnswers   int // consecutive malformed or cut-off answers before giving up
	MaxRepairs      int // repair rounds after a failed build
	MaxDependencies int // dependencies an app may add
}

// DefaultLimits are generous for a web app and small enough to stop a runaway model.
var DefaultLimits = Limits{
	MaxFiles:        80,
	MaxFileBytes:    100 << 10,
	MaxTotalBytes:   1 << 20,
	MaxSteps:        24,
	MaxToolCalls:    24,
	MaxBadAnswers:   3,
	MaxRepairs:      3,
	MaxDependencies: 10,
}

// Step implements Generator for the offline generator: one step writes the whole new
// version.
func (o *Offline) Step(ctx context.Context, in StepInput, progress func(Progress)) (StepOutput, error) {
	if in.Round > 0 {
		return StepOutput{}, fmt.Errorf("%w: the offline generator does not repair builds", ErrInvalidRequest)
	}
	res, err := o.Generate(ctx, in.Request, in.Plan, progress)
	if err != nil {
		return StepOutput{}, err
	}
	return StepOutput{Files: res.Files, Changes: in.Plan.Changes, Finished: true, Summary: res.Summary, State: res.State}, nil
}

// Repairs implements Generator: the offline generator's apps always build, so a failed
// build is a bug to report, not something to retry.
func (*Offline) Repairs() int { return 0 }
