package activities

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/appforge/appforge/cloudflare"
	"github.com/appforge/appforge/models"
	"github.com/appforge/appforge/models/storetest"
	"github.com/appforge/appforge/secrets"
)

// callDeployer records the secret calls a sync makes.
type callDeployer struct{ calls []string }

func (d *callDeployer) Deploy(ctx context.Context, req cloudflare.DeployRequest, progress func(msg string)) (cloudflare.DeployResult, error) {
	return cloudflare.DeployResult{}, nil
}

func (d *callDeployer) PutSecret(ctx context.Context, script, name, value string) error {
	d.calls = append(d.calls, "put "+name)
	return nil
}

func (d *callDeployer) DeleteSecret(ctx context.Context, script, name string) error {
	d.calls = append(d.calls, "delete "+name)
	return nil
}

// TestSyncRemovesBeforeItSets swaps secrets on a script: the removals go first, so an
// environment at the Worker's limit has room for the new ones when they arrive.
func TestSyncRemovesBeforeItSets(t *testing.T) {
	ctx := t.Context()
	s := storetest.Open(t, "sqlite")
	box, err := secrets.NewBox(bytes.Repeat([]byte{7}, secrets.KeySize))
	storetest.Must(t, err, "box")
	_, _, err = s.CreateApp(ctx, models.App{ID: "app1", Name: "Todo"})
	storetest.Must(t, err, "create app")
	put := func(name string) {
		_, _, err := s.PutSecret(ctx, "app1", models.EnvProduction, name, box.Seal([]byte("v"), secrets.Where("app1", models.EnvProduction, name)), box.KeyID, 0)
		storetest.Must(t, err, "put %s", name)
	}
	put("B_OLD")
	put("D_OLD")
	storetest.Must(t, s.DeleteSecret(ctx, "app1", models.EnvProduction, "B_OLD"), "delete")
	storetest.Must(t, s.DeleteSecret(ctx, "app1", models.EnvProduction, "D_OLD"), "delete")
	put("A_NEW")
	put("C_NEW")

	d := &callDeployer{}
	a := &Activities{Store: s, Deployer: d, Secrets: box}
	res, err := a.syncSecrets(ctx, "app1", models.EnvProduction, "app1")
	storetest.Must(t, err, "sync")
	if want := []string{"delete B_OLD", "delete D_OLD", "put A_NEW", "put C_NEW"}; !slices.Equal(d.calls, want) {
		t.Errorf("calls = %q, want %q", d.calls, want)
	}
	if res.Set != 2 || res.Deleted != 2 {
		t.Errorf("result = %+v, want 2 set and 2 deleted", res)
	}
}
