// Package storetest opens throwaway databases for tests: a SQLite file in the test's temp
// folder, and a fresh Postgres database (dropped afterwards) on the server named by
// APPFORGE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test). With CI
// set, an unreachable Postgres fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the postgres driver for database/sql

	"github.com/appforge/appforge/models"
)

// Dialects are the databases every store test runs on.
var Dialects = []string{"sqlite", "postgres"}

// DefaultPostgresURL is the local test server.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the admin connection used to create test databases.
func PostgresURL() string {
	if u := os.Getenv("APPFORGE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Open returns a migrated store on a fresh database of the given dialect.
func Open(t testing.TB, dialect string) *models.Store {
	t.Helper()
	ctx := context.Background()
	var opts models.Options
	switch dialect {
	case "sqlite":
		opts.SQLitePath = filepath.Join(t.TempDir(), "appforge.db")
	case "postgres":
		opts.DatabaseURL = NewPostgresDatabase(t)
	default:
		t.Fatalf("unknown dialect %q", dialect)
	}
	s, err := models.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewPostgresDatabase creates an empty database, dropped when the test ends, and returns
// its URL. It skips the test when no Postgres answers, unless CI is set.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := PostgresURL()
	db, err := sql.Open("pgx", admin)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("postgres at %s is required in CI: %v", redacted(admin), err)
		}
		t.Skipf("postgres at %s not reachable (%v); set APPFORGE_TEST_POSTGRES_URL", redacted(admin), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "appforge_test_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", redacted(admin), err)
	}
	u.Path = "/" + name
	return u.String()
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

// Each runs f as a subtest on every dialect.
func Each(t *testing.T, f func(t *testing.T, s *models.Store)) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			f(t, Open(t, d))
		})
	}
}

// Must fails the test on err.
func Must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
