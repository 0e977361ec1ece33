package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	where := Where("app1", "production", "STRIPE_KEY")
	sealed := b.Seal([]byte("sk_live_planted"), where)
	if bytes.Contains(sealed, []byte("sk_live_planted")) {
		t.Fatal("the sealed value contains the plain text")
	}
	if again := b.Seal([]byte("sk_live_planted"), where); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	got, err := b.Open(sealed, where)
	if err != nil || string(got) != "sk_live_planted" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(sealed, Where("app2", "production", "STRIPE_KEY")); !errors.Is(err, ErrOpen) {
		t.Errorf("a value moved to another app opened: %v", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := b.Open(tampered, where); !errors.Is(err, ErrOpen) {
		t.Errorf("a tampered value opened: %v", err)
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(sealed, where); !errors.Is(err, ErrOpen) {
		t.Errorf("another key opened the value: %v", err)
	}
	if other.KeyID == b.KeyID {
		t.Error("two keys have one id")
	}
	if _, err := b.Open([]byte("short"), where); !errors.Is(err, ErrOpen) {
		t.Errorf("a short value: %v", err)
	}
}

func TestKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), "  " + base64.StdEncoding.EncodeToString(raw) + "\n", "abababababababababababababababababababababababababababababababab"} {
		k, err := ParseKey(s)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	if _, err := NewBox(raw[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	path := filepath.Join(t.TempDir(), "keys", "secret.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("the key changed between loads: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
}
