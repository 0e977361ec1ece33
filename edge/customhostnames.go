package edge

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Custom hostnames (Cloudflare for SaaS): POST and GET /zones/{zone}/custom_hostnames,
// GET, PATCH and DELETE /zones/{zone}/custom_hostnames/{id}; the zone's fallback
// origin at /zones/{zone}/custom_hostnames/fallback_origin (PUT, GET, DELETE).
//
// Cloudflare's behaviour, and where it was found:
//   - Success codes: POST 201, GET 200, DELETE 200, PATCH 202 (the "Custom hostnames"
//     status-code reference of Cloudflare for SaaS, cloudflare-docs
//     .../cloudflare-for-saas/reference/status-codes/custom-hostnames.mdx).
//   - From the same table: 409 1406 "Duplicate custom hostname found."; 400 1407
//     "Invalid custom hostname. ..."; 400 1432 for a validation method other than
//     http, email or txt; 400 1433 for a type other than dv; 400 1440 "Both
//     validation type and validation method are required."; 404 1436 "The custom
//     hostname was not found.". The edge validates by http and txt (not email), and
//     does not refuse reserved or example.* names (1409, 1411), so that local demos
//     can use them.
//   - The result: status (pending -> active), verification_errors while pending
//     (e.g. "custom hostname does not CNAME to this zone."), ownership_verification
//     {type: "txt", name: "_cf-custom-hostname.<host>", value} and
//     ownership_verification_http {http_url:
//     "http://<host>/.well-known/cf-custom-hostname-challenge/<id>", http_body}
//     (pre-validation docs and the API schema), and ssl {status, method, type,
//     validation_records [{txt_name, txt_value} | {http_url, http_body}],
//     validation_errors [{message}]}. ssl.status moves initializing ->
//     pending_validation -> pending_issuance -> pending_deployment -> active
//     (REFERENCE.md; custom_hostnames.CustomHostnameNewResponseSSLStatus lists these
//     and the failures, e.g. validation_timed_out). A hostname serves only when both
//     status and ssl.status are active.
//   - "If http is used and the domain is not already pointing to the Managed CNAME
//     host, the PATCH method must be used once it is (to complete validation)" (the
//     SDK's doc of POST): on the edge a PATCH restarts a failed validation.
//
// On the edge every step takes Config.CustomHostnameDelay; the hostname's status
// becomes active after one. The control endpoint can block a hostname, mark it
// moved, set any ssl status, or make validation fail.
const (
	codeHostnameDuplicate  = 1406
	codeHostnameInvalid    = 1407
	codeHostnameMethod     = 1432
	codeHostnameType       = 1433
	codeHostnameNotFound   = 1436
	codeHostnameNeedsBoth  = 1440
	defaultHostnamesPerPge = 20
	fallbackActive         = "active"
	fallbackPending        = "pending_deployment"
	msgNotCNAME            = "custom hostname does not CNAME to this zone."
	msgValidationTimedOut  = "the validation record was not found before the validation timed out"
)

// customHostname is one custom hostname of a zone.
type customHostname struct {
	ID                 string            `json:"id"`
	ZoneID             string            `json:"zone_id"`
	Hostname           string            `json:"hostname"`
	Status             string            `json:"status"`
	StatusSince        time.Time         `json:"status_since"`
	CreatedOn          time.Time         `json:"created_on"`
	CustomMetadata     map[string]string `json:"custom_metadata,omitempty"`
	CustomOriginServer string            `json:"custom_origin_server,omitempty"`
	OwnershipValue     string            `json:"ownership_value"`
	OwnershipHTTPBody  string            `json:"ownership_http_body"`
	// VerificationError replaces the default verification error (control).
	VerificationError string            `json:"verification_error,omitempty"`
	SSL               customHostnameSSL `json:"ssl"`
}

// customHostnameSSL is a custom hostname's certificate.
type customHostnameSSL struct {
	certState
	Method    string          `json:"method"`
	Type      string          `json:"type"`
	Settings  json.RawMessage `json:"settings,omitempty"`
	TXTValue  string          `json:"txt_value"`
	HTTPToken string          `json:"http_token"`
	HTTPBody  string          `json:"http_body"`
	// FailValidation makes validation end in validation_timed_out with FailMessage
	// (control).
	FailValidation bool   `json:"fail_validation,omitempty"`
	FailMessage    string `json:"fail_message,omitempty"`
}

// sslSteps is the progression of a custom hostname's certificate.
var sslSteps = map[string]string{
	certInitializing:      certPendingValidation,
	certPendingValidation: certPendingIssuance,
	certPendingIssuance:   certPendingDeployment,
	certPendingDeployment: certActive,
}

func (e *Edge) customHostnameDue(ch *customHostname, now time.Time) bool {
	d := e.cfg.CustomHostnameDelay
	if ch.Status == hostnamePending && e.stepDue(ch.StatusSince, d, now) {
		return true
	}
	if _, ok := sslSteps[ch.SSL.Status]; ok {
		return e.stepDue(ch.SSL.Since, d, now)
	}
	return ch.SSL.Status == certActive && needsRenewal(&ch.SSL.certState, now)
}

// advanceCustomHostname takes ch one step further where one is due.
func (e *Edge) advanceCustomHostname(ch *customHostname, now time.Time) bool {
	if !e.customHostnameDue(ch, now) {
		return false
	}
	d := e.cfg.CustomHostnameDelay
	if ch.Status == hostnamePending && e.stepDue(ch.StatusSince, d, now) {
		ch.Status, ch.StatusSince = hostnameActive, ch.StatusSince.Add(max(d, 0))
		e.log.Info("custom hostname status", "hostname", ch.Hostname, "status", ch.Status)
	}
	s := &ch.SSL
	next, stepping := sslSteps[s.Status]
	switch {
	case stepping && !e.stepDue(s.Since, d, now):
	case stepping && s.Status == certPendingValidation && s.FailValidation:
		s.Status, s.Since = certValidationTimedOut, s.Since.Add(d)
		s.ValidationErrors = []string{msgValidationTimedOut}
		if s.FailMessage != "" {
			s.ValidationErrors = []string{s.FailMessage}
		}
		e.log.Info("custom hostname certificate", "hostname", ch.Hostname, "ssl_status", s.Status)
	case next == certActive, s.Status == certActive:
		e.issue(&s.certState, now)
	case stepping:
		s.Status, s.Since = next, s.Since.Add(d)
		e.log.Info("custom hostname certificate", "hostname", ch.Hostname, "ssl_status", s.Status)
	}
	return true
}

type customHostnameObject struct {
	ID                        string             `json:"id"`
	Hostname                  string             `json:"hostname"`
	Status                    string             `json:"status"`
	CreatedAt                 time.Time          `json:"created_at"`
	CustomMetadata            map[string]string  `json:"custom_metadata,omitempty"`
	CustomOriginServer        string             `json:"custom_origin_server,omitempty"`
	VerificationErrors        []string           `json:"verification_errors,omitempty"`
	OwnershipVerification     map[string]string  `json:"ownership_verification"`
	OwnershipVerificationHTTP map[string]string  `json:"ownership_verification_http"`
	SSL                       customHostnameCert `json:"ssl"`
}

type customHostnameCert struct {
	ID                string              `json:"id"`
	Type              string              `json:"type"`
	Method            string              `json:"method"`
	Status            string              `json:"status"`
	BundleMethod      string              `json:"bundle_method"`
	Wildcard          bool                `json:"wildcard"`
	Settings          json.RawMessage     `json:"settings,omitempty"`
	Hosts             []string            `json:"hosts,omitempty"`
	Issuer            string              `json:"issuer,omitempty"`
	SerialNumber      string              `json:"serial_number,omitempty"`
	Signature         string              `json:"signature,omitempty"`
	UploadedOn        *time.Time          `json:"uploaded_on,omitempty"`
	ExpiresOn         *time.Time          `json:"expires_on,omitempty"`
	ValidationRecords []map[string]string `json:"validation_records,omitempty"`
	ValidationErrors  []messageObject     `json:"validation_errors,omitempty"`
}

func customHostnameResult(ch *customHostname) customHostnameObject {
	s := ch.SSL
	out := customHostnameObject{
		ID: ch.ID, Hostname: ch.Hostname, Status: ch.Status, CreatedAt: ch.CreatedOn,
		CustomMetadata: ch.CustomMetadata, CustomOriginServer: ch.CustomOriginServer,
		OwnershipVerification: map[string]string{
			"type": "txt", "name": "_cf-custom-hostname." + ch.Hostname, "value": ch.OwnershipValue,
		},
		OwnershipVerificationHTTP: map[string]string{
			"http_url":  "http://" + ch.Hostname + "/.well-known/cf-custom-hostname-challenge/" + ch.ID,
			"http_body": ch.OwnershipHTTPBody,
		},
		SSL: customHostnameCert{
			ID: s.ID, Type: s.Type, Method: s.Method, Status: s.Status, BundleMethod: "ubiquitous",
			Settings: s.Settings,
		},
	}
	if ch.Status != hostnameActive {
		msg := msgNotCNAME
		if ch.VerificationError != "" {
			msg = ch.VerificationError
		}
		out.VerificationErrors = []string{msg}
	}
	if s.Status == certPendingValidation || s.Status == certValidationTimedOut {
		rec := map[string]string{"status": "pending"}
		if s.Method == "txt" {
			rec["txt_name"], rec["txt_value"] = "_acme-challenge."+ch.Hostname, s.TXTValue
		} else {
			rec["http_url"] = "http://" + ch.Hostname + "/.well-known/acme-challenge/" + s.HTTPToken
			rec["http_body"] = s.HTTPBody
		}
		out.SSL.ValidationRecords = []map[string]string{rec}
	}
	for _, m := range s.ValidationErrors {
		out.SSL.ValidationErrors = append(out.SSL.ValidationErrors, messageObject{m})
	}
	if s.issued() {
		issued, expires := s.IssuedOn, s.ExpiresOn
		out.SSL.Hosts, out.SSL.Issuer, out.SSL.SerialNumber = s.Hosts, caIssuer, s.Serial
		out.SSL.Signature, out.SSL.UploadedOn, out.SSL.ExpiresOn = "ECDSAWithSHA256", &issued, &expires
	}
	return out
}

type customHostnameSSLRequest struct {
	Method   *string         `json:"method"`
	Type     *string         `json:"type"`
	Settings json.RawMessage `json:"settings"`
	Wildcard *bool           `json:"wildcard"`
}

type customHostnameRequest struct {
	Hostname           string                    `json:"hostname"`
	SSL                *customHostnameSSLRequest `json:"ssl"`
	CustomMetadata     map[string]string         `json:"custom_metadata"`
	CustomOriginServer *string                   `json:"custom_origin_server"`
}

// checkSSLRequest validates the ssl of a create or edit and returns its method and
// type (defaults http and dv).
func checkSSLRequest(s *customHostnameSSLRequest, cur customHostnameSSL) (method, typ string, err error) {
	method, typ = cur.Method, cur.Type
	if method == "" {
		method, typ = "http", "dv"
	}
	if s == nil {
		return method, typ, nil
	}
	if (s.Method == nil) != (s.Type == nil) && cur.Method == "" {
		return "", "", apiErrorf(http.StatusBadRequest, codeHostnameNeedsBoth,
			"Both validation type and validation method are required. Check your input and try again.")
	}
	if s.Method != nil {
		method = *s.Method
	}
	if s.Type != nil {
		typ = *s.Type
	}
	if method != "http" && method != "txt" {
		return "", "", apiErrorf(http.StatusBadRequest, codeHostnameMethod,
			"The validation method is not supported. Only `http`, `email`, or `txt` are accepted; the local edge validates by http and txt. Check your input and try again.")
	}
	if typ != "dv" {
		return "", "", apiErrorf(http.StatusBadRequest, codeHostnameType,
			"The validation type is not supported. Only 'dv' is accepted. Check your input and try again.")
	}
	if s.Wildcard != nil && *s.Wildcard {
		return "", "", apiErrorf(http.StatusBadRequest, codeHostnameInvalid,
			"Custom hostnames with wildcards are not supported by the local edge.")
	}
	return method, typ, nil
}

func errHostnameNotFound() *apiError {
	return apiErrorf(http.StatusNotFound, codeHostnameNotFound, "The custom hostname was not found.")
}

// createCustomHostname is POST /zones/{zone}/custom_hostnames.
func (e *Edge) createCustomHostname(r *http.Request) (reply, error) {
	var req customHostnameRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, apiErrorf(http.StatusBadRequest, 1400, "Unable to decode the JSON request body. Check your input and try again.")
	}
	host, valid := cleanHostname(req.Hostname)
	if !valid || strings.Contains(req.Hostname, "*") {
		return reply{}, apiErrorf(http.StatusBadRequest, codeHostnameInvalid,
			"Invalid custom hostname. Custom hostnames have to be smaller than 256 characters in length, cannot be IP addresses, cannot contain any special characters such as ``~`!@#$%%^&*()=+{}[]\\|/,;:'\"?<>` and must have at least two labels. Check your input and try again.")
	}
	method, typ, err := checkSSLRequest(req.SSL, customHostnameSSL{})
	if err != nil {
		return reply{}, err
	}
	now := e.now()
	var out customHostnameObject
	_, _, err = e.updateZone(r, func(st *domainState, z *zone) error {
		if _, dup := st.index.customHost[host]; dup || st.Claimed[host] {
			return apiErrorf(http.StatusConflict, codeHostnameDuplicate, "Duplicate custom hostname found.")
		}
		ch := &customHostname{
			ID: newUUID(), ZoneID: z.ID, Hostname: host, Status: hostnamePending, StatusSince: now, CreatedOn: now,
			CustomMetadata: req.CustomMetadata, OwnershipValue: newUUID(), OwnershipHTTPBody: newUUID(),
			SSL: customHostnameSSL{
				certState: certState{ID: newUUID(), Hosts: []string{host}, Status: certInitializing, Since: now},
				Method:    method, Type: typ, TXTValue: newID(), HTTPToken: newID(), HTTPBody: newID(),
			},
		}
		if req.SSL != nil {
			ch.SSL.Settings = req.SSL.Settings
		}
		if req.CustomOriginServer != nil {
			ch.CustomOriginServer = *req.CustomOriginServer
		}
		st.CustomHostnames[ch.ID] = ch
		st.reindex()
		e.advance(st, now)
		out = customHostnameResult(st.CustomHostnames[ch.ID])
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("custom hostname created", "hostname", host, "status", out.Status, "ssl_status", out.SSL.Status)
	return reply{status: http.StatusCreated, result: out}, nil
}

// listCustomHostnames is GET /zones/{zone}/custom_hostnames.
func (e *Edge) listCustomHostnames(r *http.Request) (reply, error) {
	st, z := e.requestZone(r)
	q := r.URL.Query()
	var list []*customHostname
	for _, ch := range st.CustomHostnames {
		if ch.ZoneID != z.ID {
			continue
		}
		switch {
		case q.Get("id") != "" && ch.ID != q.Get("id"),
			q.Get("hostname") != "" && ch.Hostname != normalizeHost(q.Get("hostname")),
			q.Get("hostname.contain") != "" && !strings.Contains(ch.Hostname, strings.ToLower(q.Get("hostname.contain"))),
			q.Get("ssl_status") != "" && ch.SSL.Status != q.Get("ssl_status"),
			q.Get("hostname_status") != "" && ch.Status != q.Get("hostname_status"):
			continue
		}
		list = append(list, ch)
	}
	slices.SortFunc(list, func(a, b *customHostname) int { return strings.Compare(a.Hostname, b.Hostname) })
	out := make([]customHostnameObject, len(list))
	for i, ch := range list {
		out[i] = customHostnameResult(ch)
	}
	return paginate(r, out, defaultHostnamesPerPge)
}

func lookupCustomHostname(st *domainState, z *zone, id string) (*customHostname, error) {
	ch, found := st.CustomHostnames[id]
	if !found || ch.ZoneID != z.ID {
		return nil, errHostnameNotFound()
	}
	return ch, nil
}

// getCustomHostname is GET /zones/{zone}/custom_hostnames/{id}.
func (e *Edge) getCustomHostname(r *http.Request) (reply, error) {
	st, z := e.requestZone(r)
	ch, err := lookupCustomHostname(st, z, r.PathValue("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(customHostnameResult(ch))
}

// editCustomHostname is PATCH /zones/{zone}/custom_hostnames/{id}: it changes the
// metadata or the certificate's settings and asks for validation again; a failed
// validation starts over, a new validation method starts over with new records.
func (e *Edge) editCustomHostname(r *http.Request) (reply, error) {
	var req customHostnameRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, apiErrorf(http.StatusBadRequest, 1400, "Unable to decode the JSON request body. Check your input and try again.")
	}
	now := e.now()
	var out customHostnameObject
	_, _, err := e.updateZone(r, func(st *domainState, z *zone) error {
		ch, err := lookupCustomHostname(st, z, r.PathValue("id"))
		if err != nil {
			return err
		}
		method, typ, err := checkSSLRequest(req.SSL, ch.SSL)
		if err != nil {
			return err
		}
		if req.CustomMetadata != nil {
			ch.CustomMetadata = req.CustomMetadata
		}
		if req.CustomOriginServer != nil {
			ch.CustomOriginServer = *req.CustomOriginServer
		}
		s := &ch.SSL
		if req.SSL != nil && req.SSL.Settings != nil {
			s.Settings = req.SSL.Settings
		}
		restart := strings.HasSuffix(s.Status, "_timed_out") || s.Status == certExpired
		if method != s.Method && s.Status != certActive {
			s.TXTValue, s.HTTPToken, s.HTTPBody = newID(), newID(), newID()
			restart = true
		}
		s.Method, s.Type = method, typ
		if restart {
			s.Status, s.Since, s.ValidationErrors = certPendingValidation, now, nil
		}
		out = customHostnameResult(ch)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusAccepted, result: out}, nil
}

// deleteCustomHostname is DELETE /zones/{zone}/custom_hostnames/{id}.
func (e *Edge) deleteCustomHostname(r *http.Request) (reply, error) {
	id := r.PathValue("id")
	var certID, host string
	_, _, err := e.updateZone(r, func(st *domainState, z *zone) error {
		ch, err := lookupCustomHostname(st, z, id)
		if err != nil {
			return err
		}
		certID, host = ch.SSL.ID, ch.Hostname
		delete(st.CustomHostnames, id)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.ca.forget(certID)
	e.log.Info("custom hostname deleted", "hostname", host)
	return reply{result: map[string]string{"id": id}, topID: id}, nil
}

// fallbackOrigin is a zone's fallback origin for its custom hostnames.
type fallbackOrigin struct {
	Origin    string    `json:"origin"`
	Status    string    `json:"status"`
	Since     time.Time `json:"since"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type fallbackObject struct {
	Origin    string    `json:"origin"`
	Status    string    `json:"status"`
	Errors    []string  `json:"errors"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func fallbackResult(fo *fallbackOrigin) fallbackObject {
	return fallbackObject{Origin: fo.Origin, Status: fo.Status, Errors: []string{}, CreatedAt: fo.CreatedAt, UpdatedAt: fo.UpdatedAt}
}

// putFallbackOrigin is PUT /zones/{zone}/custom_hostnames/fallback_origin {origin}:
// a hostname of the zone that custom hostnames' traffic goes to (on the edge: the
// Worker that serves that hostname). It is active after CustomHostnameDelay.
func (e *Edge) putFallbackOrigin(r *http.Request) (reply, error) {
	var req struct {
		Origin string `json:"origin"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	origin, valid := cleanHostname(req.Origin)
	if !valid {
		return reply{}, errValidation("origin %q is not a hostname", req.Origin)
	}
	now := e.now()
	var out fallbackObject
	_, _, err := e.updateZone(r, func(_ *domainState, z *zone) error {
		if origin != z.Name && !strings.HasSuffix(origin, "."+z.Name) {
			return errValidation("the fallback origin %s must be a hostname of the zone %s", origin, z.Name)
		}
		fo := &fallbackOrigin{Origin: origin, Status: fallbackPending, Since: now, CreatedAt: now, UpdatedAt: now}
		if z.FallbackOrigin != nil {
			fo.CreatedAt = z.FallbackOrigin.CreatedAt
		}
		z.FallbackOrigin = fo
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	_, z := e.requestZone(r)
	if z2 := e.domains.snapshot().Zones[z.ID]; z2 != nil && z2.FallbackOrigin != nil {
		out = fallbackResult(z2.FallbackOrigin)
	}
	return ok(out)
}

// getFallbackOrigin is GET /zones/{zone}/custom_hostnames/fallback_origin.
func (e *Edge) getFallbackOrigin(r *http.Request) (reply, error) {
	_, z := e.requestZone(r)
	if z.FallbackOrigin == nil {
		return reply{}, apiErrorf(http.StatusNotFound, codeHostnameNotFound, "The zone has no fallback origin.")
	}
	return ok(fallbackResult(z.FallbackOrigin))
}

// deleteFallbackOrigin is DELETE /zones/{zone}/custom_hostnames/fallback_origin.
func (e *Edge) deleteFallbackOrigin(r *http.Request) (reply, error) {
	var out fallbackObject
	_, _, err := e.updateZone(r, func(_ *domainState, z *zone) error {
		if z.FallbackOrigin == nil {
			return apiErrorf(http.StatusNotFound, codeHostnameNotFound, "The zone has no fallback origin.")
		}
		out = fallbackResult(z.FallbackOrigin)
		out.Status = "pending_deletion"
		z.FallbackOrigin = nil
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(out)
}
