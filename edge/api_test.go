package edge

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"wrong token", "not-the-token"},
		{"token with a suffix", testToken + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.workers(tt.token).Subdomains.Get(context.Background(), workers.SubdomainGetParams{AccountID: cf.F(testAccount)})
			apiErr := wantAPIError(t, err, http.StatusForbidden, 10000)
			if got, want := apiErr.Errors[0].Message, "Authentication error"; got != want {
				t.Errorf("message: got %q, want %q", got, want)
			}
		})
	}
	t.Run("right token", func(t *testing.T) {
		got, err := f.workers(testToken).Subdomains.Get(context.Background(), workers.SubdomainGetParams{AccountID: cf.F(testAccount)})
		if err != nil {
			t.Fatalf("get subdomain: %v", err)
		}
		if got.Subdomain != DefaultSubdomain {
			t.Errorf("subdomain: got %q, want %q", got.Subdomain, DefaultSubdomain)
		}
	})
}

func TestAPIErrors(t *testing.T) {
	f := newFixture(t)
	acct := "/client/v4/accounts/" + testAccount
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		wantStatus int
		wantCodes  []int
		wantMsg    string
	}{
		{"unknown account", "GET", "/client/v4/accounts/ffffffffffffffffffffffffffffffff/workers/subdomain", bearer(testToken),
			404, []int{7003, 7000}, "perhaps your object identifier is invalid"},
		{"unknown route", "GET", acct + "/workers/nothing-here", bearer(testToken),
			404, []int{7003, 7000}, "Could not route to"},
		{"wrong method", "PATCH", acct + "/workers/scripts/app", bearer(testToken),
			405, []int{10000}, "PATCH method not allowed for the api_token authentication scheme"},
		{"wrong method on subdomain", "PUT", acct + "/workers/subdomain", bearer(testToken),
			405, []int{10000}, "PUT method not allowed"},
		{"missing script", "GET", acct + "/workers/scripts/nope/settings", bearer(testToken),
			404, []int{10007}, "workers.api.error.script_not_found"},
		{"invalid script name", "GET", acct + "/workers/scripts/Not_OK!/settings", bearer(testToken),
			400, []int{10016}, "Invalid Worker name"},
		{"bad token before routing", "GET", acct + "/workers/nothing-here", bearer("wrong"),
			403, []int{10000}, "Authentication error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, tt.method, "", tt.path, tt.header, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusMethodNotAllowed {
				// Cloudflare's 405 body has success and errors only.
				body := readBody(t, resp)
				want := `{"success":false,"errors":[{"code":10000,"message":"` + tt.method +
					` method not allowed for the api_token authentication scheme"}]}`
				if body != want {
					t.Errorf("body: got %s, want %s", body, want)
				}
				return
			}
			env := decodeEnvelope(t, resp)
			if *env.Success {
				t.Errorf("success: got true, want false")
			}
			if string(env.Result) != "null" {
				t.Errorf("result: got %s, want null", env.Result)
			}
			var got []int
			for _, e := range env.Errors {
				got = append(got, e.Code)
			}
			if len(got) != len(tt.wantCodes) || got[0] != tt.wantCodes[0] {
				t.Errorf("codes: got %v, want %v", got, tt.wantCodes)
			}
			if !strings.Contains(env.Errors[0].Message, tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", env.Errors[0].Message, tt.wantMsg)
			}
		})
	}
	t.Run("405 names the allowed methods", func(t *testing.T) {
		resp := f.do(t, "PATCH", "", acct+"/workers/scripts/app", bearer(testToken), nil)
		if got, want := resp.Header.Get("Allow"), "DELETE, GET, PUT"; got != want {
			t.Errorf("Allow: got %q, want %q", got, want)
		}
	})
}

func TestUploadSession(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	files := map[string]string{
		"/index.html":         "<!doctype html><p>hi</p>",
		"/assets/app-1a2b.js": "console.log('app')",
		"/copy-of-index.html": "<!doctype html><p>hi</p>", // same content, same hash
	}

	first := startSession(t, ws, "app", files)
	var got []string
	for _, b := range first.Buckets {
		got = append(got, b...)
	}
	if len(got) != 2 {
		t.Fatalf("first session buckets: got %v, want the 2 distinct hashes", first.Buckets)
	}
	completion := uploadAll(t, ws, first, files)
	if completion == first.JWT {
		t.Fatalf("upload answered no completion token")
	}

	// Content is shared across scripts: another script's session needs nothing.
	second := startSession(t, ws, "other-app", files)
	if len(second.Buckets) != 0 {
		t.Errorf("second session buckets: got %v, want none", second.Buckets)
	}
	// With no buckets the session token is already the completion token.
	if _, err := putAssetsScript(ws, "other-app", second.JWT, ""); err != nil {
		t.Errorf("put script with the session token of a bucketless session: %v", err)
	}
	// A partial overlap asks only for the new file.
	files["/assets/new-9z8y.js"] = "console.log('new')"
	third := startSession(t, ws, "app", files)
	if len(third.Buckets) != 1 || len(third.Buckets[0]) != 1 || third.Buckets[0][0] != testHash(files["/assets/new-9z8y.js"]) {
		t.Errorf("third session buckets: got %v, want only the new file", third.Buckets)
	}
}

func TestUploadAcceptedThenCreated(t *testing.T) {
	f := newFixture(t)
	f.edge.bucketFiles = 2
	ws := f.workers(testToken)
	files := map[string]string{"/a.txt": "a", "/b.txt": "bb", "/c.txt": "ccc"}
	sess := startSession(t, ws, "app", files)
	if len(sess.Buckets) != 2 {
		t.Fatalf("buckets: got %v, want 2 buckets of at most 2 files", sess.Buckets)
	}
	byHash := contentsByHash(files)
	var jwt string
	for i, bucket := range sess.Buckets {
		parts := map[string]string{}
		for _, h := range bucket {
			parts[h] = byHash[h]
		}
		status, token, err := uploadBucket(ws, sess.JWT, parts)
		if err != nil {
			t.Fatalf("upload bucket %d: %v", i, err)
		}
		last := i == len(sess.Buckets)-1
		switch {
		case !last && (status != http.StatusAccepted || token != ""):
			t.Errorf("bucket %d: got %d with token %q, want 202 without a token", i, status, token)
		case last && (status != http.StatusCreated || token == ""):
			t.Errorf("last bucket: got %d with token %q, want 201 with the completion token", status, token)
		}
		jwt = token
	}
	// The session's upload token is not a completion token.
	_, err := putAssetsScript(ws, "app", sess.JWT, "")
	wantAPIError(t, err, http.StatusBadRequest, 10021)
	// The completion token is, for this script only.
	_, err = putAssetsScript(ws, "another-app", jwt, "")
	wantAPIError(t, err, http.StatusBadRequest, 10021)
	if _, err := putAssetsScript(ws, "app", jwt, ""); err != nil {
		t.Fatalf("put script with the completion token: %v", err)
	}
}

func TestUploadTokenRefused(t *testing.T) {
	files := map[string]string{"/index.html": "<p>one</p>", "/app.js": "two()"}
	tests := []struct {
		name string
		// token returns the bearer to upload with, given the session.
		token      func(f *fixture, sess *workers.ScriptAssetUploadNewResponse) string
		parts      func(files map[string]string) map[string]string
		wantStatus int
		wantCode   int
		wantMsg    string
	}{
		{
			name: "expired",
			token: func(f *fixture, sess *workers.ScriptAssetUploadNewResponse) string {
				f.clock.Advance(time.Hour + time.Minute)
				return sess.JWT
			},
			wantStatus: 401, wantCode: 10000, wantMsg: "expired",
		},
		{
			name: "forged signature",
			token: func(f *fixture, sess *workers.ScriptAssetUploadNewResponse) string {
				c, err := f.edge.tokens.verify(sess.JWT, purposeUpload, f.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				other := &signer{key: []byte("an attacker's 32-byte signing key")}
				return other.issue(c, f.clock.Now())
			},
			wantStatus: 401, wantCode: 10000, wantMsg: "signature",
		},
		{
			name: "tampered claims",
			token: func(f *fixture, sess *workers.ScriptAssetUploadNewResponse) string {
				parts := strings.Split(sess.JWT, ".")
				other := strings.Split((&signer{key: make([]byte, 32)}).issue(tokenClaims{Purpose: purposeUpload, Script: "x"}, f.clock.Now()), ".")
				return parts[0] + "." + other[1] + "." + parts[2]
			},
			wantStatus: 401, wantCode: 10000, wantMsg: "signature",
		},
		{
			name: "completion token used for upload",
			token: func(f *fixture, sess *workers.ScriptAssetUploadNewResponse) string {
				c, _ := f.edge.tokens.verify(sess.JWT, purposeUpload, f.clock.Now())
				c.Purpose = purposeCompletion
				return f.edge.tokens.issue(c, f.clock.Now())
			},
			wantStatus: 401, wantCode: 10000, wantMsg: "another purpose",
		},
		{
			name:       "API token instead of the upload token",
			token:      func(*fixture, *workers.ScriptAssetUploadNewResponse) string { return testToken },
			wantStatus: 401, wantCode: 10000, wantMsg: "malformed",
		},
		{
			name:  "file not in the session",
			token: func(_ *fixture, sess *workers.ScriptAssetUploadNewResponse) string { return sess.JWT },
			parts: func(map[string]string) map[string]string {
				return map[string]string{testHash("intruder"): "intruder"}
			},
			wantStatus: 400, wantCode: 10021, wantMsg: "not part of this upload session",
		},
		{
			name:  "size differs from the manifest",
			token: func(_ *fixture, sess *workers.ScriptAssetUploadNewResponse) string { return sess.JWT },
			parts: func(files map[string]string) map[string]string {
				return map[string]string{testHash(files["/app.js"]): "two() plus more"}
			},
			wantStatus: 400, wantCode: 10021, wantMsg: "the manifest says",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ws := f.workers(testToken)
			sess := startSession(t, ws, "app", files)
			parts := contentsByHash(files)
			if tt.parts != nil {
				parts = tt.parts(files)
			}
			_, _, err := uploadBucket(ws, tt.token(f, sess), parts)
			apiErr := wantAPIError(t, err, tt.wantStatus, tt.wantCode)
			if msg := apiErr.Errors[0].Message; !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestManifestValidation(t *testing.T) {
	f := newFixture(t)
	acct := "/client/v4/accounts/" + testAccount
	good := `"hash":"` + testHash("x") + `","size":1`
	tests := []struct {
		name, body, wantMsg string
	}{
		{"not JSON", `{"manifest":`, "not valid JSON"},
		{"no manifest", `{}`, "manifest is required"},
		{"empty manifest", `{"manifest":{}}`, "no files"},
		{"path without slash", `{"manifest":{"index.html":{` + good + `}}}`, "must start with /"},
		{"path with ..", `{"manifest":{"/a/../b.html":{` + good + `}}}`, "segment"},
		{"folder path", `{"manifest":{"/a/":{` + good + `}}}`, "folder"},
		{"short hash", `{"manifest":{"/a.html":{"hash":"abc","size":1}}}`, "32 hexadecimal"},
		{"non-hex hash", `{"manifest":{"/a.html":{"hash":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz","size":1}}}`, "32 hexadecimal"},
		{"no hash", `{"manifest":{"/a.html":{"size":1}}}`, "no hash"},
		{"no size", `{"manifest":{"/a.html":{"hash":"` + testHash("x") + `"}}}`, "no size"},
		{"negative size", `{"manifest":{"/a.html":{"hash":"` + testHash("x") + `","size":-1}}}`, "outside"},
		{"too large", `{"manifest":{"/a.html":{"hash":"` + testHash("x") + `","size":26214401}}}`, "outside"},
		{"one hash, two sizes", `{"manifest":{"/a.html":{` + good + `},"/b.html":{"hash":"` + testHash("x") + `","size":2}}}`, "sizes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bearer(testToken)
			h.Set("Content-Type", "application/json")
			resp := f.do(t, "POST", "", acct+"/workers/scripts/app/assets-upload-session", h, strings.NewReader(tt.body))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status: got %d, want 400", resp.StatusCode)
			}
			env := decodeEnvelope(t, resp)
			if len(env.Errors) != 1 || env.Errors[0].Code != 10021 || !strings.Contains(env.Errors[0].Message, tt.wantMsg) {
				t.Errorf("errors: got %+v, want code 10021 with %q", env.Errors, tt.wantMsg)
			}
		})
	}
}

func TestPutScript(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()

	_, err := ws.Scripts.ScriptAndVersionSettings.Get(ctx, "app", workers.ScriptScriptAndVersionSettingGetParams{AccountID: cf.F(testAccount)})
	wantAPIError(t, err, http.StatusNotFound, 10007)

	v1 := map[string]string{"/index.html": "<p>v1</p>", "/assets/app-aaaa1111.js": "v1()"}
	first := f.deploy(t, "app", v1, "single-page-application")
	if first.ID != "app" || !first.HasAssets || first.HasModules || first.Etag == "" || first.CreatedOn.IsZero() {
		t.Errorf("first deploy: got %+v, want id app, has_assets, no modules, an etag and created_on", first)
	}
	firstDeployment := first.JSON.ExtraFields["deployment_id"].Raw()
	if len(firstDeployment) != 38 { // a quoted UUID
		t.Errorf("deployment_id: got %s, want a UUID", firstDeployment)
	}
	settings, err := ws.Scripts.ScriptAndVersionSettings.Get(ctx, "app", workers.ScriptScriptAndVersionSettingGetParams{AccountID: cf.F(testAccount)})
	if err != nil {
		t.Fatalf("get settings: %v", err)
	}
	if settings.CompatibilityDate != "2025-09-01" {
		t.Errorf("settings compatibility_date: got %q, want 2025-09-01", settings.CompatibilityDate)
	}

	v2 := map[string]string{"/index.html": "<p>v2</p>", "/assets/app-aaaa1111.js": "v1()"}
	second := f.deploy(t, "app", v2, "single-page-application")
	if second.Tag != first.Tag || !second.CreatedOn.Equal(first.CreatedOn) {
		t.Errorf("redeploy: got tag %s created %s, want the same script (tag %s created %s)",
			second.Tag, second.CreatedOn, first.Tag, first.CreatedOn)
	}
	if second.JSON.ExtraFields["deployment_id"].Raw() == firstDeployment || second.Etag == first.Etag {
		t.Errorf("redeploy: want a new deployment id and etag")
	}
	if got := len(f.edge.store.scripts); got != 1 {
		t.Errorf("scripts after a redeploy: got %d, want 1", got)
	}
	sc, _ := f.edge.store.script("app")
	if got := sc.Assets.Manifest["/index.html"].Hash; got != testHash("<p>v2</p>") {
		t.Errorf("manifest after redeploy: /index.html is %s, want the v2 hash", got)
	}
	if !sc.Subdomain.Enabled {
		t.Errorf("redeploy: the workers.dev subdomain should stay enabled")
	}
}

func TestPutModuleScript(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()
	src := "export default { fetch() { return new Response('hi') } }"
	res, err := ws.Scripts.Update(ctx, "worker", workers.ScriptUpdateParams{
		AccountID: cf.F(testAccount),
		Metadata: cf.F(workers.ScriptUpdateParamsMetadata{
			MainModule:        cf.F("worker.js"),
			CompatibilityDate: cf.F("2025-09-01"),
		}),
		Files: cf.F([]io.Reader{namedFile{strings.NewReader(src), "worker.js", "application/javascript+module"}}),
	})
	if err != nil {
		t.Fatalf("put module script: %v", err)
	}
	if !res.HasModules || res.HasAssets || res.EntryPoint != "worker.js" {
		t.Errorf("got %+v, want has_modules, no assets, entry_point worker.js", res)
	}
	got, err := ws.Scripts.Get(ctx, "worker", workers.ScriptGetParams{AccountID: cf.F(testAccount)})
	if err != nil {
		t.Fatalf("get script: %v", err)
	}
	if *got != src {
		t.Errorf("script content: got %q, want %q", *got, src)
	}

	tests := []struct {
		name     string
		metadata workers.ScriptUpdateParamsMetadata
		wantMsg  string
	}{
		{"nothing to run or serve", workers.ScriptUpdateParamsMetadata{CompatibilityDate: cf.F("2025-09-01")}, "neither"},
		{"missing main module", workers.ScriptUpdateParamsMetadata{MainModule: cf.F("absent.js")}, "no such module"},
		{"bad compatibility date", workers.ScriptUpdateParamsMetadata{CompatibilityDate: cf.F("soon")}, "compatibility_date"},
		{"assets without a token", workers.ScriptUpdateParamsMetadata{Assets: cf.F(workers.ScriptUpdateParamsMetadataAssets{})}, "assets.jwt is required"},
		{"forged assets token", workers.ScriptUpdateParamsMetadata{Assets: cf.F(workers.ScriptUpdateParamsMetadataAssets{JWT: cf.F("a.b.c")})}, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ws.Scripts.Update(ctx, "broken", workers.ScriptUpdateParams{AccountID: cf.F(testAccount), Metadata: cf.F(tt.metadata)})
			apiErr := wantAPIError(t, err, http.StatusBadRequest, 10021)
			if msg := apiErr.Errors[0].Message; !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestDeleteScript(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()
	f.deploy(t, "app", map[string]string{"/index.html": "x"}, "")
	if _, err := ws.Scripts.Delete(ctx, "app", workers.ScriptDeleteParams{AccountID: cf.F(testAccount)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err := ws.Scripts.ScriptAndVersionSettings.Get(ctx, "app", workers.ScriptScriptAndVersionSettingGetParams{AccountID: cf.F(testAccount)})
	wantAPIError(t, err, http.StatusNotFound, 10007)
	_, err = ws.Scripts.Delete(ctx, "app", workers.ScriptDeleteParams{AccountID: cf.F(testAccount)})
	wantAPIError(t, err, http.StatusNotFound, 10007)
}

func TestScriptSubdomain(t *testing.T) {
	f := newFixture(t)
	ws := f.workers(testToken)
	ctx := context.Background()
	params := workers.ScriptSubdomainGetParams{AccountID: cf.F(testAccount)}

	_, err := ws.Scripts.Subdomain.Get(ctx, "app", params)
	wantAPIError(t, err, http.StatusNotFound, 10007)

	sess := startSession(t, ws, "app", map[string]string{"/index.html": "x"})
	jwt := uploadAll(t, ws, sess, map[string]string{"/index.html": "x"})
	if _, err := putAssetsScript(ws, "app", jwt, ""); err != nil {
		t.Fatal(err)
	}
	got, err := ws.Scripts.Subdomain.Get(ctx, "app", params)
	if err != nil {
		t.Fatalf("get subdomain: %v", err)
	}
	if got.Enabled {
		t.Errorf("a new script: got enabled, want disabled until asked")
	}
	enabled, err := ws.Scripts.Subdomain.New(ctx, "app", workers.ScriptSubdomainNewParams{AccountID: cf.F(testAccount), Enabled: cf.F(true)})
	if err != nil {
		t.Fatalf("enable: %v", err)
	}
	if !enabled.Enabled || !enabled.PreviewsEnabled {
		t.Errorf("enable answer: got %+v, want enabled", enabled)
	}
	got, err = ws.Scripts.Subdomain.Get(ctx, "app", params)
	if err != nil || !got.Enabled {
		t.Errorf("get after enable: got %+v, %v; want enabled", got, err)
	}

	h := bearer(testToken)
	h.Set("Content-Type", "application/json")
	resp := f.do(t, "POST", "", "/client/v4/accounts/"+testAccount+"/workers/scripts/app/subdomain", h, strings.NewReader(`{}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST without enabled: got %d, want 400", resp.StatusCode)
	}
	_, err = ws.Scripts.Subdomain.New(ctx, "missing", workers.ScriptSubdomainNewParams{AccountID: cf.F(testAccount), Enabled: cf.F(true)})
	wantAPIError(t, err, http.StatusNotFound, 10007)
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	f1 := startFixture(t, dir, clk)
	f1.deploy(t, "app", map[string]string{"/index.html": "<p>durable</p>"}, "")
	// A session started before the restart and uploaded after it.
	pending := map[string]string{"/index.html": "<p>next</p>"}
	sess := startSession(t, f1.workers(testToken), "app", pending)
	f1.stop()

	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatalf("state.json: %v", err)
	}
	f2 := startFixture(t, dir, clk)
	resp := f2.do(t, "GET", "app.appforge.localhost", "/", nil, nil)
	if body := readBody(t, resp); resp.StatusCode != 200 || body != "<p>durable</p>" {
		t.Errorf("after restart: got %d %q, want 200 and the deployed page", resp.StatusCode, body)
	}
	ws := f2.workers(testToken)
	jwt := uploadAll(t, ws, sess, pending)
	if _, err := putAssetsScript(ws, "app", jwt, ""); err != nil {
		t.Fatalf("finish a session begun before the restart: %v", err)
	}
	resp = f2.do(t, "GET", "app.appforge.localhost", "/", nil, nil)
	if body := readBody(t, resp); body != "<p>next</p>" {
		t.Errorf("after redeploy: got %q, want the new page", body)
	}
}

func TestAccountSubdomainConfig(t *testing.T) {
	e, err := New(Config{DataDir: t.TempDir(), AccountID: testAccount, APIToken: testToken, Subdomain: "Team-X"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.cfg.Subdomain, "team-x"; got != want {
		t.Errorf("subdomain: got %q, want %q", got, want)
	}
	for _, cfg := range []Config{
		{AccountID: testAccount, APIToken: testToken},
		{DataDir: t.TempDir(), APIToken: testToken},
		{DataDir: t.TempDir(), AccountID: testAccount},
		{DataDir: t.TempDir(), AccountID: testAccount, APIToken: testToken, Subdomain: "no.dots"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): got no error", cfg)
		}
	}
}

// namedFile is a module part: the SDK names the part by Filename.
type namedFile struct {
	io.Reader
	name, contentType string
}

func (f namedFile) Filename() string    { return f.name }
func (f namedFile) ContentType() string { return f.contentType }
