package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

const testReadOnlyToken = "test-read-only-token-7d1e"

// withReadOnlyToken gives the fixture's edge testReadOnlyToken.
func withReadOnlyToken(c *Config) { c.ReadOnlyTokens = []string{testReadOnlyToken} }

// authErrorBody is Cloudflare's answer to a bad token or one without the permission.
const authErrorBody = `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`

func TestReadOnlyToken(t *testing.T) {
	f := startFixture(t, t.TempDir(), newClock(), withReadOnlyToken)
	f.deploy(t, "app", map[string]string{"/index.html": "v1"}, "")
	if _, err := putSecret(f.workers(testToken), "app", "API_KEY", "kept"); err != nil {
		t.Fatalf("put secret with the full token: %v", err)
	}
	ro := f.workers(testReadOnlyToken)
	ctx := context.Background()
	acct := "/client/v4/accounts/" + testAccount
	zoneBody := `{"name":"example.com","account":{"id":"` + testAccount + `"}}`
	resp := f.do(t, http.MethodPost, "", "/client/v4/zones", bearer(testToken), strings.NewReader(zoneBody))
	var zone struct {
		ID string `json:"id"`
	}
	if env := decodeEnvelope(t, resp); resp.StatusCode != http.StatusOK || json.Unmarshal(env.Result, &zone) != nil || zone.ID == "" {
		t.Fatalf("create zone with the full token: %d %+v", resp.StatusCode, env)
	}
	zonePath := "/client/v4/zones/" + zone.ID

	t.Run("reads", func(t *testing.T) {
		sub, err := ro.Scripts.Subdomain.Get(ctx, "app", workers.ScriptSubdomainGetParams{AccountID: cf.F(testAccount)})
		if err != nil {
			t.Fatalf("get script subdomain: %v", err)
		}
		if !sub.Enabled {
			t.Errorf("script subdomain: got disabled, want enabled")
		}
		acc, err := ro.Subdomains.Get(ctx, workers.SubdomainGetParams{AccountID: cf.F(testAccount)})
		if err != nil {
			t.Fatalf("get account subdomain: %v", err)
		}
		if acc.Subdomain != DefaultSubdomain {
			t.Errorf("account subdomain: got %q, want %q", acc.Subdomain, DefaultSubdomain)
		}
		if _, err := ro.Scripts.Get(ctx, "app", workers.ScriptGetParams{AccountID: cf.F(testAccount)}); err != nil {
			t.Errorf("get script: %v", err)
		}
		if got := secretNames(t, ro, "app"); len(got) != 1 || got[0] != "API_KEY" {
			t.Errorf("secrets: got %q, want [API_KEY]", got)
		}
		resp := f.do(t, http.MethodGet, "", acct+"/workers/scripts/app/settings", bearer(testReadOnlyToken), nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET settings: got %d, want 200", resp.StatusCode)
		}
		resp = f.do(t, http.MethodGet, "", zonePath+"/dns_records", bearer(testReadOnlyToken), nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET dns_records: got %d, want 200", resp.StatusCode)
		}
		resp = f.do(t, http.MethodGet, "", "/__edge/faults", bearer(testReadOnlyToken), nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /__edge/faults: got %d, want 200", resp.StatusCode)
		}
	})

	t.Run("PUT script", func(t *testing.T) {
		_, err := putAssetsScript(ro, "app", "any-jwt", "")
		apiErr := wantAPIError(t, err, http.StatusForbidden, 10000)
		if got := apiErr.Errors[0].Message; got != "Authentication error" {
			t.Errorf("message: got %q, want %q", got, "Authentication error")
		}
	})

	t.Run("PUT secret", func(t *testing.T) {
		_, err := putSecret(ro, "app", "API_KEY", "changed")
		wantAPIError(t, err, http.StatusForbidden, 10000)
		if got := secretNames(t, f.workers(testToken), "app"); len(got) != 1 {
			t.Errorf("secrets after a refused PUT: got %q", got)
		}
		for _, b := range mustBindings(t, f, "app") {
			if b.Name == "API_KEY" && b.Secret.Reveal() != "kept" {
				t.Errorf("a read-only token changed the secret")
			}
		}
	})

	// Every write gets exactly Cloudflare's body; nothing changes.
	for _, tt := range []struct {
		method, path, body string
	}{
		{http.MethodPut, acct + "/workers/scripts/app", ""},
		{http.MethodPut, acct + "/workers/scripts/app/secrets", `{"name":"X","text":"y","type":"secret_text"}`},
		{http.MethodDelete, acct + "/workers/scripts/app/secrets/API_KEY", ""},
		{http.MethodDelete, acct + "/workers/scripts/app", ""},
		{http.MethodPatch, acct + "/workers/scripts/app/settings", `{}`},
		{http.MethodPost, acct + "/workers/scripts/app/subdomain", `{"enabled":false}`},
		{http.MethodPost, acct + "/workers/scripts/app/assets-upload-session", `{"manifest":{}}`},
		{http.MethodPost, acct + "/workers/scripts/app/versions", ""},
		{http.MethodPost, acct + "/workers/scripts/app/deployments", `{}`},
		{http.MethodPost, "/client/v4/zones", strings.Replace(zoneBody, "example.com", "example.org", 1)},
		{http.MethodPost, zonePath + "/dns_records", `{"type":"A","name":"www.example.com","content":"192.0.2.1"}`},
		{http.MethodDelete, zonePath, ""},
		{http.MethodPut, "/__edge/faults", `{"faults":[]}`},
		{http.MethodDelete, "/__edge/faults", ""},
		{http.MethodPost, "/__edge/domains/example.com", `{}`},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := f.do(t, tt.method, "", tt.path, bearer(testReadOnlyToken), strings.NewReader(tt.body))
			if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || body != authErrorBody {
				t.Errorf("got %d %s, want 403 %s", resp.StatusCode, body, authErrorBody)
			}
		})
	}

	t.Run("nothing changed", func(t *testing.T) {
		sub, err := ro.Scripts.Subdomain.Get(ctx, "app", workers.ScriptSubdomainGetParams{AccountID: cf.F(testAccount)})
		if err != nil || !sub.Enabled {
			t.Errorf("script subdomain after refused writes: got %+v, %v", sub, err)
		}
		if got := secretNames(t, ro, "app"); len(got) != 1 || got[0] != "API_KEY" {
			t.Errorf("secrets after refused writes: got %q, want [API_KEY]", got)
		}
		resp := f.do(t, http.MethodGet, "", "/client/v4/zones", bearer(testReadOnlyToken), nil)
		var zones []struct {
			Name string `json:"name"`
		}
		if env := decodeEnvelope(t, resp); json.Unmarshal(env.Result, &zones) != nil || len(zones) != 1 || zones[0].Name != "example.com" {
			t.Errorf("zones after refused writes: got %d %s, want example.com only", resp.StatusCode, env.Result)
		}
	})

	// A method a path does not take is a 405 first, whatever the token may do.
	t.Run("PATCH secrets is still 405", func(t *testing.T) {
		resp := f.do(t, http.MethodPatch, "", acct+"/workers/scripts/app/secrets", bearer(testReadOnlyToken), strings.NewReader(`{}`))
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("got %d %s, want 405", resp.StatusCode, readBody(t, resp))
		}
	})

	// The full token still writes.
	t.Run("full token writes", func(t *testing.T) {
		if _, err := putSecret(f.workers(testToken), "app", "OTHER", "o"); err != nil {
			t.Errorf("put secret with the full token: %v", err)
		}
	})
}

func mustBindings(t *testing.T, f *fixture, script string) []Binding {
	t.Helper()
	bs, err := f.edge.ScriptBindings(script)
	if err != nil {
		t.Fatalf("ScriptBindings(%s): %v", script, err)
	}
	return bs
}

func TestReadOnlyTokenConfig(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tokens []string
	}{
		{"empty", []string{""}},
		{"same as the API token", []string{testToken}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{DataDir: t.TempDir(), AccountID: testAccount, APIToken: testToken, ReadOnlyTokens: tt.tokens})
			if err == nil {
				t.Errorf("New accepted read-only tokens %q", tt.tokens)
			}
		})
	}
}
