package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

// version is a version as the API answers it.
type version struct {
	ID        string          `json:"id"`
	AppID     string          `json:"app_id"`
	Number    int             `json:"number"`
	MessageID string          `json:"message_id"`
	Status    string          `json:"status"`
	TreeHash  string          `json:"tree_hash"`
	FileCount int             `json:"file_count"`
	Live      bool            `json:"live"`
	Build     json.RawMessage `json:"build"`
}

var (
	v1Files = []files.File{
		{Path: "index.html", Content: []byte(`<!doctype html><script>alert(document.cookie)</script>`)},
		{Path: "package.json", Content: []byte(`{"name": "todo"}`)},
		{Path: "src/App.tsx", Content: []byte("export default function App() { return <h1>Todo</h1> }\n")},
	}
	v1Bundle = []models.BuildOutputFile{
		{File: files.File{Path: "dist/assets/index.js", Content: []byte("console.log('todo')")}, GzipSize: 40},
		{File: files.File{Path: "dist/index.html", Content: []byte("<!doctype html>")}, GzipSize: 30},
	}
	v1Report = `{"duration_ms": 1200, "files": 2}`
	v2Files  = []files.File{
		{Path: "index.html", Content: []byte(`<!doctype html><title>v2</title>`)},
		{Path: "src/App.tsx", Content: []byte("export default function App() { return <h1>Todo 2</h1> }\n")},
	}
)

// withVersions makes app todoapp00001 with version 1 (built, live) and version 2 (not
// built) through the store, as the workflow's activities do.
func withVersions(t *testing.T, s *models.Store) {
	t.Helper()
	ctx := t.Context()
	newStoreApp(t, s, "todoapp00001")
	v1, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "v_1", AppID: "todoapp00001", MessageID: "m-1", Request: "Create a todo app", Generator: "offline", GeneratorState: `{"secret":"state"}`, Files: v1Files})
	storetest.Must(t, err, "create version 1")
	storetest.Must(t, s.SaveBuild(ctx, v1.ID, v1Bundle, v1Report, "vite build: ok"), "save build")
	storetest.Must(t, s.UpdateVersion(ctx, v1.ID, map[string]any{"status": models.VersionDeployed}), "deploy version 1")
	_, _, err = s.CreateVersion(ctx, models.NewVersion{ID: "v_2", AppID: "todoapp00001", MessageID: "m-2", ParentNumber: 1, Request: "Retitle", Files: v2Files})
	storetest.Must(t, err, "create version 2")
	storetest.Must(t, s.UpdateApp(ctx, "todoapp00001", map[string]any{"live_version": 1}), "make version 1 live")
}

func jsonEqual(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s = %s, not JSON: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s = %s, want %s", what, gb, wb)
	}
}

func paths[T any](items []T, path func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, path(it))
	}
	return out
}

func TestVersions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		withVersions(t, s)
		ts := newTestServer(t, s, api.Options{})

		r := ts.get(t, "/v1/apps/todoapp00001/versions")
		list := decode[struct {
			Versions    []version `json:"versions"`
			LiveVersion int       `json:"live_version"`
		}](t, r)
		if list.LiveVersion != 1 {
			t.Errorf("live_version = %d, want 1", list.LiveVersion)
		}
		if len(list.Versions) != 2 {
			t.Fatalf("got %d versions, want 2; body %s", len(list.Versions), r.Body)
		}
		v1, v2 := list.Versions[0], list.Versions[1]
		if v1.Number != 1 || !v1.Live || v1.ID != "v_1" || v1.MessageID != "m-1" || v1.Status != models.VersionDeployed || v1.FileCount != 3 || v1.TreeHash != files.TreeHash(v1Files) {
			t.Errorf("version 1 = %+v, want number 1, live, deployed, 3 files", v1)
		}
		jsonEqual(t, "version 1 build", v1.Build, v1Report)
		if v2.Number != 2 || v2.Live || v2.Status != models.VersionGenerating {
			t.Errorf("version 2 = %+v, want number 2, not live, generating", v2)
		}
		if v2.Build != nil {
			t.Errorf("version 2 build = %s, want none before it is built", v2.Build)
		}
		if strings.Contains(string(r.Body), "secret") {
			t.Errorf("body %s shows the generator's own state, want it kept out", r.Body)
		}

		one := decode[struct {
			Version  version            `json:"version"`
			Files    []models.AppFile   `json:"files"`
			Bundle   []models.BuildFile `json:"bundle"`
			BuildLog string             `json:"build_log"`
		}](t, ts.get(t, "/v1/apps/todoapp00001/versions/1"))
		if one.Version.Number != 1 || !one.Version.Live {
			t.Errorf("version = %+v, want number 1, live", one.Version)
		}
		jsonEqual(t, "build", one.Version.Build, v1Report)
		if one.BuildLog != "vite build: ok" {
			t.Errorf("build_log = %q, want %q", one.BuildLog, "vite build: ok")
		}
		wantFiles(t, one.Files, v1Files)
		if got, want := paths(one.Bundle, func(f models.BuildFile) string { return f.Path }), []string{"dist/assets/index.js", "dist/index.html"}; !slices.Equal(got, want) {
			t.Errorf("bundle = %q, want %q", got, want)
		}
		for i, f := range one.Bundle {
			if want := v1Bundle[i]; f.GzipSize != want.GzipSize || f.Size != int64(len(want.File.Content)) || f.Hash != files.Hash(want.File.Content) {
				t.Errorf("bundle file %s = %+v, want size %d, gzip size %d", f.Path, f, len(want.File.Content), want.GzipSize)
			}
		}

		two := decode[struct {
			Version version            `json:"version"`
			Bundle  []models.BuildFile `json:"bundle"`
		}](t, ts.get(t, "/v1/apps/todoapp00001/versions/2"))
		if two.Version.Number != 2 || two.Version.Live || len(two.Bundle) != 0 {
			t.Errorf("version 2 = %+v with bundle %+v, want number 2, not live, no bundle", two.Version, two.Bundle)
		}

		fl := decode[struct {
			Version int              `json:"version"`
			Files   []models.AppFile `json:"files"`
		}](t, ts.get(t, "/v1/apps/todoapp00001/versions/2/files"))
		if fl.Version != 2 {
			t.Errorf("version = %d, want 2", fl.Version)
		}
		wantFiles(t, fl.Files, v2Files)
	})
}

func wantFiles(t *testing.T, got []models.AppFile, want []files.File) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("files = %+v, want %d files", got, len(want))
	}
	for i, f := range got {
		w := want[i]
		if f.Path != w.Path || f.Size != int64(len(w.Content)) || f.Hash != files.Hash(w.Content) {
			t.Errorf("file %d = %+v, want %s of %d bytes", i, f, w.Path, len(w.Content))
		}
	}
}

func TestFileContent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		withVersions(t, s)
		ts := newTestServer(t, s, api.Options{})
		tests := []struct {
			path        string
			content     []byte
			contentType string
		}{
			// HTML is shown as text: an app's page must not run on the API's origin.
			{"/v1/apps/todoapp00001/versions/1/files/index.html", v1Files[0].Content, "text/plain; charset=utf-8"},
			{"/v1/apps/todoapp00001/versions/1/files/package.json", v1Files[1].Content, "application/json"},
			{"/v1/apps/todoapp00001/versions/1/files/src/App.tsx", v1Files[2].Content, "text/plain; charset=utf-8"},
			{"/v1/apps/todoapp00001/versions/2/files/index.html", v2Files[0].Content, "text/plain; charset=utf-8"},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				r := ts.get(t, tt.path)
				if r.Status != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", r.Status, r.Body)
				}
				if string(r.Body) != string(tt.content) {
					t.Errorf("body = %q, want %q", r.Body, tt.content)
				}
				if got := r.Header.Get("Content-Type"); got != tt.contentType {
					t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
				}
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
				}
			})
		}
	})
}

func TestBadAndMissingVersions(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	withVersions(t, ts.Store)
	const app = "/v1/apps/todoapp00001"
	tests := []struct {
		path   string
		status int
		code   string
		want   string // in the message
	}{
		{app + "/versions/abc", 400, "invalid_version", `"abc"`},
		{app + "/versions/0", 400, "invalid_version", `"0"`},
		{app + "/versions/-1", 400, "invalid_version", `"-1"`},
		{app + "/versions/1.5", 400, "invalid_version", `"1.5"`},
		{app + "/versions/99999999999999999999", 400, "invalid_version", "99999999999999999999"},
		{app + "/versions/abc/files", 400, "invalid_version", `"abc"`},
		{app + "/versions/0/files/index.html", 400, "invalid_version", `"0"`},
		{app + "/versions/3", 404, "not_found", "version 3"},
		{app + "/versions/3/files", 404, "not_found", "version 3"},
		{app + "/versions/3/files/index.html", 404, "not_found", "version 3"},
		{app + "/versions/1/files/nope.txt", 404, "not_found", "nope.txt"},
		{app + "/versions/1/files/src", 404, "not_found", "src"},
		{app + "/versions/2/files/package.json", 404, "not_found", "package.json"},
		{app + "/versions/1/files/dist/index.html", 404, "not_found", "dist/index.html"}, // bundle, not source
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			msg := wantError(t, ts.get(t, tt.path), tt.status, tt.code)
			wantContains(t, "message", msg, tt.want)
		})
	}
}

func TestNoVersionsYet(t *testing.T) {
	t.Parallel()
	ts := newSQLiteServer(t, api.Options{})
	newStoreApp(t, ts.Store, "todoapp00001")
	r := ts.get(t, "/v1/apps/todoapp00001/versions")
	got := decode[struct {
		Versions    []version `json:"versions"`
		LiveVersion int       `json:"live_version"`
	}](t, r)
	if got.Versions == nil || len(got.Versions) != 0 || got.LiveVersion != 0 {
		t.Errorf("body = %s, want an empty list and live_version 0", r.Body)
	}
}
