package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// FuzzToolArguments feeds arbitrary bytes as each tool's arguments. Parsing must never
// panic and must give either a call of that tool or an error written for the model; a
// parsed call, run against the template, must keep the workspace within its rules.
func FuzzToolArguments(f *testing.F) {
	seeds := []string{
		`{"path": "src/App.tsx", "content": "export default function App() { return null }\n"}`,
		`{"path": "src/App.tsx", "old_text": "New app", "new_text": "Recipes"}`,
		`{"path": "src/App.tsx", "old_text": "", "new_text": "x"}`,
		`{"path": "../../etc/passwd"}`,
		`{"path": ".env", "content": "KEY=1"}`,
		`{"name": "@tanstack/react-query", "version": "^5.59.0", "dev": false}`,
		`{"name": "date-fns", "version": "latest"}`,
		`{"summary": "done"}`,
		`{}`, ``, `null`, `[]`, `{"path": 1}`, `{"path": "src/a.ts", "content": "x"`,
		`{"path": "src/\u0000.ts", "content": "\ud83c"}`, "{\"path\": \"src/a.ts\", \"content\": \"\xff\xfe\"}",
	}
	for _, name := range append(append([]string{}, toolNames...), "run_shell") {
		for _, s := range seeds {
			f.Add(name, []byte(s))
		}
	}
	tmpl := generate.Template()
	limits := generate.Limits{MaxFiles: 10, MaxFileBytes: 1 << 10, MaxTotalBytes: 8 << 10, MaxDependencies: 2}
	f.Fuzz(func(t *testing.T, name string, args []byte) {
		partialArgs(string(args), "content") // must not panic either

		c, err := parseCall(name, string(args))
		if err != nil {
			msg := err.Error()
			if msg == "" || (!strings.Contains(msg, name) && !strings.Contains(msg, "no tool named")) {
				t.Fatalf("parseCall(%q, %q) error %q does not tell the model about the call", name, args, msg)
			}
			if _, known := toolArgs[name]; known && strings.TrimSpace(string(args)) != "" && json.Valid(args) && !strings.Contains(msg, "argument") && !strings.Contains(msg, "JSON object") {
				t.Fatalf("valid JSON %q refused without naming an argument: %q", args, msg)
			}
			return
		}
		if c.Name != name {
			t.Fatalf("parseCall(%q) gave a %q call", name, c.Name)
		}
		if _, known := toolArgs[name]; !known {
			t.Fatalf("unknown tool %q parsed", name)
		}

		w := newWorkspace(tmpl, withDefaults(limits))
		before := len(w.files)
		r := w.run(c)
		if r.text == "" {
			t.Fatalf("%s(%q): empty result", name, args)
		}
		total := 0
		for p, content := range w.files {
			total += len(content)
			if _, inTemplate := files.Find(tmpl, p); inTemplate {
				continue
			}
			if _, err := writablePath(p); err != nil {
				t.Fatalf("%s(%q) wrote %q, outside the app: %v", name, args, p, err)
			}
			if len(content) > limits.MaxFileBytes {
				t.Fatalf("%s wrote %d bytes into %q, over the limit", name, len(content), p)
			}
		}
		if total != w.total {
			t.Fatalf("tracked total %d, real %d", w.total, total)
		}
		if len(w.files) > max(before, limits.MaxFiles) || total > max(w.total, limits.MaxTotalBytes) {
			t.Fatalf("%s(%q) broke the limits: %d files, %d bytes", name, args, len(w.files), total)
		}
		if pkg, ok := w.files[packageJSON]; ok && !json.Valid(pkg) {
			t.Fatalf("%s(%q) left package.json invalid: %s", name, args, pkg)
		}
	})
}
