package devstack_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// TestUserJourney is issue 4's user journey, end to end on the local stack with real SDK calls
// (the test reads only the emulator's outbox for emailed codes, and the TOTP secret it was handed
// by AssociateSoftwareToken):
//
//  1. Tokyo (MFA required, email username) runs the replicate trigger on PostConfirmation; Osaka
//     (custom:primary_sub) runs the pre-token trigger.
//  2. A signs up in Tokyo, is replicated to Osaka, sets up TOTP in Tokyo and signs in with it.
//  3. Osaka is unreachable from the trigger: B's sign-up in Tokyo still succeeds at once, B waits
//     in the retry store, and reconcile creates B in Osaka once Osaka is back.
//  4. Tokyo is unreachable: `cognito-dr failover` (internal/failover, as the command runs it)
//     fences Tokyo, activates Osaka and pauses reconcile; Tokyo's gate refuses A with its message.
//  5. A signs in to Osaka by resetting the password and setting up a new authenticator, and gets
//     an ID token whose primary_sub claim is A's Tokyo sub.
//  6. Tokyo is back. While the approved failback runs, users keep signing up in Osaka and A keeps
//     changing the profile: every write Osaka accepted is in Tokyo afterwards, the writes after
//     the fence are refused with the failback's message, A signs in to Tokyo with the original
//     password and authenticator, Osaka refuses A with that message, and the Osaka copies are
//     disabled; Tokyo is active, Osaka fenced, reconcile resumed.
func TestUserJourney(t *testing.T) {
	start := time.Now()
	j := newJourney(t)
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"1-pools-and-triggers", j.poolsAndTriggers},
		{"2-signup-replicate-totp", j.signUpReplicateTOTP},
		{"3-signup-while-osaka-down", j.signUpWhileOsakaDown},
		{"4-failover", j.failOver},
		{"5-signin-to-osaka-while-tokyo-down", j.signInToOsaka},
		{"6-failback-with-writes-in-flight", j.failback},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("the journey stops at %s", s.name)
		}
	}
	for _, line := range []string{`"result":"created"`, `"result":"queued-for-retry"`} {
		if !j.logs.contains(line) {
			t.Errorf("the replicate trigger logged no line with %s", line)
		}
	}
	if leaked := j.logs.leaks(j.secrets()); len(leaked) > 0 {
		t.Errorf("the triggers' and tasks' logs contain user secrets or addresses: %q", leaked)
	}
	t.Logf("journey took %s", time.Since(start).Round(time.Millisecond))
}

const (
	emailA = "aiko.tanaka@example.jp"
	emailB = "ben.sato@example.jp"
	// The passwords each user chose; A's Osaka password is the one set by "forgot password".
	passwordA      = "Tokyo-Passw0rd!A"
	passwordB      = "Tokyo-Passw0rd!B"
	osakaPasswordA = "Osaka-Passw0rd!A"
	// What each pool's gate tells users once it is fenced: Tokyo by the failover, Osaka by the failback.
	tokyoClosedMessage = "Tokyo is down: sign in at https://osaka.example.jp"
	osakaClosedMessage = "We are back in Tokyo: sign in at https://login.example.jp"
)

type journey struct {
	t     *testing.T
	ctx   context.Context
	stack *devstack.Stack
	sc    *devstack.Scenario
	repl  *devstack.Replication
	gates *devstack.Gates
	logs  *lockedBuffer
	log   *slog.Logger

	tokyo, osaka *cip.Client // what apps and admins reach the two Regions with
	// deadTokyo is an app's client while Tokyo is unreachable: its endpoint accepts connections
	// and drops them, as a Region behind a dead load balancer does.
	deadTokyo *cip.Client
	// osakaDown makes the replicate trigger's Osaka client the unreachable one.
	osakaDown atomic.Bool

	tokyoClient, osakaClient string // app client ids

	subA, subB string
	tokyoTOTPA string // A's authenticator secret, registered in Tokyo
	osakaTOTPA string // the new authenticator A registers in Osaka
	failover   time.Time
	osakaSubA  string
	// osakaTokensA are the tokens A got from Osaka during the outage.
	osakaTokensA *types.AuthenticationResultType
}

func newJourney(t *testing.T) *journey {
	t.Helper()
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{Quotas: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	j := &journey{t: t, ctx: ctx, stack: st, sc: sc, logs: &lockedBuffer{},
		tokyo: st.Clients.Cognito(sc.Tokyo.Region), osaka: st.Clients.Cognito(sc.Osaka.Region)}

	// An endpoint that is unreachable: it accepts TCP connections and closes them unanswered.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Close() })
	go func() {
		for {
			c, err := dead.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	deadURL := "http://" + dead.Addr().String()
	// The trigger's Osaka client during the outage is built exactly as the Lambda builds its
	// clients (awsclients, the SDK's standard retryer): only the endpoint is dead.
	deadClients := awsclients.New(localaws.ClientConfig(deadURL, "us-east-1"), awsclients.Options{})
	j.deadTokyo = cip.NewFromConfig(localaws.ClientConfig(deadURL, sc.Tokyo.Region), func(o *cip.Options) { o.RetryMaxAttempts = 1 })

	log := slog.New(slog.NewJSONHandler(j.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	j.log = log
	if j.repl, err = st.Replication(sc, nil, log, asl.WithClock(asl.NewFakeClock(time.Now()))); err != nil {
		t.Fatal(err)
	}
	live := j.repl.Steps.Cognito
	j.repl.Steps.Cognito = func(region string) replication.Cognito {
		if region == sc.Osaka.Region && j.osakaDown.Load() {
			return deadClients.Cognito(region)
		}
		return live(region)
	}
	return j
}

// poolsAndTriggers: app clients on both pools; Tokyo's PostConfirmation is the replicate
// trigger and Osaka's PreTokenGeneration the pre-token trigger, set with UpdateUserPool from the
// pool's own description (UpdateUserPool resets whatever it is not given).
func (j *journey) poolsAndTriggers(t *testing.T) {
	j.stack.RegisterTriggers(j.repl)
	j.tokyoClient = j.appClient(t, j.tokyo, j.sc.TokyoID, "tokyo-web")
	j.osakaClient = j.appClient(t, j.osaka, j.sc.OsakaID, "osaka-web")
	j.setTriggers(t, j.tokyo, j.sc.TokyoID, func(lc *types.LambdaConfigType) { lc.PostConfirmation = aws.String(j.repl.ReplicateARN) })
	j.setTriggers(t, j.osaka, j.sc.OsakaID, func(lc *types.LambdaConfigType) { lc.PreTokenGeneration = aws.String(j.repl.PreTokenARN) })
	// The gates on both pools, as deployed (Tokyo active, Osaka fenced); Osaka's pre-token
	// trigger becomes the gate's, which adds the same claim. And the reconcile schedule.
	primary, dr := j.sc.GatePools()
	var err error
	if j.gates, err = j.stack.WireGates(j.ctx, primary, dr, devstack.GateOptions{Log: j.log}); err != nil {
		t.Fatal(err)
	}
	if err := j.stack.DeployReconcileSchedule(j.ctx, primary, dr, failover.DefaultScheduleName); err != nil {
		t.Fatal(err)
	}

	for _, p := range []struct {
		c    *cip.Client
		id   string
		want func(*types.LambdaConfigType) string
	}{
		{j.tokyo, j.sc.TokyoID, func(lc *types.LambdaConfigType) string { return aws.ToString(lc.PostConfirmation) }},
		{j.osaka, j.sc.OsakaID, func(lc *types.LambdaConfigType) string { return aws.ToString(lc.PreTokenGeneration) }},
	} {
		d, err := p.c.DescribeUserPool(j.ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(p.id)})
		if err != nil {
			t.Fatal(err)
		}
		up := d.UserPool
		if up.LambdaConfig == nil || p.want(up.LambdaConfig) == "" || up.MfaConfiguration != types.UserPoolMfaTypeOn ||
			!slices.Equal(up.UsernameAttributes, []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}) ||
			!slices.Equal(up.AutoVerifiedAttributes, []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}) {
			t.Errorf("%s after UpdateUserPool: triggers %+v, MFA %s, username %v, auto-verified %v; want the trigger, ON, [email], [email]",
				p.id, up.LambdaConfig, up.MfaConfiguration, up.UsernameAttributes, up.AutoVerifiedAttributes)
		}
	}
}

func (j *journey) appClient(t *testing.T, c *cip.Client, pool, name string) string {
	t.Helper()
	out, err := c.CreateUserPoolClient(j.ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(pool), ClientName: aws.String(name),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		t.Fatalf("CreateUserPoolClient %s: %v", name, err)
	}
	return aws.ToString(out.UserPoolClient.ClientId)
}

func (j *journey) setTriggers(t *testing.T, c *cip.Client, pool string, set func(*types.LambdaConfigType)) {
	t.Helper()
	d, err := c.DescribeUserPool(j.ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	p := d.UserPool
	lc := &types.LambdaConfigType{}
	if p.LambdaConfig != nil {
		*lc = *p.LambdaConfig
	}
	set(lc)
	in := &cip.UpdateUserPoolInput{
		UserPoolId: aws.String(pool), LambdaConfig: lc,
		MfaConfiguration: p.MfaConfiguration, AutoVerifiedAttributes: p.AutoVerifiedAttributes,
		AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig,
		DeviceConfiguration: p.DeviceConfiguration, EmailConfiguration: p.EmailConfiguration,
		EmailVerificationMessage: p.EmailVerificationMessage, EmailVerificationSubject: p.EmailVerificationSubject,
		SmsAuthenticationMessage: p.SmsAuthenticationMessage, SmsConfiguration: p.SmsConfiguration,
		SmsVerificationMessage: p.SmsVerificationMessage, UserAttributeUpdateSettings: p.UserAttributeUpdateSettings,
		UserPoolAddOns: p.UserPoolAddOns, UserPoolTags: p.UserPoolTags, VerificationMessageTemplate: p.VerificationMessageTemplate,
		DeletionProtection: p.DeletionProtection, PoolName: p.Name, UserPoolTier: p.UserPoolTier,
	}
	if p.Policies != nil {
		in.Policies = p.Policies
	}
	if _, err := c.UpdateUserPool(j.ctx, in); err != nil {
		t.Fatalf("UpdateUserPool %s: %v", pool, err)
	}
}

// signUp signs a user up in Tokyo with the code from the outbox and returns the Tokyo sub and how
// long ConfirmSignUp (which runs the replicate trigger) took.
func (j *journey) signUp(t *testing.T, email, password, given string) (string, time.Duration) {
	t.Helper()
	out, err := j.tokyo.SignUp(j.ctx, &cip.SignUpInput{
		ClientId: aws.String(j.tokyoClient), Username: aws.String(email), Password: aws.String(password),
		UserAttributes: []types.AttributeType{
			{Name: aws.String("given_name"), Value: aws.String(given)},
			{Name: aws.String("family_name"), Value: aws.String("Journey")},
			{Name: aws.String("custom:tenant"), Value: aws.String("acme")},
		},
	})
	if err != nil {
		t.Fatalf("SignUp %s in Tokyo: %v", email, err)
	}
	if out.UserConfirmed || out.CodeDeliveryDetails == nil || out.CodeDeliveryDetails.DeliveryMedium != types.DeliveryMediumTypeEmail {
		t.Fatalf("SignUp %s: confirmed=%v delivery=%+v; want unconfirmed with a code by email", email, out.UserConfirmed, out.CodeDeliveryDetails)
	}
	code, ok := j.stack.Cognito.LastCode(j.sc.TokyoID, email, localcognito.KindSignUp)
	if !ok {
		t.Fatalf("no sign-up code for %s in the outbox", email)
	}
	began := time.Now()
	_, err = j.tokyo.ConfirmSignUp(j.ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(j.tokyoClient), Username: aws.String(email), ConfirmationCode: aws.String(code)})
	took := time.Since(began)
	if err != nil {
		t.Fatalf("ConfirmSignUp %s in Tokyo after %s: %v", email, took.Round(time.Millisecond), err)
	}
	return aws.ToString(out.UserSub), took
}

func (j *journey) signUpReplicateTOTP(t *testing.T) {
	var took time.Duration
	j.subA, took = j.signUp(t, emailA, passwordA, "Aiko")
	t.Logf("A confirmed in Tokyo in %s (replicate trigger included)", took.Round(time.Millisecond))

	// The trigger ran inside ConfirmSignUp: the copy is in Osaka already.
	tok := j.getUser(t, j.tokyo, j.sc.TokyoID, emailA)
	cp := j.getUser(t, j.osaka, j.sc.OsakaID, emailA)
	want := map[string]string{"email": emailA, "email_verified": "true", "given_name": "Aiko", "family_name": "Journey", "custom:tenant": "acme",
		replication.PrimarySubAttribute: j.subA}
	got := attrMap(cp.UserAttributes)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Osaka copy of A: %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	j.osakaSubA = got["sub"]
	if j.osakaSubA == "" || j.osakaSubA == j.subA {
		t.Errorf("Osaka copy of A has sub %q; want its own sub, not the Tokyo sub %s", j.osakaSubA, j.subA)
	}
	if attrMap(tok.UserAttributes)["sub"] != j.subA {
		t.Errorf("Tokyo sub of A = %q, SignUp said %s", attrMap(tok.UserAttributes)["sub"], j.subA)
	}
	if cp.UserStatus != types.UserStatusTypeConfirmed || !cp.Enabled {
		t.Errorf("Osaka copy of A: status %s enabled %v; want CONFIRMED (so ForgotPassword works) and enabled", cp.UserStatus, cp.Enabled)
	}
	if len(cp.UserMFASettingList) != 0 {
		t.Errorf("Osaka copy of A has MFA %v before A set any up", cp.UserMFASettingList)
	}
	if n := j.pending(t); len(n) != 0 {
		t.Errorf("retry store holds %v after a successful copy", n)
	}

	// First sign-in to Tokyo: MFA is required and A has none, so MFA_SETUP with an authenticator.
	first := j.initiate(t, j.tokyo, j.tokyoClient, emailA, passwordA)
	j.tokyoTOTPA = j.setUpTOTP(t, j.tokyo, j.tokyoClient, emailA, first, "Tokyo")
	second := j.initiate(t, j.tokyo, j.tokyoClient, emailA, passwordA)
	if second.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("second Tokyo sign-in of A: challenge %q, want SOFTWARE_TOKEN_MFA", second.ChallengeName)
	}
	res := j.answerTOTP(t, j.tokyo, j.tokyoClient, emailA, second, j.tokyoTOTPA, "Tokyo")
	claims := j.verifyIDToken(t, j.sc.Tokyo.Region, j.sc.TokyoID, j.tokyoClient, aws.ToString(res.IdToken))
	if claims["sub"] != j.subA || claims["email"] != emailA {
		t.Errorf("Tokyo ID token of A: sub %v email %v, want %s %s", claims["sub"], claims["email"], j.subA, emailA)
	}
	if _, ok := claims[replication.PrimarySubClaim]; ok {
		t.Errorf("Tokyo ID token carries %s: the primary pool has no pre-token trigger", replication.PrimarySubClaim)
	}
}

// signUpWhileOsakaDown: Osaka is unreachable from Tokyo (the trigger's Osaka endpoint drops
// every connection). B's sign-up succeeds within Cognito's trigger limit; B waits in the retry
// store; when Osaka answers again a reconcile run creates B there and empties the store.
func (j *journey) signUpWhileOsakaDown(t *testing.T) {
	j.osakaDown.Store(true)
	var took time.Duration
	j.subB, took = j.signUp(t, emailB, passwordB, "Ben")
	t.Logf("B confirmed in Tokyo while Osaka was down in %s", took.Round(time.Millisecond))
	if took >= 5*time.Second {
		t.Errorf("ConfirmSignUp with Osaka down took %s; Cognito fails a trigger at 5 s", took.Round(time.Millisecond))
	}
	if u := j.getUser(t, j.tokyo, j.sc.TokyoID, emailB); u.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("B in Tokyo: %s, want CONFIRMED", u.UserStatus)
	}
	if _, err := j.osaka.AdminGetUser(j.ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(j.sc.OsakaID), Username: aws.String(emailB)}); errCode(err) != "UserNotFoundException" {
		t.Errorf("B in Osaka while Osaka was unreachable: %v, want UserNotFoundException", err)
	}
	if got := j.pending(t); !slices.Equal(got, []string{j.subB}) {
		t.Fatalf("retry store holds %v, want B's sub [%s]", got, j.subB)
	}

	j.osakaDown.Store(false)
	ctx, cancel := context.WithTimeout(j.ctx, 20*time.Second)
	defer cancel()
	run, err := j.repl.Run(ctx, "journey-reconcile", j.sc.ReconcileRequest(false))
	if err != nil {
		t.Fatalf("reconcile: %v (path %v)", err, run.Path)
	}
	o := run.Output
	if o.Before.Users != 1 || o.Before.Kinds[replication.KindMissing] != 1 || o.Pending != 1 || o.Resolved != 1 || o.Repaired != 1 || o.Failed != 0 || o.After.Users != 0 {
		t.Errorf("reconcile: before %d users %v, pending %d resolved %d repaired %d failed %d, after %d users %v; want B missing, queued, repaired, then no drift",
			o.Before.Users, o.Before.Kinds, o.Pending, o.Resolved, o.Repaired, o.Failed, o.After.Users, o.After.Kinds)
	}
	b := j.getUser(t, j.osaka, j.sc.OsakaID, emailB)
	if got := attrMap(b.UserAttributes); got[replication.PrimarySubAttribute] != j.subB || got["email_verified"] != "true" || got["given_name"] != "Ben" ||
		b.UserStatus != types.UserStatusTypeConfirmed || !b.Enabled {
		t.Errorf("B in Osaka after reconcile: %s enabled=%v %v; want CONFIRMED, enabled, primary_sub %s, verified email", b.UserStatus, b.Enabled, got, j.subB)
	}
	if got := j.pending(t); len(got) != 0 {
		t.Errorf("retry store still holds %v after reconcile", got)
	}
}

// failOver: the operator runs `cognito-dr failover` (internal/failover with the CLI's clients):
// Tokyo fenced with its message, Osaka active since the failover time, reconcile paused. The apps
// that still reach Tokyo are refused there with the message.
func (j *journey) failOver(t *testing.T) {
	// Traffic moves to Osaka now. The failover time goes to the failback in whole seconds, so
	// start on a second boundary: every copy made so far is older, A's reset in Osaka newer.
	j.failover = time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(j.failover))
	f := &failover.Failover{
		SSM:       func(region string) poolmode.SSM { return j.stack.Clients.SSM(region) },
		Scheduler: func(region string) failover.Scheduler { return j.stack.Clients.Scheduler(region) },
		Now:       func() time.Time { return j.failover },
	}
	r, err := f.Run(j.ctx, failover.Config{
		PrimaryPool: j.sc.TokyoID, PrimaryRegion: j.sc.Tokyo.Region, DRPool: j.sc.OsakaID, DRRegion: j.sc.Osaka.Region,
		Message: tokyoClosedMessage, ScheduleName: failover.DefaultScheduleName, ScheduleGroup: failover.DefaultScheduleGroup,
	})
	if err != nil || len(r.Findings) != 0 {
		t.Fatalf("failover: %v, findings %q", err, r.Findings)
	}
	if r.Primary.Action != failover.Fenced || r.DR.Action != failover.Activated || r.Schedule.Action != failover.Paused || !r.FailoverTime.Equal(j.failover) {
		t.Errorf("failover: primary %s, DR %s, schedule %s, time %s; want fenced, activated, paused, %s", r.Primary.Action, r.DR.Action, r.Schedule.Action, r.FailoverTime, j.failover)
	}
	// New gate containers: each reads the switch at once (a warm one within MODE_CACHE_SECONDS).
	if err := j.gates.Restart(j.ctx); err != nil {
		t.Fatal(err)
	}
	_, err = j.tokyo.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.tokyoClient), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": emailA, "PASSWORD": passwordA}})
	if code, msg := errCodeMessage(err); code != "UserLambdaValidationException" || !strings.Contains(msg, tokyoClosedMessage) {
		t.Errorf("A signing in to the fenced Tokyo: %v, want UserLambdaValidationException with %q", err, tokyoClosedMessage)
	}
}

// signInToOsaka: Tokyo is unreachable (an app's Tokyo endpoint drops every connection; the
// Tokyo pool itself is untouched, as a Regional outage leaves the data). A signs in to Osaka.
func (j *journey) signInToOsaka(t *testing.T) {
	_, err := j.deadTokyo.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.tokyoClient), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": emailA, "PASSWORD": passwordA}})
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("sign-in to Tokyo during the outage: %v; want a connection failure", err)
	}

	// Passwords do not travel: the copy's password is one nobody knows.
	_, err = j.osaka.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.osakaClient), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": emailA, "PASSWORD": passwordA}})
	if errCode(err) != "NotAuthorizedException" {
		t.Fatalf("A's Tokyo password in Osaka: %v, want NotAuthorizedException", err)
	}

	fp, err := j.osaka.ForgotPassword(j.ctx, &cip.ForgotPasswordInput{ClientId: aws.String(j.osakaClient), Username: aws.String(emailA)})
	if err != nil {
		t.Fatalf("ForgotPassword for A in Osaka: %v (a FORCE_CHANGE_PASSWORD copy cannot reset)", err)
	}
	if d := fp.CodeDeliveryDetails; d == nil || d.DeliveryMedium != types.DeliveryMediumTypeEmail {
		t.Errorf("ForgotPassword delivery %+v, want EMAIL (the copied verified flag)", fp.CodeDeliveryDetails)
	}
	code, ok := j.stack.Cognito.LastCode(j.sc.OsakaID, emailA, localcognito.KindForgotPassword)
	if !ok {
		t.Fatal("no ForgotPassword code for A in the outbox")
	}
	if _, err := j.osaka.ConfirmForgotPassword(j.ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(j.osakaClient), Username: aws.String(emailA),
		ConfirmationCode: aws.String(code), Password: aws.String(osakaPasswordA)}); err != nil {
		t.Fatalf("ConfirmForgotPassword for A in Osaka: %v", err)
	}

	// TOTP does not travel: MFA is required and the copy has no authenticator.
	first := j.initiate(t, j.osaka, j.osakaClient, emailA, osakaPasswordA)
	j.osakaTOTPA = j.setUpTOTP(t, j.osaka, j.osakaClient, emailA, first, "Osaka")
	if j.osakaTOTPA == j.tokyoTOTPA {
		t.Error("Osaka handed out A's Tokyo authenticator secret")
	}
	second := j.initiate(t, j.osaka, j.osakaClient, emailA, osakaPasswordA)
	if second.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("second Osaka sign-in of A: %q, want SOFTWARE_TOKEN_MFA", second.ChallengeName)
	}
	if _, err := j.respondTOTP(j.osaka, j.osakaClient, emailA, second, j.tokyoTOTPA); errCode(err) != "CodeMismatchException" {
		t.Errorf("A's Tokyo authenticator in Osaka: %v, want CodeMismatchException", err)
	}
	res := j.answerTOTP(t, j.osaka, j.osakaClient, emailA, second, j.osakaTOTPA, "Osaka")
	claims := j.verifyIDToken(t, j.sc.Osaka.Region, j.sc.OsakaID, j.osakaClient, aws.ToString(res.IdToken))
	if claims[replication.PrimarySubClaim] != j.subA {
		t.Errorf("Osaka ID token of A: %s = %v, want A's Tokyo sub %s", replication.PrimarySubClaim, claims[replication.PrimarySubClaim], j.subA)
	}
	if claims["sub"] != j.osakaSubA || claims["email"] != emailA {
		t.Errorf("Osaka ID token of A: sub %v email %v, want the Osaka sub %s and %s", claims["sub"], claims["email"], j.osakaSubA, emailA)
	}
	// The Osaka token is the Osaka pool's: Tokyo's keys do not verify it.
	if err := verifyJWT(j.jwks(t, j.sc.TokyoID), aws.ToString(res.IdToken)); err == nil {
		t.Error("the Osaka ID token verifies against the Tokyo pool's JWKS")
	}
	// A refreshed ID token keeps the claim (the trigger runs for TokenGeneration_RefreshTokens).
	ref, err := j.osaka.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.osakaClient), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(res.RefreshToken)}})
	if err != nil || ref.AuthenticationResult == nil {
		t.Fatalf("refresh in Osaka: %+v %v", ref, err)
	}
	if c := j.verifyIDToken(t, j.sc.Osaka.Region, j.sc.OsakaID, j.osakaClient, aws.ToString(ref.AuthenticationResult.IdToken)); c[replication.PrimarySubClaim] != j.subA {
		t.Errorf("refreshed Osaka ID token of A: %s = %v, want %s", replication.PrimarySubClaim, c[replication.PrimarySubClaim], j.subA)
	}
	j.osakaTokensA = res
}

// failback: Tokyo is back. The failback workflow plans, waits for approval, fences Osaka, takes
// the final plan, imports, activates Tokyo and disables every Osaka copy of a user Tokyo has,
// while a writer keeps signing users up in Osaka and A keeps changing the profile there.
func (j *journey) failback(t *testing.T) {
	fb, err := j.stack.Failback(j.sc, func(fns map[string]boundary.Func) {
		// With the fake clock the state machine's WaitForGateCaches takes no time: fresh gate
		// containers stand for the caches it waits out.
		fence := fns["FenceDrFunctionArn"]
		fns["FenceDrFunctionArn"] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			out, err := fence(ctx, in)
			if err == nil {
				err = j.gates.Restart(ctx)
			}
			return out, err
		}
	}, asl.WithClock(asl.NewFakeClock(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	in := j.sc.FailbackRequest(j.failover)
	in["fencedMessage"] = osakaClosedMessage
	// The writer makes more changes between the plan and the fence than the default margin: this
	// journey approves once (the second approval has its own tests in workflows/failback).
	in["approvalMarginUsers"] = 1000
	raw, _ := json.Marshal(in)

	ctx, cancel := context.WithTimeout(j.ctx, 60*time.Second)
	defer cancel()
	// Osaka's users keep writing: sign-ups, and A changing the profile (A's sign-in in Osaka
	// passes the gate, the app completes it and changes the profile).
	_, dr := j.sc.GatePools()
	w := &devstack.Writer{Stack: j.stack, Pool: dr, ClientID: j.osakaClient, Message: osakaClosedMessage,
		Users: map[string]string{emailA: osakaPasswordA}, Interval: 25 * time.Millisecond, Prefix: "writer"}
	stop, written := make(chan struct{}), make(chan devstack.WriterResult)
	go func() { written <- w.Run(ctx, stop) }()
	x, err := fb.Exec.Start(j.ctx, "journey-failback", raw)
	if err != nil {
		t.Fatal(err)
	}
	link := ""
	for m := range j.stack.AWS.SNS().Follow(ctx) {
		if l := devstack.ApprovalLink(m.Message); l != "" && strings.Contains(m.Message, x.Name) {
			link = l
			break
		}
	}
	if link == "" {
		t.Fatalf("no approval email for %s: %s %s %s", x.Name, x.Status(), x.ErrorName(), x.Cause())
	}
	if status, err := devstack.Decide(ctx, link, "approve", "Aiko (SRE on call)"); err != nil || status != http.StatusOK {
		t.Fatalf("approve: HTTP %d %v", status, err)
	}
	waitErr := x.Wait(ctx)
	close(stop)
	wr := <-written
	if waitErr != nil {
		t.Fatalf("failback did not end: %v (path %v)", waitErr, x.Path())
	}
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("failback %s: %s %s (path %v)", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	var out failback.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("writes in flight: %d accepted by Osaka (%d sign-ups), %d refused by the fence", wr.Accepted, len(wr.SignUps), wr.Refused)
	if len(wr.SignUps) == 0 || wr.Given[emailA] == "" || wr.Refused == 0 || len(wr.Violations) > 0 || len(wr.Errors) > 0 {
		t.Errorf("the writer: %d sign-ups and A's profile change %q accepted, %d refused, violations %q, errors %q; "+
			"want writes accepted before the fence, refused after it, and no other answer", len(wr.SignUps), wr.Given[emailA], wr.Refused, wr.Violations, wr.Errors)
	}
	carried := out.Outcomes["primary:imported"] + out.Outcomes["primary:created-by-api"]
	if out.Lost != 0 || carried != len(wr.SignUps) || out.Outcomes["dr:disabled"] != 2+len(wr.SignUps) {
		t.Errorf("failback report: lost %d, outcomes %v; want every one of the %d accepted sign-ups carried over and every Osaka user disabled", out.Lost, out.Outcomes, len(wr.SignUps))
	}
	// Nothing Osaka accepted is lost: each sign-up is in Tokyo, and A's last profile change.
	primary, _ := j.sc.GatePools()
	if lost, err := wr.Lost(j.ctx, j.stack, primary); err != nil || len(lost) > 0 {
		t.Errorf("writes Osaka accepted that Tokyo does not have: %q %v", lost, err)
	}
	if out.Modes != (failback.Modes{Primary: "active", DR: "fenced", Schedule: failover.Resumed}) {
		t.Errorf("report modes %+v, want Tokyo active, Osaka fenced, reconcile resumed", out.Modes)
	}

	// A signs in to Tokyo with the original password and the original authenticator.
	in2 := j.initiate(t, j.tokyo, j.tokyoClient, emailA, passwordA)
	if in2.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("Tokyo sign-in of A after failback: %q, want SOFTWARE_TOKEN_MFA with the Tokyo authenticator", in2.ChallengeName)
	}
	res := j.answerTOTP(t, j.tokyo, j.tokyoClient, emailA, in2, j.tokyoTOTPA, "Tokyo after failback")
	if claims := j.verifyIDToken(t, j.sc.Tokyo.Region, j.sc.TokyoID, j.tokyoClient, aws.ToString(res.IdToken)); claims["sub"] != j.subA {
		t.Errorf("Tokyo ID token of A after failback: sub %v, want %s", claims["sub"], j.subA)
	}
	// The Osaka password did not travel (README: "The Osaka password does not travel back").
	_, err = j.tokyo.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.tokyoClient), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": emailA, "PASSWORD": osakaPasswordA}})
	if code, msg := errCodeMessage(err); code != "NotAuthorizedException" || msg != "Incorrect username or password." {
		t.Errorf("A's Osaka password in Tokyo: %v, want NotAuthorizedException Incorrect username or password.", err)
	}

	// Osaka refuses A with the failback's message: its gate runs before the password is checked.
	_, err = j.osaka.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.osakaClient), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": emailA, "PASSWORD": osakaPasswordA}})
	if code, msg := errCodeMessage(err); code != "UserLambdaValidationException" || !strings.Contains(msg, osakaClosedMessage) {
		t.Errorf("A signing in to Osaka after failback: %v, want UserLambdaValidationException with %q", err, osakaClosedMessage)
	}
	// Disabling revoked what A holds from Osaka: the access token and the refresh token.
	if _, err := j.osaka.GetUser(j.ctx, &cip.GetUserInput{AccessToken: j.osakaTokensA.AccessToken}); errCode(err) != "NotAuthorizedException" {
		t.Errorf("A's Osaka access token after failback: %v, want NotAuthorizedException", err)
	}
	_, err = j.osaka.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(j.osakaClient), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(j.osakaTokensA.RefreshToken)}})
	if errCode(err) != "NotAuthorizedException" {
		t.Errorf("A's Osaka refresh token after failback: %v, want NotAuthorizedException", err)
	}
	for _, email := range []string{emailA, emailB} {
		if u := j.getUser(t, j.osaka, j.sc.OsakaID, email); u.Enabled {
			t.Errorf("%s is still enabled in Osaka after failback", email)
		}
		if u := j.getUser(t, j.tokyo, j.sc.TokyoID, email); !u.Enabled || u.UserStatus != types.UserStatusTypeConfirmed {
			t.Errorf("%s in Tokyo after failback: %s enabled=%v, want CONFIRMED and enabled", email, u.UserStatus, u.Enabled)
		}
	}
	sched, err := j.stack.Clients.Scheduler(j.sc.Osaka.Region).GetSchedule(j.ctx, &scheduler.GetScheduleInput{Name: aws.String(failover.DefaultScheduleName)})
	if err != nil || sched.State != schedtypes.ScheduleStateEnabled {
		t.Errorf("reconcile schedule after failback: %v %v, want ENABLED", sched, err)
	}
}

// initiate starts a USER_PASSWORD_AUTH sign-in that must lead to a challenge.
func (j *journey) initiate(t *testing.T, c *cip.Client, client, email, password string) *cip.InitiateAuthOutput {
	t.Helper()
	out, err := c.InitiateAuth(j.ctx, &cip.InitiateAuthInput{ClientId: aws.String(client), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password}})
	if err != nil {
		t.Fatalf("InitiateAuth %s: %v", email, err)
	}
	if out.AuthenticationResult != nil {
		t.Fatalf("InitiateAuth %s returned tokens without MFA in a pool that requires it", email)
	}
	return out
}

// setUpTOTP answers MFA_SETUP: AssociateSoftwareToken and VerifySoftwareToken with the session,
// then RespondToAuthChallenge; it returns the new secret (what the authenticator app keeps).
func (j *journey) setUpTOTP(t *testing.T, c *cip.Client, client, email string, in *cip.InitiateAuthOutput, where string) string {
	t.Helper()
	if in.ChallengeName != types.ChallengeNameTypeMfaSetup {
		t.Fatalf("%s sign-in of %s: challenge %q, want MFA_SETUP", where, email, in.ChallengeName)
	}
	if can := in.ChallengeParameters["MFAS_CAN_SETUP"]; !strings.Contains(can, "SOFTWARE_TOKEN_MFA") {
		t.Fatalf("%s MFA_SETUP offers %s, want SOFTWARE_TOKEN_MFA", where, can)
	}
	as, err := c.AssociateSoftwareToken(j.ctx, &cip.AssociateSoftwareTokenInput{Session: in.Session})
	if err != nil {
		t.Fatalf("%s AssociateSoftwareToken: %v", where, err)
	}
	secret := aws.ToString(as.SecretCode)
	code, err := localcognito.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.VerifySoftwareToken(j.ctx, &cip.VerifySoftwareTokenInput{Session: as.Session, UserCode: aws.String(code), FriendlyDeviceName: aws.String("phone")})
	if err != nil || v.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		t.Fatalf("%s VerifySoftwareToken: %v %v", where, v, err)
	}
	out, err := c.RespondToAuthChallenge(j.ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(client), ChallengeName: types.ChallengeNameTypeMfaSetup,
		Session: v.Session, ChallengeResponses: map[string]string{"USERNAME": email}})
	if err != nil || out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.IdToken) == "" {
		t.Fatalf("%s MFA_SETUP answer: %+v %v; want tokens", where, out, err)
	}
	return secret
}

func (j *journey) respondTOTP(c *cip.Client, client, email string, in *cip.InitiateAuthOutput, secret string) (*cip.RespondToAuthChallengeOutput, error) {
	code, err := localcognito.TOTPCode(secret, time.Now())
	if err != nil {
		return nil, err
	}
	return c.RespondToAuthChallenge(j.ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(client), ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa,
		Session: in.Session, ChallengeResponses: map[string]string{"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": code}})
}

func (j *journey) answerTOTP(t *testing.T, c *cip.Client, client, email string, in *cip.InitiateAuthOutput, secret, where string) *types.AuthenticationResultType {
	t.Helper()
	out, err := j.respondTOTP(c, client, email, in, secret)
	if err != nil || out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.IdToken) == "" {
		t.Fatalf("%s SOFTWARE_TOKEN_MFA answer for %s: %+v %v; want tokens", where, email, out, err)
	}
	return out.AuthenticationResult
}

func (j *journey) getUser(t *testing.T, c *cip.Client, pool, email string) *cip.AdminGetUserOutput {
	t.Helper()
	u, err := c.AdminGetUser(j.ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(email)})
	if err != nil {
		t.Fatalf("AdminGetUser %s in %s: %v", email, pool, err)
	}
	return u
}

// pending lists the subs in the replicate trigger's retry store.
func (j *journey) pending(t *testing.T) []string {
	t.Helper()
	var subs []string
	if err := j.repl.Retry.List(j.ctx, j.sc.TokyoID, func(p replication.Pending) error { subs = append(subs, p.Sub); return nil }); err != nil {
		t.Fatalf("list retry store: %v", err)
	}
	return subs
}

func (j *journey) secrets() []string {
	s := []string{passwordA, passwordB, osakaPasswordA, emailA, emailB, j.tokyoTOTPA, j.osakaTOTPA}
	if r := j.osakaTokensA; r != nil {
		s = append(s, aws.ToString(r.AccessToken), aws.ToString(r.IdToken), aws.ToString(r.RefreshToken))
	}
	return s
}

// jwks fetches a pool's JSON Web Key Set over HTTP, as an app does.
func (j *journey) jwks(t *testing.T, pool string) []byte {
	t.Helper()
	resp, err := http.Get(j.stack.URL() + localcognito.JWKSPath + pool + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS of %s: HTTP %d %v", pool, resp.StatusCode, err)
	}
	return b
}

// verifyIDToken checks an ID token as an app must: RS256 signature under a key of the pool's
// JWKS, issuer, audience, token_use and expiry; it returns the claims.
func (j *journey) verifyIDToken(t *testing.T, region, pool, client, tok string) map[string]any {
	t.Helper()
	if err := verifyJWT(j.jwks(t, pool), tok); err != nil {
		t.Fatalf("ID token from %s: %v", pool, err)
	}
	claims, err := jwtClaims(tok)
	if err != nil {
		t.Fatal(err)
	}
	iss := "https://cognito-idp." + region + ".amazonaws.com/" + pool
	exp, _ := claims["exp"].(float64)
	if claims["iss"] != iss || claims["aud"] != client || claims["token_use"] != "id" || time.Unix(int64(exp), 0).Before(time.Now()) {
		t.Errorf("ID token from %s: iss %v aud %v token_use %v exp %v; want %s, %s, id, in the future", pool, claims["iss"], claims["aud"], claims["token_use"], claims["exp"], iss, client)
	}
	return claims
}

func verifyJWT(jwks []byte, tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var hdr struct{ Alg, Kid string }
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(h, &hdr) != nil {
		return fmt.Errorf("bad JWT header: %v", err)
	}
	if hdr.Alg != "RS256" {
		return fmt.Errorf("alg %q, want RS256", hdr.Alg)
	}
	var set struct {
		Keys []struct{ Kid, Kty, Alg, N, E string }
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return err
	}
	for _, k := range set.Keys {
		if k.Kid != hdr.Kid {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || k.Kty != "RSA" {
			return fmt.Errorf("bad JWK %s: %v", k.Kid, err)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	}
	return fmt.Errorf("no key %q in the JWKS", hdr.Kid)
}

func jwtClaims(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(b, &claims)
}

func attrMap(list []types.AttributeType) map[string]string {
	m := make(map[string]string, len(list))
	for _, a := range list {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

func errCode(err error) string {
	code, _ := errCodeMessage(err)
	return code
}

func errCodeMessage(err error) (string, string) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	return "", ""
}

// lockedBuffer collects log lines written from the triggers' goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes(), []byte(s))
}

// leaks returns the secrets that appear in the logs.
func (b *lockedBuffer) leaks(secrets []string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, s := range secrets {
		if s != "" && bytes.Contains(b.buf.Bytes(), []byte(s)) {
			out = append(out, s)
		}
	}
	return out
}
