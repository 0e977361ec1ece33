package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/domains"
	"github.com/appforge/appforge/models"
)

// PrepareDomain checks the hostname the user gave, works out the pair (an apex comes
// with its www counterpart) and the mode, refuses a hostname another app holds, and
// records it.
func (a *Activities) PrepareDomain(ctx context.Context, in PrepareDomainInput) (PreparedDomain, error) {
	h, err := domains.NormalizeWith(in.Hostname, domains.Options{AllowReserved: a.Domains.AllowReserved})
	var invalid *domains.InvalidError
	if errors.As(err, &invalid) {
		return PreparedDomain{Problem: fmt.Sprintf("%q is not a domain I can set up: %s.", in.Hostname, strings.TrimSuffix(invalid.Reason, "."))}, nil
	}
	if err != nil {
		return PreparedDomain{}, err
	}
	if problem := domains.PrimaryProblem(h, in.Primary); problem != "" {
		return PreparedDomain{Problem: strings.ToUpper(problem[:1]) + problem[1:] + "."}, nil
	}
	p := PreparedDomain{Hostname: h.Name, Primary: h.Name}
	switch {
	case h.IsApex && in.Primary == "www":
		p.Primary, p.Secondary = h.WWW, h.Name
	case h.IsApex:
		p.Secondary = h.WWW
	case h.WWW != "" && h.WWW == h.Apex: // www.<apex>: the apex redirects to it
		p.Secondary = h.Apex
	}
	p.Mode = in.Mode
	if p.Mode == "" {
		p.Mode = models.DomainZone
		if !h.IsApex && p.Secondary == "" && a.Domains.SaaSZone != "" {
			p.Mode = models.DomainCustomHostname
		}
	}
	switch p.Mode {
	case models.DomainZone:
	case models.DomainCustomHostname:
		if a.Domains.SaaSZone == "" {
			return PreparedDomain{Problem: "Custom hostnames (keeping your own DNS) are not configured on this appforge (APPFORGE_SAAS_ZONE); use zone mode, or ask the operator."}, nil
		}
		if h.IsApex {
			return PreparedDomain{Problem: fmt.Sprintf("%s is an apex domain: most DNS providers cannot CNAME it, so it needs zone mode (Cloudflare hosting its DNS).", h.Name)}, nil
		}
		p.Secondary = ""
	default:
		return PreparedDomain{Problem: fmt.Sprintf("Mode %q is not zone or custom_hostname.", p.Mode)}, nil
	}
	for _, name := range []string{p.Primary, p.Secondary, h.Name} {
		if name == "" {
			continue
		}
		d, err := a.Store.DomainServing(ctx, name)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return PreparedDomain{}, err
		}
		if d.AppID != in.AppID {
			return PreparedDomain{Problem: fmt.Sprintf("%s is attached to another app (%s). appforge never moves a domain silently: detach it there first (DELETE /v1/apps/%s/domains/%s), then attach it here.",
				name, d.AppID, d.AppID, d.Hostname)}, nil
		}
		p.Existing = true
		p.Hostname, p.Primary, p.Secondary, p.Mode = d.Hostname, d.Primary, d.Secondary, d.Mode
		return p, nil
	}
	if err := a.Store.SaveDomain(ctx, models.Domain{Hostname: p.Hostname, AppID: in.AppID, Mode: p.Mode, Primary: p.Primary, Secondary: p.Secondary,
		Status: models.DomainPending, Message: "Queued: setting up " + p.Hostname + "."}); err != nil {
		return PreparedDomain{}, err
	}
	return p, nil
}

func (a *Activities) apex(in DomainInput) string {
	h, err := domains.NormalizeWith(in.Hostname, domains.Options{AllowReserved: true})
	if err != nil {
		return in.Hostname
	}
	return h.Apex
}

// DomainSetup creates (or reuses) the zone or the custom hostname and says what the user
// must set. A conflict comes back as plain words, never as a takeover.
func (a *Activities) DomainSetup(ctx context.Context, in DomainInput) (DomainSetupResult, error) {
	if in.Mode == models.DomainCustomHostname {
		zone, err := a.DomainProvider.EnsureZone(ctx, a.Domains.SaaSZone)
		if err != nil {
			return DomainSetupResult{}, domainError(err)
		}
		ch, err := a.DomainProvider.EnsureCustomHostname(ctx, zone.ID, in.Hostname)
		if conflict := conflictMessage(err); conflict != "" {
			return DomainSetupResult{Conflict: conflict}, nil
		}
		if err != nil {
			return DomainSetupResult{}, domainError(err)
		}
		return DomainSetupResult{ZoneID: zone.ID, CustomHostnameID: ch.ID, Instructions: a.customHostnameInstructions(in.Hostname, ch)}, nil
	}
	apex := a.apex(in)
	zone, err := a.DomainProvider.EnsureZone(ctx, apex)
	if conflict := conflictMessage(err); conflict != "" {
		return DomainSetupResult{Conflict: conflict}, nil
	}
	if err != nil {
		return DomainSetupResult{}, domainError(err)
	}
	return DomainSetupResult{ZoneID: zone.ID, Instructions: nameserverInstructions(apex, zone.NameServers)}, nil
}

func nameserverInstructions(apex string, ns []string) []Instruction {
	out := make([]Instruction, 0, len(ns))
	for _, n := range ns {
		out = append(out, Instruction{Type: "NS", Name: apex, Value: n, Purpose: "at your registrar: replace the domain's nameservers with Cloudflare's"})
	}
	return out
}

func (a *Activities) customHostnameInstructions(hostname string, ch cloudflare.CustomHostname) []Instruction {
	out := []Instruction{{Type: "CNAME", Name: hostname, Value: a.Domains.SaaSTarget, Purpose: "points your hostname at appforge"}}
	if ch.Ownership.Name != "" {
		out = append(out, Instruction{Type: "TXT", Name: ch.Ownership.Name, Value: ch.Ownership.Value, Purpose: "proves you own the hostname"})
	}
	for _, v := range ch.Validation {
		if v.TXTName != "" {
			out = append(out, Instruction{Type: "TXT", Name: v.TXTName, Value: v.TXTValue, Purpose: "lets the certificate authority issue the HTTPS certificate"})
		}
	}
	return out
}

// DomainCheck looks at the domain once: Cloudflare's statuses and our own DNS lookups.
// When our lookups find the records in place but Cloudflare has not noticed, it asks
// Cloudflare to check again.
func (a *Activities) DomainCheck(ctx context.Context, in DomainInput) (DomainObservation, error) {
	if in.Mode == models.DomainCustomHostname {
		return a.checkCustomHostname(ctx, in)
	}
	zone, err := a.DomainProvider.Zone(ctx, in.ZoneID)
	if err != nil {
		return DomainObservation{}, domainError(err)
	}
	obs := DomainObservation{ProviderStatus: zone.Status, Ready: zone.Status == cloudflare.ZoneActive}
	report, lookupFailed := a.dnsCheck(ctx, domains.Expectation{Hostname: zone.Name, NameServers: zone.NameServers})
	obs.DNSOK, obs.LookupFailed, obs.Findings = report.OK, lookupFailed, findingMessages(report)
	if zone.Status == cloudflare.ZoneMoved && len(obs.Findings) == 0 {
		obs.Findings = []string{fmt.Sprintf("Cloudflare reports %s as moved: its nameservers no longer point at Cloudflare.", zone.Name)}
	}
	if !obs.Ready && obs.DNSOK {
		// Our lookups see the delegation; ask Cloudflare to look now (it rate-limits
		// these checks; a refusal just means it will look on its own schedule).
		if err := a.DomainProvider.CheckZoneActivation(ctx, zone.ID); err == nil {
			if z, err := a.DomainProvider.Zone(ctx, zone.ID); err == nil {
				obs.ProviderStatus, obs.Ready = z.Status, z.Status == cloudflare.ZoneActive
			}
		}
		if !obs.Ready {
			obs.Findings = []string{fmt.Sprintf("The nameservers of %s are set correctly; Cloudflare has been asked to check and will activate the zone shortly.", zone.Name)}
		}
	}
	return obs, nil
}

func (a *Activities) checkCustomHostname(ctx context.Context, in DomainInput) (DomainObservation, error) {
	ch, err := a.DomainProvider.CustomHostname(ctx, in.ZoneID, in.CustomHostnameID)
	if err != nil {
		return DomainObservation{}, domainError(err)
	}
	instr := a.customHostnameInstructions(in.Hostname, ch)
	want := domains.Expectation{Hostname: in.Hostname, CNAME: a.Domains.SaaSTarget, TXT: map[string]string{}}
	for _, i := range instr {
		if i.Type == "TXT" {
			want.TXT[i.Name] = i.Value
		}
	}
	report, lookupFailed := a.dnsCheck(ctx, want)
	obs := DomainObservation{ProviderStatus: ch.Status, SSLStatus: ch.SSLStatus, Instructions: instr, DNSOK: report.OK, LookupFailed: lookupFailed, Findings: findingMessages(report)}
	obs.Ready = ch.Status == cloudflare.HostnameActive && ch.SSLStatus == cloudflare.SSLActive
	if failed := sslFailure(in.Hostname, ch); failed != "" {
		obs.Failed = failed
		return obs, nil
	}
	if !obs.Ready && obs.DNSOK {
		if again, err := a.DomainProvider.RefreshCustomHostname(ctx, in.ZoneID, in.CustomHostnameID); err == nil {
			obs.ProviderStatus, obs.SSLStatus = again.Status, again.SSLStatus
			obs.Ready = again.Status == cloudflare.HostnameActive && again.SSLStatus == cloudflare.SSLActive
		}
		if !obs.Ready {
			obs.Findings = []string{fmt.Sprintf("The records for %s are in place; Cloudflare is validating it (hostname %s, certificate %s).", in.Hostname, obs.ProviderStatus, obs.SSLStatus)}
		}
	}
	return obs, nil
}

// sslFailure says in plain words when a certificate cannot be issued without the user.
func sslFailure(hostname string, ch cloudflare.CustomHostname) string {
	switch ch.SSLStatus {
	case "validation_timed_out", "issuance_timed_out", "deleted", "expired":
		msg := fmt.Sprintf("The certificate for %s could not be issued (%s).", hostname, ch.SSLStatus)
		if len(ch.Errors) > 0 {
			msg += " Cloudflare says: " + strings.Join(ch.Errors, "; ") + "."
		}
		return msg + " Check that the TXT records are set exactly as shown, then check again."
	}
	return ""
}

// dnsCheck runs our own DNS check (skipped, as passing, without a resolver: the local
// edge). lookupFailed says the check itself did not get answers (the resolver timed
// out or was unreachable): the report then fails without anything known to be wrong.
func (a *Activities) dnsCheck(ctx context.Context, e domains.Expectation) (report domains.Report, lookupFailed bool) {
	if a.Domains.Resolver == nil {
		return domains.Report{OK: true}, false
	}
	report, err := a.Domains.Resolver.Check(ctx, e)
	if err != nil {
		return domains.Report{Findings: []domains.Finding{{Problem: domains.ProblemTimeout,
			Message: fmt.Sprintf("I could not look %s up in DNS just now (%s); I will look again at the next check.", e.Hostname, err)}}}, true
	}
	return report, !report.OK && onlyTimeouts(report)
}

// onlyTimeouts: every failed finding is a lookup that got no answer in time.
func onlyTimeouts(r domains.Report) bool {
	n := 0
	for _, f := range r.Findings {
		if f.OK {
			continue
		}
		if f.Problem != domains.ProblemTimeout {
			return false
		}
		n++
	}
	return n > 0
}

func findingMessages(r domains.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if !f.OK && f.Message != "" {
			out = append(out, f.Message)
		}
	}
	return out
}

// DomainAttach puts the domain on the production script: Workers Custom Domains for the
// primary and its counterpart with a redirect between them (zone mode), or a route
// (custom hostname mode). Existing DNS records in the way are a conflict to resolve,
// never overwritten.
func (a *Activities) DomainAttach(ctx context.Context, in DomainInput) (DomainAttachResult, error) {
	if in.Mode == models.DomainCustomHostname {
		err := a.DomainProvider.EnsureRoute(ctx, in.ZoneID, in.Hostname+"/*", in.Script)
		if c := conflictMessage(err); c != "" {
			return DomainAttachResult{Conflict: c}, nil
		}
		return DomainAttachResult{}, domainError(err)
	}
	for _, host := range []string{in.Primary, in.Secondary} {
		if host == "" {
			continue
		}
		_, err := a.DomainProvider.AttachWorkerDomain(ctx, in.ZoneID, host, in.Script)
		if c := conflictMessage(err); c != "" {
			return DomainAttachResult{Conflict: fmt.Sprintf("%s: %s", host, c)}, nil
		}
		if err != nil {
			return DomainAttachResult{}, domainError(err)
		}
	}
	if in.Secondary != "" {
		if err := a.DomainProvider.EnsureRedirect(ctx, in.ZoneID, in.Secondary, in.Primary); err != nil {
			return DomainAttachResult{}, domainError(err)
		}
	}
	return DomainAttachResult{}, nil
}

// DomainCertificate reports the certificate covering the domain (zone mode).
func (a *Activities) DomainCertificate(ctx context.Context, in DomainInput) (CertificateResult, error) {
	packs, err := a.DomainProvider.CertificatePacks(ctx, in.ZoneID)
	if err != nil {
		return CertificateResult{}, domainError(err)
	}
	want := []string{in.Primary}
	if in.Secondary != "" {
		want = append(want, in.Secondary)
	}
	res := CertificateResult{Status: "not requested yet"}
	covered := 0
	for _, host := range want {
		var best *cloudflare.CertificatePack
		for i, p := range packs {
			if covers(p.Hosts, host) && (best == nil || p.Status == "active") {
				best = &packs[i]
			}
		}
		if best == nil {
			continue
		}
		res.Status = best.Status
		if best.Status == "active" {
			covered++
			if res.ExpiresAt.IsZero() || best.ExpiresOn.Before(res.ExpiresAt) {
				res.ExpiresAt = best.ExpiresOn
			}
		}
		switch best.Status {
		case "validation_timed_out", "issuance_timed_out", "deleted", "expired":
			res.Failed = fmt.Sprintf("The certificate for %s could not be issued (%s)%s. Check again to retry.", host, best.Status, errorsSuffix(best.Errors))
		}
	}
	res.Active = covered == len(want)
	return res, nil
}

func errorsSuffix(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + strings.Join(errs, "; ")
}

func covers(hosts []string, host string) bool {
	for _, h := range hosts {
		if h == host || strings.HasPrefix(h, "*.") && strings.Count(host, ".") == strings.Count(h, ".") && strings.HasSuffix(host, h[1:]) {
			return true
		}
	}
	return false
}

// DomainEnableHTTPS turns on Always Use HTTPS for the zone.
func (a *Activities) DomainEnableHTTPS(ctx context.Context, in DomainInput) error {
	return domainError(a.DomainProvider.SetAlwaysUseHTTPS(ctx, in.ZoneID, true))
}

// DomainDetach takes the domain off the script. The zone stays: it holds the user's
// DNS, which appforge does not own.
func (a *Activities) DomainDetach(ctx context.Context, in DomainInput) error {
	if in.Mode == models.DomainCustomHostname {
		if in.ZoneID != "" {
			if err := a.DomainProvider.DeleteRoute(ctx, in.ZoneID, in.Hostname+"/*"); err != nil && cloudflare.KindOf(err) != cloudflare.KindNotFound {
				return domainError(err)
			}
			if in.CustomHostnameID != "" {
				if err := a.DomainProvider.DeleteCustomHostname(ctx, in.ZoneID, in.CustomHostnameID); err != nil && cloudflare.KindOf(err) != cloudflare.KindNotFound {
					return domainError(err)
				}
			}
		}
		return nil
	}
	if in.ZoneID != "" && in.Secondary != "" {
		if err := a.DomainProvider.RemoveRedirect(ctx, in.ZoneID, in.Secondary); err != nil && cloudflare.KindOf(err) != cloudflare.KindNotFound {
			return domainError(err)
		}
	}
	for _, host := range []string{in.Secondary, in.Primary} {
		if host == "" {
			continue
		}
		if err := a.DomainProvider.DetachWorkerDomain(ctx, host); err != nil && cloudflare.KindOf(err) != cloudflare.KindNotFound {
			return domainError(err)
		}
	}
	return nil
}

// DomainRecord saves what the API shows of a domain and tells the app's chat.
func (a *Activities) DomainRecord(ctx context.Context, in DomainRecordInput) error {
	if in.Delete {
		if err := a.Store.DeleteDomain(ctx, in.Hostname); err != nil {
			return err
		}
	} else {
		d, err := a.Store.Domain(ctx, in.Hostname)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if d.AppID != "" && d.AppID != in.AppID {
			return nonRetryable(ErrTypeInvalidInput, fmt.Errorf("domain %s belongs to app %s", in.Hostname, d.AppID))
		}
		d.Hostname, d.AppID, d.Mode, d.Primary, d.Secondary = in.Hostname, in.AppID, in.Mode, in.Primary, in.Secondary
		d.Status, d.Message, d.ZoneID, d.CustomHostnameID = in.Status, in.Message, in.ZoneID, in.CustomHostnameID
		if instr, err := json.Marshal(sortedInstructions(in.Instructions)); err == nil {
			d.Instructions = string(instr)
		}
		if in.Observed != nil {
			b, _ := json.Marshal(in.Observed)
			d.LastObserved = string(b)
		}
		if in.CertificateStatus != "" {
			d.CertificateStatus = in.CertificateStatus
		}
		if in.CertificateExpiry != nil && !in.CertificateExpiry.IsZero() {
			d.CertificateExpiry = in.CertificateExpiry
		}
		// The workflow says when it checks next (an active domain: its next watch), or
		// nil when nothing is scheduled (it waits for the user); a time already past
		// is never a true next check.
		d.LastCheckedAt, d.NextCheckAt = in.CheckedAt, in.NextCheckAt
		if d.NextCheckAt != nil && in.CheckedAt != nil && d.NextCheckAt.Before(*in.CheckedAt) {
			d.NextCheckAt = nil
		}
		if in.ActiveAt != nil {
			d.ActiveAt = in.ActiveAt
		}
		if err := a.Store.SaveDomain(ctx, d); err != nil {
			return err
		}
	}
	if in.EventType != "" {
		data := map[string]any{"hostname": in.Hostname, "status": in.Status}
		if in.Status == models.DomainActive {
			data["url"] = "https://" + in.Primary
		}
		if len(in.Instructions) > 0 && in.Status != models.DomainActive {
			data["instructions"] = in.Instructions
		}
		key := ""
		if in.CheckedAt != nil {
			key = fmt.Sprintf("domain:%s:%s:%d", in.Hostname, in.EventType, in.CheckedAt.UnixNano())
		}
		a.emit(ctx, in.AppID, models.NewEvent{Key: key, Type: in.EventType, Message: in.Message, Data: data})
	}
	return nil
}

func sortedInstructions(in []Instruction) []Instruction {
	out := append([]Instruction(nil), in...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// conflictMessage is the plain instruction for a conflict Cloudflare reported (a DNS
// record in the way, a hostname held by another account); "" for anything else.
func conflictMessage(err error) string {
	var cf *cloudflare.Error
	if errors.As(err, &cf) && cf.Kind == cloudflare.KindConflict {
		return cf.Message
	}
	return ""
}

// domainError classifies a provider error for the domain activities.
func domainError(err error) error {
	if err == nil {
		return nil
	}
	return deployError(err)
}
