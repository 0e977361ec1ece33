// Package generate turns a chat message into the files of an app version. A Generator
// first plans (what it will do, in words and as a list of file changes) and then
// generates the complete file set of the new version. The offline generator works from
// templates with no model; the LLM agent replaces it when a model is configured.
package generate

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"

	"github.com/appforge/appforge/files"
)

// ErrInvalidRequest is returned (wrapped) for a request no generator can act on, such as
// an empty message; retrying it cannot help.
var ErrInvalidRequest = errors.New("invalid request")

// Request is one chat turn as a generator sees it.
type Request struct {
	AppID   string `json:"app_id"`
	Message string `json:"message"`
	// Base is the complete file set of the version the change starts from; empty for the
	// first version of an app.
	Base []files.File `json:"base,omitempty"`
	// BaseState is the generator's own state stored with the base version (see
	// Result.State); nil for the first version.
	BaseState json.RawMessage `json:"base_state,omitempty"`
	// SecretNames are the names of the app's secrets (Worker bindings, server side).
	// A generator may be told names, never values.
	SecretNames []string `json:"secret_names,omitempty"`
}

// Action says what a plan does to one file.
type Action string

const (
	Create Action = "create"
	Modify Action = "modify"
	Delete Action = "delete"
)

// Change is one planned file change.
type Change struct {
	Path   string `json:"path"`
	Action Action `json:"action"`
}

// Plan is what a generator intends to do, shown to the user before any file is written.
type Plan struct {
	// Supported is false when the generator cannot make the change at all; Reply then
	// says why in plain words and no version is made.
	Supported bool   `json:"supported"`
	Reply     string `json:"reply,omitempty"`
	// Summary is one paragraph describing the change.
	Summary string   `json:"summary"`
	Title   string   `json:"title,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	// State is the generator's own, opaque to the pipeline; it is handed back to Generate.
	State json.RawMessage `json:"state,omitempty"`
	// Usage is the model use of planning, added to the version's.
	Usage Usage `json:"usage"`
}

// Progress reports one step of generation, such as a file written.
type Progress struct {
	Path    string `json:"path,omitempty"`
	Action  Action `json:"action,omitempty"`
	Bytes   int    `json:"bytes,omitempty"`
	Message string `json:"message,omitempty"`
}

// Result is the complete file set of the new version, as the offline generator makes it
// in one go.
type Result struct {
	Files   []files.File `json:"files"`
	Summary string       `json:"summary"`
	// State is stored with the version and returned as Request.BaseState next turn.
	State json.RawMessage `json:"state,omitempty"`
}

//go:embed all:template
var templateFS embed.FS

// Template returns the foundation every app starts from: a Vite, React and TypeScript
// project that builds as it is.
func Template() []files.File {
	var out []files.File
	err := fs.WalkDir(templateFS, "template", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, files.File{Path: strings.TrimPrefix(p, "template/"), Content: b})
		return nil
	})
	if err != nil {
		panic("generate: embedded template unreadable: " + err.Error())
	}
	return files.Sort(out)
}
