package partition_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// BenchmarkPartition partitions two exports of 20,000 users each (a user with the attributes a
// real pool's user has) into 64 buckets: the CPU a partition spends per user.
func BenchmarkPartition(b *testing.B) {
	c := newClient(b)
	ctx := context.Background()
	const users = 20_000
	var parts, members [2][]snapshot.Part
	for side := range 2 {
		var us []snapshot.User
		var ms []snapshot.Membership
		for i := range users {
			us = append(us, snapshot.User{
				Username: fmt.Sprintf("%d-user-%08d", side, i),
				Attributes: map[string]string{
					"sub": fmt.Sprintf("0000%04d-aaaa-bbbb-cccc-%012d", side, i), "email": fmt.Sprintf("user%d@example.com", i),
					"email_verified": "true", "given_name": "Given", "family_name": "Family", "phone_number": "+819012345678",
					"phone_number_verified": "false", "custom:primary_sub": fmt.Sprintf("0000%04d-aaaa-bbbb-cccc-%012d", 0, i),
					"locale": "ja-JP", "zoneinfo": "Asia/Tokyo",
				},
				Enabled: true, Status: "CONFIRMED", Created: time.Unix(1700000000, 0).UTC(), Modified: time.Unix(1700000000, 0).UTC(),
			})
			if i%10 == 0 {
				ms = append(ms, snapshot.Membership{Group: "g", Username: us[i].Username})
			}
		}
		key := fmt.Sprintf("in/%d-users.jsonl.gz", side)
		if err := snapshot.PutLines(ctx, c, "bkt", key, us); err != nil {
			b.Fatal(err)
		}
		parts[side] = []snapshot.Part{{Object: s3stream.Object{Key: key}, Rows: users}}
		mkey := fmt.Sprintf("in/%d-members.jsonl.gz", side)
		if err := snapshot.PutLines(ctx, c, "bkt", mkey, ms); err != nil {
			b.Fatal(err)
		}
		members[side] = []snapshot.Part{{Object: s3stream.Object{Key: mkey}, Rows: len(ms)}}
	}
	l := partition.Layout{
		Store: c, Bucket: "bkt", Dir: "p/", Buckets: 64, OpenFiles: 16, First: partition.PhaseSub,
		Join: func(side, _ string, u snapshot.User) string {
			if side == partition.Primary {
				return u.Attributes["sub"]
			}
			return u.Attributes["custom:primary_sub"]
		},
	}
	pt := l.WithParts(parts, members)
	b.ResetTimer()
	for range b.N {
		for _, side := range pt.Units() {
			for _, u := range side {
				if err := pt.Run(ctx, u); err != nil {
					b.Fatalf("%s: %v", u, err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(2*users), "ns/user")
}
