package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/workflows"
)

func describeCommand(m workflows.ChatMessage) string {
	switch m.Command {
	case workflows.CommandPublish:
		if m.Version > 0 {
			return fmt.Sprintf("Publish version %d to production", m.Version)
		}
		return "Publish the live version to production"
	case workflows.CommandRollback:
		return fmt.Sprintf("Roll %s back to its previous deployment", m.Environment)
	case workflows.CommandRestore:
		return fmt.Sprintf("Restore version %d", m.Version)
	case workflows.CommandAttachDomain:
		return fmt.Sprintf("Serve the app at %s", m.Domain)
	}
	return m.Command
}

// operationID is the message ID of an operation: the Idempotency-Key header when given
// (a retried request runs once), else a new one.
func operationID(c *gin.Context) (string, error) {
	if key := c.GetHeader("Idempotency-Key"); key != "" {
		if err := workflows.ValidateMessage(workflows.ChatMessage{ID: key, Command: workflows.CommandPublish}); err != nil {
			return "", errBadRequest("invalid_message_id", err.Error())
		}
		return key, nil
	}
	return models.NewID("op_"), nil
}

// optionalVersion reads {"version": n} from an optional JSON body.
func optionalVersion(c *gin.Context) (int, error) {
	var req struct {
		Version int `json:"version"`
	}
	if err := decodeBody(c, 4096, &req, true, `{"version": 3} (the body is optional)`); err != nil {
		return 0, err
	}
	if req.Version < 0 {
		return 0, errBadRequest("invalid_version", "version must be a positive number")
	}
	return req.Version, nil
}

func (s *Server) environment(c *gin.Context) (models.App, string, error) {
	app, err := s.store.App(c.Request.Context(), c.Param("app"))
	if err != nil {
		return app, "", err
	}
	env := c.Param("env")
	if env != models.EnvPreview && env != models.EnvProduction {
		return app, "", errNotFound(fmt.Sprintf("environment %q: an app has the environments preview and production", env))
	}
	return app, env, nil
}

// deploy publishes a built version (the body's version, else the live preview) to
// production, reusing its bundle. Preview gets every version on its own.
func (s *Server) deploy(c *gin.Context) {
	app, env, err := s.environment(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if env != models.EnvProduction {
		s.fail(c, errBadRequest("preview_is_automatic", "every version is deployed to preview when it is made; publish to production instead"))
		return
	}
	version, err := optionalVersion(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	id, err := operationID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.send(c, app.ID, workflows.ChatMessage{ID: id, Command: workflows.CommandPublish, Environment: env, Version: version})
}

// rollback puts the environment's previous healthy deployment back, without building.
func (s *Server) rollback(c *gin.Context) {
	app, env, err := s.environment(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := noBody(c, "rollback puts back the deployment before the current one; to serve a given version, POST .../environments/production/deploy {\"version\": N}"); err != nil {
		s.fail(c, err)
		return
	}
	id, err := operationID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.send(c, app.ID, workflows.ChatMessage{ID: id, Command: workflows.CommandRollback, Environment: env})
}

// restore makes a new version from an old one's files and deploys it to preview.
func (s *Server) restore(c *gin.Context) {
	_, v, err := s.version(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := noBody(c, "the version to restore is the one in the path"); err != nil {
		s.fail(c, err)
		return
	}
	id, err := operationID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.send(c, v.AppID, workflows.ChatMessage{ID: id, Command: workflows.CommandRestore, Version: v.Number})
}

// environmentOut is one environment: what it serves and its recent deployments.
type environmentOut struct {
	Name        string          `json:"name"`
	Script      string          `json:"script"`
	URL         string          `json:"url,omitempty"`
	Version     int             `json:"version"`
	Deployments []deploymentOut `json:"deployments"`
}

func (s *Server) listEnvironments(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	ds, err := s.store.Deployments(ctx, app.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	prod := app.ProductionScript
	if prod == "" {
		prod = app.ID
	}
	envs := []environmentOut{
		{Name: models.EnvPreview, Script: app.PreviewScript, URL: app.PreviewURL, Version: app.LiveVersion, Deployments: []deploymentOut{}},
		{Name: models.EnvProduction, Script: prod, URL: app.ProductionURL, Version: app.ProductionVersion, Deployments: []deploymentOut{}},
	}
	for _, d := range ds {
		for i := range envs {
			if envs[i].Name == d.Environment && len(envs[i].Deployments) < 20 {
				envs[i].Deployments = append(envs[i].Deployments, deploymentView(d))
			}
		}
	}
	c.JSON(http.StatusOK, gin.H{"environments": envs})
}

// diff compares two versions' files: added, removed and changed paths.
func (s *Server) diff(c *gin.Context) {
	app, v, err := s.version(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	against := v.ParentNumber
	if q := c.Query("against"); q != "" {
		if against, err = strconv.Atoi(q); err != nil || against < 1 {
			s.fail(c, errBadRequest("invalid_version", fmt.Sprintf("against=%q is not a version number", q)))
			return
		}
	}
	if against == 0 {
		against = v.Number - 1
	}
	if against < 1 {
		s.fail(c, errBadRequest("invalid_version", "version 1 has nothing before it; pass ?against=N"))
		return
	}
	base, err := s.store.Version(ctx, app.ID, against)
	if err != nil {
		s.fail(c, err)
		return
	}
	from, err := s.store.FileList(ctx, base.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	to, err := s.store.FileList(ctx, v.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	type change struct {
		Path     string `json:"path"`
		FromSize int64  `json:"from_size,omitempty"`
		ToSize   int64  `json:"to_size,omitempty"`
	}
	old := map[string]models.AppFile{}
	for _, f := range from {
		old[f.Path] = f
	}
	added, removed, changed := []change{}, []change{}, []change{}
	unchanged := 0
	for _, f := range to {
		o, ok := old[f.Path]
		switch {
		case !ok:
			added = append(added, change{Path: f.Path, ToSize: f.Size})
		case o.Hash != f.Hash:
			changed = append(changed, change{Path: f.Path, FromSize: o.Size, ToSize: f.Size})
		default:
			unchanged++
		}
		delete(old, f.Path)
	}
	for _, f := range from {
		if _, gone := old[f.Path]; gone {
			removed = append(removed, change{Path: f.Path, FromSize: f.Size})
		}
	}
	c.JSON(http.StatusOK, gin.H{"from": against, "to": v.Number, "added": added, "removed": removed, "changed": changed, "unchanged": unchanged})
}
