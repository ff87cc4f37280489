package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
	localscheduler "github.com/cognito-dr/cognito-dr/internal/local/scheduler"
)

var at = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// start serves a Store on the loopback endpoint, as the dev stack does, and returns SDK clients
// for two Regions.
func start(t *testing.T) (*localscheduler.Store, *scheduler.Client, *scheduler.Client) {
	t.Helper()
	store := localscheduler.New(localscheduler.Options{AccountID: "000000000000", Clock: func() time.Time { return at }})
	st, err := loopback.Start(loopback.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st.ServeScheduler(store)
	t.Cleanup(func() { st.Close() })
	return store, scheduler.NewFromConfig(st.AWSConfig("ap-northeast-3")), scheduler.NewFromConfig(st.AWSConfig("ap-northeast-1"))
}

func reconcileSchedule(name string) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{
		Name: aws.String(name), Description: aws.String("reconcile"), ScheduleExpression: aws.String("rate(1 hour)"),
		ScheduleExpressionTimezone: aws.String("Asia/Tokyo"),
		FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target: &types.Target{Arn: aws.String("arn:aws:states:ap-northeast-3:000000000000:stateMachine:cognito-dr-reconcile"),
			RoleArn: aws.String("arn:aws:iam::000000000000:role/schedule"), Input: aws.String(`{"drUserPoolId":"x"}`),
			RetryPolicy: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(600), MaximumRetryAttempts: aws.Int32(5)}},
	}
}

func TestCreateGetUpdateSchedule(t *testing.T) {
	ctx := context.Background()
	store, osaka, tokyo := start(t)
	if _, err := osaka.CreateSchedule(ctx, reconcileSchedule("cognito-dr-reconcile")); err != nil {
		t.Fatal(err)
	}
	if _, err := osaka.CreateSchedule(ctx, reconcileSchedule("cognito-dr-reconcile")); !errors.As(err, new(*types.ConflictException)) {
		t.Errorf("second CreateSchedule: %v, want ConflictException", err)
	}
	got, err := osaka.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("cognito-dr-reconcile")})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != types.ScheduleStateEnabled || aws.ToString(got.GroupName) != "default" || aws.ToString(got.Target.Input) != `{"drUserPoolId":"x"}` ||
		aws.ToInt32(got.Target.RetryPolicy.MaximumRetryAttempts) != 5 || !aws.ToTime(got.CreationDate).Equal(at) ||
		aws.ToString(got.Arn) != "arn:aws:scheduler:ap-northeast-3:000000000000:schedule/default/cognito-dr-reconcile" {
		t.Errorf("GetSchedule: %+v", got)
	}
	// Schedules are per Region and per group.
	if _, err := tokyo.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("cognito-dr-reconcile")}); !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("GetSchedule in another Region: %v, want ResourceNotFoundException", err)
	}
	if _, err := osaka.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("cognito-dr-reconcile"), GroupName: aws.String("other")}); !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("GetSchedule in another group: %v, want ResourceNotFoundException", err)
	}

	// UpdateSchedule replaces the schedule: what it is not sent is reset.
	if _, err := osaka.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name: aws.String("cognito-dr-reconcile"), ScheduleExpression: aws.String("rate(1 hour)"), State: types.ScheduleStateDisabled,
		FlexibleTimeWindow: got.FlexibleTimeWindow, Target: &types.Target{Arn: got.Target.Arn, RoleArn: got.Target.RoleArn},
	}); err != nil {
		t.Fatal(err)
	}
	after, err := osaka.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("cognito-dr-reconcile")})
	if err != nil {
		t.Fatal(err)
	}
	if after.State != types.ScheduleStateDisabled || after.Description != nil || after.ScheduleExpressionTimezone != nil ||
		after.Target.Input != nil || after.Target.RetryPolicy != nil {
		t.Errorf("after a partial UpdateSchedule: %+v (target %+v), want the omitted fields reset", after, after.Target)
	}
	if s, ok := store.State("ap-northeast-3", "", "cognito-dr-reconcile"); !ok || s != "DISABLED" {
		t.Errorf("store state %q %v", s, ok)
	}
}

func TestScheduleErrors(t *testing.T) {
	ctx := context.Background()
	_, osaka, _ := start(t)
	in := reconcileSchedule("missing")
	if _, err := osaka.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: in.Name, ScheduleExpression: in.ScheduleExpression,
		FlexibleTimeWindow: in.FlexibleTimeWindow, Target: in.Target}); !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("UpdateSchedule of a missing schedule: %v, want ResourceNotFoundException", err)
	}
	in.State = types.ScheduleState("PAUSED")
	if _, err := osaka.CreateSchedule(ctx, in); !errors.As(err, new(*types.ValidationException)) {
		t.Errorf("CreateSchedule with State PAUSED: %v, want ValidationException", err)
	}
}
