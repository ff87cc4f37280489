package cognito

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

func TestPostConfirmationFailures(t *testing.T) {
	ctx := context.Background()
	// The "timeout" function answers only when the test ends, long past the trigger timeout.
	testEnded := make(chan struct{})
	t.Cleanup(func() { close(testEnded) })
	tests := []struct {
		name    string
		fn      LambdaFunc // nil: nothing bound to the ARN
		wantErr string
	}{
		{"error", func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errors.New("boom") },
			"UserLambdaValidationException: PostConfirmation failed with error boom."},
		{"timeout", func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
			<-testEnded
			return ev, nil
		}, "UnexpectedLambdaException: PostConfirmation invocation failed due to error Socket timeout while invoking Lambda function."},
		{"panic", func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("nil map") },
			"UserLambdaValidationException: PostConfirmation failed with error nil map."},
		{"not bound", nil, "UnexpectedLambdaException: PostConfirmation invocation failed due to error ResourceNotFoundException."},
		{"typed handler", TypedLambda(func(_ context.Context, ev events.CognitoEventUserPoolsPostConfirmation) (events.CognitoEventUserPoolsPostConfirmation, error) {
			return ev, nil
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newAuthEnv(t, mfaPoolInput(), nil)
			if tt.fn != nil {
				env.e.RegisterLambda(postConfirmationARN, tt.fn)
			}
			if tt.name == "timeout" {
				env.e.SetTriggerTimeout(200 * time.Millisecond) // not Cognito's 5 s: the test would wait them
			}
			const email = "bob@example.com"
			if _, err := env.c.SignUp(ctx, &cip.SignUpInput{ClientId: &env.clientID, Username: aws.String(email), Password: aws.String(testPassword)}); err != nil {
				t.Fatal(err)
			}
			code, _ := env.e.LastCode(env.poolID, email, KindSignUp)
			_, err := env.c.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: &env.clientID, Username: aws.String(email), ConfirmationCode: &code})
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("ConfirmSignUp (-want +got):\n%s", diff)
			}
			// Cognito confirms before it runs the trigger, and a failing trigger does not undo it.
			u, err := env.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String(email)})
			if err != nil || u.UserStatus != types.UserStatusTypeConfirmed {
				t.Errorf("after ConfirmSignUp: %v, status %s; want CONFIRMED", err, u.UserStatus)
			}
		})
	}
}

func TestAdminConfirmSignUpTrigger(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, mfaPoolInput(), nil)
	var post triggerLog
	env.e.RegisterLambda(postConfirmationARN, post.echo)
	if _, err := env.c.SignUp(ctx, &cip.SignUpInput{ClientId: &env.clientID, Username: aws.String("carol@example.com"), Password: aws.String(testPassword)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: &env.poolID, Username: aws.String("carol@example.com")}); err != nil {
		t.Fatalf("AdminConfirmSignUp: %v", err)
	}
	var ev events.CognitoEventUserPoolsPostConfirmation
	if evs := post.all(); len(evs) != 1 || json.Unmarshal(evs[0], &ev) != nil {
		t.Fatalf("PostConfirmation events: %d", len(evs))
	}
	got := []string{ev.TriggerSource, ev.CallerContext.ClientID, ev.Request.UserAttributes["email_verified"]}
	if diff := cmp.Diff([]string{"PostConfirmation_ConfirmSignUp", "CLIENT_ID_NOT_APPLICABLE", ""}, got); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	_, err := env.c.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: &env.poolID, Username: aws.String("carol@example.com")})
	if diff := cmp.Diff("NotAuthorizedException: User cannot be confirmed. Current status is CONFIRMED", errString(err)); diff != "" {
		t.Errorf("second AdminConfirmSignUp (-want +got):\n%s", diff)
	}
}

func TestSignInOutcomes(t *testing.T) {
	ctx := context.Background()
	seed := []SeedUser{
		{Username: "ok", Enabled: true, Password: testPassword},
		{Username: "off", Enabled: false, Password: testPassword},
		{Username: "imported", Enabled: true, Status: "RESET_REQUIRED", Attributes: map[string]string{"email": "i@example.com", "email_verified": "true"}},
		{Username: "pending", Enabled: true, Status: "UNCONFIRMED", Password: testPassword},
		{Username: "invited", Enabled: true, Status: "FORCE_CHANGE_PASSWORD", Password: testPassword},
	}
	tests := []struct {
		name, username, password string
		hideUsers                bool
		wantErr                  string
		wantChallenge            types.ChallengeNameType
	}{
		{name: "tokens", username: "ok", password: testPassword},
		{name: "wrong password", username: "ok", password: "Wrong-pass-1", wantErr: "NotAuthorizedException: Incorrect username or password."},
		{name: "unknown user", username: "ghost", password: testPassword, wantErr: "UserNotFoundException: User does not exist."},
		{name: "unknown user hidden", username: "ghost", password: testPassword, hideUsers: true, wantErr: "NotAuthorizedException: Incorrect username or password."},
		{name: "disabled", username: "off", password: testPassword, wantErr: "NotAuthorizedException: User is disabled."},
		{name: "reset required", username: "imported", password: "anything", wantErr: "PasswordResetRequiredException: Password reset required for the user"},
		{name: "unconfirmed", username: "pending", password: testPassword, wantErr: "UserNotConfirmedException: User is not confirmed."},
		{name: "temporary password", username: "invited", password: testPassword, wantChallenge: types.ChallengeNameTypeNewPasswordRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &cip.CreateUserPoolClientInput{}
			if tt.hideUsers {
				client.PreventUserExistenceErrors = types.PreventUserExistenceErrorTypesEnabled
			}
			env := newAuthEnv(t, plainPoolInput(), client)
			if err := env.e.SeedUserSlice(env.poolID, seed); err != nil {
				t.Fatal(err)
			}
			out, err := env.signIn(ctx, tt.username, tt.password)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Fatalf("InitiateAuth (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if out.ChallengeName != tt.wantChallenge {
				t.Errorf("challenge %q, want %q", out.ChallengeName, tt.wantChallenge)
			}
			if tt.wantChallenge == "" && (out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.TokenType) != "Bearer" || out.AuthenticationResult.ExpiresIn != 3600) {
				t.Errorf("AuthenticationResult = %+v, want Bearer tokens for 3600 s", out.AuthenticationResult)
			}
		})
	}
}

func TestNewPasswordRequired(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, plainPoolInput(), nil)
	// An invitation by email carries the temporary password.
	_, err := env.c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: &env.poolID, Username: aws.String("dave"), DesiredDeliveryMediums: []types.DeliveryMediumType{types.DeliveryMediumTypeEmail},
		UserAttributes: attrs("email", "dave@example.com", "email_verified", "true"),
	})
	if err != nil {
		t.Fatal(err)
	}
	temp, ok := env.e.LastCode(env.poolID, "dave", KindInvitation)
	if !ok {
		t.Fatal("no invitation in the outbox")
	}
	_, err = env.c.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &env.clientID, Username: aws.String("dave")})
	if diff := cmp.Diff("NotAuthorizedException: User password cannot be reset in the current state.", errString(err)); diff != "" {
		t.Errorf("ForgotPassword of a FORCE_CHANGE_PASSWORD user (-want +got):\n%s", diff)
	}
	start, err := env.signIn(ctx, "dave", temp)
	if err != nil || start.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("sign-in with the temporary password: %v, %q", err, start.ChallengeName)
	}
	_, err = env.respond(ctx, types.ChallengeNameTypeNewPasswordRequired, start.Session, map[string]string{"USERNAME": "dave", "NEW_PASSWORD": "short"})
	var weak *types.InvalidPasswordException
	if !errors.As(err, &weak) {
		t.Errorf("weak new password: %v, want InvalidPasswordException", err)
	}
	done, err := env.respond(ctx, types.ChallengeNameTypeNewPasswordRequired, start.Session, map[string]string{"USERNAME": "dave", "NEW_PASSWORD": "New-password-2", "userAttributes.name": "Dave"})
	if err != nil || done.AuthenticationResult == nil {
		t.Fatalf("NEW_PASSWORD_REQUIRED: %v", err)
	}
	u, _ := env.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("dave")})
	if u.UserStatus != types.UserStatusTypeConfirmed || attrMap(u.UserAttributes)["name"] != "Dave" {
		t.Errorf("after NEW_PASSWORD_REQUIRED: status %s, attributes %v", u.UserStatus, attrMap(u.UserAttributes))
	}
	if _, err := env.signIn(ctx, "dave", temp); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("old temporary password: %v, want NotAuthorizedException", err)
	}
	if out, err := env.signIn(ctx, "dave", "New-password-2"); err != nil || out.AuthenticationResult == nil {
		t.Errorf("new password: %v", err)
	}

	// A temporary password expires after the policy's TemporaryPasswordValidityDays (7).
	if _, err := env.c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &env.poolID, Username: aws.String("dave"), Password: aws.String("Temp-password-3")}); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(8 * 24 * time.Hour)
	_, err = env.signIn(ctx, "dave", "Temp-password-3")
	if diff := cmp.Diff("NotAuthorizedException: Temporary password has expired and must be reset by an administrator.", errString(err)); diff != "" {
		t.Errorf("expired temporary password (-want +got):\n%s", diff)
	}
	if _, err := env.c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &env.poolID, Username: aws.String("dave"), Password: aws.String("Perm-password-4"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if out, err := env.signIn(ctx, "dave", "Perm-password-4"); err != nil || out.AuthenticationResult == nil {
		t.Errorf("permanent password from AdminSetUserPassword: %v", err)
	}
}

// TestResetRequiredRecovery is the DR user's path: an imported (RESET_REQUIRED) user resets the
// password with an emailed code, then sets up MFA.
func TestResetRequiredRecovery(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, mfaPoolInput(), nil)
	var post triggerLog
	env.e.RegisterLambda(postConfirmationARN, post.echo)
	env.e.RegisterLambda(preTokenARN, (&triggerLog{}).addClaim("dr:primary_sub", "x"))
	const email = "erin@example.com"
	err := env.e.SeedUserSlice(env.poolID, []SeedUser{
		{Enabled: true, Status: "RESET_REQUIRED", Attributes: map[string]string{"email": email, "email_verified": "true"}},
		{Enabled: true, Status: "RESET_REQUIRED", Attributes: map[string]string{"email": "unverified@example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.signIn(ctx, email, "whatever")
	var reset *types.PasswordResetRequiredException
	if !errors.As(err, &reset) {
		t.Fatalf("sign-in: %v, want PasswordResetRequiredException", err)
	}
	_, err = env.c.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &env.clientID, Username: aws.String("unverified@example.com")})
	if diff := cmp.Diff("InvalidParameterException: Cannot reset password for the user as there is no registered/verified email or phone_number", errString(err)); diff != "" {
		t.Errorf("ForgotPassword without a verified address (-want +got):\n%s", diff)
	}
	fp, err := env.c.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &env.clientID, Username: aws.String(email)})
	if err != nil || aws.ToString(fp.CodeDeliveryDetails.Destination) != "e***@e***" {
		t.Fatalf("ForgotPassword: %v %+v", err, fp)
	}
	code, _ := env.e.LastCode(env.poolID, email, KindForgotPassword)
	msgs := env.e.Outbox()
	last := msgs[len(msgs)-1]
	if diff := cmp.Diff(Message{PoolID: env.poolID, Username: mustSub(t, env.e, env.poolID, email), Destination: email, Medium: MediumEmail, Kind: KindForgotPassword, Code: code, Time: testNow}, last); diff != "" {
		t.Errorf("outbox message (-want +got):\n%s", diff)
	}
	confirm := func(code string) error {
		_, err := env.c.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: &env.clientID, Username: aws.String(email), ConfirmationCode: &code, Password: aws.String("Dr-password-1")})
		return err
	}
	if err := confirm(wrongCode(code)); apiCode(err) != "CodeMismatchException" {
		t.Errorf("wrong code: %v, want CodeMismatchException", err)
	}
	env.clock.Advance(61 * time.Minute)
	if err := confirm(code); apiCode(err) != "ExpiredCodeException" {
		t.Errorf("code after an hour: %v, want ExpiredCodeException", err)
	}
	if _, err := env.c.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &env.clientID, Username: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	code, _ = env.e.LastCode(env.poolID, email, KindForgotPassword)
	if err := confirm(code); err != nil {
		t.Fatalf("ConfirmForgotPassword: %v", err)
	}
	if err := confirm(code); apiCode(err) != "CodeMismatchException" {
		t.Errorf("code used twice: %v, want CodeMismatchException", err)
	}
	var ev events.CognitoEventUserPoolsPostConfirmation
	if evs := post.all(); len(evs) != 1 || json.Unmarshal(evs[0], &ev) != nil || ev.TriggerSource != "PostConfirmation_ConfirmForgotPassword" {
		t.Errorf("PostConfirmation after ConfirmForgotPassword: %d events, source %q", len(evs), ev.TriggerSource)
	}
	start, err := env.signIn(ctx, email, "Dr-password-1")
	if err != nil || start.ChallengeName != types.ChallengeNameTypeMfaSetup {
		t.Fatalf("sign-in after the reset: %v, %q; want MFA_SETUP", err, start.ChallengeName)
	}
}

func TestEmailAndSMSMFA(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		cfg       cip.SetUserPoolMfaConfigInput
		user      map[string]string
		challenge types.ChallengeNameType
		kind      MessageKind
		key       string
		dest      string
	}{
		{"email", cip.SetUserPoolMfaConfigInput{MfaConfiguration: types.UserPoolMfaTypeOn, SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}, EmailMfaConfiguration: &types.EmailMfaConfigType{Subject: aws.String("code")}},
			map[string]string{"email": "f@example.com", "email_verified": "true"}, types.ChallengeNameTypeEmailOtp, KindEmailOTP, "EMAIL_OTP_CODE", "f***@e***"},
		{"sms", cip.SetUserPoolMfaConfigInput{MfaConfiguration: types.UserPoolMfaTypeOn, SmsMfaConfiguration: &types.SmsMfaConfigType{SmsAuthenticationMessage: aws.String("{####}")}},
			map[string]string{"phone_number": "+819012345678", "phone_number_verified": "true"}, types.ChallengeNameTypeSmsMfa, KindSMSMFA, "SMS_MFA_CODE", "+********5678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newAuthEnv(t, plainPoolInput(), nil)
			tt.cfg.UserPoolId = &env.poolID
			set, err := env.c.SetUserPoolMfaConfig(ctx, &tt.cfg)
			if err != nil {
				t.Fatalf("SetUserPoolMfaConfig: %v", err)
			}
			get, err := env.c.GetUserPoolMfaConfig(ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: &env.poolID})
			if err != nil {
				t.Fatal(err)
			}
			summary := func(m types.UserPoolMfaType, sms *types.SmsMfaConfigType, totp *types.SoftwareTokenMfaConfigType, email *types.EmailMfaConfigType) []any {
				return []any{m, sms != nil, totp != nil && totp.Enabled, email != nil}
			}
			want := summary(tt.cfg.MfaConfiguration, tt.cfg.SmsMfaConfiguration, tt.cfg.SoftwareTokenMfaConfiguration, tt.cfg.EmailMfaConfiguration)
			if diff := cmp.Diff(want, summary(set.MfaConfiguration, set.SmsMfaConfiguration, set.SoftwareTokenMfaConfiguration, set.EmailMfaConfiguration)); diff != "" {
				t.Errorf("SetUserPoolMfaConfig answer (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, summary(get.MfaConfiguration, get.SmsMfaConfiguration, get.SoftwareTokenMfaConfiguration, get.EmailMfaConfiguration)); diff != "" {
				t.Errorf("GetUserPoolMfaConfig (-want +got):\n%s", diff)
			}
			if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Username: "frank", Enabled: true, Password: testPassword, Attributes: tt.user}}); err != nil {
				t.Fatal(err)
			}
			start, err := env.signIn(ctx, "frank", testPassword)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{string(tt.challenge), tt.dest}, []string{string(start.ChallengeName), start.ChallengeParameters["CODE_DELIVERY_DESTINATION"]}); diff != "" {
				t.Fatalf("challenge (-want +got):\n%s", diff)
			}
			code, ok := env.e.LastCode(env.poolID, "frank", tt.kind)
			if !ok {
				t.Fatal("no MFA code in the outbox")
			}
			_, err = env.respond(ctx, tt.challenge, start.Session, map[string]string{"USERNAME": "frank", tt.key: wrongCode(code)})
			if apiCode(err) != "CodeMismatchException" {
				t.Errorf("wrong code: %v, want CodeMismatchException", err)
			}
			out, err := env.respond(ctx, tt.challenge, start.Session, map[string]string{"USERNAME": "frank", tt.key: code})
			if err != nil || out.AuthenticationResult == nil {
				t.Errorf("right code: %v", err)
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		revoke  func(env *authEnv) error
		signIn  string // the error of the next sign-in
		refresh string
	}{
		{"AdminDisableUser", func(env *authEnv) error {
			_, err := env.c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &env.poolID, Username: aws.String("gina")})
			return err
		}, "NotAuthorizedException: User is disabled.", "NotAuthorizedException: Refresh Token has been revoked"},
		{"AdminUserGlobalSignOut", func(env *authEnv) error {
			_, err := env.c.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &env.poolID, Username: aws.String("gina")})
			return err
		}, "", "NotAuthorizedException: Refresh Token has been revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newAuthEnv(t, plainPoolInput(), nil)
			if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Username: "gina", Enabled: true, Password: testPassword}}); err != nil {
				t.Fatal(err)
			}
			out, err := env.signIn(ctx, "gina", testPassword)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.revoke(env); err != nil {
				t.Fatal(err)
			}
			_, err = env.c.GetUser(ctx, &cip.GetUserInput{AccessToken: out.AuthenticationResult.AccessToken})
			_, rerr := env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth, AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(out.AuthenticationResult.RefreshToken)}})
			_, serr := env.signIn(ctx, "gina", testPassword)
			want := []string{"NotAuthorizedException: Access Token has been revoked", tt.refresh, tt.signIn}
			if diff := cmp.Diff(want, []string{errString(err), errString(rerr), errString(serr)}); diff != "" {
				t.Errorf("GetUser, refresh, sign-in after revocation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, mfaPoolInput(), nil)
	if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Enabled: true, Password: testPassword, Attributes: map[string]string{"email": "h@example.com", "email_verified": "true"}}}); err != nil {
		t.Fatal(err)
	}
	start, err := env.signIn(ctx, "h@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(3*time.Minute + time.Second)
	_, err = env.c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: start.Session})
	if diff := cmp.Diff("NotAuthorizedException: Invalid session for the user, session is expired.", errString(err)); diff != "" {
		t.Errorf("expired session (-want +got):\n%s", diff)
	}
	_, err = env.c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: aws.String("forged")})
	if diff := cmp.Diff("NotAuthorizedException: Invalid session for the user.", errString(err)); diff != "" {
		t.Errorf("unknown session (-want +got):\n%s", diff)
	}
	start, _ = env.signIn(ctx, "h@example.com", testPassword)
	_, err = env.respond(ctx, types.ChallengeNameTypeMfaSetup, start.Session, map[string]string{"USERNAME": "h@example.com"})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("MFA_SETUP before VerifySoftwareToken: %v, want InvalidParameterException", err)
	}
}

func TestClientSecret(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, plainPoolInput(), &cip.CreateUserPoolClientInput{GenerateSecret: true})
	if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Username: "ivan", Enabled: true, Password: testPassword}}); err != nil {
		t.Fatal(err)
	}
	d, err := env.c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &env.poolID, ClientId: &env.clientID})
	if err != nil {
		t.Fatal(err)
	}
	secret := aws.ToString(d.UserPoolClient.ClientSecret)
	flows := d.UserPoolClient.ExplicitAuthFlows
	if secret == "" || len(flows) != 3 || aws.ToInt32(d.UserPoolClient.AuthSessionValidity) != 3 {
		t.Fatalf("DescribeUserPoolClient: secret %q, flows %v, session validity %v", secret, flows, d.UserPoolClient.AuthSessionValidity)
	}
	_, err = env.signIn(ctx, "ivan", testPassword)
	if diff := cmp.Diff("NotAuthorizedException: Client "+env.clientID+" is configured for secret but secret was not received", errString(err)); diff != "" {
		t.Errorf("no SECRET_HASH (-want +got):\n%s", diff)
	}
	out, err := env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "ivan", "PASSWORD": testPassword, "SECRET_HASH": SecretHash(secret, "ivan", env.clientID)}})
	if err != nil || out.AuthenticationResult == nil {
		t.Errorf("with SECRET_HASH: %v", err)
	}
	_, err = env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String("nope"), AuthFlow: types.AuthFlowTypeUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": "ivan", "PASSWORD": testPassword}})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown client: %v", err)
	}
}

func TestUpdateUserPool(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, plainPoolInput(), nil)
	_, err := env.c.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{
		UserPoolId:             &env.poolID,
		LambdaConfig:           &types.LambdaConfigType{PostConfirmation: aws.String(postConfirmationARN)},
		MfaConfiguration:       types.UserPoolMfaTypeOff,
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypePhoneNumber},
	})
	if err != nil {
		t.Fatalf("UpdateUserPool: %v", err)
	}
	d, err := env.c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &env.poolID})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{aws.ToString(d.UserPool.LambdaConfig.PostConfirmation), string(d.UserPool.MfaConfiguration), string(d.UserPool.AutoVerifiedAttributes[0])}
	if diff := cmp.Diff([]string{postConfirmationARN, "OFF", "phone_number"}, got); diff != "" {
		t.Errorf("after UpdateUserPool (-want +got):\n%s", diff)
	}
	// As on AWS, what an update leaves out goes back to its default.
	if _, err := env.c.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: &env.poolID}); err != nil {
		t.Fatal(err)
	}
	d, _ = env.c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &env.poolID})
	if d.UserPool.LambdaConfig != nil || d.UserPool.MfaConfiguration != types.UserPoolMfaTypeOff {
		t.Errorf("after an empty UpdateUserPool: LambdaConfig %v, MFA %s; want none, OFF", d.UserPool.LambdaConfig, d.UserPool.MfaConfiguration)
	}
	_, err = env.c.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &env.poolID, MfaConfiguration: types.UserPoolMfaTypeOn})
	if apiCode(err) != "InvalidParameterException" || apiMessage(err) != "Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration." {
		t.Errorf("MFA ON with no factor: %v, want InvalidParameterException as reported", err)
	}
}

func TestSeededSoftwareToken(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, mfaPoolInput(), nil)
	env.e.RegisterLambda(preTokenARN, (&triggerLog{}).echo)
	const fixed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	err := env.e.SeedUserSlice(env.poolID, []SeedUser{
		{Enabled: true, Password: testPassword, HasSoftwareToken: true, Attributes: map[string]string{"email": "j@example.com", "email_verified": "true"}},
		{Enabled: true, Password: testPassword, TOTPSecret: fixed, Attributes: map[string]string{"email": "k@example.com", "email_verified": "true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"j@example.com", "k@example.com"} {
		secret, ok := env.e.SoftwareTokenSecret(env.poolID, email)
		if !ok || (email == "k@example.com" && secret != fixed) {
			t.Fatalf("SoftwareTokenSecret(%s) = %q, %v", email, secret, ok)
		}
		start, err := env.signIn(ctx, email, testPassword)
		if err != nil || start.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
			t.Fatalf("sign-in %s: %v, %q", email, err, start.ChallengeName)
		}
		out, err := env.respond(ctx, start.ChallengeName, start.Session, map[string]string{"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": env.totp(t, secret)})
		if err != nil || out.AuthenticationResult == nil {
			t.Errorf("TOTP %s: %v", email, err)
		}
	}
	// A code from the previous 30-second step is still accepted, one from two steps back is not.
	secret, _ := env.e.SoftwareTokenSecret(env.poolID, "j@example.com")
	for _, tt := range []struct {
		back time.Duration
		ok   bool
	}{{30 * time.Second, true}, {61 * time.Second, false}} {
		code, _ := TOTPCode(secret, env.clock.Now().Add(-tt.back))
		start, _ := env.signIn(ctx, "j@example.com", testPassword)
		_, err := env.respond(ctx, start.ChallengeName, start.Session, map[string]string{"USERNAME": "j@example.com", "SOFTWARE_TOKEN_MFA_CODE": code})
		if (err == nil) != tt.ok {
			t.Errorf("code from %v ago: %v, want ok=%v", tt.back, err, tt.ok)
		}
	}
}

func TestRespondQuota(t *testing.T) {
	q := newQuotas(map[Category]float64{UserAuthentication: 2}, true)
	count := func(op string) int {
		n := 0
		for q.allow(testRegion, UserAuthentication, op, "") {
			n++
		}
		return n
	}
	got := []int{count("InitiateAuth"), count("RespondToAuthChallenge")}
	if diff := cmp.Diff([]int{2, 6}, got); diff != "" {
		t.Errorf("burst per bucket (-want +got):\n%s", diff)
	}
}

func TestSoftwareTokenWithAccessToken(t *testing.T) {
	ctx := context.Background()
	in := plainPoolInput()
	in.MfaConfiguration = types.UserPoolMfaTypeOptional
	env := newAuthEnv(t, in, nil)
	if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Username: "lena", Enabled: true, Password: testPassword}}); err != nil {
		t.Fatal(err)
	}
	// OPTIONAL MFA and no factor: tokens straight away, through the admin flow too.
	out, err := env.c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &env.poolID, ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "lena", "PASSWORD": testPassword}})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("AdminInitiateAuth: %v", err)
	}
	tok := out.AuthenticationResult.AccessToken
	_, err = env.c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &env.poolID, Username: aws.String("lena"),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("AdminSetUserMFAPreference before a verified token: %v", err)
	}
	assoc, err := env.c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: tok})
	if err != nil || assoc.Session != nil {
		t.Fatalf("AssociateSoftwareToken: %v, session %v", err, assoc.Session)
	}
	code := env.totp(t, aws.ToString(assoc.SecretCode))
	if _, err := env.c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: tok, UserCode: &code}); err != nil {
		t.Fatalf("VerifySoftwareToken: %v", err)
	}
	start, err := env.signIn(ctx, "lena", testPassword)
	if err != nil || start.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("sign-in after verifying a token: %v, %q; want SOFTWARE_TOKEN_MFA", err, start.ChallengeName)
	}
	env.clock.Advance(30 * time.Second)
	done, err := env.c.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: &env.poolID, ClientId: &env.clientID,
		ChallengeName: start.ChallengeName, Session: start.Session,
		ChallengeResponses: map[string]string{"USERNAME": "lena", "SOFTWARE_TOKEN_MFA_CODE": env.totp(t, aws.ToString(assoc.SecretCode))}})
	if err != nil || done.AuthenticationResult == nil {
		t.Errorf("AdminRespondToAuthChallenge: %v", err)
	}
	if _, err := env.c.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: tok, PreviousPassword: aws.String(testPassword), ProposedPassword: aws.String("Changed-pass-5")}); err != nil {
		t.Errorf("ChangePassword: %v", err)
	}
	if _, err := env.signIn(ctx, "lena", testPassword); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("old password after ChangePassword: %v", err)
	}
}

func TestEveryOperationHasAQuotaCategory(t *testing.T) {
	for op := range handlers {
		if _, ok := operationCategory[op]; !ok {
			t.Errorf("%s has no quota category", op)
		}
	}
}
