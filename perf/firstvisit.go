package perf

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Bounds of one fetch.
const (
	maxBody      = 64 << 20 // bytes read of one body
	maxParse     = 16 << 20 // decoded bytes read for references
	maxRedirects = 10
)

// visit is the outcome of a first visit.
type visit struct {
	resources []Resource
	external  []string
	notes     []string
}

// visitor walks a first visit breadth first.
type visitor struct {
	client   *http.Client // follows no redirects: each hop is counted
	origin   string       // scheme://host of the document after redirects
	max      int
	seen     map[string]string // URL → the kind it was first queued as
	external map[string]bool
	// unread holds the bodies of preloads and classic scripts, which are not read for
	// references, in case a later reference uses one as a stylesheet or a module.
	unread map[string]unread
	// readAs: a preload or classic script still queued that a later reference reads, as
	// this kind.
	readAs map[string]string
	visit
}

type unread struct {
	body        []byte
	at          *url.URL // after redirects
	contentType string
}

type pending struct {
	url, kind, initiator string
	// fetched: body and at are an earlier fetch of url (see visitor.unread).
	fetched bool
	body    []byte
	at      *url.URL
}

// firstVisit fetches the document at u and everything a browser fetches to render it.
// It fails only when the document could not be loaded.
func firstVisit(ctx context.Context, c *http.Client, u *url.URL, maxResources int) (visit, error) {
	client := *c
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v := &visitor{client: &client, max: maxResources, seen: map[string]string{}, external: map[string]bool{}, unread: map[string]unread{}, readAs: map[string]string{}}

	doc, final, err := v.fetch(ctx, pending{url: stripFragment(u), kind: KindDocument})
	if err != nil {
		return v.visit, fmt.Errorf("%w: %w", ErrNotMeasurable, err)
	}
	v.origin = final.Scheme + "://" + final.Host
	v.seen[stripFragment(u)], v.seen[stripFragment(final)] = KindDocument, KindDocument
	refs, baseHref, inlines := htmlRefs(doc)
	base := final
	if baseHref != "" {
		if b, err := final.Parse(baseHref); err == nil {
			base = b
		}
	}
	var queue []pending
	add := func(from *url.URL, r ref, initiator string) {
		if p, ok := v.resolve(from, r, initiator); ok {
			queue = append(queue, p)
		}
	}
	for _, r := range refs {
		add(base, r, final.String())
	}
	for _, in := range inlines {
		for _, r := range v.refsOf(in.kind, final.String()+" (inline)", []byte(in.code)) {
			add(base, r, final.String())
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		body, at := p.body, p.at
		if !p.fetched {
			if err := ctx.Err(); err != nil {
				v.note(fmt.Sprintf("cut short (%v); %d references not fetched", context.Cause(ctx), len(queue)+1))
				break
			}
			if len(v.resources) >= v.max {
				v.notes = append(v.notes, fmt.Sprintf("stopped at %d requests; %d references not fetched", v.max, len(queue)+1))
				break
			}
			var err error
			body, at, err = v.fetch(ctx, p)
			if err != nil || body == nil {
				continue // recorded on the resource
			}
			if !wantsBody(p.kind) {
				ct := v.resources[len(v.resources)-1].ContentType
				k, ok := v.readAs[p.url]
				if !ok {
					v.unread[p.url] = unread{body, at, ct}
					continue
				}
				if !parsable(k, ct) {
					continue
				}
				p.kind = k
			}
		}
		for _, r := range v.refsOf(p.kind, at.String(), body) {
			add(at, r, at.String())
		}
	}
	for u := range v.external {
		v.visit.external = append(v.visit.external, u)
	}
	slices.Sort(v.visit.external)
	return v.visit, nil
}

// resolve turns a reference into a pending fetch, or false when it is fetched already,
// not fetchable (a bare module specifier, another scheme) or on another origin (noted in
// External).
func (v *visitor) resolve(from *url.URL, r ref, initiator string) (pending, bool) {
	if r.specifier && isBareSpecifier(r.url) {
		v.note(fmt.Sprintf("%s imports %q, a bare specifier a browser cannot load without an import map; not followed", initiator, r.url))
		return pending{}, false
	}
	u, err := from.Parse(r.url)
	if err != nil {
		v.note(fmt.Sprintf("%s references %q: %v", initiator, r.url, err))
		return pending{}, false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return pending{}, false // data:, blob:, javascript:, mailto:
	}
	s := stripFragment(u)
	if u.Scheme+"://"+u.Host != v.origin {
		v.external[s] = true
		return pending{}, false
	}
	if v.seen[s] != "" {
		// Fetched already; read now if it was fetched as a kind that is not read (a
		// preload of a stylesheet, say) and this reference reads it.
		if !wantsBody(r.kind) {
			return pending{}, false
		}
		if ur, ok := v.unread[s]; ok {
			delete(v.unread, s)
			if parsable(r.kind, ur.contentType) {
				return pending{url: s, kind: r.kind, initiator: initiator, fetched: true, body: ur.body, at: ur.at}, true
			}
		} else if _, ok := v.readAs[s]; !ok && keepsBody(v.seen[s]) {
			v.readAs[s] = r.kind // still queued
		}
		return pending{}, false
	}
	v.seen[s] = r.kind
	return pending{url: s, kind: r.kind, initiator: initiator}, true
}

func (v *visitor) note(n string) { v.notes = append(v.notes, n) }

// refsOf lists the references in a body of the given kind.
func (v *visitor) refsOf(kind, name string, body []byte) []ref {
	switch kind {
	case KindStylesheet:
		return cssRefs(string(body))
	case KindModule, KindModulePreload:
		specs, err := moduleImports(name, string(body))
		if err != nil {
			v.note(fmt.Sprintf("static imports not followed: %v", err))
			return nil
		}
		refs := make([]ref, len(specs))
		for i, s := range specs {
			refs[i] = ref{url: s, kind: KindModule, specifier: true}
		}
		return refs
	}
	return nil
}

// keepsBody reports whether the body of a resource of kind, which is not read for
// references, is kept in case a later reference reads it.
func keepsBody(kind string) bool { return kind == KindPreload || kind == KindScript }

// wantsBody reports whether a resource of kind is read for references.
func wantsBody(kind string) bool {
	switch kind {
	case KindDocument, KindStylesheet, KindModule, KindModulePreload:
		return true
	}
	return false
}

// fetch GETs p, following redirects by hand so that every hop is recorded as a Resource.
// It returns the decoded body for the kinds read for references and those kept for a
// later reference (keepsBody), and the final URL. A
// request that failed or answered other than 2xx is recorded and returns an error.
func (v *visitor) fetch(ctx context.Context, p pending) ([]byte, *url.URL, error) {
	cur := p.url
	initiator := p.initiator
	for hop := 0; ; hop++ {
		u, err := url.Parse(cur)
		if err != nil {
			return nil, nil, err
		}
		res, body, next, err := v.get(ctx, cur, p.kind)
		res.Initiator = initiator
		if next != "" {
			res.Kind = KindRedirect
		}
		v.resources = append(v.resources, res)
		if err != nil {
			return nil, u, err
		}
		if next == "" {
			return body, u, nil
		}
		if hop >= maxRedirects {
			return nil, u, fmt.Errorf("%s: more than %d redirects", p.url, maxRedirects)
		}
		n, err := u.Parse(next)
		if err != nil {
			return nil, u, fmt.Errorf("%s: bad redirect %q: %w", cur, next, err)
		}
		if p.kind != KindDocument && v.origin != "" && n.Scheme+"://"+n.Host != v.origin {
			v.external[stripFragment(n)] = true
			return nil, n, nil
		}
		initiator, cur = cur, stripFragment(n)
	}
}

// get makes one request. next is the Location of a redirect.
func (v *visitor) get(ctx context.Context, u, kind string) (res Resource, body []byte, next string, err error) {
	res = Resource{URL: u, Kind: kind, Bytes: -1}
	req, err := newRequest(ctx, u, kind)
	if err != nil {
		res.Error = err.Error()
		return res, nil, "", err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res, nil, "", err
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.ContentType = resp.Header.Get("Content-Type")
	res.ContentEncoding = resp.Header.Get("Content-Encoding")
	wire, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	res.WireBytes = int64(len(wire))
	if readErr != nil {
		res.Error = "reading the body: " + readErr.Error()
		return res, nil, "", fmt.Errorf("%s: %s", u, res.Error)
	}
	decoded, decErr := decode(res.ContentEncoding, wire)
	if decErr == nil {
		res.Bytes = int64(len(decoded))
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399 && resp.Header.Get("Location") != "":
		return res, nil, resp.Header.Get("Location"), nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return res, nil, "", fmt.Errorf("%s answered %d", u, resp.StatusCode)
	}
	if keepsBody(kind) {
		if decErr != nil {
			return res, nil, "", nil
		}
		return res, decoded, "", nil
	}
	if !wantsBody(kind) || (kind != KindDocument && !parsable(kind, res.ContentType)) {
		return res, nil, "", nil
	}
	if errors.Is(decErr, errUnsupportedEncoding) {
		decoded, decErr = v.refetchForReading(ctx, u, kind)
		if decErr == nil {
			v.note(fmt.Sprintf("%s came %s-encoded; fetched again with gzip to read it (not counted)", u, res.ContentEncoding))
		}
	}
	if decErr != nil {
		v.note(fmt.Sprintf("%s not read for references: %v", u, decErr))
		return res, nil, "", nil
	}
	return res, decoded, "", nil
}

// parsable reports whether a response with content type ct is read as kind: a browser
// refuses a stylesheet or module script served as something else (the single-page-app
// fallback answering a missing file with index.html, say).
func parsable(kind, ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch kind {
	case KindStylesheet:
		return mt == "text/css"
	case KindModule, KindModulePreload:
		return strings.Contains(mt, "javascript") || strings.Contains(mt, "ecmascript")
	}
	return true
}

// refetchForReading GETs u again offering only gzip, to read a body whose first answer
// came in an encoding Go does not decode. It is not counted.
func (v *visitor) refetchForReading(ctx context.Context, u, kind string) ([]byte, error) {
	req, err := newRequest(ctx, u, kind)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("fetched again: status %d", resp.StatusCode)
	}
	wire, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return decode(resp.Header.Get("Content-Encoding"), wire)
}

var errUnsupportedEncoding = errors.New("unsupported content encoding")

// decode undoes a Content-Encoding of gzip or deflate (either framing), at most maxParse
// bytes of output.
func decode(encoding string, b []byte) ([]byte, error) {
	var r io.Reader
	switch enc := strings.ToLower(strings.TrimSpace(encoding)); enc {
	case "", "identity":
		return b, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = zr
	case "deflate": // zlib framing per the RFC; some servers send raw deflate
		if zr, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(b))
		}
	default:
		return nil, fmt.Errorf("%w %q", errUnsupportedEncoding, enc)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxParse))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", encoding, err)
	}
	return out, nil
}

func stripFragment(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// isBareSpecifier reports whether an import specifier is neither a URL nor a path.
func isBareSpecifier(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
		return false
	}
	u, err := url.Parse(s)
	return err != nil || u.Scheme == ""
}
