package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// getAccountSubdomain is GET /workers/subdomain.
func (e *Edge) getAccountSubdomain(*http.Request) (reply, error) {
	return ok(map[string]string{"subdomain": e.cfg.Subdomain})
}

// scriptMetadata is the metadata part of a script upload (PUT .../scripts/{s} and
// POST .../scripts/{s}/versions).
type scriptMetadata struct {
	MainModule         string            `json:"main_module"`
	BodyPart           string            `json:"body_part"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Bindings           []json.RawMessage `json:"bindings"`
	KeepBindings       []string          `json:"keep_bindings"`
	KeepAssets         bool              `json:"keep_assets"`
	Assets             *struct {
		JWT    string      `json:"jwt"`
		Config assetConfig `json:"config"`
	} `json:"assets"`
	UsageModel    string          `json:"usage_model"`
	Placement     json.RawMessage `json:"placement"`
	Limits        json.RawMessage `json:"limits"`
	Logpush       *bool           `json:"logpush"`
	Observability json.RawMessage `json:"observability"`
	TailConsumers json.RawMessage `json:"tail_consumers"`
	Tags          []string        `json:"tags"`
	Annotations   annotations     `json:"annotations"`
}

// annotations of a version or deployment.
type annotations struct {
	Message string `json:"workers/message,omitempty"`
	Tag     string `json:"workers/tag,omitempty"`
}

const maxMetadataBody = 1 << 20

// putScript is PUT /workers/scripts/{script}: a multipart upload of a metadata part
// and module parts. It makes a new version and deploys it; an existing script keeps
// its tag, creation time, secrets kept by keep_bindings and workers.dev state.
// wrangler adds ?excludeScript=true&bindings_inherit=strict.
func (e *Edge) putScript(r *http.Request) (reply, error) {
	sc, _, err := e.uploadVersion(r, true)
	if err != nil {
		return reply{}, err
	}
	return ok(scriptResult(sc))
}

// postVersion is POST /workers/scripts/{script}/versions: the same upload as PUT,
// making a version that serves nothing until a deployment names it.
func (e *Edge) postVersion(r *http.Request) (reply, error) {
	sc, v, err := e.uploadVersion(r, false)
	if err != nil {
		return reply{}, err
	}
	return ok(versionResult(sc, v, true))
}

// uploadVersion reads a script upload and stores it as a new version of its script,
// deployed at 100% when deploy is set.
func (e *Edge) uploadVersion(r *http.Request, deploy bool) (*script, version, error) {
	name, err := scriptName(r)
	if err != nil {
		return nil, version{}, err
	}
	md, modules, err := e.readScriptUpload(r)
	if err != nil {
		return nil, version{}, err
	}
	assets, err := e.uploadedAssets(name, md)
	if err != nil {
		return nil, version{}, err
	}
	uploaded, err := e.parseBindings(name, md.Bindings)
	if err != nil {
		return nil, version{}, err
	}
	strict := r.URL.Query().Get("bindings_inherit") == "strict"
	src := requestSource(r)
	trigger := "upload"
	var saved *script
	var ver version
	err = e.store.update(func(scripts map[string]*script) error {
		prev := scripts[name]
		if prev == nil && !deploy {
			return errScriptNotFound()
		}
		bindings, err := resolveBindings(prev, uploaded, md.KeepBindings, strict)
		if err != nil {
			return err
		}
		c := content{
			CompatibilityDate:  md.CompatibilityDate,
			CompatibilityFlags: md.CompatibilityFlags,
			MainModule:         md.MainModule,
			Modules:            modules,
			Bindings:           bindings,
			Assets:             assets,
			UsageModel:         md.UsageModel,
			Placement:          md.Placement,
			Limits:             md.Limits,
		}
		if c.MainModule == "" {
			c.MainModule = md.BodyPart
		}
		if md.KeepAssets && assets == nil {
			var kept *assetSet
			if prev != nil {
				if pv, ok := prev.latest(); ok && pv.Content.Assets != nil {
					k := *pv.Content.Assets
					kept = &k
				}
			}
			if kept == nil {
				return errValidation("keep_assets needs an earlier version of %s with assets", name)
			}
			if md.Assets != nil {
				kept.Config = md.Assets.Config
			}
			c.Assets = kept
		}
		if c.MainModule == "" && c.Assets == nil {
			return errValidation("the upload has neither a main module nor assets: nothing to run or serve")
		}
		next := e.newScript(name)
		if prev != nil {
			next = prev.clone()
		}
		if md.Logpush != nil {
			next.Settings.Logpush = *md.Logpush
		}
		if md.Observability != nil {
			next.Settings.Observability = md.Observability
		}
		if md.TailConsumers != nil {
			next.Settings.TailConsumers = md.TailConsumers
		}
		if md.Tags != nil {
			next.Settings.Tags = md.Tags
		}
		ver, err = next.addVersion(c, src, trigger, md.Annotations, e.now())
		if err != nil {
			return err
		}
		if deploy {
			if err := next.deploy([]deploymentVersion{{VersionID: ver.ID, Percentage: 100}}, src, trigger, md.Annotations.Message, e.now()); err != nil {
				return err
			}
		}
		scripts[name] = next
		saved = next
		return nil
	})
	if err != nil {
		return nil, version{}, err
	}
	files := 0
	if ver.Content.Assets != nil {
		files = len(ver.Content.Assets.Manifest)
	}
	e.log.Info("script version uploaded", "script", name, "version_id", ver.ID, "deployed", deploy,
		"assets", files, "bindings", len(ver.Content.Bindings))
	return saved, ver, nil
}

// requestSource is where Cloudflare would record an upload as coming from.
func requestSource(r *http.Request) string {
	if strings.HasPrefix(strings.ToLower(r.UserAgent()), "wrangler") {
		return "wrangler"
	}
	return "api"
}

// readScriptUpload reads the multipart body of a script upload.
func (e *Edge) readScriptUpload(r *http.Request) (scriptMetadata, []module, error) {
	var md scriptMetadata
	r.Body = http.MaxBytesReader(nil, r.Body, maxScriptBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return md, nil, errValidation("expected a multipart/form-data body: %v", err)
	}
	var modules []module
	sawMetadata := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return md, nil, bodyError(err)
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return md, nil, bodyError(err)
		}
		if part.FormName() == "metadata" {
			if len(content) > maxMetadataBody {
				return md, nil, errValidation("metadata is larger than %d bytes", maxMetadataBody)
			}
			if err := json.Unmarshal(content, &md); err != nil {
				return md, nil, errValidation("metadata is not valid JSON: %v", err)
			}
			sawMetadata = true
			continue
		}
		// wrangler names a module part by its file name; cloudflare-go sends
		// "files.0" with the file name in the filename parameter.
		name := part.FileName()
		if name == "" {
			name = part.FormName()
		}
		hash, err := e.store.putModule(content)
		if err != nil {
			return md, nil, fmt.Errorf("store module %s: %w", name, err)
		}
		modules = append(modules, module{
			Name: name, ContentType: part.Header.Get("Content-Type"),
			Hash: hash, Size: int64(len(content)),
		})
	}
	if !sawMetadata {
		return md, nil, errValidation("the upload has no metadata part")
	}
	return md, modules, validateMetadata(md, modules)
}

func validateMetadata(md scriptMetadata, modules []module) error {
	if md.CompatibilityDate != "" {
		if _, err := time.Parse(time.DateOnly, md.CompatibilityDate); err != nil {
			return errValidation("compatibility_date %q is not a date like 2025-01-31", md.CompatibilityDate)
		}
	}
	for _, main := range []string{md.MainModule, md.BodyPart} {
		if main != "" && !slices.ContainsFunc(modules, func(m module) bool { return m.Name == main }) {
			return errValidation("no such module %q among the uploaded parts", main)
		}
	}
	if md.Assets != nil {
		switch md.Assets.Config.NotFoundHandling {
		case "", notFoundNone, notFound404Page, notFoundSPA:
		default:
			return errValidation("assets.config.not_found_handling %q is not one of none, 404-page, single-page-application",
				md.Assets.Config.NotFoundHandling)
		}
		switch md.Assets.Config.HTMLHandling {
		case "", "auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", htmlNone:
		default:
			return errValidation("assets.config.html_handling %q is not one of auto-trailing-slash, force-trailing-slash, drop-trailing-slash, none",
				md.Assets.Config.HTMLHandling)
		}
	}
	return nil
}

// uploadedAssets resolves metadata.assets.jwt to the manifest of its upload session.
// It returns nil when the upload carries no assets token.
func (e *Edge) uploadedAssets(name string, md scriptMetadata) (*assetSet, error) {
	if md.Assets == nil || md.Assets.JWT == "" {
		if md.Assets != nil && !md.KeepAssets {
			return nil, errValidation("assets.jwt is required: upload the assets first, or set keep_assets")
		}
		return nil, nil
	}
	c, err := e.tokens.verify(md.Assets.JWT, purposeCompletion, e.now())
	if err != nil {
		if errors.Is(err, errTokenPurpose) {
			return nil, errValidation("assets.jwt is not a completion token: upload every bucket of the session first")
		}
		return nil, errValidation("assets.jwt is not valid: %v", err)
	}
	if c.Account != e.cfg.AccountID || c.Script != name {
		return nil, errValidation("assets.jwt was issued for script %q, not %q", c.Script, name)
	}
	ss, err := e.store.loadSession(c.Session)
	if errors.Is(err, errNoSession) {
		return nil, errValidation("assets.jwt refers to an upload session that no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("load upload session %s: %w", c.Session, err)
	}
	for p, ent := range ss.Manifest {
		if !e.store.hasAsset(ent.Hash) {
			return nil, errValidation("asset %s (%s) was never uploaded", p, ent.Hash)
		}
	}
	return &assetSet{Manifest: ss.Manifest, Config: md.Assets.Config}, nil
}

// contentEtag hashes what a version runs with.
func contentEtag(c content) (string, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("hash script: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// scriptObject is Cloudflare's script object, as PUT answers it.
type scriptObject struct {
	ID                 string    `json:"id"`
	Tag                string    `json:"tag"`
	Etag               string    `json:"etag"`
	CreatedOn          time.Time `json:"created_on"`
	ModifiedOn         time.Time `json:"modified_on"`
	HasAssets          bool      `json:"has_assets"`
	HasModules         bool      `json:"has_modules"`
	CompatibilityDate  string    `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string  `json:"compatibility_flags"`
	Handlers           []string  `json:"handlers"`
	EntryPoint         string    `json:"entry_point,omitempty"`
	UsageModel         string    `json:"usage_model"`
	Logpush            bool      `json:"logpush"`
	StartupTimeMs      int64     `json:"startup_time_ms"`
	LastDeployedFrom   string    `json:"last_deployed_from"`
	DeploymentID       string    `json:"deployment_id"`
	Tags               []string  `json:"tags"`
}

func scriptResult(sc *script) scriptObject {
	handlers := []string{}
	if sc.MainModule != "" {
		// The edge runs no code; a module Worker is assumed to export fetch.
		handlers = []string{"fetch"}
	}
	flags := sc.CompatibilityFlags
	if flags == nil {
		flags = []string{}
	}
	from := "api"
	if v, ok := sc.version(sc.DeploymentID); ok {
		from = v.Source
	}
	usage := sc.UsageModel
	if usage == "" {
		usage = "standard"
	}
	tags := sc.Settings.Tags
	if tags == nil {
		tags = []string{}
	}
	return scriptObject{
		ID:                 sc.Name,
		Tag:                sc.Tag,
		Etag:               sc.Etag,
		CreatedOn:          sc.CreatedOn,
		ModifiedOn:         sc.ModifiedOn,
		HasAssets:          sc.Assets != nil,
		HasModules:         len(sc.Modules) > 0,
		CompatibilityDate:  sc.CompatibilityDate,
		CompatibilityFlags: flags,
		Handlers:           handlers,
		EntryPoint:         sc.MainModule,
		UsageModel:         usage,
		Logpush:            sc.Settings.Logpush,
		StartupTimeMs:      0,
		LastDeployedFrom:   from,
		DeploymentID:       sc.DeploymentID,
		Tags:               tags,
	}
}

// listScripts is GET /workers/scripts: every script, by name.
func (e *Edge) listScripts(*http.Request) (reply, error) {
	scripts := e.store.list()
	list := make([]scriptObject, len(scripts))
	for i, sc := range scripts {
		list[i] = scriptResult(sc)
	}
	return ok(list)
}

// lookupScript returns the script of the request's {script}, or Cloudflare's 10007.
func (e *Edge) lookupScript(r *http.Request) (*script, error) {
	name, err := scriptName(r)
	if err != nil {
		return nil, err
	}
	sc, found := e.store.script(name)
	if !found {
		return nil, errScriptNotFound()
	}
	return sc, nil
}

// getScript is GET /workers/scripts/{script}: the main module's content, raw, as
// Cloudflare answers it (empty for an assets-only Worker), or 404 with code 10007.
func (e *Edge) getScript(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	var content []byte
	for _, m := range sc.Modules {
		if m.Name == sc.MainModule {
			if content, err = e.store.readModule(m.Hash); err != nil {
				return reply{}, fmt.Errorf("read module %s of %s: %w", m.Name, sc.Name, err)
			}
		}
	}
	return reply{raw: content, rawType: "application/javascript"}, nil
}

// deleteScript is DELETE /workers/scripts/{script}. Asset contents stay: they are
// shared by hash with the account's other scripts.
func (e *Edge) deleteScript(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	err = e.store.update(func(scripts map[string]*script) error {
		if _, found := scripts[name]; !found {
			return errScriptNotFound()
		}
		delete(scripts, name)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("script deleted", "script", name)
	return ok(nil)
}

// getScriptSubdomain is GET /workers/scripts/{script}/subdomain.
func (e *Edge) getScriptSubdomain(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	return ok(sc.Subdomain)
}

// postScriptSubdomain is POST /workers/scripts/{script}/subdomain {"enabled": bool}.
func (e *Edge) postScriptSubdomain(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	var req struct {
		Enabled         *bool `json:"enabled"`
		PreviewsEnabled *bool `json:"previews_enabled"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	if req.Enabled == nil {
		return reply{}, errValidation("enabled is required")
	}
	want := subdomainState{Enabled: *req.Enabled, PreviewsEnabled: *req.Enabled}
	if req.PreviewsEnabled != nil {
		want.PreviewsEnabled = *req.PreviewsEnabled
	}
	return e.setSubdomain(name, want)
}

// deleteScriptSubdomain is DELETE /workers/scripts/{script}/subdomain.
func (e *Edge) deleteScriptSubdomain(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	return e.setSubdomain(name, subdomainState{})
}

func (e *Edge) setSubdomain(name string, want subdomainState) (reply, error) {
	err := e.store.update(func(scripts map[string]*script) error {
		prev, found := scripts[name]
		if !found {
			return errScriptNotFound()
		}
		if prev.Subdomain == want {
			return nil
		}
		next := *prev
		next.Subdomain = want
		scripts[name] = &next
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(want)
}

// newUUID returns a random (version 4) UUID, the form of Cloudflare's deployment ids.
func newUUID() string {
	b, _ := hex.DecodeString(newID())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
