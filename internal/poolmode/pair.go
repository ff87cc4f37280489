package poolmode

import (
	"context"
	"sync"
	"time"
)

// Reading is one pool's mode as read: its State, or Err (wrapping ErrNotSet when none is set).
type Reading struct {
	State State
	Err   error
}

// Is reports whether the mode was read and is m.
func (r Reading) Is(m Mode) bool { return r.Err == nil && r.State.Mode == m }

// Pair is both pools' modes as read at one moment.
type Pair struct {
	Primary, DR Reading
}

// ReadPair reads both pools' modes at once, each within timeout (0: the caller's context alone
// bounds them): a Region that does not answer costs the timeout, not a stalled reader.
func ReadPair(ctx context.Context, primary, dr Parameter, timeout time.Duration) Pair {
	var p Pair
	var wg sync.WaitGroup
	for _, r := range []struct {
		param Parameter
		out   *Reading
	}{{primary, &p.Primary}, {dr, &p.DR}} {
		wg.Go(func() {
			ctx := ctx
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			r.out.State, r.out.Err = r.param.Get(ctx)
		})
	}
	wg.Wait()
	return p
}

// Together is what two pools' modes mean together.
type Together string

// The ways two pools' modes stand together.
const (
	// OneActive: one pool active, the other fenced — as deployed, or failed over.
	OneActive Together = "one-active"
	// BothActive: users can sign up and change data in both pools; what one takes the other
	// never sees.
	BothActive Together = "both-active"
	// BothFenced: no user can sign in anywhere.
	BothFenced Together = "both-fenced"
	// Unknown: a mode could not be read (or is not set).
	Unknown Together = "unknown"
)

// Together is the rule readiness's pool-modes check and the mode watch apply: exactly one pool
// must be active.
func (p Pair) Together() Together {
	switch {
	case p.Primary.Err != nil || p.DR.Err != nil:
		return Unknown
	case p.Primary.State.Mode == Active && p.DR.State.Mode == Active:
		return BothActive
	case p.Primary.State.Mode == Fenced && p.DR.State.Mode == Fenced:
		return BothFenced
	}
	return OneActive
}

// NoneActive reports that no pool reads active: both fenced, or the pool that could be read is
// fenced. Nobody is served by a pool known to serve — the serving side is fenced or unknown.
func (p Pair) NoneActive() bool { return !p.Primary.Is(Active) && !p.DR.Is(Active) }
