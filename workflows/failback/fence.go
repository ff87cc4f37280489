package failback

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// The switch of a failback. Right after the approval the DR pool is fenced (its gate refuses
// sign-up, sign-in and refresh within its cache), so nothing more changes there; a final plan
// then carries back what changed between the first plan and the fence. At the end the primary is
// marked active and reconcile resumes. Modes and the schedule are written by internal/failover,
// the one implementation of the switch.

// FenceUnconfirmed is Fence.Action before FenceDr answered (the state machine's StartFence): the
// DR pool may or may not be fenced.
const FenceUnconfirmed = "unconfirmed"

// Fence is what the failback did to the DR pool's mode, carried in the state from the fence on.
type Fence struct {
	Pool   string `json:"pool"`
	Region string `json:"region"`
	// Parameter is the DR pool's mode parameter (in Region).
	Parameter string `json:"parameter,omitempty"`
	// Action is fenced, already-fenced, reopened, or unconfirmed.
	Action string `json:"action"`
	// State is the mode the DR pool has now, as written.
	State *poolmode.State `json:"state,omitempty"`
	// Previous is the DR pool's mode before the fence (nil when none was set): what reopening
	// writes back.
	Previous *poolmode.State `json:"previous,omitempty"`
}

// fenceRecord is FenceRecordFile.
type fenceRecord struct {
	Previous *poolmode.State `json:"previous"`
}

// ReopenInput is what the ReopenDr states pass: the final plan was rejected or not approved in time.
type ReopenInput struct {
	Plan  Plan  `json:"plan"`
	Fence Fence `json:"fence"`
}

// PlanPair is a plan with its import CSVs and the digests that bind them.
type PlanPair struct {
	Plan Plan      `json:"plan"`
	CSV  CSVOutput `json:"csv"`
}

// CompareInput is what the CompareFinalPlan state passes.
type CompareInput struct {
	Approved PlanPair `json:"approved"`
	Final    PlanPair `json:"final"`
}

// Comparison is how the final plan goes beyond the approved one. A change is one user to import
// (with its attributes) or one action (update, membership, disable) exactly as planned.
type Comparison struct {
	// WithinMargin: the final plan proceeds under the first approval.
	WithinMargin    bool `json:"withinMargin"`
	ApprovedChanges int  `json:"approvedChanges"`
	FinalChanges    int  `json:"finalChanges"`
	// NewChanges are in the final plan and not in the approved one; Dropped the reverse (a user
	// deleted in DR, a change undone), which asks for no approval: less is applied.
	NewChanges int `json:"newChanges"`
	Dropped    int `json:"dropped"`
	// Margin is how many new changes the first approval covers.
	Margin int `json:"margin"`
}

// ActivateInput is what the ActivatePrimary state passes.
type ActivateInput struct {
	Plan Plan `json:"plan"`
}

// Activation is what the end of a failback did: the primary's mode and the reconcile schedule.
type Activation struct {
	Primary  failover.Pool     `json:"primary"`
	Schedule failover.Schedule `json:"schedule"`
}

func (s *Steps) modes() *failover.Failover {
	return &failover.Failover{SSM: s.SSM, Scheduler: s.Scheduler, Now: s.Now}
}

func (p Plan) runPrefix() string {
	if p.RunPrefix != "" {
		return p.RunPrefix
	}
	return p.Prefix
}

// FenceDr fences the DR pool (cause failback, the request's message) after recording its mode
// from before, so a rejected final plan can reopen it exactly as it was.
func (s *Steps) FenceDr(ctx context.Context, in PlanRef) (Fence, error) {
	p := in.Plan
	req := p.Request
	f := Fence{Pool: req.DRUserPoolID, Region: req.DRRegion, Parameter: poolmode.ParameterName(req.DRUserPoolID)}
	store := s.S3(p.Region)
	key := p.runPrefix() + FenceRecordFile
	var rec fenceRecord
	err := getJSON(ctx, store, p.Bucket, key, &rec)
	var missing *s3types.NoSuchKey
	switch {
	case errors.As(err, &missing):
		// First attempt: record the mode before changing it.
		prev, set, err := s.modes().Mode(ctx, req.DRUserPoolID, req.DRRegion)
		if err != nil {
			return f, fmt.Errorf("read the DR pool's mode before fencing it (nothing was changed): %w", err)
		}
		if set && prev.Mode == poolmode.Fenced && prev.Cause == poolmode.CauseFailback {
			// An earlier failback fenced it and failed: before that, the DR pool was active since
			// the failover. Reopening to "fenced" would leave neither pool active.
			at, err := time.Parse(time.RFC3339, req.FailoverTime)
			if err != nil {
				return f, stateerr.Invalid("failoverTime %q: %v", req.FailoverTime, err)
			}
			prev = poolmode.State{Mode: poolmode.Active, Since: at, Cause: poolmode.CauseFailover}
		}
		if set {
			rec.Previous = &prev
		}
		body, err := json.Marshal(rec)
		if err != nil {
			return f, err
		}
		if _, err := s3stream.Put(ctx, store, p.Bucket, key, body); err != nil {
			return f, fmt.Errorf("record the DR pool's mode before fencing it (nothing was changed): %w", err)
		}
	case err != nil:
		return f, fmt.Errorf("read s3://%s/%s: %w", p.Bucket, key, err)
	}
	f.Previous = rec.Previous
	action, st, err := s.modes().FenceForFailback(ctx, req.DRUserPoolID, req.DRRegion, req.FencedMessage)
	if err != nil {
		return f, fmt.Errorf("fence DR pool %s in %s: %w", req.DRUserPoolID, req.DRRegion, err)
	}
	f.Action, f.State = action, &st
	return f, nil
}

// ReopenDr writes back the DR pool's mode from before the fence: the final plan was rejected or
// not approved in time, nothing was imported, and the pools must not end with neither active.
func (s *Steps) ReopenDr(ctx context.Context, in ReopenInput) (Fence, error) {
	f := in.Fence
	req := in.Plan.Request
	if f.Pool != req.DRUserPoolID || f.Region != req.DRRegion {
		return f, stateerr.Invalid("fence names pool %s in %s, the plan's DR pool is %s in %s", f.Pool, f.Region, req.DRUserPoolID, req.DRRegion)
	}
	st, err := s.modes().Reopen(ctx, f.Pool, f.Region, f.Previous)
	if err != nil {
		return f, fmt.Errorf("reopen DR pool %s in %s: %w", f.Pool, f.Region, err)
	}
	f.Action, f.State = failover.Reopened, &st
	return f, nil
}

// CompareFinalPlan compares the final plan, taken after the fence, with the approved one. Both are
// read from files the state's digests bind.
func (s *Steps) CompareFinalPlan(ctx context.Context, in CompareInput) (Comparison, error) {
	a, f := in.Approved, in.Final
	if !f.Plan.Final || a.Plan.Final || f.Plan.RunPrefix != a.Plan.Prefix {
		return Comparison{}, stateerr.Invalid("compare: %s is not the final plan of %s", f.Plan.Prefix, a.Plan.Prefix)
	}
	for _, pp := range []PlanPair{a, f} {
		if err := s.verifyBound(ctx, pp.Plan, "CompareFinalPlan", pp.CSV.PlanFiles.Actions, pp.CSV.PlanFiles.ImportUsers); err != nil {
			return Comparison{}, err
		}
	}
	approved, err := s.changes(ctx, a.Plan)
	if err != nil {
		return Comparison{}, err
	}
	final, err := s.changes(ctx, f.Plan)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{ApprovedChanges: len(approved), FinalChanges: len(final)}
	for h := range final {
		if !approved[h] {
			c.NewChanges++
		}
	}
	for h := range approved {
		if !final[h] {
			c.Dropped++
		}
	}
	req := f.Plan.Request
	c.Margin = margin(req, c.ApprovedChanges)
	c.WithinMargin = c.NewChanges <= c.Margin
	return c, nil
}

// margin is how many new changes an approval of approved changes covers.
func margin(req Request, approved int) int {
	users, percent := DefaultApprovalMarginUsers, DefaultApprovalMarginPercent
	if req.ApprovalMarginUsers != nil {
		users = *req.ApprovalMarginUsers
	}
	if req.ApprovalMarginPercent != nil {
		percent = *req.ApprovalMarginPercent
	}
	return max(users, int(math.Floor(percent/100*float64(approved))))
}

// changes are a plan's changes, each the digest of what is applied: a user to import with its
// attributes, or an action without the primary's values before it (which the fenced DR pool
// cannot move, and which are shown to the approver, not applied).
func (s *Steps) changes(ctx context.Context, p Plan) (map[[32]byte]bool, error) {
	store := s.S3(p.Region)
	set := map[[32]byte]bool{}
	add := func(kind string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		set[sha256.Sum256(append([]byte(kind+"\n"), b...))] = true
		return nil
	}
	m := p.matcher()
	if err := snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+ImportUsersFile, func(u snapshot.User) error {
		return add("import", struct {
			Key        string            `json:"key"`
			Attributes map[string]string `json:"attributes"`
			Enabled    bool              `json:"enabled"`
			Status     string            `json:"status"`
		}{m.Key(u), u.Attributes, u.Enabled, u.Status})
	}); err != nil {
		return nil, fmt.Errorf("read the users to import of %s: %w", p.Prefix, err)
	}
	if err := snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+ActionsFile, func(a Action) error {
		a.Was = nil
		return add("action", a)
	}); err != nil {
		return nil, fmt.Errorf("read the actions of %s: %w", p.Prefix, err)
	}
	return set, nil
}

// ActivatePrimary marks the primary active by the failback and resumes the reconcile schedule the
// failover paused. A schedule that cannot be resumed does not stop the failback: the report and
// its email say so, with what to do.
func (s *Steps) ActivatePrimary(ctx context.Context, in ActivateInput) (Activation, error) {
	req := in.Plan.Request
	out := Activation{Primary: failover.Pool{Role: "primary", Pool: req.PrimaryUserPoolID, Region: req.PrimaryRegion, Parameter: poolmode.ParameterName(req.PrimaryUserPoolID)}}
	action, st, err := s.modes().ActivatePrimary(ctx, req.PrimaryUserPoolID, req.PrimaryRegion)
	if err != nil {
		return out, fmt.Errorf("activate primary pool %s in %s: %w", req.PrimaryUserPoolID, req.PrimaryRegion, err)
	}
	out.Primary.Action, out.Primary.State = action, &st
	out.Schedule = s.modes().ResumeSchedule(ctx, req.DRRegion, s.ScheduleName, s.ScheduleGroup)
	return out, nil
}
