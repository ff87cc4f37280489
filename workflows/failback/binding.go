package failback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// The approval binds the plan: what the approver approves is the exact bytes of every file a step
// reads after the approval — the import CSV parts and the rejects report (their digests come from
// the writer that built them), and the plan files below (hashed when the import is validated,
// right before the approval is requested). The digests travel in the execution's state, which
// nobody with only write access to the bucket can change; the approval request records a copy
// for the page. Every step that reads one of these files checks it first and, on a mismatch,
// fails with PlanTampered before it changes anything.

// bindPlan records the plan files the steps after the approval read.
func (s *Steps) bindPlan(ctx context.Context, p Plan) (PlanFiles, error) {
	store := s.S3(p.Region)
	var out PlanFiles
	for _, f := range []struct {
		dst *s3stream.Object
		key string
	}{
		{&out.Actions, ActionsFile},
		{&out.ImportUsers, ImportUsersFile},
		// The DR export's users index lists each part's digest: drParts checks them (or the
		// report's units, each the part it reads).
		{&out.DRUsers, DRDir + snapshot.UsersIndexFile},
		{&out.Held, HeldFile},
	} {
		o, err := s3stream.Digest(ctx, store, p.Bucket, p.Prefix+f.key)
		if err != nil {
			return PlanFiles{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("plan file: %v", err)}
		}
		*f.dst = o
	}
	return out, nil
}

// files lists every file the approval binds.
func (c CSVOutput) files() []s3stream.Object {
	out := []s3stream.Object{c.PlanFiles.Actions, c.PlanFiles.ImportUsers, c.PlanFiles.DRUsers, c.PlanFiles.Held, c.Rejects}
	for _, part := range c.Parts {
		out = append(out, part.Object)
	}
	return out
}

// verifyBound checks that each file is still what the approval binds. A step calls it before it
// changes anything; on a mismatch it fails with PlanTampered, having changed nothing.
func (s *Steps) verifyBound(ctx context.Context, p Plan, step string, files ...s3stream.Object) error {
	store := s.S3(p.Region)
	for _, want := range files {
		if want.Key == "" || want.SHA256 == "" {
			return stateerr.Invalid("%s: the state carries no digest for a plan file: the failback was planned by an older version; start it again", step)
		}
		got, err := s3stream.Digest(ctx, store, p.Bucket, want.Key)
		var gone *s3types.NoSuchKey
		switch {
		case errors.As(err, &gone):
			return &stateerr.PlanTampered{Msg: fmt.Sprintf("s3://%s/%s was deleted after the failback was approved; %s changed nothing", p.Bucket, want.Key, step)}
		case err != nil:
			return fmt.Errorf("%s: verify the approved plan: %w", step, err)
		case got != want:
			return &stateerr.PlanTampered{Msg: fmt.Sprintf("s3://%s/%s changed after the failback was approved (now %d bytes, sha256 %s; approved %d bytes, sha256 %s); %s changed nothing",
				p.Bucket, want.Key, got.Bytes, got.SHA256, want.Bytes, want.SHA256, step)}
		}
	}
	return nil
}

// drParts are the DR export's parts, once its index is what the approval binds and every part is
// what the index lists.
func (s *Steps) drParts(ctx context.Context, p Plan, step string, index s3stream.Object) ([]snapshot.Part, error) {
	parts, err := s.drIndex(ctx, p, step, index)
	if err != nil {
		return nil, err
	}
	objs := make([]s3stream.Object, len(parts))
	for i, part := range parts {
		objs[i] = part.Object
	}
	if err := s.verifyBound(ctx, p, step, objs...); err != nil {
		return nil, err
	}
	return parts, nil
}

// drIndex are the DR export's parts, once its index is what the approval binds: the caller
// verifies each part (verifyBound) before it reads it.
func (s *Steps) drIndex(ctx context.Context, p Plan, step string, index s3stream.Object) ([]snapshot.Part, error) {
	if err := s.verifyBound(ctx, p, step, index); err != nil {
		return nil, err
	}
	parts, err := snapshot.UsersParts(ctx, s.S3(p.Region), p.Bucket, p.Prefix+DRDir)
	if err != nil {
		return nil, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("DR export: %v", err)}
	}
	return parts, nil
}

// drUsersAt reads the DR export's users by position, a part at a time: user i is the i-th the
// export's index lists (the order of its parts), asked for in order a chunk
// (checkpoint.Chunk) at a time, and only the parts the chunk is in are held — one or two, never
// the export. keep reduces each
// user to what the caller needs. It returns how many users the export holds.
func (s *Steps) drUsersAt(ctx context.Context, p Plan, step string, index s3stream.Object, keep func(snapshot.User) snapshot.User) (*partPager, int, error) {
	parts, err := s.drParts(ctx, p, step, index)
	if err != nil {
		return nil, 0, err
	}
	pg := &partPager{read: func(part snapshot.Part) ([]snapshot.User, error) {
		var users []snapshot.User
		err := snapshot.ReadParts(ctx, s.S3(p.Region), p.Bucket, []snapshot.Part{part}, func(u snapshot.User) error {
			users = append(users, keep(u))
			return nil
		})
		if err == nil && len(users) != part.Rows {
			err = &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("DR export: s3://%s/%s holds %d users, its index says %d", p.Bucket, part.Key, len(users), part.Rows)}
		}
		return users, err
	}, parts: parts, window: checkpoint.Chunk, loaded: map[int][]snapshot.User{}}
	n := 0
	for _, part := range parts {
		pg.starts = append(pg.starts, n)
		n += part.Rows
	}
	return pg, n, nil
}

// partPager holds the parts drUsersAt last read; safe for the concurrent workers of a chunk.
type partPager struct {
	read   func(snapshot.Part) ([]snapshot.User, error)
	parts  []snapshot.Part
	starts []int // the position of each part's first user

	// window is how far back from the position asked for a position may still be asked for: the
	// chunk the workers share (checkpoint.Chunk). A part that ends before it is dropped.
	window int

	mu     sync.Mutex
	loaded map[int][]snapshot.User // by part
}

// user is user i of the export.
func (pg *partPager) user(i int) (snapshot.User, error) {
	// The last part that starts at or before i (empty parts start where the next does).
	j, _ := slices.BinarySearch(pg.starts, i+1)
	j--
	pg.mu.Lock()
	defer pg.mu.Unlock()
	users, ok := pg.loaded[j]
	if !ok {
		var err error
		if users, err = pg.read(pg.parts[j]); err != nil {
			return snapshot.User{}, err
		}
		pg.loaded[j] = users
		// Positions are worked through in order, a chunk at a time: no position before i-window+1
		// is asked for again.
		for k := range pg.loaded {
			if pg.starts[k]+pg.parts[k].Rows <= i-pg.window+1 {
				delete(pg.loaded, k)
			}
		}
	}
	return users[i-pg.starts[j]], nil
}

// priorValues are the values in prim, the primary's attributes, of those a changes.
func priorValues(prim map[string]string, a Action) map[string]string {
	was := map[string]string{}
	for _, name := range append(slices.Collect(maps.Keys(a.Set)), a.Unset...) {
		if v, ok := prim[name]; ok {
			was[name] = v
		}
	}
	return was
}
