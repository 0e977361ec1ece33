package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// The data plane for the account's own hostnames: Workers Custom Domains, custom
// hostnames and hostnames that Workers routes of an active zone match. Over HTTPS
// (TLSConfig) and over plain HTTP on Handler, a request whose Host is one of them is
// answered the way Cloudflare would:
//
//  1. the zone's Single Redirects (redirects.go): the first enabled rule that matches
//     redirects;
//  2. Always Use HTTPS, when the zone has it on: a plain HTTP request gets a 301 to
//     the same URL with https;
//  3. the Worker: a route of the zone that matches host and path, else the Custom
//     Domain's Worker, else (for a custom hostname) the Worker of the zone's fallback
//     origin; it serves its static assets as on {script}.{subdomain}.localhost.
//
// Locally the HTTPS listener is rarely on port 443: redirects to https://<a hostname
// this edge serves> get Config.HTTPSPort added, and redirects to http://<such a
// hostname> keep the port of the plain HTTP request, so that they land on the edge.
//
// A hostname that is attached but not serving (its zone not active, its custom
// hostname not active) gets a 404 page that says so.

// hostTarget is what serves a request to one of the account's hostnames.
type hostTarget struct {
	zone    *zone
	script  string // "" when no Worker serves the path
	serving bool
	reason  string // why nothing is served
}

// resolveHost finds what serves host and path; false when host is none of the
// account's hostnames.
func (st *domainState) resolveHost(host, path string) (hostTarget, bool) {
	if d, ok := st.index.workerDomain[host]; ok {
		z := st.Zones[d.ZoneID]
		t := hostTarget{zone: z, script: d.Service, serving: workerDomainServing(st, d)}
		if !t.serving {
			t.reason = fmt.Sprintf("%s is attached to the app, but its zone %s is not active yet (its name servers do not point at Cloudflare).", host, z.Name)
		}
		if rt, ok := st.routeFor(z.ID, host, path); ok {
			t.script = rt.Script
		}
		return t, true
	}
	if ch, ok := st.index.customHost[host]; ok {
		z := st.Zones[ch.ZoneID]
		t := hostTarget{zone: z, serving: ch.Status == hostnameActive}
		if !t.serving {
			t.reason = fmt.Sprintf("The custom hostname %s is %s, not active yet.", host, ch.Status)
		}
		if rt, ok := st.routeFor(z.ID, host, path); ok {
			t.script = rt.Script
		} else if fo := z.FallbackOrigin; fo != nil && fo.Status == fallbackActive {
			if d, ok := st.index.workerDomain[fo.Origin]; ok {
				t.script = d.Service
			} else if rt, ok := st.routeFor(z.ID, fo.Origin, path); ok {
				t.script = rt.Script
			}
		}
		return t, true
	}
	z, ok := st.zoneFor(host)
	if !ok || z.Status != zoneActive || !st.routesHost(z.ID, host) {
		return hostTarget{}, false
	}
	t := hostTarget{zone: z, serving: true}
	if rt, ok := st.routeFor(z.ID, host, path); ok {
		t.script = rt.Script
	}
	return t, true
}

// servesHost reports whether host is one of the hostnames this edge serves.
func (st *domainState) servesHost(host string) bool {
	_, ok := st.resolveHost(host, "/")
	return ok
}

// serveAccountHost serves r if its Host is one of the account's hostnames, and
// reports whether it did.
func (e *Edge) serveAccountHost(w http.ResponseWriter, r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = normalizeHost(host)
	if host == "" {
		return false
	}
	st := e.domainsNow()
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	t, ok := st.resolveHost(host, path)
	if !ok {
		return false
	}
	s := site{host: host, script: t.script, custom: true}
	if !t.serving {
		e.noSite(w, r, s, t.reason)
		return true
	}
	if rs := t.zone.Rulesets[phaseDynamicRedirect]; rs != nil {
		req := redirectRequest{host: host, path: path, query: r.URL.RawQuery, ssl: r.TLS != nil}
		for _, ru := range e.redirects.rules(t.zone.ID, rs) {
			if loc, matched := ru.location(req); matched {
				w.Header().Set("Location", e.localLocation(st, loc, r))
				w.WriteHeader(ru.status)
				return true
			}
		}
	}
	if r.TLS == nil && t.zone.Settings.AlwaysUseHTTPS == "on" {
		u := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		w.Header().Set("Location", e.localLocation(st, u.String(), r))
		w.WriteHeader(http.StatusMovedPermanently)
		return true
	}
	if t.script == "" {
		e.noSite(w, r, s, fmt.Sprintf("No Worker serves %s%s: add a Workers route or a fallback origin.", host, path))
		return true
	}
	e.serveSite(w, r, s)
	return true
}

// localLocation adds the edge's ports to a redirect to one of its own hostnames (see
// the comment at the top).
func (e *Edge) localLocation(st *domainState, loc string, r *http.Request) string {
	u, err := url.Parse(loc)
	if err != nil || u.Port() != "" || !st.servesHost(normalizeHost(u.Hostname())) {
		return loc
	}
	switch u.Scheme {
	case "https":
		if p := e.cfg.HTTPSPort; p != 0 && p != 443 {
			u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(p))
		}
	case "http":
		if _, port, err := net.SplitHostPort(r.Host); err == nil && r.TLS == nil && port != "80" {
			u.Host = net.JoinHostPort(u.Hostname(), port)
		}
	}
	return u.String()
}
