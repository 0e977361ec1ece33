// Command perfcheck measures a served app as a first-time visitor, as the deploy does:
//
//	go run ./perf/cmd/perfcheck [-json] [-prev earlier.json] [-no-browser] URL
//
// It prints TTFB, the first visit's requests and bytes, and LCP from headless Chromium
// where installed; with -prev (an earlier -json output) the regressions against it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/appforge/appforge/perf"
	"github.com/appforge/appforge/verify"
)

func main() {
	asJSON := flag.Bool("json", false, "print the metrics as JSON")
	prevFile := flag.String("prev", "", "an earlier -json output to compare against")
	noBrowser := flag.Bool("no-browser", false, "skip headless Chromium")
	rules := flag.String("host-resolver-rules", "", `for Chromium, e.g. "MAP myapp.com 127.0.0.1"`)
	insecure := flag.Bool("ignore-certificate-errors", false, "let Chromium accept any certificate")
	runs := flag.Int("runs", perf.DefaultRuns, "TTFB samples")
	timeout := flag.Duration("timeout", perf.DefaultTimeout, "bound on the whole measurement")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: perfcheck [flags] URL")
		os.Exit(2)
	}
	m, err := perf.Measure(context.Background(), flag.Arg(0), perf.Options{
		HTTPClient: verify.NewHTTPClient(30*time.Second, ""), SkipBrowser: *noBrowser,
		HostResolverRules: *rules, IgnoreCertificateErrors: *insecure, Runs: *runs, Timeout: *timeout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "perfcheck:", err)
		os.Exit(1)
	}
	var regressions []perf.Regression
	if *prevFile != "" {
		b, err := os.ReadFile(*prevFile)
		var prev perf.Metrics
		if err == nil {
			err = json.Unmarshal(b, &prev)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "perfcheck: -prev:", err)
			os.Exit(1)
		}
		regressions = perf.Compare(prev, m)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(m)
	} else {
		report(m)
	}
	for _, r := range regressions {
		fmt.Fprintf(os.Stderr, "regression: %s: %s → %s: %s\n", r.Metric, r.Previous, r.Current, r.Message)
	}
	if len(regressions) > 0 {
		os.Exit(3)
	}
}

func report(m perf.Metrics) {
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	fmt.Printf("%s\n\nTTFB %s (median of %v)\nfirst visit: %d requests, %d bytes\n", m.URL, ms(m.TTFB), m.TTFBSamples, m.Requests, m.FirstVisitBytes)
	w := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "status\tkind\tencoding\twire bytes\tbytes\t url\t")
	for _, r := range m.Resources {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t %s\t\n", r.Status, r.Kind, r.ContentEncoding, r.WireBytes, r.Bytes, r.URL)
	}
	w.Flush()
	for _, e := range m.External {
		fmt.Println("external, not counted:", e)
	}
	for _, n := range m.Notes {
		fmt.Println("note:", n)
	}
	switch {
	case m.Browser != nil:
		b := m.Browser
		fmt.Printf("\nchromium: LCP %s (%s %s, %d px²), DOMContentLoaded %s, load %s\n", ms(m.LCP), b.LCPElement, b.LCPURL, b.LCPSize, ms(b.DOMContentLoaded), ms(b.Load))
		fmt.Printf("chromium: %d requests in Resource Timing (%d on the network), %d bytes transferred, %d encoded body bytes, %d decoded\n",
			b.Requests, b.NetworkRequests, b.TransferBytes, b.EncodedBodyBytes, b.DecodedBodyBytes)
		for _, e := range b.Errors {
			fmt.Println("chromium error:", e)
		}
		if m.BrowserError != "" {
			fmt.Println("chromium:", m.BrowserError)
		}
	case m.BrowserSkipped != "":
		fmt.Println("\nchromium skipped:", m.BrowserSkipped)
	default:
		fmt.Println("\nchromium failed:", m.BrowserError)
	}
}
