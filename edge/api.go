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
	"strconv"
	"strings"
	"time"
)

// Cloudflare error codes the edge answers with. Where each was observed:
//   - 10000 "Authentication error", 403: a bad API token (REFERENCE.md), and a
//     token without the permission a call needs, here a read-only token's change
//     (Config.ReadOnlyTokens); also the code of "<METHOD> method not allowed for the api_token authentication
//     scheme", 405 (community reports, e.g. PUT .../workers/scripts/x/settings).
//   - 7003 "Could not route to ..., perhaps your object identifier is invalid?" and
//     7000 "No route for that URI": an unknown account or path (observed bodies in
//     client test fixtures, e.g. favonia/cloudflare-ddns).
//   - 10007 "workers.api.error.script_not_found", 404: no such Worker (wrangler's
//     new-Worker check relies on it).
//   - 10021: the Workers API's validation error ("... [code: 10021]" in wrangler
//     output).
//   - 10013 "An unknown error has occurred.": the Workers API's internal error.
//   - 10053 and 10056: a binding name in use, a binding not found (bindings.go).
//   - 971 "Please wait and consider throttling your request speed", 429: the API's
//     rate limit (ratelimit.go).
//
// A method a route does not take gets 405 with code 10000 and "<METHOD> method not
// allowed for the api_token authentication scheme", in a body of success and errors
// only: {"success":false,"errors":[{"code":10000,"message":"PUT method not allowed
// for the api_token authentication scheme"}]} is the body users quote (e.g. for a
// PUT on a DNS records collection, which takes only GET and POST; and "PATCH method
// not allowed ..." for a PATCH on a path without one, the seed project's PATCH on
// .../secrets among them; Cloudflare Community threads 381292 and 505411).
const (
	codeAuth            = 10000
	codeNoRoute         = 7000
	codeCouldNotRoute   = 7003
	codeNotFound        = 10007
	codeValidation      = 10021
	codeUnknown         = 10013
	codeBindingInUse    = 10053
	codeBindingNotFound = 10056
)

// cfError is one entry of the envelope's errors (and messages) list.
type cfError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	// ErrorChain details a validation error, as Cloudflare's DNS API does
	// ({"code":1004,"message":"DNS Validation Error","error_chain":[{"code":9005,...}]}).
	ErrorChain []cfError `json:"error_chain,omitempty"`
}

// envelope is Cloudflare's response body.
type envelope struct {
	Success    bool      `json:"success"`
	Errors     []cfError `json:"errors"`
	Messages   []cfError `json:"messages"`
	Result     any       `json:"result"`
	ResultInfo any       `json:"result_info,omitempty"`
	// ID repeats the deleted object's id at the top level, where cloudflare-go
	// reads the answer of DELETE .../custom_hostnames/{id} (its
	// CustomHostnameDeleteResponse is decoded from the whole body).
	ID string `json:"id,omitempty"`
}

// apiError is a Cloudflare-style failure: an HTTP status and one or more coded errors.
type apiError struct {
	status int
	errs   []cfError
	allow  string // the Allow header of a 405
	// bare leaves messages and result out of the body, as Cloudflare's 405 does.
	bare bool
	// retryAfter, when positive, is sent as Retry-After (rounded up to seconds).
	retryAfter time.Duration
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
	status     int // 0 means 200
	result     any
	resultInfo any
	topID      string // see envelope.ID
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
	// apiToken: Authorization: Bearer <the configured API token, or one of the
	// read-only tokens>; route and routeGlobal then refuse a read-only token's
	// changes (authorize).
	apiToken authScheme = iota
	// uploadToken: Authorization: Bearer <an upload JWT issued by this edge>; the
	// verified claims reach the handler through the request context.
	uploadToken
)

// methods maps HTTP methods to handlers for one route.
type methods map[string]apiFunc

const accountPrefix = "/client/v4/accounts/{account}"

// routes is the API's route table. New resources (zones, DNS records, custom
// domains) are new lines here and new handler files. Rate limiting is part of wrap;
// fault injection wraps the handler returned here (Handler).
func (e *Edge) routes() http.Handler {
	mux := http.NewServeMux()
	e.routeGlobal(mux, "/client/v4/memberships", methods{http.MethodGet: e.listMemberships})
	e.routeGlobal(mux, "/client/v4/accounts", methods{http.MethodGet: e.listAccounts})
	e.routeGlobal(mux, "/client/v4/user", methods{http.MethodGet: e.getUser})
	e.routeGlobal(mux, "/client/v4/user/tokens/verify", methods{http.MethodGet: e.verifyToken})
	e.route(mux, "", apiToken, methods{
		http.MethodGet: e.getAccount,
	})
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
		http.MethodGet:   e.getScriptSettings,
		http.MethodPatch: e.patchScriptSettings,
	})
	e.route(mux, "/workers/scripts/{script}/script-settings", apiToken, methods{
		http.MethodGet:   e.getScriptOnlySettings,
		http.MethodPatch: e.patchScriptOnlySettings,
	})
	// No PATCH: Cloudflare refuses it with 405 and code 10000 (see route).
	e.route(mux, "/workers/scripts/{script}/secrets", apiToken, methods{
		http.MethodGet: e.listSecrets,
		http.MethodPut: e.putSecret,
	})
	e.route(mux, "/workers/scripts/{script}/secrets/{name}", apiToken, methods{
		http.MethodGet:    e.getSecret,
		http.MethodDelete: e.deleteSecret,
	})
	e.route(mux, "/workers/scripts/{script}/versions", apiToken, methods{
		http.MethodGet:  e.listVersions,
		http.MethodPost: e.postVersion,
	})
	e.route(mux, "/workers/scripts/{script}/versions/{version}", apiToken, methods{
		http.MethodGet: e.getVersion,
	})
	e.route(mux, "/workers/scripts/{script}/deployments", apiToken, methods{
		http.MethodGet:  e.listDeployments,
		http.MethodPost: e.postDeployment,
	})
	e.route(mux, "/workers/scripts/{script}/deployments/{deployment}", apiToken, methods{
		http.MethodGet: e.getDeployment,
	})
	e.route(mux, "/workers/services/{script}", apiToken, methods{
		http.MethodGet: e.getService,
	})
	e.route(mux, "/workers/workers/{script}", apiToken, methods{
		http.MethodGet: e.getWorker,
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
	e.routeDomains(mux)
	mux.Handle("/", e.wrap(apiToken, func(r *http.Request) (reply, error) {
		return reply{}, errCouldNotRoute(r.URL.Path)
	}))
	return mux
}

// route registers one account-scoped path with its methods. A method it does not
// list gets Cloudflare's 405 with code 10000.
func (e *Edge) route(mux *http.ServeMux, path string, auth authScheme, ms methods) {
	mux.Handle(accountPrefix+path, e.wrap(auth, func(r *http.Request) (reply, error) {
		fn, err := ms.lookup(r)
		if err != nil {
			return reply{}, err
		}
		if r.PathValue("account") != e.cfg.AccountID {
			return reply{}, errCouldNotRoute(r.URL.Path)
		}
		if err := authorize(r); err != nil {
			return reply{}, err
		}
		return fn(r)
	}))
}

// routeGlobal registers a path outside any account, authorised by the API token.
func (e *Edge) routeGlobal(mux *http.ServeMux, path string, ms methods) {
	mux.Handle(path, e.wrap(apiToken, func(r *http.Request) (reply, error) {
		fn, err := ms.lookup(r)
		if err != nil {
			return reply{}, err
		}
		if err := authorize(r); err != nil {
			return reply{}, err
		}
		return fn(r)
	}))
}

// lookup returns the handler of r's method, or Cloudflare's 405.
func (ms methods) lookup(r *http.Request) (apiFunc, error) {
	if fn, ok := ms[r.Method]; ok {
		return fn, nil
	}
	allowed := make([]string, 0, len(ms))
	for m := range ms {
		allowed = append(allowed, m)
	}
	slices.Sort(allowed)
	return nil, errMethodNotAllowed(r.Method, strings.Join(allowed, ", "))
}

func errMethodNotAllowed(method, allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, allow: allow, bare: true, errs: []cfError{{
		Code:    codeAuth,
		Message: fmt.Sprintf("%s method not allowed for the api_token authentication scheme", method),
	}}}
}

// wrap authenticates, applies the rate limit, runs fn and writes Cloudflare's
// envelope.
func (e *Edge) wrap(auth authScheme, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var rep reply
		authed, err := e.authenticate(r, auth)
		if err == nil && e.limiter != nil {
			// Requests with an upload token count against the account's user, whose
			// API token started the upload session; so do a read-only token's, as
			// Cloudflare's limit is per user.
			d := e.limiter.take(e.cfg.APIToken, e.now())
			e.limiter.setHeaders(w.Header(), d)
			if !d.allowed {
				err = errRateLimited()
				e.log.Warn("api rate limit reached", "method", r.Method, "path", r.URL.Path,
					"retry_after", d.retryAfter)
			}
		}
		if err == nil {
			rep, err = fn(authed)
		}
		status := e.writeReply(w, r, rep, err)
		e.log.Debug("api request", "method", r.Method, "path", r.URL.Path,
			"status", status, "duration", time.Since(start))
	})
}

// authenticate checks the caller for the route's scheme and returns the request
// carrying what it learned (upload-token claims, what the token may do, for
// authorize). It never logs or echoes the presented credential.
func (e *Edge) authenticate(r *http.Request, auth authScheme) (*http.Request, error) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch auth {
	case uploadToken:
		c, err := e.tokens.verify(bearer, purposeUpload, e.now())
		if err != nil {
			return nil, errUploadToken(err)
		}
		// Only a full-access token can start the upload session that issues one.
		ctx := context.WithValue(r.Context(), claimsKey{}, c)
		return r.WithContext(context.WithValue(ctx, accessKey{}, accessFull)), nil
	default:
		a, ok := e.tokenAccess(bearer)
		if !ok {
			return nil, errAuthentication()
		}
		return r.WithContext(context.WithValue(r.Context(), accessKey{}, a)), nil
	}
}

// access is what an authenticated API token may do.
type access int

const (
	// accessReadOnly: GET and HEAD only (Config.ReadOnlyTokens). The zero value, so
	// that a request authenticate did not mark may not change anything.
	accessReadOnly access = iota
	// accessFull: everything (Config.APIToken, and upload tokens).
	accessFull
)

type accessKey struct{}

// authorizeControl authenticates a request to one of the edge's own controls
// (faults, domains) with an API token and authorizes it as the API does: a
// read-only token may only look.
func (e *Edge) authorizeControl(r *http.Request) error {
	authed, err := e.authenticate(r, apiToken)
	if err != nil {
		return err
	}
	return authorize(authed)
}

// tokenAccess returns what bearer may do, and false when it is none of the
// account's API tokens. Every comparison takes constant time.
func (e *Edge) tokenAccess(bearer string) (access, bool) {
	if bearer == "" {
		return 0, false
	}
	b := []byte(bearer)
	if subtle.ConstantTimeCompare(b, []byte(e.cfg.APIToken)) == 1 {
		return accessFull, true
	}
	found := false
	for _, t := range e.cfg.ReadOnlyTokens {
		if subtle.ConstantTimeCompare(b, []byte(t)) == 1 {
			found = true
		}
	}
	return accessReadOnly, found
}

// authorize refuses a change (any method but GET and HEAD) unless authenticate
// found a full-access token, with what Cloudflare answers a token that lacks the
// permission: 403, code 10000, "Authentication error".
func authorize(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if a, _ := r.Context().Value(accessKey{}).(access); a != accessFull {
		return errAuthentication()
	}
	return nil
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
		if ae.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(ceilSeconds(ae.retryAfter), 10))
		}
		if ae.bare {
			body, _ := json.Marshal(struct {
				Success bool      `json:"success"`
				Errors  []cfError `json:"errors"`
			}{false, ae.errs})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
			return status
		}
	} else if rep.rawType != "" {
		w.Header().Set("Content-Type", rep.rawType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(rep.raw)
		return http.StatusOK
	} else {
		env.Success = true
		env.Result = rep.result
		env.ResultInfo = rep.resultInfo
		env.ID = rep.topID
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

// readRequestBody reads a request body of at most limit bytes.
func readRequestBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return nil, bodyError(err)
	}
	return body, nil
}

// decodeJSON reads a JSON request body into v.
func decodeJSON(r *http.Request, v any) error {
	body, err := readRequestBody(r, maxJSONBody)
	if err != nil {
		return err
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

// routeDomains registers the zone, DNS, custom domain, custom hostname, certificate,
// settings, route and ruleset endpoints.
func (e *Edge) routeDomains(mux *http.ServeMux) {
	e.routeGlobal(mux, "/client/v4/zones", methods{
		http.MethodGet:  e.listZones,
		http.MethodPost: e.createZone,
	})
	e.routeZone(mux, "", methods{
		http.MethodGet:    e.getZone,
		http.MethodDelete: e.deleteZone,
	})
	e.routeZone(mux, "/activation_check", methods{
		http.MethodPut: e.activationCheck,
	})
	e.routeZone(mux, "/dns_records", methods{
		http.MethodGet:  e.listRecords,
		http.MethodPost: e.createRecord,
	})
	e.routeZone(mux, "/dns_records/{record}", methods{
		http.MethodGet:    e.getRecord,
		http.MethodPut:    e.putRecord,
		http.MethodPatch:  e.patchRecord,
		http.MethodDelete: e.deleteRecord,
	})
	e.routeZone(mux, "/custom_hostnames", methods{
		http.MethodGet:  e.listCustomHostnames,
		http.MethodPost: e.createCustomHostname,
	})
	e.routeZone(mux, "/custom_hostnames/fallback_origin", methods{
		http.MethodGet:    e.getFallbackOrigin,
		http.MethodPut:    e.putFallbackOrigin,
		http.MethodDelete: e.deleteFallbackOrigin,
	})
	e.routeZone(mux, "/custom_hostnames/{id}", methods{
		http.MethodGet:    e.getCustomHostname,
		http.MethodPatch:  e.editCustomHostname,
		http.MethodDelete: e.deleteCustomHostname,
	})
	e.routeZone(mux, "/ssl/certificate_packs", methods{
		http.MethodGet: e.listCertificatePacks,
	})
	e.routeZone(mux, "/ssl/certificate_packs/{pack}", methods{
		http.MethodGet: e.getCertificatePack,
	})
	e.routeZone(mux, "/settings/{setting}", methods{
		http.MethodGet:   e.getZoneSetting,
		http.MethodPatch: e.patchZoneSetting,
	})
	e.routeZone(mux, "/workers/routes", methods{
		http.MethodGet:  e.listRoutes,
		http.MethodPost: e.createRoute,
	})
	e.routeZone(mux, "/workers/routes/{route}", methods{
		http.MethodGet:    e.getRoute,
		http.MethodPut:    e.putRoute,
		http.MethodDelete: e.deleteRoute,
	})
	e.routeZone(mux, "/rulesets/phases/{phase}/entrypoint", methods{
		http.MethodGet: e.getEntrypoint,
		http.MethodPut: e.putEntrypoint,
	})
	e.route(mux, "/workers/domains", apiToken, methods{
		http.MethodGet: e.listWorkerDomains,
		http.MethodPut: e.putWorkerDomain,
	})
	e.route(mux, "/workers/domains/{domain}", apiToken, methods{
		http.MethodGet:    e.getWorkerDomain,
		http.MethodDelete: e.deleteWorkerDomain,
	})
}
