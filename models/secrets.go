package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PutSecret stores a sealed value, replacing the secret's value if it exists.
//
// A secret that does not exist yet (or was deleted) is refused with ErrTooMany when the
// environment already holds max secrets (0: no limit).
func (s *Store) PutSecret(ctx context.Context, appID, env, name string, sealed []byte, keyID string, max int) (out Secret, created bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("app_id = ? AND environment = ? AND name = ?", appID, env, name).First(&out).Error
		found := err == nil
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
		case err != nil:
			return err
		case !out.Deleted:
			out.Sealed, out.KeyID, out.Revision = sealed, keyID, out.Revision+1
			return tx.Save(&out).Error
		}
		// A new secret, or one deleted and set again: it counts against the limit.
		created = true
		if max > 0 {
			// The app's row is the lock that makes count-then-insert one step when two
			// new secrets arrive at once (SQLite transactions are serial already).
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").First(&App{}, "id = ?", appID).Error; err != nil {
				return notFound(err, "app "+appID)
			}
			var n int64
			if err := tx.Model(&Secret{}).Where("app_id = ? AND environment = ? AND deleted = ?", appID, env, false).Count(&n).Error; err != nil {
				return err
			}
			if n >= int64(max) {
				return fmt.Errorf("%s has %d secrets, the most it may hold: %w", env, n, ErrTooMany)
			}
		}
		if found {
			// The row waits for its removal from the script; the revision keeps counting
			// so that a sync in flight does not take the new value for the old.
			out.Sealed, out.KeyID, out.Revision, out.Deleted, out.CreatedAt = sealed, keyID, out.Revision+1, false, time.Now()
			return tx.Save(&out).Error
		}
		out = Secret{AppID: appID, Environment: env, Name: name, Sealed: sealed, KeyID: keyID, Revision: 1}
		return tx.Create(&out).Error
	})
	if err != nil {
		return Secret{}, false, fmt.Errorf("put secret %s of app %s: %w", name, appID, err)
	}
	return out, created, nil
}

// Secrets lists an environment's secrets by name (deleted ones waiting to be removed
// from the script included when withDeleted).
func (s *Store) Secrets(ctx context.Context, appID, env string, withDeleted bool) ([]Secret, error) {
	q := s.db.WithContext(ctx).Where("app_id = ? AND environment = ?", appID, env)
	if !withDeleted {
		q = q.Where("deleted = ?", false)
	}
	var out []Secret
	err := q.Order("name").Find(&out).Error
	return out, err
}

// DeleteSecret marks a secret for removal from the script; ErrNotFound if there is none.
func (s *Store) DeleteSecret(ctx context.Context, appID, env, name string) error {
	res := s.db.WithContext(ctx).Model(&Secret{}).Where("app_id = ? AND environment = ? AND name = ? AND deleted = ?", appID, env, name, false).
		Updates(map[string]any{"deleted": true, "revision": gorm.Expr("revision + 1")})
	if res.Error != nil {
		return fmt.Errorf("delete secret %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("secret %s of %s: %w", name, env, ErrNotFound)
	}
	return nil
}

// SecretSynced records that the script has the secret at revision (or, for a deleted
// secret, no longer has it: the row goes).
func (s *Store) SecretSynced(ctx context.Context, sec Secret, revision int) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur Secret
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("app_id = ? AND environment = ? AND name = ?", sec.AppID, sec.Environment, sec.Name).First(&cur).Error; err != nil {
			return notFound(err, "secret "+sec.Name)
		}
		if cur.Revision != revision {
			return nil // changed again meanwhile: the next sync sends the new revision
		}
		if cur.Deleted {
			return tx.Delete(&cur).Error
		}
		now := time.Now().UTC()
		return tx.Model(&cur).Updates(map[string]any{"synced_revision": revision, "synced_at": now}).Error
	})
}
