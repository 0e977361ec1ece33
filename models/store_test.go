package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

var ctx = context.Background()

func newApp(t *testing.T, s *models.Store, id string) models.App {
	t.Helper()
	app, created, err := s.CreateApp(ctx, models.App{ID: id, Name: "Test", PreviewScript: id + "-preview"})
	storetest.Must(t, err, "create app")
	if !created {
		t.Fatalf("CreateApp(%s) created = false, want true", id)
	}
	return app
}

func TestApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		again, created, err := s.CreateApp(ctx, models.App{ID: "app1", Name: "Other"})
		storetest.Must(t, err, "create app again")
		if created || again.Name != "Test" {
			t.Errorf("second CreateApp: created=%v name=%q, want false and the first app", created, again.Name)
		}
		if _, err := s.App(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("App(nope) error = %v, want ErrNotFound", err)
		}
		if err := s.UpdateApp(ctx, "nope", map[string]any{"name": "x"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UpdateApp(nope) error = %v, want ErrNotFound", err)
		}
		storetest.Must(t, s.UpdateApp(ctx, "app1", map[string]any{"live_version": 3, "preview_url": "http://x"}), "update")
		got, err := s.App(ctx, "app1")
		storetest.Must(t, err, "get")
		if got.LiveVersion != 3 || got.PreviewURL != "http://x" {
			t.Errorf("after update got live=%d url=%q", got.LiveVersion, got.PreviewURL)
		}
		newApp(t, s, "app2")
		apps, err := s.Apps(ctx, 10, "")
		storetest.Must(t, err, "list")
		if len(apps) != 2 {
			t.Errorf("Apps() = %d apps, want 2", len(apps))
		}
	})
}

func TestVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		v1files := []files.File{
			{Path: "index.html", Content: []byte("<html>v1</html>")},
			{Path: "src/App.tsx", Content: []byte("export default 1")},
			{Path: "src/empty.ts", Content: []byte{}},
		}
		v1, created, err := s.CreateVersion(ctx, models.NewVersion{ID: "v1", AppID: "app1", MessageID: "m1", Request: "make it", Generator: "test", Files: v1files})
		storetest.Must(t, err, "create v1")
		if !created || v1.Number != 1 || v1.Status != models.VersionGenerating || v1.FileCount != 3 {
			t.Fatalf("v1 = %+v created=%v", v1, created)
		}
		// The same message again: the same version, nothing new.
		again, created, err := s.CreateVersion(ctx, models.NewVersion{ID: "v1-retry", AppID: "app1", MessageID: "m1", Files: v1files})
		storetest.Must(t, err, "create v1 again")
		if created || again.ID != "v1" {
			t.Errorf("retry made %+v created=%v, want v1 unchanged", again, created)
		}
		v2files := files.Merge(v1files, []files.File{{Path: "src/App.tsx", Content: []byte("export default 2")}})
		v2, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "v2", AppID: "app1", MessageID: "m2", ParentNumber: 1, Files: v2files})
		storetest.Must(t, err, "create v2")
		if v2.Number != 2 || v2.ParentNumber != 1 {
			t.Errorf("v2 number=%d parent=%d, want 2 and 1", v2.Number, v2.ParentNumber)
		}
		if v1.TreeHash == v2.TreeHash {
			t.Error("v1 and v2 have the same tree hash")
		}
		got, err := s.Files(ctx, "v1")
		storetest.Must(t, err, "files v1")
		if len(got) != 3 || string(got[1].Content) != "export default 1" || got[2].Content == nil && len(got[2].Content) != 0 {
			t.Errorf("v1 files = %+v", got)
		}
		f, err := s.File(ctx, "v2", "src/App.tsx")
		storetest.Must(t, err, "file")
		if string(f.Content) != "export default 2" {
			t.Errorf("v2 App.tsx = %q", f.Content)
		}
		if _, err := s.File(ctx, "v2", "missing.ts"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("missing file error = %v, want ErrNotFound", err)
		}
		list, err := s.Versions(ctx, "app1")
		storetest.Must(t, err, "versions")
		if len(list) != 2 || list[0].Number != 1 || list[1].Number != 2 {
			t.Errorf("versions = %+v", list)
		}
		app, _ := s.App(ctx, "app1")
		if app.LatestVersion != 2 {
			t.Errorf("latest version = %d, want 2", app.LatestVersion)
		}
		if _, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "bad", AppID: "app1", MessageID: "m3", Files: []files.File{{Path: "../x"}}}); !errors.Is(err, files.ErrInvalidPath) {
			t.Errorf("bad path error = %v, want ErrInvalidPath", err)
		}
		if _, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "orphan", AppID: "nope", MessageID: "m1"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("version of unknown app error = %v, want ErrNotFound", err)
		}
	})
}

func TestConcurrentVersionsGetDistinctNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.CreateVersion(ctx, models.NewVersion{ID: fmt.Sprintf("v%d", i), AppID: "app1", MessageID: fmt.Sprintf("m%d", i),
					Files: []files.File{{Path: "a.txt", Content: []byte("same")}}})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			storetest.Must(t, err, "concurrent create")
		}
		vs, _ := s.Versions(ctx, "app1")
		for i, v := range vs {
			if v.Number != i+1 {
				t.Errorf("version %d has number %d", i, v.Number)
			}
		}
		if len(vs) != 8 {
			t.Errorf("got %d versions, want 8", len(vs))
		}
	})
}

func TestBuildOutput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		_, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "v1", AppID: "app1", MessageID: "m1"})
		storetest.Must(t, err, "create")
		out := []models.BuildOutputFile{
			{File: files.File{Path: "index.html", Content: []byte("<html>")}, GzipSize: 20},
			{File: files.File{Path: "assets/index-abc.js", Content: []byte("console.log(1)")}, GzipSize: 30},
		}
		storetest.Must(t, s.SaveBuild(ctx, "v1", out, `{"total_size":20}`, "built"), "save build")
		// Saving again replaces, it does not add.
		storetest.Must(t, s.SaveBuild(ctx, "v1", out[:1], `{"total_size":6}`, "built again"), "save build again")
		got, err := s.BuildOutput(ctx, "v1")
		storetest.Must(t, err, "build output")
		if len(got) != 1 || got[0].Path != "index.html" {
			t.Errorf("build output = %+v, want index.html only", got)
		}
		v, _ := s.VersionByID(ctx, "v1")
		if v.BuildReport != `{"total_size":6}` || v.BuildLog != "built again" {
			t.Errorf("report=%q log=%q", v.BuildReport, v.BuildLog)
		}
	})
}

func TestEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		newApp(t, s, "app2")
		wake, cancel := s.Subscribe("app1")
		defer cancel()
		e1, err := s.AppendEvent(ctx, "app1", models.NewEvent{Type: "plan", Message: "plan", Data: map[string]int{"files": 3}})
		storetest.Must(t, err, "append")
		select {
		case <-wake:
		default:
			t.Error("subscriber not woken")
		}
		e2, _ := s.AppendEvent(ctx, "app1", models.NewEvent{Key: "file:a", Type: "file", Message: "a"})
		dup, _ := s.AppendEvent(ctx, "app1", models.NewEvent{Key: "file:a", Type: "file", Message: "a again"})
		other, _ := s.AppendEvent(ctx, "app2", models.NewEvent{Type: "plan"})
		if e1.Seq != 1 || e2.Seq != 2 || dup.Seq != 2 || other.Seq != 1 {
			t.Errorf("seqs = %d %d %d %d, want 1 2 2 1", e1.Seq, e2.Seq, dup.Seq, other.Seq)
		}
		if e1.Data != `{"files":3}` {
			t.Errorf("data = %q", e1.Data)
		}
		evs, err := s.Events(ctx, "app1", 1, 100)
		storetest.Must(t, err, "events")
		if len(evs) != 1 || evs[0].Message != "a" {
			t.Errorf("events after 1 = %+v", evs)
		}
		if _, err := s.AppendEvent(ctx, "nope", models.NewEvent{Type: "x"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("event for unknown app error = %v", err)
		}
	})
}

func TestConcurrentEventsAreDense(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AppendEvent(ctx, "app1", models.NewEvent{Type: "n", Message: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		evs, _ := s.Events(ctx, "app1", 0, 0)
		if len(evs) != 20 {
			t.Fatalf("got %d events, want 20", len(evs))
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
	})
}

func TestMessagesAndDeployments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		m, created, err := s.SaveMessage(ctx, models.ChatMessage{AppID: "app1", ID: "m1", Role: models.RoleUser, Content: "hi", Status: models.MessageQueued})
		storetest.Must(t, err, "save")
		if !created || m.Content != "hi" {
			t.Errorf("save = %+v %v", m, created)
		}
		_, created, _ = s.SaveMessage(ctx, models.ChatMessage{AppID: "app1", ID: "m1", Role: models.RoleUser, Content: "hi again"})
		if created {
			t.Error("duplicate message created")
		}
		storetest.Must(t, s.UpdateMessage(ctx, "app1", "m1", map[string]any{"status": models.MessageDone}), "update")
		ms, _ := s.Messages(ctx, "app1")
		if len(ms) != 1 || ms[0].Status != models.MessageDone || ms[0].Content != "hi" {
			t.Errorf("messages = %+v", ms)
		}
		d := models.Deployment{ID: "d1", AppID: "app1", VersionID: "v1", VersionNumber: 1, Environment: models.EnvPreview, Script: "s", Status: models.DeploymentDeploying}
		storetest.Must(t, s.SaveDeployment(ctx, d), "save deployment")
		d.Status = models.DeploymentLive
		d.URL = "http://s"
		storetest.Must(t, s.SaveDeployment(ctx, d), "update deployment")
		storetest.Must(t, s.SaveDeployment(ctx, models.Deployment{ID: "d2", AppID: "app1", VersionID: "v2", Environment: models.EnvPreview, Script: "s", Status: models.DeploymentLive}), "save d2")
		storetest.Must(t, s.MarkReplaced(ctx, "app1", models.EnvPreview, "d2"), "mark replaced")
		got, _ := s.Deployment(ctx, "d1")
		if got.Status != models.DeploymentReplaced || got.URL != "http://s" {
			t.Errorf("d1 = %+v", got)
		}
		ds, _ := s.Deployments(ctx, "app1")
		if len(ds) != 2 {
			t.Errorf("deployments = %d, want 2", len(ds))
		}
	})
}

func TestRecordStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		base := []files.File{{Path: "index.html", Content: []byte("<html>")}, {Path: "src/App.tsx", Content: []byte("v0")}}
		v, _, err := s.CreateVersion(ctx, models.NewVersion{ID: "v1", AppID: "app1", MessageID: "m1", Files: base})
		storetest.Must(t, err, "create version")
		step := func(n int, content string, msgs ...string) models.StepRecord {
			r := models.StepRecord{
				Step:  models.GenerationStep{AppID: "app1", MessageID: "m1", Step: n, VersionID: v.ID, ModelCalls: 1, PromptTokens: 100, CompletionTokens: 20, CostUSD: 0.001},
				Files: files.Merge(base, []files.File{{Path: "src/App.tsx", Content: []byte(content)}}),
			}
			for _, m := range msgs {
				r.Messages = append(r.Messages, models.TranscriptMessage{Role: "assistant", Content: m})
			}
			return r
		}
		_, created, err := s.RecordStep(ctx, step(1, "v1", "system", "user", "assistant 1"))
		storetest.Must(t, err, "step 1")
		if !created {
			t.Fatal("step 1 not created")
		}
		// A retry of step 1 with other output changes nothing.
		_, created, err = s.RecordStep(ctx, step(1, "other", "retry"))
		storetest.Must(t, err, "step 1 again")
		if created {
			t.Error("step 1 recorded twice")
		}
		_, _, err = s.RecordStep(ctx, step(2, "v2", "assistant 2"))
		storetest.Must(t, err, "step 2")

		f, _ := s.File(ctx, v.ID, "src/App.tsx")
		if string(f.Content) != "v2" {
			t.Errorf("App.tsx = %q, want v2", f.Content)
		}
		tr, _ := s.Transcript(ctx, "app1", "m1")
		if len(tr) != 4 || tr[3].Seq != 4 || tr[3].Content != "assistant 2" || tr[3].Step != 2 {
			t.Errorf("transcript = %+v", tr)
		}
		got, _ := s.VersionByID(ctx, v.ID)
		if got.ModelCalls != 2 || got.PromptTokens != 200 || got.CompletionTokens != 40 || got.TreeHash != files.TreeHash(step(2, "v2").Files) {
			t.Errorf("version usage = %+v", got)
		}
		storetest.Must(t, s.AddUsage(ctx, v.ID, 1, 50, 5, 0.0005), "add usage")
		got, _ = s.VersionByID(ctx, v.ID)
		if got.ModelCalls != 3 || got.PromptTokens != 250 {
			t.Errorf("after AddUsage = %+v", got)
		}
		steps, _ := s.GenerationSteps(ctx, "app1", "m1")
		if len(steps) != 2 {
			t.Errorf("steps = %d", len(steps))
		}
	})
}

// TestDomainServing finds a domain by the name it was attached as, or by the other
// side of its apex/www pair, on every dialect ("primary" is a reserved word in SQL).
func TestDomainServing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		storetest.Must(t, s.SaveDomain(ctx, models.Domain{Hostname: "myapp.com", AppID: "app1", Mode: "zone", Primary: "www.myapp.com", Secondary: "myapp.com", Status: models.DomainPending}), "save")
		storetest.Must(t, s.SaveDomain(ctx, models.Domain{Hostname: "shop.myapp.com", AppID: "app1", Mode: "custom_hostname", Primary: "shop.myapp.com", Status: models.DomainPending}), "save")
		for name, want := range map[string]string{"myapp.com": "myapp.com", "www.myapp.com": "myapp.com", "shop.myapp.com": "shop.myapp.com"} {
			d, err := s.DomainServing(ctx, name)
			storetest.Must(t, err, "serving %s", name)
			if d.Hostname != want {
				t.Errorf("DomainServing(%s) = %s, want %s", name, d.Hostname, want)
			}
		}
		if _, err := s.DomainServing(ctx, "other.com"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("DomainServing(other.com) error = %v, want ErrNotFound", err)
		}
	})
}

// TestSecretLimitUnderConcurrency adds new secrets at once to an environment one short
// of its limit: exactly one gets in, on every dialect.
func TestSecretLimitUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		newApp(t, s, "app1")
		const max = 10
		for i := range max - 1 {
			_, created, err := s.PutSecret(ctx, "app1", models.EnvProduction, fmt.Sprintf("K%d", i), []byte("sealed"), "k1", max)
			storetest.Must(t, err, "put K%d", i)
			if !created {
				t.Fatalf("K%d: created = false", i)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				_, _, errs[i] = s.PutSecret(ctx, "app1", models.EnvProduction, fmt.Sprintf("NEW%d", i), []byte("sealed"), "k1", max)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, models.ErrTooMany):
				t.Errorf("unexpected error: %v", err)
			}
		}
		list, err := s.Secrets(ctx, "app1", models.EnvProduction, false)
		storetest.Must(t, err, "list")
		if ok != 1 || len(list) != max {
			t.Errorf("%d of the concurrent puts got in and %d secrets are stored, want 1 and %d", ok, len(list), max)
		}
	})
}
