package cognito

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Trigger sources, as Cognito sets triggerSource.
const (
	sourceConfirmSignUp         = "PostConfirmation_ConfirmSignUp"
	sourceConfirmForgotPassword = "PostConfirmation_ConfirmForgotPassword"
	sourceTokenAuthentication   = "TokenGeneration_Authentication"
	sourceTokenNewPassword      = "TokenGeneration_NewPasswordChallenge"
	sourceTokenRefresh          = "TokenGeneration_RefreshTokens"
	sourcePreSignUp             = "PreSignUp_SignUp"
	sourcePreSignUpAdmin        = "PreSignUp_AdminCreateUser"
	sourcePreAuthentication     = "PreAuthentication_Authentication"
)

// TypedLambda adapts a typed handler, such as one written for aws-lambda-go with its events
// types, to a LambdaFunc for RegisterLambda.
func TypedLambda[In, Out any](fn func(context.Context, In) (Out, error)) LambdaFunc {
	return func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(event, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// invoke runs the function bound to arn with event, the way Cognito invokes a trigger:
// an error from the function fails the call with UserLambdaValidationException, a function
// that runs past the trigger timeout with UnexpectedLambdaException. name is the trigger's
// name in messages (PreSignUp, PreAuthentication, PostConfirmation, PreTokenGeneration). The
// function's message is quoted as it is, so one ending in a full stop ends in two, as Cognito
// reports it. The caller holds no lock.
func (e *Emulator) invoke(ctx context.Context, name, arn string, event any) (json.RawMessage, error) {
	in, err := json.Marshal(event)
	if err != nil {
		return nil, errInternal()
	}
	e.auth.mu.Lock()
	fn := e.auth.lambdas[arn]
	timeout := e.auth.triggerTimeout
	e.auth.mu.Unlock()
	if fn == nil {
		return nil, newError("UnexpectedLambdaException", "%s invocation failed due to error ResourceNotFoundException.", name)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	type result struct {
		out json.RawMessage
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("%v", r)}
			}
		}()
		out, err := fn(ctx, in)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, newError("UserLambdaValidationException", "%s failed with error %s.", name, r.err.Error())
		}
		return r.out, nil
	case <-ctx.Done():
		return nil, newError("UnexpectedLambdaException", "%s invocation failed due to error Socket timeout while invoking Lambda function.", name)
	}
}

func header(source, region, poolID, clientID, username string) events.CognitoEventUserPoolsHeader {
	return events.CognitoEventUserPoolsHeader{
		Version: "1", TriggerSource: source, Region: region, UserPoolID: poolID, UserName: username,
		CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: clientID},
	}
}

// lambdaConfig returns the pool's trigger configuration under its lock.
func (p *pool) lambdaConfig() types.LambdaConfigType {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.cfg.LambdaConfig == nil {
		return types.LambdaConfigType{}
	}
	return *p.cfg.LambdaConfig
}

// postConfirmation invokes the pool's PostConfirmation trigger, if any. Cognito has already
// confirmed the user when it runs, and a failing trigger does not undo that.
func (e *Emulator) postConfirmation(ctx context.Context, p *pool, source, clientID string, u claimsFor, meta map[string]string) error {
	arn := aws.ToString(p.lambdaConfig().PostConfirmation)
	if arn == "" {
		return nil
	}
	ev := events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: header(source, p.region, p.id, clientID, u.username),
		Request:                     events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: u.attrMap(), ClientMetadata: meta},
	}
	_, err := e.invoke(ctx, "PostConfirmation", arn, ev)
	return err
}

// preTokenGeneration invokes the pool's PreTokenGeneration trigger, if any, and returns the
// claims it asks for. Version 1 events change the ID token; versions 2 and 3 both tokens.
func (e *Emulator) preTokenGeneration(ctx context.Context, p *pool, source, clientID string, u claimsFor) (tokenOverrides, error) {
	lc := p.lambdaConfig()
	arn, version := aws.ToString(lc.PreTokenGeneration), types.PreTokenGenerationLambdaVersionTypeV10
	if c := lc.PreTokenGenerationConfig; c != nil && aws.ToString(c.LambdaArn) != "" {
		arn, version = aws.ToString(c.LambdaArn), c.LambdaVersion
	}
	if arn == "" {
		return tokenOverrides{}, nil
	}
	hdr := header(source, p.region, p.id, clientID, u.username)
	groups := events.GroupConfiguration{GroupsToOverride: u.groups, IAMRolesToOverride: []string{}}
	if groups.GroupsToOverride == nil {
		groups.GroupsToOverride = []string{}
	}
	var ev any
	if version == types.PreTokenGenerationLambdaVersionTypeV10 || version == "" {
		ev = events.CognitoEventUserPoolsPreTokenGen{
			CognitoEventUserPoolsHeader: hdr,
			Request:                     events.CognitoEventUserPoolsPreTokenGenRequest{UserAttributes: u.attrMap(), GroupConfiguration: groups},
		}
	} else {
		hdr.Version = "2"
		if version == types.PreTokenGenerationLambdaVersionTypeV30 {
			hdr.Version = "3"
		}
		ev = events.CognitoEventUserPoolsPreTokenGenV2_0{
			CognitoEventUserPoolsHeader: hdr,
			Request: events.CognitoEventUserPoolsPreTokenGenRequestV2_0{
				UserAttributes:     u.attrMap(),
				GroupConfiguration: events.GroupConfigurationV2_0{GroupsToOverride: groups.GroupsToOverride, IAMRolesToOverride: groups.IAMRolesToOverride},
				Scopes:             []string{scopeAdmin},
			},
		}
	}
	out, err := e.invoke(ctx, "PreTokenGeneration", arn, ev)
	if err != nil {
		return tokenOverrides{}, err
	}
	// Claim values may be any JSON, so the response is read with loose types.
	type groupOverride struct {
		GroupsToOverride *[]string `json:"groupsToOverride"`
	}
	type tokenClaims struct {
		ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride"`
		ClaimsToSuppress      []string       `json:"claimsToSuppress"`
	}
	var resp struct {
		Response struct {
			ClaimsOverrideDetails *struct {
				tokenClaims
				GroupOverrideDetails *groupOverride `json:"groupOverrideDetails"`
			} `json:"claimsOverrideDetails"`
			ClaimsAndScopeOverrideDetails *struct {
				IDTokenGeneration     *tokenClaims   `json:"idTokenGeneration"`
				AccessTokenGeneration *tokenClaims   `json:"accessTokenGeneration"`
				GroupOverrideDetails  *groupOverride `json:"groupOverrideDetails"`
			} `json:"claimsAndScopeOverrideDetails"`
		} `json:"response"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return tokenOverrides{}, newError("InvalidLambdaResponseException", "Unrecognizable lambda output")
	}
	var ov tokenOverrides
	setGroups := func(g *groupOverride) {
		if g != nil && g.GroupsToOverride != nil {
			ov.groups, ov.groupsSet = *g.GroupsToOverride, true
		}
	}
	if d := resp.Response.ClaimsOverrideDetails; d != nil {
		ov.idAdd, ov.idSuppress = d.ClaimsToAddOrOverride, d.ClaimsToSuppress
		setGroups(d.GroupOverrideDetails)
	}
	if d := resp.Response.ClaimsAndScopeOverrideDetails; d != nil && version != types.PreTokenGenerationLambdaVersionTypeV10 {
		if t := d.IDTokenGeneration; t != nil {
			ov.idAdd, ov.idSuppress = t.ClaimsToAddOrOverride, t.ClaimsToSuppress
		}
		if t := d.AccessTokenGeneration; t != nil {
			ov.accessAdd, ov.accessSuppress = t.ClaimsToAddOrOverride, t.ClaimsToSuppress
		}
		setGroups(d.GroupOverrideDetails)
	}
	return ov, nil
}

// preSignUpAnswer is what a PreSignUp function may ask of a self-service sign-up.
type preSignUpAnswer struct{ autoConfirm, autoVerifyEmail, autoVerifyPhone bool }

// preSignUp invokes the pool's PreSignUp trigger, if any, with the attributes of the user about
// to be created, and returns its answer. An error from the function refuses the sign-up.
func (e *Emulator) preSignUp(ctx context.Context, p *pool, source, clientID, username string, attrs, validation, meta map[string]string) (preSignUpAnswer, error) {
	arn := aws.ToString(p.lambdaConfig().PreSignUp)
	if arn == "" {
		return preSignUpAnswer{}, nil
	}
	ev := events.CognitoEventUserPoolsPreSignup{
		CognitoEventUserPoolsHeader: header(source, p.region, p.id, clientID, username),
		Request:                     events.CognitoEventUserPoolsPreSignupRequest{UserAttributes: attrs, ValidationData: validation, ClientMetadata: meta},
	}
	out, err := e.invoke(ctx, "PreSignUp", arn, ev)
	if err != nil {
		return preSignUpAnswer{}, err
	}
	var resp struct {
		Response *events.CognitoEventUserPoolsPreSignupResponse `json:"response"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return preSignUpAnswer{}, newError("InvalidLambdaResponseException", "Unrecognizable lambda output")
	}
	if r := resp.Response; r != nil {
		return preSignUpAnswer{autoConfirm: r.AutoConfirmUser, autoVerifyEmail: r.AutoVerifyEmail, autoVerifyPhone: r.AutoVerifyPhone}, nil
	}
	return preSignUpAnswer{}, nil
}

// adminPreSignUp is AdminCreateUser's PreSignUp: the function may refuse the user; its answer's
// flags do not apply to a user an administrator creates.
func (e *Emulator) adminPreSignUp(ctx context.Context, p *pool, username string, attrs []types.AttributeType, validation []types.AttributeType, meta map[string]string) error {
	if aws.ToString(p.lambdaConfig().PreSignUp) == "" {
		return nil
	}
	_, err := e.preSignUp(ctx, p, sourcePreSignUpAdmin, clientIDNotApplicable, username, attrPairs(attrs), attrPairs(validation), meta)
	return err
}

func attrPairs(as []types.AttributeType) map[string]string {
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

// preAuthentication invokes the pool's PreAuthentication trigger, if any, before the password
// is checked. notFound is an unknown user's sign-in on a client that hides user existence,
// which Cognito still runs the trigger for. An error from the function refuses the sign-in.
func (e *Emulator) preAuthentication(ctx context.Context, p *pool, clientID, username string, attrs, validation map[string]string, notFound bool) error {
	arn := aws.ToString(p.lambdaConfig().PreAuthentication)
	if arn == "" {
		return nil
	}
	ev := events.CognitoEventUserPoolsPreAuthentication{
		CognitoEventUserPoolsHeader: header(sourcePreAuthentication, p.region, p.id, clientID, username),
		Request:                     events.CognitoEventUserPoolsPreAuthenticationRequest{UserAttributes: attrs, ValidationData: validation, UserNotFound: notFound},
	}
	_, err := e.invoke(ctx, "PreAuthentication", arn, ev)
	return err
}
