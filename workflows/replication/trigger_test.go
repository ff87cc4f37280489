package replication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// triggerEnv is the replicate trigger's deployed settings on the local stack, less drop.
func (f *stackFixture) triggerEnv(drop ...string) func(string) string {
	env := map[string]string{
		"DR_USER_POOL_ID": f.sc.OsakaID, "DR_REGION": f.sc.Osaka.Region,
		"RETRY_BUCKET": devstack.RetryBucket, "RETRY_REGION": f.sc.Tokyo.Region,
	}
	for _, k := range drop {
		delete(env, k)
	}
	return func(k string) string { return env[k] }
}

// confirmedEvent is the PostConfirmation event of a user just created in Tokyo.
func (f *stackFixture) confirmedEvent(email string) (json.RawMessage, string) {
	f.t.Helper()
	sub := f.signUp(email)
	user := attrs(f.get(f.tokyo(), f.sc.TokyoID, email).UserAttributes)
	user["cognito:user_status"] = "CONFIRMED"
	ev, _ := json.Marshal(events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{Version: "1", TriggerSource: "PostConfirmation_ConfirmSignUp", UserPoolID: f.sc.TokyoID, UserName: sub},
		Request:                     events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: user}})
	return ev, sub
}

// invokeStarted runs a started trigger once: the event must come back unchanged and without
// error (the sign-up goes on), with one log line naming no user. It returns the line.
func invokeStarted(t *testing.T, h boundary.Func, logs *bytes.Buffer, ev json.RawMessage, pii ...string) map[string]any {
	t.Helper()
	logs.Reset()
	out, err := h(context.Background(), ev)
	if err != nil || string(out) != string(ev) {
		t.Fatalf("trigger answered %s, %v: the sign-up would fail or change", out, err)
	}
	for _, p := range pii {
		if strings.Contains(logs.String(), p) {
			t.Errorf("log names the user (%q): %s", p, logs)
		}
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q", logs)
	}
	return line
}

// The replicate trigger as its Lambda starts it never fails a sign-up: with no settings, with the
// DR settings missing, with AWS clients that do not load, or with a DR pool that answers an
// error, it returns the event unchanged, logs why, and records the user for reconcile when the
// retry store's settings allow.
func TestReplicateTriggerFailsOpen(t *testing.T) {
	f := newStack(t)
	clients := func(context.Context) (*awsclients.Clients, error) { return f.stack.Clients, nil }
	for _, c := range []struct {
		name       string
		getenv     func(string) string
		wantResult string
		wantError  []string
		queued     bool
	}{
		{"no settings", func(string) string { return "" }, replication.ResultNotQueued,
			[]string{"DR_USER_POOL_ID, DR_REGION, RETRY_BUCKET, RETRY_REGION"}, false},
		{"DR pool not configured", f.triggerEnv("DR_USER_POOL_ID"), replication.ResultQueued, []string{"not set: DR_USER_POOL_ID"}, true},
		{"DR pool answers an error", func(k string) string {
			if k == "DR_USER_POOL_ID" {
				return "ap-northeast-3_Missing01"
			}
			return f.triggerEnv()(k)
		}, replication.ResultQueued, []string{"ResourceNotFoundException"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			email := strings.ReplaceAll(c.name, " ", "-") + "@example.jp"
			ev, sub := f.confirmedEvent(email)
			before := f.pending()
			var logs bytes.Buffer
			h := replication.PostConfirmationTrigger.Start(c.getenv, clients, slog.New(slog.NewJSONHandler(&logs, nil)))
			line := invokeStarted(t, h, &logs, ev, email, sub)
			if line["result"] != c.wantResult {
				t.Errorf("result %v, want %s: %v", line["result"], c.wantResult, line)
			}
			for _, w := range c.wantError {
				if e, _ := line["error"].(string); !strings.Contains(e, w) {
					t.Errorf("error %q does not say %q", e, w)
				}
			}
			if got := f.pending() - before; (got == 1) != c.queued {
				t.Errorf("%d users recorded for reconcile, want queued=%v", got, c.queued)
			}
			if _, err := f.osaka().AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(email)}); err == nil {
				t.Errorf("%s was copied to Osaka by a trigger that could not be configured", email)
			}
		})
	}
}

// A start-up that failed (here the AWS clients: credentials or a secret not readable yet) is
// tried again at the next invocation, not kept for the container's life.
func TestReplicateTriggerRetriesAFailedStart(t *testing.T) {
	f := newStack(t)
	fail := true
	loads := 0
	clients := func(context.Context) (*awsclients.Clients, error) {
		loads++
		if fail {
			return nil, errors.New("get credentials: secret not yet readable")
		}
		return f.stack.Clients, nil
	}
	var logs bytes.Buffer
	h := replication.PostConfirmationTrigger.Start(f.triggerEnv(), clients, slog.New(slog.NewJSONHandler(&logs, nil)))

	ev, sub := f.confirmedEvent("transient@example.jp")
	line := invokeStarted(t, h, &logs, ev, "transient@example.jp", sub)
	if line["result"] != replication.ResultNotQueued || !strings.Contains(line["error"].(string), "secret not yet readable") {
		t.Errorf("first invocation logged %v, want not-queued with the start-up error", line)
	}

	fail = false
	line = invokeStarted(t, h, &logs, ev, "transient@example.jp", sub)
	if line["result"] != replication.ResultCreated {
		t.Errorf("second invocation logged %v, want the user created", line)
	}
	if u := f.get(f.osaka(), f.sc.OsakaID, "transient@example.jp"); attr(u, replication.PrimarySubAttribute) != sub {
		t.Errorf("Osaka copy %v", attrs(u.UserAttributes))
	}
	// A successful start is kept.
	ev2, sub2 := f.confirmedEvent("kept@example.jp")
	invokeStarted(t, h, &logs, ev2, "kept@example.jp", sub2)
	if loads != 2 {
		t.Errorf("clients loaded %d times, want 2 (once failing, once for good)", loads)
	}
}

// A sign-up in the primary pool succeeds end to end with the replicate trigger attached and
// misconfigured (no settings at all): Cognito invokes it inside ConfirmSignUp, and it answers.
func TestSignUpSucceedsWithTriggerMisconfigured(t *testing.T) {
	f := newStack(t)
	ctx := context.Background()
	var logs bytes.Buffer
	h := replication.PostConfirmationTrigger.Start(func(string) string { return "" },
		func(context.Context) (*awsclients.Clients, error) { return f.stack.Clients, nil }, slog.New(slog.NewJSONHandler(&logs, nil)))
	const arn = "arn:aws:lambda:ap-northeast-1:000000000000:function:cognito-dr-replicate"
	f.stack.Cognito.RegisterLambda(arn, localcognito.LambdaFunc(h))
	tokyo := f.tokyo()
	d, err := tokyo.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(f.sc.TokyoID)})
	if err != nil {
		t.Fatal(err)
	}
	p := d.UserPool
	// UpdateUserPool resets what it is not given: keep the pool's settings, add the trigger.
	f.must(tokyo.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{
		UserPoolId: aws.String(f.sc.TokyoID), LambdaConfig: &types.LambdaConfigType{PostConfirmation: aws.String(arn)},
		MfaConfiguration: p.MfaConfiguration, AutoVerifiedAttributes: p.AutoVerifiedAttributes, Policies: p.Policies,
		AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig,
		EmailConfiguration: p.EmailConfiguration, VerificationMessageTemplate: p.VerificationMessageTemplate,
		UserAttributeUpdateSettings: p.UserAttributeUpdateSettings, DeletionProtection: p.DeletionProtection, PoolName: p.Name, UserPoolTier: p.UserPoolTier,
	}))
	client, err := tokyo.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(f.sc.TokyoID), ClientName: aws.String("web"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	clientID := client.UserPoolClient.ClientId
	const email = "misconfigured@example.jp"
	f.must(tokyo.SignUp(ctx, &cip.SignUpInput{
		ClientId: clientID, Username: aws.String(email), Password: aws.String("Passw0rd!Tokyo"),
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Mis")}, {Name: aws.String("custom:tenant"), Value: aws.String("acme")}},
	}))
	code, ok := f.stack.Cognito.LastCode(f.sc.TokyoID, email, localcognito.KindSignUp)
	if !ok {
		t.Fatal("no sign-up code in the outbox")
	}
	if _, err := tokyo.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: clientID, Username: aws.String(email), ConfirmationCode: aws.String(code)}); err != nil {
		t.Fatalf("ConfirmSignUp with the trigger misconfigured: %v", err)
	}
	if u := f.get(tokyo, f.sc.TokyoID, email); u.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("Tokyo user %s, want CONFIRMED", u.UserStatus)
	}
	if !strings.Contains(logs.String(), `"result":"`+replication.ResultNotQueued+`"`) || !strings.Contains(logs.String(), "DR_USER_POOL_ID") {
		t.Errorf("the trigger did not run or did not say why it could not copy: %s", logs.String())
	}
}
