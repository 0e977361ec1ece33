package edge

import (
	"encoding/json"
	"net/http"
	"slices"
)

// Worker secrets: PUT .../scripts/{s}/secrets with one {name, text, type:
// "secret_text"} per call, GET .../secrets (names and types, never values), GET and
// DELETE .../secrets/{name}. There is no PATCH on this path: Cloudflare answers it
// with 405 and code 10000, "PATCH method not allowed for the api_token
// authentication scheme" (the route table answers every unlisted method that way).
// Each change makes a new version of the script and deploys it, as Cloudflare's
// "Secret Change" does; a secret on a script that does not exist is 404 with code
// 10007 (wrangler's `secret put` then creates a draft Worker and tries again).

// codeVersionNotDeployed is Cloudflare's refusal to change a secret while the newest
// version of the Worker is not the deployed one (wrangler's
// VERSION_NOT_DEPLOYED_ERR_CODE, 10215). The message is the edge's own.
const codeVersionNotDeployed = 10215

// maxSecretBody bounds a secret request: a 5 KB value in JSON, with room to spare.
const maxSecretBody = 64 << 10

type secretRequest struct {
	Name string          `json:"name"`
	Type string          `json:"type"`
	Text json.RawMessage `json:"text"`
}

// putSecret is PUT /workers/scripts/{script}/secrets.
func (e *Edge) putSecret(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	raw, err := readRequestBody(r, maxSecretBody)
	if err != nil {
		return reply{}, err
	}
	var req secretRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return reply{}, errValidation("request body is not a JSON object")
	}
	switch req.Type {
	case bindingSecretText, bindingSecretKey:
	case "":
		return reply{}, errValidation("type is required: secret_text")
	default:
		return reply{}, errValidation("type %q is not a secret type: use secret_text or secret_key", req.Type)
	}
	if req.Name == "" {
		return reply{}, errValidation("name is required")
	}
	uploaded, err := e.parseBindings(name, []json.RawMessage{raw})
	if err != nil {
		return reply{}, err
	}
	b := uploaded[0].binding
	err = e.changeSecrets(r, name, func(bs []binding) ([]binding, error) {
		i := slices.IndexFunc(bs, func(x binding) bool { return x.Name == b.Name })
		switch {
		case i < 0:
			envVars := 0
			for _, x := range bs {
				if x.Type == bindingPlainText || x.Type == bindingSecretText {
					envVars++
				}
			}
			if b.Type == bindingSecretText && envVars >= maxEnvVars {
				return nil, errValidation("the Worker has %d environment variables and secrets, the most it may have", envVars)
			}
			return append(bs, b), nil
		case !isSecretType(bs[i].Type):
			return nil, errBindingInUse(b.Name)
		default:
			bs[i] = b
			return bs, nil
		}
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("secret set", "script", name, "secret", b.Name)
	return ok(secretResult(b))
}

// changeSecrets makes and deploys a new version of script whose bindings are
// change(the deployed version's bindings).
func (e *Edge) changeSecrets(r *http.Request, name string, change func([]binding) ([]binding, error)) error {
	src := requestSource(r)
	return e.store.update(func(scripts map[string]*script) error {
		prev := scripts[name]
		if prev == nil {
			return errScriptNotFound()
		}
		if latest, ok := prev.latest(); ok && latest.ID != prev.DeploymentID {
			return apiErrorf(http.StatusBadRequest, codeVersionNotDeployed,
				"the latest version of %s is not deployed: deploy it before changing secrets", name)
		}
		bs, err := change(slices.Clone(prev.Bindings))
		if err != nil {
			return err
		}
		next := prev.clone()
		c := prev.content
		c.Bindings = bs
		v, err := next.addVersion(c, src, "secret", annotations{}, e.now())
		if err != nil {
			return err
		}
		if err := next.deploy([]deploymentVersion{{VersionID: v.ID, Percentage: 100}}, src, "secret", "", e.now()); err != nil {
			return err
		}
		scripts[name] = next
		return nil
	})
}

// secretResult is a secret as the API shows it: its public fields, never its value.
func secretResult(b binding) json.RawMessage {
	return b.Public
}

// listSecrets is GET /workers/scripts/{script}/secrets.
func (e *Edge) listSecrets(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	out := []json.RawMessage{}
	for _, b := range sc.Bindings {
		if isSecretType(b.Type) {
			out = append(out, secretResult(b))
		}
	}
	return ok(out)
}

// getSecret is GET /workers/scripts/{script}/secrets/{name}: name and type only.
func (e *Edge) getSecret(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	name := r.PathValue("name")
	for _, b := range sc.Bindings {
		if b.Name == name && isSecretType(b.Type) {
			return ok(secretResult(b))
		}
	}
	return reply{}, errBindingNotFound(name)
}

// deleteSecret is DELETE /workers/scripts/{script}/secrets/{name}.
func (e *Edge) deleteSecret(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	secret := r.PathValue("name")
	err = e.changeSecrets(r, name, func(bs []binding) ([]binding, error) {
		i := slices.IndexFunc(bs, func(x binding) bool { return x.Name == secret && isSecretType(x.Type) })
		if i < 0 {
			return nil, errBindingNotFound(secret)
		}
		return slices.Delete(bs, i, i+1), nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("secret deleted", "script", name, "secret", secret)
	return ok(nil)
}
