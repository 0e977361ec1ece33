package models

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"
)

// SaveDomain inserts or fully updates a domain, keyed by hostname.
func (s *Store) SaveDomain(ctx context.Context, d Domain) error {
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&d).Error; err != nil {
		return fmt.Errorf("save domain %s: %w", d.Hostname, err)
	}
	return nil
}

// Domain returns one domain by hostname.
func (s *Store) Domain(ctx context.Context, hostname string) (Domain, error) {
	var d Domain
	err := s.db.WithContext(ctx).First(&d, "hostname = ?", hostname).Error
	return d, notFound(err, "domain "+hostname)
}

// Domains lists an app's domains.
func (s *Store) Domains(ctx context.Context, appID string) ([]Domain, error) {
	var ds []Domain
	err := s.db.WithContext(ctx).Where("app_id = ?", appID).Order("created_at").Find(&ds).Error
	return ds, err
}

// DeleteDomain removes a detached domain.
func (s *Store) DeleteDomain(ctx context.Context, hostname string) error {
	return s.db.WithContext(ctx).Where("hostname = ?", hostname).Delete(&Domain{}).Error
}
