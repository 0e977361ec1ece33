package edge

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// Binding types the edge interprets. Other types (kv_namespace, r2_bucket, ...) are
// kept as uploaded and listed back, but nothing on this edge serves them.
const (
	bindingPlainText  = "plain_text"
	bindingSecretText = "secret_text"
	bindingSecretKey  = "secret_key"
	bindingInherit    = "inherit"
)

// isSecretType reports whether bindings of type t carry secret material, which the
// edge seals at rest and never lists back.
func isSecretType(t string) bool { return t == bindingSecretText || t == bindingSecretKey }

// Limits of environment variables (plain_text and secret_text bindings), from
// Cloudflare's Workers limits page (developers.cloudflare.com/workers/platform/limits:
// "Environment variables 64/Worker (Free), 128/Worker (Paid); Environment variable
// size 5 KB"). The edge applies the Paid plan's count.
const (
	maxEnvVars    = 128
	maxEnvVarSize = 5 << 10
)

// bindingNamePattern is a binding name: letters, digits and underscores, not
// starting with a digit (wrangler's own check: "A binding can only have alphanumeric
// and _ characters, and cannot begin with a number").
var bindingNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// binding is one binding of a version, as stored. Public is what the API lists back
// (for secret types: no secret material). Sealed is, for secret types, the binding
// as uploaded, sealed with AES-256-GCM under keys/secrets.key; its value never
// reaches state.json, a log line or an API answer in the clear.
type binding struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Public json.RawMessage `json:"public"`
	Sealed string          `json:"sealed,omitempty"`

	// legacy is a binding read from a version 1 state (the binding as uploaded),
	// until migrateV1 replaces it.
	legacy json.RawMessage
}

func (b *binding) UnmarshalJSON(data []byte) error {
	var aux struct {
		Name   string          `json:"name"`
		Type   string          `json:"type"`
		Public json.RawMessage `json:"public"`
		Sealed string          `json:"sealed"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*b = binding{Name: aux.Name, Type: aux.Type, Public: aux.Public, Sealed: aux.Sealed}
	if aux.Public == nil && aux.Sealed == "" {
		b.legacy = slices.Clone(data)
	}
	return nil
}

// sealer seals secret bindings at rest.
type sealer struct {
	aead cipher.AEAD
}

// openSealer loads the AES-256 key at path, creating it on first use.
func openSealer(path string) (*sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("write key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("key %s has %d bytes, want 32", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// aad binds a sealed binding to its script and name, so a sealed value cannot be
// moved to another script or binding in state.json.
func aad(script, name string) []byte {
	return []byte("appforge-edge/binding/v1\x00" + script + "\x00" + name)
}

func (s *sealer) seal(script, name string, plain []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, aad(script, name)))
}

func (s *sealer) open(script string, b binding) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(b.Sealed)
	if err != nil || len(data) < s.aead.NonceSize() {
		return nil, errors.New("sealed binding is malformed")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, data[:n], data[n:], aad(script, b.Name))
	if err != nil {
		return nil, errors.New("sealed binding does not open with this edge's key")
	}
	return plain, nil
}

// makeBinding stores raw, a binding of script as uploaded whose name and type are
// already checked: secret types are sealed and listed without their secret fields.
func (s *sealer) makeBinding(script, name, typ string, raw json.RawMessage) (binding, error) {
	if !isSecretType(typ) {
		return binding{Name: name, Type: typ, Public: slices.Clone(raw)}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return binding{}, err
	}
	for _, secret := range []string{"text", "key_base64", "key_jwk"} {
		delete(fields, secret)
	}
	public, err := json.Marshal(fields)
	if err != nil {
		return binding{}, err
	}
	return binding{Name: name, Type: typ, Public: public, Sealed: s.seal(script, name, raw)}, nil
}

// importLegacy converts a binding of a version 1 state.
func (s *sealer) importLegacy(script string, b binding) (binding, error) {
	if b.legacy == nil {
		return b, nil
	}
	return s.makeBinding(script, b.Name, b.Type, b.legacy)
}

// Binding is one binding of a deployed script as its code would receive it in env:
// what the data plane would pass to a Worker. Assets-only Workers run no code, so the
// edge serves nothing from bindings; it keeps them faithfully for when it does.
type Binding struct {
	Name string
	Type string
	// Text is the value of a plain_text binding.
	Text string
	// Secret is the value of a secret_text binding. It prints, logs and encodes as
	// [redacted]; Reveal returns the value.
	Secret SecretValue
	// JSON is the binding as uploaded, for types other than secret_text and
	// secret_key (those are never returned as JSON, to keep their material out of
	// logs and dumps).
	JSON json.RawMessage
}

// SecretValue is a secret that does not print itself.
type SecretValue struct{ v string }

// Reveal returns the secret.
func (s SecretValue) Reveal() string { return s.v }

// String returns "[redacted]", or "" for an empty secret.
func (s SecretValue) String() string {
	if s.v == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the secret.
func (s SecretValue) GoString() string { return `edge.SecretValue("` + s.String() + `")` }

// LogValue keeps slog from printing the secret.
func (s SecretValue) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps encoding/json from writing the secret.
func (s SecretValue) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// ScriptBindings returns the bindings the deployed version of script runs with, the
// values of plain_text and secret_text bindings decrypted. It returns an error that
// wraps fs.ErrNotExist for an unknown script.
func (e *Edge) ScriptBindings(script string) ([]Binding, error) {
	sc, ok := e.store.script(script)
	if !ok {
		return nil, fmt.Errorf("script %s: %w", script, fs.ErrNotExist)
	}
	out := make([]Binding, 0, len(sc.Bindings))
	for _, b := range sc.Bindings {
		out1 := Binding{Name: b.Name, Type: b.Type}
		switch {
		case b.Type == bindingSecretText:
			plain, err := e.sealer.open(sc.Name, b)
			if err != nil {
				return nil, fmt.Errorf("binding %s of %s: %w", b.Name, sc.Name, err)
			}
			var v struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(plain, &v); err != nil {
				return nil, fmt.Errorf("binding %s of %s: sealed binding is not JSON", b.Name, sc.Name)
			}
			out1.Secret = SecretValue{v.Text}
		case isSecretType(b.Type):
			// secret_key material stays sealed: nothing on this edge runs WebCrypto.
		case b.Type == bindingPlainText:
			var v struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(b.Public, &v)
			out1.Text = v.Text
			out1.JSON = slices.Clone(b.Public)
		default:
			out1.JSON = slices.Clone(b.Public)
		}
		out = append(out, out1)
	}
	return out, nil
}

// uploadedBinding is a binding of an upload's metadata, checked and sealed.
type uploadedBinding struct {
	binding
	// For type inherit: the binding of the previous version to carry over.
	inherit *inheritRef
}

type inheritRef struct {
	OldName   string `json:"old_name"`
	VersionID string `json:"version_id"`
}

// parseBindings checks and seals the bindings of an upload to script. Error
// messages name bindings, never their values.
func (e *Edge) parseBindings(script string, raws []json.RawMessage) ([]uploadedBinding, error) {
	out := make([]uploadedBinding, 0, len(raws))
	seen := map[string]bool{}
	envVars := 0
	for i, raw := range raws {
		var head struct {
			Name string          `json:"name"`
			Type string          `json:"type"`
			Text json.RawMessage `json:"text"`
			inheritRef
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.Name == "" || head.Type == "" {
			return nil, errValidation("binding %d needs a name and a type", i)
		}
		if seen[head.Name] {
			return nil, errBindingInUse(head.Name)
		}
		seen[head.Name] = true
		if head.Type == bindingInherit {
			ref := head.inheritRef
			if ref.OldName == "" {
				ref.OldName = head.Name
			}
			out = append(out, uploadedBinding{binding: binding{Name: head.Name, Type: head.Type}, inherit: &ref})
			continue
		}
		if head.Type == bindingPlainText || head.Type == bindingSecretText {
			if !bindingNamePattern.MatchString(head.Name) {
				return nil, errInvalidBindingName(head.Name)
			}
			var text *string
			if err := json.Unmarshal(head.Text, &text); err != nil || text == nil {
				return nil, errValidation("binding %s of type %s needs a text string", head.Name, head.Type)
			}
			if len(*text) > maxEnvVarSize {
				return nil, errValidation("binding %s is %d bytes; an environment variable may be at most %d bytes",
					head.Name, len(*text), maxEnvVarSize)
			}
			envVars++
		}
		b, err := e.sealer.makeBinding(script, head.Name, head.Type, raw)
		if err != nil {
			return nil, errValidation("binding %s is not a JSON object", head.Name)
		}
		out = append(out, uploadedBinding{binding: b})
	}
	if envVars > maxEnvVars {
		return nil, errValidation("the upload has %d environment variables and secrets; a Worker may have at most %d", envVars, maxEnvVars)
	}
	return out, nil
}

// resolveBindings makes the bindings of a new version of sc from an upload's:
//   - inherit bindings take the previous version's binding (an unresolvable one
//     fails the upload under bindings_inherit=strict and is dropped otherwise, as
//     the API reference of bindings_inherit says);
//   - bindings of the previous version whose type is in keep (keep_bindings) and
//     whose name the upload does not define are carried over;
//   - secrets are carried over too when the upload declares no secret of its own.
//     `wrangler deploy` sends no keep_bindings (wrangler 4.86: keepSecrets only with
//     --keep-vars or --secrets-file) and yet "Secrets are not deleted" by it while
//     plain-text variables are (joswayski/averagedatabase#76); workers-sdk#5296 calls
//     secret bindings "implicitly inherited". An upload that declares secrets
//     replaces the others unless keep_bindings lists the secret types: wrangler sends
//     keep_bindings with --secrets-file "so remote secrets that are not present in
//     the file are preserved" (workers-sdk#15342).
func resolveBindings(prev *script, uploaded []uploadedBinding, keep []string, strict bool) ([]binding, error) {
	declaresSecrets := slices.ContainsFunc(uploaded, func(u uploadedBinding) bool {
		return u.inherit == nil && isSecretType(u.Type)
	})
	if !declaresSecrets {
		keep = append(slices.Clone(keep), bindingSecretText, bindingSecretKey)
	}
	var prevVersion version
	if prev != nil {
		prevVersion, _ = prev.latest()
	}
	find := func(bs []binding, name string) (binding, bool) {
		i := slices.IndexFunc(bs, func(b binding) bool { return b.Name == name })
		if i < 0 {
			return binding{}, false
		}
		return bs[i], true
	}
	out := make([]binding, 0, len(uploaded))
	defined := map[string]bool{}
	for _, u := range uploaded {
		defined[u.Name] = true
		if u.inherit == nil {
			out = append(out, u.binding)
			continue
		}
		from := prevVersion
		if u.inherit.VersionID != "" && prev != nil {
			from, _ = prev.version(u.inherit.VersionID)
		}
		b, ok := find(from.Content.Bindings, u.inherit.OldName)
		if !ok {
			if strict {
				return nil, errValidation("binding %s of type inherit: the previous version has no binding %s to inherit",
					u.Name, u.inherit.OldName)
			}
			continue
		}
		if b.Name != u.Name {
			// Sealed values are bound to their name; a renamed secret cannot move.
			if isSecretType(b.Type) {
				return nil, errValidation("binding %s cannot inherit secret %s under another name", u.Name, b.Name)
			}
			b.Name = u.Name
		}
		out = append(out, b)
	}
	for _, b := range prevVersion.Content.Bindings {
		if slices.Contains(keep, b.Type) && !defined[b.Name] {
			out = append(out, b)
		}
	}
	return out, nil
}

// publicBindings lists bindings as the API answers them.
func publicBindings(bs []binding) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.Public)
	}
	return out
}

// errBindingInUse is Cloudflare's answer to a binding name that is taken: code
// 10053, "Binding name 'X' already in use. Please use a different name and try
// again." (wrangler output quoted in cloudflare/workers-sdk#12812 and in
// stefanko-ch/Nexus-Stack#280). The status is not in those reports; 400 here.
func errBindingInUse(name string) *apiError {
	return apiErrorf(http.StatusBadRequest, codeBindingInUse,
		"Binding name '%s' already in use. Please use a different name and try again.", name)
}

// errBindingNotFound is Cloudflare's answer to deleting a secret that does not
// exist: code 10056, "Binding 'X' not found. Please use a different name and try
// again." (wrangler 4.71 output quoted in manaflow-ai/cmux#13268). The status is
// not in that report; 404 here.
func errBindingNotFound(name string) *apiError {
	return apiErrorf(http.StatusNotFound, codeBindingNotFound,
		"Binding '%s' not found. Please use a different name and try again.", name)
}

func errInvalidBindingName(name string) *apiError {
	return errValidation("binding name %q is not valid: use letters, digits and underscores, not starting with a digit", name)
}
