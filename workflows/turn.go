package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/models"
)

// Activity options, one per kind of work. Each activity is idempotent, so every one may
// be retried; what differs is how long an attempt may take and how long to keep trying.
func dbOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           TaskQueue,
		StartToCloseTimeout: 30 * time.Second,
		// A database outage delays the turn; it does not lose it.
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidInput, activities.ErrTypeNotFound}},
	})
}

// generateOptions: a model call streams for minutes at most; provider outages and rate
// limits are retried (a rate limit waits the delay the provider asks for), a refused
// key or an unknown model is not.
func generateOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           LLMTaskQueue,
		StartToCloseTimeout: 10 * time.Minute,
		// Steps heartbeat every few seconds while the model streams or thinks.
		HeartbeatTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidInput, activities.ErrTypeNotFound, activities.ErrTypeGeneration,
				activities.ErrTypeModelAuth, activities.ErrTypeModelNotFound, activities.ErrTypeModelRejected}},
	})
}

func buildOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: BuildTaskQueue,
		// A cold dependency cache installs from npm first; a warm build takes a second.
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidInput, activities.ErrTypeNotFound}},
	})
}

func deployOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           DeployTaskQueue,
		StartToCloseTimeout: 5 * time.Minute,
		// Deploys heartbeat every few seconds, so a dead worker is noticed quickly and
		// another one takes the deploy over.
		HeartbeatTimeout: 30 * time.Second,
		// Cloudflare outages are retried for up to an hour; rate limits wait the delay
		// Cloudflare asks for.
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidInput, activities.ErrTypeNotFound, activities.ErrTypeCloudflareAuth, activities.ErrTypeCloudflareReject}},
	})
}

func verifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           TaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
}

// turn runs one chat message through plan, generate, build, deploy and verify. It never
// fails the workflow: whatever goes wrong becomes a reply in the chat, and the version
// that was live stays live.
func (w *appWorkflow) turn(ctx workflow.Context, m ChatMessage) {
	w.state.Current = &TurnState{MessageID: m.ID, Text: m.Text, StartedAt: workflow.Now(ctx)}
	defer func() {
		w.state.Current = nil
		w.setPhase(ctx, PhaseIdle)
	}()
	in := activities.TurnInput{AppID: w.state.AppID, MessageID: m.ID, Text: m.Text, BaseVersion: w.state.LiveVersion}
	finish := activities.FinishTurnInput{AppID: w.state.AppID, MessageID: m.ID}

	w.setPhase(ctx, PhasePlan)
	var start activities.TurnStart
	startResult := &start
	if workflow.GetVersion(ctx, changeIntents, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		startResult = nil // StartTurn returned nothing before it read intents
	}
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.StartTurnName, in).Get(ctx, startResult); err != nil {
		w.fail(ctx, finish, "I could not start working on your message", err)
		return
	}
	if start.Intent.OnlyPublish {
		w.stopTurn = nil // a publish runs to its end
		if start.Intent.Domain != "" {
			w.attachDomain(ctx, ChatMessage{ID: m.ID, Domain: start.Intent.Domain}, "")
			return
		}
		w.publish(ctx, m.ID, start.Intent.Version, "", false)
		return
	}
	var plan activities.PlanResult
	if err := workflow.ExecuteActivity(generateOptions(ctx), activities.PlanName, in).Get(ctx, &plan); err != nil {
		w.fail(ctx, finish, "I could not plan this change", err)
		return
	}
	if !plan.Supported {
		finish.Outcome = activities.OutcomeUnsupported
		finish.Reply = plan.Reply
		w.finish(ctx, finish)
		return
	}

	w.setPhase(ctx, PhaseGenerate)
	var (
		gen   activities.GenerateResult
		built activities.BuildResult
		ok    bool
	)
	if workflow.GetVersion(ctx, changeSteps, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		gen, built, ok = w.generateOnce(ctx, in, &finish)
	} else {
		gen, built, ok = w.generateInSteps(ctx, in, plan, &finish)
	}
	if !ok {
		return
	}
	// From here the version goes out: it can no longer be stopped.
	w.stopTurn = nil
	if w.stopped {
		// Stopped as its last step finished.
		w.fail(ctx, finish, "", nil)
		return
	}

	if start.Intent.Publish && w.productionBundles(ctx) && workflow.GetVersion(ctx, changeProductionBeside, workflow.DefaultVersion, 1) == 1 {
		// "…and deploy it": the production bundle builds while the preview deploys, so
		// that the publish after it does not wait for a build.
		w.startProductionBuild(ctx, gen.VersionID)
	}
	url, deploymentID, ok := w.deployChecked(ctx, models.EnvPreview, gen.VersionID, gen.Number, &finish)
	if !ok {
		return
	}
	finish.Outcome = activities.OutcomeLive
	finish.DeploymentID = deploymentID
	finish.URL = url
	finish.Reply = liveReply(plan, gen, built, url)
	if !start.Intent.Publish && w.state.ProductionVersion > 0 && w.state.ProductionVersion != gen.Number {
		// Production (and any domain on it) does not follow the preview by itself.
		finish.Reply += fmt.Sprintf("\n\nProduction still serves version %d at %s; say \"publish\" to put version %d there.",
			w.state.ProductionVersion, w.state.ProductionURL, gen.Number)
	}
	if !start.Intent.Publish && w.productionBundles(ctx) {
		w.finish(ctx, finish)
		// Beside the next turns: the chat does not wait for it.
		workflow.Go(ctx, func(ctx workflow.Context) { w.prepareProduction(ctx, gen) })
		return
	}
	if start.Intent.Publish {
		// "…and deploy it (to my domain …)": the change is live in preview; production
		// comes next, then the domain.
		finish.More = true
		w.finish(ctx, finish)
		if start.Intent.Domain != "" {
			w.publish(ctx, m.ID, gen.Number, ".publish", true)
			if w.state.ProductionVersion == gen.Number {
				w.attachDomain(ctx, ChatMessage{ID: m.ID, Domain: start.Intent.Domain}, ".domain")
			}
			return
		}
		w.publish(ctx, m.ID, gen.Number, ".publish", false)
		return
	}
	w.finish(ctx, finish)
}

// deployChecked deploys a built version to an environment's script and checks the
// served site. A version that deploys but does not load is replaced at once by the
// environment's previous healthy deployment. On failure the turn is finished here and
// ok is false.
func (w *appWorkflow) deployChecked(ctx workflow.Context, env, versionID string, number int, finish *activities.FinishTurnInput) (url, deploymentID string, ok bool) {
	finish.Environment = env
	script := w.state.PreviewScript
	if env == models.EnvProduction {
		script = w.productionScript()
	}
	w.setPhase(ctx, PhaseDeploy)
	deploymentID = w.newDeploymentID(ctx)
	var dep activities.DeployResult
	din := activities.DeployInput{AppID: w.state.AppID, VersionID: versionID, DeploymentID: deploymentID, Environment: env, Script: script}
	if err := workflow.ExecuteActivity(deployOptions(ctx), activities.DeployName, din).Get(ctx, &dep); err != nil {
		finish.FailedDeploymentID = deploymentID
		what := fmt.Sprintf("I could not deploy version %d", number)
		if env == models.EnvProduction {
			what = fmt.Sprintf("I could not publish version %d to production", number)
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && (appErr.Type() == activities.ErrTypeSecretsNotSet || appErr.Type() == activities.ErrTypeScriptChanged) {
			// The script may serve the new bundle (without its secrets, or without
			// the rest of the deploy): what was live goes back.
			w.putBack(ctx, env, appErr.Type() == activities.ErrTypeSecretsNotSet, finish)
		}
		w.fail(ctx, *finish, what, err)
		return "", "", false
	}

	w.setPhase(ctx, PhaseVerify)
	var ver activities.VerifyResult
	verr := workflow.ExecuteActivity(verifyOptions(ctx), activities.VerifyName,
		activities.VerifyInput{AppID: w.state.AppID, VersionID: versionID, DeploymentID: deploymentID, URL: dep.URL}).Get(ctx, &ver)
	if verr != nil || !ver.OK {
		problem := "the check could not run"
		if verr == nil && len(ver.Problems) > 0 {
			problem = ver.Problems[0]
		}
		finish.FailedDeploymentID = deploymentID
		finish.FailedStatus = models.DeploymentUnhealthy
		finish.Error = "verify failed: " + problem
		if verr != nil {
			finish.Error += ": " + errorMessage(verr)
		}
		what := fmt.Sprintf("Version %d was deployed but does not load correctly (%s)", number, problem)
		if env == models.EnvProduction {
			w.rollbackProduction(ctx, finish)
			what = fmt.Sprintf("Version %d was published but does not load correctly in production (%s)", number, problem)
		} else {
			w.rollback(ctx, finish)
		}
		w.fail(ctx, *finish, what, nil)
		return "", "", false
	}

	if env == models.EnvProduction {
		w.state.ProductionVersion = number
		w.state.ProductionURL = dep.URL
	} else {
		w.state.LiveVersion = number
		w.state.LiveVersionID = versionID
		w.state.PreviewURL = dep.URL
	}
	w.state.LastError = ""
	return dep.URL, deploymentID, true
}

// changeSteps is the change ID of step-based generation: runs recorded before it made a
// version with one Generate activity.
const changeSteps = "generate-in-steps"

// changeIntents is the change ID of reading intents (publishing) at the start of a turn.
const changeIntents = "turn-intents"

// changeProductionBundles is the change ID of production bundles: built with the
// production profile after the preview is live, budget-checked before publishing.
const changeProductionBundles = "production-bundles"

func (w *appWorkflow) productionBundles(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeProductionBundles, workflow.DefaultVersion, 1) == 1
}

// changeProductionBeside is the change ID of building the production bundle beside the
// preview deploy when the same message publishes.
const changeProductionBeside = "production-beside-preview"

// startProductionBuild starts the production build of a version; the publish that
// follows waits for it (productionBuild) instead of building again.
func (w *appWorkflow) startProductionBuild(ctx workflow.Context, versionID string) {
	if w.productionBuilds == nil {
		w.productionBuilds = map[string]workflow.Future{}
	}
	in := activities.VersionInput{AppID: w.state.AppID, VersionID: versionID, Profile: models.ProfileProduction}
	w.productionBuilds[versionID] = workflow.ExecuteActivity(buildOptions(ctx), activities.BuildName, in)
}

// productionBuild builds a version for production, or waits for the build started by
// startProductionBuild.
func (w *appWorkflow) productionBuild(ctx workflow.Context, versionID string) (activities.BuildResult, error) {
	var built activities.BuildResult
	f, ok := w.productionBuilds[versionID]
	if ok {
		delete(w.productionBuilds, versionID)
	} else {
		in := activities.VersionInput{AppID: w.state.AppID, VersionID: versionID, Profile: models.ProfileProduction}
		f = workflow.ExecuteActivity(buildOptions(ctx), activities.BuildName, in)
	}
	err := f.Get(ctx, &built)
	return built, err
}

// prepareProduction builds the production bundle of a version that just went live in
// preview, after the user has their answer, so that publishing deploys it without
// building. Its problems (a build error, the budget) are told by its events and
// checked again when publishing.
func (w *appWorkflow) prepareProduction(ctx workflow.Context, gen activities.GenerateResult) {
	in := activities.VersionInput{AppID: w.state.AppID, VersionID: gen.VersionID, Profile: models.ProfileProduction}
	if err := workflow.ExecuteActivity(buildOptions(ctx), activities.BuildName, in).Get(ctx, nil); err != nil {
		w.log.Warn("production bundle", "version", gen.Number, "error", err)
	}
}

// generateOnce makes and builds a version with one Generate activity: the path of runs
// recorded before generation went in steps.
func (w *appWorkflow) generateOnce(ctx workflow.Context, in activities.TurnInput, finish *activities.FinishTurnInput) (activities.GenerateResult, activities.BuildResult, bool) {
	var gen activities.GenerateResult
	if err := workflow.ExecuteActivity(generateOptions(ctx), activities.GenerateName, in).Get(ctx, &gen); err != nil {
		w.fail(ctx, *finish, "I could not write the app's files", err)
		return gen, activities.BuildResult{}, false
	}
	w.versionMade(gen, finish)
	built, ok := w.build(ctx, gen, false, finish)
	if ok && !built.OK {
		finish.Error = "build failed: " + strings.Join(built.Errors, "\n")
		w.fail(ctx, *finish, fmt.Sprintf("Version %d did not build (%s)", gen.Number, describeBuildErrors(built.Errors)), nil)
		return gen, built, false
	}
	return gen, built, ok
}

// maxStepsPerRound bounds a round even if a generator never says it is done (the
// generators stop themselves well before).
const maxStepsPerRound = 100

// generateInSteps makes the version step by step (each step its own activity: one model
// call for the LLM agent) and builds it; a failed build goes back to the generator with
// its errors, for as many repair rounds as it allows.
func (w *appWorkflow) generateInSteps(ctx workflow.Context, in activities.TurnInput, plan activities.PlanResult, finish *activities.FinishTurnInput) (activities.GenerateResult, activities.BuildResult, bool) {
	var gen activities.GenerateResult
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.BeginVersionName, in).Get(ctx, &gen); err != nil {
		w.fail(ctx, *finish, "I could not start the new version", err)
		return gen, activities.BuildResult{}, false
	}
	w.versionMade(gen, finish)
	var built activities.BuildResult
	for round := 0; ; round++ {
		w.setPhase(ctx, PhaseGenerate)
		for step := 1; ; step++ {
			w.state.Current.Round, w.state.Current.Step = round, step
			var res activities.StepResult
			sin := activities.StepInput{AppID: in.AppID, MessageID: in.MessageID, VersionID: gen.VersionID, BaseVersion: in.BaseVersion,
				Round: round, Step: step, MaxRounds: plan.Repairs}
			if err := workflow.ExecuteActivity(generateOptions(ctx), activities.StepName, sin).Get(ctx, &res); err != nil {
				w.fail(ctx, *finish, fmt.Sprintf("I could not write version %d", gen.Number), err)
				return gen, built, false
			}
			if res.Stopped != "" {
				finish.Error = "generation stopped: " + res.Stopped
				w.fail(ctx, *finish, fmt.Sprintf("I stopped writing version %d: %s", gen.Number, res.Stopped), nil)
				return gen, built, false
			}
			if res.Finished {
				if res.Summary != "" {
					gen.Summary = res.Summary
				}
				break
			}
			if step >= maxStepsPerRound {
				finish.Error = fmt.Sprintf("generation stopped: no end after %d steps", step)
				w.fail(ctx, *finish, fmt.Sprintf("I stopped writing version %d: the generator did not finish within %d steps", gen.Number, step), nil)
				return gen, built, false
			}
		}
		var ok bool
		if built, ok = w.build(ctx, gen, plan.Repairs > 0, finish); !ok {
			return gen, built, false
		}
		if built.OK {
			return gen, built, true
		}
		if round >= plan.Repairs {
			finish.Error = "build failed: " + strings.Join(built.Errors, "\n")
			what := fmt.Sprintf("Version %d did not build (%s)", gen.Number, describeBuildErrors(built.Errors))
			if plan.Repairs > 0 {
				what = fmt.Sprintf("Version %d still did not build after %d %s to fix it (%s)", gen.Number, plan.Repairs,
					pluralWord(plan.Repairs, "attempt", "attempts"), describeBuildErrors(built.Errors))
			}
			w.fail(ctx, *finish, what, nil)
			return gen, built, false
		}
	}
}

func (w *appWorkflow) versionMade(gen activities.GenerateResult, finish *activities.FinishTurnInput) {
	finish.VersionID, finish.Number = gen.VersionID, gen.Number
	w.state.Current.Version = gen.Number
	if gen.Number > w.state.LatestVersion {
		w.state.LatestVersion = gen.Number
	}
}

// build builds the version; ok is false when the build could not run at all (the turn
// has then failed).
func (w *appWorkflow) build(ctx workflow.Context, gen activities.GenerateResult, typeCheck bool, finish *activities.FinishTurnInput) (activities.BuildResult, bool) {
	w.setPhase(ctx, PhaseBuild)
	var built activities.BuildResult
	vin := activities.VersionInput{AppID: w.state.AppID, VersionID: gen.VersionID, TypeCheck: typeCheck}
	if err := workflow.ExecuteActivity(buildOptions(ctx), activities.BuildName, vin).Get(ctx, &built); err != nil {
		w.fail(ctx, *finish, fmt.Sprintf("I could not build version %d", gen.Number), err)
		return built, false
	}
	return built, true
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// rollback puts the previous live version back on the preview script after a deploy
// that went out but does not work.
func (w *appWorkflow) rollback(ctx workflow.Context, finish *activities.FinishTurnInput) bool {
	if w.state.LiveVersionID == "" {
		return false
	}
	return w.putVersionBack(ctx, models.EnvPreview, w.state.LiveVersionID, w.state.LiveVersion, finish)
}

// changeCheckPutBack is the change ID of checking a version put back after a failed
// deploy, as every deploy is checked; runs before it did not.
const changeCheckPutBack = "check-put-back"

// putVersionBack redeploys an earlier version of env after a deploy that failed or does
// not work, and checks it. What goes wrong is noted in finish.Error; it reports whether
// the version is back (a version back that fails its check is back, and said to be
// broken).
func (w *appWorkflow) putVersionBack(ctx workflow.Context, env, versionID string, number int, finish *activities.FinishTurnInput) bool {
	script := w.state.PreviewScript
	if env == models.EnvProduction {
		script = w.productionScript()
	}
	din := activities.DeployInput{AppID: w.state.AppID, VersionID: versionID, DeploymentID: w.newDeploymentID(ctx),
		Environment: env, Script: script, Rollback: true}
	var dep activities.DeployResult
	if err := workflow.ExecuteActivity(deployOptions(ctx), activities.DeployName, din).Get(ctx, &dep); err != nil {
		finish.Error += fmt.Sprintf("; putting version %d back failed too: %s", number, errorMessage(err))
		return false
	}
	if workflow.GetVersion(ctx, changeCheckPutBack, workflow.DefaultVersion, 1) == 1 {
		var ver activities.VerifyResult
		err := workflow.ExecuteActivity(verifyOptions(ctx), activities.VerifyName,
			activities.VerifyInput{AppID: w.state.AppID, VersionID: versionID, DeploymentID: din.DeploymentID, URL: dep.URL}).Get(ctx, &ver)
		if err != nil || !ver.OK {
			problem := "the check could not run"
			if err == nil && len(ver.Problems) > 0 {
				problem = ver.Problems[0]
			}
			finish.Error += fmt.Sprintf("; version %d was put back but does not load correctly either (%s)", number, problem)
		}
	}
	return true
}

// putBack redeploys the version the environment served before a deploy that changed
// the script and then failed, and notes the outcome in finish.Error.
func (w *appWorkflow) putBack(ctx workflow.Context, env string, secrets bool, finish *activities.FinishTurnInput) {
	if env == models.EnvPreview {
		if w.rollback(ctx, finish) {
			finish.Error += fmt.Sprintf("; version %d is back in the preview", w.state.LiveVersion)
		}
		return
	}
	if w.state.ProductionVersion == 0 {
		if secrets {
			finish.Error += "; production serves the new version without its secrets until a publish succeeds"
		} else {
			finish.Error += "; production may already serve the new version; publish again to finish"
		}
		return
	}
	var rv activities.ResolvedVersion
	err := workflow.ExecuteActivity(dbOptions(ctx), activities.ResolveVersionName,
		activities.ResolveInput{AppID: w.state.AppID, Number: w.state.ProductionVersion}).Get(ctx, &rv)
	if err == nil && !rv.Found {
		err = fmt.Errorf("version %d is not in the database", w.state.ProductionVersion)
	}
	if err != nil {
		finish.Error += fmt.Sprintf("; putting version %d back failed too: %s", w.state.ProductionVersion, errorMessage(err))
		return
	}
	if w.putVersionBack(ctx, models.EnvProduction, rv.VersionID, rv.Number, finish) {
		finish.Error += fmt.Sprintf("; version %d is back in production", w.state.ProductionVersion)
	}
}

func (w *appWorkflow) newDeploymentID(ctx workflow.Context) string {
	var id string
	_ = workflow.SideEffect(ctx, func(workflow.Context) any { return models.NewID("d_") }).Get(&id)
	return id
}

// fail ends a turn that did not go live. cause, when set, is the activity error.
func (w *appWorkflow) fail(ctx workflow.Context, finish activities.FinishTurnInput, what string, cause error) {
	if w.stopped {
		// The cause is the stop (a cancelled activity), not a failure.
		w.finishStopped(ctx, finish)
		return
	}
	finish.Outcome = activities.OutcomeFailed
	if cause != nil {
		// What the turn already noted (a version put back) follows the cause.
		finish.Error = errorMessage(cause) + finish.Error
		what += ": " + finish.Error
	}
	reply := strings.TrimSuffix(what, ".") + "."
	if w.state.LiveVersion > 0 {
		reply += fmt.Sprintf(" Version %d is still live at %s.", w.state.LiveVersion, w.state.PreviewURL)
	}
	reply += " " + advice(cause, finish.Error)
	finish.Reply = strings.TrimSpace(reply)
	w.state.LastError = finish.Error
	if w.state.LastError == "" {
		w.state.LastError = what
	}
	w.finish(ctx, finish)
}

// finishStopped ends a turn the user stopped.
func (w *appWorkflow) finishStopped(ctx workflow.Context, finish activities.FinishTurnInput) {
	finish.Outcome = activities.OutcomeStopped
	finish.Error = "stopped at your request"
	reply := "Stopped at your request; nothing was changed."
	if finish.Number > 0 {
		reply = fmt.Sprintf("Stopped at your request; version %d was not finished and is not live.", finish.Number)
	}
	if w.state.LiveVersion > 0 {
		reply += fmt.Sprintf(" Version %d is still live at %s.", w.state.LiveVersion, w.state.PreviewURL)
	}
	finish.Reply = reply + " Send a new message when you are ready."
	w.finish(ctx, finish)
}

func (w *appWorkflow) finish(ctx workflow.Context, finish activities.FinishTurnInput) {
	if ctx.Err() != nil {
		// A stopped turn's context is cancelled; its answer is still recorded.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	if err := workflow.ExecuteActivity(dbOptions(ctx), activities.FinishTurnName, finish).Get(ctx, nil); err != nil {
		w.log.Warn("finish turn", "message_id", finish.MessageID, "error", err)
	}
}

// errorMessage is an activity error without Temporal's wrapping.
func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "it took too long (" + strings.ToLower(timeout.TimeoutType().String()) + ")"
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "it was cancelled"
	}
	return err.Error()
}

// advice tells the user what to do next, by the kind of failure.
func advice(cause error, detail string) string {
	var appErr *temporal.ApplicationError
	if errors.As(cause, &appErr) {
		switch appErr.Type() {
		case activities.ErrTypeCloudflareAuth:
			return "Once the token is fixed, send your message again."
		case activities.ErrTypeModelAuth:
			return "Check OPENAI_API_KEY (and OPENAI_BASE_URL), then send your message again."
		case activities.ErrTypeModelNotFound:
			return "Check APPFORGE_MODEL against the models your provider offers, then send your message again."
		case activities.ErrTypeModelRejected:
			return "Try saying it differently."
		case activities.ErrTypeSecretsNotSet:
			return "Fix or remove that secret (PUT or DELETE /v1/apps/{id}/environments/{env}/secrets/{NAME}), then publish again."
		case activities.ErrTypeCloudflareReject:
			return "Cloudflare refused the request; send your message again, and if it fails the same way, tell us."
		}
	}
	if strings.HasPrefix(detail, "build failed") {
		return "Try describing the change differently."
	}
	if strings.HasPrefix(detail, "generation stopped") {
		// A limit stopped the model: the same request would likely stop the same way.
		return "Ask for less at once (one feature or page per message), or say it differently."
	}
	if cause != nil {
		return "Send your message again to retry."
	}
	return ""
}

func describeBuildErrors(errs []string) string {
	switch len(errs) {
	case 0:
		return "see the build log"
	case 1:
		return errs[0]
	default:
		return fmt.Sprintf("%s, and %d more errors", errs[0], len(errs)-1)
	}
}

func liveReply(plan activities.PlanResult, gen activities.GenerateResult, built activities.BuildResult, url string) string {
	summary := strings.TrimSpace(gen.Summary)
	if summary == "" {
		summary = strings.TrimSpace(plan.Summary)
	}
	return fmt.Sprintf("%s\n\nVersion %d is live at %s (%d files, %.1f KB gzipped).", summary, gen.Number, url, built.Files, float64(built.TotalGzipSize)/1024)
}
