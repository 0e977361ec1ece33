package activities

import (
	"context"
	"time"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/domains"
)

// Activity names of custom domains.
const (
	DomainSetupName       = "DomainSetup"
	DomainCheckName       = "DomainCheck"
	DomainAttachName      = "DomainAttach"
	DomainCertificateName = "DomainCertificate"
	DomainHTTPSName       = "DomainEnableHTTPS"
	DomainRecordName      = "DomainRecord"
	DomainDetachName      = "DomainDetach"
)

// Error type of a conflict a user must resolve (a record in the way, a hostname held
// elsewhere): not retried, answered with an instruction.
const ErrTypeDomainConflict = "DomainConflict"

// DomainInput names a domain and where it goes.
type DomainInput struct {
	AppID    string
	Hostname string
	Mode     string
	// Primary serves; Secondary (the www or apex counterpart, if any) redirects to it.
	Primary   string
	Secondary string
	// Script is the production script the domain serves.
	Script           string
	ZoneID           string
	CustomHostnameID string
}

// Instruction is one thing the user sets at their DNS provider or registrar.
type Instruction struct {
	Type    string `json:"type"` // NS, CNAME, TXT, A
	Name    string `json:"name"`
	Value   string `json:"value"`
	Purpose string `json:"purpose"`
}

// DomainSetupResult is the zone or custom hostname made for a domain, and what the
// user must set.
type DomainSetupResult struct {
	ZoneID           string
	CustomHostnameID string
	Instructions     []Instruction
	// Conflict, when set, says what is in the way and what to do; nothing was taken over.
	Conflict string
}

// DomainObservation is one look at a domain: Cloudflare's statuses and our own DNS
// lookups, in plain words.
type DomainObservation struct {
	// Ready: the step waited for is done (the zone is active; the custom hostname and its
	// certificate are active).
	Ready bool
	// DNSOK: our own lookups found what the domain needs.
	DNSOK bool
	// LookupFailed: our own lookups got no answer (the resolver timed out or could not be
	// reached), so DNSOK is false without anything being known to be wrong; Findings
	// say so. Cloudflare's statuses are still what they are.
	LookupFailed   bool
	Findings       []string
	ProviderStatus string
	SSLStatus      string
	// Failed, when set, is a failure waiting will not fix (a certificate whose
	// validation timed out), in plain words with what to do.
	Failed string
	// Instructions, when Cloudflare changed what it needs (validation records).
	Instructions []Instruction
}

// DomainAttachResult says whether attaching worked.
type DomainAttachResult struct {
	Conflict string
}

// CertificateResult is the state of a domain's certificate.
type CertificateResult struct {
	Active    bool
	Status    string
	ExpiresAt time.Time
	Failed    string
}

// DomainRecordInput is what the API shows of a domain, and the event telling the app's
// chat about it.
type DomainRecordInput struct {
	AppID             string
	Hostname          string
	Mode              string
	Primary           string
	Secondary         string
	Status            string
	Message           string
	ZoneID            string
	CustomHostnameID  string
	Instructions      []Instruction
	Observed          *DomainObservation
	CertificateStatus string
	CertificateExpiry *time.Time
	CheckedAt         *time.Time
	NextCheckAt       *time.Time
	ActiveAt          *time.Time
	// EventType, when set, appends an event to the app's stream with Message.
	EventType string
	// Delete removes the record (after a detach).
	Delete bool
}

// PrepareDomainName checks a hostname and records it for an app.
const PrepareDomainName = "PrepareDomain"

// PrepareDomainInput is a hostname as the user gave it.
type PrepareDomainInput struct {
	AppID    string
	Hostname string
	// Mode is "zone", "custom_hostname" or empty (zone for an apex or www name, custom
	// hostname for other subdomains when configured).
	Mode string
	// Primary is "apex" or "www" for apex domains (default apex).
	Primary string
	Script  string
}

// PreparedDomain is a validated hostname ready for its workflow, or why not.
type PreparedDomain struct {
	Hostname  string
	Mode      string
	Primary   string
	Secondary string
	// Problem, when set, is the plain answer to the user (an invalid name, a name held
	// by another app, an unsupported mode) and nothing was recorded.
	Problem string
	// Existing is true when the domain is already attached to this app.
	Existing bool
}

// DomainProvider is what the domain activities need of Cloudflare (cloudflare.Deployer).
type DomainProvider interface {
	EnsureZone(ctx context.Context, name string) (cloudflare.Zone, error)
	Zone(ctx context.Context, id string) (cloudflare.Zone, error)
	CheckZoneActivation(ctx context.Context, zoneID string) error
	AttachWorkerDomain(ctx context.Context, zoneID, hostname, script string) (cloudflare.WorkerDomain, error)
	DetachWorkerDomain(ctx context.Context, hostname string) error
	CertificatePacks(ctx context.Context, zoneID string) ([]cloudflare.CertificatePack, error)
	SetAlwaysUseHTTPS(ctx context.Context, zoneID string, on bool) error
	EnsureRedirect(ctx context.Context, zoneID, fromHost, toHost string) error
	RemoveRedirect(ctx context.Context, zoneID, fromHost string) error
	EnsureCustomHostname(ctx context.Context, zoneID, hostname string) (cloudflare.CustomHostname, error)
	CustomHostname(ctx context.Context, zoneID, id string) (cloudflare.CustomHostname, error)
	RefreshCustomHostname(ctx context.Context, zoneID, id string) (cloudflare.CustomHostname, error)
	DeleteCustomHostname(ctx context.Context, zoneID, id string) error
	EnsureRoute(ctx context.Context, zoneID, pattern, script string) error
	DeleteRoute(ctx context.Context, zoneID, pattern string) error
}

// DomainConfig configures custom domains.
type DomainConfig struct {
	// SaaSZone is the Cloudflare zone that serves custom hostnames (Cloudflare for
	// SaaS); SaaSTarget is the hostname users CNAME to. Empty SaaSZone: zone mode only.
	SaaSZone   string
	SaaSTarget string
	// Resolver looks up what a domain needs before Cloudflare is asked to re-check.
	Resolver *domains.Resolver
	// AllowReserved accepts .test, .example and the like (demos on the local edge).
	AllowReserved bool
}
