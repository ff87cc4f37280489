package failback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/cognitoerr"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
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
// list ends or BatchTime passes. Each chunk of results goes to the apply ledger before the
// cursor moves, so a retry or a re-run redoes at most one chunk, and every change is idempotent.
func (s *Steps) ApplyChanges(ctx context.Context, in ApplyInput) (Progress, error) {
	p := in.Plan
	if err := s.verifyBound(ctx, p, "ApplyChanges", in.CSV.PlanFiles.Actions, in.CSV.PlanFiles.ImportUsers, in.CSV.Rejects); err != nil {
		return in.Progress, err
	}
	items, err := s.applyItems(ctx, p, in.CSV, in.Imports)
	if err != nil {
		return Progress{}, err
	}
	// Creates after the import start only once every update is done (a chunk's items run at once).
	barrier := len(items)
	for barrier > 0 && items[barrier-1].Kind == ActionCreateAfterImport {
		barrier--
	}
	started, err := checkpoint.Started(ctx, s.S3(p.Region), p.Bucket, p.Prefix+ApplyStartedFile, s.now())
	if err != nil {
		return in.Progress, err
	}
	c := s.Cognito(p.Request.PrimaryRegion)
	pace := s.Quota.Pacer(p.Request.PrimaryRegion, applyOps)
	prog, err := checkpointed(ctx, s, p, in.Progress, len(items), ApplyLedgerDir, func(ctx context.Context, i int) (ApplyResult, outcome, error) {
		r, err := s.apply(ctx, c, pace, started, p, items[i])
		r.Index = i
		switch {
		case r.Existed:
			return r, skipped, err
		case r.OK:
			return r, applied, err
		}
		return r, failed, err
	}, barrier)
	if err != nil {
		return prog, fmt.Errorf("apply changes to %s: %w", p.Request.PrimaryUserPoolID, err)
	}
	return prog, nil
}

// applyItem is one change: an Action, or a user to create.
type applyItem struct {
	Action
	user *snapshot.User
}

// applyItems lists the changes in a fixed order (creates, then the actions file, then the users
// whose import rows were skipped or failed) so a cursor means the same item in every invocation.
func (s *Steps) applyItems(ctx context.Context, p Plan, csv CSVOutput, imports []ImportResults) ([]applyItem, error) {
	store := s.S3(p.Region)
	// Only users whose sole problem is an unverified address can be created by API.
	creatable, err := importjob.Creatable(ctx, store, p.Bucket, csv.Built)
	if err != nil {
		return nil, err
	}
	var items []applyItem
	m := p.matcher()
	if len(creatable) > 0 {
		err := snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+ImportUsersFile, func(u snapshot.User) error {
			// A reject names the user as the CSV did: exactly as the DR pool holds it.
			if name := m.Name(u); creatable[name] {
				items = append(items, applyItem{Action: Action{Kind: ActionCreate, Key: m.Key(u), Username: name, DRUsername: u.Username}, user: &u})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err = snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+ActionsFile, func(a Action) error {
		items = append(items, applyItem{Action: a})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Last, after every update: the users whose import rows were skipped or failed.
	notCarried := map[string]bool{}
	for _, res := range imports {
		if res.Skipped+res.Failed == 0 {
			continue
		}
		if err := snapshot.GetLines(ctx, store, p.Bucket, res.Key, func(row RowResult) error {
			if row.Outcome == RowSkipped || row.Outcome == RowFailed {
				notCarried[row.Username] = true
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if len(notCarried) == 0 {
		return items, nil
	}
	err = snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+ImportUsersFile, func(u snapshot.User) error {
		// An import result names the user as the CSV did.
		if name := m.Name(u); notCarried[name] {
			items = append(items, applyItem{Action: Action{Kind: ActionCreateAfterImport, Key: m.Key(u), Username: name, DRUsername: u.Username}, user: &u})
		}
		return nil
	})
	return items, err
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
		existed, err = importjob.Create(ctx, c, pace, p.Request.PrimaryUserPoolID, it.PrimaryName(), *it.user, started)
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
