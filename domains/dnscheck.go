package domains

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// ErrResolverUnreachable is wrapped by the error Check returns when no DNS
// server answered any of its queries. It is a problem on our side (or the
// network's), not the user's: retry later.
var ErrResolverUnreachable = errors.New("could not reach the DNS resolver")

// Resolver looks up what a domain's DNS says, through recursive resolvers,
// the way the rest of the internet (and Cloudflare) will see it. The zero
// value is ready to use. A Resolver is safe for concurrent use.
type Resolver struct {
	// Servers are recursive resolvers as "host:port" (a missing port means
	// 53), tried in order. Empty: the nameservers in /etc/resolv.conf, else
	// 1.1.1.1:53.
	Servers []string
	// Timeout bounds one query to one server. Zero means 2s.
	Timeout time.Duration
	// Net is "udp" (the default, retried over TCP when an answer comes back
	// truncated), "tcp", or their 4/6 variants.
	Net string
}

// Expectation is what a hostname's DNS must say for the domain to work.
// Names are ASCII (Hostname.Name, punycode); case and a trailing dot do not
// matter. Empty fields are not checked.
type Expectation struct {
	Hostname string
	// NameServers is zone mode: the registrar must delegate the hostname's
	// apex (registrable domain) to exactly these (Cloudflare's).
	NameServers []string
	// CNAME is custom-hostname mode: Hostname must CNAME to this target,
	// directly or through a chain, or resolve to the same A/AAAA addresses as
	// the target (CNAME flattening, ALIAS and ANAME records at an apex).
	CNAME string
	// TXT maps a record name to a value that must be among its TXT records
	// (ownership, certificate validation). A record's strings are joined
	// before comparing; values compare exactly.
	TXT map[string]string
	// A and AAAA, when set, must be exactly the hostname's addresses.
	A, AAAA []string
}

// Check names, as in Finding.Check.
const (
	CheckNS    = "ns"
	CheckCNAME = "cname"
	CheckTXT   = "txt"
	CheckA     = "a"
	CheckAAAA  = "aaaa"
)

// Problem classifies a failed Finding so that callers decide by kind, not by
// message text. The first three need the user to act; the last three usually
// pass by themselves.
type Problem string

const (
	ProblemNone    Problem = ""        // the finding is OK
	ProblemMissing Problem = "missing" // no such record: the user must add it
	ProblemWrong   Problem = "wrong"   // the record points elsewhere: the user must change it
	ProblemPartial Problem = "partial" // nameservers half changed: the user must finish
	// ProblemNoDomain: the name does not exist (NXDOMAIN) — the domain is not
	// registered, or too recently to be seen.
	ProblemNoDomain Problem = "nxdomain"
	// ProblemLookupFailed: the resolver answered SERVFAIL (or REFUSED, …),
	// typically a broken delegation or DNSSEC left on at the registrar.
	ProblemLookupFailed Problem = "lookup_failed"
	// ProblemTimeout: no answer for this lookup in time; temporary.
	ProblemTimeout Problem = "timeout"
)

// Finding is the outcome of one check, with a message the user can act on.
type Finding struct {
	OK      bool
	Check   string   // CheckNS, CheckCNAME, CheckTXT, CheckA or CheckAAAA
	Name    string   // the DNS name looked up (for CheckNS, the apex)
	Want    []string // what it must be (sorted, canonical)
	Got     []string // what resolvers see (sorted, canonical); CNAME targets or, without a CNAME, addresses
	Problem Problem  // why it is not OK; ProblemNone when OK
	Message string   // plain words, with names and values the user can copy
}

// Report is the outcome of Check. OK is true when every finding is.
type Report struct {
	Findings []Finding
	OK       bool
}

const (
	defaultTimeout = 2 * time.Second
	fallbackServer = "1.1.1.1:53"
	// attempts is how many rounds over the servers a query gets when none
	// answers, since a UDP packet may simply be lost.
	attempts = 2
	maxChain = 8 // CNAME hops to follow
	ednsSize = 1232
)

var resolvConf = "/etc/resolv.conf"

// Check looks up what e needs and reports, per requirement, whether it holds
// and if not what the user must change. Lookups run concurrently. It returns
// an error only when no DNS server answered at all (wrapping
// ErrResolverUnreachable), when ctx ends (wrapping ctx.Err()), or when e has
// no hostname (wrapping ErrInvalid); a lookup that fails or times out while
// others get answers is a Finding.
func (r *Resolver) Check(ctx context.Context, e Expectation) (Report, error) {
	if r == nil {
		r = &Resolver{}
	}
	host := canonicalName(e.Hostname)
	if host == "" {
		return Report{}, fmt.Errorf("%w: the DNS check has no hostname", ErrInvalid)
	}
	c := &checker{r: r, ctx: ctx, servers: r.servers()}

	var checks []func() Finding
	if len(e.NameServers) > 0 {
		checks = append(checks, func() Finding { return c.nameservers(host, e.NameServers) })
	}
	if e.CNAME != "" {
		checks = append(checks, func() Finding { return c.cname(host, canonicalName(e.CNAME)) })
	}
	names := make([]string, 0, len(e.TXT))
	for name := range e.TXT {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		checks = append(checks, func() Finding { return c.txt(canonicalName(name), e.TXT[name]) })
	}
	if len(e.A) > 0 {
		checks = append(checks, func() Finding { return c.addresses(host, dns.TypeA, e.A) })
	}
	if len(e.AAAA) > 0 {
		checks = append(checks, func() Finding { return c.addresses(host, dns.TypeAAAA, e.AAAA) })
	}

	findings := make([]Finding, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() { findings[i] = check() })
	}
	wg.Wait()

	if err := ctx.Err(); err != nil {
		return Report{}, fmt.Errorf("check DNS for %s: %w", host, err)
	}
	if c.queries.Load() > 0 && c.answered.Load() == 0 {
		return Report{}, fmt.Errorf("%w (%s): %w", ErrResolverUnreachable, strings.Join(c.servers, ", "), c.lastError())
	}
	report := Report{Findings: findings, OK: true}
	for _, f := range findings {
		report.OK = report.OK && f.OK
	}
	return report, nil
}

// servers returns the servers to ask, each as host:port.
func (r *Resolver) servers() []string {
	var servers []string
	if len(r.Servers) > 0 {
		for _, s := range r.Servers {
			if _, _, err := net.SplitHostPort(s); err != nil {
				s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
			}
			servers = append(servers, s)
		}
		return servers
	}
	if conf, err := dns.ClientConfigFromFile(resolvConf); err == nil {
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
	}
	if len(servers) == 0 {
		servers = []string{fallbackServer}
	}
	return servers
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return defaultTimeout
}

// checker holds the state of one Check.
type checker struct {
	r        *Resolver
	ctx      context.Context
	servers  []string
	queries  atomic.Int64 // lookups made
	answered atomic.Int64 // lookups some server answered, whatever the rcode

	mu      sync.Mutex
	lastErr error
}

func (c *checker) lastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// answer is the outcome of one lookup.
type answer struct {
	msg    *dns.Msg // nil when no server answered
	err    error    // why no server answered
	server string
}

// query asks the servers in order, each round at most attempts times, and
// returns the first NOERROR or NXDOMAIN answer; failing that, the first
// answer with another code (SERVFAIL, …); failing that, the last error.
func (c *checker) query(name string, qtype uint16) answer {
	c.queries.Add(1)
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(ednsSize, false)

	var failed, last answer
	for range attempts {
		for _, server := range c.servers {
			if err := c.ctx.Err(); err != nil {
				return answer{err: err}
			}
			resp, err := c.r.exchange(c.ctx, m, server)
			if err != nil {
				last = answer{err: err, server: server}
				continue
			}
			switch resp.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				c.answered.Add(1)
				return answer{msg: resp, server: server}
			}
			if failed.msg == nil {
				failed = answer{msg: resp, server: server}
			}
		}
		if failed.msg != nil {
			c.answered.Add(1)
			return failed
		}
	}
	c.mu.Lock()
	c.lastErr = last.err
	c.mu.Unlock()
	return last
}

// exchange sends m to one server, over TCP again when the UDP answer is truncated.
func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	network := r.Net
	if network == "" {
		network = "udp"
	}
	client := &dns.Client{Net: network, Timeout: r.timeout(), UDPSize: ednsSize}
	resp, _, err := client.ExchangeContext(ctx, m, server)
	if resp != nil && resp.Truncated && strings.HasPrefix(network, "udp") {
		client.Net = "tcp" + strings.TrimPrefix(network, "udp")
		resp, _, err = client.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, m.Question[0].Name) || resp.Question[0].Qtype != m.Question[0].Qtype {
		return nil, fmt.Errorf("answer from %s is for another question", server)
	}
	return resp, nil
}

// failure turns an answer that is neither NOERROR nor NXDOMAIN into a
// finding about what was being looked up; ok is false for usable answers.
func failure(f Finding, a answer, what string) (Finding, bool) {
	switch {
	case a.msg == nil:
		f.Problem = ProblemTimeout
		f.Message = fmt.Sprintf("looking up %s got no answer from the DNS resolver (%s); this is usually temporary: we will check again", what, describe(a.err))
		return f, true
	case a.msg.Rcode == dns.RcodeServerFailure:
		f.Problem = ProblemLookupFailed
		f.Message = fmt.Sprintf("looking up %s failed (SERVFAIL): the DNS servers responsible for %s did not give a valid answer. This usually means that the nameservers set at your registrar do not serve this domain, or that DNSSEC is turned on at your registrar with outdated settings (turn it off there until the domain works)", what, apexOf(f.Name))
		return f, true
	case a.msg.Rcode != dns.RcodeSuccess && a.msg.Rcode != dns.RcodeNameError:
		f.Problem = ProblemLookupFailed
		f.Message = fmt.Sprintf("looking up %s failed (%s from the DNS resolver %s); we will check again", what, dns.RcodeToString[a.msg.Rcode], a.server)
		return f, true
	}
	return f, false
}

func describe(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// noDomain is the finding for an apex that does not exist.
func noDomain(f Finding, apex string) Finding {
	f.Problem = ProblemNoDomain
	f.Message = fmt.Sprintf("the domain %s does not exist in DNS: is it registered? If you registered it in the last few minutes, wait a little: we will check again", apex)
	return f
}

func (c *checker) nameservers(host string, want []string) Finding {
	apex := apexOf(host)
	f := Finding{Check: CheckNS, Name: apex, Want: canonicalSet(want)}
	a := c.query(apex, dns.TypeNS)
	if bad, ok := failure(f, a, "the nameservers of "+apex); ok {
		return bad
	}
	if a.msg.Rcode == dns.RcodeNameError {
		return noDomain(f, apex)
	}
	var got []string
	for _, rr := range a.msg.Answer {
		if ns, ok := rr.(*dns.NS); ok && canonicalName(ns.Hdr.Name) == apex {
			got = append(got, ns.Ns)
		}
	}
	f.Got = canonicalSet(got)
	extra := difference(f.Got, f.Want)
	missing := difference(f.Want, f.Got)
	setThem := fmt.Sprintf("at your registrar set the nameservers of %s to exactly %s", apex, joinAnd(f.Want))
	switch {
	case len(extra) == 0 && len(missing) == 0:
		f.OK = true
		f.Message = fmt.Sprintf("the nameservers of %s are %s, as they should be", apex, joinAnd(f.Want))
	case len(f.Got) == 0:
		f.Problem = ProblemMissing
		f.Message = fmt.Sprintf("%s has no nameservers: %s", apex, setThem)
	case len(missing) == len(f.Want) && allCloudflare(f.Got):
		f.Problem = ProblemWrong
		f.Message = fmt.Sprintf("%s uses Cloudflare nameservers, but not the ones assigned to it (%s): %s; Cloudflare assigns a different pair to each account", apex, joinAnd(f.Got), setThem)
	case len(missing) == len(f.Want):
		f.Problem = ProblemWrong
		f.Message = fmt.Sprintf("your nameservers are still %s; set them to %s at your registrar", joinAnd(f.Got), joinAnd(f.Want))
	case len(extra) == 1 && len(missing) == 1:
		f.Problem = ProblemPartial
		f.Message = fmt.Sprintf("one of your nameservers is still the old one: at your registrar replace %s with %s, so that the nameservers of %s are exactly %s", extra[0], missing[0], apex, joinAnd(f.Want))
	case len(extra) > 0 && len(missing) > 0:
		f.Problem = ProblemPartial
		f.Message = fmt.Sprintf("your nameservers are only partly changed: %s %s still set and %s %s missing; %s", joinAnd(extra), isAre(extra), joinAnd(missing), isAre(missing), setThem)
	case len(extra) > 0:
		f.Problem = ProblemPartial
		f.Message = fmt.Sprintf("your nameservers include %s but also %s; at your registrar remove %s, so that the nameservers are exactly %s", joinAnd(f.Want), joinAnd(extra), joinAnd(extra), joinAnd(f.Want))
	default:
		f.Problem = ProblemPartial
		f.Message = fmt.Sprintf("only %s of the nameservers %s set; at your registrar add %s, so that the nameservers are exactly %s", joinAnd(f.Got), isAre(f.Got), joinAnd(missing), joinAnd(f.Want))
	}
	return f
}

func (c *checker) cname(host, target string) Finding {
	f := Finding{Check: CheckCNAME, Name: host, Want: []string{target}}
	isApex := apexOf(host) == host
	addRecord := fmt.Sprintf("add a CNAME record with name %s and target %s", host, target)
	if isApex {
		addRecord += " (at the root of a domain, DNS providers call this CNAME flattening, ALIAS or ANAME)"
	}

	a := c.query(host, dns.TypeCNAME)
	if bad, ok := failure(f, a, "the CNAME record of "+host); ok {
		return bad
	}
	if a.msg.Rcode == dns.RcodeNameError {
		if isApex {
			return noDomain(f, host)
		}
		f.Problem = ProblemMissing
		f.Message = fmt.Sprintf("there is no DNS record for %s yet: %s", host, addRecord)
		return f
	}
	if first := cnameTarget(a.msg, host); first != "" {
		f.Got = []string{first}
		// Follow the chain: a CNAME to a name that CNAMEs to the target works too.
		for name, hops := first, 0; ; hops++ {
			if name == target {
				f.OK = true
				f.Message = fmt.Sprintf("%s points to %s", host, target)
				if first != target {
					f.Message += " through " + first
				}
				return f
			}
			if hops == maxChain {
				break
			}
			next := c.query(name, dns.TypeCNAME)
			if bad, ok := failure(f, next, "the CNAME record of "+name); ok {
				return bad
			}
			if name = cnameTarget(next.msg, name); name == "" {
				break
			}
		}
		f.Problem = ProblemWrong
		f.Message = fmt.Sprintf("%s points to %s instead of %s: change its CNAME record to target %s", host, first, target, target)
		return f
	}

	// No CNAME: the name may be flattened (ALIAS, ANAME, a proxied record),
	// which works if it resolves to the target's addresses.
	got, bad, failed := c.lookupAddresses(f, host)
	if failed {
		return bad
	}
	f.Got = got
	if len(got) == 0 {
		f.Problem = ProblemMissing
		f.Message = fmt.Sprintf("there is no CNAME record for %s: %s", host, addRecord)
		return f
	}
	want, bad, failed := c.lookupAddresses(f, target)
	if failed {
		return bad
	}
	if len(want) > 0 && len(difference(got, want)) == 0 {
		f.OK = true
		f.Message = fmt.Sprintf("%s resolves to the same addresses as %s (CNAME flattening)", host, target)
		return f
	}
	f.Problem = ProblemWrong
	f.Message = fmt.Sprintf("%s points to %s instead of %s: replace its A and AAAA records with a CNAME record to %s", host, joinAnd(got), target, target)
	if isApex {
		f.Message += " (at the root of a domain, DNS providers call this CNAME flattening, ALIAS or ANAME)"
	}
	return f
}

// lookupAddresses returns the A and AAAA addresses name resolves to, or a
// failure finding.
func (c *checker) lookupAddresses(f Finding, name string) ([]string, Finding, bool) {
	var addrs []string
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a := c.query(name, qtype)
		if bad, ok := failure(f, a, "the addresses of "+name); ok {
			return nil, bad, true
		}
		addrs = append(addrs, addressesIn(a.msg, qtype)...)
	}
	return canonicalAddrs(addrs), f, false
}

func (c *checker) txt(name, want string) Finding {
	f := Finding{Check: CheckTXT, Name: name, Want: []string{want}}
	addRecord := fmt.Sprintf("add a TXT record with name %s and value %s", name, want)
	a := c.query(name, dns.TypeTXT)
	if bad, ok := failure(f, a, "the TXT records of "+name); ok {
		return bad
	}
	if a.msg.Rcode == dns.RcodeSuccess {
		// Any owner: a TXT record reached through a CNAME counts (delegated validation).
		for _, rr := range a.msg.Answer {
			if t, ok := rr.(*dns.TXT); ok {
				f.Got = append(f.Got, strings.Join(t.Txt, ""))
			}
		}
	}
	slices.Sort(f.Got)
	f.Got = slices.Compact(f.Got)
	switch {
	case slices.Contains(f.Got, want):
		f.OK = true
		f.Message = fmt.Sprintf("the TXT record %s has the expected value", name)
	case len(f.Got) == 0:
		f.Problem = ProblemMissing
		f.Message = fmt.Sprintf("there is no TXT record at %s: %s", name, addRecord)
	default:
		f.Problem = ProblemWrong
		values := "value"
		if len(f.Got) > 1 {
			values = "values"
		}
		f.Message = fmt.Sprintf("the TXT record at %s has the %s %s, not the expected one: %s (other TXT records there can stay)", name, values, joinAnd(f.Got), addRecord)
	}
	return f
}

func (c *checker) addresses(host string, qtype uint16, want []string) Finding {
	check, kind := CheckA, "A"
	if qtype == dns.TypeAAAA {
		check, kind = CheckAAAA, "AAAA"
	}
	f := Finding{Check: check, Name: host, Want: canonicalAddrs(want)}
	a := c.query(host, qtype)
	if bad, ok := failure(f, a, fmt.Sprintf("the %s records of %s", kind, host)); ok {
		return bad
	}
	if a.msg.Rcode == dns.RcodeNameError && apexOf(host) == host {
		return noDomain(f, host)
	}
	if a.msg.Rcode == dns.RcodeSuccess {
		f.Got = canonicalAddrs(addressesIn(a.msg, qtype))
	}
	extra, missing := difference(f.Got, f.Want), difference(f.Want, f.Got)
	records := "an " + kind + " record"
	if len(f.Want) > 1 {
		records = kind + " records"
	}
	switch {
	case len(extra) == 0 && len(missing) == 0:
		f.OK = true
		f.Message = fmt.Sprintf("%s points to %s, as it should", host, joinAnd(f.Want))
	case len(f.Got) == 0:
		f.Problem = ProblemMissing
		f.Message = fmt.Sprintf("there is no %s record for %s: add %s with name %s and value %s", kind, host, records, host, joinAnd(f.Want))
	default:
		f.Problem = ProblemWrong
		var steps []string
		if len(extra) > 0 {
			steps = append(steps, "remove "+joinAnd(extra))
		}
		if len(missing) > 0 {
			steps = append(steps, "add "+joinAnd(missing))
		}
		f.Message = fmt.Sprintf("the %s records of %s are %s; set them to exactly %s (%s)", kind, host, joinAnd(f.Got), joinAnd(f.Want), strings.Join(steps, ", "))
	}
	return f
}

func cnameTarget(m *dns.Msg, name string) string {
	for _, rr := range m.Answer {
		if c, ok := rr.(*dns.CNAME); ok && canonicalName(c.Hdr.Name) == name {
			return canonicalName(c.Target)
		}
	}
	return ""
}

// addressesIn returns the addresses of type qtype in m's answer, whatever
// their owner, since a resolver follows CNAMEs.
func addressesIn(m *dns.Msg, qtype uint16) []string {
	var addrs []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				addrs = append(addrs, rr.A.String())
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				addrs = append(addrs, rr.AAAA.String())
			}
		}
	}
	return addrs
}

func apexOf(name string) string {
	if apex, err := publicsuffix.EffectiveTLDPlusOne(name); err == nil {
		return apex
	}
	return name
}

func allCloudflare(names []string) bool {
	for _, n := range names {
		if !strings.HasSuffix(n, ".ns.cloudflare.com") {
			return false
		}
	}
	return len(names) > 0
}

// canonicalName lowers a DNS name, drops its trailing dot, and converts an
// international name to punycode.
func canonicalName(s string) string {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if !isASCII(s) {
		if a, err := idna.Lookup.ToASCII(s); err == nil {
			s = a
		}
	}
	return s
}

func canonicalSet(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = canonicalName(n); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// canonicalAddrs writes addresses the way netip does, so that "2001:DB8::1"
// and "2001:db8:0::1" compare equal; what does not parse is kept as written.
func canonicalAddrs(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, s := range addrs {
		s = strings.TrimSpace(s)
		if a, err := netip.ParseAddr(s); err == nil {
			s = a.Unmap().String()
		}
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// difference returns the elements of a (sorted) that are not in b.
func difference(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// joinAnd writes "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func isAre(items []string) string {
	if len(items) == 1 {
		return "is"
	}
	return "are"
}
