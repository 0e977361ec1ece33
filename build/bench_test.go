package build_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// The benchmarks report, besides ns/op for a whole Build, bundle-ms/op (vite build or
// esbuild alone) and setup-ms/op (everything else: workspace, dependency cache, links,
// type check, report). Builds run with the output cache off unless the benchmark is of
// the output cache. `go run ./build/cmd/buildbench` prints all levels in one table.

func reportBuild(b *testing.B, n int, bundle, total time.Duration) {
	b.ReportMetric(float64(bundle.Milliseconds())/float64(n), "bundle-ms/op")
	b.ReportMetric(float64((total-bundle).Milliseconds())/float64(n), "setup-ms/op")
}

// warmBuilder is a Builder over the shared cache with the template's dependencies
// installed.
func warmBuilder(b *testing.B, configure func(*build.Config)) *build.Builder {
	builder := newBuilder(b, func(c *build.Config) {
		c.OutputCacheBytes = -1
		if configure != nil {
			configure(c)
		}
	})
	pkg, _ := files.Find(generate.Template(), "package.json")
	if _, _, err := builder.EnsureDeps(b.Context(), pkg.Content); err != nil {
		b.Fatal(err)
	}
	return builder
}

// BenchmarkBuildWarm builds with the dependency set already cached: each profile, and
// previews by each engine, for the template and the larger app with lazy routes.
func BenchmarkBuildWarm(b *testing.B) {
	for _, app := range []struct {
		name  string
		files []files.File
	}{{"template", testapp.Template()}, {"routes", testapp.Routes()}} {
		for _, v := range []struct {
			name    string
			profile build.Profile
			engine  build.Engine
		}{
			{"production", build.ProfileProduction, build.EngineVite},
			{"preview-vite", build.ProfilePreview, build.EngineVite},
			{"preview-esbuild", build.ProfilePreview, build.EngineESBuild},
		} {
			b.Run(app.name+"/"+v.name, func(b *testing.B) {
				benchWarm(b, app.files, build.Request{Profile: v.profile}, func(c *build.Config) { c.PreviewEngine = v.engine })
			})
		}
	}
}

// BenchmarkBuildWarmTypeCheck adds the TypeScript 7 type check to a production build.
func BenchmarkBuildWarmTypeCheck(b *testing.B) {
	benchWarm(b, generate.Template(), build.Request{Profile: build.ProfileProduction, TypeCheck: true}, nil)
}

func benchWarm(b *testing.B, src []files.File, req build.Request, configure func(*build.Config)) {
	builder := warmBuilder(b, configure)
	var bundle, total time.Duration
	n := 0
	for b.Loop() {
		req.ID, req.Files = fmt.Sprint("warm-", n), src
		out, err := builder.Build(b.Context(), req, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !out.Report.DepsCached {
			b.Fatal("a warm build installed its dependencies")
		}
		bundle += out.Report.BundleDuration
		total += out.Report.Duration
		n++
	}
	reportBuild(b, n, bundle, total)
}

// BenchmarkBuildCached is a build of inputs already built: an output cache hit.
func BenchmarkBuildCached(b *testing.B) {
	builder := warmBuilder(b, func(c *build.Config) { c.OutputCacheBytes = 0 })
	req := build.Request{ID: "cached", Files: testapp.Routes(), Profile: build.ProfileProduction}
	if _, err := builder.Build(b.Context(), req, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		out, err := builder.Build(b.Context(), req, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !out.Report.Cached {
			b.Fatal("not an output cache hit")
		}
	}
}

// BenchmarkBuildWarmParallel runs GOMAXPROCS production builds at a time: ns/op is the
// throughput.
func BenchmarkBuildWarmParallel(b *testing.B) {
	builder := warmBuilder(b, nil)
	src := generate.Template()
	var id atomic.Int64
	var bundle, total atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			out, err := builder.Build(b.Context(), build.Request{ID: fmt.Sprint("parallel-", id.Add(1)), Files: src, Profile: build.ProfileProduction}, nil)
			if err != nil {
				b.Error(err)
				return
			}
			bundle.Add(int64(out.Report.BundleDuration))
			total.Add(int64(out.Report.Duration))
		}
	})
	reportBuild(b, int(id.Load()), time.Duration(bundle.Load()), time.Duration(total.Load()))
}

// BenchmarkBuildCold builds the template for production into an empty dependency cache
// each time, so every build runs npm install (npm's own download cache in HOME stays
// warm, as it would on a worker that has installed anything before).
func BenchmarkBuildCold(b *testing.B) {
	src := generate.Template()
	var bundle, total time.Duration
	n := 0
	for b.Loop() {
		builder := newBuilder(b, func(c *build.Config) { c.CacheDir = b.TempDir() })
		out, err := builder.Build(b.Context(), build.Request{ID: "cold", Files: src, Profile: build.ProfileProduction}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if out.Report.DepsCached {
			b.Fatal("a cold build found its dependencies cached")
		}
		bundle += out.Report.BundleDuration
		total += out.Report.Duration
		n++
	}
	reportBuild(b, n, bundle, total)
}
