// Package cloudflare deploys built apps to Cloudflare Workers as static assets, on
// cloudflare-go v6, manages their secrets and their custom domains (zones, DNS
// records, Workers Custom Domains, custom hostnames, certificates, Always Use HTTPS,
// redirects, routes), and classifies Cloudflare's errors once, at this boundary. The same code deploys to Cloudflare and to the local edge
// (package edge), which speaks the same API.
package cloudflare

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/custom_hostnames"
	"github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/rulesets"
	"github.com/cloudflare/cloudflare-go/v6/ssl"
	"github.com/cloudflare/cloudflare-go/v6/workers"
	"github.com/cloudflare/cloudflare-go/v6/zones"
	"golang.org/x/time/rate"

	"github.com/appforge/appforge/files"
)

// Defaults of Config.
const (
	DefaultBaseURL     = "https://api.cloudflare.com/client/v4"
	DefaultURLTemplate = "https://{script}.{subdomain}.workers.dev"
)

// CompatibilityDate is the Workers runtime date of every deployed script. It is fixed
// so that deploying the same bundle twice publishes the same script.
const CompatibilityDate = "2025-09-01"

// Config configures a Deployer.
type Config struct {
	// APIToken authenticates every call (Workers Scripts: Edit). Required. It never
	// appears in errors or logs.
	APIToken string
	// AccountID is the Cloudflare account that owns the scripts. Required.
	AccountID string
	// BaseURL is the API root: DefaultBaseURL, or the local edge's
	// "http://127.0.0.1:PORT/client/v4".
	BaseURL string
	// HTTPClient makes the calls; default a client with a one-minute timeout.
	HTTPClient *http.Client
	// URLTemplate makes the served URL of a script from {script} and {subdomain}:
	// DefaultURLTemplate, or locally "http://{script}.{subdomain}.localhost:PORT".
	URLTemplate string
	// RatePerSecond bounds API calls this Deployer starts per second (Cloudflare allows
	// 1,200 per 5 minutes per token: 4 a second), with bursts of Burst; 0 is unbounded.
	// A call waits for its turn (honouring its context) instead of earning a 429.
	RatePerSecond float64
	Burst         int
}

// paced makes each request wait for the rate limiter.
type paced struct {
	base    http.RoundTripper
	limiter *rate.Limiter
}

func (p *paced) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := p.limiter.Wait(r.Context()); err != nil {
		return nil, err
	}
	return p.base.RoundTrip(r)
}

// Deployer publishes bundles as assets-only Workers. It is safe for concurrent use.
type Deployer struct {
	accountID   string
	token       string // kept only to scrub it from messages
	urlTemplate string
	workers     *workers.WorkerService
	zones       *zones.ZoneService
	dns         *dns.RecordService
	hostnames   *custom_hostnames.CustomHostnameService
	packs       *ssl.CertificatePackService
	phases      *rulesets.PhaseService

	mu        sync.Mutex
	subdomain string // the account's workers.dev subdomain, once known
}

var accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// New returns a Deployer for cfg.
func New(cfg Config) (*Deployer, error) {
	if cfg.APIToken == "" {
		return nil, errors.New("cloudflare: an API token is required")
	}
	if !accountIDPattern.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("cloudflare: account ID %q is not valid", cfg.AccountID)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cloudflare: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.URLTemplate == "" {
		cfg.URLTemplate = DefaultURLTemplate
	}
	if !strings.Contains(cfg.URLTemplate, "{script}") {
		return nil, fmt.Errorf("cloudflare: URL template %q has no {script}", cfg.URLTemplate)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	if cfg.RatePerSecond > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = 60
		}
		limited := *cfg.HTTPClient
		base := limited.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		limited.Transport = &paced{base: base, limiter: rate.NewLimiter(rate.Limit(cfg.RatePerSecond), burst)}
		cfg.HTTPClient = &limited
	}
	warmEncoders.Do(warmSDKEncoders)
	// The services are built from explicit options rather than cf.NewClient, which
	// also reads CLOUDFLARE_API_KEY, CLOUDFLARE_EMAIL and CLOUDFLARE_BASE_URL from the
	// environment. Retries are off: Temporal's retry policy retries activities, with
	// the delay Error.RetryAfter carries.
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithAPIToken(cfg.APIToken),
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithMaxRetries(0),
	}
	return &Deployer{
		accountID:   cfg.AccountID,
		token:       cfg.APIToken,
		urlTemplate: cfg.URLTemplate,
		workers:     workers.NewWorkerService(opts...),
		zones:       zones.NewZoneService(opts...),
		dns:         dns.NewRecordService(opts...),
		hostnames:   custom_hostnames.NewCustomHostnameService(opts...),
		packs:       ssl.NewCertificatePackService(opts...),
		phases:      rulesets.NewPhaseService(opts...),
	}, nil
}

// warmEncoders makes the SDK build its request encoders once, before any concurrent
// use. cloudflare-go v6.10.0 builds the encoders of map entries lazily, on a shared
// encoder value whose root flag it writes (internal/apijson and internal/apiform,
// newTypeEncoder): the first concurrent deploys race there (go test -race sees it).
// Once every encoder a deploy uses is cached, encoding only reads.
var warmEncoders sync.Once

func warmSDKEncoders() {
	acct := cf.F("warm-up")
	_, _ = workers.ScriptAssetUploadNewParams{
		AccountID: acct,
		Manifest: cf.F(map[string]workers.ScriptAssetUploadNewParamsManifest{
			"/index.html": {Hash: cf.F("00000000000000000000000000000000"), Size: cf.F(int64(1))},
		}),
	}.MarshalJSON()
	up := workers.AssetUploadNewParams{
		AccountID: acct,
		Base64:    cf.F(workers.AssetUploadNewParamsBase64True),
		Body:      map[string]string{"00000000000000000000000000000000": "AA=="},
	}
	_, _, _ = up.MarshalMultipart()
	_ = up.URLQuery()
	put := workers.ScriptUpdateParams{
		AccountID: acct,
		Metadata: cf.F(workers.ScriptUpdateParamsMetadata{
			CompatibilityDate: cf.F(CompatibilityDate),
			Assets: cf.F(workers.ScriptUpdateParamsMetadataAssets{
				JWT: cf.F("jwt"),
				Config: cf.F(workers.ScriptUpdateParamsMetadataAssetsConfig{
					HTMLHandling:     cf.F(workers.ScriptUpdateParamsMetadataAssetsConfigHTMLHandlingAutoTrailingSlash),
					NotFoundHandling: cf.F(workers.ScriptUpdateParamsMetadataAssetsConfigNotFoundHandlingSinglePageApplication),
					Headers:          cf.F("h"),
					Redirects:        cf.F("r"),
				}),
			}),
			KeepBindings: cf.F(keptBindings),
		}),
	}
	_, _, _ = put.MarshalMultipart()
	_ = put.URLQuery()
	_, _ = workers.ScriptSubdomainNewParams{AccountID: acct, Enabled: cf.F(true)}.MarshalJSON()
	_, _ = workers.ScriptSecretUpdateParams{AccountID: acct, Body: workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretText{
		Name: cf.F("WARM"), Text: cf.F("warm"),
		Type: cf.F(workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretTextTypeSecretText),
	}}.MarshalJSON()
	_ = workers.ScriptDeleteParams{AccountID: acct}.URLQuery()
	warmDomainEncoders()
}

// DeployRequest is one deploy of a bundle.
type DeployRequest struct {
	// Script names the Worker: one per app environment; a redeploy updates it.
	Script string
	// Assets is the bundle, paths relative to the site root ("index.html",
	// "assets/index-x.js"). A root _headers or _redirects file travels as assets
	// configuration (metadata.assets.config._headers and ._redirects), as wrangler
	// sends it; Cloudflare applies them and does not serve them.
	Assets []files.File
	// NotFoundHandling is "single-page-application", "404-page" or "none". Empty
	// means "404-page" when the bundle has a 404.html at its root, else
	// "single-page-application".
	NotFoundHandling string
}

// DeployResult describes a finished deploy.
type DeployResult struct {
	Script, URL, DeploymentID string
	// Uploaded counts the distinct file contents sent; Reused the files whose content
	// Cloudflare already had.
	Uploaded, Reused int
	// Calls counts the API calls this deploy made.
	Calls int
	// ScriptChanged is set once the script may serve the new bundle: on a failed
	// deploy it tells the caller to put the previous version back.
	ScriptChanged bool
}

// Not-found handling modes of static assets.
const (
	NotFoundSPA     = "single-page-application"
	NotFound404Page = "404-page"
	NotFoundNone    = "none"
)

// Limits wrangler enforces before uploading.
const (
	maxAssetCount = 20_000
	maxAssetSize  = 25 << 20
)

// scriptNamePattern: a Worker name that is also a DNS label of its workers.dev host.
var scriptNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Deploy publishes req.Assets as the assets-only Worker req.Script and enables it on
// the account's workers.dev subdomain. It uploads only the files Cloudflare does not
// already hold, and updates an existing script in place, keeping its secrets
// (keep_bindings secret_text and secret_key).
//
// Deploy is idempotent, also under crashes: everything is keyed by the script name
// and content hashes, every run starts its own upload session (an expired session or
// token of a crashed run is never reused; one that expires during the run is replaced
// once), and the script is replaced in one call. A run interrupted at any point and
// run again leaves one script serving the bundle, and uploads only what is missing.
// progress, if not nil, receives short human-readable steps (activities heartbeat
// with them).
//
// Errors are *Error, classified: see Kind.
func (d *Deployer) Deploy(ctx context.Context, req DeployRequest, progress func(msg string)) (res DeployResult, err error) {
	if progress == nil {
		progress = func(string) {}
	}
	res.Script = req.Script
	b, err := prepare(req)
	if err != nil {
		return res, &Error{Kind: KindValidation, Op: "deploy " + req.Script, Message: err.Error(), Err: err}
	}
	run := &deployRun{d: d, ctx: ctx}
	defer func() { res.Calls = run.calls }()

	progress(fmt.Sprintf("Checking %d files against Cloudflare", len(b.manifest)))
	completion, err := run.uploadAssets(req.Script, b, progress, &res)
	if err != nil {
		return res, err
	}

	progress("Publishing " + req.Script)
	dep, err := run.putScript(req.Script, b, completion)
	if err != nil {
		// Refused (4xx): the script is as it was. Anything else (no answer, a 5xx
		// after the fact) may hide a script that took the bundle.
		var e *Error
		res.ScriptChanged = !errors.As(err, &e) || e.Status < 400 || e.Status >= 500
		return res, err
	}
	res.DeploymentID = dep
	res.ScriptChanged = true

	progress("Enabling " + req.Script + " on workers.dev")
	if err := run.enableSubdomain(req.Script); err != nil {
		return res, err
	}
	sub, err := run.accountSubdomain()
	if err != nil {
		return res, err
	}
	res.URL = strings.NewReplacer("{script}", req.Script, "{subdomain}", sub).Replace(d.urlTemplate)
	progress("Live at " + res.URL)
	return res, nil
}

// bundle is a validated DeployRequest.
type bundle struct {
	manifest         map[string]workers.ScriptAssetUploadNewParamsManifest
	byHash           map[string][]byte
	files            map[string]string // manifest path -> hash
	notFoundHandling string
	headers          string
	redirects        string
}

func prepare(req DeployRequest) (*bundle, error) {
	if !scriptNamePattern.MatchString(req.Script) {
		return nil, fmt.Errorf("script name %q must be lowercase letters, digits and dashes, at most 63 characters", req.Script)
	}
	b := &bundle{
		manifest:         map[string]workers.ScriptAssetUploadNewParamsManifest{},
		byHash:           map[string][]byte{},
		files:            map[string]string{},
		notFoundHandling: req.NotFoundHandling,
	}
	switch b.notFoundHandling {
	case "":
		b.notFoundHandling = NotFoundSPA
		for _, f := range req.Assets {
			if p, err := files.CleanPath(f.Path); err == nil && p == "404.html" {
				b.notFoundHandling = NotFound404Page
			}
		}
	case NotFoundSPA, NotFound404Page, NotFoundNone:
	default:
		return nil, fmt.Errorf("not-found handling %q is not %s, %s or %s", req.NotFoundHandling, NotFoundSPA, NotFound404Page, NotFoundNone)
	}
	for _, f := range req.Assets {
		p, err := files.CleanPath(f.Path)
		if err != nil {
			return nil, fmt.Errorf("bundle file: %w", err)
		}
		switch p {
		case "_headers":
			b.headers = string(f.Content)
			continue
		case "_redirects":
			b.redirects = string(f.Content)
			continue
		}
		if len(f.Content) > maxAssetSize {
			return nil, fmt.Errorf("%s is %d bytes; Cloudflare serves assets of at most %d bytes", p, len(f.Content), maxAssetSize)
		}
		key := "/" + p
		if _, dup := b.files[key]; dup {
			return nil, fmt.Errorf("the bundle lists %s twice", p)
		}
		hash := AssetHash(p, f.Content)
		b.files[key] = hash
		b.byHash[hash] = f.Content
		b.manifest[key] = workers.ScriptAssetUploadNewParamsManifest{
			Hash: cf.F(hash),
			Size: cf.F(int64(len(f.Content))),
		}
	}
	if len(b.manifest) == 0 {
		return nil, errors.New("the bundle has no files to serve")
	}
	if len(b.manifest) > maxAssetCount {
		return nil, fmt.Errorf("the bundle has %d files; Cloudflare serves at most %d", len(b.manifest), maxAssetCount)
	}
	return b, nil
}

// deployRun is one Deploy: its context and call count.
type deployRun struct {
	d     *Deployer
	ctx   context.Context
	calls int
}

// call makes one API call and classifies its failure under op.
func (r *deployRun) call(op string, fn func(opts ...option.RequestOption) error) error {
	var resp *http.Response
	r.calls++
	if err := fn(option.WithResponseInto(&resp)); err != nil {
		return r.d.classify(op, err, resp)
	}
	return nil
}

// classify is classify with the API token scrubbed from the message, in case an
// error ever echoes a request.
func (d *Deployer) classify(op string, err error, resp *http.Response) *Error {
	e := classify(op, err, resp)
	if d.token != "" && strings.Contains(e.Message, d.token) {
		c := *e
		c.Message = redact(c.Message, d.token)
		return &c
	}
	return e
}

// uploadAssets runs an upload session and returns its completion token. Every
// Deploy starts its own session, so a session or token left by a crashed attempt is
// never reused; a session whose upload token Cloudflare refuses mid-run (it expired:
// tokens last an hour) is replaced by a new one, once.
func (r *deployRun) uploadAssets(script string, b *bundle, progress func(string), res *DeployResult) (string, error) {
	sent := map[string]bool{} // hashes uploaded, by any session of this run
	defer func() {
		res.Uploaded, res.Reused = len(sent), 0
		for _, h := range b.files {
			if !sent[h] {
				res.Reused++
			}
		}
	}()
	for attempt := 1; ; attempt++ {
		sess, err := r.uploadSession(script, b)
		if err != nil {
			return "", err
		}
		completion, err := r.uploadBuckets(script, b, sess, progress, sent)
		var e *Error
		if attempt == 1 && errors.As(err, &e) && errors.Is(e, errUploadTokenRefused) {
			progress("The asset upload session expired; starting a new one")
			continue
		}
		return completion, err
	}
}

// errUploadTokenRefused marks an *Error for an upload token Cloudflare refused.
var errUploadTokenRefused = errors.New("upload token refused")

func (r *deployRun) uploadSession(script string, b *bundle) (*workers.ScriptAssetUploadNewResponse, error) {
	var sess *workers.ScriptAssetUploadNewResponse
	err := r.call("start the asset upload of "+script, func(opts ...option.RequestOption) (err error) {
		sess, err = r.d.workers.Scripts.Assets.Upload.New(r.ctx, script, workers.ScriptAssetUploadNewParams{
			AccountID: cf.F(r.d.accountID),
			Manifest:  cf.F(b.manifest),
		}, opts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if sess.JWT == "" {
		return nil, &Error{Kind: KindTransient, Op: "start the asset upload of " + script,
			Message: "Cloudflare started an asset upload session without a token"}
	}
	return sess, nil
}

// uploadBuckets uploads the files Cloudflare asked for and returns the completion
// token (the session token itself when nothing was missing).
func (r *deployRun) uploadBuckets(script string, b *bundle, sess *workers.ScriptAssetUploadNewResponse,
	progress func(string), sent map[string]bool) (string, error) {
	op := "upload assets of " + script
	needed := map[string]bool{}
	for _, bucket := range sess.Buckets {
		for _, h := range bucket {
			if _, ok := b.byHash[h]; !ok {
				return "", &Error{Kind: KindValidation, Op: op,
					Message: fmt.Sprintf("Cloudflare asked for a file that is not in the bundle (hash %s)", h)}
			}
			needed[h] = true
		}
	}
	reused := 0
	for _, h := range b.files {
		if !needed[h] {
			reused++
		}
	}
	if len(needed) == 0 {
		progress(fmt.Sprintf("All %d files are already at Cloudflare", len(b.files)))
		return sess.JWT, nil
	}
	progress(fmt.Sprintf("Uploading %d new files (%d unchanged)", len(needed), reused))
	uploaded := 0
	completion := ""
	for i, bucket := range sess.Buckets {
		body := make(map[string]string, len(bucket))
		for _, h := range bucket {
			body[h] = base64.StdEncoding.EncodeToString(b.byHash[h])
		}
		var up *workers.AssetUploadNewResponse
		err := r.call(op, func(opts ...option.RequestOption) (err error) {
			// The bucket upload is authorised by the session's upload token, not the
			// API token: a per-request Authorization header, applied after the
			// client's options, replaces the API token's. The SDK's service and
			// request options express this; no hand-written client is needed.
			opts = append(opts, option.WithHeader("Authorization", "Bearer "+sess.JWT))
			up, err = r.d.workers.Assets.Upload.New(r.ctx, workers.AssetUploadNewParams{
				AccountID: cf.F(r.d.accountID),
				Base64:    cf.F(workers.AssetUploadNewParamsBase64True),
				Body:      body,
			}, opts...)
			return err
		})
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Kind == KindAuth {
				// A refused upload token (expired, or its session gone) is not a bad
				// API token: a new attempt starts a new session with a new token.
				c := *e
				c.Kind = KindTransient
				c.Message = fmt.Sprintf("Cloudflare refused the asset upload session token (HTTP %d): %s; a new attempt starts a new session",
					e.Status, errDetail(e))
				c.Err = errors.Join(errUploadTokenRefused, e.Err)
				return "", &c
			}
			return "", err
		}
		uploaded += len(bucket)
		for _, h := range bucket {
			sent[h] = true
		}
		if up.JWT != "" {
			completion = up.JWT
		}
		progress(fmt.Sprintf("Uploaded %d of %d new files (bucket %d of %d)", uploaded, len(needed), i+1, len(sess.Buckets)))
	}
	if completion == "" {
		return "", &Error{Kind: KindTransient, Op: op,
			Message: "Cloudflare accepted every bucket but sent no completion token"}
	}
	return completion, nil
}

// errDetail is the Cloudflare messages of e, without the classification prose.
func errDetail(e *Error) string {
	var apiErr *cf.Error
	if errors.As(e.Err, &apiErr) {
		return describeAPIErrors(apiErr)
	}
	return e.Message
}

// keptBindings are the binding types a deploy keeps from the script's previous
// version: its secrets.
var keptBindings = []string{"secret_text", "secret_key"}

func (r *deployRun) putScript(script string, b *bundle, completion string) (string, error) {
	cfg := workers.ScriptUpdateParamsMetadataAssetsConfig{
		HTMLHandling:     cf.F(workers.ScriptUpdateParamsMetadataAssetsConfigHTMLHandlingAutoTrailingSlash),
		NotFoundHandling: cf.F(workers.ScriptUpdateParamsMetadataAssetsConfigNotFoundHandling(b.notFoundHandling)),
	}
	if b.headers != "" {
		cfg.Headers = cf.F(b.headers)
	}
	if b.redirects != "" {
		cfg.Redirects = cf.F(b.redirects)
	}
	var out *workers.ScriptUpdateResponse
	err := r.call("publish "+script, func(opts ...option.RequestOption) (err error) {
		out, err = r.d.workers.Scripts.Update(r.ctx, script, workers.ScriptUpdateParams{
			AccountID: cf.F(r.d.accountID),
			Metadata: cf.F(workers.ScriptUpdateParamsMetadata{
				CompatibilityDate: cf.F(CompatibilityDate),
				Assets: cf.F(workers.ScriptUpdateParamsMetadataAssets{
					JWT:    cf.F(completion),
					Config: cf.F(cfg),
				}),
				// Secrets set with PutSecret live on the script, not in the bundle:
				// keep them across the new version, as wrangler does with
				// --secrets-file and `versions upload`.
				KeepBindings: cf.F(keptBindings),
			}),
		}, opts...)
		return err
	})
	if err != nil {
		return "", err
	}
	// deployment_id is in Cloudflare's answer (wrangler prints it) but not in the
	// SDK's struct.
	dep := strings.Trim(out.JSON.ExtraFields["deployment_id"].Raw(), `"`)
	if dep == "null" {
		dep = ""
	}
	return dep, nil
}

func (r *deployRun) enableSubdomain(script string) error {
	return r.call("enable workers.dev for "+script, func(opts ...option.RequestOption) error {
		_, err := r.d.workers.Scripts.Subdomain.New(r.ctx, script, workers.ScriptSubdomainNewParams{
			AccountID: cf.F(r.d.accountID),
			Enabled:   cf.F(true),
		}, opts...)
		return err
	})
}

// accountSubdomain returns the account's workers.dev subdomain, asking once.
func (r *deployRun) accountSubdomain() (string, error) {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if r.d.subdomain != "" {
		return r.d.subdomain, nil
	}
	var sub *workers.SubdomainGetResponse
	err := r.call("read the account's workers.dev subdomain", func(opts ...option.RequestOption) (err error) {
		sub, err = r.d.workers.Subdomains.Get(r.ctx, workers.SubdomainGetParams{AccountID: cf.F(r.d.accountID)}, opts...)
		return err
	})
	if err != nil {
		return "", err
	}
	if sub.Subdomain == "" {
		return "", &Error{Kind: KindValidation, Op: "read the account's workers.dev subdomain",
			Message: "the Cloudflare account has no workers.dev subdomain yet; create one in the dashboard (Workers & Pages)"}
	}
	r.d.subdomain = sub.Subdomain
	return sub.Subdomain, nil
}
