// Package edge is a local, Cloudflare-compatible deploy target: the Workers API subset
// appforge and wrangler use (under /client/v4, with Cloudflare's envelope, status
// codes, error codes and rate limit) and a data plane that serves deployed
// static-asset Workers at {script}.{subdomain}.localhost, _headers and _redirects
// applied. It is the embedded deploy target of `appforge dev` and the test double of
// the deployer: the same deployer code talks to it and to Cloudflare, and so do
// cloudflare-go and wrangler.
//
// State (scripts with their versions, deployments, bindings and settings, upload
// sessions, the token signing key, asset contents; zones, DNS records, Workers Custom
// Domains, custom hostnames, routes, rules and certificates in domains.json; the
// root CA and issued certificates under ca/ and certs/) lives under Config.DataDir
// and survives restarts. Secret bindings are sealed with AES-256-GCM under a key kept
// in DataDir/keys and are never logged.
//
// Custom domains: the edge keeps zones with Cloudflare's statuses, DNS records,
// Workers Custom Domains, custom hostnames (Cloudflare for SaaS), certificate packs,
// zone settings, Workers routes and Single Redirects, and serves the account's
// hostnames over HTTPS (TLSConfig) with real certificates from its own root CA
// (RootCAPath). Statuses move after the delays of Config, or through the domain
// control (ControlDomain, /__edge/domains/{hostname}).
//
// For tests and demos, SetFaults (or PUT /__edge/faults) makes chosen endpoints fail
// with server errors, rate limits, latency or dropped connections.
package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Config configures an Edge.
type Config struct {
	// DataDir holds durable state: scripts, asset contents, upload sessions, the key
	// that signs upload tokens and the key that seals secrets. Required.
	DataDir string
	// AccountID is the one account the edge knows; other accounts get Cloudflare's
	// "could not route" not-found error. Required.
	AccountID string
	// APIToken is the account's full-access API token (Authorization: Bearer).
	// Anything that is neither it nor one of ReadOnlyTokens gets 403 with code 10000,
	// "Authentication error", as on Cloudflare. Required.
	APIToken string
	// ReadOnlyTokens are further API tokens of the account that may read but not
	// change anything, like a Cloudflare token with only Read permissions (Workers
	// Scripts: Read, ...): GET and HEAD are served as for APIToken; any other method
	// (POST, PUT, PATCH, DELETE) on the API, and on the edge's own controls
	// (/__edge/faults, /__edge/domains/), gets what Cloudflare answers a token that
	// lacks the permission: 403 with code 10000, "Authentication error". A method a
	// path does not take still gets its 405 first. Each must be non-empty and differ
	// from APIToken. Optional; the edge keeps no tokens on disk (whoever starts it
	// supplies them, as with APIToken).
	ReadOnlyTokens []string
	// Subdomain is the account's workers.dev-style subdomain; scripts are served at
	// {script}.{Subdomain}.localhost. Default "appforge".
	Subdomain string
	// Logger receives request and error logs. Default: discard.
	Logger *slog.Logger
	// Now is the edge's clock, used for token expiry, the rate limit and timestamps.
	// Default time.Now; tests move it forward to expire upload tokens or end a rate
	// limit.
	Now func() time.Time
	// RateLimit is how many API requests a token may make per RateLimitWindow before
	// the API answers 429 for a whole window, as Cloudflare does. 0 means
	// DefaultRateLimit (1,200); a negative value turns the limit off.
	RateLimit int
	// RateLimitWindow is the window of RateLimit; 0 means DefaultRateLimitWindow (5
	// minutes).
	RateLimitWindow time.Duration

	// ZoneActivationDelay is how long a new zone stays pending before it is active,
	// as if its registrar had been pointed at the edge's name servers by then. 0
	// activates zones at once (tests, benchmarks); a negative delay never does: zones
	// activate on an activation check or through the domain control.
	ZoneActivationDelay time.Duration
	// CertificateDelay is how long a managed certificate (a zone's universal
	// certificate, a Workers Custom Domain's) validates, once its zone is active,
	// before it is issued. 0 is at once; negative never (domain control only).
	CertificateDelay time.Duration
	// CustomHostnameDelay is how long each step of a custom hostname takes: its
	// verification (pending -> active) and each ssl status (initializing ->
	// pending_validation -> pending_issuance -> pending_deployment -> active); also
	// a fallback origin's deployment. 0 is at once; negative never.
	CustomHostnameDelay time.Duration
	// CertificateValidity is how long issued leaf certificates last; 0 means
	// DefaultCertificateValidity (90 days). They are renewed 30 days before they
	// expire.
	CertificateValidity time.Duration
	// ActivationCheckInterval, when positive, is how often an activation check may
	// run per zone (Cloudflare: 5 minutes on paid plans, an hour on Free); sooner
	// checks get a 429 with Retry-After. 0 means no limit.
	ActivationCheckInterval time.Duration
	// HTTPSPort is the port of the HTTPS listener that serves TLSConfig, when it is
	// not 443: redirects to https://<a hostname of the edge> (Always Use HTTPS,
	// redirect rules) carry it so that they land on the edge.
	HTTPSPort int
}

// Edge is the local Cloudflare-compatible API and data plane. Its handler is safe for
// concurrent use.
type Edge struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	store   *store
	tokens  *signer
	sealer  *sealer
	limiter *rateLimiter // nil when off
	faults  faultSet
	rules   ruleCache
	api     http.Handler
	closed  atomic.Bool

	domains   *domainStore   // zones, DNS, Custom Domains, custom hostnames, routes, rules
	ca        *certAuthority // the root CA and issued leaves
	redirects redirectCache  // compiled redirect rules

	lastPrune atomic.Int64 // unix seconds of the last session pruning

	// bucketFiles bounds the number of files in one upload bucket (tests lower it).
	bucketFiles int
}

// DefaultSubdomain is the account subdomain when Config.Subdomain is empty.
const DefaultSubdomain = "appforge"

// labelPattern is what one DNS label of a served hostname may look like.
var labelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// New opens (or creates) the edge's state under cfg.DataDir.
func New(cfg Config) (*Edge, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("edge: DataDir is required")
	}
	if cfg.AccountID == "" {
		return nil, errors.New("edge: AccountID is required")
	}
	if cfg.APIToken == "" {
		return nil, errors.New("edge: APIToken is required")
	}
	cfg.ReadOnlyTokens = slices.Clone(cfg.ReadOnlyTokens)
	for _, t := range cfg.ReadOnlyTokens {
		if t == "" {
			return nil, errors.New("edge: a read-only token is empty")
		}
		if t == cfg.APIToken {
			return nil, errors.New("edge: a read-only token is the same as APIToken")
		}
	}
	if cfg.Subdomain == "" {
		cfg.Subdomain = DefaultSubdomain
	}
	cfg.Subdomain = strings.ToLower(cfg.Subdomain)
	if !labelPattern.MatchString(cfg.Subdomain) {
		return nil, fmt.Errorf("edge: subdomain %q is not a valid DNS label", cfg.Subdomain)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sl, err := openSealer(filepath.Join(cfg.DataDir, "keys", "secrets.key"))
	if err != nil {
		return nil, fmt.Errorf("edge: open secrets key: %w", err)
	}
	st, err := openStore(cfg.DataDir, sl)
	if err != nil {
		return nil, fmt.Errorf("edge: open state in %s: %w", cfg.DataDir, err)
	}
	sig, err := openSigner(st.keyPath())
	if err != nil {
		return nil, fmt.Errorf("edge: open token key: %w", err)
	}
	if cfg.CertificateValidity <= 0 {
		cfg.CertificateValidity = DefaultCertificateValidity
	}
	if cfg.HTTPSPort < 0 || cfg.HTTPSPort > 65535 {
		return nil, fmt.Errorf("edge: HTTPS port %d is not a port", cfg.HTTPSPort)
	}
	domains, err := openDomainStore(filepath.Join(cfg.DataDir, domainsFile))
	if err != nil {
		return nil, fmt.Errorf("edge: open domain state: %w", err)
	}
	ca, err := openCA(cfg.DataDir, cfg.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("edge: open certificate authority: %w", err)
	}
	e := &Edge{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "edge"),
		now:         func() time.Time { return cfg.Now().UTC() },
		store:       st,
		tokens:      sig,
		sealer:      sl,
		limiter:     newRateLimiter(cfg.RateLimit, cfg.RateLimitWindow),
		bucketFiles: 50,
		domains:     domains,
		ca:          ca,
	}
	e.lastPrune.Store(e.now().Unix())
	if n, err := st.pruneSessions(e.now()); err != nil {
		e.log.Warn("prune expired upload sessions", "err", err)
	} else if n > 0 {
		e.log.Debug("pruned expired upload sessions", "count", n)
	}
	e.api = e.withFaults(e.routes())
	return e, nil
}

// Handler returns the one handler of the edge, for plain HTTP and for HTTPS (with
// TLSConfig). Requests whose Host is {script}.{subdomain}.localhost (any port) are
// served from that script's assets; requests whose Host is one of the account's
// hostnames (a Workers Custom Domain, a custom hostname, a host a Workers route
// matches) are served as Cloudflare would serve them (hostserve.go); every other
// request (Host 127.0.0.1, localhost, ...) goes to the API, except /__edge/faults,
// the fault-injection control (see Fault), and /__edge/domains/, the domain control
// (see DomainControl).
func (e *Edge) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.closed.Load() {
			http.Error(w, "edge is shut down", http.StatusServiceUnavailable)
			return
		}
		if site, ok := e.siteFor(r.Host); ok {
			e.serveSite(w, r, site)
			return
		}
		if e.serveAccountHost(w, r) {
			return
		}
		if r.URL.Path == faultsPath {
			e.faultsControl(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, domainsControlPrefix) {
			e.domainsControl(w, r)
			return
		}
		e.api.ServeHTTP(w, r)
	})
}

// domainsFile holds the domain state under DataDir.
const domainsFile = "domains.json"

// faultsPath is the fault-injection control endpoint; it is not Cloudflare's.
const faultsPath = "/__edge/faults"

// Close stops the edge from serving. State is already durable; Close only refuses
// later requests.
func (e *Edge) Close() error {
	e.closed.Store(true)
	return nil
}

// site is the data-plane target a Host names.
type site struct {
	host   string // the hostname, lower case, without port
	script string // "" when the host is under .localhost but names no script of ours
	// custom is set for the account's own hostnames (Custom Domains, custom
	// hostnames, routes), which serve whether or not workers.dev is enabled.
	custom bool
}

// siteFor maps a Host header to a site. Hosts under .localhost belong to the data
// plane (an unknown one gets a 404 page); everything else is the API.
// Later: custom hostnames attached to scripts resolve here too.
func (e *Edge) siteFor(hostport string) (site, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	rest, ok := strings.CutSuffix(host, ".localhost")
	if !ok || rest == "" {
		return site{}, false
	}
	script, sub, ok := strings.Cut(rest, ".")
	if !ok || sub != e.cfg.Subdomain {
		return site{host: host}, true
	}
	return site{host: host, script: script}, true
}
