package failback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

const seeded = 60

type fixture struct {
	t        *testing.T
	stack    *devstack.Stack
	sc       *devstack.Scenario
	run      *devstack.FailbackRunner
	clock    *asl.FakeClock
	failover time.Time
	outage   *devstack.Outage
	before   int // users in the primary before the failback
	// recreated are DR-only users someone created in the primary before the import ran.
	recreated map[string]bool
	// crashDisable makes the disable task fail this many times, as a crashed Lambda would.
	crashDisable int
	// beforeTask runs once, with the task's input, before the task of that placeholder first runs.
	beforeTask map[string]func(in json.RawMessage)
	hooks      sync.Mutex
	// planInvoke, if set, wraps the context of each PlanFailback invocation of planLoop: killed
	// reports whether it ended the invocation.
	planInvoke func(context.Context) (ctx context.Context, killed func() bool)
	// applyInvoke, if set, runs each ApplyChanges invocation in the place of apply.
	applyInvoke func(ctx context.Context, in json.RawMessage, apply boundary.Func) (json.RawMessage, error)
}

func (f *fixture) wrap(functions map[string]boundary.Func) {
	for name, fn := range functions {
		functions[name] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			f.hooks.Lock()
			hook := f.beforeTask[name]
			delete(f.beforeTask, name)
			f.hooks.Unlock()
			if hook != nil {
				hook(in)
			}
			return fn(ctx, in)
		}
	}
	disable := functions["DisableUsersFunctionArn"]
	functions["DisableUsersFunctionArn"] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if f.crashDisable > 0 {
			f.crashDisable--
			return nil, asl.TaskError{Name: "Lambda.Unknown", Cause: "lambda crashed: Runtime exited with error: signal: killed"}
		}
		return disable(ctx, in)
	}
	apply := functions["ApplyChangesFunctionArn"]
	functions["ApplyChangesFunctionArn"] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if f.applyInvoke != nil {
			return f.applyInvoke(ctx, in, apply)
		}
		return apply(ctx, in)
	}
}

// newFixture builds the story: Tokyo with users, replicated to Osaka an hour ago, failover a
// minute ago, then users signing up and changing things in Osaka.
func newFixture(t *testing.T) *fixture {
	return newFixtureWith(t, devstack.Options{Quotas: true})
}

// newFixtureWith builds the story on a stack with opts; beforeOutage runs on the stack right
// before the outage's changes are made in Osaka.
func newFixtureWith(t *testing.T, opts devstack.Options, beforeOutage ...func(*devstack.Stack)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := devstack.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(ctx, seeded)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplicateToOsaka(sc, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, stack: st, sc: sc, clock: asl.NewFakeClock(time.Now()), failover: time.Now().Add(-time.Minute), before: seeded}
	for _, fn := range beforeOutage {
		fn(st)
	}
	if f.outage, err = st.SimulateOutage(ctx, sc, 8, 2, 3); err != nil {
		t.Fatal(err)
	}
	if f.run, err = st.Failback(sc, f.wrap, asl.WithClock(f.clock)); err != nil {
		t.Fatal(err)
	}
	// Pace well above the defaults: these tests are about outcomes; the benchmark measures pace.
	f.run.Steps.Quota = quota.NewRegistry(quota.Rates{quota.UserUpdate: 500, quota.UserCreation: 500, quota.UserRead: 500})
	f.stack.Cognito.SetQuotas(false)
	return f
}

func (f *fixture) start(name string, change func(map[string]any)) *asl.Execution {
	f.t.Helper()
	in := f.sc.FailbackRequest(f.failover)
	if change != nil {
		change(in)
	}
	raw, _ := json.Marshal(in)
	x, err := f.run.Exec.Start(context.Background(), name, raw)
	if err != nil {
		f.t.Fatal(err)
	}
	return x
}

// approvalLink waits for the approval email of an execution and returns its link.
func (f *fixture) approvalLink(x *asl.Execution) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	for m := range f.stack.AWS.SNS().Follow(ctx) {
		if link := devstack.ApprovalLink(m.Message); link != "" && strings.Contains(m.Message, x.Name) {
			return link
		}
	}
	f.t.Fatalf("no approval email for %s (status %s %s %s); last events:\n%s", x.Name, x.Status(), x.ErrorName(), x.Cause(), lastEvents(x, 6))
	return ""
}

func (f *fixture) decide(link, decision string) {
	f.t.Helper()
	status, err := devstack.Decide(context.Background(), link, decision, "Aiko (SRE on call)")
	if err != nil || status != http.StatusOK {
		f.t.Fatalf("%s: status %d err %v", decision, status, err)
	}
}

// runBound is how long a test waits for an execution to reach its approval or its end. Alone an
// execution takes seconds; on a loaded 2-core machine under -race, tens of them (a report of many
// buckets needed more than 30 s). A hang still fails in minutes, saying where the execution is,
// rather than at the binary's 10-minute timeout with a goroutine dump.
const runBound = 3 * time.Minute

// wait waits for x to end, and fails the test if it does not within runBound.
func (f *fixture) wait(x *asl.Execution) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	if err := x.Wait(ctx); err != nil {
		f.t.Fatalf("%s still %s after %v; last events:\n%s", x.Name, x.Status(), runBound, lastEvents(x, 8))
	}
}

func (f *fixture) user(region, pool, email string) (*cip.AdminGetUserOutput, error) {
	return f.stack.Clients.Cognito(region).AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(email)})
}

func attr(u *cip.AdminGetUserOutput, name string) string {
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// countByEmail lists a pool and counts users per email.
func (f *fixture) countByEmail(region, pool string) map[string]int {
	f.t.Helper()
	counts := map[string]int{}
	c := f.stack.Clients.Cognito(region)
	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		for _, u := range out.Users {
			for _, a := range u.Attributes {
				if aws.ToString(a.Name) == "email" {
					counts[aws.ToString(a.Value)]++
				}
			}
		}
	}
	return counts
}

func (f *fixture) groups(email string) []string {
	f.t.Helper()
	out, err := f.stack.Clients.Cognito(f.sc.Tokyo.Region).AdminListGroupsForUser(context.Background(), &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(f.sc.TokyoID), Username: aws.String(email)})
	if err != nil {
		f.t.Fatal(err)
	}
	var g []string
	for _, x := range out.Groups {
		g = append(g, aws.ToString(x.GroupName))
	}
	return g
}

// planPath is how a failback plans: the exports loop (once with pools this small) and the planner.
var planPath = []string{"PreparePlan", "StartExportPools", "ExportPools", "PoolsExported", "StartPlanFailback", "PlanFailback", "PlanFailbackDone", "UsePlan"}

var approvedPath = []string{"PreparePlan", "StartExportPools", "ExportPools", "PoolsExported", "StartPlanFailback", "PlanFailback", "PlanFailbackDone", "UsePlan", "ValidateImport", "RequestApproval",
	"StartFence", "FenceDr", "WaitForGateCaches", "PrepareFinalPlan", "StartExportFinalPools", "ExportFinalPools", "FinalPoolsExported", "StartPlanFinalDelta", "PlanFinalDelta", "PlanFinalDeltaDone", "UseFinalDelta", "ValidateFinalImport", "CompareFinalPlan", "UseFinalPlan", "FinalPlanWithinMargin",
	"ImportParts", "StartApply", "ApplyChanges", "ChangesApplied", "ActivatePrimary", "StartDisable", "DisableDrUsers", "DrUsersDisabled", "StartReport", "WriteReport", "ReportWritten", "UseReport"}

// finalDecided is how many states of approvedPath run up to the final plan's margin decision.
var finalDecided = slices.Index(approvedPath, "FinalPlanWithinMargin") + 1

// checkFailedBack asserts the end state user by user: every DR user is in the primary exactly
// once, changes arrived, and every DR user is disabled.
func (f *fixture) checkFailedBack(x *asl.Execution) failback.ReportOutput {
	t := f.t
	t.Helper()
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s; last events:\n%s", x.Status(), x.ErrorName(), x.Cause(), lastEvents(x, 12))
	}
	tokyo := f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID)
	osaka := f.countByEmail(f.sc.Osaka.Region, f.sc.OsakaID)
	for email := range osaka {
		if tokyo[email] != 1 {
			t.Errorf("%s: %d users in the primary, want exactly 1", email, tokyo[email])
		}
		u, err := f.user(f.sc.Osaka.Region, f.sc.OsakaID, email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Enabled {
			t.Errorf("%s: still enabled in the DR pool", email)
		}
	}
	if want := f.before + len(f.outage.New) + len(f.outage.NewUnverified); len(tokyo) != want {
		t.Errorf("primary has %d users, want %d", len(tokyo), want)
	}
	for _, email := range f.outage.New {
		u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		if f.recreated[email] {
			continue // the import skipped it: the primary's own copy stands
		}
		if u.UserStatus != types.UserStatusTypeResetRequired || attr(u, "given_name") != "Osaka" || attr(u, "email_verified") != "true" {
			t.Errorf("%s: imported as %s given_name=%q verified=%q", email, u.UserStatus, attr(u, "given_name"), attr(u, "email_verified"))
		}
	}
	for _, email := range f.outage.NewUnverified {
		u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
		if err != nil {
			t.Fatalf("%s: unverified DR user not created by API: %v", email, err)
		}
		if u.UserStatus != types.UserStatusTypeForceChangePassword {
			t.Errorf("%s: status %s, want FORCE_CHANGE_PASSWORD (invited by AdminCreateUser)", email, u.UserStatus)
		}
	}
	for _, email := range f.outage.Changed {
		u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
		if err != nil {
			t.Fatal(err)
		}
		if attr(u, "given_name") != "Changed in Osaka" {
			t.Errorf("%s: given_name %q in the primary, want the DR change", email, attr(u, "given_name"))
		}
	}
	for _, email := range f.outage.Grouped {
		if g := f.groups(email); !strings.Contains(strings.Join(g, ","), "outage") {
			t.Errorf("%s: groups %v in the primary, want outage", email, g)
		}
	}
	for _, email := range f.outage.Disabled {
		u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Enabled {
			t.Errorf("%s: disabled in the primary although applyDisables was off", email)
		}
	}
	var out failback.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Lost != 0 || out.Users != len(osaka) {
		t.Errorf("report: %d users, %d lost; want %d and 0 (%v)", out.Users, out.Lost, len(osaka), out.Outcomes)
	}
	return out
}

func TestFailbackApproved(t *testing.T) {
	f := newFixture(t)
	x := f.start("failback-approved", nil)
	link := f.approvalLink(x)

	// Opening the link decides nothing, and nothing touched the primary while waiting. The page
	// runs no script (its CSP forbids it), so anything a GET could decide it decides before its
	// answer: checking right after it is enough, and the approval below would be refused as
	// "already decided".
	resp, err := http.Get(link)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET of the approval page: %v %v", resp, err)
	}
	resp.Body.Close()
	if x.Status() != asl.StatusRunning || len(f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID)) != f.before {
		t.Fatalf("before approval: status %s, primary users %d", x.Status(), len(f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID)))
	}

	f.decide(link, "approve")
	f.wait(x)
	if diff := cmp.Diff(approvedPath, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	out := f.checkFailedBack(x)
	if diff := cmp.Diff(f.approvedOutcomes(), out.Outcomes); diff != "" {
		t.Errorf("report outcomes (-want +got):\n%s", diff)
	}
}

// approvedOutcomes are the report's outcomes of an approved failback of the outage.
func (f *fixture) approvedOutcomes() map[string]int {
	return map[string]int{
		"primary:imported":       len(f.outage.New),
		"primary:created-by-api": len(f.outage.NewUnverified),
		"primary:updated":        len(f.outage.Changed),
		"primary:unchanged":      seeded - len(f.outage.Changed),
		"dr:disabled":            seeded + len(f.outage.New) + len(f.outage.NewUnverified),
	}
}

// TestFailbackMirrorsUsersDisabledInDR: a user disabled in the DR pool during the outage is
// counted by the plan and, with applyDisables, disabled in the primary (and reported updated), whether or not Cognito
// moves its UserLastModifiedDate when it is disabled (AWS does not document it; the emulator
// does either). The users only changed in DR stay enabled in the primary.
func TestFailbackMirrorsUsersDisabledInDR(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("disable keeps last modified date %v", keep), func(t *testing.T) {
			f := newFixtureWith(t, devstack.Options{Quotas: true}, func(st *devstack.Stack) { st.Cognito.SetEnableKeepsModified(keep) })
			var plan failback.Plan
			f.beforeTask = map[string]func(json.RawMessage){"RequestApprovalFunctionArn": func(in json.RawMessage) {
				var st struct {
					Plan failback.Plan `json:"plan"`
				}
				if err := json.Unmarshal(in, &st); err != nil {
					t.Error(err)
				}
				plan = st.Plan
			}}
			x := f.start("failback-disabled-in-dr", func(in map[string]any) { in["applyDisables"] = true })
			f.decide(f.approvalLink(x), "approve")
			f.wait(x)
			if x.Status() != asl.StatusSucceeded {
				t.Fatalf("status %s: %s %s; last events:\n%s", x.Status(), x.ErrorName(), x.Cause(), lastEvents(x, 12))
			}
			if len(f.outage.Disabled) == 0 {
				t.Fatal("the outage disabled nobody in Osaka")
			}
			if plan.Counts.DisabledInDR != len(f.outage.Disabled) {
				t.Errorf("plan counts %d users disabled in DR, want %d", plan.Counts.DisabledInDR, len(f.outage.Disabled))
			}
			for _, email := range f.outage.Disabled {
				u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
				if err != nil {
					t.Fatal(err)
				}
				if u.Enabled {
					t.Errorf("%s: disabled in DR during the outage, still enabled in the primary", email)
				}
			}
			for _, email := range f.outage.Changed {
				u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
				if err != nil {
					t.Fatal(err)
				}
				if !u.Enabled {
					t.Errorf("%s: only changed in DR, disabled in the primary", email)
				}
			}
			// The report says so: the disabled users were updated in the primary, as the changed ones.
			var out failback.ReportOutput
			if err := json.Unmarshal(x.Output(), &out); err != nil {
				t.Fatal(err)
			}
			if got, want := out.Outcomes["primary:updated"], len(f.outage.Changed)+len(f.outage.Disabled); got != want {
				t.Errorf("report outcomes %v: %d updated, want %d (changed and disabled in DR)", out.Outcomes, got, want)
			}
		})
	}
}

func TestFailbackRejected(t *testing.T) {
	f := newFixture(t)
	x := f.start("failback-rejected", nil)
	f.decide(f.approvalLink(x), "reject")
	f.wait(x)
	if diff := cmp.Diff(append(slices.Clone(planPath), "ValidateImport", "RequestApproval", "NotifyRejected", "FailbackRejected"), x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	f.checkNothingChanged(x, "ApprovalRejected", "rejected")
}

func TestFailbackApprovalTimesOut(t *testing.T) {
	f := newFixture(t)
	x := f.start("failback-timeout", func(in map[string]any) { in["approvalTimeoutSeconds"] = 3600 })
	link := f.approvalLink(x)
	f.clock.Advance(time.Hour + time.Second)
	f.wait(x)
	if diff := cmp.Diff(append(slices.Clone(planPath), "ValidateImport", "RequestApproval", "NotifyTimedOut", "ApprovalTimedOut"), x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	f.checkNothingChanged(x, "ApprovalTimedOut", "not approved in time")
	// A late click cannot resume an execution that ended.
	if status, _ := devstack.Decide(context.Background(), link, "approve", "late"); status != http.StatusGone {
		t.Errorf("approving after the timeout: HTTP %d, want 410", status)
	}
}

func (f *fixture) checkNothingChanged(x *asl.Execution, errName, subject string) {
	t := f.t
	t.Helper()
	if x.Status() != asl.StatusFailed || x.ErrorName() != errName {
		t.Errorf("status %s %s, want FAILED %s", x.Status(), x.ErrorName(), errName)
	}
	if n := len(f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID)); n != f.before {
		t.Errorf("primary has %d users, want the %d it had", n, f.before)
	}
	for _, email := range f.outage.New {
		u, err := f.user(f.sc.Osaka.Region, f.sc.OsakaID, email)
		if err != nil || !u.Enabled {
			t.Errorf("%s: DR user changed (err %v)", email, err)
		}
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, subject) || !strings.Contains(last.Subject, "nothing was changed") {
		t.Errorf("last notification %q, want one saying %q and nothing was changed", last.Subject, subject)
	}
}

// TestFailbackImportPartlySkippedAndSlotBusy: a user signed up again in the recovered primary
// before the import ran (so its row is SKIPPED), and another import job holds the account's only
// slot when the failback's job is ready.
func TestFailbackImportPartlySkippedAndSlotBusy(t *testing.T) {
	// Cognito's clock, set back while the user is signed up again: the failback counts a user
	// created less than ClockSlack before its apply started as one it created itself (whose
	// answer was lost), and this one is someone else's, created before the failback went on.
	var behind atomic.Int64
	clock := func() time.Time { return time.Now().Add(-time.Duration(behind.Load())) }
	f := newFixtureWith(t, devstack.Options{Quotas: true, ImportRowDelay: 20 * time.Millisecond, Clock: clock})
	x := f.start("failback-busy", nil)
	link := f.approvalLink(x)

	// Both happen after the final plan, right before the first part is uploaded: the final plan
	// is taken with the DR pool fenced, but the primary is not fenced against its administrators.
	ctx := context.Background()
	tokyo := f.stack.Clients.Cognito(f.sc.Tokyo.Region)
	again := f.outage.New[0]
	f.recreated = map[string]bool{again: true}
	slot := f.newBusySlot(ctx)
	f.hooks.Lock()
	f.beforeTask = map[string]func(json.RawMessage){
		"UploadImportFunctionArn": func(json.RawMessage) {
			behind.Store(int64(checkpoint.ClockSlack + time.Minute))
			if _, err := tokyo.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(f.sc.TokyoID), Username: aws.String(again), MessageAction: types.MessageActionTypeSuppress,
				UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(again)}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
				t.Error(err)
			}
			behind.Store(0)
			slot.occupy()
		},
		"StartImportFunctionArn": slot.startImportHook(),
	}
	f.hooks.Unlock()

	f.decide(link, "approve")
	f.wait(x)
	slot.released()
	out := f.checkFailedBack(x)
	if out.Outcomes["primary:skipped-existing"] != 1 {
		t.Errorf("outcomes %v, want one skipped-existing", out.Outcomes)
	}
	var waited bool
	for _, e := range x.History() {
		waited = waited || e.State == "WaitForImportSlot"
	}
	if !waited {
		t.Errorf("the failback never waited for the busy import slot (other job %s)", slot.job)
	}
}

// TestFailbackCrashThenRerun: the run dies after the import, before any DR user is disabled; a
// second execution with the same input finishes the job without importing anyone twice.
func TestFailbackCrashThenRerun(t *testing.T) {
	f := newFixture(t)
	f.crashDisable = 1

	x := f.start("failback-crash", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	if x.Status() != asl.StatusFailed || !strings.Contains(x.Cause(), "lambda crashed") {
		t.Fatalf("first run: %s %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	imported := f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID)
	for _, email := range f.outage.New {
		if imported[email] != 1 {
			t.Fatalf("%s: %d copies after the first run's import", email, imported[email])
		}
	}

	y := f.start("failback-rerun", nil)
	f.decide(f.approvalLink(y), "approve")
	f.wait(y)
	if diff := cmp.Diff(approvedPath, y.Path()); diff != "" {
		t.Errorf("re-run path (-want +got):\n%s", diff)
	}
	out := f.checkFailedBack(y)
	if out.Outcomes["primary:imported"] != 0 || out.Outcomes["primary:updated"] != 0 {
		t.Errorf("re-run outcomes %v: nothing should be imported or updated twice", out.Outcomes)
	}
}

// lastEvents renders the tail of an execution's history for failure messages.
func lastEvents(x *asl.Execution, n int) string {
	h := x.History()
	var last []string
	for _, e := range h[max(0, len(h)-n):] {
		last = append(last, fmt.Sprintf("%s %s/%s %s %.300s %.300s", e.Type, e.Scope, e.State, e.Error, e.Cause, e.Output))
	}
	return strings.Join(last, "\n")
}

// TestFailbackImportRowFails: Cognito's import refuses a row our validator accepted (its rules
// are not all published). The transport rewrites that row on its way to the presigned URL, as if
// Cognito judged it unverified. The row fails alone; the rest of the failback goes on, and the
// user is created by API after the plan's updates (the API judges the user as the DR pool holds
// it): invited to set a password, reported created-by-api with the import's refusal, and its DR
// copy disabled. Were the API to refuse it too, it would stay enabled in DR and count as lost.
func TestFailbackImportRowFails(t *testing.T) {
	f := newFixture(t)
	victim := f.outage.New[1]
	f.run.Steps.HTTP = &http.Client{Transport: rewriteRow{victim: victim, next: http.DefaultTransport}}
	x := f.start("failback-row-fails", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out failback.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Lost != 0 || out.Outcomes["primary:import-failed"] != 0 || out.Outcomes["primary:created-by-api"] != len(f.outage.NewUnverified)+1 {
		t.Errorf("report: lost %d, outcomes %v; want the failed row's user created by API", out.Lost, out.Outcomes)
	}
	if u, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, victim); err != nil || u.UserStatus != types.UserStatusTypeForceChangePassword {
		t.Errorf("%s: want it in the primary, invited by AdminCreateUser (err %v)", victim, err)
	}
	u, err := f.user(f.sc.Osaka.Region, f.sc.OsakaID, victim)
	if err != nil || u.Enabled {
		t.Errorf("%s: the DR copy must be disabled once the user is in the primary (err %v)", victim, err)
	}
	for _, email := range f.outage.New {
		if email == victim {
			continue
		}
		if _, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email); err != nil {
			t.Errorf("%s: not imported: %v", email, err)
		}
	}
}

// rewriteRow sets email_verified=false in one user's row of import uploads.
type rewriteRow struct {
	victim string
	next   http.RoundTripper
}

func (rw rewriteRow) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut || r.Body == nil {
		return rw.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(body), "\n")
	col := slices.Index(strings.Split(lines[0], ","), "email_verified")
	for i, l := range lines {
		if strings.Contains(l, rw.victim) {
			cells := strings.Split(l, ",")
			cells[col] = "false"
			lines[i] = strings.Join(cells, ",")
		}
	}
	out := strings.Join(lines, "\n")
	r = r.Clone(r.Context())
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(out)), int64(len(out))
	return rw.next.RoundTrip(r)
}
