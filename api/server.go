// Package api is appforge's HTTP API (Gin): create apps and send chat messages, read
// apps, versions, files, deployments and the chat, and follow progress as Server-Sent
// Events. Errors have one JSON shape and are mapped to status codes in one place.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/appforge/appforge/build"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/secrets"
	"github.com/appforge/appforge/workflows"
)

// Workflows is what the API needs of the app workflows (workflows.Client).
type Workflows interface {
	// Send delivers a chat message, starting the app's workflow if needed; a message ID
	// sent twice is answered as a duplicate.
	Send(ctx context.Context, appID string, m workflows.ChatMessage) (workflows.SendResult, error)
	// State queries the workflow's live state.
	State(ctx context.Context, appID string) (workflows.AppState, error)
	// Stop stops a message waiting or at work (workflows.UpdateStop).
	Stop(ctx context.Context, appID, messageID string) (workflows.StopResult, error)
	// CheckDomain and DetachDomain signal a domain's workflow; DomainState queries it.
	CheckDomain(ctx context.Context, hostname string) error
	DetachDomain(ctx context.Context, hostname string) error
	DomainState(ctx context.Context, hostname string) (workflows.DomainState, error)
	// DetachEndedDomain detaches a domain whose workflow has ended (its setup or an
	// earlier detach failed): the record alone is no proof that Cloudflare is clean.
	DetachEndedDomain(ctx context.Context, d models.Domain) error
}

// Options configures the server.
type Options struct {
	Store     *models.Store
	Workflows Workflows
	// Ready reports whether the workflow service answers, for /readyz; nil means always.
	Ready func(ctx context.Context) error
	// AllowReservedDomains accepts .test and similar names (demos on the local edge).
	AllowReservedDomains bool
	// Secrets seals secret values; nil means the secrets endpoints answer 503.
	Secrets *secrets.Box
	// Budget is the size budget of production bundles for apps without their own
	// (zero fields: build's defaults).
	Budget build.Budget
	// MaxMessageBytes bounds a chat message (default 8000).
	MaxMessageBytes int
	// PublicURL is the API's own URL, for links in responses.
	PublicURL string
	// TemporalUIURL and Namespace make links to a workflow in the Temporal Web UI; empty
	// URL means no links.
	TemporalUIURL string
	Namespace     string
	// EventPollInterval is how often the event stream looks for events appended by other
	// processes (default 1s); events appended in this process wake it at once.
	EventPollInterval time.Duration
	// KeepAliveInterval is how often an idle event stream sends a comment (default 15s).
	KeepAliveInterval time.Duration
	Logger            *slog.Logger
}

// Server serves the API.
type Server struct {
	opts Options
	// closing is closed by CloseStreams: event streams end so that shutdown is quick.
	closing   chan struct{}
	closeOnce sync.Once
	store     *models.Store
	wf        Workflows
	log       *slog.Logger
	router    *gin.Engine
}

// NewServer builds the router.
func NewServer(opts Options) *Server {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 8000
	}
	if opts.EventPollInterval <= 0 {
		opts.EventPollInterval = time.Second
	}
	if opts.KeepAliveInterval <= 0 {
		opts.KeepAliveInterval = 15 * time.Second
	}
	opts.Budget = opts.Budget.Or(build.Budget{})
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	s := &Server{opts: opts, store: opts.Store, wf: opts.Workflows, log: opts.Logger, closing: make(chan struct{})}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverPanics(), s.logRequests(), s.sameOrigin())
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, errNotFound("no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})

	r.GET("/", s.chatPage)
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	v1 := r.Group("/v1")
	v1.POST("/apps", s.createApp)
	v1.GET("/apps", s.listApps)
	app := v1.Group("/apps/:app", appParam)
	app.GET("", s.getApp)
	app.POST("/messages", s.postMessage)
	app.GET("/messages", s.listMessages)
	app.POST("/messages/:message/stop", s.stopMessage)
	app.GET("/events", s.events)
	app.GET("/versions", s.listVersions)
	app.GET("/versions/:version", s.getVersion)
	app.GET("/versions/:version/files", s.listFiles)
	app.GET("/versions/:version/files/*path", s.getFile)
	app.GET("/versions/:version/transcript", s.getTranscript)
	app.GET("/deployments", s.listDeployments)
	app.GET("/versions/:version/diff", s.diff)
	app.POST("/versions/:version/restore", s.restore)
	app.GET("/environments", s.listEnvironments)
	app.POST("/environments/:env/deploy", s.deploy)
	app.POST("/environments/:env/rollback", s.rollback)
	app.GET("/budget", s.getBudget)
	app.PUT("/budget", s.putBudget)
	app.GET("/domains", s.listDomains)
	app.POST("/domains", s.attachDomain)
	app.POST("/domains/:hostname/check", s.checkDomain)
	app.DELETE("/domains/:hostname", s.detachDomain)
	app.GET("/environments/:env/secrets", s.listSecrets)
	app.PUT("/environments/:env/secrets/:name", s.putSecret)
	app.DELETE("/environments/:env/secrets/:name", s.deleteSecret)
	s.router = r
	return s
}

// CloseStreams ends every open event stream (clients reconnect with Last-Event-ID and
// miss nothing); call it before shutting the HTTP server down.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// Handler is the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.router }

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when the database and the workflow service both answer.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ready := true
	if err := s.store.Ping(ctx); err != nil {
		checks["database"] = err.Error()
		ready = false
	} else {
		checks["database"] = "ok"
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(ctx); err != nil {
			checks["temporal"] = err.Error()
			ready = false
		} else {
			checks["temporal"] = "ok"
		}
	}
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "not ready"
	}
	c.JSON(status, gin.H{"status": word, "checks": checks})
}

// links are where a client follows an app.
type links struct {
	App        string `json:"app"`
	Events     string `json:"events"`
	Messages   string `json:"messages"`
	Versions   string `json:"versions"`
	TemporalUI string `json:"temporal_ui,omitempty"`
}

func (s *Server) linksFor(appID string) links {
	base := s.opts.PublicURL + "/v1/apps/" + appID
	l := links{App: base, Events: base + "/events", Messages: base + "/messages", Versions: base + "/versions"}
	if s.opts.TemporalUIURL != "" {
		l.TemporalUI = s.opts.TemporalUIURL + "/namespaces/" + url.PathEscape(s.opts.Namespace) + "/workflows/" + url.PathEscape(workflows.AppWorkflowID(appID))
	}
	return l
}

// appParam answers 404 for an app id no app can have, before it reaches the database:
// Postgres refuses some bytes (NUL) outright, which would otherwise read as a 500.
func appParam(c *gin.Context) {
	id := c.Param("app")
	ok := id != "" && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		b := id[i]
		ok = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
	}
	if !ok {
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"error": errNotFound(fmt.Sprintf("app %q: %s", id, models.ErrNotFound))})
	}
}

// sameOrigin refuses requests that change something when a browser sends them from
// another site: the API accepts the form content type curl sends, so without this a
// page anywhere could post chat messages to a local appforge.
func (s *Server) sameOrigin() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead || c.Request.Method == http.MethodOptions {
			c.Next()
			return
		}
		u, err := url.Parse(origin)
		if err == nil && (u.Host == c.Request.Host || s.opts.PublicURL != "" && strings.TrimPrefix(strings.TrimPrefix(s.opts.PublicURL, "http://"), "https://") == u.Host) {
			c.Next()
			return
		}
		s.fail(c, &apiError{Status: http.StatusForbidden, Code: "cross_origin", Message: "requests from another site's pages are not accepted (Origin " + origin + ")"})
	}
}

func (s *Server) recoverPanics() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in handler", "path", c.Request.URL.Path, "panic", r)
				s.fail(c, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
			}
		}()
		c.Next()
	}
}

func (s *Server) logRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.log.Debug("http request", "method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(), "duration_ms", time.Since(start).Milliseconds())
	}
}
