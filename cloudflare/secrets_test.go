package cloudflare_test

import (
	"bytes"
	"context"
	"errors"
	"io"
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
	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/edge"
)

func secretValue(t *testing.T, te *testEdge, script, name string) (string, bool) {
	t.Helper()
	bs, err := te.edge.ScriptBindings(script)
	if err != nil {
		t.Fatalf("ScriptBindings(%s): %v", script, err)
	}
	for _, b := range bs {
		if b.Name == name && b.Type == "secret_text" {
			return b.Secret.Reveal(), true
		}
	}
	return "", false
}

func TestSecrets(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()

	// Secrets need the script: a missing one is a classified not-found error.
	err := d.PutSecret(ctx, "app-1", "API_KEY", "too early")
	var ce *cloudflare.Error
	if !errors.As(err, &ce) || ce.Kind != cloudflare.KindNotFound || ce.Status != 404 || ce.Code != 10007 {
		t.Fatalf("secret on a missing script: got %v, want not_found 404 10007", err)
	}
	if strings.Contains(err.Error(), "too early") {
		t.Errorf("the error shows the value: %v", err)
	}

	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"API_KEY": "key-1", "DB_URL": "postgres://x", "OTHER": "o"} {
		if err := d.PutSecret(ctx, "app-1", name, value); err != nil {
			t.Fatalf("PutSecret %s: %v", name, err)
		}
	}
	if err := d.PutSecret(ctx, "app-1", "API_KEY", "key-2"); err != nil {
		t.Fatalf("replace a secret: %v", err)
	}
	if err := d.DeleteSecret(ctx, "app-1", "OTHER"); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	names, err := d.ListSecrets(ctx, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"API_KEY", "DB_URL"}; !slices.Equal(names, want) {
		t.Errorf("ListSecrets: got %v, want %v", names, want)
	}
	if v, _ := secretValue(t, te, "app-1", "API_KEY"); v != "key-2" {
		t.Errorf("API_KEY: got %q, want key-2", v)
	}

	// A new bundle keeps the secrets (keep_bindings).
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil); err != nil {
		t.Fatal(err)
	}
	if v, ok := secretValue(t, te, "app-1", "API_KEY"); !ok || v != "key-2" {
		t.Errorf("after a redeploy: API_KEY is %q (%v), want key-2", v, ok)
	}
	if names, _ := d.ListSecrets(ctx, "app-1"); len(names) != 2 {
		t.Errorf("after a redeploy: secrets %v", names)
	}
	if status, body := te.get(t, "http://app-1.appforge.localhost:"+te.port+"/"); status != 200 || !strings.Contains(body, "v2") {
		t.Errorf("the redeployed site: got %d %q", status, body)
	}

	err = d.DeleteSecret(ctx, "app-1", "OTHER")
	if !errors.As(err, &ce) || ce.Kind != cloudflare.KindNotFound || ce.Code != 10056 {
		t.Errorf("delete a missing secret: got %v, want not_found with code 10056", err)
	}
}

// TestSecretsSurviveOnlyWhenKept pins what keep_bindings does, by uploading next to
// the deployer with the SDK: an upload that declares its own secret and does not
// keep the others drops them; the deployer's uploads keep them.
func TestSecretsSurviveOnlyWhenKept(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.PutSecret(ctx, "app-1", "API_KEY", "k"); err != nil {
		t.Fatal(err)
	}
	body := "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" +
		`{"main_module":"w.js","bindings":[{"type":"secret_text","name":"ONLY","text":"o"}]}` +
		"\r\n--b\r\nContent-Disposition: form-data; name=\"w.js\"; filename=\"w.js\"\r\nContent-Type: application/javascript+module\r\n\r\nexport default {}\r\n--b--\r\n"
	req, _ := http.NewRequest("PUT", te.srv.URL+"/client/v4/accounts/"+testAccount+"/workers/scripts/app-1", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload without keep_bindings: %d", resp.StatusCode)
	}
	if names, _ := d.ListSecrets(ctx, "app-1"); !slices.Equal(names, []string{"ONLY"}) {
		t.Errorf("without keep_bindings: secrets %v, want only the declared one", names)
	}
	if err := d.PutSecret(ctx, "app-1", "API_KEY", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil); err != nil {
		t.Fatal(err)
	}
	if names, _ := d.ListSecrets(ctx, "app-1"); !slices.Equal(names, []string{"API_KEY", "ONLY"}) {
		t.Errorf("after the deployer's redeploy: secrets %v, want both kept", names)
	}
}

func TestSecretValidation(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()
	tests := []struct {
		name, script, secret, value string
	}{
		{"dash in name", "app-1", "API-KEY", "v"},
		{"leading digit", "app-1", "1KEY", "v"},
		{"empty name", "app-1", "", "v"},
		{"bad script", "App", "KEY", "v"},
		{"too large", "app-1", "KEY", strings.Repeat("x", cloudflare.MaxSecretSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.PutSecret(ctx, tt.script, tt.secret, tt.value)
			if got := cloudflare.KindOf(err); got != cloudflare.KindValidation {
				t.Errorf("kind: got %q, want validation (%v)", got, err)
			}
		})
	}
}

// TestSecretValueNeverInErrors: a server that echoes the request body in its error
// message still does not get the value into the classified error.
func TestSecretValueNeverInErrors(t *testing.T) {
	const planted = "echoed-secret-b7e2"
	echo := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/secrets") {
				next.ServeHTTP(w, r)
				return
			}
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, envelope(10021, "cannot parse "+string(bytes.ReplaceAll(body, []byte(`"`), []byte(`'`)))))
		})
	}
	te := startEdge(t, echo)
	err := te.deployer(t).PutSecret(context.Background(), "app-1", "KEY", planted)
	if cloudflare.KindOf(err) != cloudflare.KindValidation {
		t.Fatalf("got %v, want a validation error", err)
	}
	var ce *cloudflare.Error
	errors.As(err, &ce)
	if strings.Contains(err.Error(), planted) || strings.Contains(ce.Message, planted) || (ce.Err != nil && strings.Contains(ce.Err.Error(), planted)) {
		t.Errorf("the error shows the secret: %v", err)
	}
	if !strings.Contains(ce.Message, "[redacted]") {
		t.Errorf("message: got %q, want the value redacted", ce.Message)
	}
}

// TestPatchOnSecretsClassified: a PATCH on .../secrets, the seed project's bug, is
// refused with 405 and code 10000; that classifies as a plain, non-retryable error
// naming the method problem, not as a bad token.
func TestPatchOnSecretsClassified(t *testing.T) {
	te := startEdge(t, nil)
	client := cf.NewClient(option.WithBaseURL(te.srv.URL+"/client/v4"), option.WithAPIToken(testToken), option.WithMaxRetries(0))
	var res any
	err := client.Patch(context.Background(), "accounts/"+testAccount+"/workers/scripts/app-1/secrets",
		map[string]string{"name": "API_KEY", "text": "v", "type": "secret_text"}, &res)
	var apiErr *cf.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 405 || len(apiErr.Errors) != 1 || apiErr.Errors[0].Code != 10000 ||
		apiErr.Errors[0].Message != "PATCH method not allowed for the api_token authentication scheme" {
		t.Fatalf("PATCH on secrets: got %v, want 405 with code 10000", err)
	}
	classified := cloudflare.Classify(err)
	var ce *cloudflare.Error
	if !errors.As(classified, &ce) {
		t.Fatalf("Classify: got %T", classified)
	}
	if ce.Kind != cloudflare.KindValidation || ce.Retryable() || ce.Status != 405 || ce.Code != 10000 {
		t.Errorf("got kind %s retryable %v status %d code %d, want validation, not retryable, 405, 10000",
			ce.Kind, ce.Retryable(), ce.Status, ce.Code)
	}
	for _, want := range []string{"HTTP method", "PATCH method not allowed"} {
		if !strings.Contains(ce.Message, want) {
			t.Errorf("message %q does not contain %q", ce.Message, want)
		}
	}
	if strings.Contains(ce.Message, "rejected the API token") {
		t.Errorf("a 405 is classified as a token problem: %q", ce.Message)
	}
}

// logBuffer collects log output.
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

// TestSecretsNotOnDiskOrInLogs scans the edge's data folder and log output for a
// secret set through the deployer.
func TestSecretsNotOnDiskOrInLogs(t *testing.T) {
	const planted = "disk-and-logs-secret-91c4"
	logs := &logBuffer{}
	te := startEdge(t, nil, func(c *edge.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	d := te.deployer(t)
	ctx := context.Background()
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.PutSecret(ctx, "app-1", "PLANTED", planted); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v2")}, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := secretValue(t, te, "app-1", "PLANTED"); v != planted {
		t.Fatalf("the secret did not reach the edge")
	}
	err := filepath.WalkDir(te.dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(planted)) {
			t.Errorf("the secret is stored in the clear in %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), planted) {
		t.Errorf("the secret is in the edge's logs")
	}
}

func TestDeleteScript(t *testing.T) {
	te := startEdge(t, nil)
	d := te.deployer(t)
	ctx := context.Background()
	res, err := d.Deploy(ctx, cloudflare.DeployRequest{Script: "app-1", Assets: bundle("v1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteScript(ctx, "app-1"); err != nil {
		t.Fatalf("DeleteScript: %v", err)
	}
	if got := te.scripts(t); len(got) != 0 {
		t.Errorf("scripts after delete: %v", got)
	}
	if status, _ := te.get(t, res.URL+"/"); status != 404 {
		t.Errorf("the deleted site answers %d", status)
	}
	if err := d.DeleteScript(ctx, "app-1"); err != nil {
		t.Errorf("deleting a deleted script: %v, want success", err)
	}
	if got := cloudflare.KindOf(d.DeleteScript(ctx, "Bad")); got != cloudflare.KindValidation {
		t.Errorf("a bad name: got %q, want validation", got)
	}
}
