package failover_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// oneSchedule is EventBridge Scheduler holding one schedule; UpdateSchedule replaces it whole, as
// AWS does (fields it is not sent are reset).
type oneSchedule struct {
	s       scheduler.GetScheduleOutput
	updates int
}

func (o *oneSchedule) GetSchedule(context.Context, *scheduler.GetScheduleInput, ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	s := o.s
	return &s, nil
}

func (o *oneSchedule) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	o.updates++
	o.s = scheduler.GetScheduleOutput{
		Name: in.Name, GroupName: in.GroupName, State: in.State, ActionAfterCompletion: in.ActionAfterCompletion, Description: in.Description,
		EndDate: in.EndDate, FlexibleTimeWindow: in.FlexibleTimeWindow, KmsKeyArn: in.KmsKeyArn, ScheduleExpression: in.ScheduleExpression,
		ScheduleExpressionTimezone: in.ScheduleExpressionTimezone, StartDate: in.StartDate, Target: in.Target,
	}
	return &scheduler.UpdateScheduleOutput{}, nil
}

// TestFailbackSwitchAfterAFailover: after a failover, a failback fences the DR pool (cause
// failback, its message), a rejected final plan reopens it exactly as the failover left it (so the
// failover time survives), and the end of a failback activates the primary and resumes the
// reconcile schedule with everything but its state unchanged. Each step run twice (a retried
// task) keeps the first run's time.
func TestFailbackSwitchAfterAFailover(t *testing.T) {
	ctx := context.Background()
	primary := &regionSSM{values: map[string]string{}}
	dr := &regionSSM{values: map[string]string{}}
	sched := &oneSchedule{s: scheduler.GetScheduleOutput{
		Name: aws.String(failover.DefaultScheduleName), GroupName: aws.String("default"), State: schedtypes.ScheduleStateEnabled,
		ScheduleExpression: aws.String("rate(15 minutes)"), ScheduleExpressionTimezone: aws.String("Asia/Tokyo"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target:             &schedtypes.Target{Arn: aws.String("arn:aws:states:ap-northeast-3:1:stateMachine:r"), RoleArn: aws.String("arn:aws:iam::1:role/r"), Input: aws.String(`{"x":1}`)},
	}}
	deployed := sched.s
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	f := newFailover(primary, dr)
	f.Scheduler = func(string) failover.Scheduler { return sched }
	f.Now = func() time.Time { return now }

	r, err := f.Run(ctx, cfg)
	if err != nil || len(r.Findings) != 0 || r.Schedule.Action != failover.Paused {
		t.Fatalf("failover: %v, findings %q, schedule %s", err, r.Findings, r.Schedule.Action)
	}
	afterFailover, _, err := f.Mode(ctx, cfg.DRPool, cfg.DRRegion)
	if err != nil {
		t.Fatal(err)
	}

	now = now.Add(48 * time.Hour)
	const msg = "We are back in Tokyo: sign in at https://login.example.jp"
	fencedAt := now
	for i, want := range []string{failover.Fenced, failover.AlreadyFenced} {
		action, s, err := f.FenceForFailback(ctx, cfg.DRPool, cfg.DRRegion, msg)
		if err != nil || action != want {
			t.Fatalf("fence #%d: %s %v, want %s", i+1, action, err, want)
		}
		if want := (poolmode.State{Mode: poolmode.Fenced, Since: fencedAt, Cause: poolmode.CauseFailback, Message: msg}); !cmp.Equal(want, s) {
			t.Errorf("fence #%d: DR reads %+v, want %+v", i+1, s, want)
		}
		now = now.Add(time.Minute)
	}

	// Rejected: the DR pool is what the failover made it, failover time included.
	if _, err := f.Reopen(ctx, cfg.DRPool, cfg.DRRegion, &afterFailover); err != nil {
		t.Fatal(err)
	}
	got, _, err := f.Mode(ctx, cfg.DRPool, cfg.DRRegion)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(afterFailover, got); diff != "" {
		t.Errorf("DR after reopening (-as the failover left it +got):\n%s", diff)
	}

	// The end of an approved failback.
	for i, want := range []string{failover.Activated, failover.AlreadyActive} {
		action, s, err := f.ActivatePrimary(ctx, cfg.PrimaryPool, cfg.PrimaryRegion)
		if err != nil || action != want || s.Mode != poolmode.Active || s.Cause != poolmode.CauseFailback || !s.Since.After(afterFailover.Since) {
			t.Errorf("activate #%d: %s %+v %v; want %s, active by failback after the failover", i+1, action, s, err, want)
		}
	}
	for i, want := range []string{failover.Resumed, failover.AlreadyResumed} {
		if got := f.ResumeSchedule(ctx, cfg.DRRegion, failover.DefaultScheduleName, ""); got.Action != want || got.Error != "" {
			t.Errorf("resume #%d: %+v, want %s", i+1, got, want)
		}
	}
	want, _ := json.Marshal(deployed)
	got2, _ := json.Marshal(sched.s)
	if diff := cmp.Diff(string(want), string(got2)); diff != "" || sched.updates != 2 {
		t.Errorf("after pause and resume (%d updates), the schedule differs from the deployed one (-deployed +got):\n%s", sched.updates, diff)
	}
	if got := f.ResumeSchedule(ctx, cfg.DRRegion, "", ""); got.Action != failover.Skipped {
		t.Errorf("resume with no schedule named: %+v", got)
	}
}
