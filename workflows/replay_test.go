package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs (see
// testdata/README.md). A change to the workflow that would break running apps fails
// here with a non-determinism error: put it behind workflow.GetVersion instead.
func TestReplayRecordedHistories(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no recorded histories in testdata")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(AppWorkflow, workflow.RegisterOptions{Name: AppWorkflowName})
			r.RegisterWorkflowWithOptions(DomainWorkflow, workflow.RegisterOptions{Name: DomainWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, p); err != nil {
				t.Fatalf("replay %s: %v", p, err)
			}
		})
	}
}
