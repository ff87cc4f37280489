package restore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/cognitoerr"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/internal/worklist"
)

// ApplyResult is one change of an apply phase, as written to the phase's ledger.
type ApplyResult struct {
	Index int    `json:"index"`
	Phase string `json:"phase"`
	// Username is the snapshot's username of the user changed (absent for a group).
	Username string `json:"username,omitempty"`
	Group    string `json:"group,omitempty"`
	OK       bool   `json:"ok"`
	// Existed is a user or group the target had before the restore: nothing was created.
	Existed bool   `json:"existed,omitempty"`
	Message string `json:"message,omitempty"`
}

// applyOps are the calls Apply makes on the target pool, each paced to its quota.
var applyOps = quota.MustOps("ListUsers", "AdminCreateUser", "AdminGetUser", "CreateGroup", "AdminAddUserToGroup", "AdminDisableUser")

// Apply makes the changes of one phase on the target pool — create: the users the import refuses
// only for an unverified contact, by API (importjob.Create, as failback does); groups: every group
// with its description, precedence and role; memberships: every membership (in a phase of its
// own, as a chunk's items run at once); disable: the users disabled at snapshot time — from
// Progress.Cursor until the list ends or BatchTime passes. The phase's first invocations build its
// work list (worklist.go) a bounded unit at a time; then each invocation reads only the pages at
// its cursor. Each chunk's results go to the phase's ledger before the cursor moves, and every
// change is idempotent.
func (s *Steps) Apply(ctx context.Context, in ApplyInput) (Progress, error) {
	p := in.Plan
	prog := in.Progress
	// A unit of the list reads up to the whole snapshot once (several minutes at tens of millions
	// of users): one starts only in the first half of the batch time.
	more, moreUnits := worklist.Limits(s.now, s.batchTime(), s.Budget)
	if prog.List.Buckets == 0 {
		if prog.Cursor > 0 {
			return prog, stateerr.Invalid("the %s phase is at item %d but has no work list: an earlier version started it; run the restore again", in.Phase, prog.Cursor)
		}
		prog.List = WorkList{Buckets: s.buckets(p), PageSize: s.pageSize()}
	}
	w := s.phaseList(p, in.CSV, in.Phase, prog.List)
	if !prog.List.Built {
		units, err := w.units()
		if err != nil {
			return in.Progress, err
		}
		if built, err := worklist.Build(ctx, &prog.List, units, moreUnits); err != nil {
			return prog, fmt.Errorf("list the %s phase's work (%w)", in.Phase, err)
		} else if !built {
			return prog, nil
		}
	}
	x, err := w.l.Index(ctx)
	if err != nil {
		return prog, err
	}
	prog.List.Items = x.Items()
	store := w.store
	started, err := checkpoint.Started(ctx, store, p.Bucket, p.Prefix+ApplyStartedFile, s.now())
	if err != nil {
		return prog, err
	}
	c := s.Cognito(p.Target.Region)
	pace := s.Quota.Pacer(p.Target.Region, applyOps)
	prog.Cursor, err = worklist.Run(ctx, w.l, x, prog.Cursor, more,
		func(ctx context.Context, i int, it item) (ApplyResult, error) {
			r, err := s.apply(ctx, c, pace, started, p, it)
			r.Index, r.Phase = i, in.Phase
			return r, err
		},
		func(from int, results []ApplyResult) error {
			if err := snapshot.PutLines(ctx, store, p.Bucket, fmt.Sprintf("%s%s%s/%08d.jsonl.gz", p.Prefix, LedgerDir, in.Phase, from), results); err != nil {
				return err
			}
			for _, r := range results {
				switch {
				case r.OK:
					prog.Applied++
				case !r.Existed:
					prog.Failed++
				}
			}
			return nil
		})
	if err != nil {
		return prog, fmt.Errorf("restore %s in %s: %w", in.Phase, p.Target.UserPoolID, err)
	}
	prog.Done = prog.Cursor >= prog.List.Items
	return prog, nil
}

func (s *Steps) apply(ctx context.Context, c Cognito, pace *quota.Pacer, started time.Time, p Plan, it item) (ApplyResult, error) {
	pool := aws.String(p.Target.UserPoolID)
	r := ApplyResult{Username: it.Username}
	call := func(op string, fn func() error) error {
		if err := pace.Wait(ctx, op); err != nil {
			return err
		}
		return fn()
	}
	var err error
	switch {
	case it.User != nil:
		var has bool
		if has, err = s.hasSignIn(ctx, c, pace, p, it.Name); has {
			r.Existed, r.Message = true, "the target already has a user who signs in with this "+p.Match.Attribute
			break
		}
		if err == nil {
			r.Existed, err = importjob.Create(ctx, c, pace, p.Target.UserPoolID, it.Name, *it.User, started)
		}
		if r.Existed {
			r.Message = "already existed in the target before this restore"
		}
	case it.Group != nil:
		g := it.Group
		r.Group = g.Name
		in := &cip.CreateGroupInput{UserPoolId: pool, GroupName: aws.String(g.Name), Precedence: g.Precedence}
		if g.Description != "" {
			in.Description = aws.String(g.Description)
		}
		if g.RoleArn != "" {
			in.RoleArn = aws.String(g.RoleArn)
		}
		err = call("CreateGroup", func() error { _, err := c.CreateGroup(ctx, in); return err })
		var exists *types.GroupExistsException
		if errors.As(err, &exists) {
			// Left as the target has it: a restore adds, it never rewrites what is there.
			r.Existed, r.Message, err = true, "the target already had this group", nil
		}
	case it.Member != "":
		r.Group = it.Member
		if it.Name == "" {
			r.Message = "not restored: a federated user (EXTERNAL_PROVIDER), or not in the snapshot's users"
			return r, nil
		}
		err = call("AdminAddUserToGroup", func() error {
			_, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(it.Name), GroupName: aws.String(it.Member)})
			return err
		})
	default:
		err = call("AdminDisableUser", func() error {
			_, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(it.Name)})
			return err
		})
	}
	switch {
	case err == nil:
		r.OK = !r.Existed
		return r, nil
	case cognitoerr.UserFault(err):
		r.Message = err.Error()
		return r, nil
	}
	// Names may be email addresses: the error names the user by the snapshot's username.
	return r, fmt.Errorf("snapshot user %s group %s: %w", it.Username, r.Group, err)
}

// hasSignIn reports whether a target that had users when the restore began has a user signing in
// with name (an email or phone number). Only such a target needs the look-up: a pool may hold a
// second user with an address nobody verified, so AdminCreateUser alone would not refuse a copy.
func (s *Steps) hasSignIn(ctx context.Context, c Cognito, pace *quota.Pacer, p Plan, name string) (bool, error) {
	if p.TargetUsers == 0 || p.Match.Attribute == "" {
		return false, nil
	}
	if err := pace.Wait(ctx, "ListUsers"); err != nil {
		return false, err
	}
	out, err := c.ListUsers(ctx, &cip.ListUsersInput{
		UserPoolId: aws.String(p.Target.UserPoolID), Limit: aws.Int32(1),
		Filter: aws.String(fmt.Sprintf("%s = %q", p.Match.Attribute, name)),
	})
	if err != nil {
		return false, fmt.Errorf("look up the target's users by %s: %w", p.Match.Attribute, err)
	}
	return len(out.Users) > 0, nil
}
