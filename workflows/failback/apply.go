package failback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/cognitoerr"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/internal/worklist"
)

// ActionCreate is a user the import rules reject but the API can create (a user whose email
// is not verified gets an invitation at that address instead).
const ActionCreate = "create-by-api"

// ActionCreateAfterImport is a user whose import row the job skipped or failed, created by API
// after the plan's other changes. The import runs before them: a DR sign-up that took the email
// of a user who changed theirs in the DR pool finds the primary still giving it to that user, and
// its row is skipped (or fails: AWS documents neither); once the update has moved the email, the
// API can create it. A row skipped because the primary really has the user is told so again
// (Existed) and nothing changes.
const ActionCreateAfterImport = "create-after-import"

// ApplyResult is one applied (or failed) change, as written to the apply ledger.
type ApplyResult struct {
	Index      int    `json:"index"`
	Kind       string `json:"kind"`
	Key        string `json:"key"`
	DRUsername string `json:"drUsername,omitempty"`
	// DRKey is the DR user's own key when it differs from Key (Action.DRKey).
	DRKey string `json:"drKey,omitempty"`
	Group string `json:"group,omitempty"`
	OK    bool   `json:"ok"`
	// Existed is true for a create whose user the primary already had before this failback's
	// apply step began: nothing was created. A user this run created is never Existed, even when
	// the answer to its create was lost and the retry was told the user exists.
	Existed bool   `json:"existed,omitempty"`
	Message string `json:"message,omitempty"`
}

// applyOps are the calls ApplyChanges makes on the primary pool, each paced to its quota.
var applyOps = quota.MustOps("AdminCreateUser", "AdminGetUser", "AdminUpdateUserAttributes", "AdminDeleteUserAttributes",
	"AdminAddUserToGroup", "CreateGroup", "AdminDisableUser")

// ApplyStartedFile (under Plan.Prefix) records when the apply step first ran, written before its
// first call. A create answered "user exists" is this run's own when the user was created after
// that moment: its first answer was lost (a timeout, a reset, a 5xx after the write) and the
// SDK's retry, or a re-run of the chunk, found the user it had made.
const ApplyStartedFile = "ledger/apply-started.json"

// ApplyChanges makes the API changes of the plan on the primary pool — users created by API,
// attribute updates, group memberships, disables when asked — from Progress.Cursor until the
// list ends or BatchTime passes. Its first invocations build its work list (internal/worklist)
// from the approved files, a bounded unit at a time; then each invocation reads only the page at
// its cursor. Each chunk of results goes to the apply ledger before the cursor moves, so a retry
// or a re-run redoes at most one chunk, and every change is idempotent.
func (s *Steps) ApplyChanges(ctx context.Context, in ApplyInput) (Progress, error) {
	p := in.Plan
	prog := in.Progress
	// A unit of the list reads the import's users once: one starts only in the first half of the
	// batch time.
	more, moreUnits := worklist.Limits(s.now, s.batchTime(), s.Budget)
	if prog.List.Buckets == 0 {
		if prog.Cursor > 0 {
			return prog, stateerr.Invalid("ApplyChanges is at change %d but has no work list: an earlier version started it; start the failback again", prog.Cursor)
		}
		prog.List = worklist.Progress{Buckets: s.createBuckets(in.CSV), PageSize: cmp.Or(s.PageSize, worklist.DefaultPageSize)}
	}
	l := s.applyList(p, prog.List)
	if !prog.List.Built {
		// The list is what the approval binds: each invocation that builds it checks the files it
		// reads first. Once built, the list's pages are all the step reads of the plan.
		if err := s.verifyBound(ctx, p, "ApplyChanges", in.CSV.PlanFiles.Actions, in.CSV.PlanFiles.ImportUsers, in.CSV.Rejects); err != nil {
			return in.Progress, err
		}
		if built, err := worklist.Build(ctx, &prog.List, s.applyUnits(l, p, in.CSV, in.Imports), moreUnits); err != nil {
			return prog, fmt.Errorf("list the changes to apply (%w)", err)
		} else if !built {
			return prog, nil
		}
	}
	x, err := l.Index(ctx)
	if err != nil {
		return prog, err
	}
	prog.List.Items = x.Items()
	started, err := checkpoint.Started(ctx, l.Store, p.Bucket, p.Prefix+ApplyStartedFile, s.now())
	if err != nil {
		return prog, err
	}
	c := s.Cognito(p.Request.PrimaryRegion)
	pace := s.Quota.Pacer(p.Request.PrimaryRegion, applyOps)
	lg := newLedger[ApplyResult](ctx, s, p, ApplyLedgerDir, &prog)
	prog.Cursor, err = worklist.Run(ctx, l, x, prog.Cursor, more, func(ctx context.Context, i int, it applyItem) (ApplyResult, error) {
		r, err := s.apply(ctx, c, pace, started, p, it)
		r.Index = i
		o := failed
		switch {
		case r.Existed:
			o = skipped
		case r.OK:
			o = applied
		}
		return lg.record(i)(r, o, err)
	}, lg.save)
	prog.Done = prog.Cursor >= prog.List.Items
	if err != nil {
		return prog, fmt.Errorf("apply changes to %s: %w", p.Request.PrimaryUserPoolID, err)
	}
	return prog, nil
}

// applyItem is one change: an Action, or a user to create (User, an ActionCreate). Items are
// written to the work list's pages as JSON lines.
type applyItem struct {
	Action
	User *snapshot.User `json:"user,omitempty"`
}

// createBuckets is how many hash buckets the join that finds the users to create needs: the
// creatable users are some of the import's rejects, at most BucketUsers of them a bucket.
func (s *Steps) createBuckets(csv CSVOutput) int {
	return partition.Count(s.BucketUsers, int32(min(csv.Rejected, math.MaxInt32)))
}

// applyList is ApplyChanges' work list under Plan.Prefix + ApplyWorkDir.
func (s *Steps) applyList(p Plan, wl worklist.Progress) worklist.List {
	return worklist.List{Store: s.S3(p.Region), Bucket: p.Bucket, Dir: p.Prefix + ApplyWorkDir, Name: "the ApplyChanges",
		Buckets: wl.Buckets, PageSize: wl.PageSize}
}

// applyUnits build the list of changes in a fixed order: the creates, a segment for each hash
// bucket of the join of the creatable names with the import's users; the actions file as one
// segment; then the users whose import rows were skipped or failed, a segment for each hash
// bucket of their join with the import's users. Segments are pages apart, and pages run one
// after the other: every update is done before the first create after the import starts.
func (s *Steps) applyUnits(l worklist.List, p Plan, csv CSVOutput, imports []ImportResults) []worklist.Unit {
	var us []worklist.Unit
	creates := 0
	// Only users whose sole problem is an unverified address can be created by API.
	if csv.Rejected > 0 {
		creates = l.Buckets
		us = s.createsOf(l, p, ActionCreate, func(ctx context.Context, fn func(string) error) error {
			return importjob.EachCreatable(ctx, l.Store, p.Bucket, csv.Built, fn)
		}).Units(l)
	}
	us = append(us, worklist.Segment(l, creates, func(ctx context.Context, add func(applyItem) error) error {
		return snapshot.GetLines(ctx, l.Store, p.Bucket, p.Prefix+ActionsFile, func(a Action) error {
			return add(applyItem{Action: a})
		})
	}))
	segments := creates + 1
	notCarried := 0
	for _, res := range imports {
		notCarried += res.Skipped + res.Failed
	}
	if notCarried > 0 {
		j := s.createsOf(l, p, ActionCreateAfterImport, func(ctx context.Context, fn func(string) error) error {
			for _, res := range imports {
				if res.Skipped+res.Failed == 0 {
					continue
				}
				if err := snapshot.GetLines(ctx, l.Store, p.Bucket, res.Key, func(row RowResult) error {
					if row.Outcome == RowSkipped || row.Outcome == RowFailed {
						return fn(row.Username)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		j.Name, j.First = "after-import-", segments
		j.Buckets = partition.Count(s.BucketUsers, int32(min(notCarried, math.MaxInt32)))
		us = append(us, j.Units(l)...)
		segments += j.Buckets
	}
	return append(us, l.WriteIndex(segments))
}

// createsOf is the join that lists, as creates of kind, the import's users whose names names
// gives: rejects and import results name a user as the CSV did, exactly as the DR pool holds it.
func (s *Steps) createsOf(l worklist.List, p Plan, kind string, names func(ctx context.Context, fn func(string) error) error) worklist.Join[string, snapshot.User, applyItem] {
	m := p.matcher()
	return worklist.Join[string, snapshot.User, applyItem]{
		ReadLeft: names,
		LeftKey:  func(name string) string { return name },
		ReadRight: func(ctx context.Context, fn func(snapshot.User) error) error {
			return snapshot.GetLines(ctx, l.Store, p.Bucket, p.Prefix+ImportUsersFile, fn)
		},
		RightKey: m.Name,
		Item: func(named map[string]string, u snapshot.User) (applyItem, bool) {
			name := m.Name(u)
			_, ok := named[name]
			return applyItem{Action: Action{Kind: kind, Key: m.Key(u), Username: name, DRUsername: u.Username}, User: &u}, ok
		},
		OpenFiles: s.OpenFiles,
	}
}

func (s *Steps) apply(ctx context.Context, c Cognito, pace *quota.Pacer, started time.Time, p Plan, it applyItem) (ApplyResult, error) {
	pool := aws.String(p.Request.PrimaryUserPoolID)
	r := ApplyResult{Kind: it.Kind, Key: it.Key, DRUsername: it.DRUsername, DRKey: it.DRKey, Group: it.Group}
	call := func(op string, fn func() error) error {
		if err := pace.Wait(ctx, op); err != nil {
			return err
		}
		return fn()
	}
	var err error
	switch it.Kind {
	case ActionCreate, ActionCreateAfterImport:
		var existed bool
		existed, err = importjob.Create(ctx, c, pace, p.Request.PrimaryUserPoolID, it.PrimaryName(), *it.User, started)
		if existed {
			r.Existed, r.Message = true, "already existed in the primary before this failback"
		}
	case ActionUpdate:
		if len(it.Set) > 0 {
			in := &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String(it.PrimaryName())}
			for _, k := range slices.Sorted(maps.Keys(it.Set)) {
				in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(k), Value: aws.String(it.Set[k])})
			}
			err = call("AdminUpdateUserAttributes", func() error { _, err := c.AdminUpdateUserAttributes(ctx, in); return err })
		}
		if err == nil && len(it.Unset) > 0 {
			err = call("AdminDeleteUserAttributes", func() error {
				_, err := c.AdminDeleteUserAttributes(ctx, &cip.AdminDeleteUserAttributesInput{UserPoolId: pool, Username: aws.String(it.PrimaryName()), UserAttributeNames: it.Unset})
				return err
			})
		}
	case ActionAddToGroup:
		add := func() error {
			return call("AdminAddUserToGroup", func() error {
				_, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(it.PrimaryName()), GroupName: aws.String(it.Group)})
				return err
			})
		}
		err = add()
		var noGroup *types.ResourceNotFoundException
		if errors.As(err, &noGroup) {
			// The group was created in the DR pool during the outage.
			cerr := call("CreateGroup", func() error {
				_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: pool, GroupName: aws.String(it.Group)})
				return err
			})
			var exists *types.GroupExistsException
			if cerr == nil || errors.As(cerr, &exists) {
				err = add()
			}
		}
	case ActionDisablePrimary:
		err = call("AdminDisableUser", func() error {
			_, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(it.PrimaryName())})
			return err
		})
	default:
		return r, fmt.Errorf("unknown action kind %q", it.Kind)
	}
	switch {
	case err == nil:
		r.OK = true
		return r, nil
	case cognitoerr.UserFault(err):
		r.Message = err.Error()
		return r, nil
	}
	// The key is the user's email or phone number in pools that sign in by it: errors reach the
	// logs and the failure notification, so they name the user by the DR username.
	return r, fmt.Errorf("%s for DR user %s: %w", it.Kind, it.DRUsername, err)
}
