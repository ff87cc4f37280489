// Package manifest is the layout of a backup: where snapshots go, and the manifest that records
// one snapshot and checksums every file of it. The backup workflow writes it; readiness and
// restore read it, without depending on the workflow.
package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// DefaultPrefix is where snapshots go when a backup names no prefix.
const DefaultPrefix = "cognito-dr/backups"

// File is the manifest's name under a snapshot's prefix.
const File = "manifest.json"

// PoolConfigFile is the pool's configuration under a snapshot's prefix (internal/poolconfig).
// Snapshots taken before it existed do not have it.
const PoolConfigFile = "pool.json"

// Kinds of the files a manifest lists.
const (
	KindUsers = "users"
	// KindUsersIndex lists the users parts in order (manifest version 2 and later).
	KindUsersIndex  = "users-index"
	KindGroups      = "groups"
	KindMemberships = "memberships"
	// KindMembershipsIndex lists the memberships parts in order (manifest version 3 and later).
	KindMembershipsIndex = "memberships-index"
	KindImportCSV        = "import-csv"
	KindRejects          = "rejects"
	KindPoolConfig       = "pool-config"
)

// PoolRef names a pool in a Region.
type PoolRef struct {
	UserPoolID string `json:"userPoolId"`
	Region     string `json:"region"`
}

// Location is where one snapshot lives.
type Location struct {
	Bucket string `json:"bucket"`
	Region string `json:"region"`
	// Prefix ends in "/"; every file of the snapshot is under it.
	Prefix string `json:"prefix"`
}

// CSV describes the import-ready CSVs built for a target pool and the rejects report.
type CSV struct {
	Target PoolRef `json:"target"`
	csvbuild.Built
	Seconds float64 `json:"seconds"`
}

// Manifest is the record of one snapshot: what was backed up, when, and a checksum of every file,
// so a restore can prove it reads exactly what was written.
type Manifest struct {
	Version     int            `json:"version"`
	Source      PoolRef        `json:"source"`
	PoolName    string         `json:"poolName"`
	SnapshotAt  time.Time      `json:"snapshotAt"`
	Snapshot    Location       `json:"snapshot"`
	Users       int            `json:"users"`
	Disabled    int            `json:"disabled"`
	ByStatus    map[string]int `json:"byStatus"`
	WithMFA     *int           `json:"withMfa,omitempty"`
	Groups      int            `json:"groups"`
	Memberships int            `json:"memberships"`
	Import      CSV            `json:"import"`
	// Files lists every file of the snapshot with its size and SHA-256, keys relative to the bucket.
	Files []FileEntry `json:"files"`
}

// Find returns the first file of kind, if the manifest lists one (a snapshot taken before
// pool.json existed lists no KindPoolConfig).
func (m *Manifest) Find(kind string) (FileEntry, bool) {
	for _, f := range m.Files {
		if f.Kind == kind {
			return f, true
		}
	}
	return FileEntry{}, false
}

// All returns every file of kind in the manifest's order: the users parts of a snapshot (one
// users file before manifest version 2, none for an empty pool since).
func (m *Manifest) All(kind string) []FileEntry {
	var out []FileEntry
	for _, f := range m.Files {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// FileEntry is one file of a snapshot.
type FileEntry struct {
	Kind string `json:"kind"`
	s3stream.Object
	Rows int `json:"rows,omitempty"`
}

// Read reads and parses the manifest at key; one without snapshotAt is refused.
func Read(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (*Manifest, error) {
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if m.SnapshotAt.IsZero() {
		return nil, fmt.Errorf("no snapshotAt")
	}
	return &m, nil
}
