package edge

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// Script settings. GET/PATCH .../scripts/{s}/settings covers the versioned settings
// (bindings, compatibility date and flags, placement, limits, usage model) and the
// non-versioned ones; a PATCH that touches versioned settings makes and deploys a
// new version, as Cloudflare does. PATCH takes multipart/form-data with a "settings"
// part holding JSON (what the SDK and wrangler send) or a JSON body.
// GET/PATCH .../scripts/{s}/script-settings covers only the non-versioned settings
// (logpush, observability, tags, tail_consumers): JSON, what wrangler PATCHes after
// a versions deployment. Values the edge does not interpret are kept as given.

// settingsObject is the answer of GET .../settings.
type settingsObject struct {
	Bindings           []json.RawMessage `json:"bindings"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Limits             json.RawMessage   `json:"limits,omitempty"`
	Logpush            bool              `json:"logpush"`
	Observability      json.RawMessage   `json:"observability"`
	Placement          json.RawMessage   `json:"placement"`
	Tags               []string          `json:"tags"`
	TailConsumers      json.RawMessage   `json:"tail_consumers"`
	UsageModel         string            `json:"usage_model"`
	Annotations        map[string]string `json:"annotations,omitempty"`
}

func settingsResult(sc *script) settingsObject {
	flags := sc.CompatibilityFlags
	if flags == nil {
		flags = []string{}
	}
	usage := sc.UsageModel
	if usage == "" {
		usage = "standard"
	}
	placement := sc.Placement
	if placement == nil {
		placement = json.RawMessage(`{}`)
	}
	out := settingsObject{
		Bindings:           publicBindings(sc.Bindings),
		CompatibilityDate:  sc.CompatibilityDate,
		CompatibilityFlags: flags,
		Limits:             sc.Limits,
		Logpush:            sc.Settings.Logpush,
		Observability:      orNull(sc.Settings.Observability),
		Placement:          placement,
		Tags:               sc.Settings.Tags,
		TailConsumers:      orNull(sc.Settings.TailConsumers),
		UsageModel:         usage,
	}
	if v, ok := sc.version(sc.DeploymentID); ok {
		out.Annotations = versionResult(sc, v, false).Annot
	}
	return out
}

func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage(`null`)
	}
	return raw
}

// getScriptSettings is GET /workers/scripts/{script}/settings.
func (e *Edge) getScriptSettings(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	return ok(settingsResult(sc))
}

// settingsPatch is the body of PATCH .../settings. A nil field is left as it is.
type settingsPatch struct {
	Bindings           []json.RawMessage `json:"bindings"`
	CompatibilityDate  *string           `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Limits             json.RawMessage   `json:"limits"`
	Placement          json.RawMessage   `json:"placement"`
	UsageModel         *string           `json:"usage_model"`
	Logpush            *bool             `json:"logpush"`
	Observability      json.RawMessage   `json:"observability"`
	Tags               []string          `json:"tags"`
	TailConsumers      json.RawMessage   `json:"tail_consumers"`
	Annotations        annotations       `json:"annotations"`
}

func (p settingsPatch) versioned() bool {
	return p.Bindings != nil || p.CompatibilityDate != nil || p.CompatibilityFlags != nil ||
		p.Limits != nil || p.Placement != nil || p.UsageModel != nil
}

// patchScriptSettings is PATCH /workers/scripts/{script}/settings.
func (e *Edge) patchScriptSettings(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	raw, err := readSettingsBody(r)
	if err != nil {
		return reply{}, err
	}
	var p settingsPatch
	if err := json.Unmarshal(raw, &p); err != nil {
		return reply{}, errValidation("settings are not valid JSON: %v", err)
	}
	if p.CompatibilityDate != nil {
		if err := validateMetadata(scriptMetadata{CompatibilityDate: *p.CompatibilityDate}, nil); err != nil {
			return reply{}, err
		}
	}
	// A binding given only by name and type keeps the deployed binding of that name
	// and type: wrangler's `secret bulk` lists the bindings it keeps that way.
	var keepByName []string
	var fresh []json.RawMessage
	for _, b := range p.Bindings {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err == nil && len(fields) == 2 && fields["name"] != nil && fields["type"] != nil {
			var n, t string
			_ = json.Unmarshal(fields["name"], &n)
			_ = json.Unmarshal(fields["type"], &t)
			if t != bindingInherit {
				keepByName = append(keepByName, n+"\x00"+t)
				fresh = append(fresh, json.RawMessage(`{"type":"inherit","name":`+string(fields["name"])+`}`))
				continue
			}
		}
		fresh = append(fresh, b)
	}
	uploaded, err := e.parseBindings(name, fresh)
	if err != nil {
		return reply{}, err
	}
	src := requestSource(r)
	var saved *script
	err = e.store.update(func(scripts map[string]*script) error {
		prev := scripts[name]
		if prev == nil {
			return errScriptNotFound()
		}
		next := prev.clone()
		if p.Logpush != nil {
			next.Settings.Logpush = *p.Logpush
		}
		if p.Observability != nil {
			next.Settings.Observability = p.Observability
		}
		if p.Tags != nil {
			next.Settings.Tags = p.Tags
		}
		if p.TailConsumers != nil {
			next.Settings.TailConsumers = p.TailConsumers
		}
		if p.versioned() {
			c := prev.content
			if p.Bindings != nil {
				// Resolve against the deployed version, which settings describe.
				base := prev.clone()
				if v, ok := prev.version(prev.DeploymentID); ok {
					base.Versions = append(base.Versions, v)
				}
				bs, err := resolveBindings(base, uploaded, nil, true)
				if err != nil {
					return err
				}
				for _, k := range keepByName {
					n, t, _ := strings.Cut(k, "\x00")
					if !slices.ContainsFunc(bs, func(b binding) bool { return b.Name == n && b.Type == t }) {
						return errBindingNotFound(n)
					}
				}
				c.Bindings = bs
			}
			if p.CompatibilityDate != nil {
				c.CompatibilityDate = *p.CompatibilityDate
			}
			if p.CompatibilityFlags != nil {
				c.CompatibilityFlags = p.CompatibilityFlags
			}
			if p.Limits != nil {
				c.Limits = p.Limits
			}
			if p.Placement != nil {
				c.Placement = p.Placement
			}
			if p.UsageModel != nil {
				c.UsageModel = *p.UsageModel
			}
			// wrangler's `secret bulk` changes secrets this way; Cloudflare labels
			// versions "upload", "secret", "rollback" or "promotion".
			trigger := "upload"
			if p.Bindings != nil {
				trigger = "secret"
			}
			v, err := next.addVersion(c, src, trigger, p.Annotations, e.now())
			if err != nil {
				return err
			}
			if err := next.deploy([]deploymentVersion{{VersionID: v.ID, Percentage: 100}}, src, trigger, p.Annotations.Message, e.now()); err != nil {
				return err
			}
		}
		scripts[name] = next
		saved = next
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(settingsResult(saved))
}

// readSettingsBody returns the settings JSON of a PATCH: the "settings" part of a
// multipart body, or a JSON body.
func readSettingsBody(r *http.Request) ([]byte, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return readRequestBody(r, maxMetadataBody)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxMetadataBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errValidation("expected a multipart/form-data body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, errValidation("the body has no settings part")
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if part.FormName() != "settings" {
			continue
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, part); err != nil {
			return nil, bodyError(err)
		}
		return buf.Bytes(), nil
	}
}

// scriptSettingsObject is the answer of .../script-settings.
type scriptSettingsObject struct {
	Logpush       bool            `json:"logpush"`
	Observability json.RawMessage `json:"observability"`
	Tags          []string        `json:"tags"`
	TailConsumers json.RawMessage `json:"tail_consumers"`
}

func scriptSettingsResult(sc *script) scriptSettingsObject {
	return scriptSettingsObject{
		Logpush:       sc.Settings.Logpush,
		Observability: orNull(sc.Settings.Observability),
		Tags:          sc.Settings.Tags,
		TailConsumers: orNull(sc.Settings.TailConsumers),
	}
}

// getScriptOnlySettings is GET /workers/scripts/{script}/script-settings.
func (e *Edge) getScriptOnlySettings(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	return ok(scriptSettingsResult(sc))
}

// patchScriptOnlySettings is PATCH /workers/scripts/{script}/script-settings (JSON).
func (e *Edge) patchScriptOnlySettings(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	var p struct {
		Logpush       *bool           `json:"logpush"`
		Observability json.RawMessage `json:"observability"`
		Tags          []string        `json:"tags"`
		TailConsumers json.RawMessage `json:"tail_consumers"`
	}
	if err := decodeJSON(r, &p); err != nil {
		return reply{}, err
	}
	var saved *script
	err = e.store.update(func(scripts map[string]*script) error {
		prev := scripts[name]
		if prev == nil {
			return errScriptNotFound()
		}
		next := prev.clone()
		if p.Logpush != nil {
			next.Settings.Logpush = *p.Logpush
		}
		if p.Observability != nil {
			next.Settings.Observability = p.Observability
		}
		if p.Tags != nil {
			next.Settings.Tags = p.Tags
		}
		if p.TailConsumers != nil {
			next.Settings.TailConsumers = p.TailConsumers
		}
		next.ModifiedOn = e.now()
		scripts[name] = next
		saved = next
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return ok(scriptSettingsResult(saved))
}
