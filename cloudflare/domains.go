package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/rulesets"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// WorkerDomain is a Workers Custom Domain: a hostname of a zone served by a script.
type WorkerDomain struct {
	ID, Hostname, Service, ZoneID string
	// CertificateID is the id of its certificate (see CertificatePacks).
	CertificateID string
}

// AttachWorkerDomain serves hostname (of the zone zoneID) with script. Cloudflare
// creates the DNS record and the certificate. It is idempotent: attaching the same
// hostname to the same script again returns the existing Custom Domain.
//
// Conflicts are KindConflict errors, never a takeover: Code CodeHostnameHasDNSRecords
// (100117) when the hostname already has DNS records appforge did not make, and
// CodeHostnameInUse (100116) when another script serves it.
func (d *Deployer) AttachWorkerDomain(ctx context.Context, zoneID, hostname, script string) (WorkerDomain, error) {
	op := fmt.Sprintf("attach %s to %s", hostname, script)
	if err := checkHostname(op, hostname); err != nil {
		return WorkerDomain{}, err
	}
	if err := checkID(op, "zone id", zoneID); err != nil {
		return WorkerDomain{}, err
	}
	if !scriptNamePattern.MatchString(script) {
		return WorkerDomain{}, &Error{Kind: KindValidation, Op: op, Message: fmt.Sprintf("script name %q is not valid", script)}
	}
	run := &deployRun{d: d, ctx: ctx}
	var res *workers.DomainUpdateResponse
	err := run.call(op, func(opts ...option.RequestOption) (err error) {
		res, err = d.workers.Domains.Update(ctx, workers.DomainUpdateParams{
			AccountID: cf.F(d.accountID),
			Hostname:  cf.F(hostname),
			Service:   cf.F(script),
			ZoneID:    cf.F(zoneID),
		}, opts...)
		return err
	})
	if err != nil {
		return WorkerDomain{}, err
	}
	return WorkerDomain{ID: res.ID, Hostname: res.Hostname, Service: res.Service, ZoneID: res.ZoneID, CertificateID: res.CERTID}, nil
}

// DetachWorkerDomain removes the Custom Domain of hostname, with its DNS record and
// certificate. A hostname with no Custom Domain is fine.
func (d *Deployer) DetachWorkerDomain(ctx context.Context, hostname string) error {
	op := "detach " + hostname
	if err := checkHostname(op, hostname); err != nil {
		return err
	}
	run := &deployRun{d: d, ctx: ctx}
	var ids []string
	err := run.call(op, func(opts ...option.RequestOption) error {
		page, err := d.workers.Domains.List(ctx, workers.DomainListParams{
			AccountID: cf.F(d.accountID),
			Hostname:  cf.F(hostname),
		}, opts...)
		if err != nil {
			return err
		}
		for _, dom := range page.Result {
			if dom.Hostname == hostname {
				ids = append(ids, dom.ID)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := run.call(op, func(opts ...option.RequestOption) error {
			_, err := d.workers.Domains.Delete(ctx, id, workers.DomainDeleteParams{AccountID: cf.F(d.accountID)}, opts...)
			return err
		})
		if err != nil && KindOf(err) != KindNotFound {
			return err
		}
	}
	return nil
}

// EnsureRoute makes the zone's Workers route pattern ("shop.example.com/*", "*/*")
// run script, creating or updating it.
func (d *Deployer) EnsureRoute(ctx context.Context, zoneID, pattern, script string) error {
	op := fmt.Sprintf("route %s to %s", pattern, script)
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	if !scriptNamePattern.MatchString(script) {
		return &Error{Kind: KindValidation, Op: op, Message: fmt.Sprintf("script name %q is not valid", script)}
	}
	for attempt := 0; ; attempt++ {
		existing, err := d.findRoute(ctx, op, zoneID, pattern)
		if err != nil {
			return err
		}
		run := &deployRun{d: d, ctx: ctx}
		if existing != nil {
			if existing.Script == script {
				return nil
			}
			return run.call(op, func(opts ...option.RequestOption) error {
				_, err := d.workers.Routes.Update(ctx, existing.ID, workers.RouteUpdateParams{
					ZoneID: cf.F(zoneID), ID: cf.F(existing.ID), Pattern: cf.F(pattern), Script: cf.F(script),
				}, opts...)
				return err
			})
		}
		err = run.call(op, func(opts ...option.RequestOption) error {
			_, err := d.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(zoneID), Pattern: cf.F(pattern), Script: cf.F(script)}, opts...)
			return err
		})
		if KindOf(err) == KindConflict && attempt == 0 {
			continue // created meanwhile: update it
		}
		return err
	}
}

// DeleteRoute removes the zone's Workers route pattern; a missing route is fine.
func (d *Deployer) DeleteRoute(ctx context.Context, zoneID, pattern string) error {
	op := "delete the route " + pattern
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	existing, err := d.findRoute(ctx, op, zoneID, pattern)
	if err != nil || existing == nil {
		return err
	}
	run := &deployRun{d: d, ctx: ctx}
	err = run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.workers.Routes.Delete(ctx, existing.ID, workers.RouteDeleteParams{ZoneID: cf.F(zoneID)}, opts...)
		return err
	})
	if KindOf(err) == KindNotFound {
		return nil
	}
	return err
}

func (d *Deployer) findRoute(ctx context.Context, op, zoneID, pattern string) (*workers.RouteListResponse, error) {
	run := &deployRun{d: d, ctx: ctx}
	var found *workers.RouteListResponse
	err := run.call(op, func(opts ...option.RequestOption) error {
		page, err := d.workers.Routes.List(ctx, workers.RouteListParams{ZoneID: cf.F(zoneID)}, opts...)
		if err != nil {
			return err
		}
		for i := range page.Result {
			if page.Result[i].Pattern == pattern {
				found = &page.Result[i]
			}
		}
		return nil
	})
	return found, err
}

// Redirects: a Single Redirect rule in the zone's http_request_dynamic_redirect
// entry point ruleset. A PUT of the entry point replaces every rule of the phase, so
// EnsureRedirect reads the rules first and writes them back with its own rule added
// or replaced (identified by its ref); rules it did not make are kept as they are.

// redirectRef names appforge's redirect rule for a hostname.
func redirectRef(fromHost string) string {
	return "appforge_redirect_" + strings.NewReplacer(".", "_", "-", "_").Replace(fromHost)
}

// EnsureRedirect makes the zone redirect every request for fromHost to
// https://toHost with the same path and query string, with a 301. It is
// idempotent: when the rule is already there, it changes nothing.
func (d *Deployer) EnsureRedirect(ctx context.Context, zoneID, fromHost, toHost string) error {
	op := fmt.Sprintf("redirect %s to %s", fromHost, toHost)
	for _, h := range []string{fromHost, toHost} {
		if err := checkHostname(op, h); err != nil {
			return err
		}
	}
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	ref := redirectRef(fromHost)
	want := rulesets.RedirectRuleParam{
		Action:      cf.F(rulesets.RedirectRuleActionRedirect),
		Ref:         cf.F(ref),
		Description: cf.F(fmt.Sprintf("appforge: %s to %s", fromHost, toHost)),
		Enabled:     cf.F(true),
		Expression:  cf.F(fmt.Sprintf("(http.host eq %q)", fromHost)),
		ActionParameters: cf.F(rulesets.RedirectRuleActionParametersParam{
			FromValue: cf.F(rulesets.RedirectRuleActionParametersFromValueParam{
				TargetURL: cf.F(rulesets.RedirectRuleActionParametersFromValueTargetURLParam{
					Expression: cf.F(fmt.Sprintf("concat(%q, http.request.uri.path)", "https://"+toHost)),
				}),
				StatusCode:          cf.F(rulesets.RedirectRuleActionParametersFromValueStatusCode301),
				PreserveQueryString: cf.F(true),
			}),
		}),
	}
	rules, err := d.redirectRules(ctx, op, zoneID)
	if err != nil {
		return err
	}
	var keep []rulesets.PhaseUpdateParamsRuleUnion
	for _, r := range rules {
		if r.Ref == ref {
			if rr, ok := r.AsUnion().(rulesets.RedirectRule); ok && r.Enabled &&
				r.Expression == want.Expression.Value &&
				rr.ActionParameters.FromValue.TargetURL.Expression == want.ActionParameters.Value.FromValue.Value.TargetURL.Value.Expression.Value &&
				rr.ActionParameters.FromValue.StatusCode == 301 && rr.ActionParameters.FromValue.PreserveQueryString {
				return nil
			}
			continue
		}
		p, err := keptRule(r)
		if err != nil {
			return &Error{Kind: KindTransient, Op: op, Message: "could not read the zone's redirect rules: " + err.Error(), Err: err}
		}
		keep = append(keep, p)
	}
	return d.putRedirectRules(ctx, op, zoneID, append(keep, want))
}

// RemoveRedirect removes the redirect EnsureRedirect made for fromHost, if any.
func (d *Deployer) RemoveRedirect(ctx context.Context, zoneID, fromHost string) error {
	op := "remove the redirect of " + fromHost
	if err := checkHostname(op, fromHost); err != nil {
		return err
	}
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	rules, err := d.redirectRules(ctx, op, zoneID)
	if err != nil {
		return err
	}
	ref := redirectRef(fromHost)
	var keep []rulesets.PhaseUpdateParamsRuleUnion
	found := false
	for _, r := range rules {
		if r.Ref == ref {
			found = true
			continue
		}
		p, err := keptRule(r)
		if err != nil {
			return &Error{Kind: KindTransient, Op: op, Message: "could not read the zone's redirect rules: " + err.Error(), Err: err}
		}
		keep = append(keep, p)
	}
	if !found {
		return nil
	}
	return d.putRedirectRules(ctx, op, zoneID, keep)
}

// redirectRules returns the rules of the zone's redirect entry point (none when the
// phase never had one: Cloudflare's 404 with code 10003).
func (d *Deployer) redirectRules(ctx context.Context, op, zoneID string) ([]rulesets.PhaseGetResponseRule, error) {
	run := &deployRun{d: d, ctx: ctx}
	var rules []rulesets.PhaseGetResponseRule
	err := run.call(op, func(opts ...option.RequestOption) error {
		rs, err := d.phases.Get(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseGetParams{ZoneID: cf.F(zoneID)}, opts...)
		if err != nil {
			return err
		}
		rules = rs.Rules
		return nil
	})
	var e *Error
	if errors.As(err, &e) && e.Code == codeNoEntrypoint {
		return nil, nil
	}
	return rules, err
}

func (d *Deployer) putRedirectRules(ctx context.Context, op, zoneID string, rules []rulesets.PhaseUpdateParamsRuleUnion) error {
	if rules == nil {
		rules = []rulesets.PhaseUpdateParamsRuleUnion{}
	}
	run := &deployRun{d: d, ctx: ctx}
	return run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.phases.Update(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseUpdateParams{
			ZoneID: cf.F(zoneID),
			Rules:  cf.F(rules),
		}, opts...)
		return err
	})
}

// keptRule turns a rule read from Cloudflare back into one to write, unchanged.
func keptRule(r rulesets.PhaseGetResponseRule) (rulesets.PhaseUpdateParamsRuleUnion, error) {
	p := rulesets.PhaseUpdateParamsRule{
		ID:          cf.F(r.ID),
		Action:      cf.F(rulesets.PhaseUpdateParamsRulesAction(r.Action)),
		Expression:  cf.F(r.Expression),
		Description: cf.F(r.Description),
		Enabled:     cf.F(r.Enabled),
	}
	if r.Ref != "" {
		p.Ref = cf.F(r.Ref)
	}
	if raw := r.JSON.ActionParameters.Raw(); raw != "" && raw != "null" {
		var ap map[string]any
		if err := json.Unmarshal([]byte(raw), &ap); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		p.ActionParameters = cf.F[any](ap)
	}
	return p, nil
}
