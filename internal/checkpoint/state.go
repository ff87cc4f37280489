package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// Load reads the state a step saved at key; found is false when it has saved none yet (its first
// invocation).
func Load[T any](ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (state T, found bool, err error) {
	r, err := s3stream.Open(ctx, store, bucket, key)
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return state, false, nil
	}
	if err != nil {
		return state, false, err
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		return state, false, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if err := json.Unmarshal(body, &state); err != nil {
		return state, false, fmt.Errorf("s3://%s/%s is not a checkpoint: %w", bucket, key, err)
	}
	return state, true, nil
}

// Save replaces the state at key in one PUT, so a reader sees the old state or the new one,
// never a mix: what it records as done must already be durable elsewhere.
func Save[T any](ctx context.Context, store transfermanager.S3APIClient, bucket, key string, state T) error {
	body, err := json.Marshal(state)
	if err != nil {
		return err
	}
	if _, err := s3stream.Put(ctx, store, bucket, key, body); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// Budget is the time one invocation of a looped step may work. New work starts only in its first
// half, so whatever starts has at least the other half to finish; at its end, what still runs is
// cut and redone by the next invocation. Default is the budget when a deployment sets none.
type Budget interface {
	// Open reports whether new work may start.
	Open() bool
	// Done is closed when the work still running must stop.
	Done() <-chan struct{}
}

// DefaultBudget leaves a 15-minute Lambda five minutes for its start, its last save and slack.
const DefaultBudget = 10 * time.Minute

// Timer is a Budget of d from now on the wall clock (or a testing/synctest bubble's).
type Timer struct {
	open  time.Time
	done  chan struct{}
	timer *time.Timer
	once  sync.Once
}

// NewTimer starts a budget of d. Stop it when the invocation ends.
func NewTimer(d time.Duration) *Timer {
	t := &Timer{open: time.Now().Add(d / 2), done: make(chan struct{})}
	t.timer = time.AfterFunc(d, t.expire)
	return t
}

func (t *Timer) expire() { t.once.Do(func() { close(t.done) }) }

// Open reports whether the first half of the budget still runs.
func (t *Timer) Open() bool { return time.Now().Before(t.open) }

// Done is closed at the end of the budget.
func (t *Timer) Done() <-chan struct{} { return t.done }

// Stop releases the timer.
func (t *Timer) Stop() { t.timer.Stop() }

// Starts is a Budget of n starts of work instead of time, which never cuts what runs: a test or
// a benchmark makes a small job continue over several invocations with it, however fast the
// machine is.
func Starts(n int) Budget { return &starts{left: n} }

type starts struct {
	mu   sync.Mutex
	left int
}

func (b *starts) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		return false
	}
	b.left--
	return true
}

func (b *starts) Done() <-chan struct{} { return nil }
