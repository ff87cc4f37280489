package replication

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/cognitoerr"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// RepairResult is one user's repair, a line of the repair ledger.
type RepairResult struct {
	Index   int      `json:"index"`
	Key     string   `json:"key"`
	Kinds   []string `json:"kinds"`
	OK      bool     `json:"ok"`
	Created bool     `json:"created,omitempty"`
	// Resolved is true when the user's retry-store entry was removed.
	Resolved bool   `json:"resolved,omitempty"`
	Message  string `json:"message,omitempty"`
}

// repairOps are the calls RepairDrift makes on the DR pool, each paced to its quota category.
var repairOps = quota.MustOps(append(copyOps, "AdminDeleteUser", "AdminDeleteUserAttributes", "AdminEnableUser", "AdminDisableUser",
	"AdminAddUserToGroup", "AdminRemoveUserFromGroup", "CreateGroup")...)

// RepairStartedFile (under Plan.Prefix) records when the repair step first ran, before its first
// call: a user whose create was answered "exists" is this run's when created after it.
const RepairStartedFile = "repair-started.json"

// RepairDrift repairs the DR pool user by user from Progress.Cursor until the repair list ends or
// BatchTime passes, each call paced to its quota category. The repair list is the before
// manifest's repair files, read one at a time: first the retry-store users of every file, then
// the others (Progress.Cursor counts across them). Each chunk's results go to the ledger before
// the cursor moves, so a retry or re-run redoes at most one chunk, and every repair is
// idempotent (creating an existing user updates it, adding a member twice is harmless, deleting
// a deleted user is done). A repaired user of the retry store leaves it.
func (s *Steps) RepairDrift(ctx context.Context, in RepairInput) (Progress, error) {
	p := in.Plan
	prog := in.Progress
	store := s.S3(p.Region)
	var m Manifest
	if err := getJSON(ctx, store, p.Bucket, p.Prefix+BeforeDir+ManifestFile, &m); err != nil {
		return prog, &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	segs := segments(m)
	total := 0
	if len(segs) > 0 {
		total = segs[len(segs)-1].end
	}
	if prog.Cursor >= total {
		prog.Done = true
		return prog, nil
	}
	pp, err := s.pools(ctx, p.Request)
	if err != nil {
		return prog, err
	}
	started, err := checkpoint.Started(ctx, store, p.Bucket, p.Prefix+RepairStartedFile, s.now())
	if err != nil {
		return prog, err
	}
	c := s.Cognito(p.Request.DRRegion)
	pace := s.Quota.Pacer(p.Request.DRRegion, repairOps)
	deadline := s.now().Add(s.batchTime())
	more := func() bool { return s.now().Before(deadline) }
	for _, seg := range segs {
		if prog.Cursor >= seg.end || !more() {
			continue
		}
		// One repair file at a time: what a bucket's diff wrote, never the whole list.
		var items []Repair
		if err := snapshot.GetLines(ctx, store, p.Bucket, seg.key, func(r Repair) error { items = append(items, r); return nil }); err != nil {
			return prog, &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
		if len(items) < seg.to {
			return prog, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("%s has %d repairs, the manifest says at least %d", seg.key, len(items), seg.to)}
		}
		item := func(i int) Repair { return items[i-seg.start+seg.from] }
		cursor, err := checkpoint.Run(ctx, max(prog.Cursor, seg.start), seg.end, more,
			func(ctx context.Context, i int) (RepairResult, error) {
				return s.repair(ctx, c, p, pp.info, i, item(i), pace, started)
			},
			func(from int, results []RepairResult) error {
				if err := snapshot.PutLines(ctx, store, p.Bucket, fmt.Sprintf("%s%s%08d.jsonl.gz", p.Prefix, RepairLedger, from), results); err != nil {
					return err
				}
				for _, r := range results {
					switch {
					case r.OK && len(r.Kinds) > 0:
						prog.Applied++
					case !r.OK:
						prog.Failed++
					}
					if r.Resolved {
						prog.Resolved++
					}
				}
				return nil
			})
		prog.Cursor = cursor
		if err != nil {
			return prog, fmt.Errorf("repair users of %s: %w", p.Request.DRUserPoolID, err)
		}
	}
	prog.Done = prog.Cursor >= total
	return prog, nil
}

// segment is rows [from, to) of one repair file, numbered [start, end) in the repair list.
type segment struct {
	key        string
	from, to   int
	start, end int
}

// segments orders the manifest's repair files: the retry-store users of each first, then the
// rest of each.
func segments(m Manifest) []segment {
	var out []segment
	n := 0
	add := func(key string, from, to int) {
		if to > from {
			out = append(out, segment{key: key, from: from, to: to, start: n, end: n + to - from})
			n += to - from
		}
	}
	for _, f := range m.Repairs {
		add(f.Key, 0, f.Pending)
	}
	for _, f := range m.Repairs {
		add(f.Key, f.Pending, f.Rows)
	}
	return out
}

func (s *Steps) repair(ctx context.Context, c Cognito, p Plan, info poolInfo, index int, it Repair, pace *quota.Pacer, started time.Time) (RepairResult, error) {
	r := RepairResult{Index: index, Key: it.Key, Kinds: it.Kinds}
	err := s.applyRepair(ctx, c, p, info, it, pace, started, &r)
	switch {
	case err == nil:
		r.OK = true
	case cognitoerr.UserFault(err):
		r.Message = err.Error()
	default:
		return r, fmt.Errorf("repair user %d of the list: %w", r.Index, err)
	}
	if r.OK && it.Pending && s.Retry != nil {
		if err := s.Retry.Resolve(ctx, p.Request.PrimaryUserPoolID, it.PrimarySub); err != nil {
			return r, err
		}
		r.Resolved = true
	}
	return r, nil
}

func (s *Steps) applyRepair(ctx context.Context, c Cognito, p Plan, info poolInfo, it Repair, pace *quota.Pacer, started time.Time, r *RepairResult) error {
	pool := aws.String(p.Request.DRUserPoolID)
	user := it.DRUsername
	if it.Delete {
		if err := pace.Wait(ctx, "AdminDeleteUser"); err != nil {
			return err
		}
		_, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: pool, Username: aws.String(user)})
		var gone *types.UserNotFoundException
		if errors.As(err, &gone) {
			return nil
		}
		return err
	}
	if it.Create != nil {
		update := maps.Clone(it.Create)
		maps.DeleteFunc(update, func(k, _ string) bool { return !info.mutable[k] })
		created, err := upsert(ctx, c, p.Request.DRUserPoolID, it.CreateAs, it.Create, update, pace, started)
		if err != nil {
			return err
		}
		r.Created, user = created, it.CreateAs
	}
	if len(it.Set) > 0 {
		if err := pace.Wait(ctx, "AdminUpdateUserAttributes"); err != nil {
			return err
		}
		if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String(user), UserAttributes: attributeList(it.Set)}); err != nil {
			return fmt.Errorf("update attributes: %w", err)
		}
	}
	if len(it.Unset) > 0 {
		if err := pace.Wait(ctx, "AdminDeleteUserAttributes"); err != nil {
			return err
		}
		if _, err := c.AdminDeleteUserAttributes(ctx, &cip.AdminDeleteUserAttributesInput{UserPoolId: pool, Username: aws.String(user), UserAttributeNames: it.Unset}); err != nil {
			return fmt.Errorf("delete attributes: %w", err)
		}
	}
	if it.Enabled != nil {
		op := "AdminDisableUser"
		if *it.Enabled {
			op = "AdminEnableUser"
		}
		if err := pace.Wait(ctx, op); err != nil {
			return err
		}
		var err error
		if *it.Enabled {
			_, err = c.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: pool, Username: aws.String(user)})
		} else {
			_, err = c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(user)})
		}
		if err != nil {
			return fmt.Errorf("set enabled=%t: %w", *it.Enabled, err)
		}
	}
	for _, g := range it.AddGroups {
		if err := s.addToGroup(ctx, c, pool, user, g, pace); err != nil {
			return err
		}
	}
	for _, g := range it.RemoveGroups {
		if err := pace.Wait(ctx, "AdminRemoveUserFromGroup"); err != nil {
			return err
		}
		_, err := c.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: pool, Username: aws.String(user), GroupName: aws.String(g)})
		var noGroup *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &noGroup) {
			return fmt.Errorf("remove from group %s: %w", g, err)
		}
	}
	if it.SetPassword {
		return setUnusablePassword(ctx, c, p.Request.DRUserPoolID, user, pace)
	}
	return nil
}

func (s *Steps) addToGroup(ctx context.Context, c Cognito, pool *string, user, group string, pace *quota.Pacer) error {
	add := func() error {
		if err := pace.Wait(ctx, "AdminAddUserToGroup"); err != nil {
			return err
		}
		_, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(user), GroupName: aws.String(group)})
		return err
	}
	err := add()
	var noGroup *types.ResourceNotFoundException
	if errors.As(err, &noGroup) {
		// A group the primary has and the DR pool lacks: create it, then add.
		if err := pace.Wait(ctx, "CreateGroup"); err != nil {
			return err
		}
		_, cerr := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: pool, GroupName: aws.String(group)})
		var exists *types.GroupExistsException
		if cerr != nil && !errors.As(cerr, &exists) {
			return fmt.Errorf("create group %s: %w", group, cerr)
		}
		err = add()
	}
	if err != nil {
		return fmt.Errorf("add to group %s: %w", group, err)
	}
	return nil
}
