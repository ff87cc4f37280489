package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// These tests take Cognito away entirely for two minutes in the middle of a backup, a reconcile
// and a failback, and check that each execution completes with the results of a clean run. The
// SDK's own retries are off (one attempt per call), so every refused call reaches the state
// machine at once: the worst case for its retry policy, and no test waits on the SDK's
// wall-clock backoff. The state machines run on a fake clock that their retry backoff moves, and
// the outage ends when that clock has moved two minutes past its start.

const outageLength = 2 * time.Minute

// outage is a SetOutage condition: Cognito goes down at the n-th call of op and comes back once
// clock has moved length past that moment (never, if length is 0).
type outage struct {
	op     string
	n      int
	clock  *asl.FakeClock
	length time.Duration

	mu    sync.Mutex
	calls int
	began time.Time
}

func (o *outage) down(op string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.began.IsZero() {
		if op == o.op {
			o.calls++
		}
		if o.calls < o.n {
			return false
		}
		o.began = o.clock.Now()
	}
	return o.length == 0 || o.clock.Now().Before(o.began.Add(o.length))
}

// lasted is how long the outage lasted on the state machine's clock, and whether it began.
func (o *outage) lasted() (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.clock.Now().Sub(o.began), !o.began.IsZero()
}

func newOutageStack(t *testing.T, users int) (*devstack.Stack, *devstack.Scenario) {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(context.Background(), users)
	if err != nil {
		t.Fatal(err)
	}
	return st, sc
}

// withoutSDKRetries gives the stack's tasks Cognito clients that try each call once.
func withoutSDKRetries(st *devstack.Stack) {
	st.Clients = awsclients.New(st.AWS.AWSConfig("us-east-1"), awsclients.Options{S3PathStyle: true, CognitoMaxAttempts: 1})
}

var discard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// poolState renders every user of a pool as a user would see it — attributes (but sub, which
// each pool assigns), enabled, status and groups — keyed by email.
func poolState(t *testing.T, st *devstack.Stack, region, pool string) map[string]string {
	t.Helper()
	ctx := context.Background()
	// The SDK's own retries on: this reads the result, and is not under test.
	c := awsclients.New(st.AWS.AWSConfig("us-east-1"), awsclients.Options{S3PathStyle: true}).Cognito(region)
	byName := map[string]string{}
	state := map[string]string{}
	pg := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			var attrs []string
			email := ""
			for _, a := range u.Attributes {
				switch aws.ToString(a.Name) {
				case "sub":
					continue
				case "email":
					email = aws.ToString(a.Value)
				}
				attrs = append(attrs, aws.ToString(a.Name)+"="+aws.ToString(a.Value))
			}
			slices.Sort(attrs)
			byName[aws.ToString(u.Username)] = email
			state[email] = fmt.Sprintf("%s enabled=%v status=%s", strings.Join(attrs, " "), u.Enabled, u.UserStatus)
		}
	}
	groups, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Groups {
		members := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: aws.String(pool), GroupName: g.GroupName})
		for members.HasMorePages() {
			page, err := members.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Users {
				email := byName[aws.ToString(u.Username)]
				state[email] += " group=" + aws.ToString(g.GroupName)
			}
		}
	}
	return state
}

func transientRetries(x *asl.Execution) map[string]int {
	n := map[string]int{}
	for _, e := range x.History() {
		if e.Type == asl.EventRetry && e.Error == "Transient" {
			n[e.State]++
		}
	}
	return n
}

func checkOutageHappened(t *testing.T, st *devstack.Stack, o *outage) {
	t.Helper()
	lasted, began := o.lasted()
	if !began || st.Cognito.OutageRefused() == 0 {
		t.Fatalf("the outage never began (%d calls of %s)", o.calls, o.op)
	}
	if lasted < outageLength {
		t.Errorf("the outage lasted %v on the state machine's clock, want at least %v", lasted, outageLength)
	}
}

// TestBackupRidesOutACognitoOutage: Cognito answers every call with HTTP 500 for two minutes
// from the 5th ListUsers call. The export fails with Transient, is retried with backoff and
// restarts (an export has no checkpoint: it rewrites the same files), and the snapshot is the
// one a clean run writes.
func TestBackupRidesOutACognitoOutage(t *testing.T) {
	st, sc := newOutageStack(t, 1200)
	withoutSDKRetries(st)
	clock := asl.NewFakeClock(time.Now())
	exec, err := devstack.Executor(statemachines.Backup, backup.NewSteps(st.Clients, backup.Config{TopicArn: sc.TopicArn}).Functions(discard), asl.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string) (*asl.Execution, map[string]any, []string) {
		raw, _ := json.Marshal(sc.BackupRequest())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		x, err := exec.Run(ctx, name, raw)
		if x == nil || x.Status() != asl.StatusSucceeded {
			t.Fatalf("%s: %v %s %s %s", name, err, x.Status(), x.ErrorName(), x.Cause())
		}
		var out map[string]any
		if err := json.Unmarshal(x.Output(), &out); err != nil {
			t.Fatal(err)
		}
		snap := out["snapshot"].(map[string]any)
		var users []string
		err = snapshot.ReadUsers(ctx, st.Clients.S3(sc.BucketRegion), sc.Bucket, snap["prefix"].(string), func(u snapshot.User) error {
			line, err := json.Marshal(u)
			users = append(users, string(line))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(users)
		delete(out, "snapshot")
		delete(out, "manifestKey")
		delete(out, "exportSeconds")
		return x, out, users
	}

	o := &outage{op: "ListUsers", n: 5, clock: clock, length: outageLength}
	st.Cognito.SetOutage(localcognito.OutageInternalError, o.down)
	x, got, gotUsers := run("during-outage")
	checkOutageHappened(t, st, o)
	st.Cognito.SetOutage(0, nil)
	clean, want, wantUsers := run("clean")

	if transientRetries(x)["ExportUsers"] == 0 {
		t.Errorf("no Transient retry of ExportUsers in the history")
	}
	if diff := cmp.Diff(clean.Path(), x.Path()); diff != "" {
		t.Errorf("path (-clean +outage):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-clean +outage):\n%s", diff)
	}
	if len(gotUsers) != 1200 || !slices.Equal(wantUsers, gotUsers) {
		t.Errorf("the snapshot has %d users, the clean one %d; equal: %v", len(gotUsers), len(wantUsers), slices.Equal(wantUsers, gotUsers))
	}
}

// TestReconcileRidesOutACognitoOutage: every Cognito connection is reset for two minutes from the
// 40th AdminCreateUser of the repair. The repair fails with Transient, is retried from its
// checkpoint, and the DR pool and the report end as a clean run's do.
func TestReconcileRidesOutACognitoOutage(t *testing.T) {
	run := func(withOutage bool) (replication.Output, map[string]string) {
		st, sc := newOutageStack(t, 400)
		if err := st.ReplicateToOsakaExcept(sc, time.Now().Add(-time.Hour), func(i int) bool { return i%4 == 0 }); err != nil {
			t.Fatal(err)
		}
		withoutSDKRetries(st)
		clock := asl.NewFakeClock(time.Now())
		r, err := st.Replication(sc, nil, nil, asl.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		r.Steps.Quota = quota.NewRegistry(quota.Rates{quota.UserCreation: 1000, quota.UserUpdate: 1000, quota.UserResourceUpdate: 1000, quota.UserAccountRecovery: 1000, quota.UserRead: 1000, quota.UserList: 1000})
		var o *outage
		if withOutage {
			o = &outage{op: "AdminCreateUser", n: 40, clock: clock, length: outageLength}
			st.Cognito.SetOutage(localcognito.OutageConnectionReset, o.down)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := r.Run(ctx, "reconcile", sc.ReconcileRequest(false))
		if err != nil {
			t.Fatal(err)
		}
		if o != nil {
			checkOutageHappened(t, st, o)
			st.Cognito.SetOutage(0, nil)
		}
		out := res.Output
		out.ReportKey, out.MessageID = "", ""
		for _, d := range []*replication.Drift{&out.Before, &out.After} {
			d.OldestChange, d.RPOSeconds, d.Key = nil, 0, ""
		}
		return out, poolState(t, st, sc.Osaka.Region, sc.OsakaID)
	}
	want, wantDR := run(false)
	got, gotDR := run(true)
	if want.Repaired <= 40 || want.After.Users != 0 {
		t.Fatalf("the clean run repaired %d users and left %d drifted; want more than the 40 the outage begins at, and none", want.Repaired, want.After.Users)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reconcile output (-clean +outage):\n%s", diff)
	}
	if diff := cmp.Diff(wantDR, gotDR); diff != "" {
		t.Errorf("DR pool (-clean +outage):\n%s", diff)
	}
}

type failbackRun struct {
	x       *asl.Execution
	st      *devstack.Stack
	sc      *devstack.Scenario
	outage  *devstack.Outage
	errs    []string // every error a task returned: what its log line and the history carry
	tokyo   map[string]string
	osaka   map[string]string
	report  failback.ReportOutput
	retries map[string]int
}

// runFailback runs the failback story (60 primary users, 8 DR sign-ups of which 2 unverified,
// 3 changed) with Cognito down as o says, approving the plan, to the execution's end.
func runFailback(t *testing.T, mode localcognito.OutageMode, o *outage) *failbackRun {
	t.Helper()
	ctx := context.Background()
	st, sc := newOutageStack(t, 60)
	now := time.Now()
	if err := st.ReplicateToOsaka(sc, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	story, err := st.SimulateOutage(ctx, sc, 8, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	withoutSDKRetries(st)
	clock := asl.NewFakeClock(now)
	fr := &failbackRun{st: st, sc: sc, outage: story}
	var mu sync.Mutex
	record := func(functions map[string]boundary.Func) {
		for name, fn := range functions {
			functions[name] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
				out, err := fn(ctx, in)
				if err != nil {
					mu.Lock()
					fr.errs = append(fr.errs, err.Error())
					mu.Unlock()
				}
				return out, err
			}
		}
	}
	r, err := st.Failback(sc, record, asl.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	r.Steps.Quota = quota.NewRegistry(quota.Rates{quota.UserUpdate: 500, quota.UserCreation: 500, quota.UserResourceUpdate: 500})
	if o != nil {
		o.clock = clock
		st.Cognito.SetOutage(mode, o.down)
	}
	raw, _ := json.Marshal(sc.FailbackRequest(now.Add(-time.Minute)))
	fr.x, err = r.Exec.Start(ctx, "failback", raw)
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	link := ""
	for m := range st.AWS.SNS().Follow(wait) {
		if link = devstack.ApprovalLink(m.Message); link != "" {
			break
		}
	}
	if link == "" {
		t.Fatalf("no approval email: %s %s %s", fr.x.Status(), fr.x.ErrorName(), fr.x.Cause())
	}
	if status, err := devstack.Decide(ctx, link, "approve", "Aiko (SRE on call)"); err != nil || status != 200 {
		t.Fatalf("approve: %d %v", status, err)
	}
	if err := fr.x.Wait(wait); err != nil {
		t.Fatalf("execution did not end: %v", err)
	}
	if o != nil {
		checkOutageHappened(t, st, o)
		st.Cognito.SetOutage(0, nil)
	}
	if fr.x.Status() == asl.StatusSucceeded {
		if err := json.Unmarshal(fr.x.Output(), &fr.report); err != nil {
			t.Fatal(err)
		}
	}
	fr.retries = transientRetries(fr.x)
	fr.tokyo = poolState(t, st, sc.Tokyo.Region, sc.TokyoID)
	fr.osaka = poolState(t, st, sc.Osaka.Region, sc.OsakaID)
	return fr
}

// TestFailbackRidesOutACognitoOutage: Cognito answers every call with HTTP 500 for two minutes
// from the 3rd AdminDisableUser. DisableDrUsers fails with Transient, is retried from its
// checkpoint, and both pools and the report end as a clean run's do.
func TestFailbackRidesOutACognitoOutage(t *testing.T) {
	clean := runFailback(t, 0, nil)
	if clean.x.Status() != asl.StatusSucceeded {
		t.Fatalf("clean run: %s %s %s", clean.x.Status(), clean.x.ErrorName(), clean.x.Cause())
	}
	got := runFailback(t, localcognito.OutageInternalError, &outage{op: "AdminDisableUser", n: 3, length: outageLength})
	if got.x.Status() != asl.StatusSucceeded {
		t.Fatalf("run with an outage: %s %s %s", got.x.Status(), got.x.ErrorName(), got.x.Cause())
	}
	if got.retries["DisableDrUsers"] == 0 {
		t.Errorf("no Transient retry of DisableDrUsers: %v", got.retries)
	}
	if diff := cmp.Diff(clean.x.Path(), got.x.Path()); diff != "" {
		t.Errorf("path (-clean +outage):\n%s", diff)
	}
	if diff := cmp.Diff(clean.report.Outcomes, got.report.Outcomes); diff != "" || clean.report.Users != got.report.Users || clean.report.Lost != got.report.Lost {
		t.Errorf("report: users %d/%d lost %d/%d outcomes (-clean +outage):\n%s", clean.report.Users, got.report.Users, clean.report.Lost, got.report.Lost, diff)
	}
	if diff := cmp.Diff(clean.tokyo, got.tokyo); diff != "" {
		t.Errorf("primary pool (-clean +outage):\n%s", diff)
	}
	if diff := cmp.Diff(clean.osaka, got.osaka); diff != "" {
		t.Errorf("DR pool (-clean +outage):\n%s", diff)
	}
}

var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}`)

// TestFailbackFailureNamesNoEmailAndSaysWhatChanged: Cognito goes down for good at the first
// attribute update of ApplyChanges, after the import has created users in the primary. The
// execution ends in FailureDirty; the failure notification says changes were made and where the
// ledgers are; and no task error (what the task logs and Step Functions records), cause or
// notification names a user by email — users are named by their DR username.
func TestFailbackFailureNamesNoEmailAndSaysWhatChanged(t *testing.T) {
	fr := runFailback(t, localcognito.OutageInternalError, &outage{op: "AdminUpdateUserAttributes", n: 1})
	if fr.x.Status() != asl.StatusFailed || fr.x.ErrorName() != "Transient" {
		t.Fatalf("status %s %s, want FAILED with Transient", fr.x.Status(), fr.x.ErrorName())
	}
	path := fr.x.Path()
	if diff := cmp.Diff([]string{"ApplyChanges", "NotifyFailedAfterChanges", "FailureDirty"}, path[len(path)-3:]); diff != "" {
		t.Errorf("path ends (-want +got):\n%s", diff)
	}
	if fr.retries["ApplyChanges"] != 6 {
		t.Errorf("ApplyChanges retried %d times on Transient, want the policy's 6", fr.retries["ApplyChanges"])
	}

	var failure string
	for _, m := range fr.st.AWS.SNS().Messages() {
		if strings.Contains(m.Subject, "failed") {
			failure = m.Subject + "\n" + m.Message
		}
	}
	if !strings.Contains(failure, "after changes") || !strings.Contains(failure, "Changes were made before the failure") ||
		!strings.Contains(failure, "s3://"+fr.sc.Bucket+"/") || !strings.Contains(failure, failback.ApplyLedgerDir) {
		t.Errorf("the failure notification does not say that changes were made and where:\n%s", failure)
	}

	texts := append(slices.Clone(fr.errs), fr.x.Cause(), failure)
	for _, e := range fr.x.History() {
		texts = append(texts, e.Cause)
	}
	named := false
	for _, s := range texts {
		if m := emailPattern.FindString(s); m != "" {
			t.Errorf("a failure message names a user by email %q:\n%s", m, s)
		}
		named = named || strings.Contains(s, "DR user ")
	}
	if !named {
		t.Errorf("no failure message names the failing user by DR username: %q", fr.errs)
	}
	emails := slices.Collect(maps.Keys(fr.osaka))
	if len(emails) == 0 || !strings.Contains(emails[0], "@") {
		t.Fatalf("the scenario has no users with emails: %v", emails)
	}
}

// TestFailbackBadInputEndsCleanSayingNothingChanged: a failure before the first write to a pool
// ends in FailureClean and the notification says nothing was changed.
func TestFailbackBadInputEndsCleanSayingNothingChanged(t *testing.T) {
	st, sc := newOutageStack(t, 5)
	r, err := st.Failback(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := sc.FailbackRequest(time.Now())
	in["REGION"] = "ap-northeast-1"
	raw, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, err := r.Exec.Run(ctx, "bad-input", raw)
	if x == nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PreparePlan", "NotifyFailed", "FailureClean"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if x.ErrorName() != "InvalidInput" || !strings.Contains(x.Cause(), "REGION") {
		t.Errorf("error %s %s, want InvalidInput naming REGION", x.ErrorName(), x.Cause())
	}
	msgs := st.AWS.SNS().Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "nothing was changed") || !strings.Contains(msgs[0].Message, "Nothing was changed") {
		t.Errorf("notification: %+v", msgs)
	}
}

// TestReconcileFailureAfterRepairsEndsDirty: Cognito goes down for good at the 40th
// AdminCreateUser of the repair. The execution ends in FailureDirty after the policy's retries,
// and the notification says the DR pool was partly repaired and where the repair ledger is.
func TestReconcileFailureAfterRepairsEndsDirty(t *testing.T) {
	st, sc := newOutageStack(t, 200)
	if err := st.ReplicateToOsakaExcept(sc, time.Now().Add(-time.Hour), func(i int) bool { return i%2 == 0 }); err != nil {
		t.Fatal(err)
	}
	withoutSDKRetries(st)
	clock := asl.NewFakeClock(time.Now())
	r, err := st.Replication(sc, nil, nil, asl.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	r.Steps.Quota = quota.NewRegistry(quota.Rates{quota.UserCreation: 1000, quota.UserUpdate: 1000, quota.UserResourceUpdate: 1000, quota.UserAccountRecovery: 1000, quota.UserRead: 1000, quota.UserList: 1000})
	st.Cognito.SetOutage(localcognito.OutageInternalError, (&outage{op: "AdminCreateUser", n: 40, clock: clock}).down)
	raw, _ := json.Marshal(sc.ReconcileRequest(false))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := r.Exec.Run(ctx, "reconcile-outage", raw)
	if x == nil {
		t.Fatal(err)
	}
	// One bucket: compared by primary sub, the unmatched partitioned by key (a route and a split
	// for each pool), compared by key, summed.
	diffBefore := slices.Repeat([]string{"DiffBefore", "BeforeDiffed"}, 7)
	want := slices.Concat([]string{"PlanReconcile", "StartExportBefore", "ExportBefore", "BeforeExported", "StartDiffBefore"}, diffBefore, []string{"StartRepair", "RepairDrift", "NotifyFailedAfterChanges", "FailureDirty"})
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if x.ErrorName() != "Transient" || transientRetries(x)["RepairDrift"] != 6 {
		t.Errorf("error %s after %d Transient retries, want Transient after the policy's 6", x.ErrorName(), transientRetries(x)["RepairDrift"])
	}
	msgs := st.AWS.SNS().Messages()
	last := msgs[len(msgs)-1]
	if !strings.Contains(last.Subject, "after changes") || !strings.Contains(last.Message, "Changes were made before the failure") ||
		!strings.Contains(last.Message, "s3://"+sc.Bucket+"/") || !strings.Contains(last.Message, replication.RepairLedger) {
		t.Errorf("the failure notification does not say the DR pool was changed and where:\n%s\n%s", last.Subject, last.Message)
	}
}
