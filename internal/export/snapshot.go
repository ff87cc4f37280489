package export

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Snapshot file names under a snapshot's prefix.
const (
	UsersFile       = snapshot.UsersFile
	GroupsFile      = "groups.jsonl.gz"
	MembershipsFile = snapshot.MembershipsFile
)

// Written counts what WriteSnapshot wrote.
type Written struct {
	Users       int
	Disabled    int
	ByStatus    map[string]int
	WithMFA     int
	Groups      int
	Memberships int
	// Files are the users, groups and memberships files, in that order.
	Files []s3stream.Object
}

// WriteSnapshot streams every user, group and membership of pool to bucket under prefix (which
// ends in "/"), users and groups side by side under the shared pacers.
func (e *Exporter) WriteSnapshot(ctx context.Context, store transfermanager.S3APIClient, bucket, prefix, pool string) (Written, error) {
	out := Written{ByStatus: map[string]int{}}
	var users, groups, memberships s3stream.Object
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		users, err = writeLines(gctx, store, bucket, prefix+UsersFile, func(w *snapshot.LineWriter) error {
			n, err := e.Users(gctx, pool, func(u snapshot.User) error {
				out.ByStatus[u.Status]++
				if !u.Enabled {
					out.Disabled++
				}
				if u.MFA != nil && len(u.MFA.Enabled) > 0 {
					out.WithMFA++
				}
				return w.Write(u)
			})
			out.Users = n
			return err
		})
		return err
	})
	g.Go(func() error {
		gf, err := e.writeGroups(gctx, store, bucket, prefix, pool)
		groups, memberships, out.Groups, out.Memberships = gf.Groups, gf.Memberships, gf.GroupCount, gf.Members
		return err
	})
	if err := g.Wait(); err != nil {
		return Written{}, err
	}
	out.Files = []s3stream.Object{users, groups, memberships}
	return out, nil
}

// writeGroups streams every group and membership of pool to their files under prefix.
func (e *Exporter) writeGroups(ctx context.Context, store transfermanager.S3APIClient, bucket, prefix, pool string) (GroupFiles, error) {
	var out GroupFiles
	gw := s3stream.Create(ctx, store, bucket, prefix+GroupsFile)
	mw := s3stream.Create(ctx, store, bucket, prefix+MembershipsFile)
	gl, ml := snapshot.NewLineWriter(gw), snapshot.NewLineWriter(mw)
	var err error
	out.GroupCount, out.Members, err = e.Groups(ctx, pool,
		func(g snapshot.Group) error { return gl.Write(g) },
		func(m snapshot.Membership) error { return ml.Write(m) })
	if err == nil {
		err = errors.Join(gl.Close(), ml.Close())
	}
	if err != nil {
		gw.Abort(err)
		mw.Abort(err)
		return GroupFiles{}, err
	}
	if out.Groups, err = gw.Close(); err != nil {
		mw.Abort(err)
		return GroupFiles{}, err
	}
	if out.Memberships, err = mw.Close(); err != nil {
		return GroupFiles{}, err
	}
	return out, nil
}

// writeLines streams gzip JSON lines written by fill to one object.
func writeLines(ctx context.Context, store transfermanager.S3APIClient, bucket, key string, fill func(*snapshot.LineWriter) error) (s3stream.Object, error) {
	w := s3stream.Create(ctx, store, bucket, key)
	lw := snapshot.NewLineWriter(w)
	err := fill(lw)
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		w.Abort(err)
		return s3stream.Object{}, err
	}
	return w.Close()
}
