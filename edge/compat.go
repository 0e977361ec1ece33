package edge

import (
	"net/http"
	"time"
)

// Endpoints wrangler calls besides the Scripts API (wrangler 4.86, observed against
// this edge with WRANGLER_LOG=debug):
//   - GET /accounts/{a}/workers/services/{name}: 404 with code 10007 means "new
//     Worker" (any other error aborts the deploy); wrangler reads
//     default_environment.script.tag from an existing one.
//   - GET /accounts/{a}/workers/workers/{name}: the Worker object of the newer
//     Workers API (subdomain state, observability, tags).
//   - GET /memberships and GET /accounts: account discovery when
//     CLOUDFLARE_ACCOUNT_ID is not set.
//   - GET /user and GET /user/tokens/verify: `wrangler whoami`.

// accountName is the display name of the edge's one account.
const accountName = "appforge local edge"

// getService is GET /workers/services/{script}.
func (e *Edge) getService(r *http.Request) (reply, error) {
	sc, err := e.lookupScript(r)
	if err != nil {
		return reply{}, err
	}
	obj := scriptResult(sc)
	env := map[string]any{
		"environment": "production",
		"created_on":  sc.CreatedOn,
		"modified_on": sc.ModifiedOn,
		"script": map[string]any{
			"id":                  sc.Name,
			"tag":                 sc.Tag,
			"etag":                sc.Etag,
			"handlers":            obj.Handlers,
			"created_on":          sc.CreatedOn,
			"modified_on":         sc.ModifiedOn,
			"usage_model":         obj.UsageModel,
			"compatibility_date":  sc.CompatibilityDate,
			"compatibility_flags": obj.CompatibilityFlags,
			"last_deployed_from":  obj.LastDeployedFrom,
			"has_assets":          obj.HasAssets,
			"has_modules":         obj.HasModules,
		},
	}
	return ok(map[string]any{
		"id":                  sc.Name,
		"default_environment": env,
		"environments":        []any{env},
		"created_on":          sc.CreatedOn,
		"modified_on":         sc.ModifiedOn,
		"usage_model":         obj.UsageModel,
	})
}

// getWorker is GET /workers/workers/{script}.
func (e *Edge) getWorker(r *http.Request) (reply, error) {
	name := r.PathValue("script")
	if !scriptNamePattern.MatchString(name) {
		return reply{}, errScriptNotFound()
	}
	sc, found := e.store.script(name)
	if !found {
		return reply{}, errScriptNotFound()
	}
	var deployedOn *time.Time
	if n := len(sc.Deployments); n > 0 {
		t := sc.Deployments[n-1].CreatedOn
		deployedOn = &t
	}
	tags := sc.Settings.Tags
	if tags == nil {
		tags = []string{}
	}
	obs := sc.Settings.Observability
	if obs == nil {
		obs = []byte(`{"enabled":false,"head_sampling_rate":1,"logs":{"enabled":false,"head_sampling_rate":1,"invocation_logs":true}}`)
	}
	tail := sc.Settings.TailConsumers
	if tail == nil || string(tail) == "null" {
		tail = []byte(`[]`)
	}
	return ok(map[string]any{
		"id":             sc.Tag,
		"name":           sc.Name,
		"created_on":     sc.CreatedOn,
		"updated_on":     sc.ModifiedOn,
		"deployed_on":    deployedOn,
		"logpush":        sc.Settings.Logpush,
		"observability":  obs,
		"references":     map[string]any{"dispatch_namespace_outbounds": []any{}, "domains": []any{}, "durable_objects": []any{}, "queues": []any{}, "workers": []any{}},
		"subdomain":      sc.Subdomain,
		"tags":           tags,
		"tail_consumers": tail,
	})
}

// listMemberships is GET /memberships: the caller's one account.
func (e *Edge) listMemberships(*http.Request) (reply, error) {
	return reply{result: []any{map[string]any{
		"id":          e.cfg.AccountID,
		"status":      "accepted",
		"account":     map[string]any{"id": e.cfg.AccountID, "name": accountName},
		"roles":       []string{"Administrator"},
		"permissions": map[string]any{},
	}}, resultInfo: pageInfo(1)}, nil
}

// listAccounts is GET /accounts.
func (e *Edge) listAccounts(*http.Request) (reply, error) {
	return reply{result: []any{e.account()}, resultInfo: pageInfo(1)}, nil
}

// getAccount is GET /accounts/{account}.
func (e *Edge) getAccount(*http.Request) (reply, error) {
	return ok(e.account())
}

func (e *Edge) account() map[string]any {
	return map[string]any{
		"id":       e.cfg.AccountID,
		"name":     accountName,
		"type":     "standard",
		"settings": map[string]any{"enforce_twofactor": false},
	}
}

// getUser is GET /user.
func (e *Edge) getUser(*http.Request) (reply, error) {
	return ok(map[string]any{"id": "00000000000000000000000000000000", "email": authorEmail})
}

// verifyToken is GET /user/tokens/verify.
func (e *Edge) verifyToken(*http.Request) (reply, error) {
	return ok(map[string]any{"id": "00000000000000000000000000000000", "status": "active"})
}

func pageInfo(n int) map[string]int {
	return map[string]int{"page": 1, "per_page": 20, "count": n, "total_count": n, "total_pages": 1}
}
