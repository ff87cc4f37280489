package replication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// fakeDR is the DR pool: function fields for the calls a test cares about. Calls a test does not
// expect panic through the nil embedded interface.
type fakeDR struct {
	replication.Cognito
	mu          sync.Mutex
	create      func(ctx context.Context, in *cip.AdminCreateUserInput) error
	update      func(in *cip.AdminUpdateUserAttributesInput) error
	status      types.UserStatusType
	calls       []string
	created     *cip.AdminCreateUserInput
	updated     *cip.AdminUpdateUserAttributesInput
	passwords   []string
	permanent   bool
	describeErr error
}

func (f *fakeDR) record(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
}

func (f *fakeDR) DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	f.record("DescribeUserPool")
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	str := func(name string, mutable bool) types.SchemaAttributeType {
		return types.SchemaAttributeType{Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(mutable)}
	}
	return &cip.DescribeUserPoolOutput{UserPool: &types.UserPoolType{
		Id:                 in.UserPoolId,
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		SchemaAttributes: []types.SchemaAttributeType{
			str("sub", false), str("email", true), str("email_verified", true), str("phone_number", true),
			str("phone_number_verified", true), str("given_name", true), str("custom:tenant", true),
			str("custom:primary_sub", true), str("custom:signup_source", false),
		},
	}}, nil
}

func (f *fakeDR) AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, _ ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error) {
	f.record("AdminCreateUser")
	f.created = in
	if f.create != nil {
		if err := f.create(ctx, in); err != nil {
			return nil, err
		}
	}
	f.status = types.UserStatusTypeForceChangePassword
	return &cip.AdminCreateUserOutput{}, nil
}

func (f *fakeDR) AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, _ ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error) {
	f.record("AdminUpdateUserAttributes")
	f.updated = in
	if f.update != nil {
		if err := f.update(in); err != nil {
			return nil, err
		}
	}
	return &cip.AdminUpdateUserAttributesOutput{}, nil
}

func (f *fakeDR) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	f.record("AdminGetUser")
	return &cip.AdminGetUserOutput{Username: aws.String("generated"), UserStatus: f.status, Enabled: true}, nil
}

func (f *fakeDR) AdminSetUserPassword(ctx context.Context, in *cip.AdminSetUserPasswordInput, _ ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error) {
	f.record("AdminSetUserPassword")
	f.passwords = append(f.passwords, aws.ToString(in.Password))
	f.permanent = in.Permanent
	if in.Permanent {
		f.status = types.UserStatusTypeConfirmed
	}
	return &cip.AdminSetUserPasswordOutput{}, nil
}

const (
	tokyoPool = "ap-northeast-1_Tokyo1"
	osakaPool = "ap-northeast-3_Osaka1"
	tokyoSub  = "7d1f4c2e-58a4-4c41-9b7e-0f3c5c2d9a11"
	email     = "Hanako.Yamada@example.jp"
)

// event is a PostConfirmation event as Cognito sends it, including a field the Go type lacks.
const event = `{
  "version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp", "region": "ap-northeast-1",
  "userPoolId": "` + tokyoPool + `", "userName": "` + tokyoSub + `",
  "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "abc123"},
  "request": {"userAttributes": {
    "sub": "` + tokyoSub + `", "email": "` + email + `", "email_verified": "true",
    "phone_number": "+819012345678", "phone_number_verified": "false", "given_name": "Hanako",
    "custom:tenant": "acme", "custom:signup_source": "web", "custom:not_in_dr": "x",
    "cognito:user_status": "CONFIRMED", "cognito:email_alias": "` + email + `"
  }, "clientMetadata": {}},
  "response": {},
  "futureField": {"added": "by Cognito later"}
}`

type harness struct {
	dr    *fakeDR
	retry *replication.MemoryRetryStore
	steps *replication.Steps
	logs  *bytes.Buffer
	fn    func(context.Context, json.RawMessage) (json.RawMessage, error)
}

func newHarness(dr *fakeDR) *harness {
	h := &harness{dr: dr, retry: &replication.MemoryRetryStore{}, logs: &bytes.Buffer{}}
	h.steps = &replication.Steps{
		Cognito:      func(region string) replication.Cognito { return dr },
		Retry:        h.retry,
		DRUserPoolID: osakaPool, DRRegion: "ap-northeast-3",
		DRBudget: 300 * time.Millisecond,
	}
	h.fn = replication.ReplicateTrigger(h.steps, slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return h
}

// invoke runs the trigger as Lambda would and checks what must always hold: the event comes back
// byte for byte, no error, well inside Cognito's 5 s, and the logs carry no secret or user data.
func (h *harness) invoke(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := h.fn(context.Background(), json.RawMessage(event))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("trigger returned %v: the sign-up would fail", err)
	}
	if string(out) != event {
		t.Errorf("trigger changed the event:\n%s", out)
	}
	logs := h.logs.String()
	for _, secret := range append([]string{email, strings.ToLower(email), "+819012345678", "Hanako", tokyoSub}, h.dr.passwords...) {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	if n := strings.Count(logs, "\n"); n != 1 {
		t.Errorf("%d log lines, want one per invocation:\n%s", n, logs)
	}
	return elapsed
}

func attrs(list []types.AttributeType) map[string]string {
	m := map[string]string{}
	for _, a := range list {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

func TestReplicateCopiesUser(t *testing.T) {
	h := newHarness(&fakeDR{})
	h.invoke(t)
	c := h.dr.created
	if c == nil {
		t.Fatal("no AdminCreateUser")
	}
	if aws.ToString(c.Username) != email || c.MessageAction != types.MessageActionTypeSuppress || aws.ToString(c.UserPoolId) != osakaPool {
		t.Errorf("AdminCreateUser username %q action %q pool %q; want the email, SUPPRESS, the DR pool", aws.ToString(c.Username), c.MessageAction, aws.ToString(c.UserPoolId))
	}
	want := map[string]string{
		"email": email, "email_verified": "true", "phone_number": "+819012345678", "phone_number_verified": "false",
		"given_name": "Hanako", "custom:tenant": "acme", "custom:signup_source": "web", "custom:primary_sub": tokyoSub,
	}
	if diff := cmp.Diff(want, attrs(c.UserAttributes)); diff != "" {
		t.Errorf("DR attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DescribeUserPool", "AdminCreateUser", "AdminSetUserPassword"}, h.dr.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if !h.dr.permanent || h.dr.status != types.UserStatusTypeConfirmed || len(h.dr.passwords[0]) < 99 {
		t.Errorf("password permanent=%v status=%s length %d: the copy must be CONFIRMED so ForgotPassword works", h.dr.permanent, h.dr.status, len(h.dr.passwords[0]))
	}
	if !strings.Contains(h.logs.String(), `"result":"created"`) || !strings.Contains(h.logs.String(), "custom:not_in_dr") {
		t.Errorf("log line lacks the result or the dropped attribute name:\n%s", h.logs)
	}
	if len(h.retry.Entries()) != 0 {
		t.Errorf("retry store %v, want empty", h.retry.Entries())
	}

	// A second user reuses the DR pool's description.
	h.dr.calls, h.logs = nil, &bytes.Buffer{}
	h.fn = replication.ReplicateTrigger(h.steps, slog.New(slog.NewJSONHandler(h.logs, nil)))
	h.invoke(t)
	if h.dr.calls[0] == "DescribeUserPool" {
		t.Errorf("DescribeUserPool called again: %v", h.dr.calls)
	}
}

func TestReplicateExistingUserIsUpdated(t *testing.T) {
	for _, tc := range []struct {
		status    types.UserStatusType
		wantCalls []string
	}{
		// The user may have reset the password in the DR pool: it is kept.
		{types.UserStatusTypeConfirmed, []string{"DescribeUserPool", "AdminCreateUser", "AdminUpdateUserAttributes", "AdminGetUser"}},
		// A copy left half-done by an earlier attempt gets its unusable password now.
		{types.UserStatusTypeForceChangePassword, []string{"DescribeUserPool", "AdminCreateUser", "AdminUpdateUserAttributes", "AdminGetUser", "AdminSetUserPassword"}},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			dr := &fakeDR{create: func(context.Context, *cip.AdminCreateUserInput) error {
				return &types.UsernameExistsException{Message: aws.String("User account already exists")}
			}}
			h := newHarness(dr)
			dr.status = tc.status
			h.invoke(t)
			if diff := cmp.Diff(tc.wantCalls, dr.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			got := attrs(dr.updated.UserAttributes)
			if _, ok := got["custom:signup_source"]; ok {
				t.Errorf("update sets immutable custom:signup_source: %v", got)
			}
			if got["custom:primary_sub"] != tokyoSub || got["email_verified"] != "true" || got["phone_number_verified"] != "false" {
				t.Errorf("update attributes %v lack primary_sub or verified flags", got)
			}
			if aws.ToString(dr.updated.Username) != email {
				t.Errorf("updated %q, want the email", aws.ToString(dr.updated.Username))
			}
			if !strings.Contains(h.logs.String(), `"result":"updated"`) || len(h.retry.Entries()) != 0 {
				t.Errorf("log %s retry %v", h.logs, h.retry.Entries())
			}
		})
	}
}

func TestReplicateNeverFailsSignUp(t *testing.T) {
	down := &types.InternalErrorException{Message: aws.String("Internal error")}
	for name, dr := range map[string]*fakeDR{
		"DR down": {create: func(context.Context, *cip.AdminCreateUserInput) error { return down }},
		"DR slow": {create: func(ctx context.Context, _ *cip.AdminCreateUserInput) error {
			<-ctx.Done() // hangs past the deadline, as an unreachable Region does
			return ctx.Err()
		}},
		"DR pool unknown": {describeErr: &types.ResourceNotFoundException{Message: aws.String("User pool does not exist.")}},
		"update fails":    {create: func(context.Context, *cip.AdminCreateUserInput) error { return &types.UsernameExistsException{} }, update: func(*cip.AdminUpdateUserAttributesInput) error { return down }},
	} {
		// In a synctest bubble the clock moves only when every goroutine waits, so the time the
		// trigger takes is exact: its DR budget at most, never a scheduler's delay.
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(dr)
				if elapsed := h.invoke(t); elapsed > h.steps.DRBudget {
					t.Errorf("trigger took %v with a %v DR budget", elapsed, h.steps.DRBudget)
				}
				entries := h.retry.Entries()
				if len(entries) != 1 || entries[0].Sub != tokyoSub || entries[0].PrimaryUserPoolID != tokyoPool || entries[0].Reason == "" {
					t.Fatalf("retry store %+v, want the user by sub with a reason", entries)
				}
				if !strings.Contains(h.logs.String(), `"result":"queued-for-retry"`) {
					t.Errorf("log: %s", h.logs)
				}
			})
		})
	}
}

func TestReplicateRetryStoreDownToo(t *testing.T) {
	h := newHarness(&fakeDR{create: func(context.Context, *cip.AdminCreateUserInput) error { return errors.New("connection refused") }})
	h.retry.Fail = errors.New("s3 unavailable")
	h.invoke(t)
	if !strings.Contains(h.logs.String(), `"result":"not-queued"`) || !strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("log: %s", h.logs)
	}
}

func TestReplicateDefaultBudgetIsWellInsideFiveSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(&fakeDR{create: func(ctx context.Context, _ *cip.AdminCreateUserInput) error { <-ctx.Done(); return ctx.Err() }})
		h.steps.DRBudget = 0
		if elapsed := h.invoke(t); elapsed != replication.DefaultDRBudget || elapsed > 4*time.Second {
			t.Errorf("trigger answered after %v; want the %v default budget, well inside Cognito's 5 s", elapsed, replication.DefaultDRBudget)
		}
		if len(h.retry.Entries()) != 1 {
			t.Errorf("retry store %v", h.retry.Entries())
		}
	})
}

func TestReplicateStepReturnsEventUnchanged(t *testing.T) {
	var ev events.CognitoEventUserPoolsPostConfirmation
	if err := json.Unmarshal([]byte(event), &ev); err != nil {
		t.Fatal(err)
	}
	h := newHarness(&fakeDR{})
	out, err := h.steps.Replicate(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, out); diff != "" {
		t.Errorf("event (-in +out):\n%s", diff)
	}
}
