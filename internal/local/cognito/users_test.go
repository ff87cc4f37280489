package cognito

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func TestAdminCreateUser(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, err := e.CreatePool(testRegion, emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, e, testRegion)

	out, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:     &id,
		Username:       aws.String("alice@example.com"),
		UserAttributes: attrs("email_verified", "true", "custom:tenant", "acme", "custom:level", "3"),
		MessageAction:  types.MessageActionTypeSuppress,
	})
	if err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	u := out.User
	got := attrMap(u.Attributes)
	sub := got["sub"]
	if parsed, err := uuid.Parse(sub); err != nil || parsed.Version() != 4 {
		t.Errorf("sub %q is not a UUID v4 (%v)", sub, err)
	}
	if aws.ToString(u.Username) != sub {
		t.Errorf("Username = %q, want the generated sub %q for an email-username pool", aws.ToString(u.Username), sub)
	}
	want := map[string]string{"sub": sub, "email": "alice@example.com", "email_verified": "true", "custom:tenant": "acme", "custom:level": "3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if u.UserStatus != types.UserStatusTypeForceChangePassword || !u.Enabled || !u.UserCreateDate.Equal(testNow) {
		t.Errorf("status %s enabled %v created %v; want FORCE_CHANGE_PASSWORD, true, %v", u.UserStatus, u.Enabled, u.UserCreateDate, testNow)
	}

	tests := []struct {
		name     string
		username string
		attrs    []types.AttributeType
		wantCode string
		wantMsg  string
	}{
		{"unknown attribute", "bob@example.com", attrs("custom:nope", "x"), "InvalidParameterException", "Attributes did not conform to the schema: Type for attribute {custom:nope} could not be determined"},
		{"too long", "bob@example.com", attrs("custom:tenant", "0123456789012345678901234567890123"), "InvalidParameterException", "Attributes did not conform to the schema: custom:tenant: String must be no longer than 32 characters"},
		{"not an email", "bob", nil, "InvalidParameterException", "Username should be an email."},
		{"duplicate email", "alice@example.com", nil, "UsernameExistsException", "An account with the given email already exists."},
		{"set sub", "carol@example.com", attrs("sub", "x"), "InvalidParameterException", "Attributes did not conform to the schema: sub: Attribute cannot be updated. (changing an immutable attribute)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: &tt.username, UserAttributes: tt.attrs, MessageAction: types.MessageActionTypeSuppress})
			if diff := cmp.Diff([]string{tt.wantCode, tt.wantMsg}, []string{apiCode(err), apiMessage(err)}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("alice@example.com")})
	var exists *types.UsernameExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate: %v, want *types.UsernameExistsException", err)
	}
}

func TestAdminCreateUserPlainUsernames(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, err := e.CreatePool(testRegion, &cip.CreateUserPoolInput{
		PoolName: aws.String("plain"),
		Schema:   []types.SchemaAttributeType{{Name: aws.String("name"), Required: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, e, testRegion)
	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("bob")})
	if diff := cmp.Diff("Attributes did not conform to the schema: name: The attribute is required", apiMessage(err)); diff != "" {
		t.Errorf("missing required (-want +got):\n%s", diff)
	}
	out, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("bob"), UserAttributes: attrs("name", "Bob")})
	if err != nil || aws.ToString(out.User.Username) != "bob" {
		t.Fatalf("AdminCreateUser bob: %+v, %v", out, err)
	}
	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("bob"), UserAttributes: attrs("name", "Bob")})
	if diff := cmp.Diff([]string{"UsernameExistsException", "User account already exists"}, []string{apiCode(err), apiMessage(err)}); diff != "" {
		t.Errorf("duplicate (-want +got):\n%s", diff)
	}
	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("weak"), UserAttributes: attrs("name", "W"), TemporaryPassword: aws.String("password1!")})
	if diff := cmp.Diff([]string{"InvalidPasswordException", "Password did not conform with policy: Password must have uppercase characters"}, []string{apiCode(err), apiMessage(err)}); diff != "" {
		t.Errorf("weak temporary password (-want +got):\n%s", diff)
	}
}

func TestUserLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, err := e.CreatePool(testRegion, emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SeedUserSlice(id, []SeedUser{
		{Username: "token-user", Attributes: map[string]string{"email": "t@example.com", "email_verified": "true"}, Enabled: true, HasSoftwareToken: true},
		{Username: "plain-user", Attributes: map[string]string{"email": "p@example.com", "email_verified": "true", "custom:level": "1"}, Enabled: true},
	}); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, e, testRegion)
	get := func(name string) *cip.AdminGetUserOutput {
		t.Helper()
		out, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &id, Username: aws.String(name)})
		if err != nil {
			t.Fatalf("AdminGetUser %s: %v", name, err)
		}
		return out
	}
	// Users are found by their email too, as Cognito's sign-in aliases are.
	if got := aws.ToString(get("p@example.com").Username); got != "plain-user" {
		t.Errorf("lookup by email found %q", got)
	}

	steps := []struct {
		name     string
		call     func() error
		wantCode string
		wantMsg  string
	}{
		{"change email resets verified", func() error {
			_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &id, Username: aws.String("plain-user"), UserAttributes: attrs("email", "p2@example.com", "custom:tenant", "t1")})
			return err
		}, "", ""},
		{"immutable refused", func() error {
			_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &id, Username: aws.String("plain-user"), UserAttributes: attrs("custom:level", "2")})
			return err
		}, "InvalidParameterException", "Attributes did not conform to the schema: custom:level: Attribute cannot be updated. (changing an immutable attribute)"},
		{"email taken", func() error {
			_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &id, Username: aws.String("plain-user"), UserAttributes: attrs("email", "t@example.com")})
			return err
		}, "AliasExistsException", "An account with the given email already exists."},
		{"required not deletable", func() error {
			_, err := c.AdminDeleteUserAttributes(ctx, &cip.AdminDeleteUserAttributesInput{UserPoolId: &id, Username: aws.String("plain-user"), UserAttributeNames: []string{"email"}})
			return err
		}, "InvalidParameterException", "Attributes did not conform to the schema: email: The attribute is required"},
		{"delete custom", func() error {
			_, err := c.AdminDeleteUserAttributes(ctx, &cip.AdminDeleteUserAttributesInput{UserPoolId: &id, Username: aws.String("plain-user"), UserAttributeNames: []string{"custom:tenant"}})
			return err
		}, "", ""},
		{"totp without token", func() error {
			_, err := c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &id, Username: aws.String("plain-user"), SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}})
			return err
		}, "InvalidParameterException", "User has not verified software token mfa"},
		{"totp with token", func() error {
			_, err := c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &id, Username: aws.String("token-user"), SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}, EmailMfaSettings: &types.EmailMfaSettingsType{Enabled: true}})
			return err
		}, "", ""},
		{"weak password", func() error {
			_, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &id, Username: aws.String("plain-user"), Password: aws.String("Short1!"), Permanent: true})
			return err
		}, "InvalidPasswordException", "Password did not conform with policy: Password not long enough"},
		{"permanent password", func() error {
			_, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &id, Username: aws.String("plain-user"), Password: aws.String("Long-enough-1"), Permanent: true})
			return err
		}, "", ""},
		{"disable", func() error {
			_, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &id, Username: aws.String("plain-user")})
			return err
		}, "", ""},
		{"unknown user", func() error {
			_, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &id, Username: aws.String("nobody")})
			return err
		}, "UserNotFoundException", "User does not exist."},
	}
	for _, s := range steps {
		err := s.call()
		if diff := cmp.Diff([]string{s.wantCode, s.wantMsg}, []string{apiCode(err), apiMessage(err)}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}

	plain := get("plain-user")
	gotAttrs := attrMap(plain.UserAttributes)
	delete(gotAttrs, "sub")
	if diff := cmp.Diff(map[string]string{"email": "p2@example.com", "email_verified": "false", "custom:level": "1"}, gotAttrs); diff != "" {
		t.Errorf("plain-user attributes (-want +got):\n%s", diff)
	}
	if plain.Enabled || plain.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("plain-user enabled %v status %s, want false CONFIRMED", plain.Enabled, plain.UserStatus)
	}
	tok := get("token-user")
	if diff := cmp.Diff([]string{"SOFTWARE_TOKEN_MFA", "EMAIL_OTP"}, tok.UserMFASettingList); diff != "" {
		t.Errorf("UserMFASettingList (-want +got):\n%s", diff)
	}
	if aws.ToString(tok.PreferredMfaSetting) != "SOFTWARE_TOKEN_MFA" {
		t.Errorf("PreferredMfaSetting = %q", aws.ToString(tok.PreferredMfaSetting))
	}

	if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &id, Username: aws.String("plain-user")}); err != nil {
		t.Fatalf("AdminDeleteUser: %v", err)
	}
	_, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &id, Username: aws.String("plain-user")})
	var nf *types.UserNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("AdminGetUser after delete: %v, want *types.UserNotFoundException", err)
	}
}

func TestInjectedFailures(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newTestClient(t, e, testRegion)
	e.SetFailureRate(1)
	_, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	var ie *types.InternalErrorException
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *types.InternalErrorException", err)
	}
	e.SetFailureRate(0)
	if _, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id}); err != nil {
		t.Fatalf("after SetFailureRate(0): %v", err)
	}
	if got := e.Stats().Failed["DescribeUserPool"]; got != 1 {
		t.Errorf("Failed[DescribeUserPool] = %d, want 1", got)
	}
}

// TestInjectedThrottling: SetThrottleRate throttles exactly that fraction of each category's
// calls however slowly they come, with quotas off, and counts them as throttled.
func TestInjectedThrottling(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	e.SetQuotas(false)
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newTestClient(t, e, testRegion)
	noRetry := func(o *cip.Options) { o.Retryer = aws.NopRetryer{} }
	e.SetThrottleRate(0.25)
	var throttled []int
	for i := range 12 {
		_, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id}, noRetry)
		var tm *types.TooManyRequestsException
		switch {
		case errors.As(err, &tm):
			throttled = append(throttled, i+1)
		case err != nil:
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if diff := cmp.Diff([]int{4, 8, 12}, throttled); diff != "" {
		t.Errorf("throttled calls (-want +got):\n%s", diff)
	}
	if got := e.Stats().Throttled[UserPoolRead]; got != 3 {
		t.Errorf("Throttled[UserPoolRead] = %d, want 3", got)
	}
	e.SetThrottleRate(0)
	if _, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id}); err != nil {
		t.Fatalf("after SetThrottleRate(0): %v", err)
	}
}

// TestUpdateOtherAttributeOfEmailUser: changing given_name of a user found by its email must not
// trip over the user's own email alias (email-as-username pools).
func TestUpdateOtherAttributeOfEmailUser(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), "ap-northeast-1")
	id := aws.String(createTOTPPool(t, c, emailPoolInput()))
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: id, Username: aws.String("amy@example.com"),
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs("email", "amy@example.com", "email_verified", "true")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: id, Username: aws.String("amy@example.com"),
		UserAttributes: attrs("given_name", "Amy")}); err != nil {
		t.Fatalf("update given_name: %v", err)
	}
	u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: id, Username: aws.String("amy@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if got := attrMap(u.UserAttributes); got["given_name"] != "Amy" || got["email_verified"] != "true" {
		t.Errorf("attributes after update: %v", got)
	}
}

// TestLostResponse: a call whose answer is lost has still taken effect; a retry of a create meets
// the user the lost call made. A test fault, not an AWS behaviour.
func TestLostResponse(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newTestClient(t, e, testRegion)
	e.LoseResponses("AdminCreateUser", 1)
	create := func() error {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("lost@example.com"),
			MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs("email", "lost@example.com", "email_verified", "true")})
		return err
	}
	var ie *types.InternalErrorException
	if err := create(); !errors.As(err, &ie) {
		t.Fatalf("create whose answer is lost: %v, want InternalErrorException", err)
	}
	var exists *types.UsernameExistsException
	if err := create(); !errors.As(err, &exists) {
		t.Fatalf("its retry: %v, want UsernameExistsException", err)
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &id, Username: aws.String("lost@example.com")}); err != nil {
		t.Errorf("the lost call did not take effect: %v", err)
	}
	if got := e.Stats().Failed["AdminCreateUser"]; got != 1 {
		t.Errorf("Failed[AdminCreateUser] = %d, want 1", got)
	}
}

// TestInjectedFailuresPerOperation: SetFailureRate fails that fraction of each operation's calls,
// counted per operation, so an operation called often enough always sees failures whatever else
// is called in between.
func TestInjectedFailuresPerOperation(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	e.SetQuotas(false)
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	c := newTestClient(t, e, testRegion)
	noRetry := func(o *cip.Options) { o.Retryer = aws.NopRetryer{} }
	e.SetFailureRate(0.2)
	var failed []int
	for i := range 10 {
		// Another operation's calls between do not move ListUsers' count.
		_, _ = c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id}, noRetry)
		_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &id}, noRetry)
		var ie *types.InternalErrorException
		switch {
		case errors.As(err, &ie):
			failed = append(failed, i+1)
		case err != nil:
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if diff := cmp.Diff([]int{5, 10}, failed); diff != "" {
		t.Errorf("failed ListUsers calls (-want +got):\n%s", diff)
	}
	if got := e.Stats().Failed; got["ListUsers"] != 2 || got["DescribeUserPool"] != 2 {
		t.Errorf("Failed = %v, want 2 of each operation", got)
	}
}
