package restore

import (
	"context"

	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/internal/worklist"
)

// Sizes of an apply phase's work list (internal/worklist); Steps fields override them.
const (
	// DefaultPageSize is how many items one page of a work list holds: what one Apply
	// invocation holds of it at a time.
	DefaultPageSize = worklist.DefaultPageSize
	// DefaultBucketUsers is how many of the snapshot's users one join bucket holds at most (by the
	// snapshot's count): a bucket's look-up side (sign-in names, or the names an API create may
	// make) is what a join unit holds.
	DefaultBucketUsers = 100_000
	// DefaultOpenFiles is how many bucket files one unit writes at once (each a gzip stream
	// spooled to /tmp, uploaded when the unit ends).
	DefaultOpenFiles = worklist.DefaultOpenFiles
)

// WorkList is how far the phase's work list is built. Apply builds it, a bounded unit at a time,
// before its first change; the list then stays as written, so a cursor means the same item in
// every invocation.
type WorkList = worklist.Progress

// item is one change: a user to create or disable, a group to create, or a membership to add.
// Items are written to the work list's pages as JSON lines.
type item struct {
	User     *snapshot.User  `json:"user,omitempty"`
	Username string          `json:"username,omitempty"`
	Name     string          `json:"name,omitempty"`
	Group    *snapshot.Group `json:"group,omitempty"`
	Member   string          `json:"member,omitempty"`
}

// phaseList is one phase's work list: its files under Plan.Prefix + WorkDir + phase.
type phaseList struct {
	s     *Steps
	p     Plan
	csv   CSVOutput
	phase string
	l     worklist.List
	store S3
}

func (s *Steps) phaseList(p Plan, csv CSVOutput, phase string, wl WorkList) phaseList {
	store := s.S3(p.Region)
	return phaseList{s: s, p: p, csv: csv, phase: phase, store: store, l: worklist.List{
		Store: store, Bucket: p.Bucket, Dir: p.Prefix + WorkDir + phase + "/", Name: "the " + phase,
		Buckets: wl.Buckets, PageSize: wl.PageSize,
	}}
}

func (s *Steps) openFiles() int {
	if s.OpenFiles > 0 {
		return s.OpenFiles
	}
	return DefaultOpenFiles
}

func (s *Steps) pageSize() int {
	if s.PageSize > 0 {
		return s.PageSize
	}
	return DefaultPageSize
}

// buckets is how many join buckets a plan's snapshot needs: at most BucketUsers users each.
func (s *Steps) buckets(p Plan) int {
	per := s.BucketUsers
	if per <= 0 {
		per = DefaultBucketUsers
	}
	return max(1, (p.Counts.Users+per-1)/per)
}

// units are the units that build the phase's list, the last one writing its index.
func (w phaseList) units() ([]worklist.Unit, error) {
	var us []worklist.Unit
	segments := 1
	switch w.phase {
	case PhaseGroups:
		us = append(us, worklist.Segment(w.l, 0, func(ctx context.Context, add func(item) error) error {
			return readVerified(ctx, w.store, w.p.Bucket, w.p.Snapshot.Groups, func(g snapshot.Group) error {
				return add(item{Group: &g})
			})
		}))
	case PhaseDisable:
		us = append(us, worklist.Segment(w.l, 0, func(ctx context.Context, add func(item) error) error {
			return readVerified(ctx, w.store, w.p.Bucket, w.csv.Users, func(u snapshot.User) error {
				if u.Enabled {
					return nil
				}
				return add(item{Username: u.Username, Name: w.p.Match.Name(u)})
			})
		}))
	case PhaseCreate:
		// The users the import refused only for an unverified contact, joined to their records
		// by the name the CSV gave them.
		if w.csv.Rejected == 0 {
			segments = 0
			break
		}
		segments = w.l.Buckets
		us = worklist.Join[string, snapshot.User, item]{
			ReadLeft: func(ctx context.Context, fn func(string) error) error {
				return importjob.EachCreatable(ctx, w.store, w.p.Bucket, w.csv.Built, fn)
			},
			LeftKey: func(name string) string { return name },
			ReadRight: func(ctx context.Context, fn func(snapshot.User) error) error {
				return readVerified(ctx, w.store, w.p.Bucket, w.csv.Users, fn)
			},
			RightKey: w.p.Match.Name,
			Item: func(creatable map[string]string, u snapshot.User) (item, bool) {
				name := w.p.Match.Name(u)
				_, ok := creatable[name]
				return item{User: &u, Username: u.Username, Name: name}, ok
			},
			OpenFiles: w.s.openFiles(),
		}.Units(w.l)
	case PhaseMemberships:
		// Memberships name users by their snapshot username; the target knows them by name.
		segments = w.l.Buckets
		us = worklist.Join[signIn, snapshot.Membership, item]{
			ReadLeft: func(ctx context.Context, fn func(signIn) error) error {
				return readUsers(ctx, w.store, w.p.Bucket, w.p.Snapshot.Users, func(u snapshot.User) error {
					if u.Status == StatusExternalProvider {
						return nil
					}
					return fn(signIn{Username: u.Username, Name: w.p.Match.Name(u)})
				})
			},
			LeftKey: func(n signIn) string { return n.Username },
			ReadRight: func(ctx context.Context, fn func(snapshot.Membership) error) error {
				return readParts(ctx, w.store, w.p.Bucket, w.p.Snapshot.Memberships, fn)
			},
			RightKey: func(m snapshot.Membership) string { return m.Username },
			Item: func(names map[string]signIn, m snapshot.Membership) (item, bool) {
				return item{Username: m.Username, Name: names[m.Username].Name, Member: m.Group}, true
			},
			OpenFiles: w.s.openFiles(),
		}.Units(w.l)
	default:
		return nil, stateerr.Invalid("phase %q is not %s, %s, %s or %s", w.phase, PhaseCreate, PhaseGroups, PhaseMemberships, PhaseDisable)
	}
	return append(us, w.l.WriteIndex(segments)), nil
}

// signIn is a user's snapshot username and the name the target knows it by.
type signIn struct {
	Username string `json:"u"`
	Name     string `json:"n"`
}
