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
	pair := poolmode.ReadPair(ctx,
		poolmode.Parameter{Client: ssm(cfg.PrimaryRegion), Name: poolmode.ParameterName(cfg.PrimaryPool)},
		poolmode.Parameter{Client: ssm(cfg.DRRegion), Name: poolmode.ParameterName(cfg.DRPool)}, 0)
	var f findings
	var desc []string
	for _, r := range []struct {
		role, pool string
		read       poolmode.Reading
	}{{"primary", cfg.PrimaryPool, pair.Primary}, {"DR", cfg.DRPool, pair.DR}} {
		switch {
		case errors.Is(r.read.Err, poolmode.ErrNotSet):
			f.warnf("%s pool %s has no mode (%s not set): its gate lets everyone in; deploy the gate", r.role, r.pool, poolmode.ParameterName(r.pool))
		case r.read.Err != nil:
			f.warnf("%s pool %s: %v (its gate keeps its last known mode, or lets everyone in)", r.role, r.pool, r.read.Err)
		default:
			desc = append(desc, describeMode(r.role, r.pool, r.read.State))
		}
	}
	switch pair.Together() {
	case poolmode.BothActive:
		f.failf("both pools are active (%s; %s): users can sign up and change data in both; fence one", desc[0], desc[1])
	case poolmode.BothFenced:
		f.failf("both pools are fenced (%s; %s): no user can sign in anywhere; activate one", desc[0], desc[1])
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
