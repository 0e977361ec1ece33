package build

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Budget bounds the size of a production bundle. It counts raw (uncompressed) bytes of
// every file the production deploy serves: HTML, JS, CSS, images and anything copied
// from public/, but not _headers and _redirects (configuration, not assets) and not
// source maps (never served in production). Raw, not gzip, bytes: raw size is what the
// browser parses and runs, it does not depend on how the edge compresses (gzip or
// brotli), and it is the stricter of the two; the report gives gzip sizes beside.
type Budget struct {
	// WarnBytes: above it the report lists the heavy files and why; default
	// DefaultWarnBytes.
	WarnBytes int64 `json:"warn_bytes"`
	// LimitBytes: above it the production deploy is refused (Report.BudgetErr); default
	// DefaultLimitBytes.
	LimitBytes int64 `json:"limit_bytes"`
}

// Default budget: a React 19 app with the foundation template is about 225 KB.
const (
	DefaultWarnBytes  = 500 << 10 // 500 KiB
	DefaultLimitBytes = 1 << 20   // 1 MiB
)

// Or fills zero fields from d, then from the package defaults (DefaultWarnBytes,
// DefaultLimitBytes): an app's budget Or the server's.
func (b Budget) Or(d Budget) Budget {
	if b.WarnBytes <= 0 {
		b.WarnBytes = d.WarnBytes
	}
	if b.LimitBytes <= 0 {
		b.LimitBytes = d.LimitBytes
	}
	if b.WarnBytes <= 0 {
		b.WarnBytes = DefaultWarnBytes
	}
	if b.LimitBytes <= 0 {
		b.LimitBytes = DefaultLimitBytes
	}
	return b
}

// BudgetStatus is where a bundle stands against its budget.
type BudgetStatus string

const (
	BudgetOK   BudgetStatus = "ok"
	BudgetWarn BudgetStatus = "warn" // over WarnBytes: the user is told what is heavy
	BudgetOver BudgetStatus = "over" // over LimitBytes: a production deploy is refused
)

// BudgetReport is a production bundle measured against its budget.
type BudgetReport struct {
	Status     BudgetStatus `json:"status"`
	TotalBytes int64        `json:"total_bytes"` // raw bytes counted (see Budget)
	TotalGzip  int64        `json:"total_gzip_bytes"`
	WarnBytes  int64        `json:"warn_bytes"`
	LimitBytes int64        `json:"limit_bytes"`
	// Heavy is set when Status is not BudgetOK: the largest files, largest first, until
	// they make up most of the bundle (at most maxHeavyFiles), each with its largest
	// modules.
	Heavy []HeavyFile `json:"heavy,omitempty"`
	// Message says it in one paragraph for the user and the model.
	Message string `json:"message"`
}

// HeavyFile is one file that weighs on the budget.
type HeavyFile struct {
	Path     string   `json:"path"`
	Size     int64    `json:"size"`
	GzipSize int64    `json:"gzip_size"`
	Modules  []Module `json:"modules,omitempty"` // for a JS chunk: its largest modules
}

// ErrOverBudget is wrapped by a *BudgetError: a production bundle over its limit.
var ErrOverBudget = errors.New("bundle over its size limit")

// BudgetError refuses a production deploy of a bundle over its limit. The bundle still
// builds and can be deployed to a preview; Budget says what is heavy and why.
type BudgetError struct {
	Budget BudgetReport
}

func (e *BudgetError) Error() string { return e.Budget.Message }
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// BudgetErr returns a *BudgetError (errors.Is ErrOverBudget) when the report is of a
// production build over its size limit, nil otherwise. A caller deploying to production
// checks it, on a fresh report or on one stored with the version, before deploying.
func (r Report) BudgetErr() error {
	if r.Budget == nil || r.Budget.Status != BudgetOver {
		return nil
	}
	return &BudgetError{Budget: *r.Budget}
}

const (
	maxHeavyFiles   = 5
	maxHeavyModules = 5
	heavyShare      = 0.8 // list files until they make up this share of the bundle
)

// counted reports whether a file of the output counts against the budget.
func counted(p string) bool {
	return p != headersFile && p != redirectsFile && !strings.HasSuffix(p, ".map")
}

// Measure measures a production report against budget b (zero fields take the
// package defaults); a preview report is returned as it is. The budget can change after
// a build, and a publish goes by the budget of the moment.
func Measure(r Report, b Budget) Report {
	if r.Profile == ProfileProduction {
		r.Budget = checkBudget(&r, b.Or(Budget{}))
	}
	return r
}

// checkBudget measures a report's files against b.
func checkBudget(r *Report, b Budget) *BudgetReport {
	br := &BudgetReport{WarnBytes: b.WarnBytes, LimitBytes: b.LimitBytes, Status: BudgetOK}
	var fs []OutputFile
	for _, f := range r.Files {
		if counted(f.Path) {
			fs = append(fs, f)
			br.TotalBytes += f.Size
			br.TotalGzip += f.GzipSize
		}
	}
	switch {
	case br.TotalBytes > b.LimitBytes:
		br.Status = BudgetOver
	case br.TotalBytes > b.WarnBytes:
		br.Status = BudgetWarn
	}
	if br.Status == BudgetOK {
		br.Message = fmt.Sprintf("The production bundle is %s (%s gzipped), within its %s budget.",
			FormatBytes(br.TotalBytes), FormatBytes(br.TotalGzip), FormatBytes(b.WarnBytes))
		return br
	}

	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Size > fs[j].Size })
	chunks := make(map[string]Chunk, len(r.Chunks))
	for _, c := range r.Chunks {
		chunks[c.File] = c
	}
	var covered int64
	for _, f := range fs {
		if len(br.Heavy) == maxHeavyFiles || (len(br.Heavy) > 0 && float64(covered) >= heavyShare*float64(br.TotalBytes)) {
			break
		}
		h := HeavyFile{Path: f.Path, Size: f.Size, GzipSize: f.GzipSize}
		if c, ok := chunks[f.Path]; ok {
			h.Modules = c.Modules[:min(len(c.Modules), maxHeavyModules)]
		}
		br.Heavy = append(br.Heavy, h)
		covered += f.Size
	}

	var sb strings.Builder
	if br.Status == BudgetOver {
		fmt.Fprintf(&sb, "The production bundle is %s, over its %s limit, so it cannot be deployed to production (previews still work).",
			FormatBytes(br.TotalBytes), FormatBytes(b.LimitBytes))
	} else {
		fmt.Fprintf(&sb, "The production bundle is %s, over the %s it should stay under (the limit is %s).",
			FormatBytes(br.TotalBytes), FormatBytes(b.WarnBytes), FormatBytes(b.LimitBytes))
	}
	sb.WriteString(" Heaviest files:")
	for i, h := range br.Heavy {
		if i > 0 {
			sb.WriteString(";")
		}
		fmt.Fprintf(&sb, " %s %s", h.Path, FormatBytes(h.Size))
		// The modules that make the file heavy: the largest, and the next two if each is
		// at least a tenth of the file.
		for j, m := range h.Modules[:min(len(h.Modules), 3)] {
			if j > 0 && m.Size*10 < h.Size {
				break
			}
			if j == 0 {
				sb.WriteString(" (mostly ")
			} else {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "%s ~%s", m.ID, FormatBytes(m.Size))
		}
		if len(h.Modules) > 0 {
			sb.WriteString(")")
		}
	}
	sb.WriteString(".")
	br.Message = sb.String()
	return br
}

// FormatBytes writes n as people read it: 812 B, 41.3 KB, 1.2 MB (powers of 1024).
func FormatBytes(n int64) string {
	trim := func(s string) string { return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") }
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return trim(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KB"
	default:
		return trim(fmt.Sprintf("%.2f", float64(n)/(1<<20))) + " MB"
	}
}

// ParseSize reads a byte count such as "750000", "500KB", "1.5 MB" or "2MiB" (K, M and
// G are 1024-based, as the build reports show sizes).
func ParseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > 1<<40 {
		return 0, fmt.Errorf("%q is not a size such as 750000, 500KB or 1MB", v)
	}
	return int64(f * float64(mult)), nil
}
