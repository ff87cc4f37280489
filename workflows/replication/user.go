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

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
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

func (c *poolCache) get(ctx context.Context, dr DR, id string) (poolInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info != nil {
		return *c.info, nil
	}
	out, err := dr.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if err != nil {
		return poolInfo{}, fmt.Errorf("describe DR pool %s: %w", id, err)
	}
	info := describePool(out.UserPool)
	c.info = &info
	return info, nil
}

// Quota categories the copy waits on before each call.
const (
	catCreation = "UserCreation"
	catUpdate   = "UserUpdate"
	catResource = "UserResourceUpdate"
	catRecovery = "UserAccountRecovery"
	catRead     = "UserRead"
)

// pacer waits for the quota of a category; the trigger copies one user and does not wait.
type pacer func(ctx context.Context, category string) error

func noPacing(context.Context, string) error { return nil }

// upsert is the idempotent copy of one user to the DR pool: create it, or update it when it
// exists. A copy that is new, or still FORCE_CHANGE_PASSWORD from an earlier half-done copy,
// gets a random password nobody knows, set permanent: that makes it CONFIRMED, and only a
// CONFIRMED user can use ForgotPassword (a FORCE_CHANGE_PASSWORD user cannot), which is how the
// user sets a password of their own in the DR pool. An existing CONFIRMED copy keeps its
// password: the user may already have reset it there.
func upsert(ctx context.Context, c DR, pool, username string, create, update map[string]string, pace pacer) (created bool, err error) {
	if err := pace(ctx, catCreation); err != nil {
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
		if err := pace(ctx, catUpdate); err != nil {
			return false, err
		}
		if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool), Username: aws.String(username), UserAttributes: attributeList(update)}); err != nil {
			return false, fmt.Errorf("update existing user: %w", err)
		}
	}
	if err := pace(ctx, catRead); err != nil {
		return false, err
	}
	got, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
	if err != nil {
		return false, fmt.Errorf("read existing user: %w", err)
	}
	if got.UserStatus == types.UserStatusTypeForceChangePassword {
		return false, setUnusablePassword(ctx, c, pool, username, pace)
	}
	return false, nil
}

func setUnusablePassword(ctx context.Context, c DR, pool, username string, pace pacer) error {
	if err := pace(ctx, catRecovery); err != nil {
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
