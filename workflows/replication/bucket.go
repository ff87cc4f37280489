package replication

import (
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/partition"
)

// DefaultBucketUsers is how many users of one pool a reconcile bucket holds at most (by the
// pools' estimated sizes): what one DiffBucket invocation loads of each side, about 60 MB.
const DefaultBucketUsers = partition.DefaultBucketUsers

// Sides of a partitioned export.
const (
	sidePrimary = partition.Primary
	sideDR      = partition.DR
)

// Phases of a partitioned comparison (partition.PhaseSub, partition.PhaseKey).
const (
	phaseSub = partition.PhaseSub
	phaseKey = partition.PhaseKey
)

// record is one user of a partitioned export with its group memberships.
type record = partition.Record

// bucketKey is the key of one bucket file of a comparison: dir is "before/" or "after/".
func (p Plan) bucketKey(dir, stage, side string, i int) string {
	return fmt.Sprintf("%s%s%s/%s-%05d.jsonl.gz", p.Prefix, dir, stage, side, i)
}
