package failback_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

const (
	lateUser      = "late-signup@example.jp"
	backInTokyo   = "We are back in Tokyo: sign in at https://login.example.jp"
	lateGivenName = "Changed after the plan"
)

// switched is the fixture after `cognito-dr failover` ran at its failover time: the primary
// fenced, the DR pool active, the reconcile schedule paused. It returns the modes it left.
func (f *fixture) switched() (primary, dr poolmode.State) {
	f.t.Helper()
	ctx := context.Background()
	p, d := f.sc.GatePools()
	if err := f.stack.DeployReconcileSchedule(ctx, p, d, failover.DefaultScheduleName); err != nil {
		f.t.Fatal(err)
	}
	fo := &failover.Failover{
		SSM:       func(region string) poolmode.SSM { return f.stack.Clients.SSM(region) },
		Scheduler: func(region string) failover.Scheduler { return f.stack.Clients.Scheduler(region) },
		Now:       func() time.Time { return f.failover },
	}
	r, err := fo.Run(ctx, failover.Config{PrimaryPool: p.ID, PrimaryRegion: p.Region, DRPool: d.ID, DRRegion: d.Region,
		Message: "Tokyo is down: sign in at https://osaka.example.jp", ScheduleName: failover.DefaultScheduleName})
	if err != nil || len(r.Findings) != 0 || r.Schedule.Action != failover.Paused {
		f.t.Fatalf("failover: %v %q %s", err, r.Findings, r.Schedule.Action)
	}
	return *r.Primary.State, *r.DR.State
}

// mode reads a pool's mode.
func (f *fixture) mode(pool, region string) poolmode.State {
	f.t.Helper()
	s, err := poolmode.Parameter{Client: f.stack.Clients.SSM(region), Name: poolmode.ParameterName(pool)}.Get(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// writeAfterThePlan is what DR users do between the first plan and the fence: one signs up, one
// changes a profile.
func (f *fixture) writeAfterThePlan() (changed string) {
	f.t.Helper()
	ctx := context.Background()
	c := f.stack.Clients.Cognito(f.sc.Osaka.Region)
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(lateUser), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(lateUser)}, {Name: aws.String("email_verified"), Value: aws.String("true")},
			{Name: aws.String("given_name"), Value: aws.String("Osaka")}}}); err != nil {
		f.t.Fatal(err)
	}
	f.outage.New = append(f.outage.New, lateUser)
	// A user the outage left alone.
	for u := range f.sc.Tokyo.SeedUsers() {
		email := u.Attributes["email"]
		if u.Enabled && u.Attributes["email_verified"] == "true" && !slices.Contains(f.outage.Changed, email) && !slices.Contains(f.outage.Disabled, email) {
			changed = email
			break
		}
	}
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(changed),
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String(lateGivenName)}}}); err != nil {
		f.t.Fatal(err)
	}
	return changed
}

// checkLateWritesInPrimary: what DR users did between the plan and the fence is in the primary.
func (f *fixture) checkLateWritesInPrimary(changed string) {
	f.t.Helper()
	if _, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, lateUser); err != nil {
		f.t.Errorf("%s signed up in DR after the plan, before the fence: not in the primary (%v)", lateUser, err)
	}
	u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, changed)
	if err != nil {
		f.t.Fatal(err)
	}
	if got := attr(u, "given_name"); got != lateGivenName {
		f.t.Errorf("%s changed in DR after the plan: given_name %q in the primary, want %q", changed, got, lateGivenName)
	}
}

// TestFinalPlanWaitsOutTheGateCaches: the state machine waits longer than any gate caches a mode
// before the final export, so no DR sign-in is accepted after the final plan starts.
func TestFinalPlanWaitsOutTheGateCaches(t *testing.T) {
	def, err := statemachines.Definition(statemachines.Failback)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		States map[string]struct {
			Type    string
			Seconds float64
			Next    string
		}
	}
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	w := m.States["WaitForGateCaches"]
	if w.Type != "Wait" || w.Seconds <= poolmode.MaxTTL.Seconds() || w.Next != "PrepareFinalPlan" || m.States["FenceDr"].Next != "WaitForGateCaches" {
		t.Errorf("FenceDr → %s, WaitForGateCaches %+v; want a wait longer than the gates' longest cache (%s) between the fence and the final plan",
			m.States["FenceDr"].Next, w, poolmode.MaxTTL)
	}
}

func noMargin(in map[string]any) {
	in["approvalMarginUsers"], in["approvalMarginPercent"] = 0, 0
	in["fencedMessage"] = backInTokyo
}

// TestFailbackFencesDRAndCarriesWritesMadeBeforeTheFence: after the approval the DR pool is
// fenced with the request's message; the final plan carries back a sign-up and a profile change
// made between the first plan and the fence (two changes, within the default margin: no second
// approval); at the end the primary is active by the failback and reconcile runs again.
func TestFailbackFencesDRAndCarriesWritesMadeBeforeTheFence(t *testing.T) {
	f := newFixture(t)
	_, afterFailover := f.switched()
	x := f.start("failback-fence", func(in map[string]any) { in["fencedMessage"] = backInTokyo })
	link := f.approvalLink(x)
	changed := f.writeAfterThePlan()
	f.decide(link, "approve")
	f.wait(x)
	if diff := cmp.Diff(approvedPath, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	out := f.checkFailedBack(x)
	f.checkLateWritesInPrimary(changed)

	dr, primary := f.mode(f.sc.OsakaID, f.sc.Osaka.Region), f.mode(f.sc.TokyoID, f.sc.Tokyo.Region)
	if dr.Mode != poolmode.Fenced || dr.Cause != poolmode.CauseFailback || dr.Message != backInTokyo || !dr.Since.After(afterFailover.Since) {
		t.Errorf("DR mode after failback %+v; want fenced by the failback with %q", dr, backInTokyo)
	}
	if primary.Mode != poolmode.Active || primary.Cause != poolmode.CauseFailback || !primary.Since.After(dr.Since) {
		t.Errorf("primary mode after failback %+v; want active by the failback, after the fence", primary)
	}
	s, err := f.stack.Clients.Scheduler(f.sc.Osaka.Region).GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(failover.DefaultScheduleName)})
	if err != nil || s.State != schedtypes.ScheduleStateEnabled || aws.ToString(s.ScheduleExpression) != "rate(1 hour)" {
		t.Errorf("reconcile schedule after failback: %v %v; want ENABLED with its expression kept", s, err)
	}
	if want := (failback.Modes{Primary: "active", DR: "fenced", Schedule: failover.Resumed}); out.Modes != want {
		t.Errorf("report modes %+v, want %+v", out.Modes, want)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "finished: primary active, DR fenced") || !strings.Contains(last.Message, "2 changes beyond the approved plan (margin 10)") {
		t.Errorf("report email %q:\n%s\nwant the modes and the final plan's delta", last.Subject, last.Message)
	}
}

// TestFailbackFinalPlanBeyondMarginAsksAgain: with no margin, the writes made before the fence ask
// for a second approval of the final plan; the DR pool stays fenced while it waits, and the
// approved final plan carries them back.
func TestFailbackFinalPlanBeyondMarginAsksAgain(t *testing.T) {
	f := newFixture(t)
	f.switched()
	x := f.start("failback-again", noMargin)
	first := f.approvalLink(x)
	changed := f.writeAfterThePlan()
	f.decide(first, "approve")
	second := f.nextApprovalLink(x, first)
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "FINAL") || !strings.Contains(last.Message, "2 changes the approved plan did not") {
		t.Errorf("second approval email %q:\n%s", last.Subject, last.Message)
	}
	if dr := f.mode(f.sc.OsakaID, f.sc.Osaka.Region); dr.Mode != poolmode.Fenced || dr.Message != backInTokyo {
		t.Errorf("DR mode while the final plan waits: %+v, want fenced", dr)
	}
	f.decide(second, "approve")
	f.wait(x)
	want := append(append(append([]string{}, approvedPath[:finalDecided]...), "RequestFinalApproval"), approvedPath[finalDecided:]...)
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	f.checkFailedBack(x)
	f.checkLateWritesInPrimary(changed)
}

// TestFailbackFinalPlanRejectedReopensDR: rejecting the final plan imports nothing and writes the
// DR pool's mode back exactly as the failover left it (failover time included): the pools do not
// end with neither active.
func TestFailbackFinalPlanRejectedReopensDR(t *testing.T) {
	f := newFixture(t)
	primaryBefore, drBefore := f.switched()
	x := f.rejectFinalPlan("failback-reject-final")
	if diff := cmp.Diff(append(append([]string{}, approvedPath[:finalDecided]...), "RequestFinalApproval", "ReopenDrAfterRejection", "NotifyFinalRejected", "FailbackRejected"), x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if x.ErrorName() != "ApprovalRejected" {
		t.Errorf("ended %s %s", x.Status(), x.ErrorName())
	}
	if diff := cmp.Diff(drBefore, f.mode(f.sc.OsakaID, f.sc.Osaka.Region)); diff != "" {
		t.Errorf("DR mode after the final plan was rejected (-as the failover left it +got):\n%s", diff)
	}
	if diff := cmp.Diff(primaryBefore, f.mode(f.sc.TokyoID, f.sc.Tokyo.Region)); diff != "" {
		t.Errorf("primary mode after the final plan was rejected (-as the failover left it +got):\n%s", diff)
	}
	if n := len(f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID)); n != f.before {
		t.Errorf("primary has %d users, want the %d it had", n, f.before)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "DR pool reopened") || !strings.Contains(last.Message, "is open again") {
		t.Errorf("last notification %q:\n%s", last.Subject, last.Message)
	}
}

// TestFailbackRerunRejectedReopensDRAsTheFailoverLeftIt: a failback that failed after its fence
// left the DR pool fenced; a second one whose final plan is rejected reopens it active since the
// failover, not "as it found it" (fenced), which would leave neither pool active.
func TestFailbackRerunRejectedReopensDRAsTheFailoverLeftIt(t *testing.T) {
	f := newFixture(t)
	f.switched()
	ctx := context.Background()
	dr := poolmode.Parameter{Client: f.stack.Clients.SSM(f.sc.Osaka.Region), Name: poolmode.ParameterName(f.sc.OsakaID)}
	if err := dr.Set(ctx, poolmode.State{Mode: poolmode.Fenced, Since: time.Now(), Cause: poolmode.CauseFailback, Message: "an earlier failback"}); err != nil {
		t.Fatal(err)
	}
	f.rejectFinalPlan("failback-rerun-reject")
	got := f.mode(f.sc.OsakaID, f.sc.Osaka.Region)
	if want := (poolmode.State{Mode: poolmode.Active, Since: f.failover.UTC().Truncate(time.Second), Cause: poolmode.CauseFailover}); !cmp.Equal(want, got) {
		t.Errorf("DR mode after the re-run's final plan was rejected: %+v, want %+v (active since the failover)", got, want)
	}
}

// TestFailbackFailureAfterTheFenceSaysDRIsFenced: a final plan file changed before it is compared
// fails the run after the fence: it ends dirty, and the email says the DR pool is fenced and how
// to reopen it with the mode it had before.
func TestFailbackFailureAfterTheFenceSaysDRIsFenced(t *testing.T) {
	f := newFixture(t)
	_, drBefore := f.switched()
	f.hooks.Lock()
	f.beforeTask = map[string]func(json.RawMessage){"CompareFinalPlanFunctionArn": func(raw json.RawMessage) {
		var in failback.CompareInput
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Error(err)
			return
		}
		if _, err := f.stack.Clients.S3(f.sc.BucketRegion).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(f.sc.Bucket),
			Key: aws.String(in.Final.CSV.PlanFiles.Actions.Key), Body: strings.NewReader("tampered")}); err != nil {
			t.Error(err)
		}
	}}
	f.hooks.Unlock()
	x := f.start("failback-fenced-failure", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	if x.Status() != asl.StatusFailed || x.ErrorName() != "PlanTampered" {
		t.Fatalf("ended %s %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	if p := x.Path(); !endsWith(p, "CompareFinalPlan", "NotifyFailedAfterChanges", "FailureDirty") {
		t.Errorf("path %v, want it to end CompareFinalPlan NotifyFailedAfterChanges FailureDirty", p)
	}
	if dr := f.mode(f.sc.OsakaID, f.sc.Osaka.Region); dr.Mode != poolmode.Fenced || dr.Cause != poolmode.CauseFailback {
		t.Errorf("DR mode %+v, want fenced by the failback", dr)
	}
	prev, _ := json.Marshal(drBefore)
	msgs := f.stack.AWS.SNS().Messages()
	last := msgs[len(msgs)-1]
	for _, want := range []string{"IS FENCED", "aws ssm put-parameter --region " + f.sc.Osaka.Region + " --name " + poolmode.ParameterName(f.sc.OsakaID), string(prev)} {
		if !strings.Contains(last.Message, want) {
			t.Errorf("failure email lacks %q:\n%s", want, last.Message)
		}
	}
}

// rejectFinalPlan starts a failback with no margin, writes in DR after its plan, approves the plan
// and rejects the final one, and waits for the end.
func (f *fixture) rejectFinalPlan(name string) *asl.Execution {
	f.t.Helper()
	x := f.start(name, noMargin)
	first := f.approvalLink(x)
	f.writeAfterThePlan()
	f.decide(first, "approve")
	f.decide(f.nextApprovalLink(x, first), "reject")
	f.wait(x)
	return x
}

// nextApprovalLink waits for an approval email of x with a link other than seen: the second approval.
func (f *fixture) nextApprovalLink(x *asl.Execution, seen string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	for m := range f.stack.AWS.SNS().Follow(ctx) {
		if link := devstack.ApprovalLink(m.Message); link != "" && link != seen && strings.Contains(m.Message, x.Name) {
			return link
		}
	}
	f.t.Fatalf("no second approval email for %s (status %s %s %s); last events:\n%s", x.Name, x.Status(), x.ErrorName(), x.Cause(), lastEvents(x, 6))
	return ""
}

func endsWith(path []string, suffix ...string) bool {
	return len(path) >= len(suffix) && strings.Join(path[len(path)-len(suffix):], " ") == strings.Join(suffix, " ")
}
