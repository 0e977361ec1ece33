package edge

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Cloudflare compresses text responses for clients that accept it (gzip or Brotli; the
// standard library has gzip), marks the ETag weak and varies on Accept-Encoding. The
// edge does the same, keeping each compressed asset beside the original once made.

// minCompressBytes: smaller bodies are not worth compressing.
const minCompressBytes = 1024

func compressible(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	switch {
	case strings.HasPrefix(ct, "text/"):
		return true
	case ct == "application/javascript", ct == "application/json", ct == "application/manifest+json",
		ct == "image/svg+xml", ct == "application/xml", ct == "application/wasm":
		return true
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
		if strings.TrimSpace(enc) == "*" && !strings.Contains(params, "q=0") {
			return true
		}
	}
	return false
}

// gzipped returns the asset's gzip encoding, made once and kept under the data folder.
func (s *store) gzipped(hash string) ([]byte, error) {
	if !assetHashPattern.MatchString(hash) {
		return nil, fmt.Errorf("invalid asset hash %q", hash)
	}
	p := filepath.Join(s.dir, "assets-gzip", hash[:2], hash+".gz")
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	}
	f, err := s.openAsset(hash)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := io.Copy(zw, f); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
		tmp := p + ".tmp"
		if os.WriteFile(tmp, buf.Bytes(), 0o644) == nil {
			os.Rename(tmp, p)
		}
	}
	return buf.Bytes(), nil
}
