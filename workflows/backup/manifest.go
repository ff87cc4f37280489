package backup

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// ManifestVersion is the format version of manifest.json. Version 3: memberships are in parts
// (kind "memberships", in order) listed by a "memberships-index" file; version 2 had one
// memberships file. Version 2: users are in parts (kind "users", in order) listed by a
// "users-index" file; version 1 had one users file.
const ManifestVersion = 3

// WriteManifest records the snapshot: what was backed up, when, counts, and every file with its
// size and SHA-256.
func (s *Steps) WriteManifest(ctx context.Context, in ManifestInput) (ManifestOutput, error) {
	e := in.Export
	if e.Snapshot.Bucket == "" || e.Snapshot.Prefix == "" {
		return ManifestOutput{}, fmt.Errorf("write manifest: export.snapshot is incomplete: %+v", e.Snapshot)
	}
	m := Manifest{
		Version:     ManifestVersion,
		Source:      e.Source,
		PoolName:    e.PoolName,
		SnapshotAt:  e.SnapshotAt,
		Snapshot:    e.Snapshot,
		Users:       e.Users,
		Disabled:    e.Disabled,
		ByStatus:    e.ByStatus,
		WithMFA:     e.WithMFA,
		Groups:      e.Groups,
		Memberships: e.Memberships,
		Import:      in.CSV,
	}
	// The users and memberships parts, from the indexes the export wrote last; then the users
	// index, groups and the memberships index.
	var counts []int
	for _, l := range []struct {
		layout snapshot.Layout
		kind   string
	}{{snapshot.UsersLayout, manifest.KindUsers}, {snapshot.MembershipsLayout, manifest.KindMemberships}} {
		parts, err := l.layout.Parts(ctx, s.S3(e.Snapshot.Region), e.Snapshot.Bucket, e.Snapshot.Prefix)
		if err != nil {
			return ManifestOutput{}, fmt.Errorf("write manifest: %w", err)
		}
		for _, p := range parts {
			m.Files = append(m.Files, ManifestFileEntry{Kind: l.kind, Object: p.Object, Rows: p.Rows})
		}
		counts = append(counts, len(parts))
	}
	kinds := []string{manifest.KindUsersIndex, manifest.KindGroups, manifest.KindMembershipsIndex}
	rows := []int{counts[0], e.Groups, counts[1]}
	for i, f := range e.Files {
		m.Files = append(m.Files, ManifestFileEntry{Kind: kinds[min(i, len(kinds)-1)], Object: f, Rows: rows[min(i, len(rows)-1)]})
	}
	for _, p := range in.CSV.Parts {
		m.Files = append(m.Files, ManifestFileEntry{Kind: manifest.KindImportCSV, Object: p.Object, Rows: p.Rows})
	}
	m.Files = append(m.Files, ManifestFileEntry{Kind: manifest.KindRejects, Object: in.CSV.Rejects, Rows: in.CSV.Rejected})
	if pc := in.PoolConfig; pc != nil {
		m.Files = append(m.Files, ManifestFileEntry{Kind: manifest.KindPoolConfig, Object: pc.Object})
	}

	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return ManifestOutput{}, err
	}
	obj, err := s3stream.Put(ctx, s.S3(e.Snapshot.Region), e.Snapshot.Bucket, e.Snapshot.Prefix+ManifestFile, body)
	if err != nil {
		return ManifestOutput{}, fmt.Errorf("write manifest: %w", err)
	}
	return ManifestOutput{Manifest: obj}, nil
}
