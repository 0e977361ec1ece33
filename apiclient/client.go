// Package apiclient is a small Go client of appforge's HTTP API: create an app, send
// chat messages, and follow an app's progress events until a turn ends. The end-to-end
// tests and the benchmark drive appforge through it, as a user's program would.
package apiclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client talks to one appforge API.
type Client struct {
	BaseURL string
	HTTP    *http.Client // default http.DefaultClient
}

// New returns a client of the API at baseURL (e.g. http://localhost:8080).
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/")}
}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("appforge: %d %s: %s", e.Status, e.Code, e.Message)
}

// Sent is the answer to a chat message: it is queued (or was received before).
type Sent struct {
	AppID     string `json:"app_id"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Position  int    `json:"position"`
	Duplicate bool   `json:"duplicate"`
}

// CreateApp starts a new app from its first message. messageID may be empty; set it to
// make retries safe.
func (c *Client) CreateApp(ctx context.Context, message, messageID string) (Sent, error) {
	var out Sent
	_, err := c.Do(ctx, http.MethodPost, "/v1/apps", map[string]string{"message": message, "message_id": messageID}, &out)
	return out, err
}

// Send sends a chat message to an app.
func (c *Client) Send(ctx context.Context, appID, message, messageID string) (Sent, error) {
	var out Sent
	_, err := c.Do(ctx, http.MethodPost, "/v1/apps/"+appID+"/messages", map[string]string{"message": message, "message_id": messageID}, &out)
	return out, err
}

// Do sends a JSON request, decodes a JSON answer into out (if not nil) and returns the
// HTTP status; an error answer becomes *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 400 {
		var wrapped struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(b, &wrapped) == nil && wrapped.Error != nil {
			wrapped.Error.Status = resp.StatusCode
			return resp.StatusCode, wrapped.Error
		}
		return resp.StatusCode, &Error{Status: resp.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(b))}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("appforge: %s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Event is one progress event of an app.
type Event struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	Message   string          `json:"message"`
	Version   int             `json:"version"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
	// Received is when this client read the event.
	Received time.Time `json:"-"`
}

// Field returns a top-level field of the event's data as a string ("" if absent).
func (e Event) Field(name string) string {
	var m map[string]any
	if json.Unmarshal(e.Data, &m) != nil {
		return ""
	}
	if v, ok := m[name]; ok && v != nil {
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return fmt.Sprint(v)
	}
	return ""
}

// EndsTurn reports whether the event closes the turn of messageID: its last reply (a
// message that also asks to publish gets a reply for the change and one for the
// publish).
func (e Event) EndsTurn(messageID string) bool {
	return (e.Type == "live" || e.Type == "turn_failed" || e.Type == "turn_stopped" || e.Type == "reply") && e.Field("message_id") == messageID && e.Field("final") != "false"
}

// errStop ends Follow without an error.
var errStop = errors.New("stop")

// Follow streams the app's events after the given event ID and calls fn with each until
// fn returns false, ctx ends or the stream breaks. It reconnects with Last-Event-ID after
// a dropped connection, so no event is missed or repeated.
func (c *Client) Follow(ctx context.Context, appID string, after int64, fn func(Event) bool) error {
	for {
		err := c.followOnce(ctx, appID, &after, fn)
		if errors.Is(err, errStop) {
			return nil
		}
		var apiErr *Error
		if ctx.Err() != nil || errors.As(err, &apiErr) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Client) followOnce(ctx context.Context, appID string, after *int64, fn func(Event) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/apps/"+appID+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", strconv.FormatInt(*after, 10))
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return &Error{Status: resp.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(b))}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var (
		id   int64
		data string
	)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case line == "" && data != "":
			var ev Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				return fmt.Errorf("appforge: event %d: %w", id, err)
			}
			ev.Received = time.Now()
			data = ""
			if ev.Seq == 0 {
				continue // not a progress event (e.g. a stream error notice)
			}
			*after = ev.Seq
			if !fn(ev) {
				return errStop
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// WaitTurn follows the app's events after the given ID until the turn of messageID
// ends, and returns every event read, the last one ending the turn.
func (c *Client) WaitTurn(ctx context.Context, appID string, after int64, messageID string) ([]Event, error) {
	var evs []Event
	err := c.Follow(ctx, appID, after, func(ev Event) bool {
		evs = append(evs, ev)
		return !ev.EndsTurn(messageID)
	})
	if err != nil {
		return evs, fmt.Errorf("appforge: waiting for the turn of %s: %w", messageID, err)
	}
	return evs, nil
}
