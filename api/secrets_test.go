package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/secrets"
	"github.com/appforge/appforge/workflows"
)

const planted = "sk_live_PLANTED_f00dfeed"

func secretServer(t *testing.T) (*testServer, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := models.Open(t.Context(), models.Options{SQLitePath: filepath.Join(dir, "appforge.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	box, err := secrets.NewBox(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, store, api.Options{Secrets: box})
	newStoreApp(t, store, "todoapp00001")
	return ts, dir
}

func TestSecrets(t *testing.T) {
	ts, dir := secretServer(t)
	base := "/v1/apps/todoapp00001/environments/production/secrets"

	r := ts.do(t, http.MethodPut, base+"/STRIPE_KEY", `{"value": "`+planted+`"}`, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("PUT = %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), planted) {
		t.Fatal("the answer shows the value")
	}
	if r := ts.do(t, http.MethodPut, base+"/STRIPE_KEY", `{"value": "`+planted+`2"}`, nil); r.Status != http.StatusOK {
		t.Errorf("second PUT = %d", r.Status)
	}
	ts.do(t, http.MethodPut, "/v1/apps/todoapp00001/environments/preview/secrets/STRIPE_KEY", `{"value": "test-value"}`, nil)

	list := ts.get(t, base)
	var got struct {
		Secrets []struct {
			Name   string `json:"name"`
			Synced bool   `json:"synced"`
		} `json:"secrets"`
	}
	json.Unmarshal(list.Body, &got)
	if len(got.Secrets) != 1 || got.Secrets[0].Name != "STRIPE_KEY" || got.Secrets[0].Synced || strings.Contains(string(list.Body), planted) {
		t.Errorf("list = %s", list.Body)
	}

	// Each change queues a sync of its environment in the app's workflow, with no value.
	syncs := 0
	for _, m := range ts.WF.sentTo("todoapp00001") {
		if m.Command == workflows.CommandSyncSecrets {
			syncs++
			if b, _ := json.Marshal(m); strings.Contains(string(b), planted) {
				t.Error("the workflow message carries the value")
			}
		}
	}
	if syncs != 3 {
		t.Errorf("sync commands = %d, want 3", syncs)
	}

	// At rest the value is sealed: the database file does not hold it.
	ts.Store.Close()
	for _, name := range []string{"appforge.db", "appforge.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && name == "appforge.db" {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(planted)) {
			t.Errorf("%s holds the secret in plain text", name)
		}
	}
}

func TestSecretErrors(t *testing.T) {
	ts, _ := secretServer(t)
	base := "/v1/apps/todoapp00001/environments/production/secrets/"
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodPut, base + "1BAD", `{"value": "x"}`, 400, "invalid_secret_name"},
		{http.MethodPut, base + "HAS-DASH", `{"value": "x"}`, 400, "invalid_secret_name"},
		{http.MethodPut, base + "OK", `{"value": ""}`, 400, "secret_empty"},
		{http.MethodPut, base + "OK", `{"val": "x"}`, 400, "invalid_json"},
		{http.MethodPut, base + "OK", `{"value": "` + strings.Repeat("a", api.MaxSecretBytes+1) + `"}`, 400, "secret_too_large"},
		{http.MethodPut, "/v1/apps/todoapp00001/environments/staging/secrets/OK", `{"value": "x"}`, 404, "not_found"},
		{http.MethodPut, "/v1/apps/nope00000000/environments/production/secrets/OK", `{"value": "x"}`, 404, "not_found"},
		{http.MethodDelete, base + "MISSING", "", 404, "not_found"},
	} {
		r := ts.do(t, tc.method, tc.path, tc.body, nil)
		wantError(t, r, tc.status, tc.code)
	}
	ts.do(t, http.MethodPut, base+"GONE", `{"value": "x"}`, nil)
	if r := ts.do(t, http.MethodDelete, base+"GONE", "", nil); r.Status != http.StatusNoContent {
		t.Errorf("DELETE = %d %s", r.Status, r.Body)
	}
	if r := ts.get(t, "/v1/apps/todoapp00001/environments/production/secrets"); strings.Contains(string(r.Body), "GONE") {
		t.Errorf("a deleted secret is listed: %s", r.Body)
	}
	// Set again after a delete, it is a new secret again.
	if r := ts.do(t, http.MethodPut, base+"GONE", `{"value": "y"}`, nil); r.Status != http.StatusCreated {
		t.Errorf("PUT after DELETE = %d %s, want 201", r.Status, r.Body)
	}

	noBox := newSQLiteServer(t, api.Options{})
	newStoreApp(t, noBox.Store, "todoapp00001")
	wantError(t, noBox.do(t, http.MethodPut, base+"OK", `{"value": "x"}`, nil), 503, "secrets_unavailable")
}

// TestSecretLimit fills an environment to the Worker's limit: one more is refused with
// what to do, a change to one that exists still goes through, and a deleted one makes
// room. The other environment has its own count.
func TestSecretLimit(t *testing.T) {
	ts, _ := secretServer(t)
	base := "/v1/apps/todoapp00001/environments/production/secrets/"
	for i := range api.MaxSecrets {
		if r := ts.do(t, http.MethodPut, base+fmt.Sprintf("KEY_%03d", i), `{"value": "v"}`, nil); r.Status != http.StatusCreated {
			t.Fatalf("secret %d: %d %s", i, r.Status, r.Body)
		}
	}
	msg := wantError(t, ts.do(t, http.MethodPut, base+"ONE_MORE", `{"value": "v"}`, nil), http.StatusConflict, "too_many_secrets")
	wantContains(t, "message", msg, "128 secrets", "delete one", "ONE_MORE")
	if r := ts.do(t, http.MethodPut, base+"KEY_000", `{"value": "changed"}`, nil); r.Status != http.StatusOK {
		t.Errorf("changing a secret at the limit = %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, http.MethodPut, "/v1/apps/todoapp00001/environments/preview/secrets/ONE_MORE", `{"value": "v"}`, nil); r.Status != http.StatusCreated {
		t.Errorf("preview secret while production is full = %d %s", r.Status, r.Body)
	}
	ts.do(t, http.MethodDelete, base+"KEY_001", "", nil)
	if r := ts.do(t, http.MethodPut, base+"ONE_MORE", `{"value": "v"}`, nil); r.Status != http.StatusCreated {
		t.Errorf("after a delete = %d %s, want 201", r.Status, r.Body)
	}
	wantError(t, ts.do(t, http.MethodPut, base+"KEY_001", `{"value": "v"}`, nil), http.StatusConflict, "too_many_secrets")
}
