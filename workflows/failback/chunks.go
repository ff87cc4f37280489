package failback

import (
	"context"
	"fmt"
	"sync"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// outcome classifies one item's result for the progress counts.
type outcome int

const (
	skipped outcome = iota
	applied
	failed
)

// ledger saves a looped step's results under prefix, each chunk before the cursor moves past it,
// and counts their outcomes in prog. It holds the outcomes of the chunk running, no more.
type ledger[R any] struct {
	ctx    context.Context
	s      *Steps
	p      Plan
	prefix string
	prog   *Progress

	mu       sync.Mutex
	outcomes map[int]outcome
}

func newLedger[R any](ctx context.Context, s *Steps, p Plan, prefix string, prog *Progress) *ledger[R] {
	return &ledger[R]{ctx: ctx, s: s, p: p, prefix: prefix, prog: prog, outcomes: map[int]outcome{}}
}

// record keeps item i's outcome for its chunk's save and passes its result on:
// lg.record(i)(work(ctx, i)).
func (lg *ledger[R]) record(i int) func(R, outcome, error) (R, error) {
	return func(r R, o outcome, err error) (R, error) {
		lg.mu.Lock()
		lg.outcomes[i] = o
		lg.mu.Unlock()
		return r, err
	}
}

// save writes the chunk of results starting at item from, then counts their outcomes.
func (lg *ledger[R]) save(from int, results []R) error {
	if err := snapshot.PutLines(lg.ctx, lg.s.S3(lg.p.Region), lg.p.Bucket, fmt.Sprintf("%s%s%08d.jsonl.gz", lg.p.Prefix, lg.prefix, from), results); err != nil {
		return err
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	for i := from; i < from+len(results); i++ {
		switch lg.outcomes[i] {
		case applied:
			lg.prog.Applied++
		case failed:
			lg.prog.Failed++
		}
		delete(lg.outcomes, i)
	}
	return nil
}

// checkpointed runs work over items [prog.Cursor, n) for at most BatchTime, saving each chunk's
// results to the ledger under ledgerPrefix before the cursor moves past it.
func checkpointed[R any](ctx context.Context, s *Steps, p Plan, prog Progress, n int, ledgerPrefix string,
	work func(ctx context.Context, i int) (R, outcome, error)) (Progress, error) {
	deadline := s.now().Add(s.batchTime())
	lg := newLedger[R](ctx, s, p, ledgerPrefix, &prog)
	cursor, err := checkpoint.Run(ctx, prog.Cursor, n, func() bool { return s.now().Before(deadline) },
		func(ctx context.Context, i int) (R, error) { return lg.record(i)(work(ctx, i)) }, lg.save)
	prog.Cursor = cursor
	prog.Done = cursor >= n
	return prog, err
}
