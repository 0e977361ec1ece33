package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/models"
)

// handle runs one queued message: a chat turn, or an operation.
func (w *appWorkflow) handle(ctx workflow.Context, m ChatMessage) {
	switch m.Command {
	case "":
		// The turn runs in a context the user may cancel (UpdateStop) until its
		// version goes out. It is not cancelled at the end: work the turn started
		// beside (a production build) outlives it.
		tctx, cancel := workflow.WithCancel(ctx)
		w.stopTurn, w.stopped = cancel, false
		w.turn(tctx, m)
		w.stopTurn, w.stopped = nil, false
	case CommandSyncSecrets:
		w.syncSecrets(ctx, m)
	default:
		w.operation(ctx, m)
	}
}

// operation runs publish, rollback and restore, which the API queues like chat messages
// so that they never overlap a turn.
func (w *appWorkflow) operation(ctx workflow.Context, m ChatMessage) {
	w.state.Current = &TurnState{MessageID: m.ID, Text: describe(m), StartedAt: workflow.Now(ctx)}
	defer func() {
		w.state.Current = nil
		w.setPhase(ctx, PhaseIdle)
	}()
	finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: m.ID}
	in := activities.TurnInput{AppID: w.state.AppID, MessageID: m.ID, Text: describe(m), BaseVersion: w.state.LiveVersion}
	w.setPhase(ctx, PhasePlan)
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.StartTurnName, in).Get(ctx, nil); err != nil {
		w.fail(ctx, finish, "I could not start this", err)
		return
	}
	switch m.Command {
	case CommandPublish:
		w.publish(ctx, m.ID, m.Version, "", false)
	case CommandRollback:
		w.rollbackEnvironment(ctx, m)
	case CommandRestore:
		w.restore(ctx, m, in)
	case CommandAttachDomain:
		w.attachDomain(ctx, m, "")
	}
}

// describe words an operation as the chat shows it.
func describe(m ChatMessage) string {
	switch m.Command {
	case CommandPublish:
		if m.Version > 0 {
			return fmt.Sprintf("Publish version %d to production", m.Version)
		}
		return "Publish the live version to production"
	case CommandRollback:
		return fmt.Sprintf("Roll %s back to its previous deployment", envOrProduction(m.Environment))
	case CommandRestore:
		return fmt.Sprintf("Restore version %d", m.Version)
	case CommandAttachDomain:
		return fmt.Sprintf("Serve the app at %s", m.Domain)
	}
	return m.Text
}

func envOrProduction(env string) string {
	if env == "" {
		return EnvProduction
	}
	return env
}

func (w *appWorkflow) productionScript() string {
	if w.state.ProductionScript == "" {
		return activities.ProductionScript(w.state.AppID)
	}
	return w.state.ProductionScript
}

// publish puts a built version (number, else the live preview version) in production,
// reusing its bundle: nothing is rebuilt.
// more is set when another reply to the same message follows (a domain to attach).
func (w *appWorkflow) publish(ctx workflow.Context, messageID string, number int, part string, more bool) {
	finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: messageID, Part: part, Environment: models.EnvProduction}
	if number == 0 {
		number = w.state.LiveVersion
	}
	if number == 0 {
		w.answer(ctx, finish, "There is no version to publish yet: describe the app first, and publish it once its preview is live.")
		return
	}
	rv, ok := w.resolve(ctx, number, &finish)
	if !ok {
		return
	}
	if !rv.Built {
		w.answer(ctx, finish, fmt.Sprintf("Version %d has no build to publish (it did not build). Version %d is the live preview; publish that one, or fix the app first.", number, w.state.LiveVersion))
		return
	}
	finish.VersionID, finish.Number = rv.VersionID, rv.Number
	budgetNote := ""
	if w.productionBundles(ctx) {
		// The production bundle, built when the preview went live (reused here) or now.
		w.setPhase(ctx, PhaseBuild)
		built, err := w.productionBuild(ctx, rv.VersionID)
		if err != nil {
			w.fail(ctx, finish, fmt.Sprintf("I could not build version %d for production", number), err)
			return
		}
		if !built.OK {
			w.fail(ctx, finish, fmt.Sprintf("Version %d did not build for production (%s)", number, describeBuildErrors(built.Errors)), nil)
			return
		}
		if built.OverBudget {
			w.answer(ctx, finish, fmt.Sprintf("Version %d is not published: %s Its preview still works; make the app smaller, or raise its budget (PUT /v1/apps/%s/budget).", number, built.Budget, w.state.AppID))
			return
		}
		if built.BudgetWarning {
			budgetNote = " Note: " + built.Budget
		}
	}
	url, deploymentID, ok := w.deployChecked(ctx, models.EnvProduction, rv.VersionID, rv.Number, &finish)
	if !ok {
		return
	}
	finish.Outcome = activities.OutcomeLive
	finish.DeploymentID, finish.URL = deploymentID, url
	finish.Reply = fmt.Sprintf("Version %d is live in production at %s.%s", rv.Number, url, budgetNote)
	finish.More = more
	w.finish(ctx, finish)
	if workflow.GetVersion(ctx, changeMeasure, workflow.DefaultVersion, 1) == 1 {
		w.measure(ctx, deploymentID, url)
	}
}

// changeMeasure is the change ID of measuring production deployments.
const changeMeasure = "measure-production"

// measure loads the production app as a first visitor and records its performance, after
// the user has their answer; a failed measurement is only logged.
func (w *appWorkflow) measure(ctx workflow.Context, deploymentID, url string) {
	w.setPhase(ctx, PhaseVerify)
	mctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: BuildTaskQueue, StartToCloseTimeout: 3 * time.Minute, HeartbeatTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumAttempts: 3, NonRetryableErrorTypes: []string{activities.ErrTypeInvalidInput, activities.ErrTypeNotFound}},
	})
	if err := workflow.ExecuteActivity(mctx, activities.MeasureName, activities.MeasureInput{AppID: w.state.AppID, DeploymentID: deploymentID, URL: url}).Get(ctx, nil); err != nil {
		w.log.Warn("measure production", "deployment", deploymentID, "error", err)
	}
}

// resolve looks a version up; a missing one is answered here (ok false).
func (w *appWorkflow) resolve(ctx workflow.Context, number int, finish *activities.FinishTurnInput) (activities.ResolvedVersion, bool) {
	var rv activities.ResolvedVersion
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.ResolveVersionName, activities.ResolveInput{AppID: w.state.AppID, Number: number}).Get(ctx, &rv); err != nil {
		w.fail(ctx, *finish, fmt.Sprintf("I could not look up version %d", number), err)
		return rv, false
	}
	if !rv.Found {
		w.answer(ctx, *finish, fmt.Sprintf("There is no version %d; the latest is version %d.", number, w.state.LatestVersion))
		return rv, false
	}
	return rv, true
}

// answer ends a turn with a reply and no change.
func (w *appWorkflow) answer(ctx workflow.Context, finish activities.FinishTurnInput, reply string) {
	finish.Outcome = activities.OutcomeUnsupported
	finish.Reply = reply
	w.finish(ctx, finish)
}

// rollbackProduction puts production's previous healthy deployment back after a publish
// that went out but does not work.
func (w *appWorkflow) rollbackProduction(ctx workflow.Context, finish *activities.FinishTurnInput) {
	var prev activities.ResolvedVersion
	err := workflow.ExecuteActivity(dbOptions(ctx), activities.PreviousDeploymentName,
		activities.EnvironmentInput{AppID: w.state.AppID, Environment: models.EnvProduction}).Get(ctx, &prev)
	if err != nil || !prev.Found {
		finish.Error += "; there is no earlier healthy production deployment to put back"
		return
	}
	if w.putVersionBack(ctx, models.EnvProduction, prev.VersionID, prev.Number, finish) {
		w.state.ProductionVersion = prev.Number
	}
}

// rollbackEnvironment puts the environment's previous healthy deployment back, reusing
// its bundle.
func (w *appWorkflow) rollbackEnvironment(ctx workflow.Context, m ChatMessage) {
	env := envOrProduction(m.Environment)
	finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: m.ID, Environment: env}
	var prev activities.ResolvedVersion
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.PreviousDeploymentName,
		activities.EnvironmentInput{AppID: w.state.AppID, Environment: env}).Get(ctx, &prev); err != nil {
		w.fail(ctx, finish, "I could not find the previous deployment", err)
		return
	}
	if !prev.Found {
		w.answer(ctx, finish, fmt.Sprintf("There is no earlier healthy deployment of %s to go back to.", env))
		return
	}
	was := w.state.ProductionVersion
	if env == models.EnvPreview {
		was = w.state.LiveVersion
	}
	finish.VersionID, finish.Number = prev.VersionID, prev.Number
	url, deploymentID, ok := w.deployChecked(ctx, env, prev.VersionID, prev.Number, &finish)
	if !ok {
		return
	}
	finish.Outcome = activities.OutcomeLive
	finish.DeploymentID, finish.URL = deploymentID, url
	finish.Reply = fmt.Sprintf("%s is back on version %d (it was on version %d) at %s. Nothing was rebuilt.", capitalize(env), prev.Number, was, url)
	w.finish(ctx, finish)
	// Production after a rollback is measured as after a publish, against the
	// deployment before it.
	if env == models.EnvProduction && workflow.GetVersion(ctx, changeMeasureRollback, workflow.DefaultVersion, 1) == 1 {
		w.measure(ctx, deploymentID, url)
	}
}

// changeMeasureRollback is the change ID of measuring production after a rollback.
const changeMeasureRollback = "measure-rollback"

// restore makes a new version from an old one's files and deploys it to preview; history
// is never rewritten.
func (w *appWorkflow) restore(ctx workflow.Context, m ChatMessage, in activities.TurnInput) {
	finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: m.ID}
	if _, ok := w.resolve(ctx, m.Version, &finish); !ok {
		return
	}
	w.setPhase(ctx, PhaseGenerate)
	var gen activities.GenerateResult
	rin := activities.RestoreInput{AppID: w.state.AppID, MessageID: m.ID, From: m.Version, BaseVersion: w.state.LiveVersion}
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.RestoreVersionName, rin).Get(ctx, &gen); err != nil {
		w.fail(ctx, finish, fmt.Sprintf("I could not restore version %d", m.Version), err)
		return
	}
	w.versionMade(gen, &finish)
	built, ok := w.build(ctx, gen, false, &finish)
	if !ok {
		return
	}
	if !built.OK {
		w.fail(ctx, finish, fmt.Sprintf("Version %d (the files of version %d) did not build (%s)", gen.Number, m.Version, describeBuildErrors(built.Errors)), nil)
		return
	}
	url, deploymentID, ok := w.deployChecked(ctx, models.EnvPreview, gen.VersionID, gen.Number, &finish)
	if !ok {
		return
	}
	finish.Outcome = activities.OutcomeLive
	finish.DeploymentID, finish.URL = deploymentID, url
	reused := ""
	if built.Reused {
		reused = " Its bundle was reused, not rebuilt."
	}
	finish.Reply = fmt.Sprintf("Version %d has the files of version %d and is live at %s.%s", gen.Number, m.Version, url, reused)
	w.finish(ctx, finish)
}

// syncSecrets sends an environment's changed secrets to its script. It is quiet when it
// works; a failure is answered in the chat.
func (w *appWorkflow) syncSecrets(ctx workflow.Context, m ChatMessage) {
	env := envOrProduction(m.Environment)
	script := w.state.PreviewScript
	if env == models.EnvProduction {
		script = w.productionScript()
	}
	err := workflow.ExecuteActivity(deployOptions(ctx), activities.SyncSecretsName,
		activities.EnvironmentInput{AppID: w.state.AppID, Environment: env, Script: script}).Get(ctx, nil)
	if err != nil {
		finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: m.ID, Environment: env}
		w.fail(ctx, finish, fmt.Sprintf("I could not update the secrets of %s", env), err)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// attachDomain serves production at a domain: it publishes first when nothing is in
// production yet, checks the hostname, and starts the domain's workflow (a child that
// outlives this run: it lives as long as the domain is attached). A domain already
// recorded for this app gets its workflow started again too: that workflow may have
// ended (its setup or a detach failed) with the record left behind, and attaching again
// is how the user gets it going. When it is still running the start fails, and the
// domain is simply attached already.
func (w *appWorkflow) attachDomain(ctx workflow.Context, m ChatMessage, part string) {
	finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: m.ID, Part: part, Environment: models.EnvProduction}
	if w.state.ProductionVersion == 0 {
		if w.state.LiveVersion == 0 {
			w.answer(ctx, finish, fmt.Sprintf("There is no app to put at %s yet: describe it first.", m.Domain))
			return
		}
		w.publish(ctx, m.ID, 0, part+".publish", true)
		if w.state.ProductionVersion == 0 {
			return // the publish failed and said why
		}
	}
	var prep activities.PreparedDomain
	pin := activities.PrepareDomainInput{AppID: w.state.AppID, Hostname: m.Domain, Mode: m.DomainMode, Primary: m.Primary, Script: w.productionScript()}
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.PrepareDomainName, pin).Get(ctx, &prep); err != nil {
		w.fail(ctx, finish, fmt.Sprintf("I could not set up %s", m.Domain), err)
		return
	}
	if prep.Problem != "" {
		w.answer(ctx, finish, prep.Problem)
		return
	}
	start := !prep.Existing || workflow.GetVersion(ctx, changeRestartEndedDomain, workflow.DefaultVersion, 1) == 1
	restarted := false
	if start {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: DomainWorkflowID(prep.Hostname),
			TaskQueue:  TaskQueue,
			// The domain outlives this run of the app's workflow (continue-as-new).
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		})
		// For an existing domain, prep holds its record's mode and pair, not the request's.
		child := workflow.ExecuteChildWorkflow(cctx, DomainWorkflowName, DomainInput{AppID: w.state.AppID, Hostname: prep.Hostname, Mode: prep.Mode,
			Primary: prep.Primary, Secondary: prep.Secondary, Script: w.productionScript(), Options: w.in.Domains})
		err := child.GetChildWorkflowExecution().Get(ctx, nil)
		// Its workflow still running is the one failure that is no failure: the domain
		// is attached. The server reports it as *temporal.ChildWorkflowExecutionAlreadyStartedError
		// (wrapped in a ChildWorkflowExecutionError), the test environment as a
		// *serviceerror.WorkflowExecutionAlreadyStarted; this checks for both.
		running := prep.Existing && temporal.IsWorkflowExecutionAlreadyStartedError(err)
		if err != nil && !running {
			w.fail(ctx, finish, fmt.Sprintf("I could not start setting up %s", prep.Hostname), err)
			return
		}
		restarted = prep.Existing && !running
	}
	reply := fmt.Sprintf("Setting up %s for production (%s). I will tell you here what, if anything, to change at your DNS provider; GET /v1/apps/%s/domains shows it at any time.",
		prep.Hostname, modeWords(prep.Mode), w.state.AppID)
	switch {
	case restarted:
		reply = fmt.Sprintf("%s was attached to this app, but its setup had stopped; setting it up again (%s). I will tell you here what, if anything, to change at your DNS provider; GET /v1/apps/%s/domains shows it at any time.",
			prep.Hostname, modeWords(prep.Mode), w.state.AppID)
	case prep.Existing:
		reply = fmt.Sprintf("%s is already attached to this app; GET /v1/apps/%s/domains shows where it stands.", prep.Hostname, w.state.AppID)
	}
	finish.Outcome = activities.OutcomeAccepted
	finish.Reply = reply
	w.finish(ctx, finish)
}

// changeRestartEndedDomain: attaching a domain already recorded for the app starts its
// workflow again (it may have ended); before, it only answered "already attached".
const changeRestartEndedDomain = "restart-ended-domain"
