package build_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// The benchmarks report, besides ns/op for a whole Build, vite-ms/op (vite build alone)
// and setup-ms/op (everything else: workspace, dependency cache, links, report).

func reportBuild(b *testing.B, n int, vite, total time.Duration) {
	b.ReportMetric(float64(vite.Milliseconds())/float64(n), "vite-ms/op")
	b.ReportMetric(float64((total-vite).Milliseconds())/float64(n), "setup-ms/op")
}

// BenchmarkBuildWarm builds the template with its dependency set already cached.
func BenchmarkBuildWarm(b *testing.B) {
	benchWarm(b, false)
}

// BenchmarkBuildWarmTypeCheck adds the TypeScript 7 type check.
func BenchmarkBuildWarmTypeCheck(b *testing.B) {
	benchWarm(b, true)
}

func benchWarm(b *testing.B, typeCheck bool) {
	builder := newBuilder(b, nil)
	src := generate.Template()
	pkg, _ := files.Find(src, "package.json")
	if _, _, err := builder.EnsureDeps(b.Context(), pkg.Content); err != nil {
		b.Fatal(err)
	}
	var vite, total time.Duration
	n := 0
	for b.Loop() {
		out, err := builder.Build(b.Context(), build.Request{ID: fmt.Sprint("warm-", n), Files: src, TypeCheck: typeCheck}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !out.Report.DepsCached {
			b.Fatal("a warm build installed its dependencies")
		}
		vite += out.Report.ViteDuration
		total += out.Report.Duration
		n++
	}
	reportBuild(b, n, vite, total)
}

// BenchmarkBuildWarmParallel runs GOMAXPROCS builds at a time: ns/op is the throughput.
func BenchmarkBuildWarmParallel(b *testing.B) {
	builder := newBuilder(b, nil)
	src := generate.Template()
	pkg, _ := files.Find(src, "package.json")
	if _, _, err := builder.EnsureDeps(b.Context(), pkg.Content); err != nil {
		b.Fatal(err)
	}
	var id atomic.Int64
	var vite, total atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			out, err := builder.Build(b.Context(), build.Request{ID: fmt.Sprint("parallel-", id.Add(1)), Files: src}, nil)
			if err != nil {
				b.Error(err)
				return
			}
			vite.Add(int64(out.Report.ViteDuration))
			total.Add(int64(out.Report.Duration))
		}
	})
	reportBuild(b, int(id.Load()), time.Duration(vite.Load()), time.Duration(total.Load()))
}

// BenchmarkBuildCold builds the template into an empty dependency cache each time, so
// every build runs npm install (npm's own download cache in HOME stays warm, as it would
// on a worker that has installed anything before).
func BenchmarkBuildCold(b *testing.B) {
	src := generate.Template()
	var vite, total time.Duration
	n := 0
	for b.Loop() {
		builder := newBuilder(b, func(c *build.Config) { c.CacheDir = b.TempDir() })
		out, err := builder.Build(b.Context(), build.Request{ID: "cold", Files: src}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if out.Report.DepsCached {
			b.Fatal("a cold build found its dependencies cached")
		}
		vite += out.Report.ViteDuration
		total += out.Report.Duration
		n++
	}
	reportBuild(b, n, vite, total)
}
