package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
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

// sdk is cloudflare-go's services for the domain endpoints, pointed at a fixture.
type sdk struct {
	zones     *zones.ZoneService
	dns       *dns.RecordService
	workers   *workers.WorkerService
	hostnames *custom_hostnames.CustomHostnameService
	packs     *ssl.CertificatePackService
	phases    *rulesets.PhaseService
}

func (f *fixture) sdk() sdk {
	opts := []option.RequestOption{
		option.WithBaseURL(f.srv.URL + "/client/v4"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(f.srv.Client()),
		option.WithAPIToken(testToken),
	}
	return sdk{
		zones:     zones.NewZoneService(opts...),
		dns:       dns.NewRecordService(opts...),
		workers:   workers.NewWorkerService(opts...),
		hostnames: custom_hostnames.NewCustomHostnameService(opts...),
		packs:     ssl.NewCertificatePackService(opts...),
		phases:    rulesets.NewPhaseService(opts...),
	}
}

// withDelays sets the status delays of the edge.
func withDelays(zone, cert, hostname time.Duration) func(*Config) {
	return func(c *Config) {
		c.ZoneActivationDelay, c.CertificateDelay, c.CustomHostnameDelay = zone, cert, hostname
	}
}

func newZone(t *testing.T, s sdk, name string) *zones.Zone {
	t.Helper()
	z, err := s.zones.New(context.Background(), zones.ZoneNewParams{
		Account: cf.F(zones.ZoneNewParamsAccount{ID: cf.F(testAccount)}),
		Name:    cf.F(name),
		Type:    cf.F(zones.TypeFull),
	})
	if err != nil {
		t.Fatalf("create zone %s: %v", name, err)
	}
	return z
}

func getZone(t *testing.T, s sdk, id string) *zones.Zone {
	t.Helper()
	z, err := s.zones.Get(context.Background(), zones.ZoneGetParams{ZoneID: cf.F(id)})
	if err != nil {
		t.Fatalf("get zone %s: %v", id, err)
	}
	return z
}

func attachDomain(s sdk, zoneID, host, script string) (*workers.DomainUpdateResponse, error) {
	return s.workers.Domains.Update(context.Background(), workers.DomainUpdateParams{
		AccountID: cf.F(testAccount),
		Hostname:  cf.F(host),
		Service:   cf.F(script),
		ZoneID:    cf.F(zoneID),
	})
}

func addRecord(s sdk, zoneID string, body dns.RecordNewParamsBodyUnion) (*dns.RecordResponse, error) {
	return s.dns.New(context.Background(), dns.RecordNewParams{ZoneID: cf.F(zoneID), Body: body})
}

func aRecord(name, ip string) dns.ARecordParam {
	return dns.ARecordParam{Name: cf.F(name), TTL: cf.F(dns.TTL1), Type: cf.F(dns.ARecordTypeA), Content: cf.F(ip)}
}

func cnameRecord(name, target string) dns.CNAMERecordParam {
	return dns.CNAMERecordParam{Name: cf.F(name), TTL: cf.F(dns.TTL1), Type: cf.F(dns.CNAMERecordTypeCNAME), Content: cf.F(target), Proxied: cf.F(true)}
}

func TestZoneLifecycle(t *testing.T) {
	clk := newClock()
	f := startFixture(t, t.TempDir(), clk, withDelays(10*time.Minute, 0, 0))
	s := f.sdk()
	ctx := context.Background()

	z := newZone(t, s, "MyApp.com.")
	if z.Name != "myapp.com" || z.Status != zones.ZoneStatusPending {
		t.Fatalf("new zone: got %s %s, want myapp.com pending", z.Name, z.Status)
	}
	if len(z.NameServers) != 2 || z.NameServers[0] == z.NameServers[1] || !strings.HasSuffix(z.NameServers[0], ".ns.appforge.test") {
		t.Errorf("name servers: got %v, want two distinct *.ns.appforge.test", z.NameServers)
	}
	other := newZone(t, s, "other.org")
	if !slices.Equal(other.NameServers, z.NameServers) {
		t.Errorf("an account's zones get the same name servers: %v and %v", z.NameServers, other.NameServers)
	}

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name string
			code int
		}{
			{"myapp.com", codeZoneExists},
			{"www.myapp.com", codeZoneIsSubdomain},
			{"co.uk", codeZoneNotDomain},
			{"not a domain", codeZoneNotDomain},
		}
		for _, tt := range tests {
			_, err := s.zones.New(ctx, zones.ZoneNewParams{Account: cf.F(zones.ZoneNewParamsAccount{ID: cf.F(testAccount)}), Name: cf.F(tt.name)})
			wantAPIError(t, err, http.StatusBadRequest, tt.code)
		}
	})

	t.Run("list by name", func(t *testing.T) {
		page, err := s.zones.List(ctx, zones.ZoneListParams{Name: cf.F("myapp.com"), Account: cf.F(zones.ZoneListParamsAccount{ID: cf.F(testAccount)})})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Result) != 1 || page.Result[0].ID != z.ID {
			t.Errorf("got %d zones, want myapp.com", len(page.Result))
		}
		if raw := page.ResultInfo.JSON.RawJSON(); !strings.Contains(raw, `"total_count":1`) {
			t.Errorf("result_info: got %s, want total_count 1", raw)
		}
	})

	t.Run("activation after the delay", func(t *testing.T) {
		clk.Advance(9 * time.Minute)
		if got := getZone(t, s, z.ID).Status; got != zones.ZoneStatusPending {
			t.Fatalf("after 9 of 10 minutes: got %s, want pending", got)
		}
		clk.Advance(time.Minute)
		got := getZone(t, s, z.ID)
		if got.Status != zones.ZoneStatusActive || got.ActivatedOn.IsZero() {
			t.Fatalf("after the delay: got %s (activated %v), want active", got.Status, got.ActivatedOn)
		}
	})

	t.Run("activation check", func(t *testing.T) {
		res, err := s.zones.ActivationCheck.Trigger(ctx, zones.ActivationCheckTriggerParams{ZoneID: cf.F(other.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != other.ID {
			t.Errorf("id: got %s, want %s", res.ID, other.ID)
		}
		if got := getZone(t, s, other.ID).Status; got != zones.ZoneStatusActive {
			t.Errorf("after an activation check: got %s, want active", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := s.zones.Delete(ctx, zones.ZoneDeleteParams{ZoneID: cf.F(other.ID)}); err != nil {
			t.Fatal(err)
		}
		_, err := s.zones.Get(ctx, zones.ZoneGetParams{ZoneID: cf.F(other.ID)})
		wantAPIError(t, err, http.StatusNotFound, codeCouldNotRoute)
	})
}

func TestZoneActivationControlAndDrift(t *testing.T) {
	f := startFixture(t, t.TempDir(), newClock(), withDelays(-1, 0, 0), func(c *Config) {
		c.ActivationCheckInterval = 5 * time.Minute
	})
	s := f.sdk()
	ctx := context.Background()
	z := newZone(t, s, "myapp.com")

	// Away name servers: an activation check leaves the zone pending.
	if _, err := f.edge.ControlDomain("myapp.com", DomainControl{NameServers: "away"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.zones.ActivationCheck.Trigger(ctx, zones.ActivationCheckTriggerParams{ZoneID: cf.F(z.ID)}); err != nil {
		t.Fatal(err)
	}
	if got := getZone(t, s, z.ID).Status; got != zones.ZoneStatusPending {
		t.Fatalf("with name servers away: got %s, want pending", got)
	}
	// A second check within the interval: 429 with Retry-After.
	_, err := s.zones.ActivationCheck.Trigger(ctx, zones.ActivationCheckTriggerParams{ZoneID: cf.F(z.ID)})
	apiErr := wantAPIError(t, err, http.StatusTooManyRequests, codeRateLimited)
	if ra := apiErr.Response.Header.Get("Retry-After"); ra != "300" {
		t.Errorf("Retry-After: got %q, want 300", ra)
	}

	// The control over HTTP: the token is required, and the zone activates.
	resp := f.do(t, "POST", "", "/__edge/domains/myapp.com", bearer("wrong"), strings.NewReader(`{"zone":"active"}`))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("control without the token: got %d, want 403", resp.StatusCode)
	}
	resp = f.do(t, "POST", "", "/__edge/domains/myapp.com", bearer(testToken), strings.NewReader(`{"zone":"active"}`))
	env := decodeEnvelope(t, resp)
	var st DomainStatus
	if err := json.Unmarshal(env.Result, &st); err != nil || st.Zone == nil || st.Zone.Status != zoneActive {
		t.Fatalf("control: got %s (%v), want the zone active", env.Result, err)
	}
	resp = f.do(t, "POST", "", "/__edge/domains/myapp.com", bearer(testToken), strings.NewReader(`{"zone":"sideways"}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad control value: got %d, want 400", resp.StatusCode)
	}

	// Drift: the registrar points away, the zone is moved.
	if _, err := f.edge.ControlDomain("myapp.com", DomainControl{NameServers: "away"}); err != nil {
		t.Fatal(err)
	}
	if got := getZone(t, s, z.ID).Status; got != zones.ZoneStatusMoved {
		t.Fatalf("after drift: got %s, want moved", got)
	}
	if _, err := f.edge.ControlDomain("myapp.com", DomainControl{NameServers: "ours", Zone: zoneActive}); err != nil {
		t.Fatal(err)
	}
	if got := getZone(t, s, z.ID).Status; got != zones.ZoneStatusActive {
		t.Fatalf("after the name servers came back: got %s, want active", got)
	}
	if _, err := f.edge.ControlDomain("nothing.example", DomainControl{Zone: zoneActive}); !errors.Is(err, ErrUnknownHostname) {
		t.Errorf("control of an unknown zone: got %v, want ErrUnknownHostname", err)
	}
}

func TestDNSRecords(t *testing.T) {
	f := newFixture(t)
	s := f.sdk()
	ctx := context.Background()
	z := newZone(t, s, "myapp.com")

	a, err := addRecord(s, z.ID, aRecord("api", "192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "api.myapp.com" || a.Type != dns.RecordResponseTypeA || a.Content != "192.0.2.10" {
		t.Errorf("created: got %s %s %s", a.Name, a.Type, a.Content)
	}
	if _, err := addRecord(s, z.ID, dns.TXTRecordParam{Name: cf.F("@"), TTL: cf.F(dns.TTL1), Type: cf.F(dns.TXTRecordTypeTXT), Content: cf.F("v=spf1 -all")}); err != nil {
		t.Fatal(err)
	}
	if _, err := addRecord(s, z.ID, cnameRecord("www.myapp.com", "myapp.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := addRecord(s, z.ID, dns.TXTRecordParam{Name: cf.F("_appforge-verify"), TTL: cf.F(dns.TTL1), Type: cf.F(dns.TXTRecordTypeTXT), Content: cf.F("token")}); err != nil {
		t.Errorf("a TXT record with an underscore label: %v", err)
	}

	t.Run("conflicts", func(t *testing.T) {
		tests := []struct {
			name string
			body dns.RecordNewParamsBodyUnion
			code int
		}{
			{"CNAME over an A", cnameRecord("api", "elsewhere.example"), codeDNSHostTaken},
			{"CNAME over a CNAME", cnameRecord("www", "other.example"), codeDNSHostTaken},
			{"A over a CNAME", aRecord("www", "192.0.2.1"), codeDNSCNAMEExists},
			{"the same A twice", aRecord("api", "192.0.2.10"), codeDNSRecordExists},
			{"not an IPv4 address", aRecord("bad", "2001:db8::1"), codeDNSValidation},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := addRecord(s, z.ID, tt.body)
				wantAPIError(t, err, http.StatusBadRequest, tt.code)
			})
		}
		_, err := addRecord(s, z.ID, aRecord("bad", "nope"))
		apiErr := wantAPIError(t, err, http.StatusBadRequest, codeDNSValidation)
		if !strings.Contains(apiErr.JSON.RawJSON(), `"code":9005`) {
			t.Errorf("error_chain: got %s, want code 9005", apiErr.JSON.RawJSON())
		}
	})

	t.Run("list filters", func(t *testing.T) {
		page, err := s.dns.List(ctx, dns.RecordListParams{ZoneID: cf.F(z.ID), Name: cf.F(dns.RecordListParamsName{Exact: cf.F("www.myapp.com")})})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Result) != 1 || page.Result[0].Type != dns.RecordResponseTypeCNAME {
			t.Errorf("by name: got %+v", page.Result)
		}
		page, err = s.dns.List(ctx, dns.RecordListParams{ZoneID: cf.F(z.ID), Type: cf.F(dns.RecordListParamsTypeTXT)})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range page.Result {
			names = append(names, r.Name)
		}
		if !slices.Equal(names, []string{"_appforge-verify.myapp.com", "myapp.com"}) {
			t.Errorf("by type: got %v", names)
		}
		resp := f.do(t, "GET", "", "/client/v4/zones/"+z.ID+"/dns_records?name=api.myapp.com", bearer(testToken), nil)
		var recs []recordObject
		if err := json.Unmarshal(decodeEnvelope(t, resp).Result, &recs); err != nil || len(recs) != 1 {
			t.Errorf("?name=: got %v (%v)", recs, err)
		}
	})

	t.Run("update and delete", func(t *testing.T) {
		got, err := s.dns.Edit(ctx, a.ID, dns.RecordEditParams{ZoneID: cf.F(z.ID), Body: dns.ARecordParam{Content: cf.F("192.0.2.11"), Type: cf.F(dns.ARecordTypeA)}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Content != "192.0.2.11" || got.Name != "api.myapp.com" {
			t.Errorf("after PATCH: got %s %s", got.Name, got.Content)
		}
		if _, err := s.dns.Delete(ctx, a.ID, dns.RecordDeleteParams{ZoneID: cf.F(z.ID)}); err != nil {
			t.Fatal(err)
		}
		_, err = s.dns.Get(ctx, a.ID, dns.RecordGetParams{ZoneID: cf.F(z.ID)})
		wantAPIError(t, err, http.StatusNotFound, codeDNSNotFound)
	})
}

func TestWorkerDomains(t *testing.T) {
	clk := newClock()
	f := startFixture(t, t.TempDir(), clk, withDelays(time.Hour, time.Minute, 0))
	f.deploy(t, "todo", map[string]string{"/index.html": "todo"}, "")
	f.deploy(t, "other", map[string]string{"/index.html": "other"}, "")
	s := f.sdk()
	ctx := context.Background()
	z := newZone(t, s, "myapp.com")

	d, err := attachDomain(s, z.ID, "myapp.com", "todo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Hostname != "myapp.com" || d.Service != "todo" || d.ZoneName != "myapp.com" || d.Environment != "production" || d.CERTID == "" {
		t.Errorf("attached: got %+v", d)
	}

	t.Run("the managed record", func(t *testing.T) {
		page, err := s.dns.List(ctx, dns.RecordListParams{ZoneID: cf.F(z.ID), Name: cf.F(dns.RecordListParamsName{Exact: cf.F("myapp.com")})})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Result) != 1 || page.Result[0].Type != dns.RecordResponseTypeAAAA || page.Result[0].Content != "100::" || !page.Result[0].Proxied {
			t.Fatalf("got %+v, want one proxied AAAA 100::", page.Result)
		}
		rec := page.Result[0]
		if !strings.Contains(rec.JSON.RawJSON(), `"read_only":true`) || !strings.Contains(rec.JSON.RawJSON(), `"origin_worker_id":"`+d.ID+`"`) {
			t.Errorf("meta: got %s", rec.JSON.RawJSON())
		}
		_, err = s.dns.Delete(ctx, rec.ID, dns.RecordDeleteParams{ZoneID: cf.F(z.ID)})
		wantAPIError(t, err, http.StatusBadRequest, codeDNSWorkersManaged)
		_, err = addRecord(s, z.ID, aRecord("myapp.com", "192.0.2.1"))
		wantAPIError(t, err, http.StatusBadRequest, codeDNSWorkersManaged)
	})

	t.Run("idempotent and conflicts", func(t *testing.T) {
		again, err := attachDomain(s, z.ID, "myapp.com", "todo")
		if err != nil || again.ID != d.ID {
			t.Errorf("attaching again: got %v, %v, want the same Custom Domain", again, err)
		}
		_, err = attachDomain(s, z.ID, "myapp.com", "other")
		wantAPIError(t, err, http.StatusConflict, codeDomainOriginInUse)

		if _, err := addRecord(s, z.ID, cnameRecord("blog", "blog.host.example")); err != nil {
			t.Fatal(err)
		}
		_, err = attachDomain(s, z.ID, "blog.myapp.com", "todo")
		apiErr := wantAPIError(t, err, http.StatusConflict, codeDomainExternalDNS)
		if want := "Hostname 'blog.myapp.com' already has externally managed DNS records (A, CNAME, etc)"; !strings.Contains(apiErr.Errors[0].Message, want) {
			t.Errorf("message: got %q, want it to contain %q", apiErr.Errors[0].Message, want)
		}
		_, err = attachDomain(s, z.ID, "shop.elsewhere.org", "todo")
		wantAPIError(t, err, http.StatusBadRequest, codeValidation)
		_, err = attachDomain(s, z.ID, "app.myapp.com", "missing")
		wantAPIError(t, err, http.StatusNotFound, codeNotFound)
	})

	t.Run("certificate waits for the zone", func(t *testing.T) {
		packs := func() []ssl.CertificatePackListResponse {
			page, err := s.packs.List(ctx, ssl.CertificatePackListParams{ZoneID: cf.F(z.ID), Status: cf.F(ssl.CertificatePackListParamsStatusAll)})
			if err != nil {
				t.Fatal(err)
			}
			return page.Result
		}
		advanced := func() ssl.CertificatePackListResponse {
			for _, p := range packs() {
				if p.Type == ssl.CertificatePackListResponseTypeAdvanced {
					return p
				}
			}
			t.Fatal("no advanced pack")
			return ssl.CertificatePackListResponse{}
		}
		if got := advanced(); got.Status != ssl.StatusInitializing || !slices.Equal(got.Hosts, []string{"myapp.com"}) {
			t.Fatalf("before the zone is active: got %s %v", got.Status, got.Hosts)
		}
		clk.Advance(time.Hour)
		if got := advanced(); got.Status != ssl.StatusPendingValidation {
			t.Fatalf("zone active: got %s, want pending_validation", got.Status)
		}
		clk.Advance(time.Minute)
		got := advanced()
		if got.Status != ssl.StatusActive || len(got.Certificates) != 1 {
			t.Fatalf("after the certificate delay: got %s with %d certificates", got.Status, len(got.Certificates))
		}
		if exp := got.Certificates[0].ExpiresOn; exp.Sub(clk.Now()) < 89*24*time.Hour || exp.Sub(clk.Now()) > 91*24*time.Hour {
			t.Errorf("expires_on: got %v, want about 90 days from now", exp)
		}
		var universal bool
		for _, p := range packs() {
			universal = universal || (p.Type == ssl.CertificatePackListResponseTypeUniversal && p.Status == ssl.StatusActive &&
				slices.Equal(p.Hosts, []string{"myapp.com", "*.myapp.com"}))
		}
		if !universal {
			t.Errorf("no active universal pack for myapp.com and *.myapp.com")
		}
		// Without status=all: active packs only (both are).
		page, err := s.packs.List(ctx, ssl.CertificatePackListParams{ZoneID: cf.F(z.ID)})
		if err != nil || len(page.Result) != 2 {
			t.Errorf("active packs: got %d (%v), want 2", len(page.Result), err)
		}
		// Renewal 30 days before expiry.
		serial := got.Certificates[0].JSON.ExtraFields["serial_number"].Raw()
		clk.Advance(61 * 24 * time.Hour)
		renewed := advanced()
		if renewed.Certificates[0].JSON.ExtraFields["serial_number"].Raw() == serial || !renewed.Certificates[0].ExpiresOn.After(got.Certificates[0].ExpiresOn) {
			t.Errorf("the certificate was not renewed 29 days before expiry")
		}
	})

	t.Run("list and detach", func(t *testing.T) {
		page, err := s.workers.Domains.List(ctx, workers.DomainListParams{AccountID: cf.F(testAccount), Hostname: cf.F("myapp.com")})
		if err != nil || len(page.Result) != 1 || page.Result[0].ID != d.ID {
			t.Fatalf("list by hostname: got %v, %v", page, err)
		}
		if _, err := s.workers.Domains.Delete(ctx, d.ID, workers.DomainDeleteParams{AccountID: cf.F(testAccount)}); err != nil {
			t.Fatal(err)
		}
		recs, _ := s.dns.List(ctx, dns.RecordListParams{ZoneID: cf.F(z.ID), Name: cf.F(dns.RecordListParamsName{Exact: cf.F("myapp.com")})})
		if len(recs.Result) != 0 {
			t.Errorf("the managed record outlived its Custom Domain")
		}
		packs, _ := s.packs.List(ctx, ssl.CertificatePackListParams{ZoneID: cf.F(z.ID), Status: cf.F(ssl.CertificatePackListParamsStatusAll)})
		if len(packs.Result) != 1 {
			t.Errorf("packs after detaching: got %d, want the universal one", len(packs.Result))
		}
		_, err = s.workers.Domains.Get(ctx, d.ID, workers.DomainGetParams{AccountID: cf.F(testAccount)})
		wantAPIError(t, err, http.StatusNotFound, codeDomainNotFound)
	})
}

func hostnameStatus(t *testing.T, s sdk, zoneID, id string) *custom_hostnames.CustomHostnameGetResponse {
	t.Helper()
	ch, err := s.hostnames.Get(context.Background(), id, custom_hostnames.CustomHostnameGetParams{ZoneID: cf.F(zoneID)})
	if err != nil {
		t.Fatalf("get custom hostname: %v", err)
	}
	return ch
}

func TestCustomHostnameLifecycle(t *testing.T) {
	clk := newClock()
	step := time.Minute
	f := startFixture(t, t.TempDir(), clk, withDelays(0, 0, step))
	s := f.sdk()
	ctx := context.Background()
	saas := newZone(t, s, "appforge.app")

	var resp *http.Response
	ch, err := s.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{
		ZoneID:   cf.F(saas.ID),
		Hostname: cf.F("Shop.Customer.com"),
		SSL: cf.F(custom_hostnames.CustomHostnameNewParamsSSL{
			Method: cf.F(custom_hostnames.DCVMethodTXT),
			Type:   cf.F(custom_hostnames.DomainValidationTypeDv),
		}),
		CustomMetadata: cf.F(map[string]string{"app": "todo"}),
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("POST status: got %d, want 201", resp.StatusCode)
	}
	if ch.Hostname != "shop.customer.com" || ch.Status != custom_hostnames.CustomHostnameNewResponseStatusPending ||
		ch.SSL.Status != custom_hostnames.CustomHostnameNewResponseSSLStatusInitializing {
		t.Fatalf("created: got %s %s %s", ch.Hostname, ch.Status, ch.SSL.Status)
	}
	if ov := ch.OwnershipVerification; ov.Type != "txt" || ov.Name != "_cf-custom-hostname.shop.customer.com" || ov.Value == "" {
		t.Errorf("ownership_verification: got %+v", ov)
	}
	if ch.OwnershipVerificationHTTP.HTTPURL != "http://shop.customer.com/.well-known/cf-custom-hostname-challenge/"+ch.ID {
		t.Errorf("ownership_verification_http: got %+v", ch.OwnershipVerificationHTTP)
	}
	if len(ch.VerificationErrors) == 0 {
		t.Errorf("a pending hostname has no verification error")
	}

	wantSteps := []string{"pending_validation", "pending_issuance", "pending_deployment", "active"}
	for i, want := range wantSteps {
		clk.Advance(step)
		got := hostnameStatus(t, s, saas.ID, ch.ID)
		if string(got.SSL.Status) != want {
			t.Fatalf("step %d: ssl.status %s, want %s", i+1, got.SSL.Status, want)
		}
		if got.Status != custom_hostnames.CustomHostnameGetResponseStatusActive {
			t.Errorf("step %d: status %s, want active", i+1, got.Status)
		}
		if want == "pending_validation" {
			if len(got.SSL.ValidationRecords) != 1 || got.SSL.ValidationRecords[0].TXTName != "_acme-challenge.shop.customer.com" ||
				got.SSL.ValidationRecords[0].TXTValue == "" {
				t.Errorf("validation_records: got %+v", got.SSL.ValidationRecords)
			}
		}
		if want == "active" {
			if got.SSL.ExpiresOn.IsZero() || got.SSL.Issuer != caIssuer || len(got.SSL.ValidationRecords) != 0 {
				t.Errorf("active certificate: got expires %v issuer %q records %v", got.SSL.ExpiresOn, got.SSL.Issuer, got.SSL.ValidationRecords)
			}
		}
	}

	t.Run("duplicates", func(t *testing.T) {
		other := newZone(t, s, "platform.dev")
		_, err := s.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{ZoneID: cf.F(other.ID), Hostname: cf.F("shop.customer.com")})
		apiErr := wantAPIError(t, err, http.StatusConflict, codeHostnameDuplicate)
		if apiErr.Errors[0].Message != "Duplicate custom hostname found." {
			t.Errorf("message: got %q", apiErr.Errors[0].Message)
		}
		if _, err := f.edge.ControlDomain("taken.customer.com", DomainControl{Claimed: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{ZoneID: cf.F(saas.ID), Hostname: cf.F("taken.customer.com")})
		wantAPIError(t, err, http.StatusConflict, codeHostnameDuplicate)
		_, err = s.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{ZoneID: cf.F(saas.ID), Hostname: cf.F("bad_host!")})
		wantAPIError(t, err, http.StatusBadRequest, codeHostnameInvalid)
	})

	t.Run("validation fails, a refresh retries", func(t *testing.T) {
		ch2, err := s.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{
			ZoneID: cf.F(saas.ID), Hostname: cf.F("app.client.net"),
			SSL: cf.F(custom_hostnames.CustomHostnameNewParamsSSL{Method: cf.F(custom_hostnames.DCVMethodHTTP), Type: cf.F(custom_hostnames.DomainValidationTypeDv)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.edge.ControlDomain("app.client.net", DomainControl{Validation: "fail", ValidationError: "no TXT record at _acme-challenge.app.client.net"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * step)
		got := hostnameStatus(t, s, saas.ID, ch2.ID)
		if got.SSL.Status != custom_hostnames.CustomHostnameGetResponseSSLStatusValidationTimedOut ||
			len(got.SSL.ValidationErrors) != 1 || !strings.Contains(got.SSL.ValidationErrors[0].Message, "no TXT record") {
			t.Fatalf("after failing validation: got %s %+v", got.SSL.Status, got.SSL.ValidationErrors)
		}
		if len(got.SSL.ValidationRecords) != 1 || !strings.HasPrefix(got.SSL.ValidationRecords[0].HTTPURL, "http://app.client.net/.well-known/acme-challenge/") {
			t.Errorf("http validation record: got %+v", got.SSL.ValidationRecords)
		}
		if _, err := f.edge.ControlDomain("app.client.net", DomainControl{Validation: "pass"}); err != nil {
			t.Fatal(err)
		}
		var presp *http.Response
		edited, err := s.hostnames.Edit(ctx, ch2.ID, custom_hostnames.CustomHostnameEditParams{
			ZoneID: cf.F(saas.ID),
			SSL:    cf.F(custom_hostnames.CustomHostnameEditParamsSSL{Method: cf.F(custom_hostnames.DCVMethodHTTP), Type: cf.F(custom_hostnames.DomainValidationTypeDv)}),
		}, option.WithResponseInto(&presp))
		if err != nil {
			t.Fatal(err)
		}
		if presp.StatusCode != http.StatusAccepted || edited.SSL.Status != custom_hostnames.CustomHostnameEditResponseSSLStatusPendingValidation {
			t.Errorf("PATCH: got %d %s, want 202 pending_validation", presp.StatusCode, edited.SSL.Status)
		}
		clk.Advance(3 * step)
		if got := hostnameStatus(t, s, saas.ID, ch2.ID); got.SSL.Status != custom_hostnames.CustomHostnameGetResponseSSLStatusActive {
			t.Errorf("after a refresh: got %s, want active", got.SSL.Status)
		}
	})

	t.Run("list and delete", func(t *testing.T) {
		page, err := s.hostnames.List(ctx, custom_hostnames.CustomHostnameListParams{ZoneID: cf.F(saas.ID), Hostname: cf.F(custom_hostnames.CustomHostnameListParamsHostname{Contain: cf.F("customer")})})
		if err != nil || len(page.Result) != 1 || page.Result[0].ID != ch.ID {
			t.Fatalf("list: got %v, %v", page, err)
		}
		del, err := s.hostnames.Delete(ctx, ch.ID, custom_hostnames.CustomHostnameDeleteParams{ZoneID: cf.F(saas.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if del.ID != ch.ID {
			t.Errorf("delete answered id %q, want %q", del.ID, ch.ID)
		}
		_, err = s.hostnames.Get(ctx, ch.ID, custom_hostnames.CustomHostnameGetParams{ZoneID: cf.F(saas.ID)})
		wantAPIError(t, err, http.StatusNotFound, codeHostnameNotFound)
	})
}

func TestZoneSettingsAndRoutes(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "todo", map[string]string{"/index.html": "todo"}, "")
	s := f.sdk()
	ctx := context.Background()
	z := newZone(t, s, "myapp.com")

	got, err := s.zones.Settings.Get(ctx, "always_use_https", zones.SettingGetParams{ZoneID: cf.F(z.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Value) != "off" {
		t.Errorf("default always_use_https: got %v, want off", got.Value)
	}
	edited, err := s.zones.Settings.Edit(ctx, "always_use_https", zones.SettingEditParams{ZoneID: cf.F(z.ID), Body: zones.SettingEditParamsBody{Value: cf.F[any]("on")}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(edited.Value) != "on" || edited.ModifiedOn.IsZero() {
		t.Errorf("after PATCH: got %v (modified %v)", edited.Value, edited.ModifiedOn)
	}
	_, err = s.zones.Settings.Edit(ctx, "always_use_https", zones.SettingEditParams{ZoneID: cf.F(z.ID), Body: zones.SettingEditParamsBody{Value: cf.F[any]("maybe")}})
	wantAPIError(t, err, http.StatusBadRequest, codeValidation)
	if _, err := s.zones.Settings.Edit(ctx, "min_tls_version", zones.SettingEditParams{ZoneID: cf.F(z.ID), Body: zones.SettingEditParamsBody{Value: cf.F[any]("1.2")}}); err != nil {
		t.Fatal(err)
	}

	rt, err := s.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(z.ID), Pattern: cf.F("api.myapp.com/*"), Script: cf.F("todo")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(z.ID), Pattern: cf.F("api.myapp.com/*"), Script: cf.F("todo")})
	wantAPIError(t, err, http.StatusConflict, codeRouteDuplicate)
	_, err = s.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(z.ID), Pattern: cf.F("api.other.org/*"), Script: cf.F("todo")})
	wantAPIError(t, err, http.StatusBadRequest, codeValidation)
	page, err := s.workers.Routes.List(ctx, workers.RouteListParams{ZoneID: cf.F(z.ID)})
	if err != nil || len(page.Result) != 1 || page.Result[0].Script != "todo" {
		t.Fatalf("routes: got %v, %v", page, err)
	}
	// The route serves its host over plain HTTP (the zone is active with zero delays);
	// Always Use HTTPS is on, so the answer is a redirect.
	resp := f.do(t, "GET", "api.myapp.com", "/x?y=1", nil, nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://api.myapp.com/x?y=1" {
		t.Errorf("HTTP with Always Use HTTPS: got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := s.workers.Routes.Delete(ctx, rt.ID, workers.RouteDeleteParams{ZoneID: cf.F(z.ID)}); err != nil {
		t.Fatal(err)
	}
	resp = f.do(t, "GET", "api.myapp.com", "/", nil, nil)
	if resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusOK {
		t.Errorf("after deleting the route the host is still served: %d", resp.StatusCode)
	}
}

func redirectRuleParam(from, to string) rulesets.RedirectRuleParam {
	return rulesets.RedirectRuleParam{
		Action:     cf.F(rulesets.RedirectRuleActionRedirect),
		Expression: cf.F(`(http.host eq "` + from + `")`),
		Ref:        cf.F("www_to_apex"),
		ActionParameters: cf.F(rulesets.RedirectRuleActionParametersParam{
			FromValue: cf.F(rulesets.RedirectRuleActionParametersFromValueParam{
				TargetURL:           cf.F(rulesets.RedirectRuleActionParametersFromValueTargetURLParam{Expression: cf.F(`concat("https://` + to + `", http.request.uri.path)`)}),
				StatusCode:          cf.F(rulesets.RedirectRuleActionParametersFromValueStatusCode301),
				PreserveQueryString: cf.F(true),
			}),
		}),
	}
}

func TestRedirectRules(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "todo", map[string]string{"/index.html": "todo"}, "")
	s := f.sdk()
	ctx := context.Background()
	z := newZone(t, s, "myapp.com")

	_, err := s.phases.Get(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseGetParams{ZoneID: cf.F(z.ID)})
	wantAPIError(t, err, http.StatusNotFound, codeNoEntrypoint)

	rs, err := s.phases.Update(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseUpdateParams{
		ZoneID: cf.F(z.ID),
		Rules:  cf.F([]rulesets.PhaseUpdateParamsRuleUnion{redirectRuleParam("www.myapp.com", "myapp.com")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 1 || rs.Rules[0].Ref != "www_to_apex" || rs.Version != "1" {
		t.Errorf("ruleset: got version %s rules %+v", rs.Version, rs.Rules)
	}
	got, err := s.phases.Get(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseGetParams{ZoneID: cf.F(z.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if rule, ok := got.Rules[0].AsUnion().(rulesets.RedirectRule); !ok || rule.ActionParameters.FromValue.StatusCode != 301 ||
		!strings.Contains(rule.ActionParameters.FromValue.TargetURL.Expression, "http.request.uri.path") {
		t.Errorf("GET: got %+v", got.Rules[0])
	}

	bad := []string{
		`lower(http.host) eq "x"`,
		`http.cookie contains "a"`,
		`http.host matches "^w"`,
	}
	for _, expr := range bad {
		p := redirectRuleParam("www.myapp.com", "myapp.com")
		p.Expression = cf.F(expr)
		_, err := s.phases.Update(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseUpdateParams{ZoneID: cf.F(z.ID), Rules: cf.F([]rulesets.PhaseUpdateParamsRuleUnion{p})})
		apiErr := wantAPIError(t, err, http.StatusBadRequest, codeRuleInvalid)
		if !strings.Contains(apiErr.Errors[0].Message, "the local edge supports") {
			t.Errorf("%s: the refusal does not say what is supported: %q", expr, apiErr.Errors[0].Message)
		}
	}

	// www gets a route so that it is served; the rule redirects it to the apex.
	if _, err := s.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(z.ID), Pattern: cf.F("*myapp.com/*"), Script: cf.F("todo")}); err != nil {
		t.Fatal(err)
	}
	resp := f.do(t, "GET", "www.myapp.com", "/about?tab=2", nil, nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://myapp.com/about?tab=2" {
		t.Errorf("www: got %d %q, want 301 to https://myapp.com/about?tab=2", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = f.do(t, "GET", "myapp.com", "/", nil, nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || body != "todo" {
		t.Errorf("apex: got %d %q", resp.StatusCode, body)
	}
}

func TestExpressionSubset(t *testing.T) {
	req := redirectRequest{host: "www.myapp.com", path: "/a", query: "q=1", ssl: true}
	tests := []struct {
		expr string
		want bool
	}{
		{`http.host eq "www.myapp.com"`, true},
		{`(http.host == "www.myapp.com" and http.request.uri.path eq "/a")`, true},
		{`http.host eq "www.myapp.com" and not ssl`, false},
		{`http.host in {"a.com" "www.myapp.com"}`, true},
		{`http.host ne "www.myapp.com" or http.request.uri.query eq "q=1"`, true},
	}
	for _, tt := range tests {
		n, err := parseExpression(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got := n.eval(req).b; got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.expr, got, tt.want)
		}
	}
	for _, bad := range []string{`http.host eq`, `(http.host eq "a"`, `http.host eq "a" and`, `"a" eq http.host`, `http.host contains "a"`} {
		if _, err := parseExpression(bad); err == nil {
			t.Errorf("%s: parsed, want an error", bad)
		}
	}
	target, err := parseTarget(`concat("https://myapp.com", http.request.uri.path)`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range target {
		b.WriteString(n.eval(req).str)
	}
	if b.String() != "https://myapp.com/a" {
		t.Errorf("target: got %q", b.String())
	}
	for _, bad := range []string{`concat(http.host, "/x")`, `wildcard_replace(http.request.full_uri, "a", "b")`, `concat("https://a.com" http.host)`} {
		if _, err := parseTarget(bad); err == nil {
			t.Errorf("target %s: parsed, want an error", bad)
		}
	}
}
