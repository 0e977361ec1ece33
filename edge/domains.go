package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Domains: zones, DNS records, Workers Custom Domains, custom hostnames (Cloudflare
// for SaaS), certificate packs, zone settings, Workers routes and redirect rules. They
// live in DataDir/domains.json, apart from the scripts of state.json, and are written
// the same way (a temporary file and a rename).
//
// Statuses move on their own after the delays of Config (ZoneActivationDelay,
// CertificateDelay, CustomHostnameDelay): the edge advances them lazily, whenever a
// request (API, TLS handshake or data plane) looks at the state, so a stopped clock
// (Config.Now) stops them and a clock moved forward moves them. The control endpoint
// (control.go) sets them directly.

// Zone statuses (zones.ZoneStatus in cloudflare-go).
const (
	zonePending = "pending"
	zoneActive  = "active"
	zoneMoved   = "moved"
)

// Certificate statuses (ssl.Status in cloudflare-go) the edge uses. A managed
// certificate moves initializing -> pending_validation -> active; custom hostnames'
// certificates go through pending_issuance and pending_deployment too (customhostnames.go).
const (
	certInitializing       = "initializing"
	certPendingValidation  = "pending_validation"
	certPendingIssuance    = "pending_issuance"
	certPendingDeployment  = "pending_deployment"
	certActive             = "active"
	certExpired            = "expired"
	certValidationTimedOut = "validation_timed_out"
)

// Certificate pack types (ssl.CertificatePackListResponseType).
const (
	packUniversal = "universal"
	packAdvanced  = "advanced"
)

// Custom hostname statuses (custom_hostnames.CustomHostnameNewResponseStatus).
const (
	hostnamePending = "pending"
	hostnameActive  = "active"
	hostnameMoved   = "moved"
	hostnameBlocked = "blocked"
)

// DefaultCertificateValidity is how long the edge's leaf certificates last: 90 days,
// like the Let's Encrypt and Google Trust Services certificates Cloudflare issues.
const DefaultCertificateValidity = 90 * 24 * time.Hour

// certRenewBefore is how long before expiry an active managed certificate is renewed
// (Cloudflare renews its managed certificates 30 days before they expire).
const certRenewBefore = 30 * 24 * time.Hour

// zone is one zone of the account.
type zone struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name"`
	Type                string    `json:"type"`
	Status              string    `json:"status"`
	StatusSince         time.Time `json:"status_since"`
	NameServers         []string  `json:"name_servers"`
	OriginalNameServers []string  `json:"original_name_servers,omitempty"`
	CreatedOn           time.Time `json:"created_on"`
	ModifiedOn          time.Time `json:"modified_on"`
	ActivatedOn         time.Time `json:"activated_on,omitzero"`
	// NameServersAway is the control's "the registrar does not point at our name
	// servers": the zone cannot activate, and an active zone is moved.
	NameServersAway     bool            `json:"name_servers_away,omitempty"`
	LastActivationCheck time.Time       `json:"last_activation_check,omitzero"`
	Settings            zoneSettings    `json:"settings"`
	FallbackOrigin      *fallbackOrigin `json:"fallback_origin,omitempty"`
	// Rulesets are the zone's phase entry points, by phase.
	Rulesets map[string]*ruleset `json:"rulesets,omitempty"`
}

// zoneSettings are the zone settings the edge keeps.
type zoneSettings struct {
	AlwaysUseHTTPS           string    `json:"always_use_https"`
	AlwaysUseHTTPSModifiedOn time.Time `json:"always_use_https_modified_on,omitzero"`
	MinTLSVersion            string    `json:"min_tls_version"`
	MinTLSVersionModifiedOn  time.Time `json:"min_tls_version_modified_on,omitzero"`
}

// dnsRecord is one DNS record of a zone.
type dnsRecord struct {
	ID         string    `json:"id"`
	ZoneID     string    `json:"zone_id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Content    string    `json:"content"`
	Proxied    bool      `json:"proxied"`
	TTL        int       `json:"ttl"`
	Comment    string    `json:"comment,omitempty"`
	Tags       []string  `json:"tags,omitempty"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
	// OriginWorkerID is set on the record a Workers Custom Domain made: it is read
	// only, and goes away with the Custom Domain.
	OriginWorkerID string `json:"origin_worker_id,omitempty"`
}

// workerDomain is one Workers Custom Domain.
type workerDomain struct {
	ID          string    `json:"id"`
	ZoneID      string    `json:"zone_id"`
	Hostname    string    `json:"hostname"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	PackID      string    `json:"pack_id"`
	RecordID    string    `json:"record_id"`
	CreatedOn   time.Time `json:"created_on"`
}

// certState is a managed certificate: its status and, once issued, its leaf (whose
// key and chain are in DataDir/certs/<ID>.pem).
type certState struct {
	ID               string    `json:"id"`
	Hosts            []string  `json:"hosts"`
	Status           string    `json:"status"`
	Since            time.Time `json:"since"`
	ValidationErrors []string  `json:"validation_errors,omitempty"`
	Serial           string    `json:"serial,omitempty"`
	IssuedOn         time.Time `json:"issued_on,omitzero"`
	ExpiresOn        time.Time `json:"expires_on,omitzero"`
}

// issued reports whether c has a leaf.
func (c *certState) issued() bool { return c.Serial != "" }

// certPack is one certificate pack of a zone: the zone's universal certificate, or
// the advanced certificate of a Workers Custom Domain.
type certPack struct {
	ID        string    `json:"id"`
	ZoneID    string    `json:"zone_id"`
	Type      string    `json:"type"`
	Owner     string    `json:"owner,omitempty"` // the Workers Custom Domain's id
	CreatedOn time.Time `json:"created_on"`
	Cert      certState `json:"cert"`
}

// domainState is the content of domains.json.
type domainState struct {
	Version         int                        `json:"version"`
	Zones           map[string]*zone           `json:"zones"`
	Records         map[string]*dnsRecord      `json:"records"`
	WorkerDomains   map[string]*workerDomain   `json:"worker_domains"`
	Packs           map[string]*certPack       `json:"certificate_packs"`
	CustomHostnames map[string]*customHostname `json:"custom_hostnames"`
	Routes          map[string]*workerRoute    `json:"routes"`
	// Claimed are hostnames the control marked as held by another Cloudflare
	// account: creating a custom hostname for one gets 1406.
	Claimed map[string]bool `json:"claimed,omitempty"`

	index domainIndex // derived, never stored
}

const domainStateVersion = 1

func newDomainState() *domainState {
	return &domainState{
		Version:         domainStateVersion,
		Zones:           map[string]*zone{},
		Records:         map[string]*dnsRecord{},
		WorkerDomains:   map[string]*workerDomain{},
		Packs:           map[string]*certPack{},
		CustomHostnames: map[string]*customHostname{},
		Routes:          map[string]*workerRoute{},
		Claimed:         map[string]bool{},
	}
}

// fill makes every map of st usable after decoding.
func (st *domainState) fill() {
	if st.Zones == nil {
		st.Zones = map[string]*zone{}
	}
	if st.Records == nil {
		st.Records = map[string]*dnsRecord{}
	}
	if st.WorkerDomains == nil {
		st.WorkerDomains = map[string]*workerDomain{}
	}
	if st.Packs == nil {
		st.Packs = map[string]*certPack{}
	}
	if st.CustomHostnames == nil {
		st.CustomHostnames = map[string]*customHostname{}
	}
	if st.Routes == nil {
		st.Routes = map[string]*workerRoute{}
	}
	if st.Claimed == nil {
		st.Claimed = map[string]bool{}
	}
}

// domainIndex finds objects by hostname.
type domainIndex struct {
	zoneByName    map[string]*zone
	workerDomain  map[string]*workerDomain   // by hostname
	customHost    map[string]*customHostname // by hostname
	packByOwner   map[string]*certPack       // by Workers Custom Domain id
	universalPack map[string]*certPack       // by zone id
}

func (st *domainState) reindex() {
	ix := domainIndex{
		zoneByName:    map[string]*zone{},
		workerDomain:  map[string]*workerDomain{},
		customHost:    map[string]*customHostname{},
		packByOwner:   map[string]*certPack{},
		universalPack: map[string]*certPack{},
	}
	for _, z := range st.Zones {
		ix.zoneByName[z.Name] = z
	}
	for _, d := range st.WorkerDomains {
		ix.workerDomain[d.Hostname] = d
	}
	for _, ch := range st.CustomHostnames {
		ix.customHost[ch.Hostname] = ch
	}
	for _, p := range st.Packs {
		switch {
		case p.Owner != "":
			ix.packByOwner[p.Owner] = p
		case p.Type == packUniversal:
			ix.universalPack[p.ZoneID] = p
		}
	}
	st.index = ix
}

// zoneFor returns the zone of the account that hostname belongs to: the zone of that
// name, or of the longest parent name.
func (st *domainState) zoneFor(hostname string) (*zone, bool) {
	for h := hostname; h != ""; {
		if z, ok := st.index.zoneByName[h]; ok {
			return z, true
		}
		_, rest, found := strings.Cut(h, ".")
		if !found {
			break
		}
		h = rest
	}
	return nil, false
}

// sortedZones returns the zones by name.
func (st *domainState) sortedZones() []*zone {
	out := slices.Collect(maps.Values(st.Zones))
	slices.SortFunc(out, func(a, b *zone) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// domainStore keeps domainState. Readers take a snapshot, which is never modified:
// update works on a deep copy and swaps it in once it is on disk.
type domainStore struct {
	path string

	mu sync.RWMutex
	st *domainState
}

func openDomainStore(path string) (*domainStore, error) {
	s := &domainStore{path: path}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.st = newDomainState()
	case err != nil:
		return nil, err
	default:
		st := &domainState{}
		if err := json.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		if st.Version != domainStateVersion {
			return nil, fmt.Errorf("%s has version %d, want %d", path, st.Version, domainStateVersion)
		}
		st.fill()
		s.st = st
	}
	s.st.reindex()
	return s, nil
}

// snapshot returns the current state. The caller must not modify it.
func (s *domainStore) snapshot() *domainState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st
}

// update runs fn on a deep copy of the state and, if fn succeeds, writes the copy
// and makes it current. It returns the new state.
func (s *domainStore) update(fn func(st *domainState) error) (*domainState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := cloneDomainState(s.st)
	if err != nil {
		return nil, err
	}
	next.reindex()
	if err := fn(next); err != nil {
		return nil, err
	}
	next.Version = domainStateVersion
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode domain state: %w", err)
	}
	if err := writeFileAtomic(s.path, data, 0o644); err != nil {
		return nil, fmt.Errorf("write domain state: %w", err)
	}
	next.reindex()
	s.st = next
	return next, nil
}

// cloneDomainState deep-copies st through its JSON form: the state is small (tens of
// objects), and this keeps the copy exact as fields are added.
func cloneDomainState(st *domainState) (*domainState, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("copy domain state: %w", err)
	}
	out := &domainState{}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("copy domain state: %w", err)
	}
	out.fill()
	return out, nil
}

// domainsNow returns the domain state with every status advanced to now.
func (e *Edge) domainsNow() *domainState {
	st := e.domains.snapshot()
	now := e.now()
	if !e.due(st, now) {
		return st
	}
	next, err := e.domains.update(func(st *domainState) error {
		e.advance(st, now)
		return nil
	})
	if err != nil {
		e.log.Error("advance domain statuses", "err", err)
		return st
	}
	return next
}

// due reports whether advancing st to now would change anything. It runs the same
// transitions on a throwaway copy of the statuses only, without issuing anything.
func (e *Edge) due(st *domainState, now time.Time) bool {
	for _, z := range st.Zones {
		if _, ok := e.nextZoneStatus(z, now); ok {
			return true
		}
	}
	for _, p := range st.Packs {
		if e.packDue(st, p, now) {
			return true
		}
	}
	for _, ch := range st.CustomHostnames {
		if e.customHostnameDue(ch, now) {
			return true
		}
	}
	for _, z := range st.Zones {
		if fo := z.FallbackOrigin; fo != nil && fo.Status != fallbackActive && e.stepDue(fo.Since, e.cfg.CustomHostnameDelay, now) {
			return true
		}
	}
	return false
}

// stepDue reports whether a status entered at since with delay is over at now. A
// negative delay never ends: only the control endpoint moves such a status.
func (e *Edge) stepDue(since time.Time, delay time.Duration, now time.Time) bool {
	return delay >= 0 && !now.Before(since.Add(delay))
}

// advance moves every status of st to where it is at now, issuing certificates that
// become active. It repeats until nothing changes, so that with zero delays a whole
// chain (zone active, then its certificates) completes at once.
func (e *Edge) advance(st *domainState, now time.Time) {
	for range 16 {
		changed := false
		for _, z := range st.sortedZones() {
			if next, ok := e.nextZoneStatus(z, now); ok {
				e.setZoneStatus(z, next, now)
				changed = true
			}
			if fo := z.FallbackOrigin; fo != nil && fo.Status != fallbackActive && e.stepDue(fo.Since, e.cfg.CustomHostnameDelay, now) {
				fo.Status, fo.UpdatedAt = fallbackActive, now
				changed = true
			}
		}
		for _, p := range st.Packs {
			if e.advancePack(st, p, now) {
				changed = true
			}
		}
		for _, ch := range st.CustomHostnames {
			if e.advanceCustomHostname(ch, now) {
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}

// nextZoneStatus is the status z moves to at now, if it moves.
func (e *Edge) nextZoneStatus(z *zone, now time.Time) (string, bool) {
	switch z.Status {
	case zonePending, zoneMoved:
		if !z.NameServersAway && e.stepDue(z.StatusSince, e.cfg.ZoneActivationDelay, now) {
			return zoneActive, true
		}
	case zoneActive:
		if z.NameServersAway {
			return zoneMoved, true
		}
	}
	return "", false
}

func (e *Edge) setZoneStatus(z *zone, status string, now time.Time) {
	if z.Status == status {
		return
	}
	z.Status, z.StatusSince, z.ModifiedOn = status, now, now
	if status == zoneActive {
		z.ActivatedOn = now
	}
	e.log.Info("zone status", "zone", z.Name, "status", status)
}

// packDue reports whether advancePack would change p at now.
func (e *Edge) packDue(st *domainState, p *certPack, now time.Time) bool {
	z := st.Zones[p.ZoneID]
	switch p.Cert.Status {
	case certInitializing:
		return z != nil && z.Status == zoneActive
	case certPendingValidation:
		return e.stepDue(p.Cert.Since, e.cfg.CertificateDelay, now)
	case certActive:
		return needsRenewal(&p.Cert, now)
	}
	return false
}

// advancePack moves a managed certificate: it waits for its zone to be active,
// validates for CertificateDelay, is issued, and is renewed before it expires.
func (e *Edge) advancePack(st *domainState, p *certPack, now time.Time) bool {
	if !e.packDue(st, p, now) {
		return false
	}
	switch p.Cert.Status {
	case certInitializing:
		// Validation starts when both the certificate and its active zone exist.
		since := p.CreatedOn
		if z := st.Zones[p.ZoneID]; z != nil && z.ActivatedOn.After(since) {
			since = z.ActivatedOn
		}
		if since.After(now) {
			since = now
		}
		p.Cert.Status, p.Cert.Since = certPendingValidation, since
	case certPendingValidation, certActive:
		e.issue(&p.Cert, now)
	}
	return true
}

// needsRenewal reports whether an active certificate is within certRenewBefore of
// its expiry (or has no leaf yet, after a failed issuance).
func needsRenewal(c *certState, now time.Time) bool {
	return !c.issued() || !now.Before(c.ExpiresOn.Add(-certRenewBefore))
}

// issue issues a leaf for c and makes it active. When the leaf cannot be made (a
// disk error), c keeps its status and the error is logged; a later advance retries.
func (e *Edge) issue(c *certState, now time.Time) {
	leaf, err := e.ca.issue(c.ID, c.Hosts, now, e.cfg.CertificateValidity)
	if err != nil {
		e.log.Error("issue certificate", "hosts", c.Hosts, "err", err)
		return
	}
	c.Serial, c.IssuedOn, c.ExpiresOn = leaf.serial, leaf.notBefore, leaf.notAfter
	if c.Status != certActive {
		c.Status, c.Since = certActive, now
	}
	c.ValidationErrors = nil
	e.log.Info("certificate issued", "hosts", c.Hosts, "expires_on", leaf.notAfter)
}

// deleteZoneObjects removes everything that belongs to zone id from st.
func deleteZoneObjects(st *domainState, id string) {
	for k, r := range st.Records {
		if r.ZoneID == id {
			delete(st.Records, k)
		}
	}
	for k, d := range st.WorkerDomains {
		if d.ZoneID == id {
			delete(st.WorkerDomains, k)
		}
	}
	for k, p := range st.Packs {
		if p.ZoneID == id {
			delete(st.Packs, k)
		}
	}
	for k, ch := range st.CustomHostnames {
		if ch.ZoneID == id {
			delete(st.CustomHostnames, k)
		}
	}
	for k, rt := range st.Routes {
		if rt.ZoneID == id {
			delete(st.Routes, k)
		}
	}
	delete(st.Zones, id)
}
