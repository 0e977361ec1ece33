package domains

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeAccepts(t *testing.T) {
	tests := []struct {
		input string
		want  Hostname
	}{
		// Case, spaces, trailing dot.
		{"myapp.com", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"  MyApp.COM  ", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"\tmyapp.com.\n", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		// www counterparts and subdomains.
		{"www.myapp.com", Hostname{Name: "www.myapp.com", Unicode: "www.myapp.com", Apex: "myapp.com", WWW: "myapp.com"}},
		{"shop.example.com", Hostname{Name: "shop.example.com", Unicode: "shop.example.com", Apex: "example.com"}},
		{"www.shop.example.com", Hostname{Name: "www.shop.example.com", Unicode: "www.shop.example.com", Apex: "example.com"}},
		{"my-app.co.uk", Hostname{Name: "my-app.co.uk", Unicode: "my-app.co.uk", Apex: "my-app.co.uk", IsApex: true, WWW: "www.my-app.co.uk"}},
		{"a.b.c.my-app.co.uk", Hostname{Name: "a.b.c.my-app.co.uk", Unicode: "a.b.c.my-app.co.uk", Apex: "my-app.co.uk"}},
		{"a--b.com", Hostname{Name: "a--b.com", Unicode: "a--b.com", Apex: "a--b.com", IsApex: true, WWW: "www.a--b.com"}},
		{"123.com", Hostname{Name: "123.com", Unicode: "123.com", Apex: "123.com", IsApex: true, WWW: "www.123.com"}},
		// Under private public suffixes, a name of one's own is an apex.
		{"yourname.github.io", Hostname{Name: "yourname.github.io", Unicode: "yourname.github.io", Apex: "yourname.github.io", IsApex: true, WWW: "www.yourname.github.io"}},
		{"docs.myapp.pages.dev", Hostname{Name: "docs.myapp.pages.dev", Unicode: "docs.myapp.pages.dev", Apex: "myapp.pages.dev"}},
		// Pasted URLs, ports and paths: the host is taken silently.
		{"https://MyApp.com/path", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"http://www.myapp.com:8080/a/b?c=d#e", Hostname{Name: "www.myapp.com", Unicode: "www.myapp.com", Apex: "myapp.com", WWW: "myapp.com"}},
		{"https://user:secret@shop.example.com/", Hostname{Name: "shop.example.com", Unicode: "shop.example.com", Apex: "example.com"}},
		{"//myapp.com/x", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"myapp.com:443", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"myapp.com/about?x#y", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"https://myapp.com.:443", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		// International names.
		{"bücher.de", Hostname{Name: "xn--bcher-kva.de", Unicode: "bücher.de", Apex: "xn--bcher-kva.de", IsApex: true, WWW: "www.xn--bcher-kva.de"}},
		{"BÜCHER.DE", Hostname{Name: "xn--bcher-kva.de", Unicode: "bücher.de", Apex: "xn--bcher-kva.de", IsApex: true, WWW: "www.xn--bcher-kva.de"}},
		{"bu\u0308cher.de", Hostname{Name: "xn--bcher-kva.de", Unicode: "bücher.de", Apex: "xn--bcher-kva.de", IsApex: true, WWW: "www.xn--bcher-kva.de"}}, // decomposed ü
		{"xn--bcher-kva.de", Hostname{Name: "xn--bcher-kva.de", Unicode: "bücher.de", Apex: "xn--bcher-kva.de", IsApex: true, WWW: "www.xn--bcher-kva.de"}},
		{"XN--BCHER-KVA.DE", Hostname{Name: "xn--bcher-kva.de", Unicode: "bücher.de", Apex: "xn--bcher-kva.de", IsApex: true, WWW: "www.xn--bcher-kva.de"}},
		{"https://www.bücher.de/", Hostname{Name: "www.xn--bcher-kva.de", Unicode: "www.bücher.de", Apex: "xn--bcher-kva.de", WWW: "xn--bcher-kva.de"}},
		{"faß.de", Hostname{Name: "xn--fa-hia.de", Unicode: "faß.de", Apex: "xn--fa-hia.de", IsApex: true, WWW: "www.xn--fa-hia.de"}}, // IDNA2008 keeps ß
		{"пример.рф", Hostname{Name: "xn--e1afmkfd.xn--p1ai", Unicode: "пример.рф", Apex: "xn--e1afmkfd.xn--p1ai", IsApex: true, WWW: "www.xn--e1afmkfd.xn--p1ai"}},
		{"日本語.jp", Hostname{Name: "xn--wgv71a119e.jp", Unicode: "日本語.jp", Apex: "xn--wgv71a119e.jp", IsApex: true, WWW: "www.xn--wgv71a119e.jp"}},
		{"العربية.com", Hostname{Name: "xn--mgbcd4a2b0d2b.com", Unicode: "العربية.com", Apex: "xn--mgbcd4a2b0d2b.com", IsApex: true, WWW: "www.xn--mgbcd4a2b0d2b.com"}},
		{"l·l.cat", Hostname{Name: "xn--ll-0ea.cat", Unicode: "l·l.cat", Apex: "xn--ll-0ea.cat", IsApex: true, WWW: "www.xn--ll-0ea.cat"}}, // Catalan middle dot, in its one allowed place
		// Full-width letters and ideographic full stops, as typed with an IME.
		{"ｍｙａｐｐ。ｃｏｍ", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		{"例え．テスト．jp", Hostname{Name: "xn--r8jz45g.xn--zckzah.jp", Unicode: "例え.テスト.jp", Apex: "xn--zckzah.jp", WWW: ""}},
		// Invisible characters UTS #46 removes (soft hyphen, zero-width space).
		{"my\u00adapp.com", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
		// Length limits, at the limit.
		{strings.Repeat("a", 63) + ".com", Hostname{Name: strings.Repeat("a", 63) + ".com", Unicode: strings.Repeat("a", 63) + ".com", Apex: strings.Repeat("a", 63) + ".com", IsApex: true, WWW: "www." + strings.Repeat("a", 63) + ".com"}},
		{long253, Hostname{Name: long253, Unicode: long253, Apex: "a.com"}},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.input)
		if err != nil {
			t.Errorf("Normalize(%q): %v", tt.input, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q) = %+v, want %+v", tt.input, got, tt.want)
		}
		if again, err := Normalize(got.Name); err != nil || again != got {
			t.Errorf("Normalize(%q) = %+v, %v; want it unchanged", got.Name, again, err)
		}
	}
}

// long253 is a name of exactly 253 characters.
var long253 = strings.Repeat(strings.Repeat("a", 61)+".", 4) + "a.com"

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct {
		input  string
		reason string // a part of the reason
	}{
		{"", "enter a hostname"},
		{"   ", "enter a hostname"},
		{".", "enter a hostname"},
		{"https://", "enter a hostname"},
		// Structure.
		{"myapp..com", "cannot have an empty part"},
		{".myapp.com", "cannot have an empty part"},
		{"myapp.com..", "cannot have an empty part"},
		{"myapp", `"myapp" is not a full domain name: add the ending it is registered under, e.g. myapp.com`},
		{"-myapp.com", `"-myapp" cannot start or end with a hyphen`},
		{"myapp-.com", `"myapp-" cannot start or end with a hyphen`},
		{"ab--cd.com", "third and fourth place"},
		{strings.Repeat("a", 64) + ".com", "is too long: each part between dots can have at most 63 characters"},
		{strings.Repeat("ü", 60) + ".com", "is too long"}, // 60 characters, but over 63 in punycode
		{"a" + long253, "the hostname is 254 characters long; the limit is 253"},
		{strings.Repeat("x", 5000), "far too long"},
		// Characters.
		{"my_app.com", `"my_app" contains an underscore, which hostnames do not allow: use a hyphen instead ("my-app")`},
		{"_dmarc.myapp.com", "underscore"},
		{"my app.com", "cannot contain spaces"},
		{"my!app.com", `"my!app" contains "!", which cannot be used in a domain name`},
		{"my\\app.com", `contains "\\"`},
		{"myapp.com\x00", "control character U+0000"},
		{"\xff.com", "not valid text"},
		{"💩.la", `contains "💩", which cannot be used in a domain name: emoji and symbols are not allowed`},
		{"i❤.ws", "emoji and symbols are not allowed"},
		{"xn--ls8h.la", "emoji and symbols are not allowed"}, // 💩 in punycode
		{"☃.net", "emoji and symbols are not allowed"},
		{"exam·ple.com", `contains "·" in a place where domain names do not allow it`},
		{"a\u200d.com", "not a valid international domain name label"}, // zero-width joiner out of context
		{"\u0301a.com", "not a valid international domain name label"}, // combining accent first
		// Punycode that is not.
		{"xn--zz.com", `"xn--zz" is not a valid international (xn--) label`},
		{"xn--abc.com", "not a valid international (xn--) label"},
		{"xn--.com", "cannot start or end with a hyphen"},
		{"xn--myapp-.com", "cannot start or end with a hyphen"},
		// Wildcards.
		{"*.example.com", "wildcard custom domains are not supported: add each hostname you need on its own, e.g. app.example.com"},
		{"*.*.example.com", "wildcard custom domains are not supported: add each hostname you need on its own, e.g. app.example.com"},
		{"*", "e.g. app.example.com"},
		{"https://*.myapp.com/", "e.g. app.myapp.com"},
		{"a*.example.com", `contains "*"`},
		// IP addresses.
		{"192.0.2.1", "192.0.2.1 is an IP address, not a domain name"},
		{"http://192.0.2.1:8080/", "192.0.2.1 is an IP address"},
		{"2001:db8::1", "2001:db8::1 is an IP address"},
		{"[2001:db8::1]:443", "is an IP address"},
		{"https://[::1]/", "is an IP address"},
		{"127.1", "looks like an IP address"},
		{"0x7f.0.0.1", "looks like an IP address"},
		// Public suffixes, ICANN and private.
		{"com", "com is a top-level domain: use a name under it that you own, e.g. yourname.com"},
		{"co.uk", "co.uk is a public suffix: use a name under it that you own, e.g. yourname.co.uk"},
		{"github.io", "github.io is a public suffix: use a name under it that you own, e.g. yourname.github.io"},
		{"GitHub.IO.", "github.io is a public suffix"},
		{"https://pages.dev/", "pages.dev is a public suffix"},
		{"workers.dev", "workers.dev is a public suffix"},
		{"vercel.app", "vercel.app is a public suffix"},
		{"blogspot.com", "blogspot.com is a public suffix"},
		{"xn--p1ai", "рф is a top-level domain: use a name under it that you own, e.g. yourname.рф"},
		{"рф", "рф is a top-level domain"},
		{"foo.ck", "foo.ck is a public suffix"}, // *.ck
		// Names that do not exist on the internet.
		{"myapp.cmo", ".cmo is not a top-level domain that exists: check the spelling of the ending"},
		{"localhost", "localhost is a reserved name"},
		{"todo.localhost", ".localhost names refer to your own computer"},
		{"printer.local", ".local names are for devices on a local network"},
		{"app.internal", ".internal names are reserved for private networks"},
		{"myapp.test", ".test names are reserved for testing"},
		{"bücher.example", ".example names are reserved for documentation"},
		{"x.invalid", ".invalid names"},
		{"1.0.0.127.in-addr.arpa", ".arpa is reserved for internet infrastructure"},
		{"duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", ".onion names are reachable only through Tor"},
		// Not hostnames at all.
		{"me@myapp.com", `this looks like an email address: enter just the domain, such as "myapp.com"`},
		{"mailto:me@myapp.com", "email address"},
		{"myapp.com:http", `"http" is not a port number`},
		{"javascript:alert(1)", `"alert(1)" is not a port number`},
		{"not a url://x", "neither a hostname nor a web address"},
	}
	for _, tt := range tests {
		_, err := Normalize(tt.input)
		if err == nil {
			t.Errorf("Normalize(%q) = nil error, want %q", tt.input, tt.reason)
			continue
		}
		var invalid *InvalidError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &invalid) {
			t.Errorf("Normalize(%q) = %v, want an *InvalidError wrapping ErrInvalid", tt.input, err)
			continue
		}
		if !strings.Contains(invalid.Reason, tt.reason) {
			t.Errorf("Normalize(%q) reason = %q, want it to contain %q", tt.input, invalid.Reason, tt.reason)
		}
		if invalid.Input != strings.TrimSpace(tt.input) {
			t.Errorf("Normalize(%q) Input = %q, want the trimmed input", tt.input, invalid.Input)
		}
	}
}

func TestNormalizeWithAllowReserved(t *testing.T) {
	opts := Options{AllowReserved: true}
	for _, tt := range []struct {
		input string
		want  Hostname
	}{
		{"todo.localhost", Hostname{Name: "todo.localhost", Unicode: "todo.localhost", Apex: "todo.localhost", IsApex: true, WWW: "www.todo.localhost"}},
		{"www.todo.localhost", Hostname{Name: "www.todo.localhost", Unicode: "www.todo.localhost", Apex: "todo.localhost", WWW: "todo.localhost"}},
		{"MyApp.test", Hostname{Name: "myapp.test", Unicode: "myapp.test", Apex: "myapp.test", IsApex: true, WWW: "www.myapp.test"}},
		{"shop.bücher.example", Hostname{Name: "shop.xn--bcher-kva.example", Unicode: "shop.bücher.example", Apex: "xn--bcher-kva.example"}},
		{"printer.local", Hostname{Name: "printer.local", Unicode: "printer.local", Apex: "printer.local", IsApex: true, WWW: "www.printer.local"}},
		{"app.internal", Hostname{Name: "app.internal", Unicode: "app.internal", Apex: "app.internal", IsApex: true, WWW: "www.app.internal"}},
		{"x.invalid", Hostname{Name: "x.invalid", Unicode: "x.invalid", Apex: "x.invalid", IsApex: true, WWW: "www.x.invalid"}},
		{"myapp.com", Hostname{Name: "myapp.com", Unicode: "myapp.com", Apex: "myapp.com", IsApex: true, WWW: "www.myapp.com"}},
	} {
		got, err := NormalizeWith(tt.input, opts)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeWith(%q, %+v) = %+v, %v; want %+v", tt.input, opts, got, err, tt.want)
		}
	}
	// Still refused: single labels, .arpa, .onion, unknown TLDs, public suffixes.
	for _, input := range []string{"localhost", "test", "myapp.cmo", "github.io", "x.home.arpa", "foo.onion", "*.myapp.test"} {
		if got, err := NormalizeWith(input, opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeWith(%q, %+v) = %+v, %v; want ErrInvalid", input, opts, got, err)
		}
	}
}

func TestInvalidErrorMessage(t *testing.T) {
	_, err := Normalize("github.io")
	const want = `invalid hostname "github.io": github.io is a public suffix: use a name under it that you own, e.g. yourname.github.io`
	if err == nil || err.Error() != want {
		t.Errorf("Normalize(github.io) error = %v, want %s", err, want)
	}
	_, err = Normalize(strings.Repeat("a", 500) + ".com")
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("error for a long input is %d bytes long, want it shortened: %v", len(err.Error()), err)
	}
}

func TestPrimaryProblem(t *testing.T) {
	for _, tc := range []struct {
		host, primary string
		want          string // in the problem; "" for none
	}{
		{"myapp.com", "", ""},
		{"myapp.com", "apex", ""},
		{"myapp.com", "www", ""},
		{"www.myapp.com", "www", ""},
		{"shop.myapp.com", "", ""},
		{"myapp.com", "root", `"apex" or "www"`},
		{"www.myapp.com", "apex", "attach myapp.com"},
		{"shop.myapp.com", "www", "no such pair"},
		{"shop.myapp.com", "apex", "no such pair"},
	} {
		h, err := Normalize(tc.host)
		if err != nil {
			t.Fatal(err)
		}
		got := PrimaryProblem(h, tc.primary)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("PrimaryProblem(%s, %q) = %q, want %q", tc.host, tc.primary, got, tc.want)
		}
	}
}
