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

// TestUsernamesNeedingEscapesMeetTheirGroups: users whose usernames JSON escapes (quotes,
// backslashes, <, >, &, control and line-separator characters) or does not (non-ASCII) meet their
// group memberships and marks, whose lines are matched to them by username, and reach their
// join bucket once with every field as exported.
func TestUsernamesNeedingEscapesMeetTheirGroups(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	names := []string{`plain`, `quo"te`, `back\slash`, `<tag>&amp`, "tab\there", "line\u2028sep", `日本語ユーザー`, `mixé"\`}
	var users []snapshot.User
	var members []snapshot.Membership
	for i, n := range names {
		users = append(users, snapshot.User{Username: n, Status: "CONFIRMED", Enabled: i%2 == 0,
			Attributes: map[string]string{"sub": fmt.Sprintf("sub-%d", i), "email": fmt.Sprintf("e%d@x", i)}})
		members = append(members, snapshot.Membership{Group: "g" + n, Username: n})
	}
	if err := snapshot.PutLines(ctx, c, "bkt", "in/u.jsonl.gz", users); err != nil {
		t.Fatal(err)
	}
	if err := snapshot.PutLines(ctx, c, "bkt", "in/m.jsonl.gz", members); err != nil {
		t.Fatal(err)
	}
	part := func(key string, n int) []snapshot.Part {
		return []snapshot.Part{{Object: s3stream.Object{Key: key}, Rows: n}}
	}
	l := partition.Layout{
		// 16 staged buckets: a user staged by another name than its memberships' would miss them.
		Store: c, Bucket: "bkt", Dir: "p/", Buckets: 256, OpenFiles: 8, First: partition.PhaseSub,
		Join: func(_, _ string, u snapshot.User) string { return u.Attributes["sub"] },
		Marks: func(ctx context.Context, side string, put func(string) error) error {
			for _, n := range names[1:] {
				if err := put(n); err != nil {
					return err
				}
			}
			return nil
		},
	}
	pt := l.WithParts([2][]snapshot.Part{part("in/u.jsonl.gz", len(users)), part("in/u.jsonl.gz", len(users))},
		[2][]snapshot.Part{part("in/m.jsonl.gz", len(members)), part("in/m.jsonl.gz", len(members))})
	for _, side := range pt.Units() {
		for _, u := range side {
			if err := pt.Run(ctx, u); err != nil {
				t.Fatalf("%s: %v", u, err)
			}
		}
	}
	for _, side := range partition.Sides {
		got := map[string]partition.Record{}
		for b := range l.Buckets {
			if err := snapshot.GetLines(ctx, c, "bkt", l.BucketKey(partition.PhaseSub, side, b), func(r partition.Record) error {
				if _, dup := got[r.User.Username]; dup {
					t.Errorf("%s %q twice", side, r.User.Username)
				}
				if want := partition.Of(r.User.Attributes["sub"], l.Buckets); want != b {
					t.Errorf("%s %q in bucket %d, want %d", side, r.User.Username, b, want)
				}
				got[r.User.Username] = r
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		for i, u := range users {
			r, ok := got[u.Username]
			switch {
			case !ok:
				t.Errorf("%s %q in no bucket", side, u.Username)
			case !slices.Equal(r.Groups, []string{"g" + u.Username}):
				t.Errorf("%s %q has groups %q, want its own", side, u.Username, r.Groups)
			case r.Marked != (i > 0):
				t.Errorf("%s %q marked %v, want %v", side, u.Username, r.Marked, i > 0)
			case r.User.Enabled != u.Enabled || r.User.Status != u.Status || r.User.Attributes["email"] != u.Attributes["email"]:
				t.Errorf("%s %q arrived as %+v, exported as %+v", side, u.Username, r.User, u)
			}
		}
	}
}
