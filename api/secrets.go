package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/secrets"
	"github.com/appforge/appforge/workflows"
)

// MaxSecretBytes is the largest secret value, and MaxSecrets the most an environment
// holds: Cloudflare's limits for a Worker's environment variables (5 KB each, 128 on
// the Paid plan; the Free plan allows 64).
const (
	MaxSecretBytes = 5 << 10
	MaxSecrets     = 128
)

var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// secretOut describes a secret without its value: the API never returns values.
type secretOut struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	// Synced is true once the environment's script has the current value.
	Synced    bool       `json:"synced"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SyncedAt  *time.Time `json:"synced_at,omitempty"`
}

func secretView(s models.Secret) secretOut {
	return secretOut{Name: s.Name, Environment: s.Environment, Synced: s.SyncedRevision == s.Revision, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, SyncedAt: s.SyncedAt}
}

// secretTarget checks the app, environment and (when named) secret in the path.
func (s *Server) secretTarget(c *gin.Context, named bool) (models.App, string, string, error) {
	app, err := s.store.App(c.Request.Context(), c.Param("app"))
	if err != nil {
		return app, "", "", err
	}
	env := c.Param("env")
	if env != models.EnvPreview && env != models.EnvProduction {
		return app, "", "", errNotFound(fmt.Sprintf("environment %q: an app has the environments preview and production", env))
	}
	name := c.Param("name")
	if named && !secretName.MatchString(name) {
		return app, "", "", errBadRequest("invalid_secret_name", fmt.Sprintf("secret name %q: use letters, digits and underscores, starting with a letter or underscore, at most 64 characters", name))
	}
	if s.opts.Secrets == nil {
		return app, "", "", &apiError{Status: http.StatusServiceUnavailable, Code: "secrets_unavailable", Message: "secrets are not configured on this server (APPFORGE_SECRET_KEY)"}
	}
	return app, env, name, nil
}

func (s *Server) listSecrets(c *gin.Context) {
	app, env, _, err := s.secretTarget(c, false)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, err := s.store.Secrets(c.Request.Context(), app.ID, env, false)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]secretOut, 0, len(list))
	for _, sec := range list {
		out = append(out, secretView(sec))
	}
	c.JSON(http.StatusOK, gin.H{"environment": env, "secrets": out})
}

// putSecret seals the value and stores it; the app's workflow then sends it to the
// environment's script (PUT, one secret per call). The value is never logged, stored in
// plain text, or put in workflow history or events.
func (s *Server) putSecret(c *gin.Context) {
	app, env, name, err := s.secretTarget(c, true)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req struct {
		Value *string `json:"value"`
	}
	err = decodeBody(c, MaxSecretBytes*6+1024, &req, false, `the value as JSON: {"value": "..."}`)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "invalid_body" {
		err = errBadRequest("secret_too_large", fmt.Sprintf("a secret value may be at most %d bytes", MaxSecretBytes))
	}
	if err == nil && req.Value == nil {
		err = errBadRequest("invalid_json", `send the value as JSON: {"value": "..."}`)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	switch {
	case *req.Value == "":
		s.fail(c, errBadRequest("secret_empty", "the secret value is empty; to remove a secret, DELETE it"))
		return
	case len(*req.Value) > MaxSecretBytes:
		s.fail(c, errBadRequest("secret_too_large", fmt.Sprintf("the value is %d bytes; a secret may be at most %d", len(*req.Value), MaxSecretBytes)))
		return
	}
	ctx := c.Request.Context()
	box := s.opts.Secrets
	sec, created, err := s.store.PutSecret(ctx, app.ID, env, name, box.Seal([]byte(*req.Value), secrets.Where(app.ID, env, name)), box.KeyID, MaxSecrets)
	if errors.Is(err, models.ErrTooMany) {
		err = &apiError{Status: http.StatusConflict, Code: "too_many_secrets",
			Message: fmt.Sprintf("%s already has %d secrets, the most a Worker may hold; delete one (DELETE .../secrets/{name}) before adding %s", env, MaxSecrets, name)}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	if err := s.syncSecrets(c, app.ID, env); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, secretView(sec))
}

func (s *Server) deleteSecret(c *gin.Context) {
	app, env, name, err := s.secretTarget(c, true)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.store.DeleteSecret(c.Request.Context(), app.ID, env, name); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.syncSecrets(c, app.ID, env); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// syncSecrets queues the sync in the app's workflow. The change is stored either way;
// if the workflow service is down, the next deploy of the environment syncs it.
func (s *Server) syncSecrets(c *gin.Context, appID, env string) error {
	_, err := s.wf.Send(c.Request.Context(), appID, workflows.ChatMessage{ID: models.NewID("sync_"), Command: workflows.CommandSyncSecrets, Environment: env})
	var ae *apiError
	if err != nil && !errors.As(err, &ae) {
		s.log.Warn("queue secret sync; the next deploy will sync", "app_id", appID, "environment", env, "err", err)
		return nil
	}
	return err
}
