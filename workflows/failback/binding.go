package failback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

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
		// The DR export's users index lists each part's digest: readDRUsers checks them.
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

// readDRUsers streams the DR export's users to fn once its index is what the approval binds and
// every part is what the index lists (size and SHA-256, from the writer that wrote it).
func (s *Steps) readDRUsers(ctx context.Context, p Plan, step string, index s3stream.Object, fn func(snapshot.User) error) error {
	if err := s.verifyBound(ctx, p, step, index); err != nil {
		return err
	}
	store := s.S3(p.Region)
	parts, err := snapshot.UsersParts(ctx, store, p.Bucket, p.Prefix+DRDir)
	if err != nil {
		return &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("DR export: %v", err)}
	}
	objs := make([]s3stream.Object, len(parts))
	for i, part := range parts {
		objs[i] = part.Object
	}
	if err := s.verifyBound(ctx, p, step, objs...); err != nil {
		return err
	}
	return snapshot.ReadParts(ctx, store, p.Bucket, parts, fn)
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
