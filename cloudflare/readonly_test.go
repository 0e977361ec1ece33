package cloudflare_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/edge"
)

const testReadOnlyToken = "read-only-token-do-not-print"

// TestDeployWithReadOnlyToken: a token that may read but not edit Workers (403, code
// 10000, "Authentication error" on the first write, as Cloudflare answers) fails the
// deploy at once with the auth kind and a plain reason, changes nothing, and is
// never retried (activities' deployError makes KindAuth non-retryable).
func TestDeployWithReadOnlyToken(t *testing.T) {
	te := startEdge(t, nil, func(c *edge.Config) { c.ReadOnlyTokens = []string{testReadOnlyToken} })
	ctx := context.Background()
	res, err := te.deployer(t).Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	if err != nil {
		t.Fatalf("Deploy with the full token: %v", err)
	}

	ro, err := cloudflare.New(te.config(testReadOnlyToken))
	if err != nil {
		t.Fatalf("cloudflare.New: %v", err)
	}
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"deploy a new script", func() error {
			_, err := ro.Deploy(ctx, cloudflare.DeployRequest{Script: "app-2", Assets: bundle("v1")}, nil)
			return err
		}},
		{"redeploy", func() error {
			_, err := ro.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil)
			return err
		}},
		{"put a secret", func() error { return ro.PutSecret(ctx, "app-1", "API_KEY", "the-value") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ce *cloudflare.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want a *cloudflare.Error", err, err)
			}
			t.Logf("error: %v", err)
			if ce.Kind != cloudflare.KindAuth || cloudflare.KindOf(err) != cloudflare.KindAuth {
				t.Errorf("kind: got %q, want %q", ce.Kind, cloudflare.KindAuth)
			}
			if ce.Status != http.StatusForbidden || ce.Code != 10000 {
				t.Errorf("got HTTP %d code %d, want 403 code 10000", ce.Status, ce.Code)
			}
			if ce.Retryable() {
				t.Errorf("a refused token is retryable")
			}
			for _, want := range []string{
				"Cloudflare rejected the API token (code 10000): Authentication error",
				"has the Workers Scripts: Edit permission",
			} {
				if !strings.Contains(ce.Message, want) {
					t.Errorf("message: got %q, want it to contain %q", ce.Message, want)
				}
			}
			for _, secret := range []string{testReadOnlyToken, testToken, "the-value", "{", "<"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows %q: %v", secret, err)
				}
			}
		})
	}

	// Nothing changed: no new script, the live one still serves v1, no secret.
	if got := te.scripts(t); len(got) != 1 || got[0] != "app-1" {
		t.Errorf("scripts: got %q, want [app-1]", got)
	}
	if status, body := te.get(t, res.URL+"/"); status != http.StatusOK || !strings.Contains(body, "v1") {
		t.Errorf("GET %s: got %d %q, want v1", res.URL, status, body)
	}
	if _, found := secretValue(t, te, "app-1", "API_KEY"); found {
		t.Errorf("a read-only token set a secret")
	}

	// Reads work with the read-only token.
	names, err := ro.ListSecrets(ctx, "app-1")
	if err != nil {
		t.Errorf("ListSecrets with the read-only token: %v", err)
	} else if len(names) != 0 {
		t.Errorf("secrets: got %q, want none", names)
	}
}
