package s3stream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

func newClient(t *testing.T) *s3.Client {
	return localaws.NewBucket(t, "bkt")
}

func TestStreamedUploadRoundTrip(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	// 12 MB in small writes: more than two multipart parts, written the way an export writes.
	data := randomBytes(12 << 20)
	w := s3stream.Create(ctx, c, "bkt", "big")
	writeInChunks(t, w, data)
	obj, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if obj.Bytes != int64(len(data)) || obj.SHA256 != hex.EncodeToString(sum[:]) || obj.Key != "big" {
		t.Errorf("object = %+v, want %d bytes and the data's SHA-256", obj, len(data))
	}
	if got := readObject(t, c, "big"); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
	// Digest describes the stored object exactly as the writer described what it wrote.
	if d, err := s3stream.Digest(ctx, c, "bkt", "big"); err != nil || d != obj {
		t.Errorf("Digest = %+v, %v; want %+v", d, err, obj)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big"), Body: bytes.NewReader(data[1:])}); err != nil {
		t.Fatal(err)
	}
	if d, err := s3stream.Digest(ctx, c, "bkt", "big"); err != nil || d == obj || d.Bytes != obj.Bytes-1 {
		t.Errorf("Digest of a changed object = %+v, %v", d, err)
	}
}

func TestAbortLeavesNoObject(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	w := s3stream.Create(ctx, c, "bkt", "partial")
	if _, err := w.Write(bytes.Repeat([]byte("x"), 6<<20)); err != nil {
		t.Fatal(err)
	}
	w.Abort(errors.New("export failed"))
	if n := localaws.Objects(t, c, "bkt"); n != 0 {
		t.Errorf("an aborted upload left %d objects", n)
	}
}

func randomBytes(n int) []byte {
	data := make([]byte, n)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.IntN(256))
	}
	return data
}

// writeInChunks writes data to w in small writes, the way an export or a gzip stream writes.
func writeInChunks(t *testing.T, w io.Writer, data []byte) {
	t.Helper()
	for off := 0; off < len(data); off += 4096 {
		if _, err := w.Write(data[off:min(off+4096, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
}

// readObject is the whole of bucket bkt's object key.
func readObject(t *testing.T, c *s3.Client, key string) []byte {
	t.Helper()
	r, err := s3stream.Open(context.Background(), c, "bkt", key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteToMissingBucketFails(t *testing.T) {
	c := newClient(t)
	w := s3stream.Create(context.Background(), c, "missing-bucket", "k")
	w.Write([]byte("hello"))
	if _, err := w.Close(); err == nil {
		t.Fatal("want an error uploading to a bucket that does not exist")
	}
}
