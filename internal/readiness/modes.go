package readiness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// CheckModes is the check of the two pools' modes (the gate's active/fenced switch).
const CheckModes = "pool-modes"

// Modes reports both pools' modes, each read from its own Region's parameter
// (poolmode.ParameterName). Exactly one pool must be active: active/active lets users write to
// both pools (a returning primary is fenced only while its gate can read the DR pool's mode), and
// fenced/fenced locks every user out. A mode that is not set or cannot be read is a WARN: that
// pool's gate is open.
func Modes(ctx context.Context, ssm func(region string) poolmode.SSM, cfg Config) Check {
	type read struct {
		role, pool string
		state      poolmode.State
		err        error
	}
	pools := []*read{{role: "primary", pool: cfg.PrimaryPool}, {role: "DR", pool: cfg.DRPool}}
	for i, region := range []string{cfg.PrimaryRegion, cfg.DRRegion} {
		r := pools[i]
		r.state, r.err = poolmode.Parameter{Client: ssm(region), Name: poolmode.ParameterName(r.pool)}.Get(ctx)
	}
	var f findings
	var desc []string
	for _, r := range pools {
		switch {
		case errors.Is(r.err, poolmode.ErrNotSet):
			f.warnf("%s pool %s has no mode (%s not set): its gate lets everyone in; deploy the gate", r.role, r.pool, poolmode.ParameterName(r.pool))
		case r.err != nil:
			f.warnf("%s pool %s: %v (its gate keeps its last known mode, or lets everyone in)", r.role, r.pool, r.err)
		default:
			desc = append(desc, describeMode(r.role, r.pool, r.state))
		}
	}
	if p, d := pools[0], pools[1]; p.err == nil && d.err == nil {
		switch {
		case p.state.Mode == poolmode.Active && d.state.Mode == poolmode.Active:
			f.failf("both pools are active (%s; %s): users can sign up and change data in both; fence one", desc[0], desc[1])
		case p.state.Mode == poolmode.Fenced && d.state.Mode == poolmode.Fenced:
			f.failf("both pools are fenced (%s; %s): no user can sign in anywhere; activate one", desc[0], desc[1])
		}
	}
	return f.check(CheckModes, fmt.Sprintf("one pool active: %s", joinModes(desc)))
}

func describeMode(role, pool string, s poolmode.State) string {
	out := fmt.Sprintf("%s %s %s since %s", role, pool, s.Mode, s.Since.UTC().Format(time.RFC3339))
	if s.Cause != "" {
		out += " (" + s.Cause + ")"
	}
	return out
}

func joinModes(desc []string) string {
	if len(desc) == 2 {
		return desc[0] + "; " + desc[1]
	}
	return fmt.Sprint(desc)
}
