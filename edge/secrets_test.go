package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// putSecret sets a secret through the SDK.
func putSecret(ws *workers.WorkerService, script, name, value string) (*workers.ScriptSecretUpdateResponse, error) {
	return ws.Scripts.Secrets.Update(context.Background(), script, workers.ScriptSecretUpdateParams{
		AccountID: cf.F(testAccount),
		Body: workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretText{
			Name: cf.F(name),
			Text: cf.F(value),
			Type: cf.F(workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretTextTypeSecretText),
		},
	})
}

// secretNames lists a script's secrets through the SDK.
func secretNames(t *testing.T, ws *workers.WorkerService, script string) []string {
	t.Helper()
	page, err := ws.Scripts.Secrets.List(context.Background(), script, workers.ScriptSecretListParams{AccountID: cf.F(testAccount)})
	if err != nil {
		t.Fatalf("list secrets of %s: %v", script, err)
	}
	var names []string
	for _, s := range page.Result {
		if s.Type != workers.ScriptSecretListResponseTypeSecretText {
			t.Errorf("secret %s: type %q, want secret_text", s.Name, s.Type)
		}
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// bindingNames returns the names of the bindings the deployed version of script has.
func bindingNames(t *testing.T, f *fixture, script string) []string {
	t.Helper()
	bs, err := f.edge.ScriptBindings(script)
	if err != nil {
		t.Fatalf("ScriptBindings(%s): %v", script, err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name+":"+b.Type)
	}
	slices.Sort(names)
	return names
}

func TestSecrets(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()

	// A secret on a script that does not exist: 404, code 10007 (wrangler then
	// creates a draft Worker).
	_, err := putSecret(ws, "app", "API_KEY", "v1")
	wantAPIError(t, err, http.StatusNotFound, 10007)

	f.deploy(t, "app", map[string]string{"/index.html": "<p>app</p>"}, "")
	got, err := putSecret(ws, "app", "API_KEY", "first value")
	if err != nil {
		t.Fatalf("put secret: %v", err)
	}
	if got.Name != "API_KEY" || got.Type != workers.ScriptSecretUpdateResponseTypeSecretText {
		t.Errorf("put answer: got %+v, want name API_KEY, type secret_text", got)
	}
	if strings.Contains(got.JSON.RawJSON(), "first value") {
		t.Errorf("the put answer shows the value: %s", got.JSON.RawJSON())
	}
	if _, err := putSecret(ws, "app", "API_KEY", "second value"); err != nil {
		t.Fatalf("replace secret: %v", err)
	}
	if _, err := putSecret(ws, "app", "OTHER", "x"); err != nil {
		t.Fatalf("put another secret: %v", err)
	}
	if got, want := secretNames(t, ws, "app"), []string{"API_KEY", "OTHER"}; !slices.Equal(got, want) {
		t.Errorf("secrets: got %v, want %v", got, want)
	}
	one, err := ws.Scripts.Secrets.Get(ctx, "app", "API_KEY", workers.ScriptSecretGetParams{AccountID: cf.F(testAccount)})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if one.Name != "API_KEY" || strings.Contains(one.JSON.RawJSON(), "value") {
		t.Errorf("get secret: got %s, want name and type only", one.JSON.RawJSON())
	}
	bs, err := f.edge.ScriptBindings("app")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(bs, func(b Binding) bool { return b.Name == "API_KEY" })
	if i < 0 || bs[i].Secret.Reveal() != "second value" {
		t.Fatalf("the deployed bindings: got %+v, want API_KEY with the second value", bs)
	}
	if s := fmt.Sprintf("%v %+v %#v", bs[i], bs[i], bs[i].Secret); strings.Contains(s, "second value") {
		t.Errorf("a formatted binding shows the secret: %s", s)
	}

	if _, err := ws.Scripts.Secrets.Delete(ctx, "app", "OTHER", workers.ScriptSecretDeleteParams{AccountID: cf.F(testAccount)}); err != nil {
		t.Fatalf("delete secret: %v", err)
	}
	if got, want := secretNames(t, ws, "app"), []string{"API_KEY"}; !slices.Equal(got, want) {
		t.Errorf("secrets after delete: got %v, want %v", got, want)
	}
	_, err = ws.Scripts.Secrets.Delete(ctx, "app", "OTHER", workers.ScriptSecretDeleteParams{AccountID: cf.F(testAccount)})
	apiErr := wantAPIError(t, err, http.StatusNotFound, 10056)
	if got, want := apiErr.Errors[0].Message, "Binding 'OTHER' not found. Please use a different name and try again."; got != want {
		t.Errorf("delete a missing secret: got %q, want %q", got, want)
	}
	_, err = ws.Scripts.Secrets.Get(ctx, "app", "OTHER", workers.ScriptSecretGetParams{AccountID: cf.F(testAccount)})
	wantAPIError(t, err, http.StatusNotFound, 10056)

	// Each secret change is a new deployed version ("Secret Change" in wrangler).
	deps, err := ws.Scripts.Deployments.List(ctx, "app", workers.ScriptDeploymentListParams{AccountID: cf.F(testAccount)})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Deployments) != 5 || deps.Deployments[0].Annotations.WorkersTriggeredBy != "secret" {
		t.Errorf("deployments: got %d, newest triggered by %q; want 5 (upload and four secret changes), newest by secret",
			len(deps.Deployments), deps.Deployments[0].Annotations.WorkersTriggeredBy)
	}
	// The site still serves its assets after secret changes.
	if resp := f.do(t, "GET", "app.appforge.localhost", "/", nil, nil); readBody(t, resp) != "<p>app</p>" {
		t.Errorf("the site after secret changes does not serve its page")
	}
}

func TestSecretValidation(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")
	jwt := uploadAll(t, ws, startSession(t, ws, "vars", map[string]string{"/index.html": "x"}), map[string]string{"/index.html": "x"})
	putRaw(t, f, "vars", `{"compatibility_date":"2025-09-01","assets":{"jwt":"`+jwt+`"},"bindings":[{"type":"plain_text","name":"GREETING","text":"hi"}]}`)

	tests := []struct {
		name, script, secret, value string
		wantStatus, wantCode        int
		wantMsg                     string
	}{
		{"dash in name", "app", "API-KEY", "value-one", 400, 10021, "not valid"},
		{"leading digit", "app", "1KEY", "value-two", 400, 10021, "not valid"},
		{"too large", "app", "BIG", strings.Repeat("x", 5<<10+1), 400, 10021, "at most 5120 bytes"},
		{"name of a plain variable", "vars", "GREETING", "value-three", 400, 10053, "Binding name 'GREETING' already in use. Please use a different name and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := putSecret(ws, tt.script, tt.secret, tt.value)
			apiErr := wantAPIError(t, err, tt.wantStatus, tt.wantCode)
			if msg := apiErr.Errors[0].Message; !strings.Contains(msg, tt.wantMsg) || strings.Contains(msg, tt.value) {
				t.Errorf("message: got %q, want it to contain %q and not the value", msg, tt.wantMsg)
			}
		})
	}
	t.Run("largest value", func(t *testing.T) {
		if _, err := putSecret(ws, "app", "BIG", strings.Repeat("x", 5<<10)); err != nil {
			t.Errorf("a 5 KB secret: %v", err)
		}
	})
	t.Run("not a secret type", func(t *testing.T) {
		h := bearer(testToken)
		h.Set("Content-Type", "application/json")
		resp := f.do(t, "PUT", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/app/secrets", h,
			strings.NewReader(`{"name":"X","text":"v","type":"plain_text"}`))
		if env := decodeEnvelope(t, resp); resp.StatusCode != 400 || env.Errors[0].Code != 10021 {
			t.Errorf("got %d %+v, want 400 with code 10021", resp.StatusCode, env.Errors)
		}
	})
}

// TestPatchSecretsRefused: the seed project set secrets with PATCH; Cloudflare
// answers 405, code 10000, "PATCH method not allowed for the api_token
// authentication scheme", in a body of success and errors only.
func TestPatchSecretsRefused(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")
	for _, script := range []string{"app", "missing"} {
		t.Run(script, func(t *testing.T) {
			h := bearer(testToken)
			h.Set("Content-Type", "application/json")
			resp := f.do(t, "PATCH", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/"+script+"/secrets", h,
				strings.NewReader(`{"name":"API_KEY","text":"v","type":"secret_text"}`))
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("status: got %d, want 405", resp.StatusCode)
			}
			const want = `{"success":false,"errors":[{"code":10000,"message":"PATCH method not allowed for the api_token authentication scheme"}]}`
			if got := readBody(t, resp); got != want {
				t.Errorf("body: got %s, want %s", got, want)
			}
			if got := resp.Header.Get("Allow"); got != "GET, PUT" {
				t.Errorf("Allow: got %q, want GET, PUT", got)
			}
		})
	}
	if got := secretNames(t, f.workers(testToken), "app"); len(got) != 0 {
		t.Errorf("a refused PATCH set secrets: %v", got)
	}
}

// logBuffer collects an edge's log output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// scanDir reports the files under dir that contain needle.
func scanDir(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(needle)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestSecretsNeverStoredOrLoggedInTheClear(t *testing.T) {
	const planted = "planted-secret-7c1d9e0b"
	dir := t.TempDir()
	clk := newClock()
	logs := &logBuffer{}
	withLogs := func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f := startFixture(t, dir, clk, withLogs)
	ws := f.workers(testToken)
	files := map[string]string{"/index.html": "x"}
	f.deploy(t, "app", files, "")
	if _, err := putSecret(ws, "app", "TOKEN", planted); err != nil {
		t.Fatal(err)
	}
	// A secret in an upload's metadata, and a version upload carrying it.
	jwt := uploadAll(t, ws, startSession(t, ws, "other", files), files)
	putRaw(t, f, "other", `{"compatibility_date":"2025-09-01","assets":{"jwt":"`+jwt+`"},"bindings":[{"type":"secret_text","name":"UPLOADED","text":"`+planted+`"}]}`)
	// Refused requests must not echo it either.
	_, _ = putSecret(ws, "app", "bad-name", planted)
	_, _ = putSecret(ws, "missing", "TOKEN", planted)
	f.stop()
	// A restart reads the sealed values back.
	f2 := startFixture(t, dir, clk, withLogs)
	bs, err := f2.edge.ScriptBindings("other")
	if err != nil || len(bs) != 1 || bs[0].Secret.Reveal() != planted {
		t.Fatalf("after restart: got %+v, %v; want the uploaded secret", bs, err)
	}
	f2.stop()

	if hits := scanDir(t, dir, planted); len(hits) > 0 {
		t.Errorf("the planted secret is stored in the clear in %v", hits)
	}
	if strings.Contains(logs.String(), planted) {
		t.Errorf("the planted secret is in the edge's logs")
	}
	if !strings.Contains(logs.String(), `secret=TOKEN`) {
		t.Errorf("the logs do not name the secret that was set; got:\n%s", logs.String())
	}
}

func TestSecretsSealedPerScriptAndName(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")
	if _, err := putSecret(ws, "app", "TOKEN", "v"); err != nil {
		t.Fatal(err)
	}
	sc, _ := f.edge.store.script("app")
	i := slices.IndexFunc(sc.Bindings, func(b binding) bool { return b.Name == "TOKEN" })
	moved := sc.Bindings[i]
	moved.Name = "OTHER"
	if _, err := f.edge.sealer.open("app", moved); err == nil {
		t.Errorf("a sealed value opened under another binding name")
	}
	if _, err := f.edge.sealer.open("another-script", sc.Bindings[i]); err == nil {
		t.Errorf("a sealed value opened under another script")
	}
}

// TestMigrateVersion1State: a state written before secrets were sealed is migrated
// when the edge opens it, and no plain secret stays on disk.
func TestMigrateVersion1State(t *testing.T) {
	dir := t.TempDir()
	v1 := `{"version":1,"scripts":{"app":{"name":"app","tag":"t","created_on":"2026-01-01T00:00:00Z",
		"modified_on":"2026-01-01T00:00:00Z","etag":"e","deployment_id":"11111111-1111-4111-8111-111111111111",
		"bindings":[{"type":"secret_text","name":"OLD","text":"v1-plain-secret"},{"type":"plain_text","name":"GREETING","text":"hello"}],
		"assets":{"manifest":{},"config":{}},"subdomain":{"enabled":true,"previews_enabled":true}}}}`
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, dir, newClock())
	bs, err := f.edge.ScriptBindings("app")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Binding{}
	for _, b := range bs {
		byName[b.Name] = b
	}
	if byName["OLD"].Secret.Reveal() != "v1-plain-secret" || byName["GREETING"].Text != "hello" {
		t.Errorf("migrated bindings: got %+v", bs)
	}
	if hits := scanDir(t, dir, "v1-plain-secret"); len(hits) > 0 {
		t.Errorf("the version 1 secret is still in the clear in %v", hits)
	}
	versions, err := f.workers(testToken).Scripts.Versions.List(context.Background(), "app", workers.ScriptVersionListParams{AccountID: cf.F(testAccount)})
	if err != nil || len(versions.Result.Items) != 1 || versions.Result.Items[0].ID != "11111111-1111-4111-8111-111111111111" {
		t.Errorf("versions after migration: got %+v, %v; want the deployed one", versions, err)
	}
}

func TestKeepBindings(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	files := map[string]string{"/index.html": "x"}
	upload := func(t *testing.T, extra string) (int, rawEnvelope) {
		t.Helper()
		jwt := uploadAll(t, ws, startSession(t, ws, "app", files), files)
		md := `{"compatibility_date":"2025-09-01","assets":{"jwt":"` + jwt + `"}` + extra + `}`
		body := "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" + md + "\r\n--b--\r\n"
		h := bearer(testToken)
		h.Set("Content-Type", "multipart/form-data; boundary=b")
		resp := f.do(t, "PUT", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/app?bindings_inherit=strict", h, strings.NewReader(body))
		return resp.StatusCode, decodeEnvelope(t, resp)
	}
	mustUpload := func(t *testing.T, extra string) {
		t.Helper()
		if status, env := upload(t, extra); status != 200 {
			t.Fatalf("upload: got %d %+v", status, env.Errors)
		}
	}
	reset := func(t *testing.T) {
		t.Helper()
		mustUpload(t, `,"bindings":[{"type":"plain_text","name":"GREETING","text":"hi"},{"type":"secret_text","name":"SECRET","text":"s"}]`)
	}

	tests := []struct {
		name  string
		extra string
		want  []string
	}{
		{"keep_bindings keeps secrets and variables", `,"keep_bindings":["secret_text","secret_key","plain_text"]`,
			[]string{"GREETING:plain_text", "SECRET:secret_text"}},
		{"keep_bindings of secrets keeps the secret, drops the variable", `,"keep_bindings":["secret_text","secret_key"]`,
			[]string{"SECRET:secret_text"}},
		// As wrangler deploy relies on: an upload declaring no secret keeps them.
		{"no keep_bindings, no declared secret: variables go, secrets stay", ``,
			[]string{"SECRET:secret_text"}},
		{"no keep_bindings, a declared secret replaces the others", `,"bindings":[{"type":"secret_text","name":"NEW","text":"n"}]`,
			[]string{"NEW:secret_text"}},
		{"a declared secret and keep_bindings: both", `,"bindings":[{"type":"secret_text","name":"NEW","text":"n"}],"keep_bindings":["secret_text"]`,
			[]string{"NEW:secret_text", "SECRET:secret_text"}},
		{"a redefined binding replaces the kept one", `,"bindings":[{"type":"plain_text","name":"SECRET","text":"now plain"}],"keep_bindings":["secret_text"]`,
			[]string{"SECRET:plain_text"}},
		{"inherit carries one binding over", `,"bindings":[{"type":"inherit","name":"GREETING"}]`,
			[]string{"GREETING:plain_text", "SECRET:secret_text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reset(t)
			mustUpload(t, tt.extra)
			if got := bindingNames(t, f, "app"); !slices.Equal(got, tt.want) {
				t.Errorf("bindings: got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("secret values survive a kept redeploy", func(t *testing.T) {
		reset(t)
		mustUpload(t, `,"keep_bindings":["secret_text"]`)
		bs, _ := f.edge.ScriptBindings("app")
		if len(bs) != 1 || bs[0].Secret.Reveal() != "s" {
			t.Errorf("got %+v, want SECRET with its value", bs)
		}
	})
	t.Run("inherit of a missing binding under bindings_inherit=strict", func(t *testing.T) {
		reset(t)
		status, env := upload(t, `,"bindings":[{"type":"inherit","name":"NOPE"}]`)
		if status != 400 || env.Errors[0].Code != 10021 || !strings.Contains(env.Errors[0].Message, "inherit") {
			t.Errorf("got %d %+v, want 400 with code 10021 about inherit", status, env.Errors)
		}
	})
	t.Run("plain_text needs text", func(t *testing.T) {
		status, env := upload(t, `,"bindings":[{"type":"plain_text","name":"X"}]`)
		if status != 400 || env.Errors[0].Code != 10021 {
			t.Errorf("got %d %+v, want 400 with code 10021", status, env.Errors)
		}
	})
	t.Run("one name twice", func(t *testing.T) {
		status, env := upload(t, `,"bindings":[{"type":"plain_text","name":"X","text":"a"},{"type":"secret_text","name":"X","text":"b"}]`)
		if status != 400 || env.Errors[0].Code != 10053 {
			t.Errorf("got %d %+v, want 400 with code 10053", status, env.Errors)
		}
	})
	t.Run("settings list plain variables with values and secrets without", func(t *testing.T) {
		reset(t)
		s, err := ws.Scripts.ScriptAndVersionSettings.Get(context.Background(), "app", workers.ScriptScriptAndVersionSettingGetParams{AccountID: cf.F(testAccount)})
		if err != nil {
			t.Fatal(err)
		}
		raw := s.JSON.RawJSON()
		if !strings.Contains(raw, `"text":"hi"`) || strings.Contains(raw, `"text":"s"`) || len(s.Bindings) != 2 {
			t.Errorf("settings bindings: got %s", raw)
		}
	})
}

func TestScriptBindingsUnknownScript(t *testing.T) {
	f := newFixture(t)
	if _, err := f.edge.ScriptBindings("nope"); err == nil {
		t.Errorf("got no error for an unknown script")
	}
}

func TestSecretValueRedacts(t *testing.T) {
	s := SecretValue{"hunter2"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	data, _ := json.Marshal(struct{ S SecretValue }{s})
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%+v %#v", s, s), buf.String(), string(data)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("the secret shows: %s", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal: got %q", s.Reveal())
	}
}
