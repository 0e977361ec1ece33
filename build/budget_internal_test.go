package build

import (
	"strings"
	"testing"
)

func TestCheckBudget(t *testing.T) {
	report := func(sizes map[string]int64) *Report {
		r := &Report{}
		for p, n := range sizes {
			r.Files = append(r.Files, OutputFile{Path: p, Size: n, GzipSize: n / 3})
		}
		return r
	}
	budget := Budget{WarnBytes: 1000, LimitBytes: 2000}
	tests := []struct {
		name  string
		sizes map[string]int64
		want  BudgetStatus
		total int64
		heavy []string
	}{
		{"under", map[string]int64{"index.html": 100, "assets/a.js": 800}, BudgetOK, 900, nil},
		{"at the warning", map[string]int64{"assets/a.js": 1000}, BudgetOK, 1000, nil},
		{"over the warning", map[string]int64{"index.html": 50, "assets/a.js": 900, "assets/b.css": 100}, BudgetWarn, 1050, []string{"assets/a.js"}},
		{"over the limit", map[string]int64{"assets/big.js": 1500, "assets/b.js": 400, "logo.png": 300}, BudgetOver, 2200, []string{"assets/big.js", "assets/b.js"}},
		{"maps and _headers do not count", map[string]int64{"assets/a.js": 900, "assets/a.js.map": 5000, "_headers": 400, "_redirects": 100}, BudgetOK, 900, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkBudget(report(tt.sizes), budget)
			if got.Status != tt.want || got.TotalBytes != tt.total {
				t.Errorf("status %s total %d, want %s %d", got.Status, got.TotalBytes, tt.want, tt.total)
			}
			var heavy []string
			for _, h := range got.Heavy {
				heavy = append(heavy, h.Path)
			}
			if strings.Join(heavy, ",") != strings.Join(tt.heavy, ",") {
				t.Errorf("heavy %q, want %q", heavy, tt.heavy)
			}
			if got.Message == "" {
				t.Error("no message")
			}
		})
	}
}

func TestCheckBudgetNamesModules(t *testing.T) {
	r := &Report{
		Files: []OutputFile{{Path: "assets/index-x.js", Size: 3000}, {Path: "index.html", Size: 10}},
		Chunks: []Chunk{{File: "assets/index-x.js", Modules: []Module{
			{ID: "src/data.ts", Size: 2300}, {ID: "node_modules/react-dom/client.js", Package: "react-dom", Size: 600}, {ID: "src/App.tsx", Size: 100},
		}}},
	}
	got := checkBudget(r, Budget{WarnBytes: 1000, LimitBytes: 2000})
	if got.Status != BudgetOver || len(got.Heavy) != 1 || len(got.Heavy[0].Modules) != 3 {
		t.Fatalf("%+v", got)
	}
	// src/App.tsx is under a tenth of the file: not named.
	want := "assets/index-x.js 2.9 KB (mostly src/data.ts ~2.2 KB, node_modules/react-dom/client.js ~600 B)."
	if !strings.Contains(got.Message, want) {
		t.Errorf("message %q\nwant it to contain %q", got.Message, want)
	}
	if (Report{Budget: got}).BudgetErr() == nil {
		t.Error("BudgetErr() = nil over the limit")
	}
}

func TestBudgetDefaults(t *testing.T) {
	if got := (Budget{}).Or(Budget{}); got != (Budget{DefaultWarnBytes, DefaultLimitBytes}) {
		t.Errorf("zero budget: %+v", got)
	}
	if got := (Budget{WarnBytes: 5}).Or(Budget{WarnBytes: 7, LimitBytes: 9}); got != (Budget{5, 9}) {
		t.Errorf("request over config: %+v, want {5 9}", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KB", 1536: "1.5 KB", 500 << 10: "500 KB", 1 << 20: "1 MB", 1258291: "1.2 MB", 1288490: "1.23 MB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"750000": 750000, "500KB": 500 << 10, "500 kb": 500 << 10, "1MB": 1 << 20, "1.5MiB": 3 << 19, "2m": 2 << 20, "10B": 10, "0": 0,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "lots", "-1", "1e20", "NaN", "1 TB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}
