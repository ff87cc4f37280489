package snapshot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func newBucket(t *testing.T) *s3.Client {
	return localaws.NewBucket(t, "bkt")
}

func users(names ...string) []snapshot.User {
	var us []snapshot.User
	for _, n := range names {
		us = append(us, snapshot.User{Username: n, Attributes: map[string]string{"sub": n}, Status: "CONFIRMED"})
	}
	return us
}

func putPart(t *testing.T, c *s3.Client, key string, us []snapshot.User) snapshot.Part {
	t.Helper()
	if err := snapshot.PutLines(context.Background(), c, "bkt", key, us); err != nil {
		t.Fatal(err)
	}
	obj, err := s3stream.Digest(context.Background(), c, "bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.Part{Object: obj, Rows: len(us)}
}

func read(t *testing.T, c *s3.Client, prefix string) ([]string, error) {
	t.Helper()
	var got []string
	err := snapshot.ReadUsers(context.Background(), c, "bkt", prefix, func(u snapshot.User) error {
		got = append(got, u.Username)
		return nil
	})
	return got, err
}

// TestReadUsersOfASingleFileSnapshot: a snapshot written before exports were resumable has one
// users.jsonl.gz and no index; the reader yields its users as written.
func TestReadUsersOfASingleFileSnapshot(t *testing.T) {
	c := newBucket(t)
	putPart(t, c, "old/"+snapshot.UsersFile, users("b", "a", "c"))
	got, err := read(t, c, "old/")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "a", "c"}, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	parts, err := snapshot.UsersParts(context.Background(), c, "bkt", "old/")
	if err != nil || len(parts) != 1 || parts[0].Key != "old/"+snapshot.UsersFile {
		t.Errorf("parts %+v err %v, want the single users file", parts, err)
	}
}

// TestReadUsersOfAPartedSnapshot: the index lists parts in order; the reader yields them in that
// order every time, and ignores a users file the index does not list (a part a crashed
// invocation wrote but never recorded).
func TestReadUsersOfAPartedSnapshot(t *testing.T) {
	c := newBucket(t)
	p1 := putPart(t, c, "new/users/part-00001.jsonl.gz", users("x", "y"))
	p2 := putPart(t, c, "new/users/part-00002.jsonl.gz", users("a"))
	putPart(t, c, "new/users/part-00003.jsonl.gz", users("orphan"))
	idx, err := snapshot.PutUsersIndex(context.Background(), c, "bkt", "new/", []snapshot.Part{p1, p2})
	if err != nil || idx.Key != "new/"+snapshot.UsersIndexFile {
		t.Fatalf("index %+v err %v", idx, err)
	}
	for range 2 {
		got, err := read(t, c, "new/")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"x", "y", "a"}, got); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
	}
}

// TestReadUsersRefusesAPartShorterThanItsIndex: a part rewritten or truncated after the index
// was written is an error, not a silently smaller snapshot.
func TestReadUsersRefusesAPartShorterThanItsIndex(t *testing.T) {
	c := newBucket(t)
	p1 := putPart(t, c, "bad/users/part-00001.jsonl.gz", users("x", "y"))
	if _, err := snapshot.PutUsersIndex(context.Background(), c, "bkt", "bad/", []snapshot.Part{p1}); err != nil {
		t.Fatal(err)
	}
	putPart(t, c, "bad/users/part-00001.jsonl.gz", users("x"))
	if _, err := read(t, c, "bad/"); err == nil || !strings.Contains(err.Error(), "holds 1 records, its index says 2") {
		t.Errorf("err = %v, want the count mismatch", err)
	}
}

// TestReadMembershipsOfEitherLayout: the one reader reads a snapshot's memberships from the single
// memberships.jsonl.gz of older snapshots, and from the parts a memberships index lists.
func TestReadMembershipsOfEitherLayout(t *testing.T) {
	c := newBucket(t)
	ctx := context.Background()
	ms := func(names ...string) []snapshot.Membership {
		var out []snapshot.Membership
		for _, n := range names {
			out = append(out, snapshot.Membership{Group: "g", Username: n})
		}
		return out
	}
	put := func(key string, rows []snapshot.Membership) snapshot.Part {
		if err := snapshot.PutLines(ctx, c, "bkt", key, rows); err != nil {
			t.Fatal(err)
		}
		obj, err := s3stream.Digest(ctx, c, "bkt", key)
		if err != nil {
			t.Fatal(err)
		}
		return snapshot.Part{Object: obj, Rows: len(rows)}
	}
	put("old/"+snapshot.MembershipsFile, ms("b", "a"))
	p1, p2 := put("new/memberships/part-00001.jsonl.gz", ms("c")), put("new/memberships/part-00002.jsonl.gz", ms("a", "d"))
	if _, err := snapshot.MembershipsLayout.PutIndex(ctx, c, "bkt", "new/", []snapshot.Part{p1, p2}); err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string][]string{"old/": {"b", "a"}, "new/": {"c", "a", "d"}} {
		var got []string
		if err := snapshot.ReadMemberships(ctx, c, "bkt", prefix, func(m snapshot.Membership) error {
			got = append(got, m.Username)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s memberships (-want +got):\n%s", prefix, diff)
		}
	}
}
