package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/workflows"
)

// messageRequest is the body of POST /v1/apps and POST /v1/apps/{id}/messages.
type messageRequest struct {
	Message string `json:"message"`
	// MessageID makes the request idempotent; the Idempotency-Key header does the same.
	MessageID string `json:"message_id"`
}

// readMessage parses and validates a message request.
func (s *Server) readMessage(c *gin.Context) (workflows.ChatMessage, error) {
	limit := int64(s.opts.MaxMessageBytes)*6 + 4096 // room for JSON escapes
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return workflows.ChatMessage{}, errBadRequest("message_too_long", fmt.Sprintf("the request body is larger than %d bytes; a message may be at most %d bytes", limit, s.opts.MaxMessageBytes))
	}
	if err != nil {
		return workflows.ChatMessage{}, errBadRequest("invalid_body", "the request body could not be read: "+err.Error())
	}
	if err := jsonContentType(c, `{"message": "..."}`); err != nil {
		return workflows.ChatMessage{}, err
	}
	var req messageRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if len(strings.TrimSpace(string(body))) == 0 {
			return workflows.ChatMessage{}, errBadRequest("invalid_json", `the request body is empty; send {"message": "Create a todo app"}`)
		}
		return workflows.ChatMessage{}, errBadRequest("invalid_json", `send {"message": "..."}: `+jsonProblem(err))
	}
	// Anything but the end after the object is refused: dec.More alone would let a
	// stray "}" or "]" through.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return workflows.ChatMessage{}, errBadRequest("invalid_json", `the request body holds more than the one JSON object {"message": "..."}`)
	}
	text := strings.TrimSpace(req.Message)
	switch {
	case text == "":
		return workflows.ChatMessage{}, errBadRequest("message_empty", `"message" is missing or empty: say what the app should be or how to change it`)
	case len(text) > s.opts.MaxMessageBytes:
		return workflows.ChatMessage{}, errBadRequest("message_too_long", fmt.Sprintf("the message is %d bytes; at most %d are accepted", len(text), s.opts.MaxMessageBytes))
	case !utf8.ValidString(text):
		return workflows.ChatMessage{}, errBadRequest("invalid_message", "the message is not valid UTF-8 text")
	}
	id := req.MessageID
	if key := c.GetHeader("Idempotency-Key"); key != "" {
		if id != "" && id != key {
			return workflows.ChatMessage{}, errBadRequest("invalid_message_id", "message_id and the Idempotency-Key header differ")
		}
		id = key
	}
	if id == "" {
		id = models.NewID("m_")
	}
	m := workflows.ChatMessage{ID: id, Text: text}
	if err := workflows.ValidateMessage(m); err != nil {
		code := "invalid_message"
		if strings.HasPrefix(err.Error(), "message id") {
			code = "invalid_message_id"
		}
		return workflows.ChatMessage{}, errBadRequest(code, err.Error())
	}
	return m, nil
}

// sendResponse answers a queued message.
type sendResponse struct {
	AppID     string `json:"app_id"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Position  int    `json:"position"`
	Duplicate bool   `json:"duplicate"`
	Links     links  `json:"links"`
}

// createApp makes a new app from its first message and answers at once (202); the
// work runs in the app's workflow. With a message_id (or Idempotency-Key) a retried
// request answers with the app the first one made.
func (s *Server) createApp(c *gin.Context) {
	ctx := c.Request.Context()
	m, err := s.readMessage(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	appID := ""
	if prev, err := s.store.UserMessage(ctx, m.ID); err == nil {
		appID = prev.AppID
	} else if !errors.Is(err, models.ErrNotFound) {
		s.fail(c, err)
		return
	}
	if appID == "" {
		// Requests with the same message ID that race past the lookup above make the same
		// app ID, so they share one app: CreateApp and SaveMessage keep the first row.
		appID = appIDFor(m.ID)
		if _, _, err := s.store.CreateApp(ctx, models.App{ID: appID, Name: "New app", PreviewScript: previewScript(appID), ProductionScript: appID}); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.send(c, appID, m)
}

// postMessage sends a chat message to an existing app; it is queued behind a turn in
// progress.
func (s *Server) postMessage(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.readMessage(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.send(c, app.ID, m)
}

// send stores the message, then hands it to the workflow. The message is stored first so
// that the chat shows it even while the workflow service is down; a retry with the same
// message ID then completes the hand-over.
func (s *Server) send(c *gin.Context, appID string, m workflows.ChatMessage) {
	ctx := c.Request.Context()
	content := m.Text
	if m.Command != "" {
		content = describeCommand(m)
	}
	stored, _, err := s.store.SaveMessage(ctx, models.ChatMessage{AppID: appID, ID: m.ID, Role: models.RoleUser, Content: content, Status: models.MessageQueued,
		Command: m.Command, Environment: m.Environment, Target: m.Version, Domain: m.Domain, DomainMode: m.DomainMode, Primary: m.Primary})
	if err != nil {
		s.fail(c, err)
		return
	}
	if stored.Content != content {
		s.fail(c, &apiError{Status: http.StatusConflict, Code: "message_id_reused", Message: fmt.Sprintf("message_id %q was already used for a different message", m.ID)})
		return
	}
	if turnFinished(stored) {
		// A late retry of a message whose turn has ended is answered from the database and
		// never handed over again: the workflow remembers only its last message IDs (and
		// none after a reset), so it would take the message as new and run the turn again,
		// putting the message's old version back live over the newer ones. The answer is
		// the workflow's for a message it has seen, with the turn's end ("done" or
		// "failed") as its status: nothing new is queued.
		c.JSON(http.StatusAccepted, sendResponse{AppID: appID, MessageID: m.ID, Status: stored.Status, Duplicate: true, Links: s.linksFor(appID)})
		return
	}
	res, err := s.wf.Send(ctx, appID, m)
	if err != nil {
		// The message is stored: say which, so that the client can retry it (and the
		// redelivery loop will hand it over once the workflow service is back).
		e := s.classify(c, err)
		e.AppID, e.MessageID = appID, m.ID
		s.fail(c, e)
		return
	}
	if err := s.store.UpdateMessage(ctx, appID, m.ID, map[string]any{"delivered": true}); err != nil {
		s.log.Warn("mark message delivered", "app_id", appID, "message_id", m.ID, "err", err)
	}
	if !res.Duplicate {
		msg := "Message received; starting now"
		if res.Position > 0 {
			msg = fmt.Sprintf("Message received; it waits behind %d turn(s)", res.Position)
		}
		if _, err := s.store.AppendEvent(ctx, appID, models.NewEvent{Key: "queued:" + m.ID, Type: models.EventMessageQueued, Message: msg,
			Data: map[string]any{"message_id": m.ID, "position": res.Position}}); err != nil {
			s.log.Warn("append event", "app_id", appID, "err", err)
		}
	}
	c.JSON(http.StatusAccepted, sendResponse{AppID: appID, MessageID: m.ID, Status: "queued", Position: res.Position, Duplicate: res.Duplicate, Links: s.linksFor(appID)})
}

// stopMessage stops a user's message: one still waiting is answered at once (200), the
// turn at work stops while it plans, writes or builds (202; its end comes as a
// turn_stopped event). Too late, or a message that is not the user's, is 409 or 404.
func (s *Server) stopMessage(c *gin.Context) {
	ctx := c.Request.Context()
	if err := noBody(c, "stop takes no options"); err != nil {
		s.fail(c, err)
		return
	}
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	id := c.Param("message")
	if workflows.ValidateMessage(workflows.ChatMessage{ID: id, Command: workflows.CommandPublish}) != nil {
		// No message can have this id; the database is not asked (Postgres refuses NUL).
		s.fail(c, errNotFound(fmt.Sprintf("no message %q in app %s", id, app.ID)))
		return
	}
	m, err := s.store.Message(ctx, app.ID, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		err = errNotFound(fmt.Sprintf("no message %q in app %s", id, app.ID))
	case err == nil && m.Role != models.RoleUser:
		err = errNotFound(fmt.Sprintf("message %q is an answer, not a message you sent", id))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if turnFinished(m) {
		s.fail(c, &apiError{Status: http.StatusConflict, Code: "too_late", Message: fmt.Sprintf("message %s has been answered already (%s)", id, m.Status)})
		return
	}
	res, err := s.wf.Stop(ctx, app.ID, id)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.StopErrTooLate:
			err = &apiError{Status: http.StatusConflict, Code: "too_late", Message: appErr.Message()}
		case workflows.StopErrNotFound:
			err = &apiError{Status: http.StatusConflict, Code: "not_stoppable", Message: appErr.Message() + "; if you just sent it, it may not have reached the app yet: retry in a moment"}
		}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if res.Was == "waiting" {
		c.JSON(http.StatusOK, gin.H{"message_id": id, "status": models.MessageStopped, "was": res.Was})
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message_id": id, "status": "stopping", "was": res.Was, "links": s.linksFor(app.ID)})
}

// turnFinished reports whether a stored user message's turn has ended (FinishTurn set
// its outcome), as opposed to one still queued or being worked on, which the workflow
// must still get.
func turnFinished(m models.ChatMessage) bool {
	return m.Status == models.MessageDone || m.Status == models.MessageFailed || m.Status == models.MessageStopped
}

// Redeliver hands over stored messages that never reached their workflow (it was down
// when they were sent) and are older than grace. It returns how many it delivered; run
// it periodically (RedeliverLoop).
func (s *Server) Redeliver(ctx context.Context, grace time.Duration) (int, error) {
	ms, err := s.store.Undelivered(ctx, time.Now().Add(-grace), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		msg := workflows.ChatMessage{ID: m.ID, Text: m.Content, Command: m.Command, Environment: m.Environment, Version: m.Target,
			Domain: m.Domain, DomainMode: m.DomainMode, Primary: m.Primary}
		if m.Command != "" {
			msg.Text = ""
		}
		if _, err := s.wf.Send(ctx, m.AppID, msg); err != nil {
			return n, fmt.Errorf("redeliver message %s of app %s: %w", m.ID, m.AppID, err)
		}
		if err := s.store.UpdateMessage(ctx, m.AppID, m.ID, map[string]any{"delivered": true}); err != nil {
			return n, err
		}
		n++
		s.log.Info("redelivered a message the workflow service missed", "app_id", m.AppID, "message_id", m.ID)
	}
	return n, nil
}

// RedeliverLoop runs Redeliver every interval until ctx ends.
func (s *Server) RedeliverLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Redeliver(ctx, interval); err != nil && ctx.Err() == nil {
				s.log.Warn("redelivery", "err", err)
			}
		}
	}
}

func previewScript(appID string) string { return appID + "-preview" }

// appIDFor derives a new app's ID from the ID of its first message, in the form of
// 12 lower-case letters and digits, starting with a letter. Message IDs
// the API makes are random, and so are the app IDs made from them.
func appIDFor(messageID string) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	const alphabet = letters + "234567"
	sum := sha256.Sum256([]byte("appforge/app-id\x00" + messageID))
	id := make([]byte, 12)
	id[0] = letters[int(sum[0])%len(letters)]
	for i := 1; i < len(id); i++ {
		id[i] = alphabet[sum[i]&31]
	}
	return string(id)
}

// appResponse is an app as the database knows it, with the workflow's live state.
type appResponse struct {
	models.App
	// Usage totals the model use of every version.
	Usage usage               `json:"usage"`
	State *workflows.AppState `json:"state,omitempty"`
	// StateError says why the live state is missing (the workflow service is down, or
	// the app's workflow has not started).
	StateError string `json:"state_error,omitempty"`
	Links      links  `json:"links"`
}

func (s *Server) getApp(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	resp := appResponse{App: app, Links: s.linksFor(app.ID)}
	vs, err := s.store.Versions(ctx, app.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, v := range vs {
		resp.Usage.add(v)
	}
	if st, err := s.wf.State(ctx, app.ID); err != nil {
		resp.StateError = "the workflow state is not available: " + err.Error()
	} else {
		resp.State = &st
	}
	c.JSON(http.StatusOK, resp)
}

// listApps lists apps newest first, a page at a time (?limit=, at most 100; ?before=
// the "next" of the page before, "" on the last page).
func (s *Server) listApps(c *gin.Context) {
	limit := 100
	if q := c.Query("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 100 {
			s.fail(c, errBadRequest("invalid_limit", fmt.Sprintf("limit=%q: give a number from 1 to 100", q)))
			return
		}
		limit = n
	}
	before := c.Query("before")
	apps, err := s.store.Apps(c.Request.Context(), limit+1, before)
	if errors.Is(err, models.ErrNotFound) {
		err = errBadRequest("invalid_cursor", fmt.Sprintf("before=%q is not an app id; pass the \"next\" of the page before", before))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	// One more than asked says whether there is a next page.
	next := ""
	if len(apps) > limit {
		apps = apps[:limit]
		next = apps[limit-1].ID
	}
	c.JSON(http.StatusOK, gin.H{"apps": apps, "next": next})
}

func (s *Server) listMessages(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	ms, err := s.store.Messages(ctx, app.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"messages": ms})
}

// usage is model use: calls, tokens and the estimated cost in USD.
type usage struct {
	ModelCalls       int     `json:"model_calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

func (u *usage) add(v models.AppVersion) {
	u.ModelCalls += v.ModelCalls
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.CostUSD += v.CostUSD
}

// versionResponse is a version with its build report.
type versionResponse struct {
	models.AppVersion
	Live  bool            `json:"live"`
	Build json.RawMessage `json:"build,omitempty"`
}

func versionOut(v models.AppVersion, live int) versionResponse {
	out := versionResponse{AppVersion: v, Live: v.Number == live}
	if json.Valid([]byte(v.BuildReport)) {
		out.Build = json.RawMessage(v.BuildReport)
	}
	return out
}

func (s *Server) listVersions(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	vs, err := s.store.Versions(ctx, app.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]versionResponse, 0, len(vs))
	for _, v := range vs {
		out = append(out, versionOut(v, app.LiveVersion))
	}
	c.JSON(http.StatusOK, gin.H{"versions": out, "live_version": app.LiveVersion})
}

// version loads the app and version named in the path.
func (s *Server) version(c *gin.Context) (models.App, models.AppVersion, error) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		return models.App{}, models.AppVersion{}, err
	}
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		return app, models.AppVersion{}, errBadRequest("invalid_version", fmt.Sprintf("version %q is not a version number such as 1", c.Param("version")))
	}
	v, err := s.store.Version(ctx, app.ID, n)
	return app, v, err
}

func (s *Server) getVersion(c *gin.Context) {
	app, v, err := s.version(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	fs, err := s.store.FileList(ctx, v.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	bundle, err := s.store.BuildFiles(ctx, v.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": versionOut(v, app.LiveVersion), "files": fs, "bundle": bundle, "build_log": v.BuildLog})
}

func (s *Server) listFiles(c *gin.Context) {
	_, v, err := s.version(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	fs, err := s.store.FileList(c.Request.Context(), v.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": v.Number, "files": fs})
}

// getFile returns one source file as it is.
func (s *Server) getFile(c *gin.Context) {
	_, v, err := s.version(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := strings.TrimPrefix(c.Param("path"), "/")
	f, err := s.store.File(c.Request.Context(), v.ID, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Source is shown, never rendered: an app's index.html or SVG must not run scripts
	// on the API's origin.
	ct := "text/plain; charset=utf-8"
	if path.Ext(p) == ".json" {
		ct = "application/json"
	}
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, ct, f.Content)
}

// getTranscript returns the conversation with the model that made a version, step by
// step: what was asked, what the model answered and which tools it called.
func (s *Server) getTranscript(c *gin.Context) {
	_, v, err := s.version(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	steps, err := s.store.GenerationSteps(ctx, v.AppID, v.MessageID)
	if err != nil {
		s.fail(c, err)
		return
	}
	msgs, err := s.store.Transcript(ctx, v.AppID, v.MessageID)
	if err != nil {
		s.fail(c, err)
		return
	}
	type messageOut struct {
		models.TranscriptMessage
		ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	}
	out := make([]messageOut, 0, len(msgs))
	for _, m := range msgs {
		mo := messageOut{TranscriptMessage: m}
		if json.Valid([]byte(m.ToolCalls)) {
			mo.ToolCalls = json.RawMessage(m.ToolCalls)
		}
		out = append(out, mo)
	}
	c.JSON(http.StatusOK, gin.H{"version": v.Number, "generator": v.Generator, "steps": steps, "messages": out})
}

func (s *Server) listDeployments(c *gin.Context) {
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
	out := make([]deploymentOut, 0, len(ds))
	for _, d := range ds {
		out = append(out, deploymentView(d))
	}
	c.JSON(http.StatusOK, gin.H{"deployments": out})
}

// deploymentOut is a deployment with its measured performance (production) and what got
// worse than the previous production deployment.
type deploymentOut struct {
	models.Deployment
	Performance json.RawMessage `json:"performance,omitempty"`
	Regressions json.RawMessage `json:"regressions,omitempty"`
	Regressed   bool            `json:"regressed"`
}

func deploymentView(d models.Deployment) deploymentOut {
	out := deploymentOut{Deployment: d}
	if json.Valid([]byte(d.Performance)) {
		out.Performance = json.RawMessage(d.Performance)
	}
	if json.Valid([]byte(d.Regressions)) && d.Regressions != "null" && d.Regressions != "[]" {
		out.Regressions = json.RawMessage(d.Regressions)
		out.Regressed = true
	}
	return out
}
