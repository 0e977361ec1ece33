package workflows

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/domains"
	"github.com/appforge/appforge/models"
)

// fakeDomain plays Cloudflare and the user's DNS for the domain workflow.
type fakeDomain struct {
	mu      sync.Mutex
	calls   []string
	records []activities.DomainRecordInput

	readyAfter   int  // checks before the zone (or custom hostname) is ready; -1 never
	certAfter    int  // certificate checks before it is active
	certFails    bool // the certificate fails validation until checkNow
	conflictOnce bool // the first attach finds a DNS record in the way
	driftAt      int  // the check number (counting all) that sees the DNS gone
	// dnsWrongUntil: after the drift, checks up to this number find Cloudflare still
	// calling the zone active while our own DNS check fails.
	dnsWrongUntil int
	// lookupAt: the check number answered by lookup (the real activity, say).
	lookupAt int
	lookup   func(context.Context, activities.DomainInput) (activities.DomainObservation, error)
	// recordTo, when set, saves the records through the real activity too.
	recordTo *activities.Activities
	// detachFails: Cloudflare refuses the detach.
	detachFails bool
	detached    []activities.DomainInput

	checks, certChecks, attaches int
}

func (f *fakeDomain) record(c string) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

func (f *fakeDomain) Setup(ctx context.Context, in activities.DomainInput) (activities.DomainSetupResult, error) {
	f.record("Setup")
	return activities.DomainSetupResult{ZoneID: "zone1", Instructions: []activities.Instruction{
		{Type: "NS", Name: "myapp.com", Value: "ada.ns.cloudflare.com", Purpose: "nameserver"},
		{Type: "NS", Name: "myapp.com", Value: "bob.ns.cloudflare.com", Purpose: "nameserver"},
	}}, nil
}

func (f *fakeDomain) Check(ctx context.Context, in activities.DomainInput) (activities.DomainObservation, error) {
	f.mu.Lock()
	f.checks++
	n := f.checks
	f.mu.Unlock()
	f.record("Check")
	if f.lookupAt > 0 && n == f.lookupAt {
		return f.lookup(ctx, in)
	}
	if f.driftAt > 0 && n == f.driftAt {
		return activities.DomainObservation{Findings: []string{"your nameservers are ns1.registrar.example again."}, ProviderStatus: "moved"}, nil
	}
	if f.driftAt > 0 && n > f.driftAt && n <= f.dnsWrongUntil {
		return activities.DomainObservation{Ready: true, Findings: []string{"your nameservers are ns1.registrar.example again."}, ProviderStatus: "active"}, nil
	}
	if f.readyAfter < 0 || n <= f.readyAfter {
		return activities.DomainObservation{Findings: []string{"your nameservers are still ns1.registrar.example and ns2.registrar.example."}, ProviderStatus: "pending"}, nil
	}
	return activities.DomainObservation{Ready: true, DNSOK: true, ProviderStatus: "active"}, nil
}

func (f *fakeDomain) Attach(ctx context.Context, in activities.DomainInput) (activities.DomainAttachResult, error) {
	f.mu.Lock()
	f.attaches++
	n := f.attaches
	f.mu.Unlock()
	f.record("Attach")
	if f.conflictOnce && n == 1 {
		return activities.DomainAttachResult{Conflict: "A DNS record for myapp.com already exists (code 100117): delete it in the zone, then check again."}, nil
	}
	return activities.DomainAttachResult{}, nil
}

func (f *fakeDomain) Certificate(ctx context.Context, in activities.DomainInput) (activities.CertificateResult, error) {
	f.mu.Lock()
	f.certChecks++
	n := f.certChecks
	fails := f.certFails
	f.mu.Unlock()
	f.record("Certificate")
	if fails {
		return activities.CertificateResult{Status: "validation_timed_out", Failed: "The certificate for myapp.com failed validation (validation_timed_out)."}, nil
	}
	if n <= f.certAfter {
		return activities.CertificateResult{Status: "pending_validation"}, nil
	}
	return activities.CertificateResult{Active: true, Status: "active", ExpiresAt: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func (f *fakeDomain) HTTPS(ctx context.Context, in activities.DomainInput) error {
	f.record("HTTPS")
	return nil
}

func (f *fakeDomain) Record(ctx context.Context, in activities.DomainRecordInput) error {
	f.mu.Lock()
	f.records = append(f.records, in)
	f.mu.Unlock()
	if f.recordTo != nil {
		return f.recordTo.DomainRecord(ctx, in)
	}
	return nil
}

func (f *fakeDomain) Detach(ctx context.Context, in activities.DomainInput) error {
	f.record("Detach")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.detached = append(f.detached, in)
	if f.detachFails {
		return temporal.NewNonRetryableApplicationError("Cloudflare refused: the token may not edit myapp.com", activities.ErrTypeCloudflareReject, nil)
	}
	return nil
}

func (f *fakeDomain) statuses() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if len(out) == 0 || out[len(out)-1] != r.Status {
			out = append(out, r.Status)
		}
	}
	return out
}

func (f *fakeDomain) lastRecord() activities.DomainRecordInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.records[len(f.records)-1]
}

func newDomainEnv(t *testing.T, f *fakeDomain) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(DomainWorkflow, workflow.RegisterOptions{Name: DomainWorkflowName})
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(activities.DomainSetupName, f.Setup)
	reg(activities.DomainCheckName, f.Check)
	reg(activities.DomainAttachName, f.Attach)
	reg(activities.DomainCertificateName, f.Certificate)
	reg(activities.DomainHTTPSName, f.HTTPS)
	reg(activities.DomainRecordName, f.Record)
	reg(activities.DomainDetachName, f.Detach)
	return env
}

func zoneInput() DomainInput {
	return DomainInput{AppID: "app1", Hostname: "myapp.com", Mode: models.DomainZone, Primary: "myapp.com", Secondary: "www.myapp.com", Script: "app1"}
}

// runDomain runs the workflow until it has been active for a moment, then detaches it.
func runDomain(t *testing.T, env *testsuite.TestWorkflowEnvironment, in DomainInput, stopAfter time.Duration, during func()) {
	t.Helper()
	if during != nil {
		during()
	}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalDetach, nil) }, stopAfter)
	env.ExecuteWorkflow(DomainWorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
}

func TestDomainZoneModeGoesActive(t *testing.T) {
	f := &fakeDomain{readyAfter: 2, certAfter: 1}
	env := newDomainEnv(t, f)
	var mid DomainState
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryState)
		v.Get(&mid)
	}, 5*time.Second)
	runDomain(t, env, zoneInput(), time.Hour, nil)

	want := "Setup,Check,Check,Check,Attach,Certificate,Certificate,HTTPS,Detach"
	if got := strings.Join(f.calls, ","); got != want {
		t.Errorf("calls = %s\nwant    %s", got, want)
	}
	if got := strings.Join(f.statuses(), ","); got != "pending,waiting_for_dns,issuing_certificate,active,detaching,detached" {
		t.Errorf("statuses = %s", got)
	}
	if mid.Status != models.DomainWaitingDNS || mid.NextCheckAt == nil || len(mid.Instructions) != 2 {
		t.Errorf("state while waiting = %+v", mid)
	}
	var waiting, active activities.DomainRecordInput
	for _, r := range f.records {
		if r.Status == models.DomainWaitingDNS && waiting.Status == "" {
			waiting = r
		}
		if r.Status == models.DomainActive {
			active = r
		}
	}
	if !strings.Contains(waiting.Message, "your nameservers are still ns1.registrar.example") || !strings.Contains(waiting.Message, "NS myapp.com ada.ns.cloudflare.com") {
		t.Errorf("waiting message = %q", waiting.Message)
	}
	if waiting.NextCheckAt == nil || waiting.EventType != "domain_waiting" {
		t.Errorf("waiting record = %+v", waiting)
	}
	if active.Message != "https://myapp.com is live. https://www.myapp.com redirects to it." || active.ActiveAt == nil || active.EventType != "domain_active" {
		t.Errorf("active record = %+v", active)
	}
	if last := f.lastRecord(); !last.Delete {
		t.Errorf("detach did not delete the record: %+v", last)
	}
}

func TestDomainThatNeverActivatesGivesUp(t *testing.T) {
	f := &fakeDomain{readyAfter: -1}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{GiveUpAfter: 7 * 24 * time.Hour}
	var gaveUp DomainState
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryState)
		v.Get(&gaveUp)
		// The user fixes DNS and asks for a check: it starts waiting again.
		f.mu.Lock()
		f.readyAfter = f.checks
		f.mu.Unlock()
		env.SignalWorkflow(SignalCheckNow, nil)
	}, 8*24*time.Hour)
	runDomain(t, env, in, 9*24*time.Hour, nil)
	if gaveUp.Status != models.DomainGaveUp || !strings.Contains(gaveUp.Message, "Gave up waiting after 7 days") || !strings.Contains(gaveUp.Message, "check again") {
		t.Errorf("after 8 days: %+v", gaveUp)
	}
	if gaveUp.NextCheckAt != nil {
		t.Errorf("gave up, yet the next check is %v: none is scheduled", gaveUp.NextCheckAt)
	}
	// Backoff: 10 s doubling to an hour, so about 24 checks a day at the end, not thousands.
	if f.checks < 10 || f.checks > 250 {
		t.Errorf("checks over 7 days = %d, want a backoff", f.checks)
	}
	statuses := strings.Join(f.statuses(), ",")
	if !strings.Contains(statuses, "gave_up,waiting_for_dns") && !strings.Contains(statuses, "gave_up,issuing_certificate") {
		t.Errorf("statuses = %s: a check after giving up must start again", statuses)
	}
	if !strings.Contains(statuses, "active") {
		t.Errorf("statuses = %s: never went active after the fix", statuses)
	}
}

func TestDomainCheckNowCutsTheWaitShort(t *testing.T) {
	f := &fakeDomain{readyAfter: -1}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{MinBackoff: time.Hour, MaxBackoff: time.Hour}
	env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		f.readyAfter = f.checks
		f.mu.Unlock()
		env.SignalWorkflow(SignalCheckNow, nil)
	}, time.Minute)
	var st DomainState
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryState)
		v.Get(&st)
	}, 2*time.Minute)
	runDomain(t, env, in, 3*time.Minute, nil)
	if !st.Active {
		t.Errorf("two minutes after check_now (timers an hour long) the domain is %+v", st)
	}
}

func TestDomainCertificateFailsThenRecovers(t *testing.T) {
	f := &fakeDomain{certFails: true}
	env := newDomainEnv(t, f)
	env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		f.certFails = false
		f.mu.Unlock()
		env.SignalWorkflow(SignalCheckNow, nil)
	}, 30*time.Minute)
	runDomain(t, env, zoneInput(), time.Hour, nil)
	statuses := strings.Join(f.statuses(), ",")
	if !strings.Contains(statuses, "failed,issuing_certificate,active") {
		t.Errorf("statuses = %s", statuses)
	}
	for _, r := range f.records {
		if r.Status == models.DomainFailed && !strings.Contains(r.Message, "failed validation") {
			t.Errorf("failed record = %q", r.Message)
		}
	}
}

func TestDomainConflictNeedsTheUser(t *testing.T) {
	f := &fakeDomain{conflictOnce: true}
	env := newDomainEnv(t, f)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCheckNow, nil) }, 10*time.Minute)
	runDomain(t, env, zoneInput(), time.Hour, nil)
	statuses := strings.Join(f.statuses(), ",")
	if !strings.Contains(statuses, "conflict,issuing_certificate,active") {
		t.Errorf("statuses = %s", statuses)
	}
	if f.attaches != 2 {
		t.Errorf("attaches = %d: the conflict must wait for the user, not retry in a loop", f.attaches)
	}
}

func TestDomainDriftIsNoticedAndRepaired(t *testing.T) {
	f := &fakeDomain{driftAt: 2}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{WatchEvery: time.Hour}
	runDomain(t, env, in, 5*time.Hour, nil)
	statuses := strings.Join(f.statuses(), ",")
	if !strings.Contains(statuses, "active,dns_drift") || strings.Count(statuses, "active") < 2 {
		t.Errorf("statuses = %s: drift must be reported and the domain set up again", statuses)
	}
	for _, r := range f.records {
		if r.Status == models.DomainDrift && (r.EventType != "domain_drift" || !strings.Contains(r.Message, "no longer points")) {
			t.Errorf("drift record = %+v", r)
		}
	}
}

func TestDomainCustomHostnameMode(t *testing.T) {
	f := &fakeDomain{readyAfter: 1}
	env := newDomainEnv(t, f)
	in := DomainInput{AppID: "app1", Hostname: "shop.example.org", Mode: models.DomainCustomHostname, Primary: "shop.example.org", Script: "app1"}
	runDomain(t, env, in, time.Hour, nil)
	if got := strings.Join(f.calls, ","); got != "Setup,Check,Check,Attach,Detach" {
		t.Errorf("calls = %s (no zone certificate or HTTPS step in custom hostname mode)", got)
	}
}

func TestDomainWatchContinuesAsNew(t *testing.T) {
	f := &fakeDomain{}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{WatchEvery: time.Hour, WatchesPerRun: 2}
	env.ExecuteWorkflow(DomainWorkflowName, in)
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(fmt.Sprint(err), "continue as new") {
		t.Fatalf("error = %v, want continue-as-new after the watches", err)
	}
}

func TestDomainCertificateThatNeverIssuesGivesUp(t *testing.T) {
	f := &fakeDomain{certAfter: 1 << 30}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{GiveUpAfter: 2 * 24 * time.Hour}
	var gaveUp DomainState
	var certChecksThen, certChecksLater int
	env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		certChecksThen = f.certChecks
		f.mu.Unlock()
	}, 60*time.Hour)
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryState)
		v.Get(&gaveUp)
		f.mu.Lock()
		certChecksLater = f.certChecks
		// Cloudflare issues it after all; the user checks again.
		f.certAfter = 0
		f.mu.Unlock()
		env.SignalWorkflow(SignalCheckNow, nil)
	}, 3*24*time.Hour)
	runDomain(t, env, in, 4*24*time.Hour, nil)

	if gaveUp.Status != models.DomainGaveUp || gaveUp.Active {
		t.Fatalf("after 3 days of a certificate that never issues: %+v", gaveUp)
	}
	for _, want := range []string{"Gave up waiting after 2 days", "never issued the certificate for myapp.com", "pending_validation", "Check again", "attach it again"} {
		if !strings.Contains(gaveUp.Message, want) {
			t.Errorf("gave-up message lacks %q: %q", want, gaveUp.Message)
		}
	}
	if gaveUp.NextCheckAt != nil {
		t.Errorf("gave up, yet the next check is %v", gaveUp.NextCheckAt)
	}
	if certChecksLater != certChecksThen || certChecksThen > 100 {
		t.Errorf("certificate checks: %d at 60 h, %d at 72 h: giving up must stop polling", certChecksThen, certChecksLater)
	}
	var rec activities.DomainRecordInput
	for _, r := range f.records {
		if r.Status == models.DomainGaveUp {
			rec = r
		}
	}
	if rec.EventType != "domain_gave_up" || rec.CertificateStatus != "pending_validation" || rec.NextCheckAt != nil {
		t.Errorf("gave-up record = %+v", rec)
	}
	if statuses := strings.Join(f.statuses(), ","); !strings.Contains(statuses, "issuing_certificate,gave_up,issuing_certificate,active") {
		t.Errorf("statuses = %s: a check after giving up must wait for the certificate again", statuses)
	}
}

// silentResolver is a DNS server that never answers: our own lookups time out.
func silentResolver(t *testing.T) *domains.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &domains.Resolver{Servers: []string{pc.LocalAddr().String()}, Timeout: 50 * time.Millisecond}
}

// activeZone is Cloudflare with the zone active; nothing else is called.
type activeZone struct{ activities.DomainProvider }

func (activeZone) Zone(ctx context.Context, id string) (cloudflare.Zone, error) {
	return cloudflare.Zone{ID: id, Name: "myapp.com", Status: cloudflare.ZoneActive, NameServers: []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"}}, nil
}

func TestDomainFailedLookupIsNotDrift(t *testing.T) {
	cf := &activities.Activities{DomainProvider: activeZone{}, Domains: activities.DomainConfig{Resolver: silentResolver(t)}}
	// The first watch's check is the real activity, whose DNS lookup times out.
	f := &fakeDomain{lookupAt: 2, lookup: cf.DomainCheck}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{WatchEvery: time.Hour}
	runDomain(t, env, in, 150*time.Minute, nil)

	statuses := strings.Join(f.statuses(), ",")
	if strings.Contains(statuses, models.DomainDrift) {
		t.Errorf("statuses = %s: a DNS lookup that timed out is not drift", statuses)
	}
	if got, want := strings.Join(f.calls, ","), "Setup,Check,Attach,Certificate,HTTPS,Check,Check,Certificate,Detach"; got != want {
		t.Errorf("calls = %s\nwant    %s (no new setup; the next watch looks again)", got, want)
	}
	noted := false
	var last activities.DomainRecordInput
	for _, r := range f.records {
		if r.Status == models.DomainActive && strings.Contains(r.Message, "could not check its DNS") && strings.Contains(r.Message, "could not look myapp.com up in DNS") {
			noted = r.Observed != nil && r.NextCheckAt != nil
		}
		if r.Status == models.DomainActive {
			last = r
		}
	}
	if !noted {
		t.Errorf("the failed lookup was not noted on the active domain: %+v", f.records)
	}
	if last.Message != "https://myapp.com is live. https://www.myapp.com redirects to it." {
		t.Errorf("after a good watch the note stays: %+v", last)
	}
}

func TestDomainAfterDriftWaitsForOurOwnDNS(t *testing.T) {
	// Check 2 (the first watch) sees the nameservers gone; checks 3 to 5 find Cloudflare
	// still calling the zone active while our own lookups see the registrar's
	// nameservers; check 6 finds them fixed.
	f := &fakeDomain{driftAt: 2, dnsWrongUntil: 5}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{WatchEvery: time.Hour}
	var during DomainState
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryState)
		v.Get(&during)
	}, time.Hour+15*time.Second)
	runDomain(t, env, in, 3*time.Hour, nil)

	want := "Setup,Check,Attach,Certificate,HTTPS," + // live
		"Check,Check,Check,Check,Check,Attach,Certificate,HTTPS," + // drift, our DNS still wrong thrice, then fixed
		"Check,Certificate,Detach"
	if got := strings.Join(f.calls, ","); got != want {
		t.Errorf("calls = %s\nwant    %s", got, want)
	}
	if during.Active || during.Status != models.DomainWaitingDNS || !strings.Contains(during.Message, "ns1.registrar.example") || during.NextCheckAt == nil {
		t.Errorf("while our DNS check still fails after drift: %+v", during)
	}
	if statuses := strings.Join(f.statuses(), ","); !strings.Contains(statuses, "active,dns_drift,waiting_for_dns,issuing_certificate,active") {
		t.Errorf("statuses = %s", statuses)
	}
}

func TestDomainNextCheckIsTrue(t *testing.T) {
	store, err := models.Open(t.Context(), models.Options{SQLitePath: filepath.Join(t.TempDir(), "appforge.db")})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDomain{readyAfter: 1, conflictOnce: true, recordTo: &activities.Activities{Store: store}}
	env := newDomainEnv(t, f)
	in := zoneInput()
	in.Options = DomainOptions{WatchEvery: time.Hour}
	type seen struct {
		at    time.Time
		state DomainState
		db    models.Domain
	}
	look := func(s *seen) func() {
		return func() {
			s.at = env.Now()
			v, _ := env.QueryWorkflow(QueryState)
			v.Get(&s.state)
			d, err := store.Domain(context.Background(), "myapp.com")
			if err != nil {
				t.Errorf("domain record: %v", err)
			}
			s.db = d
		}
	}
	var conflict, active, watched seen
	env.RegisterDelayedCallback(look(&conflict), 5*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCheckNow, nil) }, 10*time.Minute)
	env.RegisterDelayedCallback(look(&active), 30*time.Minute)
	env.RegisterDelayedCallback(look(&watched), 90*time.Minute)
	runDomain(t, env, in, 2*time.Hour, nil)

	// Waiting for the user: no next check.
	if conflict.state.Status != models.DomainConflict || conflict.state.NextCheckAt != nil || conflict.db.NextCheckAt != nil {
		t.Errorf("conflict: state next check %v, API next check %v; want none", conflict.state.NextCheckAt, conflict.db.NextCheckAt)
	}
	// Active: the next watch, an hour after going live, then an hour after that watch.
	var activeAt time.Time
	for _, r := range f.records {
		if r.Status == models.DomainActive && r.ActiveAt != nil {
			activeAt = *r.ActiveAt
		}
	}
	firstWatch := activeAt.Add(time.Hour)
	for _, s := range []struct {
		name string
		seen seen
		want time.Time
	}{{"active", active, firstWatch}, {"watched", watched, firstWatch.Add(time.Hour)}} {
		if s.seen.state.Status != models.DomainActive {
			t.Errorf("%s: status %s", s.name, s.seen.state.Status)
		}
		for what, got := range map[string]*time.Time{"state": s.seen.state.NextCheckAt, "API": s.seen.db.NextCheckAt} {
			if got == nil || got.Sub(s.want).Abs() > time.Second || !got.After(s.seen.at) {
				t.Errorf("%s: %s next check = %v, want %v (after %v)", s.name, what, got, s.want, s.seen.at)
			}
		}
	}
}

// A detach asked for after the domain's workflow ended runs the detach alone: with the
// zone its record knows, and no setup. A failed one says so and what to do, and keeps
// the record; the next detach-only run finishes the job.
func TestDomainDetachOnly(t *testing.T) {
	in := zoneInput()
	in.DetachOnly = true
	in.State = &DomainState{ZoneID: "zone1"}

	f := &fakeDomain{detachFails: true}
	env := newDomainEnv(t, f)
	env.ExecuteWorkflow(DomainWorkflowName, in)
	if err := env.GetWorkflowError(); err == nil {
		t.Error("a failed detach ended the run as if it worked")
	}
	last := f.lastRecord()
	if last.Delete || last.Status != models.DomainFailed || last.EventType != "domain_failed" || last.ZoneID != "zone1" {
		t.Errorf("after a failed detach, last record = %+v", last)
	}
	for _, want := range []string{"Detaching myapp.com failed: Cloudflare refused", "detach it again", "DELETE /v1/apps/app1/domains/myapp.com"} {
		if !strings.Contains(last.Message, want) {
			t.Errorf("failed message lacks %q: %q", want, last.Message)
		}
	}

	f = &fakeDomain{}
	env = newDomainEnv(t, f)
	env.ExecuteWorkflow(DomainWorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	if got := strings.Join(f.calls, ","); got != "Detach" {
		t.Errorf("calls = %s, want the detach alone", got)
	}
	if d := f.detached[0]; d.ZoneID != "zone1" || d.Secondary != "www.myapp.com" {
		t.Errorf("detach input = %+v, want the record's zone and pair", d)
	}
	if got := strings.Join(f.statuses(), ","); got != "detaching,detached" {
		t.Errorf("statuses = %s", got)
	}
	if last := f.lastRecord(); !last.Delete {
		t.Errorf("detach did not delete the record: %+v", last)
	}
}
