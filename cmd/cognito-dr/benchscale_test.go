package main

import (
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// TestScaleBenchSmall runs the scale part of the bench as `make bench` does, at a small size:
// the local stack with synthesized pools in a child process, every task invocation in a child
// process, an export budget short enough that the export continues several times. Every user
// must be exported once, every drifted user found once, every DR-only, changed and disabled
// user planned.
func TestScaleBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three workflows on 5,000 users in child processes")
	}
	t.Setenv(runMainEnv, "1") // the children (local, bench-task) are this binary's main
	// A budget of 4 shard starts per export invocation, not of time: the 16 shards take several
	// invocations however fast (or, with the race detector, slow) the machine is.
	results, err := benchScale(t.Context(), io.Discard, 5_000, []string{scaleReconcile, scaleFailbackPlan, scaleBackup}, taskEnv{ExportBudget: time.Minute, ExportStarts: 4})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		got = append(got, r.Workflow)
		if r.Err != nil || r.Lost != 0 || r.Duplicated != 0 || r.PeakRSSKB == 0 {
			t.Errorf("%s", r)
		}
		// Each export loop continues: the budget reaches every workflow's tasks.
		loop := map[string]string{scaleBackup: backup.ExportTask.Placeholder,
			scaleReconcile: replication.ExportPoolsTask.Placeholder, scaleFailbackPlan: failback.PlanFailbackTask.Placeholder}[r.Workflow]
		if n := r.ByTask[loop]; n < 3 {
			t.Errorf("%s ran %d times, want at least 3 with 4 starts each: %s", loop, n, r)
		}
	}
	// Reconcile repairs the drift the failback plan must see: it runs last.
	if want := []string{scaleBackup, scaleFailbackPlan, scaleReconcile}; !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

// TestScaleLineSaysWhatFailed: a workflow that cannot finish at a size says so on its line.
func TestScaleLineSaysWhatFailed(t *testing.T) {
	for _, tc := range []struct {
		res  scaleResult
		want string
	}{
		{scaleResult{Workflow: scaleBackup, Users: 5000000, Invocations: 13, Seconds: 199.74, PeakRSSKB: 827 << 10},
			"scale workflow=backup users=5000000 invocations=13 seconds=199.7 peak_rss_mb=827 lost=0 duplicated=0"},
		{scaleResult{Workflow: scaleFailbackPlan, Users: 5000000, Invocations: 1, Seconds: 900, PeakRSSKB: 7 << 20,
			Err: errors.New(`FAILED States.Timeout: PlanFailbackFunctionArn ran longer than Lambda's 15m0s`)},
			`scale workflow=failback-plan users=5000000 invocations=1 seconds=900.0 peak_rss_mb=7168 lost=0 duplicated=0 error="FAILED States.Timeout: PlanFailbackFunctionArn ran longer than Lambda's 15m0s"`},
	} {
		if got := tc.res.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// smallScaleRun runs the scale part's workflow on 5,000 users as `make bench -scale-workflows
// <workflow>` does, with export budgets of 4 shard starts and pages of pageSize items so every loop
// continues, on a fake clock: Wait states (gate caches, import polling, late results) take no time.
func smallScaleRun(t *testing.T, workflow string, pageSize int) []scaleResult {
	t.Helper()
	t.Setenv(runMainEnv, "1") // the children (local, bench-task) are this binary's main
	clock := asl.WithClock(asl.NewFakeClock(time.Now()))
	results, err := benchScale(t.Context(), io.Discard, 5_000, []string{workflow},
		taskEnv{ExportBudget: time.Minute, ExportStarts: 4, PageSize: pageSize}, clock)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// TestScaleRestoreSmall runs the scale part's restore as `make bench -scale-workflows restore`
// does, at a small size: the backup's snapshot restored into an empty pool on the stack in its
// child process, every task invocation in a child process, budgets of a few starts and pages of
// 50 items so each of the restore's loops continues. Every snapshot user must be in the restored
// pool exactly once, with its attributes, enabled state and groups (an error on the line if not).
func TestScaleRestoreSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a backup and a restore of 5,000 users in child processes")
	}
	results := smallScaleRun(t, scaleRestore, 50)
	var got []string
	for _, r := range results {
		got = append(got, r.Workflow)
		if r.Err != nil || r.Lost != 0 || r.Duplicated != 0 || r.PeakRSSKB == 0 {
			t.Errorf("%s", r)
		}
	}
	// The restore restores the backup's snapshot: selecting it runs the backup first.
	if want := []string{scaleBackup, scaleRestore}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	r := results[1]
	t.Logf("%s; states %v", r, r.ByState)
	// Each loop of the restore continues: the budget reaches every phase.
	if n := r.ByTask[restore.BuildRestoreCsvTask.Placeholder]; n < 2 {
		t.Errorf("BuildImportCsv ran %d times, want more than one: %s", n, r)
	}
	for _, state := range []string{"RestoreMemberships", "DisableUsers", "ExportTarget", "WriteReport"} {
		if n := r.ByState[state]; n < 2 {
			t.Errorf("%s ran %d times, want more than one: %s", state, n, r)
		}
	}
}

// TestScaleFailbackSmall runs the scale part's failback as `make bench -scale-workflows failback`
// does, at a small size: the whole failback of the synthetic DR copy on the stack in its child
// process, every task invocation in a child process, approved through the emailed link, with
// budgets of a few starts and pages of 10 changes so its loops continue. Every DR-only user must be in the primary once,
// every changed and disabled copy carried back, nothing else changed, every DR user disabled and
// reported once with the outcome its drift calls for (an error on the line if not).
func TestScaleFailbackSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a failback of 5,000 users in child processes")
	}
	results := smallScaleRun(t, scaleFailback, 10)
	if len(results) != 1 || results[0].Workflow != scaleFailback {
		t.Fatalf("ran %v, want the failback alone", results)
	}
	r := results[0]
	t.Logf("%s; states %v", r, r.ByState)
	if r.Err != nil || r.Lost != 0 || r.Duplicated != 0 || r.PeakRSSKB == 0 {
		t.Errorf("%s", r)
	}
	// Each loop continues: the budget reaches every phase, before the approval and after it.
	for _, state := range []string{"ExportPools", "PlanFailback", "ExportFinalPools", "PlanFinalDelta", "ApplyChanges", "WriteReport"} {
		if n := r.ByState[state]; n < 2 {
			t.Errorf("%s ran %d times, want more than one: %s", state, n, r)
		}
	}
	// The approval was given and the final plan did not need another.
	if n := r.ByState["RequestApproval"]; n != 1 {
		t.Errorf("RequestApproval ran %d times, want 1", n)
	}
}
