package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/models"
)

// Names of the domain workflow, pinned.
const (
	DomainWorkflowName = "DomainWorkflow"
	// SignalCheckNow makes a waiting domain workflow check at once.
	SignalCheckNow = "check_now"
	// SignalDetach removes the domain and ends the workflow.
	SignalDetach = "detach"
)

// DomainWorkflowID is the workflow ID of a hostname: one workflow per hostname.
func DomainWorkflowID(hostname string) string { return "domain/" + hostname }

// DomainOptions tune the waits.
type DomainOptions struct {
	// GiveUpAfter ends the waiting for DNS, and for the certificate (default 7 days,
	// Cloudflare's own re-check window); a "check now" starts it again.
	GiveUpAfter time.Duration `json:"give_up_after,omitempty"`
	// MinBackoff and MaxBackoff bound the durable timers between checks (10 s, 1 h).
	MinBackoff time.Duration `json:"min_backoff,omitempty"`
	MaxBackoff time.Duration `json:"max_backoff,omitempty"`
	// WatchEvery is how often an active domain is checked for DNS drift and certificate
	// expiry (default 6 h).
	WatchEvery time.Duration `json:"watch_every,omitempty"`
	// RenewWarning is how long before expiry a certificate that has not renewed is
	// reported (default 14 days).
	RenewWarning time.Duration `json:"renew_warning,omitempty"`
	// WatchesPerRun bounds watch rounds before continue-as-new (default 200).
	WatchesPerRun int `json:"watches_per_run,omitempty"`
}

func (o DomainOptions) withDefaults() DomainOptions {
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 7 * 24 * time.Hour
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.WatchEvery <= 0 {
		o.WatchEvery = 6 * time.Hour
	}
	if o.RenewWarning <= 0 {
		o.RenewWarning = 14 * 24 * time.Hour
	}
	if o.WatchesPerRun <= 0 {
		o.WatchesPerRun = 200
	}
	return o
}

// DomainInput starts a domain's workflow. State is set by continue-as-new, and for
// DetachOnly by what the domain's record knows (the zone and custom hostname to remove).
type DomainInput struct {
	AppID     string        `json:"app_id"`
	Hostname  string        `json:"hostname"`
	Mode      string        `json:"mode"`
	Primary   string        `json:"primary"`
	Secondary string        `json:"secondary,omitempty"`
	Script    string        `json:"script"`
	Options   DomainOptions `json:"options"`
	State     *DomainState  `json:"state,omitempty"`
	// DetachOnly removes the domain at once and ends: a detach asked for after the
	// domain's workflow had ended (its setup or an earlier detach failed) must still
	// clean up at Cloudflare, and this workflow is the one place that does.
	DetachOnly bool `json:"detach_only,omitempty"`
}

// DomainState is the domain workflow's state, returned by QueryState.
type DomainState struct {
	Status           string                   `json:"status"`
	Message          string                   `json:"message"`
	ZoneID           string                   `json:"zone_id,omitempty"`
	CustomHostnameID string                   `json:"custom_hostname_id,omitempty"`
	Instructions     []activities.Instruction `json:"instructions,omitempty"`
	Checks           int                      `json:"checks"`
	NextCheckAt      *time.Time               `json:"next_check_at,omitempty"`
	// Active means the domain served over HTTPS at least once; the workflow now watches.
	Active  bool `json:"active"`
	Watches int  `json:"watches"`
}

type domainWorkflow struct {
	in       DomainInput
	opts     DomainOptions
	state    DomainState
	checkNow workflow.ReceiveChannel
	detach   workflow.ReceiveChannel
	detached bool
	// redo: setting up again after drift, when Cloudflare's word is not enough.
	redo bool
}

// Changes to the domain workflow's commands, for workflow.GetVersion: histories
// recorded before a change replay the old way.
const (
	// changeCertificateGiveUp: the certificate wait gives up after GiveUpAfter.
	changeCertificateGiveUp = "domain-certificate-give-up"
	// changeDriftNeedsDNS: after drift, Cloudflare's "active" is ready only once our own
	// DNS check passes too.
	changeDriftNeedsDNS = "domain-drift-needs-dns"
	// changeLookupNotDrift: a DNS lookup that got no answer is noted, not drift.
	changeLookupNotDrift = "domain-lookup-not-drift"
	// changeWatchNextCheck: an active domain records its next watch, after every watch.
	changeWatchNextCheck = "domain-watch-next-check"
)

// errDetached ends the workflow when the user detaches the domain mid-way.
var errDetached = temporal.NewCanceledError("detached")

// DomainWorkflow sets a hostname up on the app's production script and keeps watching
// it for as long as it is attached: in zone mode (Cloudflare hosts the domain's DNS) or
// custom hostname mode (the user keeps their DNS; Cloudflare for SaaS). Waits are
// durable timers on a backoff, cut short by the "check now" signal; every state is
// recorded so that the API can show the user exactly what to do.
func DomainWorkflow(ctx workflow.Context, in DomainInput) error {
	w := &domainWorkflow{in: in, opts: in.Options.withDefaults()}
	if in.State != nil {
		w.state = *in.State
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (DomainState, error) { return w.state, nil }); err != nil {
		return err
	}
	w.checkNow = workflow.GetSignalChannel(ctx, SignalCheckNow)
	w.detach = workflow.GetSignalChannel(ctx, SignalDetach)
	if in.DetachOnly {
		// The detach signal it was started with (signal-with-start) is this very detach.
		for w.detach.ReceiveAsync(nil) {
		}
		return w.remove(ctx)
	}
	err := w.run(ctx)
	if err == errDetached || w.detached {
		return w.remove(ctx)
	}
	return err
}

func (w *domainWorkflow) activityInput() activities.DomainInput {
	return activities.DomainInput{AppID: w.in.AppID, Hostname: w.in.Hostname, Mode: w.in.Mode, Primary: w.in.Primary,
		Secondary: w.in.Secondary, Script: w.in.Script, ZoneID: w.state.ZoneID, CustomHostnameID: w.state.CustomHostnameID}
}

func domainOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              DeployTaskQueue,
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidInput, activities.ErrTypeCloudflareAuth, activities.ErrTypeCloudflareReject, activities.ErrTypeDomainConflict}},
	})
}

func (w *domainWorkflow) run(ctx workflow.Context) error {
	if !w.state.Active {
		if err := w.setUp(ctx); err != nil {
			return err
		}
	}
	return w.watch(ctx)
}

// setUp takes the domain from nothing to serving over HTTPS.
func (w *domainWorkflow) setUp(ctx workflow.Context) error {
	// 1. The zone or custom hostname, and what the user must set.
	for w.state.ZoneID == "" && w.state.CustomHostnameID == "" {
		w.record(ctx, models.DomainPending, fmt.Sprintf("Setting up %s (%s).", w.in.Hostname, modeWords(w.in.Mode)), "domain_pending")
		var setup activities.DomainSetupResult
		if err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainSetupName, w.activityInput()).Get(ctx, &setup); err != nil {
			w.record(ctx, models.DomainFailed, fmt.Sprintf("Setting up %s failed: %s. Check it again once that is fixed.", w.in.Hostname, errorMessage(err)), "domain_failed")
			if err := w.waitForCheck(ctx, 0); err != nil {
				return err
			}
			continue
		}
		if setup.Conflict != "" {
			w.record(ctx, models.DomainConflict, setup.Conflict, "domain_conflict")
			if err := w.waitForCheck(ctx, 0); err != nil {
				return err
			}
			continue
		}
		w.state.ZoneID, w.state.CustomHostnameID, w.state.Instructions = setup.ZoneID, setup.CustomHostnameID, setup.Instructions
	}

	// 2. Wait for the user's DNS changes (and, for custom hostnames, the certificate).
	if err := w.waitUntilReady(ctx); err != nil {
		return err
	}

	// 3. Attach to the production script (and redirect the counterpart).
	for {
		var res activities.DomainAttachResult
		if err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainAttachName, w.activityInput()).Get(ctx, &res); err != nil {
			res.Conflict = fmt.Sprintf("Attaching %s to the app failed: %s.", w.in.Hostname, errorMessage(err))
		}
		if res.Conflict == "" {
			break
		}
		w.record(ctx, models.DomainConflict, res.Conflict, "domain_conflict")
		if err := w.waitForCheck(ctx, 0); err != nil {
			return err
		}
	}

	// 4. Zone mode: the certificate, then Always Use HTTPS.
	if w.in.Mode == models.DomainZone {
		if err := w.waitForCertificate(ctx); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainHTTPSName, w.activityInput()).Get(ctx, nil); err != nil {
			w.record(ctx, models.DomainFailed, fmt.Sprintf("Turning on HTTPS for %s failed: %s.", w.in.Hostname, errorMessage(err)), "domain_failed")
			return w.waitForCheck(ctx, 0)
		}
	}
	w.state.Active = true
	now := workflow.Now(ctx)
	r := activities.DomainRecordInput{Status: models.DomainActive, Message: w.liveMessage(), EventType: "domain_active", ActiveAt: &now}
	if workflow.GetVersion(ctx, changeWatchNextCheck, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		next := now.Add(w.opts.WatchEvery) // the first watch
		r.NextCheckAt = &next
	}
	w.recordWith(ctx, r)
	return nil
}

// liveMessage is the message of an active domain.
func (w *domainWorkflow) liveMessage() string {
	msg := fmt.Sprintf("https://%s is live.", w.in.Primary)
	if w.in.Secondary != "" {
		msg += fmt.Sprintf(" https://%s redirects to it.", w.in.Secondary)
	}
	return msg
}

// waitUntilReady checks on a backoff until the zone (or custom hostname and its
// certificate) is active, telling the user what is missing each time. After
// GiveUpAfter it gives up with a clear state and waits for a "check now".
func (w *domainWorkflow) waitUntilReady(ctx workflow.Context) error {
	started := workflow.Now(ctx)
	backoff := w.opts.MinBackoff
	for {
		obs, err := w.check(ctx)
		if err != nil {
			// Cloudflare or our resolver did not answer: say so, and look again later.
			next := workflow.Now(ctx).Add(backoff)
			w.recordWith(ctx, activities.DomainRecordInput{Status: models.DomainWaitingDNS, NextCheckAt: &next,
				Message: fmt.Sprintf("Checking %s did not work this time (%s); checking again soon.", w.in.Hostname, errorMessage(err))})
			if err := w.waitForCheck(ctx, backoff); err != nil {
				return err
			}
			backoff = min(backoff*2, w.opts.MaxBackoff)
			continue
		}
		if obs.Ready && w.redo && !obs.DNSOK &&
			workflow.GetVersion(ctx, changeDriftNeedsDNS, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			// The domain drifted: Cloudflare may still call the zone active while the
			// DNS is wrong, so it is ready only when our own check passes too. (Without a
			// resolver the check is skipped and passes.)
			obs.Ready = false
		}
		if obs.Ready {
			return nil
		}
		if obs.Failed != "" {
			w.record(ctx, models.DomainFailed, obs.Failed, "domain_failed")
			if err := w.waitForCheck(ctx, 0); err != nil {
				return err
			}
			started, backoff = workflow.Now(ctx), w.opts.MinBackoff
			continue
		}
		if workflow.Now(ctx).Sub(started) >= w.opts.GiveUpAfter {
			w.record(ctx, models.DomainGaveUp, fmt.Sprintf("Gave up waiting after %s: %s Once the records are set, check again (POST …/domains/%s/check).",
				days(w.opts.GiveUpAfter), waitingMessage(w.in, w.state.Instructions, obs), w.in.Hostname), "domain_gave_up")
			if err := w.waitForCheck(ctx, 0); err != nil {
				return err
			}
			started, backoff = workflow.Now(ctx), w.opts.MinBackoff
			continue
		}
		next := workflow.Now(ctx).Add(backoff)
		w.recordWith(ctx, activities.DomainRecordInput{Status: models.DomainWaitingDNS, Message: waitingMessage(w.in, w.state.Instructions, obs),
			Observed: &obs, EventType: "domain_waiting", NextCheckAt: &next})
		if err := w.waitForCheck(ctx, backoff); err != nil {
			return err
		}
		backoff = min(backoff*2, w.opts.MaxBackoff)
	}
}

// waitForCertificate polls the certificate on a backoff until it is active. After
// GiveUpAfter it gives up with a clear state and waits for a "check now".
func (w *domainWorkflow) waitForCertificate(ctx workflow.Context) error {
	backoff := w.opts.MinBackoff
	started := workflow.Now(ctx)
	for {
		var cert activities.CertificateResult
		if err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainCertificateName, w.activityInput()).Get(ctx, &cert); err != nil {
			cert.Status = "unknown (" + errorMessage(err) + ")"
		}
		if cert.Active {
			exp := cert.ExpiresAt
			w.recordWith(ctx, activities.DomainRecordInput{Status: models.DomainCertificate, Message: fmt.Sprintf("The certificate for %s is active.", w.in.Hostname),
				CertificateStatus: cert.Status, CertificateExpiry: &exp})
			return nil
		}
		if cert.Failed != "" {
			w.recordWith(ctx, activities.DomainRecordInput{Status: models.DomainFailed, Message: cert.Failed, CertificateStatus: cert.Status, EventType: "domain_failed"})
			if err := w.waitForCheck(ctx, 0); err != nil {
				return err
			}
			started, backoff = workflow.Now(ctx), w.opts.MinBackoff
			continue
		}
		if workflow.Now(ctx).Sub(started) >= w.opts.GiveUpAfter &&
			workflow.GetVersion(ctx, changeCertificateGiveUp, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			w.recordWith(ctx, activities.DomainRecordInput{Status: models.DomainGaveUp, CertificateStatus: cert.Status, EventType: "domain_gave_up",
				Message: fmt.Sprintf("Gave up waiting after %s: Cloudflare never issued the certificate for %s (last seen: status %s). Check again to wait once more (POST …/domains/%s/check); if it stays stuck, detach the domain and attach it again so that Cloudflare orders a new certificate.",
					days(w.opts.GiveUpAfter), w.in.Hostname, orUnknown(cert.Status), w.in.Hostname)})
			if err := w.waitForCheck(ctx, 0); err != nil {
				return err
			}
			started, backoff = workflow.Now(ctx), w.opts.MinBackoff
			continue
		}
		msg := fmt.Sprintf("Cloudflare is issuing the certificate for %s (status %s, waiting %s so far); nothing to do.", w.in.Hostname, cert.Status,
			workflow.Now(ctx).Sub(started).Round(time.Second))
		next := workflow.Now(ctx).Add(backoff)
		w.recordWith(ctx, activities.DomainRecordInput{Status: models.DomainCertificate, Message: msg, CertificateStatus: cert.Status, NextCheckAt: &next})
		if err := w.waitForCheck(ctx, backoff); err != nil {
			return err
		}
		backoff = min(backoff*2, w.opts.MaxBackoff)
	}
}

// watch checks an active domain now and then for DNS drift and certificate expiry,
// and sets it up again when it drifted. It continues as new now and then.
func (w *domainWorkflow) watch(ctx workflow.Context) error {
	v := workflow.GetVersion(ctx, changeWatchNextCheck, workflow.DefaultVersion, 1)
	for i := 0; i < w.opts.WatchesPerRun; i++ {
		wait := w.opts.WatchEvery
		if v == workflow.DefaultVersion {
			next := workflow.Now(ctx).Add(w.opts.WatchEvery)
			w.state.NextCheckAt = &next
		} else {
			// Each watch records when the next one is (going active records the first);
			// record it here only when nothing in the future was.
			if w.state.NextCheckAt == nil || !w.state.NextCheckAt.After(workflow.Now(ctx)) {
				next := workflow.Now(ctx).Add(w.opts.WatchEvery)
				w.recordWith(ctx, activities.DomainRecordInput{Status: w.state.Status, Message: w.state.Message, NextCheckAt: &next})
			}
			wait = max(w.state.NextCheckAt.Sub(workflow.Now(ctx)), time.Second)
		}
		if err := w.waitForCheck(ctx, wait); err != nil {
			return err
		}
		if v != workflow.DefaultVersion {
			w.state.NextCheckAt = nil // checking now
		}
		w.state.Watches++
		obs, err := w.check(ctx)
		if err != nil {
			// A failed look is not drift; the next watch looks again.
			w.watched(ctx, v, activities.DomainRecordInput{Status: w.state.Status, Message: w.state.Message})
			continue
		}
		if obs.Ready && obs.LookupFailed &&
			workflow.GetVersion(ctx, changeLookupNotDrift, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			// Cloudflare still serves it and our own lookup got no answer: nothing is
			// known to be wrong. Note it; the next watch looks again.
			workflow.GetLogger(ctx).Warn("domain watch: DNS lookup failed", "hostname", w.in.Hostname, "findings", obs.Findings)
			w.watched(ctx, v, activities.DomainRecordInput{Status: models.DomainActive, Observed: &obs,
				Message: w.liveMessage() + " The last watch could not check its DNS: " + strings.Join(obs.Findings, " ")})
			continue
		}
		if !obs.Ready || !obs.DNSOK {
			w.state.Active = false
			w.recordObservation(ctx, models.DomainDrift, fmt.Sprintf("%s no longer points where it must: %s", w.in.Hostname, waitingMessage(w.in, w.state.Instructions, obs)), obs, "domain_drift")
			w.redo = true
			err := w.setUp(ctx)
			w.redo = false
			if err != nil {
				return err
			}
			continue
		}
		if w.in.Mode == models.DomainZone {
			var cert activities.CertificateResult
			if err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainCertificateName, w.activityInput()).Get(ctx, &cert); err != nil {
				w.watched(ctx, v, activities.DomainRecordInput{Status: w.state.Status, Message: w.state.Message})
				continue
			}
			if !cert.Active || (!cert.ExpiresAt.IsZero() && cert.ExpiresAt.Sub(workflow.Now(ctx)) < w.opts.RenewWarning) {
				exp := cert.ExpiresAt
				w.watchedAlways(ctx, v, activities.DomainRecordInput{Status: models.DomainCertificate, CertificateStatus: cert.Status, CertificateExpiry: &exp, EventType: "domain_certificate",
					Message: fmt.Sprintf("The certificate for %s expires %s and has not renewed yet (status %s); Cloudflare renews it on its own when DNS points at it.", w.in.Hostname, exp.Format("2006-01-02"), cert.Status)})
				continue
			}
		}
		// All well: the domain is live (again, after a note or a warning).
		w.watched(ctx, v, activities.DomainRecordInput{Status: models.DomainActive, Message: w.liveMessage(), Observed: &obs})
	}
	state := w.state
	return workflow.NewContinueAsNewError(ctx, DomainWorkflow, DomainInput{AppID: w.in.AppID, Hostname: w.in.Hostname, Mode: w.in.Mode,
		Primary: w.in.Primary, Secondary: w.in.Secondary, Script: w.in.Script, Options: w.in.Options, State: &state})
}

// watched records how a watch went, with the next watch's time. Before
// changeWatchNextCheck a watch recorded nothing.
func (w *domainWorkflow) watched(ctx workflow.Context, v workflow.Version, r activities.DomainRecordInput) {
	if v == workflow.DefaultVersion {
		return
	}
	w.watchedAlways(ctx, v, r)
}

// watchedAlways records how a watch went (before changeWatchNextCheck too, with no
// next check then).
func (w *domainWorkflow) watchedAlways(ctx workflow.Context, v workflow.Version, r activities.DomainRecordInput) {
	if v != workflow.DefaultVersion {
		next := workflow.Now(ctx).Add(w.opts.WatchEvery)
		r.NextCheckAt = &next
	}
	w.recordWith(ctx, r)
}

// check observes the domain once.
func (w *domainWorkflow) check(ctx workflow.Context) (activities.DomainObservation, error) {
	w.state.Checks++
	var obs activities.DomainObservation
	err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainCheckName, w.activityInput()).Get(ctx, &obs)
	if len(obs.Instructions) > 0 {
		w.state.Instructions = obs.Instructions
	}
	return obs, err
}

// waitForCheck waits for the timer (0: no timer, only a signal), a "check now" or a
// detach; a detach returns errDetached.
func (w *domainWorkflow) waitForCheck(ctx workflow.Context, d time.Duration) error {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	woke := false
	if d > 0 {
		sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { woke = true })
	}
	sel.AddReceive(w.checkNow, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		// Several "check now" in a row are one.
		for c.ReceiveAsync(nil) {
		}
		woke = true
	})
	sel.AddReceive(w.detach, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		w.detached = true
	})
	for !woke && !w.detached {
		sel.Select(ctx)
	}
	if w.detached {
		return errDetached
	}
	return nil
}

// remove detaches the domain from Cloudflare and deletes its record. When the detach
// fails the record stays, saying so and what to do: detaching again starts a
// detach-only workflow (the API does that once this one has ended), so the domain is
// never stuck. The error still ends the run as failed, for the operator.
func (w *domainWorkflow) remove(ctx workflow.Context) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	w.record(ctx, models.DomainDetaching, fmt.Sprintf("Detaching %s.", w.in.Hostname), "")
	if err := workflow.ExecuteActivity(domainOptions(ctx), activities.DomainDetachName, w.activityInput()).Get(ctx, nil); err != nil {
		w.record(ctx, models.DomainFailed, fmt.Sprintf("Detaching %s failed: %s. It may still be set up at Cloudflare; detach it again to retry (DELETE /v1/apps/%s/domains/%s).",
			w.in.Hostname, errorMessage(err), w.in.AppID, w.in.Hostname), "domain_failed")
		return err
	}
	w.recordWith(ctx, activities.DomainRecordInput{Delete: true, Status: "detached", Message: fmt.Sprintf("%s is detached from the app.", w.in.Hostname), EventType: "domain_detached"})
	return nil
}

func (w *domainWorkflow) record(ctx workflow.Context, status, msg, event string) {
	w.recordWith(ctx, activities.DomainRecordInput{Status: status, Message: msg, EventType: event})
}

func (w *domainWorkflow) recordObservation(ctx workflow.Context, status, msg string, obs activities.DomainObservation, event string) {
	w.recordWith(ctx, activities.DomainRecordInput{Status: status, Message: msg, Observed: &obs, EventType: event})
}

// recordWith saves what the API shows; the event, when named, tells the app's chat.
// A message repeated while waiting is not sent as an event again. r.NextCheckAt is
// when the workflow checks next, nil when nothing is scheduled (it waits for the
// user, or goes on at once).
func (w *domainWorkflow) recordWith(ctx workflow.Context, r activities.DomainRecordInput) {
	if r.Status == w.state.Status && r.Message == w.state.Message && r.EventType != "domain_active" {
		r.EventType = ""
	}
	w.state.Status, w.state.Message, w.state.NextCheckAt = r.Status, r.Message, r.NextCheckAt
	r.AppID, r.Hostname, r.Mode, r.Primary, r.Secondary = w.in.AppID, w.in.Hostname, w.in.Mode, w.in.Primary, w.in.Secondary
	r.ZoneID, r.CustomHostnameID, r.Instructions = w.state.ZoneID, w.state.CustomHostnameID, w.state.Instructions
	now := workflow.Now(ctx)
	r.CheckedAt = &now
	dbCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: TaskQueue, StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if err := workflow.ExecuteActivity(dbCtx, activities.DomainRecordName, r).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("record domain state", "hostname", w.in.Hostname, "error", err)
	}
}

func modeWords(mode string) string {
	if mode == models.DomainCustomHostname {
		return "you keep your DNS; Cloudflare for SaaS serves it"
	}
	return "Cloudflare will host its DNS"
}

// waitingMessage says what is still missing, from our own DNS check, and what to set.
func waitingMessage(in DomainInput, instr []activities.Instruction, obs activities.DomainObservation) string {
	var b strings.Builder
	if len(obs.Findings) > 0 {
		b.WriteString(strings.Join(obs.Findings, " "))
	} else if in.Mode == models.DomainZone {
		fmt.Fprintf(&b, "Cloudflare has not seen the nameserver change for %s yet (zone status %s).", apexOf(in), orUnknown(obs.ProviderStatus))
	} else {
		fmt.Fprintf(&b, "Cloudflare has not validated %s yet (hostname %s, certificate %s).", in.Hostname, orUnknown(obs.ProviderStatus), orUnknown(obs.SSLStatus))
	}
	if len(instr) > 0 && !obs.DNSOK && !obs.LookupFailed {
		b.WriteString(" Set:")
		for _, i := range instr {
			fmt.Fprintf(&b, " %s %s %s;", i.Type, i.Name, i.Value)
		}
		s := strings.TrimSuffix(b.String(), ";")
		b.Reset()
		b.WriteString(s + ".")
	}
	return b.String()
}

func apexOf(in DomainInput) string {
	if in.Secondary != "" && !strings.HasPrefix(in.Secondary, "www.") {
		return in.Secondary
	}
	return in.Primary
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func days(d time.Duration) string {
	if d >= 24*time.Hour {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
