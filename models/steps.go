package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/appforge/appforge/files"
)

// StepRecord is one finished generation step: its record, the transcript messages it
// added and the version's files after it.
type StepRecord struct {
	Step     GenerationStep
	Messages []TranscriptMessage
	// Files is the version's complete file set after the step.
	Files []files.File
}

// RecordStep stores a finished step in one transaction: the step, its transcript
// messages (numbered after the last), the version's new file set and the model use
// added to the version. A step recorded before is left as it was and returned with
// created false, so a retried activity never applies its work twice.
func (s *Store) RecordStep(ctx context.Context, r StepRecord) (GenerationStep, bool, error) {
	for _, f := range r.Files {
		if _, err := files.CleanPath(f.Path); err != nil {
			return GenerationStep{}, false, fmt.Errorf("record step: %w", err)
		}
	}
	st := r.Step
	created := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The version row lock serialises steps of one version.
		var v AppVersion
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&v, "id = ?", st.VersionID).Error; err != nil {
			return notFound(err, "version "+st.VersionID)
		}
		var prev GenerationStep
		err := tx.Where("app_id = ? AND message_id = ? AND round = ? AND step = ?", st.AppID, st.MessageID, st.Round, st.Step).First(&prev).Error
		if err == nil {
			st = prev
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if err := tx.Create(&st).Error; err != nil {
			return err
		}
		if len(r.Messages) > 0 {
			var last struct{ Seq int }
			if err := tx.Model(&TranscriptMessage{}).Select("COALESCE(MAX(seq), 0) AS seq").
				Where("app_id = ? AND message_id = ?", st.AppID, st.MessageID).Scan(&last).Error; err != nil {
				return err
			}
			msgs := make([]TranscriptMessage, len(r.Messages))
			for i, m := range r.Messages {
				m.AppID, m.MessageID, m.Seq, m.Round, m.Step = st.AppID, st.MessageID, last.Seq+i+1, st.Round, st.Step
				msgs[i] = m
			}
			if err := tx.CreateInBatches(msgs, 100).Error; err != nil {
				return err
			}
		}
		fields := map[string]any{
			"model_calls":       gorm.Expr("model_calls + ?", st.ModelCalls),
			"prompt_tokens":     gorm.Expr("prompt_tokens + ?", st.PromptTokens),
			"completion_tokens": gorm.Expr("completion_tokens + ?", st.CompletionTokens),
			"cost_usd":          gorm.Expr("cost_usd + ?", st.CostUSD),
		}
		if r.Files != nil {
			if err := replaceFiles(tx, st.VersionID, r.Files); err != nil {
				return err
			}
			fields["tree_hash"] = files.TreeHash(r.Files)
			fields["file_count"] = len(r.Files)
		}
		created = true
		return tx.Model(&AppVersion{}).Where("id = ?", st.VersionID).Updates(fields).Error
	})
	if err != nil {
		return GenerationStep{}, false, fmt.Errorf("record step %d.%d of message %s: %w", st.Round, st.Step, st.MessageID, err)
	}
	return st, created, nil
}

// replaceFiles makes fs the version's file set.
func replaceFiles(tx *gorm.DB, versionID string, fs []files.File) error {
	if err := putBlobs(tx, fs); err != nil {
		return err
	}
	if err := tx.Where("version_id = ?", versionID).Delete(&AppFile{}).Error; err != nil {
		return err
	}
	rows := make([]AppFile, 0, len(fs))
	for _, f := range fs {
		rows = append(rows, AppFile{VersionID: versionID, Path: f.Path, Hash: files.Hash(f.Content), Size: int64(len(f.Content))})
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, 200).Error
}

// AddUsage adds model use that happened outside a step (the plan) to a version.
func (s *Store) AddUsage(ctx context.Context, versionID string, calls, prompt, completion int, cost float64) error {
	return s.db.WithContext(ctx).Model(&AppVersion{}).Where("id = ?", versionID).Updates(map[string]any{
		"model_calls":       gorm.Expr("model_calls + ?", calls),
		"prompt_tokens":     gorm.Expr("prompt_tokens + ?", prompt),
		"completion_tokens": gorm.Expr("completion_tokens + ?", completion),
		"cost_usd":          gorm.Expr("cost_usd + ?", cost),
	}).Error
}

// GenerationSteps lists the steps that made a chat message's version, in order.
func (s *Store) GenerationSteps(ctx context.Context, appID, messageID string) ([]GenerationStep, error) {
	var out []GenerationStep
	err := s.db.WithContext(ctx).Where("app_id = ? AND message_id = ?", appID, messageID).Order("round, step").Find(&out).Error
	return out, err
}

// Transcript returns the conversation with the model for a chat message, in order.
func (s *Store) Transcript(ctx context.Context, appID, messageID string) ([]TranscriptMessage, error) {
	var out []TranscriptMessage
	err := s.db.WithContext(ctx).Where("app_id = ? AND message_id = ?", appID, messageID).Order("seq").Find(&out).Error
	return out, err
}
