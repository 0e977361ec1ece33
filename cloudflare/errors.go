package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
)

// Kind says what a caller can do about an error.
type Kind string

const (
	// KindAuth: the API token is wrong or lacks a permission. Retrying does not help.
	KindAuth Kind = "auth"
	// KindValidation: Cloudflare refused the request as malformed or not allowed,
	// including a method an endpoint does not take (405, even though its code is
	// 10000, the authentication code).
	KindValidation Kind = "validation"
	// KindNotFound: the resource does not exist.
	KindNotFound Kind = "not_found"
	// KindConflict: the request conflicts with existing state.
	KindConflict Kind = "conflict"
	// KindRateLimited: too many requests; retry after Error.RetryAfter.
	KindRateLimited Kind = "rate_limited"
	// KindTransient: a server error, timeout or network failure; retry later.
	KindTransient Kind = "transient"
)

// Error is a classified failure of a Cloudflare call. Message is plain enough to show
// to a user; it never contains the API token.
type Error struct {
	Kind Kind
	// Op is what appforge was doing, e.g. "upload assets of app-x".
	Op string
	// Status is the HTTP status (0 when no response arrived); Code is the first
	// Cloudflare error code (0 when there was none).
	Status, Code int
	Message      string
	// RetryAfter is the delay Cloudflare asked for (rate limits), zero when none.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Op == "" {
		return e.Message
	}
	return e.Op + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later: rate limits and
// transient failures.
func (e *Error) Retryable() bool {
	return e.Kind == KindTransient || e.Kind == KindRateLimited
}

// KindOf returns the kind of err if it is (or wraps) an *Error, else "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// Classify wraps any error from the SDK or the network into an *Error; nil stays nil
// and an *Error is returned unchanged.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	return classify("", err, nil)
}

// classify builds the *Error for err. resp, when not nil, is the raw response of the
// call: it carries the status even when the body was not Cloudflare's JSON (a proxy's
// HTML error page), which the SDK then reports as a bare decoding error.
func classify(op string, err error, resp *http.Response) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		if ce.Op == "" && op != "" {
			c := *ce
			c.Op = op
			return &c
		}
		return ce
	}
	e := &Error{Op: op, Err: err}
	var apiErr *cf.Error
	switch {
	case errors.As(err, &apiErr):
		e.Status = apiErr.StatusCode
		if apiErr.Response != nil {
			resp = apiErr.Response
			if e.Status == 0 {
				e.Status = resp.StatusCode
			}
		}
		detail := describeAPIErrors(apiErr)
		if len(apiErr.Errors) > 0 {
			e.Code = int(apiErr.Errors[0].Code)
		}
		path := ""
		if apiErr.Request != nil && apiErr.Request.URL != nil {
			path = apiErr.Request.URL.Path
		}
		e.Kind, e.Message = kindForStatus(e.Status, e.Code, detail, path)
		if a, ok := codeAdvice[e.Code]; ok && e.Status >= 400 && e.Status < 500 &&
			e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden && e.Status != http.StatusTooManyRequests {
			e.Kind = a.kind
			e.Message = fmt.Sprintf("%s (HTTP %d, code %d: %s)", a.advice, e.Status, e.Code, detail)
		}
	case resp != nil && resp.StatusCode >= 400:
		// An error status without Cloudflare's JSON body.
		e.Status = resp.StatusCode
		e.Kind, e.Message = kindForStatus(e.Status, 0, http.StatusText(resp.StatusCode)+" (the response was not Cloudflare's JSON)", "")
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Message = KindTransient, "the request to Cloudflare timed out"
	case errors.Is(err, context.Canceled):
		e.Kind, e.Message = KindTransient, "the request to Cloudflare was cancelled"
	case isNetworkError(err):
		e.Kind, e.Message = KindTransient, "could not reach Cloudflare: "+networkDetail(err)
	case isJSONError(err):
		e.Kind, e.Message = KindTransient, "Cloudflare answered with a response appforge could not read: "+err.Error()
	default:
		// An SDK failure: retrying may help, and the workflow's retry policy bounds it.
		e.Kind, e.Message = KindTransient, "unexpected failure talking to Cloudflare: "+err.Error()
	}
	if e.Kind == KindRateLimited && resp != nil {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if e.RetryAfter > 0 {
			e.Message += fmt.Sprintf("; retry after %s", e.RetryAfter.Round(time.Second))
		}
	}
	return e
}

// codeCouldNotRoute is Cloudflare's "Could not route to ..., perhaps your object
// identifier is invalid?".
const codeCouldNotRoute = 7003

// Cloudflare error codes whose meaning a caller acts on (Error.Code). Where each was
// found is noted beside the edge's answers (package edge: zones.go, dns.go,
// workerdomains.go, customhostnames.go).
const (
	// CodeZoneExists: the account already has the zone (400). EnsureZone reuses it.
	CodeZoneExists = 1061
	// CodeHostnameInUse: the hostname is a Workers Custom Domain of another Worker
	// (409).
	CodeHostnameInUse = 100116
	// CodeHostnameHasDNSRecords: the hostname has DNS records a Custom Domain did not
	// make (409).
	CodeHostnameHasDNSRecords = 100117
	// CodeDuplicateCustomHostname: the hostname is already a custom hostname, in this
	// account or another (409).
	CodeDuplicateCustomHostname = 1406
	// CodeDNSRecordConflict: a CNAME where an A, AAAA or CNAME record of that name
	// exists (400).
	CodeDNSRecordConflict = 81053
	// CodeCNAMEExists: an A or AAAA record where a CNAME of that name exists (400).
	CodeCNAMEExists = 81054
	// CodeDNSRecordExists: the same record exists (400).
	CodeDNSRecordExists = 81057
	// CodeWorkersManagedRecord: a Workers Custom Domain's record is on that name
	// (400).
	CodeWorkersManagedRecord = 81062
)

// Codes classify uses without exporting them.
const (
	codeZoneNotDomain   = 1099
	codeZoneIsSubdomain = 1116
	codeInvalidZone     = 1001
	codeInvalidZone2    = 1003
	// codeNoEntrypoint is "could not find entrypoint ruleset in the <phase> phase"
	// (404): a zone that never had a redirect rule.
	codeNoEntrypoint = 10003
)

// codeAdvice gives the kind and a plain explanation of the codes whose meaning
// matters more than their HTTP status: a conflict is a conflict whether Cloudflare
// says 400 or 409, and the user needs to know what to do about it.
var codeAdvice = map[int]struct {
	kind   Kind
	advice string
}{
	CodeZoneExists: {KindConflict, "the zone is already in this Cloudflare account"},
	codeZoneNotDomain: {KindValidation, "Cloudflare does not see this name as a registered domain: " +
		"add the root domain (example.com, not www.example.com) and check that it is registered"},
	codeZoneIsSubdomain: {KindValidation, "this name is a subdomain of a zone the account already has: use that zone"},
	CodeHostnameInUse: {KindConflict, "the hostname is already attached to another Worker: " +
		"detach it from that Worker first, or choose another hostname"},
	CodeHostnameHasDNSRecords: {KindConflict, "the hostname already has DNS records (A, AAAA or CNAME) that appforge did not make: " +
		"delete them in the zone's DNS settings (Cloudflare dashboard, DNS, Records) or choose another hostname, then try again"},
	CodeDuplicateCustomHostname: {KindConflict, "the hostname is already registered as a custom hostname, in this Cloudflare account or in another one: " +
		"remove it there first, or choose another hostname"},
	CodeDNSRecordConflict: {KindConflict, "an A, AAAA or CNAME record with that name already exists, and a CNAME cannot share its name: " +
		"delete or change the existing record first"},
	CodeCNAMEExists:     {KindConflict, "a CNAME record with that name already exists: delete it first, or change it instead of adding an address record"},
	CodeDNSRecordExists: {KindConflict, "the same DNS record already exists"},
	CodeWorkersManagedRecord: {KindConflict, "a Workers Custom Domain manages the DNS record of that name: " +
		"detach the Custom Domain instead of changing its record"},
	codeInvalidZone:  {KindNotFound, "Cloudflare does not know this zone (it may have been deleted)"},
	codeInvalidZone2: {KindNotFound, "Cloudflare does not know this zone (it may have been deleted)"},
	codeNoEntrypoint: {KindNotFound, "the zone has no rules of this kind yet"},
}

// kindForStatus maps an HTTP status to a kind and a plain message; path is the
// request's path, when known.
func kindForStatus(status, code int, detail, path string) (Kind, string) {
	withCode := func(what string) string {
		if code != 0 {
			return fmt.Sprintf("%s (HTTP %d, code %d): %s", what, status, code, detail)
		}
		return fmt.Sprintf("%s (HTTP %d): %s", what, status, detail)
	}
	switch {
	case status == http.StatusMethodNotAllowed:
		// Cloudflare answers a method a path does not take with 405 and code 10000,
		// "<METHOD> method not allowed for the api_token authentication scheme" (a
		// PATCH on .../secrets, which takes PUT, is the classic case). The code is
		// the authentication code, but the token is fine: the call is wrong.
		return KindValidation, withCode("Cloudflare does not take this HTTP method on this endpoint; this is a bug in the caller, not a token problem")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		msg := "Cloudflare rejected the API token"
		if code != 0 {
			msg += fmt.Sprintf(" (code %d)", code)
		}
		perm := "the Workers Scripts: Edit permission for this account"
		if strings.Contains(path, "/zones") || strings.Contains(path, "/workers/domains") {
			perm = "the permissions custom domains need: Zone: Edit, DNS: Edit, SSL and Certificates: Edit, " +
				"Zone Settings: Edit, Workers Routes: Edit, Dynamic URL Redirects: Edit and Custom Hostnames: Edit"
		}
		return KindAuth, msg + ": " + detail +
			". Check that CLOUDFLARE_API_TOKEN is valid and has " + perm
	case code == codeCouldNotRoute:
		// Cloudflare's answer to an account (or zone) ID it cannot route to.
		kind := KindValidation
		if status == http.StatusNotFound {
			kind = KindNotFound
		}
		if strings.Contains(path, "/zones/") {
			return kind, withCode("Cloudflare does not know this zone or an object in it (it may have been deleted)")
		}
		return kind, withCode("Cloudflare does not know this account; check CLOUDFLARE_ACCOUNT_ID")
	case status == http.StatusNotFound:
		return KindNotFound, withCode("Cloudflare found no such resource")
	case status == http.StatusConflict:
		return KindConflict, withCode("Cloudflare reported a conflict")
	case status == http.StatusTooManyRequests:
		return KindRateLimited, withCode("Cloudflare is rate-limiting requests")
	case status == http.StatusRequestTimeout || status >= 500:
		return KindTransient, withCode("Cloudflare had a temporary problem")
	default: // 400, 405, 413, 422 and other client errors
		return KindValidation, withCode("Cloudflare refused the request")
	}
}

// redact replaces every occurrence of secret in s.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// describeAPIErrors joins the messages of Cloudflare's errors list.
func describeAPIErrors(apiErr *cf.Error) string {
	var parts []string
	for _, d := range apiErr.Errors {
		if d.Message != "" {
			parts = append(parts, d.Message)
		}
	}
	if len(parts) == 0 {
		return http.StatusText(apiErr.StatusCode)
	}
	return strings.Join(parts, "; ")
}

func isNetworkError(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	var opErr *net.OpError
	return errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.As(err, &opErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// networkDetail describes a network failure without the request URL's query.
func networkDetail(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// isJSONError reports whether err is a JSON decoding failure.
func isJSONError(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typ)
}
