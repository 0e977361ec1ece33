package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/models"
)

// Client sends chat messages to app workflows and reads their state.
type Client struct {
	Temporal client.Client
	// MaxTurnsPerRun and Domains are passed to workflows this client starts.
	MaxTurnsPerRun int
	Domains        DomainOptions
}

// Send delivers a chat message to the app's workflow, starting the workflow if it is not
// running (Update-With-Start): the first message of a new app, or any message after a
// workflow ended. The update's ID is the message ID, so a retried call is answered with
// the first call's result and never queues the message twice.
func (c *Client) Send(ctx context.Context, appID string, m ChatMessage) (SendResult, error) {
	start := c.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       AppWorkflowID(appID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(AppIDAttribute.ValueSet(appID)),
	}, AppWorkflowName, AppInput{AppID: appID, MaxTurnsPerRun: c.MaxTurnsPerRun, Domains: c.Domains})
	handle, err := c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     m.ID,
			UpdateName:   UpdateSendMessage,
			Args:         []any{m},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return SendResult{}, fmt.Errorf("send message %s to app %s: %w", m.ID, appID, err)
	}
	var res SendResult
	if err := handle.Get(ctx, &res); err != nil {
		return SendResult{}, fmt.Errorf("send message %s to app %s: %w", m.ID, appID, err)
	}
	return res, nil
}

// Stop stops a chat message: one still waiting leaves the queue, the turn at work stops
// while it may (see UpdateStop). A refusal is a *temporal.ApplicationError of type
// StopErrNotFound or StopErrTooLate. The update ID makes a retried call one stop.
func (c *Client) Stop(ctx context.Context, appID, messageID string) (StopResult, error) {
	handle, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   AppWorkflowID(appID),
		UpdateID:     "stop:" + messageID,
		UpdateName:   UpdateStop,
		Args:         []any{StopRequest{MessageID: messageID}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return StopResult{}, fmt.Errorf("stop message %s of app %s: %w", messageID, appID, err)
	}
	var res StopResult
	if err := handle.Get(ctx, &res); err != nil {
		return StopResult{}, fmt.Errorf("stop message %s of app %s: %w", messageID, appID, err)
	}
	return res, nil
}

// CheckDomain asks a domain's workflow to check now instead of waiting for its timer.
func (c *Client) CheckDomain(ctx context.Context, hostname string) error {
	if err := c.Temporal.SignalWorkflow(ctx, DomainWorkflowID(hostname), "", SignalCheckNow, nil); err != nil {
		return fmt.Errorf("check domain %s: %w", hostname, err)
	}
	return nil
}

// DetachDomain asks a domain's workflow to detach the domain and end.
func (c *Client) DetachDomain(ctx context.Context, hostname string) error {
	if err := c.Temporal.SignalWorkflow(ctx, DomainWorkflowID(hostname), "", SignalDetach, nil); err != nil {
		return fmt.Errorf("detach domain %s: %w", hostname, err)
	}
	return nil
}

// DetachEndedDomain detaches a domain whose workflow has ended with its record left
// behind (its setup or an earlier detach failed). Deleting only the record would leave
// the custom domain, custom hostname or DNS records at Cloudflare, so it starts the
// domain's workflow in detach-only mode, with the zone and custom hostname the record
// knows; the workflow deletes the record once Cloudflare is clean. It is a
// signal-with-start: should the domain have been attached again meanwhile, its running
// workflow gets the detach signal instead.
func (c *Client) DetachEndedDomain(ctx context.Context, d models.Domain) error {
	in := DomainInput{AppID: d.AppID, Hostname: d.Hostname, Mode: d.Mode, Primary: d.Primary, Secondary: d.Secondary, Options: c.Domains,
		DetachOnly: true, State: &DomainState{ZoneID: d.ZoneID, CustomHostnameID: d.CustomHostnameID}}
	_, err := c.Temporal.SignalWithStartWorkflow(ctx, DomainWorkflowID(d.Hostname), SignalDetach, nil,
		client.StartWorkflowOptions{ID: DomainWorkflowID(d.Hostname), TaskQueue: TaskQueue}, DomainWorkflowName, in)
	if err != nil {
		return fmt.Errorf("detach domain %s: %w", d.Hostname, err)
	}
	return nil
}

// DomainState queries a domain's workflow.
func (c *Client) DomainState(ctx context.Context, hostname string) (DomainState, error) {
	v, err := c.Temporal.QueryWorkflow(ctx, DomainWorkflowID(hostname), "", QueryState)
	if err != nil {
		return DomainState{}, fmt.Errorf("query domain %s: %w", hostname, err)
	}
	var st DomainState
	if err := v.Get(&st); err != nil {
		return DomainState{}, err
	}
	return st, nil
}

// State queries the app's workflow for its live state.
func (c *Client) State(ctx context.Context, appID string) (AppState, error) {
	v, err := c.Temporal.QueryWorkflow(ctx, AppWorkflowID(appID), "", QueryState)
	if err != nil {
		return AppState{}, fmt.Errorf("query app %s: %w", appID, err)
	}
	var st AppState
	if err := v.Get(&st); err != nil {
		return AppState{}, fmt.Errorf("query app %s: %w", appID, err)
	}
	return st, nil
}
