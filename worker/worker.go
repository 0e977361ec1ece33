// Package worker runs appforge's Temporal workers: one per task queue, each with the
// limits its kind of work needs (builds bounded by cores, Cloudflare calls by its rate
// limit), all in one process by default.
package worker

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/appforge/appforge/activities"
	"github.com/appforge/appforge/workflows"
)

// Options configures the workers.
type Options struct {
	Client     client.Client
	Activities *activities.Activities
	// Queues limits which task queues this process serves; empty means all of them.
	Queues []string
	// BuildConcurrency bounds builds at once in this process (default 2).
	BuildConcurrency int
	// DeployRatePerSecond bounds deploy activities started per second across all workers
	// of the deploy queue (default 20): a safety valve; the Cloudflare API calls
	// themselves are paced by the deployer.
	DeployRatePerSecond float64
	// LLMRatePerSecond bounds generation activities (model calls) started per second
	// across all workers of the queue (default: no bound, for the offline generator).
	LLMRatePerSecond float64
}

// AllQueues are the task queues appforge uses.
var AllQueues = []string{workflows.TaskQueue, workflows.LLMTaskQueue, workflows.BuildTaskQueue, workflows.DeployTaskQueue}

// Workers is a set of running workers.
type Workers struct {
	workers []sdkworker.Worker
}

// Start registers workflows and activities and starts polling every queue.
func Start(opts Options) (*Workers, error) {
	if opts.Client == nil || opts.Activities == nil {
		return nil, errors.New("worker: a client and activities are required")
	}
	if opts.BuildConcurrency <= 0 {
		opts.BuildConcurrency = 2
	}
	if opts.DeployRatePerSecond <= 0 {
		opts.DeployRatePerSecond = 20
	}
	if opts.LLMRatePerSecond <= 0 {
		opts.LLMRatePerSecond = 1000
	}
	queues := opts.Queues
	if len(queues) == 0 {
		queues = AllQueues
	}
	a := opts.Activities
	ws := &Workers{}
	for _, q := range queues {
		var w sdkworker.Worker
		switch q {
		case workflows.TaskQueue:
			w = sdkworker.New(opts.Client, q, sdkworker.Options{})
			RegisterWorkflows(w)
			register(w, activities.LoadAppName, a.LoadApp)
			register(w, activities.StartTurnName, a.StartTurn)
			register(w, activities.FinishTurnName, a.FinishTurn)
			register(w, activities.BeginVersionName, a.BeginVersion)
			register(w, activities.ResolveVersionName, a.ResolveVersion)
			register(w, activities.PreviousDeploymentName, a.PreviousDeployment)
			register(w, activities.RestoreVersionName, a.RestoreVersion)
			register(w, activities.PrepareDomainName, a.PrepareDomain)
			register(w, activities.DomainRecordName, a.DomainRecord)
			register(w, activities.VerifyName, a.Verify)
		case workflows.LLMTaskQueue:
			w = sdkworker.New(opts.Client, q, sdkworker.Options{
				TaskQueueActivitiesPerSecond: opts.LLMRatePerSecond,
			})
			register(w, activities.PlanName, a.Plan)
			register(w, activities.GenerateName, a.Generate)
			register(w, activities.StepName, a.Step)
		case workflows.BuildTaskQueue:
			w = sdkworker.New(opts.Client, q, sdkworker.Options{
				MaxConcurrentActivityExecutionSize: opts.BuildConcurrency,
			})
			register(w, activities.BuildName, a.Build)
			register(w, activities.MeasureName, a.Measure)
		case workflows.DeployTaskQueue:
			w = sdkworker.New(opts.Client, q, sdkworker.Options{
				TaskQueueActivitiesPerSecond: opts.DeployRatePerSecond,
			})
			register(w, activities.DeployName, a.Deploy)
			register(w, activities.SyncSecretsName, a.SyncSecrets)
			register(w, activities.DomainSetupName, a.DomainSetup)
			register(w, activities.DomainCheckName, a.DomainCheck)
			register(w, activities.DomainAttachName, a.DomainAttach)
			register(w, activities.DomainCertificateName, a.DomainCertificate)
			register(w, activities.DomainHTTPSName, a.DomainEnableHTTPS)
			register(w, activities.DomainDetachName, a.DomainDetach)
		default:
			ws.Stop()
			return nil, fmt.Errorf("worker: unknown task queue %q", q)
		}
		if err := w.Start(); err != nil {
			ws.Stop()
			return nil, fmt.Errorf("start worker on %s: %w", q, err)
		}
		ws.workers = append(ws.workers, w)
	}
	return ws, nil
}

// RegisterWorkflows registers every workflow under its pinned name.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.AppWorkflow, workflow.RegisterOptions{Name: workflows.AppWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.DomainWorkflow, workflow.RegisterOptions{Name: workflows.DomainWorkflowName})
}

func register(w sdkworker.Worker, name string, fn any) {
	w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
}

// Stop stops every worker, letting running activities finish within their grace period.
func (ws *Workers) Stop() {
	if ws == nil {
		return
	}
	for _, w := range ws.workers {
		w.Stop()
	}
}

// EnsureSearchAttributes registers appforge's custom search attributes in the namespace
// if they are missing. The dev server gets them from its command line; a cluster gets
// them here (which needs operator permissions there).
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, key := range workflows.SearchAttributes() {
		if _, ok := resp.GetCustomAttributes()[key.GetName()]; !ok {
			missing[key.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
