package s3stream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3fault"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// spoolDir points os.TempDir (Lambda's /tmp) at a directory of the test's own, so that what a
// spool leaves there can be seen.
func spoolDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

func leftIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSpoolRoundTrip: what is written to a spool is the object after Close, in one PutObject or in
// parts, described as the streamed writer describes it, and nothing is left in /tmp.
func TestSpoolRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1000, 5 << 20, 12<<20 + 7} {
		dir := spoolDir(t)
		c := newClient(t)
		ctx := context.Background()
		data := randomBytes(size)
		w := s3stream.CreateSpool(ctx, c, "bkt", "obj")
		writeInChunks(t, w, data)
		obj, err := w.Close()
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		sum := sha256.Sum256(data)
		if obj != (s3stream.Object{Key: "obj", Bytes: int64(size), SHA256: hex.EncodeToString(sum[:])}) {
			t.Errorf("%d bytes: object = %+v", size, obj)
		}
		if got := readObject(t, c, "obj"); !bytes.Equal(got, data) {
			t.Errorf("%d bytes: read back %d bytes that differ", size, len(got))
		}
		if left := leftIn(t, dir); len(left) != 0 {
			t.Errorf("%d bytes: left %v in the temporary directory", size, left)
		}
	}
}

// TestSpoolFailuresLeaveNothing: an aborted spool, an upload refused (in one call, or in the middle
// of its parts) and a spool that cannot write its file leave no object and no temporary file.
func TestSpoolFailuresLeaveNothing(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(12 << 20)

	t.Run("abort", func(t *testing.T) {
		dir := spoolDir(t)
		c := newClient(t)
		w := s3stream.CreateSpool(ctx, c, "bkt", "obj")
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		// The file is unlinked while it is written: an invocation killed now leaves nothing.
		if left := leftIn(t, dir); len(left) != 0 {
			t.Errorf("a spool being written shows files %v", left)
		}
		w.Abort()
		if n, left := localaws.Objects(t, c, "bkt"), leftIn(t, dir); n != 0 || len(left) != 0 {
			t.Errorf("left %d objects and files %v", n, left)
		}
	})
	for _, tc := range []struct {
		name  string
		size  int
		after int
	}{{"put refused", 1000, 0}, {"second part refused", len(data), 1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := spoolDir(t)
			c := newClient(t)
			k := s3fault.New()
			k.Arm(tc.after)
			w := s3stream.CreateSpool(ctx, k.Client(c), "bkt", "obj")
			if _, err := w.Write(data[:tc.size]); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Close(); !errors.Is(err, s3fault.ErrKilled) {
				t.Fatalf("Close = %v, want the refused write's error", err)
			}
			if n, left := localaws.Objects(t, c, "bkt"), leftIn(t, dir); n != 0 || len(left) != 0 {
				t.Errorf("left %d objects and files %v", n, left)
			}
		})
	}
	t.Run("no temporary directory", func(t *testing.T) {
		t.Setenv("TMPDIR", t.TempDir()+"/missing")
		c := newClient(t)
		w := s3stream.CreateSpool(ctx, c, "bkt", "obj")
		_, err := w.Write(data[:1<<20]) // more than a spool keeps in memory
		if err == nil || !strings.Contains(err.Error(), "ephemeral storage") || !strings.Contains(err.Error(), "s3://bkt/obj") {
			t.Fatalf("Write = %v, want an error naming the object and the ephemeral storage", err)
		}
		if _, cerr := w.Close(); cerr == nil {
			t.Fatal("Close after a failed write succeeded")
		}
		if n := localaws.Objects(t, c, "bkt"); n != 0 {
			t.Errorf("left %d objects", n)
		}
	})
}
