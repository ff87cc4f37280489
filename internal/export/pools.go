package export

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// PoolState is one pool's resumable export as its checkpoint last said: what a state machine's
// export loop (the reconcile's ExportBefore and ExportAfter, the failback's ExportPools and
// ExportFinalPools) carries for each pool between invocations.
type PoolState struct {
	Done bool `json:"done"`
	// Users is the number of users written so far; Shards the shards not written yet.
	Users  int `json:"users"`
	Shards int `json:"shards"`
}

// PoolJob is one pool of ResumePools.
type PoolJob struct {
	Pool    string
	Cognito Cognito
	// Pace is the pacer of the pool's Region, built for Ops.
	Pace *quota.Pacer
	// Estimated returns the pool's EstimatedNumberOfUsers: how Resume plans the shards.
	Estimated func(context.Context) (int, error)
	// Prefix is where the pool's snapshot and checkpoint go.
	Prefix string
	// State is updated from the checkpoint once the invocation's export saved it.
	State *PoolState
}

// ResumePools continues the resumable exports of jobs not Done, side by side, for one budget of
// length: pools in different Regions have separate UserList quotas, so together they take as long
// as the larger alone. A failing export does not cut the others: each saves its progress, and a
// retried invocation resumes every one from its checkpoint.
func ResumePools(ctx context.Context, store Store, bucket string, b checkpoint.Budget, length time.Duration, jobs ...PoolJob) error {
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		if j.State.Done {
			continue
		}
		wg.Go(func() { errs[i] = j.resume(ctx, store, bucket, b, length) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (j PoolJob) resume(ctx context.Context, store Store, bucket string, b checkpoint.Budget, length time.Duration) error {
	estimated, err := j.Estimated(ctx)
	if err != nil {
		return err
	}
	opts := Options{Estimated: estimated, WorkFiles: true} // read once by the workflow
	opts.PerShard = New(j.Cognito, j.Pace, opts).ShardUsers(length)
	got, err := New(j.Cognito, j.Pace, opts).Resume(ctx, store, bucket, j.Prefix, j.Pool, b)
	if err != nil {
		return fmt.Errorf("export %s to s3://%s/%s: %w", j.Pool, bucket, j.Prefix, err)
	}
	*j.State = PoolState{Done: got.Done(), Users: got.Users, Shards: len(got.Pending)}
	return nil
}
