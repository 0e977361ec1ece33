package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The dependency cache. A dependency set is the dependencies and devDependencies of an
// app's package.json, merged (dependencies win a tie) and sorted. Its key hashes the set
// with node's major version, platform and architecture and whether install scripts run:
// everything that changes what npm puts into node_modules. CacheDir/deps/<key> holds a
// complete install and nothing else does: npm installs into CacheDir/tmp, and the folder is
// renamed into place when npm succeeds. A flock on CacheDir/locks/<key>.lock keeps two
// processes from installing the same set; within a process, concurrent builds of one set
// wait for a single install.

// EnsureDeps installs the dependency set of packageJSON into the cache if it is not there
// yet and returns its key and node_modules folder. Used to warm the cache at startup. A
// package.json that cannot be installed (bad JSON, a package or version that does not
// exist) gives a *Failure; a registry outage gives an ordinary error.
func (b *Builder) EnsureDeps(ctx context.Context, packageJSON []byte) (key, nodeModules string, err error) {
	key, nodeModules, _, err = b.ensureDeps(ctx, packageJSON, func(string) {})
	if err != nil {
		return "", "", fmt.Errorf("ensure dependencies: %w", err)
	}
	return key, nodeModules, nil
}

// ensureDeps reports whether this call ran npm (installed).
func (b *Builder) ensureDeps(ctx context.Context, packageJSON []byte, hb func(string)) (key, nodeModules string, installed bool, err error) {
	set, err := parseDeps(packageJSON)
	if err != nil {
		return "", "", false, err
	}
	return b.ensureSet(ctx, set, hb)
}

// ensureSet is ensureDeps of a parsed dependency set.
func (b *Builder) ensureSet(ctx context.Context, set []dep, hb func(string)) (key, nodeModules string, installed bool, err error) {
	node, err := b.nodeInfo(ctx)
	if err != nil {
		return "", "", false, err
	}
	key = depsKey(node, b.cfg.InstallScripts, set)
	final := filepath.Join(b.cfg.CacheDir, cacheDepsDir, key)
	nodeModules = filepath.Join(final, "node_modules")
	if !isDir(nodeModules) {
		if installed, err = b.awaitInstall(ctx, key, set, hb); err != nil {
			return "", "", false, err
		}
	}
	now := time.Now()
	_ = os.Chtimes(final, now, now) // last use, for a future sweep of unused sets
	return key, nodeModules, installed, nil
}

// dep is one entry of a dependency set.
type dep struct{ name, spec string }

var npmName = regexp.MustCompile(`^(@[A-Za-z0-9][A-Za-z0-9._~-]*/)?[A-Za-z0-9][A-Za-z0-9._~-]*$`)

// parseDeps returns the normalised dependency set of a package.json.
func parseDeps(packageJSON []byte) ([]dep, error) {
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(packageJSON, &pkg); err != nil {
		return nil, &Failure{Stage: StageInstall, Errors: []string{"package.json: " + err.Error()}}
	}
	merged := make(map[string]string, len(pkg.Dependencies)+len(pkg.DevDependencies))
	for _, m := range []map[string]string{pkg.DevDependencies, pkg.Dependencies} {
		for name, spec := range m {
			merged[strings.TrimSpace(name)] = strings.TrimSpace(spec)
		}
	}
	var problems []string
	set := make([]dep, 0, len(merged))
	for _, name := range sortedKeys(merged) {
		spec := merged[name]
		if spec == "" {
			spec = "*"
		}
		switch {
		case len(name) > 214 || !npmName.MatchString(name):
			problems = append(problems, fmt.Sprintf("package.json: %q is not a valid package name", name))
		case !registrySpec(spec):
			problems = append(problems, fmt.Sprintf("package.json: %s: %q is not a registry version; use a version such as \"1.2.3\"", name, spec))
		}
		set = append(set, dep{name, spec})
	}
	if len(problems) > 0 {
		return nil, &Failure{Stage: StageInstall, Errors: limitErrors(problems)}
	}
	return set, nil
}

// registrySpec reports whether spec names registry versions (a version, range, tag or
// npm: alias), not a path, URL or git repository: those are outside the cache key's reach
// (their content can change under the same text) and can reach outside the cache.
func registrySpec(spec string) bool {
	if strings.HasPrefix(spec, "npm:") {
		return true
	}
	// Versions, ranges and tags hold neither; paths, URLs, "user/repo" and "file:", "git:",
	// "link:", "workspace:" specifiers do.
	return !strings.ContainsAny(spec, "/\\:")
}

// depsKey is the cache key of a dependency set.
func depsKey(node nodeInfo, scripts bool, set []dep) string {
	h := sha256.New()
	fmt.Fprintf(h, "appforge deps v1\nnode %s %s %s\nscripts %t\n", node.major, node.platform, node.arch, scripts)
	for _, d := range set {
		fmt.Fprintf(h, "%s\x00%s\n", d.name, d.spec)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// nodeInfo is what of the node binary goes into a cache key.
type nodeInfo struct{ major, platform, arch string }

func (b *Builder) nodeInfo(ctx context.Context) (nodeInfo, error) {
	b.mu.Lock()
	known := b.node
	b.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.cfg.Node, "-p", `[process.versions.node.split(".")[0], process.platform, process.arch].join(" ")`)
	cmd.Env = []string{"PATH=" + b.path()}
	out, err := cmd.Output()
	if err != nil {
		return nodeInfo{}, fmt.Errorf("ask node for its version: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return nodeInfo{}, fmt.Errorf("ask node for its version: unexpected answer %q", out)
	}
	info := nodeInfo{major: f[0], platform: f[1], arch: f[2]}
	b.mu.Lock()
	b.node = &info
	b.mu.Unlock()
	return info, nil
}

// installCall is one install in flight in this process. It runs detached from any one
// caller's context and is cancelled when the last caller waiting for it gives up.
type installCall struct {
	done      chan struct{}
	installed bool // npm ran (false: another process installed the set meanwhile)
	err       error
	waiters   int // guarded by Builder.mu
	cancel    context.CancelFunc
}

// errAbandoned ends an install whose callers all went away.
var errAbandoned = errors.New("install abandoned by every caller")

// awaitInstall joins the install of key in flight in this process or starts one, and
// waits for it while heartbeating. It reports whether this caller started an install that
// ran npm.
func (b *Builder) awaitInstall(ctx context.Context, key string, set []dep, hb func(string)) (bool, error) {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		b.mu.Lock()
		call, joined := b.installs[key]
		if !joined {
			ictx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
			call = &installCall{done: make(chan struct{}), cancel: func() { cancel(errAbandoned) }}
			b.installs[key] = call
			go func() {
				defer cancel(nil)
				call.installed, call.err = b.install(ictx, key, set)
				b.mu.Lock()
				delete(b.installs, key)
				b.mu.Unlock()
				close(call.done)
			}()
		}
		call.waiters++
		b.mu.Unlock()

	wait:
		for {
			select {
			case <-call.done:
				break wait
			case <-tick.C:
				hb(StageInstall)
			case <-ctx.Done():
				b.mu.Lock()
				call.waiters--
				if call.waiters == 0 {
					call.cancel()
				}
				b.mu.Unlock()
				return false, fmt.Errorf("wait for npm install: %w", context.Cause(ctx))
			}
		}
		if errors.Is(call.err, errAbandoned) && ctx.Err() == nil {
			continue // joined an install just as its last caller left: start another
		}
		return !joined && call.installed, call.err
	}
}

// install installs set as key under the cross-process lock, unless another process has
// done it meanwhile.
func (b *Builder) install(ctx context.Context, key string, set []dep) (bool, error) {
	final := filepath.Join(b.cfg.CacheDir, cacheDepsDir, key)
	unlock, err := lockFile(ctx, filepath.Join(b.cfg.CacheDir, cacheLocksDir, key+".lock"), false, nil, "")
	if err != nil {
		return false, fmt.Errorf("lock dependency set %s: %w", key, err)
	}
	defer unlock()
	if isDir(filepath.Join(final, "node_modules")) {
		return false, nil
	}
	// Under the lock, leftovers of this key are from installs that died: clear them.
	tmpRoot := filepath.Join(b.cfg.CacheDir, cacheTmpDir)
	if old, _ := filepath.Glob(filepath.Join(tmpRoot, key+".*")); len(old) > 0 {
		for _, dir := range old {
			_ = os.RemoveAll(dir)
		}
	}
	_ = os.RemoveAll(final) // a folder without node_modules is not an install
	tmp, err := os.MkdirTemp(tmpRoot, key+".")
	if err != nil {
		return false, fmt.Errorf("install dependency set %s: %w", key, err)
	}
	defer os.RemoveAll(tmp) // nothing left to remove once renamed

	deps := make(map[string]string, len(set))
	for _, d := range set {
		deps[d.name] = d.spec
	}
	pkg, err := json.MarshalIndent(map[string]any{
		"name": "appforge-deps", "version": "0.0.0", "private": true, "dependencies": deps,
	}, "", "  ")
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644); err != nil {
		return false, fmt.Errorf("install dependency set %s: %w", key, err)
	}

	t0 := time.Now()
	if err := b.npmInstall(ctx, tmp, true); err != nil {
		var f *Failure
		if !errors.As(err, &f) || !strings.Contains(f.Log, "ETARGET") {
			return false, err
		}
		// --prefer-offline trusts cached registry metadata, which may predate the version
		// asked for: ask the registry before blaming the app.
		b.log.Info("npm install: version not in cached metadata, retrying online", "deps_key", key)
		if err := b.npmInstall(ctx, tmp, false); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(filepath.Join(tmp, "node_modules"), 0o755); err != nil { // an empty set has none
		return false, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, fmt.Errorf("install dependency set %s: %w", key, err)
	}
	b.log.Info("installed dependency set", "deps_key", key, "packages", len(set), "duration_ms", time.Since(t0).Milliseconds())
	return true, nil
}

// npmInstall runs npm install in dir and classifies its failure.
func (b *Builder) npmInstall(ctx context.Context, dir string, preferOffline bool) error {
	npm, err := exec.LookPath(b.cfg.NPM)
	if err != nil {
		return fmt.Errorf("find npm: %w", err)
	}
	args := []string{"install", "--no-audit", "--no-fund", "--no-update-notifier", "--no-progress"}
	if preferOffline {
		// Registry metadata already in npm's cache is used without revalidation: a set of
		// pinned versions installs without a round trip per package.
		args = append(args, "--prefer-offline")
	}
	if !b.cfg.InstallScripts {
		args = append(args, "--ignore-scripts")
	}
	out, err := b.run(ctx, command{
		stage: StageInstall, name: npm, args: args, dir: dir, env: b.installEnv(),
		limit: limit{deadline: time.Now().Add(b.cfg.InstallTimeout), d: b.cfg.InstallTimeout},
	})
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() < 0 {
		return err
	}
	text := cleaner{ws: dir}.text(out)
	code := npmErrorCode(text)
	if !permanentNPMCodes[code] {
		return fmt.Errorf("%w (npm error code %s): %s", err, orUnknown(code), strings.Join(lastLines(text, 3), " | "))
	}
	return &Failure{Stage: StageInstall, Errors: limitErrors(npmErrors(text, code)), Log: text}
}

// permanentNPMCodes are npm errors that the same package.json will meet again.
var permanentNPMCodes = map[string]bool{
	"E404":                 true, // no such package
	"ETARGET":              true, // no such version
	"ENOVERSIONS":          true,
	"ERESOLVE":             true, // conflicting peer dependencies
	"EINVALIDTAGNAME":      true,
	"EINVALIDPACKAGENAME":  true,
	"EUNSUPPORTEDPROTOCOL": true,
	"EBADPLATFORM":         true,
}

// installEnv is the environment of npm: the user's npm configuration and cache (HOME and
// npm_config_*), proxies and CA bundles, nothing else.
func (b *Builder) installEnv() []string {
	env := []string{"PATH=" + b.path(), "CI=1", "NO_COLOR=1", "LANG=C.UTF-8"}
	if home, err := os.UserHomeDir(); err == nil {
		env = append(env, "HOME="+home)
	} else {
		env = append(env, "HOME="+filepath.Join(b.cfg.CacheDir, "home"))
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(strings.ToLower(name), "npm_config_"),
			strings.EqualFold(name, "HTTP_PROXY"), strings.EqualFold(name, "HTTPS_PROXY"),
			strings.EqualFold(name, "NO_PROXY"), name == "NODE_EXTRA_CA_CERTS",
			name == "SSL_CERT_FILE", name == "SSL_CERT_DIR":
			env = append(env, kv)
		}
	}
	return env
}

// lockFile takes an exclusive flock on name, polling so that ctx can cancel the wait,
// and calls hb(stage) about every heartbeatEvery while it waits. With remove, the
// unlock removes the file; a waiter that then holds a lock on the removed file notices
// and locks the new one.
func lockFile(ctx context.Context, name string, remove bool, hb func(string), stage string) (unlock func(), err error) {
	lastBeat := time.Now()
	for {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				break
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, context.Cause(ctx)
			case <-time.After(50 * time.Millisecond):
			}
			if hb != nil && time.Since(lastBeat) >= heartbeatEvery {
				hb(stage)
				lastBeat = time.Now()
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", name, err)
		}
		held, err1 := f.Stat()
		onDisk, err2 := os.Stat(name)
		if err1 == nil && err2 == nil && os.SameFile(held, onDisk) {
			return func() {
				if remove {
					_ = os.Remove(name) // before unlocking, so that waiters see it gone
				}
				f.Close()
			}, nil
		}
		f.Close() // the previous holder removed it: lock the new file
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
