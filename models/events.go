package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// NewEvent is an event to append.
type NewEvent struct {
	// Key, when set, makes the append idempotent: a second event with the same key for
	// the same app is not stored, and the first one's sequence number is returned.
	Key           string
	Type          string
	Message       string
	VersionNumber int
	// Data is marshalled to JSON; nil for none.
	Data any
}

// AppendEvent stores an event as the app's next in sequence and wakes its subscribers.
func (s *Store) AppendEvent(ctx context.Context, appID string, ne NewEvent) (Event, error) {
	var data string
	if ne.Data != nil {
		b, err := json.Marshal(ne.Data)
		if err != nil {
			return Event{}, fmt.Errorf("append event %s: %w", ne.Type, err)
		}
		data = string(b)
	}
	var ev Event
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The app row lock orders events: sequence numbers are dense and an event
		// becomes visible only after every event before it.
		var app App
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id", "event_seq").First(&app, "id = ?", appID).Error; err != nil {
			return notFound(err, "app "+appID)
		}
		if ne.Key != "" {
			err := tx.Where("app_id = ? AND dedupe_key = ?", appID, ne.Key).First(&ev).Error
			if err == nil {
				return nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
		}
		ev = Event{AppID: appID, Seq: app.EventSeq + 1, DedupeKey: ne.Key, Type: ne.Type, Message: ne.Message, VersionNumber: ne.VersionNumber, Data: data}
		if err := tx.Create(&ev).Error; err != nil {
			return err
		}
		return tx.Model(&App{}).Where("id = ?", appID).Update("event_seq", ev.Seq).Error
	})
	if err != nil {
		return Event{}, fmt.Errorf("append event %s to app %s: %w", ne.Type, appID, err)
	}
	s.notify(appID)
	return ev, nil
}

// Events returns an app's events after seq, in order, at most limit.
func (s *Store) Events(ctx context.Context, appID string, after int64, limit int) ([]Event, error) {
	var evs []Event
	err := s.db.WithContext(ctx).Where("app_id = ? AND seq > ?", appID, after).Order("seq").Limit(clampLimit(limit)).Find(&evs).Error
	return evs, err
}

// Subscribe returns a channel that receives a value whenever an event is appended to the
// app through this Store (the same process); readers must still poll for events that
// other processes append. cancel releases the subscription.
func (s *Store) Subscribe(appID string) (wake <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs[appID] == nil {
		s.subs[appID] = map[chan struct{}]struct{}{}
	}
	s.subs[appID][ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs[appID], ch)
		if len(s.subs[appID]) == 0 {
			delete(s.subs, appID)
		}
		s.mu.Unlock()
	}
}

func (s *Store) notify(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs[appID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// SaveMessage stores a chat message unless one with its ID exists in the app; it returns
// the stored message and whether this call created it.
func (s *Store) SaveMessage(ctx context.Context, m ChatMessage) (ChatMessage, bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	if res.Error != nil {
		return ChatMessage{}, false, fmt.Errorf("save message %s: %w", m.ID, res.Error)
	}
	stored, err := s.Message(ctx, m.AppID, m.ID)
	return stored, res.RowsAffected == 1, err
}

// Message returns one chat message.
func (s *Store) Message(ctx context.Context, appID, id string) (ChatMessage, error) {
	var m ChatMessage
	err := s.db.WithContext(ctx).Where("app_id = ? AND id = ?", appID, id).First(&m).Error
	return m, notFound(err, "message "+id)
}

// UserMessage finds a user's message by ID in any app: how a retried create request
// finds the app its first attempt made.
func (s *Store) UserMessage(ctx context.Context, id string) (ChatMessage, error) {
	var m ChatMessage
	err := s.db.WithContext(ctx).Where("id = ? AND role = ?", id, RoleUser).Order("created_at").First(&m).Error
	return m, notFound(err, "message "+id)
}

// Undelivered lists user messages stored before the given time that never reached
// their app's workflow, oldest first.
func (s *Store) Undelivered(ctx context.Context, before time.Time, limit int) ([]ChatMessage, error) {
	var ms []ChatMessage
	err := s.db.WithContext(ctx).Where("role = ? AND delivered = ? AND created_at < ?", RoleUser, false, before).
		Order("created_at").Limit(clampLimit(limit)).Find(&ms).Error
	return ms, err
}

// Messages lists an app's chat, oldest first.
func (s *Store) Messages(ctx context.Context, appID string) ([]ChatMessage, error) {
	var ms []ChatMessage
	err := s.db.WithContext(ctx).Where("app_id = ?", appID).Order("created_at, id").Find(&ms).Error
	return ms, err
}

// UpdateMessage sets the given columns of one message.
func (s *Store) UpdateMessage(ctx context.Context, appID, id string, fields map[string]any) error {
	res := s.db.WithContext(ctx).Model(&ChatMessage{}).Where("app_id = ? AND id = ?", appID, id).Updates(fields)
	if res.Error != nil {
		return fmt.Errorf("update message %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update message %s: %w", id, ErrNotFound)
	}
	return nil
}

// SaveDeployment inserts or fully updates a deployment, keyed by its ID.
func (s *Store) SaveDeployment(ctx context.Context, d Deployment) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&d).Error
	if err != nil {
		return fmt.Errorf("save deployment %s: %w", d.ID, err)
	}
	return nil
}

// Deployment returns one deployment.
func (s *Store) Deployment(ctx context.Context, id string) (Deployment, error) {
	var d Deployment
	err := s.db.WithContext(ctx).First(&d, "id = ?", id).Error
	return d, notFound(err, "deployment "+id)
}

// Deployments lists an app's deployments, newest first.
func (s *Store) Deployments(ctx context.Context, appID string) ([]Deployment, error) {
	var ds []Deployment
	err := s.db.WithContext(ctx).Where("app_id = ?", appID).Order("created_at DESC, id DESC").Find(&ds).Error
	return ds, err
}

// PreviousHealthy returns the newest deployment of the environment, other than the
// current live one, that went live and passed its check: what a rollback puts back.
func (s *Store) PreviousHealthy(ctx context.Context, appID, env string) (Deployment, error) {
	var cur Deployment
	q := s.db.WithContext(ctx).Where("app_id = ? AND environment = ?", appID, env)
	err := q.Session(&gorm.Session{}).Where("status = ?", DeploymentLive).Order("updated_at DESC").First(&cur).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return Deployment{}, err
	}
	var prev Deployment
	err = q.Session(&gorm.Session{}).Where("status = ? AND version_number <> ?", DeploymentReplaced, cur.VersionNumber).
		Order("updated_at DESC").First(&prev).Error
	return prev, notFound(err, "an earlier healthy deployment of "+env)
}

// MarkReplaced marks every live deployment of the app's environment other than keepID
// as replaced.
func (s *Store) MarkReplaced(ctx context.Context, appID, env, keepID string) error {
	return s.db.WithContext(ctx).Model(&Deployment{}).
		Where("app_id = ? AND environment = ? AND status = ? AND id <> ?", appID, env, DeploymentLive, keepID).
		Update("status", DeploymentReplaced).Error
}
