// Package checkpoint lets a looped task do more work than one Lambda invocation can: Run works
// through a long list of API changes in chunks saved before the cursor moves past them; Load and
// Save keep any other progress as one JSON object in S3; a Budget (Timer) says when an invocation
// must stop starting work and when it must stop. A state machine loops the task until the work
// ends; a retried or re-run task redoes at most what it had not saved, so the work must be
// idempotent.
package checkpoint

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Chunk is how many items run between two checkpoints.
const Chunk = 250

// Workers is how many items run at once: enough calls in flight to reach Cognito's quotas despite
// each call's latency (the callers pace each call to its quota).
const Workers = 16

// Run works through items [from, n) while more() holds, Chunk at a time. work runs item i and
// returns its result; an error stops the run (a problem of the run, not of one item). save
// receives each finished chunk's results, with the index of its first item, before the cursor
// moves on. Run returns the cursor: the first item not done.
func Run[R any](ctx context.Context, from, n int, more func() bool,
	work func(ctx context.Context, i int) (R, error), save func(from int, results []R) error) (int, error) {
	cursor := from
	for cursor < n && more() {
		end := min(cursor+Chunk, n)
		results := make([]R, end-cursor)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(Workers)
		for i := cursor; i < end; i++ {
			g.Go(func() error {
				var err error
				results[i-cursor], err = work(gctx, i)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return cursor, fmt.Errorf("items %d..%d: %w", cursor, end, err)
		}
		if err := save(cursor, results); err != nil {
			return cursor, err
		}
		cursor = end
	}
	return cursor, nil
}
