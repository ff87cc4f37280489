package replication_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// killingCognito is a pool's Cognito that counts each ListUsers page it served: armed, the
// Killer ends the invocation in the middle of listing a shard.
type killingCognito struct {
	replication.Cognito
	devstack.Killer
}

func (c *killingCognito) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	out, err := c.Cognito.ListUsers(ctx, in, opts...)
	c.Count()
	return out, err
}

// planOnly runs PlanReconcile alone, with at most bucketUsers users of a pool a bucket.
func (f *stackFixture) planOnly(name string, bucketUsers int) replication.Plan {
	f.t.Helper()
	f.repl.Steps.BucketUsers = bucketUsers
	p, err := f.repl.Steps.PlanReconcile(context.Background(), replication.PlanInput{Request: f.request(), ExecutionName: name, StartTime: time.Now().Format(time.RFC3339Nano)})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// exported counts each user of a pool's export (side "primary" or "dr") and of its bucket files,
// by username.
func (f *stackFixture) exported(p replication.Plan, side string) (export, buckets map[string]int) {
	f.t.Helper()
	ctx := context.Background()
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	export, buckets = map[string]int{}, map[string]int{}
	if err := snapshot.ReadUsers(ctx, store, p.Bucket, p.Prefix+replication.BeforeDir+side+"/", func(u snapshot.User) error {
		export[u.Username]++
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	phase := "sub"
	if p.MatchNote != "" {
		phase = "key"
	}
	for i := range p.Buckets {
		key := fmt.Sprintf("%s%s%s/%s-%05d.jsonl.gz", p.Prefix, replication.BeforeDir, phase, side, i)
		if err := snapshot.GetLines(ctx, store, p.Bucket, key, func(r struct {
			User snapshot.User `json:"user"`
		}) error {
			buckets[r.User.Username]++
			return nil
		}); err != nil {
			f.t.Fatal(err)
		}
	}
	return export, buckets
}

// onceEach reports the users of counts not counted exactly once, and whether counts has the
// users of want.
func onceEach(t *testing.T, what string, want, counts map[string]int) {
	t.Helper()
	for u, n := range counts {
		if n != 1 {
			t.Errorf("%s: %s %d times, want once", what, u, n)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("%s: %d users, want %d", what, len(counts), len(want))
	}
	for u := range want {
		if counts[u] == 0 {
			t.Errorf("%s: %s missing", what, u)
		}
	}
}

// TestExportInSeveralInvocationsFindsWhatOneFinds: with a budget of a few starts an
// invocation, the ExportBefore loop takes many invocations (the exports in parts, the partition
// unit by unit) and the comparison finds the same drift and the same repairs as when one
// invocation exports and partitions everything.
func TestExportInSeveralInvocationsFindsWhatOneFinds(t *testing.T) {
	f := newStackOf(t, 1200)
	f.makeEveryDrift()
	// 25 buckets, staged in 2, written 5 at a time: several units of every kind.
	f.repl.Steps.OpenFiles = 5
	one := f.planOnly("one-invocation", 50)
	oneProg := f.export(one, nil)
	f.repl.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(3) }
	many := f.planOnly("many-invocations", 50)
	manyProg := f.export(many, nil)
	if oneProg.Invocations != 1 || manyProg.Invocations < 10 || manyProg.Primary.Units <= oneProg.Primary.Units || oneProg.Primary.Units < 8 {
		t.Fatalf("invocations %d and %d, primary units %d and %d; want 1 and many, and more units when the exports are in parts",
			oneProg.Invocations, manyProg.Invocations, oneProg.Primary.Units, manyProg.Primary.Units)
	}
	oneOut := f.sameComparison("several invocations", one, many)
	if oneOut.Drift.Users != 8 {
		t.Errorf("one invocation: %d drifted users, want 8", oneOut.Drift.Users)
	}
}

// sameComparison checks that plan got exported every user of want's exports exactly once and
// put each in one bucket once, and that comparing its buckets finds what comparing want's finds:
// the same drift, drift lists and repair lists. It returns want's comparison.
func (f *stackFixture) sameComparison(what string, want, got replication.Plan) replication.DiffProgress {
	t := f.t
	t.Helper()
	for _, side := range []string{"primary", "dr"} {
		wantExport, _ := f.exported(want, side)
		export, buckets := f.exported(got, side)
		onceEach(t, side+" export, "+what, wantExport, export)
		onceEach(t, side+" buckets, "+what, wantExport, buckets)
	}
	wantOut, out := f.diff(want, nil), f.diff(got, nil)
	sameDrift(t, what, wantOut.Drift, out.Drift)
	if wantOut.Repairs != out.Repairs {
		t.Errorf("%s: %d repairs, want %d", what, out.Repairs, wantOut.Repairs)
	}
	f.sameLists(what, want, got)
	return wantOut
}

// sameLists checks that the comparisons of two plans list the same drifted users and repairs,
// and returns want's lists.
func (f *stackFixture) sameLists(what string, want, got replication.Plan) (drift, repairs []replication.Repair) {
	f.t.Helper()
	wantDrift, wantRepairs := f.lists(want)
	gotDrift, gotRepairs := f.lists(got)
	if diff := gocmp.Diff(wantDrift, gotDrift); diff != "" {
		f.t.Errorf("%s: drift lists (-want +got):\n%s", what, diff)
	}
	if diff := gocmp.Diff(wantRepairs, gotRepairs); diff != "" {
		f.t.Errorf("%s: repair lists (-want +got):\n%s", what, diff)
	}
	return wantDrift, wantRepairs
}

// TestExportKilledMidwayResumes: every other ExportPools invocation is killed (its context
// cancelled): during the exports, once the primary pool has served one ListUsers page of the
// invocation, in the middle of a shard (each shard holds two pages); during the partition,
// right after the first file a unit writes. The next invocation resumes from what was saved.
// Every user is exported once and lands in one bucket once, and the comparison finds what a
// run never killed finds.
func TestExportKilledMidwayResumes(t *testing.T) {
	f := newStackOf(t, 1500)
	f.makeEveryDrift()
	f.repl.Steps.OpenFiles = 5
	f.repl.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(4) }
	clean := f.planOnly("never-killed", 50)
	f.export(clean, nil)

	w := f.watch()
	cognito := f.repl.Steps.Cognito
	primary := &killingCognito{Cognito: cognito(f.sc.Tokyo.Region)}
	f.repl.Steps.Cognito = func(region string) replication.Cognito {
		if region == f.sc.Tokyo.Region {
			return primary
		}
		return cognito(region)
	}
	p := f.planOnly("killed", 50)
	var invocations, inShard, inUnit atomic.Int32
	prog := f.export(p, func(ctx context.Context, prog replication.ExportProgress) (context.Context, func()) {
		if invocations.Add(1)%2 == 0 {
			return ctx, func() {}
		}
		ctx, cancel := context.WithCancel(ctx)
		exporting := !prog.Primary.Done
		var killed atomic.Bool
		kill := func() { killed.Store(true); cancel() }
		if exporting {
			primary.Arm(1, kill)
		} else {
			w.mu.Lock()
			w.onPut = func(string) { kill() }
			w.mu.Unlock()
		}
		return ctx, func() {
			primary.Arm(0, nil)
			w.mu.Lock()
			w.onPut = nil
			w.mu.Unlock()
			cancel()
			switch {
			case !killed.Load():
			case exporting:
				inShard.Add(1)
			default:
				inUnit.Add(1)
			}
		}
	})
	if inShard.Load() < 2 || inUnit.Load() < 4 || !prog.Done {
		t.Fatalf("killed %d invocations in a shard and %d in a partition unit, done %v; want several of each", inShard.Load(), inUnit.Load(), prog.Done)
	}
	f.sameComparison("killed and resumed", clean, p)
}

// TestReconcileInSeveralInvocations: the state machine loops ExportBefore and ExportAfter until
// each is done, and the run repairs and reports as a run of one invocation each does.
func TestReconcileInSeveralInvocations(t *testing.T) {
	f := newStack(t)
	f.makeEveryDrift()
	f.repl.Steps.BucketUsers = 8
	f.repl.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(4) }
	run := f.run("reconcile-in-parts", false)
	_, rounds := loops(run.Path)
	if rounds["ExportBefore"] < 4 || rounds["ExportAfter"] < 4 {
		t.Errorf("ExportBefore ran %d times, ExportAfter %d; want several each", rounds["ExportBefore"], rounds["ExportAfter"])
	}
	out := run.Output
	wantBefore := map[string]int{
		replication.KindMissing: 2, replication.KindAttributes: 2, replication.KindVerified: 1,
		replication.KindEnabled: 1, replication.KindGroups: 1, replication.KindDeleted: 1,
	}
	if diff := gocmp.Diff(wantBefore, out.Before.Kinds); diff != "" || out.Before.Users != 8 {
		t.Errorf("drift before: %d users (-want +got):\n%s", out.Before.Users, diff)
	}
	if diff := gocmp.Diff(map[string]int{replication.KindDeleted: 1}, out.After.Kinds); diff != "" || out.After.Users != 1 {
		t.Errorf("drift after: %d users (-want +got):\n%s", out.After.Users, diff)
	}
	if out.Repaired != 7 || out.Failed != 0 || out.Pending != 1 || out.Resolved != 1 {
		t.Errorf("repaired %d failed %d pending %d resolved %d; want 7 0 1 1", out.Repaired, out.Failed, out.Pending, out.Resolved)
	}
}

// TestExportPoolsBudgetSetting: export-pools reads EXPORT_BUDGET_SECONDS as the backup's export
// does (export.ParseBudget, tested there), and refuses a value a Lambda could not honour.
func TestExportPoolsBudgetSetting(t *testing.T) {
	task := replication.ExportPoolsTask
	for v, want := range map[string]time.Duration{"120": 2 * time.Minute, "": 0, "900": -1} {
		env := boundary.NewEnv(func(k string) string { return map[string]string{"EXPORT_BUDGET_SECONDS": v}[k] }, task.Settings)
		s, err := task.Load(context.Background(), env, awsclients.New(aws.Config{}, awsclients.Options{}), nil)
		if want < 0 && (err == nil || !strings.Contains(err.Error(), "EXPORT_BUDGET_SECONDS")) || want >= 0 && (err != nil || s.ExportBudget != want) {
			t.Errorf("EXPORT_BUDGET_SECONDS=%q: err %v; want budget %v (-1: refused)", v, err, want)
		}
	}
}
