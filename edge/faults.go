package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault makes API requests to one endpoint misbehave, for tests and demos: a share
// of them fail with a server error or a rate limit, are delayed, or lose their
// connection. It is not part of Cloudflare's API; the data plane is never affected.
//
// Set faults in Go with (*Edge).SetFaults, or over HTTP on the control endpoint
// /__edge/faults (authorised with the API token; a read-only token may only GET):
//
//	PUT    /__edge/faults  {"faults": [Fault, ...]}  replace the faults
//	GET    /__edge/faults                            list them, with what is left
//	DELETE /__edge/faults                            clear them
//
// A Fault in JSON: {"endpoint": "PUT /workers/scripts/*", "error_rate": 1,
// "error_status": 503, "rate_limit_rate": 0, "retry_after": "2s", "latency": "300ms",
// "latency_rate": 1, "drop_rate": 0, "drop": "response", "times": 3, "seed": 7}.
type Fault struct {
	// Endpoint is "METHOD /path", the path relative to /client/v4/accounts/{account}
	// (or, when it starts with /client/v4, the whole path); paths outside an account
	// are relative to /client/v4 ("PUT /zones/*/activation_check"). METHOD may be *
	// or left out for any method. In the path, * matches one segment or part of one, and a
	// final /** any rest: "PUT /workers/scripts/*", "POST /workers/assets/upload",
	// "* /workers/scripts/*/**".
	Endpoint string
	// ErrorRate is the share (0–1) of matching requests answered with ErrorStatus
	// (default 500): a 500 carries Cloudflare's JSON error (code 10013); 502, 503 and
	// 504 carry an HTML page, as a Cloudflare gateway error does. A 4xx status (not
	// 429: see RateLimitRate) carries Cloudflare's JSON error with ErrorCode (default
	// 10000) and a message that says the edge injected it: a refusal no retry cures.
	ErrorRate   float64
	ErrorStatus int
	ErrorCode   int
	// RateLimitRate is the share of matching requests answered with 429, code 971 and
	// Retry-After (RetryAfter rounded up to seconds; default 1s).
	RateLimitRate float64
	RetryAfter    time.Duration
	// Latency delays a share LatencyRate (default: all) of matching requests before
	// anything else happens to them.
	Latency     time.Duration
	LatencyRate float64
	// DropRate is the share of matching requests whose connection is closed: before
	// the request is handled (Drop "request", the default), or after the edge handled
	// it and wrote part of the response (Drop "response": the change is made, the
	// client never learns it).
	DropRate float64
	Drop     string
	// Times limits the fault to the next Times matching requests; 0 means until the
	// faults are cleared.
	Times int
	// Seed makes the choice among the rates repeatable; 0 picks a random seed. With
	// rates of 0 or 1, the outcome does not depend on it.
	Seed uint64
}

// Drop phases.
const (
	DropRequest  = "request"
	DropResponse = "response"
)

type faultJSON struct {
	Endpoint      string  `json:"endpoint"`
	ErrorRate     float64 `json:"error_rate,omitempty"`
	ErrorStatus   int     `json:"error_status,omitempty"`
	ErrorCode     int     `json:"error_code,omitempty"`
	RateLimitRate float64 `json:"rate_limit_rate,omitempty"`
	RetryAfter    string  `json:"retry_after,omitempty"`
	Latency       string  `json:"latency,omitempty"`
	LatencyRate   float64 `json:"latency_rate,omitempty"`
	DropRate      float64 `json:"drop_rate,omitempty"`
	Drop          string  `json:"drop,omitempty"`
	Times         int     `json:"times,omitempty"`
	Seed          uint64  `json:"seed,omitempty"`
}

// MarshalJSON writes f with durations as Go duration strings ("250ms").
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Endpoint: f.Endpoint, ErrorRate: f.ErrorRate, ErrorStatus: f.ErrorStatus, ErrorCode: f.ErrorCode,
		RateLimitRate: f.RateLimitRate, LatencyRate: f.LatencyRate, DropRate: f.DropRate, Drop: f.Drop,
		Times: f.Times, Seed: f.Seed}
	if f.RetryAfter != 0 {
		j.RetryAfter = f.RetryAfter.String()
	}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads f, durations as Go duration strings or numbers of seconds.
func (f *Fault) UnmarshalJSON(data []byte) error {
	var j faultJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	ra, err := parseFaultDuration(j.RetryAfter)
	if err != nil {
		return fmt.Errorf("retry_after: %w", err)
	}
	lat, err := parseFaultDuration(j.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	*f = Fault{Endpoint: j.Endpoint, ErrorRate: j.ErrorRate, ErrorStatus: j.ErrorStatus, ErrorCode: j.ErrorCode,
		RateLimitRate: j.RateLimitRate, RetryAfter: ra, Latency: lat, LatencyRate: j.LatencyRate,
		DropRate: j.DropRate, Drop: j.Drop, Times: j.Times, Seed: j.Seed}
	return nil
}

func parseFaultDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

// activeFault is a Fault in force, with its parsed endpoint and state.
type activeFault struct {
	Fault
	method string
	path   []string // pattern segments
	full   bool     // the pattern is a whole path, not account-relative
	rng    *rand.Rand
	left   int // for Times > 0
}

// faultSet is the edge's faults. Its methods are safe for concurrent use.
type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
}

// SetFaults replaces the edge's faults with faults (none clears them).
func (e *Edge) SetFaults(faults ...Fault) error {
	active := make([]*activeFault, 0, len(faults))
	for i, f := range faults {
		a, err := compileFault(f)
		if err != nil {
			return fmt.Errorf("fault %d (%s): %w", i, f.Endpoint, err)
		}
		active = append(active, a)
	}
	e.faults.mu.Lock()
	e.faults.faults = active
	e.faults.mu.Unlock()
	if len(faults) > 0 {
		e.log.Info("faults set", "count", len(faults))
	} else {
		e.log.Info("faults cleared")
	}
	return nil
}

// ClearFaults removes every fault.
func (e *Edge) ClearFaults() { _ = e.SetFaults() }

// Faults returns the faults in force; a fault with Times has Times set to the
// number of matching requests it still applies to.
func (e *Edge) Faults() []Fault {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	out := make([]Fault, 0, len(e.faults.faults))
	for _, a := range e.faults.faults {
		f := a.Fault
		if f.Times > 0 {
			f.Times = a.left
		}
		out = append(out, f)
	}
	return out
}

func compileFault(f Fault) (*activeFault, error) {
	method, p, found := strings.Cut(strings.TrimSpace(f.Endpoint), " ")
	if !found {
		method, p = "*", method
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New(`endpoint must be "METHOD /path" or "/path"`)
	}
	a := &activeFault{Fault: f, method: method, left: f.Times}
	if rest, ok := strings.CutPrefix(p, "/client/v4"); ok && (rest == "" || rest[0] == '/') {
		a.full = true
	}
	a.path = strings.Split(strings.Trim(p, "/"), "/")
	for _, seg := range a.path {
		if _, err := path.Match(seg, ""); err != nil {
			return nil, fmt.Errorf("path segment %q: %w", seg, err)
		}
	}
	for _, r := range []float64{f.ErrorRate, f.RateLimitRate, f.DropRate, f.LatencyRate} {
		if r < 0 || r > 1 {
			return nil, errors.New("rates must be between 0 and 1")
		}
	}
	if f.ErrorRate+f.RateLimitRate+f.DropRate > 1+1e-9 {
		return nil, errors.New("error_rate, rate_limit_rate and drop_rate add up to more than 1")
	}
	if f.ErrorStatus == 0 {
		a.ErrorStatus = http.StatusInternalServerError
	} else if f.ErrorStatus < 400 || f.ErrorStatus > 599 || f.ErrorStatus == http.StatusTooManyRequests {
		return nil, errors.New("error_status must be a 4xx or 5xx status (for 429 use rate_limit_rate)")
	}
	if f.ErrorCode == 0 && a.ErrorStatus < 500 {
		a.ErrorCode = codeAuth
	}
	if f.RetryAfter <= 0 {
		a.RetryAfter = time.Second
	}
	if f.Latency < 0 || f.Times < 0 {
		return nil, errors.New("latency and times must not be negative")
	}
	if f.Latency > 0 && f.LatencyRate == 0 {
		a.LatencyRate = 1
	}
	switch f.Drop {
	case "":
		a.Drop = DropRequest
	case DropRequest, DropResponse:
	default:
		return nil, errors.New(`drop must be "request" or "response"`)
	}
	seed := f.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	a.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if f.ErrorRate == 0 && f.RateLimitRate == 0 && f.DropRate == 0 && f.Latency == 0 {
		return nil, errors.New("the fault does nothing: set a rate or a latency")
	}
	return a, nil
}

// matches reports whether the request (method, and path split after the account
// prefix) is one of a's.
func (a *activeFault) matches(method string, full, rel []string) bool {
	if a.method != "*" && a.method != method {
		return false
	}
	target := rel
	if a.full {
		target = full
	}
	return target != nil && matchSegments(a.path, target)
}

func matchSegments(pattern, segs []string) bool {
	if len(pattern) == 0 {
		return len(segs) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchSegments(pattern[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := path.Match(pattern[0], segs[0]); !ok {
		return false
	}
	return matchSegments(pattern[1:], segs[1:])
}

// faultAction is what happens to one request.
type faultAction struct {
	latency    time.Duration
	status     int // 0, 4xx or 5xx
	code       int // Cloudflare's error code of an injected 4xx
	retryAfter time.Duration
	drop       string // "", DropRequest or DropResponse
	endpoint   string
}

// decide picks the action for a request, or reports that no fault matches.
func (s *faultSet) decide(r *http.Request) (faultAction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return faultAction{}, false
	}
	full := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var rel []string
	if len(full) >= 4 && full[0] == "client" && full[1] == "v4" && full[2] == "accounts" {
		rel = full[4:]
	} else if len(full) >= 2 && full[0] == "client" && full[1] == "v4" {
		rel = full[2:]
	}
	for i, a := range s.faults {
		if !a.matches(r.Method, full, rel) {
			continue
		}
		act := faultAction{endpoint: a.Endpoint}
		if a.Latency > 0 && a.rng.Float64() < a.LatencyRate {
			act.latency = a.Latency
		}
		u := a.rng.Float64()
		switch {
		case u < a.DropRate:
			act.drop = a.Drop
		case u < a.DropRate+a.RateLimitRate:
			act.status, act.retryAfter = http.StatusTooManyRequests, a.RetryAfter
		case u < a.DropRate+a.RateLimitRate+a.ErrorRate:
			act.status, act.code = a.ErrorStatus, a.ErrorCode
		}
		if a.Times > 0 {
			a.left--
			if a.left <= 0 {
				s.faults = slices.Delete(slices.Clone(s.faults), i, i+1)
			}
		}
		return act, true
	}
	return faultAction{}, false
}

// withFaults wraps the API handler with the edge's faults.
func (e *Edge) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		act, ok := e.faults.decide(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if act.latency > 0 {
			t := time.NewTimer(act.latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case act.drop == DropRequest:
			e.log.Debug("fault: dropping connection before the request", "method", r.Method, "path", r.URL.Path)
			dropConnection(w, nil)
		case act.drop == DropResponse:
			e.log.Debug("fault: dropping connection mid-response", "method", r.Method, "path", r.URL.Path)
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			dropConnection(w, rec)
		case act.status == http.StatusTooManyRequests:
			w.Header().Set("Retry-After", strconv.FormatInt(ceilSeconds(act.retryAfter), 10))
			e.writeReply(w, r, reply{}, errRateLimited())
		case act.status >= 500:
			writeServerError(w, r, act.status)
		case act.status >= 400:
			e.writeReply(w, r, reply{}, apiErrorf(act.status, act.code, "The edge refused this request: a fault injected for %s", act.endpoint))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeServerError answers an injected server error the way Cloudflare does: the
// Workers API's JSON error for a 500, a gateway's HTML page otherwise.
func writeServerError(w http.ResponseWriter, r *http.Request, status int) {
	if status == http.StatusInternalServerError {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"success":false,"errors":[{"code":10013,"message":"An unknown error has occurred."}],"messages":[],"result":null}`))
		return
	}
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n", text, text)
	}
}

// dropConnection closes the client's connection: at once when rec is nil, else after
// writing rec's status line, headers and half its body.
func dropConnection(w http.ResponseWriter, rec *recorder) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 or a wrapped writer: abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	if rec == nil {
		return
	}
	writePartialResponse(buf.Writer, rec)
	_ = buf.Flush()
}

func writePartialResponse(bw *bufio.Writer, rec *recorder) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h := rec.header.Clone()
	h.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	h.Del("Transfer-Encoding")
	_ = h.Write(bw)
	bw.WriteString("\r\n")
	body := rec.body.Bytes()
	bw.Write(body[:len(body)/2])
}

// recorder keeps a response in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// faultsControl serves /__edge/faults.
func (e *Edge) faultsControl(w http.ResponseWriter, r *http.Request) {
	if err := e.authorizeControl(r); err != nil {
		e.writeReply(w, r, reply{}, err)
		return
	}
	var err error
	switch r.Method {
	case http.MethodGet:
	case http.MethodDelete:
		e.ClearFaults()
	case http.MethodPut, http.MethodPost:
		var req struct {
			Faults []Fault `json:"faults"`
		}
		if err = decodeJSON(r, &req); err == nil {
			if err = e.SetFaults(req.Faults...); err != nil {
				err = errValidation("%v", err)
			}
		}
	default:
		w.Header().Set("Allow", "DELETE, GET, PUT")
		err = apiErrorf(http.StatusMethodNotAllowed, codeAuth, "%s method not allowed for the api_token authentication scheme", r.Method)
	}
	if err != nil {
		e.writeReply(w, r, reply{}, err)
		return
	}
	e.writeReply(w, r, reply{result: map[string]any{"faults": e.Faults()}}, nil)
}
