package edge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Zones: POST /zones {account: {id}, name, type}, GET /zones (filters name, status,
// account.id), GET and DELETE /zones/{zone}, PUT /zones/{zone}/activation_check.
//
// Cloudflare's behaviour, and where it was found:
//   - A new full zone is "pending" with two assigned name servers until the registrar
//     points at them, then "active"; an active zone whose registrar stops pointing at
//     Cloudflare becomes "moved" (zones.ZoneStatus in cloudflare-go v6: initializing,
//     pending, active, moved; REFERENCE.md). Cloudflare assigns an account the same
//     pair of name servers (ada.ns.cloudflare.com style); here they end in
//     ns.appforge.test.
//   - Adding a zone the account already has: 400, code 1061, "<name> already exists"
//     (the body quoted in midl-dev/tezos-on-gke#3, from Terraform).
//   - A name that is not a registrable domain: 400, code 1099, "We were unable to
//     identify <name> as a registered domain. Please ensure you are providing the
//     root domain and not any subdomains (e.g., example.com, not
//     subdomain.example.com)"; a subdomain of one of the account's zones: 1116 with
//     the second sentence (both quoted in public deploy notes that hit them). The
//     edge decides "registrable" with the public suffix list, as Cloudflare does; it
//     accepts reserved TLDs such as .test so that local demos can use them.
//   - An activation check "can be triggered every 5 min for paygo/ent customers,
//     every hour for FREE Zones" (the API reference of PUT
//     /zones/{zone_id}/activation_check); it answers {"id": <zone id>}. The edge
//     limits it only when Config.ActivationCheckInterval is set, answering sooner
//     checks with a 429 and Retry-After (Cloudflare's answer to an early check is not
//     documented).
//   - An unknown zone id anywhere under /zones/{zone}: 404 with codes 7003 and 7000,
//     Cloudflare's "Could not route to ..., perhaps your object identifier is
//     invalid?" (as for an unknown account).
const (
	codeZoneExists       = 1061
	codeZoneNotDomain    = 1099
	codeZoneIsSubdomain  = 1116
	codeZoneInvalid      = 1000
	nameServerSuffix     = "ns.appforge.test"
	defaultZonesPerPage  = 20
	maxResultsPerPage    = 1000
	planFreeName         = "Free Website"
	zoneTypeFull         = "full"
	zoneTypePartial      = "partial"
	minTLSVersionDefault = "1.0"
)

// nameServerNames are the first labels the edge's name servers are chosen from.
var nameServerNames = []string{"ada", "bob", "cleo", "dan", "eve", "fay", "gus", "hal", "ivy", "jay", "kim", "lou"}

// accountNameServers is the account's pair of name servers: stable for the account,
// as Cloudflare's usually are.
func (e *Edge) accountNameServers() []string {
	sum := sha256.Sum256([]byte(e.cfg.AccountID))
	h := binary.BigEndian.Uint64(sum[:8])
	n := uint64(len(nameServerNames))
	i := h % n
	j := (i + 1 + (h/n)%(n-1)) % n
	return []string{nameServerNames[i] + "." + nameServerSuffix, nameServerNames[j] + "." + nameServerSuffix}
}

// zoneCtxKey carries the state and zone a zone route looked up.
type zoneCtxKey struct{}

type zoneCtx struct {
	st *domainState
	z  *zone
}

// routeZone registers a path under /client/v4/zones/{zone}. The zone must exist;
// statuses are advanced to now before the handler runs.
func (e *Edge) routeZone(mux *http.ServeMux, path string, ms methods) {
	mux.Handle("/client/v4/zones/{zone}"+path, e.wrap(apiToken, func(r *http.Request) (reply, error) {
		fn, err := ms.lookup(r)
		if err != nil {
			return reply{}, err
		}
		st := e.domainsNow()
		z, found := st.Zones[r.PathValue("zone")]
		if !found {
			return reply{}, errCouldNotRoute(r.URL.Path)
		}
		if err := authorize(r); err != nil {
			return reply{}, err
		}
		return fn(r.WithContext(context.WithValue(r.Context(), zoneCtxKey{}, zoneCtx{st, z})))
	}))
}

// requestZone returns the state and zone routeZone found for r.
func (e *Edge) requestZone(r *http.Request) (*domainState, *zone) {
	zc, _ := r.Context().Value(zoneCtxKey{}).(zoneCtx)
	return zc.st, zc.z
}

// updateZone runs fn on the request's zone in a writable copy of the state, then
// advances statuses so that zero delays take effect in the same call.
func (e *Edge) updateZone(r *http.Request, fn func(st *domainState, z *zone) error) (*domainState, *zone, error) {
	_, z0 := e.requestZone(r)
	var zout *zone
	st, err := e.domains.update(func(st *domainState) error {
		z, found := st.Zones[z0.ID]
		if !found {
			return errCouldNotRoute(r.URL.Path)
		}
		if err := fn(st, z); err != nil {
			return err
		}
		e.advance(st, e.now())
		zout = st.Zones[z0.ID]
		return nil
	})
	return st, zout, err
}

// resultInfo is the envelope's result_info of a paginated list.
type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// paginate answers one page of items with Cloudflare's page and per_page query.
func paginate[T any](r *http.Request, items []T, defaultPerPage int) (reply, error) {
	q := r.URL.Query()
	page, perPage := 1, defaultPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 1 {
			return reply{}, errValidation("page must be a number of at least 1")
		}
		page = int(n)
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 1 {
			return reply{}, errValidation("per_page must be a number of at least 1")
		}
		perPage = min(int(n), maxResultsPerPage)
	}
	total := len(items)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	pageItems := items[start:end]
	if pageItems == nil {
		pageItems = []T{}
	}
	return reply{result: pageItems, resultInfo: resultInfo{
		Page: page, PerPage: perPage, Count: len(pageItems), TotalCount: total,
		TotalPages: int(math.Ceil(float64(total) / float64(perPage))),
	}}, nil
}

// hostnameProfile converts and checks DNS names the way the edge wants them: ASCII
// (punycode), lower case, no trailing dot.
var hostnameProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// cleanHostname returns the canonical form of a hostname, or false when it is not a
// valid DNS name of at least two labels (each 1 to 63 letters, digits or dashes,
// not starting or ending with a dash; at most 253 characters).
func cleanHostname(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return "", false
	}
	a, err := hostnameProfile.ToASCII(s)
	if err != nil {
		return "", false
	}
	a = strings.ToLower(a)
	if len(a) > 253 {
		return "", false
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if !labelPattern.MatchString(l) {
			return "", false
		}
	}
	return a, true
}

// zoneObject is Cloudflare's zone.
type zoneObject struct {
	ID                  string         `json:"id"`
	Name                string         `json:"name"`
	Status              string         `json:"status"`
	Paused              bool           `json:"paused"`
	Type                string         `json:"type"`
	DevelopmentMode     int            `json:"development_mode"`
	NameServers         []string       `json:"name_servers"`
	OriginalNameServers []string       `json:"original_name_servers"`
	OriginalRegistrar   *string        `json:"original_registrar"`
	OriginalDNSHost     *string        `json:"original_dnshost"`
	VanityNameServers   []string       `json:"vanity_name_servers"`
	CreatedOn           time.Time      `json:"created_on"`
	ModifiedOn          time.Time      `json:"modified_on"`
	ActivatedOn         *time.Time     `json:"activated_on"`
	Meta                map[string]any `json:"meta"`
	Owner               map[string]any `json:"owner"`
	Account             map[string]any `json:"account"`
	Permissions         []string       `json:"permissions"`
	Plan                map[string]any `json:"plan"`
	Tenant              map[string]any `json:"tenant"`
	TenantUnit          map[string]any `json:"tenant_unit"`
}

func (e *Edge) zoneResult(z *zone) zoneObject {
	out := zoneObject{
		ID: z.ID, Name: z.Name, Status: z.Status, Type: z.Type,
		NameServers: z.NameServers, OriginalNameServers: z.OriginalNameServers,
		VanityNameServers: []string{},
		CreatedOn:         z.CreatedOn, ModifiedOn: z.ModifiedOn,
		Meta: map[string]any{
			"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3,
			"phishing_detected": false, "cdn_only": false, "dns_only": false, "foundation_dns": false,
		},
		Owner:       map[string]any{"id": nil, "type": "user", "email": nil},
		Account:     map[string]any{"id": e.cfg.AccountID, "name": accountName},
		Permissions: []string{"#zone:read", "#zone:edit", "#dns_records:read", "#dns_records:edit", "#ssl:read", "#ssl:edit", "#worker:read", "#worker:edit"},
		Plan: map[string]any{
			"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": planFreeName, "price": 0, "currency": "USD",
			"frequency": "", "is_subscribed": false, "can_subscribe": false, "legacy_id": "free",
			"legacy_discount": false, "externally_managed": false,
		},
		Tenant:     map[string]any{"id": nil, "name": nil},
		TenantUnit: map[string]any{"id": nil},
	}
	if !z.ActivatedOn.IsZero() {
		t := z.ActivatedOn
		out.ActivatedOn = &t
	}
	return out
}

type zoneCreateRequest struct {
	Account *struct {
		ID string `json:"id"`
	} `json:"account"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// createZone is POST /zones.
func (e *Edge) createZone(r *http.Request) (reply, error) {
	var req zoneCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	if req.Account != nil && req.Account.ID != "" && req.Account.ID != e.cfg.AccountID {
		return reply{}, errCouldNotRoute("/accounts/" + req.Account.ID)
	}
	switch req.Type {
	case "":
		req.Type = zoneTypeFull
	case zoneTypeFull, zoneTypePartial:
	default:
		return reply{}, apiErrorf(http.StatusBadRequest, codeZoneInvalid, "type %q is not supported by the local edge: use full or partial", req.Type)
	}
	name, valid := cleanHostname(req.Name)
	if !valid {
		return reply{}, errNotRegistrable(req.Name)
	}
	apex, err := publicsuffix.EffectiveTLDPlusOne(name)
	registrable := err == nil && apex == name
	now := e.now()
	var created *zone
	_, err = e.domains.update(func(st *domainState) error {
		if _, dup := st.index.zoneByName[name]; dup {
			return apiErrorf(http.StatusBadRequest, codeZoneExists, "%s already exists", name)
		}
		if parent, found := st.zoneFor(name); found && parent.Name != name {
			return apiErrorf(http.StatusBadRequest, codeZoneIsSubdomain,
				"Please ensure you are providing the root domain and not any subdomains (e.g., example.com, not subdomain.example.com)")
		}
		if !registrable {
			return errNotRegistrable(name)
		}
		z := &zone{
			ID: newID(), Name: name, Type: req.Type, Status: zonePending, StatusSince: now,
			NameServers: e.accountNameServers(), CreatedOn: now, ModifiedOn: now,
			Settings: zoneSettings{AlwaysUseHTTPS: "off", MinTLSVersion: minTLSVersionDefault},
		}
		st.Zones[z.ID] = z
		// Universal SSL: one certificate for zone and *.zone, issued once the zone
		// is active.
		pack := &certPack{ID: newUUID(), ZoneID: z.ID, Type: packUniversal, CreatedOn: now,
			Cert: certState{ID: newUUID(), Hosts: []string{name, "*." + name}, Status: certInitializing, Since: now}}
		st.Packs[pack.ID] = pack
		st.reindex()
		e.advance(st, now)
		created = st.Zones[z.ID]
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("zone created", "zone", name, "id", created.ID, "status", created.Status)
	return ok(e.zoneResult(created))
}

func errNotRegistrable(name string) *apiError {
	return apiErrorf(http.StatusBadRequest, codeZoneNotDomain,
		"We were unable to identify %s as a registered domain. Please ensure you are providing the root domain and not any subdomains (e.g., example.com, not subdomain.example.com)", name)
}

// listZones is GET /zones.
func (e *Edge) listZones(r *http.Request) (reply, error) {
	st := e.domainsNow()
	q := r.URL.Query()
	if id := q.Get("account.id"); id != "" && id != e.cfg.AccountID {
		return paginate(r, []zoneObject{}, defaultZonesPerPage)
	}
	name := strings.ToLower(strings.TrimSuffix(q.Get("name"), "."))
	status := q.Get("status")
	var out []zoneObject
	for _, z := range st.sortedZones() {
		if name != "" && !matchNameFilter(z.Name, name) {
			continue
		}
		if status != "" && z.Status != status {
			continue
		}
		out = append(out, e.zoneResult(z))
	}
	return paginate(r, out, defaultZonesPerPage)
}

// matchNameFilter applies a zone name filter: an exact name, or one of the operators
// Cloudflare documents ("starts_with:", "ends_with:", "contains:", ...).
func matchNameFilter(name, filter string) bool {
	op, arg, found := strings.Cut(filter, ":")
	if !found {
		return name == filter
	}
	switch strings.TrimSuffix(op, "_case_sensitive") {
	case "equal":
		return name == arg
	case "not_equal":
		return name != arg
	case "starts_with":
		return strings.HasPrefix(name, arg)
	case "ends_with":
		return strings.HasSuffix(name, arg)
	case "contains":
		return strings.Contains(name, arg)
	}
	return name == filter
}

// getZone is GET /zones/{zone}.
func (e *Edge) getZone(r *http.Request) (reply, error) {
	_, z := e.requestZone(r)
	return ok(e.zoneResult(z))
}

// deleteZone is DELETE /zones/{zone}: the zone goes with its DNS records,
// certificates, Workers Custom Domains, custom hostnames, routes and rules.
func (e *Edge) deleteZone(r *http.Request) (reply, error) {
	_, z := e.requestZone(r)
	var certIDs []string
	_, err := e.domains.update(func(st *domainState) error {
		for _, p := range st.Packs {
			if p.ZoneID == z.ID {
				certIDs = append(certIDs, p.Cert.ID)
			}
		}
		for _, ch := range st.CustomHostnames {
			if ch.ZoneID == z.ID {
				certIDs = append(certIDs, ch.SSL.ID)
			}
		}
		deleteZoneObjects(st, z.ID)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	for _, id := range certIDs {
		e.ca.forget(id)
	}
	e.log.Info("zone deleted", "zone", z.Name, "id", z.ID)
	return ok(map[string]string{"id": z.ID})
}

// activationCheck is PUT /zones/{zone}/activation_check: Cloudflare looks at the
// zone's name servers again. On the edge a zone whose name servers are "ours" (see
// DomainControl.NameServers) activates; one whose are "away" stays as it is.
func (e *Edge) activationCheck(r *http.Request) (reply, error) {
	now := e.now()
	_, z, err := e.updateZone(r, func(st *domainState, z *zone) error {
		if iv := e.cfg.ActivationCheckInterval; iv > 0 && !z.LastActivationCheck.IsZero() {
			if wait := z.LastActivationCheck.Add(iv).Sub(now); wait > 0 {
				return &apiError{status: http.StatusTooManyRequests, retryAfter: wait, errs: []cfError{{
					Code:    codeRateLimited,
					Message: "Please wait and consider throttling your request speed: an activation check can be run again in " + wait.Round(time.Second).String(),
				}}}
			}
		}
		z.LastActivationCheck = now
		if z.Status != zoneActive && !z.NameServersAway {
			e.setZoneStatus(z, zoneActive, now)
		}
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(map[string]string{"id": z.ID})
}

// Zone settings: GET and PATCH /zones/{zone}/settings/{setting} for
// always_use_https ("on" | "off", default "off": "Reply to all requests for URLs
// that use "http" with a 301 redirect to the equivalent "https" URL", the API
// reference of the setting) and min_tls_version ("1.0" default, "1.1", "1.2",
// "1.3"). Other settings are not kept: 404.
const (
	settingAlwaysUseHTTPS = "always_use_https"
	settingMinTLSVersion  = "min_tls_version"
)

type settingObject struct {
	ID         string     `json:"id"`
	Value      string     `json:"value"`
	Editable   bool       `json:"editable"`
	ModifiedOn *time.Time `json:"modified_on"`
}

func settingResult(z *zone, id string) (settingObject, bool) {
	var value string
	var mod time.Time
	switch id {
	case settingAlwaysUseHTTPS:
		value, mod = z.Settings.AlwaysUseHTTPS, z.Settings.AlwaysUseHTTPSModifiedOn
	case settingMinTLSVersion:
		value, mod = z.Settings.MinTLSVersion, z.Settings.MinTLSVersionModifiedOn
	default:
		return settingObject{}, false
	}
	out := settingObject{ID: id, Value: value, Editable: true}
	if !mod.IsZero() {
		out.ModifiedOn = &mod
	}
	return out, true
}

func (e *Edge) getZoneSetting(r *http.Request) (reply, error) {
	_, z := e.requestZone(r)
	s, found := settingResult(z, r.PathValue("setting"))
	if !found {
		return reply{}, errCouldNotRoute(r.URL.Path)
	}
	return ok(s)
}

func (e *Edge) patchZoneSetting(r *http.Request) (reply, error) {
	id := r.PathValue("setting")
	if _, found := settingResult(&zone{}, id); !found {
		return reply{}, errCouldNotRoute(r.URL.Path)
	}
	var req struct {
		Value *string `json:"value"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	if req.Value == nil {
		return reply{}, errValidation("value is required")
	}
	v := *req.Value
	now := e.now()
	_, z, err := e.updateZone(r, func(_ *domainState, z *zone) error {
		switch id {
		case settingAlwaysUseHTTPS:
			if v != "on" && v != "off" {
				return errValidation("Invalid value for zone setting always_use_https: %q is not on or off", v)
			}
			z.Settings.AlwaysUseHTTPS, z.Settings.AlwaysUseHTTPSModifiedOn = v, now
		case settingMinTLSVersion:
			if !slices.Contains([]string{"1.0", "1.1", "1.2", "1.3"}, v) {
				return errValidation("Invalid value for zone setting min_tls_version: %q is not 1.0, 1.1, 1.2 or 1.3", v)
			}
			z.Settings.MinTLSVersion, z.Settings.MinTLSVersionModifiedOn = v, now
		}
		z.ModifiedOn = now
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("zone setting changed", "zone", z.Name, "setting", id, "value", v)
	s, _ := settingResult(z, id)
	return ok(s)
}
