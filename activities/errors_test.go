package activities

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/generate"
)

// Provider failures become the Temporal errors that make the right retry decision.
func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		name         string
		err          error
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"model key refused", &generate.ProviderError{Kind: "auth", Message: "the model provider refused the API key"}, ErrTypeModelAuth, true, 0},
		{"unknown model", &generate.ProviderError{Kind: "model", Message: "model x is not available"}, ErrTypeModelNotFound, true, 0},
		{"request refused", &generate.ProviderError{Kind: "rejected", Message: "too long"}, ErrTypeModelRejected, true, 0},
		{"model rate limit", &generate.ProviderError{Kind: "rate_limited", RetryAfter: 7 * time.Second}, "ModelRateLimited", false, 7 * time.Second},
		{"model rate limit without delay", &generate.ProviderError{Kind: "rate_limited"}, "ModelRateLimited", false, 10 * time.Second},
		{"model outage", &generate.ProviderError{Kind: "transient", Message: "502"}, "ModelUnavailable", false, 0},
		{"empty message", generate.ErrInvalidRequest, ErrTypeInvalidInput, true, 0},
		{"cloudflare token", &cloudflare.Error{Kind: cloudflare.KindAuth, Code: 10000}, ErrTypeCloudflareAuth, true, 0},
		{"cloudflare validation", &cloudflare.Error{Kind: cloudflare.KindValidation, Code: 10021}, ErrTypeCloudflareReject, true, 0},
		{"cloudflare rate limit", &cloudflare.Error{Kind: cloudflare.KindRateLimited, RetryAfter: 3 * time.Second}, "CloudflareRateLimited", false, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if _, ok := tc.err.(*cloudflare.Error); ok {
				err = deployError(tc.err)
			} else {
				err = providerError(tc.err)
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				t.Fatalf("got %T %v, want an application error", err, err)
			}
			if ae.Type() != tc.wantType || ae.NonRetryable() != tc.nonRetryable || ae.NextRetryDelay() != tc.delay {
				t.Errorf("got type %q non-retryable %v delay %s, want %q %v %s", ae.Type(), ae.NonRetryable(), ae.NextRetryDelay(), tc.wantType, tc.nonRetryable, tc.delay)
			}
		})
	}
	// A transient Cloudflare failure stays an ordinary error: Temporal's policy retries it.
	transient := &cloudflare.Error{Kind: cloudflare.KindTransient}
	if err := deployError(transient); err != transient {
		t.Errorf("transient deploy error became %v", err)
	}
}

// A deploy that failed after the script took the bundle keeps the failed call's retry
// decision under its own type, which tells the workflow to put the old version back.
func TestScriptChangedKeepsTheRetryDecision(t *testing.T) {
	for _, tc := range []struct {
		name         string
		err          error
		nonRetryable bool
		delay        time.Duration
	}{
		{"refused", deployError(&cloudflare.Error{Kind: cloudflare.KindAuth, Code: 10000}), true, 0},
		{"rate limited", deployError(&cloudflare.Error{Kind: cloudflare.KindRateLimited, RetryAfter: 4 * time.Second}), false, 4 * time.Second},
		{"transient", errors.New("connection reset"), false, 0},
	} {
		var ae *temporal.ApplicationError
		if !errors.As(scriptChanged(ErrTypeScriptChanged, tc.err), &ae) || ae.Type() != ErrTypeScriptChanged {
			t.Fatalf("%s: not a %s error", tc.name, ErrTypeScriptChanged)
		}
		if ae.NonRetryable() != tc.nonRetryable || ae.NextRetryDelay() != tc.delay {
			t.Errorf("%s: non-retryable %v, delay %v; want %v, %v", tc.name, ae.NonRetryable(), ae.NextRetryDelay(), tc.nonRetryable, tc.delay)
		}
	}
}
