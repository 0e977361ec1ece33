package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/intent"
)

// fakeActivities stands in for the real activities: it records every call and lets a
// test decide how each step ends.
type fakeActivities struct {
	mu       sync.Mutex
	calls    []string
	finishes []activities.FinishTurnInput
	deploys  []activities.DeployInput
	versions int
	snapshot activities.AppSnapshot

	planUnsupported bool
	repairs         int    // repair rounds the generator allows
	stepsPerRound   int    // steps before a round finishes (default 1)
	stepStopped     string // a limit the generator reports
	stepErr         error  // what every step fails with
	steps           []activities.StepInput
	buildFails      map[int]bool // by version number: every build fails
	buildFailRounds map[int]int  // by version number: the first n builds fail
	builds          map[int]int
	typeChecks      int
	deployErr       error
	overBudget      map[int]bool // production builds over the size limit, by version
	secretsFail     map[int]bool // production deploys whose secret call fails, by version
	// previewDeployBreaks: preview deploys that fail after the script took the bundle.
	previewDeployBreaks map[int]bool
	// productionStarted, when set, is closed by the first production build; preview
	// deploys wait for it (see TestChangeAndPublishInOneMessage).
	productionStarted chan struct{}
	productionOnce    sync.Once
	verifyFails       map[int]bool
	buildDelay        time.Duration
}

func (f *fakeActivities) record(name string) {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
}

func (f *fakeActivities) LoadApp(ctx context.Context, in activities.LoadAppInput) (activities.AppSnapshot, error) {
	f.record("LoadApp")
	s := f.snapshot
	s.AppID = in.AppID
	if s.PreviewScript == "" {
		s.PreviewScript = in.AppID + "-preview"
	}
	return s, nil
}

func (f *fakeActivities) StartTurn(ctx context.Context, in activities.TurnInput) (activities.TurnStart, error) {
	f.record("StartTurn:" + in.MessageID)
	return activities.TurnStart{Intent: intent.Read(in.Text)}, nil
}

func (f *fakeActivities) ResolveVersion(ctx context.Context, in activities.ResolveInput) (activities.ResolvedVersion, error) {
	f.record(fmt.Sprintf("ResolveVersion:%d", in.Number))
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.Number > f.versions {
		return activities.ResolvedVersion{Number: in.Number}, nil
	}
	return activities.ResolvedVersion{Found: true, VersionID: fmt.Sprintf("v%d", in.Number), Number: in.Number, Built: !f.buildFails[in.Number]}, nil
}

func (f *fakeActivities) PreviousDeployment(ctx context.Context, in activities.EnvironmentInput) (activities.ResolvedVersion, error) {
	f.record("PreviousDeployment:" + in.Environment)
	f.mu.Lock()
	defer f.mu.Unlock()
	// The newest healthy deployment of the environment other than the last one.
	var healthy []activities.DeployInput
	for _, d := range f.deploys {
		var n int
		fmt.Sscanf(d.VersionID, "v%d", &n)
		if d.Environment == in.Environment && !f.verifyFails[n] {
			healthy = append(healthy, d)
		}
	}
	last := ""
	if len(f.deploys) > 0 {
		last = f.deploys[len(f.deploys)-1].VersionID
	}
	for i := len(healthy) - 1; i >= 0; i-- {
		if healthy[i].VersionID != last {
			var n int
			fmt.Sscanf(healthy[i].VersionID, "v%d", &n)
			return activities.ResolvedVersion{Found: true, VersionID: healthy[i].VersionID, Number: n, Built: true}, nil
		}
	}
	return activities.ResolvedVersion{}, nil
}

func (f *fakeActivities) RestoreVersion(ctx context.Context, in activities.RestoreInput) (activities.GenerateResult, error) {
	f.record(fmt.Sprintf("RestoreVersion:%d", in.From))
	f.mu.Lock()
	f.versions++
	n := f.versions
	f.mu.Unlock()
	return activities.GenerateResult{VersionID: fmt.Sprintf("v%d", n), Number: n}, nil
}

func (f *fakeActivities) Measure(ctx context.Context, in activities.MeasureInput) (activities.MeasureResult, error) {
	f.record("Measure")
	return activities.MeasureResult{}, nil
}

func (f *fakeActivities) SyncSecrets(ctx context.Context, in activities.EnvironmentInput) (activities.SyncResult, error) {
	f.record("SyncSecrets:" + in.Environment + ":" + in.Script)
	return activities.SyncResult{Set: 1}, nil
}

func (f *fakeActivities) Plan(ctx context.Context, in activities.TurnInput) (activities.PlanResult, error) {
	f.record("Plan")
	if f.planUnsupported {
		return activities.PlanResult{Supported: false, Reply: "The offline generator cannot make that change."}, nil
	}
	return activities.PlanResult{Supported: true, Summary: "Offline generator: a todo app.", Generator: "offline generator", Repairs: f.repairs, Steps: true}, nil
}

func (f *fakeActivities) BeginVersion(ctx context.Context, in activities.TurnInput) (activities.GenerateResult, error) {
	f.record("BeginVersion")
	f.mu.Lock()
	f.versions++
	n := f.versions
	f.mu.Unlock()
	return activities.GenerateResult{VersionID: fmt.Sprintf("v%d", n), Number: n, Summary: "Planned summary."}, nil
}

func (f *fakeActivities) Step(ctx context.Context, in activities.StepInput) (activities.StepResult, error) {
	f.record(fmt.Sprintf("Step:%d.%d", in.Round, in.Step))
	f.mu.Lock()
	f.steps = append(f.steps, in)
	f.mu.Unlock()
	if f.stepErr != nil {
		return activities.StepResult{}, f.stepErr
	}
	if f.stepStopped != "" {
		return activities.StepResult{Stopped: f.stepStopped}, nil
	}
	per := f.stepsPerRound
	if per == 0 {
		per = 1
	}
	if in.Step < per {
		return activities.StepResult{Changes: 1}, nil
	}
	return activities.StepResult{Finished: true, Summary: fmt.Sprintf("Version %d summary.", in.Step)}, nil
}

func (f *fakeActivities) Generate(ctx context.Context, in activities.TurnInput) (activities.GenerateResult, error) {
	f.record("Generate")
	f.mu.Lock()
	f.versions++
	n := f.versions
	f.mu.Unlock()
	return activities.GenerateResult{VersionID: fmt.Sprintf("v%d", n), Number: n, FileCount: 9, Summary: fmt.Sprintf("Version %d summary.", n)}, nil
}

func (f *fakeActivities) Build(ctx context.Context, in activities.VersionInput) (activities.BuildResult, error) {
	if in.Profile == "production" {
		f.record("Build:production")
		if f.productionStarted != nil {
			f.productionOnce.Do(func() { close(f.productionStarted) })
		}
		var n int
		fmt.Sscanf(in.VersionID, "v%d", &n)
		if f.overBudget[n] {
			return activities.BuildResult{OK: true, OverBudget: true, Budget: "The production bundle is 1.4 MB, over the 1 MB limit: assets/vendor.js (1.2 MB: three.js)."}, nil
		}
		return activities.BuildResult{OK: true, Reused: true, Files: 4}, nil
	}
	f.record("Build")
	if f.buildDelay > 0 {
		time.Sleep(f.buildDelay)
	}
	var n int
	fmt.Sscanf(in.VersionID, "v%d", &n)
	f.mu.Lock()
	if f.builds == nil {
		f.builds = map[int]int{}
	}
	f.builds[n]++
	attempt := f.builds[n]
	if in.TypeCheck {
		f.typeChecks++
	}
	f.mu.Unlock()
	if f.buildFails[n] || attempt <= f.buildFailRounds[n] {
		return activities.BuildResult{OK: false, Errors: []string{"src/App.tsx(3,7): error TS2322: Type 'string' is not assignable to type 'number'."}}, nil
	}
	return activities.BuildResult{OK: true, TotalSize: 200_000, TotalGzipSize: 65_000, Files: 3}, nil
}

func (f *fakeActivities) Deploy(ctx context.Context, in activities.DeployInput) (activities.DeployResult, error) {
	f.record("Deploy")
	if f.productionStarted != nil && in.Environment == "preview" {
		// Waits (in real time) for a production build started beside this deploy.
		select {
		case <-f.productionStarted:
		case <-time.After(1500 * time.Millisecond): // under the test environment's 3 s
			f.record("Deploy:no-production-build-in-flight")
		}
	}
	f.mu.Lock()
	f.deploys = append(f.deploys, in)
	f.mu.Unlock()
	if f.deployErr != nil {
		return activities.DeployResult{}, f.deployErr
	}
	var n int
	fmt.Sscanf(in.VersionID, "v%d", &n)
	if f.previewDeployBreaks[n] && in.Environment == "preview" && !in.Rollback {
		return activities.DeployResult{}, temporal.NewNonRetryableApplicationError("enable workers.dev for app1-preview: the token is refused",
			activities.ErrTypeScriptChanged, nil)
	}
	if f.secretsFail[n] && in.Environment == "production" && !in.Rollback {
		return activities.DeployResult{}, temporal.NewNonRetryableApplicationError("could not set secret STRIPE_KEY: the value is rejected",
			activities.ErrTypeSecretsNotSet, nil)
	}
	return activities.DeployResult{URL: "http://" + in.Script + ".appforge.localhost:8787"}, nil
}

func (f *fakeActivities) Verify(ctx context.Context, in activities.VerifyInput) (activities.VerifyResult, error) {
	f.record("Verify")
	var n int
	fmt.Sscanf(in.VersionID, "v%d", &n)
	if f.verifyFails[n] {
		return activities.VerifyResult{OK: false, Problems: []string{"/assets/index.js answered 404, want 200"}}, nil
	}
	return activities.VerifyResult{OK: true}, nil
}

func (f *fakeActivities) FinishTurn(ctx context.Context, in activities.FinishTurnInput) error {
	f.record("FinishTurn:" + in.Outcome)
	f.mu.Lock()
	f.finishes = append(f.finishes, in)
	f.mu.Unlock()
	return nil
}

func (f *fakeActivities) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

type harness struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	acts   *fakeActivities
	phases []string
}

func newHarness(t *testing.T, acts *fakeActivities) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(AppWorkflow, workflow.RegisterOptions{Name: AppWorkflowName})
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(activities.LoadAppName, acts.LoadApp)
	reg(activities.StartTurnName, acts.StartTurn)
	reg(activities.PlanName, acts.Plan)
	reg(activities.GenerateName, acts.Generate)
	reg(activities.BeginVersionName, acts.BeginVersion)
	reg(activities.StepName, acts.Step)
	reg(activities.ResolveVersionName, acts.ResolveVersion)
	reg(activities.PreviousDeploymentName, acts.PreviousDeployment)
	reg(activities.RestoreVersionName, acts.RestoreVersion)
	reg(activities.SyncSecretsName, acts.SyncSecrets)
	reg(activities.MeasureName, acts.Measure)
	reg(activities.BuildName, acts.Build)
	reg(activities.DeployName, acts.Deploy)
	reg(activities.VerifyName, acts.Verify)
	reg(activities.FinishTurnName, acts.FinishTurn)
	h := &harness{t: t, env: env, acts: acts}
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if p, ok := sa.GetKeyword(PhaseAttribute); ok {
			h.phases = append(h.phases, p)
		}
	}).Return(nil)
	return h
}

// send delivers a message by update at the given delay and records its result.
func (h *harness) send(delay time.Duration, id, text string, results *[]SendResult) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateSendMessage, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { h.t.Errorf("update %s rejected: %v", id, err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					h.t.Errorf("update %s failed: %v", id, err)
					return
				}
				if results != nil {
					*results = append(*results, v.(SendResult))
				}
			},
		}, ChatMessage{ID: id, Text: text})
	}, delay)
}

// stop sends UpdateStop for a message at the given delay; the result or the refusal
// lands in out.
func (h *harness) stop(delay time.Duration, id string, out *[]string) {
	h.env.RegisterDelayedCallback(func() {
		// Its own update ID each time: one ID is one update, answered once.
		h.env.UpdateWorkflow(UpdateStop, "stop:"+id+"@"+delay.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				var appErr *temporal.ApplicationError
				if errors.As(err, &appErr) {
					*out = append(*out, id+":"+appErr.Type())
					return
				}
				h.t.Errorf("stop %s rejected without a type: %v", id, err)
			},
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					h.t.Errorf("stop %s failed: %v", id, err)
					return
				}
				*out = append(*out, id+":"+v.(StopResult).Was)
			},
		}, StopRequest{MessageID: id})
	}, delay)
}

// command queues an operation by update at the given delay.
func (h *harness) command(delay time.Duration, m ChatMessage) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateSendMessage, m.ID, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { h.t.Errorf("update %s rejected: %v", m.ID, err) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, m)
	}, delay)
}

func (h *harness) state() AppState {
	v, err := h.env.QueryWorkflow(QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var st AppState
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// run executes the workflow, checks the state at stopAt, then cancels it.
func (h *harness) run(in AppInput, stopAt time.Duration, check func(AppState)) {
	h.env.RegisterDelayedCallback(func() {
		if check != nil {
			check(h.state())
		}
		h.env.CancelWorkflow()
	}, stopAt)
	h.env.ExecuteWorkflow(AppWorkflowName, in)
}

func TestTurnRunsPhasesInOrder(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	var results []SendResult
	h.send(time.Second, "m1", "Create a todo app", &results)
	var st AppState
	h.run(AppInput{AppID: "app1"}, time.Minute, func(s AppState) { st = s })

	want := []string{"LoadApp", "StartTurn:m1", "Plan", "BeginVersion", "Step:0.1", "Build", "Deploy", "Verify", "FinishTurn:live", "Build:production"}
	if got := acts.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls = %v\nwant    %v", got, want)
	}
	wantPhases := []string{"starting", "idle", "plan", "generate", "build", "deploy", "verify", "idle"}
	if strings.Join(h.phases, ",") != strings.Join(wantPhases, ",") {
		t.Errorf("phases = %v\nwant     %v", h.phases, wantPhases)
	}
	if len(results) != 1 || results[0].Position != 0 || results[0].Duplicate {
		t.Errorf("send results = %+v", results)
	}
	if st.LiveVersion != 1 || st.PreviewURL != "http://app1-preview.appforge.localhost:8787" || st.Phase != PhaseIdle || st.TurnsDone != 1 {
		t.Errorf("state = %+v", st)
	}
	f := acts.finishes[0]
	if f.Outcome != activities.OutcomeLive || f.Number != 1 || !strings.Contains(f.Reply, "Version 1 summary.") || !strings.Contains(f.Reply, "Version 1 is live at http://app1-preview") {
		t.Errorf("finish = %+v", f)
	}
	if d := acts.deploys[0]; d.Script != "app1-preview" || d.Environment != "preview" || d.DeploymentID == "" {
		t.Errorf("deploy = %+v", d)
	}
}

func TestFailedBuildKeepsLiveVersion(t *testing.T) {
	acts := &fakeActivities{buildFails: map[int]bool{2: true}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "Make it do something broken", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 2*time.Minute, func(s AppState) { st = s })

	if st.LiveVersion != 1 || st.LatestVersion != 2 || st.LiveVersionID != "v1" {
		t.Errorf("state live=%d latest=%d live id=%q, want 1, 2, v1", st.LiveVersion, st.LatestVersion, st.LiveVersionID)
	}
	if len(acts.deploys) != 1 {
		t.Errorf("deploys = %d, want 1 (a failed build is never deployed)", len(acts.deploys))
	}
	f := acts.finishes[1]
	if f.Outcome != activities.OutcomeFailed || f.Number != 2 || !strings.Contains(f.Error, "TS2322") {
		t.Errorf("finish = %+v", f)
	}
	if !strings.Contains(f.Reply, "Version 2 did not build") || !strings.Contains(f.Reply, "Version 1 is still live at http://app1-preview") {
		t.Errorf("reply = %q", f.Reply)
	}
	if st.LastError == "" {
		t.Error("last error not recorded")
	}
}

func TestSameMessageIDRunsOnce(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	var results []SendResult
	h.send(time.Second, "m1", "Create a todo app", &results)
	h.send(time.Minute, "m1", "Create a todo app", &results)
	// The operator's signal path deduplicates by the same IDs.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalMessage, ChatMessage{ID: "m1", Text: "Create a todo app"})
	}, 90*time.Second)
	h.run(AppInput{AppID: "app1"}, 3*time.Minute, nil)

	n := 0
	for _, c := range acts.Calls() {
		if c == "StartTurn:m1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("message m1 ran %d times, want 1 (calls %v)", n, acts.Calls())
	}
	// Within a run Temporal answers a repeated update ID with the first outcome; across
	// runs the workflow marks it duplicate. Either way nothing new is queued.
	if len(results) != 2 || results[0].Duplicate || results[1].MessageID != "m1" || results[1].Position != 0 {
		t.Errorf("results = %+v", results)
	}
}

func TestSignalStartsATurn(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalMessage, ChatMessage{ID: "ops-1", Text: "Create a notes app"})
		h.env.SignalWorkflow(SignalMessage, ChatMessage{ID: "", Text: "no id: ignored"})
	}, time.Second)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	if got := acts.Calls(); len(got) != 10 || got[1] != "StartTurn:ops-1" {
		t.Errorf("calls = %v", got)
	}
}

// A signal is replayed as it came, so one with a control character (refused by the API
// and by the update's validator) still runs, the character made U+FFFD.
func TestSignalWithControlCharacterRuns(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalMessage, ChatMessage{ID: "ops-1", Text: "Create a\x00 notes app"})
	}, time.Second)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	if got := acts.Calls(); len(got) < 2 || got[1] != "StartTurn:ops-1" {
		t.Errorf("calls = %v", got)
	}
	if err := ValidateMessage(ChatMessage{ID: "m1", Text: "Create a\x00 notes app"}); err == nil || !strings.Contains(err.Error(), "U+0000") {
		t.Errorf("ValidateMessage with NUL = %v, want the control character named", err)
	}
}

func TestMessageDuringTurnWaits(t *testing.T) {
	acts := &fakeActivities{buildDelay: 200 * time.Millisecond}
	h := newHarness(t, acts)
	var results []SendResult
	h.send(time.Second, "m1", "Create a todo app", &results)
	// While m1 builds, m2 arrives.
	h.env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == activities.BuildName && len(results) == 1 {
			h.send(0, "m2", "Make it green", &results)
		}
	})
	var st AppState
	h.run(AppInput{AppID: "app1"}, 10*time.Minute, func(s AppState) { st = s })

	if len(results) != 2 || results[1].Position != 1 {
		t.Fatalf("results = %+v, want m2 at position 1", results)
	}
	calls := strings.Join(acts.Calls(), ",")
	i1, f1, i2 := strings.Index(calls, "StartTurn:m1"), strings.Index(calls, "FinishTurn"), strings.Index(calls, "StartTurn:m2")
	if i1 < 0 || i2 < 0 || f1 > i2 {
		t.Errorf("turns overlap or m2 lost: %s", calls)
	}
	if st.TurnsDone != 2 || st.LiveVersion != 2 || len(st.Queue) != 0 {
		t.Errorf("state = %+v", st)
	}
}

// TestStopWhileBuilding: the user stops the turn at work while it builds and a message
// waiting behind it; neither deploys, what was live stays live, and the next message
// runs as usual. Stopping again, or a message never sent, is refused.
func TestStopWhileBuilding(t *testing.T) {
	acts := &fakeActivities{buildDelay: 200 * time.Millisecond}
	h := newHarness(t, acts)
	var stops []string
	stopped := false
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == activities.BuildName && !stopped {
			var in activities.VersionInput
			if args.Get(&in) == nil && in.VersionID == "v2" && in.Profile != "production" {
				stopped = true
				h.send(0, "m3", "Make it green", nil)
				h.stop(0, "m3", &stops)
				h.stop(0, "m2", &stops)
			}
		}
	})
	h.send(time.Minute, "m2", "Make it dark", nil)
	h.stop(2*time.Minute, "m2", &stops)
	h.stop(2*time.Minute, "nope", &stops)
	h.send(3*time.Minute, "m4", "Make it blue", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 4*time.Minute, func(s AppState) { st = s })

	slices.Sort(stops)
	if got := strings.Join(stops, ","); got != "m2:"+StopErrTooLate+",m2:working,m3:waiting,nope:"+StopErrNotFound {
		t.Errorf("stops = %s", got)
	}
	byID := map[string]activities.FinishTurnInput{}
	for _, f := range acts.finishes {
		byID[f.MessageID] = f
	}
	if f := byID["m3"]; f.Outcome != activities.OutcomeStopped || !strings.Contains(f.Reply, "before it started") {
		t.Errorf("waiting message: %+v", f)
	}
	if f := byID["m2"]; f.Outcome != activities.OutcomeStopped || f.Number != 2 || f.Error != "stopped at your request" ||
		!strings.Contains(f.Reply, "version 2 was not finished") || !strings.Contains(f.Reply, "Version 1 is still live") {
		t.Errorf("stopped turn: %+v", f)
	}
	if f := byID["m4"]; f.Outcome != activities.OutcomeLive || f.Number != 3 {
		t.Errorf("the message after the stop: %+v", f)
	}
	for _, d := range acts.deploys {
		if d.VersionID == "v2" {
			t.Errorf("the stopped version deployed: %+v", d)
		}
	}
	if strings.Contains(strings.Join(acts.Calls(), ","), "StartTurn:m3") {
		t.Errorf("the stopped waiting message ran: %v", acts.Calls())
	}
	if st.LiveVersion != 3 || st.TurnsDone != 3 || len(st.Queue) != 0 || st.Current != nil {
		t.Errorf("state = %+v", st)
	}
}

func TestUnsupportedChangeMakesNoVersion(t *testing.T) {
	acts := &fakeActivities{planUnsupported: true}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Add a login page", nil)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	want := "LoadApp,StartTurn:m1,Plan,FinishTurn:unsupported"
	if got := strings.Join(acts.Calls(), ","); got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
	if acts.finishes[0].Reply != "The offline generator cannot make that change." {
		t.Errorf("reply = %q", acts.finishes[0].Reply)
	}
}

func TestDeployAuthErrorIsExplained(t *testing.T) {
	acts := &fakeActivities{deployErr: temporal.NewNonRetryableApplicationError("Cloudflare rejected the API token (code 10000): Authentication error", activities.ErrTypeCloudflareAuth, nil)}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, time.Minute, func(s AppState) { st = s })
	f := acts.finishes[0]
	if f.Outcome != activities.OutcomeFailed || f.FailedDeploymentID == "" {
		t.Errorf("finish = %+v", f)
	}
	if !strings.Contains(f.Reply, "code 10000") || !strings.Contains(f.Reply, "Once the token is fixed, send your message again.") {
		t.Errorf("reply = %q", f.Reply)
	}
	if len(acts.deploys) != 1 {
		t.Errorf("an auth error was retried: %d deploys", len(acts.deploys))
	}
	if st.LiveVersion != 0 {
		t.Errorf("live version = %d, want 0", st.LiveVersion)
	}
}

func TestFailedVerifyRollsBack(t *testing.T) {
	acts := &fakeActivities{verifyFails: map[int]bool{2: true}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "Make it green", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 2*time.Minute, func(s AppState) { st = s })
	if len(acts.deploys) != 3 {
		t.Fatalf("deploys = %+v, want v1, v2 and v1 again", acts.deploys)
	}
	if back := acts.deploys[2]; back.VersionID != "v1" || !back.Rollback {
		t.Errorf("rollback deploy = %+v", back)
	}
	if st.LiveVersion != 1 {
		t.Errorf("live version = %d, want 1", st.LiveVersion)
	}
	if f := acts.finishes[1]; f.Outcome != activities.OutcomeFailed || !strings.Contains(f.Reply, "does not load correctly") {
		t.Errorf("finish = %+v", f)
	}
}

func TestContinueAsNewKeepsState(t *testing.T) {
	acts := &fakeActivities{buildDelay: 100 * time.Millisecond}
	h := newHarness(t, acts)
	var results []SendResult
	h.send(time.Second, "m1", "Create a todo app", &results)
	h.env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name == activities.BuildName && len(results) == 1 {
			h.send(0, "m2", "Make it green", &results)
		}
	})
	h.env.ExecuteWorkflow(AppWorkflowName, AppInput{AppID: "app1", MaxTurnsPerRun: 1})

	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want continue-as-new", err)
	}
	var next AppInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.LiveVersion != 1 || st.LiveVersionID != "v1" || st.TurnsDone != 1 || st.TurnsThisRun != 0 || !st.Loaded {
		t.Fatalf("carried state = %+v", st)
	}
	if len(st.Queue) != 1 || st.Queue[0].ID != "m2" {
		t.Fatalf("carried queue = %+v, want m2", st.Queue)
	}
	if strings.Join(st.Seen, ",") != "m1,m2" {
		t.Errorf("seen = %v", st.Seen)
	}

	// The next run works the queue without reloading, and still knows m1.
	next.MaxTurnsPerRun = 100
	acts2 := &fakeActivities{versions: 1}
	h2 := newHarness(t, acts2)
	var dup []SendResult
	h2.send(time.Minute, "m1", "Create a todo app", &dup)
	var st2 AppState
	h2.run(next, 2*time.Minute, func(s AppState) { st2 = s })
	if got := strings.Join(acts2.Calls(), ","); got != "StartTurn:m2,Plan,BeginVersion,Step:0.1,Build,Deploy,Verify,FinishTurn:live,Build:production" {
		t.Errorf("second run calls = %s", got)
	}
	if len(dup) != 1 || !dup[0].Duplicate {
		t.Errorf("m1 after continue-as-new = %+v, want duplicate", dup)
	}
	if st2.LiveVersion != 2 || st2.TurnsDone != 2 {
		t.Errorf("second run state = %+v", st2)
	}
}

func TestStepsRunUntilTheGeneratorFinishes(t *testing.T) {
	acts := &fakeActivities{stepsPerRound: 3}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a recipe book", nil)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	want := "LoadApp,StartTurn:m1,Plan,BeginVersion,Step:0.1,Step:0.2,Step:0.3,Build,Deploy,Verify,FinishTurn:live,Build:production"
	if got := strings.Join(acts.Calls(), ","); got != want {
		t.Errorf("calls = %s\nwant    %s", got, want)
	}
	if acts.typeChecks != 0 {
		t.Error("a generator without repairs got a type check")
	}
}

func TestRepairRoundsFixTheBuild(t *testing.T) {
	acts := &fakeActivities{repairs: 3, buildFailRounds: map[int]int{1: 2}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a habit tracker", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, time.Minute, func(s AppState) { st = s })
	want := "LoadApp,StartTurn:m1,Plan,BeginVersion,Step:0.1,Build,Step:1.1,Build,Step:2.1,Build,Deploy,Verify,FinishTurn:live,Build:production"
	if got := strings.Join(acts.Calls(), ","); got != want {
		t.Errorf("calls = %s\nwant    %s", got, want)
	}
	if acts.typeChecks != 3 {
		t.Errorf("type checks = %d, want every build of a repairing generator", acts.typeChecks)
	}
	if acts.steps[1].MaxRounds != 3 {
		t.Errorf("repair step input = %+v", acts.steps[1])
	}
	if st.LiveVersion != 1 {
		t.Errorf("live version = %d", st.LiveVersion)
	}
}

func TestRepairGivesUp(t *testing.T) {
	acts := &fakeActivities{repairs: 2, buildFails: map[int]bool{2: true}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a habit tracker", nil)
	h.send(time.Minute, "m2", "Add charts", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 2*time.Minute, func(s AppState) { st = s })
	if acts.builds[2] != 3 {
		t.Errorf("version 2 built %d times, want 3 (first attempt and 2 repairs)", acts.builds[2])
	}
	f := acts.finishes[1]
	if f.Outcome != activities.OutcomeFailed || !strings.Contains(f.Reply, "Version 2 still did not build after 2 attempts to fix it") ||
		!strings.Contains(f.Reply, "TS2322") || !strings.Contains(f.Reply, "Version 1 is still live") {
		t.Errorf("finish = %+v", f)
	}
	if st.LiveVersion != 1 {
		t.Errorf("live version = %d, want 1", st.LiveVersion)
	}
}

func TestStoppedGenerationFailsTheVersion(t *testing.T) {
	acts := &fakeActivities{stepStopped: "the model tried to write more than 80 files"}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a thing", nil)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	want := "LoadApp,StartTurn:m1,Plan,BeginVersion,Step:0.1,FinishTurn:failed"
	if got := strings.Join(acts.Calls(), ","); got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}
	if f := acts.finishes[0]; !strings.Contains(f.Reply, "I stopped writing version 1: the model tried to write more than 80 files") || !strings.Contains(f.Reply, "Ask for less at once") || !strings.Contains(f.Error, "generation stopped") {
		t.Errorf("finish = %+v", f)
	}
}

func TestRefusedModelKeyIsNotRetried(t *testing.T) {
	acts := &fakeActivities{stepErr: temporal.NewNonRetryableApplicationError("the model provider refused the API key", activities.ErrTypeModelAuth, nil)}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a thing", nil)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	if n := len(acts.steps); n != 1 {
		t.Errorf("steps = %d, want 1 (no retries)", n)
	}
	if f := acts.finishes[0]; !strings.Contains(f.Reply, "refused the API key") || !strings.Contains(f.Reply, "OPENAI_API_KEY") {
		t.Errorf("reply = %q", f.Reply)
	}
}

func TestValidateMessage(t *testing.T) {
	for _, tc := range []struct {
		m    ChatMessage
		want string
	}{
		{ChatMessage{ID: "m1", Text: "hi"}, ""},
		{ChatMessage{ID: "", Text: "hi"}, "message id is empty"},
		{ChatMessage{ID: "m1", Text: "  \n"}, "message is empty"},
		{ChatMessage{ID: "m 1", Text: "hi"}, "may hold only"},
		{ChatMessage{ID: strings.Repeat("a", 81), Text: "hi"}, "longer than 80"},
		{ChatMessage{ID: "m1", Text: strings.Repeat("a", MaxMessageBytes+1)}, "longer than"},
	} {
		err := ValidateMessage(tc.m)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ValidateMessage(%.20q) = %v, want %q", tc.m.ID, err, tc.want)
		}
	}
}

func TestPublishByChat(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "deploy it", nil)
	h.send(2*time.Minute, "m3", "make the title say My Tasks", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 3*time.Minute, func(s AppState) { st = s })
	calls := strings.Join(acts.Calls(), ",")
	if !strings.Contains(calls, "StartTurn:m2,ResolveVersion:1,Build:production,Deploy,Verify,FinishTurn:live,Measure") {
		t.Errorf("calls = %s", calls)
	}
	d := acts.deploys[1]
	if d.Environment != "production" || d.Script != "app1" || d.VersionID != "v1" {
		t.Errorf("production deploy = %+v", d)
	}
	if acts.builds[1] != 1 {
		t.Errorf("publishing rebuilt: %d builds", acts.builds[1])
	}
	f := acts.finishes[1]
	if f.Environment != "production" || !strings.Contains(f.Reply, "Version 1 is live in production at http://app1.appforge.localhost") {
		t.Errorf("finish = %+v", f)
	}
	if st.ProductionVersion != 1 || st.LiveVersion != 2 || !strings.HasPrefix(st.ProductionURL, "http://app1.") {
		t.Errorf("state = %+v", st)
	}
	// A change after the publish goes to the preview only, and its reply says so.
	if r := acts.finishes[0].Reply; strings.Contains(r, "Production") {
		t.Errorf("before any publish the reply mentions production: %q", r)
	}
	if r := acts.finishes[2].Reply; !strings.Contains(r, "Version 2 is live at http://app1-preview") ||
		!strings.Contains(r, "Production still serves version 1 at http://app1.appforge.localhost") || !strings.Contains(r, `say "publish" to put version 2 there`) {
		t.Errorf("change after publish: reply %q", r)
	}
}

func TestChangeAndPublishInOneMessage(t *testing.T) {
	acts := &fakeActivities{productionStarted: make(chan struct{})}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app and deploy it", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, time.Minute, func(s AppState) { st = s })
	if len(acts.finishes) != 2 {
		t.Fatalf("finishes = %+v", acts.finishes)
	}
	first, second := acts.finishes[0], acts.finishes[1]
	if !first.More || first.Environment != "preview" || second.Part != ".publish" || second.More || second.Environment != "production" {
		t.Errorf("finishes = %+v / %+v", first, second)
	}
	if st.ProductionVersion != 1 {
		t.Errorf("production version = %d", st.ProductionVersion)
	}
	// The production bundle is built once, beside the preview deploy, not after it: the
	// preview deploy saw it in flight.
	calls := strings.Join(acts.Calls(), ",")
	if strings.Count(calls, "Build:production") != 1 || strings.Contains(calls, "Deploy:no-production-build-in-flight") {
		t.Errorf("calls = %s: want one production build, in flight during the preview deploy", calls)
	}
}

func TestNothingToPublishYet(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "publish", nil)
	h.run(AppInput{AppID: "app1"}, time.Minute, nil)
	if f := acts.finishes[0]; f.Outcome != activities.OutcomeUnsupported || !strings.Contains(f.Reply, "no version to publish yet") {
		t.Errorf("finish = %+v", f)
	}
}

func TestFailedProductionCheckRollsBack(t *testing.T) {
	acts := &fakeActivities{verifyFails: map[int]bool{}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "publish", nil)
	h.send(2*time.Minute, "m3", "Make it green", nil)
	// Version 2 passes in preview but not in production.
	h.env.RegisterDelayedCallback(func() { acts.mu.Lock(); acts.verifyFails[2] = true; acts.mu.Unlock() }, 3*time.Minute)
	h.send(4*time.Minute, "m4", "publish", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 5*time.Minute, func(s AppState) { st = s })
	last := acts.deploys[len(acts.deploys)-1]
	if last.VersionID != "v1" || last.Environment != "production" || !last.Rollback {
		t.Errorf("last deploy = %+v, want version 1 put back in production", last)
	}
	f := acts.finishes[len(acts.finishes)-1]
	if f.Outcome != activities.OutcomeFailed || f.FailedStatus != "unhealthy" || !strings.Contains(f.Reply, "does not load correctly in production") {
		t.Errorf("finish = %+v", f)
	}
	if st.ProductionVersion != 1 || st.LiveVersion != 2 {
		t.Errorf("production %d preview %d, want 1 and 2", st.ProductionVersion, st.LiveVersion)
	}
	// Version 1 put back is checked like any deploy.
	if calls := strings.Join(acts.Calls(), ","); !strings.HasSuffix(calls, "StartTurn:m4,ResolveVersion:2,Build:production,Deploy,Verify,PreviousDeployment:production,Deploy,Verify,FinishTurn:failed") {
		t.Errorf("calls end %s", calls[max(0, len(calls)-160):])
	}
}

func TestRollbackAndRestoreCommands(t *testing.T) {
	acts := &fakeActivities{}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "publish", nil)
	h.send(2*time.Minute, "m3", "Make it green", nil)
	h.send(3*time.Minute, "m4", "publish", nil)
	h.command(4*time.Minute, ChatMessage{ID: "op1", Command: CommandRollback, Environment: "production"})
	h.command(5*time.Minute, ChatMessage{ID: "op2", Command: CommandRestore, Version: 1})
	h.command(6*time.Minute, ChatMessage{ID: "op3", Command: CommandSyncSecrets, Environment: "production"})
	var st AppState
	h.run(AppInput{AppID: "app1"}, 7*time.Minute, func(s AppState) { st = s })
	calls := strings.Join(acts.Calls(), ",")
	for _, want := range []string{
		"StartTurn:op1,PreviousDeployment:production,Deploy,Verify,FinishTurn:live,Measure",
		"StartTurn:op2,ResolveVersion:1,RestoreVersion:1,Build,Deploy,Verify,FinishTurn:live",
		"StartTurn:m4,ResolveVersion:2,Build:production,Deploy,Verify,FinishTurn:live,Measure",
		"SyncSecrets:production:app1",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls lack %s:\n%s", want, calls)
		}
	}
	if st.ProductionVersion != 1 || st.LiveVersion != 3 || st.LatestVersion != 3 {
		t.Errorf("state = %+v", st)
	}
	var rollbackReply, restoreReply string
	for _, f := range acts.finishes {
		switch f.MessageID {
		case "op1":
			rollbackReply = f.Reply
		case "op2":
			restoreReply = f.Reply
		}
	}
	if !strings.Contains(rollbackReply, "Production is back on version 1 (it was on version 2)") {
		t.Errorf("rollback reply = %q", rollbackReply)
	}
	if !strings.Contains(restoreReply, "Version 3 has the files of version 1") {
		t.Errorf("restore reply = %q", restoreReply)
	}
}

func TestPublishOverBudgetIsRefused(t *testing.T) {
	acts := &fakeActivities{overBudget: map[int]bool{1: true}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a 3D globe", nil)
	h.send(time.Minute, "m2", "publish", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 2*time.Minute, func(s AppState) { st = s })
	f := acts.finishes[len(acts.finishes)-1]
	if f.Outcome != activities.OutcomeUnsupported || !strings.Contains(f.Reply, "Version 1 is not published") || !strings.Contains(f.Reply, "three.js") || !strings.Contains(f.Reply, "preview still works") {
		t.Errorf("finish = %+v", f)
	}
	if len(acts.deploys) != 1 || st.ProductionVersion != 0 || st.LiveVersion != 1 {
		t.Errorf("deploys %d production %d preview %d: an app over budget must not reach production, and its preview stays", len(acts.deploys), st.ProductionVersion, st.LiveVersion)
	}
}

// TestFailedSecretPutsProductionBack: the script took version 2 but not its secret, so
// version 1 goes back into production and the chat says why and what to do.
func TestFailedSecretPutsProductionBack(t *testing.T) {
	acts := &fakeActivities{secretsFail: map[int]bool{2: true}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "publish", nil)
	h.send(2*time.Minute, "m3", "Make it green", nil)
	h.send(3*time.Minute, "m4", "publish", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 4*time.Minute, func(s AppState) { st = s })
	last := acts.deploys[len(acts.deploys)-1]
	if last.VersionID != "v1" || last.Environment != "production" || !last.Rollback {
		t.Errorf("last deploy = %+v, want version 1 put back in production", last)
	}
	f := acts.finishes[len(acts.finishes)-1]
	for _, want := range []string{"I could not publish version 2 to production", "could not set secret STRIPE_KEY", "version 1 is back in production", "Fix or remove that secret"} {
		if !strings.Contains(f.Reply, want) {
			t.Errorf("reply %q does not say %q", f.Reply, want)
		}
	}
	if f.Outcome != activities.OutcomeFailed || f.FailedDeploymentID == "" {
		t.Errorf("finish = %+v", f)
	}
	if st.ProductionVersion != 1 || st.LiveVersion != 2 {
		t.Errorf("production %d preview %d, want 1 and 2", st.ProductionVersion, st.LiveVersion)
	}

	// The first publish has nothing to go back to: the reply says what production serves.
	acts = &fakeActivities{secretsFail: map[int]bool{1: true}}
	h = newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "publish", nil)
	h.run(AppInput{AppID: "app1"}, 2*time.Minute, nil)
	f = acts.finishes[len(acts.finishes)-1]
	if !strings.Contains(f.Reply, "without its secrets until a publish succeeds") || acts.deploys[len(acts.deploys)-1].Rollback {
		t.Errorf("first publish: reply %q, deploys %+v", f.Reply, acts.deploys)
	}
}

// TestPreviewPutBackAfterAPartialDeploy: a preview deploy that failed after the script
// took the new bundle puts the live version back, so what the state says is live is
// what the edge serves.
func TestPreviewPutBackAfterAPartialDeploy(t *testing.T) {
	acts := &fakeActivities{previewDeployBreaks: map[int]bool{2: true}}
	h := newHarness(t, acts)
	h.send(time.Second, "m1", "Create a todo app", nil)
	h.send(time.Minute, "m2", "Make it green", nil)
	var st AppState
	h.run(AppInput{AppID: "app1"}, 2*time.Minute, func(s AppState) { st = s })
	last := acts.deploys[len(acts.deploys)-1]
	if last.VersionID != "v1" || last.Environment != "preview" || !last.Rollback {
		t.Errorf("last deploy = %+v, want version 1 put back in the preview", last)
	}
	f := acts.finishes[len(acts.finishes)-1]
	if f.Outcome != activities.OutcomeFailed || !strings.Contains(f.Reply, "version 1 is back in the preview") || !strings.Contains(f.Reply, "Version 1 is still live") {
		t.Errorf("finish = %+v", f)
	}
	if st.LiveVersion != 1 {
		t.Errorf("live version %d, want 1", st.LiveVersion)
	}
}

// A domain whose workflow ended (its detach failed, say) keeps its record, so
// PrepareDomain finds it; attaching it again starts its workflow again, from the
// record, and says so. While that workflow runs, attaching once more is "already
// attached" and starts nothing.
func TestAttachDomainAgainAfterItsWorkflowEnded(t *testing.T) {
	acts := &fakeActivities{snapshot: activities.AppSnapshot{LatestVersion: 1, LiveVersion: 1, LiveVersionID: "v1", ProductionScript: "app1", ProductionVersion: 1}}
	dom := &fakeDomain{readyAfter: -1} // waits for DNS: its workflow keeps running
	// newHarness's mock must come after every registration: the same, with the domain's.
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), acts: acts}
	h.env.RegisterWorkflowWithOptions(AppWorkflow, workflow.RegisterOptions{Name: AppWorkflowName})
	h.env.RegisterWorkflowWithOptions(DomainWorkflow, workflow.RegisterOptions{Name: DomainWorkflowName})
	reg := func(name string, fn any) { h.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(activities.LoadAppName, acts.LoadApp)
	reg(activities.StartTurnName, acts.StartTurn)
	reg(activities.FinishTurnName, acts.FinishTurn)
	reg(activities.DomainSetupName, dom.Setup)
	reg(activities.DomainCheckName, dom.Check)
	reg(activities.DomainRecordName, dom.Record)
	reg(activities.DomainDetachName, dom.Detach)
	reg(activities.PrepareDomainName, func(ctx context.Context, in activities.PrepareDomainInput) (activities.PreparedDomain, error) {
		// The record left behind, www first, whatever the request says.
		return activities.PreparedDomain{Hostname: "myapp.com", Mode: "zone", Primary: "www.myapp.com", Secondary: "myapp.com", Existing: true}, nil
	})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	h.command(time.Second, ChatMessage{ID: "d1", Command: CommandAttachDomain, Domain: "myapp.com"})
	h.command(time.Minute, ChatMessage{ID: "d2", Command: CommandAttachDomain, Domain: "myapp.com"})
	h.env.RegisterDelayedCallback(func() {
		if err := h.env.SignalWorkflowByID(DomainWorkflowID("myapp.com"), SignalDetach, nil); err != nil {
			t.Errorf("detach: %v", err)
		}
	}, 2*time.Minute)
	h.run(AppInput{AppID: "app1"}, 3*time.Minute, nil)

	replies := map[string]string{}
	for _, f := range acts.finishes {
		replies[f.MessageID] = f.Reply
		if f.Outcome != activities.OutcomeAccepted {
			t.Errorf("attach %s ended %q, want %q: its setup goes on beside the chat", f.MessageID, f.Outcome, activities.OutcomeAccepted)
		}
	}
	if !strings.Contains(replies["d1"], "its setup had stopped; setting it up again") {
		t.Errorf("first attach answered %q, want its workflow started again", replies["d1"])
	}
	if !strings.Contains(replies["d2"], "already attached") {
		t.Errorf("second attach answered %q, want already attached", replies["d2"])
	}
	dom.mu.Lock()
	defer dom.mu.Unlock()
	if n := strings.Count(strings.Join(dom.calls, ","), "Setup"); n != 1 {
		t.Errorf("domain calls = %v: want one workflow set up (%d)", dom.calls, n)
	}
	if len(dom.records) == 0 {
		t.Fatal("the domain's workflow never ran")
	}
	if r := dom.records[0]; r.Status != "pending" || r.Primary != "www.myapp.com" || r.Secondary != "myapp.com" || r.Mode != "zone" {
		t.Errorf("first record = %+v, want the stored record's pair set up again", r)
	}
}
