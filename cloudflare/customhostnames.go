package cloudflare

import (
	"context"
	"encoding/json"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/custom_hostnames"
	"github.com/cloudflare/cloudflare-go/v6/option"
)

// Custom domains, custom hostname mode (Cloudflare for SaaS): the user keeps their
// DNS and points the hostname at appforge's zone with a CNAME; Cloudflare verifies
// ownership and issues a certificate. A hostname serves only when both Status and
// SSLStatus are "active".
//
// EnsureCustomHostname asks for TXT validation (ssl.method "txt", type "dv"): the
// user can add the certificate's TXT record before pointing the CNAME, so that the
// certificate is ready when traffic arrives; HTTP validation would only start once
// the CNAME is in place.

// Custom hostname statuses.
const (
	HostnamePending = "pending"
	HostnameActive  = "active"
	// SSLActive is the ssl status of an issued certificate; the others on the way
	// are initializing, pending_validation, pending_issuance and pending_deployment,
	// and the failures end in _timed_out (e.g. validation_timed_out).
	SSLActive = "active"
)

// TXTRecord is a TXT record the user must add at their DNS provider.
type TXTRecord struct{ Name, Value string }

// ValidationRecord is what the certificate authority checks before it issues the
// certificate: a TXT record (TXTName, TXTValue) or a file served over HTTP (HTTPURL,
// HTTPBody).
type ValidationRecord struct{ TXTName, TXTValue, HTTPURL, HTTPBody string }

// CustomHostname is a custom hostname of a zone.
type CustomHostname struct {
	ID, Hostname, Status, SSLStatus string
	// Ownership is the _cf-custom-hostname TXT record that proves the user owns the
	// hostname.
	Ownership TXTRecord
	// Validation are the certificate's validation records, while it validates.
	Validation []ValidationRecord
	// Errors are Cloudflare's verification errors (hostname) and validation errors
	// (certificate), in plain words.
	Errors []string
	// ExpiresOn is the certificate's expiry, zero until it is issued.
	ExpiresOn time.Time
}

// customHostnameJSON is the part of Cloudflare's custom hostname appforge reads. The
// SDK has a type per method (New, Get, Edit, List responses) with the same fields;
// decoding the raw JSON of any of them into one type keeps one conversion.
type customHostnameJSON struct {
	ID                    string   `json:"id"`
	Hostname              string   `json:"hostname"`
	Status                string   `json:"status"`
	VerificationErrors    []string `json:"verification_errors"`
	OwnershipVerification struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"ownership_verification"`
	SSL struct {
		Status            string    `json:"status"`
		Method            string    `json:"method"`
		Type              string    `json:"type"`
		ExpiresOn         time.Time `json:"expires_on"`
		ValidationRecords []struct {
			TXTName  string `json:"txt_name"`
			TXTValue string `json:"txt_value"`
			HTTPURL  string `json:"http_url"`
			HTTPBody string `json:"http_body"`
		} `json:"validation_records"`
		ValidationErrors []struct {
			Message string `json:"message"`
		} `json:"validation_errors"`
	} `json:"ssl"`
}

func customHostnameFrom(raw string) (CustomHostname, customHostnameJSON, error) {
	var j customHostnameJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return CustomHostname{}, j, err
	}
	out := CustomHostname{
		ID: j.ID, Hostname: j.Hostname, Status: j.Status, SSLStatus: j.SSL.Status,
		Ownership: TXTRecord{Name: j.OwnershipVerification.Name, Value: j.OwnershipVerification.Value},
		Errors:    append([]string(nil), j.VerificationErrors...),
		ExpiresOn: j.SSL.ExpiresOn,
	}
	for _, v := range j.SSL.ValidationRecords {
		out.Validation = append(out.Validation, ValidationRecord{TXTName: v.TXTName, TXTValue: v.TXTValue, HTTPURL: v.HTTPURL, HTTPBody: v.HTTPBody})
	}
	for _, v := range j.SSL.ValidationErrors {
		out.Errors = append(out.Errors, v.Message)
	}
	return out, j, nil
}

// readCustomHostname converts an SDK answer, classifying an unreadable one.
func readCustomHostname(op, raw string) (CustomHostname, customHostnameJSON, error) {
	ch, j, err := customHostnameFrom(raw)
	if err != nil {
		return ch, j, &Error{Kind: KindTransient, Op: op, Err: err,
			Message: "Cloudflare answered with a custom hostname appforge could not read: " + err.Error()}
	}
	return ch, j, nil
}

// EnsureCustomHostname returns the zone's custom hostname hostname, creating it
// (TXT validation) when the zone has none. A hostname registered as a custom
// hostname elsewhere (another zone or another Cloudflare account) is a KindConflict
// error with Code CodeDuplicateCustomHostname (1406).
func (d *Deployer) EnsureCustomHostname(ctx context.Context, zoneID, hostname string) (CustomHostname, error) {
	op := "add the custom hostname " + hostname
	if err := checkHostname(op, hostname); err != nil {
		return CustomHostname{}, err
	}
	if err := checkID(op, "zone id", zoneID); err != nil {
		return CustomHostname{}, err
	}
	run := &deployRun{d: d, ctx: ctx}
	var existing string
	err := run.call(op, func(opts ...option.RequestOption) error {
		// The SDK filters with hostname.contain; the exact match is checked here.
		page, err := d.hostnames.List(ctx, custom_hostnames.CustomHostnameListParams{
			ZoneID:   cf.F(zoneID),
			Hostname: cf.F(custom_hostnames.CustomHostnameListParamsHostname{Contain: cf.F(hostname)}),
			PerPage:  cf.F(50.0),
		}, opts...)
		if err != nil {
			return err
		}
		for _, ch := range page.Result {
			if ch.Hostname == hostname {
				existing = ch.JSON.RawJSON()
			}
		}
		return nil
	})
	if err != nil {
		return CustomHostname{}, err
	}
	if existing != "" {
		ch, _, err := readCustomHostname(op, existing)
		return ch, err
	}
	var created *custom_hostnames.CustomHostnameNewResponse
	err = run.call(op, func(opts ...option.RequestOption) (err error) {
		created, err = d.hostnames.New(ctx, custom_hostnames.CustomHostnameNewParams{
			ZoneID:   cf.F(zoneID),
			Hostname: cf.F(hostname),
			SSL: cf.F(custom_hostnames.CustomHostnameNewParamsSSL{
				Method: cf.F(custom_hostnames.DCVMethodTXT),
				Type:   cf.F(custom_hostnames.DomainValidationTypeDv),
			}),
		}, opts...)
		return err
	})
	if err != nil {
		return CustomHostname{}, err
	}
	ch, _, err := readCustomHostname(op, created.JSON.RawJSON())
	return ch, err
}

// CustomHostname returns the zone's custom hostname id. A custom hostname that no
// longer exists is a KindNotFound error.
func (d *Deployer) CustomHostname(ctx context.Context, zoneID, id string) (CustomHostname, error) {
	op := "read the custom hostname " + id
	ch, _, err := d.getCustomHostname(ctx, op, zoneID, id)
	return ch, err
}

func (d *Deployer) getCustomHostname(ctx context.Context, op, zoneID, id string) (CustomHostname, customHostnameJSON, error) {
	if err := checkID(op, "zone id", zoneID); err != nil {
		return CustomHostname{}, customHostnameJSON{}, err
	}
	if err := checkID(op, "custom hostname id", id); err != nil {
		return CustomHostname{}, customHostnameJSON{}, err
	}
	run := &deployRun{d: d, ctx: ctx}
	var got *custom_hostnames.CustomHostnameGetResponse
	err := run.call(op, func(opts ...option.RequestOption) (err error) {
		got, err = d.hostnames.Get(ctx, id, custom_hostnames.CustomHostnameGetParams{ZoneID: cf.F(zoneID)}, opts...)
		return err
	})
	if err != nil {
		return CustomHostname{}, customHostnameJSON{}, err
	}
	return readCustomHostname(op, got.JSON.RawJSON())
}

// RefreshCustomHostname asks Cloudflare to check the custom hostname again (a PATCH
// with its validation settings, which also starts a failed validation over) and
// returns what Cloudflare answers.
func (d *Deployer) RefreshCustomHostname(ctx context.Context, zoneID, id string) (CustomHostname, error) {
	op := "ask Cloudflare to check the custom hostname " + id + " again"
	_, cur, err := d.getCustomHostname(ctx, op, zoneID, id)
	if err != nil {
		return CustomHostname{}, err
	}
	method, typ := cur.SSL.Method, cur.SSL.Type
	if method == "" {
		method = string(custom_hostnames.DCVMethodTXT)
	}
	if typ == "" {
		typ = string(custom_hostnames.DomainValidationTypeDv)
	}
	run := &deployRun{d: d, ctx: ctx}
	var edited *custom_hostnames.CustomHostnameEditResponse
	err = run.call(op, func(opts ...option.RequestOption) (err error) {
		edited, err = d.hostnames.Edit(ctx, id, custom_hostnames.CustomHostnameEditParams{
			ZoneID: cf.F(zoneID),
			SSL: cf.F(custom_hostnames.CustomHostnameEditParamsSSL{
				Method: cf.F(custom_hostnames.DCVMethod(method)),
				Type:   cf.F(custom_hostnames.DomainValidationType(typ)),
			}),
		}, opts...)
		return err
	})
	if err != nil {
		return CustomHostname{}, err
	}
	ch, _, err := readCustomHostname(op, edited.JSON.RawJSON())
	return ch, err
}

// DeleteCustomHostname removes the zone's custom hostname id; a missing one is fine.
func (d *Deployer) DeleteCustomHostname(ctx context.Context, zoneID, id string) error {
	op := "delete the custom hostname " + id
	if err := checkID(op, "zone id", zoneID); err != nil {
		return err
	}
	if err := checkID(op, "custom hostname id", id); err != nil {
		return err
	}
	run := &deployRun{d: d, ctx: ctx}
	err := run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.hostnames.Delete(ctx, id, custom_hostnames.CustomHostnameDeleteParams{ZoneID: cf.F(zoneID)}, opts...)
		return err
	})
	if KindOf(err) == KindNotFound {
		return nil
	}
	return err
}
