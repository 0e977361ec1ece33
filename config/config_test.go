package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := LoadFrom(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !c.StartsTemporal() || c.TemporalAddress != "127.0.0.1:7233" || c.TemporalUIURL != "http://localhost:8233" {
		t.Errorf("temporal defaults: %+v", c)
	}
	if !c.UsesLocalEdge() || c.SQLitePath() != "data/appforge.db" || c.DepsDir != "data/deps" {
		t.Errorf("embedded defaults: %+v", c)
	}
	if got := c.PublicURLFor("127.0.0.1:8080"); got != "http://localhost:8080" {
		t.Errorf("PublicURLFor = %q", got)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"APPFORGE_BUILD_TIMEOUT":     "soon",
		"APPFORGE_BUILD_CONCURRENCY": "0",
		"APPFORGE_TEMPORAL_PORT":     "x",
		"LOG_LEVEL":                  "loud",
		"LOG_FORMAT":                 "xml",
		"APPFORGE_DEPLOY_RATE":       "-1",
		"APPFORGE_TEMPORAL_HEADLESS": "maybe",
		"CLOUDFLARE_API_TOKEN":       "token-without-account",
		"APPFORGE_BUDGET_LIMIT":      "a lot",
		"APPFORGE_BUDGET_WARN":       "-5KB",
	} {
		_, err := LoadFrom(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		want := name
		if name == "CLOUDFLARE_API_TOKEN" {
			want = "CLOUDFLARE_ACCOUNT_ID"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: error %v, want one naming %s", name, value, err, want)
		}
	}
	c, err := LoadFrom(func(k string) string {
		return map[string]string{"APPFORGE_BUILD_TIMEOUT": "90s", "TEMPORAL_ADDRESS": "t:7233"}[k]
	})
	if err != nil || c.BuildTimeout != 90*time.Second || c.StartsTemporal() {
		t.Errorf("config = %+v, %v", c, err)
	}
}

func TestBudgetVariables(t *testing.T) {
	c, err := LoadFrom(func(k string) string {
		return map[string]string{"APPFORGE_BUDGET_WARN": "600KB", "APPFORGE_BUDGET_LIMIT": "2MB"}[k]
	})
	if err != nil || c.BudgetWarnBytes != 600<<10 || c.BudgetLimitBytes != 2<<20 {
		t.Errorf("budget %d/%d, %v", c.BudgetWarnBytes, c.BudgetLimitBytes, err)
	}
	if _, err := LoadFrom(func(k string) string {
		return map[string]string{"APPFORGE_BUDGET_WARN": "2MB", "APPFORGE_BUDGET_LIMIT": "1MB"}[k]
	}); err == nil || !strings.Contains(err.Error(), "APPFORGE_BUDGET_WARN") {
		t.Errorf("warning above the limit: %v, want an error naming APPFORGE_BUDGET_WARN", err)
	}
	// The warning alone, above the built-in limit, is as unsatisfiable.
	if _, err := LoadFrom(func(k string) string {
		return map[string]string{"APPFORGE_BUDGET_WARN": "2MB"}[k]
	}); err == nil || !strings.Contains(err.Error(), "built-in default") {
		t.Errorf("warning alone above the default limit: %v, want an error naming the built-in default", err)
	}
	// The limit alone, below the built-in warning, is as unsatisfiable.
	if _, err := LoadFrom(func(k string) string {
		return map[string]string{"APPFORGE_BUDGET_LIMIT": "100KB"}[k]
	}); err == nil || !strings.Contains(err.Error(), "APPFORGE_BUDGET_WARN") {
		t.Errorf("limit alone below the default warning: %v, want an error", err)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := Secret("postgres://u:hunter2@h/db")
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("secret printed: %q", got)
		}
	}
	if s.Reveal() != "postgres://u:hunter2@h/db" {
		t.Error("Reveal lost the value")
	}
}

// Every variable the code reads is documented in the README and in .env.example.
func TestEveryVariableIsDocumented(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, _ := os.ReadFile("../README.md")
	example, _ := os.ReadFile("../.env.example")
	names := regexp.MustCompile(`e\.\w+\("([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 20 {
		t.Fatalf("found only %d variables in config.go", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(readme), "`"+m[1]+"`") {
			t.Errorf("%s is not in the README's configuration table", m[1])
		}
		if !strings.Contains(string(example), m[1]+"=") {
			t.Errorf("%s is not in .env.example", m[1])
		}
	}
}
