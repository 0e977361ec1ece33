package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/generate"
)

// go-openai does not expose response headers on errors, and a rate limit's delay is in
// one (Retry-After). The agent's HTTP transport copies each response's headers into a
// sink carried by the request's context, one sink per model call.

type sinkKey struct{}

type headerSink struct {
	mu     sync.Mutex
	header http.Header
	done   bool // the stream's body held "data: [DONE]"
}

func withHeaderSink(ctx context.Context) (context.Context, *headerSink) {
	s := &headerSink{}
	return context.WithValue(ctx, sinkKey{}, s), s
}

func (s *headerSink) get(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header.Get(name)
}

// captureTransport records response headers in the request's sink, if it has one.
type captureTransport struct{ base http.RoundTripper }

func (t captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		if s, ok := req.Context().Value(sinkKey{}).(*headerSink); ok {
			s.mu.Lock()
			s.header = resp.Header.Clone()
			s.mu.Unlock()
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") && resp.Body != nil {
				resp.Body = &doneWatcher{ReadCloser: resp.Body, sink: s, tail: []byte("\n")}
			}
		}
	}
	return resp, err
}

func (s *headerSink) sawDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// doneWatcher notes when a server-sent event stream carries its end marker, a line
// "data: [DONE]" (a JSON string cannot hold a raw newline, so content cannot fake it).
type doneWatcher struct {
	io.ReadCloser
	sink *headerSink
	tail []byte
}

var doneMarkers = [][]byte{[]byte("\ndata: [DONE]"), []byte("\ndata:[DONE]")}

func (w *doneWatcher) Read(p []byte) (int, error) {
	n, err := w.ReadCloser.Read(p)
	if n > 0 {
		buf := append(w.tail, p[:n]...)
		for _, m := range doneMarkers {
			if bytes.Contains(buf, m) {
				w.sink.mu.Lock()
				w.sink.done = true
				w.sink.mu.Unlock()
			}
		}
		keep := min(len(buf), 16)
		w.tail = append(w.tail[:0:0], buf[len(buf)-keep:]...)
	}
	return n, err
}

// maxRetryAfter bounds the delay a provider may ask for; beyond it the retry policy's
// own backoff is as good.
const maxRetryAfter = 10 * time.Minute

// retryAfter reads the provider's requested delay: retry-after-ms (OpenAI), then
// Retry-After in seconds or as an HTTP date. Zero when there is none.
func retryAfter(s *headerSink, now time.Time) time.Duration {
	if s == nil {
		return 0
	}
	var d time.Duration
	if v := strings.TrimSpace(s.get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			d = time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(s.get("Retry-After")); d == 0 && v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil {
			d = time.Duration(secs * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, 0), maxRetryAfter)
}

// errContextLength marks a request longer than the model's context window: the step
// stops with a reason instead of failing.
var errContextLength = errors.New("context length exceeded")

// classify turns a model call's failure into a *generate.ProviderError, once, here. A
// cancelled context is returned as it is: the caller cancelled, nothing failed.
func (a *Agent) classify(ctx context.Context, err error, sink *headerSink) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("model call: %w", ctx.Err())
		}
		return a.providerError("transient", fmt.Sprintf("the model at %s did not answer in time", a.host), err)
	}
	var reqErr *openai.RequestError
	var apiErr *openai.APIError
	switch {
	case errors.As(err, &reqErr):
		code, typ, msg := "", "", ""
		if errors.As(reqErr.Err, &apiErr) {
			code, typ, msg = codeOf(apiErr), apiErr.Type, apiErr.Message
		}
		return a.fromStatus(reqErr.HTTPStatusCode, code, typ, msg, sink, err)
	case errors.As(err, &apiErr):
		return a.fromStatus(apiErr.HTTPStatusCode, codeOf(apiErr), apiErr.Type, apiErr.Message, sink, err)
	case errors.Is(err, openai.ErrReasoningToolsRequireResponses), errors.Is(err, openai.ErrChatCompletionInvalidModel),
		errors.Is(err, openai.ErrReasoningEffortUnsupported), errors.Is(err, openai.ErrO1BetaLimitationsTools):
		return a.providerError("model", fmt.Sprintf("model %s cannot call tools through the chat completions API; choose another APPFORGE_MODEL", a.model), err)
	case errors.Is(err, errStreamCut):
		return a.providerError("transient", fmt.Sprintf("the answer from %s stopped in the middle; appforge will ask again", a.host), err)
	}
	// Network failures, timeouts, a connection dropped mid-stream, a garbled stream:
	// all worth another try.
	return a.providerError("transient", fmt.Sprintf("could not reach the model at %s; appforge will try again", a.host), err)
}

func codeOf(e *openai.APIError) string {
	switch c := e.Code.(type) {
	case string:
		return c
	case nil:
		return ""
	default:
		return fmt.Sprint(c)
	}
}

// fromStatus classifies by HTTP status and the provider's error code. status is 0 for
// an error event inside a stream that had started well.
func (a *Agent) fromStatus(status int, code, typ, msg string, sink *headerSink, err error) error {
	switch {
	case code == "context_length_exceeded" || code == "string_above_max_length":
		return a.providerError("rejected", fmt.Sprintf("the conversation is longer than model %s can read", a.model),
			fmt.Errorf("%w: %w", errContextLength, err))
	case code == "model_not_found" || status == http.StatusNotFound:
		return a.providerError("model", fmt.Sprintf("model %s is not available at %s; check APPFORGE_MODEL", a.model, a.baseURL), err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden || code == "invalid_api_key":
		return a.providerError("auth", "the model provider refused the API key; check OPENAI_API_KEY", err)
	case code == "insufficient_quota":
		return a.providerError("rejected", "the model provider says the account has no quota left; check the plan and billing of OPENAI_API_KEY", err)
	case status == http.StatusTooManyRequests || code == "rate_limit_exceeded" || typ == "rate_limit_exceeded":
		pe := a.providerError("rate_limited", fmt.Sprintf("the model provider at %s is rate limiting requests; appforge will wait and retry", a.host), err)
		pe.RetryAfter = retryAfter(sink, time.Now())
		return pe
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity ||
		status == http.StatusUnsupportedMediaType:
		detail := ""
		if msg = strings.TrimSpace(a.redact(msg)); msg != "" {
			detail = ": " + clip(msg, 300)
		}
		return a.providerError("rejected", fmt.Sprintf("the model provider rejected the request%s", detail), err)
	}
	// 408, 409, 5xx, error events mid-stream and anything unforeseen.
	what := "had a problem"
	if status > 0 {
		what = fmt.Sprintf("answered with HTTP %d", status)
	}
	return a.providerError("transient", fmt.Sprintf("the model provider at %s %s; appforge will try again", a.host, what), err)
}

func (a *Agent) providerError(kind, msg string, err error) *generate.ProviderError {
	return &generate.ProviderError{Kind: kind, Message: a.redact(msg), Err: redacted{err: err, secret: a.apiKey}}
}

// redact removes the API key from text that came from elsewhere.
func (a *Agent) redact(s string) string {
	if len(a.apiKey) >= 8 {
		s = strings.ReplaceAll(s, a.apiKey, "[redacted]")
	}
	return s
}

// redacted wraps an error so that its text never holds the API key, in case a provider
// echoes it back; errors.Is and errors.As still see the original.
type redacted struct {
	err    error
	secret string
}

func (r redacted) Error() string {
	s := r.err.Error()
	if len(r.secret) >= 8 {
		s = strings.ReplaceAll(s, r.secret, "[redacted]")
	}
	return s
}

func (r redacted) Unwrap() error { return r.err }
