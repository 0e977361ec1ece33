// Package workflows holds appforge's durable workflows. AppWorkflow owns one app for its
// whole life: every chat message is a turn (plan, generate, build, deploy, verify) run
// one at a time; a crash, an outage or a rate limit delays a turn, it never loses it.
package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
)

// Names recorded in histories and used by clients: pinned.
const (
	AppWorkflowName = "AppWorkflow"
	// UpdateSendMessage queues a chat message; its update ID is the message ID.
	UpdateSendMessage = "send_message"
	// SignalMessage queues a chat message too, for operators (Temporal CLI or Web UI);
	// it is deduplicated by message ID like the update.
	SignalMessage = "message"
	// QueryState returns AppState.
	QueryState = "state"
	// UpdateStop stops a chat message: one still waiting leaves the queue, the turn at
	// work stops while it plans, writes or builds (not once its version deploys).
	UpdateStop = "stop"
)

// StopRequest names the message to stop.
type StopRequest struct {
	MessageID string `json:"message_id"`
}

// StopResult answers UpdateStop: Was is "waiting" (taken out of the queue) or
// "working" (the turn is stopping; its end comes as an event).
type StopResult struct {
	MessageID string `json:"message_id"`
	Was       string `json:"was"`
}

// Error types of a refused stop, for the API.
const (
	StopErrNotFound = "StopNotFound"
	StopErrTooLate  = "StopTooLate"
)

// Task queues.
const (
	TaskQueue       = "appforge"
	LLMTaskQueue    = "appforge-llm"
	BuildTaskQueue  = "appforge-build"
	DeployTaskQueue = "appforge-deploy"
)

// Search attributes the workflow keeps current, for filtering runs in the Web UI and
// with `temporal workflow list --query`.
var (
	AppIDAttribute = temporal.NewSearchAttributeKeyKeyword("AppforgeAppID")
	PhaseAttribute = temporal.NewSearchAttributeKeyKeyword("AppforgePhase")
)

// SearchAttributes lists the custom search attributes appforge needs registered.
func SearchAttributes() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{AppIDAttribute, PhaseAttribute}
}

// AppWorkflowID is the workflow ID of an app.
func AppWorkflowID(appID string) string { return "app/" + appID }

// Phase is where the app's workflow is.
type Phase string

const (
	PhaseStarting Phase = "starting"
	PhaseIdle     Phase = "idle"
	PhasePlan     Phase = "plan"
	PhaseGenerate Phase = "generate"
	PhaseBuild    Phase = "build"
	PhaseDeploy   Phase = "deploy"
	PhaseVerify   Phase = "verify"
)

// Environments, as models names them.
const (
	EnvPreview    = "preview"
	EnvProduction = "production"
)

// MaxMessageBytes is the largest chat message the workflow accepts; the API enforces
// its own, usually smaller, configured limit first.
const MaxMessageBytes = 32 << 10

// MaxMessageIDLength bounds message IDs (they are update IDs).
const MaxMessageIDLength = 80

// seenLimit is how many message IDs the workflow remembers for deduplication across
// continue-as-new.
const seenLimit = 500

// ChatMessage is a message for the app, by update or signal: a chat message (Text), or
// an operation (Command) queued like one, so that it runs between turns.
type ChatMessage struct {
	ID   string `json:"id"`
	Text string `json:"text,omitempty"`
	// Command is one of the Command* operations; empty for a chat message.
	Command     string `json:"command,omitempty"`
	Environment string `json:"environment,omitempty"`
	Version     int    `json:"version,omitempty"`
	// Domain, DomainMode and Primary are set for CommandAttachDomain.
	Domain     string `json:"domain,omitempty"`
	DomainMode string `json:"domain_mode,omitempty"`
	Primary    string `json:"primary,omitempty"`
}

// Operations queued as messages.
const (
	// CommandPublish deploys a built version (Version, else the live preview) to
	// production, reusing its bundle.
	CommandPublish = "publish"
	// CommandRollback puts the environment's previous healthy deployment back.
	CommandRollback = "rollback"
	// CommandRestore makes a new version from an old one's files (Version) and deploys it.
	CommandRestore = "restore"
	// CommandSyncSecrets sends the environment's changed secrets to its script.
	CommandSyncSecrets = "sync_secrets"
	// CommandAttachDomain serves production at a domain (publishing first if needed).
	CommandAttachDomain = "attach_domain"
)

var commands = map[string]bool{CommandPublish: true, CommandRollback: true, CommandRestore: true, CommandSyncSecrets: true, CommandAttachDomain: true}

// SendResult answers UpdateSendMessage.
type SendResult struct {
	MessageID string `json:"message_id"`
	// Duplicate is true when the message had been received before; nothing new is queued.
	Duplicate bool `json:"duplicate"`
	// Position is the message's place in the queue: 0 when it starts at once, 1 when one
	// turn is ahead of it, and so on.
	Position int `json:"position"`
}

// AppInput starts an app's workflow. State is set only by continue-as-new.
type AppInput struct {
	AppID string `json:"app_id"`
	// MaxTurnsPerRun makes the workflow continue-as-new after that many turns (default 100).
	MaxTurnsPerRun int `json:"max_turns_per_run,omitempty"`
	// Domains configures the domain workflows this app starts.
	Domains DomainOptions `json:"domains,omitempty"`
	State   *AppState     `json:"state,omitempty"`
}

// AppState is the workflow's live state, returned by QueryState and carried across
// continue-as-new.
type AppState struct {
	AppID string `json:"app_id"`
	Phase Phase  `json:"phase"`
	// Current is the turn being worked on, if any.
	Current *TurnState `json:"current,omitempty"`
	// Queue holds messages waiting for their turn, oldest first.
	Queue         []ChatMessage `json:"queue"`
	LatestVersion int           `json:"latest_version"`
	LiveVersion   int           `json:"live_version"`
	LiveVersionID string        `json:"live_version_id,omitempty"`
	PreviewScript string        `json:"preview_script"`
	PreviewURL    string        `json:"preview_url,omitempty"`
	// Production: the script, its URL and the version it serves (0: never published).
	ProductionScript  string `json:"production_script,omitempty"`
	ProductionURL     string `json:"production_url,omitempty"`
	ProductionVersion int    `json:"production_version"`
	TurnsDone         int    `json:"turns_done"`
	// TurnsThisRun counts toward MaxTurnsPerRun.
	TurnsThisRun int `json:"turns_this_run"`
	// LastError is the last failed turn's reason, cleared by a successful one.
	LastError string `json:"last_error,omitempty"`
	// Seen are recent message IDs, oldest first, for deduplication.
	Seen   []string `json:"seen,omitempty"`
	Loaded bool     `json:"loaded"`
}

// TurnState is the turn in progress.
type TurnState struct {
	MessageID string `json:"message_id"`
	Text      string `json:"text"`
	Phase     Phase  `json:"phase"`
	Version   int    `json:"version,omitempty"`
	// Round and Step say where step-based generation is: round 0 is the first attempt,
	// 1, 2, … repair rounds after failed builds.
	Round     int       `json:"round"`
	Step      int       `json:"step,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// isControl reports the characters a chat message may not hold: C0 and C1 controls
// other than tab and line breaks. Postgres text refuses NUL outright.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r <= 0x9f
}

// ValidateMessage checks a chat message as the workflow will; the API calls it too.
func ValidateMessage(m ChatMessage) error {
	switch {
	case m.ID == "":
		return errors.New("message id is empty")
	case len(m.ID) > MaxMessageIDLength:
		return fmt.Errorf("message id is longer than %d characters", MaxMessageIDLength)
	case m.Command != "" && !commands[m.Command]:
		return fmt.Errorf("unknown command %q", m.Command)
	case m.Command == "" && strings.TrimSpace(m.Text) == "":
		return errors.New("message is empty")
	case m.Environment != "" && m.Environment != EnvPreview && m.Environment != EnvProduction:
		return fmt.Errorf("environment %q is not preview or production", m.Environment)
	case m.Version < 0:
		return errors.New("version must be positive")
	case m.Command == CommandAttachDomain && m.Domain == "":
		return errors.New("attach_domain needs a domain")
	case len(m.Text) > MaxMessageBytes:
		return fmt.Errorf("message is longer than %d bytes", MaxMessageBytes)
	}
	if i := strings.IndexFunc(m.Text, isControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(m.Text[i:])
		return fmt.Errorf("message holds the control character %U at byte %d; send plain text (tabs and line breaks are fine)", r, i)
	}
	for _, r := range m.ID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return fmt.Errorf("message id %q may hold only letters, digits and - _ . :", m.ID)
		}
	}
	return nil
}

// AppWorkflow runs an app's chat, one turn at a time, for as long as the app exists.
func AppWorkflow(ctx workflow.Context, in AppInput) error {
	w := &appWorkflow{in: in}
	if in.State != nil {
		w.state = *in.State
	}
	w.state.AppID = in.AppID
	if w.in.MaxTurnsPerRun <= 0 {
		w.in.MaxTurnsPerRun = 100
	}
	if err := w.setup(ctx); err != nil {
		return err
	}
	return w.run(ctx)
}

type appWorkflow struct {
	in    AppInput
	state AppState
	// productionBuilds are production builds started beside a preview deploy, by
	// version ID, for the publish that follows (not state: a new run starts none).
	productionBuilds map[string]workflow.Future
	drainSignals     func()
	// stopTurn cancels the chat turn at work while it may still be stopped (nil once
	// its version goes out); stopped is set when the user stopped it.
	stopTurn workflow.CancelFunc
	stopped  bool
	log      interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
}

func (w *appWorkflow) setup(ctx workflow.Context) error {
	w.log = workflow.GetLogger(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (AppState, error) {
		st := w.state
		st.Seen = nil // bookkeeping for deduplication, not state a reader needs
		if st.Queue == nil {
			st.Queue = []ChatMessage{}
		}
		return st, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSendMessage,
		func(ctx workflow.Context, m ChatMessage) (SendResult, error) {
			return w.enqueue(m), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, m ChatMessage) error {
			return ValidateMessage(m)
		}},
	); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateStop, w.stop,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, r StopRequest) error {
			_, err := w.stoppable(r.MessageID)
			return err
		}},
	); err != nil {
		return err
	}
	signals := workflow.GetSignalChannel(ctx, SignalMessage)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var m ChatMessage
			signals.Receive(ctx, &m)
			w.receiveSignal(m)
		}
	})
	w.drainSignals = func() {
		for {
			var m ChatMessage
			if !signals.ReceiveAsync(&m) {
				return
			}
			w.receiveSignal(m)
		}
	}
	return nil
}

func (w *appWorkflow) receiveSignal(m ChatMessage) {
	// Signals are replayed: one that an older build took in must be taken in again, so
	// control characters (refused from the API and updates) become U+FFFD here instead
	// of a reason to drop the message.
	m.Text = strings.Map(func(r rune) rune {
		if isControl(r) {
			return utf8.RuneError
		}
		return r
	}, m.Text)
	if err := ValidateMessage(m); err != nil {
		w.log.Warn("ignoring invalid message signal", "error", err)
		return
	}
	w.enqueue(m)
}

// enqueue adds a message to the queue unless it was seen before.
func (w *appWorkflow) enqueue(m ChatMessage) SendResult {
	for _, id := range w.state.Seen {
		if id == m.ID {
			return SendResult{MessageID: m.ID, Duplicate: true}
		}
	}
	w.state.Seen = append(w.state.Seen, m.ID)
	if len(w.state.Seen) > seenLimit {
		w.state.Seen = append([]string(nil), w.state.Seen[len(w.state.Seen)-seenLimit:]...)
	}
	w.state.Queue = append(w.state.Queue, m)
	pos := len(w.state.Queue) - 1
	if w.state.Current != nil {
		pos++
	}
	return SendResult{MessageID: m.ID, Position: pos}
}

// stoppable says where a message to stop is: "waiting" in the queue or "working" as
// the turn that may still be stopped; otherwise why it cannot be stopped.
func (w *appWorkflow) stoppable(id string) (string, error) {
	for _, q := range w.state.Queue {
		if q.ID == id {
			return "waiting", nil
		}
	}
	if c := w.state.Current; c != nil && c.MessageID == id {
		if w.stopTurn == nil && !w.stopped {
			return "", temporal.NewApplicationError(fmt.Sprintf("message %s can no longer be stopped: %s", id, tooLateReason(c.Phase)), StopErrTooLate)
		}
		return "working", nil
	}
	if slices.Contains(w.state.Seen, id) {
		return "", temporal.NewApplicationError(fmt.Sprintf("message %s has been answered already", id), StopErrTooLate)
	}
	return "", temporal.NewApplicationError(fmt.Sprintf("there is no message %s waiting or at work", id), StopErrNotFound)
}

func tooLateReason(p Phase) string {
	switch p {
	case PhaseDeploy, PhaseVerify:
		return "its version is going live"
	}
	return "it is an operation that runs to its end (publish, rollback, restore, a domain)"
}

// stop takes a waiting message out of the queue and answers it, or cancels the turn at
// work, which then ends with its own answer.
func (w *appWorkflow) stop(ctx workflow.Context, r StopRequest) (StopResult, error) {
	was, err := w.stoppable(r.MessageID)
	if err != nil {
		return StopResult{}, err
	}
	res := StopResult{MessageID: r.MessageID, Was: was}
	if was == "working" {
		if !w.stopped {
			w.stopped = true
			w.stopTurn()
		}
		return res, nil
	}
	w.state.Queue = slices.DeleteFunc(w.state.Queue, func(q ChatMessage) bool { return q.ID == r.MessageID })
	w.finish(ctx, activities.FinishTurnInput{AppID: w.state.AppID, MessageID: r.MessageID, Outcome: activities.OutcomeStopped,
		Reply: "Stopped at your request before it started; nothing was changed."})
	return res, nil
}

func (w *appWorkflow) run(ctx workflow.Context) error {
	// Clients set the app ID attribute at start; a run started another way gets it here.
	if id, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(AppIDAttribute); !ok || id != w.state.AppID {
		if err := workflow.UpsertTypedSearchAttributes(ctx, AppIDAttribute.ValueSet(w.state.AppID)); err != nil {
			return err
		}
	}
	if !w.state.Loaded {
		w.setPhase(ctx, PhaseStarting)
		var snap activities.AppSnapshot
		err := workflow.ExecuteActivity(dbOptions(ctx), activities.LoadAppName, activities.LoadAppInput{AppID: w.state.AppID}).Get(ctx, &snap)
		if err != nil {
			return fmt.Errorf("load app %s: %w", w.state.AppID, err)
		}
		w.state.PreviewScript = snap.PreviewScript
		w.state.PreviewURL = snap.PreviewURL
		w.state.ProductionScript = snap.ProductionScript
		w.state.ProductionURL = snap.ProductionURL
		w.state.ProductionVersion = snap.ProductionVersion
		w.state.LatestVersion = snap.LatestVersion
		w.state.LiveVersion = snap.LiveVersion
		w.state.LiveVersionID = snap.LiveVersionID
		w.state.Loaded = true
	}
	w.setPhase(ctx, PhaseIdle)
	for {
		if err := workflow.Await(ctx, func() bool { return len(w.state.Queue) > 0 || w.shouldContinueAsNew(ctx) }); err != nil {
			return err
		}
		if w.shouldContinueAsNew(ctx) {
			return w.continueAsNew(ctx)
		}
		m := w.state.Queue[0]
		w.state.Queue = w.state.Queue[1:]
		w.handle(ctx, m)
		w.state.TurnsDone++
		w.state.TurnsThisRun++
	}
}

func (w *appWorkflow) shouldContinueAsNew(ctx workflow.Context) bool {
	return w.state.TurnsThisRun >= w.in.MaxTurnsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew starts a fresh run with the state, queue included, once every update
// handler has returned and every buffered signal is in the queue.
func (w *appWorkflow) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	w.drainSignals()
	state := w.state
	state.TurnsThisRun = 0
	state.Current = nil
	w.log.Info("continuing as new", "turns_done", state.TurnsDone, "queued", len(state.Queue))
	return workflow.NewContinueAsNewError(ctx, AppWorkflow, AppInput{AppID: w.in.AppID, MaxTurnsPerRun: w.in.MaxTurnsPerRun, Domains: w.in.Domains, State: &state})
}

func (w *appWorkflow) setPhase(ctx workflow.Context, p Phase) {
	if w.state.Phase == p {
		return
	}
	w.state.Phase = p
	if w.state.Current != nil {
		w.state.Current.Phase = p
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, PhaseAttribute.ValueSet(string(p))); err != nil {
		w.log.Warn("upsert phase", "error", err)
	}
}
