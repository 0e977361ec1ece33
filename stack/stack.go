// Package stack assembles appforge in one process: the Temporal dev server (or a
// configured cluster), the database, the local Cloudflare-compatible edge (or
// Cloudflare), the builder, a worker on every task queue and the API. `appforge dev`,
// the end-to-end tests and the benchmark all start this same stack.
package stack

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/config"
	"github.com/appforge/appforge/domains"
	"github.com/appforge/appforge/edge"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
	"github.com/appforge/appforge/generate/agent"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/secrets"
	"github.com/appforge/appforge/verify"
	"github.com/appforge/appforge/worker"
	"github.com/appforge/appforge/workflows"
)

// Parts selects what a process runs.
type Parts struct {
	// DevServer starts the Temporal dev server when no TEMPORAL_ADDRESS is configured.
	DevServer bool
	Edge      bool
	Workers   bool
	API       bool
	// WorkerQueues limits the queues served; empty means all.
	WorkerQueues []string
}

// All is every part: `appforge dev`.
var All = Parts{DevServer: true, Edge: true, Workers: true, API: true}

// Stack is a running appforge.
type Stack struct {
	Config   config.Config
	Log      *slog.Logger
	Store    *models.Store
	Temporal client.Client
	Builder  *build.Builder
	// Secrets seals app secrets at rest.
	Secrets *secrets.Box
	// Generator makes the apps: the LLM agent when a model is configured, else the
	// offline generator.
	Generator generate.Generator

	DevServer *DevServer
	// EdgeURL is the local edge's base URL (API under /client/v4), when it runs here.
	EdgeURL string
	// EdgeTLSAddr is where the local edge serves custom domains over HTTPS, with
	// certificates from its root CA at RootCAPath.
	EdgeTLSAddr string
	RootCAPath  string
	// EdgeCredentials are the local edge's account and token.
	EdgeCredentials EdgeCredentials
	// APIURL is the API's base URL, when it runs here; PublicURL is how users reach it.
	APIURL    string
	PublicURL string

	edge      *edge.Edge
	listeners listeners
	api       *api.Server
	stopLoops context.CancelFunc
	servers   []*http.Server
	workers   *worker.Workers
	warmDone  chan struct{}
}

// EdgeCredentials are the account and token of the local edge, made once and kept in
// the data folder.
type EdgeCredentials struct {
	AccountID string `json:"account_id"`
	APIToken  string `json:"api_token"`
	// ReadOnlyToken may only read (GET); its writes are refused as Cloudflare refuses a
	// token without the permission (403, code 10000). For demos and tests.
	ReadOnlyToken string `json:"read_only_token,omitempty"`
}

// Start brings up the parts. On error, what was started is stopped again.
func Start(ctx context.Context, cfg config.Config, parts Parts, log *slog.Logger) (st *Stack, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st = &Stack{Config: cfg, Log: log}
	defer func() {
		if err != nil {
			st.Close(context.Background())
			st = nil
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	// Our ports are bound before the Temporal dev server starts: it picks random free
	// ports for its own services and must not take ours.
	if err := st.listen(cfg, parts); err != nil {
		return nil, err
	}

	if parts.Workers || parts.API {
		if err := st.connect(ctx, cfg, parts); err != nil {
			return nil, err
		}
	}

	if parts.API || parts.Workers {
		if st.Secrets, err = secretBox(cfg, log); err != nil {
			return nil, err
		}
	}

	var deployer *cloudflare.Deployer
	if parts.Edge || parts.Workers {
		deployer, err = st.startDeployTarget(ctx, cfg, parts)
		if err != nil {
			return nil, err
		}
	}

	if parts.Workers {
		st.Builder, err = build.New(build.Config{
			WorkDir: filepath.Join(cfg.DataDir, "builds"), CacheDir: cfg.DepsDir, Timeout: cfg.BuildTimeout, Logger: log.With("component", "build"),
			Budget: DefaultBudget(cfg),
		})
		if err != nil {
			return nil, err
		}
		st.warmDeps(log)
		gen, err := newGenerator(cfg, log)
		if err != nil {
			return nil, err
		}
		st.Generator = gen
		acts := &activities.Activities{
			Store: st.Store, Generator: gen, Builder: st.Builder, Deployer: deployer, Secrets: st.Secrets,
			DomainProvider: deployer, Domains: domainConfig(cfg),
			HTTPClient: verify.NewHTTPClient(30*time.Second, st.localEdgeDial()), Chromium: cfg.Chromium, PlaywrightPath: cfg.PlaywrightPath, BrowserHostRules: st.browserHostRules(),
			Logger: log.With("component", "activities"),
		}
		st.workers, err = worker.Start(worker.Options{
			Client: st.Temporal, Activities: acts, Queues: parts.WorkerQueues,
			BuildConcurrency: cfg.BuildConcurrency, LLMRatePerSecond: cfg.LLMRatePerSecond,
		})
		if err != nil {
			return nil, err
		}
	}

	if parts.API {
		ln := st.listeners.api
		st.listeners.api = nil
		st.PublicURL = cfg.PublicURLFor(ln.Addr().String())
		st.api = api.NewServer(api.Options{
			Store:     st.Store,
			Workflows: &workflows.Client{Temporal: st.Temporal, MaxTurnsPerRun: cfg.MaxTurnsPerRun, Domains: DomainOptions(cfg)},
			Ready: func(ctx context.Context) error {
				_, err := st.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			},
			Budget:  DefaultBudget(cfg),
			Secrets: st.Secrets, AllowReservedDomains: cfg.AllowReservedDomains, MaxMessageBytes: cfg.MaxMessageBytes, PublicURL: st.PublicURL, TemporalUIURL: cfg.TemporalUIURL, Namespace: cfg.TemporalNamespace,
			Logger: log.With("component", "api"),
		})
		st.APIURL = "http://" + st.serve(ln, st.api.Handler())
		loopCtx, cancel := context.WithCancel(context.Background())
		st.stopLoops = cancel
		go st.api.RedeliverLoop(loopCtx, 30*time.Second)
	}
	return st, nil
}

// DefaultBudget is the size budget of production bundles for apps without their own.
func DefaultBudget(cfg config.Config) build.Budget {
	return build.Budget{WarnBytes: cfg.BudgetWarnBytes, LimitBytes: cfg.BudgetLimitBytes}.Or(build.Budget{})
}

// DomainOptions are the domain workflows' timings from the configuration.
func DomainOptions(cfg config.Config) workflows.DomainOptions {
	return workflows.DomainOptions{GiveUpAfter: cfg.DomainGiveUp, MinBackoff: cfg.DomainMinBackoff, MaxBackoff: cfg.DomainMaxBackoff, WatchEvery: cfg.DomainWatch}
}

// domainConfig is the domain activities' configuration. Our own DNS check asks the
// configured resolvers, or the system's; with the local edge and none configured it is
// skipped, since the edge's domains are not in real DNS.
func domainConfig(cfg config.Config) activities.DomainConfig {
	dc := activities.DomainConfig{SaaSZone: cfg.SaaSZone, SaaSTarget: cfg.SaaSTarget, AllowReserved: cfg.AllowReservedDomains}
	if len(cfg.DNSResolvers) > 0 || !cfg.UsesLocalEdge() {
		dc.Resolver = &domains.Resolver{Servers: cfg.DNSResolvers}
	}
	return dc
}

// secretBox makes the box that seals app secrets, from APPFORGE_SECRET_KEY or a key file
// made once in the data folder.
func secretBox(cfg config.Config, log *slog.Logger) (*secrets.Box, error) {
	var key []byte
	var err error
	if cfg.SecretKey != "" {
		key, err = secrets.ParseKey(cfg.SecretKey.Reveal())
		if err != nil {
			return nil, fmt.Errorf("APPFORGE_SECRET_KEY: %w", err)
		}
	} else {
		if key, err = secrets.LoadOrCreateKeyFile(cfg.SecretKeyPath()); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		log.Debug("secrets sealed with the key file", "path", cfg.SecretKeyPath())
	}
	return secrets.NewBox(key)
}

// newGenerator picks the generator: the LLM agent when a model is configured.
func newGenerator(cfg config.Config, log *slog.Logger) (generate.Generator, error) {
	if !cfg.UsesLLM() {
		return generate.NewOffline(), nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 3 * time.Minute
	return agent.New(agent.Config{
		APIKey: cfg.OpenAIAPIKey.Reveal(), BaseURL: cfg.OpenAIBaseURL, Model: cfg.Model,
		HTTPClient: &http.Client{Transport: tr}, Repairs: cfg.MaxRepairs,
		InputPrice: cfg.ModelInputPrice, OutputPrice: cfg.ModelOutputPrice, Logger: log.With("component", "agent"),
	})
}

// connect starts the Temporal dev server if asked, connects to Temporal and opens the
// database.
func (st *Stack) connect(ctx context.Context, cfg config.Config, parts Parts) error {
	var err error
	if cfg.StartsTemporal() && parts.DevServer {
		st.DevServer, err = StartDevServer(ctx, DevServerOptions{
			Binary: cfg.TemporalCLI, DBFile: filepath.Join(cfg.DataDir, "temporal.db"), Port: cfg.TemporalPort, UIPort: cfg.TemporalUIPort, Headless: cfg.TemporalHeadless,
			Namespace: cfg.TemporalNamespace, LogPath: filepath.Join(cfg.DataDir, "temporal.log"), Logger: st.Log,
		})
		if err != nil {
			return err
		}
	}
	st.Temporal, err = client.DialContext(ctx, client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(quieter{st.Log.Handler(), sdkLogLevel(cfg.LogLevel)}).With("component", "temporal")),
	})
	if err != nil {
		return fmt.Errorf("connect to temporal at %s: %w", cfg.TemporalAddress, err)
	}
	if st.DevServer == nil {
		if err := worker.EnsureSearchAttributes(ctx, st.Temporal, cfg.TemporalNamespace); err != nil {
			st.Log.Warn("search attributes could not be registered; register AppforgeAppID and AppforgePhase (Keyword) yourself", "err", err)
		}
	}
	st.Store, err = models.Open(ctx, models.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), SQLitePath: cfg.SQLitePath(), Logger: st.Log})
	return err
}

// sdkLogLevel keeps the Temporal SDK's per-worker chatter out of the log unless debugging.
func sdkLogLevel(l slog.Level) slog.Level {
	if l <= slog.LevelDebug {
		return l
	}
	return slog.LevelWarn
}

// quieter drops records below min.
type quieter struct {
	slog.Handler
	min slog.Level
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}
func (q quieter) WithAttrs(as []slog.Attr) slog.Handler {
	return quieter{q.Handler.WithAttrs(as), q.min}
}
func (q quieter) WithGroup(name string) slog.Handler {
	return quieter{q.Handler.WithGroup(name), q.min}
}

// listeners are bound at start and handed to their servers as these start.
type listeners struct {
	api, edge, edgeTLS net.Listener
}

// listen binds the API's and the local edge's ports.
func (st *Stack) listen(cfg config.Config, parts Parts) error {
	var err error
	if parts.API {
		if st.listeners.api, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	if parts.Edge && cfg.UsesLocalEdge() {
		if st.listeners.edge, err = net.Listen("tcp", cfg.EdgeAddr); err != nil {
			return fmt.Errorf("edge: %w", err)
		}
		if st.listeners.edgeTLS, err = net.Listen("tcp", cfg.EdgeTLSAddr); err != nil {
			return fmt.Errorf("edge https: %w", err)
		}
	}
	return nil
}

// startDeployTarget starts the local edge when deploying locally, and returns the
// deployer pointed at the edge or at Cloudflare.
func (st *Stack) startDeployTarget(ctx context.Context, cfg config.Config, parts Parts) (*cloudflare.Deployer, error) {
	dcfg := cloudflare.Config{
		APIToken: cfg.CloudflareAPIToken.Reveal(), AccountID: cfg.CloudflareAccountID, BaseURL: cfg.CloudflareAPIBaseURL,
		URLTemplate: cfg.WorkersURLTemplate, HTTPClient: &http.Client{Timeout: 2 * time.Minute},
		RatePerSecond: cfg.DeployRatePerSecond,
	}
	if cfg.UsesLocalEdge() {
		creds, err := edgeCredentials(filepath.Join(cfg.DataDir, "edge"))
		if err != nil {
			return nil, err
		}
		st.EdgeCredentials = creds
		if parts.Edge {
			_, tlsPort, _ := net.SplitHostPort(cfg.EdgeTLSAddr)
			httpsPort, _ := strconv.Atoi(tlsPort)
			st.edge, err = edge.New(edge.Config{DataDir: filepath.Join(cfg.DataDir, "edge"), AccountID: creds.AccountID, APIToken: creds.APIToken,
				ReadOnlyTokens: []string{creds.ReadOnlyToken}, ZoneActivationDelay: cfg.EdgeZoneDelay, CertificateDelay: cfg.EdgeCertDelay, CustomHostnameDelay: cfg.EdgeHostnameDelay,
				HTTPSPort: httpsPort, Logger: st.Log}) // the edge names itself in its log
			if err != nil {
				return nil, err
			}
			st.EdgeTLSAddr = st.serve(tls.NewListener(st.listeners.edgeTLS, st.edge.TLSConfig()), st.edge.Handler())
			st.RootCAPath = st.edge.RootCAPath()
			st.EdgeURL = "http://" + st.serve(st.listeners.edge, st.edge.Handler())
			st.listeners.edge, st.listeners.edgeTLS = nil, nil
		} else {
			st.EdgeURL = "http://" + cfg.EdgeAddr
		}
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(st.EdgeURL, "http://"))
		dcfg.APIToken, dcfg.AccountID = creds.APIToken, creds.AccountID
		if dcfg.BaseURL == "" {
			dcfg.BaseURL = st.EdgeURL + "/client/v4"
		}
		if dcfg.URLTemplate == "" {
			dcfg.URLTemplate = "http://{script}.{subdomain}.localhost:" + port
		}
	}
	return cloudflare.New(dcfg)
}

// localEdgeDial is where *.localhost URLs are fetched from when the edge runs in another
// process on another host (containers); empty means loopback.
func (st *Stack) localEdgeDial() string {
	if !st.Config.UsesLocalEdge() || st.edge != nil {
		return ""
	}
	host, _, err := net.SplitHostPort(st.Config.EdgeAddr)
	if err != nil || host == "" || host == "127.0.0.1" || host == "localhost" || host == "0.0.0.0" {
		return ""
	}
	return st.Config.EdgeAddr
}

// browserHostRules lets headless Chromium reach *.localhost apps on an edge in another
// process on another host (containers).
func (st *Stack) browserHostRules() string {
	if d := st.localEdgeDial(); d != "" {
		return "MAP *.localhost " + d
	}
	return ""
}

// edgeCredentials loads the local edge's account and token, making them on first use.
func edgeCredentials(dir string) (EdgeCredentials, error) {
	path := filepath.Join(dir, "credentials.json")
	var c EdgeCredentials
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &c); err != nil || c.AccountID == "" || c.APIToken == "" {
			return c, fmt.Errorf("edge credentials %s are unreadable; delete the file to make new ones", path)
		}
		if c.ReadOnlyToken != "" {
			return c, nil
		}
		c.ReadOnlyToken = "local-ro-" + randomHex(20) // made by an earlier version: add it
	} else if !errors.Is(err, os.ErrNotExist) {
		return c, err
	} else {
		c = EdgeCredentials{AccountID: randomHex(16), APIToken: "local-" + randomHex(20), ReadOnlyToken: "local-ro-" + randomHex(20)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return c, err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return c, err
	}
	return c, os.Rename(tmp, path)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// serve serves h on ln in the background and returns the bound address.
func (st *Stack) serve(ln net.Listener, h http.Handler) string {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	st.servers = append(st.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			st.Log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr().String()
}

// warmDeps installs the template's dependency set in the background, so that the first
// build does not wait for npm.
func (st *Stack) warmDeps(log *slog.Logger) {
	st.warmDone = make(chan struct{})
	pkg, _ := files.Find(generate.Template(), "package.json")
	go func() {
		defer close(st.warmDone)
		start := time.Now()
		key, _, err := st.Builder.EnsureDeps(context.Background(), pkg.Content)
		if err != nil {
			log.Warn("warming the dependency cache failed; the first build will retry", "err", err)
			return
		}
		log.Info("dependency cache ready", "key", key, "duration", time.Since(start).Round(time.Millisecond))
	}()
}

// WaitWarm waits until the dependency cache is warm (or warming failed).
func (st *Stack) WaitWarm(ctx context.Context) error {
	if st.warmDone == nil {
		return nil
	}
	select {
	case <-st.warmDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops everything, API first (no new work), then workers (running activities
// get their grace period), the edge, the database and the Temporal dev server.
func (st *Stack) Close(ctx context.Context) error {
	var errs []error
	for _, ln := range []net.Listener{st.listeners.api, st.listeners.edge, st.listeners.edgeTLS} {
		if ln != nil {
			ln.Close()
		}
	}
	if st.stopLoops != nil {
		st.stopLoops()
	}
	if st.api != nil {
		st.api.CloseStreams()
	}
	for i := len(st.servers) - 1; i >= 0; i-- {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := st.servers[i].Shutdown(sctx); err != nil {
			st.servers[i].Close()
		}
		cancel()
	}
	st.workers.Stop()
	if st.Temporal != nil {
		st.Temporal.Close()
	}
	if st.edge != nil {
		errs = append(errs, st.edge.Close())
	}
	if st.Store != nil {
		errs = append(errs, st.Store.Close())
	}
	if st.DevServer != nil {
		errs = append(errs, st.DevServer.Stop())
	}
	return errors.Join(errs...)
}
