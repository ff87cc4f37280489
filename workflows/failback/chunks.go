package failback

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// chunk is how many items run between two checkpoints.
const chunk = 250

// workers is how many calls are in flight: enough to reach the quotas despite latency.
const workers = 16

// outcome classifies one item's result for the progress counts.
type outcome int

const (
	skipped outcome = iota
	applied
	failed
)

// checkpointed works through items [prog.Cursor, n) in chunks, workers at a time, until the list
// ends or the deadline passes. Each chunk's results go to the ledger (under ledgerPrefix, named by
// the chunk's first index) before the cursor moves past it, so a retried or re-run step redoes at
// most one chunk; work must therefore be idempotent.
func checkpointed[R any](ctx context.Context, s *Steps, p Plan, prog Progress, n int, ledgerPrefix string,
	work func(ctx context.Context, i int) (R, outcome, error)) (Progress, error) {
	deadline := s.now().Add(s.batchTime())
	for prog.Cursor < n && s.now().Before(deadline) {
		end := min(prog.Cursor+chunk, n)
		results := make([]R, end-prog.Cursor)
		outcomes := make([]outcome, end-prog.Cursor)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		for i := prog.Cursor; i < end; i++ {
			g.Go(func() error {
				var err error
				results[i-prog.Cursor], outcomes[i-prog.Cursor], err = work(gctx, i)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return prog, fmt.Errorf("items %d..%d: %w", prog.Cursor, end, err)
		}
		if err := writeLedger(ctx, s.S3(p.Region), p.Bucket, fmt.Sprintf("%s%s%08d.jsonl.gz", p.Prefix, ledgerPrefix, prog.Cursor), results); err != nil {
			return prog, err
		}
		for _, o := range outcomes {
			switch o {
			case applied:
				prog.Applied++
			case failed:
				prog.Failed++
			}
		}
		prog.Cursor = end
	}
	prog.Done = prog.Cursor >= n
	return prog, nil
}
