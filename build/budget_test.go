package build_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/build/internal/testapp"
)

func TestBudgetOverLimitRefusesProductionNotPreview(t *testing.T) {
	b := newBuilder(t, nil)
	heavy := testapp.Heavy(1700) // about 1.2 MB of words once minified
	out, err := b.Build(t.Context(), build.Request{ID: "heavy", Files: heavy, Profile: build.ProfileProduction}, nil)
	if err != nil {
		t.Fatalf("an over-budget build is still a build: %v", err)
	}
	br := out.Report.Budget
	if br == nil || br.Status != build.BudgetOver {
		t.Fatalf("budget %+v, want over", br)
	}
	if br.TotalBytes <= build.DefaultLimitBytes || br.LimitBytes != build.DefaultLimitBytes || br.WarnBytes != build.DefaultWarnBytes {
		t.Errorf("budget %+v: want a total over the default limit, measured against the defaults", br)
	}
	err = out.Report.BudgetErr()
	var be *build.BudgetError
	if !errors.Is(err, build.ErrOverBudget) || !errors.As(err, &be) {
		t.Fatalf("BudgetErr() = %v, want a *BudgetError wrapping ErrOverBudget", err)
	}
	// The report names the heavy file and, in it, the module that makes it heavy.
	if len(br.Heavy) == 0 || !strings.HasPrefix(br.Heavy[0].Path, "assets/index-") || len(br.Heavy[0].Modules) == 0 {
		t.Fatalf("heavy files %+v: want the entry chunk first, with its modules", br.Heavy)
	}
	if m := br.Heavy[0].Modules[0]; m.ID != "src/data/words.ts" || m.Size < 900<<10 {
		t.Errorf("largest module of %s: %+v, want src/data/words.ts at about 1.2 MB", br.Heavy[0].Path, m)
	}
	for _, want := range []string{"cannot be deployed to production", "assets/index-", "src/data/words.ts"} {
		if !strings.Contains(be.Error(), want) {
			t.Errorf("message %q does not say %q", be.Error(), want)
		}
	}
	t.Logf("%s", be.Error())

	// The same app still builds for a preview, which has no budget.
	prev, err := b.Build(t.Context(), build.Request{ID: "heavy-preview", Files: heavy, Profile: build.ProfilePreview}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if prev.Report.Budget != nil || prev.Report.BudgetErr() != nil {
		t.Errorf("preview budget %+v: previews are not budgeted", prev.Report.Budget)
	}
}

func TestBudgetWarning(t *testing.T) {
	b := newBuilder(t, nil)
	heavy := testapp.Heavy(500) // the template's 225 KB plus about 350 KB minified: over 500 KB, under 1 MB
	out, err := b.Build(t.Context(), build.Request{ID: "warn", Files: heavy, Profile: build.ProfileProduction}, nil)
	if err != nil {
		t.Fatal(err)
	}
	br := out.Report.Budget
	if br == nil || br.Status != build.BudgetWarn || out.Report.BudgetErr() != nil {
		t.Fatalf("budget %+v, BudgetErr %v: want a warning and no error", br, out.Report.BudgetErr())
	}
	if len(br.Heavy) == 0 || !strings.Contains(br.Message, "src/data/words.ts") || !strings.Contains(br.Message, "over the 500 KB") {
		t.Errorf("warning %q, heavy %+v: want it to name the data module", br.Message, br.Heavy)
	}

	// A bigger budget for this app: the same output (from the output cache) is measured
	// against it.
	again, err := b.Build(t.Context(), build.Request{ID: "warn-2", Files: heavy, Profile: build.ProfileProduction,
		Budget: build.Budget{WarnBytes: 800 << 10}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Report.Cached || again.Report.Budget.Status != build.BudgetOK || again.Report.Budget.LimitBytes != build.DefaultLimitBytes {
		t.Errorf("cached %v, budget %+v: want the cached output within the app's budget", again.Report.Cached, again.Report.Budget)
	}
}
