package failback

import (
	"context"
	"fmt"
	"slices"

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

// checkpointed runs work over items [prog.Cursor, n) for at most BatchTime, saving each chunk's
// results to the ledger under ledgerPrefix before the cursor moves past it. A chunk's items run
// at once; barriers are item indexes no chunk crosses: every item before one is done before any
// item after it starts.
func checkpointed[R any](ctx context.Context, s *Steps, p Plan, prog Progress, n int, ledgerPrefix string,
	work func(ctx context.Context, i int) (R, outcome, error), barriers ...int) (Progress, error) {
	deadline := s.now().Add(s.batchTime())
	outcomes := make([]outcome, n)
	cursor := prog.Cursor
	var err error
	for _, end := range append(slices.Clip(barriers), n) {
		if end <= cursor {
			continue
		}
		cursor, err = checkpoint.Run(ctx, cursor, min(end, n), func() bool { return s.now().Before(deadline) },
			func(ctx context.Context, i int) (R, error) {
				r, o, err := work(ctx, i)
				outcomes[i] = o
				return r, err
			},
			func(from int, results []R) error {
				if err := snapshot.PutLines(ctx, s.S3(p.Region), p.Bucket, fmt.Sprintf("%s%s%08d.jsonl.gz", p.Prefix, ledgerPrefix, from), results); err != nil {
					return err
				}
				for _, o := range outcomes[from : from+len(results)] {
					switch o {
					case applied:
						prog.Applied++
					case failed:
						prog.Failed++
					}
				}
				return nil
			})
		if err != nil || cursor < min(end, n) {
			break
		}
	}
	prog.Cursor = cursor
	prog.Done = cursor >= n
	return prog, err
}
