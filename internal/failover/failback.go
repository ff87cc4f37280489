package failover

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// The failback's side of the switch: the failback workflow fences the DR pool right after its
// approval (so what DR users change stops before the final plan), reopens it exactly as it was if
// the final plan is rejected, and at the end activates the primary and resumes reconcile. These are
// the same mode parameters and the same schedule a failover switches, written the same way.

// What a failback did to a pool or the schedule (besides the failover's Fenced, AlreadyFenced,
// Activated, AlreadyActive, NotFound, Skipped).
const (
	// Reopened: the DR pool's mode from before the fence was written back.
	Reopened = "reopened"
	// Resumed and AlreadyResumed: the reconcile schedule is ENABLED again.
	Resumed        = "resumed"
	AlreadyResumed = "already-resumed"
	// NotResumed: the schedule could not be read or changed.
	NotResumed = "not-resumed"
)

// Mode reads a pool's mode within the call timeout. set is false when no mode was ever written.
func (f *Failover) Mode(ctx context.Context, pool, region string) (s poolmode.State, set bool, err error) {
	s, err = f.read(ctx, f.param(pool, region), DefaultCallTimeout)
	switch {
	case errors.Is(err, poolmode.ErrNotSet):
		return poolmode.State{}, false, nil
	case err != nil:
		return poolmode.State{}, false, err
	}
	return s, true, nil
}

func (f *Failover) param(pool, region string) poolmode.Parameter {
	return poolmode.Parameter{Client: f.SSM(region), Name: poolmode.ParameterName(pool)}
}

// set writes a pool's mode within the call timeout.
func (f *Failover) set(ctx context.Context, pool, region string, s poolmode.State) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	return f.param(pool, region).Set(ctx, s)
}

// FenceForFailback fences the DR pool (cause failback, message: where its users go now). A pool
// a failback fenced already is left as it is (a retried task), so its Since stays the first
// fence's. It returns the action and the mode the pool now has.
func (f *Failover) FenceForFailback(ctx context.Context, pool, region, message string) (string, poolmode.State, error) {
	cur, set, err := f.Mode(ctx, pool, region)
	if err != nil {
		return "", poolmode.State{}, err
	}
	if set && cur.Mode == poolmode.Fenced && cur.Cause == poolmode.CauseFailback && cur.Message == message {
		return AlreadyFenced, cur, nil
	}
	s := poolmode.State{Mode: poolmode.Fenced, Since: f.now(), Cause: poolmode.CauseFailback, Message: message}
	if err := f.set(ctx, pool, region, s); err != nil {
		return "", poolmode.State{}, err
	}
	return Fenced, s, nil
}

// Reopen writes back the mode the DR pool had before a failback fenced it (previous; nil when it
// had none, which leaves it active by the failback's decision), so the pools end as the failback
// found them: a rejected final plan must not leave both pools fenced.
func (f *Failover) Reopen(ctx context.Context, pool, region string, previous *poolmode.State) (poolmode.State, error) {
	s := poolmode.State{Mode: poolmode.Active, Since: f.now(), Cause: poolmode.CauseFailback}
	if previous != nil {
		s = *previous
	}
	if err := f.set(ctx, pool, region, s); err != nil {
		return poolmode.State{}, err
	}
	return s, nil
}

// ActivatePrimary marks the primary active by a failback: its gate lets users in again, and the
// peer rule (the DR pool active by a failover after the primary's last activation) no longer
// fences it, because this activation is later. A primary a failback activated already keeps its
// Since (a retried task).
func (f *Failover) ActivatePrimary(ctx context.Context, pool, region string) (string, poolmode.State, error) {
	cur, set, err := f.Mode(ctx, pool, region)
	if err != nil {
		return "", poolmode.State{}, err
	}
	if set && cur.Mode == poolmode.Active && cur.Cause == poolmode.CauseFailback {
		return AlreadyActive, cur, nil
	}
	s := poolmode.State{Mode: poolmode.Active, Since: f.now(), Cause: poolmode.CauseFailback}
	if err := f.set(ctx, pool, region, s); err != nil {
		return "", poolmode.State{}, err
	}
	return Activated, s, nil
}

// ResumeSchedule enables the reconcile schedule a failover paused, in the DR Region. An empty name
// skips it; a schedule that does not exist (reconcile not deployed) is reported, not an error;
// any other failure is in the result (Action NotResumed, Error), for the caller to report.
func (f *Failover) ResumeSchedule(ctx context.Context, region, name, group string) Schedule {
	if name == "" {
		return Schedule{Action: Skipped}
	}
	if group == "" {
		group = DefaultScheduleGroup
	}
	out := Schedule{Name: name, Group: group, Region: region}
	ctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	changed, state, err := setScheduleState(ctx, f.Scheduler(region), name, group, schedtypes.ScheduleStateEnabled)
	var notFound *schedtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		out.Action = NotFound
	case err != nil:
		out.Action, out.Error = NotResumed, err.Error()
	case changed:
		out.Action, out.State = Resumed, string(state)
	default:
		out.Action, out.State = AlreadyResumed, string(state)
	}
	return out
}

// setScheduleState sets a schedule's State. UpdateSchedule replaces the whole schedule, so it is
// sent back whole as GetSchedule returned it, with only State changed. changed is false when the
// schedule was in that state already.
func setScheduleState(ctx context.Context, c Scheduler, name, group string, state schedtypes.ScheduleState) (changed bool, _ schedtypes.ScheduleState, _ error) {
	s, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
	if err != nil {
		return false, "", fmt.Errorf("read schedule %s/%s: %w", group, name, err)
	}
	if s.State == state {
		return false, state, nil
	}
	_, err = c.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name: aws.String(name), GroupName: aws.String(group), State: state,
		ActionAfterCompletion: s.ActionAfterCompletion, Description: s.Description, EndDate: s.EndDate,
		FlexibleTimeWindow: s.FlexibleTimeWindow, KmsKeyArn: s.KmsKeyArn, ScheduleExpression: s.ScheduleExpression,
		ScheduleExpressionTimezone: s.ScheduleExpressionTimezone, StartDate: s.StartDate, Target: s.Target,
	})
	if err != nil {
		return false, "", fmt.Errorf("set schedule %s/%s %s: %w", group, name, state, err)
	}
	return true, state, nil
}
