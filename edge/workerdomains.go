package edge

import (
	"net/http"
	"slices"
	"strings"
)

// Workers Custom Domains: PUT /accounts/{a}/workers/domains {hostname, service,
// zone_id | zone_name, environment, override_existing_origin,
// override_existing_dns_record} attaches a hostname of one of the account's zones to
// a Worker; GET /accounts/{a}/workers/domains (filters hostname, service, zone_id,
// zone_name, environment); GET and DELETE /accounts/{a}/workers/domains/{id}.
//
// Cloudflare "will create DNS records and issue necessary certificates on your
// behalf" (developers.cloudflare.com/workers/configuration/routing/custom-domains):
// the edge makes the read-only AAAA 100:: record (dns.go) and an advanced
// certificate pack for the hostname, which becomes active CertificateDelay after
// the zone is active. Deleting the Custom Domain removes both.
//
// Conflicts, as Cloudflare answers them:
//   - A DNS record (A, AAAA or CNAME) not made by a Custom Domain on the hostname:
//     409, code 100117, "Hostname '<h>' already has externally managed DNS records
//     (A, CNAME, etc). Either delete them, try a different hostname, or use the
//     option 'override_existing_dns_record' to override." (cloudflare/workers-sdk#9878;
//     vm0-ai/vm0#33406 quotes the same). A Cloudflare maintainer clarified there that
//     the override applies to another Worker's record, not to external records, so
//     the edge refuses whatever the option says.
//   - The hostname attached to another Worker: 409, code 100116, "Hostname '<h>'
//     already in use by other custom domain. Either delete it, try a different
//     hostname, or use the option 'override_existing_origin' to override."
//     (alchemy-run/alchemy-async#1384); with override_existing_origin the edge moves
//     it to the new Worker.
//   - The same hostname and Worker again: the existing Custom Domain (PUT is an
//     upsert).
const (
	codeDomainOriginInUse = 100116
	codeDomainExternalDNS = 100117
	codeDomainNotFound    = 100114
	defaultEnvironment    = "production"
	workerRecordTTL       = 1
)

type workerDomainObject struct {
	ID          string `json:"id"`
	ZoneID      string `json:"zone_id"`
	ZoneName    string `json:"zone_name"`
	Hostname    string `json:"hostname"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	CertID      string `json:"cert_id"`
}

func workerDomainResult(st *domainState, d *workerDomain) workerDomainObject {
	out := workerDomainObject{ID: d.ID, ZoneID: d.ZoneID, Hostname: d.Hostname, Service: d.Service, Environment: d.Environment}
	if z := st.Zones[d.ZoneID]; z != nil {
		out.ZoneName = z.Name
	}
	if p := st.Packs[d.PackID]; p != nil {
		out.CertID = p.Cert.ID
	}
	return out
}

type workerDomainRequest struct {
	Hostname                  string `json:"hostname"`
	Service                   string `json:"service"`
	Environment               string `json:"environment"`
	ZoneID                    string `json:"zone_id"`
	ZoneName                  string `json:"zone_name"`
	OverrideExistingOrigin    bool   `json:"override_existing_origin"`
	OverrideExistingDNSRecord bool   `json:"override_existing_dns_record"`
}

// putWorkerDomain is PUT /workers/domains.
func (e *Edge) putWorkerDomain(r *http.Request) (reply, error) {
	var req workerDomainRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	host, valid := cleanHostname(req.Hostname)
	if !valid {
		return reply{}, errValidation("hostname %q is not a valid hostname", req.Hostname)
	}
	if !scriptNamePattern.MatchString(req.Service) {
		return reply{}, errValidation("service %q is not a valid Worker name", req.Service)
	}
	if _, found := e.store.script(req.Service); !found {
		return reply{}, errScriptNotFound()
	}
	if req.Environment == "" {
		req.Environment = defaultEnvironment
	}
	now := e.now()
	var out workerDomainObject
	var created bool
	st, err := e.domains.update(func(st *domainState) error {
		z, err := domainZone(st, host, req.ZoneID, req.ZoneName)
		if err != nil {
			return err
		}
		if d, found := st.index.workerDomain[host]; found {
			if d.Service != req.Service && !req.OverrideExistingOrigin {
				return apiErrorf(http.StatusConflict, codeDomainOriginInUse,
					"Hostname '%s' already in use by other custom domain. Either delete it, try a different hostname, or use the option 'override_existing_origin' to override.", host)
			}
			d.Service, d.Environment = req.Service, req.Environment
			out = workerDomainResult(st, d)
			return nil
		}
		for _, rec := range st.Records {
			if rec.ZoneID == z.ID && rec.Name == host && isAddressType(rec.Type) {
				return apiErrorf(http.StatusConflict, codeDomainExternalDNS,
					"Hostname '%s' already has externally managed DNS records (A, CNAME, etc). Either delete them, try a different hostname, or use the option 'override_existing_dns_record' to override.", host)
			}
		}
		d := &workerDomain{ID: newID(), ZoneID: z.ID, Hostname: host, Service: req.Service, Environment: req.Environment, CreatedOn: now}
		rec := &dnsRecord{ID: newID(), ZoneID: z.ID, Name: host, Type: "AAAA", Content: workerRecordContent,
			Proxied: true, TTL: workerRecordTTL, CreatedOn: now, ModifiedOn: now, OriginWorkerID: d.ID}
		pack := &certPack{ID: newUUID(), ZoneID: z.ID, Type: packAdvanced, Owner: d.ID, CreatedOn: now,
			Cert: certState{ID: newUUID(), Hosts: []string{host}, Status: certInitializing, Since: now}}
		d.RecordID, d.PackID = rec.ID, pack.ID
		st.WorkerDomains[d.ID], st.Records[rec.ID], st.Packs[pack.ID] = d, rec, pack
		st.reindex()
		e.advance(st, now)
		out = workerDomainResult(st, d)
		created = true
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	if created {
		e.log.Info("custom domain attached", "hostname", host, "service", req.Service,
			"certificate", st.Packs[st.WorkerDomains[out.ID].PackID].Cert.Status)
	}
	return ok(out)
}

// domainZone finds the zone a Custom Domain's hostname belongs to: the zone given by
// id or name, which must contain the hostname, or else the account's zone that does.
func domainZone(st *domainState, host, zoneID, zoneName string) (*zone, error) {
	var z *zone
	switch {
	case zoneID != "":
		z = st.Zones[zoneID]
		if z == nil {
			return nil, errValidation("zone_id %s is not a zone of this account", zoneID)
		}
	case zoneName != "":
		z = st.index.zoneByName[normalizeHost(zoneName)]
		if z == nil {
			return nil, errValidation("zone_name %s is not a zone of this account", zoneName)
		}
	default:
		found := false
		if z, found = st.zoneFor(host); !found {
			return nil, errValidation("hostname %s is in none of this account's zones: add its zone first", host)
		}
	}
	if host != z.Name && !strings.HasSuffix(host, "."+z.Name) {
		return nil, errValidation("hostname %s is not in the zone %s", host, z.Name)
	}
	return z, nil
}

// listWorkerDomains is GET /workers/domains.
func (e *Edge) listWorkerDomains(r *http.Request) (reply, error) {
	st := e.domainsNow()
	q := r.URL.Query()
	var out []workerDomainObject
	for _, d := range st.WorkerDomains {
		o := workerDomainResult(st, d)
		if (q.Get("hostname") != "" && o.Hostname != normalizeHost(q.Get("hostname"))) ||
			(q.Get("service") != "" && o.Service != q.Get("service")) ||
			(q.Get("zone_id") != "" && o.ZoneID != q.Get("zone_id")) ||
			(q.Get("zone_name") != "" && o.ZoneName != normalizeHost(q.Get("zone_name"))) ||
			(q.Get("environment") != "" && o.Environment != q.Get("environment")) {
			continue
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b workerDomainObject) int { return strings.Compare(a.Hostname, b.Hostname) })
	if out == nil {
		out = []workerDomainObject{}
	}
	return ok(out)
}

// Cloudflare's answer for an unknown Custom Domain id is not in the sources I found;
// the edge answers 404 with code 100114 and says what is missing.
func errWorkerDomainNotFound() *apiError {
	return apiErrorf(http.StatusNotFound, codeDomainNotFound, "Custom domain not found")
}

// getWorkerDomain is GET /workers/domains/{domain}.
func (e *Edge) getWorkerDomain(r *http.Request) (reply, error) {
	st := e.domainsNow()
	d, found := st.WorkerDomains[r.PathValue("domain")]
	if !found {
		return reply{}, errWorkerDomainNotFound()
	}
	return ok(workerDomainResult(st, d))
}

// deleteWorkerDomain is DELETE /workers/domains/{domain}: the Custom Domain goes with
// its DNS record and certificate.
func (e *Edge) deleteWorkerDomain(r *http.Request) (reply, error) {
	id := r.PathValue("domain")
	var d workerDomain
	var certID string
	_, err := e.domains.update(func(st *domainState) error {
		cur, found := st.WorkerDomains[id]
		if !found {
			return errWorkerDomainNotFound()
		}
		d = *cur
		if p := st.Packs[cur.PackID]; p != nil {
			certID = p.Cert.ID
		}
		delete(st.Records, cur.RecordID)
		delete(st.Packs, cur.PackID)
		delete(st.WorkerDomains, id)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.ca.forget(certID)
	e.log.Info("custom domain detached", "hostname", d.Hostname, "service", d.Service)
	return ok(nil)
}

// workerDomainServing reports whether d serves traffic: its zone is active.
func workerDomainServing(st *domainState, d *workerDomain) bool {
	z := st.Zones[d.ZoneID]
	return z != nil && z.Status == zoneActive
}
