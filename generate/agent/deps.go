package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/appforge/appforge/files"
	"github.com/appforge/appforge/generate"
)

// npm package names as the registry accepts new ones: lowercase, URL-safe, at most 214
// characters, optionally scoped (@scope/name), not starting with a dot or underscore.
var npmName = regexp.MustCompile(`^(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$`)

// Versions the agent accepts: an exact version (1.2.3, 1.2.3-beta.1) or a caret or tilde
// range (^1.2.3, ~1.2, ^18). Tags, URLs, git, file: and wider ranges are refused: the
// build's dependency cache resolves pinned versions, and a tag changes under it.
var (
	exactVersion = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
	rangeVersion = regexp.MustCompile(`^[\^~](0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?$`)
)

const maxNameLength = 214

// foundation is the packages of the template (React, Vite, TypeScript and their types):
// the build is tuned to their versions, so the model may not change or remove them.
var foundation = func() map[string]bool {
	f, ok := files.Find(generate.Template(), packageJSON)
	if !ok {
		panic("agent: the template has no package.json")
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(f.Content, &pkg); err != nil {
		panic("agent: the template's package.json: " + err.Error())
	}
	out := map[string]bool{}
	for n := range pkg.Dependencies {
		out[n] = true
	}
	for n := range pkg.DevDependencies {
		out[n] = true
	}
	return out
}()

// checkDependency validates a package name and version; the error is for the model.
func checkDependency(name, version string) error {
	switch {
	case name == "":
		return errors.New("name is empty; give the npm package name, such as date-fns or @tanstack/react-query")
	case len(name) > maxNameLength:
		return fmt.Errorf("the package name is longer than %d characters", maxNameLength)
	case !npmName.MatchString(name):
		return fmt.Errorf("%q is not a valid npm package name (lowercase letters, digits, - . _ ~, optionally @scope/name)", name)
	case name == "node_modules" || name == "favicon.ico":
		return fmt.Errorf("%q is not a valid npm package name", name)
	case foundation[name]:
		return fmt.Errorf("%s is part of the app's foundation and pinned; it cannot be added or changed", name)
	}
	if len(version) > 64 || !(exactVersion.MatchString(version) || rangeVersion.MatchString(version)) {
		return fmt.Errorf("version %q is not allowed: give an exact version such as 4.1.0, or a caret or tilde range "+
			"such as ^4.1.0 or ~4.1.0 (no tags like latest, no URLs, git or file: sources, no * or >= ranges)", version)
	}
	return nil
}

// addDependency returns pkg (package.json's content) with name at version in
// dependencies, or devDependencies when dev is set, removing it from the other list. The
// top-level keys keep their order; both lists are sorted; the file is indented with
// two spaces like npm writes it. It also returns how many packages beyond the foundation
// the result has.
func addDependency(pkg []byte, name, version string, dev bool) ([]byte, int, error) {
	keys, values, err := decodeObject(pkg)
	if err != nil {
		return nil, 0, fmt.Errorf("package.json is not a valid JSON object: %v", err)
	}
	lists := map[string]map[string]string{"dependencies": {}, "devDependencies": {}}
	for list := range lists {
		raw, ok := values[list]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, 0, fmt.Errorf("package.json's %s is not an object of names and versions", list)
		}
		lists[list] = m
	}
	target, other := "dependencies", "devDependencies"
	if dev {
		target, other = other, target
	}
	delete(lists[other], name)
	lists[target][name] = version
	added := 0
	seen := map[string]bool{}
	for _, m := range lists {
		for n := range m {
			if !foundation[n] && !seen[n] {
				seen[n] = true
				added++
			}
		}
	}
	for _, list := range []string{"dependencies", "devDependencies"} {
		if _, ok := values[list]; !ok {
			if len(lists[list]) == 0 {
				continue
			}
			keys = append(keys, list)
		}
		values[list] = sortedObject(lists[list])
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		kj, _ := json.Marshal(k)
		var v bytes.Buffer
		if err := json.Indent(&v, values[k], "  ", "  "); err != nil {
			return nil, 0, fmt.Errorf("package.json: %v", err)
		}
		fmt.Fprintf(&b, "  %s: %s", kj, v.Bytes())
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), added, nil
}

// decodeObject reads a JSON object's keys in order and their raw values.
func decodeObject(data []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not an object")
	}
	var keys []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := values[k]; !dup {
			keys = append(keys, k)
		}
		values[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, nil, errors.New("data after the object")
	}
	return keys, values, nil
}

func sortedObject(m map[string]string) json.RawMessage {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(n)
		vj, _ := json.Marshal(m[n])
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}
