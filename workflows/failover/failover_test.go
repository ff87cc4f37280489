package failover_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	ifailover "github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

const message = "We moved to Osaka for now: sign in at https://osaka.example.jp"

var (
	primary = devstack.GatePool{ID: "ap-northeast-1_Tokyo1", Region: "ap-northeast-1"}
	dr      = devstack.GatePool{ID: "ap-northeast-3_Osaka1", Region: "ap-northeast-3"}
)

// fixture is the local stack with both modes as deployed (primary active, DR fenced), the
// reconcile schedule enabled, the operators' topic, and the failover state machine on a fake
// clock. The failover touches no user pool: only the modes and the schedule.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *devstack.Stack
	clock *asl.FakeClock
	run   *devstack.FailoverRunner
	// beforeFence, if set, runs before each fence attempt (a Region coming back).
	beforeFence func()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, ctx: t.Context(), st: st, clock: asl.NewFakeClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))}
	deployed := time.Unix(0, 0).UTC()
	for _, p := range []struct {
		pool devstack.GatePool
		mode poolmode.Mode
	}{{primary, poolmode.Active}, {dr, poolmode.Fenced}} {
		if err := f.param(p.pool).Set(f.ctx, poolmode.State{Mode: p.mode, Since: deployed, Cause: poolmode.CauseDeploy}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeployReconcileSchedule(f.ctx, primary, dr, ifailover.DefaultScheduleName); err != nil {
		t.Fatal(err)
	}
	topic, err := st.CreateTopic(f.ctx, dr.Region, "cognito-dr-operators")
	if err != nil {
		t.Fatal(err)
	}
	f.run, err = st.Failover(topic, func(fns map[string]boundary.Func) {
		fence := fns[failover.FailoverFenceTask.Placeholder]
		fns[failover.FailoverFenceTask.Placeholder] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			if f.beforeFence != nil {
				f.beforeFence()
			}
			return fence(ctx, in)
		}
	}, asl.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	// The steps decide on the executor's clock whether another fence attempt fits; an unreachable
	// Region costs each call this long in real time (about 6 s over the package). The bound holds
	// on the wall clock for the calls a Region answers too: half a second, not 100 ms, which a
	// loopback call scheduled late on a loaded 2-core machine under -race can take, and the Region
	// that answered would count as down.
	f.run.Steps.Failover.Now = f.clock.Now
	f.run.Steps.CallTimeout = 500 * time.Millisecond
	return f
}

func (f *fixture) param(p devstack.GatePool) poolmode.Parameter {
	return poolmode.Parameter{Client: f.st.Clients.SSM(p.Region), Name: poolmode.ParameterName(p.ID)}
}

func (f *fixture) mode(p devstack.GatePool) poolmode.State {
	f.t.Helper()
	s, err := f.param(p).Get(f.ctx)
	if err != nil {
		f.t.Fatalf("read %s's mode: %v", p.ID, err)
	}
	return s
}

func (f *fixture) scheduleState() string {
	f.t.Helper()
	s, err := scheduler.NewFromConfig(f.st.AWS.AWSConfig(dr.Region)).GetSchedule(f.ctx, &scheduler.GetScheduleInput{Name: aws.String(ifailover.DefaultScheduleName)})
	if err != nil {
		f.t.Fatal(err)
	}
	return string(s.State)
}

func request(extra map[string]any) map[string]any {
	r := map[string]any{
		"primaryUserPoolId": primary.ID, "primaryRegion": primary.Region, "drUserPoolId": dr.ID, "drRegion": dr.Region,
		"message": message, "bucket": "cognito-dr-backups", "bucketRegion": dr.Region,
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

// start runs one execution to its end.
func (f *fixture) start(name string, req map[string]any) *asl.Execution {
	f.t.Helper()
	in, _ := json.Marshal(req)
	x, err := f.run.Exec.Start(f.ctx, name, in)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := x.Wait(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	return x
}

// path is the top-level states the execution entered, in order.
func path(x *asl.Execution) []string {
	var p []string
	for _, e := range x.History() {
		if e.Type == asl.EventStateEntered && e.Scope == "" {
			p = append(p, e.State)
		}
	}
	return p
}

func (f *fixture) messages() []localaws.Message { return f.st.AWS.SNS().Messages() }

var reachablePath = []string{"CheckRequest", "FencePrimary", "ActivateDr", "PauseReconcile", "PrimaryFenced", "Verify", "NotifyResult", "FailoverComplete", "Done"}

// TestFailoverStateMachine: the primary answers. It is fenced with the request's message, the DR
// pool is active by a failover, the schedule is paused, the operators get the report with the
// failback input, and a second run changes nothing and keeps the failover time.
func TestFailoverStateMachine(t *testing.T) {
	f := newFixture(t)
	x := f.start("failover-1", request(nil))
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("execution %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	if diff := cmp.Diff(reachablePath, path(x)); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	var out failover.Report
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatalf("output: %v\n%s", err, x.Output())
	}
	if out.Primary.Action != ifailover.Fenced || out.DR.Action != ifailover.Activated || out.Schedule.Action != ifailover.Paused || len(out.Findings) != 0 {
		t.Errorf("report: primary %s, DR %s, schedule %s, findings %q", out.Primary.Action, out.DR.Action, out.Schedule.Action, out.Findings)
	}
	p, d := f.mode(primary), f.mode(dr)
	if p.Mode != poolmode.Fenced || p.Message != message || p.Cause != poolmode.CauseFailover {
		t.Errorf("primary mode %+v, want fenced by the failover with the request's message", p)
	}
	if d.Mode != poolmode.Active || d.Cause != poolmode.CauseFailover || !d.Since.Equal(out.FailoverTime) || !d.Since.Equal(out.Started) {
		t.Errorf("DR mode %+v, failover time %s", d, out.FailoverTime)
	}
	if got := f.scheduleState(); got != "DISABLED" {
		t.Errorf("schedule %s, want DISABLED", got)
	}
	fb := out.FailbackInput
	if fb.FailoverTime != ifailover.FailbackTime(d.Since) || fb.PrimaryUserPoolID != primary.ID || fb.DRUserPoolID != dr.ID || fb.Bucket != "cognito-dr-backups" {
		t.Errorf("failback input %+v, DR since %s", fb, d.Since)
	}
	msgs := f.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "failover done") || !strings.Contains(msgs[0].Message, `"failoverTime":"`+fb.FailoverTime+`"`) ||
		!strings.Contains(msgs[0].Message, "failover: OK") {
		t.Fatalf("notifications %+v, want one with the failback input", msgs)
	}

	// Again, an hour later: everything already done, the failover time stays.
	f.clock.Advance(time.Hour)
	again := f.start("failover-2", request(nil))
	var out2 failover.Report
	if err := json.Unmarshal(again.Output(), &out2); err != nil || again.Status() != asl.StatusSucceeded {
		t.Fatalf("second run %s: %v %s", again.Status(), err, again.Cause())
	}
	if out2.Primary.Action != ifailover.AlreadyFenced || out2.DR.Action != ifailover.AlreadyActive || out2.Schedule.Action != ifailover.AlreadyPaused ||
		!out2.FailoverTime.Equal(out.FailoverTime) || out2.FailbackInput.FailoverTime != fb.FailoverTime {
		t.Errorf("second run: primary %s, DR %s, schedule %s, failover time %s (first %s)", out2.Primary.Action, out2.DR.Action, out2.Schedule.Action, out2.FailoverTime, out.FailoverTime)
	}
	if got := f.mode(dr); got != d {
		t.Errorf("DR mode after the re-run %+v, want unchanged %+v", got, d)
	}
}

// TestFailoverPrimaryComesBack: the primary's Parameter Store does not answer at first. The DR
// pool is activated anyway, the machine waits and tries again, and the primary, back 20 s
// (of the executor's clock) into the failover, is fenced at the next attempt.
func TestFailoverPrimaryComesBack(t *testing.T) {
	f := newFixture(t)
	start := f.clock.Now()
	f.st.SSM.SetUnreachable(primary.Region, true)
	var attempts atomic.Int32
	f.beforeFence = func() {
		attempts.Add(1)
		if !f.clock.Now().Before(start.Add(20 * time.Second)) {
			f.st.SSM.SetUnreachable(primary.Region, false)
		}
	}
	x := f.start("failover-primary-down", request(map[string]any{"retryIntervalSeconds": 5, "fenceTimeoutSeconds": 60}))
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("execution %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	// Attempts at 0 s (before the DR pool is activated), 5, 10, 15 fail; 20 s fences.
	loop := []string{"WaitToFence", "FencePrimaryAgain", "PrimaryFenced"}
	want := slices.Concat([]string{"CheckRequest", "FencePrimary", "ActivateDr", "PauseReconcile", "PrimaryFenced"}, loop, loop, loop, loop,
		[]string{"Verify", "NotifyResult", "FailoverComplete", "Done"})
	if diff := cmp.Diff(want, path(x)); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	var out failover.Report
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Primary.Action != ifailover.Fenced || out.Primary.Attempts != 5 || attempts.Load() != 5 || len(out.Findings) != 0 {
		t.Errorf("primary %s after %d attempts (%d calls), findings %q", out.Primary.Action, out.Primary.Attempts, attempts.Load(), out.Findings)
	}
	if p := f.mode(primary); p.Mode != poolmode.Fenced || !p.Since.Equal(start) {
		t.Errorf("primary mode %+v, want fenced since the failover's start %s", p, start)
	}
	if d := f.mode(dr); d.Mode != poolmode.Active || !d.Since.Equal(start) {
		t.Errorf("DR mode %+v, want active since the failover's start (activated while the primary was down)", d)
	}
}

// TestFailoverPrimaryNeverAnswers: the fence timeout passes without the primary answering. The DR
// pool serves, the execution ends FailoverIncomplete with the finding in its cause, and the
// operators are told to run it again when the primary's Region answers.
func TestFailoverPrimaryNeverAnswers(t *testing.T) {
	f := newFixture(t)
	f.st.SSM.SetUnreachable(primary.Region, true)
	x := f.start("failover-primary-gone", request(map[string]any{"retryIntervalSeconds": 10, "fenceTimeoutSeconds": 30}))
	if x.Status() != asl.StatusFailed || x.ErrorName() != "FailoverIncomplete" || !strings.Contains(x.Cause(), "could not be fenced") {
		t.Fatalf("execution %s %s %q, want FailoverIncomplete naming the unfenced primary", x.Status(), x.ErrorName(), x.Cause())
	}
	if got := path(x); got[len(got)-1] != "FailoverIncomplete" || strings.Count(strings.Join(got, " "), "FencePrimaryAgain") != 2 {
		t.Errorf("path %v, want two more attempts (at 10 s and 20 s; 30 s is the timeout) and FailoverIncomplete", got)
	}
	if d := f.mode(dr); d.Mode != poolmode.Active {
		t.Errorf("DR mode %+v, want active", d)
	}
	f.st.SSM.SetUnreachable(primary.Region, false)
	if p := f.mode(primary); p.Mode != poolmode.Active {
		t.Errorf("primary mode %+v, want still active (never reached)", p)
	}
	msgs := f.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "INCOMPLETE") || !strings.Contains(msgs[0].Message, "run failover again") {
		t.Errorf("notifications %+v", msgs)
	}
}

// TestFailoverChangesNothing: a DR pool that does not answer, and a bad request, end the execution
// at its first state, in FailureClean: both modes and the schedule as they were.
func TestFailoverChangesNothing(t *testing.T) {
	for _, c := range []struct {
		name       string
		req        map[string]any
		drDown     bool
		error, has string
	}{
		{"DR unreachable", request(nil), true, "Transient", "does not answer, nothing was changed"},
		{"missing pool", request(map[string]any{"drUserPoolId": ""}), false, "InvalidInput", "no DR pool"},
		{"unknown field", request(map[string]any{"fenceTimeout": 60}), false, "InvalidInput", "at request.fenceTimeout"},
		{"too many attempts", request(map[string]any{"retryIntervalSeconds": 1, "fenceTimeoutSeconds": 3600}), false, "InvalidInput", "history would overflow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.st.SSM.SetUnreachable(dr.Region, c.drDown)
			x := f.start("failover", c.req)
			f.st.SSM.SetUnreachable(dr.Region, false)
			if x.Status() != asl.StatusFailed || x.ErrorName() != c.error || !strings.Contains(x.Cause(), c.has) {
				t.Errorf("execution %s %s %q, want %s with %q", x.Status(), x.ErrorName(), x.Cause(), c.error, c.has)
			}
			if got := path(x); !slices.Equal(got, []string{"CheckRequest", "NotifyFailed", "FailureClean"}) {
				t.Errorf("path %v", got)
			}
			if p, d := f.mode(primary), f.mode(dr); p.Mode != poolmode.Active || p.Cause != poolmode.CauseDeploy || d.Mode != poolmode.Fenced || d.Cause != poolmode.CauseDeploy {
				t.Errorf("modes primary %+v, DR %+v: want both as deployed", p, d)
			}
			if got := f.scheduleState(); got != "ENABLED" {
				t.Errorf("schedule %s, want ENABLED", got)
			}
			if msgs := f.messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "nothing was changed") {
				t.Errorf("notifications %+v", msgs)
			}
		})
	}
}
