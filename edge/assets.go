package edge

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Limits of Workers static assets (wrangler's MAX_ASSET_COUNT and MAX_ASSET_SIZE).
const (
	maxAssetCount = 20_000
	maxAssetSize  = 25 << 20
	maxPathLength = 1024
	// bucketBytes bounds the base64 payload of one upload bucket.
	bucketBytes = 40 << 20
)

// codeInvalidWorkerName is the Workers API's "invalid Worker name" code.
const codeInvalidWorkerName = 10016

// scriptNamePattern is what a Worker name may look like here: it must also be a DNS
// label of the served hostname, so no dots and at most 63 characters.
var scriptNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)

func scriptName(r *http.Request) (string, error) {
	name := r.PathValue("script")
	if !scriptNamePattern.MatchString(name) {
		return "", apiErrorf(http.StatusBadRequest, codeInvalidWorkerName,
			"Invalid Worker name %q: use lowercase letters, digits, '-' and '_', at most 63 characters", name)
	}
	return name, nil
}

type manifestRequest struct {
	Manifest map[string]struct {
		Hash *string `json:"hash"`
		Size *int64  `json:"size"`
	} `json:"manifest"`
}

type uploadSessionResult struct {
	JWT     string     `json:"jwt"`
	Buckets [][]string `json:"buckets"`
}

// createUploadSession is POST /workers/scripts/{script}/assets-upload-session. It
// answers the hashes the edge does not store yet, in buckets, with a token to upload
// them; when it stores them all, the token is already the completion token.
func (e *Edge) createUploadSession(r *http.Request) (reply, error) {
	name, err := scriptName(r)
	if err != nil {
		return reply{}, err
	}
	var req manifestRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	manifest, err := validateManifest(req)
	if err != nil {
		return reply{}, err
	}
	ss := &session{
		ID:       newID(),
		Account:  e.cfg.AccountID,
		Script:   name,
		Manifest: manifest,
		Created:  e.now(),
	}
	e.maybePruneSessions()
	if err := e.store.saveSession(ss); err != nil {
		return reply{}, fmt.Errorf("save upload session: %w", err)
	}
	buckets := e.buckets(manifest)
	claims := tokenClaims{Account: ss.Account, Script: ss.Script, Session: ss.ID, Purpose: purposeUpload}
	if len(buckets) == 0 {
		claims.Purpose = purposeCompletion
	}
	e.log.Debug("asset upload session", "script", name, "session", ss.ID,
		"files", len(manifest), "buckets", len(buckets))
	return ok(uploadSessionResult{JWT: e.tokens.issue(claims, e.now()), Buckets: buckets})
}

func validateManifest(req manifestRequest) (map[string]manifestEntry, error) {
	if req.Manifest == nil {
		return nil, errValidation("manifest is required")
	}
	if len(req.Manifest) == 0 {
		return nil, errValidation("manifest lists no files")
	}
	if len(req.Manifest) > maxAssetCount {
		return nil, errValidation("manifest lists %d files, more than the %d allowed", len(req.Manifest), maxAssetCount)
	}
	out := make(map[string]manifestEntry, len(req.Manifest))
	sizes := map[string]int64{}
	for p, ent := range req.Manifest {
		if err := validateAssetPath(p); err != nil {
			return nil, err
		}
		if ent.Hash == nil {
			return nil, errValidation("manifest entry %q has no hash", p)
		}
		hash := strings.ToLower(*ent.Hash)
		if !assetHashPattern.MatchString(hash) {
			return nil, errValidation("manifest entry %q: hash %q is not 32 hexadecimal characters", p, *ent.Hash)
		}
		if ent.Size == nil {
			return nil, errValidation("manifest entry %q has no size", p)
		}
		size := *ent.Size
		if size < 0 || size > maxAssetSize {
			return nil, errValidation("manifest entry %q: size %d is outside 0..%d bytes", p, size, maxAssetSize)
		}
		if prev, seen := sizes[hash]; seen && prev != size {
			return nil, errValidation("manifest lists hash %s with sizes %d and %d", hash, prev, size)
		}
		sizes[hash] = size
		out[p] = manifestEntry{Hash: hash, Size: size}
	}
	return out, nil
}

func validateAssetPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return errValidation("manifest path %q must start with /", p)
	case len(p) > maxPathLength:
		return errValidation("manifest path %.40q... is longer than %d characters", p, maxPathLength)
	case strings.HasSuffix(p, "/"):
		return errValidation("manifest path %q names a folder, not a file", p)
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }):
		return errValidation("manifest path %q contains a control character or backslash", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errValidation("manifest path %q has an empty, . or .. segment", p)
		}
	}
	return nil
}

// buckets groups the hashes of manifest the edge does not store yet into upload
// buckets, in a stable order, bounded by file count and base64 size.
func (e *Edge) buckets(manifest map[string]manifestEntry) [][]string {
	missing := map[string]int64{}
	for _, ent := range manifest {
		if !e.store.hasAsset(ent.Hash) {
			missing[ent.Hash] = ent.Size
		}
	}
	hashes := make([]string, 0, len(missing))
	for h := range missing {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	buckets := [][]string{}
	var cur []string
	var curBytes int64
	for _, h := range hashes {
		b64 := (missing[h] + 2) / 3 * 4
		if len(cur) > 0 && (len(cur) >= e.bucketFiles || curBytes+b64 > bucketBytes) {
			buckets = append(buckets, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, h)
		curBytes += b64
	}
	if len(cur) > 0 {
		buckets = append(buckets, cur)
	}
	return buckets
}

type uploadResult struct {
	JWT string `json:"jwt,omitempty"`
}

// uploadAssets is POST /workers/assets/upload?base64=true, authorised by an upload
// token: one multipart part per file, named by its hash, with a base64 body. It
// answers 202 while files of the session are missing and 201 with the completion
// token once the edge stores them all.
func (e *Edge) uploadAssets(r *http.Request) (reply, error) {
	c := requestClaims(r)
	if c.Account != r.PathValue("account") {
		return reply{}, errUploadToken(errors.New("token issued for another account"))
	}
	if r.URL.Query().Get("base64") != "true" {
		return reply{}, errValidation("the base64 query parameter must be true; file contents are sent base64-encoded")
	}
	ss, err := e.store.loadSession(c.Session)
	if errors.Is(err, errNoSession) {
		return reply{}, errUploadToken(err)
	}
	if err != nil {
		return reply{}, fmt.Errorf("load upload session %s: %w", c.Session, err)
	}
	sizes := map[string]int64{}
	for _, ent := range ss.Manifest {
		sizes[ent.Hash] = ent.Size
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return reply{}, errValidation("expected a multipart/form-data body: %v", err)
	}
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return reply{}, bodyError(err)
		}
		hash := strings.ToLower(part.FormName())
		size, ok := sizes[hash]
		if !ok {
			return reply{}, errValidation("file %q is not part of this upload session", part.FormName())
		}
		encoded, err := io.ReadAll(part)
		if err != nil {
			return reply{}, bodyError(err)
		}
		content, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(encoded)))
		if err != nil {
			return reply{}, errValidation("file %s is not valid base64: %v", hash, err)
		}
		if int64(len(content)) != size {
			return reply{}, errValidation("file %s has %d bytes, the manifest says %d", hash, len(content), size)
		}
		if err := e.store.putAsset(hash, content); err != nil {
			return reply{}, fmt.Errorf("store asset %s: %w", hash, err)
		}
		n++
	}
	if n == 0 {
		return reply{}, errValidation("the upload contains no files")
	}
	for h := range sizes {
		if !e.store.hasAsset(h) {
			return reply{status: http.StatusAccepted, result: uploadResult{}}, nil
		}
	}
	jwt := e.tokens.issue(tokenClaims{
		Purpose: purposeCompletion, Account: ss.Account, Script: ss.Script, Session: ss.ID,
	}, e.now())
	return reply{status: http.StatusCreated, result: uploadResult{JWT: jwt}}, nil
}

// prunePeriod is how often session creation also deletes expired sessions.
const prunePeriod = 10 * time.Minute

func (e *Edge) maybePruneSessions() {
	now := e.now()
	last := e.lastPrune.Load()
	if now.Unix()-last < int64(prunePeriod/time.Second) || !e.lastPrune.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := e.store.pruneSessions(now); err != nil {
		e.log.Warn("prune expired upload sessions", "err", err)
	}
}

// newID returns 32 random hex characters.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
