package failback

import (
	"context"
	"errors"
	"fmt"
	"iter"
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

// drUsersAt reads the DR export's users by position, streaming: user i is the i-th the export's
// index lists (the order of its parts), asked for in order a chunk (checkpoint.Chunk) at a time,
// and only the last chunk's users are held — never a part, never the export. keep reduces each
// user to what the caller needs. It returns how many users the export holds; close stops the read.
func (s *Steps) drUsersAt(ctx context.Context, p Plan, step string, index s3stream.Object, keep func(snapshot.User) snapshot.User) (*partPager, int, error) {
	parts, err := s.drParts(ctx, p, step, index)
	if err != nil {
		return nil, 0, err
	}
	pg := &partPager{open: func(from []snapshot.Part) iter.Seq2[snapshot.User, error] {
		return snapshot.Seq(ctx, s.S3(p.Region), p.Bucket, from)
	}, keep: keep, parts: parts, window: checkpoint.Chunk}
	n := 0
	for _, part := range parts {
		pg.starts = append(pg.starts, n)
		n += part.Rows
	}
	return pg, n, nil
}

// partPager streams the parts of drUsersAt in order, holding the users of the last window
// positions it read (across a part's end); safe for the concurrent workers of a chunk.
type partPager struct {
	// open reads the users of parts in order (snapshot.Seq).
	open   func(parts []snapshot.Part) iter.Seq2[snapshot.User, error]
	keep   func(snapshot.User) snapshot.User
	parts  []snapshot.Part
	starts []int // the position of each part's first user

	// window is how far back from the furthest position asked for a position may still be asked
	// for: the chunk the workers share (checkpoint.Chunk). Asking further back reads the part
	// again from its start.
	window int

	mu   sync.Mutex
	next func() (snapshot.User, error, bool)
	stop func()
	pos  int             // the position of the next user next gives
	held []snapshot.User // the users at positions pos-len(held) .. pos-1
}

// user is user i of the export.
func (pg *partPager) user(i int) (snapshot.User, error) {
	// The last part that starts at or before i (empty parts start where the next does).
	j, _ := slices.BinarySearch(pg.starts, i+1)
	j--
	pg.mu.Lock()
	defer pg.mu.Unlock()
	// Read afresh when nothing is read yet, when i is before what is held (asked out of order),
	// or when i's part starts more than a window past what is read (a resumed cursor) — from the
	// part of the first position of i's window, which the other workers of i's chunk may ask
	// for; else read on, across parts' ends, to i.
	if pg.next == nil || i < pg.pos-len(pg.held) || pg.starts[j] > pg.pos+pg.window {
		first, _ := slices.BinarySearch(pg.starts, max(0, i-pg.window+1)+1)
		first--
		pg.closeLocked()
		pg.next, pg.stop = iter.Pull2(pg.open(pg.parts[first:]))
		pg.pos = pg.starts[first]
	}
	for pg.pos <= i {
		u, err, ok := pg.next()
		if err != nil {
			return snapshot.User{}, err
		}
		if !ok {
			return snapshot.User{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("DR export: its parts end at user %d, its index lists %d", pg.pos, pg.starts[len(pg.starts)-1]+pg.parts[len(pg.parts)-1].Rows)}
		}
		if len(pg.held) == 2*pg.window {
			// Keep the last window: a position before them is not asked for again.
			pg.held = append(pg.held[:0], pg.held[pg.window:]...)
		}
		pg.held = append(pg.held, pg.keep(u))
		pg.pos++
	}
	return pg.held[len(pg.held)-(pg.pos-i)], nil
}

// close stops the part being read.
func (pg *partPager) close() {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.closeLocked()
}

func (pg *partPager) closeLocked() {
	if pg.stop != nil {
		pg.stop()
	}
	pg.next, pg.stop, pg.held = nil, nil, pg.held[:0]
}

func priorValues(prim map[string]string, a Action) map[string]string {
	was := map[string]string{}
	for _, name := range append(slices.Collect(maps.Keys(a.Set)), a.Unset...) {
		if v, ok := prim[name]; ok {
			was[name] = v
		}
	}
	return was
}
