package build_test

import (
	"strings"
	"testing"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
)

// TestEveryAppKindFitsTheBudget builds the template, every app kind of the offline
// generator and the app with lazy routes for production, and checks each is well under
// the 1 MB limit (under the 500 KB warning, even) with its vendor chunk split off.
func TestEveryAppKindFitsTheBudget(t *testing.T) {
	kinds, err := testapp.Kinds(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	apps := append([]testapp.Kind{{Name: "template", Files: testapp.Template()}, {Name: "routes", Files: testapp.Routes()}}, kinds...)
	b := newBuilder(t, nil)
	for _, app := range apps {
		t.Run(app.Name, func(t *testing.T) {
			out, err := b.Build(t.Context(), build.Request{ID: "kind-" + app.Name, Files: app.Files, Profile: build.ProfileProduction}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := out.Report
			if r.Budget == nil || r.Budget.Status != build.BudgetOK || r.Budget.TotalBytes >= 1<<20 {
				t.Errorf("budget %+v, want well under 1 MB", r.Budget)
			}
			var vendor, app int64
			for _, c := range r.Chunks {
				if c.Kind == build.ChunkVendor {
					vendor += c.Size
				} else {
					app += c.Size
				}
			}
			if vendor == 0 || app == 0 {
				t.Errorf("vendor %d bytes, app %d: want both", vendor, app)
			}
			var sizes []string
			for _, f := range r.Files {
				sizes = append(sizes, f.Path)
			}
			t.Logf("%d bytes (%d gzip): vendor JS %d, app JS %d; %s", r.Budget.TotalBytes, r.Budget.TotalGzip, vendor, app, strings.Join(sizes, " "))
		})
	}
}
