package workflows

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
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
	if f.driftAt > 0 && n == f.driftAt {
		return activities.DomainObservation{Findings: []string{"your nameservers are ns1.registrar.example again."}, ProviderStatus: "moved"}, nil
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
	return nil
}

func (f *fakeDomain) Detach(ctx context.Context, in activities.DomainInput) error {
	f.record("Detach")
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
