// Package secrets seals an app's secret values for storage: AES-256-GCM with a key from
// the environment (APPFORGE_SECRET_KEY) or, for local use, a key file made once in the
// data folder. Each value is bound to where it belongs (app, environment, name), so a
// sealed value copied to another row does not open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// ErrOpen is returned when a sealed value does not open: the wrong key, or a value that
// was changed or moved.
var ErrOpen = errors.New("secret does not open with this key")

// Box seals and opens values. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	// KeyID names the key (a short hash of it, safe to show), stored with each value so
	// that a changed key is recognised.
	KeyID string
}

// NewBox returns a box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: the key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("appforge key id\x00"), key...))
	return &Box{aead: aead, KeyID: hex.EncodeToString(sum[:4])}, nil
}

// Seal encrypts value for the place named by where (e.g. "app/env/NAME"); the result
// holds the nonce and the ciphertext.
func (b *Box) Seal(value []byte, where string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secrets: no randomness: " + err.Error())
	}
	return b.aead.Seal(nonce, nonce, value, []byte(where))
}

// Open decrypts what Seal made for the same place.
func (b *Box) Open(sealed []byte, where string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(where))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// ParseKey reads a key written as base64 (standard or URL alphabet, padded or not) or
// hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secrets: the key must be %d bytes written as base64 or hex (make one with: openssl rand -base64 32)", KeySize)
}

// LoadOrCreateKeyFile reads the key in path, making a new random one (mode 0600) if the
// file does not exist.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		key, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return key, nil
}

// Where names the place a value belongs to, for Seal and Open.
func Where(appID, environment, name string) string {
	return appID + "/" + environment + "/" + name
}
