package agent

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// The prompts. The first user message of a generation holds the user's request
// verbatim under "## Request", then the plan, then the app's files; scripted test
// servers match on the request text, so it is never rewritten.

// foundationRules describe the app the model works on; both prompts use them.
const foundationRules = `The app is a single-page web app built with Vite 8, React 19 and TypeScript 7, and nothing else unless a package is really needed. It runs entirely in the browser: there is no server, no database and no API of our own; keep data in React state and, when it should survive a reload, in localStorage.

Foundation files (already there):
- index.html: loads /src/main.tsx into <div id="root">.
- src/main.tsx: renders <App /> from src/App.tsx inside <StrictMode> and imports src/index.css.
- src/index.css: the theme. CSS variables --accent, --accent-contrast, --bg, --surface, --fg, --muted, --border, --radius, --danger, --shadow; a dark theme with :root[data-theme='dark']; base styles for body, headings, links, buttons, inputs and textareas; helper classes .page (centred column), .muted and .sr-only. Use these variables in your CSS rather than new colours.
- package.json: react and react-dom 19.3.1; vite, typescript, @vitejs/plugin-react and the React types as dev dependencies. These are pinned; do not change them.
- tsconfig.json: strict, noUnusedLocals, noUnusedParameters, noFallthroughCasesInSwitch, isolatedModules, moduleResolution bundler, jsx react-jsx.
- vite.config.ts (fixed: you cannot change it, so no Vite plugins or aliases) and public/favicon.svg.`

const typescriptRules = `TypeScript and React rules (the build runs a strict type check; any error fails it):
- Function components and hooks only. Do not import React itself for JSX (the react-jsx transform needs no import); import hooks by name: import { useState } from 'react'.
- No unused imports, variables or parameters (prefix a deliberately unused parameter with _). Use "import type" for types.
- Type props with an interface or type; type state when it is not obvious: useState<Recipe[]>([]). Type event handlers with types imported from react (import type { ChangeEvent, FormEvent } from 'react'); never use the React namespace without importing it.
- No "any". Handle null and undefined (strict null checks). Every list item needs a stable key.
- Relative imports without file extensions: import RecipeList from './components/RecipeList'.
- Plain CSS files imported from the components (import './RecipeList.css') or added to src/index.css; no CSS frameworks.
- Generate ids with crypto.randomUUID().`

// systemPrompt is the first message of every generation.
func systemPrompt(limits generate.Limits) string {
	return fmt.Sprintf(`You are appforge's app builder. You write and change a React + TypeScript web app by calling tools; the user sees the running app, not your messages.

%s

%s

How to work:
- Use the tools: write_file (create or replace a whole file), edit_file (replace one exact piece of text that occurs exactly once; best for small changes to existing files), delete_file, read_file, list_files, add_dependency (an npm package with an exact version or a ^/~ range; only when really needed), and finish.
- Paths are relative to the app folder. You may write files under src/ and public/, and index.html and tsconfig.json; package.json changes only through add_dependency. Nothing else: no absolute paths, no "..", no node_modules, no dist, no hidden files such as .env.
- Split the app into small components under src/components/ (one per file), with shared types in src/types.ts. Keep every file well under %s, and send at most %d tool calls per answer.
- Change only what the request needs. When changing an existing app, keep everything else as it is, and read a file before editing it unless its content is shown to you.
- An app with several pages or views loads each page with React.lazy and a dynamic import(), so that each becomes its own chunk; keep the first screen small.
- Never put secrets (API keys, tokens, passwords) in the app's code: everything in it is public. If the request needs one, build the app without it and say so in the summary.
- Deployment, hosting and custom domains are handled by appforge itself; ignore those parts of a request.
- When every file is written and the app type-checks, call finish with a one-paragraph summary for the user. Call finish only then; it ends your work.`,
		foundationRules, typescriptRules, size(limits.MaxFileBytes/2), limits.MaxToolCalls)
}

// planPrompt is the system message of the plan call.
const planPrompt = `You plan changes to a web app for appforge, which builds React + TypeScript web apps from chat messages and deploys them. Answer by calling submit_plan exactly once.

` + foundationRules + `

Decide first whether the request is for this web app: building it or changing it. Deployment, hosting and custom domains are handled by appforge itself, so "create a todo app and deploy it to myapp.com" is a web app request. If the request is something else (a question, a native mobile app, a server, anything that cannot run in a browser, or something harmful), set is_web_app to false, leave files empty, and put a short, friendly answer in reply.

For a web app request:
- title: a short name for the app (2 to 5 words).
- summary: one paragraph for the user saying what the app will do, or what will change.
- files: every file you will create, modify or delete, each with a one-line purpose. Paths are relative: src/..., public/..., index.html, tsconfig.json; list package.json only if you will add a package. Split a new app into several small components under src/components/, with shared types in src/types.ts. For a change to an existing app, list only the files the change needs; leave everything else alone.
- reply: empty.`

// PlanState is the agent's Plan.State, JSON-encoded:
//
//	{
//	  "plan_usage": {"calls": 1, "prompt_tokens": 1830, "completion_tokens": 214, "cost_usd": 0.0054},
//	  "model": "gpt-4.1",
//	  "files": [{"path": "src/App.tsx", "action": "modify", "purpose": "show the search box"}],
//	  "dropped": ["../secrets.txt"]
//	}
//
// plan_usage is the plan call's model use (also in Plan.Usage), for the caller to add
// to the version's; files are the planned changes with the model's purpose for each,
// which the first step shows the model; dropped are planned paths refused by the path
// rules. The state is never required: Step works from Plan.Changes when it is absent.
type PlanState struct {
	PlanUsage generate.Usage `json:"plan_usage"`
	Model     string         `json:"model,omitempty"`
	Files     []PlannedFile  `json:"files,omitempty"`
	Dropped   []string       `json:"dropped,omitempty"`
}

// PlannedFile is one file of a plan with its purpose.
type PlannedFile struct {
	Path    string          `json:"path"`
	Action  generate.Action `json:"action"`
	Purpose string          `json:"purpose,omitempty"`
}

// Budgets for file contents shown in the first messages; beyond them the model sees
// the paths and reads what it needs.
const (
	stepContentBudget = 60 << 10
	planContentBudget = 40 << 10
)

// firstUserMessage opens a generation: the request verbatim, the plan, the files.
func firstUserMessage(in generate.StepInput) string {
	var b strings.Builder
	b.WriteString("## Request\n\n")
	b.WriteString(in.Request.Message)
	b.WriteString("\n\n")
	title := strings.TrimSpace(in.Plan.Title)
	if title != "" {
		fmt.Fprintf(&b, "## Plan: %s\n\n", title)
	} else {
		b.WriteString("## Plan\n\n")
	}
	if s := strings.TrimSpace(in.Plan.Summary); s != "" {
		b.WriteString(s)
		b.WriteString("\n\n")
	}
	planned := plannedFiles(in.Plan)
	if len(planned) > 0 {
		b.WriteString("Files to change:\n")
		for _, f := range planned {
			fmt.Fprintf(&b, "- %s %s", f.Action, f.Path)
			if f.Purpose != "" {
				fmt.Fprintf(&b, ": %s", f.Purpose)
			}
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	b.WriteString("## Current files\n\n")
	if len(in.Request.Base) == 0 {
		b.WriteString("This is a new app: the files are the foundation template.\n\n")
	} else {
		b.WriteString("These are the files of the app's current version; change only what the request needs.\n\n")
	}
	writeFiles(&b, in.Files, stepContentBudget)
	if len(in.Request.SecretNames) > 0 {
		b.WriteString("## Secrets\n\nThe app's server side has these secrets (names only; their values are never shown, and the browser code cannot read them): ")
		b.WriteString(strings.Join(in.Request.SecretNames, ", "))
		b.WriteString(". Never put a secret value in the app's code.\n\n")
	}
	b.WriteString("Make the change with the tools, then call finish.")
	return b.String()
}

// planUserMessage is the user message of the plan call.
func planUserMessage(req generate.Request, fs []files.File) string {
	var b strings.Builder
	b.WriteString("## Request\n\n")
	b.WriteString(req.Message)
	b.WriteString("\n\n## Current files\n\n")
	if len(req.Base) == 0 {
		b.WriteString("This is a new app: the files are the foundation template.\n\n")
	} else {
		b.WriteString("These are the files of the app's current version.\n\n")
	}
	writeFiles(&b, fs, planContentBudget)
	b.WriteString("Call submit_plan with your plan.")
	return b.String()
}

// plannedFiles are the plan's files with their purposes when the plan's state has them.
func plannedFiles(p generate.Plan) []PlannedFile {
	var st PlanState
	if len(p.State) > 0 && json.Unmarshal(p.State, &st) == nil && len(st.Files) > 0 {
		return st.Files
	}
	out := make([]PlannedFile, 0, len(p.Changes))
	for _, c := range p.Changes {
		out = append(out, PlannedFile{Path: c.Path, Action: c.Action})
	}
	return out
}

// writeFiles lists fs with sizes, then shows the contents of index.html, package.json
// and the files under src/ (App and main first) within budget bytes.
func writeFiles(b *strings.Builder, fs []files.File, budget int) {
	total := 0
	for _, f := range fs {
		total += len(f.Content)
	}
	fmt.Fprintf(b, "%d files, %s in total:\n", len(fs), size(total))
	for _, f := range fs {
		fmt.Fprintf(b, "- %s (%s)\n", f.Path, size(len(f.Content)))
	}
	b.WriteByte('\n')

	shown := make([]files.File, 0, len(fs))
	for _, f := range fs {
		if f.Path == "index.html" || f.Path == packageJSON || strings.HasPrefix(f.Path, "src/") {
			shown = append(shown, f)
		}
	}
	rank := func(p string) int {
		switch p {
		case "src/App.tsx":
			return 0
		case "src/main.tsx":
			return 1
		case "index.html":
			return 2
		case packageJSON:
			return 3
		}
		return 4
	}
	sort.SliceStable(shown, func(i, j int) bool { return rank(shown[i].Path) < rank(shown[j].Path) })
	var skipped []string
	used := 0
	wrote := false
	for _, f := range shown {
		if used+len(f.Content) > budget {
			skipped = append(skipped, f.Path)
			continue
		}
		if !wrote {
			b.WriteString("## Contents\n\n")
			wrote = true
		}
		used += len(f.Content)
		fmt.Fprintf(b, "<file path=%q>\n%s", f.Path, f.Content)
		if len(f.Content) > 0 && f.Content[len(f.Content)-1] != '\n' {
			b.WriteByte('\n')
		}
		b.WriteString("</file>\n\n")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(b, "Not shown for space (read them with read_file when you need them): %s\n\n", strings.Join(skipped, ", "))
	}
}

// repairMessage opens a repair round: the build's errors and the current content of the
// files they name.
func repairMessage(feedback []string, fs []files.File) string {
	var b strings.Builder
	b.WriteString(repairPrefix)
	if len(feedback) == 0 {
		b.WriteString(", but it reported no error details.\n")
	} else {
		b.WriteString(" with these errors:\n\n")
		for _, e := range feedback {
			fmt.Fprintf(&b, "- %s\n", strings.TrimSpace(e))
		}
	}
	const budget = 30 << 10
	used := 0
	for _, f := range fs {
		mentioned := false
		for _, e := range feedback {
			if strings.Contains(e, f.Path) {
				mentioned = true
				break
			}
		}
		if !mentioned || used+len(f.Content) > budget {
			continue
		}
		if used == 0 {
			b.WriteString("\nThe files these errors name, as they are now:\n\n")
		}
		used += len(f.Content)
		fmt.Fprintf(&b, "<file path=%q>\n%s", f.Path, f.Content)
		if len(f.Content) > 0 && f.Content[len(f.Content)-1] != '\n' {
			b.WriteByte('\n')
		}
		b.WriteString("</file>\n\n")
	}
	b.WriteString("\nFix them with the tools (prefer edit_file for small fixes), then call finish.")
	return b.String()
}
