package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

//go:embed page.html
var chatPageHTML []byte

// chatPage serves a small chat client: send messages, follow the event stream, see the
// preview.
func (s *Server) chatPage(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-src http: https:")
	c.Data(http.StatusOK, "text/html; charset=utf-8", chatPageHTML)
}
