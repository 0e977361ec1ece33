package cloudflare_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/rulesets"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/edge"
)

// delays sets the edge's status delays.
func delays(zone, cert, hostname time.Duration) func(*edge.Config) {
	return func(c *edge.Config) {
		c.ZoneActivationDelay, c.CertificateDelay, c.CustomHostnameDelay = zone, cert, hostname
	}
}

// wantCode asserts err is a classified *cloudflare.Error of kind and code.
func wantCode(t *testing.T, err error, kind cloudflare.Kind, code int) *cloudflare.Error {
	t.Helper()
	var e *cloudflare.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *cloudflare.Error", err, err)
	}
	if e.Kind != kind || e.Code != code {
		t.Errorf("got kind %s code %d (%s), want %s %d", e.Kind, e.Code, e.Message, kind, code)
	}
	if strings.Contains(e.Error(), testToken) {
		t.Errorf("the error shows the API token: %s", e.Error())
	}
	return e
}

// records is a raw DNS client for the edge, to set up what a user would have.
func (te *testEdge) records() *dns.RecordService {
	return dns.NewRecordService(option.WithBaseURL(te.srv.URL+"/client/v4"), option.WithAPIToken(testToken), option.WithMaxRetries(0))
}

func TestZones(t *testing.T) {
	te := startEdge(t, nil, delays(-1, 0, 0))
	d := te.deployer(t)
	ctx := context.Background()

	z, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil {
		t.Fatal(err)
	}
	if z.ID == "" || z.Name != "myapp.com" || z.Status != cloudflare.ZonePending || len(z.NameServers) != 2 {
		t.Fatalf("new zone: got %+v", z)
	}
	again, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil || again.ID != z.ID {
		t.Fatalf("EnsureZone again: got %+v, %v, want the same zone", again, err)
	}
	if err := d.CheckZoneActivation(ctx, z.ID); err != nil {
		t.Fatal(err)
	}
	got, err := d.Zone(ctx, z.ID)
	if err != nil || got.Status != cloudflare.ZoneActive || got.ActivatedOn.IsZero() {
		t.Fatalf("after an activation check: got %+v, %v", got, err)
	}
	_, err = d.EnsureZone(ctx, "www.myapp.com")
	wantCode(t, err, cloudflare.KindValidation, 1116)
	_, err = d.EnsureZone(ctx, "Bad Name")
	wantCode(t, err, cloudflare.KindValidation, 0)

	if err := d.DeleteZone(ctx, z.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteZone(ctx, z.ID); err != nil {
		t.Errorf("deleting a deleted zone: %v", err)
	}
	_, err = d.Zone(ctx, z.ID)
	e := wantCode(t, err, cloudflare.KindNotFound, 7003)
	if !strings.Contains(e.Message, "zone") {
		t.Errorf("message: got %q, want it to speak of the zone", e.Message)
	}
}

func TestZoneActivationCheckRateLimited(t *testing.T) {
	te := startEdge(t, nil, delays(-1, 0, 0), func(c *edge.Config) { c.ActivationCheckInterval = time.Hour })
	d := te.deployer(t)
	ctx := context.Background()
	z, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := te.edge.ControlDomain("myapp.com", edge.DomainControl{NameServers: "away"}); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckZoneActivation(ctx, z.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Zone(ctx, z.ID); got.Status != cloudflare.ZonePending {
		t.Errorf("name servers away: got %s, want pending", got.Status)
	}
	err = d.CheckZoneActivation(ctx, z.ID)
	e := wantCode(t, err, cloudflare.KindRateLimited, 971)
	if e.RetryAfter != time.Hour || !e.Retryable() {
		t.Errorf("RetryAfter: got %s, want 1h", e.RetryAfter)
	}
}

func TestWorkerDomainsAndDNS(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()
	for _, s := range []string{"todo", "blog"} {
		if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: s, Assets: bundle(s)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	z, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil {
		t.Fatal(err)
	}

	wd, err := d.AttachWorkerDomain(ctx, z.ID, "myapp.com", "todo")
	if err != nil {
		t.Fatal(err)
	}
	if wd.Hostname != "myapp.com" || wd.Service != "todo" || wd.ZoneID != z.ID || wd.ID == "" {
		t.Errorf("attached: got %+v", wd)
	}
	again, err := d.AttachWorkerDomain(ctx, z.ID, "myapp.com", "todo")
	if err != nil || again.ID != wd.ID {
		t.Errorf("attaching again: got %+v, %v, want the same Custom Domain", again, err)
	}
	recs, err := d.DNSRecords(ctx, z.ID, "myapp.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Type != "AAAA" || !recs[0].Proxied || !recs[0].ReadOnly {
		t.Errorf("records: got %+v, want the Custom Domain's read-only AAAA", recs)
	}

	t.Run("conflicts", func(t *testing.T) {
		_, err := d.AttachWorkerDomain(ctx, z.ID, "myapp.com", "blog")
		e := wantCode(t, err, cloudflare.KindConflict, cloudflare.CodeHostnameInUse)
		if !strings.Contains(e.Message, "another Worker") {
			t.Errorf("message: %q", e.Message)
		}
		if _, err := te.records().New(ctx, dns.RecordNewParams{ZoneID: cf.F(z.ID), Body: dns.CNAMERecordParam{
			Name: cf.F("shop.myapp.com"), TTL: cf.F(dns.TTL1), Type: cf.F(dns.CNAMERecordTypeCNAME), Content: cf.F("shops.example.net"),
		}}); err != nil {
			t.Fatal(err)
		}
		_, err = d.AttachWorkerDomain(ctx, z.ID, "shop.myapp.com", "todo")
		e = wantCode(t, err, cloudflare.KindConflict, cloudflare.CodeHostnameHasDNSRecords)
		if e.Status != http.StatusConflict || !strings.Contains(e.Error(), "attach shop.myapp.com to todo") ||
			!strings.Contains(e.Message, "delete them in the zone's DNS settings") {
			t.Errorf("error: %s", e.Error())
		}
		_, err = te.records().New(ctx, dns.RecordNewParams{ZoneID: cf.F(z.ID), Body: dns.CNAMERecordParam{
			Name: cf.F("shop.myapp.com"), TTL: cf.F(dns.TTL1), Type: cf.F(dns.CNAMERecordTypeCNAME), Content: cf.F("other.example.net"),
		}})
		wantCode(t, cloudflare.Classify(err), cloudflare.KindConflict, cloudflare.CodeDNSRecordConflict)
		all, err := d.DNSRecords(ctx, z.ID, "")
		if err != nil || len(all) != 2 {
			t.Errorf("all records: got %d, %v", len(all), err)
		}
	})

	t.Run("certificates and Always Use HTTPS", func(t *testing.T) {
		packs, err := d.CertificatePacks(ctx, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(packs, func(p cloudflare.CertificatePack) bool { return slices.Equal(p.Hosts, []string{"myapp.com"}) })
		if i < 0 || packs[i].Status != "active" || packs[i].Type != "advanced" || time.Until(packs[i].ExpiresOn) < 80*24*time.Hour {
			t.Fatalf("packs: got %+v", packs)
		}
		if err := d.SetAlwaysUseHTTPS(ctx, z.ID, true); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", te.srv.URL+"/x", nil)
		req.Host = "myapp.com"
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://myapp.com/x" {
			t.Errorf("HTTP: got %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if err := d.SetAlwaysUseHTTPS(ctx, z.ID, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("detach", func(t *testing.T) {
		if err := d.DetachWorkerDomain(ctx, "myapp.com"); err != nil {
			t.Fatal(err)
		}
		if err := d.DetachWorkerDomain(ctx, "myapp.com"); err != nil {
			t.Errorf("detaching twice: %v", err)
		}
		recs, err := d.DNSRecords(ctx, z.ID, "myapp.com")
		if err != nil || len(recs) != 0 {
			t.Errorf("records after detaching: %+v, %v", recs, err)
		}
	})
}

// countingEdge counts the requests whose method and path suffix match.
func countingEdge(method, suffix string, n *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestEnsureRedirect(t *testing.T) {
	var puts atomic.Int32
	te := startEdge(t, countingEdge("PUT", "/entrypoint", &puts))
	d := te.deployer(t)
	ctx := context.Background()
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "todo", Assets: bundle("todo")}, nil); err != nil {
		t.Fatal(err)
	}
	z, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"myapp.com", "www.myapp.com"} {
		if _, err := d.AttachWorkerDomain(ctx, z.ID, h, "todo"); err != nil {
			t.Fatal(err)
		}
	}
	// A rule the user made: EnsureRedirect keeps it.
	phases := rulesets.NewPhaseService(option.WithBaseURL(te.srv.URL+"/client/v4"), option.WithAPIToken(testToken), option.WithMaxRetries(0))
	if _, err := phases.Update(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseUpdateParams{ZoneID: cf.F(z.ID), Rules: cf.F([]rulesets.PhaseUpdateParamsRuleUnion{
		rulesets.RedirectRuleParam{Action: cf.F(rulesets.RedirectRuleActionRedirect), Ref: cf.F("users_own"), Expression: cf.F(`http.request.uri.path eq "/old"`),
			ActionParameters: cf.F(rulesets.RedirectRuleActionParametersParam{FromValue: cf.F(rulesets.RedirectRuleActionParametersFromValueParam{
				TargetURL: cf.F(rulesets.RedirectRuleActionParametersFromValueTargetURLParam{Value: cf.F("https://myapp.com/new")}),
			})})},
	})}); err != nil {
		t.Fatal(err)
	}
	puts.Store(0)

	if err := d.EnsureRedirect(ctx, z.ID, "www.myapp.com", "myapp.com"); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureRedirect(ctx, z.ID, "www.myapp.com", "myapp.com"); err != nil {
		t.Fatal(err)
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("two EnsureRedirect calls wrote the rules %d times, want once", n)
	}
	rs, err := phases.Get(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseGetParams{ZoneID: cf.F(z.ID)})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, r := range rs.Rules {
		refs = append(refs, r.Ref)
	}
	if !slices.Contains(refs, "users_own") || len(refs) != 2 {
		t.Errorf("rules: got %v, want the user's rule and appforge's", refs)
	}
	status, loc := redirectOf(t, te, "www.myapp.com", "/about?x=1")
	if status != http.StatusMovedPermanently || loc != "https://myapp.com/about?x=1" {
		t.Errorf("www: got %d %q", status, loc)
	}
	status, loc = redirectOf(t, te, "myapp.com", "/old")
	if status != http.StatusMovedPermanently || loc != "https://myapp.com/new" {
		t.Errorf("the user's rule: got %d %q", status, loc)
	}
	if err := d.RemoveRedirect(ctx, z.ID, "www.myapp.com"); err != nil {
		t.Fatal(err)
	}
	if status, _ := redirectOf(t, te, "www.myapp.com", "/"); status != http.StatusOK {
		t.Errorf("after RemoveRedirect: got %d, want the app", status)
	}
}

func redirectOf(t *testing.T, te *testEdge, host, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", te.srv.URL+path, nil)
	req.Host = host
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestCustomHostnames(t *testing.T) {
	te := startEdge(t, nil, delays(0, 0, -1))
	d := te.deployer(t)
	ctx := context.Background()
	saas, err := d.EnsureZone(ctx, "appforge.app")
	if err != nil {
		t.Fatal(err)
	}

	ch, err := d.EnsureCustomHostname(ctx, saas.ID, "shop.customer.com")
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID == "" || ch.Status != cloudflare.HostnamePending || ch.SSLStatus != "initializing" ||
		ch.Ownership.Name != "_cf-custom-hostname.shop.customer.com" || ch.Ownership.Value == "" || len(ch.Errors) == 0 {
		t.Fatalf("created: got %+v", ch)
	}
	again, err := d.EnsureCustomHostname(ctx, saas.ID, "shop.customer.com")
	if err != nil || again.ID != ch.ID {
		t.Fatalf("EnsureCustomHostname again: got %+v, %v, want the same", again, err)
	}

	control := func(c edge.DomainControl) {
		t.Helper()
		if _, err := te.edge.ControlDomain("shop.customer.com", c); err != nil {
			t.Fatal(err)
		}
	}
	control(edge.DomainControl{SSL: "pending_validation"})
	got, err := d.CustomHostname(ctx, saas.ID, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SSLStatus != "pending_validation" || len(got.Validation) != 1 || got.Validation[0].TXTName != "_acme-challenge.shop.customer.com" || got.Validation[0].TXTValue == "" {
		t.Errorf("validating: got %+v", got)
	}

	control(edge.DomainControl{SSL: "validation_timed_out", ValidationError: "TXT record not found"})
	got, _ = d.CustomHostname(ctx, saas.ID, ch.ID)
	if got.SSLStatus != "validation_timed_out" || !slices.Contains(got.Errors, "TXT record not found") {
		t.Errorf("failed validation: got %+v", got)
	}
	refreshed, err := d.RefreshCustomHostname(ctx, saas.ID, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.SSLStatus != "pending_validation" {
		t.Errorf("after a refresh: got %s, want pending_validation", refreshed.SSLStatus)
	}

	control(edge.DomainControl{CustomHostname: "active", SSL: "active"})
	got, _ = d.CustomHostname(ctx, saas.ID, ch.ID)
	if got.Status != cloudflare.HostnameActive || got.SSLStatus != cloudflare.SSLActive || got.ExpiresOn.IsZero() || len(got.Errors) != 0 {
		t.Errorf("active: got %+v", got)
	}

	t.Run("held elsewhere", func(t *testing.T) {
		if _, err := te.edge.ControlDomain("taken.customer.com", edge.DomainControl{Claimed: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		_, err := d.EnsureCustomHostname(ctx, saas.ID, "taken.customer.com")
		e := wantCode(t, err, cloudflare.KindConflict, cloudflare.CodeDuplicateCustomHostname)
		if e.Status != http.StatusConflict || !strings.Contains(e.Message, "another one") {
			t.Errorf("error: %s", e.Error())
		}
		other, err := d.EnsureZone(ctx, "platform.dev")
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.EnsureCustomHostname(ctx, other.ID, "shop.customer.com")
		wantCode(t, err, cloudflare.KindConflict, cloudflare.CodeDuplicateCustomHostname)
	})

	t.Run("delete", func(t *testing.T) {
		if err := d.DeleteCustomHostname(ctx, saas.ID, ch.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteCustomHostname(ctx, saas.ID, ch.ID); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
		_, err := d.CustomHostname(ctx, saas.ID, ch.ID)
		wantCode(t, err, cloudflare.KindNotFound, 1436)
	})
}

func TestEnsureRoute(t *testing.T) {
	var posts atomic.Int32
	te := startEdge(t, countingEdge("POST", "/workers/routes", &posts))
	d := te.deployer(t)
	ctx := context.Background()
	for _, s := range []string{"todo", "blog"} {
		if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: s, Assets: bundle(s)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	saas, err := d.EnsureZone(ctx, "appforge.app")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.EnsureRoute(ctx, saas.ID, "*/*", "todo"); err != nil {
			t.Fatal(err)
		}
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("two EnsureRoute calls created %d routes", n)
	}
	if err := d.EnsureRoute(ctx, saas.ID, "*/*", "blog"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.EnsureCustomHostname(ctx, saas.ID, "shop.customer.com"); err != nil {
		t.Fatal(err)
	}
	if status, body := te.get(t, "http://shop.customer.com:"+te.port+"/"); status != http.StatusOK || !strings.Contains(body, "blog") {
		t.Errorf("the custom hostname through the route: got %d %q, want blog's page", status, body)
	}
	if err := d.DeleteRoute(ctx, saas.ID, "*/*"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteRoute(ctx, saas.ID, "*/*"); err != nil {
		t.Errorf("deleting a missing route: %v", err)
	}
	err = d.EnsureRoute(ctx, saas.ID, "shop.other.org/*", "todo")
	wantCode(t, err, cloudflare.KindValidation, 10021)
}

// TestCustomDomainOverHTTPS is the zone-mode story through the deployer, ending in a
// real TLS handshake with SNI myapp.com (dialling 127.0.0.1) verified against the
// edge's root CA.
func TestCustomDomainOverHTTPS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	te := startEdge(t, nil, func(c *edge.Config) { c.HTTPSPort = ln.Addr().(*net.TCPAddr).Port })
	tlsSrv := httptest.NewUnstartedServer(te.edge.Handler())
	tlsSrv.Listener.Close()
	tlsSrv.Listener = ln
	tlsSrv.TLS = te.edge.TLSConfig()
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // a refused handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	d := te.deployer(t)
	ctx := context.Background()
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "todo", Assets: bundle("todo-v1")}, nil); err != nil {
		t.Fatal(err)
	}
	z, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"myapp.com", "www.myapp.com"} {
		if _, err := d.AttachWorkerDomain(ctx, z.ID, h, "todo"); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SetAlwaysUseHTTPS(ctx, z.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureRedirect(ctx, z.ID, "www.myapp.com", "myapp.com"); err != nil {
		t.Fatal(err)
	}

	pem, err := os.ReadFile(te.edge.RootCAPath())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	addr := ln.Addr().String()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "myapp.com", RootCAs: roots})
	if err != nil {
		t.Fatalf("TLS handshake with SNI myapp.com: %v", err)
	}
	if chains := conn.ConnectionState().VerifiedChains; len(chains) == 0 || !chains[0][len(chains[0])-1].Equal(te.edge.RootCA()) {
		t.Errorf("the chain is not verified up to the edge's root CA")
	}
	conn.Close()

	client := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get("https://myapp.com/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "todo-v1") {
		t.Errorf("https://myapp.com/: got %d %q", resp.StatusCode, body)
	}
	resp, err = client.Get("https://www.myapp.com/todos")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://myapp.com:") {
		t.Errorf("www: got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "elsewhere.com", RootCAs: roots}); err == nil {
		t.Errorf("a handshake for a hostname the edge does not serve succeeded")
	}
}

// TestDomainCallsUnderFaults: a zone call that meets a server error is transient (the
// workflow retries it) and the retry finds the work done once.
func TestDomainCallsUnderFaults(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()
	if err := te.edge.SetFaults(edge.Fault{Endpoint: "POST /zones", DropRate: 1, Drop: edge.DropResponse, Times: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := d.EnsureZone(ctx, "myapp.com")
	if e := (*cloudflare.Error)(nil); !errors.As(err, &e) || !e.Retryable() {
		t.Fatalf("a dropped response: got %v, want a retryable error", err)
	}
	z, err := d.EnsureZone(ctx, "myapp.com")
	if err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if err := te.edge.SetFaults(edge.Fault{Endpoint: "PUT /zones/*/activation_check", ErrorRate: 1, ErrorStatus: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	err = d.CheckZoneActivation(ctx, z.ID)
	wantCode(t, err, cloudflare.KindTransient, 0)
	if err := d.CheckZoneActivation(ctx, z.ID); err != nil {
		t.Errorf("after the fault: %v", err)
	}
}
