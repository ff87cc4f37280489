package manifest

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// Verify streams every file m lists from bucket and compares its size and SHA-256 with the
// manifest; it also requires the users (or, since version 2, the users index), groups and
// memberships (or, since version 3, the memberships index) files. It returns the bytes read
// and one problem per file that is missing, unreadable or different — nothing when the snapshot
// is whole. Readiness and restore both prove a snapshot with it before relying on it.
func Verify(ctx context.Context, store s3stream.GetObjectAPI, bucket string, m *Manifest) (int64, []string) {
	var problems []string
	// Since version 2 the users are in parts (none for an empty pool) listed by an index.
	users := KindUsers
	if m.Version >= 2 {
		users = KindUsersIndex
	}
	// Since version 3 the memberships are in parts (none for a pool without any) listed by an index.
	memberships := KindMemberships
	if m.Version >= 3 {
		memberships = KindMembershipsIndex
	}
	for _, kind := range []string{users, KindGroups, memberships} {
		if _, ok := m.Find(kind); !ok {
			problems = append(problems, fmt.Sprintf("the manifest lists no %s file", kind))
		}
	}
	var bytes int64
	for _, e := range m.Files {
		o, err := s3stream.Digest(ctx, store, bucket, e.Key)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s unreadable: %v", e.Key, err))
		case o.Bytes != e.Bytes || o.SHA256 != e.SHA256:
			problems = append(problems, fmt.Sprintf("%s does not match the manifest: %d bytes sha256 %s, manifest says %d bytes sha256 %s", e.Key, o.Bytes, short(o.SHA256), e.Bytes, short(e.SHA256)))
		}
		bytes += o.Bytes
	}
	return bytes, problems
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}
