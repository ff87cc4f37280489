package cognito

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

// TestSignUpMFAJourney walks a user through sign-up, confirmation, MFA setup with a TOTP app,
// a TOTP sign-in, token checks, refresh, sign-out and an operator's TOTP reset.
func TestSignUpMFAJourney(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, mfaPoolInput(), nil)
	var post, pre triggerLog
	env.e.RegisterLambda(postConfirmationARN, post.echo)
	env.e.RegisterLambda(preTokenARN, pre.addClaim("dr:primary_sub", "tokyo-sub-1"))
	const email = "alice@example.com"

	// Sign-up: UNCONFIRMED, a code in the outbox.
	su, err := env.c.SignUp(ctx, &cip.SignUpInput{ClientId: &env.clientID, Username: aws.String(email), Password: aws.String(testPassword)})
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	if su.UserConfirmed || su.CodeDeliveryDetails == nil {
		t.Fatalf("SignUp: confirmed %v, delivery %v; want an unconfirmed user and a code", su.UserConfirmed, su.CodeDeliveryDetails)
	}
	if diff := cmp.Diff([]string{"email", "EMAIL", "a***@e***"}, []string{aws.ToString(su.CodeDeliveryDetails.AttributeName), string(su.CodeDeliveryDetails.DeliveryMedium), aws.ToString(su.CodeDeliveryDetails.Destination)}); diff != "" {
		t.Errorf("CodeDeliveryDetails (-want +got):\n%s", diff)
	}
	_, err = env.c.SignUp(ctx, &cip.SignUpInput{ClientId: &env.clientID, Username: aws.String(email), Password: aws.String(testPassword)})
	if diff := cmp.Diff("UsernameExistsException: An account with the given email already exists.", errString(err)); diff != "" {
		t.Errorf("second SignUp (-want +got):\n%s", diff)
	}
	_, err = env.signIn(ctx, email, testPassword)
	if diff := cmp.Diff("UserNotConfirmedException: User is not confirmed.", errString(err)); diff != "" {
		t.Errorf("sign-in before confirmation (-want +got):\n%s", diff)
	}
	code, ok := env.e.LastCode(env.poolID, email, KindSignUp)
	if !ok {
		t.Fatal("no sign-up code in the outbox")
	}
	_, err = env.c.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: &env.clientID, Username: aws.String(email), ConfirmationCode: aws.String(wrongCode(code))})
	var mismatch *types.CodeMismatchException
	if !errors.As(err, &mismatch) {
		t.Errorf("ConfirmSignUp with a wrong code: %v, want CodeMismatchException", err)
	}
	if len(post.all()) != 0 {
		t.Fatalf("PostConfirmation ran before confirmation")
	}
	if _, err := env.c.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: &env.clientID, Username: aws.String(email), ConfirmationCode: &code}); err != nil {
		t.Fatalf("ConfirmSignUp: %v", err)
	}

	// PostConfirmation ran once, with Cognito's event.
	sub := aws.ToString(su.UserSub)
	evs := post.all()
	if len(evs) != 1 {
		t.Fatalf("PostConfirmation ran %d times, want 1", len(evs))
	}
	var got events.CognitoEventUserPoolsPostConfirmation
	if err := json.Unmarshal(evs[0], &got); err != nil {
		t.Fatal(err)
	}
	want := events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{
			Version: "1", TriggerSource: "PostConfirmation_ConfirmSignUp", Region: testRegion, UserPoolID: env.poolID, UserName: sub,
			CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: env.clientID},
		},
		Request: events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: map[string]string{
			"sub": sub, "email": email, "email_verified": "true", "cognito:user_status": "CONFIRMED",
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PostConfirmation event (-want +got):\n%s", diff)
	}

	// MFA is required and the user has no factor: MFA_SETUP, then a TOTP app.
	start, err := env.signIn(ctx, email, testPassword)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if diff := cmp.Diff([]string{"MFA_SETUP", `["SOFTWARE_TOKEN_MFA"]`}, []string{string(start.ChallengeName), start.ChallengeParameters["MFAS_CAN_SETUP"]}); diff != "" {
		t.Fatalf("first sign-in (-want +got):\n%s", diff)
	}
	assoc, err := env.c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: start.Session})
	if err != nil {
		t.Fatalf("AssociateSoftwareToken: %v", err)
	}
	secret := aws.ToString(assoc.SecretCode)
	if len(secret) != 32 || assoc.Session == nil {
		t.Fatalf("AssociateSoftwareToken: secret %d chars, session %v; want 32 and a session", len(secret), assoc.Session)
	}
	_, err = env.c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(wrongCode(env.totp(t, secret)))})
	var enable *types.EnableSoftwareTokenMFAException
	if !errors.As(err, &enable) {
		t.Errorf("VerifySoftwareToken with a wrong code: %v, want EnableSoftwareTokenMFAException", err)
	}
	ver, err := env.c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(env.totp(t, secret))})
	if err != nil || ver.Status != types.VerifySoftwareTokenResponseTypeSuccess || ver.Session == nil {
		t.Fatalf("VerifySoftwareToken: %v %+v", err, ver)
	}
	setup, err := env.respond(ctx, types.ChallengeNameTypeMfaSetup, ver.Session, map[string]string{"USERNAME": email})
	if err != nil || setup.AuthenticationResult == nil {
		t.Fatalf("MFA_SETUP: %v", err)
	}
	_, err = env.respond(ctx, types.ChallengeNameTypeMfaSetup, ver.Session, map[string]string{"USERNAME": email})
	if diff := cmp.Diff("NotAuthorizedException: Invalid session for the user.", errString(err)); diff != "" {
		t.Errorf("reusing an answered session (-want +got):\n%s", diff)
	}

	// The ID token verifies against the pool's JWKS and carries the trigger's claim.
	claims := env.verifyIDToken(t, aws.ToString(setup.AuthenticationResult.IdToken))
	wantClaims := map[string]any{"sub": sub, "cognito:username": sub, "email": email, "email_verified": true, "dr:primary_sub": "tokyo-sub-1"}
	for k, v := range wantClaims {
		if claims[k] != v {
			t.Errorf("ID token claim %s = %v, want %v", k, claims[k], v)
		}
	}
	var preEv events.CognitoEventUserPoolsPreTokenGen
	if err := json.Unmarshal(pre.all()[0], &preEv); err != nil {
		t.Fatal(err)
	}
	if preEv.TriggerSource != "TokenGeneration_Authentication" || preEv.Request.UserAttributes["sub"] != sub {
		t.Errorf("PreTokenGeneration event: source %q, sub %q", preEv.TriggerSource, preEv.Request.UserAttributes["sub"])
	}

	// The next sign-in asks for a TOTP code; a wrong one is refused, a fresh one passes.
	env.clock.Advance(90 * time.Second)
	next, err := env.signIn(ctx, email, testPassword)
	if err != nil || next.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("second sign-in: %v, challenge %q; want SOFTWARE_TOKEN_MFA", err, next.ChallengeName)
	}
	_, err = env.respond(ctx, types.ChallengeNameTypeSoftwareTokenMfa, next.Session, map[string]string{"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": wrongCode(env.totp(t, secret))})
	if !errors.As(err, &mismatch) {
		t.Errorf("wrong TOTP code: %v, want CodeMismatchException", err)
	}
	signedIn, err := env.respond(ctx, types.ChallengeNameTypeSoftwareTokenMfa, next.Session, map[string]string{"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": env.totp(t, secret)})
	if err != nil || signedIn.AuthenticationResult == nil {
		t.Fatalf("SOFTWARE_TOKEN_MFA: %v", err)
	}
	tokens := signedIn.AuthenticationResult
	if sec, ok := env.e.SoftwareTokenSecret(env.poolID, email); !ok || sec != secret {
		t.Errorf("SoftwareTokenSecret = %q, %v; want the associated secret", sec, ok)
	}
	admin, err := env.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String(email)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"SOFTWARE_TOKEN_MFA", "SOFTWARE_TOKEN_MFA"}, append(admin.UserMFASettingList, aws.ToString(admin.PreferredMfaSetting))); diff != "" {
		t.Errorf("MFA settings after setup (-want +got):\n%s", diff)
	}

	// GetUser and refresh work until a global sign-out revokes the tokens.
	me, err := env.c.GetUser(ctx, &cip.GetUserInput{AccessToken: tokens.AccessToken})
	if err != nil || aws.ToString(me.Username) != sub {
		t.Fatalf("GetUser: %v, %v", err, me)
	}
	refreshed, err := env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth, AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(tokens.RefreshToken)}})
	if err != nil || refreshed.AuthenticationResult.RefreshToken != nil {
		t.Fatalf("refresh: %v", err)
	}
	if c := env.verifyIDToken(t, aws.ToString(refreshed.AuthenticationResult.IdToken)); c["dr:primary_sub"] != "tokyo-sub-1" {
		t.Errorf("refreshed ID token lacks the trigger claim: %v", c)
	}
	if _, err := env.c.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: tokens.AccessToken}); err != nil {
		t.Fatalf("GlobalSignOut: %v", err)
	}
	_, err = env.c.GetUser(ctx, &cip.GetUserInput{AccessToken: refreshed.AuthenticationResult.AccessToken})
	if diff := cmp.Diff("NotAuthorizedException: Access Token has been revoked", errString(err)); diff != "" {
		t.Errorf("GetUser after sign-out (-want +got):\n%s", diff)
	}
	_, err = env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth, AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(tokens.RefreshToken)}})
	if diff := cmp.Diff("NotAuthorizedException: Refresh Token has been revoked", errString(err)); diff != "" {
		t.Errorf("refresh after sign-out (-want +got):\n%s", diff)
	}

	// An operator deletes the TOTP factor: the next sign-in must set MFA up again.
	status, body := env.rawCall(t, "AdminDeleteSoftwareToken", map[string]string{"UserPoolId": env.poolID, "Username": email})
	if status != http.StatusOK {
		t.Fatalf("AdminDeleteSoftwareToken: %d %s", status, body)
	}
	again, err := env.signIn(ctx, email, testPassword)
	if err != nil || again.ChallengeName != types.ChallengeNameTypeMfaSetup {
		t.Fatalf("sign-in after AdminDeleteSoftwareToken: %v, challenge %q; want MFA_SETUP", err, again.ChallengeName)
	}
	status, body = env.rawCall(t, "AdminDeleteSoftwareToken", map[string]string{"UserPoolId": env.poolID, "Username": "nobody@example.com"})
	if status != http.StatusBadRequest || !strings.Contains(body, "UserNotFoundException") {
		t.Errorf("AdminDeleteSoftwareToken of an unknown user: %d %s", status, body)
	}
}

// wrongCode returns a six-digit code that differs from code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}
