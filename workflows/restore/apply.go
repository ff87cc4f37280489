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

// item is one change: a user to create or disable, a group to create, or a membership to add.
type item struct {
	user     *snapshot.User
	username string
	name     string
	group    *snapshot.Group
	member   string
}

// Apply makes the changes of one phase on the target pool — create: the users the import refuses
// only for an unverified contact, by API (importjob.Create, as failback does); groups: every group
// with its description, precedence and role; memberships: every membership (in a phase of its
// own, as a chunk's items run at once); disable: the users disabled at snapshot time — from Progress.Cursor until the list ends or BatchTime passes. Each chunk's
// results go to the phase's ledger before the cursor moves, and every change is idempotent.
func (s *Steps) Apply(ctx context.Context, in ApplyInput) (Progress, error) {
	p := in.Plan
	items, err := s.applyItems(ctx, p, in.CSV, in.Phase)
	if err != nil {
		return in.Progress, err
	}
	store := s.S3(p.Region)
	started, err := checkpoint.Started(ctx, store, p.Bucket, p.Prefix+ApplyStartedFile, s.now())
	if err != nil {
		return in.Progress, err
	}
	c := s.Cognito(p.Target.Region)
	pace := s.Quota.Pacer(p.Target.Region, applyOps)
	prog := in.Progress
	deadline := s.now().Add(s.batchTime())
	cursor, err := checkpoint.Run(ctx, prog.Cursor, len(items), func() bool { return s.now().Before(deadline) },
		func(ctx context.Context, i int) (ApplyResult, error) {
			r, err := s.apply(ctx, c, pace, started, p, items[i])
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
	prog.Cursor, prog.Done = cursor, cursor >= len(items)
	if err != nil {
		return prog, fmt.Errorf("restore %s in %s: %w", in.Phase, p.Target.UserPoolID, err)
	}
	return prog, nil
}

// applyItems lists a phase's changes in a fixed order, so a cursor means the same item in every
// invocation.
func (s *Steps) applyItems(ctx context.Context, p Plan, csv CSVOutput, phase string) ([]item, error) {
	store := s.S3(p.Region)
	var items []item
	switch phase {
	case PhaseCreate:
		creatable, err := importjob.Creatable(ctx, store, p.Bucket, csv.Built)
		if err != nil {
			return nil, err
		}
		if len(creatable) == 0 {
			return nil, nil
		}
		err = readVerified(ctx, store, p.Bucket, csv.Users, func(u snapshot.User) error {
			if name := p.Match.Name(u); creatable[name] {
				items = append(items, item{user: &u, username: u.Username, name: name})
			}
			return nil
		})
		return items, err
	case PhaseGroups:
		err := readVerified(ctx, store, p.Bucket, p.Snapshot.Groups, func(g snapshot.Group) error {
			items = append(items, item{group: &g})
			return nil
		})
		return items, err
	case PhaseMemberships:
		// Memberships name users by their snapshot username; the target knows them by name.
		names := map[string]string{}
		if err := readUsers(ctx, store, p.Bucket, p.Snapshot.Users, func(u snapshot.User) error {
			if u.Status != StatusExternalProvider {
				names[u.Username] = p.Match.Name(u)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		err := readParts(ctx, store, p.Bucket, p.Snapshot.Memberships, func(m snapshot.Membership) error {
			items = append(items, item{username: m.Username, name: names[m.Username], member: m.Group})
			return nil
		})
		return items, err
	case PhaseDisable:
		err := readVerified(ctx, store, p.Bucket, csv.Users, func(u snapshot.User) error {
			if !u.Enabled {
				items = append(items, item{username: u.Username, name: p.Match.Name(u)})
			}
			return nil
		})
		return items, err
	}
	return nil, stateerr.Invalid("phase %q is not %s, %s, %s or %s", phase, PhaseCreate, PhaseGroups, PhaseMemberships, PhaseDisable)
}

func (s *Steps) apply(ctx context.Context, c Cognito, pace *quota.Pacer, started time.Time, p Plan, it item) (ApplyResult, error) {
	pool := aws.String(p.Target.UserPoolID)
	r := ApplyResult{Username: it.username}
	call := func(op string, fn func() error) error {
		if err := pace.Wait(ctx, op); err != nil {
			return err
		}
		return fn()
	}
	var err error
	switch {
	case it.user != nil:
		var has bool
		if has, err = s.hasSignIn(ctx, c, pace, p, it.name); has {
			r.Existed, r.Message = true, "the target already has a user who signs in with this "+p.Match.Attribute
			break
		}
		if err == nil {
			r.Existed, err = importjob.Create(ctx, c, pace, p.Target.UserPoolID, it.name, *it.user, started)
		}
		if r.Existed {
			r.Message = "already existed in the target before this restore"
		}
	case it.group != nil:
		g := it.group
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
	case it.member != "":
		r.Group = it.member
		if it.name == "" {
			r.Message = "not restored: a federated user (EXTERNAL_PROVIDER), or not in the snapshot's users"
			return r, nil
		}
		err = call("AdminAddUserToGroup", func() error {
			_, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(it.name), GroupName: aws.String(it.member)})
			return err
		})
	default:
		err = call("AdminDisableUser", func() error {
			_, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(it.name)})
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
	return r, fmt.Errorf("snapshot user %s group %s: %w", it.username, r.Group, err)
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
