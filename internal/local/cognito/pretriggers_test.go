package cognito

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

const (
	preSignUpARN = "arn:aws:lambda:ap-northeast-1:123456789012:function:pre-sign-up"
	preAuthARN   = "arn:aws:lambda:ap-northeast-1:123456789012:function:pre-authentication"
)

// gatedPoolInput is a pool (usernames, email auto-verified, no MFA) with every trigger the gate uses.
func gatedPoolInput() *cip.CreateUserPoolInput {
	in := plainPoolInput()
	in.LambdaConfig = &types.LambdaConfigType{
		PreSignUp: aws.String(preSignUpARN), PreAuthentication: aws.String(preAuthARN),
		PostConfirmation: aws.String(postConfirmationARN), PreTokenGeneration: aws.String(preTokenARN),
	}
	return in
}

func refuse(msg string) LambdaFunc {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errors.New(msg) }
}

// answer is a PreSignUp function that records the event and answers with response set.
func (l *triggerLog) answer(response map[string]any) LambdaFunc {
	return func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
		l.record(ev)
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			return nil, err
		}
		m["response"] = response
		return json.Marshal(m)
	}
}

func (env *authEnv) signUp(ctx context.Context, username string) (*cip.SignUpOutput, error) {
	return env.c.SignUp(ctx, &cip.SignUpInput{
		ClientId: &env.clientID, Username: aws.String(username), Password: aws.String(testPassword),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(username + "@example.com")}},
		ValidationData: []types.AttributeType{{Name: aws.String("captcha"), Value: aws.String("ok")}},
	})
}

func TestPreSignUpRefusal(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ fnMsg, want string }{
		{"closed", "UserLambdaValidationException: PreSignUp failed with error closed."},
		// Cognito quotes the message as it is: one ending in a full stop ends in two.
		{"Registration from this domain is not allowed.", "UserLambdaValidationException: PreSignUp failed with error Registration from this domain is not allowed.."},
	} {
		env := newAuthEnv(t, gatedPoolInput(), nil)
		env.e.RegisterLambda(preSignUpARN, refuse(c.fnMsg))
		_, err := env.signUp(ctx, "dave")
		if diff := cmp.Diff(c.want, errString(err)); diff != "" {
			t.Errorf("SignUp (-want +got):\n%s", diff)
		}
		if _, err := env.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("dave")}); apiCode(err) != "UserNotFoundException" {
			t.Errorf("after a refused sign-up AdminGetUser = %v, want UserNotFoundException: no user created", err)
		}
		if msgs := env.e.Outbox(); len(msgs) != 0 {
			t.Errorf("a refused sign-up sent %d messages", len(msgs))
		}
	}
}

func TestPreSignUpEventAndAnswer(t *testing.T) {
	ctx := context.Background()
	t.Run("no answer: unconfirmed, code sent", func(t *testing.T) {
		env := newAuthEnv(t, gatedPoolInput(), nil)
		var pre triggerLog
		env.e.RegisterLambda(preSignUpARN, pre.echo)
		out, err := env.signUp(ctx, "erin")
		if err != nil {
			t.Fatal(err)
		}
		if out.UserConfirmed || out.CodeDeliveryDetails == nil {
			t.Errorf("UserConfirmed %v, delivery %v; want unconfirmed with a code sent", out.UserConfirmed, out.CodeDeliveryDetails)
		}
		var ev events.CognitoEventUserPoolsPreSignup
		if evs := pre.all(); len(evs) != 1 || json.Unmarshal(evs[0], &ev) != nil {
			t.Fatalf("PreSignUp events: %d", len(evs))
		}
		got := []string{ev.TriggerSource, ev.UserName, ev.CallerContext.ClientID, ev.UserPoolID, ev.Request.UserAttributes["email"], ev.Request.ValidationData["captcha"]}
		if diff := cmp.Diff([]string{"PreSignUp_SignUp", "erin", env.clientID, env.poolID, "erin@example.com", "ok"}, got); diff != "" {
			t.Errorf("event (-want +got):\n%s", diff)
		}
	})
	t.Run("autoConfirmUser and autoVerifyEmail", func(t *testing.T) {
		env := newAuthEnv(t, gatedPoolInput(), nil)
		var pre, post triggerLog
		env.e.RegisterLambda(preSignUpARN, pre.answer(map[string]any{"autoConfirmUser": true, "autoVerifyEmail": true}))
		env.e.RegisterLambda(postConfirmationARN, post.echo)
		env.e.RegisterLambda(preAuthARN, new(triggerLog).echo)
		env.e.RegisterLambda(preTokenARN, new(triggerLog).echo)
		out, err := env.signUp(ctx, "frank")
		if err != nil {
			t.Fatal(err)
		}
		if !out.UserConfirmed || out.CodeDeliveryDetails != nil {
			t.Errorf("UserConfirmed %v, delivery %v; want confirmed and no code", out.UserConfirmed, out.CodeDeliveryDetails)
		}
		u, err := env.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("frank")})
		if err != nil {
			t.Fatal(err)
		}
		if u.UserStatus != types.UserStatusTypeConfirmed || attrMap(u.UserAttributes)["email_verified"] != "true" {
			t.Errorf("status %s, email_verified %q; want CONFIRMED, true", u.UserStatus, attrMap(u.UserAttributes)["email_verified"])
		}
		if n := len(post.all()); n != 1 {
			t.Errorf("PostConfirmation ran %d times for an auto-confirmed user, want 1", n)
		}
		if _, err := env.signIn(ctx, "frank", testPassword); err != nil {
			t.Errorf("sign-in of the auto-confirmed user: %v", err)
		}
	})
	t.Run("answer that is not an event", func(t *testing.T) {
		env := newAuthEnv(t, gatedPoolInput(), nil)
		env.e.RegisterLambda(preSignUpARN, func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`"ok"`), nil })
		_, err := env.signUp(ctx, "gina")
		if diff := cmp.Diff("InvalidLambdaResponseException: Unrecognizable lambda output", errString(err)); diff != "" {
			t.Errorf("SignUp (-want +got):\n%s", diff)
		}
	})
}

func TestAdminCreateUserRunsPreSignUp(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, gatedPoolInput(), nil)
	var pre triggerLog
	env.e.RegisterLambda(preSignUpARN, pre.answer(map[string]any{"autoConfirmUser": true}))
	in := &cip.AdminCreateUserInput{UserPoolId: &env.poolID, Username: aws.String("hana"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("hana@example.com")}}}
	out, err := env.c.AdminCreateUser(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// The answer's flags do not apply to a user an administrator creates.
	if out.User.UserStatus != types.UserStatusTypeForceChangePassword {
		t.Errorf("status %s, want FORCE_CHANGE_PASSWORD", out.User.UserStatus)
	}
	var ev events.CognitoEventUserPoolsPreSignup
	if evs := pre.all(); len(evs) != 1 || json.Unmarshal(evs[0], &ev) != nil {
		t.Fatalf("PreSignUp events: %d", len(evs))
	}
	if ev.TriggerSource != "PreSignUp_AdminCreateUser" || ev.CallerContext.ClientID != clientIDNotApplicable {
		t.Errorf("trigger source %s, client %s", ev.TriggerSource, ev.CallerContext.ClientID)
	}
	env.e.RegisterLambda(preSignUpARN, refuse("no admins"))
	in.Username = aws.String("ivan")
	_, err = env.c.AdminCreateUser(ctx, in)
	if diff := cmp.Diff("UserLambdaValidationException: PreSignUp failed with error no admins.", errString(err)); diff != "" {
		t.Errorf("AdminCreateUser (-want +got):\n%s", diff)
	}
}

func TestPreAuthentication(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, gatedPoolInput(), nil)
	var pre triggerLog
	env.e.RegisterLambda(preSignUpARN, pre.answer(map[string]any{"autoConfirmUser": true}))
	env.e.RegisterLambda(postConfirmationARN, new(triggerLog).echo)
	env.e.RegisterLambda(preTokenARN, new(triggerLog).echo)
	if _, err := env.signUp(ctx, "jun"); err != nil {
		t.Fatal(err)
	}
	var auth triggerLog
	env.e.RegisterLambda(preAuthARN, auth.echo)
	tokens, err := env.signIn(ctx, "jun", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CognitoEventUserPoolsPreAuthentication
	if evs := auth.all(); len(evs) != 1 || json.Unmarshal(evs[0], &ev) != nil {
		t.Fatalf("PreAuthentication events: %d", len(evs))
	}
	if ev.TriggerSource != "PreAuthentication_Authentication" || ev.Request.UserAttributes["email"] != "jun@example.com" || ev.Request.UserNotFound {
		t.Errorf("event: %s, attributes %v, userNotFound %v", ev.TriggerSource, ev.Request.UserAttributes, ev.Request.UserNotFound)
	}
	// Refresh does not run it.
	if _, err := env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(tokens.AuthenticationResult.RefreshToken)}}); err != nil {
		t.Fatal(err)
	}
	if n := len(auth.all()); n != 1 {
		t.Errorf("PreAuthentication ran %d times after a refresh, want 1", n)
	}
	// It runs before the password is checked, and its error refuses the sign-in.
	env.e.RegisterLambda(preAuthARN, refuse("closed"))
	_, err = env.signIn(ctx, "jun", "wrong-password")
	if diff := cmp.Diff("UserLambdaValidationException: PreAuthentication failed with error closed.", errString(err)); diff != "" {
		t.Errorf("sign-in (-want +got):\n%s", diff)
	}
	// An unknown user: no trigger, unless the client hides user existence.
	_, err = env.signIn(ctx, "nobody", testPassword)
	if apiCode(err) != "UserNotFoundException" {
		t.Errorf("unknown user: %v, want UserNotFoundException", err)
	}
}

func TestPreAuthenticationUserNotFound(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, gatedPoolInput(), &cip.CreateUserPoolClientInput{PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled})
	var auth triggerLog
	env.e.RegisterLambda(preAuthARN, auth.echo)
	if _, err := env.signIn(ctx, "nobody", testPassword); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("unknown user: %v, want NotAuthorizedException", err)
	}
	var ev events.CognitoEventUserPoolsPreAuthentication
	if evs := auth.all(); len(evs) != 1 || json.Unmarshal(evs[0], &ev) != nil || !ev.Request.UserNotFound {
		t.Errorf("PreAuthentication events %d, userNotFound %v; want one with userNotFound", len(auth.all()), ev.Request.UserNotFound)
	}
}

func TestPreTokenGenerationRefusesRefresh(t *testing.T) {
	ctx := context.Background()
	env := newAuthEnv(t, gatedPoolInput(), nil)
	env.e.RegisterLambda(preSignUpARN, new(triggerLog).answer(map[string]any{"autoConfirmUser": true}))
	env.e.RegisterLambda(postConfirmationARN, new(triggerLog).echo)
	env.e.RegisterLambda(preAuthARN, new(triggerLog).echo)
	env.e.RegisterLambda(preTokenARN, new(triggerLog).echo)
	if _, err := env.signUp(ctx, "kai"); err != nil {
		t.Fatal(err)
	}
	tokens, err := env.signIn(ctx, "kai", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	env.e.RegisterLambda(preTokenARN, refuse("closed"))
	_, err = env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(tokens.AuthenticationResult.RefreshToken)}})
	if diff := cmp.Diff("UserLambdaValidationException: PreTokenGeneration failed with error closed.", errString(err)); diff != "" {
		t.Errorf("refresh (-want +got):\n%s", diff)
	}
}
