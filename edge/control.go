package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The domain control: not part of Cloudflare's API. Tests and demos use it to move
// the statuses Cloudflare moves on its own (a zone activating when the registrar
// points at it, a certificate being issued or failing, a custom hostname being
// verified) and to simulate what happens outside Cloudflare (a registrar pointing
// away: DNS drift; a hostname already held by another account).
//
// Over HTTP, authorised with the API token (a read-only token may only GET):
//
//	GET  /__edge/domains/{hostname}                  what the edge knows of hostname
//	POST /__edge/domains/{hostname}  DomainControl   change it (PUT works too)
//
// In Go: (*Edge).ControlDomain and (*Edge).DomainStatus.

// domainsControlPrefix is the path prefix of the domain control.
const domainsControlPrefix = "/__edge/domains/"

// DomainControl changes the statuses around one hostname. Empty fields change
// nothing. In JSON: {"zone": "active", "nameservers": "away", "certificate":
// "failed", "custom_hostname": "blocked", "ssl": "validation_timed_out",
// "validation": "fail", "validation_error": "...", "verification_error": "...",
// "claimed": "elsewhere"}.
type DomainControl struct {
	// Zone sets the status of the zone named hostname, or of the zone hostname is in:
	// "active" (now; its name servers are then ours), "pending" (activation starts
	// over and takes Config.ZoneActivationDelay again) or "moved" (its name servers
	// are away).
	Zone string `json:"zone,omitempty"`
	// NameServers says where the zone's registrar points: "ours" (the zone can
	// activate: after ZoneActivationDelay, or at once on an activation check) or
	// "away" (DNS drift: a pending zone stays pending, an active one becomes moved
	// and stops serving).
	NameServers string `json:"nameservers,omitempty"`
	// Certificate sets the certificate of hostname's Workers Custom Domain (or the
	// zone's universal certificate when hostname is a zone, or the custom hostname's
	// certificate): "active" (issued now), "pending" (validation starts over),
	// "failed" (validation_timed_out, with ValidationError) or "expired".
	Certificate string `json:"certificate,omitempty"`
	// CustomHostname sets the status of the custom hostname hostname: "active",
	// "pending" (verification starts over), "blocked" or "moved" (its CNAME points
	// away).
	CustomHostname string `json:"custom_hostname,omitempty"`
	// SSL sets the custom hostname's ssl.status to any of Cloudflare's statuses
	// (initializing, pending_validation, pending_issuance, pending_deployment,
	// active, validation_timed_out, ...); "active" issues the certificate now.
	SSL string `json:"ssl,omitempty"`
	// Validation "fail" makes every later validation of the custom hostname's
	// certificate end in validation_timed_out; "pass" undoes it.
	Validation string `json:"validation,omitempty"`
	// ValidationError is the message of a failed validation (certificate "failed",
	// ssl validation_timed_out or Validation "fail").
	ValidationError string `json:"validation_error,omitempty"`
	// VerificationError replaces the custom hostname's verification error while it
	// is not active.
	VerificationError string `json:"verification_error,omitempty"`
	// Claimed "elsewhere" marks hostname as held by another Cloudflare account:
	// creating a custom hostname for it gets 409, code 1406. "none" undoes it.
	Claimed string `json:"claimed,omitempty"`
}

// DomainStatus is what the edge knows of a hostname.
type DomainStatus struct {
	Hostname       string                `json:"hostname"`
	Zone           *ZoneStatus           `json:"zone,omitempty"`
	WorkerDomain   *WorkerDomainStatus   `json:"worker_domain,omitempty"`
	Certificate    *CertificateStatus    `json:"certificate,omitempty"`
	CustomHostname *CustomHostnameStatus `json:"custom_hostname,omitempty"`
	Claimed        bool                  `json:"claimed_elsewhere,omitempty"`
	// HTTP and HTTPS report whether the data plane serves hostname now.
	HTTP  bool `json:"http"`
	HTTPS bool `json:"https"`
}

// ZoneStatus is a zone's part of a DomainStatus.
type ZoneStatus struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	NameServers     []string  `json:"name_servers"`
	NameServersAway bool      `json:"name_servers_away"`
	ActivatedOn     time.Time `json:"activated_on,omitzero"`
	AlwaysUseHTTPS  bool      `json:"always_use_https"`
}

// WorkerDomainStatus is a Workers Custom Domain's part of a DomainStatus.
type WorkerDomainStatus struct {
	ID      string `json:"id"`
	Service string `json:"service"`
}

// CertificateStatus is a certificate's part of a DomainStatus.
type CertificateStatus struct {
	ID        string    `json:"id"`
	Hosts     []string  `json:"hosts"`
	Status    string    `json:"status"`
	Serial    string    `json:"serial,omitempty"`
	ExpiresOn time.Time `json:"expires_on,omitzero"`
	Errors    []string  `json:"errors,omitempty"`
}

// CustomHostnameStatus is a custom hostname's part of a DomainStatus.
type CustomHostnameStatus struct {
	ID             string             `json:"id"`
	ZoneID         string             `json:"zone_id"`
	Status         string             `json:"status"`
	SSLStatus      string             `json:"ssl_status"`
	FailValidation bool               `json:"fail_validation,omitempty"`
	Certificate    *CertificateStatus `json:"certificate,omitempty"`
}

// ErrUnknownHostname is returned by ControlDomain for a hostname that is no zone,
// Workers Custom Domain or custom hostname of the account, or in no zone a change
// asks for.
var ErrUnknownHostname = errors.New("edge: the account has nothing for this hostname")

// DomainStatus returns what the edge knows of hostname, statuses advanced to now.
func (e *Edge) DomainStatus(hostname string) (DomainStatus, error) {
	host, valid := cleanHostname(hostname)
	if !valid {
		return DomainStatus{}, fmt.Errorf("edge: %q is not a hostname", hostname)
	}
	return domainStatus(e.domainsNow(), host), nil
}

func certStatus(c *certState) *CertificateStatus {
	return &CertificateStatus{ID: c.ID, Hosts: c.Hosts, Status: c.Status, Serial: c.Serial, ExpiresOn: c.ExpiresOn, Errors: c.ValidationErrors}
}

func domainStatus(st *domainState, host string) DomainStatus {
	out := DomainStatus{Hostname: host, Claimed: st.Claimed[host]}
	if z, ok := st.zoneFor(host); ok {
		out.Zone = &ZoneStatus{ID: z.ID, Name: z.Name, Status: z.Status, NameServers: z.NameServers,
			NameServersAway: z.NameServersAway, ActivatedOn: z.ActivatedOn, AlwaysUseHTTPS: z.Settings.AlwaysUseHTTPS == "on"}
		if d, ok := st.index.workerDomain[host]; ok {
			out.WorkerDomain = &WorkerDomainStatus{ID: d.ID, Service: d.Service}
			if p := st.index.packByOwner[d.ID]; p != nil {
				out.Certificate = certStatus(&p.Cert)
			}
		} else if host == z.Name {
			if p := st.index.universalPack[z.ID]; p != nil {
				out.Certificate = certStatus(&p.Cert)
			}
		}
	}
	if ch, ok := st.index.customHost[host]; ok {
		out.CustomHostname = &CustomHostnameStatus{ID: ch.ID, ZoneID: ch.ZoneID, Status: ch.Status,
			SSLStatus: ch.SSL.Status, FailValidation: ch.SSL.FailValidation, Certificate: certStatus(&ch.SSL.certState)}
	}
	t, ok := st.resolveHost(host, "/")
	out.HTTP = ok && t.serving
	_, out.HTTPS = st.certFor(host)
	out.HTTPS = out.HTTPS && out.HTTP
	return out
}

// ControlDomain applies c to hostname and returns its status afterwards. The
// statuses then go on from there as usual (with zero delays, a zone made active
// gets its certificates at once).
func (e *Edge) ControlDomain(hostname string, c DomainControl) (DomainStatus, error) {
	host, valid := cleanHostname(hostname)
	if !valid {
		return DomainStatus{}, fmt.Errorf("edge: %q is not a hostname", hostname)
	}
	if err := c.check(); err != nil {
		return DomainStatus{}, err
	}
	now := e.now()
	st, err := e.domains.update(func(st *domainState) error {
		if err := e.applyControl(st, host, c, now); err != nil {
			return err
		}
		st.reindex()
		e.advance(st, now)
		return nil
	})
	if err != nil {
		return DomainStatus{}, err
	}
	e.log.Info("domain control", "hostname", host, "zone", c.Zone, "nameservers", c.NameServers,
		"certificate", c.Certificate, "custom_hostname", c.CustomHostname, "ssl", c.SSL, "claimed", c.Claimed)
	return domainStatus(st, host), nil
}

func (c DomainControl) check() error {
	type field struct {
		name, value string
		allowed     []string
	}
	sslStatuses := []string{certInitializing, certPendingValidation, certPendingIssuance, certPendingDeployment,
		certActive, certExpired, certValidationTimedOut, "initializing_timed_out", "issuance_timed_out",
		"deployment_timed_out", "deleted", "pending_deletion", "pending_expiration", "inactive"}
	for _, f := range []field{
		{"zone", c.Zone, []string{zoneActive, zonePending, zoneMoved}},
		{"nameservers", c.NameServers, []string{"ours", "away"}},
		{"certificate", c.Certificate, []string{"active", "pending", "failed", "expired"}},
		{"custom_hostname", c.CustomHostname, []string{hostnameActive, hostnamePending, hostnameBlocked, hostnameMoved}},
		{"ssl", c.SSL, sslStatuses},
		{"validation", c.Validation, []string{"fail", "pass"}},
		{"claimed", c.Claimed, []string{"elsewhere", "none"}},
	} {
		if f.value != "" && !slices.Contains(f.allowed, f.value) {
			return fmt.Errorf("edge: %s %q is not one of %s", f.name, f.value, strings.Join(f.allowed, ", "))
		}
	}
	if c == (DomainControl{}) {
		return errors.New("edge: the control changes nothing: set zone, nameservers, certificate, custom_hostname, ssl, validation or claimed")
	}
	return nil
}

func (e *Edge) applyControl(st *domainState, host string, c DomainControl, now time.Time) error {
	switch c.Claimed {
	case "elsewhere":
		st.Claimed[host] = true
	case "none":
		delete(st.Claimed, host)
	}
	if c.Zone != "" || c.NameServers != "" {
		z, ok := st.zoneFor(host)
		if !ok {
			return fmt.Errorf("%w: %s is in no zone", ErrUnknownHostname, host)
		}
		switch c.NameServers {
		case "ours":
			z.NameServersAway = false
			if z.Status != zoneActive {
				z.StatusSince = now
			}
		case "away":
			z.NameServersAway = true
		}
		switch c.Zone {
		case zoneActive:
			z.NameServersAway = false
			e.setZoneStatus(z, zoneActive, now)
		case zonePending:
			e.setZoneStatus(z, zonePending, now)
			z.StatusSince = now
		case zoneMoved:
			z.NameServersAway = true
			e.setZoneStatus(z, zoneMoved, now)
		}
	}
	if c.Certificate != "" {
		cert, ok := controlledCert(st, host)
		if !ok {
			return fmt.Errorf("%w: %s has no certificate", ErrUnknownHostname, host)
		}
		switch c.Certificate {
		case "active":
			e.issue(cert, now)
		case "pending":
			cert.Status, cert.Since, cert.ValidationErrors = certPendingValidation, now, nil
		case "failed":
			msg := c.ValidationError
			if msg == "" {
				msg = msgValidationTimedOut
			}
			cert.Status, cert.Since, cert.ValidationErrors = certValidationTimedOut, now, []string{msg}
		case "expired":
			cert.Status, cert.Since = certExpired, now
			if cert.issued() && cert.ExpiresOn.After(now) {
				cert.ExpiresOn = now
			}
		}
	}
	if c.CustomHostname != "" || c.SSL != "" || c.Validation != "" || c.VerificationError != "" {
		ch, ok := st.index.customHost[host]
		if !ok {
			return fmt.Errorf("%w: %s is no custom hostname", ErrUnknownHostname, host)
		}
		if c.VerificationError != "" {
			ch.VerificationError = c.VerificationError
		}
		if c.CustomHostname != "" {
			ch.Status, ch.StatusSince = c.CustomHostname, now
		}
		switch c.Validation {
		case "fail":
			ch.SSL.FailValidation, ch.SSL.FailMessage = true, c.ValidationError
		case "pass":
			ch.SSL.FailValidation, ch.SSL.FailMessage = false, ""
		}
		switch c.SSL {
		case "":
		case certActive:
			e.issue(&ch.SSL.certState, now)
		default:
			ch.SSL.Status, ch.SSL.Since, ch.SSL.ValidationErrors = c.SSL, now, nil
			if strings.HasSuffix(c.SSL, "_timed_out") {
				msg := c.ValidationError
				if msg == "" {
					msg = msgValidationTimedOut
				}
				ch.SSL.ValidationErrors = []string{msg}
			}
		}
	}
	return nil
}

// controlledCert is the certificate DomainControl.Certificate changes for host.
func controlledCert(st *domainState, host string) (*certState, bool) {
	if d, ok := st.index.workerDomain[host]; ok {
		if p := st.index.packByOwner[d.ID]; p != nil {
			return &p.Cert, true
		}
	}
	if z, ok := st.index.zoneByName[host]; ok {
		if p := st.index.universalPack[z.ID]; p != nil {
			return &p.Cert, true
		}
	}
	if ch, ok := st.index.customHost[host]; ok {
		return &ch.SSL.certState, true
	}
	return nil, false
}

// domainsControl serves /__edge/domains/{hostname}.
func (e *Edge) domainsControl(w http.ResponseWriter, r *http.Request) {
	if err := e.authorizeControl(r); err != nil {
		e.writeReply(w, r, reply{}, err)
		return
	}
	host := strings.TrimPrefix(r.URL.Path, domainsControlPrefix)
	var (
		status DomainStatus
		err    error
	)
	switch r.Method {
	case http.MethodGet:
		status, err = e.DomainStatus(host)
	case http.MethodPost, http.MethodPut:
		var c DomainControl
		body, rerr := readRequestBody(r, maxJSONBody)
		if rerr != nil {
			err = rerr
			break
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if derr := dec.Decode(&c); derr != nil {
			err = errValidation("the body is not a domain control: %v", derr)
			break
		}
		status, err = e.ControlDomain(host, c)
	default:
		w.Header().Set("Allow", "GET, POST, PUT")
		err = apiErrorf(http.StatusMethodNotAllowed, codeAuth, "%s method not allowed for the api_token authentication scheme", r.Method)
	}
	var ae *apiError
	switch {
	case err == nil:
	case errors.As(err, &ae):
	case errors.Is(err, ErrUnknownHostname):
		err = apiErrorf(http.StatusNotFound, codeNotFound, "%v", err)
	default:
		err = errValidation("%v", err)
	}
	if err != nil {
		e.writeReply(w, r, reply{}, err)
		return
	}
	e.writeReply(w, r, reply{result: status}, nil)
}
