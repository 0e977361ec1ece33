package build

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Turning tool output into error lines for people and models: ANSI codes stripped,
// workspace paths made relative, one line per error in tsc's
// "src/App.tsx(3,7): error TS2322: ..." shape, deduplicated, at most maxErrors.

const (
	maxErrors    = 20
	maxErrorLine = 400
)

// cleaner makes tool output position-independent.
type cleaner struct {
	ws          string // the workspace: paths under it become relative
	nodeModules string // the cached node_modules: shown as node_modules
	// appConfig is the app's Vite config file, named where vite names the builder's
	// wrapper config (which loads it); "" when the app has none.
	appConfig string
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)`)

func (c cleaner) text(s string) string {
	s = ansi.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	type pair struct{ from, to string }
	var pairs []pair
	add := func(dir, to string) {
		if dir == "" {
			return
		}
		dirs := []string{dir}
		if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
			dirs = append(dirs, real)
		}
		bare := strings.TrimSuffix(to, "/")
		if bare == "" {
			bare = "."
		}
		for _, d := range dirs {
			pairs = append(pairs, pair{"file://" + d + "/", to}, pair{d + "/", to}, pair{d, bare})
		}
	}
	add(c.nodeModules, "node_modules/")
	add(c.ws, "")
	for _, p := range pairs {
		s = strings.ReplaceAll(s, p.from, p.to)
	}
	if c.appConfig != "" {
		s = strings.ReplaceAll(s, "from "+wrapperConfig, "from "+c.appConfig)
	}
	return s
}

// tsc --pretty false: "src/App.tsx(3,7): error TS2322: message", elaborations indented
// below; errors without a place start with "error TS".
var tscError = regexp.MustCompile(`^(?:\S.*\(\d+,\d+\): )?error TS\d+: `)

// parseTSC returns tsc's errors, each with up to two lines of elaboration joined on.
func parseTSC(out string) []string {
	var errs []string
	extra := 0
	for _, line := range strings.Split(out, "\n") {
		switch {
		case tscError.MatchString(line):
			errs = append(errs, strings.TrimSpace(line))
			extra = 0
		case len(errs) > 0 && strings.HasPrefix(line, " ") && strings.TrimSpace(line) != "" && extra < 2:
			errs[len(errs)-1] += " " + strings.TrimSpace(line)
			extra++
		default:
			extra = 2 // elaborations follow their error directly
		}
	}
	return dedupe(errs)
}

var (
	// A rolldown diagnostic starts at column 0: "[UNRESOLVED_IMPORT] Could not resolve...",
	// "[builtin:vite-transform] Unexpected token", "[plugin vite:css-post]".
	viteHeader = regexp.MustCompile(`^\[([^\]\s][^\]]*)\]\s*(.*)$`)
	// Its place is in the code frame: "╭─[ src/App.tsx:2:18 ]".
	viteFrame = regexp.MustCompile(`─\[\s*(.+?):(\d+):(\d+)\s*\]`)
	// Older formats and plugins: "file: /ws/src/App.tsx:2:18".
	viteFileLine = regexp.MustCompile(`^file:\s*(.+?):(\d+):(\d+)`)
	stackFrame   = regexp.MustCompile(`^\s+at\s`)
)

// parseVite returns the errors of a failed vite build.
func parseVite(out string) []string {
	lines := strings.Split(out, "\n")
	start := -1
	for i, line := range lines {
		if strings.TrimSpace(line) == "error during build:" {
			start = i + 1
		}
	}
	if start < 0 {
		return errorLines(lines)
	}
	var errs []string
	if start < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[start]), "Build failed with") {
		errs = viteDiagnostics(lines[start+1:])
	}
	if len(errs) == 0 {
		// An error outside the bundler, such as a config that does not load: its message
		// lines, without the stack, and the line saying what failed.
		if start >= 2 && strings.HasPrefix(lines[start-2], "failed to load config") {
			errs = append(errs, strings.TrimSpace(lines[start-2]))
		}
		for _, line := range lines[start:] {
			t := strings.TrimSpace(line)
			if stackFrame.MatchString(line) || t == "" || t == "}" || strings.HasPrefix(t, "errors: [") {
				continue
			}
			errs = append(errs, t)
			if len(errs) >= 5 {
				break
			}
		}
	}
	return dedupe(errs)
}

// viteDiagnostics reads rolldown's "Build failed with N errors:" blocks.
func viteDiagnostics(lines []string) []string {
	type diag struct{ code, msg, place string }
	var ds []diag
	for _, line := range lines {
		if stackFrame.MatchString(line) {
			continue
		}
		if m := viteHeader.FindStringSubmatch(line); m != nil {
			ds = append(ds, diag{code: m[1], msg: strings.TrimSpace(m[2])})
			continue
		}
		if len(ds) == 0 {
			continue
		}
		d := &ds[len(ds)-1]
		if d.place == "" {
			if m := viteFrame.FindStringSubmatch(line); m != nil {
				d.place = fmt.Sprintf("%s(%s,%s)", m[1], m[2], m[3])
				continue
			}
			if m := viteFileLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				d.place = fmt.Sprintf("%s(%s,%s)", m[1], m[2], m[3])
				continue
			}
		}
		if t := strings.TrimSpace(line); d.msg == "" && t != "" && !strings.ContainsAny(t[:1], "│╭╰─") {
			d.msg = t // "[plugin vite:css-post]" puts its message on the next line
		}
	}
	errs := make([]string, 0, len(ds))
	for _, d := range ds {
		line := "error " + d.code + ": " + d.msg
		if d.place != "" {
			line = d.place + ": " + line
		}
		errs = append(errs, line)
	}
	return errs
}

// errorLines is the fallback: lines that say "error", else nothing.
func errorLines(lines []string) []string {
	var errs []string
	for _, line := range lines {
		if stackFrame.MatchString(line) {
			continue
		}
		if t := strings.TrimSpace(line); strings.Contains(strings.ToLower(t), "error") {
			errs = append(errs, t)
		}
	}
	return dedupe(errs)
}

var npmCode = regexp.MustCompile(`(?m)^npm (?:error|ERR!) code (\S+)`)

// npmErrorCode returns the code of npm's error, such as "E404" or "ETARGET".
func npmErrorCode(out string) string {
	if m := npmCode.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// npmErrors returns npm's error lines about the app's package.json, without its generic
// advice, stacks and log paths.
func npmErrors(out, code string) []string {
	errs := []string{fmt.Sprintf("package.json: npm install failed (%s)", orUnknown(code))}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "npm error ")
		if !ok {
			rest, ok = strings.CutPrefix(line, "npm ERR! ")
		}
		if !ok {
			continue
		}
		for _, tag := range []string{"404 ", "notarget ", "code ", "peer ", "ERESOLVE "} {
			rest = strings.TrimPrefix(rest, tag)
		}
		rest = strings.TrimSpace(rest)
		switch {
		case rest == "" || rest == code || rest == "404" || strings.HasPrefix(rest, "at "),
			strings.HasPrefix(rest, "A complete log of this run"),
			strings.HasPrefix(rest, "Note that you can also install from a"),
			strings.HasPrefix(rest, "tarball, folder, http url, or git url"),
			strings.HasPrefix(rest, "In most cases you or one of your dependencies"),
			strings.HasPrefix(rest, "For a full report see"),
			strings.Contains(rest, "/.npm/_logs/"):
			continue
		}
		errs = append(errs, "package.json: "+rest)
	}
	return dedupe(errs)
}

// dedupe drops empty and repeated lines, keeping the first of each.
func dedupe(lines []string) []string {
	seen := make(map[string]bool, len(lines))
	out := lines[:0:0]
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

// limitErrors caps the number and the length of error lines.
func limitErrors(errs []string) []string {
	errs = dedupe(errs)
	if len(errs) > maxErrors {
		more := len(errs) - (maxErrors - 1)
		errs = append(errs[:maxErrors-1:maxErrors-1], fmt.Sprintf("... and %d more errors", more))
	}
	for i, e := range errs {
		if len(e) > maxErrorLine {
			errs[i] = strings.ToValidUTF8(e[:maxErrorLine], "") + "..."
		}
	}
	return errs
}

// lastLines returns the last n non-empty lines of s, stack frames left out.
func lastLines(s string, n int) []string {
	lines := strings.Split(s, "\n")
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && !stackFrame.MatchString(lines[i]) {
			out = append(out, t)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
