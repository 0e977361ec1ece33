package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/appforge/appforge/models"
)

// apiError is an error with the status and code the client sees. Every error response
// has the same body: {"error": {"code": "...", "message": "..."}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// AppID and MessageID name what was stored before the failure, so that a client
	// can retry exactly it.
	AppID     string `json:"app_id,omitempty"`
	MessageID string `json:"message_id,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errBadRequest(code, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
}

func errNotFound(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}

// fail writes err as the one JSON error shape. It is the one place that maps errors to
// status codes.
func (s *Server) fail(c *gin.Context, err error) {
	e := s.classify(c, err)
	if c.Writer.Written() {
		return
	}
	c.AbortWithStatusJSON(e.Status, gin.H{"error": e})
}

func (s *Server) classify(c *gin.Context, err error) *apiError {
	var ae *apiError
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var nsNotFound *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &ae):
		cp := *ae
		return &cp
	case errors.Is(err, models.ErrNotFound):
		return errNotFound(err.Error())
	case errors.As(err, &unavailable), errors.As(err, &deadline), errors.As(err, &nsNotFound):
		s.log.Warn("workflow service unavailable", "path", c.Request.URL.Path, "err", err)
		return &apiError{Status: http.StatusServiceUnavailable, Code: "workflow_service_unavailable",
			Message: "the workflow service is not answering; nothing was lost: retry the same request (with the same message_id) in a moment"}
	case errors.Is(err, context.Canceled):
		return &apiError{Status: 499, Code: "client_closed_request", Message: "the request was cancelled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Code: "timeout", Message: "the request took too long; retry it"}
	}
	s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// decodeBody reads a small JSON object of at most limit bytes into v: unknown fields and
// anything after the object are refused, with form (the shape expected, e.g.
// `{"version": 3}`) in the message. With optional, an empty body leaves v as it is.
func decodeBody(c *gin.Context, limit int64, v any, optional bool, form string) error {
	if err := jsonContentType(c, form); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		return errBadRequest("invalid_body", fmt.Sprintf("the request body is larger than %d bytes", limit))
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("invalid_json", "send "+form+": "+err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("invalid_json", "the request body holds more than the one JSON object "+form)
	}
	return nil
}

// jsonContentType refuses a body declared as something other than JSON. No declared
// type, and the form type curl -d sends, are taken as JSON.
func jsonContentType(c *gin.Context, form string) error {
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return nil
	}
	switch mt, _, _ := mime.ParseMediaType(ct); mt {
	case "application/json", "application/x-www-form-urlencoded", "text/plain":
		return nil
	}
	return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the request as JSON: " + form}
}

// noBody checks that a request that takes nothing sent nothing (or {}): a field sent
// there would be silently ignored. what says what to do instead.
func noBody(c *gin.Context, what string) error {
	err := decodeBody(c, 4096, &struct{}{}, true, "no body (or {})")
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		ae.Message = "this request takes no body: " + what
	}
	return err
}
