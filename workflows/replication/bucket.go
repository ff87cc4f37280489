package replication

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// DefaultBucketUsers is how many users of one pool a reconcile bucket holds at most (by the
// pools' estimated sizes): what one DiffBucket invocation loads of each side, about 60 MB.
const DefaultBucketUsers = 50_000

// Sides of a partitioned export.
const (
	sidePrimary = "primary"
	sideDR      = "dr"
)

// Phases of a partitioned comparison. In the sub phase users are partitioned by primary sub
// (a primary user's sub, a DR user's custom:primary_sub) and matched by it; the users left
// unmatched are partitioned again by key and matched by key in the key phase. A pair matched by
// a trusted primary sub whose keys differ (a changed email) is thus always in one bucket.
const (
	phaseSub = "sub"
	phaseKey = "key"
)

// record is one user of a partitioned export with its group memberships.
type record struct {
	User   snapshot.User `json:"user"`
	Groups []string      `json:"groups,omitempty"`
}

// bucketOf is the bucket of a join value among n.
func bucketOf(value string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(value))
	return int(h.Sum64() % uint64(n))
}

// bucketCount is how many buckets hold users of pools of these estimated sizes, at most per users
// of the larger pool in each.
func bucketCount(per int, estimates ...int32) int {
	if per <= 0 {
		per = DefaultBucketUsers
	}
	var most int
	for _, e := range estimates {
		most = max(most, int(e))
	}
	return max(1, (most+per-1)/per)
}

// bucketKey is the key of one bucket file of a comparison: dir is "before/" or "after/".
func (p Plan) bucketKey(dir, stage, side string, i int) string {
	return fmt.Sprintf("%s%s%s/%s-%05d.jsonl.gz", p.Prefix, dir, stage, side, i)
}

// writers stream records into n gzip JSON-lines objects, one per bucket.
type writers struct {
	ws []*s3stream.Writer
	lw []*snapshot.LineWriter
}

func openWriters(ctx context.Context, store transfermanager.S3APIClient, bucket string, n int, key func(i int) string) *writers {
	w := &writers{}
	for i := range n {
		sw := s3stream.Create(ctx, store, bucket, key(i))
		w.ws = append(w.ws, sw)
		w.lw = append(w.lw, snapshot.NewLineWriter(sw))
	}
	return w
}

func (w *writers) write(i int, v any) error { return w.lw[i].Write(v) }

// close completes every object, or aborts them all with err (nothing half-written is left).
func (w *writers) close(err error) error {
	if err == nil {
		for _, lw := range w.lw {
			err = errors.Join(err, lw.Close())
		}
	}
	if err != nil {
		for _, sw := range w.ws {
			sw.Abort(err)
		}
		return err
	}
	for i, sw := range w.ws {
		if _, err := sw.Close(); err != nil {
			for _, rest := range w.ws[i+1:] {
				rest.Abort(err)
			}
			return err
		}
	}
	return nil
}
