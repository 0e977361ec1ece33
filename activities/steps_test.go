package activities

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

// stepGenerator answers every step with the same output and counts the calls.
type stepGenerator struct {
	out   generate.StepOutput
	calls atomic.Int32
}

func (g *stepGenerator) Name() string { return "test generator" }
func (g *stepGenerator) Repairs() int { return 2 }

func (g *stepGenerator) Plan(ctx context.Context, req generate.Request) (generate.Plan, error) {
	return generate.Plan{}, errors.New("the step test does not plan")
}

func (g *stepGenerator) Step(ctx context.Context, in generate.StepInput, progress func(generate.Progress)) (generate.StepOutput, error) {
	g.calls.Add(1)
	return g.out, nil
}

// newStepApp makes an app with a planned message and the version it works on, as
// BeginVersion leaves them, and returns the input of the given step.
func newStepApp(t *testing.T, s *models.Store, appID string, round, step int) StepInput {
	t.Helper()
	ctx := t.Context()
	_, _, err := s.CreateApp(ctx, models.App{ID: appID, Name: "Todo", PreviewScript: appID + "-preview"})
	storetest.Must(t, err, "create app %s", appID)
	_, _, err = s.SaveMessage(ctx, models.ChatMessage{AppID: appID, ID: "m-1", Role: models.RoleUser, Content: "Create a todo app",
		Status: models.MessageProcessing, Delivered: true, Plan: `{"supported": true, "summary": "A todo list."}`})
	storetest.Must(t, err, "save message")
	v, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "v_" + appID, AppID: appID, MessageID: "m-1", Request: "Create a todo app",
		Summary: "A todo list.", Generator: "test generator", Files: generate.Template()})
	storetest.Must(t, err, "create version")
	return StepInput{AppID: appID, MessageID: "m-1", VersionID: v.ID, Round: round, Step: step, MaxRounds: 2}
}

// runStep runs the Step activity as a worker does.
func runStep(t *testing.T, a *Activities, in StepInput) StepResult {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.Step, activity.RegisterOptions{Name: StepName})
	val, err := env.ExecuteActivity(StepName, in)
	storetest.Must(t, err, "step %d.%d", in.Round, in.Step)
	var res StepResult
	storetest.Must(t, val.Get(&res), "step result")
	return res
}

// stepTrace is what a step leaves behind for the user and the next turn.
type stepTrace struct {
	Repairs        int
	Summary        string
	GeneratorState string
	FileCount      int
	TreeHash       string
	ModelCalls     int
	Events         []models.Event
}

func traceOf(t *testing.T, s *models.Store, in StepInput) stepTrace {
	t.Helper()
	v, err := s.VersionByID(t.Context(), in.VersionID)
	storetest.Must(t, err, "version %s", in.VersionID)
	evs, err := s.Events(t.Context(), in.AppID, 0, 0)
	storetest.Must(t, err, "events of %s", in.AppID)
	for i := range evs {
		evs[i].AppID, evs[i].CreatedAt = "", time.Time{}
	}
	return stepTrace{Repairs: v.Repairs, Summary: v.Summary, GeneratorState: v.GeneratorState, FileCount: v.FileCount, TreeHash: v.TreeHash,
		ModelCalls: v.ModelCalls, Events: evs}
}

func eventTypes(evs []models.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// A worker that dies between recording a step and the rest of the step (the version's
// repair count, summary and generator state; the step's events) leaves them to the
// retry: it must not run the generator again, and must leave what an uninterrupted
// attempt leaves.
func TestStepRetryFinishesWhatTheRecordingAttemptLeft(t *testing.T) {
	withFooter := append(generate.Template(), files.File{Path: "src/Footer.tsx", Content: []byte("export function Footer() { return <footer>Made with care</footer> }\n")})
	usage := generate.Usage{Calls: 1, PromptTokens: 900, CompletionTokens: 300, CostUSD: 0.002}
	tests := []struct {
		name        string
		round, step int
		out         generate.StepOutput
		wantTypes   []string
	}{
		{"finished repair step", 1, 2, generate.StepOutput{
			Files:    withFooter,
			Changes:  []generate.Change{{Path: "src/Footer.tsx", Action: generate.Create}, {Path: "src/App.tsx", Action: generate.Modify}},
			Finished: true, Summary: "A todo list with a footer.", State: []byte(`{"pages":["home"]}`),
			Notes: []string{"the answer was cut off at the length limit"}, Usage: usage,
		}, []string{models.EventFileWritten, models.EventFileWritten, models.EventAgentNote}},
		{"stopped step", 0, 3, generate.StepOutput{
			Files:   withFooter,
			Changes: []generate.Change{{Path: "src/Footer.tsx", Action: generate.Create}},
			Stopped: "The app reached the limit of 3 steps.", Usage: usage,
		}, []string{models.EventFileWritten, models.EventGenerationStopped}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *models.Store) {
				// What an uninterrupted attempt leaves.
				whole := newStepApp(t, s, "wholeapp0001", tc.round, tc.step)
				runStep(t, &Activities{Store: s, Generator: &stepGenerator{out: tc.out}}, whole)
				want := traceOf(t, s, whole)
				if got := eventTypes(want.Events); !slices.Equal(got, tc.wantTypes) {
					t.Fatalf("an uninterrupted step emitted %q, want %q", got, tc.wantTypes)
				}

				// The first attempt records the step and dies before anything else.
				in := newStepApp(t, s, "crashapp0001", tc.round, tc.step)
				_, created, err := s.RecordStep(t.Context(), stepRecord(in, in.VersionID, tc.out, time.Second))
				storetest.Must(t, err, "record the step")
				if !created {
					t.Fatal("the step was recorded before the first attempt")
				}

				gen := &stepGenerator{out: tc.out}
				a := &Activities{Store: s, Generator: gen}
				res := runStep(t, a, in)
				if n := gen.calls.Load(); n != 0 {
					t.Errorf("the retry ran the generator %d times, want the recorded step reused", n)
				}
				wantRes := StepResult{Finished: tc.out.Finished, Summary: tc.out.Summary, Stopped: tc.out.Stopped,
					Changes: len(tc.out.Changes), Notes: len(tc.out.Notes), Usage: usage}
				if res != wantRes {
					t.Errorf("retry result = %+v, want %+v", res, wantRes)
				}
				got := traceOf(t, s, in)
				if got.Repairs != want.Repairs || got.Summary != want.Summary || got.GeneratorState != want.GeneratorState ||
					got.FileCount != want.FileCount || got.TreeHash != want.TreeHash || got.ModelCalls != want.ModelCalls {
					t.Errorf("version after the retry = %+v, want %+v as after an uninterrupted step", got, want)
				}
				if !slices.Equal(got.Events, want.Events) {
					t.Errorf("events after the retry = %+v, want %+v as after an uninterrupted step", got.Events, want.Events)
				}

				// Another retry changes nothing: the events are keyed.
				runStep(t, a, in)
				if again := traceOf(t, s, in); !slices.Equal(again.Events, got.Events) || again.ModelCalls != got.ModelCalls {
					t.Errorf("a second retry left %+v, want %+v", again, got)
				}
			})
		})
	}
}
