package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/generate"
)

// How often a refusal may repeat within a round before the generation stops.
const (
	maxOutsideRefusals = 5
	maxLimitRefusals   = 3
)

// Step implements generate.Generator: one streamed model call, then the tool calls it
// made, in order, against a copy of in.Files. It has no side effects beyond its result
// and progress reports. Problems with the model's answer are told to the model and
// recorded as Notes; limits reached end the generation through Stopped; only a failed
// model call is an error, always a *generate.ProviderError (or the context's error when
// the caller cancelled).
func (a *Agent) Step(ctx context.Context, in generate.StepInput, progress func(generate.Progress)) (generate.StepOutput, error) {
	if err := checkMessage(in.Request.Message); err != nil {
		return generate.StepOutput{}, err
	}
	if err := ctx.Err(); err != nil {
		return generate.StepOutput{}, err
	}
	if progress == nil {
		progress = func(generate.Progress) {}
	}
	start := in.Files
	if len(start) == 0 {
		start = in.Request.Base
	}
	if len(start) == 0 {
		start = generate.Template()
	}
	ws := newWorkspace(start, a.limits)
	out := generate.StepOutput{Files: ws.list()}
	if in.Step > a.limits.MaxSteps {
		out.Stopped = fmt.Sprintf("the model did not finish within %d steps", a.limits.MaxSteps)
		return out, nil
	}
	if in.Round > a.repairs {
		out.Stopped = fmt.Sprintf("the build still failed after %d repair rounds", a.repairs)
		return out, nil
	}

	var added []generate.Message
	if len(in.Transcript) == 0 {
		added = append(added,
			generate.Message{Role: "system", Content: systemPrompt(a.limits)},
			generate.Message{Role: "user", Content: firstUserMessage(in)})
	}
	if in.Round > 0 && in.Step == 1 {
		added = append(added, generate.Message{Role: "user", Content: repairMessage(in.Feedback, out.Files)})
	}
	convo := make([]generate.Message, 0, len(in.Transcript)+len(added)+8)
	convo = append(append(convo, in.Transcript...), added...)
	if n, _ := badStreak(convo); n >= a.limits.MaxBadAnswers {
		out.Messages = added
		out.Stopped = fmt.Sprintf("the model gave %d unusable answers in a row", n)
		return out, nil
	}

	ans, usage, err := a.complete(ctx, in, convo, progress, func(p string) bool { _, ok := ws.files[p]; return ok })
	if err != nil {
		if errors.Is(err, errContextLength) {
			out.Messages = added
			out.Usage = generate.Usage{Calls: 1}
			out.Stopped = fmt.Sprintf("the conversation grew longer than model %s can read", a.model)
			return out, nil
		}
		return generate.StepOutput{}, err
	}
	out.Usage = usage

	reply, results, extra, t := a.runAnswer(in, ans, ws, progress)
	out.Messages = append(added, reply)
	out.Messages = append(out.Messages, results...)
	out.Messages = append(out.Messages, extra...)
	out.Notes = t.notes
	out.Files = ws.list()
	out.Changes = changes(start, out.Files)
	if t.finished {
		out.Finished = true
		out.Summary = t.summary
		if out.Summary == "" {
			out.Summary = strings.TrimSpace(in.Plan.Summary)
		}
		return out, nil
	}
	convo = append(convo, out.Messages[len(added):]...)
	out.Stopped = a.stopReason(convo, in.Step)
	return out, nil
}

// tally is what running an answer's calls came to.
type tally struct {
	notes    []string
	finished bool
	summary  string
}

// validToolName is what providers accept as a function name in a transcript.
var validToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// runAnswer runs the answer's tool calls and returns the assistant message, one tool
// message per call, and any user message the answer calls for.
func (a *Agent) runAnswer(in generate.StepInput, ans *answer, ws *workspace, progress func(generate.Progress)) (generate.Message, []generate.Message, []generate.Message, tally) {
	var t tally
	reply := generate.Message{Role: "assistant", Content: ans.content.String()}
	truncated := ans.finishReason == openai.FinishReasonLength
	type pending struct {
		id, name, args string
	}
	calls := make([]pending, len(ans.calls))
	for i, c := range ans.calls {
		p := pending{id: c.id, name: c.name, args: c.args.String()}
		if p.id == "" {
			p.id = fmt.Sprintf("call_%d_%d_%d", in.Round, in.Step, i+1)
		}
		// What goes back into the transcript must be acceptable to the provider on the
		// next call: a broken name or broken JSON is replaced; the tool result says why.
		name, args := p.name, p.args
		if !validToolName.MatchString(name) {
			name = "invalid_tool_name"
		}
		if !json.Valid([]byte(args)) {
			args = "{}"
		}
		reply.ToolCalls = append(reply.ToolCalls, generate.ToolCall{ID: p.id, Name: name, Arguments: args})
		calls[i] = p
	}
	if reply.Content == "" && len(reply.ToolCalls) == 0 {
		reply.Content = "(empty answer)"
	}

	var results, extra []generate.Message
	addResult := func(id, text string) {
		results = append(results, generate.Message{Role: "tool", ToolCallID: id, Content: text})
	}
	if len(calls) > a.limits.MaxToolCalls {
		t.notes = append(t.notes, fmt.Sprintf("the model made %d tool calls in one answer, more than %d; none was run", len(calls), a.limits.MaxToolCalls))
		for _, c := range calls {
			addResult(c.id, badPrefix+fmt.Sprintf("your answer had %d tool calls; at most %d are run per answer, so none of them was run. Send the same work in several smaller answers.",
				len(calls), a.limits.MaxToolCalls))
		}
		return reply, results, nil, t
	}

	failedWrite := false // a call that changes files failed, or a call was unusable
	finishAt := -1
	cutNoted := false
	for _, c := range calls {
		parsed, err := parseCall(c.name, c.args)
		if err != nil {
			failedWrite = true
			if _, known := toolArgs[c.name]; !known {
				t.notes = append(t.notes, fmt.Sprintf("the model called an unknown tool %q", clip(c.name, 60)))
				addResult(c.id, badPrefix+err.Error()+".")
				continue
			}
			if truncated && !json.Valid([]byte(c.args)) {
				cutNoted = true
				t.notes = append(t.notes, fmt.Sprintf("the model's answer was cut off at its length limit in the middle of %s", c.name))
				addResult(c.id, badPrefix+"your answer was cut off at the length limit, so the arguments of this call are incomplete and it was not run. "+
					"Write smaller files (split big components into several files) or use edit_file for changes to existing files.")
				continue
			}
			t.notes = append(t.notes, fmt.Sprintf("the model's %s call had unusable arguments: %s", c.name, clip(err.Error(), 200)))
			addResult(c.id, badPrefix+err.Error()+". Nothing was done for this call.")
			continue
		}
		if parsed.Name == toolFinish {
			if failedWrite {
				addResult(c.id, errorPrefix+"not finished: an earlier call in this answer failed (see its result). Fix that, then call finish again.")
				continue
			}
			r := ws.run(parsed)
			t.finished, t.summary = true, r.summary
			finishAt = len(results)
			addResult(c.id, r.text)
			continue
		}
		r := ws.run(parsed)
		if !r.ok && parsed.Name != toolReadFile && parsed.Name != toolListFiles {
			failedWrite = true
			if finishAt >= 0 {
				results[finishAt].Content = errorPrefix + "not finished: a later call in this answer failed (see its result). Fix that, then call finish again."
				t.finished, t.summary, finishAt = false, "", -1
			}
		}
		if r.note != "" {
			t.notes = append(t.notes, r.note)
		}
		// Executed changes reach the user through StepOutput.Changes; progress is for
		// what is still streaming.
		addResult(c.id, r.text)
	}

	switch {
	case len(calls) == 0:
		var text, note string
		switch ans.finishReason {
		case openai.FinishReasonLength:
			text = "your answer was cut off at the length limit before it called a tool. Keep your text short and do the work with tool calls; write smaller files or use edit_file."
			note = "the model's answer was cut off at its length limit"
		case openai.FinishReasonContentFilter:
			text = "the provider's content filter stopped your answer. Continue with the app using the tools, and call finish when it is complete."
			note = "the provider's content filter stopped the model's answer"
		default:
			text = "it called no tool. Make the changes with the tools (write_file, edit_file, delete_file, add_dependency), and call finish when the app is complete."
			note = "the model answered without calling a tool"
		}
		t.notes = append(t.notes, note)
		extra = append(extra, generate.Message{Role: "user", Content: badPrefix + text})
	case truncated && !cutNoted:
		t.notes = append(t.notes, "the model's answer was cut off at its length limit")
		extra = append(extra, generate.Message{Role: "user", Content: badPrefix + "your answer was cut off at the length limit; the calls that arrived complete were run, the rest was lost. " +
			"Continue with smaller answers: smaller files, or edit_file for changes."})
		if t.finished {
			// A finish in a cut-off answer may have been meant for later.
			t.finished, t.summary = false, ""
			if finishAt >= 0 {
				results[finishAt].Content = errorPrefix + "not finished: the answer was cut off, so some work may be missing. Check, then call finish again."
			}
		}
	}
	return reply, results, extra, t
}

// stopReason says why the generation must stop after this step, reading the counts back
// from the transcript, or "" to go on.
func (a *Agent) stopReason(convo []generate.Message, step int) string {
	if n, _ := badStreak(convo); n >= a.limits.MaxBadAnswers {
		return fmt.Sprintf("the model gave %d unusable answers in a row (malformed tool calls, answers cut off or without tool calls)", n)
	}
	c := roundRefusals(convo)
	switch {
	case c[outsidePrefix] >= maxOutsideRefusals:
		return fmt.Sprintf("the model kept writing outside the app (%d refused paths)", c[outsidePrefix])
	case c[filesPrefix] >= maxLimitRefusals:
		return fmt.Sprintf("the model tried to write more than %d files", a.limits.MaxFiles)
	case c[sizePrefix] >= maxLimitRefusals:
		return fmt.Sprintf("the model tried to write files larger than %s", size(a.limits.MaxFileBytes))
	case c[totalPrefix] >= maxLimitRefusals:
		return fmt.Sprintf("the model tried to make the app larger than %s", size(a.limits.MaxTotalBytes))
	case c[depsPrefix] >= maxLimitRefusals:
		return fmt.Sprintf("the model tried to add more than %d packages", a.limits.MaxDependencies)
	case step >= a.limits.MaxSteps:
		return fmt.Sprintf("the model did not finish within %d steps", a.limits.MaxSteps)
	}
	return ""
}

// badStreak counts the unusable answers at the end of the transcript: assistant
// messages followed (before the next assistant message) by a tool result or user
// message marked with badPrefix. It also returns the last one's reason.
func badStreak(convo []generate.Message) (int, string) {
	n := 0
	reason := ""
	bad := false
	for i := len(convo) - 1; i >= 0; i-- {
		m := convo[i]
		switch m.Role {
		case "assistant":
			if !bad {
				return n, reason
			}
			n++
			bad = false
		case "tool", "user":
			if strings.HasPrefix(m.Content, badPrefix) {
				bad = true
				if reason == "" {
					reason = strings.TrimPrefix(m.Content, badPrefix)
				}
			}
			if m.Role == "user" && strings.HasPrefix(m.Content, repairPrefix) {
				return n, reason
			}
		}
	}
	return n, reason
}

// roundRefusals counts refused tool calls by kind since the round began (the last
// repair message, or the start).
func roundRefusals(convo []generate.Message) map[string]int {
	counts := map[string]int{}
	for i := len(convo) - 1; i >= 0; i-- {
		m := convo[i]
		if m.Role == "user" && strings.HasPrefix(m.Content, repairPrefix) {
			break
		}
		if m.Role != "tool" {
			continue
		}
		for _, p := range []string{outsidePrefix, filesPrefix, sizePrefix, totalPrefix, depsPrefix} {
			if strings.HasPrefix(m.Content, p) {
				counts[p]++
			}
		}
	}
	return counts
}

// complete makes the streamed model call.
func (a *Agent) complete(ctx context.Context, in generate.StepInput, convo []generate.Message, progress func(generate.Progress), exists func(string) bool) (*answer, generate.Usage, error) {
	req := openai.ChatCompletionRequest{
		Model:         a.model,
		Messages:      toOpenAI(convo),
		Tools:         stepTools(),
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	}
	cctx, sink := withHeaderSink(ctx)
	started := a.now()
	log := a.log.With("app_id", in.Request.AppID, "round", in.Round, "step", in.Step)
	stream, err := a.client.CreateChatCompletionStream(cctx, req)
	if err != nil {
		perr := a.classify(ctx, err, sink)
		log.Warn("model call failed", "error", perr)
		return nil, generate.Usage{}, perr
	}
	defer stream.Close()
	r := &reader{now: a.now, progress: progress, exists: exists, done: sink.sawDone}
	ans, err := r.read(stream)
	if err != nil {
		perr := a.classify(ctx, err, sink)
		log.Warn("model stream failed", "error", perr, "duration_ms", a.now().Sub(started).Milliseconds())
		return nil, generate.Usage{}, perr
	}
	completion := ans.content.Len()
	for _, c := range ans.calls {
		completion += len(c.name) + c.args.Len()
	}
	schemas := 0
	for _, s := range toolSchemas {
		schemas += len(s)
	}
	usage, estimated := a.usage(ans.usage, chars(convo)+schemas, completion)
	log.Info("model call", "prompt_tokens", usage.PromptTokens, "completion_tokens", usage.CompletionTokens, "estimated", estimated,
		"cost_usd", usage.CostUSD, "finish_reason", string(ans.finishReason), "tool_calls", len(ans.calls),
		"duration_ms", a.now().Sub(started).Milliseconds())
	return ans, usage, nil
}
