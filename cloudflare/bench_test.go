package cloudflare_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
