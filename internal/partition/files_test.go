package partition_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func newClient(t testing.TB) *s3.Client {
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
// Every bucket's lines are spooled to /tmp: the test's own directory, to see that none are left.
func TestCloseWithErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
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
	if n := localaws.Objects(t, c, "bkt"); n != 0 {
		t.Errorf("a failed partition left %d objects", n)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed partition left %d temporary files", len(left))
	}
}

// TestFullTmpFailsTheUnit: a unit whose bucket files cannot be written to /tmp fails with an error
// that says so, and uploads nothing.
func TestFullTmpFailsTheUnit(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	c := newClient(t)
	ctx := context.Background()
	w := partition.Open(ctx, c, "bkt", 2, func(i int) string { return fmt.Sprintf("b/%d.jsonl.gz", i) })
	// Lines that do not compress, more than a bucket file keeps in memory.
	rnd := rand.New(rand.NewPCG(1, 2))
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		err = w.Write(0, fmt.Sprintf("%016x%016x%016x%016x", rnd.Uint64(), rnd.Uint64(), rnd.Uint64(), rnd.Uint64()))
	}
	if err == nil {
		err = w.Close(nil)
	} else {
		err = w.Close(err)
	}
	if err == nil || !strings.Contains(err.Error(), "ephemeral storage") {
		t.Fatalf("unit error = %v, want one naming the ephemeral storage", err)
	}
	if n := localaws.Objects(t, c, "bkt"); n != 0 {
		t.Errorf("a unit that could not spool left %d objects", n)
	}
}

// TestBucketObjectsHoldTheLinesWritten: a bucket's object, unzipped, is the JSON lines of its records
// in the order written, byte for byte (what the streamed writer of snapshots stores), and a written
// partition leaves nothing in /tmp.
func TestBucketObjectsHoldTheLinesWritten(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	c := newClient(t)
	ctx := context.Background()
	type rec struct {
		Username   string
		Attributes map[string]string
	}
	const n = 3
	key := func(i int) string { return fmt.Sprintf("b/%d.jsonl.gz", i) }
	w := partition.Open(ctx, c, "bkt", n, key)
	want := make([]bytes.Buffer, n)
	for v := range 30000 {
		r := rec{Username: fmt.Sprintf("user-%d", v), Attributes: map[string]string{"email": fmt.Sprintf("u%d@example.com", v), "sub": fmt.Sprint(v * 7919)}}
		b := partition.Of(r.Username, n)
		if err := w.Write(b, r); err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(&want[b]).Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		body, err := s3stream.Open(ctx, c, "bkt", key(i))
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(gz)
		body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i].Bytes()) {
			t.Errorf("bucket %d: %d bytes of lines, want the %d written", i, len(got), want[i].Len())
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a written partition left %d temporary files", len(left))
	}
}
