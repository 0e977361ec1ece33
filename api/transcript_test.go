package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/appforge/appforge/api"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
)

func TestTranscriptAndUsage(t *testing.T) {
	ts := newSQLiteServer(t, api.Options{})
	withVersions(t, ts.Store)
	ctx := t.Context()
	v2, _ := ts.Store.Version(ctx, "todoapp00001", 2)
	_, _, err := ts.Store.RecordStep(ctx, models.StepRecord{
		Step: models.GenerationStep{AppID: "todoapp00001", MessageID: "m-2", Step: 1, VersionID: v2.ID, Finished: true, Summary: "Retitled.",
			ModelCalls: 1, PromptTokens: 1200, CompletionTokens: 300, CostUSD: 0.0048},
		Messages: []models.TranscriptMessage{
			{Role: "system", Content: "You build web apps."},
			{Role: "user", Content: "Retitle"},
			{Role: "assistant", ToolCalls: `[{"id":"c1","name":"finish","arguments":"{\"summary\":\"Retitled.\"}"}]`},
			{Role: "tool", ToolCallID: "c1", Content: "done"},
		},
	})
	storetest.Must(t, err, "record step")
	storetest.Must(t, ts.Store.AddUsage(ctx, v2.ID, 1, 800, 100, 0.002), "plan usage")

	r := ts.get(t, "/v1/apps/todoapp00001/versions/2/transcript")
	if r.Status != http.StatusOK {
		t.Fatalf("transcript = %d %s", r.Status, r.Body)
	}
	var tr struct {
		Steps []struct {
			Step     int  `json:"step"`
			Finished bool `json:"finished"`
		} `json:"steps"`
		Messages []struct {
			Seq       int             `json:"seq"`
			Role      string          `json:"role"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Steps) != 1 || !tr.Steps[0].Finished || len(tr.Messages) != 4 || tr.Messages[2].Role != "assistant" {
		t.Fatalf("transcript = %s", r.Body)
	}
	jsonEqual(t, "tool calls", tr.Messages[2].ToolCalls, `[{"id":"c1","name":"finish","arguments":"{\"summary\":\"Retitled.\"}"}]`)

	var app struct {
		Usage struct {
			ModelCalls   int     `json:"model_calls"`
			PromptTokens int     `json:"prompt_tokens"`
			CostUSD      float64 `json:"cost_usd"`
		} `json:"usage"`
	}
	json.Unmarshal(ts.get(t, "/v1/apps/todoapp00001").Body, &app)
	if app.Usage.ModelCalls != 2 || app.Usage.PromptTokens != 2000 || app.Usage.CostUSD < 0.0067 || app.Usage.CostUSD > 0.0069 {
		t.Errorf("app usage = %+v", app.Usage)
	}
	if r := ts.get(t, "/v1/apps/todoapp00001/versions/9/transcript"); r.Status != http.StatusNotFound {
		t.Errorf("missing version transcript = %d", r.Status)
	}
}
