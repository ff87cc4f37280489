package replication_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

const seeded = 60

// reconciledPath is the path of a reconcile, each loop's repeats collapsed (see loops).
var reconciledPath = []string{"PlanReconcile", "StartExportBefore", "ExportBefore", "BeforeExported", "StartDiffBefore", "DiffBefore", "BeforeDiffed",
	"StartRepair", "RepairDrift", "DriftRepaired", "StartExportAfter", "ExportAfter", "AfterExported", "StartDiffAfter", "DiffAfter", "AfterDiffed", "ReportDrift"}

// loops collapses each loop of a path (a Task state and the Choice after it, repeated) to one
// round, and counts the rounds of each Task.
func loops(path []string) (shape []string, rounds map[string]int) {
	rounds = map[string]int{}
	for i := 0; i < len(path); i++ {
		st := path[i]
		if n := len(shape); n >= 2 && i+1 < len(path) && shape[n-2] == st && shape[n-1] == path[i+1] {
			rounds[st]++
			i++
			continue
		}
		rounds[st]++
		shape = append(shape, st)
	}
	return shape, rounds
}

type stackFixture struct {
	t     *testing.T
	stack *devstack.Stack
	sc    *devstack.Scenario
	repl  *devstack.Replication
}

// newStack seeds Tokyo, replicates it to Osaka (with custom:primary_sub, as the trigger does),
// and wires replication; Cognito's default quotas are enforced.
func newStack(t *testing.T) *stackFixture {
	t.Helper()
	return newStackOf(t, seeded)
}

// newStackOf is newStack with users seeded users.
func newStackOf(t *testing.T, users int) *stackFixture {
	t.Helper()
	st, err := devstack.Start(devstack.Options{Quotas: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(context.Background(), users)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplicateToOsaka(sc, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := st.Replication(sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &stackFixture{t: t, stack: st, sc: sc, repl: r}
}

func (f *stackFixture) tokyo() *cip.Client { return f.stack.Clients.Cognito(f.sc.Tokyo.Region) }
func (f *stackFixture) osaka() *cip.Client { return f.stack.Clients.Cognito(f.sc.Osaka.Region) }

func (f *stackFixture) must(_ any, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *stackFixture) get(c *cip.Client, pool, username string) *cip.AdminGetUserOutput {
	f.t.Helper()
	u, err := c.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
	if err != nil {
		f.t.Fatalf("get %s in %s: %v", username, pool, err)
	}
	return u
}

func attr(u *cip.AdminGetUserOutput, name string) string {
	return attrs(u.UserAttributes)[name]
}

func (f *stackFixture) osakaGroups(email string) []string {
	f.t.Helper()
	out, err := f.osaka().AdminListGroupsForUser(context.Background(), &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(email)})
	if err != nil {
		f.t.Fatal(err)
	}
	var g []string
	for _, x := range out.Groups {
		g = append(g, aws.ToString(x.GroupName))
	}
	slices.Sort(g)
	return g
}

// signUp creates a confirmed user in Tokyo and returns its sub.
func (f *stackFixture) signUp(email string) string {
	f.t.Helper()
	ctx := context.Background()
	pool := aws.String(f.sc.TokyoID)
	f.must(f.tokyo().AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: pool, Username: aws.String(email), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}, {Name: aws.String("email_verified"), Value: aws.String("true")},
			{Name: aws.String("given_name"), Value: aws.String("New")}, {Name: aws.String("custom:tenant"), Value: aws.String("acme")}}}))
	f.must(f.tokyo().AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: pool, Username: aws.String(email), Password: aws.String("Passw0rd!Tokyo"), Permanent: true}))
	return attr(f.get(f.tokyo(), f.sc.TokyoID, email), "sub")
}

// picked returns n seeded users that are confirmed, enabled and verified.
func (f *stackFixture) picked(n int) []string {
	var out []string
	for u := range f.sc.Tokyo.SeedUsers() {
		if u.Enabled && u.Status == "CONFIRMED" && u.Attributes["email_verified"] == "true" && len(u.Groups) == 0 && len(out) < n {
			out = append(out, u.Attributes["email"])
		}
	}
	return out
}

func (f *stackFixture) run(name string, mirrorDeletes bool) devstack.ReconcileRun {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := f.repl.Run(ctx, name, f.sc.ReconcileRequest(mirrorDeletes))
	if err != nil {
		f.t.Fatalf("%v (path %v)", err, run.Path)
	}
	if shape, _ := loops(run.Path); !cmp.Equal(reconciledPath, shape) {
		diff := cmp.Diff(reconciledPath, shape)
		f.t.Errorf("%s path (-want +got):\n%s", name, diff)
	}
	return run
}

func TestReconcileRepairsEveryKindOfDrift(t *testing.T) {
	// Every user of this test is seeded or changed after this; Cognito dates carry milliseconds.
	began := time.Now().Truncate(time.Millisecond).Add(-time.Millisecond)
	f := newStack(t)
	ctx := context.Background()
	d := f.makeEveryDrift()
	changed, unverified, disabled, grouped, deleted, emailChanged, renamed := d.changed, d.unverified, d.disabled, d.grouped, d.deleted, d.emailChanged, d.renamed
	newSub, pendingSub := d.newSub, d.pendingSub

	// Eight users of a pool a bucket: many buckets, and pairs a primary sub matches across keys.
	f.repl.Steps.BucketUsers = 8
	run := f.run("reconcile-1", false)
	out := run.Output
	buckets := (max(out.Before.PrimaryUsers, out.Before.DRUsers) + 7) / 8
	// The unmatched are partitioned by key in units: a route per 16 buckets and a split per
	// window of 32 buckets, for each pool.
	repartition := 2 * ((buckets+15)/16 + (buckets+31)/32)
	if _, rounds := loops(run.Path); buckets < 4 || rounds["DiffBefore"] != 2*buckets+repartition+1 || rounds["DiffAfter"] != 2*buckets+repartition+1 {
		t.Errorf("diff rounds %v; want %d each: %d buckets by sub, the unmatched partitioned by key in %d units, %[3]d by key, the sum", rounds, 2*buckets+repartition+1, buckets, repartition)
	}
	wantBefore := map[string]int{
		replication.KindMissing: 2, replication.KindAttributes: 2, replication.KindVerified: 1,
		replication.KindEnabled: 1, replication.KindGroups: 1, replication.KindDeleted: 1,
	}
	if diff := cmp.Diff(wantBefore, out.Before.Kinds); diff != "" {
		t.Errorf("drift before (-want +got):\n%s", diff)
	}
	if out.Before.Users != 8 || out.Before.OldestChange == nil || out.Before.OldestChange.Before(began) || out.Before.OldestChange.After(time.Now()) {
		t.Errorf("before: %d users, RPO %ds oldest %v; want 8 users and the oldest change made by this test (it began at %v)", out.Before.Users, out.Before.RPOSeconds, out.Before.OldestChange, began)
	}
	if diff := cmp.Diff(map[string]int{replication.KindDeleted: 1}, out.After.Kinds); diff != "" || out.After.Users != 1 || out.After.RPOSeconds != 0 {
		t.Errorf("drift after: %d users, RPO %d (-want +got):\n%s", out.After.Users, out.After.RPOSeconds, diff)
	}
	if out.Repaired != 7 || out.Failed != 0 || out.Pending != 1 || out.Resolved != 1 {
		t.Errorf("repaired %d failed %d pending %d resolved %d; want 7 0 1 1", out.Repaired, out.Failed, out.Pending, out.Resolved)
	}

	// User by user in Osaka.
	osaka := f.osaka()
	for email, sub := range map[string]string{"new-in-tokyo@example.jp": newSub, "signed-up-while-osaka-was-down@example.jp": pendingSub} {
		u := f.get(osaka, f.sc.OsakaID, email)
		if u.UserStatus != types.UserStatusTypeConfirmed || attr(u, "email_verified") != "true" || attr(u, replication.PrimarySubAttribute) != sub || !u.Enabled {
			t.Errorf("%s in Osaka: %s verified=%s primary_sub=%s enabled=%v", email, u.UserStatus, attr(u, "email_verified"), attr(u, replication.PrimarySubAttribute), u.Enabled)
		}
	}
	if u := f.get(osaka, f.sc.OsakaID, changed); attr(u, "given_name") != "Changed in Tokyo" {
		t.Errorf("%s: given_name %q", changed, attr(u, "given_name"))
	}
	if u := f.get(osaka, f.sc.OsakaID, unverified); attr(u, "email_verified") != "false" {
		t.Errorf("%s: email_verified %q", unverified, attr(u, "email_verified"))
	}
	if u := f.get(osaka, f.sc.OsakaID, disabled); u.Enabled {
		t.Errorf("%s: still enabled in Osaka", disabled)
	}
	if diff := cmp.Diff([]string{"staff", "vip"}, f.osakaGroups(grouped)); diff != "" {
		t.Errorf("%s groups in Osaka (-want +got):\n%s", grouped, diff)
	}
	if u := f.get(osaka, f.sc.OsakaID, renamed); attr(u, replication.PrimarySubAttribute) == "" {
		t.Errorf("%s: the renamed user lost its primary sub", renamed)
	}
	if _, err := osaka.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(emailChanged)}); err == nil {
		t.Errorf("%s: the old address still signs in to Osaka", emailChanged)
	}
	f.get(osaka, f.sc.OsakaID, deleted) // reported, not deleted
	if n := f.pending(); n != 0 {
		t.Errorf("retry store holds %d users after reconcile", n)
	}
	report, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, out.ReportKey)
	if err != nil || !strings.Contains(string(report), `"after"`) {
		t.Errorf("report %s: %v %s", out.ReportKey, err, report)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "reconcile") || !strings.Contains(last.Message, "mirrorDeletes") {
		t.Errorf("notification %q:\n%s", last.Subject, last.Message)
	}

	// Mirroring deletes removes the deleted user; then nothing is left.
	out = f.run("reconcile-2-mirror-deletes", true).Output
	if out.Before.Users != 1 || out.After.Users != 0 || out.Repaired != 1 {
		t.Errorf("mirror deletes: before %v after %v repaired %d", out.Before.Kinds, out.After.Kinds, out.Repaired)
	}
	if _, err := osaka.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(deleted)}); err == nil {
		t.Errorf("%s: not deleted with mirrorDeletes", deleted)
	}
	out = f.run("reconcile-3", false).Output
	if out.Before.Users != 0 || out.After.Users != 0 || out.Repaired != 0 || len(out.Before.Kinds) != 0 {
		t.Errorf("third run found drift: before %+v after %+v repaired %d", out.Before, out.After, out.Repaired)
	}
}

// everyDrift names the users makeEveryDrift changed.
type everyDrift struct {
	changed, unverified, disabled, grouped, deleted, emailChanged, renamed string
	newSub, pendingSub                                                     string
}

// makeEveryDrift makes one user drift in each way reconcile repairs: a changed attribute, an
// unverified email, a disabled user, new groups, a deleted user, a changed email, a new user
// and one the replicate trigger queued in the retry store.
func (f *stackFixture) makeEveryDrift() everyDrift {
	t := f.t
	t.Helper()
	ctx := context.Background()
	tokyo, pool := f.tokyo(), aws.String(f.sc.TokyoID)
	users := f.picked(6)
	changed, unverified, disabled, grouped, deleted, emailChanged := users[0], users[1], users[2], users[3], users[4], users[5]

	newSub := f.signUp("new-in-tokyo@example.jp")
	f.must(tokyo.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String(changed),
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Changed in Tokyo")}}}))
	f.must(tokyo.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String(unverified),
		UserAttributes: []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("false")}}}))
	f.must(tokyo.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(disabled)}))
	f.must(tokyo.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: pool, GroupName: aws.String("vip")}))
	f.must(tokyo.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(grouped), GroupName: aws.String("vip")}))
	f.must(tokyo.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(grouped), GroupName: aws.String("staff")}))
	f.must(tokyo.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: pool, Username: aws.String(deleted)}))
	renamed := "renamed-" + emailChanged
	f.must(tokyo.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String(emailChanged),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(renamed)}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}))

	// A sign-up while Osaka does not answer in time: the real trigger queues it.
	pendingSub := f.signUp("signed-up-while-osaka-was-down@example.jp")
	f.repl.Steps.DRBudget = time.Nanosecond
	ev := events.CognitoEventUserPoolsPostConfirmation{CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{
		Version: "1", TriggerSource: "PostConfirmation_ConfirmSignUp", UserPoolID: f.sc.TokyoID, UserName: pendingSub},
		Request: events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: map[string]string{"sub": pendingSub,
			"email": "signed-up-while-osaka-was-down@example.jp", "email_verified": "true", "cognito:user_status": "CONFIRMED"}}}
	raw, _ := json.Marshal(ev)
	if out, err := f.repl.Replicate(ctx, raw); err != nil || string(out) != string(raw) {
		t.Fatalf("trigger: %s %v", out, err)
	}
	f.repl.Steps.DRBudget = 0
	if n := f.pending(); n != 1 {
		t.Fatalf("retry store holds %d users, want the one queued", n)
	}

	return everyDrift{changed: changed, unverified: unverified, disabled: disabled, grouped: grouped, deleted: deleted,
		emailChanged: emailChanged, renamed: renamed, newSub: newSub, pendingSub: pendingSub}
}

func (f *stackFixture) pending() int {
	n := 0
	f.repl.Retry.List(context.Background(), f.sc.TokyoID, func(replication.Pending) error { n++; return nil })
	return n
}

// TestReconcileConvergesUnderFaults: 10% of Cognito calls fail with InternalErrorException and
// another tool leaves reconcile 10 of the 25 UserUpdate calls per second, so its paced calls get
// TooManyRequestsException. Reconcile still converges, with every user in Osaka exactly once.
func TestReconcileConvergesUnderFaults(t *testing.T) {
	f := newStack(t)
	ctx := context.Background()
	var added []string
	for i := range 15 {
		added = append(added, fmt.Sprintf("fault%02d@example.jp", i))
		f.signUp(added[i])
	}
	changed := f.picked(20)
	for _, email := range changed {
		f.must(f.tokyo().AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(f.sc.TokyoID), Username: aws.String(email),
			UserAttributes: []types.AttributeType{{Name: aws.String("family_name"), Value: aws.String("Faulty")}}}))
	}
	f.stack.Cognito.SetFailureRate(0.1)
	f.stack.Cognito.SetRate(localcognito.UserUpdate, 10)

	out := f.run("reconcile-faults", false).Output
	stats := f.stack.Cognito.Stats()
	if stats.Throttled[localcognito.UserUpdate] == 0 || len(stats.Failed) == 0 {
		t.Errorf("the test injected nothing: throttled %v failed %v", stats.Throttled, stats.Failed)
	}
	if out.Before.Kinds[replication.KindMissing] != 15 || out.Before.Kinds[replication.KindAttributes] != 20 || out.After.Users != 0 || out.Failed != 0 {
		t.Errorf("before %v after %v failed %d", out.Before.Kinds, out.After.Kinds, out.Failed)
	}
	f.stack.Cognito.SetFailureRate(0)
	counts := map[string]int{}
	p := cip.NewListUsersPaginator(f.osaka(), &cip.ListUsersInput{UserPoolId: aws.String(f.sc.OsakaID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			counts[attrs(u.Attributes)["email"]]++
		}
	}
	if len(counts) != seeded+len(added) {
		t.Errorf("Osaka has %d users, want %d", len(counts), seeded+len(added))
	}
	for email, n := range counts {
		if n != 1 {
			t.Errorf("%s: %d copies in Osaka", email, n)
		}
	}
	for _, email := range changed {
		if u := f.get(f.osaka(), f.sc.OsakaID, email); attr(u, "family_name") != "Faulty" {
			t.Errorf("%s: family_name %q in Osaka", email, attr(u, "family_name"))
		}
	}
	out = f.run("reconcile-after-faults", false).Output
	if out.Before.Users != 0 {
		t.Errorf("second run found drift %v", out.Before.Kinds)
	}
}

func TestReconcileRefusesBadInput(t *testing.T) {
	f := newStack(t)
	in := f.sc.ReconcileRequest(false)
	in["mirrorDeletess"] = true
	in["drRegion"] = "osaka"
	raw, _ := json.Marshal(in)
	x, err := f.repl.Exec.Start(context.Background(), "bad-input", raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x.Wait(ctx)
	if diff := cmp.Diff([]string{"PlanReconcile", "NotifyFailed", "FailureClean"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if x.ErrorName() != "InvalidInput" || !strings.Contains(x.Cause(), "mirrorDeletess") {
		t.Errorf("error %s %s, want InvalidInput naming the field", x.ErrorName(), x.Cause())
	}
	// The unknown field is refused before the field checks run; fix it and the Region is named.
	delete(in, "mirrorDeletess")
	raw, _ = json.Marshal(in)
	y, _ := f.repl.Exec.Start(context.Background(), "bad-region", raw)
	y.Wait(ctx)
	if y.ErrorName() != "InvalidInput" || !strings.Contains(y.Cause(), `drRegion \"osaka\"`) {
		t.Errorf("error %s %s, want InvalidInput naming drRegion", y.ErrorName(), y.Cause())
	}
}

// TestReplicateTriggerOnLocalStack runs the trigger against the emulated DR pool, twice.
func TestReplicateTriggerOnLocalStack(t *testing.T) {
	f := newStack(t)
	const email = "trigger@example.jp"
	sub := f.signUp(email)
	// Cognito sends the user's attributes as the primary has them.
	user := attrs(f.get(f.tokyo(), f.sc.TokyoID, email).UserAttributes)
	user["cognito:user_status"] = "CONFIRMED"
	ev, _ := json.Marshal(events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{Version: "1", TriggerSource: "PostConfirmation_ConfirmSignUp", UserPoolID: f.sc.TokyoID, UserName: sub},
		Request:                     events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: user}})
	for range 2 {
		out, err := f.repl.Replicate(context.Background(), ev)
		if err != nil || string(out) != string(ev) {
			t.Fatalf("trigger: %s %v", out, err)
		}
	}
	u := f.get(f.osaka(), f.sc.OsakaID, email)
	if u.UserStatus != types.UserStatusTypeConfirmed || attr(u, replication.PrimarySubAttribute) != sub || attr(u, "email_verified") != "true" || attr(u, "custom:tenant") == "" {
		t.Errorf("Osaka copy: %s %v", u.UserStatus, attrs(u.UserAttributes))
	}
	if n := f.pending(); n != 0 {
		t.Errorf("retry store holds %d users", n)
	}
	if out := f.run("after-trigger", false).Output; out.Before.Users != 0 {
		t.Errorf("reconcile after the trigger found drift %v", out.Before.Kinds)
	}
}

// TestReconcileLeavesAnAddressAwaitingVerification: a primary user's email changed but not yet
// verified, while the DR pool keeps an email's original value until the new one is verified
// (AttributesRequireVerificationBeforeUpdate). Sending the change would leave the DR copy as it
// is and email the user a code on every run; reconcile reports it as awaiting verification and
// sends nothing, run after run, and the DR copy keeps its original, verified email.
func TestReconcileLeavesAnAddressAwaitingVerification(t *testing.T) {
	f := newStack(t)
	ctx := context.Background()
	d, err := f.osaka().DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(f.sc.OsakaID)})
	if err != nil {
		t.Fatal(err)
	}
	p := d.UserPool
	auto := p.AutoVerifiedAttributes
	if !slices.Contains(auto, types.VerifiedAttributeTypeEmail) {
		auto = append(auto, types.VerifiedAttributeTypeEmail)
	}
	f.must(f.osaka().UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: p.Id, AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig,
		AutoVerifiedAttributes: auto, DeviceConfiguration: p.DeviceConfiguration, EmailConfiguration: p.EmailConfiguration, LambdaConfig: p.LambdaConfig,
		MfaConfiguration: p.MfaConfiguration, Policies: p.Policies, SmsConfiguration: p.SmsConfiguration, UserPoolAddOns: p.UserPoolAddOns, DeletionProtection: p.DeletionProtection,
		UserAttributeUpdateSettings: &types.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}}}))

	old := f.picked(1)[0]
	drName := aws.ToString(f.get(f.osaka(), f.sc.OsakaID, old).Username)
	const changed = "changed.unverified@example.jp"
	f.must(f.tokyo().AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(f.sc.TokyoID), Username: aws.String(old),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(changed)}, {Name: aws.String("email_verified"), Value: aws.String("false")}}}))
	codes := func() int {
		n := 0
		for _, m := range f.stack.Cognito.Outbox() {
			if m.PoolID == f.sc.OsakaID && m.Kind == localcognito.KindVerifyAttribute {
				n++
			}
		}
		return n
	}
	for i := range 2 {
		out := f.run(fmt.Sprintf("reconcile-awaiting-%d", i), false).Output
		if out.Before.Kinds[replication.KindAwaitingVerification] != 1 || out.Before.Users != 0 || out.Repaired != 0 {
			t.Errorf("run %d: before %d users %v, repaired %d; want only 1 awaiting verification and nothing repaired", i+1, out.Before.Users, out.Before.Kinds, out.Repaired)
		}
		if n := codes(); n != 0 {
			t.Errorf("run %d: the DR pool sent %d verification codes, want none", i+1, n)
		}
		u := f.get(f.osaka(), f.sc.OsakaID, drName)
		if attr(u, "email") != old || attr(u, "email_verified") != "true" {
			t.Errorf("run %d: DR copy has email %q verified %q, want the original %q, verified", i+1, attr(u, "email"), attr(u, "email_verified"), old)
		}
	}
}
