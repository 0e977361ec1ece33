package perf

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"time"
)

// Request headers of a first visit. Accept-Encoding is set by hand, so the transport does
// not decompress and the body read is the body sent.
const (
	acceptEncoding = "gzip, br"
	userAgent      = "appforge-perf/1 (first visit)"
)

// accept is the Accept header Chromium sends for each kind of request, so that a server
// that negotiates (an image format, say) answers as it would answer a browser.
var accept = map[string]string{
	KindDocument:   "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
	KindStylesheet: "text/css,*/*;q=0.1",
	KindImage:      "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
	KindIcon:       "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
}

func newRequest(ctx context.Context, u, kind string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	a := accept[kind]
	if a == "" {
		a = "*/*"
	}
	req.Header.Set("Accept", a)
	req.Header.Set("Accept-Encoding", acceptEncoding)
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// freshClient returns a client that opens a new connection for every request: c with its
// transport cloned without keep-alives when it is an *http.Transport. Otherwise c itself,
// and the caller closes c's idle connections before each request.
func freshClient(c *http.Client) (client *http.Client, closeIdle bool) {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return c, true
	}
	t = t.Clone()
	t.DisableKeepAlives = true
	cc := *c
	cc.Transport = t
	return &cc, false
}

// measureTTFB takes runs samples of the time to the first byte of siteURL's response, each
// on a new connection. Redirects are followed: the time runs to the first byte of the
// last response. It fails when every try failed or answered other than 2xx.
func measureTTFB(ctx context.Context, c *http.Client, siteURL string, runs int) ([]time.Duration, error) {
	client, closeIdle := freshClient(c)
	var samples []time.Duration
	var errs []error
	for range runs {
		if closeIdle {
			client.CloseIdleConnections()
		}
		d, err := ttfbOnce(ctx, client, siteURL)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", ErrNotMeasurable, err)
			}
			errs = append(errs, err)
			continue
		}
		samples = append(samples, d)
	}
	if len(samples) == 0 {
		if len(errs) == 1 {
			return nil, fmt.Errorf("%w: %w", ErrNotMeasurable, errs[0])
		}
		return nil, fmt.Errorf("%w: %d tries failed, the last: %w", ErrNotMeasurable, len(errs), errs[len(errs)-1])
	}
	return samples, nil
}

func ttfbOnce(ctx context.Context, client *http.Client, siteURL string) (time.Duration, error) {
	var first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, err := newRequest(httptrace.WithClientTrace(ctx, trace), siteURL, KindDocument)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("%s answered %d", resp.Request.URL, resp.StatusCode)
	}
	if first.IsZero() { // a transport that does not report the trace event
		first = time.Now()
	}
	return first.Sub(start), nil
}

// median is the middle sample, or the mean of the two middle ones.
func median(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
