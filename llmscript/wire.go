package llmscript

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The parts of an OpenAI chat completion request the server reads. Unknown fields are
// ignored, as OpenAI-compatible servers do.
type chatRequest struct {
	Model         string          `json:"model"`
	Messages      []message       `json:"messages"`
	Tools         []tool          `json:"tools"`
	ToolChoice    json.RawMessage `json:"tool_choice"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	User string `json:"user"`
}

type tool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type message struct {
	Role       string         `json:"role"`
	Content    messageContent `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
	Name       string         `json:"name,omitempty"`
}

// messageContent is a message's text: OpenAI takes a string or an array of parts.
type messageContent string

func (c *messageContent) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*c = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = messageContent(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	*c = messageContent(sb.String())
	return nil
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// hasTool reports whether the request offers a function named name.
func (r *chatRequest) hasTool(name string) bool {
	for _, t := range r.Tools {
		if t.Function.Name == name {
			return true
		}
	}
	return false
}

// forcesFunction reports whether tool_choice names one function, for which OpenAI ends
// the answer with finish_reason "stop", not "tool_calls".
func (r *chatRequest) forcesFunction() bool {
	var choice struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	return json.Unmarshal(r.ToolChoice, &choice) == nil && choice.Function.Name != ""
}

func (r *chatRequest) includeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// firstUserText is the text of the first user message: the one that carries the user's
// request.
func (r *chatRequest) firstUserText() (string, int) {
	for i, m := range r.Messages {
		if m.Role == "user" {
			return string(m.Content), i
		}
	}
	return "", -1
}

// hash identifies the conversation so far: faults are counted per conversation and step.
func (r *chatRequest) hash() string {
	type canon struct {
		Role       string   `json:"r"`
		Content    string   `json:"c"`
		Calls      []string `json:"t"`
		ToolCallID string   `json:"i"`
	}
	msgs := make([]canon, 0, len(r.Messages))
	for _, m := range r.Messages {
		c := canon{Role: m.Role, Content: string(m.Content), ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			c.Calls = append(c.Calls, tc.ID, tc.Function.Name, tc.Function.Arguments)
		}
		msgs = append(msgs, c)
	}
	b, _ := json.Marshal(struct {
		User string  `json:"u"`
		Msgs []canon `json:"m"`
	}{r.User, msgs}) // strings only: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// promptChars counts the characters of the request's messages, for the usage estimate.
func (r *chatRequest) promptChars() int {
	n := 0
	for _, m := range r.Messages {
		n += utf8.RuneCountInString(string(m.Content))
		for _, tc := range m.ToolCalls {
			n += utf8.RuneCountInString(tc.Function.Name) + utf8.RuneCountInString(tc.Function.Arguments)
		}
	}
	return n
}

// answerChars counts the characters of an answer, for the usage estimate.
func answerChars(a Answer) int {
	n := utf8.RuneCountInString(a.Content)
	for _, tc := range a.ToolCalls {
		n += utf8.RuneCountInString(tc.Name) + utf8.RuneCountInString(tc.Arguments)
	}
	return n
}

// tokens estimates tokens as a quarter of the characters, rounded up.
func tokens(chars int) int { return (chars + 3) / 4 }

// Response shapes, field for field as OpenAI sends them.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	Choices           []completionChoice `json:"choices"`
	Usage             usage              `json:"usage"`
	SystemFingerprint string             `json:"system_fingerprint"`
}

type completionChoice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type responseMessage struct {
	Role      string          `json:"role"`
	Content   *string         `json:"content"`
	ToolCalls []wireToolCall  `json:"tool_calls,omitempty"`
	Refusal   json.RawMessage `json:"refusal"`
}

type chunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []chunkChoice   `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int             `json:"index"`
	Delta        delta           `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason json.RawMessage `json:"finish_reason"`
}

type delta struct {
	Role      string          `json:"role,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	ToolCalls []wireToolCall  `json:"tool_calls,omitempty"`
	Refusal   json.RawMessage `json:"refusal,omitempty"`
}

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

var jsonNull = json.RawMessage("null")

// marshal encodes v without HTML escaping, as OpenAI does.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("llmscript: encode response: " + err.Error()) // our own types: cannot fail
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fragments splits s into pieces of about size bytes, never inside a UTF-8 sequence.
func fragments(s string, size int) []string {
	var out []string
	for len(s) > size {
		cut := size
		for cut < len(s) && !utf8Start(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
