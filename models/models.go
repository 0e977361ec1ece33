// Package models is appforge's system of record: apps, their immutable versions and
// files, chat messages, deployments and progress events, kept through GORM in Postgres
// (production) or a SQLite file (the embedded default).
package models

import (
	"crypto/rand"
	"time"
)

// Version statuses. A version is made once and then only moves forward through these.
const (
	VersionGenerating = "generating"
	VersionBuilding   = "building"
	VersionDeploying  = "deploying"
	VersionDeployed   = "deployed" // deployed and verified; the app's LiveVersion says which one is served now
	VersionFailed     = "failed"   // never went live; Error says why
)

// Chat message roles and statuses.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"

	MessageQueued     = "queued"
	MessageProcessing = "processing"
	MessageDone       = "done"
	MessageFailed     = "failed"
	// MessageStopped: the user stopped it (waiting or at work) before it finished.
	MessageStopped = "stopped"
)

// Deployment environments and statuses.
const (
	EnvPreview    = "preview"
	EnvProduction = "production"

	DeploymentDeploying = "deploying"
	DeploymentLive      = "live"
	DeploymentFailed    = "failed"
	// DeploymentUnhealthy: deployed, but the site did not pass its check; the previous
	// healthy deployment was put back.
	DeploymentUnhealthy = "unhealthy"
	// DeploymentReplaced: a later deployment of the same environment is live now.
	DeploymentReplaced = "replaced"
)

// App is one app and its chat.
type App struct {
	ID   string `gorm:"primaryKey;size:40" json:"id"`
	Name string `gorm:"size:200" json:"name"`
	// PreviewScript is the one Workers script that serves every version's preview.
	PreviewScript string `gorm:"size:64" json:"preview_script"`
	PreviewURL    string `gorm:"size:500" json:"preview_url,omitempty"`
	// LatestVersion is the newest version number made; LiveVersion the one the preview
	// serves.
	LatestVersion int `json:"latest_version"`
	LiveVersion   int `json:"live_version"`
	// ProductionScript serves the version published to production, at ProductionURL.
	ProductionScript  string `gorm:"size:64" json:"production_script"`
	ProductionURL     string `gorm:"size:500" json:"production_url,omitempty"`
	ProductionVersion int    `json:"production_version"`
	Generator         string `gorm:"size:100" json:"generator,omitempty"`
	// BudgetWarnBytes and BudgetLimitBytes are the app's own size budget for production
	// bundles; 0 takes the server's (PUT /v1/apps/{id}/budget).
	BudgetWarnBytes  int64 `json:"budget_warn_bytes,omitempty"`
	BudgetLimitBytes int64 `json:"budget_limit_bytes,omitempty"`
	// EventSeq is the sequence number of the app's last event; events are numbered 1, 2, … per app.
	EventSeq  int64     `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AppVersion is an immutable snapshot of an app's files, made by one chat message.
type AppVersion struct {
	ID     string `gorm:"primaryKey;size:40" json:"id"`
	AppID  string `gorm:"size:40;not null;uniqueIndex:idx_version_number,priority:1;uniqueIndex:idx_version_message,priority:1" json:"app_id"`
	Number int    `gorm:"not null;uniqueIndex:idx_version_number,priority:2" json:"number"`
	// ParentNumber is the version this one was made from; 0 for the first.
	ParentNumber int `json:"parent_number"`
	// MessageID is the chat message that made this version: one version per message.
	MessageID string `gorm:"size:80;not null;uniqueIndex:idx_version_message,priority:2" json:"message_id"`
	Request   string `gorm:"type:text" json:"request"`
	Summary   string `gorm:"type:text" json:"summary"`
	Status    string `gorm:"size:20;not null" json:"status"`
	Error     string `gorm:"type:text" json:"error,omitempty"`
	Generator string `gorm:"size:100" json:"generator"`
	// GeneratorState is the generator's own JSON, handed back to it next turn.
	GeneratorState string `gorm:"type:text" json:"-"`
	// TreeHash identifies the file set: equal hashes, equal files.
	TreeHash string `gorm:"size:64" json:"tree_hash"`
	// BuildReport is the build's JSON report (each output file, sizes, durations) of the
	// preview bundle; ProductionReport of the production bundle (minified, split, with
	// its budget).
	BuildReport      string `gorm:"type:text" json:"-"`
	ProductionReport string `gorm:"type:text" json:"-"`
	BuildLog         string `gorm:"type:text" json:"-"`
	FileCount        int    `json:"file_count"`
	// Model use while making this version (plan, steps and repairs), and the estimate of
	// what it cost.
	ModelCalls       int     `json:"model_calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	// Repairs is how many repair rounds the version needed after failed builds.
	Repairs   int       `json:"repairs"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Blob is content stored once by its SHA-256, shared by every file that holds it.
type Blob struct {
	Hash    string `gorm:"primaryKey;size:64"`
	Size    int64
	Content []byte
}

// AppFile is one source file of a version.
type AppFile struct {
	VersionID string `gorm:"primaryKey;size:40" json:"-"`
	Path      string `gorm:"primaryKey;size:255" json:"path"`
	Hash      string `gorm:"size:64;not null" json:"hash"`
	Size      int64  `json:"size"`
}

// BuildFile is one file of a version's build output (the bundle that is deployed).
type BuildFile struct {
	// VersionID is the version's ID for its preview bundle, "<id>/production" for its
	// production bundle.
	VersionID string `gorm:"primaryKey;size:64" json:"-"`
	Path      string `gorm:"primaryKey;size:255" json:"path"`
	Hash      string `gorm:"size:64;not null" json:"hash"`
	Size      int64  `json:"size"`
	GzipSize  int64  `json:"gzip_size"`
}

// ChatMessage is one message of an app's chat. A user message's ID is the message ID the
// workflow deduplicates by; the assistant's answer to it has ReplyTo set.
type ChatMessage struct {
	AppID   string `gorm:"primaryKey;size:40" json:"app_id"`
	ID      string `gorm:"primaryKey;size:80" json:"id"`
	Role    string `gorm:"size:20;not null" json:"role"`
	Content string `gorm:"type:text;not null" json:"content"`
	Status  string `gorm:"size:20" json:"status,omitempty"`
	ReplyTo string `gorm:"size:80" json:"reply_to,omitempty"`
	// VersionNumber is the version the message made (user) or reports on (assistant).
	VersionNumber int `json:"version,omitempty"`
	// Delivered is set once the message reached the app's workflow; a stored message
	// that did not (the workflow service was down) is handed over again later.
	Delivered bool `json:"-"`
	// Command, Environment and Target are set for an operation sent as a message
	// (publish, rollback, restore, sync_secrets), so that redelivery resends it exactly.
	Command     string `gorm:"size:20" json:"command,omitempty"`
	Environment string `gorm:"size:20" json:"environment,omitempty"`
	Target      int    `json:"target_version,omitempty"`
	Domain      string `gorm:"size:253" json:"domain,omitempty"`
	DomainMode  string `gorm:"size:20" json:"-"`
	Primary     string `gorm:"size:10" json:"-"`
	// Plan is the generator's plan for a user message, as JSON.
	Plan      string    `gorm:"type:text" json:"-"`
	CreatedAt time.Time `gorm:"index" json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Deployment is one deploy of a version to an environment's script.
type Deployment struct {
	ID            string `gorm:"primaryKey;size:40" json:"id"`
	AppID         string `gorm:"size:40;not null;index" json:"app_id"`
	VersionID     string `gorm:"size:40;not null" json:"version_id"`
	VersionNumber int    `json:"version"`
	Environment   string `gorm:"size:20;not null" json:"environment"`
	Script        string `gorm:"size:64;not null" json:"script"`
	URL           string `gorm:"size:500" json:"url,omitempty"`
	// ProviderID is Cloudflare's deployment id for the script upload.
	ProviderID string `gorm:"size:100" json:"provider_id,omitempty"`
	Status     string `gorm:"size:20;not null" json:"status"`
	Error      string `gorm:"type:text" json:"error,omitempty"`
	Uploaded   int    `json:"uploaded"`
	Reused     int    `json:"reused"`
	APICalls   int    `json:"api_calls"`
	// Performance is the JSON measurement of the served app after a production deploy
	// (time to first byte, first-visit bytes and requests, Largest Contentful Paint);
	// Regressions lists what got worse than the previous production deployment.
	Performance string    `gorm:"type:text" json:"-"`
	Regressions string    `gorm:"type:text" json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Domain modes.
const (
	// DomainZone: the domain becomes a zone in the Cloudflare account (the user points
	// the registrar's nameservers at Cloudflare).
	DomainZone = "zone"
	// DomainCustomHostname: Cloudflare for SaaS; the user keeps their DNS and adds a
	// CNAME and TXT records.
	DomainCustomHostname = "custom_hostname"
)

// Domain states, as users see them.
const (
	DomainPending     = "pending"         // being set up
	DomainWaitingDNS  = "waiting_for_dns" // the user has DNS changes to make (see Instructions)
	DomainConflict    = "conflict"        // something is in the way (see Message)
	DomainCertificate = "issuing_certificate"
	DomainActive      = "active"
	DomainGaveUp      = "gave_up"   // waited the configured days; a check starts it again
	DomainDrift       = "dns_drift" // was active, DNS changed since
	DomainFailed      = "failed"
	DomainDetaching   = "detaching"
)

// Domain is a hostname attached to an app's production environment. Its workflow
// (domain/<hostname>) owns it; this record is what the API shows.
type Domain struct {
	Hostname string `gorm:"primaryKey;size:253" json:"hostname"`
	AppID    string `gorm:"size:40;not null;index" json:"app_id"`
	Mode     string `gorm:"size:20;not null" json:"mode"`
	// Primary is the hostname that serves; the other (apex or www) redirects to it.
	Primary   string `gorm:"size:253" json:"primary,omitempty"`
	Secondary string `gorm:"size:253" json:"secondary,omitempty"`
	Status    string `gorm:"size:30;not null" json:"status"`
	// Message says, in plain words, what is happening and what the user must do.
	Message          string `gorm:"type:text" json:"message"`
	ZoneID           string `gorm:"size:64" json:"zone_id,omitempty"`
	CustomHostnameID string `gorm:"size:64" json:"custom_hostname_id,omitempty"`
	// Instructions is a JSON array of DNS records or nameservers to set: {type, name,
	// value, purpose}.
	Instructions string `gorm:"type:text" json:"-"`
	// LastObserved is a JSON report of the last check: our DNS lookups and Cloudflare's
	// statuses.
	LastObserved      string     `gorm:"type:text" json:"-"`
	CertificateStatus string     `gorm:"size:40" json:"certificate_status,omitempty"`
	CertificateExpiry *time.Time `json:"certificate_expires_at,omitempty"`
	LastCheckedAt     *time.Time `json:"last_checked_at,omitempty"`
	NextCheckAt       *time.Time `json:"next_check_at,omitempty"`
	ActiveAt          *time.Time `json:"active_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Secret is one secret of an app's environment. The value is sealed (AES-GCM) and only
// opened to send it to Cloudflare; the API lists names, never values.
type Secret struct {
	AppID       string `gorm:"primaryKey;size:40" json:"-"`
	Environment string `gorm:"primaryKey;size:20" json:"environment"`
	Name        string `gorm:"primaryKey;size:64" json:"name"`
	Sealed      []byte `json:"-"`
	KeyID       string `gorm:"size:16" json:"-"`
	// Revision counts changes; SyncedRevision is the one the environment's script has.
	Revision       int `json:"-"`
	SyncedRevision int `json:"-"`
	// Deleted marks a secret to remove from the script; the row goes once it is.
	Deleted   bool       `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SyncedAt  *time.Time `json:"synced_at,omitempty"`
}

// GenerationStep is one step of making a version (for the LLM agent: one model call and
// its tool calls), recorded once: a retried step finds its record and is not run again.
type GenerationStep struct {
	AppID     string `gorm:"primaryKey;size:40" json:"-"`
	MessageID string `gorm:"primaryKey;size:80" json:"message_id"`
	Round     int    `gorm:"primaryKey;autoIncrement:false" json:"round"`
	Step      int    `gorm:"primaryKey;autoIncrement:false" json:"step"`
	VersionID string `gorm:"size:40" json:"version_id"`
	Finished  bool   `json:"finished"`
	Summary   string `gorm:"type:text" json:"summary,omitempty"`
	Stopped   string `gorm:"type:text" json:"stopped,omitempty"`
	// State is the generator's state after a finished step. It is kept with the step
	// because the version gets it only after the step is recorded: a retry of a step
	// whose first attempt died in between must still give it to the version.
	State string `gorm:"type:text" json:"-"`
	// Notes and Changes are JSON arrays.
	Notes            string    `gorm:"type:text" json:"-"`
	Changes          string    `gorm:"type:text" json:"-"`
	ModelCalls       int       `json:"model_calls"`
	PromptTokens     int       `json:"prompt_tokens"`
	CompletionTokens int       `json:"completion_tokens"`
	CostUSD          float64   `json:"cost_usd"`
	DurationMS       int64     `json:"duration_ms"`
	CreatedAt        time.Time `json:"created_at"`
}

// TranscriptMessage is one message of the conversation with the model that made a
// version, numbered 1, 2, … per chat message. It lives here, not in workflow history.
type TranscriptMessage struct {
	AppID     string `gorm:"primaryKey;size:40" json:"-"`
	MessageID string `gorm:"primaryKey;size:80" json:"-"`
	Seq       int    `gorm:"primaryKey;autoIncrement:false" json:"seq"`
	Round     int    `json:"round"`
	Step      int    `json:"step"`
	Role      string `gorm:"size:20;not null" json:"role"`
	Content   string `gorm:"type:text" json:"content,omitempty"`
	// ToolCalls is a JSON array of {id, name, arguments}.
	ToolCalls  string    `gorm:"type:text" json:"-"`
	ToolCallID string    `gorm:"size:100" json:"tool_call_id,omitempty"`
	Name       string    `gorm:"size:100" json:"name,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Event is one progress event of an app, numbered 1, 2, … per app; the SSE stream's
// event IDs are these numbers.
type Event struct {
	AppID string `gorm:"primaryKey;size:40" json:"app_id"`
	Seq   int64  `gorm:"primaryKey;autoIncrement:false" json:"seq"`
	// Key deduplicates events a retried activity emits again; empty means always new.
	DedupeKey     string    `gorm:"size:160;index:idx_event_key" json:"-"`
	Type          string    `gorm:"size:40;not null" json:"type"`
	Message       string    `gorm:"type:text" json:"message"`
	VersionNumber int       `json:"version,omitempty"`
	Data          string    `gorm:"type:text" json:"-"`
	CreatedAt     time.Time `json:"created_at"`
}

// All lists every model, for migrations.
func All() []any {
	return []any{&App{}, &AppVersion{}, &Blob{}, &AppFile{}, &BuildFile{}, &ChatMessage{}, &Deployment{}, &Event{}, &GenerationStep{}, &TranscriptMessage{}, &Secret{}, &Domain{}}
}

// NewID returns a random identifier: prefix followed by 20 lower-case base32 characters
// (100 bits), safe in URLs, hostnames and Workers script names.
func NewID(prefix string) string {
	return prefix + randomBase32(20)
}

func randomBase32(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("models: no randomness: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// Event types, as the SSE stream names them.
const (
	EventMessageQueued  = "message_queued"
	EventTurnStarted    = "turn_started"
	EventPlan           = "plan"
	EventFileWritten    = "file_written"
	EventVersionCreated = "version_created"
	EventBuildStarted   = "build_started"
	EventBuildFinished  = "build_finished"
	EventBuildFailed    = "build_failed"
	EventDeployStarted  = "deploy_started"
	EventDeployed       = "deployed"
	EventVerified       = "verified"
	EventVerifyFailed   = "verify_failed"
	EventRolledBack     = "rolled_back"
	EventLive           = "live"
	EventTurnFailed     = "turn_failed"
	EventReply          = "reply"
	// EventTurnStopped ends a turn the user stopped.
	EventTurnStopped = "turn_stopped"
	// EventWriting reports a file the model is writing, as it streams.
	EventWriting = "writing"
	// EventAgentNote is a problem told to the model and recovered from.
	EventAgentNote = "agent_note"
	// EventRepairStarted starts a repair round after a failed build.
	EventRepairStarted = "repair_started"
	// EventGenerationStopped ends a generation at a limit.
	EventGenerationStopped = "generation_stopped"
)
