// Package build turns the source files of an app version into a bundle: an isolated
// workspace per build, node_modules linked from a content-addressed dependency cache
// (installed once per dependency set, never per build), `vite build` under a timeout in
// its own process group with the build profile's settings laid over the app's config,
// and a report of every output file. Builds are cached at three levels: dependency sets,
// whole outputs (a build of inputs already built runs nothing), and each app's own
// Vite cache folder. See Profile for what preview and production builds differ in,
// Budget for the size budget of production builds, and Headers for the _headers file
// every bundle gets.
//
// The package runs child processes in their own process groups and takes flock(2) locks,
// so it builds on Unix only.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/appforge/appforge/files"
)

// Config configures a Builder. Zero values take the defaults named on each field.
type Config struct {
	// WorkDir holds one workspace per build. Required.
	WorkDir string
	// CacheDir holds the dependency cache, one folder per dependency set. Required. Several
	// processes may share it: installs are guarded by a lock file per dependency set.
	CacheDir string
	// NPM and Node are the binaries to run; default "npm" and "node" from PATH.
	NPM  string
	Node string
	// Timeout bounds the child processes of one build, the type check and the vite build
	// together; default 2 minutes.
	Timeout time.Duration
	// InstallTimeout bounds one npm install of a new dependency set; default 10 minutes.
	InstallTimeout time.Duration
	// KillGrace is how long a cancelled or timed-out child process group has between
	// SIGTERM and SIGKILL; default 2 seconds.
	KillGrace time.Duration
	// InstallScripts lets npm run the install scripts of dependencies. Off by default: the
	// dependency set is chosen by a model, and the packages an app needs (Vite, Rolldown,
	// TypeScript 7, React) ship their native parts as optional dependencies, not scripts.
	InstallScripts bool
	// KeepWorkspaces leaves workspaces on disk after a build, for debugging.
	KeepWorkspaces bool
	// Budget is the size budget of production builds; zero fields take DefaultWarnBytes
	// and DefaultLimitBytes. Request.Budget overrides it per app.
	Budget Budget
	// OutputCacheBytes bounds the output cache (CacheDir/out), least recently used
	// entries going first; default 1 GiB. Negative turns the output cache off.
	OutputCacheBytes int64
	// AppCacheBytes bounds the per-app caches (CacheDir/apps), least recently used apps
	// going first; default 512 MiB.
	AppCacheBytes int64
	// PreviewEngine bundles preview builds: EngineESBuild (the default) builds them in
	// process for the apps it is verified to build as Vite does (esbuildUnsupported),
	// and hands every other app, and any app it fails on, to Vite (Report.EngineNote
	// says why); EngineVite builds every preview with Vite. Production builds always
	// use Vite. The evaluation behind the default is in esbuild.go.
	PreviewEngine Engine
	Logger        *slog.Logger
}

// Engine is the bundler of a build.
type Engine string

const (
	EngineVite    Engine = "vite"    // vite build, in a child process
	EngineESBuild Engine = "esbuild" // esbuild's Go API, in process (previews only)
)

// Request is one build.
type Request struct {
	// ID names the workspace; unique per build (the version ID). One path segment.
	ID    string
	Files []files.File
	// TypeCheck runs `tsc --noEmit -p .` before vite; type errors fail the build.
	TypeCheck bool
	// Profile is ProfilePreview (the default, what callers that predate profiles get)
	// or ProfileProduction.
	Profile Profile
	// AppID keys the app's own caches kept between its builds (Vite's cacheDir, under
	// CacheDir/apps). Empty: the build keeps none.
	AppID string
	// Budget overrides Config.Budget for this app; zero fields take the config's.
	Budget Budget
}

// OutputFile is one file of the bundle.
type OutputFile struct {
	Path     string `json:"path"` // relative to the bundle root, e.g. "assets/index-3f2a.js"
	Size     int64  `json:"size"`
	GzipSize int64  `json:"gzip_size"`
}

// Report describes a finished build.
type Report struct {
	Profile       Profile       `json:"profile"`
	Engine        Engine        `json:"engine"`
	EngineNote    string        `json:"engine_note,omitempty"` // why a preview did not use EngineESBuild
	Files         []OutputFile  `json:"files"`
	TotalSize     int64         `json:"total_size"`
	TotalGzipSize int64         `json:"total_gzip_size"`
	Duration      time.Duration `json:"duration"`      // the whole build, setup included
	ViteDuration  time.Duration `json:"vite_duration"` // vite build alone; 0 when vite did not run
	// BundleDuration is the bundler alone, vite build or esbuild; 0 on a cache hit.
	BundleDuration time.Duration `json:"bundle_duration"`
	DepsKey        string        `json:"deps_key"`
	DepsCached     bool          `json:"deps_cached"` // false when this build installed its dependency set
	// InputKey is the output cache key: the hash of the files, dependency set, profile,
	// engine, type check and builder version.
	InputKey string `json:"input_key"`
	// Cached is true when the output came from the output cache and nothing ran.
	Cached bool `json:"cached"`
	// Chunks are the JavaScript chunks with their largest modules.
	Chunks []Chunk `json:"chunks,omitempty"`
	// Budget is set for production builds: the bundle against its size budget. Over the
	// limit, BudgetErr returns the error that refuses a production deploy.
	Budget *BudgetReport `json:"budget,omitempty"`
	Log    string        `json:"log,omitempty"`
}

// Output is a successful build: the report and every file of the bundle.
type Output struct {
	Report Report
	Assets []files.File
}

// Stages of a build, reported to the heartbeat function and named by a Failure.
const (
	StagePrepare   = "prepare"
	StageInstall   = "install"
	StageLink      = "link"
	StageTypeCheck = "typecheck"
	StageBuild     = "build"
	StageReport    = "report"
)

var (
	// ErrInvalidRequest is returned (wrapped) for a request the builder refuses before
	// running anything: a bad ID, a path outside the workspace, a file under node_modules/
	// or dist/. Retrying it cannot help.
	ErrInvalidRequest = errors.New("invalid build request")
	// ErrTimeout is returned (wrapped) when a child process outlives its time limit. The
	// process group has been killed; whether to retry is the caller's call.
	ErrTimeout = errors.New("timed out")
)

// Failure is a build that ran and failed because of the app's code, or because its
// dependency set cannot be installed (a package or version does not exist). Retrying the
// same files cannot help; Errors are meant to be shown to the user and fed to the model.
type Failure struct {
	Stage  string   // StageInstall, StageTypeCheck or StageBuild
	Errors []string // at most about 20 lines, "src/App.tsx(3,7): error TS2322: ..." style
	Log    string   // bounded output of the failing step
}

func (f *Failure) Error() string {
	switch len(f.Errors) {
	case 0:
		return f.Stage + " failed"
	case 1:
		return f.Stage + " failed: " + f.Errors[0]
	default:
		return fmt.Sprintf("%s failed: %s (and %d more)", f.Stage, f.Errors[0], len(f.Errors)-1)
	}
}

// Builder builds apps. It is safe for concurrent use; builds share the dependency cache.
type Builder struct {
	cfg Config
	log *slog.Logger

	nodeID  string       // the node binary's identity, for the output cache key
	outputs *outputCache // nil when off

	mu           sync.Mutex
	installs     map[string]*installCall // in-flight installs by dependency key
	node         *nodeInfo               // learnt once from the node binary
	lastAppSweep time.Time
}

// New checks cfg, creates its folders and returns a Builder.
func New(cfg Config) (*Builder, error) {
	if cfg.WorkDir == "" || cfg.CacheDir == "" {
		return nil, errors.New("build: WorkDir and CacheDir are required")
	}
	var err error
	for _, dir := range []*string{&cfg.WorkDir, &cfg.CacheDir} {
		if *dir, err = filepath.Abs(*dir); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	for _, dir := range []string{
		cfg.WorkDir, filepath.Join(cfg.WorkDir, workLocksDir),
		filepath.Join(cfg.CacheDir, cacheDepsDir), filepath.Join(cfg.CacheDir, cacheTmpDir),
		filepath.Join(cfg.CacheDir, cacheLocksDir), filepath.Join(cfg.CacheDir, cacheOutDir),
		filepath.Join(cfg.CacheDir, cacheAppsDir),
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	if cfg.Node == "" {
		cfg.Node = "node"
	}
	if cfg.Node, err = exec.LookPath(cfg.Node); err != nil {
		return nil, fmt.Errorf("build: find node: %w", err)
	}
	if cfg.Node, err = filepath.Abs(cfg.Node); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if cfg.NPM == "" {
		cfg.NPM = "npm" // looked up when an install runs: a warm cache needs no npm
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.InstallTimeout <= 0 {
		cfg.InstallTimeout = 10 * time.Minute
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 2 * time.Second
	}
	if cfg.OutputCacheBytes == 0 {
		cfg.OutputCacheBytes = defaultOutMax
	}
	if cfg.AppCacheBytes <= 0 {
		cfg.AppCacheBytes = defaultAppsMax
	}
	cfg.Budget = cfg.Budget.Or(Budget{})
	switch cfg.PreviewEngine {
	case "":
		cfg.PreviewEngine = EngineESBuild
	case EngineVite, EngineESBuild:
	default:
		return nil, fmt.Errorf("build: unknown preview engine %q", cfg.PreviewEngine)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := &Builder{cfg: cfg, log: log, installs: make(map[string]*installCall), nodeID: nodeIdentity(cfg.Node)}
	if cfg.OutputCacheBytes > 0 {
		b.outputs = &outputCache{
			dir: filepath.Join(cfg.CacheDir, cacheOutDir), tmp: filepath.Join(cfg.CacheDir, cacheTmpDir),
			lock: filepath.Join(cfg.CacheDir, cacheLocksDir, "out.lock"), max: cfg.OutputCacheBytes, log: log, total: -1,
		}
	}
	return b, nil
}

// Folders under WorkDir and CacheDir.
const (
	workLocksDir  = ".locks" // one lock per build ID; IDs cannot start with a dot
	cacheDepsDir  = "deps"   // deps/<key>/node_modules: complete installs only
	cacheTmpDir   = "tmp"    // installs in progress, renamed into deps/ when done
	cacheLocksDir = "locks"  // locks/<key>.lock, locks/app-<key>.lock, locks/out.lock
	// cacheOutDir ("out") and cacheAppsDir ("apps") are described in cache.go.
)

// Build builds req.Files into a bundle. heartbeat (may be nil) is called at each stage and
// at least every 2 s while a child process runs or an install is awaited, so the caller can
// heartbeat its activity; it is always called on Build's own goroutine. A *Failure means
// the app's code (or dependency set) is at fault; an error wrapping ErrInvalidRequest
// means the request itself is; a cancelled ctx gives an error wrapping ctx's error;
// anything else is worth retrying. A production bundle over its size limit is still a
// successful build: its Report.Budget says so and Report.BudgetErr refuses it for a
// production deploy.
func (b *Builder) Build(ctx context.Context, req Request, heartbeat func(stage string)) (*Output, error) {
	out, err := b.build(ctx, req, heartbeat)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", req.ID, err)
	}
	return out, nil
}

func (b *Builder) build(ctx context.Context, req Request, heartbeat func(string)) (*Output, error) {
	start := time.Now()
	hb := heartbeat
	if hb == nil {
		hb = func(string) {}
	}
	inputs, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	profile, err := req.Profile.normalise()
	if err != nil {
		return nil, err
	}
	budget := b.Budget(req.Budget)
	pkg, _ := files.Find(inputs, "package.json")
	set, err := parseDeps(pkg.Content)
	if err != nil {
		return nil, err
	}
	engine, engineNote := b.chooseEngine(profile, inputs)
	inputKey := b.outputKey(inputs, set, profile, engine, req.TypeCheck)
	log := b.log.With("build_id", req.ID, "profile", string(profile))
	if req.AppID != "" {
		log = log.With("app_id", req.AppID)
	}
	if out, ok := b.fromCache(inputKey, budget, start); ok {
		log.Info("built from the output cache", "input_key", inputKey, "duration_ms", out.Report.Duration.Milliseconds())
		return out, nil
	}

	hb(StagePrepare)
	ws := filepath.Join(b.cfg.WorkDir, req.ID)
	unlock, err := lockFile(ctx, filepath.Join(b.cfg.WorkDir, workLocksDir, req.ID+".lock"), true, hb, StagePrepare)
	if err != nil {
		return nil, fmt.Errorf("lock workspace: %w", err)
	}
	defer unlock()
	// Again under the lock: an attempt of this build that overlapped may have stored it.
	if out, ok := b.fromCache(inputKey, budget, start); ok {
		log.Info("built from the output cache", "input_key", inputKey, "duration_ms", out.Report.Duration.Milliseconds())
		return out, nil
	}
	if !b.cfg.KeepWorkspaces {
		defer func() {
			if err := os.RemoveAll(ws); err != nil {
				log.Warn("remove workspace", "error", err)
			}
		}()
	}
	if err := writeWorkspace(ctx, ws, inputs); err != nil {
		return nil, err
	}

	hb(StageInstall)
	key, nodeModules, installed, err := b.ensureSet(ctx, set, hb)
	if err != nil {
		return nil, err
	}

	hb(StageLink)
	if err := linkNodeModules(ws, nodeModules); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(ws, "node_modules", "vite", "bin", "vite.js")); err != nil {
		return nil, &Failure{Stage: StageBuild, Errors: []string{"package.json: vite is not among the dependencies"}}
	}

	env := b.buildEnv(ws)
	timeLimit := limit{deadline: time.Now().Add(b.cfg.Timeout), d: b.cfg.Timeout}
	clean := cleaner{ws: ws, nodeModules: nodeModules, appConfig: appViteConfig(inputs)}
	if req.TypeCheck {
		hb(StageTypeCheck)
		t0 := time.Now()
		out, err := b.run(ctx, command{
			stage: StageTypeCheck, dir: ws, env: env, limit: timeLimit, heartbeat: hb,
			name: b.cfg.Node, args: []string{filepath.Join(ws, "node_modules", ".bin", "tsc"), "--noEmit", "--pretty", "false", "-p", "."},
		})
		if err != nil {
			return nil, stageError(StageTypeCheck, out, err, clean, parseTSC)
		}
		log.Debug("type check passed", "duration_ms", time.Since(t0).Milliseconds())
	}

	hb(StageBuild)
	var bundle *bundled
	if engine == EngineESBuild {
		bundle, err = b.esbuild(ctx, ws, inputs, profile)
		var f *Failure
		switch {
		case errors.Is(err, errFallBack):
			engine, engineNote = EngineVite, err.Error()
		case errors.As(err, &f):
			// Vite's verdict and messages are the ones that count: the same code fails
			// the production build, and the model repairs what Vite reports.
			engine, engineNote = EngineVite, "esbuild failed, so Vite built it: "+f.Error()
		}
	}
	if engine == EngineVite {
		bundle, err = b.vite(ctx, ws, inputs, profile, req.AppID, command{stage: StageBuild, dir: ws, env: env, limit: timeLimit, heartbeat: hb}, clean)
	}
	if err != nil {
		return nil, err
	}

	hb(StageReport)
	assets := bundle.assets
	if _, ok := files.Find(assets, "index.html"); !ok {
		return nil, &Failure{Stage: StageBuild, Errors: []string{"the build wrote no index.html"}, Log: bundle.log}
	}
	if profile == ProfileProduction {
		var removed []string
		if assets, removed = finishProduction(assets); len(removed) > 0 {
			bundle.log += fmt.Sprintf("\nappforge: removed source maps from the production bundle: %s\n", strings.Join(removed, ", "))
		}
	}
	if _, ok := files.Find(assets, headersFile); ok {
		bundle.log += "\nappforge: the app's own _headers was replaced by the build's\n"
	}
	assets = files.Merge(assets, []files.File{{Path: headersFile, Content: Headers(profile, assets, inputs)}})
	report, err := measure(assets)
	if err != nil {
		return nil, err
	}
	if bundle.chunks != nil {
		if report.Chunks, err = bundle.chunks(report); err != nil {
			return nil, err
		}
	}
	report.Profile = profile
	report.Engine = engine
	report.EngineNote = engineNote
	report.BundleDuration = bundle.duration
	if engine == EngineVite {
		report.ViteDuration = bundle.duration
	}
	report.DepsKey = key
	report.DepsCached = !installed
	report.InputKey = inputKey
	report.Log = bundle.log
	report.Duration = time.Since(start)
	out := &Output{Report: *report, Assets: assets}
	if err := b.outputs.put(inputKey, &cachedBuild{Report: out.Report, Assets: assets}); err != nil {
		log.Warn("output cache: store", "error", err)
	}
	if profile == ProfileProduction {
		out.Report.Budget = checkBudget(&out.Report, budget)
	}
	out.Report.Duration = time.Since(start)
	log.Info("built", "engine", string(engine), "deps_key", key, "deps_cached", !installed, "files", len(assets),
		"total_size", report.TotalSize, "total_gzip_size", report.TotalGzipSize, "duration_ms", out.Report.Duration.Milliseconds(),
		"bundle_ms", bundle.duration.Milliseconds())
	return out, nil
}

// Budget returns the budget a production build runs under: app's fields where set,
// else the builder's (Config.Budget), else the package defaults.
func (b *Builder) Budget(app Budget) Budget { return app.Or(b.cfg.Budget) }

// MeasureBudget measures a stored production report against an app's budget (see
// Budget and Measure).
func (b *Builder) MeasureBudget(r Report, app Budget) Report { return Measure(r, b.Budget(app)) }

// fromCache returns the stored output of inputKey as this build's, measured against
// budget.
func (b *Builder) fromCache(inputKey string, budget Budget, start time.Time) (*Output, bool) {
	entry, ok := b.outputs.get(inputKey)
	if !ok {
		return nil, false
	}
	r := entry.Report
	r.Cached = true
	r.DepsCached = true
	r.ViteDuration, r.BundleDuration = 0, 0
	r.Budget = nil
	if r.Profile == ProfileProduction {
		r.Budget = checkBudget(&r, budget)
	}
	r.Duration = time.Since(start)
	return &Output{Report: r, Assets: entry.Assets}, true
}

// readRoots are the folders a build may read: its workspace and the dependency cache,
// by their real paths (bundlers resolve the workspace's node_modules links).
func (b *Builder) readRoots(ws string) []string {
	var roots []string
	for _, d := range []string{ws, filepath.Join(b.cfg.CacheDir, cacheDepsDir)} {
		roots = append(roots, d)
		if real, err := filepath.EvalSymlinks(d); err == nil && real != d {
			roots = append(roots, real)
		}
	}
	return roots
}

// bundled is what a bundler made.
type bundled struct {
	assets   []files.File
	chunks   func(*Report) ([]Chunk, error) // nil: no breakdown
	duration time.Duration
	log      string
}

// chooseEngine picks the bundler: Vite, or esbuild for a preview when the config asks
// for it and the app is one esbuild builds as Vite would.
func (b *Builder) chooseEngine(p Profile, inputs []files.File) (Engine, string) {
	if p != ProfilePreview || b.cfg.PreviewEngine != EngineESBuild {
		return EngineVite, ""
	}
	if reason := esbuildUnsupported(inputs); reason != "" {
		return EngineVite, "esbuild cannot build this app as Vite would: " + reason
	}
	return EngineESBuild, ""
}

// vite runs `vite build` with the wrapper config of the profile.
func (b *Builder) vite(ctx context.Context, ws string, inputs []files.File, p Profile, appID string, c command, clean cleaner) (*bundled, error) {
	cacheDir := filepath.Join(ws, "node_modules", ".vite")
	if appID != "" {
		app, err := b.openAppCache(ctx, appID)
		if err != nil {
			return nil, err
		}
		defer func() {
			app.unlock()
			b.sweepApps()
		}()
		cacheDir = filepath.Join(app.dir, "vite")
	}
	wrapper, err := viteWrapper(ws, appViteConfig(inputs), cacheDir, b.readRoots(ws), p)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(ws, filepath.FromSlash(wrapperDir)), 0o755); err != nil {
		return nil, fmt.Errorf("write vite config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(ws, filepath.FromSlash(wrapperConfig)), wrapper, 0o644); err != nil {
		return nil, fmt.Errorf("write vite config: %w", err)
	}
	c.name = b.cfg.Node
	c.args = []string{filepath.Join(ws, "node_modules", "vite", "bin", "vite.js"), "build",
		"--config", filepath.Join(ws, filepath.FromSlash(wrapperConfig)), "--mode", "production", "--logLevel", "info", "--clearScreen", "false"}
	t0 := time.Now()
	out, err := b.run(ctx, c)
	d := time.Since(t0)
	if err != nil {
		return nil, stageError(StageBuild, out, err, clean, parseVite)
	}
	assets, err := readDist(ctx, filepath.Join(ws, "dist"))
	if err != nil {
		return nil, err
	}
	res := &bundled{assets: assets, duration: d, log: clean.text(out)}
	if stats, err := os.ReadFile(filepath.Join(ws, filepath.FromSlash(statsFile))); err == nil {
		res.chunks = func(r *Report) ([]Chunk, error) { return viteChunks(stats, ws, r) }
	} else {
		// Only an app's config that stops the builder's own plugin gets here: the bundle
		// is still good, without its module breakdown.
		res.log += "\nappforge: no module breakdown: " + err.Error() + "\n"
	}
	return res, nil
}

// stageError turns a failed child process into a *Failure when the app's code is at fault
// (the process ran and exited non-zero) and into an ordinary error otherwise.
func stageError(stage, output string, err error, clean cleaner, parse func(string) []string) error {
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() < 0 {
		return err // cancelled, timed out, failed to start, or killed by a signal
	}
	text := clean.text(output)
	errs := parse(text)
	if len(errs) == 0 {
		if stage == StageTypeCheck {
			// tsc reports every problem of the app's code as "error TS…": without one,
			// tsc itself failed.
			return fmt.Errorf("%w, reporting no type error: %s", err, strings.Join(lastLines(text, 3), " | "))
		}
		errs = lastLines(text, 5)
	}
	return &Failure{Stage: stage, Errors: limitErrors(errs), Log: text}
}

// checkRequest validates the ID and every path and returns the files with clean paths.
func checkRequest(req Request) ([]files.File, error) {
	if id, err := files.CleanPath(req.ID); err != nil || id != req.ID || strings.Contains(id, "/") || strings.HasPrefix(id, ".") {
		return nil, fmt.Errorf("%w: ID %q is not a single path segment", ErrInvalidRequest, req.ID)
	}
	out := make([]files.File, 0, len(req.Files))
	seen := make(map[string]bool, len(req.Files))
	for _, f := range req.Files {
		p, err := files.CleanPath(f.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
		top, _, _ := strings.Cut(p, "/")
		if top == "node_modules" || top == "dist" {
			return nil, fmt.Errorf("%w: %q: %s/ is written by the builder", ErrInvalidRequest, p, top)
		}
		if seen[p] {
			return nil, fmt.Errorf("%w: %q appears twice", ErrInvalidRequest, p)
		}
		seen[p] = true
		out = append(out, files.File{Path: p, Content: f.Content})
	}
	files.Sort(out)
	for _, f := range out {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return nil, fmt.Errorf("%w: %q is both a file and a folder", ErrInvalidRequest, dir)
			}
		}
	}
	if !seen["package.json"] {
		return nil, &Failure{Stage: StageInstall, Errors: []string{"package.json: missing"}}
	}
	return out, nil
}

// writeWorkspace replaces ws with a fresh folder holding fs.
func writeWorkspace(ctx context.Context, ws string, fs []files.File) error {
	if err := os.RemoveAll(ws); err != nil {
		return fmt.Errorf("clear workspace: %w", err)
	}
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	for i, f := range fs {
		if i%64 == 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		p := filepath.Join(ws, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write workspace: %w", err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return fmt.Errorf("write workspace: %w", err)
		}
	}
	return nil
}

// linkNodeModules gives ws a real node_modules folder holding one symlink per top-level
// entry of the cached one (scoped @x folders and .bin included). Vite writes
// node_modules/.vite-temp and tsc node_modules/.tmp, so those land in the workspace and
// concurrent builds never share a writable folder.
func linkNodeModules(ws, cached string) error {
	entries, err := os.ReadDir(cached)
	if err != nil {
		return fmt.Errorf("link node_modules: %w", err)
	}
	nm := filepath.Join(ws, "node_modules")
	if err := os.Mkdir(nm, 0o755); err != nil {
		return fmt.Errorf("link node_modules: %w", err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".vite-temp", ".vite", ".tmp", ".cache":
			continue // per-build scratch; never shared
		}
		if err := os.Symlink(filepath.Join(cached, e.Name()), filepath.Join(nm, e.Name())); err != nil {
			return fmt.Errorf("link node_modules: %w", err)
		}
	}
	return nil
}

// buildEnv is the whole environment of tsc and vite: nothing is inherited.
func (b *Builder) buildEnv(ws string) []string {
	return []string{
		"PATH=" + b.path(),
		"HOME=" + ws,
		"NODE_ENV=production",
		"CI=1",
		"NO_COLOR=1",
		"FORCE_COLOR=0",
		"LANG=C.UTF-8",
	}
}

// path puts the node binary's folder first so that `#!/usr/bin/env node` scripts find
// the configured node.
func (b *Builder) path() string {
	return filepath.Dir(b.cfg.Node) + ":/usr/local/bin:/usr/bin:/bin"
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
