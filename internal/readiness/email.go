package readiness

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/preflight"
)

// CheckEmail is the check that the pools recovery depends on can send the emails it needs.
const CheckEmail = "email-sending"

// CognitoDailyEmails is how many emails Cognito's default sender (EmailSendingAccount
// COGNITO_DEFAULT, also a pool without EmailConfiguration) sends a day per account, all pools
// together; not adjustable (Cognito quotas page, "Email messages sent daily per AWS account").
const CognitoDailyEmails = 50

// email checks both pools' email sender. In the DR Region every user's first sign-in is a
// password reset by email (imports carry no password); failback sends invitations and, after its
// import, every imported user resets by email in the primary. Cognito's default sender stops at
// 50 emails a day for the whole account (LimitExceededException), so a pool recovery depends on
// must send with SES (DEVELOPER) once it holds more users than that.
func (c *Checker) email(ctx context.Context, cfg Config) Check {
	var f findings
	pools := []struct {
		role, id, region, why string
	}{
		{"DR", cfg.DRPool, cfg.DRRegion, "every user's first DR sign-in is a password reset by email"},
		{"primary", cfg.PrimaryPool, cfg.PrimaryRegion, "failback's invitations and the imported users' password resets are emails"},
	}
	var users int32
	described := make([]*types.UserPoolType, len(pools))
	for i, p := range pools {
		d, err := preflight.DescribePool(ctx, c.Cognito(p.region), p.id, p.region)
		if err != nil {
			return failed(CheckEmail, err)
		}
		described[i] = d
		users = max(users, d.EstimatedNumberOfUsers)
	}
	for i, p := range pools {
		if !cognitoSender(described[i]) {
			continue
		}
		if users > CognitoDailyEmails {
			f.failf("the %s pool %s sends email with Cognito's default sender, %d emails a day for the whole account, and recovery has about %d users to email (%s): configure SES for it (EmailConfiguration EmailSendingAccount DEVELOPER with a verified SES identity)",
				p.role, p.id, CognitoDailyEmails, users, p.why)
		} else {
			f.warnf("the %s pool %s sends email with Cognito's default sender (%d emails a day for the whole account): enough for %d users today, not as the pool grows; configure SES (DEVELOPER)",
				p.role, p.id, CognitoDailyEmails, users)
		}
	}
	return f.check(CheckEmail, "both pools send email with SES (DEVELOPER)")
}

// cognitoSender reports whether a pool sends email with Cognito's default sender.
func cognitoSender(p *types.UserPoolType) bool {
	c := p.EmailConfiguration
	return c == nil || c.EmailSendingAccount == "" || c.EmailSendingAccount == types.EmailSendingAccountTypeCognitoDefault
}
