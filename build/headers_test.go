package build_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
	"github.com/appforge/appforge/files"
)

// bundleOf is a small built bundle: index.html and what else is given.
func bundleOf(index string, more ...files.File) []files.File {
	if index == "" {
		index = `<!doctype html><html><head><script type="module" crossorigin src="/assets/index-a1b2c3d4.js"></script>` +
			`<link rel="stylesheet" crossorigin href="/assets/index-a1b2c3d4.css"></head><body><div id="root"></div></body></html>`
	}
	return append([]files.File{{Path: "index.html", Content: []byte(index)}}, more...)
}

func TestHeadersFile(t *testing.T) {
	got := string(build.Headers(build.ProfileProduction, bundleOf(""), testapp.Template()))
	want := `# Written by appforge for a production build.
/assets/*
  Cache-Control: public, max-age=31536000, immutable
/
  Cache-Control: no-cache
/*.html
  Cache-Control: no-cache
/*
  Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; media-src 'self'; connect-src 'self' https:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'
  X-Content-Type-Options: nosniff
  Referrer-Policy: strict-origin-when-cross-origin
`
	if got != want {
		t.Errorf("production _headers:\n%s\nwant:\n%s", got, want)
	}
	// Every line is a comment, a path rule or an indented "Name: value" (the syntax of
	// Cloudflare's _headers, which the edge parses the same way).
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "  "), ": ")
		switch {
		case strings.HasPrefix(line, "#"), strings.HasPrefix(line, "/") && !strings.ContainsAny(line, " \t"):
		case strings.HasPrefix(line, "  ") && ok && name != "" && !strings.Contains(name, " ") && value != "" && len(line) < 2000:
		default:
			t.Errorf("line %q is not _headers syntax", line)
		}
	}

	preview := build.CSP(build.ProfilePreview, bundleOf(""), testapp.Template())
	if strings.Contains(preview, "frame-ancestors") || !strings.HasPrefix(preview, "default-src 'self'; script-src 'self'; style-src 'self';") {
		t.Errorf("preview CSP %q: want the production one without frame-ancestors", preview)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func TestCSPFitsTheApp(t *testing.T) {
	const inline = `window.dataLayer = []`
	const style = `.x{color:red}`
	tests := []struct {
		name    string
		bundle  []files.File
		src     map[string]string
		want    []string // directives (or parts) the CSP holds
		wantNot []string
	}{
		{
			name:   "inline script and style elements are allowed by hash",
			bundle: bundleOf(`<html><head><script>` + inline + `</script><style>` + style + `</style></head><body></body></html>`),
			want:   []string{"script-src 'self' " + sha(inline) + ";", "style-src 'self' " + sha(style) + ";"},
		},
		{
			name:    "style attributes need unsafe-inline, and hashes would disable it",
			bundle:  bundleOf(`<html><head><style>` + style + `</style></head><body><div style="color:red"></div></body></html>`),
			want:    []string{"style-src 'self' 'unsafe-inline';"},
			wantNot: []string{sha(style)},
		},
		{
			name:   "app code rendering a <style> element",
			bundle: bundleOf(""),
			src:    map[string]string{"src/App.tsx": "export default function App() { return <style>{`h1{color:red}`}</style> }\n"},
			want:   []string{"style-src 'self' 'unsafe-inline';"},
		},
		{
			name:   "a CSS-in-JS dependency",
			bundle: bundleOf(""),
			src:    map[string]string{"package.json": `{"dependencies": {"react": "19.3.1", "styled-components": "6.1.19"}}`},
			want:   []string{"style-src 'self' 'unsafe-inline';"},
		},
		{
			name:    "React's style props and react-dom need nothing",
			bundle:  bundleOf("", files.File{Path: "assets/vendor-a1b2c3d4.js", Content: []byte("e.createElement(`style`);el.style.width=w")}),
			src:     map[string]string{"src/Bar.tsx": "export const Bar = ({ w }: { w: number }) => <div style={{ width: w }} />\n"},
			want:    []string{"style-src 'self';"},
			wantNot: []string{"unsafe-inline"},
		},
		{
			name: "Google Fonts",
			bundle: bundleOf(`<html><head><link rel="preconnect" href="https://fonts.gstatic.com">` +
				`<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter"></head></html>`),
			want: []string{"style-src 'self' https://fonts.googleapis.com;", "font-src 'self' data: https://fonts.gstatic.com;"},
		},
		{
			name: "images, fonts and media on other origins",
			bundle: bundleOf("",
				files.File{Path: "assets/index-a1b2c3d4.js", Content: []byte(`const a="https://images.unsplash.com/photo-1?w=800",b="https://cdn.example.com/x/logo.PNG",c="https://react.dev/errors/",d="https://api.example.com/v1/items",e="https://media.example.org/a.mp3"`)},
				files.File{Path: "assets/index-a1b2c3d4.css", Content: []byte(`@font-face{src:url(https://fonts.example.net/a.woff2)}.h{background:url("https://img.example.org/bg.jpg")}`)}),
			want: []string{
				"img-src 'self' data: https://images.unsplash.com https://cdn.example.com https://img.example.org;",
				"font-src 'self' data: https://fonts.example.net;", "media-src 'self' https://media.example.org;",
				"connect-src 'self' https:;",
			},
			wantNot: []string{"react.dev", "api.example.com"},
		},
		{
			name:   "object URLs",
			bundle: bundleOf("", files.File{Path: "assets/index-a1b2c3d4.js", Content: []byte("img.src=URL.createObjectURL(file)")}),
			want:   []string{"img-src 'self' data: blob:;", "media-src 'self' blob:;"},
		},
		{
			name:   "an external script tag",
			bundle: bundleOf(`<html><head><script src="https://plausible.io/js/script.js" defer></script></head></html>`),
			want:   []string{"script-src 'self' https://plausible.io;"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := testapp.Template()
			if tt.src != nil {
				src = testapp.With(tt.src)
			}
			csp := build.CSP(build.ProfileProduction, tt.bundle, src) + ";"
			for _, w := range tt.want {
				if !strings.Contains(csp, w) {
					t.Errorf("CSP %q\nlacks %q", csp, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(csp, w) {
					t.Errorf("CSP %q\nholds %q", csp, w)
				}
			}
		})
	}
}
