package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/appforge/appforge/models"
)

// eventOut is one event as the stream sends it.
type eventOut struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	Message   string          `json:"message"`
	Version   int             `json:"version,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

func eventJSON(e models.Event) []byte {
	out := eventOut{Seq: e.Seq, Type: e.Type, Message: e.Message, Version: e.VersionNumber, CreatedAt: e.CreatedAt}
	if e.Data != "" && json.Valid([]byte(e.Data)) {
		out.Data = json.RawMessage(e.Data)
	}
	b, _ := json.Marshal(out)
	return b
}

// events streams an app's progress as Server-Sent Events. Each event's id is its
// sequence number in the app; a client that reconnects with Last-Event-ID (or ?after=N)
// gets everything after it, so nothing is missed. ?follow=false sends what there is
// and ends the stream.
func (s *Server) events(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.App(ctx, c.Param("app"))
	if err != nil {
		s.fail(c, err)
		return
	}
	after := int64(0)
	resume := c.GetHeader("Last-Event-ID")
	if resume == "" {
		resume = c.Query("after")
	}
	if resume != "" {
		after, err = strconv.ParseInt(strings.TrimSpace(resume), 10, 64)
		if err != nil || after < 0 {
			s.fail(c, errBadRequest("invalid_event_id", fmt.Sprintf("%q is not an event id; event ids are whole numbers", resume)))
			return
		}
	}
	follow := c.Query("follow") != "false"

	wake, cancel := s.store.Subscribe(app.ID)
	defer cancel()
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	fmt.Fprintf(c.Writer, "retry: 2000\n\n")
	c.Writer.Flush()

	poll := time.NewTicker(s.opts.EventPollInterval)
	defer poll.Stop()
	keepAlive := time.NewTicker(s.opts.KeepAliveInterval)
	defer keepAlive.Stop()
	const batch = 500
	for {
		evs, err := s.store.Events(ctx, app.ID, after, batch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("read events", "app_id", app.ID, "err", err)
				fmt.Fprintf(c.Writer, "event: error\ndata: {\"message\":\"reading events failed; reconnect to resume\"}\n\n")
				c.Writer.Flush()
			}
			return
		}
		for _, e := range evs {
			fmt.Fprintf(c.Writer, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, eventJSON(e))
			after = e.Seq
		}
		if len(evs) > 0 {
			c.Writer.Flush()
		}
		if len(evs) == batch {
			continue
		}
		if !follow {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-wake:
		case <-poll.C:
		case <-keepAlive.C:
			fmt.Fprintf(c.Writer, ": keep-alive\n\n")
			c.Writer.Flush()
		}
	}
}
