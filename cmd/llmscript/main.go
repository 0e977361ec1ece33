// Command llmscript runs the scripted OpenAI-compatible server for demos and manual
// tests: point the agent at it and type one of the scenario requests it prints.
//
//	go run ./cmd/llmscript -addr 127.0.0.1:9090
//	OPENAI_BASE_URL=http://127.0.0.1:9090/v1 OPENAI_API_KEY=anything make dev
//
// See llmscript/README.md for the scenarios and their format.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/appforge/appforge/llmscript"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "address to listen on")
	key := flag.String("key", "", "the one API key to accept (default: any key)")
	models := flag.String("models", "", "comma-separated models to accept (default: any model)")
	dir := flag.String("scenarios", "", "folder of <name>/scenario.json to play instead of the builtin scenarios")
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()

	if err := run(*addr, *key, *models, *dir, *verbose, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "llmscript:", err)
		os.Exit(1)
	}
}

func run(addr, key, models, dir string, verbose bool, out io.Writer) error {
	scs := llmscript.Builtin()
	if dir != "" {
		var err error
		if scs, err = llmscript.LoadScenarios(os.DirFS(dir)); err != nil {
			return err
		}
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts := llmscript.Options{Scenarios: scs, APIKey: key, Logger: log}
	if models != "" {
		opts.Models = strings.Split(models, ",")
	}
	srv, err := llmscript.New(opts)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	shownKey := key
	if shownKey == "" {
		shownKey = "anything"
	}
	printBanner(out, "http://"+ln.Addr().String()+"/v1", shownKey, srv.Scenarios())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func printBanner(out io.Writer, baseURL, key string, scs []llmscript.ScenarioInfo) {
	fmt.Fprintf(out, "llmscript: scripted OpenAI-compatible server at %s\n", baseURL)
	fmt.Fprintf(out, "  OPENAI_BASE_URL=%s OPENAI_API_KEY=%s\n\n", baseURL, key)
	fmt.Fprintln(out, "Type one of these requests in the chat:")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, sc := range scs {
		note := ""
		if sc.Base != "" {
			note = "  (a follow-up on " + sc.Base + ")"
		}
		fmt.Fprintf(tw, "  %s\t%q%s\n", sc.Name, sc.Request, note)
	}
	_ = tw.Flush()
	fmt.Fprintln(out, "\nPOST /control/reset replays every fault; Ctrl-C stops.")
}
