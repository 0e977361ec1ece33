// Package config is appforge's one configuration struct, loaded from the environment.
// Every variable is documented in the README and in .env.example.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/appforge/appforge/build"
)

// Secret is a string that never prints: fmt, slog and JSON see "[redacted]".
type Secret string

func (s Secret) String() string { return redact(s) }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return redact(s) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redact(s)) }

// MarshalText keeps encoders from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redact(s)), nil }

// Reveal returns the value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

func redact(s Secret) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Config is everything appforge reads from its environment.
type Config struct {
	// DataDir holds the embedded defaults' state: the SQLite database, the Temporal dev
	// server's database, the edge's scripts and assets, build workspaces and the
	// dependency cache. APPFORGE_DATA_DIR, default ./data.
	DataDir string
	// HTTPAddr is the API's listen address. APPFORGE_HTTP_ADDR, default 127.0.0.1:8080.
	HTTPAddr string
	// PublicURL is the API's URL as users reach it, used in responses.
	// APPFORGE_PUBLIC_URL, default derived from the address the API listens on.
	PublicURL string
	// DatabaseURL selects Postgres (postgres://…); empty means a SQLite file in DataDir.
	DatabaseURL Secret

	// TemporalAddress is the Temporal frontend; empty means `appforge dev` starts the
	// pinned Temporal dev server itself on 127.0.0.1:7233.
	TemporalAddress   string
	TemporalNamespace string
	// TemporalCLI is the temporal binary `dev` starts; default .tools/bin/temporal.
	TemporalCLI string
	// TemporalPort and TemporalUIPort are the dev server's ports (7233, 8233).
	TemporalPort   int
	TemporalUIPort int
	// TemporalHeadless runs the dev server without its Web UI (tests).
	// APPFORGE_TEMPORAL_HEADLESS=true.
	TemporalHeadless bool
	// TemporalUIURL is the Web UI, for links in API responses; with the dev server it
	// defaults to http://localhost:TemporalUIPort. APPFORGE_TEMPORAL_UI_URL.
	TemporalUIURL string

	// EdgeAddr is where `dev` runs the local Cloudflare-compatible edge (API and the
	// server of deployed apps). APPFORGE_EDGE_ADDR, default 127.0.0.1:8787.
	EdgeAddr string
	// Cloudflare: with no CLOUDFLARE_API_TOKEN, `dev` deploys to the local edge.
	CloudflareAPIToken   Secret
	CloudflareAccountID  string
	CloudflareAPIBaseURL string
	// WorkersURLTemplate makes a script's served URL from {script} and {subdomain}.
	WorkersURLTemplate string

	// DepsDir is the dependency cache: one node_modules per dependency set, installed
	// once. APPFORGE_DEPS_DIR, default DataDir/deps.
	DepsDir string

	// BuildTimeout bounds one vite build; BuildConcurrency bounds builds at once per worker.
	BuildTimeout     time.Duration
	BuildConcurrency int
	// DeployRatePerSecond paces Cloudflare API calls per worker process (bursts of 60):
	// Cloudflare allows 1,200 per 5 minutes per token (APPFORGE_DEPLOY_RATE).
	DeployRatePerSecond float64

	// The LLM agent: used when OPENAI_API_KEY or OPENAI_BASE_URL is set; the offline
	// generator otherwise. Any OpenAI-compatible API works (OpenAI, OpenRouter, Ollama,
	// vLLM).
	OpenAIAPIKey  Secret
	OpenAIBaseURL string
	Model         string
	// MaxRepairs bounds the repair rounds after a failed build (APPFORGE_MAX_REPAIRS).
	MaxRepairs int
	// LLMRatePerSecond bounds model calls started per second across workers
	// (APPFORGE_LLM_RATE).
	LLMRatePerSecond float64
	// ModelInputPrice and ModelOutputPrice override the cost estimate, USD per million
	// tokens (APPFORGE_MODEL_INPUT_PRICE, APPFORGE_MODEL_OUTPUT_PRICE).
	ModelInputPrice  float64
	ModelOutputPrice float64

	// EdgeTLSAddr is where the local edge serves custom domains over HTTPS
	// (APPFORGE_EDGE_TLS_ADDR, default 127.0.0.1:8443).
	EdgeTLSAddr string
	// The local edge's status delays, for demos: zone activation, certificate issuance
	// and custom hostname validation (APPFORGE_EDGE_ZONE_DELAY, _CERT_DELAY,
	// _HOSTNAME_DELAY; 0 is immediate, negative never: only an activation check or the
	// edge's control endpoint moves the status).
	EdgeZoneDelay     time.Duration
	EdgeCertDelay     time.Duration
	EdgeHostnameDelay time.Duration

	// DNSResolvers are the DNS servers our own domain checks ask (host:port, comma
	// separated; APPFORGE_DNS_RESOLVER). Empty: the system's, except with the local edge
	// (whose domains are not in real DNS), where the check is skipped.
	DNSResolvers []string
	// SaaSZone and SaaSTarget enable custom hostname mode (Cloudflare for SaaS): the
	// zone that serves customers' hostnames and the name they CNAME to.
	SaaSZone   string
	SaaSTarget string
	// Domain workflow timing: give up waiting for DNS after DomainGiveUp, check on a
	// backoff from DomainMinBackoff to DomainMaxBackoff, watch active domains every
	// DomainWatch.
	DomainGiveUp     time.Duration
	DomainMinBackoff time.Duration
	DomainMaxBackoff time.Duration
	DomainWatch      time.Duration
	// AllowReservedDomains accepts .test, .example and similar names (APPFORGE_DOMAINS_
	// ALLOW_RESERVED; default on with the local edge, for demos).
	AllowReservedDomains bool

	// BudgetWarnBytes and BudgetLimitBytes are the default size budget of production
	// bundles (raw bytes; APPFORGE_BUDGET_WARN and APPFORGE_BUDGET_LIMIT, as bytes or
	// with KB/MB, 1024-based): over the warning the user is told what is heavy, over the
	// limit a production deploy is refused. 0 takes the built-in 500 KB and 1 MB. An app
	// can have its own (PUT /v1/apps/{id}/budget).
	BudgetWarnBytes  int64
	BudgetLimitBytes int64

	// Chromium measures Largest Contentful Paint after production deploys
	// (APPFORGE_CHROMIUM, default /usr/bin/chromium when installed; "-" turns it off).
	Chromium string
	// PlaywrightPath is a node_modules folder holding playwright-core
	// (APPFORGE_PLAYWRIGHT_PATH; default .tools/browser/node_modules, made by make browser).
	PlaywrightPath string

	// SecretKey seals app secrets at rest (AES-256-GCM), base64 or hex of 32 bytes
	// (APPFORGE_SECRET_KEY); empty means a key file made once in DataDir.
	SecretKey Secret

	// MaxMessageBytes bounds one chat message.
	MaxMessageBytes int
	// MaxTurnsPerRun makes the app workflow continue-as-new after this many turns.
	MaxTurnsPerRun int

	LogLevel  slog.Level
	LogFormat string // "text" or "json"

	startTemporal bool
}

// Load reads the environment. It fails on values it cannot parse, naming the variable.
func Load() (Config, error) {
	return LoadFrom(os.Getenv)
}

// LoadFrom reads the configuration through getenv: tests pass a map's lookup.
func LoadFrom(getenv func(string) string) (Config, error) {
	e := env{get: getenv}
	c := Config{
		DataDir:              e.str("APPFORGE_DATA_DIR", "data"),
		HTTPAddr:             e.str("APPFORGE_HTTP_ADDR", "127.0.0.1:8080"),
		PublicURL:            e.str("APPFORGE_PUBLIC_URL", ""),
		DatabaseURL:          Secret(e.str("DATABASE_URL", "")),
		TemporalAddress:      e.str("TEMPORAL_ADDRESS", ""),
		TemporalNamespace:    e.str("TEMPORAL_NAMESPACE", "default"),
		TemporalCLI:          e.str("APPFORGE_TEMPORAL_CLI", filepath.Join(".tools", "bin", "temporal")),
		TemporalPort:         e.int("APPFORGE_TEMPORAL_PORT", 7233),
		TemporalUIPort:       e.int("APPFORGE_TEMPORAL_UI_PORT", 8233),
		TemporalUIURL:        e.str("APPFORGE_TEMPORAL_UI_URL", ""),
		TemporalHeadless:     e.bool("APPFORGE_TEMPORAL_HEADLESS", false),
		DepsDir:              e.str("APPFORGE_DEPS_DIR", ""),
		EdgeAddr:             e.str("APPFORGE_EDGE_ADDR", "127.0.0.1:8787"),
		CloudflareAPIToken:   Secret(e.str("CLOUDFLARE_API_TOKEN", "")),
		CloudflareAccountID:  e.str("CLOUDFLARE_ACCOUNT_ID", ""),
		CloudflareAPIBaseURL: e.str("CLOUDFLARE_API_BASE_URL", ""),
		WorkersURLTemplate:   e.str("APPFORGE_WORKERS_URL_TEMPLATE", ""),
		BuildTimeout:         e.duration("APPFORGE_BUILD_TIMEOUT", 2*time.Minute),
		BuildConcurrency:     e.int("APPFORGE_BUILD_CONCURRENCY", runtime.NumCPU()),
		DeployRatePerSecond:  e.float("APPFORGE_DEPLOY_RATE", 4),
		OpenAIAPIKey:         Secret(e.str("OPENAI_API_KEY", "")),
		OpenAIBaseURL:        e.str("OPENAI_BASE_URL", ""),
		Model:                e.str("APPFORGE_MODEL", "gpt-4.1"),
		MaxRepairs:           e.int("APPFORGE_MAX_REPAIRS", 3),
		LLMRatePerSecond:     e.float("APPFORGE_LLM_RATE", 10),
		ModelInputPrice:      e.price("APPFORGE_MODEL_INPUT_PRICE"),
		ModelOutputPrice:     e.price("APPFORGE_MODEL_OUTPUT_PRICE"),
		SecretKey:            Secret(e.str("APPFORGE_SECRET_KEY", "")),
		Chromium:             e.str("APPFORGE_CHROMIUM", ""),
		PlaywrightPath:       e.str("APPFORGE_PLAYWRIGHT_PATH", ""),
		EdgeTLSAddr:          e.str("APPFORGE_EDGE_TLS_ADDR", "127.0.0.1:8443"),
		EdgeZoneDelay:        e.durationOrZero("APPFORGE_EDGE_ZONE_DELAY", 5*time.Second),
		EdgeCertDelay:        e.durationOrZero("APPFORGE_EDGE_CERT_DELAY", 2*time.Second),
		EdgeHostnameDelay:    e.durationOrZero("APPFORGE_EDGE_HOSTNAME_DELAY", 3*time.Second),
		DNSResolvers:         e.list("APPFORGE_DNS_RESOLVER"),
		SaaSZone:             e.str("APPFORGE_SAAS_ZONE", ""),
		SaaSTarget:           e.str("APPFORGE_SAAS_CNAME_TARGET", ""),
		DomainGiveUp:         e.duration("APPFORGE_DOMAIN_GIVE_UP", 7*24*time.Hour),
		DomainMinBackoff:     e.duration("APPFORGE_DOMAIN_MIN_BACKOFF", 10*time.Second),
		DomainMaxBackoff:     e.duration("APPFORGE_DOMAIN_MAX_BACKOFF", time.Hour),
		DomainWatch:          e.duration("APPFORGE_DOMAIN_WATCH", 6*time.Hour),
		BudgetWarnBytes:      e.size("APPFORGE_BUDGET_WARN"),
		BudgetLimitBytes:     e.size("APPFORGE_BUDGET_LIMIT"),
		MaxMessageBytes:      e.int("APPFORGE_MAX_MESSAGE_BYTES", 8000),
		MaxTurnsPerRun:       e.int("APPFORGE_MAX_TURNS_PER_RUN", 100),
		LogFormat:            e.str("LOG_FORMAT", "text"),
	}
	level := e.str("LOG_LEVEL", "info")
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		e.errs = append(e.errs, fmt.Sprintf("LOG_LEVEL: %q is not debug, info, warn or error", level))
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.TemporalAddress == "" {
		c.TemporalAddress = fmt.Sprintf("127.0.0.1:%d", c.TemporalPort)
		c.startTemporal = true
		if c.TemporalUIURL == "" && !c.TemporalHeadless {
			c.TemporalUIURL = fmt.Sprintf("http://localhost:%d", c.TemporalUIPort)
		}
	}
	c.TemporalUIURL = strings.TrimRight(c.TemporalUIURL, "/")
	if c.DepsDir == "" {
		c.DepsDir = filepath.Join(c.DataDir, "deps")
	}
	if c.BuildConcurrency < 1 {
		e.errs = append(e.errs, "APPFORGE_BUILD_CONCURRENCY: must be at least 1")
	}
	if c.MaxMessageBytes < 1 {
		e.errs = append(e.errs, "APPFORGE_MAX_MESSAGE_BYTES: must be at least 1")
	}
	if c.MaxRepairs < 0 || c.MaxRepairs > 10 {
		e.errs = append(e.errs, "APPFORGE_MAX_REPAIRS: must be between 0 and 10")
	}
	// Compared as they take effect, a default standing in for an unset one: a warning
	// above the built-in limit alone would leave every app's budget unsatisfiable.
	if b := (build.Budget{WarnBytes: c.BudgetWarnBytes, LimitBytes: c.BudgetLimitBytes}).Or(build.Budget{}); b.WarnBytes > b.LimitBytes {
		limit := "APPFORGE_BUDGET_LIMIT"
		if c.BudgetLimitBytes == 0 {
			limit += " unset: the built-in default"
		}
		e.errs = append(e.errs, fmt.Sprintf("APPFORGE_BUDGET_WARN: %s is above the limit of %s (%s); lower it or raise APPFORGE_BUDGET_LIMIT",
			build.FormatBytes(b.WarnBytes), build.FormatBytes(b.LimitBytes), limit))
	}
	if c.MaxTurnsPerRun < 1 {
		e.errs = append(e.errs, "APPFORGE_MAX_TURNS_PER_RUN: must be at least 1")
	}
	if c.UsesLocalEdge() {
		if c.SaaSZone == "" {
			c.SaaSZone = "appforge-saas.test"
		}
		if c.SaaSTarget == "" {
			c.SaaSTarget = "customers." + c.SaaSZone
		}
	}
	if c.SaaSZone != "" && c.SaaSTarget == "" {
		e.errs = append(e.errs, "APPFORGE_SAAS_CNAME_TARGET: required with APPFORGE_SAAS_ZONE")
	}
	c.AllowReservedDomains = e.bool("APPFORGE_DOMAINS_ALLOW_RESERVED", c.UsesLocalEdge())
	if c.LogFormat != "text" && c.LogFormat != "json" {
		e.errs = append(e.errs, fmt.Sprintf("LOG_FORMAT: %q is not text or json", c.LogFormat))
	}
	if c.CloudflareAPIToken != "" && c.CloudflareAccountID == "" {
		e.errs = append(e.errs, "CLOUDFLARE_ACCOUNT_ID: required when CLOUDFLARE_API_TOKEN is set")
	}
	if len(e.errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %s", strings.Join(e.errs, "; "))
	}
	return c, nil
}

// PublicURLFor is PublicURL, or when it is not set, the URL of the address the API
// listens on (known only once it listens, with port 0).
func (c Config) PublicURLFor(listenAddr string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "http://" + listenAddr
	}
	if host == "" || host == "127.0.0.1" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// StartsTemporal reports whether no TEMPORAL_ADDRESS was given, so `dev` runs its own
// Temporal dev server.
func (c Config) StartsTemporal() bool { return c.startTemporal }

// UsesLLM reports whether a model is configured (else the offline generator makes apps).
func (c Config) UsesLLM() bool { return c.OpenAIAPIKey != "" || c.OpenAIBaseURL != "" }

// UsesLocalEdge reports whether deploys go to the embedded edge (no Cloudflare token).
func (c Config) UsesLocalEdge() bool { return c.CloudflareAPIToken == "" }

// SecretKeyPath is the key file used when APPFORGE_SECRET_KEY is empty.
func (c Config) SecretKeyPath() string { return filepath.Join(c.DataDir, "secret.key") }

// SQLitePath is the embedded database file used when DatabaseURL is empty.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "appforge.db") }

// Logger makes the process logger from LogLevel and LogFormat.
func (c Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

type env struct {
	get  func(string) string
	errs []string
}

func (e *env) str(name, def string) string {
	if v := strings.TrimSpace(e.get(name)); v != "" {
		return v
	}
	return def
}

func (e *env) int(name string, def int) int {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s: %q is not a whole number", name, v))
		return def
	}
	return n
}

// size reads a byte count, plain or with a KB, KiB, MB, MiB or GB suffix (all
// 1024-based, as the build reports show sizes); empty is 0.
func (e *env) size(name string) int64 {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return 0
	}
	n, err := build.ParseSize(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s: %v", name, err))
		return 0
	}
	return n
}

// durationOrZero reads a duration that may be 0 (at once) or negative (never).
func (e *env) durationOrZero(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s: %q is not a duration such as 0s, 5s or 1m", name, v))
		return def
	}
	return d
}

// list reads a comma-separated list.
func (e *env) list(name string) []string {
	var out []string
	for _, v := range strings.Split(e.get(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (e *env) bool(name string, def bool) bool {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Sprintf("%s: %q is not true or false", name, v))
		return def
	}
	return b
}

// price reads an optional non-negative price; 0 when unset.
func (e *env) price(name string) float64 {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		e.errs = append(e.errs, fmt.Sprintf("%s: %q is not a price in USD per million tokens", name, v))
		return 0
	}
	return f
}

func (e *env) float(name string, def float64) float64 {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		e.errs = append(e.errs, fmt.Sprintf("%s: %q is not a positive number", name, v))
		return def
	}
	return f
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Sprintf("%s: %q is not a positive duration such as 90s or 2m", name, v))
		return def
	}
	return d
}
