package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// The edge's durable state under DataDir:
//
//	state.json            scripts: versions, deployments, bindings (secret values
//	                      sealed with AES-GCM), asset manifests and config, settings
//	assets/ab/abcdef...   asset contents, content-addressed by the client's 32-hex hash
//	                      and shared by every script of the account
//	modules/ab/abcdef...  script module contents, by SHA-256
//	sessions/<id>.json    asset upload sessions, pruned after their tokens expire
//	keys/token.key        the HMAC key that signs upload and completion tokens
//	keys/secrets.key      the AES-256 key that seals secret bindings in state.json
//
// Every file is written to a temporary name and renamed into place, so a crash never
// leaves a torn file behind.

// script is one Worker. A *script reachable from the store is never modified:
// updates build a new value and swap it in, so readers need no lock beyond the lookup.
//
// A script keeps its recent versions (every upload, settings change and secret change
// makes one, as on Cloudflare) and deployments; the embedded content is the deployed
// version's, which the data plane serves.
type script struct {
	Name       string    `json:"name"`
	Tag        string    `json:"tag"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
	Etag       string    `json:"etag"`
	// DeploymentID is the id of the deployed version: Cloudflare answers a script
	// upload with the new version's id under the name deployment_id (wrangler reads
	// it as the version id).
	DeploymentID string `json:"deployment_id"`
	content
	Settings    scriptSettings `json:"settings"`
	Versions    []version      `json:"versions,omitempty"`    // oldest first, at most maxVersions
	Deployments []deployment   `json:"deployments,omitempty"` // oldest first, at most maxDeployments
	LastNumber  int            `json:"last_number,omitempty"` // the number of the newest version
	Subdomain   subdomainState `json:"subdomain"`
}

// content is what a version of a script runs with.
type content struct {
	CompatibilityDate  string          `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string        `json:"compatibility_flags,omitempty"`
	MainModule         string          `json:"main_module,omitempty"`
	Modules            []module        `json:"modules,omitempty"`
	Bindings           []binding       `json:"bindings,omitempty"`
	Assets             *assetSet       `json:"assets,omitempty"`
	UsageModel         string          `json:"usage_model,omitempty"`
	Placement          json.RawMessage `json:"placement,omitempty"`
	Limits             json.RawMessage `json:"limits,omitempty"`
}

// version is one immutable version of a script.
type version struct {
	ID          string    `json:"id"`
	Number      int       `json:"number"`
	CreatedOn   time.Time `json:"created_on"`
	Source      string    `json:"source"`       // "wrangler" or "api"
	TriggeredBy string    `json:"triggered_by"` // "upload" or "secret", as wrangler names them
	Message     string    `json:"message,omitempty"`
	Tag         string    `json:"tag,omitempty"`
	Etag        string    `json:"etag"`
	Content     content   `json:"content"`
}

// deployment says which versions serve a script's traffic.
type deployment struct {
	ID          string              `json:"id"`
	CreatedOn   time.Time           `json:"created_on"`
	Source      string              `json:"source"`
	Strategy    string              `json:"strategy"`
	Versions    []deploymentVersion `json:"versions"`
	Message     string              `json:"message,omitempty"`
	TriggeredBy string              `json:"triggered_by,omitempty"`
}

type deploymentVersion struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

// scriptSettings are the settings of a script that are not versioned
// (PATCH .../script-settings), kept as the client gave them.
type scriptSettings struct {
	Logpush       bool            `json:"logpush"`
	Observability json.RawMessage `json:"observability,omitempty"`
	TailConsumers json.RawMessage `json:"tail_consumers,omitempty"`
	Tags          []string        `json:"tags,omitempty"`
}

// How much history a script keeps.
const (
	maxVersions    = 10
	maxDeployments = 10
)

// version returns the version of sc with id.
func (sc *script) version(id string) (version, bool) {
	for _, v := range sc.Versions {
		if v.ID == id {
			return v, true
		}
	}
	return version{}, false
}

// latest returns the newest version of sc (deployed or not).
func (sc *script) latest() (version, bool) {
	if len(sc.Versions) == 0 {
		return version{}, false
	}
	return sc.Versions[len(sc.Versions)-1], true
}

// module is one uploaded module part of a script; its content is in modules/.
type module struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Hash        string `json:"hash"`
	Size        int64  `json:"size"`
}

// assetSet is the static assets a script serves.
type assetSet struct {
	Manifest map[string]manifestEntry `json:"manifest"` // by path, "/index.html"
	Config   assetConfig              `json:"config"`
}

type manifestEntry struct {
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// assetConfig is metadata.assets.config of a script upload.
type assetConfig struct {
	HTMLHandling     string          `json:"html_handling,omitempty"`
	NotFoundHandling string          `json:"not_found_handling,omitempty"`
	Headers          string          `json:"_headers,omitempty"`
	Redirects        string          `json:"_redirects,omitempty"`
	RunWorkerFirst   json.RawMessage `json:"run_worker_first,omitempty"`
}

type subdomainState struct {
	Enabled         bool `json:"enabled"`
	PreviewsEnabled bool `json:"previews_enabled"`
}

// session is an asset upload session: the manifest a client announced.
type session struct {
	ID       string                   `json:"id"`
	Account  string                   `json:"account"`
	Script   string                   `json:"script"`
	Manifest map[string]manifestEntry `json:"manifest"`
	Created  time.Time                `json:"created"`
}

// state is the content of state.json.
type state struct {
	Version int                `json:"version"`
	Scripts map[string]*script `json:"scripts"`
}

// stateVersion 2 seals secret bindings and keeps versions and deployments; a
// version 1 state is migrated when the edge opens it.
const stateVersion = 2

type store struct {
	dir string

	mu      sync.RWMutex // guards scripts and state.json
	scripts map[string]*script
}

var (
	assetHashPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	sessionIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// openStore opens the state under dir; sl seals the secrets of a version 1 state
// while it is migrated.
func openStore(dir string, sl *sealer) (*store, error) {
	for _, sub := range []string{"assets", "modules", "sessions", "keys"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	s := &store{dir: dir, scripts: map[string]*script{}}
	data, err := os.ReadFile(s.statePath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.statePath(), err)
	}
	switch st.Version {
	case stateVersion:
	case 1:
		if err := migrateV1(st.Scripts, sl); err != nil {
			return nil, fmt.Errorf("migrate %s: %w", s.statePath(), err)
		}
	default:
		return nil, fmt.Errorf("%s has version %d, want %d", s.statePath(), st.Version, stateVersion)
	}
	for name, sc := range st.Scripts {
		if err := checkBindings(sc); err != nil {
			return nil, fmt.Errorf("%s: script %s: %w", s.statePath(), name, err)
		}
	}
	if st.Scripts != nil {
		s.scripts = st.Scripts
	}
	if st.Version != stateVersion {
		// Write the migrated state now, so no plain secret stays on disk.
		if err := s.update(func(map[string]*script) error { return nil }); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// migrateV1 brings scripts of a version 1 state up to date: their bindings were
// stored as uploaded (secret values in the clear) and they had no version history.
func migrateV1(scripts map[string]*script, sl *sealer) error {
	for name, sc := range scripts {
		for i, b := range sc.Bindings {
			nb, err := sl.importLegacy(name, b)
			if err != nil {
				return fmt.Errorf("script %s binding %s: %w", name, b.Name, err)
			}
			sc.Bindings[i] = nb
		}
		if len(sc.Versions) == 0 {
			id := sc.DeploymentID
			if id == "" {
				id = newUUID()
				sc.DeploymentID = id
			}
			sc.LastNumber = 1
			sc.Versions = []version{{ID: id, Number: 1, CreatedOn: sc.ModifiedOn, Source: "api",
				TriggeredBy: "upload", Etag: sc.Etag, Content: sc.content}}
			sc.Deployments = []deployment{{ID: newUUID(), CreatedOn: sc.ModifiedOn, Source: "api",
				Strategy: strategyPercentage, Versions: []deploymentVersion{{VersionID: id, Percentage: 100}},
				TriggeredBy: "upload"}}
		}
	}
	return nil
}

// checkBindings refuses a state whose bindings were not migrated.
func checkBindings(sc *script) error {
	check := func(bs []binding) error {
		for _, b := range bs {
			if b.legacy != nil {
				return fmt.Errorf("binding %s is in the version 1 format", b.Name)
			}
		}
		return nil
	}
	if err := check(sc.Bindings); err != nil {
		return err
	}
	for _, v := range sc.Versions {
		if err := check(v.Content.Bindings); err != nil {
			return err
		}
	}
	return nil
}

func (s *store) statePath() string { return filepath.Join(s.dir, "state.json") }
func (s *store) keyPath() string   { return filepath.Join(s.dir, "keys", "token.key") }

// script returns the script named name.
func (s *store) script(name string) (*script, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc, ok := s.scripts[name]
	return sc, ok
}

// list returns every script, by name.
func (s *store) list() []*script {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slices.Collect(maps.Values(s.scripts))
	slices.SortFunc(out, func(a, b *script) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// update runs fn on a copy of the scripts map and, if fn succeeds, persists the copy
// and makes it current. fn must replace entries rather than modify them.
func (s *store) update(fn func(scripts map[string]*script) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.scripts)
	if err := fn(next); err != nil {
		return err
	}
	data, err := json.MarshalIndent(state{Version: stateVersion, Scripts: next}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := writeFileAtomic(s.statePath(), data, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	s.scripts = next
	return nil
}

func (s *store) assetPath(hash string) string {
	return filepath.Join(s.dir, "assets", hash[:2], hash)
}

// hasAsset reports whether the content of hash is stored.
func (s *store) hasAsset(hash string) bool {
	if !assetHashPattern.MatchString(hash) {
		return false
	}
	_, err := os.Stat(s.assetPath(hash))
	return err == nil
}

// putAsset stores content under hash. Storing a hash twice keeps the first copy:
// content is addressed by hash, and the hash is the client's promise.
func (s *store) putAsset(hash string, content []byte) error {
	if !assetHashPattern.MatchString(hash) {
		return fmt.Errorf("invalid asset hash %q", hash)
	}
	if s.hasAsset(hash) {
		return nil
	}
	p := s.assetPath(hash)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(p, content, 0o644)
}

// openAsset opens the stored content of hash.
func (s *store) openAsset(hash string) (*os.File, error) {
	if !assetHashPattern.MatchString(hash) {
		return nil, fmt.Errorf("invalid asset hash %q", hash)
	}
	return os.Open(s.assetPath(hash))
}

// putModule stores a module's content and returns its SHA-256.
func (s *store) putModule(content []byte) (string, error) {
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	p := filepath.Join(s.dir, "modules", hash[:2], hash)
	if _, err := os.Stat(p); err == nil {
		return hash, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return hash, writeFileAtomic(p, content, 0o644)
}

// readModule returns a module's content.
func (s *store) readModule(hash string) ([]byte, error) {
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("invalid module hash %q", hash)
	}
	return os.ReadFile(filepath.Join(s.dir, "modules", hash[:2], hash))
}

func (s *store) sessionPath(id string) string {
	return filepath.Join(s.dir, "sessions", id+".json")
}

func (s *store) saveSession(ss *session) error {
	data, err := json.Marshal(ss)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	return writeFileAtomic(s.sessionPath(ss.ID), data, 0o644)
}

// errNoSession is returned by loadSession for an unknown or pruned session.
var errNoSession = errors.New("upload session not found")

func (s *store) loadSession(id string) (*session, error) {
	if !sessionIDPattern.MatchString(id) {
		return nil, errNoSession
	}
	data, err := os.ReadFile(s.sessionPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	var ss session
	if err := json.Unmarshal(data, &ss); err != nil {
		return nil, fmt.Errorf("parse session %s: %w", id, err)
	}
	return &ss, nil
}

// sessionRetention is how long a session is kept: its upload token lasts one hour,
// and a completion token issued at the end of that hour lasts one more.
const sessionRetention = 2 * tokenLifetime

// pruneSessions deletes sessions no token can refer to any more.
func (s *store) pruneSessions(now time.Time) (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "sessions"))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, ent := range entries {
		id, ok := strings.CutSuffix(ent.Name(), ".json")
		if !ok || ent.IsDir() {
			continue
		}
		ss, err := s.loadSession(id)
		if err == nil && now.Sub(ss.Created) < sessionRetention {
			continue
		}
		// Unreadable sessions are removed too: no token can use them.
		if err := os.Remove(filepath.Join(s.dir, "sessions", ent.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// writeFileAtomic writes data to path through a temporary file in the same folder
// and a rename, syncing both, so readers see the old or the new content, never part.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
