package replication

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// poolInfo is what copying users needs to know of a pool.
type poolInfo struct {
	// usernameAttributes are the pool's sign-in attributes ("email", "phone_number"); empty
	// when users sign in by username.
	usernameAttributes []string
	// defined are the attributes the pool has, by the name the user APIs use ("custom:x").
	defined map[string]bool
	// mutable are the ones an admin can change after creation (poolpair.Mutable).
	mutable map[string]bool
	// keepsUntilVerified are the addresses whose original value the pool keeps until a new
	// value is verified (poolpair.Pool.KeepsUntilVerified).
	keepsUntilVerified map[string]bool
}

func describePool(p *types.UserPoolType) poolInfo {
	d := poolpair.Describe(p)
	return poolInfo{usernameAttributes: d.UsernameAttributes, defined: d.Defined, mutable: d.Writable, keepsUntilVerified: d.KeepsUntilVerified}
}

// drAttributes are the attributes the DR copy of a primary user should have: every copied
// attribute the DR pool defines (only its mutable ones when updating) and the primary sub.
// dropped names the attributes the DR pool does not define.
func (info poolInfo) drAttributes(src map[string]string, primarySub string, creating bool) (attrs map[string]string, dropped []string) {
	attrs = map[string]string{}
	for k, v := range src {
		switch {
		case !poolpair.Copied(k):
		case !info.defined[k]:
			dropped = append(dropped, k)
		case creating || info.mutable[k]:
			attrs[k] = v
		}
	}
	if primarySub != "" && info.defined[PrimarySubAttribute] && (creating || info.mutable[PrimarySubAttribute]) {
		attrs[PrimarySubAttribute] = primarySub
	}
	slices.Sort(dropped)
	return attrs, dropped
}

// username is the name a user is created under in a pool: its sign-in attribute when the pool
// signs in by one (Cognito then generates the username), else the primary username.
func (info poolInfo) username(attrs map[string]string, primaryUsername string) string {
	for _, a := range info.usernameAttributes {
		if v := attrs[a]; v != "" {
			return v
		}
	}
	return primaryUsername
}

func attributeList(attrs map[string]string) []types.AttributeType {
	out := make([]types.AttributeType, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, types.AttributeType{Name: aws.String(k), Value: aws.String(attrs[k])})
	}
	return out
}

// poolCache describes the DR pool once per process: its schema rarely changes, and
// DescribeUserPool is in the UserPoolRead category (15/s per account), too small to spend on
// every sign-up. A failure is not cached.
type poolCache struct {
	mu   sync.Mutex
	info *poolInfo
}

func (c *poolCache) get(ctx context.Context, dr DR, id string, pace *quota.Pacer) (poolInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info != nil {
		return *c.info, nil
	}
	if err := pace.Wait(ctx, "DescribeUserPool"); err != nil {
		return poolInfo{}, err
	}
	out, err := dr.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if err != nil {
		return poolInfo{}, fmt.Errorf("describe DR pool %s: %w", id, err)
	}
	info := describePool(out.UserPool)
	c.info = &info
	return info, nil
}

// copyOps are the calls copying one user makes on the DR pool, each paced to its quota.
var copyOps = []string{"DescribeUserPool", "AdminCreateUser", "AdminUpdateUserAttributes", "AdminGetUser", "AdminSetUserPassword"}

// upsert is the idempotent copy of one user to the DR pool: create it, or update it when it
// exists. A copy that is new, or still FORCE_CHANGE_PASSWORD from an earlier half-done copy,
// gets a random password nobody knows, set permanent: that makes it CONFIRMED, and only a
// CONFIRMED user can use ForgotPassword (a FORCE_CHANGE_PASSWORD user cannot), which is how the
// user sets a password of their own in the DR pool. An existing CONFIRMED copy keeps its
// password: the user may already have reset it there.
//
// created is true when the user was created at or after since, the moment this run began trying:
// a create whose first answer was lost and whose retry was told "user exists" is still this run's.
func upsert(ctx context.Context, c DR, pool, username string, create, update map[string]string, pace *quota.Pacer, since time.Time) (created bool, err error) {
	if err := pace.Wait(ctx, "AdminCreateUser"); err != nil {
		return false, err
	}
	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(pool), Username: aws.String(username),
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: attributeList(create),
	})
	var exists *types.UsernameExistsException
	switch {
	case err == nil:
		return true, setUnusablePassword(ctx, c, pool, username, pace)
	case !errors.As(err, &exists):
		return false, fmt.Errorf("create user: %w", err)
	}
	if len(update) > 0 {
		if err := pace.Wait(ctx, "AdminUpdateUserAttributes"); err != nil {
			return false, err
		}
		if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool), Username: aws.String(username), UserAttributes: attributeList(update)}); err != nil {
			return false, fmt.Errorf("update existing user: %w", err)
		}
	}
	if err := pace.Wait(ctx, "AdminGetUser"); err != nil {
		return false, err
	}
	got, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
	if err != nil {
		return false, fmt.Errorf("read existing user: %w", err)
	}
	created = checkpoint.CreatedSince(aws.ToTime(got.UserCreateDate), since)
	if got.UserStatus == types.UserStatusTypeForceChangePassword {
		return created, setUnusablePassword(ctx, c, pool, username, pace)
	}
	return created, nil
}

func setUnusablePassword(ctx context.Context, c DR, pool, username string, pace *quota.Pacer) error {
	if err := pace.Wait(ctx, "AdminSetUserPassword"); err != nil {
		return err
	}
	pw, err := unusablePassword()
	if err != nil {
		return err
	}
	// The password is never logged, returned or stored: it exists only to make the user CONFIRMED.
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String(username), Password: aws.String(pw), Permanent: true}); err != nil {
		return fmt.Errorf("set an unusable password: %w", err)
	}
	return nil
}

// unusablePassword is 100 characters (the longest minimum length a pool can require is 99) with
// 576 random bits and every character class a password policy can require.
func unusablePassword() (string, error) {
	b := make([]byte, 72)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return "Aa1!" + base64.RawURLEncoding.EncodeToString(b), nil
}
