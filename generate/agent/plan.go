package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// planArgs are submit_plan's arguments.
type planArgs struct {
	IsWebApp *bool  `json:"is_web_app"`
	Reply    string `json:"reply"`
	Title    string `json:"title"`
	Summary  string `json:"summary"`
	Files    []struct {
		Path    string `json:"path"`
		Action  string `json:"action"`
		Purpose string `json:"purpose"`
	} `json:"files"`
}

// Plan implements generate.Generator with one model call that must answer with
// submit_plan. A request that is not for a web app gives a plan with Supported false
// and the model's answer as Reply. Plan.State holds a PlanState.
func (a *Agent) Plan(ctx context.Context, req generate.Request) (generate.Plan, error) {
	if err := checkMessage(req.Message); err != nil {
		return generate.Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return generate.Plan{}, err
	}
	base := req.Base
	if len(base) == 0 {
		base = generate.Template()
	}
	msgs := []generate.Message{
		{Role: "system", Content: planPrompt},
		{Role: "user", Content: planUserMessage(req, base)},
	}
	creq := openai.ChatCompletionRequest{
		Model:    a.model,
		Messages: toOpenAI(msgs),
		Tools:    []openai.Tool{tool(toolSubmitPlan)},
		ToolChoice: openai.ToolChoice{Type: openai.ToolTypeFunction,
			Function: openai.ToolFunction{Name: toolSubmitPlan}},
	}
	cctx, sink := withHeaderSink(ctx)
	started := a.now()
	resp, err := a.client.CreateChatCompletion(cctx, creq)
	if err != nil {
		perr := a.classify(ctx, err, sink)
		a.log.Warn("plan call failed", "app_id", req.AppID, "error", perr)
		return generate.Plan{}, perr
	}
	var args string
	var finish openai.FinishReason
	completion := 0
	if len(resp.Choices) > 0 {
		ch := resp.Choices[0]
		finish = ch.FinishReason
		completion = len(ch.Message.Content)
		for _, tc := range ch.Message.ToolCalls {
			completion += len(tc.Function.Arguments)
			if tc.Function.Name == toolSubmitPlan && args == "" {
				args = tc.Function.Arguments
			}
		}
	}
	usage, estimated := a.usage(&resp.Usage, chars(msgs)+len(toolSchemas[toolSubmitPlan]), completion)
	a.log.Info("plan call", "app_id", req.AppID, "prompt_tokens", usage.PromptTokens, "completion_tokens", usage.CompletionTokens,
		"estimated", estimated, "cost_usd", usage.CostUSD, "finish_reason", string(finish), "duration_ms", a.now().Sub(started).Milliseconds())

	var pa planArgs
	switch {
	case args == "" && finish == openai.FinishReasonLength:
		return generate.Plan{}, a.providerError("transient", "the model's plan was cut off at its length limit; appforge will ask again", errNoPlan)
	case args == "":
		return generate.Plan{}, a.providerError("transient", "the model answered without submitting a plan; appforge will ask again", errNoPlan)
	default:
		if err := json.Unmarshal([]byte(args), &pa); err != nil {
			return generate.Plan{}, a.providerError("transient",
				fmt.Sprintf("the model's plan was not valid JSON (%s); appforge will ask again", jsonProblem(err)), fmt.Errorf("%w: %w", errNoPlan, err))
		}
	}
	plan := planFromArgs(pa, base)
	st := PlanState{PlanUsage: usage, Model: a.model}
	for _, f := range pa.Files {
		if _, err := planPath(f.Path); err != nil {
			st.Dropped = append(st.Dropped, clip(f.Path, 200))
		}
	}
	purpose := map[string]string{}
	for _, f := range pa.Files {
		if p, err := planPath(f.Path); err == nil && purpose[p] == "" {
			purpose[p] = clip(strings.TrimSpace(f.Purpose), 300)
		}
	}
	for _, c := range plan.Changes {
		st.Files = append(st.Files, PlannedFile{Path: c.Path, Action: c.Action, Purpose: purpose[c.Path]})
	}
	if len(st.Dropped) > 0 {
		a.log.Warn("plan named files outside the app", "app_id", req.AppID, "paths", st.Dropped)
	}
	plan.State, _ = json.Marshal(st)
	plan.Usage = usage
	return plan, nil
}

// planFromArgs maps submit_plan's arguments onto a plan of changes to base: paths the
// path rules refuse are dropped, duplicates merged, and each action made to fit the
// base (creating a file that exists modifies it; deleting one that does not exist, or
// one the app needs, is dropped).
func planFromArgs(pa planArgs, base []files.File) generate.Plan {
	plan := generate.Plan{
		Title:   clip(strings.TrimSpace(pa.Title), 100),
		Summary: clip(strings.TrimSpace(pa.Summary), 2000),
		Reply:   clip(strings.TrimSpace(pa.Reply), 4000),
	}
	seen := map[string]bool{}
	dropped := 0
	for _, f := range pa.Files {
		p, err := planPath(f.Path)
		if err != nil {
			dropped++
			continue
		}
		if seen[p] {
			continue
		}
		_, exists := files.Find(base, p)
		var action generate.Action
		switch generate.Action(strings.ToLower(strings.TrimSpace(f.Action))) {
		case generate.Delete:
			if !exists || essentialFiles[p] {
				continue
			}
			action = generate.Delete
		default:
			action = generate.Create
			if exists {
				action = generate.Modify
			}
		}
		seen[p] = true
		plan.Changes = append(plan.Changes, generate.Change{Path: p, Action: action})
	}
	webApp := len(pa.Files) > 0
	if pa.IsWebApp != nil {
		webApp = *pa.IsWebApp
	}
	plan.Supported = webApp && len(plan.Changes) > 0
	if !plan.Supported {
		plan.Changes = nil
		if plan.Reply == "" {
			switch {
			case webApp && dropped > 0:
				plan.Reply = "I could not plan this change: every file it needs is outside what an app may contain (src/, public/, index.html and the Vite and TypeScript config)."
			case webApp:
				plan.Reply = "I found nothing to change in the app for this request. Could you say what you would like it to do?"
			default:
				plan.Reply = "This is not something I can build as a web app. Describe an app you would like, and I will build it."
			}
		}
	}
	return plan
}
