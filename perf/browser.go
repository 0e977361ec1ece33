package perf

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

//go:embed browser.cjs
var browserScript []byte

// chromiumArgs are the launch flags this machine's Chromium needs headless: no sandbox
// (containers), no GPU, no QUIC, and nothing that fetches on its own and would show up
// in or slow down the measurement.
var chromiumArgs = []string{"--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

// Settling after load: the LCP candidate must stay the same for lcpQuiet, waiting at most
// lcpSettleMax.
const (
	lcpQuiet     = 500 * time.Millisecond
	lcpSettleMax = 3 * time.Second
)

// ErrBrowserUnavailable is wrapped by BrowserTools' error when Chromium, node or
// playwright-core is missing.
var ErrBrowserUnavailable = errors.New("browser unavailable")

// skipError says why the browser measurement could not run at all.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }
func (e *skipError) Unwrap() error { return ErrBrowserUnavailable }

type browserResult struct {
	lcp     time.Duration
	metrics *BrowserMetrics
}

// browserReport is what browser.cjs prints; times are milliseconds from navigation start.
type browserReport struct {
	LCP *struct {
		StartTime float64 `json:"startTime"`
		Size      int64   `json:"size"`
		URL       string  `json:"url"`
		Element   string  `json:"element"`
	} `json:"lcp"`
	LCPError         string  `json:"lcpError"`
	DOMContentLoaded float64 `json:"domContentLoaded"`
	Load             float64 `json:"load"`
	Resources        []struct {
		URL             string  `json:"url"`
		Initiator       string  `json:"initiator"`
		Status          int     `json:"status"`
		TransferSize    int64   `json:"transferSize"`
		EncodedBodySize int64   `json:"encodedBodySize"`
		DecodedBodySize int64   `json:"decodedBodySize"`
		StartTime       float64 `json:"startTime"`
		Duration        float64 `json:"duration"`
	} `json:"resources"`
	Status          int      `json:"status"`
	NetworkRequests int      `json:"networkRequests"`
	Errors          []string `json:"errors"`
}

// BrowserTools returns the Chromium, node and playwright-core (a node_modules folder) that
// Measure would use with opts, or a reason why the browser measurement would be skipped.
func BrowserTools(opts Options) (chromium, node, nodePath string, err error) {
	opts = opts.withDefaults()
	chromium = opts.Chromium
	if st, statErr := os.Stat(chromium); statErr != nil || st.IsDir() {
		return "", "", "", &skipError{fmt.Sprintf("chromium not found at %s (make browser installs Debian's)", chromium)}
	}
	node, lookErr := exec.LookPath("node")
	if lookErr != nil {
		return "", "", "", &skipError{"node not found on PATH"}
	}
	nodePath, err = findPlaywright(opts.NodePath)
	if err != nil {
		return "", "", "", err
	}
	return chromium, node, nodePath, nil
}

// findPlaywright finds a node_modules folder holding playwright-core: dir when set, else
// $APPFORGE_PLAYWRIGHT_PATH, else .tools/browser/node_modules in the working directory or
// the nearest parent that has one.
func findPlaywright(dir string) (string, error) {
	has := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "playwright-core", "package.json"))
		return err == nil
	}
	for _, d := range []string{dir, os.Getenv(PlaywrightPathEnv)} {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil && has(abs) {
			return abs, nil
		}
		return "", &skipError{fmt.Sprintf("playwright-core not found in %s", d)}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", &skipError{"playwright-core not found: no working directory: " + err.Error()}
	}
	for d := wd; ; d = filepath.Dir(d) {
		if c := filepath.Join(d, ".tools", "browser", "node_modules"); has(c) {
			return c, nil
		}
		if filepath.Dir(d) == d {
			return "", &skipError{fmt.Sprintf("playwright-core not found in .tools/browser/node_modules above %s (make browser installs it; or set %s)", wd, PlaywrightPathEnv)}
		}
	}
}

// runBrowser loads siteURL in headless Chromium through browser.cjs. The error is a
// *skipError when the tools are missing.
func runBrowser(ctx context.Context, siteURL string, opts Options) (browserResult, error) {
	chromium, node, nodePath, err := BrowserTools(opts)
	if err != nil {
		return browserResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return browserResult{}, fmt.Errorf("no time left for the browser: %w", err)
	}
	script, err := os.CreateTemp("", "appforge-perf-*.cjs")
	if err != nil {
		return browserResult{}, fmt.Errorf("write the browser script: %w", err)
	}
	defer os.Remove(script.Name())
	if _, err := script.Write(browserScript); err != nil {
		script.Close()
		return browserResult{}, fmt.Errorf("write the browser script: %w", err)
	}
	if err := script.Close(); err != nil {
		return browserResult{}, fmt.Errorf("write the browser script: %w", err)
	}

	args := append([]string(nil), chromiumArgs...)
	if opts.HostResolverRules != "" {
		args = append(args, "--host-resolver-rules="+opts.HostResolverRules)
	}
	if opts.IgnoreCertificateErrors {
		args = append(args, "--ignore-certificate-errors")
	}
	// The script gets the time left less a margin, to close Chromium itself before the
	// context kills node.
	budget := 60 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		budget = time.Until(dl) - 3*time.Second
	}
	if budget < 5*time.Second {
		return browserResult{}, fmt.Errorf("only %s left for the browser", budget.Round(time.Millisecond))
	}
	cfg, _ := json.Marshal(map[string]any{ // plain values: cannot fail
		"url": siteURL, "chromium": chromium, "args": args,
		"ignoreHTTPSErrors": opts.IgnoreCertificateErrors, "timeoutMs": budget.Milliseconds(),
		"quietMs": lcpQuiet.Milliseconds(), "settleMaxMs": lcpSettleMax.Milliseconds(),
	})

	var stdout bytes.Buffer
	stderr := &limitedBuffer{max: 16 << 10}
	cmd := exec.CommandContext(ctx, node, script.Name(), string(cfg))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	// On cancellation node gets SIGTERM, on which playwright closes Chromium; SIGKILL
	// follows if it has not exited in time. Chromium also exits when its pipe to node
	// closes.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if runErr := cmd.Run(); runErr != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return browserResult{}, fmt.Errorf("chromium: %w: %s", context.Cause(ctx), firstLine(msg))
		}
		return browserResult{}, fmt.Errorf("chromium: %w: %s", runErr, summarize(msg))
	}
	var rep browserReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return browserResult{}, fmt.Errorf("chromium report %.200q: %w", stdout.String(), err)
	}
	return rep.result(), nil
}

func (rep browserReport) result() browserResult {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	b := &BrowserMetrics{
		NetworkRequests:  rep.NetworkRequests,
		DOMContentLoaded: ms(rep.DOMContentLoaded),
		Load:             ms(rep.Load),
		Errors:           rep.Errors,
		Resources:        []BrowserResource{},
	}
	if rep.LCPError != "" {
		b.Errors = append(b.Errors, "largest-contentful-paint observer: "+rep.LCPError)
	}
	for _, r := range rep.Resources {
		b.Resources = append(b.Resources, BrowserResource{
			URL: r.URL, Initiator: r.Initiator, Status: r.Status,
			TransferBytes: r.TransferSize, EncodedBodyBytes: r.EncodedBodySize, DecodedBodyBytes: r.DecodedBodySize,
			Start: ms(r.StartTime), Duration: ms(r.Duration),
		})
		b.TransferBytes += r.TransferSize
		b.EncodedBodyBytes += r.EncodedBodySize
		b.DecodedBodyBytes += r.DecodedBodySize
	}
	b.Requests = len(rep.Resources)
	res := browserResult{metrics: b}
	if rep.LCP != nil {
		res.lcp = ms(rep.LCP.StartTime)
		b.LCPElement, b.LCPURL, b.LCPSize = rep.LCP.Element, rep.LCP.URL, rep.LCP.Size
	}
	return res
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// summarize shortens playwright's error for a stored field: its first line, and the lines
// of the browser's own output (where Chromium says why it did not start), without the
// launch command lines, terminal colours and the stack, at most 1000 bytes.
func summarize(msg string) string {
	msg = ansi.ReplaceAllString(msg, "")
	lines := strings.Split(msg, "\n")
	out := []string{strings.TrimSpace(lines[0])}
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "at ") {
			break // the stack
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "- "))
		if (strings.Contains(l, "[err]") || strings.Contains(l, "[out]")) && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	s := strings.Join(out, "; ")
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
