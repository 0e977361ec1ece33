package edge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Cloudflare error codes the edge answers with. Where each was observed:
//   - 10000 "Authentication error", 403: a bad API token (REFERENCE.md); also the
//     code of "<METHOD> method not allowed for the api_token authentication
//     scheme", 405 (community reports, e.g. PUT .../workers/scripts/x/settings).
//   - 7003 "Could not route to ..., perhaps your object identifier is invalid?" and
//     7000 "No route for that URI": an unknown account or path (observed bodies in
//     client test fixtures, e.g. favonia/cloudflare-ddns).
//   - 10007 "workers.api.error.script_not_found", 404: no such Worker (wrangler's
//     new-Worker check relies on it).
//   - 10021: the Workers API's validation error ("... [code: 10021]" in wrangler
//     output).
//   - 10013 "An unknown error has occurred.": the Workers API's internal error.
const (
	codeAuth          = 10000
	codeNoRoute       = 7000
	codeCouldNotRoute = 7003
	codeNotFound      = 10007
	codeValidation    = 10021
	codeUnknown       = 10013
)

// cfError is one entry of the envelope's errors (and messages) list.
type cfError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// envelope is Cloudflare's response body.
type envelope struct {
	Success    bool      `json:"success"`
	Errors     []cfError `json:"errors"`
	Messages   []cfError `json:"messages"`
	Result     any       `json:"result"`
	ResultInfo any       `json:"result_info,omitempty"`
}

// apiError is a Cloudflare-style failure: an HTTP status and one or more coded errors.
type apiError struct {
	status int
	errs   []cfError
	allow  string // the Allow header of a 405
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.errs))
	for i, x := range e.errs {
		parts[i] = fmt.Sprintf("%d %s", x.Code, x.Message)
	}
	return fmt.Sprintf("%d: %s", e.status, strings.Join(parts, "; "))
}

func apiErrorf(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, errs: []cfError{{Code: code, Message: fmt.Sprintf(format, args...)}}}
}

func errAuthentication() *apiError {
	return apiErrorf(http.StatusForbidden, codeAuth, "Authentication error")
}

// errUploadToken refuses an upload token. Cloudflare's exact body for this case is
// not documented; clients (wrangler, alchemy) treat it as an authorisation failure
// and start a new session, so the edge answers 401 with the authentication code.
func errUploadToken(err error) *apiError {
	return apiErrorf(http.StatusUnauthorized, codeAuth, "Unauthorized: %v", err)
}

func errCouldNotRoute(path string) *apiError {
	return &apiError{status: http.StatusNotFound, errs: []cfError{
		{Code: codeCouldNotRoute, Message: fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", path)},
		{Code: codeNoRoute, Message: "No route for that URI"},
	}}
}

func errScriptNotFound() *apiError {
	return apiErrorf(http.StatusNotFound, codeNotFound, "workers.api.error.script_not_found")
}

func errValidation(format string, args ...any) *apiError {
	return apiErrorf(http.StatusBadRequest, codeValidation, format, args...)
}

// reply is a successful API result.
type reply struct {
	status int // 0 means 200
	result any
	// raw, with rawType set, is sent as is instead of an envelope (GET of a
	// script's content answers the module, not JSON).
	raw     []byte
	rawType string
}

func ok(result any) (reply, error) { return reply{result: result}, nil }

// apiFunc handles one method of one API route. It returns the result to wrap in the
// envelope, or an error: an *apiError is sent as is, anything else is logged and
// answered with 500 and code 10013.
type apiFunc func(r *http.Request) (reply, error)

// authScheme says how a route authenticates its caller.
type authScheme int

const (
	// apiToken: Authorization: Bearer <the configured API token>.
	apiToken authScheme = iota
	// uploadToken: Authorization: Bearer <an upload JWT issued by this edge>; the
	// verified claims reach the handler through the request context.
	uploadToken
)

// methods maps HTTP methods to handlers for one route.
type methods map[string]apiFunc

const accountPrefix = "/client/v4/accounts/{account}"

// routes is the API's route table. New resources (secrets, script settings, zones,
// DNS records, custom domains) are new lines here and new handler files; rate
// limiting and fault injection wrap the handler returned here.
func (e *Edge) routes() http.Handler {
	mux := http.NewServeMux()
	e.route(mux, "/workers/subdomain", apiToken, methods{
		http.MethodGet: e.getAccountSubdomain,
	})
	e.route(mux, "/workers/scripts", apiToken, methods{
		http.MethodGet: e.listScripts,
	})
	e.route(mux, "/workers/scripts/{script}", apiToken, methods{
		http.MethodGet:    e.getScript,
		http.MethodPut:    e.putScript,
		http.MethodDelete: e.deleteScript,
	})
	e.route(mux, "/workers/scripts/{script}/settings", apiToken, methods{
		http.MethodGet: e.getScriptSettings,
	})
	e.route(mux, "/workers/scripts/{script}/subdomain", apiToken, methods{
		http.MethodGet:    e.getScriptSubdomain,
		http.MethodPost:   e.postScriptSubdomain,
		http.MethodDelete: e.deleteScriptSubdomain,
	})
	e.route(mux, "/workers/scripts/{script}/assets-upload-session", apiToken, methods{
		http.MethodPost: e.createUploadSession,
	})
	e.route(mux, "/workers/assets/upload", uploadToken, methods{
		http.MethodPost: e.uploadAssets,
	})
	mux.Handle("/", e.wrap(apiToken, func(r *http.Request) (reply, error) {
		return reply{}, errCouldNotRoute(r.URL.Path)
	}))
	return mux
}

// route registers one account-scoped path with its methods. A method it does not
// list gets Cloudflare's 405 with code 10000.
func (e *Edge) route(mux *http.ServeMux, path string, auth authScheme, ms methods) {
	allowed := make([]string, 0, len(ms))
	for m := range ms {
		allowed = append(allowed, m)
	}
	slices.Sort(allowed)
	mux.Handle(accountPrefix+path, e.wrap(auth, func(r *http.Request) (reply, error) {
		fn, ok := ms[r.Method]
		if !ok {
			return reply{}, &apiError{status: http.StatusMethodNotAllowed, allow: strings.Join(allowed, ", "), errs: []cfError{{
				Code:    codeAuth,
				Message: fmt.Sprintf("%s method not allowed for the api_token authentication scheme", r.Method),
			}}}
		}
		if r.PathValue("account") != e.cfg.AccountID {
			return reply{}, errCouldNotRoute(r.URL.Path)
		}
		return fn(r)
	}))
}

// wrap authenticates, runs fn and writes Cloudflare's envelope.
func (e *Edge) wrap(auth authScheme, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var rep reply
		authed, err := e.authenticate(r, auth)
		if err == nil {
			rep, err = fn(authed)
		}
		status := e.writeReply(w, r, rep, err)
		e.log.Debug("api request", "method", r.Method, "path", r.URL.Path,
			"status", status, "duration", time.Since(start))
	})
}

// authenticate checks the caller for the route's scheme and returns the request
// carrying what it learned (upload-token claims). It never logs or echoes the
// presented credential.
func (e *Edge) authenticate(r *http.Request, auth authScheme) (*http.Request, error) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch auth {
	case uploadToken:
		c, err := e.tokens.verify(bearer, purposeUpload, e.now())
		if err != nil {
			return nil, errUploadToken(err)
		}
		return r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)), nil
	default:
		if bearer == "" || subtle.ConstantTimeCompare([]byte(bearer), []byte(e.cfg.APIToken)) != 1 {
			return nil, errAuthentication()
		}
		return r, nil
	}
}

type claimsKey struct{}

// requestClaims returns the upload-token claims authenticate verified.
func requestClaims(r *http.Request) tokenClaims {
	c, _ := r.Context().Value(claimsKey{}).(tokenClaims)
	return c
}

// writeReply writes the envelope for rep or err and returns the status sent.
func (e *Edge) writeReply(w http.ResponseWriter, r *http.Request, rep reply, err error) int {
	env := envelope{Errors: []cfError{}, Messages: []cfError{}}
	status := http.StatusOK
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			e.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			ae = apiErrorf(http.StatusInternalServerError, codeUnknown, "An unknown error has occurred.")
		}
		status = ae.status
		env.Errors = ae.errs
		if ae.allow != "" {
			w.Header().Set("Allow", ae.allow)
		}
	} else if rep.rawType != "" {
		w.Header().Set("Content-Type", rep.rawType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(rep.raw)
		return http.StatusOK
	} else {
		env.Success = true
		env.Result = rep.result
		if rep.status != 0 {
			status = rep.status
		}
	}
	body, jerr := json.Marshal(env)
	if jerr != nil {
		e.log.Error("encode api response", "path", r.URL.Path, "err", jerr)
		status = http.StatusInternalServerError
		body = []byte(`{"success":false,"errors":[{"code":10013,"message":"An unknown error has occurred."}],"messages":[],"result":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// Request body limits. Cloudflare's own limits are larger for paid plans; these
// keep a local process safe.
const (
	maxJSONBody   = 16 << 20  // manifests of tens of thousands of files
	maxUploadBody = 128 << 20 // one bucket of base64 asset contents
	maxScriptBody = 64 << 20  // metadata plus modules
)

// decodeJSON reads a JSON request body into v.
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err != nil {
		return bodyError(err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errValidation("request body is not valid JSON: %v", err)
	}
	return nil
}

// bodyError maps a failure to read a request body to an API error.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apiErrorf(http.StatusRequestEntityTooLarge, codeValidation,
			"request body is larger than %d bytes", tooBig.Limit)
	}
	return errValidation("could not read request body: %v", err)
}
