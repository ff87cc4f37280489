package devstack_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

const (
	fencedMessage = "This Region is closed: sign in at https://osaka.example.jp"
	gatePassword  = "Correct-Horse-9"
)

// gateEnv is the two pools (MFA off, so a password signs in) with their gates wired.
type gateEnv struct {
	ctx     context.Context
	stack   *devstack.Stack
	gates   *devstack.Gates
	primary devstack.GatePool
	dr      devstack.GatePool
	clients map[string]string // pool ID → app client ID
	logs    *lockedBuffer
}

func newGateEnv(t *testing.T, opts devstack.GateOptions) *gateEnv {
	return newChainedGateEnv(t, opts, nil)
}

// newChainedGateEnv wires the gates with chain (trigger name → function ARN) on the primary.
func newChainedGateEnv(t *testing.T, opts devstack.GateOptions, chain map[string]string) *gateEnv {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := &gateEnv{ctx: context.Background(), stack: st, clients: map[string]string{}, logs: &lockedBuffer{}}
	for i, spec := range []devstack.PoolSpec{devstack.TokyoPool(0), devstack.OsakaPool()} {
		in := spec.CreatePoolInput()
		in.MfaConfiguration = types.UserPoolMfaTypeOff
		id, err := st.Cognito.CreatePool(spec.Region, in)
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.Clients.Cognito(spec.Region).CreateUserPoolClient(env.ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(id), ClientName: aws.String("app"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		})
		if err != nil {
			t.Fatal(err)
		}
		env.clients[id] = aws.ToString(c.UserPoolClient.ClientId)
		if i == 0 {
			env.primary = devstack.GatePool{ID: id, Region: spec.Region}
		} else {
			env.dr = devstack.GatePool{ID: id, Region: spec.Region}
		}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(env.logs, nil))
	}
	opts.Chain = map[string]map[string]string{env.primary.ID: chain}
	if env.gates, err = st.WireGates(env.ctx, env.primary, env.dr, opts); err != nil {
		t.Fatal(err)
	}
	return env
}

func (env *gateEnv) cognito(p devstack.GatePool) *cip.Client {
	return env.stack.Clients.Cognito(p.Region)
}

// adminUser creates a confirmed user with a password, as replication or an administrator does.
func (env *gateEnv) adminUser(t *testing.T, p devstack.GatePool, email string, attrs ...types.AttributeType) {
	t.Helper()
	c := env.cognito(p)
	attrs = append(attrs, types.AttributeType{Name: aws.String("email"), Value: aws.String(email)}, types.AttributeType{Name: aws.String("email_verified"), Value: aws.String("true")})
	if _, err := c.AdminCreateUser(env.ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(p.ID), Username: aws.String(email),
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs}); err != nil {
		t.Fatalf("AdminCreateUser in %s: %v", p.ID, err)
	}
	if _, err := c.AdminSetUserPassword(env.ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(p.ID), Username: aws.String(email),
		Password: aws.String(gatePassword), Permanent: true}); err != nil {
		t.Fatal(err)
	}
}

func (env *gateEnv) signIn(p devstack.GatePool, email string) (*types.AuthenticationResultType, error) {
	out, err := env.cognito(p).InitiateAuth(env.ctx, &cip.InitiateAuthInput{ClientId: aws.String(env.clients[p.ID]), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": gatePassword}})
	if err != nil {
		return nil, err
	}
	return out.AuthenticationResult, nil
}

func (env *gateEnv) refresh(p devstack.GatePool, tok *types.AuthenticationResultType) error {
	_, err := env.cognito(p).InitiateAuth(env.ctx, &cip.InitiateAuthInput{ClientId: aws.String(env.clients[p.ID]), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(tok.RefreshToken)}})
	return err
}

func (env *gateEnv) signUp(p devstack.GatePool, email string) (*cip.SignUpOutput, error) {
	return env.cognito(p).SignUp(env.ctx, &cip.SignUpInput{ClientId: aws.String(env.clients[p.ID]), Username: aws.String(email), Password: aws.String(gatePassword),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}}})
}

// refusedWith reports whether err is Cognito's refusal by trigger with message, as the user's
// app receives it.
func refusedWith(err error, trigger, message string) bool {
	var e *types.UserLambdaValidationException
	return errors.As(err, &e) && aws.ToString(e.Message) == trigger+" failed with error "+message+"."
}

func (env *gateEnv) setMode(t *testing.T, p devstack.GatePool, mode poolmode.Mode, cause string) {
	t.Helper()
	if err := env.gates.SetMode(env.ctx, p.ID, poolmode.State{Mode: mode, Since: time.Now(), Cause: cause, Message: fencedMessage}); err != nil {
		t.Fatal(err)
	}
}

func TestFencedPoolRefusesSignUpSignInAndRefresh(t *testing.T) {
	env := newGateEnv(t, devstack.GateOptions{Message: fencedMessage})
	// The DR pool is fenced as deployed; replication's AdminCreateUser still fills it.
	env.adminUser(t, env.dr, "a@example.jp")
	if _, err := env.signUp(env.dr, "new@example.jp"); !refusedWith(err, "PreSignUp", fencedMessage) {
		t.Errorf("sign-up in the fenced pool: %v, want the fenced message", err)
	}
	if _, err := env.signIn(env.dr, "a@example.jp"); !refusedWith(err, "PreAuthentication", fencedMessage) {
		t.Errorf("sign-in to the fenced pool: %v, want the fenced message", err)
	}
	// The primary is active: its user signs in, then the primary is fenced (a failover).
	env.adminUser(t, env.primary, "b@example.jp")
	tok, err := env.signIn(env.primary, "b@example.jp")
	if err != nil {
		t.Fatalf("sign-in to the active pool: %v", err)
	}
	if err := env.refresh(env.primary, tok); err != nil {
		t.Fatalf("refresh in the active pool: %v", err)
	}
	env.setMode(t, env.primary, poolmode.Fenced, poolmode.CauseFailover)
	// Warm gates see the switch when their cache expires (poolmode's TestGateCacheExpiresWithinTTL);
	// fresh containers see it at once.
	if err := env.gates.Restart(env.ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.refresh(env.primary, tok); !refusedWith(err, "PreTokenGeneration", fencedMessage) {
		t.Errorf("refresh in the fenced pool: %v, want the fenced message", err)
	}
	if _, err := env.signIn(env.primary, "b@example.jp"); !refusedWith(err, "PreAuthentication", fencedMessage) {
		t.Errorf("sign-in after the fence: %v, want the fenced message", err)
	}
	if len(env.logs.leaks([]string{"a@example.jp", "b@example.jp", gatePassword})) > 0 {
		t.Error("the gate's log names users")
	}
}

func TestActivePoolSignsInWhenItsModeCannotBeRead(t *testing.T) {
	env := newGateEnv(t, devstack.GateOptions{Message: fencedMessage})
	env.adminUser(t, env.primary, "c@example.jp")
	env.gates.SSM.SetUnreachable(env.primary.Region, true)
	env.gates.SSM.SetUnreachable(env.dr.Region, true)
	tok, err := env.signIn(env.primary, "c@example.jp")
	if err != nil {
		t.Fatalf("sign-in with Parameter Store unreachable in both Regions: %v", err)
	}
	if err := env.refresh(env.primary, tok); err != nil {
		t.Errorf("refresh with Parameter Store unreachable: %v", err)
	}
	if _, err := env.signUp(env.primary, "d@example.jp"); err != nil {
		t.Errorf("sign-up with Parameter Store unreachable: %v", err)
	}
	if !env.logs.contains(`"mode_reason":"` + poolmode.ReasonUnknown + `"`) {
		t.Error("the gate's log does not say it failed open")
	}
}

func TestFencedPoolStaysFencedWhenItsModeCannotBeRead(t *testing.T) {
	env := newGateEnv(t, devstack.GateOptions{Message: fencedMessage})
	env.adminUser(t, env.dr, "e@example.jp")
	if _, err := env.signIn(env.dr, "e@example.jp"); !refusedWith(err, "PreAuthentication", fencedMessage) {
		t.Fatalf("sign-in to the fenced pool: %v", err)
	}
	// Parameter Store in the DR Region stops answering, and the gates start cold (new
	// containers): they have no last known mode, but the primary answers that it is active.
	// (A warm gate keeps its last known fenced mode: poolmode's TestGateFailsOpenForActiveAndClosedForFenced.)
	env.gates.SSM.SetUnreachable(env.dr.Region, true)
	if err := env.gates.Restart(env.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.signIn(env.dr, "e@example.jp"); !refusedWith(err, "PreAuthentication", fencedMessage) {
		t.Errorf("sign-in while the fenced pool's mode cannot be read: %v, want the fenced message", err)
	}
	if _, err := env.signUp(env.dr, "e2@example.jp"); !refusedWith(err, "PreSignUp", fencedMessage) {
		t.Errorf("sign-up while the fenced pool's mode cannot be read: %v, want the fenced message", err)
	}
	if !env.logs.contains(`"mode_reason":"` + poolmode.ReasonPeerActive + `"`) {
		t.Error("the gate's log does not say why it refused")
	}
}

func TestPrimaryIsFencedWhenTheDRPoolFailedOverAfterIt(t *testing.T) {
	env := newGateEnv(t, devstack.GateOptions{Message: fencedMessage})
	// Failover could not reach the primary: its mode still says active; the DR pool's says it
	// became active by a failover after that.
	env.setMode(t, env.dr, poolmode.Active, poolmode.CauseFailover)
	env.adminUser(t, env.primary, "f@example.jp")
	if _, err := env.signIn(env.primary, "f@example.jp"); !refusedWith(err, "PreAuthentication", fencedMessage) {
		t.Errorf("sign-in to the returning primary: %v, want the fenced message", err)
	}
	if _, err := env.signUp(env.primary, "g@example.jp"); !refusedWith(err, "PreSignUp", fencedMessage) {
		t.Errorf("sign-up in the returning primary: %v, want the fenced message", err)
	}
	env.adminUser(t, env.dr, "f@example.jp")
	if _, err := env.signIn(env.dr, "f@example.jp"); err != nil {
		t.Errorf("sign-in to the DR pool after failover: %v", err)
	}
}

func TestChainedPreSignUpFunction(t *testing.T) {
	const theirs = "arn:aws:lambda:ap-northeast-1:000000000000:function:their-pre-sign-up"
	env := newChainedGateEnv(t, devstack.GateOptions{Message: fencedMessage}, map[string]string{replication.PreSignUpTrigger.Name: theirs})
	env.gates.Functions.Register(theirs, func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			return nil, err
		}
		email, _ := m["request"].(map[string]any)["userAttributes"].(map[string]any)["email"].(string)
		if strings.HasSuffix(email, "@blocked.example") {
			return nil, errors.New("Registration from this domain is not allowed.")
		}
		m["response"] = map[string]any{"autoConfirmUser": true, "autoVerifyEmail": true}
		return json.Marshal(m)
	})
	out, err := env.signUp(env.primary, "h@ok.example")
	if err != nil {
		t.Fatalf("sign-up through the chained function: %v", err)
	}
	if !out.UserConfirmed {
		t.Error("the chained function's autoConfirmUser was lost: the user is not confirmed")
	}
	if _, err := env.signIn(env.primary, "h@ok.example"); err != nil {
		t.Errorf("the auto-confirmed user signs in: %v", err)
	}
	// Their error reaches the user exactly as it did before the gate (Cognito doubles the dot).
	if _, err := env.signUp(env.primary, "i@blocked.example"); !refusedWith(err, "PreSignUp", "Registration from this domain is not allowed.") {
		t.Errorf("sign-up refused by the chained function: %v, want its message unchanged", err)
	}
	// A fenced pool refuses before the chained function runs.
	if _, err := env.signUp(env.dr, "j@ok.example"); !refusedWith(err, "PreSignUp", fencedMessage) {
		t.Errorf("sign-up in the fenced pool: %v", err)
	}
}

func TestDRPoolTokensCarryPrimarySubThroughTheGate(t *testing.T) {
	env := newGateEnv(t, devstack.GateOptions{Message: fencedMessage})
	const tokyoSub = "0a0b0c0d-1111-4222-8333-444455556666"
	env.setMode(t, env.dr, poolmode.Active, poolmode.CauseFailover)
	env.adminUser(t, env.dr, "k@example.jp", types.AttributeType{Name: aws.String("custom:" + "primary_sub"), Value: aws.String(tokyoSub)})
	tok, err := env.signIn(env.dr, "k@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(aws.ToString(tok.IdToken), ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims[replication.PrimarySubClaim] != tokyoSub {
		t.Errorf("ID token primary_sub = %v, want %s", claims[replication.PrimarySubClaim], tokyoSub)
	}
}
