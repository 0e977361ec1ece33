package agent

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/generate"
)

// answer is one model answer, assembled from a stream.
type answer struct {
	content      strings.Builder
	calls        []*streamedCall
	finishReason openai.FinishReason
	usage        *openai.Usage
}

type streamedCall struct {
	id, name string
	args     strings.Builder
	// progress throttling
	lastScan  time.Time
	lastBytes int
	emitted   bool
}

// errStreamCut is a stream that ended before the model said it was done.
var errStreamCut = errors.New("the answer stream ended before the model finished")

// Progress throttling: at most one event per file per progressEvery, one when a file's
// arguments are complete, and a "still working" event (which heartbeats the activity)
// at most every idleEvery when no file is being written.
const (
	progressEvery = 300 * time.Millisecond
	idleEvery     = 2 * time.Second
)

// reader assembles a stream into an answer and reports progress while it does.
type reader struct {
	now      func() time.Time
	progress func(generate.Progress)
	exists   func(path string) bool
	// done reports whether the stream ended with "data: [DONE]"; a stream that ends
	// with neither that nor a finish reason was cut.
	done     func() bool
	lastIdle time.Time
	current  *streamedCall
}

// read consumes the stream. It returns errStreamCut (wrapped) when the stream ends
// without a finish reason, and the stream's own error otherwise.
func (r *reader) read(stream interface {
	Recv() (openai.ChatCompletionStreamResponse, error)
}) (*answer, error) {
	a := &answer{}
	byIndex := map[int]*streamedCall{}
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			r.finishCurrent()
			a.calls = slices.DeleteFunc(a.calls, func(c *streamedCall) bool {
				return c.id == "" && c.name == "" && c.args.Len() == 0
			})
			if a.finishReason == "" && (r.done == nil || !r.done()) {
				return a, errStreamCut
			}
			return a, nil
		}
		if err != nil {
			return a, err
		}
		if chunk.Usage != nil {
			a.usage = chunk.Usage
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		ch := chunk.Choices[0]
		if ch.FinishReason != "" && ch.FinishReason != openai.FinishReasonNull {
			a.finishReason = ch.FinishReason
		}
		if text := ch.Delta.Content + ch.Delta.Refusal; text != "" {
			a.content.WriteString(text)
			r.idle()
		}
		for _, d := range ch.Delta.ToolCalls {
			var c *streamedCall
			switch {
			case d.Index != nil:
				c = byIndex[*d.Index]
				// A new id at a used index is a new call: some servers send every
				// call complete, all at index 0.
				if c == nil || (d.ID != "" && c.id != "" && d.ID != c.id) {
					c = &streamedCall{}
					byIndex[*d.Index] = c
					a.calls = append(a.calls, c)
				}
			case d.ID != "" || len(a.calls) == 0:
				// A server that sends no index: a new id starts a new call.
				if len(a.calls) == 0 || (a.calls[len(a.calls)-1].id != "" && a.calls[len(a.calls)-1].id != d.ID) {
					c = &streamedCall{}
					a.calls = append(a.calls, c)
				} else {
					c = a.calls[len(a.calls)-1]
				}
			default:
				c = a.calls[len(a.calls)-1]
			}
			if d.ID != "" && c.id == "" {
				c.id = d.ID
			}
			if d.Function.Name != "" && c.name == "" {
				c.name = d.Function.Name
			}
			c.args.WriteString(d.Function.Arguments)
			if c != r.current {
				r.finishCurrent()
				r.current = c
			}
			r.report(c, false)
		}
	}
}

// idle reports that the model is working (writing text, not files) now and then.
func (r *reader) idle() {
	if r.progress == nil {
		return
	}
	now := r.now()
	if now.Sub(r.lastIdle) < idleEvery {
		return
	}
	r.lastIdle = now
	r.progress(generate.Progress{Message: "the model is working"})
}

func (r *reader) finishCurrent() {
	if r.current != nil {
		r.report(r.current, true)
		r.current = nil
	}
}

// report emits a throttled progress event for a file being written.
func (r *reader) report(c *streamedCall, final bool) {
	if r.progress == nil {
		return
	}
	if c.name != toolWriteFile && c.name != toolEditFile {
		r.idle()
		return
	}
	now := r.now()
	if !final && now.Sub(c.lastScan) < progressEvery {
		return
	}
	c.lastScan = now
	wantText := "content"
	if c.name == toolEditFile {
		wantText = "new_text"
	}
	path, n := partialArgs(c.args.String(), wantText)
	if path == "" {
		r.idle()
		return
	}
	if final && c.emitted && n == c.lastBytes {
		return
	}
	action, verb := generate.Create, "writing"
	if c.name == toolEditFile {
		action, verb = generate.Modify, "editing"
	} else if r.exists != nil && r.exists(path) {
		action = generate.Modify
	}
	c.lastBytes, c.emitted = n, true
	r.lastIdle = now
	r.progress(generate.Progress{Path: path, Action: action, Bytes: n, Message: fmt.Sprintf("%s %s (%s)", verb, path, size(n))})
}

// partialArgs reads the possibly incomplete JSON arguments of a tool call and returns
// the "path" value once it is complete, and how many bytes of the textKey value have
// arrived so far. It tolerates anything: it is a best-effort look at a stream.
func partialArgs(s, textKey string) (path string, textBytes int) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return "", 0
	}
	i++
	for {
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != '"' {
			return path, textBytes
		}
		key, n, done := jsonString(s, i)
		if !done {
			return path, textBytes
		}
		i = skipSpace(s, i+n)
		if i >= len(s) || s[i] != ':' {
			return path, textBytes
		}
		i = skipSpace(s, i+1)
		if i >= len(s) {
			return path, textBytes
		}
		if s[i] == '"' {
			val, n, done := jsonString(s, i)
			switch key {
			case "path":
				if done {
					path = val
				}
			case textKey:
				textBytes = len(val)
			}
			if !done {
				return path, textBytes
			}
			i += n
		} else {
			i = skipValue(s, i)
		}
		i = skipSpace(s, i)
		if i >= len(s) || s[i] != ',' {
			return path, textBytes
		}
		i++
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}

// jsonString decodes the JSON string starting at s[i] (a quote), as far as it goes. It
// returns the decoded text, the bytes consumed and whether the string was closed.
func jsonString(s string, i int) (string, int, bool) {
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return b.String(), j + 1 - i, true
		case c == '\\':
			if j+1 >= len(s) {
				return b.String(), j - i, false
			}
			switch e := s[j+1]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if j+6 > len(s) {
					return b.String(), j - i, false
				}
				var r rune
				for _, h := range s[j+2 : j+6] {
					r <<= 4
					switch {
					case h >= '0' && h <= '9':
						r |= h - '0'
					case h >= 'a' && h <= 'f':
						r |= h - 'a' + 10
					case h >= 'A' && h <= 'F':
						r |= h - 'A' + 10
					default:
						r = utf8.RuneError
					}
				}
				b.WriteRune(r)
				j += 4
			default:
				b.WriteByte(e)
			}
			j += 2
		default:
			b.WriteByte(c)
			j++
		}
	}
	return b.String(), j - i, false
}

// skipValue skips a non-string JSON value (number, literal, object, array).
func skipValue(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch s[i] {
		case '"':
			_, n, done := jsonString(s, i)
			if !done {
				return len(s)
			}
			i += n
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
