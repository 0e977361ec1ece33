// Package perf measures a deployed app the way a first-time visitor loads it: time to
// first byte over a fresh connection, the requests and bytes a first visit costs, and,
// through headless Chromium where it is installed, Largest Contentful Paint.
//
// # What a first visit counts
//
// Measure fetches, with a Go client and an empty cache, the document and everything a
// browser fetches to render it, following references the way the browser does:
//
//   - the document at the URL, and every redirect on the way to it (each hop is a request);
//   - from the HTML (a <base href> is honoured; <template> and <noscript> contents are
//     not, as a browser with scripting on ignores them): <script src> that a modern
//     browser runs (no nomodule, a JavaScript type), <link rel=stylesheet> (not alternate,
//     not disabled), <link rel=modulepreload>, <link rel=preload>, <link rel=icon>, and
//     <img src> (the first srcset candidate when there is no src, lazy images included);
//   - from module scripts and modulepreloads, and from inline module scripts: their static
//     imports and re-exports, transitively (parsed with esbuild, not with patterns). Dynamic
//     import() is not followed: those chunks load when the app asks for them, not on the
//     first paint;
//   - from stylesheets, <style> elements and style attributes: @import, transitively; for
//     each @font-face the one file a browser picks (the first src url() whose format() it
//     supports, local() assumed absent), and only faces whose unicode-range is absent or
//     covers some of printable ASCII (U+0020–007E) — latin text; and every other url() (a
//     background image). A browser fetches a font or a background image only when a rendered
//     element uses it, so for CSS these are an upper bound; Browser tells what was used.
//
// Each URL is fetched once (fragments aside), as the browser's preload matching does; a
// preloaded stylesheet or module is read for references when a later reference uses it as
// one. A stylesheet or module answered with another content type (a single-page-app
// fallback answering a missing chunk with index.html) is counted but not read.
//
// Not counted: rel=prefetch (speculation for a later page, which Chromium fetches when
// idle after load), preconnect, dns-prefetch and manifest, <picture> <source>, <video
// poster>, iframes, fetch/XHR an app makes at runtime, an undeclared /favicon.ico, import
// maps (bare specifiers are not followed), and references to other origins: those are
// listed in External and only Browser sees their cost.
//
// Bytes are the response bodies as they cross the wire: compressed when the server
// compressed them (requests send Accept-Encoding: gzip, br), after HTTP/1.1 chunked framing
// is removed — what Resource Timing calls encodedBodySize. Headers, TLS and framing are not
// counted. A body that must be read for its references but is in an encoding Go cannot
// decode (br, zstd) is counted as sent and fetched once more with gzip for reading; that
// second fetch is not counted. Every fetch is a request, whatever its status.
package perf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Defaults for Options.
const (
	DefaultChromium     = "/usr/bin/chromium"
	DefaultRuns         = 3
	DefaultTimeout      = 90 * time.Second
	DefaultMaxResources = 200
)

// PlaywrightPathEnv names the environment variable that points at a node_modules folder
// holding playwright-core, when Options.NodePath is not set.
const PlaywrightPathEnv = "APPFORGE_PLAYWRIGHT_PATH"

// LCPSourceChromium is Metrics.LCPSource when headless Chromium measured LCP.
const LCPSourceChromium = "chromium"

// ErrNotMeasurable is wrapped by Measure's error when the document itself could not be
// loaded: unreachable, or answered with a status other than 2xx.
var ErrNotMeasurable = errors.New("site not measurable")

// Metrics is one measurement of a deployed app.
type Metrics struct {
	URL string `json:"url"`
	// TTFB is the median, over Options.Runs tries on fresh connections, of the time from
	// sending the request for the document (name lookup, connect and TLS included, and any
	// redirects) to the first byte of its response.
	TTFB        time.Duration   `json:"ttfb_ns"`
	TTFBSamples []time.Duration `json:"ttfb_samples_ns,omitempty"`
	// FirstVisitBytes and Requests: see the package documentation for what is counted.
	FirstVisitBytes int64      `json:"first_visit_bytes"`
	Requests        int        `json:"requests"`
	Resources       []Resource `json:"resources"`
	// External lists references to other origins, not fetched and not counted.
	External []string `json:"external,omitempty"`
	// Notes are things a reader of the numbers should know: a reference that could not
	// be read, a body fetched again to be parsed, a limit reached.
	Notes []string `json:"notes,omitempty"`

	// LCP is Largest Contentful Paint as headless Chromium reported it, 0 when not
	// measured; LCPSource is LCPSourceChromium then, "" otherwise.
	LCP       time.Duration `json:"lcp_ns"`
	LCPSource string        `json:"lcp_source"`
	// Browser holds what Chromium saw, nil when it did not run or failed.
	Browser *BrowserMetrics `json:"browser,omitempty"`
	// BrowserSkipped says why the browser did not run (not installed, or not asked);
	// BrowserError why it ran and failed, or, with Browser set, why it gave no LCP.
	BrowserSkipped string `json:"browser_skipped,omitempty"`
	BrowserError   string `json:"browser_error,omitempty"`
}

// Kinds of Resource.
const (
	KindDocument      = "document"
	KindRedirect      = "redirect"      // a hop on the way to a resource
	KindScript        = "script"        // classic script
	KindModule        = "module"        // module script or a static import of one
	KindModulePreload = "modulepreload" // <link rel=modulepreload>, read as a module
	KindStylesheet    = "stylesheet"    // <link rel=stylesheet> or @import
	KindFont          = "font"          // the file @font-face picks
	KindImage         = "image"         // <img>, or url() in CSS outside @font-face
	KindIcon          = "icon"          // <link rel=icon>
	KindPreload       = "preload"       // <link rel=preload>
)

// Resource is one request of a first visit.
type Resource struct {
	URL       string `json:"url"`
	Kind      string `json:"kind"`
	Initiator string `json:"initiator,omitempty"` // the URL that referenced it
	Status    int    `json:"status"`
	// ContentType and ContentEncoding are the response's headers.
	ContentType     string `json:"content_type,omitempty"`
	ContentEncoding string `json:"content_encoding,omitempty"`
	// WireBytes is counted in FirstVisitBytes; Bytes is the decoded size, -1 when the
	// encoding is one Go does not decode.
	WireBytes int64  `json:"wire_bytes"`
	Bytes     int64  `json:"bytes"`
	Error     string `json:"error,omitempty"` // the request failed or its body was cut short
}

// BrowserMetrics is what headless Chromium saw of a first visit, from the Navigation and
// Resource Timing APIs and the LCP entry, up to the end of the settle after load (the
// favicon included, as initiator "other"; a prefetch too if the browser got to it).
// Resource Timing reports 0 bytes for other origins that send no Timing-Allow-Origin.
type BrowserMetrics struct {
	// Requests is the navigation plus every Resource Timing entry up to the end of the
	// measurement; NetworkRequests every request the browser made (favicon included).
	Requests        int `json:"requests"`
	NetworkRequests int `json:"network_requests"`
	// TransferBytes sums transferSize (headers plus encoded body); EncodedBodyBytes and
	// DecodedBodyBytes the bodies, as sent and decompressed.
	TransferBytes    int64             `json:"transfer_bytes"`
	EncodedBodyBytes int64             `json:"encoded_body_bytes"`
	DecodedBodyBytes int64             `json:"decoded_body_bytes"`
	DOMContentLoaded time.Duration     `json:"dom_content_loaded_ns"` // domContentLoadedEventEnd
	Load             time.Duration     `json:"load_ns"`               // loadEventEnd
	LCPElement       string            `json:"lcp_element,omitempty"` // e.g. img#hero.banner
	LCPURL           string            `json:"lcp_url,omitempty"`     // for an image
	LCPSize          int64             `json:"lcp_size,omitempty"`    // area in CSS pixels
	Resources        []BrowserResource `json:"resources"`
	// Errors are page errors, console errors and failed requests.
	Errors []string `json:"errors,omitempty"`
}

// BrowserResource is one Resource Timing entry (the navigation is the first).
type BrowserResource struct {
	URL              string        `json:"url"`
	Initiator        string        `json:"initiator"` // initiatorType: navigation, script, link, img, css…
	Status           int           `json:"status,omitempty"`
	TransferBytes    int64         `json:"transfer_bytes"`
	EncodedBodyBytes int64         `json:"encoded_body_bytes"`
	DecodedBodyBytes int64         `json:"decoded_body_bytes"`
	Start            time.Duration `json:"start_ns"`
	Duration         time.Duration `json:"duration_ns"`
}

// Options tune a measurement. The zero value measures with http.DefaultClient and, where
// installed, Chromium.
type Options struct {
	// HTTPClient makes the Go measurements; callers pass verify.NewHTTPClient so that
	// *.localhost resolves. Its transport is cloned without keep-alives for the TTFB
	// tries when it is an *http.Transport; its CheckRedirect is not used (redirects are
	// followed, at most 10, and counted).
	HTTPClient *http.Client
	// Chromium is the browser's path, DefaultChromium when empty. A path that does not
	// exist skips the browser metrics, as does SkipBrowser.
	Chromium    string
	SkipBrowser bool
	// NodePath is a node_modules folder holding playwright-core. When empty: the
	// environment variable APPFORGE_PLAYWRIGHT_PATH, then .tools/browser/node_modules in
	// the working directory or the nearest parent that has one. `node` is looked up on
	// PATH.
	NodePath string
	// HostResolverRules, for hostnames Chromium cannot resolve itself (custom domains in
	// tests), is passed as --host-resolver-rules, e.g. "MAP myapp.com 127.0.0.1".
	// *.localhost needs none on the edge's own host; from another container, pass
	// "MAP *.localhost edge:8787", as verify.NewHTTPClient's localEdge does for Go.
	HostResolverRules string
	// IgnoreCertificateErrors lets Chromium accept any certificate (a test CA).
	IgnoreCertificateErrors bool
	// Timeout bounds the whole measurement; DefaultTimeout when zero.
	Timeout time.Duration
	// Runs is how many TTFB samples to take; DefaultRuns when zero.
	Runs int
	// MaxResources bounds the requests of a first visit; DefaultMaxResources when zero.
	MaxResources int
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Chromium == "" {
		o.Chromium = DefaultChromium
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Runs <= 0 {
		o.Runs = DefaultRuns
	}
	if o.MaxResources <= 0 {
		o.MaxResources = DefaultMaxResources
	}
	return o
}

// Measure measures the app at siteURL: TTFB, then the first visit with the Go client,
// then, unless skipped, the same visit in headless Chromium. Runs happen one after the
// other so that they do not compete.
//
// The error is non-nil only when there is nothing to report: siteURL is not an absolute
// http(s) URL, or its document could not be loaded (ErrNotMeasurable). A missing or failing
// browser is never an error: see Metrics.BrowserSkipped and Metrics.BrowserError.
func Measure(ctx context.Context, siteURL string, opts Options) (Metrics, error) {
	opts = opts.withDefaults()
	u, err := url.Parse(siteURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Metrics{}, fmt.Errorf("perf: %q is not an absolute http(s) URL", siteURL)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	m := Metrics{URL: siteURL}
	samples, err := measureTTFB(ctx, opts.HTTPClient, siteURL, opts.Runs)
	if err != nil {
		return m, fmt.Errorf("perf: time to first byte of %s: %w", siteURL, err)
	}
	m.TTFBSamples = samples
	m.TTFB = median(samples)
	if len(samples) < opts.Runs {
		m.Notes = append(m.Notes, fmt.Sprintf("time to first byte from %d of %d tries; the others failed", len(samples), opts.Runs))
	}

	v, err := firstVisit(ctx, opts.HTTPClient, u, opts.MaxResources)
	if err != nil {
		return m, fmt.Errorf("perf: first visit of %s: %w", siteURL, err)
	}
	m.Resources, m.External = v.resources, v.external
	m.Notes = append(m.Notes, v.notes...)
	for _, r := range v.resources {
		m.FirstVisitBytes += r.WireBytes
	}
	m.Requests = len(v.resources)

	if opts.SkipBrowser {
		m.BrowserSkipped = "browser measurement not asked for"
		return m, nil
	}
	b, err := runBrowser(ctx, siteURL, opts)
	var skip *skipError
	switch {
	case errors.As(err, &skip):
		m.BrowserSkipped = skip.reason
	case err != nil:
		m.BrowserError = err.Error()
	default:
		m.Browser = b.metrics
		if b.lcp > 0 {
			m.LCP, m.LCPSource = b.lcp, LCPSourceChromium
		} else {
			m.BrowserError = "chromium reported no largest-contentful-paint entry"
		}
	}
	return m, nil
}
