package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/models"
)

// MaxBudgetBytes is the largest budget an app may set: far above any web app worth
// serving, and above what Cloudflare serves from one Worker's assets in practice.
const MaxBudgetBytes = 100 << 20

// budgetOut is an app's size budget for production bundles: what applies, where each
// figure comes from, and how the live version's production bundle measures against it.
type budgetOut struct {
	AppID      string `json:"app_id"`
	WarnBytes  int64  `json:"warn_bytes"`
	LimitBytes int64  `json:"limit_bytes"`
	// Custom is true when the app has its own budget; the server's applies otherwise.
	Custom bool         `json:"custom"`
	Server build.Budget `json:"server_default"`
	// Live is the live version's production bundle measured against this budget: what a
	// publish would do now. Absent until that bundle is built.
	Live *liveBudget `json:"live_version,omitempty"`
}

type liveBudget struct {
	Version int `json:"version"`
	build.BudgetReport
}

func (s *Server) getBudget(c *gin.Context) {
	app, err := s.store.App(c.Request.Context(), c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.budgetView(c, app)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// putBudget sets the app's budget: {"warn_bytes": ..., "limit_bytes": ...}, each a
// number of bytes or a size such as "800KB" or "2MB"; 0 or absent takes the server's.
// It applies from the next build or publish, to bundles built before as well.
func (s *Server) putBudget(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var req struct {
		WarnBytes  json.RawMessage `json:"warn_bytes"`
		LimitBytes json.RawMessage `json:"limit_bytes"`
	}
	if err := decodeBody(c, 4096, &req, false, `the budget as JSON, {"warn_bytes": "800KB", "limit_bytes": "2MB"} (bytes or sizes; 0 or absent takes the server's)`); err != nil {
		s.fail(c, err)
		return
	}
	warn, err := budgetField("warn_bytes", req.WarnBytes)
	if err != nil {
		s.fail(c, err)
		return
	}
	limit, err := budgetField("limit_bytes", req.LimitBytes)
	if err != nil {
		s.fail(c, err)
		return
	}
	if eff := (build.Budget{WarnBytes: warn, LimitBytes: limit}).Or(s.opts.Budget); eff.WarnBytes > eff.LimitBytes {
		s.fail(c, errBadRequest("invalid_budget", fmt.Sprintf("the warning size (%s) is above the limit (%s): a bundle would be refused before anyone was warned; raise the limit too",
			build.FormatBytes(eff.WarnBytes), build.FormatBytes(eff.LimitBytes))))
		return
	}
	if err := s.store.UpdateApp(ctx, app.ID, map[string]any{"budget_warn_bytes": warn, "budget_limit_bytes": limit}); err != nil {
		s.fail(c, err)
		return
	}
	app.BudgetWarnBytes, app.BudgetLimitBytes = warn, limit
	out, err := s.budgetView(c, app)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// budgetField reads a budget figure: a whole number of bytes, a size string, or null.
func budgetField(name string, raw json.RawMessage) (int64, error) {
	bad := func(why string) error {
		return errBadRequest("invalid_budget", fmt.Sprintf("%s: %s; give bytes (800000) or a size (\"800KB\", \"2MB\"), or 0 for the server's", name, why))
	}
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return 0, bad("not a number of bytes")
		}
		if n, err = build.ParseSize(str); err != nil {
			return 0, bad(fmt.Sprintf("%q is not a size", str))
		}
	}
	switch {
	case n < 0:
		return 0, bad("negative")
	case n > MaxBudgetBytes:
		return 0, bad(fmt.Sprintf("at most %s", build.FormatBytes(MaxBudgetBytes)))
	case n > 0 && n < 10<<10:
		return 0, bad("at least 10 KB (React alone is larger)")
	}
	return n, nil
}

func (s *Server) budgetView(c *gin.Context, app models.App) (budgetOut, error) {
	own := build.Budget{WarnBytes: app.BudgetWarnBytes, LimitBytes: app.BudgetLimitBytes}
	eff := own.Or(s.opts.Budget)
	out := budgetOut{AppID: app.ID, WarnBytes: eff.WarnBytes, LimitBytes: eff.LimitBytes, Custom: own != build.Budget{}, Server: s.opts.Budget}
	if app.LiveVersion == 0 {
		return out, nil
	}
	v, err := s.store.Version(c.Request.Context(), app.ID, app.LiveVersion)
	if err != nil {
		return out, err
	}
	var r build.Report
	if json.Unmarshal([]byte(v.ProductionReport), &r) == nil && len(r.Files) > 0 {
		if m := build.Measure(r, eff); m.Budget != nil {
			out.Live = &liveBudget{Version: v.Number, BudgetReport: *m.Budget}
		}
	}
	return out, nil
}
