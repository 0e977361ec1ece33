package edge

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Upload tokens are JWTs (HS256) signed with a key kept under DataDir, so tokens
// issued before a restart stay valid after it. Like Cloudflare's, they last one hour.
const tokenLifetime = time.Hour

// Token purposes: an upload token authorises bucket uploads of one session; a
// completion token attaches that session's manifest to the script it was made for.
const (
	purposeUpload     = "assets-upload"
	purposeCompletion = "assets-completion"
)

// tokenClaims is what a token carries.
type tokenClaims struct {
	Purpose string `json:"purpose"`
	Account string `json:"account"`
	Script  string `json:"script"`
	Session string `json:"session"`
	Issued  int64  `json:"iat"`
	Expires int64  `json:"exp"`
}

var (
	errTokenMalformed = errors.New("malformed JWT")
	errTokenSignature = errors.New("invalid JWT signature")
	errTokenExpired   = errors.New("expired JWT")
	errTokenPurpose   = errors.New("JWT issued for another purpose")
)

// signer issues and verifies tokens.
type signer struct {
	key []byte
}

const keySize = 32

// openSigner loads the signing key at path, creating it on first use.
func openSigner(path string) (*signer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		if err := writeFileAtomic(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("write key: %w", err)
		}
		return &signer{key: key}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("key %s has %d bytes, want %d", path, len(key), keySize)
	}
	return &signer{key: key}, nil
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// issue returns a signed token for c, valid from now for tokenLifetime.
func (s *signer) issue(c tokenClaims, now time.Time) string {
	c.Issued = now.Unix()
	c.Expires = now.Add(tokenLifetime).Unix()
	payload, _ := json.Marshal(c) // a struct of strings and ints always encodes
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signing + "." + base64.RawURLEncoding.EncodeToString(s.mac(signing))
}

func (s *signer) mac(signing string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// verify checks the token's signature, purpose and expiry at now.
func (s *signer) verify(token, purpose string, now time.Time) (tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return tokenClaims{}, errTokenMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return tokenClaims{}, errTokenMalformed
	}
	if !hmac.Equal(sig, s.mac(parts[0]+"."+parts[1])) {
		return tokenClaims{}, errTokenSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, errTokenMalformed
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return tokenClaims{}, errTokenMalformed
	}
	if c.Purpose != purpose {
		return tokenClaims{}, errTokenPurpose
	}
	if now.Unix() >= c.Expires {
		return tokenClaims{}, errTokenExpired
	}
	return c, nil
}
