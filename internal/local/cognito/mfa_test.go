package cognito

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

const msgMfaNeedsSMS = "SMS configuration and Auto verification for phone_number are required when MFA is required/optional"

// TestMfaWithoutSMSRefused: CreateUserPool refuses MFA ON or OPTIONAL without an SMS
// configuration (public reports 2018-2024), and UpdateUserPool refuses turning MFA on; TOTP-only
// MFA comes from SetUserPoolMfaConfig. A refused update changes nothing.
func TestMfaWithoutSMSRefused(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, testRegion)
	for _, mfa := range []types.UserPoolMfaType{types.UserPoolMfaTypeOn, types.UserPoolMfaTypeOptional} {
		in := plainPoolInput()
		in.MfaConfiguration = mfa
		if _, err := c.CreateUserPool(ctx, in); apiCode(err) != "InvalidParameterException" || apiMessage(err) != msgMfaNeedsSMS {
			t.Errorf("CreateUserPool MFA %s without SMS: %v, want InvalidParameterException %q", mfa, err, msgMfaNeedsSMS)
		}
	}
	id := createTOTPPool(t, c, plainPoolInput()) // MFA OFF
	tests := []struct {
		mfa  types.UserPoolMfaType
		want string
	}{
		{types.UserPoolMfaTypeOn, "Cannot turn MFA functionality ON, once the user pool has been created."},
		{types.UserPoolMfaTypeOptional, msgMfaNeedsSMS},
	}
	for _, tt := range tests {
		_, err := c.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: &id, MfaConfiguration: tt.mfa,
			LambdaConfig: &types.LambdaConfigType{PostConfirmation: aws.String(postConfirmationARN)}})
		if apiCode(err) != "InvalidParameterException" || apiMessage(err) != tt.want {
			t.Errorf("UpdateUserPool OFF -> %s: %v, want InvalidParameterException %q", tt.mfa, err, tt.want)
		}
	}
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		t.Fatal(err)
	}
	if d.UserPool.LambdaConfig != nil || d.UserPool.MfaConfiguration != types.UserPoolMfaTypeOff || len(d.UserPool.AutoVerifiedAttributes) != 1 {
		t.Errorf("after refused updates: triggers %+v, MFA %s, auto-verified %v; want the pool untouched", d.UserPool.LambdaConfig, d.UserPool.MfaConfiguration, d.UserPool.AutoVerifiedAttributes)
	}
}

// attachTrigger is the README's attach procedure: DescribeUserPool, then UpdateUserPool with every
// updatable setting of the description (MfaConfiguration included) and one more trigger.
func attachTrigger(ctx context.Context, c *cip.Client, id, arn string) error {
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		return err
	}
	p := d.UserPool
	lc := &types.LambdaConfigType{}
	if p.LambdaConfig != nil {
		*lc = *p.LambdaConfig
	}
	lc.PostConfirmation = aws.String(arn)
	_, err = c.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{
		UserPoolId: &id, PoolName: p.Name, LambdaConfig: lc, Policies: p.Policies, DeletionProtection: p.DeletionProtection,
		MfaConfiguration: p.MfaConfiguration, AutoVerifiedAttributes: p.AutoVerifiedAttributes,
		AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig,
		DeviceConfiguration: p.DeviceConfiguration, EmailConfiguration: p.EmailConfiguration,
		EmailVerificationMessage: p.EmailVerificationMessage, EmailVerificationSubject: p.EmailVerificationSubject,
		SmsAuthenticationMessage: p.SmsAuthenticationMessage, SmsConfiguration: p.SmsConfiguration,
		SmsVerificationMessage: p.SmsVerificationMessage, UserAttributeUpdateSettings: p.UserAttributeUpdateSettings,
		UserPoolAddOns: p.UserPoolAddOns, UserPoolTags: p.UserPoolTags, VerificationMessageTemplate: p.VerificationMessageTemplate,
		UserPoolTier: p.UserPoolTier,
	})
	return err
}

type mfaState struct {
	Mfa      types.UserPoolMfaType
	TOTP     bool
	Triggers string
}

func readMfaState(t *testing.T, c *cip.Client, id string) mfaState {
	t.Helper()
	d, err := c.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.GetUserPoolMfaConfig(t.Context(), &cip.GetUserPoolMfaConfigInput{UserPoolId: &id})
	if err != nil {
		t.Fatal(err)
	}
	s := mfaState{Mfa: d.UserPool.MfaConfiguration, TOTP: m.SoftwareTokenMfaConfiguration != nil && m.SoftwareTokenMfaConfiguration.Enabled}
	if d.UserPool.LambdaConfig != nil {
		s.Triggers = aws.ToString(d.UserPool.LambdaConfig.PostConfirmation)
	}
	return s
}

// TestAttachTriggerKeepsMFA: attaching a trigger to a TOTP-only MFA pool with the README's
// procedure keeps MFA ON with TOTP; if AWS refuses the update (the strict reading of the public
// reports) the pool is untouched, MFA still ON. An update that leaves MfaConfiguration out turns
// MFA OFF, which is why the procedure always carries it.
func TestAttachTriggerKeepsMFA(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, testRegion)
	in := plainPoolInput()
	in.MfaConfiguration = types.UserPoolMfaTypeOn
	id := createTOTPPool(t, c, in)
	before := mfaState{Mfa: types.UserPoolMfaTypeOn, TOTP: true}
	if diff := cmp.Diff(before, readMfaState(t, c, id)); diff != "" {
		t.Fatalf("TOTP-only pool (-want +got):\n%s", diff)
	}

	e.SetStrictMfaUpdate(true)
	err := attachTrigger(ctx, c, id, postConfirmationARN)
	if apiCode(err) != "InvalidParameterException" || apiMessage(err) != msgMfaNeedsSMS {
		t.Errorf("strict: attach = %v, want the SMS refusal", err)
	}
	if diff := cmp.Diff(before, readMfaState(t, c, id)); diff != "" {
		t.Errorf("after a refused attach (-want +got):\n%s", diff)
	}

	e.SetStrictMfaUpdate(false)
	if err := attachTrigger(ctx, c, id, postConfirmationARN); err != nil {
		t.Fatalf("attach: %v", err)
	}
	if diff := cmp.Diff(mfaState{Mfa: types.UserPoolMfaTypeOn, TOTP: true, Triggers: postConfirmationARN}, readMfaState(t, c, id)); diff != "" {
		t.Errorf("after attach (-want +got):\n%s", diff)
	}

	if _, err := c.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: &id, AutoVerifiedAttributes: in.AutoVerifiedAttributes}); err != nil {
		t.Fatal(err)
	}
	if got := readMfaState(t, c, id).Mfa; got != types.UserPoolMfaTypeOff {
		t.Errorf("an update without MfaConfiguration left MFA %s; the emulator must show the reset the procedure guards against", got)
	}
}

// TestDisableUserLastModified: whether AdminDisableUser moves UserLastModifiedDate is not
// documented; the emulator moves it unless told not to, so workflows can be run both ways.
func TestDisableUserLastModified(t *testing.T) {
	for _, keep := range []bool{false, true} {
		clock := &fakeClock{t: testNow}
		e := New(Options{Seed: 42, Clock: clock.Now, DisableQuotas: true})
		e.SetEnableKeepsModified(keep)
		c := newTestClient(t, e, testRegion)
		id, err := e.CreatePool(testRegion, plainPoolInput())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("dan"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		if _, err := c.AdminDisableUser(t.Context(), &cip.AdminDisableUserInput{UserPoolId: &id, Username: aws.String("dan")}); err != nil {
			t.Fatal(err)
		}
		u, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: &id, Username: aws.String("dan")})
		if err != nil {
			t.Fatal(err)
		}
		want := testNow.Add(time.Hour)
		if keep {
			want = testNow
		}
		if u.Enabled || !u.UserLastModifiedDate.Equal(want) {
			t.Errorf("keep=%v: enabled %v, UserLastModifiedDate %v, want disabled at %v", keep, u.Enabled, u.UserLastModifiedDate, want)
		}
	}
}
