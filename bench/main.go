// Command bench measures appforge through its real stack, as `make dev` runs it: the
// Temporal dev server, the database, the local edge, npm and vite. It sends N app
// requests (each followed by one change), follows each turn's events to its live
// preview, and prints the median and p95 time from request to live preview and the
// time of each step.
//
//	go run ./bench -n 10              # SQLite, the embedded default
//	go run ./bench -n 10 -db postgres # a fresh Postgres database (APPFORGE_TEST_POSTGRES_URL)
//	go run ./bench -n 5 -llm          # the LLM agent against the scripted server: model calls,
//	                                  # tokens, and the pipeline time around the model
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/appforge/appforge/apiclient"
	"github.com/appforge/appforge/config"
	"github.com/appforge/appforge/llmscript"
	"github.com/appforge/appforge/stack"
	"github.com/appforge/appforge/verify"
)

var requests = []string{
	"Create a todo app called Groceries",
	"Create a notes app for my recipes",
	"Build a counter that counts by 5",
	"A 10 minute pomodoro timer called Focus",
	"Create a landing page for my coffee shop called Bean There, in amber",
}

func main() {
	n := flag.Int("n", 10, "apps to create (each also gets one change)")
	db := flag.String("db", "sqlite", "database: sqlite or postgres")
	verbose := flag.Bool("v", false, "log the stack")
	llm := flag.Bool("llm", false, "generate with the LLM agent against the scripted OpenAI-compatible server (llmscript)")
	flag.Parse()
	if err := run(*n, *db, *verbose, *llm); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct {
	total, build, vite, deploy, verify, beforeBuild, toDeploy, toLive time.Duration
	// model is the time spent in model calls (plan and steps); the rest of total is the
	// pipeline around the model.
	model                                 time.Duration
	calls, promptTokens, completionTokens int
	costUSD                               float64
}

func run(n int, db string, verbose, llm bool) error {
	dir, err := os.MkdirTemp("", "appforge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	vars := map[string]string{
		"APPFORGE_DATA_DIR":          dir,
		"APPFORGE_HTTP_ADDR":         "127.0.0.1:0",
		"APPFORGE_EDGE_ADDR":         "127.0.0.1:0",
		"APPFORGE_TEMPORAL_PORT":     freePort(),
		"APPFORGE_TEMPORAL_HEADLESS": "true",
		"APPFORGE_TEMPORAL_CLI":      envOr("APPFORGE_TEMPORAL_CLI", ".tools/bin/temporal"),
		"APPFORGE_DEPS_DIR":          envOr("APPFORGE_DEPS_DIR", filepath.Join(os.TempDir(), "appforge-test-deps")),
	}
	if db == "postgres" {
		dsn, drop, err := postgresDatabase()
		if err != nil {
			return err
		}
		defer drop()
		vars["DATABASE_URL"] = dsn
	} else if db != "sqlite" {
		return fmt.Errorf("-db must be sqlite or postgres, not %q", db)
	}
	if llm {
		srv, err := llmscript.New(llmscript.Options{Scenarios: llmscript.Builtin()})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: srv.Handler()}
		go hs.Serve(ln)
		defer hs.Close()
		vars["OPENAI_BASE_URL"] = "http://" + ln.Addr().String() + "/v1"
		vars["OPENAI_API_KEY"] = "bench"
		vars["APPFORGE_MODEL"] = "scripted"
	}
	cfg, err := config.LoadFrom(func(k string) string { return vars[k] })
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx := context.Background()
	startAt := time.Now()
	st, err := stack.Start(ctx, cfg, stack.All, log)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	if err := st.WaitWarm(ctx); err != nil {
		return err
	}
	fmt.Printf("stack up in %s (Temporal dev server, %s, local edge, workers, API)\n", time.Since(startAt).Round(time.Millisecond), db)

	c := &apiclient.Client{BaseURL: st.APIURL}
	if llm {
		return runScripted(ctx, c, n, db)
	}
	site := verify.NewHTTPClient(30*time.Second, "")
	var created, changed []sample
	for i := 0; i < n; i++ {
		msg := requests[i%len(requests)]
		s, appID, last, err := turn(ctx, c, "", msg, 0)
		if err != nil {
			return fmt.Errorf("app %d: %w", i+1, err)
		}
		created = append(created, s)
		s2, _, _, err := turn(ctx, c, appID, "make it green", last)
		if err != nil {
			return fmt.Errorf("app %d change: %w", i+1, err)
		}
		changed = append(changed, s2)
		if resp, err := site.Get(strings.TrimSuffix(previewURL(ctx, c, appID), "/") + "/"); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("app %d preview does not answer: %v", i+1, err)
		} else {
			resp.Body.Close()
		}
		fmt.Printf("  app %2d  new %6s  change %6s  (%s)\n", i+1, ms(s.total), ms(s2.total), msg)
	}
	fmt.Printf("\n%d apps, %d changes, %s, offline generator, %d cores, %s\n\n", n, n, db, runtime.NumCPU(), runtime.Version())
	fmt.Printf("%-36s %8s %8s %8s %8s\n", "", "median", "p95", "min", "max")
	row := func(name string, xs []sample, get func(sample) time.Duration) {
		ds := make([]time.Duration, len(xs))
		for i, x := range xs {
			ds[i] = get(x)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("%-36s %8s %8s %8s %8s\n", name, ms(pct(ds, 50)), ms(pct(ds, 95)), ms(ds[0]), ms(ds[len(ds)-1]))
	}
	row("request → live preview (new app)", created, func(s sample) time.Duration { return s.total })
	row("request → live preview (change)", changed, func(s sample) time.Duration { return s.total })
	all := append(append([]sample(nil), created...), changed...)
	row("  request → build start", all, func(s sample) time.Duration { return s.beforeBuild })
	row("  build (workspace + bundler)", all, func(s sample) time.Duration { return s.build })
	row("    bundler (esbuild or vite)", all, func(s sample) time.Duration { return s.vite })
	row("  deploy (edge API)", all, func(s sample) time.Duration { return s.deploy })
	row("  verify (fetch site)", all, func(s sample) time.Duration { return s.verify })
	row("  build end → deploy start", all, func(s sample) time.Duration { return s.toDeploy })
	row("  verified → live event received", all, func(s sample) time.Duration { return s.toLive })
	return nil
}

// turn sends one message (creating the app when appID is empty) and follows it to its
// live preview.
func turn(ctx context.Context, c *apiclient.Client, appID, msg string, after int64) (sample, string, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	start := time.Now()
	var (
		sent apiclient.Sent
		err  error
	)
	if appID == "" {
		sent, err = c.CreateApp(ctx, msg, "")
	} else {
		sent, err = c.Send(ctx, appID, msg, "")
	}
	if err != nil {
		return sample{}, "", 0, err
	}
	evs, err := c.WaitTurn(ctx, sent.AppID, after, sent.MessageID)
	if err != nil {
		return sample{}, "", 0, err
	}
	end := evs[len(evs)-1]
	if end.Type != "live" {
		return sample{}, "", 0, fmt.Errorf("turn ended with %s: %s", end.Type, end.Message)
	}
	s := sample{total: end.Received.Sub(start)}
	at := map[string]time.Time{}
	for _, ev := range evs {
		if _, ok := at[ev.Type]; !ok {
			at[ev.Type] = ev.CreatedAt
		}
		if ev.Type == "build_finished" {
			s.build = msField(ev, "duration_ms")
			s.vite = msField(ev, "bundle_ms")
		}
	}
	s.beforeBuild = at["build_started"].Sub(start)
	s.deploy = at["deployed"].Sub(at["deploy_started"])
	s.verify = at["verified"].Sub(at["deployed"])
	s.toDeploy = at["deploy_started"].Sub(at["build_finished"])
	s.toLive = end.Received.Sub(at["verified"])
	for _, ev := range evs {
		if ev.Type == "plan" {
			s.model += msField(ev, "duration_ms")
		}
	}
	if err := modelUse(ctx, c, sent.AppID, end.Version, &s); err != nil {
		return sample{}, "", 0, err
	}
	return s, sent.AppID, end.Seq, nil
}

// modelUse adds the version's model calls, tokens, cost and step time to s.
func modelUse(ctx context.Context, c *apiclient.Client, appID string, version int, s *sample) error {
	var v struct {
		Version struct {
			ModelCalls       int     `json:"model_calls"`
			PromptTokens     int     `json:"prompt_tokens"`
			CompletionTokens int     `json:"completion_tokens"`
			CostUSD          float64 `json:"cost_usd"`
		} `json:"version"`
	}
	if _, err := c.Do(ctx, "GET", fmt.Sprintf("/v1/apps/%s/versions/%d", appID, version), nil, &v); err != nil {
		return err
	}
	s.calls, s.promptTokens, s.completionTokens, s.costUSD = v.Version.ModelCalls, v.Version.PromptTokens, v.Version.CompletionTokens, v.Version.CostUSD
	var tr struct {
		Steps []struct {
			DurationMS int64 `json:"duration_ms"`
		} `json:"steps"`
	}
	if _, err := c.Do(ctx, "GET", fmt.Sprintf("/v1/apps/%s/versions/%d/transcript", appID, version), nil, &tr); err != nil {
		return err
	}
	for _, st := range tr.Steps {
		s.model += time.Duration(st.DurationMS) * time.Millisecond
	}
	return nil
}

// runScripted sends the scripted scenarios through the LLM agent: a new multi-component
// app, a follow-up change, and an app whose first attempt does not type-check.
func runScripted(ctx context.Context, c *apiclient.Client, n int, db string) error {
	type scenario struct {
		name     string
		create   string
		followUp string
	}
	scenarios := []scenario{
		{"recipe book (create, 11 files)", "Create a recipe book where I can add recipes with ingredients and search them", ""},
		{"add a search box (follow-up)", "Create a recipe book where I can add recipes with ingredients", "add a search box"},
		{"habit tracker (1 repair round)", "Create a habit tracker", ""},
	}
	results := map[string][]sample{}
	for i := 0; i < n; i++ {
		for _, sc := range scenarios {
			s, appID, last, err := turn(ctx, c, "", sc.create, 0)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			if sc.followUp != "" {
				if s, _, _, err = turn(ctx, c, appID, sc.followUp, last); err != nil {
					return fmt.Errorf("%s: %w", sc.name, err)
				}
			}
			results[sc.name] = append(results[sc.name], s)
		}
		fmt.Printf("  round %d done\n", i+1)
	}
	fmt.Printf("\n%d runs of each scripted scenario, %s, LLM agent via go-openai against llmscript, %d cores, %s\n\n", n, db, runtime.NumCPU(), runtime.Version())
	fmt.Printf("%-32s %6s %8s %8s %10s %10s %10s %10s\n", "scenario", "calls", "prompt", "output", "total", "model", "pipeline", "p95 pipe")
	for _, sc := range scenarios {
		xs := results[sc.name]
		totals, models, pipes := make([]time.Duration, len(xs)), make([]time.Duration, len(xs)), make([]time.Duration, len(xs))
		for i, x := range xs {
			totals[i], models[i], pipes[i] = x.total, x.model, x.total-x.model
		}
		for _, ds := range [][]time.Duration{totals, models, pipes} {
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		}
		x := xs[0]
		fmt.Printf("%-32s %6d %8d %8d %10s %10s %10s %10s\n", sc.name, x.calls, x.promptTokens, x.completionTokens,
			ms(pct(totals, 50)), ms(pct(models, 50)), ms(pct(pipes, 50)), ms(pct(pipes, 95)))
	}
	fmt.Println("\ntotal: request to live preview (median); model: time in model calls; pipeline: total minus model time")
	return nil
}

func previewURL(ctx context.Context, c *apiclient.Client, appID string) string {
	var app struct {
		PreviewURL string `json:"preview_url"`
	}
	c.Do(ctx, "GET", "/v1/apps/"+appID, nil, &app)
	return app.PreviewURL
}

func msField(ev apiclient.Event, name string) time.Duration {
	v, _ := strconv.ParseFloat(ev.Field(name), 64)
	return time.Duration(v * float64(time.Millisecond))
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// postgresDatabase creates a fresh database for the run and returns its URL and a
// function that drops it.
func postgresDatabase() (string, func(), error) {
	admin := envOr("APPFORGE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "appforge_bench_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String(), func() {
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	}, nil
}
