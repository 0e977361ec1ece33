package agent

import (
	"strings"
	"testing"
)

func TestWritablePath(t *testing.T) {
	tests := []struct {
		path string
		want string // "" means refused
		says string // part of the refusal
	}{
		{"src/App.tsx", "src/App.tsx", ""},
		{"src/components/RecipeList.tsx", "src/components/RecipeList.tsx", ""},
		{"src/hooks/useLocalStorage.ts", "src/hooks/useLocalStorage.ts", ""},
		{"src/styles/app.module.css", "src/styles/app.module.css", ""},
		{"src/Ünïcødé/Kü che.tsx", "src/Ünïcødé/Kü che.tsx", ""},
		{"public/favicon.svg", "public/favicon.svg", ""},
		{"public/images/logo.png", "public/images/logo.png", ""},
		{"index.html", "index.html", ""},
		{"tsconfig.json", "tsconfig.json", ""},
		{"./src/App.tsx", "src/App.tsx", ""},
		{"././index.html", "index.html", ""},

		{"", "", "empty"},
		{"   ", "", "empty"},
		{"/src/App.tsx", "", "absolute"},
		{"/etc/passwd", "", "absolute"},
		{"~/x.ts", "", "absolute"},
		{"C:/x.ts", "", "absolute"},
		{"src\\App.tsx", "", "backslash"},
		{"../outside.ts", "", ".."},
		{"src/../../x.ts", "", ".."},
		{"src/..", "", ".."},
		{"src/./App.tsx", "", "leaves the app folder"},
		{"src//App.tsx", "", "empty segment"},
		{"src/", "", "empty segment"},
		{"src", "", "outside the app"},
		{"public", "", "outside the app"},
		{".env", "", "hidden"},
		{".env.local", "", "hidden"},
		{"src/.env", "", "hidden"},
		{".git/config", "", "hidden"},
		{"public/.htaccess", "", "hidden"},
		{"node_modules/react/index.js", "", "node_modules"},
		{"src/node_modules/x.js", "", "node_modules"},
		{"dist/index.html", "", "dist"},
		{"src/dist/x.ts", "", "dist"},
		{"package.json", "", "add_dependency"},
		{"package-lock.json", "", "outside the app"},
		{"server.js", "", "outside the app"},
		{"README.md", "", "outside the app"},
		{"vite.config.js", "", "the build runs it as code"},
		{"vite.config.ts", "", "the build runs it as code"},
		{"./vite.config.mts", "", "the build runs it as code"},
		{"SRC/App.tsx", "", "outside the app"},
		{"lib/x.ts", "", "outside the app"},
		{"src/App.tsx\x00", "", "control character"},
		{"src/a\nb.ts", "", "control character"},
		{"src/ App.tsx", "", "spaces"},
		{"src/App.tsx ", "", "spaces"},
		{"src/" + strings.Repeat("a", 300) + ".ts", "", "longer than"},
		{"src/a:b.ts", "", "colon"},
	}
	for _, tt := range tests {
		got, err := writablePath(tt.path)
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("writablePath(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("writablePath(%q) = %q, want a refusal", tt.path, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.says) {
			t.Errorf("writablePath(%q) error = %q, want it to say %q", tt.path, err, tt.says)
		}
		if tt.path != "package.json" && !strings.Contains(err.Error(), "src/") {
			t.Errorf("writablePath(%q) error = %q, want it to state the rule", tt.path, err)
		}
	}
}

func TestReadableAndPlanPaths(t *testing.T) {
	tests := []struct {
		path           string
		readable, plan bool
	}{
		{"package.json", true, true},
		{"src/App.tsx", true, true},
		{"README.md", true, false},
		{".env", true, false},
		{"../x", false, false},
		{"/etc/passwd", false, false},
	}
	for _, tt := range tests {
		if _, err := readablePath(tt.path); (err == nil) != tt.readable {
			t.Errorf("readablePath(%q) error = %v, want readable %v", tt.path, err, tt.readable)
		}
		if _, err := planPath(tt.path); (err == nil) != tt.plan {
			t.Errorf("planPath(%q) error = %v, want allowed %v", tt.path, err, tt.plan)
		}
	}
}
