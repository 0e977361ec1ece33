package build

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Samples are the output of tsc 7.0.2, vite 8.3.8 and npm 11.19 on this project's template,
// captured with NO_COLOR set (rolldown's code frames keep their colours regardless).

const tscSample = `src/App.tsx(4,17): error TS2741: Property 'b' is missing in type '{ a: string; }' but required in type 'Props'.
src/App.tsx(4,30): error TS2322: Type 'number' is not assignable to type 'string'.
src/App.tsx(4,30): error TS2322: Type 'number' is not assignable to type 'string'.
src/List.tsx(9,3): error TS2322: Type '{ id: string; }' is not assignable to type 'Item'.
  Property 'done' is missing in type '{ id: string; }' but required in type 'Item'.
    The expected type comes from property 'item' which is declared here.
      A third line is left out.
error TS5083: Cannot read file 'tsconfig.base.json'.
`

func TestParseTSC(t *testing.T) {
	got := parseTSC(tscSample)
	want := []string{
		"src/App.tsx(4,17): error TS2741: Property 'b' is missing in type '{ a: string; }' but required in type 'Props'.",
		"src/App.tsx(4,30): error TS2322: Type 'number' is not assignable to type 'string'.",
		"src/List.tsx(9,3): error TS2322: Type '{ id: string; }' is not assignable to type 'Item'. Property 'done' is missing in type '{ id: string; }' but required in type 'Item'. The expected type comes from property 'item' which is declared here.",
		"error TS5083: Cannot read file 'tsconfig.base.json'.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseTSC:\n got %q\nwant %q", got, want)
	}
}

const viteTwoErrors = "vite v8.3.8 building client environment for production...\ntransforming...\n✓ 15 modules transformed.\n✗ Build failed in 51ms\nerror during build:\nBuild failed with 2 errors:\n\n" +
	"\x1b[31m[builtin:vite-transform] \x1b[0mUnexpected token\n" +
	"   \x1b[38;5;246m╭\x1b[0m\x1b[38;5;246m─\x1b[0m\x1b[38;5;246m[\x1b[0m /work/ws/v1/src/App.tsx:2:18 \x1b[38;5;246m]\x1b[0m\n" +
	"   │\n 2 │   return <main>{</main>\n   │                  ┬  \n   │                  ╰── \n───╯\n\n" +
	"[builtin:vite-transform] Unexpected token\n   ╭─[ /work/ws/v1/src/x.ts:1:18 ]\n   │\n 1 │ export const y = = 1\n───╯\n\n" +
	"    at aggregateBindingErrorsIntoJsError (file:///cache/deps/k/node_modules/rolldown/dist/shared/error-CLo6EJKG.mjs:50:18)\n" +
	"    at async CAC.<anonymous> (file:///cache/deps/k/node_modules/vite/dist/node/cli.js:789:3) {\n  errors: [Getter/Setter]\n}\n"

const viteCSS = "✗ Build failed in 133ms\nerror during build:\nBuild failed with 1 error:\n\n[plugin vite:css-post]\nSyntaxError: [lightningcss minify] Unexpected end of input\n63 |  }\n65 |   .b {{ }\n   |       ^\n  errors: [Getter/Setter]\n}\n"

const viteConfig = "failed to load config from /work/ws/v1/vite.config.ts\nerror during build:\nReferenceError: nope is not defined\n    at file:///work/ws/v1/node_modules/.vite-temp/vite.config.ts.timestamp-1-2.mjs:3:43\n    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)\n"

func TestParseVite(t *testing.T) {
	clean := cleaner{ws: "/work/ws/v1", nodeModules: "/cache/deps/k/node_modules"}
	tests := []struct {
		name, out string
		want      []string
	}{
		{"two errors with code frames", viteTwoErrors, []string{
			"src/App.tsx(2,18): error builtin:vite-transform: Unexpected token",
			"src/x.ts(1,18): error builtin:vite-transform: Unexpected token",
		}},
		{"plugin error with the message below", viteCSS, []string{
			"error plugin vite:css-post: SyntaxError: [lightningcss minify] Unexpected end of input",
		}},
		{"config that does not load", viteConfig, []string{
			"failed to load config from vite.config.ts",
			"ReferenceError: nope is not defined",
		}},
		{"no vite error block", "Error: Cannot find module 'vite'\n    at x (y.js:1:1)\nNode.js v20\n", []string{
			"Error: Cannot find module 'vite'",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseVite(clean.text(tt.out)); !slices.Equal(got, tt.want) {
				t.Errorf("parseVite:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCleanerText(t *testing.T) {
	c := cleaner{ws: "/work/ws/v1", nodeModules: "/cache/deps/k/node_modules"}
	in := "\x1b[31m/work/ws/v1/src/App.tsx\x1b[0m at file:///cache/deps/k/node_modules/vite/x.js, in /work/ws/v1\r\n"
	want := "src/App.tsx at node_modules/vite/x.js, in .\n"
	if got := c.text(in); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

const npmE404 = `npm warn Unknown user config "nodedir". This will stop working in the next major version of npm.
npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/appforge-no-such-package-zz9 - Not found
npm error 404
npm error 404  'appforge-no-such-package-zz9@1.0.0' is not in this registry.
npm error 404
npm error 404 Note that you can also install from a
npm error 404 tarball, folder, http url, or git url.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-28T00_26_20_842Z-debug-0.log
`

func TestNPMErrors(t *testing.T) {
	code := npmErrorCode(npmE404)
	if code != "E404" || !permanentNPMCodes[code] {
		t.Fatalf("code = %q, want E404, permanent", code)
	}
	got := npmErrors(npmE404, code)
	want := []string{
		"package.json: npm install failed (E404)",
		"package.json: Not Found - GET https://registry.npmjs.org/appforge-no-such-package-zz9 - Not found",
		"package.json: 'appforge-no-such-package-zz9@1.0.0' is not in this registry.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("npmErrors:\n got %q\nwant %q", got, want)
	}
	if code := npmErrorCode("npm error code ECONNREFUSED\nnpm error errno ECONNREFUSED\n"); code != "ECONNREFUSED" || permanentNPMCodes[code] {
		t.Errorf("code = %q, want ECONNREFUSED, retryable", code)
	}
}

func TestLimitErrors(t *testing.T) {
	var errs []string
	for i := range 30 {
		errs = append(errs, fmt.Sprintf("src/A.tsx(%d,1): error TS1: x", i), fmt.Sprintf("src/A.tsx(%d,1): error TS1: x", i))
	}
	errs = append(errs, strings.Repeat("é", 400))
	got := limitErrors(errs)
	if len(got) != maxErrors || got[maxErrors-1] != "... and 12 more errors" {
		t.Errorf("limitErrors kept %d lines ending %q, want %d ending \"... and 12 more errors\"", len(got), got[len(got)-1], maxErrors)
	}
	long := limitErrors([]string{strings.Repeat("é", 400)})[0]
	if len(long) > maxErrorLine+3 || !strings.HasSuffix(long, "...") || !strings.HasPrefix(long, "éé") {
		t.Errorf("long line cut to %d bytes: %q", len(long), long)
	}
}

func TestLogBufferKeepsHeadAndTail(t *testing.T) {
	var l logBuffer
	for i := range 20000 {
		fmt.Fprintf(&l, "line %05d\n", i) // 11 bytes each, 220,000 in all
	}
	s := l.String()
	if len(s) > logLimit+100 {
		t.Errorf("kept %d bytes, want about %d", len(s), logLimit)
	}
	if !strings.HasPrefix(s, "line 00000\n") || !strings.HasSuffix(s, "line 19999\n") {
		t.Errorf("want the first and the last line kept, got %q ... %q", s[:20], s[len(s)-20:])
	}
	if !strings.Contains(s, "bytes omitted") {
		t.Error("no marker where output was dropped")
	}

	var small logBuffer
	small.Write([]byte("short"))
	if small.String() != "short" {
		t.Errorf("small log = %q", small.String())
	}
}

func TestDependencySetKey(t *testing.T) {
	node := nodeInfo{"20", "linux", "x64"}
	key := func(pkg string) string {
		t.Helper()
		set, err := parseDeps([]byte(pkg))
		if err != nil {
			t.Fatal(err)
		}
		return depsKey(node, false, set)
	}
	base := key(`{"dependencies": {"react": "19.3.1", "react-dom": "19.3.1"}, "devDependencies": {"vite": "8.3.8"}}`)
	same := []string{
		`{"name": "x", "devDependencies": {"vite": " 8.3.8 "}, "dependencies": {"react-dom": "19.3.1", "react": "19.3.1"}}`,
		`{"dependencies": {"react": "19.3.1", "react-dom": "19.3.1", "vite": "8.3.8"}}`, // dev or not, the same install
	}
	for _, pkg := range same {
		if k := key(pkg); k != base {
			t.Errorf("key of %s = %s, want %s", pkg, k, base)
		}
	}
	different := []string{
		`{"dependencies": {"react": "19.3.0", "react-dom": "19.3.1"}, "devDependencies": {"vite": "8.3.8"}}`,
		`{"dependencies": {"react": "19.3.1", "react-dom": "19.3.1"}}`,
	}
	for _, pkg := range different {
		if k := key(pkg); k == base {
			t.Errorf("key of %s equals the base key", pkg)
		}
	}
	set, _ := parseDeps([]byte(`{"dependencies": {"react": "19.3.1"}}`))
	if depsKey(node, false, set) == depsKey(nodeInfo{"22", "linux", "x64"}, false, set) {
		t.Error("the key does not depend on node's major version")
	}
	if depsKey(node, false, set) == depsKey(node, true, set) {
		t.Error("the key does not depend on install scripts")
	}
}

func TestRegistrySpec(t *testing.T) {
	for spec, want := range map[string]bool{
		"1.2.3": true, "^1.2.3": true, ">=1 <2 || 3.x": true, "latest": true, "*": true,
		"npm:@scope/pkg@1.0.0": true,
		"file:../x":            false, "../x": false, "/etc": false, "link:x": false,
		"workspace:*": false, "github:u/r": false, "u/r": false,
		"git+https://github.com/u/r.git": false, "https://example.com/x.tgz": false,
	} {
		if got := registrySpec(spec); got != want {
			t.Errorf("registrySpec(%q) = %v, want %v", spec, got, want)
		}
	}
}
