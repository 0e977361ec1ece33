// Package build turns the source files of an app version into a production bundle: an
// isolated workspace per build, node_modules linked from a content-addressed dependency
// cache (installed once per dependency set, never per build), `vite build` under a
// timeout in its own process group, and a report of every output file.
package build

import (
	"log/slog"
	"time"

	"github.com/appforge/appforge/files"
)

// Config configures a Builder. Zero values take the defaults named on each field.
type Config struct {
	// WorkDir holds one workspace per build. Required.
	WorkDir string
	// CacheDir holds the dependency cache, one folder per dependency set. Required.
	CacheDir string
	// NPM and Node are the binaries to run; default "npm" and "node" from PATH.
	NPM  string
	Node string
	// Timeout bounds one vite build; default 2 minutes.
	Timeout time.Duration
	// InstallTimeout bounds one npm install of a new dependency set; default 10 minutes.
	InstallTimeout time.Duration
	// KeepWorkspaces leaves workspaces on disk after a build, for debugging.
	KeepWorkspaces bool
	Logger         *slog.Logger
}

// Request is one build.
type Request struct {
	// ID names the workspace; unique per build (the version ID).
	ID    string
	Files []files.File
}

// OutputFile is one file of the bundle.
type OutputFile struct {
	Path     string `json:"path"` // relative to the bundle root, e.g. "assets/index-3f2a.js"
	Size     int64  `json:"size"`
	GzipSize int64  `json:"gzip_size"`
}

// Report describes a finished build.
type Report struct {
	Files         []OutputFile  `json:"files"`
	TotalSize     int64         `json:"total_size"`
	TotalGzipSize int64         `json:"total_gzip_size"`
	Duration      time.Duration `json:"duration"`      // the whole build, setup included
	ViteDuration  time.Duration `json:"vite_duration"` // vite build alone
	DepsKey       string        `json:"deps_key"`
	DepsCached    bool          `json:"deps_cached"` // false when this build installed its dependency set
	Log           string        `json:"log,omitempty"`
}

// Output is a successful build: the report and every file of the bundle.
type Output struct {
	Report Report
	Assets []files.File
}
