package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/custom_hostnames"
	"github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/rulesets"
	"github.com/cloudflare/cloudflare-go/v6/ssl"
	"github.com/cloudflare/cloudflare-go/v6/workers"
	"github.com/cloudflare/cloudflare-go/v6/zones"
)

// Custom domains, zone mode: the user's domain becomes a zone of the account; once
// its registrar points at the zone's name servers the zone is active, and a Workers
// Custom Domain attaches a hostname of it to the app's script. Every method is one
// or a few calls of cloudflare-go v6, errors classified by classify (errors.go).

// Zone statuses (Cloudflare's zones.ZoneStatus).
const (
	ZonePending = "pending"
	ZoneActive  = "active"
	ZoneMoved   = "moved"
)

// Zone is a zone of the account.
type Zone struct {
	ID, Name, Status string
	// NameServers are the name servers the user must set at the registrar;
	// OriginalNameServers those the registrar had when the zone was added (when
	// Cloudflare knows them).
	NameServers, OriginalNameServers []string
	// ActivatedOn is when the zone last became active (zero while pending).
	ActivatedOn time.Time
}

func zoneFrom(z *zones.Zone) Zone {
	return Zone{ID: z.ID, Name: z.Name, Status: string(z.Status), NameServers: z.NameServers,
		OriginalNameServers: z.OriginalNameServers, ActivatedOn: z.ActivatedOn}
}

// hostnamePattern is what a hostname must look like before it goes into a request:
// lower-case ASCII labels. Callers validate hostnames properly (IDNA, public
// suffixes) before; this keeps anything odd out of URLs and bodies.
var hostnamePattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// idPattern is what a Cloudflare object id (zone, record, custom hostname) looks
// like here: it goes into URL paths.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkHostname(op, host string) error {
	if len(host) > 253 || !hostnamePattern.MatchString(host) {
		return &Error{Kind: KindValidation, Op: op, Message: fmt.Sprintf("%q is not a lower-case hostname", host)}
	}
	return nil
}

func checkID(op, what, id string) error {
	if !idPattern.MatchString(id) {
		return &Error{Kind: KindValidation, Op: op, Message: fmt.Sprintf("%s %q is not a Cloudflare identifier", what, id)}
	}
	return nil
}

// EnsureZone returns the account's zone name, adding it when the account has none.
// It is idempotent: a zone added by an earlier attempt (or by the user) is reused.
// A new zone is pending until the registrar points at its NameServers.
func (d *Deployer) EnsureZone(ctx context.Context, name string) (Zone, error) {
	op := "add the zone " + name
	if err := checkHostname(op, name); err != nil {
		return Zone{}, err
	}
	if z, found, err := d.findZone(ctx, op, name); err != nil || found {
		return z, err
	}
	run := &deployRun{d: d, ctx: ctx}
	var created *zones.Zone
	err := run.call(op, func(opts ...option.RequestOption) (err error) {
		created, err = d.zones.New(ctx, zones.ZoneNewParams{
			Account: cf.F(zones.ZoneNewParamsAccount{ID: cf.F(d.accountID)}),
			Name:    cf.F(name),
			Type:    cf.F(zones.TypeFull),
		}, opts...)
		return err
	})
	var e *Error
	if errors.As(err, &e) && e.Code == CodeZoneExists {
		// Added meanwhile (a concurrent attempt, or a response lost on the way).
		if z, found, ferr := d.findZone(ctx, op, name); ferr != nil || found {
			return z, ferr
		}
	}
	if err != nil {
		return Zone{}, err
	}
	return zoneFrom(created), nil
}

// findZone looks the account's zone name up.
func (d *Deployer) findZone(ctx context.Context, op, name string) (Zone, bool, error) {
	run := &deployRun{d: d, ctx: ctx}
	var found *zones.Zone
	err := run.call(op, func(opts ...option.RequestOption) error {
		page, err := d.zones.List(ctx, zones.ZoneListParams{
			Name:    cf.F(name),
			Account: cf.F(zones.ZoneListParamsAccount{ID: cf.F(d.accountID)}),
		}, opts...)
		if err != nil {
			return err
		}
		for i := range page.Result {
			if page.Result[i].Name == name {
				found = &page.Result[i]
			}
		}
		return nil
	})
	if err != nil || found == nil {
		return Zone{}, false, err
	}
	return zoneFrom(found), true, nil
}

// Zone returns the zone id. A zone that no longer exists is a KindNotFound error.
func (d *Deployer) Zone(ctx context.Context, id string) (Zone, error) {
	op := "read the zone " + id
	if err := checkID(op, "zone id", id); err != nil {
		return Zone{}, err
	}
	run := &deployRun{d: d, ctx: ctx}
	var z *zones.Zone
	err := run.call(op, func(opts ...option.RequestOption) (err error) {
		z, err = d.zones.Get(ctx, zones.ZoneGetParams{ZoneID: cf.F(id)}, opts...)
		return err
	})
	if err != nil {
		return Zone{}, err
	}
	return zoneFrom(z), nil
}

// CheckZoneActivation asks Cloudflare to look at a pending zone's name servers
// again. Cloudflare allows one check every 5 minutes on paid plans and every hour on
// Free: a check that comes too soon is a KindRateLimited error with RetryAfter.
func (d *Deployer) CheckZoneActivation(ctx context.Context, zoneID string) error {
	op := "ask Cloudflare to check the zone's name servers"
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	run := &deployRun{d: d, ctx: ctx}
	return run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.zones.ActivationCheck.Trigger(ctx, zones.ActivationCheckTriggerParams{ZoneID: cf.F(zoneID)}, opts...)
		return err
	})
}

// DeleteZone deletes the zone with everything in it (DNS records, Custom Domains,
// certificates, rules). It ensures the zone is gone: deleting a zone that does not
// exist succeeds.
func (d *Deployer) DeleteZone(ctx context.Context, zoneID string) error {
	op := "delete the zone " + zoneID
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	run := &deployRun{d: d, ctx: ctx}
	err := run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.zones.Delete(ctx, zones.ZoneDeleteParams{ZoneID: cf.F(zoneID)}, opts...)
		return err
	})
	if KindOf(err) == KindNotFound {
		return nil
	}
	return err
}

// DNSRecord is a DNS record of a zone.
type DNSRecord struct {
	ID, Type, Name, Content string
	Proxied                 bool
	// ReadOnly marks a record a Workers Custom Domain manages: it goes away with
	// the Custom Domain and cannot be edited.
	ReadOnly bool
}

// DNSRecords returns the zone's records named name (every record when name is
// empty), sorted by name, type and content.
func (d *Deployer) DNSRecords(ctx context.Context, zoneID, name string) ([]DNSRecord, error) {
	op := "list the DNS records of " + name
	if name == "" {
		op = "list the zone's DNS records"
	} else if err := checkHostname(op, name); err != nil {
		return nil, err
	}
	if err := checkID(op, "zone id", zoneID); err != nil {
		return nil, err
	}
	params := dns.RecordListParams{ZoneID: cf.F(zoneID), PerPage: cf.F(100.0)}
	if name != "" {
		params.Name = cf.F(dns.RecordListParamsName{Exact: cf.F(name)})
	}
	run := &deployRun{d: d, ctx: ctx}
	var out []DNSRecord
	err := run.call(op, func(opts ...option.RequestOption) error {
		out = nil
		iter := d.dns.ListAutoPaging(ctx, params, opts...)
		for iter.Next() {
			r := iter.Current()
			var meta struct {
				ReadOnly bool `json:"read_only"`
			}
			_ = json.Unmarshal([]byte(r.JSON.Meta.Raw()), &meta) // absent or null: not read only
			out = append(out, DNSRecord{ID: r.ID, Type: string(r.Type), Name: r.Name, Content: r.Content, Proxied: r.Proxied, ReadOnly: meta.ReadOnly})
		}
		return iter.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b DNSRecord) int {
		return strings.Compare(a.Name+"\x00"+a.Type+"\x00"+a.Content, b.Name+"\x00"+b.Type+"\x00"+b.Content)
	})
	return out, nil
}

// CertificatePack is a certificate pack of a zone: its universal certificate
// (Type "universal", for the zone and *.zone) or a Workers Custom Domain's (Type
// "advanced").
type CertificatePack struct {
	ID, Type, Status string
	Hosts            []string
	// ExpiresOn is the expiry of the pack's certificate, zero until it is issued.
	ExpiresOn time.Time
	// Errors are Cloudflare's validation errors, if validation failed.
	Errors []string
}

// CertificatePacks returns every certificate pack of the zone, whatever its status.
func (d *Deployer) CertificatePacks(ctx context.Context, zoneID string) ([]CertificatePack, error) {
	op := "list the zone's certificates"
	if err := checkID(op, "zone id", zoneID); err != nil {
		return nil, err
	}
	run := &deployRun{d: d, ctx: ctx}
	var out []CertificatePack
	err := run.call(op, func(opts ...option.RequestOption) error {
		out = nil
		iter := d.packs.ListAutoPaging(ctx, ssl.CertificatePackListParams{
			ZoneID: cf.F(zoneID),
			Status: cf.F(ssl.CertificatePackListParamsStatusAll),
		}, opts...)
		for iter.Next() {
			p := iter.Current()
			cp := CertificatePack{ID: p.ID, Type: string(p.Type), Status: string(p.Status), Hosts: p.Hosts}
			for _, c := range p.Certificates {
				if c.ExpiresOn.After(cp.ExpiresOn) {
					cp.ExpiresOn = c.ExpiresOn
				}
			}
			for _, v := range p.ValidationErrors {
				cp.Errors = append(cp.Errors, v.Message)
			}
			out = append(out, cp)
		}
		return iter.Err()
	})
	return out, err
}

// SetAlwaysUseHTTPS turns the zone's Always Use HTTPS on or off: with it on,
// Cloudflare answers every http:// request with a 301 to the https:// URL.
func (d *Deployer) SetAlwaysUseHTTPS(ctx context.Context, zoneID string, on bool) error {
	value := "off"
	if on {
		value = "on"
	}
	op := "turn Always Use HTTPS " + value
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	run := &deployRun{d: d, ctx: ctx}
	return run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.zones.Settings.Edit(ctx, "always_use_https", zones.SettingEditParams{
			ZoneID: cf.F(zoneID),
			Body:   zones.SettingEditParamsBody{Value: cf.F[any](value)},
		}, opts...)
		return err
	})
}

// warmDomainEncoders encodes every request type of the domain methods once (see
// warmEncoders): the rules of a redirect carry maps and interface values whose
// encoders cloudflare-go builds lazily.
func warmDomainEncoders() {
	acct := cf.F("warm-up")
	_, _ = zones.ZoneNewParams{Account: cf.F(zones.ZoneNewParamsAccount{ID: acct}), Name: cf.F("warm.example"), Type: cf.F(zones.TypeFull)}.MarshalJSON()
	_ = zones.ZoneListParams{Name: cf.F("warm.example"), Account: cf.F(zones.ZoneListParamsAccount{ID: acct})}.URLQuery()
	_, _ = zones.SettingEditParams{ZoneID: acct, Body: zones.SettingEditParamsBody{Value: cf.F[any]("on")}}.MarshalJSON()
	_ = dns.RecordListParams{ZoneID: acct, PerPage: cf.F(100.0), Name: cf.F(dns.RecordListParamsName{Exact: cf.F("warm.example")})}.URLQuery()
	_ = ssl.CertificatePackListParams{ZoneID: acct, Status: cf.F(ssl.CertificatePackListParamsStatusAll)}.URLQuery()
	_, _ = workers.DomainUpdateParams{AccountID: acct, Hostname: cf.F("warm.example"), Service: cf.F("warm"), ZoneID: acct}.MarshalJSON()
	_ = workers.DomainListParams{AccountID: acct, Hostname: cf.F("warm.example")}.URLQuery()
	_, _ = workers.RouteNewParams{ZoneID: acct, Pattern: cf.F("warm.example/*"), Script: cf.F("warm")}.MarshalJSON()
	_, _ = workers.RouteUpdateParams{ZoneID: acct, ID: acct, Pattern: cf.F("warm.example/*"), Script: cf.F("warm")}.MarshalJSON()
	_ = custom_hostnames.CustomHostnameListParams{ZoneID: acct, PerPage: cf.F(50.0),
		Hostname: cf.F(custom_hostnames.CustomHostnameListParamsHostname{Contain: cf.F("warm.example")})}.URLQuery()
	_, _ = custom_hostnames.CustomHostnameNewParams{ZoneID: acct, Hostname: cf.F("warm.example"),
		SSL: cf.F(custom_hostnames.CustomHostnameNewParamsSSL{Method: cf.F(custom_hostnames.DCVMethodTXT), Type: cf.F(custom_hostnames.DomainValidationTypeDv)})}.MarshalJSON()
	_, _ = custom_hostnames.CustomHostnameEditParams{ZoneID: acct,
		SSL: cf.F(custom_hostnames.CustomHostnameEditParamsSSL{Method: cf.F(custom_hostnames.DCVMethodTXT), Type: cf.F(custom_hostnames.DomainValidationTypeDv)})}.MarshalJSON()
	kept, _ := keptRule(rulesets.PhaseGetResponseRule{})
	_, _ = rulesets.PhaseUpdateParams{ZoneID: acct, Rules: cf.F([]rulesets.PhaseUpdateParamsRuleUnion{
		kept,
		rulesets.PhaseUpdateParamsRule{ID: acct, Action: cf.F(rulesets.PhaseUpdateParamsRulesActionRedirect),
			ActionParameters: cf.F[any](map[string]any{"from_value": map[string]any{"status_code": 301.0, "preserve_query_string": true,
				"target_url": map[string]any{"value": "https://warm.example"}}})},
		rulesets.RedirectRuleParam{Action: cf.F(rulesets.RedirectRuleActionRedirect), Ref: cf.F("warm"), Enabled: cf.F(true), Expression: cf.F("true"),
			ActionParameters: cf.F(rulesets.RedirectRuleActionParametersParam{FromValue: cf.F(rulesets.RedirectRuleActionParametersFromValueParam{
				TargetURL:  cf.F(rulesets.RedirectRuleActionParametersFromValueTargetURLParam{Expression: cf.F(`concat("https://warm.example", http.request.uri.path)`)}),
				StatusCode: cf.F(rulesets.RedirectRuleActionParametersFromValueStatusCode301), PreserveQueryString: cf.F(true)})})},
	})}.MarshalJSON()
}
