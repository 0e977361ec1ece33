package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/appforge/appforge/files"
)

// NewVersion is what CreateVersion needs to make a version.
type NewVersion struct {
	ID             string
	AppID          string
	MessageID      string
	ParentNumber   int
	Request        string
	Summary        string
	Generator      string
	GeneratorState string
	Files          []files.File
}

// CreateVersion makes the next version of an app with its files, numbered after the
// app's latest. It is idempotent by message: if the message already made a version, that
// version is returned unchanged and created is false.
func (s *Store) CreateVersion(ctx context.Context, nv NewVersion) (v AppVersion, created bool, err error) {
	for _, f := range nv.Files {
		if _, err := files.CleanPath(f.Path); err != nil {
			return AppVersion{}, false, fmt.Errorf("create version: %w", err)
		}
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		existing, err := versionByMessage(tx, nv.AppID, nv.MessageID)
		if err == nil {
			v = existing
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		// Lock the app row: version numbers are given out one at a time.
		var app App
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&app, "id = ?", nv.AppID).Error; err != nil {
			return notFound(err, "app "+nv.AppID)
		}
		v = AppVersion{
			ID:             nv.ID,
			AppID:          nv.AppID,
			Number:         app.LatestVersion + 1,
			ParentNumber:   nv.ParentNumber,
			MessageID:      nv.MessageID,
			Request:        nv.Request,
			Summary:        nv.Summary,
			Status:         VersionGenerating,
			Generator:      nv.Generator,
			GeneratorState: nv.GeneratorState,
			TreeHash:       files.TreeHash(nv.Files),
			FileCount:      len(nv.Files),
		}
		if err := tx.Create(&v).Error; err != nil {
			return err
		}
		if err := putBlobs(tx, nv.Files); err != nil {
			return err
		}
		rows := make([]AppFile, 0, len(nv.Files))
		for _, f := range nv.Files {
			rows = append(rows, AppFile{VersionID: v.ID, Path: f.Path, Hash: files.Hash(f.Content), Size: int64(len(f.Content))})
		}
		if len(rows) > 0 {
			if err := tx.CreateInBatches(rows, 200).Error; err != nil {
				return err
			}
		}
		created = true
		return tx.Model(&App{}).Where("id = ?", nv.AppID).Update("latest_version", v.Number).Error
	})
	if err != nil {
		return AppVersion{}, false, fmt.Errorf("create version of app %s: %w", nv.AppID, err)
	}
	return v, created, nil
}

func versionByMessage(tx *gorm.DB, appID, messageID string) (AppVersion, error) {
	var v AppVersion
	err := tx.Where("app_id = ? AND message_id = ?", appID, messageID).First(&v).Error
	return v, notFound(err, "version for message "+messageID)
}

// VersionByMessage returns the version a chat message made.
func (s *Store) VersionByMessage(ctx context.Context, appID, messageID string) (AppVersion, error) {
	return versionByMessage(s.db.WithContext(ctx), appID, messageID)
}

// putBlobs stores each distinct content once.
func putBlobs(tx *gorm.DB, fs []files.File) error {
	seen := map[string]bool{}
	blobs := make([]Blob, 0, len(fs))
	for _, f := range fs {
		h := files.Hash(f.Content)
		if seen[h] {
			continue
		}
		seen[h] = true
		content := f.Content
		if content == nil {
			content = []byte{}
		}
		blobs = append(blobs, Blob{Hash: h, Size: int64(len(content)), Content: content})
	}
	if len(blobs) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(blobs, 50).Error
}

// Version returns an app's version by number.
func (s *Store) Version(ctx context.Context, appID string, number int) (AppVersion, error) {
	var v AppVersion
	err := s.db.WithContext(ctx).Where("app_id = ? AND number = ?", appID, number).First(&v).Error
	return v, notFound(err, fmt.Sprintf("version %d of app %s", number, appID))
}

// VersionByID returns a version by its ID.
func (s *Store) VersionByID(ctx context.Context, id string) (AppVersion, error) {
	var v AppVersion
	err := s.db.WithContext(ctx).First(&v, "id = ?", id).Error
	return v, notFound(err, "version "+id)
}

// Versions lists an app's versions, oldest first.
func (s *Store) Versions(ctx context.Context, appID string) ([]AppVersion, error) {
	var vs []AppVersion
	err := s.db.WithContext(ctx).Where("app_id = ?", appID).Order("number").Find(&vs).Error
	return vs, err
}

// UpdateVersion sets the given columns of one version.
func (s *Store) UpdateVersion(ctx context.Context, id string, fields map[string]any) error {
	res := s.db.WithContext(ctx).Model(&AppVersion{}).Where("id = ?", id).Updates(fields)
	if res.Error != nil {
		return fmt.Errorf("update version %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update version %s: %w", id, ErrNotFound)
	}
	return nil
}

// FileList lists a version's files without their contents, sorted by path.
func (s *Store) FileList(ctx context.Context, versionID string) ([]AppFile, error) {
	var fs []AppFile
	err := s.db.WithContext(ctx).Where("version_id = ?", versionID).Order("path").Find(&fs).Error
	return fs, err
}

// Files returns a version's files with their contents, sorted by path.
func (s *Store) Files(ctx context.Context, versionID string) ([]files.File, error) {
	list, err := s.FileList(ctx, versionID)
	if err != nil {
		return nil, err
	}
	return s.withContent(ctx, len(list), func(i int) (string, string) { return list[i].Path, list[i].Hash })
}

// File returns one file of a version.
func (s *Store) File(ctx context.Context, versionID, path string) (files.File, error) {
	var f AppFile
	if err := s.db.WithContext(ctx).Where("version_id = ? AND path = ?", versionID, path).First(&f).Error; err != nil {
		return files.File{}, notFound(err, "file "+path)
	}
	out, err := s.withContent(ctx, 1, func(int) (string, string) { return f.Path, f.Hash })
	if err != nil {
		return files.File{}, err
	}
	return out[0], nil
}

// withContent loads the blobs behind n (path, hash) pairs.
func (s *Store) withContent(ctx context.Context, n int, at func(int) (path, hash string)) ([]files.File, error) {
	hashes := make([]string, 0, n)
	for i := 0; i < n; i++ {
		_, h := at(i)
		hashes = append(hashes, h)
	}
	content := make(map[string][]byte, n)
	for start := 0; start < len(hashes); start += 300 {
		end := min(start+300, len(hashes))
		var blobs []Blob
		if err := s.db.WithContext(ctx).Where("hash IN ?", hashes[start:end]).Find(&blobs).Error; err != nil {
			return nil, err
		}
		for _, b := range blobs {
			content[b.Hash] = b.Content
		}
	}
	out := make([]files.File, 0, n)
	for i := 0; i < n; i++ {
		p, h := at(i)
		c, ok := content[h]
		if !ok {
			return nil, fmt.Errorf("content %s of %s is missing", h, p)
		}
		out = append(out, files.File{Path: p, Content: c})
	}
	return out, nil
}

// BuildOutputFile is one file of a bundle with its gzip size, for SaveBuild.
type BuildOutputFile struct {
	File     files.File
	GzipSize int64
}

// Bundle profiles: every version is built for preview (fast, source maps) and, off the
// critical path, for production (minified, split, budgeted).
const (
	ProfilePreview    = "preview"
	ProfileProduction = "production"
)

// bundleKey is where a profile's bundle of a version is stored: the preview bundle
// under the version's ID (as before profiles existed), others beside it.
func bundleKey(versionID, profile string) string {
	if profile == "" || profile == ProfilePreview {
		return versionID
	}
	return versionID + "/" + profile
}

// SaveBundle stores a version's bundle of a profile and its report, replacing any
// earlier one.
func (s *Store) SaveBundle(ctx context.Context, versionID, profile string, out []BuildOutputFile, report, log string) error {
	if profile == "" || profile == ProfilePreview {
		return s.SaveBuild(ctx, versionID, out, report, log)
	}
	return s.saveBundle(ctx, versionID, bundleKey(versionID, profile), out, map[string]any{"production_report": report})
}

// Bundle returns a version's bundle of a profile; empty if it was never built.
func (s *Store) Bundle(ctx context.Context, versionID, profile string) ([]files.File, error) {
	return s.BuildOutput(ctx, bundleKey(versionID, profile))
}

// BundleFiles lists a version's bundle of a profile without contents.
func (s *Store) BundleFiles(ctx context.Context, versionID, profile string) ([]BuildFile, error) {
	return s.BuildFiles(ctx, bundleKey(versionID, profile))
}

// SaveBuild stores a version's preview bundle and report, replacing any earlier build.
func (s *Store) SaveBuild(ctx context.Context, versionID string, out []BuildOutputFile, report, log string) error {
	return s.saveBundle(ctx, versionID, versionID, out, map[string]any{"build_report": report, "build_log": log})
}

func (s *Store) saveBundle(ctx context.Context, versionID, key string, out []BuildOutputFile, fields map[string]any) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fs := make([]files.File, 0, len(out))
		rows := make([]BuildFile, 0, len(out))
		for _, o := range out {
			fs = append(fs, o.File)
			rows = append(rows, BuildFile{VersionID: key, Path: o.File.Path, Hash: files.Hash(o.File.Content), Size: int64(len(o.File.Content)), GzipSize: o.GzipSize})
		}
		if err := putBlobs(tx, fs); err != nil {
			return err
		}
		if err := tx.Where("version_id = ?", key).Delete(&BuildFile{}).Error; err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := tx.CreateInBatches(rows, 200).Error; err != nil {
				return err
			}
		}
		return tx.Model(&AppVersion{}).Where("id = ?", versionID).Updates(fields).Error
	})
	if err != nil {
		return fmt.Errorf("save build of version %s: %w", versionID, err)
	}
	return nil
}

// BuildFiles lists a version's bundle without contents.
func (s *Store) BuildFiles(ctx context.Context, versionID string) ([]BuildFile, error) {
	var rows []BuildFile
	err := s.db.WithContext(ctx).Where("version_id = ?", versionID).Order("path").Find(&rows).Error
	return rows, err
}

// BuildOutput returns a version's bundle with contents; empty if it was never built.
func (s *Store) BuildOutput(ctx context.Context, versionID string) ([]files.File, error) {
	rows, err := s.BuildFiles(ctx, versionID)
	if err != nil {
		return nil, err
	}
	return s.withContent(ctx, len(rows), func(i int) (string, string) { return rows[i].Path, rows[i].Hash })
}
