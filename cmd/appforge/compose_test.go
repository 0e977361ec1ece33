package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// There is no Docker engine to run docker-compose.yml here, so this checks what can be
// checked without one: it parses, every reference resolves, and appforge's services
// run commands the binary has.
func TestDockerComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Command     []string          `yaml:"command"`
			DependsOn   yaml.Node         `yaml:"depends_on"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	for _, want := range []string{"postgres", "temporal", "temporal-ui", "api", "worker"} {
		if _, ok := doc.Services[want]; !ok {
			t.Errorf("service %q missing", want)
		}
	}
	port := regexp.MustCompile(`^\d{1,5}:\d{1,5}$`)
	for name, svc := range doc.Services {
		if (svc.Image == "") == (svc.Build == nil) {
			t.Errorf("service %s needs exactly one of image and build", name)
		}
		if svc.Build != nil {
			if _, err := os.Stat("../../Dockerfile"); err != nil {
				t.Errorf("service %s builds, but there is no Dockerfile: %v", name, err)
			}
			if len(svc.Command) != 1 || !strings.Contains(usage, "\n  "+svc.Command[0]+" ") {
				t.Errorf("service %s runs %v, not an appforge command", name, svc.Command)
			}
		}
		for _, p := range svc.Ports {
			if !port.MatchString(p) {
				t.Errorf("service %s: port %q is not host:container", name, p)
			}
		}
		for _, v := range svc.Volumes {
			named := strings.SplitN(v, ":", 2)[0]
			if _, ok := doc.Volumes[named]; !ok && !strings.HasPrefix(named, ".") && !strings.HasPrefix(named, "/") {
				t.Errorf("service %s mounts undeclared volume %q", name, named)
			}
		}
		var deps []string
		switch svc.DependsOn.Kind {
		case yaml.SequenceNode:
			svc.DependsOn.Decode(&deps)
		case yaml.MappingNode:
			var m map[string]any
			svc.DependsOn.Decode(&m)
			for d := range m {
				deps = append(deps, d)
			}
		}
		for _, d := range deps {
			if _, ok := doc.Services[d]; !ok {
				t.Errorf("service %s depends on undefined service %q", name, d)
			}
		}
	}
	for _, name := range []string{"api", "worker"} {
		env := doc.Services[name].Environment
		if env["DATABASE_URL"] == "" || env["TEMPORAL_ADDRESS"] != "temporal:7233" {
			t.Errorf("service %s: DATABASE_URL and TEMPORAL_ADDRESS must point at the compose services, got %v", name, env)
		}
	}
}
