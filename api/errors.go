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
	"reflect"
	"strings"

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
		return errBadRequest("invalid_json", "send "+form+": "+jsonProblem(err))
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

// jsonProblem says in plain words what is wrong with a JSON body, without the decoder's
// Go type names: `"message" must be a string, not a number`.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		given, _, _ := strings.Cut(typeErr.Value, " ") // "number 1e999" is a number
		if typeErr.Field == "" {
			return "the body must be a JSON object, not " + jsonKind(given)
		}
		return fmt.Sprintf("%q must be %s, not %s", typeErr.Field, goKind(typeErr.Type), jsonKind(given))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "not valid JSON: it ends before the object is complete (unexpected EOF)"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names a JSON value's kind as encoding/json reports it.
func jsonKind(kind string) string {
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "true or false"
	case "number", "string":
		return "a " + kind
	}
	return kind
}

// goKind names what a Go type takes in JSON.
func goKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return goKind(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another kind of value"
}
