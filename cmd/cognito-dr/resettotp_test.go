package main

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
)

// TestResetTOTPCommand removes a seeded user's TOTP factor through the command, as an operator
// would after a failback, and reports users that do not exist.
func TestResetTOTPCommand(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Clients.Cognito(sc.Tokyo.Region)
	mfa := func(email string) []string {
		u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(sc.TokyoID), Username: aws.String(email)})
		if err != nil {
			t.Fatal(err)
		}
		return u.UserMFASettingList
	}
	email := devstack.Email(0)
	if !slices.Contains(mfa(email), "SOFTWARE_TOKEN_MFA") {
		t.Fatalf("seeded user %s has no TOTP to reset: %v", email, mfa(email))
	}
	t.Setenv("AWS_ENDPOINT_URL", st.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	if err := runResetTOTP(ctx, []string{"-pool", sc.TokyoID, "-region", sc.Tokyo.Region, "-user", email, "-user", "nobody@example.jp"}); err != nil {
		t.Fatal(err)
	}
	if got := mfa(email); slices.Contains(got, "SOFTWARE_TOKEN_MFA") {
		t.Errorf("after reset-totp, %s still has %v", email, got)
	}
	if got := mfa(devstack.Email(1)); !slices.Contains(got, "SOFTWARE_TOKEN_MFA") {
		t.Errorf("a user not listed lost its TOTP: %v", got)
	}
}
