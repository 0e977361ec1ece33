package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"
)

func TestAssetHash(t *testing.T) {
	// Computed with wrangler's own hash (blake3-wasm 2.1.5):
	// hash(base64(content) + path.extname(name).substring(1)).toString("hex").slice(0, 32)
	tests := []struct {
		name, content, want string
	}{
		{"index.html", "<h1>test</h1>\n", "ee95e8cc538264ebd5f90e2124b804a3"},
		{"assets/index-BHpbNtuy.js", "console.log(1)\n", "f9ad670347ab4f7d8c17966a6b9b5081"},
		{".htaccess", "x", "c89c27f28e24f706b72c408fe1d6537a"},
		{"LICENSE", "", "af1349b9f5f9a1a6a0404dea36dcc949"},
		{"a/b.tar.gz", "gz", "e465ea83f604df976e0ce8d25ada4637"},
	}
	for _, tt := range tests {
		if got := AssetHash(tt.name, []byte(tt.content)); got != tt.want {
			t.Errorf("AssetHash(%q): got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	if Classify(nil) != nil {
		t.Errorf("Classify(nil): want nil")
	}
	already := &Error{Kind: KindConflict, Message: "x"}
	if got := Classify(fmt.Errorf("wrapped: %w", already)); got != already {
		t.Errorf("Classify of a wrapped *Error: got %v, want it unchanged", got)
	}
	dialErr := &url.Error{Op: "Post", URL: "http://127.0.0.1:1/client/v4", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"deadline", context.DeadlineExceeded, KindTransient},
		{"cancelled", fmt.Errorf("call: %w", context.Canceled), KindTransient},
		{"dial", dialErr, KindTransient},
		{"unknown", errors.New("something odd"), KindTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify(tt.err)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.want {
				t.Fatalf("got %v, want kind %s", err, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the classified error does not wrap the original")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{"-3", 0},
		{now.Add(90 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 90 * time.Second},
		{now.Add(-time.Minute).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}
