package edge

import (
	"net/http"
	"slices"
	"strings"
)

// Workers routes: POST and GET /zones/{zone}/workers/routes {pattern, script}, GET,
// PUT and DELETE /zones/{zone}/workers/routes/{route}.
//
// A pattern is host/path (no scheme, query or fragment). The host may start with *
// ("*.example.com/*" matches subdomains, "*example.com/*" the zone too) and the path
// may end with * (a prefix); otherwise both match exactly
// (developers.cloudflare.com/workers/configuration/routing/routes/, "Matching
// behavior"). The host must be in the zone; for Cloudflare for SaaS a zone may route
// every custom hostname with "*/*". When several routes match, the most specific
// wins: an exact host before a wildcard one, then the longer pattern. A route with no
// script turns Workers off for what it matches.
//
// A duplicate pattern and an unknown route id are refused. Cloudflare's codes for
// these are not in the sources I found: the edge answers 409 with code 10020 and 404
// with code 10027 (its own choice) and plain messages.
const (
	codeRouteDuplicate = 10020
	codeRouteNotFound  = 10027
)

// workerRoute is one Workers route of a zone.
type workerRoute struct {
	ID      string `json:"id"`
	ZoneID  string `json:"zone_id"`
	Pattern string `json:"pattern"`
	Script  string `json:"script,omitempty"`
}

type routeObject struct {
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	Script  string `json:"script,omitempty"`
}

func routeResult(rt *workerRoute) routeObject {
	return routeObject{ID: rt.ID, Pattern: rt.Pattern, Script: rt.Script}
}

// splitPattern splits a route pattern into its host and path parts.
func splitPattern(pattern string) (host, path string) {
	host, path, found := strings.Cut(pattern, "/")
	if !found {
		return host, ""
	}
	return host, "/" + path
}

// checkPattern normalises a route pattern of zone z. A pattern's host must be in the
// zone, or be one of the zone's custom hostnames (Cloudflare for SaaS: "any Worker
// routes configured on your zone will match" traffic entering through them).
func checkPattern(p string, z *zone, customHostnames map[string]bool) (string, error) {
	p = strings.TrimSpace(p)
	if strings.Contains(p, "://") {
		_, p, _ = strings.Cut(p, "://")
	}
	host, path := splitPattern(p)
	host = strings.ToLower(host)
	if path == "" {
		path = "/"
	}
	if strings.ContainsAny(path, "?#") || strings.Contains(strings.TrimSuffix(path, "*"), "*") {
		return "", errValidation("route pattern %q: the path may only end with *, and has no query or fragment", p)
	}
	if host != "*" {
		bare := strings.TrimPrefix(strings.TrimPrefix(host, "*"), ".")
		if strings.Contains(bare, "*") {
			return "", errValidation("route pattern %q: * may only start the host", p)
		}
		if bare != z.Name && !strings.HasSuffix(bare, "."+z.Name) && !customHostnames[bare] {
			return "", errValidation("route pattern %q is not in the zone %s", p, z.Name)
		}
	}
	return host + path, nil
}

// matchHost reports whether a route's host part matches host.
func matchHost(pattern, host string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:])
	case strings.HasPrefix(pattern, "*"):
		return host == pattern[1:] || strings.HasSuffix(host, "."+pattern[1:])
	default:
		return host == pattern
	}
}

// matchPath reports whether a route's path part matches path.
func matchPath(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return path == pattern
}

// routeFor returns the most specific route of zone zoneID that matches host and
// path.
func (st *domainState) routeFor(zoneID, host, path string) (*workerRoute, bool) {
	var best *workerRoute
	bestScore := -1
	for _, rt := range st.Routes {
		if rt.ZoneID != zoneID {
			continue
		}
		ph, pp := splitPattern(rt.Pattern)
		if !matchHost(ph, host) || !matchPath(pp, path) {
			continue
		}
		score := len(rt.Pattern)
		if !strings.HasPrefix(ph, "*") {
			score += 1 << 16
		}
		if score > bestScore || (score == bestScore && rt.ID < best.ID) {
			best, bestScore = rt, score
		}
	}
	return best, best != nil
}

// routesHost reports whether a route of zone zoneID with a script can match host.
func (st *domainState) routesHost(zoneID, host string) bool {
	for _, rt := range st.Routes {
		if rt.ZoneID != zoneID || rt.Script == "" {
			continue
		}
		if ph, _ := splitPattern(rt.Pattern); matchHost(ph, host) {
			return true
		}
	}
	return false
}

type routeRequest struct {
	Pattern string `json:"pattern"`
	Script  string `json:"script"`
}

func (e *Edge) checkRouteRequest(req routeRequest, st *domainState, z *zone) (string, error) {
	hosts := map[string]bool{}
	if st != nil {
		for _, ch := range st.CustomHostnames {
			if ch.ZoneID == z.ID {
				hosts[ch.Hostname] = true
			}
		}
	}
	pattern, err := checkPattern(req.Pattern, z, hosts)
	if err != nil {
		return "", err
	}
	if req.Script != "" {
		if !scriptNamePattern.MatchString(req.Script) {
			return "", errValidation("script %q is not a valid Worker name", req.Script)
		}
		if _, found := e.store.script(req.Script); !found {
			return "", errScriptNotFound()
		}
	}
	return pattern, nil
}

func duplicateRoute(st *domainState, zoneID, pattern, skip string) bool {
	for _, rt := range st.Routes {
		if rt.ZoneID == zoneID && rt.Pattern == pattern && rt.ID != skip {
			return true
		}
	}
	return false
}

func errRouteDuplicate(pattern string) *apiError {
	return apiErrorf(http.StatusConflict, codeRouteDuplicate, "A route with the pattern %s already exists in this zone.", pattern)
}

func errRouteNotFound() *apiError {
	return apiErrorf(http.StatusNotFound, codeRouteNotFound, "Route not found.")
}

// createRoute is POST /zones/{zone}/workers/routes.
func (e *Edge) createRoute(r *http.Request) (reply, error) {
	var req routeRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	st0, z0 := e.requestZone(r)
	pattern, err := e.checkRouteRequest(req, st0, z0)
	if err != nil {
		return reply{}, err
	}
	var out routeObject
	_, _, err = e.updateZone(r, func(st *domainState, z *zone) error {
		if duplicateRoute(st, z.ID, pattern, "") {
			return errRouteDuplicate(pattern)
		}
		rt := &workerRoute{ID: newID(), ZoneID: z.ID, Pattern: pattern, Script: req.Script}
		st.Routes[rt.ID] = rt
		out = routeResult(rt)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("route created", "pattern", pattern, "script", req.Script)
	return ok(out)
}

// listRoutes is GET /zones/{zone}/workers/routes.
func (e *Edge) listRoutes(r *http.Request) (reply, error) {
	st, z := e.requestZone(r)
	out := []routeObject{}
	for _, rt := range st.Routes {
		if rt.ZoneID == z.ID {
			out = append(out, routeResult(rt))
		}
	}
	slices.SortFunc(out, func(a, b routeObject) int { return strings.Compare(a.Pattern, b.Pattern) })
	return ok(out)
}

// getRoute is GET /zones/{zone}/workers/routes/{route}.
func (e *Edge) getRoute(r *http.Request) (reply, error) {
	st, z := e.requestZone(r)
	rt, found := st.Routes[r.PathValue("route")]
	if !found || rt.ZoneID != z.ID {
		return reply{}, errRouteNotFound()
	}
	return ok(routeResult(rt))
}

// putRoute is PUT /zones/{zone}/workers/routes/{route}.
func (e *Edge) putRoute(r *http.Request) (reply, error) {
	var req routeRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	st0, z0 := e.requestZone(r)
	pattern, err := e.checkRouteRequest(req, st0, z0)
	if err != nil {
		return reply{}, err
	}
	var out routeObject
	_, _, err = e.updateZone(r, func(st *domainState, z *zone) error {
		rt, found := st.Routes[r.PathValue("route")]
		if !found || rt.ZoneID != z.ID {
			return errRouteNotFound()
		}
		if duplicateRoute(st, z.ID, pattern, rt.ID) {
			return errRouteDuplicate(pattern)
		}
		rt.Pattern, rt.Script = pattern, req.Script
		out = routeResult(rt)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(out)
}

// deleteRoute is DELETE /zones/{zone}/workers/routes/{route}.
func (e *Edge) deleteRoute(r *http.Request) (reply, error) {
	id := r.PathValue("route")
	_, _, err := e.updateZone(r, func(st *domainState, z *zone) error {
		rt, found := st.Routes[id]
		if !found || rt.ZoneID != z.ID {
			return errRouteNotFound()
		}
		delete(st.Routes, id)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(map[string]string{"id": id})
}
