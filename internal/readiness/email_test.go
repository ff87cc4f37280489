package readiness_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/readiness"
)

// TestEmailSenderOfRecoveryPools: a pool recovery depends on that sends email with Cognito's
// default sender (50 a day for the account) fails readiness once recovery has more users to email
// than that, and the finding names SES (DEVELOPER) as the fix.
func TestEmailSenderOfRecoveryPools(t *testing.T) {
	f := newFixture(t) // Tokyo holds 300 users
	tests := []struct {
		name   string
		email  *types.EmailConfigurationType
		status readiness.Status
		want   []string
	}{
		{"no EmailConfiguration", nil, readiness.Fail, []string{"the DR pool", "Cognito's default sender", "50 emails a day", "about 300 users", "DEVELOPER"}},
		{"COGNITO_DEFAULT", &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeCognitoDefault}, readiness.Fail, []string{"the DR pool", "SES", "DEVELOPER"}},
		{"SES", devstack.OsakaPool().CreatePoolInput().EmailConfiguration, readiness.OK, []string{"SES (DEVELOPER)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := devstack.OsakaPool().CreatePoolInput()
			in.EmailConfiguration = tt.email
			dr, err := f.stack.Cognito.CreatePool(f.Osaka.Region, in)
			if err != nil {
				t.Fatal(err)
			}
			c := get(t, f.check(t, f.config(dr)), readiness.CheckEmail)
			if c.Status != tt.status {
				t.Errorf("email-sending %s %q, want %s", c.Status, c.Reason, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.Reason, w) {
					t.Errorf("reason %q does not say %q", c.Reason, w)
				}
			}
		})
	}
}

// TestEmailSenderOfThePrimary: failback emails the users it brings back to the primary, so a
// primary on the default sender fails the same way, counted by the larger pool.
func TestEmailSenderOfThePrimary(t *testing.T) {
	f := newFixture(t)
	in := devstack.TokyoPool(0).CreatePoolInput()
	in.EmailConfiguration = nil
	empty, err := f.stack.Cognito.CreatePool(f.Tokyo.Region, in)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config(f.OsakaID)
	cfg.PrimaryPool = empty
	c := get(t, f.check(t, cfg), readiness.CheckEmail)
	if c.Status != readiness.Fail || !strings.Contains(c.Reason, "the primary pool "+empty) || !strings.Contains(c.Reason, "DEVELOPER") {
		t.Errorf("empty primary on the default sender, 300 users in DR: %s %q, want FAIL naming the primary and SES", c.Status, c.Reason)
	}
}
