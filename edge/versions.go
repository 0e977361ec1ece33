package edge

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Versions and deployments, as Cloudflare models a Worker: every upload, settings
// change and secret change makes an immutable version; a deployment says which
// versions serve traffic ({strategy: "percentage", versions: [{version_id,
// percentage}]}). PUT .../scripts/{s} makes a version and deploys it at 100%;
// POST .../versions makes one without deploying (wrangler 4 redeploys that way, then
// POSTs .../deployments).

const strategyPercentage = "percentage"

// newScript returns an empty script named name.
func (e *Edge) newScript(name string) *script {
	now := e.now()
	return &script{Name: name, Tag: newID(), CreatedOn: now, ModifiedOn: now}
}

// clone returns a copy of sc that may be changed: its slices are copied, so that
// appending never writes into arrays readers of sc hold.
func (sc *script) clone() *script {
	next := *sc
	next.Versions = slices.Clone(sc.Versions)
	next.Deployments = slices.Clone(sc.Deployments)
	next.Bindings = slices.Clone(sc.Bindings)
	return &next
}

// addVersion appends a version running c to sc.
func (sc *script) addVersion(c content, source, trigger string, ann annotations, now time.Time) (version, error) {
	etag, err := contentEtag(c)
	if err != nil {
		return version{}, err
	}
	sc.LastNumber++
	v := version{
		ID: newUUID(), Number: sc.LastNumber, CreatedOn: now, Source: source, TriggeredBy: trigger,
		Message: ann.Message, Tag: ann.Tag, Etag: etag, Content: c,
	}
	sc.Versions = append(sc.Versions, v)
	sc.ModifiedOn = now
	sc.trim()
	return v, nil
}

// deploy makes a deployment of dvs the live one. The data plane serves one version:
// the one with the largest share (the edge does not split traffic).
func (sc *script) deploy(dvs []deploymentVersion, source, trigger, message string, now time.Time) error {
	if len(dvs) == 0 {
		return errValidation("a deployment needs at least one version")
	}
	sum := 0.0
	best := dvs[0]
	for _, dv := range dvs {
		if dv.Percentage <= 0 || dv.Percentage > 100 {
			return errValidation("version %s: percentage %v is not in (0, 100]", dv.VersionID, dv.Percentage)
		}
		if _, ok := sc.version(dv.VersionID); !ok {
			return errVersionNotFound()
		}
		sum += dv.Percentage
		if dv.Percentage > best.Percentage {
			best = dv
		}
	}
	if math.Abs(sum-100) > 1e-9 {
		return errValidation("the percentages of a deployment must add up to 100, not %v", sum)
	}
	live, _ := sc.version(best.VersionID)
	sc.Deployments = append(sc.Deployments, deployment{
		ID: newUUID(), CreatedOn: now, Source: source, Strategy: strategyPercentage,
		Versions: slices.Clone(dvs), Message: message, TriggeredBy: trigger,
	})
	sc.content = live.Content
	sc.Etag = live.Etag
	sc.DeploymentID = live.ID
	sc.ModifiedOn = now
	sc.trim()
	return nil
}

// trim drops the oldest versions and deployments beyond the limits, never a version
// the latest deployment uses.
func (sc *script) trim() {
	var live []deploymentVersion
	if n := len(sc.Deployments); n > 0 {
		live = sc.Deployments[n-1].Versions
	}
	for len(sc.Versions) > maxVersions {
		i := slices.IndexFunc(sc.Versions, func(v version) bool {
			return !slices.ContainsFunc(live, func(dv deploymentVersion) bool { return dv.VersionID == v.ID })
		})
		if i < 0 {
			break
		}
		sc.Versions = slices.Delete(sc.Versions, i, i+1)
	}
	if n := len(sc.Deployments); n > maxDeployments {
		sc.Deployments = slices.Delete(sc.Deployments, 0, n-maxDeployments)
	}
}

// errVersionNotFound is Cloudflare's answer to an unknown version id: 404, code
// 10007, "workers.api.error.version_not_found" (a client's test fixture of the
// Workers API records this body).
func errVersionNotFound() *apiError {
	return apiErrorf(http.StatusNotFound, codeNotFound, "workers.api.error.version_not_found")
}

// versionObject is a version as the Versions API answers it.
type versionObject struct {
	ID        string            `json:"id"`
	Number    int               `json:"number"`
	Metadata  versionMetadata   `json:"metadata"`
	Annot     map[string]string `json:"annotations,omitempty"`
	Resources *versionResources `json:"resources,omitempty"`
	// StartupTimeMs is part of an upload's answer.
	StartupTimeMs *int64 `json:"startup_time_ms,omitempty"`
}

type versionMetadata struct {
	AuthorEmail string    `json:"author_email"`
	AuthorID    string    `json:"author_id"`
	CreatedOn   time.Time `json:"created_on"`
	ModifiedOn  time.Time `json:"modified_on"`
	Source      string    `json:"source"`
	HasPreview  bool      `json:"hasPreview"`
}

type versionResources struct {
	Bindings      []json.RawMessage `json:"bindings"`
	Script        versionScript     `json:"script"`
	ScriptRuntime versionRuntime    `json:"script_runtime"`
}

type versionScript struct {
	Etag             string   `json:"etag"`
	Handlers         []string `json:"handlers"`
	LastDeployedFrom string   `json:"last_deployed_from"`
}

type versionRuntime struct {
	CompatibilityDate  string          `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string        `json:"compatibility_flags"`
	UsageModel         string          `json:"usage_model"`
	Limits             json.RawMessage `json:"limits,omitempty"`
}

// authorEmail is the author of everything on this edge.
const authorEmail = "local@appforge.localhost"

func versionResult(sc *script, v version, withResources bool) versionObject {
	out := versionObject{
		ID: v.ID, Number: v.Number,
		Metadata: versionMetadata{
			AuthorEmail: authorEmail, AuthorID: sc.Tag, CreatedOn: v.CreatedOn, ModifiedOn: v.CreatedOn, Source: v.Source,
		},
		Annot: map[string]string{"workers/triggered_by": v.TriggeredBy},
	}
	if v.Message != "" {
		out.Annot["workers/message"] = v.Message
	}
	if v.Tag != "" {
		out.Annot["workers/tag"] = v.Tag
	}
	if withResources {
		handlers := []string{}
		if v.Content.MainModule != "" {
			handlers = []string{"fetch"}
		}
		flags := v.Content.CompatibilityFlags
		if flags == nil {
			flags = []string{}
		}
		usage := v.Content.UsageModel
		if usage == "" {
			usage = "standard"
		}
		var zero int64
		out.StartupTimeMs = &zero
		out.Resources = &versionResources{
			Bindings: publicBindings(v.Content.Bindings),
			Script:   versionScript{Etag: v.Etag, Handlers: handlers, LastDeployedFrom: v.Source},
			ScriptRuntime: versionRuntime{
				CompatibilityDate: v.Content.CompatibilityDate, CompatibilityFlags: flags,
				UsageModel: usage, Limits: v.Content.Limits,
			},
		}
	}
	return out
}

// listVersions is GET /workers/scripts/{script}/versions, newest first, paginated
// the Versions API's way (result.items, result_info page and per_page).
func (e *Edge) listVersions(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if page < 1 {
		page = 1
	}
	if perPage < 1 || perPage > 100 {
		perPage = 10
	}
	all := slices.Clone(sc.Versions)
	slices.Reverse(all)
	items := []versionObject{}
	for i := (page - 1) * perPage; i < len(all) && i < page*perPage; i++ {
		items = append(items, versionResult(sc, all[i], false))
	}
	return reply{result: map[string]any{"items": items}, resultInfo: map[string]int{
		"page": page, "per_page": perPage, "count": len(items), "total_count": len(all),
	}}, nil
}

// getVersion is GET /workers/scripts/{script}/versions/{version}.
func (e *Edge) getVersion(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	v, found := sc.version(r.PathValue("version"))
	if !found {
		return reply{}, errVersionNotFound()
	}
	out := versionResult(sc, v, true)
	out.StartupTimeMs = nil
	return ok(out)
}

// deploymentObject is a deployment as the API answers it.
type deploymentObject struct {
	ID          string              `json:"id"`
	CreatedOn   time.Time           `json:"created_on"`
	Source      string              `json:"source"`
	Strategy    string              `json:"strategy"`
	Versions    []deploymentVersion `json:"versions"`
	Annotations map[string]string   `json:"annotations,omitempty"`
	AuthorEmail string              `json:"author_email"`
}

func deploymentResult(d deployment) deploymentObject {
	out := deploymentObject{
		ID: d.ID, CreatedOn: d.CreatedOn, Source: d.Source, Strategy: d.Strategy,
		Versions: slices.Clone(d.Versions), AuthorEmail: authorEmail,
	}
	if d.Message != "" || d.TriggeredBy != "" {
		out.Annotations = map[string]string{}
		if d.Message != "" {
			out.Annotations["workers/message"] = d.Message
		}
		if d.TriggeredBy != "" {
			out.Annotations["workers/triggered_by"] = d.TriggeredBy
		}
	}
	return out
}

// listDeployments is GET /workers/scripts/{script}/deployments: {deployments: [...]},
// newest first; 404 with code 10007 for an unknown script (wrangler accepts that as
// "new Worker").
func (e *Edge) listDeployments(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	out := make([]deploymentObject, 0, len(sc.Deployments))
	for i := len(sc.Deployments) - 1; i >= 0; i-- {
		out = append(out, deploymentResult(sc.Deployments[i]))
	}
	return ok(map[string]any{"deployments": out})
}

// getDeployment is GET /workers/scripts/{script}/deployments/{deployment}.
func (e *Edge) getDeployment(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	id := r.PathValue("deployment")
	for _, d := range sc.Deployments {
		if d.ID == id {
			return ok(deploymentResult(d))
		}
	}
	return reply{}, apiErrorf(http.StatusNotFound, codeNotFound, "workers.api.error.deployment_not_found")
}

// postDeployment is POST /workers/scripts/{script}/deployments
// {strategy: "percentage", versions: [{version_id, percentage}], annotations}.
func (e *Edge) postDeployment(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	var req struct {
		Strategy    string              `json:"strategy"`
		Versions    []deploymentVersion `json:"versions"`
		Annotations annotations         `json:"annotations"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	if req.Strategy != strategyPercentage {
		return reply{}, errValidation("strategy %q is not supported: use \"percentage\"", req.Strategy)
	}
	src := requestSource(r)
	var out deployment
	err = e.store.update(func(scripts map[string]*script) error {
		prev := scripts[name]
		if prev == nil {
			return errScriptNotFound()
		}
		next := prev.clone()
		if err := next.deploy(req.Versions, src, "", req.Annotations.Message, e.now()); err != nil {
			return err
		}
		out = next.Deployments[len(next.Deployments)-1]
		scripts[name] = next
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	e.log.Info("script deployed", "script", name, "deployment_id", out.ID)
	return ok(deploymentResult(out))
}
