package poolmode_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// fakeSSM is one Region's Parameter Store; down makes every call fail, hang makes reads wait
// for their context.
type fakeSSM struct {
	mu     sync.Mutex
	values map[string]string
	down   bool
	hang   bool
	reads  int
}

func newSSM() *fakeSSM { return &fakeSSM{values: map[string]string{}} }

func (f *fakeSSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.mu.Lock()
	f.reads++
	down, hang := f.down, f.hang
	v, ok := f.values[aws.ToString(in.Name)]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if down {
		return nil, errors.New("dial tcp: connection refused")
	}
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

func (f *fakeSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("dial tcp: connection refused")
	}
	if _, ok := f.values[aws.ToString(in.Name)]; ok && !aws.ToBool(in.Overwrite) {
		return nil, &ssmtypes.ParameterAlreadyExists{}
	}
	f.values[aws.ToString(in.Name)] = aws.ToString(in.Value)
	return &ssm.PutParameterOutput{Version: 1}, nil
}

func (f *fakeSSM) set(down, hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.hang = down, hang
}

func (f *fakeSSM) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

const (
	ownName  = "/cognito-dr/tokyo/mode"
	peerName = "/cognito-dr/osaka/mode"
	moved    = "We moved: sign in at https://osaka.example.com"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func mustSet(t *testing.T, p poolmode.Parameter, s poolmode.State) {
	t.Helper()
	if err := p.Set(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func TestSetThenGet(t *testing.T) {
	p := poolmode.Parameter{Client: newSSM(), Name: ownName}
	if _, err := p.Get(t.Context()); !errors.Is(err, poolmode.ErrNotSet) {
		t.Fatalf("Get of an unwritten parameter = %v, want ErrNotSet", err)
	}
	want := poolmode.State{Mode: poolmode.Fenced, Since: t0, Cause: poolmode.CauseFailover, Message: moved}
	mustSet(t, p, want)
	mustSet(t, p, want) // a re-run overwrites
	got, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if err := p.Set(t.Context(), poolmode.State{Mode: "paused", Since: t0}); err == nil {
		t.Error("Set of an unknown mode succeeded")
	}
}

func TestGateFailsOpenForActiveAndClosedForFenced(t *testing.T) {
	for _, c := range []struct {
		name  string
		state *poolmode.State // nil: never written
		want  poolmode.Mode
	}{
		{"active pool, SSM unreachable", &poolmode.State{Mode: poolmode.Active, Since: t0}, poolmode.Active},
		{"fenced pool, SSM unreachable", &poolmode.State{Mode: poolmode.Fenced, Since: t0, Message: moved}, poolmode.Fenced},
		{"no mode ever written", nil, poolmode.Active},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := newSSM()
				own := poolmode.Parameter{Client: store, Name: ownName}
				if c.state != nil {
					mustSet(t, own, *c.state)
				}
				g := &poolmode.Gate{Own: own}
				if d := g.Check(t.Context()); d.Mode != c.want {
					t.Fatalf("with SSM up: %s, want %s", d.Mode, c.want)
				}
				store.set(true, false)
				time.Sleep(poolmode.DefaultTTL) // a fake clock in the bubble: the cache expires
				d := g.Check(t.Context())
				if d.Mode != c.want {
					t.Fatalf("with SSM down: %s (%s, %v), want %s", d.Mode, d.Reason, d.Err, c.want)
				}
				if d.Err == nil {
					t.Error("decision hides the read error")
				}
				if c.want == poolmode.Fenced && d.Message != moved {
					t.Errorf("message = %q, want %q", d.Message, moved)
				}
			})
		})
	}
}

func TestGateColdStartWithSSMDownIsOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSSM()
		mustSet(t, poolmode.Parameter{Client: store, Name: ownName}, poolmode.State{Mode: poolmode.Fenced, Since: t0})
		store.set(false, true)
		g := &poolmode.Gate{Own: poolmode.Parameter{Client: store, Name: ownName}}
		start := time.Now()
		d := g.Check(t.Context())
		if d.Mode != poolmode.Active || d.Reason != poolmode.ReasonUnknown {
			t.Errorf("cold start with a hanging SSM: %s (%s), want active (%s)", d.Mode, d.Reason, poolmode.ReasonUnknown)
		}
		if took := time.Since(start); took != poolmode.DefaultReadTimeout {
			t.Errorf("decided after %v, want the read timeout %v", took, poolmode.DefaultReadTimeout)
		}
	})
}

func TestGateCacheExpiresWithinTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSSM()
		own := poolmode.Parameter{Client: store, Name: ownName}
		mustSet(t, own, poolmode.State{Mode: poolmode.Active, Since: t0})
		g := &poolmode.Gate{Own: own, TTL: 3 * time.Second}
		g.Check(t.Context())
		mustSet(t, own, poolmode.State{Mode: poolmode.Fenced, Since: t0.Add(time.Hour), Message: moved})
		time.Sleep(3*time.Second - time.Millisecond)
		if d := g.Check(t.Context()); d.Mode != poolmode.Active {
			t.Fatalf("inside the TTL: %s, want the cached active", d.Mode)
		}
		if n := store.readCount(); n != 1 {
			t.Errorf("reads inside the TTL = %d, want 1", n)
		}
		time.Sleep(time.Millisecond)
		if d := g.Check(t.Context()); d.Mode != poolmode.Fenced || d.Message != moved {
			t.Fatalf("at the TTL: %s %q, want fenced %q", d.Mode, d.Message, moved)
		}
	})
}

func TestGateTTLIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSSM()
		own := poolmode.Parameter{Client: store, Name: ownName}
		mustSet(t, own, poolmode.State{Mode: poolmode.Active, Since: t0})
		g := &poolmode.Gate{Own: own, TTL: time.Hour}
		g.Check(t.Context())
		mustSet(t, own, poolmode.State{Mode: poolmode.Fenced, Since: t0.Add(time.Hour)})
		time.Sleep(poolmode.MaxTTL)
		if d := g.Check(t.Context()); d.Mode != poolmode.Fenced {
			t.Fatalf("after MaxTTL with TTL an hour: %s, want fenced", d.Mode)
		}
	})
}

func TestGatePeerRule(t *testing.T) {
	activeOwn := poolmode.State{Mode: poolmode.Active, Since: t0, Cause: poolmode.CauseDeploy}
	for _, c := range []struct {
		name string
		peer *poolmode.State
		want poolmode.Mode
	}{
		{"peer failed over after our activation", &poolmode.State{Mode: poolmode.Active, Since: t0.Add(time.Hour), Cause: poolmode.CauseFailover}, poolmode.Fenced},
		{"peer failed over before our activation (we failed back)", &poolmode.State{Mode: poolmode.Active, Since: t0.Add(-time.Hour), Cause: poolmode.CauseFailover}, poolmode.Active},
		{"peer active, not by a failover", &poolmode.State{Mode: poolmode.Active, Since: t0.Add(time.Hour), Cause: poolmode.CauseOperator}, poolmode.Active},
		{"peer fenced", &poolmode.State{Mode: poolmode.Fenced, Since: t0.Add(time.Hour), Cause: poolmode.CauseFailback}, poolmode.Active},
		{"peer has no mode", nil, poolmode.Active},
	} {
		t.Run(c.name, func(t *testing.T) {
			own := poolmode.Parameter{Client: newSSM(), Name: ownName}
			peer := poolmode.Parameter{Client: newSSM(), Name: peerName}
			mustSet(t, own, activeOwn)
			if c.peer != nil {
				mustSet(t, peer, *c.peer)
			}
			g := &poolmode.Gate{Own: own, Peer: &peer, Message: moved}
			d := g.Check(t.Context())
			if d.Mode != c.want {
				t.Fatalf("%s (%s), want %s", d.Mode, d.Reason, c.want)
			}
			if c.want == poolmode.Fenced && (d.Reason != poolmode.ReasonPeerFailover || d.Message != moved) {
				t.Errorf("reason %s message %q, want %s %q", d.Reason, d.Message, poolmode.ReasonPeerFailover, moved)
			}
		})
	}
}

func TestGatePeerUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ownStore, peerStore := newSSM(), newSSM()
		own := poolmode.Parameter{Client: ownStore, Name: ownName}
		peer := poolmode.Parameter{Client: peerStore, Name: peerName}
		mustSet(t, own, poolmode.State{Mode: poolmode.Active, Since: t0})
		mustSet(t, peer, poolmode.State{Mode: poolmode.Active, Since: t0.Add(time.Hour), Cause: poolmode.CauseFailover})
		peerStore.set(false, true)
		g := &poolmode.Gate{Own: own, Peer: &peer}
		start := time.Now()
		if d := g.Check(t.Context()); d.Mode != poolmode.Active {
			t.Fatalf("peer Region silent, never read: %s, want active (its own mode)", d.Mode)
		}
		if took := time.Since(start); took != poolmode.DefaultPeerTimeout {
			t.Errorf("decided after %v, want the peer timeout %v", took, poolmode.DefaultPeerTimeout)
		}
		peerStore.set(false, false)
		time.Sleep(poolmode.DefaultTTL)
		if d := g.Check(t.Context()); d.Mode != poolmode.Fenced {
			t.Fatalf("peer answers it failed over: %s, want fenced", d.Mode)
		}
		// The peer's Region goes silent again: what it said stands.
		peerStore.set(true, false)
		time.Sleep(poolmode.DefaultTTL)
		if d := g.Check(t.Context()); d.Mode != poolmode.Fenced {
			t.Fatalf("peer silent after saying it failed over: %s, want fenced", d.Mode)
		}
		// A failback re-activates this pool after the failover: it is active again.
		mustSet(t, own, poolmode.State{Mode: poolmode.Active, Since: t0.Add(2 * time.Hour), Cause: poolmode.CauseFailback})
		time.Sleep(poolmode.DefaultTTL)
		if d := g.Check(t.Context()); d.Mode != poolmode.Active {
			t.Fatalf("after failback: %s, want active", d.Mode)
		}
	})
}

func TestGateWithoutParameterIsOpen(t *testing.T) {
	d := (&poolmode.Gate{}).Check(t.Context())
	if d.Mode != poolmode.Active || d.Reason != poolmode.ReasonNotConfigured {
		t.Errorf("unconfigured gate: %s (%s), want active (%s)", d.Mode, d.Reason, poolmode.ReasonNotConfigured)
	}
}

func TestGateUnreadableValueKeepsLastKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSSM()
		own := poolmode.Parameter{Client: store, Name: ownName}
		mustSet(t, own, poolmode.State{Mode: poolmode.Fenced, Since: t0})
		g := &poolmode.Gate{Own: own}
		g.Check(t.Context())
		store.mu.Lock()
		store.values[ownName] = "fenced"
		store.mu.Unlock()
		time.Sleep(poolmode.DefaultTTL)
		d := g.Check(t.Context())
		if d.Mode != poolmode.Fenced || d.Reason != poolmode.ReasonLastKnown || d.Err == nil {
			t.Errorf("a value that is not a state: %s (%s, %v), want fenced (%s) with the error", d.Mode, d.Reason, d.Err, poolmode.ReasonLastKnown)
		}
	})
}

func TestGateColdStartReadsThePeer(t *testing.T) {
	for _, c := range []struct {
		name   string
		peer   *poolmode.State
		want   poolmode.Mode
		reason string
	}{
		{"peer active: this pool is the fenced one", &poolmode.State{Mode: poolmode.Active, Since: t0, Cause: poolmode.CauseDeploy}, poolmode.Fenced, poolmode.ReasonPeerActive},
		{"peer fenced: this pool is the active one", &poolmode.State{Mode: poolmode.Fenced, Since: t0, Cause: poolmode.CauseDeploy}, poolmode.Active, poolmode.ReasonUnknown},
		{"peer silent", nil, poolmode.Active, poolmode.ReasonUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			ownStore, peerStore := newSSM(), newSSM()
			mustSet(t, poolmode.Parameter{Client: ownStore, Name: ownName}, poolmode.State{Mode: poolmode.Fenced, Since: t0, Message: moved})
			ownStore.set(true, false)
			peer := poolmode.Parameter{Client: peerStore, Name: peerName}
			if c.peer != nil {
				mustSet(t, peer, *c.peer)
			} else {
				peerStore.set(true, false)
			}
			g := &poolmode.Gate{Own: poolmode.Parameter{Client: ownStore, Name: ownName}, Peer: &peer, Message: moved}
			d := g.Check(t.Context())
			if d.Mode != c.want || d.Reason != c.reason {
				t.Errorf("own mode unreadable at a cold start: %s (%s), want %s (%s)", d.Mode, d.Reason, c.want, c.reason)
			}
			if c.want == poolmode.Fenced && d.Message != moved {
				t.Errorf("message %q, want %q", d.Message, moved)
			}
		})
	}
}
