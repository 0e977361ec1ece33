package llmscript

import (
	"embed"
	"io/fs"
	"sync"
)

//go:embed scenarios
var scenariosFS embed.FS

var builtin = sync.OnceValues(func() ([]Scenario, error) {
	sub, err := fs.Sub(scenariosFS, "scenarios")
	if err != nil {
		return nil, err
	}
	return LoadScenarios(sub)
})

// Builtin returns the scenarios embedded in the package (the folder scenarios/), sorted
// by name. They are checked by the package's tests, so loading them cannot fail.
func Builtin() []Scenario {
	scs, err := builtin()
	if err != nil {
		panic("llmscript: embedded scenarios: " + err.Error())
	}
	return append([]Scenario(nil), scs...)
}
