package edge

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

const (
	testAccount = "0123456789abcdef0123456789abcdef"
	testToken   = "test-api-token-4f9a2c"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is an edge behind a real HTTP server, and SDK clients for it.
type fixture struct {
	dir   string
	clock *clock
	edge  *Edge
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return startFixture(t, t.TempDir(), newClock())
}

// startFixture starts an edge on dir; several fixtures may share a dir one after the
// other (a restart). Options change the edge's Config.
func startFixture(t *testing.T, dir string, clk *clock, options ...func(*Config)) *fixture {
	t.Helper()
	cfg := Config{
		DataDir:   dir,
		AccountID: testAccount,
		APIToken:  testToken,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       clk.Now,
	}
	for _, o := range options {
		o(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(e.Handler())
	f := &fixture{dir: dir, clock: clk, edge: e, srv: srv}
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) stop() {
	f.srv.Close()
	_ = f.edge.Close()
}

// workers returns the SDK's Workers service for the edge, authenticated with token.
func (f *fixture) workers(token string) *workers.WorkerService {
	opts := []option.RequestOption{
		option.WithBaseURL(f.srv.URL + "/client/v4"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(f.srv.Client()),
	}
	if token != "" {
		opts = append(opts, option.WithAPIToken(token))
	}
	return workers.NewWorkerService(opts...)
}

// testHash is the content address the edge tests use. The edge does not care which
// hash a client uses (Cloudflare documents it as opaque 32 hex characters).
func testHash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])[:32]
}

func manifestOf(files map[string]string) map[string]workers.ScriptAssetUploadNewParamsManifest {
	m := map[string]workers.ScriptAssetUploadNewParamsManifest{}
	for p, c := range files {
		m[p] = workers.ScriptAssetUploadNewParamsManifest{Hash: cf.F(testHash(c)), Size: cf.F(int64(len(c)))}
	}
	return m
}

func contentsByHash(files map[string]string) map[string]string {
	out := map[string]string{}
	for _, c := range files {
		out[testHash(c)] = c
	}
	return out
}

func startSession(t *testing.T, ws *workers.WorkerService, script string, files map[string]string) *workers.ScriptAssetUploadNewResponse {
	t.Helper()
	sess, err := ws.Scripts.Assets.Upload.New(context.Background(), script, workers.ScriptAssetUploadNewParams{
		AccountID: cf.F(testAccount),
		Manifest:  cf.F(manifestOf(files)),
	})
	if err != nil {
		t.Fatalf("create upload session for %s: %v", script, err)
	}
	return sess
}

// uploadBucket uploads the files of one bucket with the session token jwt and
// returns the HTTP status and the answered token.
func uploadBucket(ws *workers.WorkerService, jwt string, parts map[string]string) (int, string, error) {
	body := map[string]string{}
	for h, c := range parts {
		body[h] = base64.StdEncoding.EncodeToString([]byte(c))
	}
	var resp *http.Response
	res, err := ws.Assets.Upload.New(context.Background(), workers.AssetUploadNewParams{
		AccountID: cf.F(testAccount),
		Base64:    cf.F(workers.AssetUploadNewParamsBase64True),
		Body:      body,
	}, option.WithHeader("Authorization", "Bearer "+jwt), option.WithResponseInto(&resp))
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, res.JWT, nil
}

// uploadAll uploads every bucket of sess and returns the completion token.
func uploadAll(t *testing.T, ws *workers.WorkerService, sess *workers.ScriptAssetUploadNewResponse, files map[string]string) string {
	t.Helper()
	byHash := contentsByHash(files)
	completion := sess.JWT
	for _, bucket := range sess.Buckets {
		parts := map[string]string{}
		for _, h := range bucket {
			parts[h] = byHash[h]
		}
		_, jwt, err := uploadBucket(ws, sess.JWT, parts)
		if err != nil {
			t.Fatalf("upload bucket: %v", err)
		}
		if jwt != "" {
			completion = jwt
		}
	}
	return completion
}

func putAssetsScript(ws *workers.WorkerService, script, jwt, notFound string) (*workers.ScriptUpdateResponse, error) {
	cfg := workers.ScriptUpdateParamsMetadataAssetsConfig{}
	if notFound != "" {
		cfg.NotFoundHandling = cf.F(workers.ScriptUpdateParamsMetadataAssetsConfigNotFoundHandling(notFound))
	}
	return ws.Scripts.Update(context.Background(), script, workers.ScriptUpdateParams{
		AccountID: cf.F(testAccount),
		Metadata: cf.F(workers.ScriptUpdateParamsMetadata{
			CompatibilityDate: cf.F("2025-09-01"),
			Assets: cf.F(workers.ScriptUpdateParamsMetadataAssets{
				JWT:    cf.F(jwt),
				Config: cf.F(cfg),
			}),
		}),
	})
}

func enableSubdomain(t *testing.T, ws *workers.WorkerService, script string) {
	t.Helper()
	_, err := ws.Scripts.Subdomain.New(context.Background(), script, workers.ScriptSubdomainNewParams{
		AccountID: cf.F(testAccount),
		Enabled:   cf.F(true),
	})
	if err != nil {
		t.Fatalf("enable subdomain of %s: %v", script, err)
	}
}

// deploy publishes files as script through the SDK, the way the deployer does.
func (f *fixture) deploy(t *testing.T, script string, files map[string]string, notFound string) *workers.ScriptUpdateResponse {
	t.Helper()
	ws := f.workers(testToken)
	sess := startSession(t, ws, script, files)
	jwt := uploadAll(t, ws, sess, files)
	res, err := putAssetsScript(ws, script, jwt, notFound)
	if err != nil {
		t.Fatalf("put script %s: %v", script, err)
	}
	enableSubdomain(t, ws, script)
	return res
}

// wantAPIError asserts err is Cloudflare's error with status and first code.
func wantAPIError(t *testing.T, err error, status, code int) *cf.Error {
	t.Helper()
	var apiErr *cf.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got error %v (%T), want a *cloudflare.Error with status %d", err, err, status)
	}
	if apiErr.StatusCode != status {
		t.Errorf("status: got %d, want %d (%s)", apiErr.StatusCode, status, apiErr.JSON.RawJSON())
	}
	if len(apiErr.Errors) == 0 || int(apiErr.Errors[0].Code) != code {
		t.Errorf("code: got %v, want %d", apiErr.Errors, code)
	}
	return apiErr
}

// rawEnvelope is the decoded body of an API response, for checks the SDK hides.
type rawEnvelope struct {
	Success  *bool           `json:"success"`
	Errors   []cfError       `json:"errors"`
	Messages []cfError       `json:"messages"`
	Result   json.RawMessage `json:"result"`
}

// do sends a raw request to the edge with the given Host (empty: the server's).
func (f *fixture) do(t *testing.T, method, host, path string, header http.Header, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = slices.Clone(vs)
	}
	if host != "" {
		req.Host = host
	}
	client := *f.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func decodeEnvelope(t *testing.T, resp *http.Response) rawEnvelope {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var env rawEnvelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("decode envelope: %v", err)
	}
	if env.Success == nil || env.Errors == nil || env.Messages == nil {
		t.Errorf("envelope misses success, errors or messages: %+v", env)
	}
	return env
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}
