// Package failover moves users from the primary pool to the DR pool with one switch: it fences
// the primary (its gate then refuses sign-up, sign-in and refresh), marks the DR pool active by
// a failover, pauses the reconcile schedule, and reads everything back. The DR pool's mode
// records the failover time (its Since), which is what failback needs and what the gates' peer
// rule compares. Running it again is harmless: what is already done is reported as such, and the
// failover time stays the first run's.
package failover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// Defaults of a Config.
const (
	// DefaultScheduleName is the reconcile schedule the stack deploys (infra's ReconcileScheduleName
	// is this name).
	DefaultScheduleName = "cognito-dr-reconcile"
	// DefaultScheduleGroup is EventBridge Scheduler's group of a schedule created without one.
	DefaultScheduleGroup = "default"
	// DefaultFenceTimeout is how long an unreachable primary is tried before the failover ends
	// without having fenced it.
	DefaultFenceTimeout = 2 * time.Minute
	// DefaultCallTimeout bounds each AWS call: a Region that does not answer in it is down for now.
	DefaultCallTimeout = 5 * time.Second
	// DefaultRetryInterval is the pause between attempts to fence an unreachable primary.
	DefaultRetryInterval = 5 * time.Second
)

// What was done to a pool or the schedule (Pool.Action, Schedule.Action).
const (
	Fenced        = "fenced"
	AlreadyFenced = "already-fenced"
	// NotFenced: the primary's Parameter Store did not answer within the fence timeout.
	NotFenced     = "not-fenced"
	Activated     = "activated"
	AlreadyActive = "already-active"
	// NotActivated: the DR pool's mode could not be written; nothing else was attempted.
	NotActivated  = "not-activated"
	Paused        = "paused"
	AlreadyPaused = "already-paused"
	// NotFound: no schedule of that name: reconcile is not deployed (reported, not a finding).
	NotFound = "not-found"
	// Skipped: no schedule was named.
	Skipped = "skipped"
	// NotPaused: the schedule could not be read or changed.
	NotPaused = "not-paused"
)

// Config is one failover.
type Config struct {
	PrimaryPool, PrimaryRegion string
	DRPool, DRRegion           string
	// Message is what the primary's users are told when refused: where to go instead. Empty
	// leaves the gate's configured or built-in message.
	Message string
	// ScheduleName is the reconcile schedule in the DR Region; empty skips pausing it.
	ScheduleName, ScheduleGroup string
	// FenceTimeout, CallTimeout and RetryInterval: zero means the defaults.
	FenceTimeout, CallTimeout, RetryInterval time.Duration
}

// Validate names every missing setting.
func (c Config) Validate() error {
	var missing []error
	for _, f := range []struct{ name, v string }{
		{"primary pool", c.PrimaryPool}, {"primary Region", c.PrimaryRegion}, {"DR pool", c.DRPool}, {"DR Region", c.DRRegion},
	} {
		if f.v == "" {
			missing = append(missing, fmt.Errorf("no %s", f.name))
		}
	}
	if c.PrimaryPool != "" && c.PrimaryPool == c.DRPool && c.PrimaryRegion == c.DRRegion {
		missing = append(missing, errors.New("the primary and DR pools are the same pool"))
	}
	return errors.Join(missing...)
}

// Scheduler is the EventBridge Scheduler API the package calls.
type Scheduler interface {
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
}

// Failover runs failovers with clients per Region.
type Failover struct {
	SSM       func(region string) poolmode.SSM
	Scheduler func(region string) Scheduler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Pool is what a failover did to one pool and the mode read back afterwards.
type Pool struct {
	Role      string `json:"role"`
	Pool      string `json:"pool"`
	Region    string `json:"region"`
	Parameter string `json:"parameter"`
	Action    string `json:"action"`
	// Attempts counts the writes tried (the primary's fence is retried while unreachable).
	Attempts int `json:"attempts,omitempty"`
	// Before is the mode read before anything was changed (the DR pool's; nil when none is set).
	Before *poolmode.State `json:"before,omitempty"`
	// State is the mode read back at the end; nil when it could not be read.
	State *poolmode.State `json:"state,omitempty"`
	Error string          `json:"error,omitempty"`
}

// Schedule is what a failover did to the reconcile schedule and its state read back.
type Schedule struct {
	Name   string `json:"name,omitempty"`
	Group  string `json:"group,omitempty"`
	Region string `json:"region,omitempty"`
	Action string `json:"action"`
	// State is ENABLED or DISABLED as read back at the end.
	State string `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
}

// Result is a failover's outcome. Findings are what an operator must act on (the command exits
// 1 when there are any); Notes are for information.
type Result struct {
	// FailoverTime is when the DR pool became active by this failover (or the earlier one a
	// re-run found): the DR mode's Since, failback's failoverTime.
	FailoverTime time.Time `json:"failoverTime"`
	// Started is when this run began: the Since of the fence it writes, and where the fence
	// timeout counts from.
	Started  time.Time `json:"started"`
	Primary  Pool      `json:"primary"`
	DR       Pool      `json:"dr"`
	Schedule Schedule  `json:"schedule"`
	Findings []string  `json:"findings"`
	Notes    []string  `json:"notes"`
}

func (r *Result) findingf(format string, args ...any) {
	r.Findings = append(r.Findings, fmt.Sprintf(format, args...))
}

func (r *Result) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (f *Failover) now() time.Time {
	if f.Now != nil {
		return f.Now().UTC()
	}
	return time.Now().UTC()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// AnotherAttempt reports whether one more attempt to fence the primary, a retry interval from
// now, still falls within the fence timeout of a run started at started.
func (c Config) AnotherAttempt(started, now time.Time) bool {
	return now.Add(orDefault(c.RetryInterval, DefaultRetryInterval)).Before(started.Add(orDefault(c.FenceTimeout, DefaultFenceTimeout)))
}

// FailbackTime is a failover time as failback's failoverTime: RFC 3339, rounded down to the
// second so no DR change made in the failover's first second is left out; "" for none.
func FailbackTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// Parameters are the two pools' mode parameters, each with its own Region's client.
func (f *Failover) Parameters(c Config) (primary, dr poolmode.Parameter) {
	return poolmode.Parameter{Client: f.SSM(c.PrimaryRegion), Name: poolmode.ParameterName(c.PrimaryPool)},
		poolmode.Parameter{Client: f.SSM(c.DRRegion), Name: poolmode.ParameterName(c.DRPool)}
}

// Run fails over. The primary is tried once first (a database fences the old writer before it
// promotes the new one); if its Region does not answer, the DR pool is activated anyway and the
// primary is tried again until FenceTimeout. An error means nothing could be done (bad config,
// or the DR pool's mode could not be written); everything else is in the Result.
//
// Run is Check, Fence, Activate, Pause, Fence again while AnotherAttempt, and Verify: the
// failover state machine runs the same steps, one task each, and waits in ASL instead.
func (f *Failover) Run(ctx context.Context, cfg Config) (Result, error) {
	start := time.Now()
	r, err := f.Check(ctx, cfg)
	if err != nil {
		return r, err
	}
	f.Fence(ctx, cfg, &r)
	if err := f.Activate(ctx, cfg, &r); err != nil {
		return r, err
	}
	f.Pause(ctx, cfg, &r)
	for r.Primary.Action == NotFenced && cfg.AnotherAttempt(start, time.Now()) {
		t := time.NewTimer(orDefault(cfg.RetryInterval, DefaultRetryInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			r.Primary.Error = errors.Join(errors.New(r.Primary.Error), ctx.Err()).Error()
		case <-t.C:
			f.Fence(ctx, cfg, &r)
		}
		if ctx.Err() != nil {
			break
		}
	}
	f.Verify(ctx, cfg, &r)
	return r, nil
}

// Check validates cfg and reads the DR pool's mode, changing nothing: the DR pool must answer
// before the primary is fenced, since fencing a primary for a DR pool that cannot be activated
// would lock every user out. The Result it returns is the one the other steps fill in.
func (f *Failover) Check(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	primary, dr := f.Parameters(cfg)
	r := Result{
		Started: f.now(), Findings: []string{}, Notes: []string{},
		Primary: Pool{Role: "primary", Pool: cfg.PrimaryPool, Region: cfg.PrimaryRegion, Parameter: primary.Name},
		DR:      Pool{Role: "DR", Pool: cfg.DRPool, Region: cfg.DRRegion, Parameter: dr.Name},
	}
	s, err := f.read(ctx, dr, orDefault(cfg.CallTimeout, DefaultCallTimeout))
	switch {
	case errors.Is(err, poolmode.ErrNotSet):
	case err != nil:
		r.DR.Action, r.DR.Error = NotActivated, err.Error()
		return r, fmt.Errorf("DR pool %s in %s does not answer, nothing was changed: %w", cfg.DRPool, cfg.DRRegion, err)
	default:
		r.DR.Before = &s
	}
	return r, nil
}

// Fence makes one attempt to fence the primary: r.Primary.Action is Fenced or AlreadyFenced,
// or NotFenced with the error when its Region did not answer (a later attempt may).
func (f *Failover) Fence(ctx context.Context, cfg Config, r *Result) {
	primary, _ := f.Parameters(cfg)
	if err := f.fence(ctx, primary, cfg, r.Started, orDefault(cfg.CallTimeout, DefaultCallTimeout), &r.Primary); err != nil {
		r.Primary.Action, r.Primary.Error = NotFenced, err.Error()
		return
	}
	r.Primary.Error = ""
}

// Activate marks the DR pool active by a failover (see activate). An error means its mode could
// not be written; it says whether the primary was fenced all the same.
func (f *Failover) Activate(ctx context.Context, cfg Config, r *Result) error {
	_, dr := f.Parameters(cfg)
	var before poolmode.State
	if r.DR.Before != nil {
		before = *r.DR.Before
	}
	if err := f.activate(ctx, dr, before, r.Started, orDefault(cfg.CallTimeout, DefaultCallTimeout), r); err != nil {
		r.DR.Action, r.DR.Error = NotActivated, err.Error()
		did := "the primary was not fenced either"
		if r.Primary.Action == Fenced || r.Primary.Action == AlreadyFenced {
			did = "the primary is fenced: no pool lets users in until failover is run again"
		}
		return fmt.Errorf("activate DR pool %s in %s (%s): %w", cfg.DRPool, cfg.DRRegion, did, err)
	}
	return nil
}

// Pause disables the reconcile schedule (see pause); what happened is in r.Schedule.
func (f *Failover) Pause(ctx context.Context, cfg Config, r *Result) {
	f.pause(ctx, cfg, orDefault(cfg.CallTimeout, DefaultCallTimeout), &r.Schedule)
}

// Verify reads both modes and the schedule back into r and states as findings what is not as a
// failover leaves it.
func (f *Failover) Verify(ctx context.Context, cfg Config, r *Result) {
	primary, dr := f.Parameters(cfg)
	f.verify(ctx, primary, dr, cfg, orDefault(cfg.CallTimeout, DefaultCallTimeout), r)
}

// read reads a pool's mode within timeout.
func (f *Failover) read(ctx context.Context, p poolmode.Parameter, timeout time.Duration) (poolmode.State, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return p.Get(ctx)
}

// fence writes the primary's fenced mode unless it is fenced already. Each call is bounded.
func (f *Failover) fence(ctx context.Context, p poolmode.Parameter, cfg Config, now time.Time, timeout time.Duration, out *Pool) error {
	out.Attempts++
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := p.Get(ctx)
	switch {
	case err == nil && s.Mode == poolmode.Fenced:
		out.Action = AlreadyFenced
		return nil
	case err != nil && !errors.Is(err, poolmode.ErrNotSet):
		return err
	}
	if err := p.Set(ctx, poolmode.State{Mode: poolmode.Fenced, Since: now, Cause: poolmode.CauseFailover, Message: cfg.Message}); err != nil {
		return err
	}
	out.Action = Fenced
	return nil
}

// activate marks the DR pool active by a failover, unless an earlier failover did: its Since is
// the failover time, which a re-run must not move (failback and the peer rule read it).
// s is the DR pool's state read before the primary was fenced (zero when none is set).
func (f *Failover) activate(ctx context.Context, p poolmode.Parameter, s poolmode.State, now time.Time, timeout time.Duration, r *Result) error {
	switch {
	case s.Mode == poolmode.Active && s.Cause == poolmode.CauseFailover:
		r.DR.Action, r.FailoverTime = AlreadyActive, s.Since.UTC()
		return nil
	case s.Mode == poolmode.Active:
		// Active by a deployment or an operator: both pools were active. Activating it again by
		// a failover now is what makes the primary's gate yield (the peer rule).
		r.notef("DR pool %s was already active (cause %q since %s); marked active by this failover", p.Name, s.Cause, s.Since.UTC().Format(time.RFC3339))
	}
	r.DR.Attempts++
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.Set(ctx, poolmode.State{Mode: poolmode.Active, Since: now, Cause: poolmode.CauseFailover}); err != nil {
		return err
	}
	r.DR.Action, r.FailoverTime = Activated, now
	return nil
}

// pause disables the reconcile schedule. UpdateSchedule replaces the whole schedule, so it is
// sent back whole as GetSchedule returned it, with only State changed.
func (f *Failover) pause(ctx context.Context, cfg Config, timeout time.Duration, out *Schedule) {
	if cfg.ScheduleName == "" {
		out.Action = Skipped
		return
	}
	group := cfg.ScheduleGroup
	if group == "" {
		group = DefaultScheduleGroup
	}
	out.Name, out.Group, out.Region = cfg.ScheduleName, group, cfg.DRRegion
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	changed, _, err := setScheduleState(ctx, f.Scheduler(cfg.DRRegion), cfg.ScheduleName, group, schedtypes.ScheduleStateDisabled)
	switch _, notFound := errors.AsType[*schedtypes.ResourceNotFoundException](err); {
	case notFound:
		out.Action = NotFound
	case err != nil:
		out.Action, out.Error = NotPaused, err.Error()
	case !changed:
		out.Action = AlreadyPaused
	default:
		out.Action = Paused
	}
}

// verify reads both modes and the schedule back and states what is not as a failover leaves it.
func (f *Failover) verify(ctx context.Context, primary, dr poolmode.Parameter, cfg Config, timeout time.Duration, r *Result) {
	read := func(p poolmode.Parameter, out *Pool) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		s, err := p.Get(ctx)
		if err != nil {
			if out.Error == "" {
				out.Error = "read back: " + err.Error()
			}
			return
		}
		out.State = &s
	}
	read(primary, &r.Primary)
	read(dr, &r.DR)

	switch {
	case r.DR.State == nil:
		r.findingf("DR pool %s: its mode could not be read back (%s)", cfg.DRPool, r.DR.Error)
	case r.DR.State.Mode != poolmode.Active:
		r.findingf("DR pool %s reads %s after the failover, not active: another failover or failback ran at the same time?", cfg.DRPool, r.DR.State.Mode)
	}
	switch {
	case r.Primary.Action == NotFenced:
		r.findingf("primary pool %s in %s could not be fenced within %s (%s). Its gate still refuses users once it reads the DR pool's mode "+
			"(active by failover since %s, after the primary's last activation: the peer rule), so a returning primary is fenced; "+
			"run failover again when %s answers, to fence it for good",
			cfg.PrimaryPool, cfg.PrimaryRegion, orDefault(cfg.FenceTimeout, DefaultFenceTimeout), r.Primary.Error,
			r.FailoverTime.Format(time.RFC3339), cfg.PrimaryRegion)
	case r.Primary.State == nil:
		r.findingf("primary pool %s: fenced, but its mode could not be read back (%s)", cfg.PrimaryPool, r.Primary.Error)
	case r.Primary.State.Mode != poolmode.Fenced:
		r.findingf("primary pool %s reads %s after the failover, not fenced", cfg.PrimaryPool, r.Primary.State.Mode)
	}

	switch r.Schedule.Action {
	case Skipped:
		r.notef("reconcile schedule not paused (none named)")
		return
	case NotFound:
		r.notef("reconcile schedule %s/%s not found in %s: reconcile is not deployed there, nothing to pause", r.Schedule.Group, r.Schedule.Name, r.Schedule.Region)
		return
	case NotPaused:
		r.findingf("reconcile schedule %s/%s in %s is not paused: %s", r.Schedule.Group, r.Schedule.Name, r.Schedule.Region, r.Schedule.Error)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := f.Scheduler(cfg.DRRegion).GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(r.Schedule.Name), GroupName: aws.String(r.Schedule.Group)})
	if err != nil {
		r.findingf("reconcile schedule %s/%s: could not be read back: %v", r.Schedule.Group, r.Schedule.Name, err)
		return
	}
	r.Schedule.State = string(s.State)
	if s.State != schedtypes.ScheduleStateDisabled {
		r.findingf("reconcile schedule %s/%s reads %s after the failover, not DISABLED", r.Schedule.Group, r.Schedule.Name, s.State)
	}
}
