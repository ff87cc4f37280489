package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// restorePhase is one paced phase of a restore: the top-level states that begin and end it, the
// Cognito calls each of its items makes, and where its count is in WriteReport's input.
type restorePhase struct {
	name, from, to string
	ops            []string
	progress       string
}

// restorePhases are the restore's phases after the import, in the order the state machine runs them.
var restorePhases = []restorePhase{
	{name: "create_api", from: "StartCreate", to: "StartRestoreGroups", ops: []string{"AdminCreateUser", "AdminGetUser"}, progress: "createProgress"},
	{name: "memberships", from: "StartRestoreMemberships", to: "StartDisableUsers", ops: []string{"AdminAddUserToGroup"}, progress: "membershipsProgress"},
	{name: "disable", from: "StartDisableUsers", to: "WriteReport", ops: []string{"AdminDisableUser"}, progress: "disableProgress"},
}

// phaseBound is the most items a second a phase can reach at AWS's default quotas: each item
// makes one call of each op, so the slowest op's quota (its category's rate, or the per-pool cap
// of one operation where the quotas page sets one) bounds it.
func phaseBound(ops []string) (float64, error) {
	bound := 0.0
	for _, op := range ops {
		c, err := quota.CategoryOf(op)
		if err != nil {
			return 0, err
		}
		l := quota.Limits[c]
		rps := l.RPS
		if l.PerPoolOperationRPS > 0 {
			rps = min(rps, l.PerPoolOperationRPS)
		}
		if bound == 0 || rps < bound {
			bound = rps
		}
	}
	return bound, nil
}

// stateTimes records, by wall clock, when each top-level state was first entered, and the input
// of WriteReport (the progress of every phase).
type stateTimes struct {
	mu      sync.Mutex
	entered map[string]time.Time
	report  json.RawMessage
}

func (t *stateTimes) observe(e asl.Event) {
	if e.Scope != "" || e.Type != asl.EventStateEntered {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entered[e.State]; !ok {
		t.entered[e.State] = time.Now()
	}
	if e.State == "WriteReport" {
		t.report = e.Input
	}
}

func (t *stateTimes) between(from, to string) (time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, okA := t.entered[from]
	b, okB := t.entered[to]
	if !okA || !okB {
		return 0, fmt.Errorf("the restore did not pass through %s and %s", from, to)
	}
	return b.Sub(a), nil
}

// rate is n per second of d, 0 when nothing was timed.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// benchRestore restores a snapshot of an n-user pool with groups into an empty pool, with the
// emulator enforcing AWS default quotas and latency on every Cognito call, and prints the time
// and each phase's rate beside its bound. opts go to both executors (a fake clock, in tests, so
// the ASL's Wait states do not take real time).
func benchRestore(ctx context.Context, w io.Writer, n int, latency time.Duration, opts ...asl.Option) error {
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, n)
	if err != nil {
		return err
	}
	key, err := st.BackupTokyo(ctx, sc, "bench-restore-backup", opts...)
	if err != nil {
		return err
	}
	spec := devstack.TokyoPool(0)
	spec.Name = "tokyo-restored"
	target, err := st.SeedPool(spec)
	if err != nil {
		return err
	}
	times := &stateTimes{entered: map[string]time.Time{}}
	run, err := st.RestoreWorkflow(sc, nil, nil, append(slices.Clip(opts), asl.WithObserver(times.observe))...)
	if err != nil {
		return err
	}
	in, err := json.Marshal(sc.RestoreRequest(key, target, sc.Tokyo.Region))
	if err != nil {
		return err
	}
	begin := time.Now()
	x, err := run.Exec.Run(ctx, "bench-restore", in)
	if x == nil {
		return err
	}
	seconds := time.Since(begin).Seconds()
	if x.Status() != asl.StatusSucceeded {
		return fmt.Errorf("restore %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		return err
	}
	if lost := out.Users - out.Outcomes[restore.OutcomeImported] - out.Outcomes[restore.OutcomeCreatedByAPI] - out.Outcomes[restore.OutcomeNotImportable]; lost != 0 {
		return fmt.Errorf("the restore left %d of %d users unrestored: %v", lost, out.Users, out.Outcomes)
	}
	line := fmt.Sprintf("restore users=%d seconds=%.1f", out.Users, seconds)
	// The import is paced by Cognito's import job, not by a request quota: no bound.
	importTime, err := times.between("ImportParts", "StartCreate")
	if err != nil {
		return err
	}
	imported := out.Outcomes[restore.OutcomeImported]
	line += fmt.Sprintf(" import_rows=%d import_rows_per_s=%.0f", imported, rate(imported, importTime))
	var state map[string]json.RawMessage
	if err := json.Unmarshal(times.report, &state); err != nil {
		return fmt.Errorf("WriteReport's input: %w", err)
	}
	for _, ph := range restorePhases {
		d, err := times.between(ph.from, ph.to)
		if err != nil {
			return err
		}
		bound, err := phaseBound(ph.ops)
		if err != nil {
			return err
		}
		var prog restore.Progress
		if err := json.Unmarshal(state[ph.progress], &prog); err != nil {
			return fmt.Errorf("WriteReport's input %s: %w", ph.progress, err)
		}
		done := prog.Applied
		line += fmt.Sprintf(" %s=%d %s_per_s=%.1f bound_%s=%.0f", ph.name, done, ph.name, rate(done, d), ph.name, bound)
	}
	_, err = fmt.Fprintln(w, line)
	return err
}

// benchDrill runs the restore drill of a snapshot of an n-user pool on the local stack (AWS
// default quotas, latency on every Cognito call) and prints its RTO and mismatches. A drill that
// did not pass is an error, after its line.
func benchDrill(ctx context.Context, w io.Writer, n int, latency time.Duration, opts ...asl.Option) error {
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, n)
	if err != nil {
		return err
	}
	if _, err := st.BackupTokyo(ctx, sc, "bench-drill-backup", opts...); err != nil {
		return err
	}
	run, err := st.RestoreWorkflow(sc, nil, nil, opts...)
	if err != nil {
		return err
	}
	in, err := json.Marshal(map[string]any{"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion, "snapshot": restore.Latest, "sourceUserPoolId": sc.TokyoID, "drill": true})
	if err != nil {
		return err
	}
	x, err := run.Exec.Run(ctx, "bench-drill", in)
	if x == nil {
		return err
	}
	if x.Status() != asl.StatusSucceeded {
		return fmt.Errorf("drill %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out restore.DrillOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		return err
	}
	d := out.Drill
	if _, err := fmt.Fprintf(w, "drill users=%d rto_seconds=%.1f mismatches=%d\n", d.Users, d.RTOSeconds, d.Mismatches); err != nil {
		return err
	}
	if !d.Passed {
		return fmt.Errorf("the drill failed: %s %v", d.FailureReason, out.Mismatches)
	}
	return nil
}
