package replication

import (
	"fmt"

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
