// Command appforge turns chat messages into live web apps.
//
//	appforge dev       everything in one process on embedded defaults
//	appforge api       the HTTP API
//	appforge worker    Temporal workers (all task queues, or -queues)
//	appforge edge      the local Cloudflare-compatible edge
//	appforge migrate   create or update the database tables
//	appforge deps      install the app template's npm dependencies into the cache
//
// Configuration comes from the environment; see the README and .env.example.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/config"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/stack"
)

const usage = `usage: appforge <command>

commands:
  dev       run everything in one process: Temporal dev server, database, local edge,
            workers on every task queue, API (the default for local use)
  api       run the HTTP API (needs TEMPORAL_ADDRESS or a running dev server)
  worker    run Temporal workers; -queues appforge,appforge-build,... to pick queues
  edge      run the local Cloudflare-compatible edge alone
  migrate   create or update the database tables
  deps      install the app template's npm dependencies into the cache

Configuration is read from the environment; see README.md and .env.example.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		fmt.Print(usage)
		return
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "appforge:", err)
		os.Exit(2)
	}
	log := cfg.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "dev":
		err = run(ctx, cfg, stack.All, log, true)
	case "api":
		err = run(ctx, cfg, stack.Parts{API: true}, log, false)
	case "worker":
		fs := flag.NewFlagSet("worker", flag.ExitOnError)
		queues := fs.String("queues", "", "comma-separated task queues to serve (default: all)")
		fs.Parse(args)
		parts := stack.Parts{Workers: true}
		if *queues != "" {
			parts.WorkerQueues = strings.Split(*queues, ",")
		}
		err = run(ctx, cfg, parts, log, false)
	case "edge":
		err = run(ctx, cfg, stack.Parts{Edge: true}, log, false)
	case "migrate":
		err = migrate(ctx, cfg)
	case "deps":
		err = deps(ctx, cfg)
	default:
		fmt.Fprintf(os.Stderr, "appforge: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "appforge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Config, parts stack.Parts, log *slog.Logger, banner bool) error {
	start := time.Now()
	st, err := stack.Start(ctx, cfg, parts, log)
	if err != nil {
		return err
	}
	if banner {
		printBanner(st, time.Since(start))
	} else {
		log.Info("appforge started", "api", st.APIURL, "edge", st.EdgeURL)
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nappforge: stopping…")
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Close(cctx); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "appforge: stopped")
	return nil
}

func printBanner(st *stack.Stack, took time.Duration) {
	cfg := st.Config
	db := "SQLite " + cfg.SQLitePath()
	if cfg.DatabaseURL != "" {
		db = "Postgres (DATABASE_URL)"
	}
	deploy := "Cloudflare (account " + cfg.CloudflareAccountID + ")"
	if cfg.UsesLocalEdge() {
		deploy = "the local edge"
	}
	abs, _ := filepath.Abs(cfg.DataDir)
	fmt.Printf(`
appforge is running (started in %s; apps by %s; deploys to %s)

  API            %s   (chat page at /)
  Temporal UI    %s
  Temporal       %s
  Database       %s
`, took.Round(time.Millisecond), generate.Describe(st.Generator), deploy, st.PublicURL, orNone(cfg.TemporalUIURL), cfg.TemporalAddress, db)
	if st.EdgeURL != "" {
		fmt.Printf(`  Edge API       %s/client/v4
  Apps           http://<app-id>-preview.appforge.localhost:%s (production: http://<app-id>.appforge.localhost:%s)
`, st.EdgeURL, port(st.EdgeURL), port(st.EdgeURL))
	}
	if st.EdgeTLSAddr != "" {
		fmt.Printf(`  Custom domains https://<your-domain>:%s, served by SNI; trust the edge's root CA to browse them:
                 %s
`, port(st.EdgeTLSAddr), st.RootCAPath)
	}
	fmt.Printf(`  Data folder    %s

Try:
  curl -X POST %s/v1/apps -d '{"message":"Create a todo app"}'
  curl -N %s/v1/apps/<app-id>/events

Ctrl-C stops everything; the next start finds every app where it was.
`, abs, st.PublicURL, st.PublicURL)
}

func orNone(s string) string {
	if s == "" {
		return "(not configured)"
	}
	return s
}

func port(u string) string {
	if i := strings.LastIndex(u, ":"); i >= 0 {
		return u[i+1:]
	}
	return ""
}

func migrate(ctx context.Context, cfg config.Config) error {
	s, err := models.Open(ctx, models.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("appforge: %s database is up to date\n", s.Dialect())
	return nil
}

func deps(ctx context.Context, cfg config.Config) error {
	b, err := build.New(build.Config{WorkDir: filepath.Join(cfg.DataDir, "builds"), CacheDir: cfg.DepsDir})
	if err != nil {
		return err
	}
	pkg, _ := files.Find(generate.Template(), "package.json")
	start := time.Now()
	key, dir, err := b.EnsureDeps(ctx, pkg.Content)
	if err != nil {
		return err
	}
	fmt.Printf("appforge: template dependencies ready in %s (%s, key %s)\n", dir, time.Since(start).Round(time.Millisecond), key)
	return nil
}
