// Command buildbench measures the builder at every cache level, for three apps, and
// prints one table:
//
//	go run ./build/cmd/buildbench            # 5 runs a row, medians
//	go run ./build/cmd/buildbench -n 9 -cold 3
//
// Rows: a production build with a cold dependency cache (npm install; npm's own
// download cache stays warm, as on any worker that has installed before), with warm
// dependencies (and a cold Vite cache: a new app each time), with the app's Vite cache
// warm, with unchanged inputs (an output cache hit), with the type check; previews by
// Vite and by the in-process esbuild path; the bundler step alone; bundle sizes. Every
// build but the output cache hits changes a comment in src/App.tsx, so that the output
// cache misses while the bundle stays the same.
//
// The apps: the foundation template; a hand-written larger app (15 components, two
// lazy routes; build/internal/testapp); and an app generated at start-up by the real
// LLM agent (generate/agent, on go-openai) playing the built-in "recipe book" scenario
// of the scripted OpenAI-compatible server (llmscript), served in process on loopback.
// The agent is driven as the workflow drives it, from the template: Plan, then Step
// until it finishes; its files are the third column.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/generate/agent"
	"github.com/appforge/appforge/llmscript"
)

type app struct {
	name  string
	files []files.File
}

type sample struct {
	total, bundle time.Duration
	out           *build.Output
}

func main() {
	n := flag.Int("n", 5, "runs of each warm row (the median is reported)")
	cold := flag.Int("cold", 2, "runs of the cold-dependency row")
	flag.Parse()
	log.SetFlags(0)

	root, err := os.MkdirTemp("", "appforge-buildbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	ctx := context.Background()

	generated, genNote, err := agentApp(ctx, recipeBook)
	if err != nil {
		log.Fatalf("buildbench: LLM agent app: %v", err)
	}
	apps := []app{{"template", testapp.Template()}, {"routes app", testapp.Routes()}, generated}
	load0 := loadAvg()
	start := time.Now()

	seq := 0
	variant := func(src []files.File) []files.File {
		seq++
		f, _ := files.Find(src, "src/App.tsx")
		c := append(append([]byte(nil), f.Content...), fmt.Sprintf("// buildbench %d\n", seq)...)
		return files.Merge(src, []files.File{{Path: "src/App.tsx", Content: c}})
	}
	newBuilder := func(cacheDir string, configure func(*build.Config)) *build.Builder {
		cfg := build.Config{WorkDir: filepath.Join(root, "work"), CacheDir: cacheDir, OutputCacheBytes: -1}
		if configure != nil {
			configure(&cfg)
		}
		b, err := build.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		return b
	}
	run := func(b *build.Builder, req build.Request) sample {
		req.ID = fmt.Sprintf("bench-%d", seq)
		seq++
		out, err := b.Build(ctx, req, nil)
		if err != nil {
			log.Fatalf("%s: %v", req.ID, err)
		}
		return sample{total: out.Report.Duration, bundle: out.Report.BundleDuration, out: out}
	}
	repeat := func(times int, f func(i int) sample) []sample {
		var s []sample
		for i := range times {
			s = append(s, f(i))
		}
		return s
	}

	type row struct {
		name    string
		samples map[string][]sample
	}
	rows := []*row{}
	add := func(name string) *row {
		r := &row{name: name, samples: map[string][]sample{}}
		rows = append(rows, r)
		return r
	}
	rCold := add("production, cold dependencies (npm install)")
	rWarm := add("production, warm dependencies, cold Vite cache")
	rVite := add("production, warm dependencies, warm Vite cache")
	rTC := add("production, warm, with tsc type check")
	rHit := add("production, unchanged inputs (output cache hit)")
	rPrevVite := add("preview by Vite, warm dependencies")
	rPrevESB := add("preview by esbuild in process, warm dependencies")
	rHitPrev := add("preview (esbuild), unchanged inputs (output cache hit)")
	rBundleVite := add("bundler step: vite build (preview)")
	rBundleESB := add("bundler step: esbuild in process (preview)")

	warmCache := filepath.Join(root, "cache")
	warm := newBuilder(warmCache, func(c *build.Config) { c.PreviewEngine = build.EngineVite })
	esb := newBuilder(warmCache, func(c *build.Config) { c.PreviewEngine = build.EngineESBuild })
	cached := newBuilder(warmCache, func(c *build.Config) { c.OutputCacheBytes = 0 }) // the defaults
	var prod, prevVite, prevESB = map[string]*build.Output{}, map[string]*build.Output{}, map[string]*build.Output{}
	for ai, a := range apps {
		fmt.Fprintf(os.Stderr, "buildbench: %s\n", a.name)
		rCold.samples[a.name] = repeat(*cold, func(int) sample {
			b := newBuilder(filepath.Join(root, fmt.Sprintf("cold-%d", seq)), nil)
			return run(b, build.Request{Files: variant(a.files), Profile: build.ProfileProduction})
		})
		if ai == 0 {
			run(warm, build.Request{Files: variant(a.files)}) // installs the set into the warm cache
		}
		rWarm.samples[a.name] = repeat(*n, func(int) sample {
			return run(warm, build.Request{Files: variant(a.files), Profile: build.ProfileProduction, AppID: fmt.Sprint("fresh-", seq)})
		})
		appID := "bench-" + a.name
		run(warm, build.Request{Files: variant(a.files), Profile: build.ProfileProduction, AppID: appID})
		rVite.samples[a.name] = repeat(*n, func(int) sample {
			return run(warm, build.Request{Files: variant(a.files), Profile: build.ProfileProduction, AppID: appID})
		})
		rTC.samples[a.name] = repeat(*n, func(int) sample {
			return run(warm, build.Request{Files: variant(a.files), Profile: build.ProfileProduction, TypeCheck: true})
		})
		hitSrc := variant(a.files)
		first := run(cached, build.Request{Files: hitSrc, Profile: build.ProfileProduction})
		prod[a.name] = first.out
		rHit.samples[a.name] = repeat(*n, func(int) sample {
			return run(cached, build.Request{Files: hitSrc, Profile: build.ProfileProduction})
		})
		prevHit := variant(a.files)
		run(cached, build.Request{Files: prevHit})
		rHitPrev.samples[a.name] = repeat(*n, func(int) sample { return run(cached, build.Request{Files: prevHit}) })
		// Vite and esbuild previews in turn, so that both see the same machine load.
		var pv, pe []sample
		for range *n {
			pv = append(pv, run(warm, build.Request{Files: variant(a.files)}))
			pe = append(pe, run(esb, build.Request{Files: variant(a.files)}))
		}
		if e := pe[0].out.Report.Engine; e != build.EngineESBuild {
			log.Fatalf("%s: the esbuild preview fell back to %s: %s", a.name, e, pe[0].out.Report.EngineNote)
		}
		rPrevVite.samples[a.name], rPrevESB.samples[a.name] = pv, pe
		rBundleVite.samples[a.name], rBundleESB.samples[a.name] = bundleOnly(pv), bundleOnly(pe)
		prevVite[a.name], prevESB[a.name] = pv[0].out, pe[0].out
	}

	// Timings.
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Printf("appforge buildbench: %s, %d runs a row (cold: %d), median (min) ms; load average %s at start, %s at end; %s\n\n",
		time.Now().Format("2006-01-02 15:04"), *n, *cold, load0, loadAvg(), time.Since(start).Round(time.Second))
	header := "step\t"
	for _, a := range apps {
		header += a.name + "\t"
	}
	fmt.Fprintln(w, header)
	for _, r := range rows {
		line := r.name + "\t"
		for _, a := range apps {
			s := r.samples[a.name]
			line += fmt.Sprintf("%s (%s)\t", msText(median(s)), msText(minimum(s)))
		}
		fmt.Fprintln(w, line)
	}
	ratio := func(name string, num, den *row, pick func(sample) time.Duration) {
		line := name + "\t"
		for _, a := range apps {
			line += fmt.Sprintf("%.1fx\t", float64(medianOf(num.samples[a.name], pick))/float64(medianOf(den.samples[a.name], pick)))
		}
		fmt.Fprintln(w, line)
	}
	total := func(s sample) time.Duration { return s.total }
	ratio("Vite / esbuild, whole preview build", rPrevVite, rPrevESB, total)
	ratio("Vite / esbuild, bundler step", rBundleVite, rBundleESB, total)
	ratio("cold deps / warm deps", rCold, rWarm, total)
	ratio("cold Vite cache / warm Vite cache", rWarm, rVite, total)
	ratio("warm build / output cache hit", rWarm, rHit, total)
	w.Flush()

	// Sizes.
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(w, "bundle\tfiles\ttotal\tgzip\tvendor JS\tgzip\tapp JS\tgzip\tCSS\tgzip\tsource maps\t")
	for _, a := range apps {
		for _, v := range []struct {
			name string
			out  *build.Output
		}{{"production (Vite)", prod[a.name]}, {"preview (Vite)", prevVite[a.name]}, {"preview (esbuild)", prevESB[a.name]}} {
			fmt.Fprintln(w, a.name+", "+v.name+"\t"+sizes(v.out))
		}
	}
	w.Flush()
	fmt.Println("\nsizes in bytes; total and gzip count every file but _headers and source maps (the budget's measure).")
	fmt.Println(genNote)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
}

// recipeBook is the request of llmscript's built-in "recipe-book" scenario, which
// selects it.
const recipeBook = "Create a recipe book where I can add recipes with ingredients and search them"

// agentApp generates an app with the LLM agent against the scripted server, in process:
// Plan, then Step until the agent finishes, from the foundation template, keeping the
// transcript and the files between steps as the workflow does.
func agentApp(ctx context.Context, message string) (app, string, error) {
	srv, err := llmscript.New(llmscript.Options{Scenarios: llmscript.Builtin()})
	if err != nil {
		return app{}, "", err
	}
	hs := httptest.NewServer(srv.Handler()) // loopback
	defer hs.Close()
	gen, err := agent.New(agent.Config{APIKey: "buildbench", BaseURL: hs.URL + "/v1", Model: llmscript.DefaultModel})
	if err != nil {
		return app{}, "", err
	}
	req := generate.Request{AppID: "buildbench-llm", Message: message}
	plan, err := gen.Plan(ctx, req)
	if err != nil {
		return app{}, "", fmt.Errorf("plan: %w", err)
	}
	if !plan.Supported {
		return app{}, "", fmt.Errorf("plan: not supported: %s", plan.Reply)
	}
	in := generate.StepInput{Request: req, Plan: plan, Files: generate.Template()}
	for step := 1; ; step++ {
		in.Step = step
		out, err := gen.Step(ctx, in, nil)
		if err != nil {
			return app{}, "", fmt.Errorf("step %d: %w", step, err)
		}
		if out.Stopped != "" {
			return app{}, "", fmt.Errorf("step %d: stopped: %s", step, out.Stopped)
		}
		in.Transcript = append(in.Transcript, out.Messages...)
		in.Files = out.Files
		if out.Finished {
			break
		}
	}
	note := fmt.Sprintf("recipe book (LLM agent): %d files (%d changed from the template) written by generate/agent in a plan and %d steps against llmscript's %q scenario.",
		len(in.Files), len(generateChanges(generate.Template(), in.Files)), in.Step, "recipe-book")
	return app{name: "recipe book (LLM agent)", files: in.Files}, note, nil
}

// generateChanges lists the paths that differ between two file sets.
func generateChanges(from, to []files.File) []string {
	var out []string
	for _, f := range to {
		if g, ok := files.Find(from, f.Path); !ok || !bytes.Equal(g.Content, f.Content) {
			out = append(out, f.Path)
		}
	}
	for _, f := range from {
		if _, ok := files.Find(to, f.Path); !ok {
			out = append(out, f.Path)
		}
	}
	return out
}

func bundleOnly(s []sample) []sample {
	out := make([]sample, len(s))
	for i, x := range s {
		out[i] = sample{total: x.bundle}
	}
	return out
}

func median(s []sample) time.Duration {
	return medianOf(s, func(x sample) time.Duration { return x.total })
}

func medianOf(s []sample, pick func(sample) time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(s))
	for i, x := range s {
		ds[i] = pick(x)
	}
	slices.Sort(ds)
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}

func minimum(s []sample) time.Duration {
	m := time.Duration(0)
	for i, x := range s {
		if i == 0 || x.total < m {
			m = x.total
		}
	}
	return m
}

func msText(d time.Duration) string {
	ms := float64(d.Microseconds()) / 1000
	if ms < 10 {
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

// sizes is one row of the size table.
func sizes(out *build.Output) string {
	var total, gzip, vendor, vendorGz, app, appGz, css, cssGz, maps int64
	nfiles := 0
	for _, f := range out.Report.Files {
		switch {
		case strings.HasSuffix(f.Path, ".map"):
			maps += f.Size
			continue
		case f.Path == "_headers":
			continue
		case strings.HasSuffix(f.Path, ".css"):
			css += f.Size
			cssGz += f.GzipSize
		}
		nfiles++
		total += f.Size
		gzip += f.GzipSize
	}
	for _, c := range out.Report.Chunks {
		// esbuild has no vendor chunk: react and react-dom go where its splitting puts them.
		if c.Kind == build.ChunkVendor {
			vendor += c.Size
			vendorGz += c.GzipSize
		} else {
			app += c.Size
			appGz += c.GzipSize
		}
	}
	return fmt.Sprintf("%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t", nfiles, total, gzip, vendor, vendorGz, app, appGz, css, cssGz, maps)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
