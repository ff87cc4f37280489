package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// DrillFile is a drill record's name under its drill's prefix.
const DrillFile = "drill.json"

// DrillVersion is the format version of drill.json.
const DrillVersion = 1

// Drill is the record of one restore drill: a snapshot restored into a scratch pool, verified
// against the snapshot, and timed. The drill writes it; readiness reads the newest.
type Drill struct {
	Version int `json:"version"`
	// Source is the pool whose snapshot was restored.
	Source PoolRef `json:"source"`
	// Snapshot is the key of the restored snapshot's manifest.
	Snapshot string `json:"snapshot"`
	// ScratchPool is the pool the drill created, restored into and deleted.
	ScratchPool PoolRef   `json:"scratchPool"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	// RTOSeconds is the time from the start to a verified restore: the recovery time measured.
	RTOSeconds float64 `json:"rtoSeconds"`
	Users      int     `json:"users"`
	// Mismatches counts what the verification found different from the snapshot.
	Mismatches int  `json:"mismatches"`
	Passed     bool `json:"passed"`
	// FailureReason says why a drill did not pass.
	FailureReason string `json:"failureReason,omitempty"`
}

// DrillPrefix is where a pool's drill records live, beside its snapshots:
// <base>/<pool>/drills/. Snapshot listings read only manifest.json files, so they pass over it.
func DrillPrefix(base, pool string) string {
	return fmt.Sprintf("%s/%s/drills/", strings.Trim(base, "/"), pool)
}

// DrillKey is the key of one drill's record: <base>/<pool>/drills/<start>_<execution>/drill.json.
func DrillKey(base, pool string, started time.Time, execution string) string {
	return fmt.Sprintf("%s%s_%s/%s", DrillPrefix(base, pool), started.UTC().Format("20060102T150405Z"), execution, DrillFile)
}

// ListAPI is what List and NewestDrill call on the bucket.
type ListAPI interface {
	s3.ListObjectsV2APIClient
	s3stream.GetObjectAPI
}

// LatestDrill is the newest readable drill record of a pool.
type LatestDrill struct {
	Key   string
	Drill *Drill
	// Unreadable lists records that could not be read or parsed, with the reason.
	Unreadable []string
}

// NewestDrill reads every drill record of pool under base and returns the newest by its
// started time (not by key or LastModified: a copied object must not look fresh). Drill is nil
// when there is none; the error is only for a bucket that cannot be listed.
func NewestDrill(ctx context.Context, store ListAPI, bucket, base, pool string) (LatestDrill, error) {
	found, unreadable, err := readAll(ctx, store, bucket, DrillPrefix(base, pool), DrillFile, func(ctx context.Context, key string) (*Drill, error) {
		return readDrill(ctx, store, bucket, key)
	})
	if err != nil {
		return LatestDrill{}, err
	}
	n := LatestDrill{Unreadable: unreadable}
	for key, d := range found {
		if n.Drill == nil || newer(d.Started, key, n.Drill.Started, n.Key) {
			n.Key, n.Drill = key, d
		}
	}
	return n, nil
}

func readDrill(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (*Drill, error) {
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var d Drill
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if d.Started.IsZero() {
		return nil, fmt.Errorf("no started time")
	}
	return &d, nil
}
