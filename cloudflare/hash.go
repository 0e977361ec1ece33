package cloudflare

import (
	"encoding/base64"
	"encoding/hex"
	"path"
	"strings"

	"github.com/zeebo/blake3"
)

// AssetHash is the hash wrangler gives a static asset: the first 32 hex characters of
// BLAKE3(base64(content) + extension without the dot). Using wrangler's scheme means
// files wrangler uploaded to the account are reused, and ours are reused by it.
func AssetHash(name string, content []byte) string {
	h := blake3.New()
	_, _ = h.WriteString(base64.StdEncoding.EncodeToString(content))
	_, _ = h.WriteString(nodeExt(name))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// nodeExt is Node's path.extname(name).substring(1): the extension of the base name
// without its dot, and "" for names like ".htaccess" whose only dot leads.
func nodeExt(name string) string {
	base := path.Base(name)
	i := strings.LastIndexByte(base, '.')
	if i <= 0 {
		return ""
	}
	return base[i+1:]
}
