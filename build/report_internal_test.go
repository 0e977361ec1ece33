package build

import "testing"

func TestModuleID(t *testing.T) {
	tests := []struct{ id, ws, rel, pkg string }{
		{"/work/ws/v1/src/App.tsx", "/work/ws/v1", "src/App.tsx", ""},
		{"/cache/deps/k/node_modules/react-dom/cjs/client.js", "/work/ws/v1", "node_modules/react-dom/cjs/client.js", "react-dom"},
		{"node_modules/@scope/pkg/index.js", "", "node_modules/@scope/pkg/index.js", "@scope/pkg"},
		{"../../cache/node_modules/a/node_modules/b/x.js", "", "node_modules/b/x.js", "b"},
		{"\x00vite/preload-helper.js", "/work/ws/v1", "vite/preload-helper.js", ""},
		{"/work/ws/v1/src/App.css?direct", "/work/ws/v1", "src/App.css", ""},
	}
	for _, tt := range tests {
		if rel, pkg := moduleID(tt.id, tt.ws); rel != tt.rel || pkg != tt.pkg {
			t.Errorf("moduleID(%q) = %q, %q; want %q, %q", tt.id, rel, pkg, tt.rel, tt.pkg)
		}
	}
}
