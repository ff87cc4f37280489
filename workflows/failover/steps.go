package failover

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Steps are the tasks of the failover state machine and the mode watch.
type Steps struct {
	// Failover is the one failover: its Parameter Store and Scheduler clients per Region, and
	// its clock (which decides whether another fence attempt fits in the timeout).
	Failover *failover.Failover
	SNS      func(region string) notify.Publisher
	// TopicArn receives the outcome.
	TopicArn string
	// CallTimeout bounds each AWS call of a failover; zero means failover.DefaultCallTimeout.
	CallTimeout time.Duration
	// Watch configures the mode watch; Metrics receives its embedded-metric-format lines (the
	// Lambda's standard output).
	Watch   WatchConfig
	Metrics io.Writer
}

func (s *Steps) now() time.Time {
	if s.Failover.Now != nil {
		return s.Failover.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Steps) config(r Request) failover.Config { return r.config(s.CallTimeout) }

// next decides whether the state machine waits and fences again.
func (s *Steps) next(run Run) Run {
	run.Retry = run.Result.Primary.Action == failover.NotFenced && s.config(run.Request).AnotherAttempt(run.Result.Started, s.now())
	return run
}

// CheckRequest refuses a bad request (InvalidInput) and reads the DR pool's mode; a DR pool that
// does not answer fails the execution before anything is changed.
func (s *Steps) CheckRequest(ctx context.Context, in CheckInput) (Run, error) {
	req, err := in.Request.withDefaults()
	if err != nil {
		return Run{}, err
	}
	r, err := s.Failover.Check(ctx, s.config(req))
	if err != nil {
		return Run{}, err
	}
	return Run{Request: req, Result: r}, nil
}

// FencePrimary makes one attempt to fence the primary. A primary that does not answer is not an
// error: the run says so, and whether the state machine tries again.
func (s *Steps) FencePrimary(ctx context.Context, in RunInput) (Run, error) {
	s.Failover.Fence(ctx, s.config(in.Run.Request), &in.Run.Result)
	return s.next(in.Run), nil
}

// ActivateDr marks the DR pool active by a failover (an earlier failover's time stays).
func (s *Steps) ActivateDr(ctx context.Context, in RunInput) (Run, error) {
	if err := s.Failover.Activate(ctx, s.config(in.Run.Request), &in.Run.Result); err != nil {
		return Run{}, err
	}
	return s.next(in.Run), nil
}

// PauseReconcile disables the reconcile schedule; a schedule it cannot pause is a finding at
// Verify, not a failure: the users are already moved.
func (s *Steps) PauseReconcile(ctx context.Context, in RunInput) (Run, error) {
	s.Failover.Pause(ctx, s.config(in.Run.Request), &in.Run.Result)
	return s.next(in.Run), nil
}

// Verify reads both modes and the schedule back and states what is not as a failover leaves it.
func (s *Steps) Verify(ctx context.Context, in RunInput) (Run, error) {
	run := in.Run
	s.Failover.Verify(ctx, s.config(run.Request), &run.Result)
	run.Retry = false
	run.Complete = len(run.Result.Findings) == 0
	run.Summary = fmt.Sprintf("primary %s %s, DR %s %s, schedule %s", run.Result.Primary.Pool, run.Result.Primary.Action, run.Result.DR.Pool, run.Result.DR.Action, run.Result.Schedule.Action)
	if !run.Complete {
		run.Summary += fmt.Sprintf("; %d finding(s): %s", len(run.Result.Findings), strings.Join(run.Result.Findings, "; "))
	}
	return run, nil
}

// Report is the run as the execution's output and the notification show it.
func (r Run) Report() Report { return NewReport(r.Result, r.Request.Bucket, r.Request.BucketRegion) }

// NotifyFailover publishes the outcome to the operators' topic: the report and the failback input
// with the failover time filled in, or the error and what it left behind.
func (s *Steps) NotifyFailover(ctx context.Context, in NotifyInput) (Report, error) {
	var subject string
	var body strings.Builder
	var rep Report
	switch {
	case in.Outcome == OutcomeDone && in.Run != nil:
		rep = in.Run.Report()
		subject = "Cognito DR failover done: " + in.Run.Result.DR.Pool + " serves users"
		if !in.Run.Complete {
			subject = "Cognito DR failover INCOMPLETE: " + in.Run.Summary
		}
		fmt.Fprintf(&body, "Failover %s.\n\n", in.ExecutionName)
		if err := rep.WriteText(&body); err != nil {
			return Report{}, err
		}
		body.WriteString("\nRunning the failover again with the same input is harmless: what is done is reported as such and the failover time stays.\n")
	case in.Outcome == OutcomeFailed:
		subject = "Cognito DR failover failed"
		if in.Error != nil {
			subject += ": " + in.Error.Error
		}
		fmt.Fprintf(&body, "Failover %s failed.\n\n", in.ExecutionName)
		if in.Run == nil {
			subject += ", nothing was changed"
			body.WriteString("Nothing was changed: the failover failed before it wrote either pool's mode or the schedule.\n\n")
		} else {
			rep = in.Run.Report()
			subject += " after changes"
			body.WriteString("Changes may have been made before the failure; the run so far:\n\n")
			if err := rep.WriteText(&body); err != nil {
				return Report{}, err
			}
			body.WriteString("\n")
		}
		if in.Error != nil {
			fmt.Fprintf(&body, "%s: %s\n\n", in.Error.Error, in.Error.Message())
		}
		body.WriteString("Running the failover again with the same input is safe: each step does only what is not done yet.\n")
	default:
		return Report{}, stateerr.Invalid("outcome %q with run %t: want %s with a run, or %s", in.Outcome, in.Run != nil, OutcomeDone, OutcomeFailed)
	}
	if _, err := notify.Publish(ctx, s.SNS, s.TopicArn, subject, body.String()); err != nil {
		return Report{}, err
	}
	return rep, nil
}
