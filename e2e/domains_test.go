package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/appforge/appforge/apiclient"
)

// domainVars are an installation whose edge issues certificates at once and serves
// custom domains over HTTPS on a port of its own.
func domainVars(extra map[string]string) map[string]string {
	vars := map[string]string{
		"APPFORGE_EDGE_ZONE_DELAY":     "0s",
		"APPFORGE_EDGE_CERT_DELAY":     "0s",
		"APPFORGE_EDGE_HOSTNAME_DELAY": "0s",
		"APPFORGE_DOMAIN_MIN_BACKOFF":  "1s",
		"APPFORGE_DOMAIN_MAX_BACKOFF":  "2s",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}

func newDomainEnv(t *testing.T, extra map[string]string) *env {
	t.Helper()
	vars := domainVars(extra)
	vars["APPFORGE_EDGE_TLS_ADDR"] = "127.0.0.1:" + freePort(t)
	return newEnv(t, vars)
}

// httpsClient reaches custom domains on the edge's HTTPS port, trusting only the edge's
// root CA, with real TLS (SNI is the URL's hostname).
func (e *env) httpsClient() *http.Client {
	e.t.Helper()
	pem, err := os.ReadFile(e.st.RootCAPath)
	if err != nil {
		e.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		e.t.Fatal("the root CA does not parse")
	}
	tlsAddr := e.st.EdgeTLSAddr
	httpAddr := strings.TrimPrefix(e.st.EdgeURL, "http://")
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				target := httpAddr
				if strings.HasSuffix(addr, ":443") {
					target = tlsAddr
				}
				return (&net.Dialer{}).DialContext(ctx, network, target)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// waitForEvent follows the app's events until one of the type arrives.
func (e *env) waitForEvent(appID string, after int64, typ string, timeout time.Duration) apiclient.Event {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var found apiclient.Event
	var seen []string
	err := e.api().Follow(ctx, appID, after, func(ev apiclient.Event) bool {
		seen = append(seen, ev.Type+": "+ev.Message)
		if ev.Type == typ {
			found = ev
			return false
		}
		return true
	})
	if err != nil {
		e.t.Fatalf("no %s event: %v\n%s", typ, err, strings.Join(seen, "\n"))
	}
	return found
}

type domainInfo struct {
	Hostname     string `json:"hostname"`
	Status       string `json:"status"`
	Message      string `json:"message"`
	Primary      string `json:"primary"`
	Secondary    string `json:"secondary"`
	Mode         string `json:"mode"`
	URL          string `json:"url"`
	Instructions []struct{ Type, Name, Value, Purpose string }
	NextCheckAt  *time.Time `json:"next_check_at"`
}

func (e *env) domains(appID string) []domainInfo {
	var out struct {
		Domains []domainInfo `json:"domains"`
	}
	e.request("GET", "/v1/apps/"+appID+"/domains", nil, &out)
	return out.Domains
}

// TestCustomDomainFromOneChatMessage is the whole story: one chat message, and the app
// is served at https://myapp.com with a certificate that verifies against the edge's
// root CA; www redirects to the apex and plain HTTP to HTTPS.
func TestCustomDomainFromOneChatMessage(t *testing.T) {
	e := newDomainEnv(t, nil)
	e.start()
	start := time.Now()
	appID, evs := e.turn("", "Create a todo app and deploy it to my domain myapp.com", 0)
	if end := last(evs); end.Type != "reply" || !strings.Contains(end.Message, "Setting up myapp.com") || end.Field("outcome") != "accepted" {
		t.Fatalf("the turn ended with %s: %s\n%v", end.Type, end.Message, eventTypes(evs))
	}
	if count(evs, "live") != 2 {
		t.Errorf("want the preview and production to go live first: %v", eventTypes(evs))
	}
	active := e.waitForEvent(appID, last(evs).Seq, "domain_active", 2*time.Minute)
	took := time.Since(start)
	if active.Message != "https://myapp.com is live. https://www.myapp.com redirects to it." {
		t.Errorf("active event: %q", active.Message)
	}
	t.Logf("request to domain active: %s", took.Round(time.Millisecond))

	c := e.httpsClient()
	resp, err := c.Get("https://myapp.com/")
	if err != nil {
		t.Fatalf("HTTPS to myapp.com: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<div id="root">`) {
		t.Fatalf("https://myapp.com/ = %d %s", resp.StatusCode, body)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 || resp.TLS.PeerCertificates[0].Subject.CommonName+strings.Join(resp.TLS.PeerCertificates[0].DNSNames, ",") == "" {
		t.Error("no verified peer certificate")
	} else if err := resp.TLS.PeerCertificates[0].VerifyHostname("myapp.com"); err != nil {
		t.Errorf("certificate: %v", err)
	}
	resp, err = c.Get("https://www.myapp.com/lists?x=1")
	if err != nil {
		t.Fatalf("HTTPS to www.myapp.com: %v", err)
	}
	resp.Body.Close()
	// The edge serves HTTPS on a port of its own, so its redirects name that port.
	_, tlsPort, _ := net.SplitHostPort(e.st.EdgeTLSAddr)
	if want := "https://myapp.com:" + tlsPort + "/lists?x=1"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("www = %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, err = c.Get("http://myapp.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://myapp.com") {
		t.Errorf("http = %d Location %q, want 301 to HTTPS", resp.StatusCode, resp.Header.Get("Location"))
	}
	// An unknown name gets no certificate.
	if _, err := c.Get("https://other.example/"); err == nil {
		t.Error("an unknown hostname got a TLS handshake")
	}
	ds := e.domains(appID)
	if len(ds) != 1 || ds[0].Status != "active" || ds[0].URL != "https://myapp.com" || ds[0].Secondary != "www.myapp.com" || ds[0].Mode != "zone" {
		t.Errorf("domains = %+v", ds)
	}
	e.recordHistory("app/"+appID, "app_workflow_domain_history")
	e.recordHistory("domain/myapp.com", "domain_workflow_history")
}

// fakeRegistry is the user's DNS as resolvers see it: an in-process DNS server whose
// answers the test changes.
type fakeRegistry struct {
	mu  sync.Mutex
	ns  map[string][]string
	srv *dns.Server
}

func startRegistry(t *testing.T) (*fakeRegistry, string) {
	t.Helper()
	r := &fakeRegistry{ns: map[string][]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(r.serve)}
	go r.srv.ActivateAndServe()
	t.Cleanup(func() { r.srv.Shutdown() })
	return r, pc.LocalAddr().String()
}

func (r *fakeRegistry) set(name string, ns ...string) {
	r.mu.Lock()
	r.ns[dns.Fqdn(name)] = ns
	r.mu.Unlock()
}

func (r *fakeRegistry) serve(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, qq := range q.Question {
		ns, ok := r.ns[strings.ToLower(qq.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if qq.Qtype == dns.TypeNS {
			for _, n := range ns {
				m.Answer = append(m.Answer, &dns.NS{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 60}, Ns: dns.Fqdn(n)})
			}
		}
	}
	w.WriteMsg(m)
}

// TestCustomDomainWaitsForTheUsersNameservers: the zone stays pending until the
// registrar points at Cloudflare; meanwhile the API says exactly what to set and what
// was last seen; once the user fixes it, "check now" finishes the setup.
func TestCustomDomainWaitsForTheUsersNameservers(t *testing.T) {
	reg, addr := startRegistry(t)
	reg.set("shop.com", "ns1.registrar.example", "ns2.registrar.example")
	e := newDomainEnv(t, map[string]string{
		"APPFORGE_DNS_RESOLVER":       addr,
		"APPFORGE_EDGE_ZONE_DELAY":    "-1s", // only an activation check activates the zone
		"APPFORGE_DOMAIN_MIN_BACKOFF": "1h",  // only "check now" checks again
		"APPFORGE_DOMAIN_MAX_BACKOFF": "1h",
	})
	e.start()
	appID, evs := e.turn("", "Create a notes app", 0)
	liveEnd(t, evs)
	var sent sendResponse
	if code := e.request("POST", "/v1/apps/"+appID+"/domains", map[string]string{"hostname": "shop.com"}, &sent); code != http.StatusAccepted {
		t.Fatalf("attach: %d", code)
	}
	waiting := e.waitForEvent(appID, last(evs).Seq, "domain_waiting", time.Minute)
	if !strings.Contains(waiting.Message, "ns1.registrar.example") {
		t.Errorf("waiting message does not say what is wrong: %q", waiting.Message)
	}
	ds := e.domains(appID)
	if len(ds) != 1 || ds[0].Status != "waiting_for_dns" || len(ds[0].Instructions) != 2 || ds[0].Instructions[0].Type != "NS" || ds[0].NextCheckAt == nil {
		t.Fatalf("domains while waiting = %+v", ds)
	}
	// The user sets the nameservers appforge showed, and asks for a check.
	var want []string
	for _, i := range ds[0].Instructions {
		want = append(want, i.Value)
	}
	reg.set("shop.com", want...)
	if code := e.request("POST", "/v1/apps/"+appID+"/domains/shop.com/check", nil, nil); code != http.StatusAccepted {
		t.Fatalf("check: %d", code)
	}
	e.waitForEvent(appID, waiting.Seq, "domain_active", time.Minute)
	resp, err := e.httpsClient().Get("https://shop.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("https://shop.com/ = %d", resp.StatusCode)
	}
}

// TestCustomHostnameModeConflictAndDetach: a subdomain in custom hostname mode (the user
// keeps their DNS); another app cannot take it; detaching removes it cleanly.
func TestCustomHostnameModeConflictAndDetach(t *testing.T) {
	e := newDomainEnv(t, nil)
	e.start()
	appID, evs := e.turn("", "Create a counter", 0)
	liveEnd(t, evs)
	_, evs = e.turn(appID, "publish", last(evs).Seq)
	liveEnd(t, evs)
	if code := e.request("POST", "/v1/apps/"+appID+"/domains", map[string]string{"hostname": "app.example.org", "mode": "custom_hostname"}, nil); code != http.StatusAccepted {
		t.Fatalf("attach: %d", code)
	}
	e.waitForEvent(appID, last(evs).Seq, "domain_active", time.Minute)
	ds := e.domains(appID)
	if len(ds) != 1 || ds[0].Mode != "custom_hostname" {
		t.Fatalf("domains = %+v", ds)
	}
	var cname, txt bool
	for _, i := range ds[0].Instructions {
		cname = cname || i.Type == "CNAME" && i.Name == "app.example.org" && i.Value != ""
		txt = txt || i.Type == "TXT" && strings.HasPrefix(i.Name, "_cf-custom-hostname.")
	}
	if !cname || !txt {
		t.Errorf("instructions = %+v, want the CNAME target and the ownership TXT record", ds[0].Instructions)
	}
	c := e.httpsClient()
	resp, err := c.Get("https://app.example.org/")
	if err != nil {
		t.Fatalf("HTTPS to the custom hostname: %v", err)
	}
	resp.Body.Close()

	// Another app cannot take the hostname.
	other, oevs := e.turn("", "Create a notes app", 0)
	liveEnd(t, oevs)
	_, err = e.api().Do(context.Background(), "POST", "/v1/apps/"+other+"/domains", map[string]string{"hostname": "app.example.org"}, nil)
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !strings.Contains(apiErr.Message, "detach it there first") {
		t.Errorf("taking another app's domain: %v", err)
	}

	// Detach: the record goes, and the hostname no longer gets a certificate.
	var detached map[string]string
	if code := e.request("DELETE", "/v1/apps/"+appID+"/domains/app.example.org", nil, &detached); code != http.StatusAccepted {
		t.Fatalf("detach: %d %v", code, detached)
	}
	e.waitForEvent(appID, 0, "domain_detached", time.Minute)
	if ds := e.domains(appID); len(ds) != 0 {
		t.Errorf("domains after detach = %+v", ds)
	}
	c.CloseIdleConnections()
	if _, err := c.Get("https://app.example.org/"); err == nil {
		t.Error("the detached hostname still serves")
	}
}
