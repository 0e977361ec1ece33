package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
	"github.com/appforge/appforge/workflows"
)

func TestDomainsAPI(t *testing.T) {
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "todoapp00001")
	newStoreApp(t, ts.Store, "otherapp0001")

	r := ts.post(t, "/v1/apps/todoapp00001/domains", `{"hostname": "https://MyApp.com/"}`)
	if r.Status != http.StatusAccepted {
		t.Fatalf("attach = %d %s", r.Status, r.Body)
	}
	sent := ts.WF.sentTo("todoapp00001")
	got := sent[len(sent)-1]
	if got.Command != workflows.CommandAttachDomain || got.Domain != "myapp.com" {
		t.Errorf("queued %+v", got)
	}
	for _, tc := range []struct {
		body, code string
		status     int
	}{
		{`{"hostname": "*.myapp.com"}`, "invalid_hostname", 400},
		{`{"hostname": "github.io"}`, "invalid_hostname", 400},
		{`{"hostname": ""}`, "invalid_hostname", 400},
		{`{"hostname": "myapp.com", "mode": "cname"}`, "invalid_mode", 400},
		{`{"hostname": "myapp.com", "primary": "root"}`, "invalid_primary", 400},
		{`{"hostname": "shop.myapp.com", "primary": "www"}`, "invalid_primary", 400},
		{`{"hostname": "www.myapp.com", "primary": "apex"}`, "invalid_primary", 400},
		{`{"host": "myapp.com"}`, "invalid_json", 400},
	} {
		wantError(t, ts.post(t, "/v1/apps/todoapp00001/domains", tc.body), tc.status, tc.code)
	}

	// What the domain workflow records is what the API shows.
	storetest.Must(t, ts.Store.SaveDomain(t.Context(), models.Domain{Hostname: "myapp.com", AppID: "todoapp00001", Mode: "zone", Primary: "myapp.com", Secondary: "www.myapp.com",
		Status: models.DomainWaitingDNS, Message: "your nameservers are still ns1.registrar.example",
		Instructions: `[{"type":"NS","name":"myapp.com","value":"ada.ns.cloudflare.com","purpose":"at your registrar"}]`,
		LastObserved: `{"Ready":false,"DNSOK":false}`}), "save domain")
	var list struct {
		Domains []struct {
			Hostname     string `json:"hostname"`
			Status       string `json:"status"`
			Message      string `json:"message"`
			Checks       int    `json:"checks"`
			Instructions []struct{ Type, Name, Value string }
			LastObserved json.RawMessage `json:"last_observed"`
		} `json:"domains"`
	}
	json.Unmarshal(ts.get(t, "/v1/apps/todoapp00001/domains").Body, &list)
	if len(list.Domains) != 1 || list.Domains[0].Instructions[0].Value != "ada.ns.cloudflare.com" || list.Domains[0].Checks != 3 || len(list.Domains[0].LastObserved) == 0 {
		t.Errorf("domains = %+v", list)
	}

	// Another app cannot take it.
	wantError(t, ts.post(t, "/v1/apps/otherapp0001/domains", `{"hostname": "myapp.com"}`), 409, "domain_taken")
	wantError(t, ts.post(t, "/v1/apps/otherapp0001/domains", `{"hostname": "www.myapp.com"}`), 409, "domain_taken")

	if r := ts.post(t, "/v1/apps/todoapp00001/domains/MyApp.com/check", ""); r.Status != http.StatusAccepted {
		t.Errorf("check = %d %s", r.Status, r.Body)
	}
	// The www side of the pair names the same domain.
	if r := ts.post(t, "/v1/apps/todoapp00001/domains/www.myapp.com/check", ""); r.Status != http.StatusAccepted {
		t.Errorf("check by www = %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, http.MethodDelete, "/v1/apps/todoapp00001/domains/myapp.com", "", nil); r.Status != http.StatusAccepted {
		t.Errorf("detach = %d %s", r.Status, r.Body)
	}
	if strings.Join(ts.WF.domainSignals, ",") != "check:myapp.com,check:myapp.com,detach:myapp.com" {
		t.Errorf("signals = %v", ts.WF.domainSignals)
	}
	wantError(t, ts.post(t, "/v1/apps/otherapp0001/domains/myapp.com/check", ""), 404, "not_found")
}

// endedDomains is fakeWorkflows whose domain workflows have all ended: a signal finds
// none, as Temporal answers for a closed workflow.
type endedDomains struct{ *fakeWorkflows }

func (endedDomains) CheckDomain(ctx context.Context, hostname string) error {
	return fmt.Errorf("check domain %s: %w", hostname, serviceerror.NewNotFound("workflow execution already completed"))
}

func (endedDomains) DetachDomain(ctx context.Context, hostname string) error {
	return fmt.Errorf("detach domain %s: %w", hostname, serviceerror.NewNotFound("workflow execution already completed"))
}

// A domain whose workflow ended (say its detach failed) is still detached at
// Cloudflare: DELETE starts a detach-only workflow and keeps the record until that
// workflow deletes it, instead of deleting the record and leaving Cloudflare as it was.
func TestDetachDomainWhoseWorkflowEnded(t *testing.T) {
	store := storetest.Open(t, "sqlite")
	wf := newFakeWorkflows()
	srv := api.NewServer(api.Options{Store: store, Workflows: endedDomains{wf}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(srv.CloseStreams)
	ts := &testServer{Server: hs, API: srv, Store: store, WF: wf}
	newStoreApp(t, store, "todoapp00001")
	storetest.Must(t, store.SaveDomain(t.Context(), models.Domain{Hostname: "myapp.com", AppID: "todoapp00001", Mode: "zone", Primary: "myapp.com", Secondary: "www.myapp.com",
		ZoneID: "zone1", Status: models.DomainFailed, Message: "Detaching myapp.com failed: Cloudflare answered 500."}), "save domain")

	r := ts.do(t, http.MethodDelete, "/v1/apps/todoapp00001/domains/myapp.com", "", nil)
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), models.DomainDetaching) {
		t.Errorf("detach = %d %s, want 202 detaching", r.Status, r.Body)
	}
	if got := strings.Join(wf.domainSignals, ","); got != "detach-ended:myapp.com" {
		t.Errorf("workflow calls = %q, want a detach-only workflow started", got)
	}
	if _, err := store.Domain(t.Context(), "myapp.com"); err != nil {
		t.Errorf("the record is gone before Cloudflare was cleaned up: %v", err)
	}
	// "Check now" has nothing to wake; it says both ways forward.
	r = ts.post(t, "/v1/apps/todoapp00001/domains/myapp.com/check", "")
	wantError(t, r, http.StatusConflict, "domain_not_running")
	if !strings.Contains(string(r.Body), "attach it again") || !strings.Contains(string(r.Body), "DELETE /v1/apps/todoapp00001/domains/myapp.com") {
		t.Errorf("check = %s", r.Body)
	}
}
