// Package agent is the LLM generator: a model behind any OpenAI-compatible chat
// completions API (OpenAI, OpenRouter, Ollama, vLLM…) writes and repairs apps through
// tool calls. It implements generate.Generator: Plan is one model call that must answer
// with the submit_plan tool; Step is one streamed model call and the tool calls it
// asks for, run against an in-memory copy of the files. Steps have no side effects
// beyond their result, so the workflow may retry any of them; the transcript and the
// files between steps are the caller's to keep.
//
// The model is confined: it writes only under src/ and public/ and a few config files,
// adds packages only through a checked add_dependency, and is stopped, with a plain
// reason, when it exceeds the limits, keeps writing outside the app, or keeps giving
// unusable answers.
package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/appforge/appforge/generate"
)

// Defaults for Config.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultModel   = "gpt-4.1"
)

// Config configures an Agent.
type Config struct {
	// APIKey is OPENAI_API_KEY. It is sent to the provider and nowhere else: never
	// logged, never in an error. Empty is allowed for local servers such as Ollama.
	APIKey string
	// BaseURL is OPENAI_BASE_URL; empty means DefaultBaseURL.
	BaseURL string
	// Model is APPFORGE_MODEL; empty means DefaultModel.
	Model string
	// HTTPClient makes the requests; nil means a client with no overall timeout (the
	// caller's context bounds every call). Its transport is wrapped, not changed.
	HTTPClient *http.Client
	// Limits bound a generation; zero fields take generate.DefaultLimits'.
	Limits generate.Limits
	// Repairs is how many repair rounds may follow a failed build
	// (APPFORGE_MAX_REPAIRS, whose default of 3 the config loader applies). It is
	// used as given: 0 means a failed build fails the version. Limits.MaxRepairs
	// does not apply to the agent.
	Repairs int
	// InputPrice and OutputPrice are USD per million prompt and completion tokens, for
	// the cost estimate. Zero means the built-in table by model name; a model not in it
	// costs 0 (unknown).
	InputPrice, OutputPrice float64
	// Logger receives one line per model call; nil discards.
	Logger *slog.Logger
}

// LogValue shows the configuration without the API key.
func (c Config) LogValue() slog.Value {
	key := "unset"
	if c.APIKey != "" {
		key = "set"
	}
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("model", c.Model),
		slog.String("api_key", key), slog.Int("repairs", c.Repairs))
}

// Agent is the LLM generator. It is safe for concurrent use.
type Agent struct {
	client  *openai.Client
	apiKey  string
	model   string
	baseURL string // scheme, host and path, for messages
	host    string
	limits  generate.Limits
	repairs int
	prices  prices
	log     *slog.Logger
	now     func() time.Time
}

var _ generate.Generator = (*Agent)(nil)

// New returns an agent for cfg. It makes no request: a bad key or model shows on the
// first call, as a *generate.ProviderError.
func New(cfg Config) (*Agent, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new agent: base URL %q is not an http or https URL", redactURL(base))
	}
	model := strings.TrimSpace(cfg.Model)
	if model == "" {
		model = DefaultModel
	}
	limits := withDefaults(cfg.Limits)
	if cfg.Repairs < 0 {
		return nil, fmt.Errorf("new agent: repairs is %d; it must be 0 or more", cfg.Repairs)
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = captureTransport{base: rt}

	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = base
	oc.HTTPClient = hc
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pr := priceOf(model)
	if cfg.InputPrice != 0 || cfg.OutputPrice != 0 {
		pr = prices{in: cfg.InputPrice, out: cfg.OutputPrice, known: true}
	}
	return &Agent{
		client:  openai.NewClientWithConfig(oc),
		apiKey:  cfg.APIKey,
		model:   model,
		baseURL: u.Scheme + "://" + u.Host + u.Path,
		host:    u.Host,
		limits:  limits,
		repairs: cfg.Repairs,
		prices:  pr,
		log:     logger.With("model", model, "provider", u.Host),
		now:     time.Now,
	}, nil
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparseable)"
}

func withDefaults(l generate.Limits) generate.Limits {
	d := generate.DefaultLimits
	fill := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	fill(&l.MaxFiles, d.MaxFiles)
	fill(&l.MaxFileBytes, d.MaxFileBytes)
	fill(&l.MaxTotalBytes, d.MaxTotalBytes)
	fill(&l.MaxSteps, d.MaxSteps)
	fill(&l.MaxToolCalls, d.MaxToolCalls)
	fill(&l.MaxBadAnswers, d.MaxBadAnswers)
	fill(&l.MaxRepairs, d.MaxRepairs)
	fill(&l.MaxDependencies, d.MaxDependencies)
	return l
}

// Name implements generate.Generator: the model and the provider's host, such as
// "gpt-4.1 (api.openai.com)".
func (a *Agent) Name() string { return fmt.Sprintf("%s (%s)", a.model, a.host) }

// Describe names the agent inside a sentence (see generate.Describe): "the model gpt-4.1
// (api.openai.com)".
func (a *Agent) Describe() string { return "the model " + a.Name() }

// Repairs implements generate.Generator.
func (a *Agent) Repairs() int { return a.repairs }

// Limits returns the limits the agent works within.
func (a *Agent) Limits() generate.Limits { return a.limits }

// prices are USD per million tokens.
type prices struct {
	in, out float64
	known   bool
}

// priceTable is list prices in USD per million tokens (input, output) of OpenAI models
// whose names appforge users are likely to set. It goes stale; Config.InputPrice and
// OutputPrice override it.
var priceTable = map[string][2]float64{
	"gpt-4.1":      {2.00, 8.00},
	"gpt-4.1-mini": {0.40, 1.60},
	"gpt-4.1-nano": {0.10, 0.40},
	"gpt-4o":       {2.50, 10.00},
	"gpt-4o-mini":  {0.15, 0.60},
	"o3":           {2.00, 8.00},
	"o3-mini":      {1.10, 4.40},
	"o4-mini":      {1.10, 4.40},
	"gpt-5":        {1.25, 10.00},
	"gpt-5-mini":   {0.25, 2.00},
	"gpt-5-nano":   {0.05, 0.40},
}

var dateSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)

// priceOf looks a model up in the table: "openai/gpt-4.1" (OpenRouter) and
// "gpt-4.1-2025-04-14" (a dated snapshot) count as gpt-4.1.
func priceOf(model string) prices {
	m := strings.ToLower(model)
	m = strings.TrimPrefix(m, "openai/")
	m = dateSuffix.ReplaceAllString(m, "")
	if p, ok := priceTable[m]; ok {
		return prices{in: p[0], out: p[1], known: true}
	}
	return prices{}
}

// usage makes the Usage of one call; without the provider's counts it estimates four
// characters per token.
func (a *Agent) usage(u *openai.Usage, promptChars, completionChars int) (generate.Usage, bool) {
	out := generate.Usage{Calls: 1}
	estimated := u == nil || (u.PromptTokens == 0 && u.CompletionTokens == 0)
	if estimated {
		out.PromptTokens = (promptChars + 3) / 4
		out.CompletionTokens = (completionChars + 3) / 4
	} else {
		out.PromptTokens, out.CompletionTokens = u.PromptTokens, u.CompletionTokens
	}
	out.CostUSD = (float64(out.PromptTokens)*a.prices.in + float64(out.CompletionTokens)*a.prices.out) / 1e6
	return out, estimated
}

// maxMessageBytes bounds a chat message.
const maxMessageBytes = 16 << 10

// checkMessage refuses a request no model should see.
func checkMessage(m string) error {
	if strings.TrimSpace(m) == "" {
		return fmt.Errorf("%w: the message is empty", generate.ErrInvalidRequest)
	}
	if len(m) > maxMessageBytes {
		return fmt.Errorf("%w: the message is %s, more than the %s a message may be; shorten it or send it in parts",
			generate.ErrInvalidRequest, size(len(m)), size(maxMessageBytes))
	}
	return nil
}

// toOpenAI converts a transcript to the client's messages.
func toOpenAI(ms []generate.Message) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, 0, len(ms))
	for _, m := range ms {
		om := openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, Name: m.Name}
		for _, tc := range m.ToolCalls {
			om.ToolCalls = append(om.ToolCalls, openai.ToolCall{ID: tc.ID, Type: openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
		}
		if om.Content == "" && len(om.ToolCalls) == 0 {
			om.Content = "(empty)"
		}
		out = append(out, om)
	}
	return out
}

// chars counts a transcript's characters, for usage estimates.
func chars(ms []generate.Message) int {
	n := 0
	for _, m := range ms {
		n += len(m.Content)
		for _, tc := range m.ToolCalls {
			n += len(tc.Name) + len(tc.Arguments)
		}
	}
	return n
}

var errNoPlan = errors.New("no plan in the answer")
