package partition_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func newClient(t *testing.T) *s3.Client {
	return localaws.NewBucket(t, "bkt")
}

// TestEveryValueInItsBucketOnce: each value written to the bucket Of names is read back from that
// bucket's object exactly once, and the buckets share the values out.
func TestEveryValueInItsBucketOnce(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	const n = 4
	key := func(i int) string { return fmt.Sprintf("b/%d.jsonl.gz", i) }
	w := partition.Open(ctx, c, "bkt", n, key)
	for v := range 1000 {
		s := fmt.Sprintf("user-%d", v)
		if err := w.Write(partition.Of(s, n), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range n {
		got := 0
		if err := snapshot.GetLines(ctx, c, "bkt", key(i), func(s string) error {
			if b := partition.Of(s, n); b != i {
				t.Errorf("%s in bucket %d, Of says %d", s, i, b)
			}
			seen[s]++
			got++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got < 150 {
			t.Errorf("bucket %d holds %d of 1000 values: the hash does not spread them", i, got)
		}
	}
	for v := range 1000 {
		if s := fmt.Sprintf("user-%d", v); seen[s] != 1 {
			t.Errorf("%s read %d times", s, seen[s])
		}
	}
}

// TestCloseWithErrorLeavesNothing: a failed partition leaves no object, so a re-run starts clean.
func TestCloseWithErrorLeavesNothing(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	w := partition.Open(ctx, c, "bkt", 3, func(i int) string { return fmt.Sprintf("b/%d.jsonl.gz", i) })
	for i := range 3 {
		if err := w.Write(i, "x"); err != nil {
			t.Fatal(err)
		}
	}
	cause := errors.New("read failed")
	if err := w.Close(cause); !errors.Is(err, cause) {
		t.Fatalf("Close returned %v, want %v", err, cause)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("a failed partition left %d objects", len(out.Contents))
	}
}
