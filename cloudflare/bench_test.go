package cloudflare_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/edge"
	"github.com/appforge/appforge/files"
)

// typicalApp is a bundle shaped like a built React app: an HTML page, a 250 KB
// entry chunk, two lazy chunks, CSS, an SVG and a favicon (about 330 KB).
func typicalApp(seed uint64, changed int) []files.File {
	r := rand.New(rand.NewPCG(seed, 1))
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return b
	}
	out := []files.File{
		{Path: "index.html", Content: []byte(fmt.Sprintf(`<!doctype html><div id=root></div><script src="/assets/index-%d.js"></script>`, changed))},
		{Path: "assets/index-BHpbNtuy.js", Content: blob(250 << 10)},
		{Path: "assets/about-Dw5dBa1x.js", Content: blob(20 << 10)},
		{Path: "assets/todos-C9k2LmQp.js", Content: blob(30 << 10)},
		{Path: "assets/index-D1x2y3z4.css", Content: blob(8 << 10)},
		{Path: "assets/logo-Ab12Cd34.svg", Content: blob(4 << 10)},
		{Path: "favicon.ico", Content: blob(15 << 10)},
	}
	return out
}

func quiet(c *edge.Config) { c.Logger = slog.New(slog.DiscardHandler) }

// BenchmarkDeploy reports the time of a deploy to the local edge and the API calls
// it makes: everything new ("cold"), nothing new ("cached"), and a redeploy after a
// one-file change by a running worker ("one-file-change").
func BenchmarkDeploy(b *testing.B) {
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		calls := 0
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			te := startEdge(b, nil, quiet)
			d, _ := cloudflare.New(te.config(testToken))
			b.StartTimer()
			res, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: typicalApp(1, 0)}, nil)
			if err != nil {
				b.Fatal(err)
			}
			calls = res.Calls
		}
		b.ReportMetric(float64(calls), "calls/op")
	})
	b.Run("cached", func(b *testing.B) {
		te := startEdge(b, nil, quiet)
		d, _ := cloudflare.New(te.config(testToken))
		if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: typicalApp(1, 0)}, nil); err != nil {
			b.Fatal(err)
		}
		calls := 0
		for b.Loop() {
			res, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: typicalApp(1, 0)}, nil)
			if err != nil {
				b.Fatal(err)
			}
			calls = res.Calls
		}
		b.ReportMetric(float64(calls), "calls/op")
	})
	b.Run("one-file-change", func(b *testing.B) {
		te := startEdge(b, nil, quiet)
		d, _ := cloudflare.New(te.config(testToken))
		if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: typicalApp(1, 0)}, nil); err != nil {
			b.Fatal(err)
		}
		calls, uploaded := 0, 0
		for i := 1; b.Loop(); i++ {
			res, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: typicalApp(1, i)}, nil)
			if err != nil {
				b.Fatal(err)
			}
			calls, uploaded = res.Calls, res.Uploaded
		}
		b.ReportMetric(float64(calls), "calls/op")
		b.ReportMetric(float64(uploaded), "uploaded/op")
	})
}

// httpsEdge is an edge with delays at zero, serving HTTPS too, and a client that
// trusts its root CA and dials it whatever the host.
func httpsEdge(b *testing.B) (*testEdge, *http.Client) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	te := startEdge(b, nil, quiet, func(c *edge.Config) { c.HTTPSPort = ln.Addr().(*net.TCPAddr).Port })
	srv := httptest.NewUnstartedServer(te.edge.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = te.edge.TLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	b.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(te.edge.RootCA())
	addr := ln.Addr().String()
	return te, &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		DisableKeepAlives: true,
	}}
}

func getOK(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
}

// BenchmarkCustomDomain reports, with the edge's delays at zero, the time from the
// request to serving the app over HTTPS: zone mode (EnsureZone, a Custom Domain for
// the apex and www, the certificate active, Always Use HTTPS, the www redirect, the
// first HTTPS answer) and custom hostname mode (EnsureCustomHostname, both statuses
// active, a route, the first HTTPS answer); and "certificate", from attaching a
// hostname to its first TLS handshake.
func BenchmarkCustomDomain(b *testing.B) {
	ctx := context.Background()
	b.Run("zone-mode", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			te, client := httpsEdge(b)
			d, _ := cloudflare.New(te.config(testToken))
			if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "todo", Assets: typicalApp(1, 0)}, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			z, err := d.EnsureZone(ctx, "myapp.com")
			if err != nil {
				b.Fatal(err)
			}
			for _, h := range []string{"myapp.com", "www.myapp.com"} {
				if _, err := d.AttachWorkerDomain(ctx, z.ID, h, "todo"); err != nil {
					b.Fatal(err)
				}
			}
			for active := false; !active; {
				packs, err := d.CertificatePacks(ctx, z.ID)
				if err != nil {
					b.Fatal(err)
				}
				active = len(packs) == 3 && !slices.ContainsFunc(packs, func(p cloudflare.CertificatePack) bool { return p.Status != "active" })
			}
			if err := d.SetAlwaysUseHTTPS(ctx, z.ID, true); err != nil {
				b.Fatal(err)
			}
			if err := d.EnsureRedirect(ctx, z.ID, "www.myapp.com", "myapp.com"); err != nil {
				b.Fatal(err)
			}
			getOK(b, client, "https://myapp.com/")
		}
	})
	b.Run("custom-hostname", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			te, client := httpsEdge(b)
			d, _ := cloudflare.New(te.config(testToken))
			if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "todo", Assets: typicalApp(1, 0)}, nil); err != nil {
				b.Fatal(err)
			}
			saas, err := d.EnsureZone(ctx, "appforge.app")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := d.EnsureRoute(ctx, saas.ID, "*/*", "todo"); err != nil {
				b.Fatal(err)
			}
			ch, err := d.EnsureCustomHostname(ctx, saas.ID, "shop.customer.com")
			if err != nil {
				b.Fatal(err)
			}
			for ch.Status != cloudflare.HostnameActive || ch.SSLStatus != cloudflare.SSLActive {
				if ch, err = d.CustomHostname(ctx, saas.ID, ch.ID); err != nil {
					b.Fatal(err)
				}
			}
			getOK(b, client, "https://shop.customer.com/")
		}
	})
	b.Run("certificate", func(b *testing.B) {
		te, client := httpsEdge(b)
		d, _ := cloudflare.New(te.config(testToken))
		if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "todo", Assets: typicalApp(1, 0)}, nil); err != nil {
			b.Fatal(err)
		}
		z, err := d.EnsureZone(ctx, "myapp.com")
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			host := fmt.Sprintf("app%d.myapp.com", i)
			if _, err := d.AttachWorkerDomain(ctx, z.ID, host, "todo"); err != nil {
				b.Fatal(err)
			}
			getOK(b, client, "https://"+host+"/")
		}
	})
}
