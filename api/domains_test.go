package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
	if r := ts.do(t, http.MethodDelete, "/v1/apps/todoapp00001/domains/myapp.com", "", nil); r.Status != http.StatusAccepted {
		t.Errorf("detach = %d %s", r.Status, r.Body)
	}
	if strings.Join(ts.WF.domainSignals, ",") != "check:myapp.com,detach:myapp.com" {
		t.Errorf("signals = %v", ts.WF.domainSignals)
	}
	wantError(t, ts.post(t, "/v1/apps/otherapp0001/domains/myapp.com/check", ""), 404, "not_found")
}
