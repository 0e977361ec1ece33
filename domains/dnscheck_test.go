package domains

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeResolver is a recursive resolver in the test's process, served by
// miekg/dns over UDP and TCP on one 127.0.0.1 port. Its records live in a map
// the test changes as it goes; it follows CNAMEs as a resolver would.
type fakeResolver struct {
	addr string

	mu       sync.Mutex
	records  map[string][]dns.RR // owner + "/" + type, e.g. "myapp.com./NS"
	rcodes   map[string]int      // owner → forced response code
	silent   map[string]bool     // owner → never answer
	truncate map[string]bool     // owner → answer over UDP truncated, empty

	udp, tcp atomic.Int64 // queries seen per transport
}

func startFakeResolver(t *testing.T) *fakeResolver {
	t.Helper()
	f := &fakeResolver{
		records:  map[string][]dns.RR{},
		rcodes:   map[string]int{},
		silent:   map[string]bool{},
		truncate: map[string]bool{},
	}
	var (
		pc  net.PacketConn
		l   net.Listener
		err error
	)
	for range 20 { // the TCP port must match the UDP one, which may be taken
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("listen on one port for UDP and TCP: %v", err)
	}
	f.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	servers := []*dns.Server{
		{PacketConn: pc, Handler: f, NotifyStartedFunc: notify},
		{Listener: l, Handler: f, NotifyStartedFunc: notify},
	}
	for _, s := range servers {
		go func() { _ = s.ActivateAndServe() }()
	}
	for range servers {
		<-started
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Shutdown()
		}
	})
	return f
}

// set replaces the records of one name and type, given in zone-file syntax.
func (f *fakeResolver) set(t *testing.T, name string, qtype uint16, rrs ...string) {
	t.Helper()
	var parsed []dns.RR
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		parsed = append(parsed, rr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := dns.Fqdn(name) + "/" + dns.TypeToString[qtype]
	if len(parsed) == 0 {
		delete(f.records, key)
		return
	}
	f.records[key] = parsed
}

func (f *fakeResolver) setRcode(name string, rcode int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rcodes[dns.Fqdn(name)] = rcode
}

func (f *fakeResolver) setSilent(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent[dns.Fqdn(name)] = true
}

func (f *fakeResolver) setTruncate(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.truncate[dns.Fqdn(name)] = true
}

func (f *fakeResolver) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if w.RemoteAddr().Network() == "udp" {
		f.udp.Add(1)
	} else {
		f.tcp.Add(1)
	}
	if len(req.Question) != 1 {
		dns.HandleFailed(w, req)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.silent[name] {
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if rcode, ok := f.rcodes[name]; ok {
		m.Rcode = rcode
		_ = w.WriteMsg(m)
		return
	}
	if f.truncate[name] && w.RemoteAddr().Network() == "udp" {
		m.Truncated = true
		_ = w.WriteMsg(m)
		return
	}
	for cur, hops := name, 0; hops < 8; hops++ {
		if rrs := f.records[cur+"/"+dns.TypeToString[q.Qtype]]; len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			break
		}
		if c := f.records[cur+"/CNAME"]; len(c) > 0 && q.Qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, c...)
			cur = strings.ToLower(c[0].(*dns.CNAME).Target)
			continue
		}
		if !f.exists(cur) {
			m.Rcode = dns.RcodeNameError
		}
		break
	}
	_ = w.WriteMsg(m)
}

// exists reports whether name owns records or has names below it.
func (f *fakeResolver) exists(name string) bool {
	for key := range f.records {
		owner, _, _ := strings.Cut(key, "/")
		if owner == name || strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return false
}

func (f *fakeResolver) resolver() *Resolver {
	return &Resolver{Servers: []string{f.addr}, Timeout: time.Second}
}

// blackhole returns the address of a UDP socket that never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

var cloudflareNS = []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"}

func checkOne(t *testing.T, r *Resolver, e Expectation) Finding {
	t.Helper()
	report, err := r.Check(context.Background(), e)
	if err != nil {
		t.Fatalf("Check(%+v): %v", e, err)
	}
	if len(report.Findings) != 1 {
		t.Fatalf("Check(%+v) = %d findings, want 1: %+v", e, len(report.Findings), report.Findings)
	}
	f := report.Findings[0]
	if report.OK != f.OK {
		t.Errorf("report.OK = %v, but its only finding has OK = %v", report.OK, f.OK)
	}
	if f.OK != (f.Problem == ProblemNone) {
		t.Errorf("finding OK = %v with problem %q", f.OK, f.Problem)
	}
	if f.Message == "" {
		t.Errorf("finding %+v has no message", f)
	}
	t.Logf("%s %s: %s", f.Check, f.Name, f.Message)
	return f
}

func wantFinding(t *testing.T, got Finding, ok bool, problem Problem, wantGot []string, messageParts ...string) {
	t.Helper()
	if got.OK != ok || got.Problem != problem {
		t.Errorf("finding OK = %v, problem %q; want %v, %q (%s)", got.OK, got.Problem, ok, problem, got.Message)
	}
	if wantGot != nil && !slices.Equal(got.Got, wantGot) {
		t.Errorf("finding Got = %q, want %q", got.Got, wantGot)
	}
	for _, part := range messageParts {
		if !strings.Contains(got.Message, part) {
			t.Errorf("message %q does not contain %q", got.Message, part)
		}
	}
}

func TestCheckNameservers(t *testing.T) {
	f := startFakeResolver(t)
	r := f.resolver()
	e := Expectation{Hostname: "myapp.com", NameServers: []string{"ADA.ns.cloudflare.com.", "bob.ns.cloudflare.com"}}

	// The story of one domain moving to Cloudflare, as the user edits it at the registrar.
	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ns1.registrar.example.", "myapp.com. 300 IN NS ns2.registrar.example.")
	wantFinding(t, checkOne(t, r, e), false, ProblemWrong,
		[]string{"ns1.registrar.example", "ns2.registrar.example"},
		"your nameservers are still ns1.registrar.example and ns2.registrar.example; set them to ada.ns.cloudflare.com and bob.ns.cloudflare.com at your registrar")

	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS ns2.registrar.example.")
	wantFinding(t, checkOne(t, r, e), false, ProblemPartial,
		[]string{"ada.ns.cloudflare.com", "ns2.registrar.example"},
		"one of your nameservers is still the old one", "replace ns2.registrar.example with bob.ns.cloudflare.com")

	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ADA.NS.CLOUDFLARE.COM.", "myapp.com. 300 IN NS bob.ns.cloudflare.com.")
	got := checkOne(t, r, e)
	wantFinding(t, got, true, ProblemNone, []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"})
	if want := []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"}; !slices.Equal(got.Want, want) {
		t.Errorf("Want = %q, want %q", got.Want, want)
	}
}

func TestCheckNameserverCases(t *testing.T) {
	f := startFakeResolver(t)
	r := f.resolver()
	tests := []struct {
		name    string
		records []string // NS records of myapp.com
		host    string
		problem Problem
		got     []string
		message []string
	}{
		{
			name:    "subdomain checks the apex delegation",
			host:    "shop.myapp.com",
			records: []string{"myapp.com. 300 IN NS bob.ns.cloudflare.com.", "myapp.com. 300 IN NS ada.ns.cloudflare.com."},
			got:     cloudflareNS,
		},
		{
			name:    "an extra old nameserver",
			records: []string{"myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS bob.ns.cloudflare.com.", "myapp.com. 300 IN NS ns1.registrar.example."},
			problem: ProblemPartial,
			message: []string{"remove ns1.registrar.example"},
		},
		{
			name:    "one of two set",
			records: []string{"myapp.com. 300 IN NS bob.ns.cloudflare.com."},
			problem: ProblemPartial,
			message: []string{"only bob.ns.cloudflare.com of the nameservers is set; at your registrar add ada.ns.cloudflare.com"},
		},
		{
			name:    "two old, one new: partly changed",
			records: []string{"myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS ns1.registrar.example.", "myapp.com. 300 IN NS ns2.registrar.example."},
			problem: ProblemPartial,
			message: []string{"only partly changed: ns1.registrar.example and ns2.registrar.example are still set and bob.ns.cloudflare.com is missing"},
		},
		{
			name:    "another account's Cloudflare nameservers",
			records: []string{"myapp.com. 300 IN NS carl.ns.cloudflare.com.", "myapp.com. 300 IN NS dana.ns.cloudflare.com."},
			problem: ProblemWrong,
			message: []string{"uses Cloudflare nameservers, but not the ones assigned to it (carl.ns.cloudflare.com and dana.ns.cloudflare.com)"},
		},
		{
			name:    "no NS records",
			records: []string{"myapp.com. 300 IN A 192.0.2.1"},
			problem: ProblemMissing,
			message: []string{"myapp.com has no nameservers: at your registrar set the nameservers of myapp.com to exactly ada.ns.cloudflare.com and bob.ns.cloudflare.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.set(t, "myapp.com", dns.TypeNS)
			f.set(t, "myapp.com", dns.TypeA)
			if strings.Contains(tt.records[0], " NS ") {
				f.set(t, "myapp.com", dns.TypeNS, tt.records...)
			} else {
				f.set(t, "myapp.com", dns.TypeA, tt.records...)
			}
			host := tt.host
			if host == "" {
				host = "myapp.com"
			}
			got := checkOne(t, r, Expectation{Hostname: host, NameServers: cloudflareNS})
			if got.Name != "myapp.com" {
				t.Errorf("Name = %q, want the apex myapp.com", got.Name)
			}
			wantFinding(t, got, tt.problem == ProblemNone, tt.problem, tt.got, tt.message...)
		})
	}
}

func TestCheckNXDOMAINAndSERVFAIL(t *testing.T) {
	f := startFakeResolver(t)
	r := f.resolver()

	got := checkOne(t, r, Expectation{Hostname: "unregistered.com", NameServers: cloudflareNS})
	wantFinding(t, got, false, ProblemNoDomain, nil, "the domain unregistered.com does not exist in DNS: is it registered?")
	got = checkOne(t, r, Expectation{Hostname: "unregistered.com", CNAME: "customers.appforge.dev"})
	wantFinding(t, got, false, ProblemNoDomain, nil, "is it registered?")

	f.setRcode("broken.com", dns.RcodeServerFailure)
	got = checkOne(t, r, Expectation{Hostname: "broken.com", NameServers: cloudflareNS})
	wantFinding(t, got, false, ProblemLookupFailed, nil, "SERVFAIL", "DNSSEC")

	f.setRcode("refused.com", dns.RcodeRefused)
	got = checkOne(t, r, Expectation{Hostname: "refused.com", NameServers: cloudflareNS})
	wantFinding(t, got, false, ProblemLookupFailed, nil, "REFUSED")
}

func TestCheckCNAME(t *testing.T) {
	const target = "customers.appforge.dev"
	f := startFakeResolver(t)
	r := f.resolver()
	f.set(t, target, dns.TypeA, target+". 300 IN A 203.0.113.10", target+". 300 IN A 203.0.113.11")
	f.set(t, target, dns.TypeAAAA, target+". 300 IN AAAA 2001:db8::10")
	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ns1.registrar.example.")

	tests := []struct {
		name    string
		host    string
		records []string
		ok      bool
		problem Problem
		got     []string
		message []string
	}{
		{
			name:    "direct CNAME",
			host:    "app.myapp.com",
			records: []string{"app.myapp.com. 300 IN CNAME Customers.AppForge.dev."},
			ok:      true,
			got:     []string{target},
		},
		{
			name:    "CNAME chain",
			host:    "app.myapp.com",
			records: []string{"app.myapp.com. 300 IN CNAME edge.myapp.com.", "edge.myapp.com. 300 IN CNAME " + target + "."},
			ok:      true,
			got:     []string{"edge.myapp.com"},
			message: []string{"through edge.myapp.com"},
		},
		{
			name:    "CNAME to the wrong target",
			host:    "app.myapp.com",
			records: []string{"app.myapp.com. 300 IN CNAME myapp.netlify.app."},
			problem: ProblemWrong,
			got:     []string{"myapp.netlify.app"},
			message: []string{"app.myapp.com points to myapp.netlify.app instead of customers.appforge.dev: change its CNAME record to target customers.appforge.dev"},
		},
		{
			name:    "missing: the name does not exist",
			host:    "app.myapp.com",
			problem: ProblemMissing,
			message: []string{"add a CNAME record with name app.myapp.com and target customers.appforge.dev"},
		},
		{
			name:    "missing: the name exists without records",
			host:    "app.myapp.com",
			records: []string{"_acme-challenge.app.myapp.com. 300 IN TXT token"},
			problem: ProblemMissing,
			message: []string{"there is no CNAME record for app.myapp.com: add a CNAME record with name app.myapp.com and target customers.appforge.dev"},
		},
		{
			name:    "apex flattened to the target's addresses",
			host:    "myapp.com",
			records: []string{"myapp.com. 300 IN A 203.0.113.11", "myapp.com. 300 IN A 203.0.113.10", "myapp.com. 300 IN AAAA 2001:DB8:0::10"},
			ok:      true,
			got:     []string{"2001:db8::10", "203.0.113.10", "203.0.113.11"},
			message: []string{"CNAME flattening"},
		},
		{
			name:    "apex with other addresses",
			host:    "myapp.com",
			records: []string{"myapp.com. 300 IN A 192.0.2.1"},
			problem: ProblemWrong,
			got:     []string{"192.0.2.1"},
			message: []string{"myapp.com points to 192.0.2.1 instead of customers.appforge.dev: replace its A and AAAA records with a CNAME record to customers.appforge.dev (at the root of a domain, DNS providers call this CNAME flattening, ALIAS or ANAME)"},
		},
		{
			name:    "apex with some of the target's addresses and one more",
			host:    "myapp.com",
			records: []string{"myapp.com. 300 IN A 203.0.113.10", "myapp.com. 300 IN A 192.0.2.1"},
			problem: ProblemWrong,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"app.myapp.com", "edge.myapp.com", "_acme-challenge.app.myapp.com", "myapp.com"} {
				for _, qtype := range []uint16{dns.TypeCNAME, dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
					f.set(t, name, qtype)
				}
			}
			for _, s := range tt.records {
				rr, err := dns.NewRR(s)
				if err != nil {
					t.Fatal(err)
				}
				h := rr.Header()
				f.mu.Lock()
				key := strings.ToLower(h.Name) + "/" + dns.TypeToString[h.Rrtype]
				f.records[key] = append(f.records[key], rr)
				f.mu.Unlock()
			}
			got := checkOne(t, r, Expectation{Hostname: tt.host, CNAME: target + "."})
			wantFinding(t, got, tt.ok, tt.problem, tt.got, tt.message...)
			if !slices.Equal(got.Want, []string{target}) {
				t.Errorf("Want = %q, want [%s]", got.Want, target)
			}
		})
	}
}

func TestCheckTXT(t *testing.T) {
	f := startFakeResolver(t)
	r := f.resolver()
	const (
		ownership  = "_cf-custom-hostname.app.myapp.com"
		validation = "_acme-challenge.app.myapp.com"
	)
	e := Expectation{Hostname: "app.myapp.com", TXT: map[string]string{
		validation: "ca3-574923932a82475cb8592200f1a2a23d",
		ownership:  "5cc07c04-ea62-4a5a-95f0-419334a875a4",
	}}

	report, err := r.Check(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if report.OK || len(report.Findings) != 2 {
		t.Fatalf("Check with no records = %+v, want two failed findings", report)
	}
	// Sorted by record name.
	if report.Findings[0].Name != validation || report.Findings[1].Name != ownership {
		t.Errorf("findings for %q and %q, want %q then %q", report.Findings[0].Name, report.Findings[1].Name, validation, ownership)
	}
	wantFinding(t, report.Findings[1], false, ProblemMissing, nil,
		"there is no TXT record at _cf-custom-hostname.app.myapp.com: add a TXT record with name _cf-custom-hostname.app.myapp.com and value 5cc07c04-ea62-4a5a-95f0-419334a875a4")

	// A wrong value, beside an unrelated record.
	f.set(t, ownership, dns.TypeTXT, ownership+`. 300 IN TXT "5cc07c04-old"`, ownership+`. 300 IN TXT "v=spf1 -all"`)
	// The validation token split into two strings, reached through a CNAME (delegated validation).
	f.set(t, validation, dns.TypeCNAME, validation+". 300 IN CNAME validation.dns-provider.example.")
	f.set(t, "validation.dns-provider.example", dns.TypeTXT, `validation.dns-provider.example. 300 IN TXT "ca3-574923932a8247" "5cb8592200f1a2a23d"`)
	report, err = r.Check(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	wantFinding(t, report.Findings[0], true, ProblemNone, []string{"ca3-574923932a82475cb8592200f1a2a23d"})
	wantFinding(t, report.Findings[1], false, ProblemWrong, []string{"5cc07c04-old", "v=spf1 -all"},
		"has the values 5cc07c04-old and v=spf1 -all, not the expected one", "(other TXT records there can stay)")

	// Values compare exactly.
	f.set(t, ownership, dns.TypeTXT, ownership+`. 300 IN TXT "5CC07C04-EA62-4A5A-95F0-419334A875A4"`)
	report, _ = r.Check(context.Background(), e)
	wantFinding(t, report.Findings[1], false, ProblemWrong, nil)

	f.set(t, ownership, dns.TypeTXT, ownership+`. 300 IN TXT "v=spf1 -all"`, ownership+`. 300 IN TXT "5cc07c04-ea62-4a5a-95f0-419334a875a4"`)
	report, _ = r.Check(context.Background(), e)
	if !report.OK {
		t.Errorf("Check with both records in place = %+v, want OK", report)
	}
}

func TestCheckAddresses(t *testing.T) {
	f := startFakeResolver(t)
	r := f.resolver()
	e := Expectation{Hostname: "myapp.com", A: []string{"203.0.113.5"}, AAAA: []string{"2001:DB8::5"}}

	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ns1.registrar.example.")
	report, err := r.Check(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	wantFinding(t, report.Findings[0], false, ProblemMissing, nil, "there is no A record for myapp.com: add an A record with name myapp.com and value 203.0.113.5")
	wantFinding(t, report.Findings[1], false, ProblemMissing, nil, "value 2001:db8::5")

	f.set(t, "myapp.com", dns.TypeA, "myapp.com. 300 IN A 192.0.2.1", "myapp.com. 300 IN A 203.0.113.5")
	f.set(t, "myapp.com", dns.TypeAAAA, "myapp.com. 300 IN AAAA 2001:db8:0:0::5")
	report, _ = r.Check(context.Background(), e)
	wantFinding(t, report.Findings[0], false, ProblemWrong, []string{"192.0.2.1", "203.0.113.5"}, "set them to exactly 203.0.113.5 (remove 192.0.2.1)")
	wantFinding(t, report.Findings[1], true, ProblemNone, []string{"2001:db8::5"})
	if report.Findings[0].Check != CheckA || report.Findings[1].Check != CheckAAAA {
		t.Errorf("checks %q, %q; want %q, %q", report.Findings[0].Check, report.Findings[1].Check, CheckA, CheckAAAA)
	}
}

func TestCheckTruncationFallsBackToTCP(t *testing.T) {
	f := startFakeResolver(t)
	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS bob.ns.cloudflare.com.")
	f.setTruncate("myapp.com")
	got := checkOne(t, f.resolver(), Expectation{Hostname: "myapp.com", NameServers: cloudflareNS})
	wantFinding(t, got, true, ProblemNone, cloudflareNS)
	if f.udp.Load() != 1 || f.tcp.Load() != 1 {
		t.Errorf("queries: %d over UDP, %d over TCP; want 1 and 1", f.udp.Load(), f.tcp.Load())
	}

	// Net "tcp" goes straight to TCP.
	r := f.resolver()
	r.Net = "tcp"
	checkOne(t, r, Expectation{Hostname: "myapp.com", NameServers: cloudflareNS})
	if f.udp.Load() != 1 || f.tcp.Load() != 2 {
		t.Errorf("queries: %d over UDP, %d over TCP; want 1 and 2", f.udp.Load(), f.tcp.Load())
	}
}

func TestCheckTimeouts(t *testing.T) {
	t.Run("no server answers", func(t *testing.T) {
		dead := blackhole(t)
		r := &Resolver{Servers: []string{dead}, Timeout: 100 * time.Millisecond}
		start := time.Now()
		report, err := r.Check(context.Background(), Expectation{Hostname: "myapp.com", NameServers: cloudflareNS, CNAME: "customers.appforge.dev", TXT: map[string]string{"_cf-custom-hostname.myapp.com": "x"}})
		if !errors.Is(err, ErrResolverUnreachable) {
			t.Fatalf("Check = %+v, %v; want an error wrapping ErrResolverUnreachable", report, err)
		}
		if !strings.Contains(err.Error(), "could not reach the DNS resolver ("+dead+")") {
			t.Errorf("error %q does not name the resolver %s", err, dead)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("error %v does not wrap the timeout", err)
		}
		t.Logf("%v after %v", err, time.Since(start))
	})

	t.Run("one lookup gets no answer", func(t *testing.T) {
		f := startFakeResolver(t)
		f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS bob.ns.cloudflare.com.")
		f.setSilent("_cf-custom-hostname.myapp.com")
		r := f.resolver()
		r.Timeout = 100 * time.Millisecond
		report, err := r.Check(context.Background(), Expectation{Hostname: "myapp.com", NameServers: cloudflareNS, TXT: map[string]string{"_cf-custom-hostname.myapp.com": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		if report.OK || len(report.Findings) != 2 {
			t.Fatalf("report = %+v, want two findings, not OK", report)
		}
		wantFinding(t, report.Findings[0], true, ProblemNone, cloudflareNS)
		wantFinding(t, report.Findings[1], false, ProblemTimeout, nil, "looking up the TXT records of _cf-custom-hostname.myapp.com got no answer from the DNS resolver (timed out)")
	})

	t.Run("a dead server before a live one", func(t *testing.T) {
		f := startFakeResolver(t)
		f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS bob.ns.cloudflare.com.")
		r := &Resolver{Servers: []string{blackhole(t), f.addr}, Timeout: 100 * time.Millisecond}
		wantFinding(t, checkOne(t, r, Expectation{Hostname: "myapp.com", NameServers: cloudflareNS}), true, ProblemNone, cloudflareNS)
	})

	t.Run("the context ends", func(t *testing.T) {
		r := &Resolver{Servers: []string{blackhole(t)}, Timeout: 5 * time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Check(ctx, Expectation{Hostname: "myapp.com", NameServers: cloudflareNS})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Check with an ending context = %v, want an error wrapping context.DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("Check took %v after its context ended", elapsed)
		}
	})
}

func TestCheckWholeReport(t *testing.T) {
	f := startFakeResolver(t)
	r := f.resolver()
	f.set(t, "myapp.com", dns.TypeNS, "myapp.com. 300 IN NS ada.ns.cloudflare.com.", "myapp.com. 300 IN NS bob.ns.cloudflare.com.")
	f.set(t, "www.myapp.com", dns.TypeCNAME, "www.myapp.com. 300 IN CNAME customers.appforge.dev.")
	f.set(t, "_cf-custom-hostname.www.myapp.com", dns.TypeTXT, `_cf-custom-hostname.www.myapp.com. 300 IN TXT "token"`)
	e := Expectation{
		Hostname:    "WWW.MyApp.com.",
		NameServers: cloudflareNS,
		CNAME:       "customers.appforge.dev",
		TXT:         map[string]string{"_cf-custom-hostname.www.myapp.com.": "token"},
	}
	report, err := r.Check(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if !report.OK {
		t.Fatalf("report = %+v, want OK", report)
	}
	var checks []string
	for _, f := range report.Findings {
		checks = append(checks, f.Check)
	}
	if want := []string{CheckNS, CheckCNAME, CheckTXT}; !slices.Equal(checks, want) {
		t.Errorf("checks = %q, want %q", checks, want)
	}

	// International names may come in either form.
	f.set(t, "xn--bcher-kva.de", dns.TypeNS, "xn--bcher-kva.de. 300 IN NS ada.ns.cloudflare.com.", "xn--bcher-kva.de. 300 IN NS bob.ns.cloudflare.com.")
	for _, host := range []string{"xn--bcher-kva.de", "BÜCHER.de"} {
		got := checkOne(t, r, Expectation{Hostname: host, NameServers: cloudflareNS})
		wantFinding(t, got, true, ProblemNone, cloudflareNS)
		if got.Name != "xn--bcher-kva.de" {
			t.Errorf("Name = %q, want xn--bcher-kva.de", got.Name)
		}
	}

	if _, err := r.Check(context.Background(), Expectation{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Check with no hostname = %v, want ErrInvalid", err)
	}
	report, err = r.Check(context.Background(), Expectation{Hostname: "myapp.com"})
	if err != nil || !report.OK || len(report.Findings) != 0 {
		t.Errorf("Check with nothing expected = %+v, %v; want OK with no findings", report, err)
	}
}

func TestResolverServers(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 10.0.0.2\nnameserver 2001:db8::53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := resolvConf
	t.Cleanup(func() { resolvConf = old })

	resolvConf = conf
	if got, want := (&Resolver{}).servers(), []string{"10.0.0.2:53", "[2001:db8::53]:53"}; !slices.Equal(got, want) {
		t.Errorf("servers from resolv.conf = %q, want %q", got, want)
	}
	resolvConf = filepath.Join(dir, "missing")
	if got, want := (&Resolver{}).servers(), []string{"1.1.1.1:53"}; !slices.Equal(got, want) {
		t.Errorf("servers without resolv.conf = %q, want %q", got, want)
	}
	if got, want := (&Resolver{Servers: []string{"9.9.9.9", "[2620:fe::fe]", "127.0.0.1:5353"}}).servers(), []string{"9.9.9.9:53", "[2620:fe::fe]:53", "127.0.0.1:5353"}; !slices.Equal(got, want) {
		t.Errorf("configured servers = %q, want %q", got, want)
	}
}
