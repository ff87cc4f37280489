package restore

import (
	"context"
	"fmt"
	"io"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// readVerified streams the gzip JSON lines of a snapshot file to fn, and fails with
// SnapshotInvalid when the bytes read are not the ones ResolveSnapshot verified: a file replaced
// since then is refused (after fn saw its lines, so callers write only their own files before).
func readVerified[T any](ctx context.Context, store s3stream.GetObjectAPI, bucket string, want s3stream.Object, fn func(T) error) error {
	r, err := s3stream.Open(ctx, store, bucket, want.Key)
	if err != nil {
		return &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("snapshot file s3://%s/%s: %v", bucket, want.Key, err)}
	}
	defer r.Close()
	h := s3stream.NewHasher()
	if err := snapshot.ReadLines(io.TeeReader(r, h), fn); err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, want.Key, err)
	}
	// ReadLines stops at the end of the gzip stream: hash whatever follows too.
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, want.Key, err)
	}
	if got := h.Object(want.Key); got != want {
		return &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("snapshot file s3://%s/%s changed after it was verified (now %d bytes, sha256 %s; verified %d bytes, sha256 %s)",
			bucket, want.Key, got.Bytes, got.SHA256, want.Bytes, want.SHA256)}
	}
	return nil
}

// readUsers reads the snapshot's users, part after part, each verified as readVerified does.
func readUsers(ctx context.Context, store s3stream.GetObjectAPI, bucket string, parts []s3stream.Object, fn func(snapshot.User) error) error {
	return readParts(ctx, store, bucket, parts, fn)
}

// readParts reads the records of a snapshot's parts in order, each verified as readVerified does.
func readParts[T any](ctx context.Context, store s3stream.GetObjectAPI, bucket string, parts []s3stream.Object, fn func(T) error) error {
	for _, part := range parts {
		if err := readVerified(ctx, store, bucket, part, fn); err != nil {
			return err
		}
	}
	return nil
}
