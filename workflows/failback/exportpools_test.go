package failback_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// killingCognito is a pool's Cognito that counts each ListUsers page it served: armed, the
// Killer ends the invocation after a shard's users were listed, before they were written.
type killingCognito struct {
	failback.Cognito
	devstack.Killer
}

func (c *killingCognito) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	out, err := c.Cognito.ListUsers(ctx, in, opts...)
	c.Count()
	return out, err
}

// planned is what a plan decided, in a stable order: the loop exports in parts, so the users
// reach the planner in another order.
type planned struct {
	Counts  failback.Counts
	Imports []string
	Actions []string
	Held    []string
}

// planDirect runs PreparePlan, the ExportPools loop and PlanFailback as the state machine does.
// invoke wraps each ExportPools invocation's context (nil: none); an invocation that fails is
// retried with the progress from before it, as the Retry of the ExportPools state does.
func (f *fixture) planDirect(name string, invoke func(context.Context) (context.Context, func() bool)) (failback.Plan, failback.ExportProgress, planned) {
	f.t.Helper()
	ctx := context.Background()
	var req failback.Request
	raw, _ := json.Marshal(f.sc.FailbackRequest(f.failover))
	if err := json.Unmarshal(raw, &req); err != nil {
		f.t.Fatal(err)
	}
	s := f.run.Steps
	p, err := s.PreparePlan(ctx, failback.PlanInput{Request: req, ExecutionName: name, StartTime: time.Now().Format(time.RFC3339Nano)})
	if err != nil {
		f.t.Fatal(err)
	}
	var prog failback.ExportProgress
	for i := 0; !prog.Done; i++ {
		if i > 200 {
			f.t.Fatalf("%s: exports not done after %d invocations: %+v", name, i, prog)
		}
		ictx, killed := ctx, func() bool { return false }
		if invoke != nil {
			ictx, killed = invoke(ctx)
		}
		next, err := s.ExportPools(ictx, failback.ExportInput{Plan: p, Progress: prog})
		if k := killed(); err != nil && !k {
			f.t.Fatalf("%s: invocation %d: %v", name, i+1, err)
		} else if k {
			continue
		}
		prog = next
	}
	got, _ := f.planLoop(name, p, prog)
	return got, prog, f.decided(got)
}

// planLoop runs the PlanFailback loop as the state machine does: each invocation's context
// wrapped by f.planInvoke when set, an invocation that fails retried with the progress from
// before it.
func (f *fixture) planLoop(name string, p failback.Plan, exp failback.ExportProgress) (failback.Plan, failback.PlanProgress) {
	f.t.Helper()
	ctx := context.Background()
	var prog failback.PlanProgress
	for i := 0; !prog.Done; i++ {
		if i > 500 {
			f.t.Fatalf("%s: plan not done after %d invocations: %+v", name, i, prog)
		}
		ictx, killed := ctx, func() bool { return false }
		if f.planInvoke != nil {
			ictx, killed = f.planInvoke(ctx)
		}
		next, err := f.run.Steps.PlanFailback(ictx, failback.PlanExportsInput{Plan: p, Export: exp, Progress: prog})
		if k := killed(); err != nil && !k {
			f.t.Fatalf("%s: plan invocation %d: %v", name, i+1, err)
		} else if k {
			continue
		}
		prog = next
	}
	if prog.Plan == nil {
		f.t.Fatalf("%s: the plan loop ended without its plan: %+v", name, prog)
	}
	return *prog.Plan, prog
}

// decided reads a plan's counts and files, each file's lines sorted.
func (f *fixture) decided(p failback.Plan) planned {
	f.t.Helper()
	out := planned{Counts: p.Counts}
	for _, file := range []struct {
		key string
		dst *[]string
	}{{failback.ImportUsersFile, &out.Imports}, {failback.ActionsFile, &out.Actions}, {failback.HeldFile, &out.Held}} {
		if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), p.Bucket, p.Prefix+file.key, func(v json.RawMessage) error {
			*file.dst = append(*file.dst, string(v))
			return nil
		}); err != nil {
			f.t.Fatal(err)
		}
		slices.Sort(*file.dst)
	}
	return out
}

// TestFailbackPlanInSeveralInvocations: with a budget of a few shards an invocation, the
// ExportPools loop takes several invocations, and the plan (counts, users to import, actions,
// held users) is the plan one invocation makes.
func TestFailbackPlanInSeveralInvocations(t *testing.T) {
	f := newFixture(t)
	_, oneProg, one := f.planDirect("one-invocation", nil)
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(3) }
	_, manyProg, many := f.planDirect("many-invocations", nil)
	if oneProg.Invocations != 1 || manyProg.Invocations < 5 {
		t.Fatalf("invocations %d and %d; want 1 and several", oneProg.Invocations, manyProg.Invocations)
	}
	if one.Counts.Import == 0 || one.Counts.Update == 0 || len(one.Imports) == 0 || len(one.Actions) == 0 {
		t.Fatalf("the plan of one invocation carries nothing back: %+v", one.Counts)
	}
	if diff := cmp.Diff(one, many); diff != "" {
		t.Errorf("plan in several invocations (-one +many):\n%s", diff)
	}
	wantUsers := one.Counts.PrimaryUsers + one.Counts.DRUsers
	if got := manyProg.Primary.Users + manyProg.DR.Users; got != wantUsers {
		t.Errorf("exported %d users in several invocations, the plan counts %d", got, wantUsers)
	}
}

// TestFailbackExportKilledMidShardResumes: every other ExportPools invocation dies once the DR
// pool has served a ListUsers page of it: a shard listed and not written. The next invocation
// resumes from the checkpoints; nothing is lost or counted twice, and the plan is the plan of a
// loop never killed.
func TestFailbackExportKilledMidShardResumes(t *testing.T) {
	f := newFixture(t)
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(4) }
	_, _, clean := f.planDirect("never-killed", nil)

	cognito := f.run.Steps.Cognito
	dr := &killingCognito{Cognito: cognito(f.sc.Osaka.Region)}
	f.run.Steps.Cognito = func(region string) failback.Cognito {
		if region == f.sc.Osaka.Region {
			return dr
		}
		return cognito(region)
	}
	var invocations, kills atomic.Int32
	_, prog, got := f.planDirect("killed", func(ctx context.Context) (context.Context, func() bool) {
		if invocations.Add(1)%2 == 0 {
			dr.Arm(0, nil)
			return ctx, func() bool { return false }
		}
		ctx, cancel := context.WithCancel(ctx)
		var killed atomic.Bool
		dr.Arm(2, func() { killed.Store(true); cancel() })
		return ctx, func() bool {
			dr.Arm(0, nil)
			cancel()
			if killed.Load() {
				kills.Add(1)
			}
			return killed.Load()
		}
	})
	// How many odd invocations reach their DR pool's second page before their budget ends depends
	// on scheduling; one kill already proves the resume.
	if kills.Load() < 1 {
		t.Fatalf("killed %d invocations; want at least one", kills.Load())
	}
	if diff := cmp.Diff(clean, got); diff != "" {
		t.Errorf("plan killed and resumed (-never killed +killed):\n%s", diff)
	}
	if prog.DR.Users != clean.Counts.DRUsers {
		t.Errorf("DR export holds %d users, the plan never killed counts %d", prog.DR.Users, clean.Counts.DRUsers)
	}
}

// TestFailbackExportsLoop: the state machine loops ExportPools and ExportFinalPools until both
// pools are written (and the plan, apply and report loops, which the budget cuts too, until done), and the failback ends as a run
// of one invocation each does.
func TestFailbackExportsLoop(t *testing.T) {
	f := newFixture(t)
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(4) }
	x := f.start("failback-in-parts", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	rounds := map[string]int{}
	var path []string
	for _, s := range x.Path() {
		if rounds[s]++; rounds[s] == 1 || !isExportLoop(s) {
			path = append(path, s)
		}
	}
	if rounds["ExportPools"] < 3 || rounds["ExportFinalPools"] < 3 {
		t.Errorf("ExportPools ran %d times, ExportFinalPools %d; want several each", rounds["ExportPools"], rounds["ExportFinalPools"])
	}
	if diff := cmp.Diff(approvedPath, path); diff != "" {
		t.Errorf("path, each export loop once (-want +got):\n%s", diff)
	}
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	f.checkFailedBack(x)
}

func isExportLoop(state string) bool {
	switch state {
	case "ExportPools", "PoolsExported", "ExportFinalPools", "FinalPoolsExported",
		"PlanFailback", "PlanFailbackDone", "PlanFinalDelta", "PlanFinalDeltaDone", "ApplyChanges", "ChangesApplied", "WriteReport", "ReportWritten":
		return true
	}
	return false
}
