package domains

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// FuzzNormalize checks the promises Normalize makes about whatever it
// accepts, and that it never panics on whatever it refuses.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"myapp.com", "MyApp.COM.", "https://MyApp.com:8443/path?q#f", "bücher.de", "xn--bcher-kva.de",
		"💩.la", "*.example.com", "github.io", "yourname.github.io", "192.0.2.1", "[2001:db8::1]:443",
		"my_app.com", "ａｂｃ。ｃｏｍ", "пример.рф", "العربية.com", "a\u200db.com", "l·l.cat", "todo.localhost",
		"me@myapp.com", "shop.example.co.uk", strings.Repeat("a", 64) + ".com",
		// Cases that needed fixes while this was written: IDNA2008 rules
		// that x/net/idna leaves to the caller, and a quadratic scan.
		"exam·ple.com", "x.١٢٣.com", "xn--ls8h.la", strings.Repeat("・", 1300) + "日.jp",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, input string, allowReserved bool) {
		opts := Options{AllowReserved: allowReserved}
		h, err := NormalizeWith(input, opts)
		if err != nil {
			var ie *InvalidError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) || ie.Reason == "" {
				t.Fatalf("NormalizeWith(%q) error %v: want an *InvalidError with a reason, wrapping ErrInvalid", input, err)
			}
			return
		}
		name := h.Name
		if name == "" || len(name) > 253 || !isASCII(name) || strings.ToLower(name) != name || strings.HasSuffix(name, ".") {
			t.Fatalf("NormalizeWith(%q).Name = %q: want non-empty lower-case ASCII, at most 253 bytes, no trailing dot", input, name)
		}
		labels := strings.Split(name, ".")
		if len(labels) < 2 {
			t.Fatalf("NormalizeWith(%q).Name = %q: want at least two labels", input, name)
		}
		for _, l := range labels {
			if l == "" || len(l) > 63 {
				t.Fatalf("NormalizeWith(%q).Name = %q: label %q is empty or longer than 63", input, name, l)
			}
		}
		if looked, err := idna.Lookup.ToASCII(name); err != nil || looked != name {
			t.Fatalf("NormalizeWith(%q).Name = %q, but the IDNA lookup profile gives %q, %v", input, name, looked, err)
		}
		if ps, _ := publicsuffix.PublicSuffix(name); ps == name {
			t.Fatalf("NormalizeWith(%q).Name = %q is a public suffix", input, name)
		}
		if apex, err := publicsuffix.EffectiveTLDPlusOne(name); err != nil || apex != h.Apex || h.IsApex != (name == apex) {
			t.Fatalf("NormalizeWith(%q) = %+v: apex does not match eTLD+1 %q (%v)", input, h, apex, err)
		}
		again, err := NormalizeWith(name, opts)
		if err != nil || again != h {
			t.Fatalf("not idempotent: NormalizeWith(%q) = %+v, but NormalizeWith(%q) = %+v, %v", input, h, name, again, err)
		}
		fromUnicode, err := NormalizeWith(h.Unicode, opts)
		if err != nil || fromUnicode != h {
			t.Fatalf("display form does not round-trip: NormalizeWith(%q) = %+v, but NormalizeWith(%q) = %+v, %v", input, h, h.Unicode, fromUnicode, err)
		}
		if h.WWW != "" {
			w, err := NormalizeWith(h.WWW, opts)
			if err != nil || w.Apex != h.Apex || w.WWW != name {
				t.Fatalf("www counterpart of %+v: NormalizeWith(%q) = %+v, %v", h, h.WWW, w, err)
			}
		}
	})
}
