package cloudflare_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/appforge/appforge/cloudflare"
)

// A paced deployer waits for its turn instead of earning Cloudflare's 429.
func TestRatePerSecondPacesCalls(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"subdomain":"appforge"}}`))
	}))
	defer srv.Close()
	d, err := cloudflare.New(cloudflare.Config{APIToken: "t", AccountID: "0123456789abcdef0123456789abcdef", BaseURL: srv.URL, RatePerSecond: 20, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := d.ListSecrets(context.Background(), "app"); err != nil {
			t.Fatal(err)
		}
	}
	// Five calls at 20 a second with no burst take at least 4 intervals of 50 ms.
	if took := time.Since(start); took < 190*time.Millisecond {
		t.Errorf("5 calls took %s: not paced", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.ListSecrets(ctx, "app"); err == nil {
		t.Error("a cancelled call waited and ran")
	}
}
