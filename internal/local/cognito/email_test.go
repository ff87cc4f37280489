package cognito

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// verifyPoolInput is a pool with plain usernames that auto-verifies email.
func verifyPoolInput(name string) *cip.CreateUserPoolInput {
	return &cip.CreateUserPoolInput{
		PoolName:               aws.String(name),
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
	}
}

// TestDefaultSenderDailyEmailLimit: Cognito's default sender sends 50 emails a day per account
// (all pools together), then refuses the operation that would send one with
// LimitExceededException, changing nothing; the count starts again at 09:00 UTC. A pool that
// sends with SES (DEVELOPER) is not limited.
func TestDefaultSenderDailyEmailLimit(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	e := New(Options{Seed: 42, Clock: clock.Now, DisableQuotas: true})
	c := newTestClient(t, e, testRegion)
	def, err := e.CreatePool(testRegion, verifyPoolInput("default"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.CreatePool(testRegion, &cip.CreateUserPoolInput{PoolName: aws.String("explicit"),
		EmailConfiguration: &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeCognitoDefault}})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := e.CreatePool(testRegion, &cip.CreateUserPoolInput{PoolName: aws.String("ses"),
		EmailConfiguration: &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeDeveloper, SourceArn: aws.String("arn:aws:ses:ap-northeast-1:123456789012:identity/example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	invite := func(pool, name string) error {
		_, err := c.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(name),
			UserAttributes:         []types.AttributeType{{Name: aws.String("email"), Value: aws.String(name + "@example.com")}},
			DesiredDeliveryMediums: []types.DeliveryMediumType{types.DeliveryMediumTypeEmail}})
		return err
	}
	for i := range DefaultDailyEmails {
		pool := def
		if i%2 == 1 {
			pool = other // the quota is the account's, not the pool's
		}
		if err := invite(pool, fmt.Sprintf("u%02d", i)); err != nil {
			t.Fatalf("email %d: %v", i+1, err)
		}
	}
	err = invite(def, "over")
	if apiCode(err) != "LimitExceededException" || apiMessage(err) != "Exceeded daily email limit for the operation or the account. If a higher limit is required, please configure your user pool to use your own Amazon SES configuration for sending email." {
		t.Errorf("51st email: %v, want LimitExceededException naming SES", err)
	}
	if _, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(def), Username: aws.String("over")}); apiCode(err) != "UserNotFoundException" {
		t.Errorf("the refused invitation created its user: %v", err)
	}
	if _, err := c.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(def), Username: aws.String("quiet"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("quiet@example.com")}}}); err != nil {
		t.Errorf("SUPPRESS sends nothing and is not limited: %v", err)
	}
	if err := invite(ses, "ses-user"); err != nil {
		t.Errorf("a DEVELOPER (SES) pool is limited: %v", err)
	}
	clock.Advance(59 * time.Minute) // 08:59 UTC: still the same day
	if err := invite(def, "early"); apiCode(err) != "LimitExceededException" {
		t.Errorf("at 08:59 UTC: %v, want LimitExceededException", err)
	}
	clock.Advance(time.Minute) // 09:00 UTC: a new day
	if err := invite(def, "next-day"); err != nil {
		t.Errorf("after 09:00 UTC: %v", err)
	}
}

// TestForgotPasswordCountsAgainstEmailLimit: the DR pool's recovery path (ForgotPassword by
// email) is what the daily limit stops first.
func TestForgotPasswordCountsAgainstEmailLimit(t *testing.T) {
	env := newAuthEnv(t, plainPoolInput(), nil)
	if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Username: "erin", Enabled: true, Status: "CONFIRMED",
		Attributes: map[string]string{"email": "erin@example.com", "email_verified": "true"}}}); err != nil {
		t.Fatal(err)
	}
	env.e.SetDailyEmailLimit(1)
	forgot := func() error {
		_, err := env.c.ForgotPassword(t.Context(), &cip.ForgotPasswordInput{ClientId: &env.clientID, Username: aws.String("erin")})
		return err
	}
	if err := forgot(); err != nil {
		t.Fatalf("first ForgotPassword: %v", err)
	}
	before := len(env.e.Outbox())
	if err := forgot(); apiCode(err) != "LimitExceededException" {
		t.Errorf("second ForgotPassword: %v, want LimitExceededException", err)
	}
	if len(env.e.Outbox()) != before {
		t.Errorf("a refused ForgotPassword still sent a message")
	}
}

// TestChangedEmailVerification: changing email with AdminUpdateUserAttributes sends a code to the
// new address unless email_verified=true is in the same call; with
// AttributesRequireVerificationBeforeUpdate the original, verified value stays until the user
// verifies the new one.
func TestChangedEmailVerification(t *testing.T) {
	keep := verifyPoolInput("keep")
	keep.UserAttributeUpdateSettings = &types.UserAttributeUpdateSettingsType{
		AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}}
	tests := []struct {
		name         string
		pool         *cip.CreateUserPoolInput
		verifiedFlag bool
		wantEmail    string
		wantVerified string
		wantCode     bool
	}{
		{"change, no flag", verifyPoolInput("plain"), false, "new@example.com", "false", true},
		{"change with email_verified=true", verifyPoolInput("plain"), true, "new@example.com", "true", false},
		{"keep original, no flag", keep, false, "old@example.com", "true", true},
		{"keep original, with email_verified=true", keep, true, "new@example.com", "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEmulator()
			c := newTestClient(t, e, testRegion)
			id, err := e.CreatePool(testRegion, tt.pool)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("amy"), MessageAction: types.MessageActionTypeSuppress,
				UserAttributes: attrs("email", "old@example.com", "email_verified", "true")}); err != nil {
				t.Fatal(err)
			}
			upd := attrs("email", "new@example.com")
			if tt.verifiedFlag {
				upd = attrs("email", "new@example.com", "email_verified", "true")
			}
			if _, err := c.AdminUpdateUserAttributes(t.Context(), &cip.AdminUpdateUserAttributesInput{UserPoolId: &id, Username: aws.String("amy"), UserAttributes: upd}); err != nil {
				t.Fatal(err)
			}
			u, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: &id, Username: aws.String("amy")})
			if err != nil {
				t.Fatal(err)
			}
			got := attrMap(u.UserAttributes)
			if got["email"] != tt.wantEmail || got["email_verified"] != tt.wantVerified {
				t.Errorf("email %q verified %q, want %q %q", got["email"], got["email_verified"], tt.wantEmail, tt.wantVerified)
			}
			var sent []string
			for _, m := range e.Outbox() {
				if m.Kind == KindVerifyAttribute {
					sent = append(sent, m.Destination)
				}
			}
			if tt.wantCode != (len(sent) == 1 && sent[0] == "new@example.com") || (!tt.wantCode && len(sent) > 0) {
				t.Errorf("verification messages to %v, want one to new@example.com: %v", sent, tt.wantCode)
			}
		})
	}
}
