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

// DomainServing returns the domain that serves name: the one attached as name, else
// the one whose apex/www pair holds it (myapp.com attached also serves www.myapp.com).
func (s *Store) DomainServing(ctx context.Context, name string) (Domain, error) {
	var ds []Domain
	col := func(c string) clause.Eq { return clause.Eq{Column: clause.Column{Name: c}, Value: name} }
	err := s.db.WithContext(ctx).Where(clause.Or(col("hostname"), col("primary"), col("secondary"))).Order("hostname").Find(&ds).Error
	if err != nil {
		return Domain{}, err
	}
	for _, d := range ds {
		if d.Hostname == name {
			return d, nil
		}
	}
	if len(ds) == 0 {
		return Domain{}, fmt.Errorf("domain %s: %w", name, ErrNotFound)
	}
	return ds[0], nil
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
