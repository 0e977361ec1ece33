package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/appforge/appforge/domains"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/workflows"
)

// domainOut is a domain as the user needs it: its state in words, the exact records to
// set, what was last seen and when the next check is.
type domainOut struct {
	models.Domain
	Instructions []instructionOut `json:"instructions"`
	LastObserved json.RawMessage  `json:"last_observed,omitempty"`
	// Checks counts checks so far (from the domain's workflow, when it answers).
	Checks int    `json:"checks,omitempty"`
	URL    string `json:"url,omitempty"`
}

type instructionOut struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Purpose string `json:"purpose"`
}

func domainView(d models.Domain) domainOut {
	out := domainOut{Domain: d, Instructions: []instructionOut{}}
	json.Unmarshal([]byte(d.Instructions), &out.Instructions)
	if json.Valid([]byte(d.LastObserved)) {
		out.LastObserved = json.RawMessage(d.LastObserved)
	}
	if d.Status == models.DomainActive {
		out.URL = "https://" + d.Primary
	}
	return out
}

// attachDomain validates the hostname and queues it in the app's workflow, which
// publishes the app if needed and starts the domain's workflow.
func (s *Server) attachDomain(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var req struct {
		Hostname string `json:"hostname"`
		Mode     string `json:"mode"`
		Primary  string `json:"primary"`
	}
	if err := decodeBody(c, 4096, &req, false, `{"hostname": "myapp.com"} (optionally "mode": "zone" or "custom_hostname", "primary": "apex" or "www")`); err != nil {
		s.fail(c, err)
		return
	}
	h, err := domains.NormalizeWith(req.Hostname, domains.Options{AllowReserved: s.opts.AllowReservedDomains})
	var invalid *domains.InvalidError
	if errors.As(err, &invalid) {
		s.fail(c, errBadRequest("invalid_hostname", fmt.Sprintf("%q: %s", req.Hostname, invalid.Reason)))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if req.Mode != "" && req.Mode != models.DomainZone && req.Mode != models.DomainCustomHostname {
		s.fail(c, errBadRequest("invalid_mode", `mode must be "zone" (Cloudflare hosts the domain's DNS) or "custom_hostname" (you keep your DNS)`))
		return
	}
	if p := domains.PrimaryProblem(h, req.Primary); p != "" {
		s.fail(c, errBadRequest("invalid_primary", p))
		return
	}
	for _, name := range []string{h.Name, h.WWW} {
		if name == "" {
			continue
		}
		if d, err := s.store.DomainServing(ctx, name); err == nil && d.AppID != app.ID {
			s.fail(c, &apiError{Status: http.StatusConflict, Code: "domain_taken",
				Message: fmt.Sprintf("%s is attached to another app; appforge never moves a domain silently: detach it there first (DELETE /v1/apps/%s/domains/%s)", name, d.AppID, d.Hostname)})
			return
		}
	}
	id, err := operationID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.send(c, app.ID, workflows.ChatMessage{ID: id, Command: workflows.CommandAttachDomain, Domain: h.Name, DomainMode: req.Mode, Primary: req.Primary})
}

func (s *Server) listDomains(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	ds, err := s.store.Domains(ctx, app.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]domainOut, 0, len(ds))
	for _, d := range ds {
		v := domainView(d)
		if st, err := s.wf.DomainState(ctx, d.Hostname); err == nil {
			v.Checks = st.Checks
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"domains": out})
}

// appDomain loads a domain of the app named in the path.
func (s *Server) appDomain(c *gin.Context) (models.Domain, error) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		return models.Domain{}, err
	}
	h, err := domains.NormalizeWith(c.Param("hostname"), domains.Options{AllowReserved: true})
	if err != nil {
		return models.Domain{}, errNotFound(fmt.Sprintf("domain %q is not attached to this app", c.Param("hostname")))
	}
	d, err := s.store.DomainServing(ctx, h.Name)
	if err != nil || d.AppID != app.ID {
		return models.Domain{}, errNotFound(fmt.Sprintf("domain %s is not attached to this app", h.Name))
	}
	return d, nil
}

// checkDomain makes the domain's workflow check now instead of at its next timer.
func (s *Server) checkDomain(c *gin.Context) {
	d, err := s.appDomain(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.wf.CheckDomain(c.Request.Context(), d.Hostname); err != nil {
		s.fail(c, domainSignalError(d, err))
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"hostname": d.Hostname, "status": d.Status, "message": "checking now; follow the app's events or GET its domains"})
}

// detachDomain removes the domain from the app; its workflow cleans up at Cloudflare,
// deletes the record and ends. When that workflow has already ended (its setup or an
// earlier detach failed), the record alone is no proof that Cloudflare is clean, so a
// detach-only workflow is started to do the same cleanup.
func (s *Server) detachDomain(c *gin.Context) {
	d, err := s.appDomain(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	err = s.wf.DetachDomain(ctx, d.Hostname)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		err = s.wf.DetachEndedDomain(ctx, d)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"hostname": d.Hostname, "status": models.DomainDetaching})
}

func domainSignalError(d models.Domain, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &apiError{Status: http.StatusConflict, Code: "domain_not_running", Message: fmt.Sprintf(
			"%s has no running setup (status %s); attach it again to set it up (POST /v1/apps/%s/domains), or detach it (DELETE /v1/apps/%s/domains/%s)",
			d.Hostname, d.Status, d.AppID, d.AppID, d.Hostname)}
	}
	return err
}
