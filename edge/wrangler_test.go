package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// wranglerVersion is the wrangler these tests run: the newest 4.x that runs on
// Node 20 (later ones need Node 22.12).
const wranglerVersion = "4.86.0"

// TestMain removes the wrangler installed for this run, unless it lives in
// APPFORGE_TEST_DEPS_DIR.
func TestMain(m *testing.M) {
	code := m.Run()
	if wranglerTemp != "" {
		_ = os.RemoveAll(wranglerTemp)
	}
	os.Exit(code)
}

var (
	wranglerOnce sync.Once
	wranglerJS   string // path of wrangler's bin/wrangler.js
	wranglerNode string
	wranglerSkip string // why wrangler cannot be had, when npm cannot reach the registry
	wranglerErr  error
	wranglerTemp string // a folder to remove after the run
)

// needWrangler returns node and wrangler.js, installing wrangler once per test run
// into APPFORGE_TEST_DEPS_DIR (kept) or a temporary folder. Without node or npm,
// or when npm cannot reach the registry, the test is skipped with the reason, except
// when CI is set: then it fails.
func needWrangler(t *testing.T) (node, js string) {
	t.Helper()
	wranglerOnce.Do(installWrangler)
	if wranglerSkip != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("wrangler is required in CI: %s", wranglerSkip)
		}
		t.Skipf("skipping the wrangler test: %s", wranglerSkip)
	}
	if wranglerErr != nil {
		t.Fatalf("install wrangler %s: %v", wranglerVersion, wranglerErr)
	}
	return wranglerNode, wranglerJS
}

// npmUnreachable matches npm's errors for a registry it cannot reach.
var npmUnreachable = regexp.MustCompile(`ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up|E403|E5\d\d|getaddrinfo`)

func installWrangler() {
	node, err := exec.LookPath("node")
	if err != nil {
		wranglerSkip = "node is not installed"
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		wranglerSkip = "npm is not installed"
		return
	}
	wranglerNode = node
	base := os.Getenv("APPFORGE_TEST_DEPS_DIR")
	if base == "" {
		if base, err = os.MkdirTemp("", "appforge-wrangler-"); err != nil {
			wranglerErr = err
			return
		}
		wranglerTemp = base
	}
	dir := filepath.Join(base, "wrangler-"+wranglerVersion)
	js := filepath.Join(dir, "node_modules", "wrangler", "bin", "wrangler.js")
	if installedVersion(dir) == wranglerVersion {
		wranglerJS = js
		return
	}
	// Install next to the target and rename, so that an interrupted install or a
	// concurrent run never leaves a half-filled cache behind.
	if err := os.MkdirAll(base, 0o755); err != nil {
		wranglerErr = err
		return
	}
	tmp, err := os.MkdirTemp(base, ".wrangler-install-")
	if err != nil {
		wranglerErr = err
		return
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"private":true}`), 0o644); err != nil {
		wranglerErr = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
		"--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=5000", "wrangler@"+wranglerVersion)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		if npmUnreachable.Match(out) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			wranglerSkip = fmt.Sprintf("npm cannot reach the registry: %v: %s", err, lastLines(out, 5))
			return
		}
		wranglerErr = fmt.Errorf("npm install: %v: %s", err, lastLines(out, 20))
		return
	}
	if err := os.Rename(tmp, dir); err != nil && installedVersion(dir) != wranglerVersion {
		wranglerErr = fmt.Errorf("move the install into place: %w", err)
		return
	}
	wranglerJS = js
}

func installedVersion(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", "wrangler", "package.json"))
	if err != nil {
		return ""
	}
	var p struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(data, &p)
	return p.Version
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wrangler runs one wrangler command against the edge of f in project.
type wranglerRunner struct {
	t             *testing.T
	node, js      string
	project, home string
	apiBase       string
}

func (w wranglerRunner) run(withAccount bool, stdin string, args ...string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.node, append([]string{w.js}, args...)...)
	cmd.Dir = w.project
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + w.home,
		"XDG_CONFIG_HOME=" + filepath.Join(w.home, ".config"),
		"CLOUDFLARE_API_BASE_URL=" + w.apiBase,
		"CLOUDFLARE_API_TOKEN=" + testToken,
		"WRANGLER_SEND_METRICS=false",
		"WRANGLER_HIDE_BANNER=true",
		"NO_COLOR=1",
	}
	if withAccount {
		cmd.Env = append(cmd.Env, "CLOUDFLARE_ACCOUNT_ID="+testAccount)
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("wrangler %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeFiles writes files (by path relative to dir).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWrangler deploys a plain Vite project with wrangler pointed at the edge, then
// sets secrets with `wrangler secret put` and redeploys.
func TestWrangler(t *testing.T) {
	node, js := needWrangler(t)
	logs := &logBuffer{}
	dir := t.TempDir()
	f := startFixture(t, dir, newClock(), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	project := t.TempDir()
	// A plain Vite project with its build output (what `vite build` writes to dist/;
	// public/_headers and public/_redirects are copied into dist/ as they are).
	writeFiles(t, project, map[string]string{
		"package.json":                  `{"name":"vite-site","private":true,"type":"module","scripts":{"build":"vite build"},"devDependencies":{"vite":"^8.0.0"}}`,
		"index.html":                    `<!doctype html><html><head><title>vite site</title></head><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>`,
		"src/main.js":                   `document.querySelector('#app').textContent = 'hello from vite'`,
		"public/_headers":               "/*\n  X-Frame-Options: DENY\n/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n",
		"public/_redirects":             "/old /about 301\n/docs/* /guide/:splat 302\n",
		"dist/index.html":               `<!doctype html><html><head><title>vite site</title><script type="module" crossorigin src="/assets/index-Bq3x9fZk.js"></script></head><body><div id="app"></div></body></html>`,
		"dist/assets/index-Bq3x9fZk.js": `document.querySelector('#app').textContent='hello from vite'`,
		"dist/about.html":               `<p>about</p>`,
		"dist/_headers":                 "/*\n  X-Frame-Options: DENY\n/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n",
		"dist/_redirects":               "/old /about 301\n/docs/* /guide/:splat 302\n",
		"wrangler.toml": `name = "vite-site"
compatibility_date = "2025-09-01"

[assets]
directory = "./dist"
not_found_handling = "single-page-application"
`,
	})
	w := wranglerRunner{t: t, node: node, js: js, project: project, home: t.TempDir(), apiBase: f.srv.URL + "/client/v4"}
	const siteHost = "vite-site.appforge.localhost"

	t.Run("deploy", func(t *testing.T) {
		out := w.run(true, "", "deploy")
		if !strings.Contains(out, "Deployed vite-site") {
			t.Fatalf("wrangler deploy did not report a deploy:\n%s", out)
		}
		tests := []struct {
			path, wantStatus, wantBody, header, headerValue string
		}{
			{"/", "200", "/assets/index-Bq3x9fZk.js", "X-Frame-Options", "DENY"},
			{"/assets/index-Bq3x9fZk.js", "200", "hello from vite", "Cache-Control", "public, max-age=31536000, immutable"},
			{"/about", "200", "<p>about</p>", "", ""},
			{"/some/deep/link", "200", `<div id="app">`, "", ""},
			{"/old", "301", "", "Location", "/about"},
			{"/docs/intro", "302", "", "Location", "/guide/intro"},
			{"/_headers", "200", `<div id="app">`, "", ""}, // not an asset: the app shell
		}
		for _, tt := range tests {
			resp := f.do(t, "GET", siteHost, tt.path, nil, nil)
			body := readBody(t, resp)
			if fmt.Sprint(resp.StatusCode) != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s: got %d %q, want %s containing %q", tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if tt.header != "" && resp.Header.Get(tt.header) != tt.headerValue {
				t.Errorf("GET %s: %s is %q, want %q", tt.path, tt.header, resp.Header.Get(tt.header), tt.headerValue)
			}
		}
		sc, ok := f.edge.store.script("vite-site")
		if !ok {
			t.Fatal("no script vite-site")
		}
		if v, _ := sc.version(sc.DeploymentID); v.Source != "wrangler" {
			t.Errorf("version source: got %q, want wrangler", v.Source)
		}
	})

	const planted = "wrangler-planted-secret-42f1"
	t.Run("secret put", func(t *testing.T) {
		out := w.run(true, planted, "secret", "put", "API_TOKEN")
		if !strings.Contains(out, "Success! Uploaded secret API_TOKEN") {
			t.Fatalf("wrangler secret put:\n%s", out)
		}
		if got := secretNames(t, f.workers(testToken), "vite-site"); !slices.Equal(got, []string{"API_TOKEN"}) {
			t.Errorf("secrets: got %v, want API_TOKEN", got)
		}
		bs, _ := f.edge.ScriptBindings("vite-site")
		if len(bs) != 1 || bs[0].Secret.Reveal() != planted {
			t.Errorf("bindings: got %+v, want API_TOKEN with the value given", bs)
		}
		list := w.run(true, "", "secret", "list")
		if !strings.Contains(list, `"API_TOKEN"`) || strings.Contains(list, planted) {
			t.Errorf("wrangler secret list:\n%s", list)
		}
	})

	t.Run("redeploy without CLOUDFLARE_ACCOUNT_ID", func(t *testing.T) {
		writeFiles(t, project, map[string]string{
			"dist/index.html":               `<!doctype html><html><head><script type="module" crossorigin src="/assets/index-Cz8Lq2Wd.js"></script></head><body><div id="app"></div></body></html>`,
			"dist/assets/index-Cz8Lq2Wd.js": `document.querySelector('#app').textContent='second build'`,
		})
		// Without an account id wrangler finds it with /memberships; an existing
		// Worker is redeployed with POST .../versions and POST .../deployments.
		out := w.run(false, "", "deploy")
		if !strings.Contains(out, "Deployed vite-site") {
			t.Fatalf("wrangler deploy:\n%s", out)
		}
		if body := readBody(t, f.do(t, "GET", siteHost, "/assets/index-Cz8Lq2Wd.js", nil, nil)); !strings.Contains(body, "second build") {
			t.Errorf("the new build is not served: %q", body)
		}
		sc, _ := f.edge.store.script("vite-site")
		if n := len(sc.Deployments); n < 3 {
			t.Errorf("deployments: got %d, want upload, secret change and redeploy", n)
		}
		// wrangler deploy sends no keep_bindings; Cloudflare keeps secrets anyway.
		if got := secretNames(t, f.workers(testToken), "vite-site"); !slices.Equal(got, []string{"API_TOKEN"}) {
			t.Errorf("secrets after a wrangler redeploy: got %v, want API_TOKEN", got)
		}
	})

	t.Run("secret put on a new Worker", func(t *testing.T) {
		out := w.run(true, "draft value", "secret", "put", "FIRST", "--name", "draft-worker")
		if !strings.Contains(out, "Creating new Worker") || !strings.Contains(out, "Success! Uploaded secret FIRST") {
			t.Fatalf("wrangler secret put on a new Worker:\n%s", out)
		}
		if got := secretNames(t, f.workers(testToken), "draft-worker"); !slices.Equal(got, []string{"FIRST"}) {
			t.Errorf("secrets of the draft Worker: got %v", got)
		}
	})

	f.stop()
	if hits := scanDir(t, dir, planted); len(hits) > 0 {
		t.Errorf("the secret set with wrangler is stored in the clear in %v", hits)
	}
	if bytes.Contains([]byte(logs.String()), []byte(planted)) {
		t.Errorf("the secret set with wrangler is in the edge's logs")
	}
}
