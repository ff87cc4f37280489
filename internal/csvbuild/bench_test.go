package csvbuild

import (
	"context"
	"testing"
)

// BenchmarkContinue builds the import CSVs of 200,000 users in 8 parts in one invocation, every
// phase: fingerprints, repeats, write units, join (local S3 in memory).
func BenchmarkContinue(b *testing.B) {
	f := newFixture(b, 200_000, 25_000)
	for b.Loop() {
		job := f.job("bench/")
		job.Buckets, job.UnitUsers, job.PartRows, job.Fresh = 0, 0, 0, true
		res, err := Continue(context.Background(), f.target, job, unbounded{})
		if err != nil || !res.Done {
			b.Fatalf("done %v err %v", res.Done, err)
		}
	}
}
