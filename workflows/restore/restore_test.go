package restore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

const seeded = 80

// startsBudget lets an export invocation start a few shards, as a short time budget would.
type startsBudget struct {
	mu   sync.Mutex
	left int
}

func (b *startsBudget) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left--
	return b.left >= 0
}

func (b *startsBudget) Done() <-chan struct{} { return nil }

// federated is the username of the Tokyo pool's one federated (EXTERNAL_PROVIDER) user.
const federated = "Google_108234567890"

type fixture struct {
	t     *testing.T
	stack *devstack.Stack
	sc    *devstack.Scenario
	run   *devstack.RestoreRunner
	// manifestKey is the snapshot of the Tokyo pool taken at the start.
	manifestKey string
	// want is the Tokyo pool as the snapshot holds it, by email.
	want map[string]poolUser
	// appClient is the Tokyo pool's app client.
	appClient string
}

// poolUser is what a user of a pool looks like from outside, for comparing pools.
type poolUser struct {
	Enabled bool
	Groups  []string
	Sub     string
	Status  string
}

// newFixture seeds Tokyo (with more disabled users than the demo's, so a test can tell) and
// extra, backs it up, and wires the restore.
func newFixture(t *testing.T, extra ...localcognito.SeedUser) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokyo := devstack.TokyoPool(seeded)
	tokyo.DisabledPercent = 10
	tokyo.Groups = map[string]int{"admins": 10, "staff": 30, "beta": 20}
	sc, err := st.SeedScenarioWith(ctx, tokyo, devstack.OsakaPool())
	if err != nil {
		t.Fatal(err)
	}
	// A user who signs in through Google: Cognito made it, an import cannot.
	if err := st.Cognito.SeedUserSlice(sc.TokyoID, []localcognito.SeedUser{{Username: federated, Status: restore.StatusExternalProvider, Enabled: true,
		Attributes: map[string]string{"email": "federated@example.jp", "email_verified": "false"}, Groups: []string{"beta"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Cognito.SeedUserSlice(sc.TokyoID, extra); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, stack: st, sc: sc}
	app, err := st.Clients.Cognito(sc.Tokyo.Region).CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(sc.TokyoID), ClientName: aws.String("tokyo-web")})
	if err != nil {
		t.Fatal(err)
	}
	f.appClient = aws.ToString(app.UserPoolClient.ClientId)
	f.want = f.pool(sc.Tokyo.Region, sc.TokyoID)
	delete(f.want, "federated@example.jp")
	// A budget of three shards an invocation: the snapshot's users come in several parts, as a
	// large pool's do, and every restore must read them all.
	inParts := func(s *backup.Steps) { s.Budget = func() checkpoint.Budget { return &startsBudget{left: 3} } }
	if f.manifestKey, err = st.BackupTokyoWith(ctx, sc, "nightly", inParts, asl.WithClock(asl.NewFakeClock(time.Now()))); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Read(ctx, st.Clients.S3(sc.BucketRegion), sc.Bucket, f.manifestKey)
	if err != nil {
		t.Fatal(err)
	}
	if parts := len(m.All(manifest.KindUsers)); parts < 2 {
		t.Fatalf("the snapshot has %d users parts: the restore tests would not read a parted snapshot", parts)
	}
	if f.run, err = st.RestoreWorkflow(sc, nil, nil, asl.WithClock(asl.NewFakeClock(time.Now()))); err != nil {
		t.Fatal(err)
	}
	f.run.Steps.Quota = quota.NewRegistry(quota.Rates{quota.UserUpdate: 500, quota.UserCreation: 500, quota.UserRead: 500})
	return f
}

// emptyPool creates a pool configured like Tokyo, without users: the pool an operator restores into.
func (f *fixture) emptyPool(name string) string {
	f.t.Helper()
	spec := devstack.TokyoPool(0)
	spec.Name = name
	id, err := f.stack.SeedPool(spec)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) restore(name string, in map[string]any) *asl.Execution {
	f.t.Helper()
	raw, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x, err := f.run.Exec.Run(ctx, name, raw)
	if x == nil {
		f.t.Fatal(err)
	}
	return x
}

// pool lists a pool's users by email with their enabled flag, groups, sub and status.
func (f *fixture) pool(region, id string) map[string]poolUser {
	f.t.Helper()
	ctx := context.Background()
	c := f.stack.Clients.Cognito(region)
	out := map[string]poolUser{}
	pages := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, u := range page.Users {
			pu := poolUser{Enabled: u.Enabled, Status: string(u.UserStatus)}
			var email string
			for _, a := range u.Attributes {
				switch aws.ToString(a.Name) {
				case "email":
					email = aws.ToString(a.Value)
				case "sub":
					pu.Sub = aws.ToString(a.Value)
				}
			}
			g, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(id), Username: u.Username})
			if err != nil {
				f.t.Fatal(err)
			}
			for _, x := range g.Groups {
				pu.Groups = append(pu.Groups, aws.ToString(x.GroupName))
			}
			slices.Sort(pu.Groups)
			if _, dup := out[email]; dup {
				f.t.Errorf("%s: two users in %s", email, id)
			}
			out[email] = pu
		}
	}
	return out
}

var restoredPath = []string{"ResolveSnapshot", "TargetReady", "BuildImportCsv", "CsvBuilt", "ApprovalNeeded", "ImportParts", "StartCreate", "CreateUsers", "CreateUsersDone",
	"StartRestoreGroups", "RestoreGroups", "RestoreGroupsDone", "StartRestoreMemberships", "RestoreMemberships", "RestoreMembershipsDone", "StartDisableUsers", "DisableUsers", "DisableUsersDone", "StartReport", "ExportTarget", "TargetExported", "WriteReport", "ReportWritten", "UseReport", "IsDrill", "Restored"}

// TestRestoreIntoEmptyPool: a snapshot restored into an empty pool brings back every user exactly
// once, the users disabled at snapshot time disabled, every group membership, and a sub map entry
// for every user that maps the snapshot's sub to the user's sub in the new pool.
func TestRestoreIntoEmptyPool(t *testing.T) {
	f := newFixture(t)
	target := f.emptyPool("tokyo-restored")
	x := f.restore("restore-empty", f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region))
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if diff := cmp.Diff(restoredPath, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	got := f.pool(f.sc.Tokyo.Region, target)
	if len(got) != len(f.want) {
		t.Errorf("restored pool has %d users, the snapshot %d", len(got), len(f.want))
	}
	disabled, grouped := 0, 0
	for email, w := range f.want {
		g, ok := got[email]
		if !ok {
			t.Errorf("%s: not restored", email)
			continue
		}
		if g.Enabled != w.Enabled {
			t.Errorf("%s: enabled %v after the restore, %v in the snapshot", email, g.Enabled, w.Enabled)
		}
		if !slices.Equal(g.Groups, w.Groups) {
			t.Errorf("%s: groups %v after the restore, %v in the snapshot", email, g.Groups, w.Groups)
		}
		if !w.Enabled {
			disabled++
		}
		if len(w.Groups) > 0 {
			grouped++
		}
	}
	if disabled == 0 || grouped == 0 {
		t.Fatalf("the seed has %d disabled and %d grouped users: the test proves nothing", disabled, grouped)
	}

	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Users != len(f.want)+1 || out.Mapped != len(f.want) || out.Disabled != disabled || out.Outcomes[restore.OutcomeNotImportable] != 1 {
		t.Errorf("report: %d users, %d mapped, %d disabled, outcomes %v; want %d users, %d mapped, %d disabled, 1 not importable",
			out.Users, out.Mapped, out.Disabled, out.Outcomes, len(f.want)+1, len(f.want), disabled)
	}
	// The report has a line per user of the snapshot, the federated user's saying why it is not
	// restored, a disabled user's that it is disabled again, and a grouped user's its groups.
	lines := map[string]restore.UserReport{}
	if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, out.Report.Key, func(u restore.UserReport) error {
		lines[u.Username] = u
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := lines[federated]; l.Outcome != restore.OutcomeNotImportable || !strings.Contains(l.Reason, "federated") || l.NewSub != "" {
		t.Errorf("federated user's report line %+v, want not-importable with the reason", l)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		for email, w := range f.want {
			if w.Sub != l.OldSub {
				continue
			}
			seen[email] = true
			if (l.Disabled == "disabled") != !w.Enabled || !slices.Equal(l.Groups, w.Groups) || l.NewSub != got[email].Sub {
				t.Errorf("%s: report line %+v; snapshot enabled %v groups %v, new sub %s", email, l, w.Enabled, w.Groups, got[email].Sub)
			}
		}
	}
	if len(seen) != len(f.want) {
		t.Errorf("the report names %d of the %d restored users", len(seen), len(f.want))
	}
	// The sub map has one line per user: the snapshot's sub, and the sub the user has now.
	newSub := map[string]string{}
	for email, g := range got {
		newSub[f.want[email].Sub] = g.Sub
	}
	mapped := 0
	err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, out.SubMap.Key, func(m restore.SubMapping) error {
		mapped++
		if want, ok := newSub[m.OldSub]; !ok || m.NewSub != want {
			t.Errorf("sub map %s: %s -> %s, want -> %s", m.Username, m.OldSub, m.NewSub, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mapped != len(f.want) {
		t.Errorf("sub map has %d lines, want one per restored user (%d)", mapped, len(f.want))
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "restore into "+target) || !strings.Contains(last.Message, out.SubMap.Key) {
		t.Errorf("last notification %q:\n%s\nwant the restore's summary with the sub map", last.Subject, last.Message)
	}
}

// TestRestoreRefusesBadInput: each bad input fails at the first state with an error naming the
// problem, the operators are told nothing was changed, and the target is as it was.
func TestRestoreRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	target := f.emptyPool("tokyo-restored")
	snapshotFile := func(name string) string { return strings.TrimSuffix(f.manifestKey, manifest.File) + name }
	m, err := manifest.Read(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, f.manifestKey)
	if err != nil {
		t.Fatal(err)
	}
	// The last users part: a restore that read only the first would not notice.
	parts := m.All(manifest.KindUsers)
	lastPart := parts[len(parts)-1].Key
	tests := []struct {
		name   string
		change func(in map[string]any)
		// before changes the snapshot before the run; after undoes it.
		before func()
		want   []string
	}{
		{name: "missing file", want: []string{"SnapshotInvalid", snapshot.MembershipsIndexFile, "unreadable", "NoSuchKey"},
			before: func() { f.move(snapshotFile(snapshot.MembershipsIndexFile), snapshotFile("moved")) }},
		{name: "checksum mismatch", want: []string{"SnapshotInvalid", lastPart, "does not match the manifest"},
			before: func() { f.corrupt(lastPart) }},
		{name: "region mismatch", want: []string{"InvalidInput", target, "belongs to Region ap-northeast-1, not ap-northeast-3"},
			change: func(in map[string]any) { in["target"].(map[string]any)["region"] = "ap-northeast-3" }},
		{name: "non-empty target without approval", want: []string{"InvalidInput", f.sc.TokyoID, "already has", "approveNonEmptyTarget"},
			change: func(in map[string]any) { in["target"].(map[string]any)["userPoolId"] = f.sc.TokyoID }},
		{name: "no such snapshot", want: []string{"SnapshotInvalid", "no manifest"},
			change: func(in map[string]any) { in["snapshot"] = "cognito-dr/backups/nope/manifest.json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreObjects := f.objects()
			defer f.putObjects(restoreObjects)
			if tt.before != nil {
				tt.before()
			}
			in := f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region)
			if tt.change != nil {
				tt.change(in)
			}
			beforeTarget, beforeTokyo := f.pool(f.sc.Tokyo.Region, target), f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)
			x := f.restore("restore-"+strings.ReplaceAll(tt.name, " ", "-"), in)
			if x.Status() != asl.StatusFailed {
				t.Fatalf("status %s, want FAILED", x.Status())
			}
			if diff := cmp.Diff([]string{"ResolveSnapshot", "NotifyFailed", "FailureClean"}, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			for _, w := range tt.want {
				if !strings.Contains(x.ErrorName()+": "+x.Cause(), w) {
					t.Errorf("error %s: %s; want it to name %q", x.ErrorName(), x.Cause(), w)
				}
			}
			if diff := cmp.Diff(beforeTarget, f.pool(f.sc.Tokyo.Region, target)); diff != "" {
				t.Errorf("the target changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeTokyo, f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)); diff != "" {
				t.Errorf("the Tokyo pool changed (-before +after):\n%s", diff)
			}
			msgs := f.stack.AWS.SNS().Messages()
			if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "nothing was changed") {
				t.Errorf("last notification %q, want that nothing was changed", last.Subject)
			}
		})
	}
}

// TestRestoreAfterBulkDeleteNeedsApproval: a bad bulk change deleted users from Tokyo. The pool
// still has users, so the restore into it waits for an approval (the failback's page and link
// rules) and writes nothing before it; once approved, the deleted users come back with their
// groups and disabled flags, and the users Tokyo kept are skipped, untouched.
func TestRestoreAfterBulkDeleteNeedsApproval(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.stack.Clients.Cognito(f.sc.Tokyo.Region)
	var deleted []string
	for email, w := range f.want {
		if len(deleted) < 12 && (len(w.Groups) > 0 || !w.Enabled || len(deleted) < 6) {
			if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(f.sc.TokyoID), Username: aws.String(email)}); err != nil {
				t.Fatal(err)
			}
			deleted = append(deleted, email)
		}
	}
	kept := f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)
	in := f.sc.RestoreRequest(f.manifestKey, f.sc.TokyoID, f.sc.Tokyo.Region)
	in["approveNonEmptyTarget"] = true
	raw, _ := json.Marshal(in)
	x, err := f.run.Exec.Start(ctx, "restore-after-bulk-delete", raw)
	if err != nil {
		t.Fatal(err)
	}
	link := f.approvalLink(x)
	if diff := cmp.Diff(kept, f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)); diff != "" || x.Status() != asl.StatusRunning {
		t.Fatalf("before the approval: status %s, Tokyo changed (-before +after):\n%s", x.Status(), diff)
	}
	if status, err := devstack.Decide(ctx, link, "approve", "Aiko (SRE on call)"); err != nil || status != 200 {
		t.Fatalf("approve: %d %v", status, err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	x.Wait(wctx)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if p := x.Path(); !slices.Contains(p, "RequestApproval") {
		t.Errorf("path %v: no approval", p)
	}
	got := f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)
	for email, w := range f.want {
		g := got[email]
		if g.Enabled != w.Enabled || !slices.Equal(g.Groups, w.Groups) {
			t.Errorf("%s: enabled %v groups %v after the restore; snapshot %v %v", email, g.Enabled, g.Groups, w.Enabled, w.Groups)
		}
		if k, ok := kept[email]; ok && g.Sub != k.Sub {
			t.Errorf("%s: a kept user was replaced (sub %s, was %s)", email, g.Sub, k.Sub)
		}
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	// kept holds the federated user too, which is reported as not importable.
	if back := out.Outcomes[restore.OutcomeImported] + out.Outcomes[restore.OutcomeCreatedByAPI]; back != len(deleted) || out.Outcomes[restore.OutcomeSkipped] != len(kept)-1 {
		t.Errorf("outcomes %v: want %d back, %d skipped", out.Outcomes, len(deleted), len(kept)-1)
	}
}

// TestRestoreRejected: the approver rejects; nothing is written and the operators are told.
func TestRestoreRejected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)
	in := f.sc.RestoreRequest(f.manifestKey, f.sc.TokyoID, f.sc.Tokyo.Region)
	in["approveNonEmptyTarget"] = true
	raw, _ := json.Marshal(in)
	x, err := f.run.Exec.Start(ctx, "restore-rejected", raw)
	if err != nil {
		t.Fatal(err)
	}
	if status, err := devstack.Decide(ctx, f.approvalLink(x), "reject", "Aiko (SRE on call)"); err != nil || status != 200 {
		t.Fatalf("reject: %d %v", status, err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	x.Wait(wctx)
	if x.Status() != asl.StatusFailed || x.ErrorName() != "ApprovalRejected" {
		t.Fatalf("status %s %s, want FAILED ApprovalRejected", x.Status(), x.ErrorName())
	}
	if diff := cmp.Diff(before, f.pool(f.sc.Tokyo.Region, f.sc.TokyoID)); diff != "" {
		t.Errorf("Tokyo changed after the rejection (-before +after):\n%s", diff)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "rejected: nothing was changed") {
		t.Errorf("last notification %q", last.Subject)
	}
}

// approvalLink waits for the approval email of an execution and returns its link.
func (f *fixture) approvalLink(x *asl.Execution) string {
	f.t.Helper()
	// As long as the waits for a run's end: the email follows the plan, which takes tens of
	// seconds on a loaded 2-core machine under -race.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for m := range f.stack.AWS.SNS().Follow(ctx) {
		if link := devstack.ApprovalLink(m.Message); link != "" && strings.Contains(m.Message, x.Name) {
			return link
		}
	}
	f.t.Fatalf("no approval email for %s (status %s %s %s)", x.Name, x.Status(), x.ErrorName(), x.Cause())
	return ""
}

// TestRestoreIntoNewPool: the Tokyo pool is deleted. The restore creates a new pool from the
// snapshot's pool.json and brings back every user, group, membership and disabled flag; the report
// names the new pool and maps the old app client to its copy.
func TestRestoreIntoNewPool(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.stack.Clients.Cognito(f.sc.Tokyo.Region)
	if _, err := c.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(f.sc.TokyoID)}); err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": restore.Latest, "sourceUserPoolId": f.sc.TokyoID,
		"createPool": map[string]any{"name": "tokyo-users", "region": f.sc.Tokyo.Region}}
	x := f.restore("restore-new-pool", in)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	want := append([]string{"ResolveSnapshot", "TargetReady", "CreateTargetPool", "BuildImportCsvAfterChanges", "CsvBuiltAfterChanges"}, restoredPath[5:]...)
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Created == nil || out.Created.UserPoolID == "" || out.Target.UserPoolID != out.Created.UserPoolID {
		t.Fatalf("report: target %+v created %+v, want the new pool", out.Target, out.Created)
	}
	// A created pool's restore files sit under the snapshot's pool, named by the execution.
	if dir := restore.DefaultPrefix + "/" + f.sc.TokyoID + "/"; !strings.HasPrefix(out.Report.Key, dir) || !strings.HasSuffix(out.Report.Key, "_restore-new-pool/"+restore.ReportFile) {
		t.Errorf("report at %s, want %s<time>_restore-new-pool/%s", out.Report.Key, dir, restore.ReportFile)
	}
	pool, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(out.Target.UserPoolID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pool.UserPool.Name) != "tokyo-users" || pool.UserPool.MfaConfiguration != "ON" {
		t.Errorf("new pool %s: MFA %s, want tokyo-users with MFA ON", aws.ToString(pool.UserPool.Name), pool.UserPool.MfaConfiguration)
	}
	newClient := out.Created.Clients[f.appClient]
	if _, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(out.Target.UserPoolID), ClientId: aws.String(newClient)}); err != nil || newClient == f.appClient {
		t.Errorf("app client %s maps to %q in the new pool: %v", f.appClient, newClient, err)
	}
	got := f.pool(f.sc.Tokyo.Region, out.Target.UserPoolID)
	if len(got) != len(f.want) {
		t.Errorf("new pool has %d users, the snapshot %d restorable", len(got), len(f.want))
	}
	for email, w := range f.want {
		if g := got[email]; g.Enabled != w.Enabled || !slices.Equal(g.Groups, w.Groups) || g.Sub == "" {
			t.Errorf("%s: %+v in the new pool, snapshot %+v", email, g, w)
		}
	}
	if out.Mapped != len(f.want) {
		t.Errorf("sub map covers %d users, want %d", out.Mapped, len(f.want))
	}
}

// TestRestoreMissingAttribute: a target without the snapshot's custom:tenant is refused at the
// first state naming the attribute; with addMissingAttributes the restore adds it first, and the
// users come back with their tenant.
func TestRestoreMissingAttribute(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.stack.Clients.Cognito(f.sc.Tokyo.Region)
	spec := devstack.TokyoPool(0)
	spec.Name = "tokyo-without-tenant"
	cin := spec.CreatePoolInput()
	cin.Schema = slices.DeleteFunc(cin.Schema, func(a types.SchemaAttributeType) bool { return aws.ToString(a.Name) == "tenant" })
	target, err := f.stack.Cognito.CreatePool(f.sc.Tokyo.Region, cin)
	if err != nil {
		t.Fatal(err)
	}
	x := f.restore("restore-missing-attribute", f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region))
	if x.Status() != asl.StatusFailed || x.ErrorName() != "PoolNotImportable" || !strings.Contains(x.Cause(), "custom:tenant") {
		t.Fatalf("status %s %s %s, want PoolNotImportable naming custom:tenant", x.Status(), x.ErrorName(), x.Cause())
	}
	if diff := cmp.Diff([]string{"ResolveSnapshot", "NotifyFailed", "FailureClean"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	in := f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region)
	in["addMissingAttributes"] = true
	x = f.restore("restore-add-attribute", in)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if p := x.Path(); !slices.Contains(p, "AddCustomAttributes") {
		t.Errorf("path %v: no AddCustomAttributes", p)
	}
	u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(target), Username: aws.String(devstack.Email(1))})
	if err != nil {
		t.Fatal(err)
	}
	tenant := ""
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == "custom:tenant" {
			tenant = aws.ToString(a.Value)
		}
	}
	if tenant != devstack.Tenants[1] { // the seed gives user i Tenants[i % 4]
		t.Errorf("%s: custom:tenant %q after the restore", devstack.Email(1), tenant)
	}
}

// TestRestoreDrill: a drill restores the newest snapshot into a scratch pool named with the drill
// prefix, verifies it against the snapshot with no mismatch, signs a canary in, records the RTO in
// drill.json beside the snapshots (where readiness finds it), deletes the scratch pool and
// tells the operators.
func TestRestoreDrill(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var metrics bytes.Buffer
	f.run.Steps.Metrics = &metrics
	in := map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": restore.Latest, "sourceUserPoolId": f.sc.TokyoID, "drill": true}
	x := f.restore("drill-1", in)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if p := x.Path(); len(p) < 5 || !slices.Equal(p[len(p)-5:], []string{"UseReport", "IsDrill", "VerifyDrill", "DeleteScratchPool", "DrillDone"}) {
		t.Errorf("path %v, want it to end with the drill's states", p)
	}
	var out restore.DrillOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	d := out.Drill
	if !d.Passed || d.Mismatches != 0 || d.Users != len(f.want) || d.RTOSeconds <= 0 || d.Snapshot != f.manifestKey {
		t.Errorf("drill record %+v (mismatches %v), want passed with %d users, an RTO and the snapshot %s", d, out.Mismatches, len(f.want), f.manifestKey)
	}
	newest, err := manifest.NewestDrill(ctx, f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, manifest.DefaultPrefix, f.sc.TokyoID)
	if err != nil || newest.Drill == nil || newest.Key != out.Key || !newest.Drill.Passed {
		t.Errorf("newest drill record: %+v %v; want %s, passed", newest, err, out.Key)
	}
	_, err = f.stack.Clients.Cognito(d.ScratchPool.Region).DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(d.ScratchPool.UserPoolID)})
	var gone *types.ResourceNotFoundException
	if d.ScratchPool.UserPoolID == "" || !errors.As(err, &gone) {
		t.Errorf("scratch pool %q: %v, want deleted", d.ScratchPool.UserPoolID, err)
	}
	m := drillMetrics(t, &metrics)
	if m["UserPoolId"] != f.sc.TokyoID || m["DrillFailed"] != 0.0 || m["DrillMismatches"] != 0.0 || m["DrillSeconds"] != d.RTOSeconds || m["DrillUsers"] != float64(d.Users) {
		t.Errorf("drill metrics %v, want the passed drill's RTO, users and no mismatch for %s", m, f.sc.TokyoID)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "restore drill passed") {
		t.Errorf("last notification %q, want the drill's outcome", last.Subject)
	}
}

// TestRestoreDrillFindsMismatches: a user removed from the scratch pool once the changes are made
// (as a broken restore would leave it), before the report lists the pool and compares it, fails
// the drill: the record says failed and names the user, the scratch pool is still deleted, and the
// operators are told.
func TestRestoreDrillFindsMismatches(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	victim := devstack.Email(3)
	wrap := func(functions map[string]boundary.Func) {
		report := functions["WriteRestoreReportFunctionArn"]
		deleted := false
		functions["WriteRestoreReportFunctionArn"] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			var st struct {
				Plan restore.Plan `json:"plan"`
			}
			if err := json.Unmarshal(in, &st); err != nil {
				return nil, err
			}
			if !deleted {
				c := f.stack.Clients.Cognito(st.Plan.Target.Region)
				if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(st.Plan.Target.UserPoolID), Username: aws.String(victim)}); err != nil {
					return nil, err
				}
				deleted = true
			}
			return report(ctx, in)
		}
	}
	run, err := f.stack.RestoreWorkflow(f.sc, f.run.Approvals, wrap, asl.WithClock(asl.NewFakeClock(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	run.Steps.Metrics = &metrics
	raw, _ := json.Marshal(map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": f.manifestKey, "sourceUserPoolId": f.sc.TokyoID, "drill": true})
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	x, err := run.Exec.Run(wctx, "drill-broken", raw)
	if x == nil {
		t.Fatal(err)
	}
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out restore.DrillOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Drill.Passed || out.Drill.Mismatches != 1 || !strings.Contains(out.Drill.FailureReason, "missing") {
		t.Errorf("drill record %+v, want failed with the one missing user", out.Drill)
	}
	newest, err := manifest.NewestDrill(ctx, f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, manifest.DefaultPrefix, f.sc.TokyoID)
	if err != nil || newest.Drill == nil || newest.Drill.Passed {
		t.Errorf("newest drill record %+v %v, want the failed one", newest, err)
	}
	_, err = f.stack.Clients.Cognito(out.Drill.ScratchPool.Region).DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(out.Drill.ScratchPool.UserPoolID)})
	var gone *types.ResourceNotFoundException
	if !errors.As(err, &gone) {
		t.Errorf("scratch pool %s: %v, want deleted", out.Drill.ScratchPool.UserPoolID, err)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "drill FAILED") {
		t.Errorf("last notification %q, want the failed drill", last.Subject)
	}
}

// TestRestoreDrillFailureNamesScratchPool: a drill that fails after creating its scratch pool ends
// in FailureDirty, the failure email names the pool to delete, and the drill is recorded as failed
// (readiness fails on it at once).
func TestRestoreDrillFailureNamesScratchPool(t *testing.T) {
	f := newFixture(t)
	wrap := func(functions map[string]boundary.Func) {
		functions["VerifyRestoreDrillFunctionArn"] = func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, asl.TaskError{Name: "Lambda.Unknown", Cause: "lambda crashed"}
		}
	}
	run, err := f.stack.RestoreWorkflow(f.sc, f.run.Approvals, wrap, asl.WithClock(asl.NewFakeClock(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	run.Steps.Metrics = &metrics
	raw, _ := json.Marshal(map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": f.manifestKey, "sourceUserPoolId": f.sc.TokyoID, "drill": true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x, err := run.Exec.Run(ctx, "drill-crash", raw)
	if x == nil {
		t.Fatal(err)
	}
	if p := x.Path(); x.Status() != asl.StatusFailed || !slices.Equal(p[len(p)-2:], []string{"NotifyFailedAfterChanges", "FailureDirty"}) {
		t.Fatalf("status %s, path %v; want FailureDirty", x.Status(), p)
	}
	msgs := f.stack.AWS.SNS().Messages()
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Message, "scratch pool "+f.sc.BucketRegion+"_") || !strings.Contains(last.Message, "was not deleted") {
		t.Errorf("failure email:\n%s\nwant it to name the scratch pool to delete", last.Message)
	}
	newest, err := manifest.NewestDrill(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, manifest.DefaultPrefix, f.sc.TokyoID)
	if err != nil || newest.Drill == nil || newest.Drill.Passed || !strings.Contains(newest.Drill.FailureReason, "lambda crashed") {
		t.Errorf("newest drill record %+v %v, want the failed drill with its reason", newest.Drill, err)
	}
	if m := drillMetrics(t, &metrics); m["DrillFailed"] != 1.0 || m["UserPoolId"] != f.sc.TokyoID {
		t.Errorf("drill metrics %v, want DrillFailed 1 for %s (the alarm's metric)", m, f.sc.TokyoID)
	}
}

// drillMetrics decodes the one embedded-metric-format line a drill writes, checking it names its
// metrics under restore.MetricsNamespace.
func drillMetrics(t *testing.T, out *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("drill metrics: %d lines, want 1:\n%s", len(lines), out)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	directives, _ := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
	if len(directives) != 1 || directives[0].(map[string]any)["Namespace"] != restore.MetricsNamespace {
		t.Errorf("drill metrics %s: want one directive in %s", lines[0], restore.MetricsNamespace)
	}
	return doc
}

// TestRestoreOldSnapshotWithoutPoolConfig: a snapshot taken before pool.json was captured still
// restores into an existing pool; createPool, which needs the pool's configuration, is refused
// at the first state saying why, and no pool is created.
func TestRestoreOldSnapshotWithoutPoolConfig(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	m, err := manifest.Read(ctx, store, f.sc.Bucket, f.manifestKey)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile, ok := m.Find(manifest.KindPoolConfig)
	if !ok {
		t.Fatal("the snapshot has no pool.json: the test proves nothing")
	}
	m.Files = slices.DeleteFunc(m.Files, func(e manifest.FileEntry) bool { return e.Kind == manifest.KindPoolConfig })
	old, _ := json.Marshal(m)
	f.putObjects(func() map[string][]byte {
		objs := f.objects()
		delete(objs, cfgFile.Key)
		objs[f.manifestKey] = old
		return objs
	}())

	x := f.restore("restore-old-new-pool", map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": f.manifestKey,
		"createPool": map[string]any{"name": "tokyo-users", "region": f.sc.Tokyo.Region}})
	if x.Status() != asl.StatusFailed || x.ErrorName() != "InvalidInput" || !strings.Contains(x.Cause(), "has no pool.json") {
		t.Fatalf("createPool from an old snapshot: %s %s %s, want InvalidInput naming pool.json", x.Status(), x.ErrorName(), x.Cause())
	}
	if diff := cmp.Diff([]string{"ResolveSnapshot", "NotifyFailed", "FailureClean"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	target := f.emptyPool("tokyo-restored")
	x = f.restore("restore-old-into-pool", f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region))
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if got := f.pool(f.sc.Tokyo.Region, target); len(got) != len(f.want) {
		t.Errorf("restored %d users from the old snapshot, want %d", len(got), len(f.want))
	}
}
