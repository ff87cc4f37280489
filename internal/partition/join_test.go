package partition_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// TestTagsReachTheirUsersBuckets: users given as parts (WithParts) are partitioned by key into
// their buckets, each once, with the groups of its side's memberships and, in the order given,
// the tags its side's Tags put for its username; a side without tags gets none.
func TestTagsReachTheirUsersBuckets(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	const users = 200
	put := func(key string, rows any) snapshot.Part {
		var n int
		var err error
		switch r := rows.(type) {
		case []snapshot.User:
			n, err = len(r), snapshot.PutLines(ctx, c, "bkt", key, r)
		case []snapshot.Membership:
			n, err = len(r), snapshot.PutLines(ctx, c, "bkt", key, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		return snapshot.Part{Object: s3stream.Object{Key: key}, Rows: n}
	}
	var users0, users1 []snapshot.User
	var members0 []snapshot.Membership
	for i := range users {
		u := snapshot.User{Username: fmt.Sprintf("u%d", i), Attributes: map[string]string{"email": fmt.Sprintf("e%d@x", i)}}
		users0 = append(users0, u)
		users1 = append(users1, snapshot.User{Username: fmt.Sprintf("t%d", i), Attributes: u.Attributes})
		if i%3 == 0 {
			members0 = append(members0, snapshot.Membership{Group: "g", Username: u.Username})
		}
	}
	var parts [2][]snapshot.Part
	parts[0] = []snapshot.Part{put("in/u0.jsonl.gz", users0[:users/2]), put("in/u1.jsonl.gz", users0[users/2:])}
	parts[1] = []snapshot.Part{put("in/t.jsonl.gz", users1)}
	members := [2][]snapshot.Part{{put("in/m.jsonl.gz", members0)}, {put("in/none.jsonl.gz", []snapshot.Membership{})}}
	l := partition.Layout{
		Store: c, Bucket: "bkt", Dir: "p/", Buckets: 7, OpenFiles: 3, First: partition.PhaseKey,
		Join: func(_, _ string, u snapshot.User) string { return u.Attributes["email"] },
		Tags: func(ctx context.Context, side string, put func(string, string) error) error {
			if side != partition.Primary {
				return nil
			}
			for i := range users {
				if i%2 == 0 {
					for _, tag := range []string{"first", "second"} {
						if err := put(fmt.Sprintf("u%d", i), tag); err != nil {
							return err
						}
					}
				}
			}
			return nil
		},
	}
	pt := l.WithParts(parts, members)
	for _, side := range pt.Units() {
		for _, u := range side {
			if err := pt.Run(ctx, u); err != nil {
				t.Fatalf("%s: %v", u, err)
			}
		}
	}
	seen := map[string]int{}
	for _, side := range partition.Sides {
		for b := range l.Buckets {
			if err := snapshot.GetLines(ctx, c, "bkt", l.BucketKey(partition.PhaseKey, side, b), func(r partition.Record) error {
				seen[side+" "+r.User.Username]++
				if got := partition.Of(r.User.Attributes["email"], l.Buckets); got != b {
					t.Errorf("%s %s in bucket %d, want %d", side, r.User.Username, b, got)
				}
				var i int
				fmt.Sscanf(r.User.Username[1:], "%d", &i)
				wantTags, wantGroups := []string(nil), []string(nil)
				if side == partition.Primary && i%2 == 0 {
					wantTags = []string{"first", "second"}
				}
				if side == partition.Primary && i%3 == 0 {
					wantGroups = []string{"g"}
				}
				if !slices.Equal(r.Tags, wantTags) || !slices.Equal(r.Groups, wantGroups) {
					t.Errorf("%s %s: tags %v groups %v, want %v and %v", side, r.User.Username, r.Tags, r.Groups, wantTags, wantGroups)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 2*users {
		t.Errorf("%d users in the buckets, want %d", len(seen), 2*users)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s in the buckets %d times", k, n)
		}
	}
}
