package edge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// versionAnswer is the part of a version upload's answer the tests read.
type versionAnswer struct {
	ID        string  `json:"id"`
	Number    float64 `json:"number"`
	Resources struct {
		Script struct {
			Etag string `json:"etag"`
		} `json:"script"`
	} `json:"resources"`
}

// uploadVersion uploads files as a new, undeployed version of script, as wrangler
// does (POST .../versions?bindings_inherit=strict, metadata as a plain form field;
// the SDK's version upload has no assets field).
func uploadVersion(t *testing.T, f *fixture, script string, files map[string]string) (int, versionAnswer, rawEnvelope) {
	t.Helper()
	ws := f.workers(testToken)
	jwt := uploadAll(t, ws, startSession(t, ws, script, files), files)
	md := `{"compatibility_date":"2025-09-01","assets":{"jwt":"` + jwt + `","config":{}},"annotations":{"workers/message":"next"}}`
	body := "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" + md + "\r\n--b--\r\n"
	h := bearer(testToken)
	h.Set("Content-Type", "multipart/form-data; boundary=b")
	h.Set("User-Agent", "wrangler/4.86.0")
	resp := f.do(t, "POST", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/"+script+"/versions?bindings_inherit=strict", h, strings.NewReader(body))
	env := decodeEnvelope(t, resp)
	var v versionAnswer
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(env.Result, &v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, v, env
}

func TestVersionsAndDeployments(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()
	acct := cf.F(testAccount)

	if status, _, env := uploadVersion(t, f, "app", map[string]string{"/index.html": "v0"}); status != 404 || env.Errors[0].Code != 10007 {
		t.Errorf("a version of a new Worker: got %d %+v, want 404 with code 10007", status, env.Errors)
	}
	_, err := ws.Scripts.Deployments.List(ctx, "app", workers.ScriptDeploymentListParams{AccountID: acct})
	wantAPIError(t, err, http.StatusNotFound, 10007)

	first := f.deploy(t, "app", map[string]string{"/index.html": "v1"}, "")
	status, v2, env := uploadVersion(t, f, "app", map[string]string{"/index.html": "v2"})
	if status != 200 {
		t.Fatalf("upload a version: got %d %+v", status, env.Errors)
	}
	if v2.ID == "" || v2.Number != 2 || v2.Resources.Script.Etag == "" {
		t.Errorf("version answer: got id %q number %v etag %q, want an id, number 2 and an etag",
			v2.ID, v2.Number, v2.Resources.Script.Etag)
	}
	// An uploaded version serves nothing until a deployment names it.
	if body := readBody(t, f.do(t, "GET", host, "/", nil, nil)); body != "v1" {
		t.Errorf("before the deployment: got %q, want v1", body)
	}
	dep, err := ws.Scripts.Deployments.New(ctx, "app", workers.ScriptDeploymentNewParams{
		AccountID: acct,
		Deployment: workers.DeploymentParam{
			Strategy: cf.F(workers.DeploymentStrategyPercentage),
			Versions: cf.F([]workers.DeploymentVersionParam{{VersionID: cf.F(v2.ID), Percentage: cf.F(100.0)}}),
		},
	})
	if err != nil {
		t.Fatalf("deploy the version: %v", err)
	}
	if len(dep.Versions) != 1 || dep.Versions[0].VersionID != v2.ID {
		t.Errorf("deployment: got %+v, want version %s at 100%%", dep.Versions, v2.ID)
	}
	if body := readBody(t, f.do(t, "GET", host, "/", nil, nil)); body != "v2" {
		t.Errorf("after the deployment: got %q, want v2", body)
	}
	list, err := ws.Scripts.Deployments.List(ctx, "app", workers.ScriptDeploymentListParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Deployments) != 2 || list.Deployments[0].ID != dep.ID {
		t.Errorf("deployments: got %d, newest %s; want 2, newest %s", len(list.Deployments), list.Deployments[0].ID, dep.ID)
	}
	// Roll back to the first version: its id is what PUT answered as deployment_id.
	firstID := strings.Trim(first.JSON.ExtraFields["deployment_id"].Raw(), `"`)
	if _, err := ws.Scripts.Deployments.New(ctx, "app", workers.ScriptDeploymentNewParams{
		AccountID: acct,
		Deployment: workers.DeploymentParam{
			Strategy: cf.F(workers.DeploymentStrategyPercentage),
			Versions: cf.F([]workers.DeploymentVersionParam{{VersionID: cf.F(firstID), Percentage: cf.F(100.0)}}),
		},
	}); err != nil {
		t.Fatalf("roll back: %v", err)
	}
	if body := readBody(t, f.do(t, "GET", host, "/", nil, nil)); body != "v1" {
		t.Errorf("after the rollback: got %q, want v1", body)
	}
	got, err := ws.Scripts.Versions.Get(ctx, "app", v2.ID, workers.ScriptVersionGetParams{AccountID: acct})
	if err != nil || got.ID != v2.ID || got.Metadata.Source != "wrangler" {
		t.Errorf("get version: got %+v, %v; want %s from wrangler", got, err, v2.ID)
	}
	versions, err := ws.Scripts.Versions.List(ctx, "app", workers.ScriptVersionListParams{AccountID: acct})
	if err != nil || len(versions.Result.Items) != 2 || versions.Result.Items[0].ID != v2.ID {
		t.Errorf("list versions: got %+v, %v; want 2, newest first", versions, err)
	}

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   int
	}{
		{"unknown version", `{"strategy":"percentage","versions":[{"version_id":"00000000-0000-4000-8000-000000000000","percentage":100}]}`, 404, 10007},
		{"not 100 percent", `{"strategy":"percentage","versions":[{"version_id":"` + v2.ID + `","percentage":50}]}`, 400, 10021},
		{"other strategy", `{"strategy":"gradual","versions":[]}`, 400, 10021},
		{"no versions", `{"strategy":"percentage","versions":[]}`, 400, 10021},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bearer(testToken)
			h.Set("Content-Type", "application/json")
			resp := f.do(t, "POST", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/app/deployments", h, strings.NewReader(tt.body))
			env := decodeEnvelope(t, resp)
			if resp.StatusCode != tt.wantStatus || len(env.Errors) == 0 || env.Errors[0].Code != tt.wantCode {
				t.Errorf("got %d %+v, want %d with code %d", resp.StatusCode, env.Errors, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// TestModuleVersionThroughSDK uploads a version with a main module, the SDK's shape.
func TestModuleVersionThroughSDK(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()
	src := "export default { fetch() { return new Response('hi') } }"
	if _, err := ws.Scripts.Update(ctx, "worker", workers.ScriptUpdateParams{
		AccountID: cf.F(testAccount),
		Metadata:  cf.F(workers.ScriptUpdateParamsMetadata{MainModule: cf.F("worker.js"), CompatibilityDate: cf.F("2025-09-01")}),
		Files:     cf.F([]io.Reader{namedFile{strings.NewReader(src), "worker.js", "application/javascript+module"}}),
	}); err != nil {
		t.Fatalf("put worker: %v", err)
	}
	v, err := ws.Scripts.Versions.New(ctx, "worker", workers.ScriptVersionNewParams{
		AccountID: cf.F(testAccount),
		Metadata: cf.F(workers.ScriptVersionNewParamsMetadata{
			MainModule:  cf.F("worker.js"),
			Annotations: cf.F(workers.ScriptVersionNewParamsMetadataAnnotations{WorkersMessage: cf.F("v2")}),
		}),
		Files: cf.F([]io.Reader{namedFile{strings.NewReader(src + "//2"), "worker.js", "application/javascript+module"}}),
	})
	if err != nil {
		t.Fatalf("upload a module version: %v", err)
	}
	if v.Number != 2 || len(v.Resources.Script.Handlers) != 1 {
		t.Errorf("version: got %s", v.JSON.RawJSON())
	}
}

func TestVersionHistoryIsBounded(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")
	for i := range maxVersions + 5 {
		if _, err := putSecret(ws, "app", "S", strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	sc, _ := f.edge.store.script("app")
	if len(sc.Versions) != maxVersions || len(sc.Deployments) != maxDeployments {
		t.Errorf("history: got %d versions and %d deployments, want %d and %d", len(sc.Versions), len(sc.Deployments), maxVersions, maxDeployments)
	}
	if _, ok := sc.version(sc.DeploymentID); !ok {
		t.Errorf("the deployed version was trimmed")
	}
}

func TestScriptSettings(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()
	acct := cf.F(testAccount)
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")

	edited, err := ws.Scripts.ScriptAndVersionSettings.Edit(ctx, "app", workers.ScriptScriptAndVersionSettingEditParams{
		AccountID: acct,
		Settings: cf.F(workers.ScriptScriptAndVersionSettingEditParamsSettings{
			CompatibilityDate:  cf.F("2026-01-15"),
			CompatibilityFlags: cf.F([]string{"nodejs_compat"}),
			Logpush:            cf.F(true),
			Observability: cf.F(workers.ScriptScriptAndVersionSettingEditParamsSettingsObservability{
				Enabled:          cf.F(true),
				HeadSamplingRate: cf.F(0.5),
			}),
			Tags: cf.F([]string{"team:web"}),
		}),
	})
	if err != nil {
		t.Fatalf("edit settings (multipart): %v", err)
	}
	if edited.CompatibilityDate != "2026-01-15" || !edited.Logpush || !edited.Observability.Enabled ||
		edited.Observability.HeadSamplingRate != 0.5 || len(edited.CompatibilityFlags) != 1 {
		t.Errorf("edited settings: got %s", edited.JSON.RawJSON())
	}
	got, err := ws.Scripts.ScriptAndVersionSettings.Get(ctx, "app", workers.ScriptScriptAndVersionSettingGetParams{AccountID: acct})
	if err != nil || got.CompatibilityDate != "2026-01-15" || !got.Logpush || len(got.Tags) != 1 {
		t.Errorf("get settings: got %+v, %v", got, err)
	}
	// A JSON body works as well.
	h := bearer(testToken)
	h.Set("Content-Type", "application/json")
	resp := f.do(t, "PATCH", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/app/settings", h, strings.NewReader(`{"logpush":false}`))
	if env := decodeEnvelope(t, resp); resp.StatusCode != 200 || !strings.Contains(string(env.Result), `"logpush":false`) {
		t.Errorf("edit settings (JSON): got %d %s", resp.StatusCode, env.Result)
	}

	only, err := ws.Scripts.Settings.Edit(ctx, "app", workers.ScriptSettingEditParams{
		AccountID: acct,
		ScriptSetting: workers.ScriptSettingParam{
			Logpush: cf.F(true),
			Tags:    cf.F([]string{"a", "b"}),
		},
	})
	if err != nil || !only.Logpush || len(only.Tags) != 2 {
		t.Errorf("edit script-settings: got %+v, %v", only, err)
	}
	read, err := ws.Scripts.Settings.Get(ctx, "app", workers.ScriptSettingGetParams{AccountID: acct})
	if err != nil || !read.Logpush || len(read.Tags) != 2 || !read.Observability.Enabled {
		t.Errorf("get script-settings: got %s, %v", read.JSON.RawJSON(), err)
	}
	_, err = ws.Scripts.Settings.Get(ctx, "missing", workers.ScriptSettingGetParams{AccountID: acct})
	wantAPIError(t, err, http.StatusNotFound, 10007)

	// wrangler's `secret bulk`: existing bindings by name and type, new secrets with text.
	if _, err := putSecret(ws, "app", "KEEP", "k"); err != nil {
		t.Fatal(err)
	}
	body := "--b\r\nContent-Disposition: form-data; name=\"settings\"\r\n\r\n" +
		`{"bindings":[{"type":"secret_text","name":"KEEP"},{"type":"secret_text","name":"NEW","text":"n"}]}` + "\r\n--b--\r\n"
	h = bearer(testToken)
	h.Set("Content-Type", "multipart/form-data; boundary=b")
	resp = f.do(t, "PATCH", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/app/settings", h, strings.NewReader(body))
	if env := decodeEnvelope(t, resp); resp.StatusCode != 200 {
		t.Fatalf("bulk secrets: got %d %+v", resp.StatusCode, env.Errors)
	}
	bs, _ := f.edge.ScriptBindings("app")
	values := map[string]string{}
	for _, b := range bs {
		values[b.Name] = b.Secret.Reveal()
	}
	if values["KEEP"] != "k" || values["NEW"] != "n" || len(values) != 2 {
		t.Errorf("bindings after bulk: got %v", values)
	}
}

func TestWranglerDiscoveryEndpoints(t *testing.T) {
	f := newFixture(t)
	acct := "/client/v4/accounts/" + testAccount
	get := func(t *testing.T, path string) (int, rawEnvelope) {
		t.Helper()
		resp := f.do(t, "GET", "", path, bearer(testToken), nil)
		return resp.StatusCode, decodeEnvelope(t, resp)
	}
	// A new Worker: wrangler needs exactly 404 with code 10007 here.
	status, env := get(t, acct+"/workers/services/app")
	if status != 404 || env.Errors[0].Code != 10007 {
		t.Fatalf("services of a new Worker: got %d %+v, want 404 with code 10007", status, env.Errors)
	}
	if status, _ := get(t, acct+"/workers/workers/app"); status != 404 {
		t.Errorf("workers/workers of a new Worker: got %d, want 404", status)
	}
	res := f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")

	status, env = get(t, acct+"/workers/services/app")
	var svc struct {
		DefaultEnvironment struct {
			Environment string `json:"environment"`
			Script      struct {
				Tag string `json:"tag"`
			} `json:"script"`
		} `json:"default_environment"`
	}
	if err := json.Unmarshal(env.Result, &svc); err != nil || status != 200 || svc.DefaultEnvironment.Script.Tag != res.Tag {
		t.Errorf("services: got %d %s, want the script's tag %s", status, env.Result, res.Tag)
	}
	worker, err := f.workers(testToken).Beta.Workers.Get(context.Background(), "app", workers.BetaWorkerGetParams{AccountID: cf.F(testAccount)})
	if err != nil || worker.Name != "app" || !worker.Subdomain.Enabled {
		t.Errorf("workers/workers: got %+v, %v", worker, err)
	}
	for _, path := range []string{"/client/v4/memberships", "/client/v4/accounts"} {
		status, env := get(t, path)
		if status != 200 || !strings.Contains(string(env.Result), testAccount) {
			t.Errorf("%s: got %d %s, want the account", path, status, env.Result)
		}
	}
	if status, env := get(t, acct); status != 200 || !strings.Contains(string(env.Result), testAccount) {
		t.Errorf("account: got %d %s", status, env.Result)
	}
	if status, _ := get(t, "/client/v4/user/tokens/verify"); status != 200 {
		t.Errorf("token verify: got %d", status)
	}
	resp := f.do(t, "GET", "", "/client/v4/memberships", bearer("wrong"), nil)
	if resp.StatusCode != 403 {
		t.Errorf("memberships with a wrong token: got %d, want 403", resp.StatusCode)
	}
}
