package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/models/storetest"
)

type budgetAnswer struct {
	WarnBytes  int64        `json:"warn_bytes"`
	LimitBytes int64        `json:"limit_bytes"`
	Custom     bool         `json:"custom"`
	Server     build.Budget `json:"server_default"`
	Live       *struct {
		Version    int    `json:"version"`
		Status     string `json:"status"`
		TotalBytes int64  `json:"total_bytes"`
		Message    string `json:"message"`
		Heavy      []struct {
			Path string `json:"path"`
		} `json:"heavy"`
	} `json:"live_version"`
}

func TestBudget(t *testing.T) {
	t.Parallel()
	// The server's default is 600 KB / 900 KB (APPFORGE_BUDGET_WARN and _LIMIT).
	ts := newSQLiteServer(t, api.Options{Budget: build.Budget{WarnBytes: 600 << 10, LimitBytes: 900 << 10}})
	withVersions(t, ts.Store)
	const path = "/v1/apps/todoapp00001/budget"
	read := func(r response) budgetAnswer {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("budget: %d %s", r.Status, r.Body)
		}
		var b budgetAnswer
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		return b
	}

	// No production bundle yet: the server's budget, nothing measured.
	b := read(ts.get(t, path))
	if b.WarnBytes != 600<<10 || b.LimitBytes != 900<<10 || b.Custom || b.Server.LimitBytes != 900<<10 || b.Live != nil {
		t.Fatalf("budget %+v, want the server's and no measurement", b)
	}

	// Version 1 (live) gets a production bundle of 700 KB: over the server's warning.
	report := build.Report{Profile: build.ProfileProduction, Files: []build.OutputFile{
		{Path: "index.html", Size: 1 << 10}, {Path: "assets/vendor-1.js", Size: 500 << 10}, {Path: "assets/index-2.js", Size: 199 << 10}, {Path: "assets/index-2.js.map", Size: 900 << 10},
	}}
	raw, _ := json.Marshal(report)
	v1, err := ts.Store.Version(t.Context(), "todoapp00001", 1)
	storetest.Must(t, err, "version 1")
	storetest.Must(t, ts.Store.UpdateVersion(t.Context(), v1.ID, map[string]any{"production_report": string(raw)}), "store the production report")
	b = read(ts.get(t, path))
	if b.Live == nil || b.Live.Version != 1 || b.Live.Status != "warn" || b.Live.TotalBytes != 700<<10 || len(b.Live.Heavy) == 0 || b.Live.Heavy[0].Path != "assets/vendor-1.js" {
		t.Fatalf("live %+v, want version 1 measured at 700 KB, a warning naming the vendor chunk", b.Live)
	}

	// A tighter limit for this app: publishing version 1 now would be refused.
	b = read(ts.do(t, http.MethodPut, path, `{"warn_bytes": "300KB", "limit_bytes": 512000}`, nil))
	if b.WarnBytes != 300<<10 || b.LimitBytes != 512000 || !b.Custom || b.Live.Status != "over" || !strings.Contains(b.Live.Message, "cannot be deployed to production") {
		t.Fatalf("after PUT: %+v %+v", b, b.Live)
	}
	app, err := ts.Store.App(t.Context(), "todoapp00001")
	storetest.Must(t, err, "app")
	if app.BudgetWarnBytes != 300<<10 || app.BudgetLimitBytes != 512000 {
		t.Errorf("stored budget %d/%d", app.BudgetWarnBytes, app.BudgetLimitBytes)
	}
	if b := read(ts.get(t, path)); b.LimitBytes != 512000 || !b.Custom {
		t.Errorf("GET after PUT = %+v", b)
	}

	// Only the limit raised: the warning comes from the server again.
	b = read(ts.do(t, http.MethodPut, path, `{"limit_bytes": "2MB"}`, nil))
	if b.WarnBytes != 600<<10 || b.LimitBytes != 2<<20 || !b.Custom || b.Live.Status != "warn" {
		t.Errorf("limit only: %+v", b)
	}
	// Zeroes go back to the server's budget.
	b = read(ts.do(t, http.MethodPut, path, `{"warn_bytes": 0, "limit_bytes": null}`, nil))
	if b.Custom || b.WarnBytes != 600<<10 || b.LimitBytes != 900<<10 {
		t.Errorf("reset: %+v", b)
	}
}

func TestBudgetErrors(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "todoapp00001")
	const path = "/v1/apps/todoapp00001/budget"
	for _, tc := range []struct{ body, code, says string }{
		{`not json`, "invalid_json", "send the budget as JSON"},
		{`{"warn": 5}`, "invalid_json", "send the budget as JSON"},
		{`{"warn_bytes": -1}`, "invalid_budget", "negative"},
		{`{"warn_bytes": "lots"}`, "invalid_budget", `"lots" is not a size`},
		{`{"limit_bytes": true}`, "invalid_budget", "not a number of bytes"},
		{`{"limit_bytes": "5GB"}`, "invalid_budget", "at most 100 MB"},
		{`{"limit_bytes": 100}`, "invalid_budget", "at least 10 KB"},
		// The default limit is 1 MB: a 2 MB warning alone would never be seen.
		{`{"warn_bytes": "2MB"}`, "invalid_budget", "above the limit"},
		{`{"warn_bytes": "900KB", "limit_bytes": "800KB"}`, "invalid_budget", "above the limit"},
	} {
		r := ts.do(t, http.MethodPut, path, tc.body, nil)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(r.Body, &e)
		if r.Status != http.StatusBadRequest || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.says) {
			t.Errorf("PUT %s = %d %s, want 400 %s saying %q", tc.body, r.Status, r.Body, tc.code, tc.says)
		}
	}
	app, err := ts.Store.App(t.Context(), "todoapp00001")
	storetest.Must(t, err, "app")
	if app.BudgetWarnBytes != 0 || app.BudgetLimitBytes != 0 {
		t.Errorf("a refused budget was stored: %d/%d", app.BudgetWarnBytes, app.BudgetLimitBytes)
	}
	if r := ts.get(t, "/v1/apps/nosuchapp000/budget"); r.Status != http.StatusNotFound {
		t.Errorf("unknown app: %d", r.Status)
	}
}
