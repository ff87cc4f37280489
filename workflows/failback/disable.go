package failback

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/cognitoerr"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Disable outcomes of a DR user.
const (
	DRDisabled      = "disabled"
	DRNotInPrimary  = "not-in-primary"
	DRDisableFailed = "failed"
)

// DisableResult is one DR user's outcome, as written to the disable ledger.
type DisableResult struct {
	Index      int    `json:"index"`
	DRUsername string `json:"drUsername"`
	Key        string `json:"key"`
	Outcome    string `json:"outcome"`
	SignedOut  bool   `json:"signedOut,omitempty"`
	Message    string `json:"message,omitempty"`
}

// DisableDrUsers disables every DR user that now exists in the primary pool, so nobody keeps
// signing in to the DR copy. AdminDisableUser revokes the user's access tokens and a disabled
// user cannot refresh; GlobalSignOut adds AdminUserGlobalSignOut. Users the primary does not have
// stay enabled and are reported. It works from Progress.Cursor in checkpointed chunks paced to
// the UserUpdate quota (AdminDisableUser and AdminUserGlobalSignOut share it); disabling twice is harmless, so a retry or re-run never double-applies
// anything that matters.
func (s *Steps) DisableDrUsers(ctx context.Context, in DisableInput) (Progress, error) {
	p := in.Plan
	// A part of the DR export at a time, and only what disabling needs of each user.
	users, n, err := s.drUsersAt(ctx, p, "DisableDrUsers", in.CSV.PlanFiles.DRUsers, func(u snapshot.User) snapshot.User {
		return snapshot.User{Username: u.Username, Attributes: map[string]string{p.UsernameAttribute: u.Attributes[p.UsernameAttribute]}}
	})
	if err != nil {
		return in.Progress, err
	}
	defer users.close()
	primary, dr := s.Cognito(p.Request.PrimaryRegion), s.Cognito(p.Request.DRRegion)
	read := s.Quota.Pacer(p.Request.PrimaryRegion, disablePrimaryOps)
	update := s.Quota.Pacer(p.Request.DRRegion, disableDROps)
	m := p.matcher()
	prog, err := checkpointed(ctx, s, p, in.Progress, n, DisableLedgerDir, func(ctx context.Context, i int) (DisableResult, outcome, error) {
		u, err := users.user(i)
		if err != nil {
			return DisableResult{}, failed, err
		}
		r := DisableResult{Index: i, DRUsername: u.Username, Key: m.Key(u)}
		// The primary is asked for the user as the DR pool holds it, exact case: the key may be
		// lowercased, which a case-sensitive primary would not find.
		err = s.disableOne(ctx, primary, dr, p, m.Name(u), &r, read, update)
		switch r.Outcome {
		case DRDisabled:
			return r, applied, err
		case DRDisableFailed:
			return r, failed, err
		}
		return r, skipped, err
	})
	if err != nil {
		return prog, fmt.Errorf("disable DR users of %s: %w", p.Request.DRUserPoolID, err)
	}
	return prog, nil
}

// The calls DisableDrUsers makes: a look-up in the primary, the disable (and sign-out) in the DR pool.
var (
	disablePrimaryOps = quota.MustOps("AdminGetUser")
	disableDROps      = quota.MustOps("AdminDisableUser", "AdminUserGlobalSignOut")
)

func (s *Steps) disableOne(ctx context.Context, primary, dr Cognito, p Plan, primaryName string, r *DisableResult, read, update *quota.Pacer) error {
	if err := read.Wait(ctx, "AdminGetUser"); err != nil {
		return err
	}
	_, err := primary.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(p.Request.PrimaryUserPoolID), Username: aws.String(primaryName)})
	var notFound *types.UserNotFoundException
	if errors.As(err, &notFound) {
		r.Outcome = DRNotInPrimary
		return nil
	}
	if err != nil {
		// r.Key may be an email or phone number; errors reach logs and notifications.
		return fmt.Errorf("look up DR user %s in the primary: %w", r.DRUsername, err)
	}
	if err := update.Wait(ctx, "AdminDisableUser"); err != nil {
		return err
	}
	pool := aws.String(p.Request.DRUserPoolID)
	_, err = dr.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(r.DRUsername)})
	if err == nil && p.Request.GlobalSignOut {
		if err = update.Wait(ctx, "AdminUserGlobalSignOut"); err == nil {
			_, err = dr.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: pool, Username: aws.String(r.DRUsername)})
			r.SignedOut = err == nil
		}
	}
	switch {
	case err == nil:
		r.Outcome = DRDisabled
	case errors.As(err, &notFound):
		r.Outcome, r.Message = DRDisableFailed, "deleted from the DR pool during the failback"
	case cognitoerr.UserFault(err):
		r.Outcome, r.Message = DRDisableFailed, err.Error()
	default:
		return fmt.Errorf("disable %s in the DR pool: %w", r.DRUsername, err)
	}
	return nil
}
