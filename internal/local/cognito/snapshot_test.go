package cognito

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSaveLoad: an emulator loaded from another's Save has the same pool (id, configuration),
// groups and users, and a user signs in with the password set before the save.
func TestSaveLoad(t *testing.T) {
	ctx := t.Context()
	env := newAuthEnv(t, plainPoolInput(), nil)
	c := env.c
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &env.poolID, Username: aws.String("dave"),
		UserAttributes: attrs("email", "dave@example.jp", "email_verified", "true"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &env.poolID, Username: aws.String("dave"), Password: aws.String("Perm-password-4"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &env.poolID, GroupName: aws.String("admins"), Precedence: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &env.poolID, Username: aws.String("dave"), GroupName: aws.String("admins")}); err != nil {
		t.Fatal(err)
	}
	// What a user of the API sees of the pool.
	look := func(c *cip.Client) []any {
		t.Helper()
		pool, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &env.poolID})
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("dave")})
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &env.poolID, Username: aws.String("dave")})
		if err != nil {
			t.Fatal(err)
		}
		return []any{pool.UserPool, u.Username, u.UserAttributes, u.UserStatus, u.Enabled, u.UserCreateDate, u.UserLastModifiedDate, g.Groups}
	}
	before := look(c)
	var saved bytes.Buffer
	if err := env.e.Save(&saved); err != nil {
		t.Fatal(err)
	}

	e2 := New(Options{Seed: 7, Clock: env.clock.Now, DisableQuotas: true})
	if err := e2.Load(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	c2 := newTestClient(t, e2, testRegion)
	after := look(c2)
	if diff := cmp.Diff(before, after, cmpopts.IgnoreUnexported(types.UserPoolType{}, types.AttributeType{}, types.GroupType{}, types.SchemaAttributeType{},
		types.StringAttributeConstraintsType{}, types.NumberAttributeConstraintsType{}, types.UserPoolPolicyType{}, types.PasswordPolicyType{},
		types.VerificationMessageTemplateType{}, types.AdminCreateUserConfigType{}, types.MessageTemplateType{}, types.AccountRecoverySettingType{},
		types.RecoveryOptionType{}, types.EmailConfigurationType{}, types.UsernameConfigurationType{}, types.SignInPolicyType{}, types.LambdaConfigType{},
		types.UserPoolAddOnsType{}, types.DeviceConfigurationType{}, types.SmsConfigurationType{}, types.UserAttributeUpdateSettingsType{})); diff != "" {
		t.Errorf("after load (-before +after):\n%s", diff)
	}
	if err := e2.Load(bytes.NewReader(saved.Bytes())); err == nil {
		t.Error("loading the same pool twice: no error")
	}
	client, err := c2.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &env.poolID, ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c2.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: client.UserPoolClient.ClientId, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "dave", "PASSWORD": "Perm-password-4"}})
	if err != nil || out.AuthenticationResult == nil {
		t.Errorf("sign-in with the password set before the save: %v", err)
	}
}
