// Package failover is the failover state machine (statemachines/failover.asl.json): the same
// failover as `cognito-dr failover`, started from the console in the DR Region. Its tasks are thin:
// each runs one step of internal/failover (Check, Fence, Activate, Pause, Verify), which stays the
// one implementation of the failover; the state machine waits between attempts to fence an
// unreachable primary, so no Lambda sleeps. The package also holds the mode watch, the scheduled
// task that publishes the two pools' modes as metrics for the stack's alarms.
package failover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// Limits of a Request.
const (
	// MaxFenceTimeoutSeconds bounds how long the machine keeps trying to fence: a day.
	MaxFenceTimeoutSeconds = 86400
	// MaxFenceAttempts bounds fenceTimeoutSeconds / retryIntervalSeconds: each attempt adds about
	// ten events to the execution's history, which Step Functions caps at 25,000.
	MaxFenceAttempts = 1000
)

// Request is the execution input: what an operator pastes in the console (the stack's
// FailoverInput output is one, filled in).
type Request struct {
	// PrimaryUserPoolID and PrimaryRegion name the pool to fence (e.g. Tokyo).
	PrimaryUserPoolID string `json:"primaryUserPoolId"`
	PrimaryRegion     string `json:"primaryRegion"`
	// DRUserPoolID and DRRegion name the pool to activate (e.g. Osaka), where the reconcile
	// schedule runs.
	DRUserPoolID string `json:"drUserPoolId"`
	DRRegion     string `json:"drRegion"`
	// Message is what the primary's users are told when refused; empty leaves the gate's.
	Message string `json:"message,omitempty"`
	// ScheduleName and ScheduleGroup name the reconcile schedule to pause; defaults
	// cognito-dr-reconcile and default. NoSchedule pauses none (reconcile is not deployed).
	ScheduleName  string `json:"scheduleName,omitempty"`
	ScheduleGroup string `json:"scheduleGroup,omitempty"`
	NoSchedule    bool   `json:"noSchedule,omitempty"`
	// RetryIntervalSeconds is the wait between attempts to fence an unreachable primary (default
	// 5); FenceTimeoutSeconds how long attempts go on (default 120).
	RetryIntervalSeconds int `json:"retryIntervalSeconds,omitempty"`
	FenceTimeoutSeconds  int `json:"fenceTimeoutSeconds,omitempty"`
	// Bucket and BucketRegion fill in the failback input the notification carries.
	Bucket       string `json:"bucket,omitempty"`
	BucketRegion string `json:"bucketRegion,omitempty"`
}

// withDefaults fills in what the request leaves out and checks it, naming every problem as
// InvalidInput: the first state refuses a bad request before anything is read or changed.
func (r Request) withDefaults() (Request, error) {
	if r.ScheduleName == "" && !r.NoSchedule {
		r.ScheduleName = failover.DefaultScheduleName
	}
	if r.ScheduleGroup == "" && !r.NoSchedule {
		r.ScheduleGroup = failover.DefaultScheduleGroup
	}
	if r.RetryIntervalSeconds == 0 {
		r.RetryIntervalSeconds = int(failover.DefaultRetryInterval / time.Second)
	}
	if r.FenceTimeoutSeconds == 0 {
		r.FenceTimeoutSeconds = int(failover.DefaultFenceTimeout / time.Second)
	}
	var problems []error
	if err := r.config(0).Validate(); err != nil {
		problems = append(problems, err)
	}
	if r.NoSchedule && (r.ScheduleName != "" || r.ScheduleGroup != "") {
		problems = append(problems, errors.New("noSchedule with a scheduleName or scheduleGroup: choose one"))
	}
	switch {
	case r.RetryIntervalSeconds < 1:
		problems = append(problems, fmt.Errorf("retryIntervalSeconds %d: want at least 1", r.RetryIntervalSeconds))
	case r.FenceTimeoutSeconds < r.RetryIntervalSeconds || r.FenceTimeoutSeconds > MaxFenceTimeoutSeconds:
		problems = append(problems, fmt.Errorf("fenceTimeoutSeconds %d: want from retryIntervalSeconds (%d) to %d", r.FenceTimeoutSeconds, r.RetryIntervalSeconds, MaxFenceTimeoutSeconds))
	case r.FenceTimeoutSeconds/r.RetryIntervalSeconds > MaxFenceAttempts:
		problems = append(problems, fmt.Errorf("fenceTimeoutSeconds %d / retryIntervalSeconds %d is more than %d attempts: the execution history would overflow; wait longer between attempts",
			r.FenceTimeoutSeconds, r.RetryIntervalSeconds, MaxFenceAttempts))
	}
	if (r.Bucket == "") != (r.BucketRegion == "") {
		problems = append(problems, errors.New("bucket and bucketRegion go together"))
	}
	if err := errors.Join(problems...); err != nil {
		return r, stateerr.Invalid("failover request: %v", err)
	}
	return r, nil
}

// config is the failover the request asks for, each AWS call bounded by callTimeout.
func (r Request) config(callTimeout time.Duration) failover.Config {
	return failover.Config{
		PrimaryPool: r.PrimaryUserPoolID, PrimaryRegion: r.PrimaryRegion, DRPool: r.DRUserPoolID, DRRegion: r.DRRegion,
		Message: r.Message, ScheduleName: r.ScheduleName, ScheduleGroup: r.ScheduleGroup,
		FenceTimeout:  time.Duration(r.FenceTimeoutSeconds) * time.Second,
		RetryInterval: time.Duration(r.RetryIntervalSeconds) * time.Second,
		CallTimeout:   callTimeout,
	}
}

// Run is the state the tasks pass along: the request with its defaults, the failover's result so
// far, and what the state machine does next.
type Run struct {
	Request Request         `json:"request"`
	Result  failover.Result `json:"result"`
	// Retry: the primary is not fenced and another attempt fits in the fence timeout; the state
	// machine waits retryIntervalSeconds and fences again.
	Retry bool `json:"retry"`
	// Complete: verified with no finding (set by Verify). An incomplete failover ends the
	// execution failed, after the notification.
	Complete bool `json:"complete"`
	// Summary is one line for the execution's cause and the notification's subject.
	Summary string `json:"summary,omitempty"`
}

// CheckInput is the first task's input: the execution input as given.
type CheckInput struct {
	Request Request `json:"request"`
}

// RunInput is the input of every later step.
type RunInput struct {
	Run Run `json:"run"`
}

// StateError is the error object a Catch puts in the state.
type StateError = stateerr.Caught

// Outcomes of NotifyInput.
const (
	OutcomeDone   = "DONE"
	OutcomeFailed = "FAILED"
)

// NotifyInput tells the operators how the failover ended: DONE with the run (verified, with or
// without findings), or FAILED with the error and, once anything may have changed, the run.
type NotifyInput struct {
	ExecutionName string      `json:"executionName"`
	Outcome       string      `json:"outcome"`
	Run           *Run        `json:"run,omitempty"`
	Error         *StateError `json:"error,omitempty"`
}

// Report is a failover's result with the failback input it leads to: what the command prints and
// what the notification and the execution output carry.
type Report struct {
	failover.Result
	// FailbackInput is the failback request with this failover's time (bucket when known).
	FailbackInput failback.Request `json:"failbackInput"`
}

// NewReport is r with its failback input.
func NewReport(r failover.Result, bucket, bucketRegion string) Report {
	return Report{Result: r, FailbackInput: failback.Request{
		PrimaryUserPoolID: r.Primary.Pool, PrimaryRegion: r.Primary.Region, DRUserPoolID: r.DR.Pool, DRRegion: r.DR.Region,
		Bucket: bucket, BucketRegion: bucketRegion, FailoverTime: failover.FailbackTime(r.FailoverTime),
	}}
}

// WriteText writes the report as an operator reads it: each pool's action and mode read back,
// the schedule, the failover time and failback input, notes, findings and OK or INCOMPLETE.
func (out Report) WriteText(w io.Writer) error {
	r := out.Result
	for _, p := range []failover.Pool{r.Primary, r.DR} {
		fmt.Fprintf(w, "%-8s %s (%s): %s", p.Role, p.Pool, p.Region, p.Action)
		if p.Attempts > 1 {
			fmt.Fprintf(w, " after %d attempts", p.Attempts)
		}
		if s := p.State; s != nil {
			fmt.Fprintf(w, "; reads %s since %s", s.Mode, s.Since.UTC().Format(time.RFC3339))
			if s.Cause != "" {
				fmt.Fprintf(w, " (%s)", s.Cause)
			}
		} else {
			fmt.Fprint(w, "; mode not read back")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-8s ", "schedule")
	if r.Schedule.Name != "" {
		fmt.Fprintf(w, "%s/%s (%s): ", r.Schedule.Group, r.Schedule.Name, r.Schedule.Region)
	}
	fmt.Fprint(w, r.Schedule.Action)
	if r.Schedule.State != "" {
		fmt.Fprintf(w, "; reads %s", r.Schedule.State)
	}
	fmt.Fprintln(w)
	if !r.FailoverTime.IsZero() {
		fmt.Fprintf(w, "failover time: %s (the DR pool's mode keeps it)\n", r.FailoverTime.Format(time.RFC3339Nano))
		b, err := json.Marshal(out.FailbackInput)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "failback input: %s\n", b)
		if out.FailbackInput.Bucket == "" {
			fmt.Fprintln(w, "  (bucket and bucketRegion: from the FailbackInput stack output, or pass --bucket and --bucket-region)")
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "FINDING: %s\n", f)
	}
	status := "OK"
	if len(r.Findings) > 0 {
		status = "INCOMPLETE"
	}
	_, err := fmt.Fprintf(w, "failover: %s\n", status)
	return err
}
