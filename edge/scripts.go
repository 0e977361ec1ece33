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
	"time"
)

// getAccountSubdomain is GET /workers/subdomain.
func (e *Edge) getAccountSubdomain(*http.Request) (reply, error) {
	return ok(map[string]string{"subdomain": e.cfg.Subdomain})
}

// scriptMetadata is the metadata part of a script upload.
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
}

const maxMetadataBody = 1 << 20

// putScript is PUT /workers/scripts/{script}: a multipart upload of a metadata part
// and module parts. An existing script is updated in place: same tag and creation
// time, a new deployment id, etag and asset manifest.
func (e *Edge) putScript(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	md, modules, err := e.readScriptUpload(r)
	if err != nil {
		return reply{}, err
	}
	assets, err := e.uploadedAssets(name, md)
	if err != nil {
		return reply{}, err
	}
	var saved *script
	err = e.store.update(func(scripts map[string]*script) error {
		prev := scripts[name]
		next := &script{
			Name:               name,
			Tag:                newID(),
			CreatedOn:          e.now(),
			ModifiedOn:         e.now(),
			DeploymentID:       newUUID(),
			CompatibilityDate:  md.CompatibilityDate,
			CompatibilityFlags: md.CompatibilityFlags,
			MainModule:         md.MainModule,
			Modules:            modules,
			Bindings:           md.Bindings,
			Assets:             assets,
		}
		if next.MainModule == "" {
			next.MainModule = md.BodyPart
		}
		if prev != nil {
			next.Tag, next.CreatedOn, next.Subdomain = prev.Tag, prev.CreatedOn, prev.Subdomain
			next.Bindings = keepBindings(md.Bindings, prev.Bindings, md.KeepBindings)
			if md.KeepAssets && assets == nil && prev.Assets != nil {
				kept := *prev.Assets
				if md.Assets != nil {
					kept.Config = md.Assets.Config
				}
				next.Assets = &kept
			}
		} else if md.KeepAssets && assets == nil {
			return errValidation("keep_assets needs an earlier version of %s with assets", name)
		}
		if next.MainModule == "" && next.Assets == nil {
			return errValidation("the upload has neither a main module nor assets: nothing to run or serve")
		}
		etag, err := scriptEtag(next)
		if err != nil {
			return err
		}
		next.Etag = etag
		scripts[name] = next
		saved = next
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	files := 0
	if saved.Assets != nil {
		files = len(saved.Assets.Manifest)
	}
	e.log.Info("script deployed", "script", name, "deployment_id", saved.DeploymentID, "assets", files)
	return ok(scriptResult(saved))
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
	for i, raw := range md.Bindings {
		var b struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || b.Name == "" || b.Type == "" {
			return errValidation("binding %d needs a name and a type", i)
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

// keepBindings returns next plus the bindings of prev whose type is listed in keep
// and whose name next does not define.
func keepBindings(next, prev []json.RawMessage, keep []string) []json.RawMessage {
	if len(keep) == 0 {
		return next
	}
	type nameType struct{ Name, Type string }
	parse := func(raw json.RawMessage) nameType {
		var b nameType
		_ = json.Unmarshal(raw, &b)
		return b
	}
	defined := map[string]bool{}
	for _, raw := range next {
		defined[parse(raw).Name] = true
	}
	out := slices.Clone(next)
	for _, raw := range prev {
		b := parse(raw)
		if slices.Contains(keep, b.Type) && !defined[b.Name] {
			out = append(out, raw)
		}
	}
	return out
}

func scriptEtag(sc *script) (string, error) {
	data, err := json.Marshal(struct {
		CompatibilityDate  string
		CompatibilityFlags []string
		MainModule         string
		Modules            []module
		Bindings           []json.RawMessage
		Assets             *assetSet
	}{sc.CompatibilityDate, sc.CompatibilityFlags, sc.MainModule, sc.Modules, sc.Bindings, sc.Assets})
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
		UsageModel:         "standard",
		StartupTimeMs:      0,
		LastDeployedFrom:   "api",
		DeploymentID:       sc.DeploymentID,
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

// getScriptSettings is GET /workers/scripts/{script}/settings.
func (e *Edge) getScriptSettings(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	bindings := sc.Bindings
	if bindings == nil {
		bindings = []json.RawMessage{}
	}
	flags := sc.CompatibilityFlags
	if flags == nil {
		flags = []string{}
	}
	return ok(map[string]any{
		"bindings":            bindings,
		"compatibility_date":  sc.CompatibilityDate,
		"compatibility_flags": flags,
		"logpush":             false,
		"placement":           map[string]any{},
		"tags":                nil,
		"tail_consumers":      nil,
		"usage_model":         "standard",
	})
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
