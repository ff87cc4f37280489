package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

const (
	deployedMessage = "Tokyo is closed: sign in at https://osaka.example.jp"
	failoverMessage = "We moved to Osaka for now: sign in at https://osaka.example.jp"
	failoverPass    = "Correct-Horse-9"
)

// failoverEnv is two pools (MFA off, so a password signs in) with a user each, their gates wired
// as deployed (primary active, DR fenced) and the reconcile schedule deployed, and the CLI's AWS
// settings pointed at the stack.
type failoverEnv struct {
	ctx         context.Context
	st          *devstack.Stack
	gates       *devstack.Gates
	primary, dr devstack.GatePool
	clients     map[string]string
}

func newFailoverEnv(t *testing.T) *failoverEnv {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := &failoverEnv{ctx: context.Background(), st: st, clients: map[string]string{}}
	for i, spec := range []devstack.PoolSpec{devstack.TokyoPool(0), devstack.OsakaPool()} {
		in := spec.CreatePoolInput()
		in.MfaConfiguration = types.UserPoolMfaTypeOff
		id, err := st.Cognito.CreatePool(spec.Region, in)
		if err != nil {
			t.Fatal(err)
		}
		c := st.Clients.Cognito(spec.Region)
		out, err := c.CreateUserPoolClient(env.ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(id), ClientName: aws.String("app"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
		if err != nil {
			t.Fatal(err)
		}
		env.clients[id] = aws.ToString(out.UserPoolClient.ClientId)
		// The same user in both pools, as replication leaves it.
		if _, err := c.AdminCreateUser(env.ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(id), Username: aws.String("a@example.jp"),
			MessageAction: types.MessageActionTypeSuppress, UserAttributes: []types.AttributeType{
				{Name: aws.String("email"), Value: aws.String("a@example.jp")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AdminSetUserPassword(env.ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(id), Username: aws.String("a@example.jp"),
			Password: aws.String(failoverPass), Permanent: true}); err != nil {
			t.Fatal(err)
		}
		p := devstack.GatePool{ID: id, Region: spec.Region}
		if i == 0 {
			env.primary = p
		} else {
			env.dr = p
		}
	}
	if env.gates, err = st.WireGates(env.ctx, env.primary, env.dr, devstack.GateOptions{Message: deployedMessage}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeployReconcileSchedule(env.ctx, env.primary, env.dr, failover.DefaultScheduleName); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", st.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	return env
}

// signIn signs the user in to p as an app does (the pre-authentication gate runs).
func (env *failoverEnv) signIn(p devstack.GatePool) error {
	_, err := env.st.Clients.Cognito(p.Region).InitiateAuth(env.ctx, &cip.InitiateAuthInput{ClientId: aws.String(env.clients[p.ID]),
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": "a@example.jp", "PASSWORD": failoverPass}})
	return err
}

// refusedWith reports whether err is Cognito's refusal by the pre-authentication gate with message.
func refusedWith(err error, message string) bool {
	var e *types.UserLambdaValidationException
	return errors.As(err, &e) && aws.ToString(e.Message) == "PreAuthentication failed with error "+message+"."
}

// failover runs the command with --output json and returns its output and error.
func (env *failoverEnv) failover(t *testing.T, extra ...string) (failoverOutput, string, error) {
	t.Helper()
	args := append([]string{"--primary-pool", env.primary.ID, "--primary-region", env.primary.Region, "--dr-pool", env.dr.ID, "--dr-region", env.dr.Region,
		"--message", failoverMessage, "--bucket", "backups", "--bucket-region", env.dr.Region, "--output", "json"}, extra...)
	var buf bytes.Buffer
	err := failoverCommand(env.ctx, args, &buf)
	var out failoverOutput
	if jerr := json.Unmarshal(buf.Bytes(), &out); jerr != nil {
		t.Fatalf("failover output is not JSON (%v): %v\n%s", err, jerr, &buf)
	}
	return out, buf.String(), err
}

func (env *failoverEnv) schedule(t *testing.T) *scheduler.GetScheduleOutput {
	t.Helper()
	s, err := scheduler.NewFromConfig(env.st.AWS.AWSConfig(env.dr.Region)).GetSchedule(env.ctx, &scheduler.GetScheduleInput{Name: aws.String(failover.DefaultScheduleName)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFailoverCommand(t *testing.T) {
	env := newFailoverEnv(t)
	if err := env.signIn(env.primary); err != nil {
		t.Fatalf("primary sign-in before the failover: %v", err)
	}
	if err := env.signIn(env.dr); !refusedWith(err, deployedMessage) {
		t.Fatalf("DR sign-in before the failover: %v, want refused (fenced as deployed)", err)
	}
	before := time.Now().UTC()
	out, raw, err := env.failover(t)
	t.Logf("failover:\n%s", raw)
	if err != nil {
		t.Fatalf("failover: %v", err)
	}
	if out.Primary.Action != failover.Fenced || out.DR.Action != failover.Activated || out.Schedule.Action != failover.Paused || len(out.Findings) != 0 {
		t.Errorf("actions: primary %s, DR %s, schedule %s, findings %q; want fenced, activated, paused, none", out.Primary.Action, out.DR.Action, out.Schedule.Action, out.Findings)
	}
	// Verified: the state read back is in the output.
	if s := out.Primary.State; s == nil || s.Mode != poolmode.Fenced || s.Cause != poolmode.CauseFailover || s.Message != failoverMessage {
		t.Errorf("primary read back %+v", s)
	}
	if s := out.DR.State; s == nil || s.Mode != poolmode.Active || s.Cause != poolmode.CauseFailover || !s.Since.Equal(out.FailoverTime) || s.Since.Before(before) {
		t.Errorf("DR read back %+v, failover time %s", s, out.FailoverTime)
	}
	if out.Schedule.State != "DISABLED" {
		t.Errorf("schedule read back %q", out.Schedule.State)
	}
	// Failback's input carries the failover time, to the second, rounded down.
	fb := out.FailbackInput
	if fb.FailoverTime != out.FailoverTime.Truncate(time.Second).Format(time.RFC3339) || fb.DRUserPoolID != env.dr.ID || fb.PrimaryUserPoolID != env.primary.ID || fb.Bucket != "backups" {
		t.Errorf("failback input %+v, failover time %s", fb, out.FailoverTime)
	}

	// What users notice (fresh gate containers, so no cached mode hides the switch).
	if err := env.gates.Restart(env.ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.signIn(env.dr); err != nil {
		t.Errorf("DR sign-in after the failover: %v", err)
	}
	if err := env.signIn(env.primary); !refusedWith(err, failoverMessage) {
		t.Errorf("primary sign-in after the failover: %v, want refused with %q", err, failoverMessage)
	}

	// The schedule was sent back whole: only its State changed.
	s := env.schedule(t)
	if s.State != schedtypes.ScheduleStateDisabled || !strings.Contains(aws.ToString(s.Description), "reconcile") ||
		!strings.Contains(aws.ToString(s.Target.Input), env.dr.ID) || aws.ToString(s.ScheduleExpressionTimezone) != "Asia/Tokyo" ||
		s.Target.RetryPolicy == nil || aws.ToInt32(s.Target.RetryPolicy.MaximumRetryAttempts) != 5 {
		t.Errorf("schedule after the failover: %+v, target %+v", s, s.Target)
	}

	// Running it again is harmless: everything is reported done, and the failover time stays.
	var text bytes.Buffer
	args := []string{"--primary-pool", env.primary.ID, "--primary-region", env.primary.Region, "--dr-pool", env.dr.ID, "--dr-region", env.dr.Region}
	if err := failoverCommand(env.ctx, args, &text); err != nil {
		t.Fatalf("second failover: %v\n%s", err, &text)
	}
	t.Logf("second failover:\n%s", &text)
	for _, want := range []string{"primary  " + env.primary.ID + " (" + env.primary.Region + "): already-fenced", "DR       " + env.dr.ID + " (" + env.dr.Region + "): already-active",
		"schedule default/cognito-dr-reconcile (" + env.dr.Region + "): already-paused; reads DISABLED", `"failoverTime":"` + fb.FailoverTime + `"`, "failover: OK"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("second failover's output lacks %q", want)
		}
	}
	again, _, err := env.failover(t, "--no-schedule")
	if err != nil || !again.FailoverTime.Equal(out.FailoverTime) || again.Schedule.Action != failover.Skipped {
		t.Errorf("third failover: %v, failover time %s (first %s), schedule %s", err, again.FailoverTime, out.FailoverTime, again.Schedule.Action)
	}
	if err := env.signIn(env.dr); err != nil {
		t.Errorf("DR sign-in after re-runs: %v", err)
	}

	// No schedule deployed: reported, not a finding.
	none, _, err := env.failover(t, "--schedule-name", "not-deployed")
	if err != nil || none.Schedule.Action != failover.NotFound || len(none.Notes) == 0 || !strings.Contains(none.Notes[len(none.Notes)-1], "not found") {
		t.Errorf("missing schedule: %v, action %s, notes %q", err, none.Schedule.Action, none.Notes)
	}

	// Usage errors change nothing and exit 2.
	err = failoverCommand(env.ctx, []string{"--primary-pool", env.primary.ID}, &bytes.Buffer{})
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--primary-region, --dr-pool, --dr-region required") {
		t.Errorf("missing flags: %v", err)
	}
}

// TestFailoverUnreachablePrimary: the primary's Region does not answer. The DR pool is activated
// anyway, the command says the primary could not be fenced and exits 1; when the primary's
// Parameter Store comes back, its gate refuses users (the peer rule), and a re-run fences it.
func TestFailoverUnreachablePrimary(t *testing.T) {
	env := newFailoverEnv(t)
	env.st.SSM.SetUnreachable(env.primary.Region, true)
	start := time.Now()
	out, raw, err := env.failover(t, "--fence-timeout", "1500ms", "--call-timeout", "300ms", "--retry-interval", "200ms")
	t.Logf("failover with the primary down (%s):\n%s", time.Since(start).Round(time.Millisecond), raw)
	if exitCode(err) != exitFindings || err == nil || !strings.Contains(err.Error(), "could not be fenced") {
		t.Errorf("failover with the primary down: %v (exit %d), want exit 1 saying the primary could not be fenced", err, exitCode(err))
	}
	if out.Primary.Action != failover.NotFenced || out.Primary.Attempts < 2 || out.DR.Action != failover.Activated || out.Schedule.Action != failover.Paused {
		t.Errorf("actions: primary %s after %d attempts, DR %s, schedule %s", out.Primary.Action, out.Primary.Attempts, out.DR.Action, out.Schedule.Action)
	}
	if len(out.Findings) != 1 || !strings.Contains(out.Findings[0], "peer rule") {
		t.Errorf("findings %q, want one saying the peer rule covers a returning primary", out.Findings)
	}
	if err := env.gates.Restart(env.ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.signIn(env.dr); err != nil {
		t.Errorf("DR sign-in with the primary down: %v", err)
	}

	// The primary comes back, still active in its own parameter: its gate reads the DR pool's
	// failover and refuses.
	env.st.SSM.SetUnreachable(env.primary.Region, false)
	if s, err := env.gates.Modes[env.primary.ID].Get(env.ctx); err != nil || s.Mode != poolmode.Active {
		t.Fatalf("primary mode after its return: %+v %v, want still active (never fenced)", s, err)
	}
	if err := env.gates.Restart(env.ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.signIn(env.primary); !refusedWith(err, deployedMessage) {
		t.Errorf("sign-in to the returning primary: %v, want refused by the peer rule", err)
	}

	// A re-run fences it for good, and keeps the failover time.
	again, _, err := env.failover(t)
	if err != nil || again.Primary.Action != failover.Fenced || again.DR.Action != failover.AlreadyActive || again.Schedule.Action != failover.AlreadyPaused ||
		!again.FailoverTime.Equal(out.FailoverTime) {
		t.Errorf("re-run: %v, primary %s, DR %s, schedule %s, failover time %s (first %s)", err, again.Primary.Action, again.DR.Action, again.Schedule.Action, again.FailoverTime, out.FailoverTime)
	}
	if err := env.gates.Restart(env.ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.signIn(env.primary); !refusedWith(err, failoverMessage) {
		t.Errorf("primary sign-in after the re-run: %v, want refused with %q", err, failoverMessage)
	}
}
