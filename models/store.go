package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// ErrNotFound is returned (wrapped) when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrTooMany is returned (wrapped) when adding a record would pass a limit.
var ErrTooMany = errors.New("limit reached")

// Store is the database. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	dialect string
	log     *slog.Logger

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Options selects the database.
type Options struct {
	// DatabaseURL is a Postgres URL or DSN; empty means SQLite at SQLitePath.
	DatabaseURL string
	SQLitePath  string
	Logger      *slog.Logger
}

// Open connects to the database and migrates it.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gcfg := &gorm.Config{
		Logger:                                   logger.Discard,
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
		NowFunc:                                  func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	var (
		db      *gorm.DB
		err     error
		dialect string
	)
	if opts.DatabaseURL != "" {
		dialect = "postgres"
		db, err = gorm.Open(postgres.Open(opts.DatabaseURL), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", redactURL(err, opts.DatabaseURL))
		}
	} else {
		dialect = "sqlite"
		if opts.SQLitePath == "" {
			return nil, errors.New("open sqlite: no path")
		}
		if err := os.MkdirAll(filepath.Dir(opts.SQLitePath), 0o755); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		dsn := "file:" + opts.SQLitePath + "?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = gorm.Open(sqlite.Open(dsn), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", opts.SQLitePath, err)
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == "sqlite" {
		// One writer at a time is SQLite's rule; a small pool keeps readers from
		// queueing behind a long write while busy_timeout handles the rest.
		sqlDB.SetMaxOpenConns(4)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	s := &Store{db: db, dialect: dialect, log: log, subs: map[string]map[chan struct{}]struct{}{}}
	if err := s.Migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// redactURL keeps a database password out of an error message.
func redactURL(err error, url string) error {
	if url == "" || !strings.Contains(err.Error(), url) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), url, "[database url]"))
}

// Migrate creates or updates every table.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.db.WithContext(ctx).AutoMigrate(All()...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks the connection, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

// CreateApp inserts app unless an app with its ID exists; either way it returns the
// stored app and whether this call created it.
func (s *Store) CreateApp(ctx context.Context, app App) (App, bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&app)
	if res.Error != nil {
		return App{}, false, fmt.Errorf("create app %s: %w", app.ID, res.Error)
	}
	stored, err := s.App(ctx, app.ID)
	return stored, res.RowsAffected == 1, err
}

// App returns one app.
func (s *Store) App(ctx context.Context, id string) (App, error) {
	var app App
	err := s.db.WithContext(ctx).First(&app, "id = ?", id).Error
	return app, notFound(err, "app "+id)
}

// Apps lists apps, newest first: at most limit of them, after the app with ID before
// when it is set (the cursor of the page before; ErrNotFound if there is no such app).
func (s *Store) Apps(ctx context.Context, limit int, before string) ([]App, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC").Order("id DESC").Limit(clampLimit(limit))
	if before != "" {
		cur, err := s.App(ctx, before)
		if err != nil {
			return nil, err
		}
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", cur.CreatedAt, cur.CreatedAt, cur.ID)
	}
	var apps []App
	err := q.Find(&apps).Error
	return apps, err
}

// UpdateApp sets the given columns of one app.
func (s *Store) UpdateApp(ctx context.Context, id string, fields map[string]any) error {
	res := s.db.WithContext(ctx).Model(&App{}).Where("id = ?", id).Updates(fields)
	if res.Error != nil {
		return fmt.Errorf("update app %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update app %s: %w", id, ErrNotFound)
	}
	return nil
}

func clampLimit(limit int) int {
	if limit <= 0 || limit > 1000 {
		return 1000
	}
	return limit
}
