package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/custom_hostnames"
	"github.com/cloudflare/cloudflare-go/v6/rulesets"
	"github.com/cloudflare/cloudflare-go/v6/workers"
	"github.com/cloudflare/cloudflare-go/v6/zones"
)

var appFiles = map[string]string{
	"/index.html":               "<!doctype html><title>Todo</title><div id=root></div>",
	"/assets/index-BHpbNtuy.js": "console.log('todo')",
}

// listenTLS reserves the HTTPS listener's port, so that the edge can be configured
// with it before the server starts.
func listenTLS(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// serveTLS serves the fixture's edge over HTTPS on ln with its TLSConfig.
func serveTLS(t *testing.T, f *fixture, ln net.Listener) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(f.edge.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = f.edge.TLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// rootPool is a pool holding the edge's root CA, read from its file as a user would.
func rootPool(t *testing.T, f *fixture) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(f.edge.RootCAPath())
	if err != nil {
		t.Fatalf("read the root CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", f.edge.RootCAPath())
	}
	return pool
}

// handshake dials addr with SNI serverName and verifies the chain against roots.
func handshake(addr, serverName string, roots *x509.CertPool) (tls.ConnectionState, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: serverName, RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// browser fetches https URLs of any host from the edge's HTTPS listener at addr,
// trusting roots, and does not follow redirects.
func browser(addr string, roots *x509.CertPool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// setUpMyApp makes the zone myapp.com (active at once), attaches myapp.com and
// www.myapp.com to the Worker todo, turns on Always Use HTTPS and redirects www to
// the apex.
func setUpMyApp(t *testing.T, f *fixture) string {
	t.Helper()
	f.deploy(t, "todo", appFiles, "single-page-application")
	s := f.sdk()
	ctx := context.Background()
	z := newZone(t, s, "myapp.com")
	for _, h := range []string{"myapp.com", "www.myapp.com"} {
		if _, err := attachDomain(s, z.ID, h, "todo"); err != nil {
			t.Fatalf("attach %s: %v", h, err)
		}
	}
	if _, err := s.zones.Settings.Edit(ctx, "always_use_https", zones.SettingEditParams{ZoneID: cf.F(z.ID), Body: zones.SettingEditParamsBody{Value: cf.F[any]("on")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.phases.Update(ctx, rulesets.PhaseHTTPRequestDynamicRedirect, rulesets.PhaseUpdateParams{
		ZoneID: cf.F(z.ID), Rules: cf.F([]rulesets.PhaseUpdateParamsRuleUnion{redirectRuleParam("www.myapp.com", "myapp.com")}),
	}); err != nil {
		t.Fatal(err)
	}
	return z.ID
}

func TestTLSServing(t *testing.T) {
	dir := t.TempDir()
	ln, port := listenTLS(t)
	f := startFixture(t, dir, newClock(), func(c *Config) { c.HTTPSPort = port })
	setUpMyApp(t, f)
	srv := serveTLS(t, f, ln)
	addr := srv.Listener.Addr().String()
	roots := rootPool(t, f)

	var serial string
	t.Run("handshake verifies against the root CA", func(t *testing.T) {
		cs, err := handshake(addr, "myapp.com", roots)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if len(cs.VerifiedChains) == 0 {
			t.Fatal("no verified chain")
		}
		chain := cs.VerifiedChains[0]
		leaf, root := chain[0], chain[len(chain)-1]
		if !slices.Equal(leaf.DNSNames, []string{"myapp.com"}) {
			t.Errorf("leaf SANs: got %v, want [myapp.com]", leaf.DNSNames)
		}
		if !root.Equal(f.edge.RootCA()) || !root.IsCA {
			t.Errorf("the chain does not end at the edge's root CA")
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 89*24*3600e9 || d > 91*24*3600e9 {
			t.Errorf("leaf validity: got %s, want about 90 days", d)
		}
		serial = leaf.SerialNumber.String()
	})

	t.Run("the app's index.html over HTTPS", func(t *testing.T) {
		resp, body := get(t, browser(addr, roots), "https://myapp.com/")
		if resp.StatusCode != http.StatusOK || body != appFiles["/index.html"] {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if resp.TLS == nil || resp.TLS.ServerName != "myapp.com" {
			t.Errorf("not served over TLS for myapp.com")
		}
		// A deep link: single-page-application fallback.
		if resp, body := get(t, browser(addr, roots), "https://myapp.com/todos/3"); resp.StatusCode != http.StatusOK || body != appFiles["/index.html"] {
			t.Errorf("deep link: got %d %q", resp.StatusCode, body)
		}
	})

	t.Run("www redirects to the apex", func(t *testing.T) {
		resp, _ := get(t, browser(addr, roots), "https://www.myapp.com/about?x=1")
		want := "https://myapp.com:" + strconv.Itoa(port) + "/about?x=1"
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("got %d %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	})

	t.Run("plain HTTP redirects to HTTPS", func(t *testing.T) {
		resp := f.do(t, "GET", "myapp.com", "/todos?done=1", nil, nil)
		want := "https://myapp.com:" + strconv.Itoa(port) + "/todos?done=1"
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("got %d %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		// The redirect lands: follow it over TLS.
		resp2, body := get(t, browser(addr, roots), resp.Header.Get("Location"))
		if resp2.StatusCode != http.StatusOK || body != appFiles["/index.html"] {
			t.Errorf("following the redirect: got %d", resp2.StatusCode)
		}
	})

	t.Run("inactive and unknown hostnames are refused", func(t *testing.T) {
		s := f.sdk()
		other := newZone(t, s, "pending-zone.com")
		if _, err := f.edge.ControlDomain("pending-zone.com", DomainControl{Zone: zonePending, NameServers: "away"}); err != nil {
			t.Fatal(err)
		}
		if _, err := attachDomain(s, other.ID, "pending-zone.com", "todo"); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"pending-zone.com", "unknown.example.org", "todo.appforge.localhost"} {
			if _, err := handshake(addr, name, roots); err == nil {
				t.Errorf("%s: the handshake succeeded, want it refused", name)
			}
		}
		resp := f.do(t, "GET", "pending-zone.com", "/", nil, nil)
		if body := readBody(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not active yet") {
			t.Errorf("HTTP to a pending zone: got %d %q", resp.StatusCode, body)
		}
	})

	t.Run("min_tls_version 1.3", func(t *testing.T) {
		s := f.sdk()
		st, _ := f.edge.DomainStatus("myapp.com")
		if _, err := s.zones.Settings.Edit(context.Background(), "min_tls_version", zones.SettingEditParams{ZoneID: cf.F(st.Zone.ID), Body: zones.SettingEditParamsBody{Value: cf.F[any]("1.3")}}); err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "myapp.com", RootCAs: roots, MaxVersion: tls.VersionTLS12})
		if err == nil {
			conn.Close()
			t.Errorf("a TLS 1.2 client was accepted with min_tls_version 1.3")
		}
		cs, err := handshake(addr, "myapp.com", roots)
		if err != nil || cs.Version != tls.VersionTLS13 {
			t.Errorf("TLS 1.3: %v (version %x)", err, cs.Version)
		}
		if _, err := s.zones.Settings.Edit(context.Background(), "min_tls_version", zones.SettingEditParams{ZoneID: cf.F(st.Zone.ID), Body: zones.SettingEditParamsBody{Value: cf.F[any]("1.2")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "myapp.com", RootCAs: roots, MaxVersion: tls.VersionTLS12}); err != nil {
			t.Errorf("TLS 1.2 with min_tls_version 1.2: %v", err)
		}
	})

	t.Run("drift stops serving", func(t *testing.T) {
		if _, err := f.edge.ControlDomain("myapp.com", DomainControl{NameServers: "away"}); err != nil {
			t.Fatal(err)
		}
		if _, err := handshake(addr, "myapp.com", roots); err == nil {
			t.Errorf("a moved zone's hostname still completes a handshake")
		}
		st, _ := f.edge.DomainStatus("myapp.com")
		if st.Zone.Status != zoneMoved || st.HTTPS || st.HTTP {
			t.Errorf("status after drift: %+v", st)
		}
		if _, err := f.edge.ControlDomain("myapp.com", DomainControl{NameServers: "ours"}); err != nil {
			t.Fatal(err)
		}
		if _, err := handshake(addr, "myapp.com", roots); err != nil {
			t.Errorf("after the name servers came back: %v", err)
		}
	})

	t.Run("certificate expiry and failure stop HTTPS", func(t *testing.T) {
		st, err := f.edge.ControlDomain("www.myapp.com", DomainControl{Certificate: "expired"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Certificate.Status != certExpired || st.HTTPS {
			t.Errorf("after expiry: %+v", st.Certificate)
		}
		if _, err := handshake(addr, "www.myapp.com", roots); err == nil {
			t.Errorf("an expired certificate is still served")
		}
		if _, err := f.edge.ControlDomain("www.myapp.com", DomainControl{Certificate: "active"}); err != nil {
			t.Fatal(err)
		}
		if _, err := handshake(addr, "www.myapp.com", roots); err != nil {
			t.Errorf("after re-issuing: %v", err)
		}
	})

	// Restart on the same DataDir: the root CA, the certificate (same serial) and
	// the routing survive.
	f.stop()
	srv.Close()
	ln2, port2 := listenTLS(t)
	f2 := startFixture(t, dir, newClock(), func(c *Config) { c.HTTPSPort = port2 })
	srv2 := serveTLS(t, f2, ln2)
	addr2 := srv2.Listener.Addr().String()
	t.Run("after a restart", func(t *testing.T) {
		roots2 := rootPool(t, f2)
		if !f2.edge.RootCA().Equal(f.edge.RootCA()) {
			t.Fatalf("the root CA changed across a restart")
		}
		cs, err := handshake(addr2, "myapp.com", roots2)
		if err != nil {
			t.Fatalf("handshake after restart: %v", err)
		}
		if got := cs.PeerCertificates[0].SerialNumber.String(); got != serial {
			t.Errorf("serial after restart: got %s, want %s (the same certificate)", got, serial)
		}
		resp, body := get(t, browser(addr2, roots2), "https://myapp.com/")
		if resp.StatusCode != http.StatusOK || body != appFiles["/index.html"] {
			t.Errorf("after restart: got %d %q", resp.StatusCode, body)
		}
		resp = f2.do(t, "GET", "www.myapp.com", "/", nil, nil)
		if resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("www after restart: got %d, want 301", resp.StatusCode)
		}
		if _, err := os.Stat(filepath.Join(dir, "ca", "root-key.pem")); err != nil {
			t.Errorf("root key: %v", err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "ca", "root-key.pem")); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("root key mode: got %v, want 0600", fi.Mode().Perm())
		}
	})
}

func TestTLSCustomHostname(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "todo", appFiles, "single-page-application")
	ln, _ := listenTLS(t)
	srv := serveTLS(t, f, ln)
	addr := srv.Listener.Addr().String()
	roots := rootPool(t, f)
	s := f.sdk()
	ctx := context.Background()
	saas := newZone(t, s, "appforge.app")
	if _, err := s.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(saas.ID), Pattern: cf.F("shop.customer.com/*"), Script: cf.F("todo")}); err == nil {
		t.Fatalf("a route for a host outside the zone was accepted")
	}
	if _, err := s.workers.Routes.New(ctx, workers.RouteNewParams{ZoneID: cf.F(saas.ID), Pattern: cf.F("*/*"), Script: cf.F("todo")}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{ZoneID: cf.F(saas.ID), Hostname: cf.F("shop.customer.com")})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Status != custom_hostnames.CustomHostnameNewResponseStatusActive || ch.SSL.Status != custom_hostnames.CustomHostnameNewResponseSSLStatusActive {
		t.Fatalf("with zero delays: got %s/%s, want active/active", ch.Status, ch.SSL.Status)
	}
	cs, err := handshake(addr, "shop.customer.com", roots)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if !slices.Equal(cs.PeerCertificates[0].DNSNames, []string{"shop.customer.com"}) {
		t.Errorf("SANs: %v", cs.PeerCertificates[0].DNSNames)
	}
	if resp, body := get(t, browser(addr, roots), "https://shop.customer.com/"); resp.StatusCode != http.StatusOK || body != appFiles["/index.html"] {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	// Without a route, the zone's fallback origin serves custom hostnames: here the
	// Custom Domain proxy.appforge.app of the Worker other.
	f.deploy(t, "other", map[string]string{"/index.html": "other"}, "")
	if _, err := attachDomain(s, saas.ID, "proxy.appforge.app", "other"); err != nil {
		t.Fatal(err)
	}
	fo, err := s.hostnames.FallbackOrigin.Update(ctx, custom_hostnames.FallbackOriginUpdateParams{ZoneID: cf.F(saas.ID), Origin: cf.F("proxy.appforge.app")})
	if err != nil {
		t.Fatal(err)
	}
	if fo.Origin != "proxy.appforge.app" {
		t.Errorf("fallback origin: got %+v", fo)
	}
	page, _ := s.workers.Routes.List(ctx, workers.RouteListParams{ZoneID: cf.F(saas.ID)})
	for _, rt := range page.Result {
		if _, err := s.workers.Routes.Delete(ctx, rt.ID, workers.RouteDeleteParams{ZoneID: cf.F(saas.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, body := get(t, browser(addr, roots), "https://shop.customer.com/"); resp.StatusCode != http.StatusOK || body != "other" {
		t.Errorf("through the fallback origin: got %d %q", resp.StatusCode, body)
	}

	if _, err := f.edge.ControlDomain("shop.customer.com", DomainControl{CustomHostname: hostnameMoved}); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(addr, "shop.customer.com", roots); err == nil {
		t.Errorf("a moved custom hostname still completes a handshake")
	}
}
