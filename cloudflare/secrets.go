package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	cf "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// Worker secrets. Cloudflare takes one secret per call, with PUT
// .../workers/scripts/{script}/secrets {name, text, type: "secret_text"}; there is no
// PATCH on that path (it answers 405, code 10000, "PATCH method not allowed for the
// api_token authentication scheme": the seed project's bug). Each call makes a new
// version of the script and deploys it. Deploy keeps secrets across new bundles
// (keep_bindings), so secrets are set once, not with every deploy.

// MaxSecretSize is Cloudflare's limit on an environment variable or secret: 5 KB
// (developers.cloudflare.com/workers/platform/limits).
const MaxSecretSize = 5 << 10

// secretNamePattern is a binding name: letters, digits and underscores, not starting
// with a digit.
var secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// PutSecret sets the secret name of script to value (creating or replacing it) and
// deploys it. The value never appears in errors or logs. A script that does not
// exist is a KindNotFound error: deploy the script first.
func (d *Deployer) PutSecret(ctx context.Context, script, name, value string) error {
	op := fmt.Sprintf("set secret %s of %s", name, script)
	if err := checkSecretName(script, name); err != nil {
		return &Error{Kind: KindValidation, Op: op, Message: err.Error()}
	}
	if len(value) > MaxSecretSize {
		return &Error{Kind: KindValidation, Op: op,
			Message: fmt.Sprintf("the value is %d bytes; Cloudflare takes secrets of at most %d bytes", len(value), MaxSecretSize)}
	}
	run := &deployRun{d: d, ctx: ctx}
	err := run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.workers.Scripts.Secrets.Update(ctx, script, workers.ScriptSecretUpdateParams{
			AccountID: cf.F(d.accountID),
			Body: workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretText{
				Name: cf.F(name),
				Text: cf.F(value),
				Type: cf.F(workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretTextTypeSecretText),
			},
		}, opts...)
		return err
	})
	return scrub(err, value)
}

// ListSecrets returns the names of script's secrets, sorted. Cloudflare never
// returns their values.
func (d *Deployer) ListSecrets(ctx context.Context, script string) ([]string, error) {
	op := "list secrets of " + script
	if !scriptNamePattern.MatchString(script) {
		return nil, &Error{Kind: KindValidation, Op: op, Message: fmt.Sprintf("script name %q is not valid", script)}
	}
	run := &deployRun{d: d, ctx: ctx}
	var names []string
	err := run.call(op, func(opts ...option.RequestOption) error {
		page, err := d.workers.Scripts.Secrets.List(ctx, script, workers.ScriptSecretListParams{AccountID: cf.F(d.accountID)}, opts...)
		if err != nil {
			return err
		}
		for _, s := range page.Result {
			names = append(names, s.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// DeleteSecret removes the secret name from script and deploys the change. A secret
// that does not exist is a KindNotFound error.
func (d *Deployer) DeleteSecret(ctx context.Context, script, name string) error {
	op := fmt.Sprintf("delete secret %s of %s", name, script)
	if err := checkSecretName(script, name); err != nil {
		return &Error{Kind: KindValidation, Op: op, Message: err.Error()}
	}
	run := &deployRun{d: d, ctx: ctx}
	return run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.workers.Scripts.Secrets.Delete(ctx, script, name, workers.ScriptSecretDeleteParams{AccountID: cf.F(d.accountID)}, opts...)
		return err
	})
}

// DeleteScript deletes script with its versions, secrets and workers.dev route. It
// ensures the script is gone: deleting a script that does not exist succeeds.
func (d *Deployer) DeleteScript(ctx context.Context, script string) error {
	op := "delete " + script
	if !scriptNamePattern.MatchString(script) {
		return &Error{Kind: KindValidation, Op: op, Message: fmt.Sprintf("script name %q is not valid", script)}
	}
	run := &deployRun{d: d, ctx: ctx}
	err := run.call(op, func(opts ...option.RequestOption) error {
		_, err := d.workers.Scripts.Delete(ctx, script, workers.ScriptDeleteParams{AccountID: cf.F(d.accountID)}, opts...)
		return err
	})
	var e *Error
	if errors.As(err, &e) && e.Kind == KindNotFound && e.Status == http.StatusNotFound && e.Code == codeScriptNotFound {
		return nil
	}
	return err
}

// codeScriptNotFound is Cloudflare's "workers.api.error.script_not_found".
const codeScriptNotFound = 10007

func checkSecretName(script, name string) error {
	if !scriptNamePattern.MatchString(script) {
		return fmt.Errorf("script name %q is not valid", script)
	}
	if !secretNamePattern.MatchString(name) {
		return fmt.Errorf("secret name %q is not valid: use letters, digits and underscores, not starting with a digit", name)
	}
	return nil
}

// scrub removes value from a classified error's message, in case a server ever
// echoes it; the error keeps its kind and status.
func scrub(err error, value string) error {
	var e *Error
	if value == "" || !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Message = redact(c.Message, value)
	if e.Err != nil && strings.Contains(e.Err.Error(), value) {
		// The wrapped SDK error quotes the response; drop it rather than keep the value.
		c.Err = errors.New(redact(e.Err.Error(), value))
	}
	return &c
}
