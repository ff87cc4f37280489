package poolmode

import (
	"context"
	"sync"
	"time"
)

// Defaults of a Gate.
const (
	// DefaultTTL bounds how long a read mode is used: a fence takes effect within it.
	DefaultTTL = 5 * time.Second
	// MaxTTL is the longest cache the gate accepts: beyond it a fence would be too slow to bite.
	MaxTTL = 10 * time.Second
	// DefaultReadTimeout bounds reading the pool's own mode. Cognito waits 5 s for a trigger,
	// which may also chain to another function.
	DefaultReadTimeout = time.Second
	// DefaultPeerTimeout bounds reading the peer's mode: a Region that does not answer this fast
	// is treated as down.
	DefaultPeerTimeout = 500 * time.Millisecond
)

// Why a gate decided as it did (Decision.Reason), for the trigger's log line.
const (
	// ReasonMode: the pool's own mode, as read within the TTL.
	ReasonMode = "mode"
	// ReasonLastKnown: the mode could not be read; the last one read stands.
	ReasonLastKnown = "last-known-mode"
	// ReasonUnknown: no mode could ever be read (or none is set): the gate fails open.
	ReasonUnknown = "mode-unknown-open"
	// ReasonPeerFailover: the peer became active by a failover after this pool's last activation.
	ReasonPeerFailover = "peer-failed-over"
	// ReasonPeerActive: this pool's mode was never read, and the peer answers that it is active.
	ReasonPeerActive = "own-mode-unknown-peer-active"
	// ReasonNotConfigured: the gate has no parameter to read: it fails open.
	ReasonNotConfigured = "gate-not-configured"
)

// Decision is the gate's answer for one event.
type Decision struct {
	Mode Mode
	// Message is what to tell the user when fenced.
	Message string
	// Reason says why (Reason…); Err is the read error behind a last-known or unknown decision.
	Reason string
	Err    error
}

// Fenced reports whether the user must be refused.
func (d Decision) Fenced() bool { return d.Mode == Fenced }

// Gate decides whether a pool lets its users in. It is safe for concurrent use; one warm
// Lambda container keeps one, so its cache spans invocations.
type Gate struct {
	// Own is the pool's own mode parameter; a zero Own (no client) leaves the gate open.
	Own Parameter
	// Peer is the other pool's parameter in the other Region; nil skips the peer rule.
	Peer *Parameter
	// Message is told to users when the state carries none; empty means DefaultMessage.
	Message string
	// TTL, ReadTimeout, PeerTimeout: zero means the defaults; TTL is capped at MaxTTL.
	TTL, ReadTimeout, PeerTimeout time.Duration

	mu         sync.Mutex
	own, peer  cached
	readAt     time.Time
	haveReadAt bool
}

// cached is the last state read from one parameter and the error of the latest read.
type cached struct {
	state State
	known bool
	err   error
}

// Check returns the decision for an event now. It reads the parameters at most once per TTL,
// both at once, each within its timeout.
func (g *Gate) Check(ctx context.Context) Decision {
	if g.Own.Client == nil || g.Own.Name == "" {
		return Decision{Mode: Active, Reason: ReasonNotConfigured}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if !g.haveReadAt || now.Sub(g.readAt) >= g.ttl() {
		g.refresh(ctx)
		g.readAt, g.haveReadAt = time.Now(), true
	}
	return g.decide()
}

func (g *Gate) ttl() time.Duration {
	switch {
	case g.TTL <= 0:
		return DefaultTTL
	case g.TTL > MaxTTL:
		return MaxTTL
	}
	return g.TTL
}

// refresh reads both parameters at once. A failed read keeps the last state read and records
// the error. The caller holds g.mu.
func (g *Gate) refresh(ctx context.Context) {
	read := func(p Parameter, timeout time.Duration, c *cached) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		s, err := p.Get(ctx)
		c.err = err
		if err == nil {
			c.state, c.known = s, true
		}
	}
	var wg sync.WaitGroup
	if g.Peer != nil && g.Peer.Client != nil && g.Peer.Name != "" {
		wg.Go(func() { read(*g.Peer, orDefault(g.PeerTimeout, DefaultPeerTimeout), &g.peer) })
	}
	read(g.Own, orDefault(g.ReadTimeout, DefaultReadTimeout), &g.own)
	wg.Wait()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// decide applies the rules to the cached states. The caller holds g.mu.
func (g *Gate) decide() Decision {
	if !g.own.known {
		// Nothing ever read. A peer that answers it is active is where users belong (and its
		// Region is up): this pool is the fenced one, or both are active and one must yield.
		if g.peer.known && g.peer.state.Mode == Active {
			return Decision{Mode: Fenced, Message: g.message(State{}), Reason: ReasonPeerActive, Err: g.own.err}
		}
		// Otherwise failing closed would lock out the healthy Region whenever Parameter Store
		// hiccups at a cold start.
		return Decision{Mode: Active, Reason: ReasonUnknown, Err: g.own.err}
	}
	own := g.own.state
	d := Decision{Mode: own.Mode, Message: g.message(own), Reason: ReasonMode, Err: g.own.err}
	if g.own.err != nil {
		d.Reason = ReasonLastKnown
	}
	if own.Mode == Active && g.peer.known {
		// The peer's last known state counts even while its Region is unreachable: only a
		// failback (which re-activates this pool, moving own.Since) undoes a failover.
		if p := g.peer.state; p.Mode == Active && p.Cause == CauseFailover && p.Since.After(own.Since) {
			d.Mode, d.Reason, d.Message = Fenced, ReasonPeerFailover, g.message(p)
			if own.Message != "" {
				d.Message = own.Message
			}
		}
	}
	if d.Mode != Fenced {
		d.Message = ""
	}
	return d
}

// message is what a user of the pool in state s is told when refused.
func (g *Gate) message(s State) string {
	switch {
	case s.Message != "" && s.Mode == Fenced:
		return s.Message
	case g.Message != "":
		return g.Message
	}
	return DefaultMessage
}
