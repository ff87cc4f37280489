package s3stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// Spool is an io.Writer that writes to a temporary file in os.TempDir() (Lambda's /tmp) and uploads
// it to one S3 object on Close (an object of at most spoolBuffer bytes stays in memory). A task that
// writes many objects at once holds a small file buffer for each instead of an upload's part
// buffers; an upload then sends sections of its file, so no
// part is held in memory at all (the transfer manager reads every part into a buffer of its own,
// three of them alive per upload, even from a seekable body). The file is unlinked when created
// (TempFile) and closed by Close and Abort: nothing is left in /tmp and nothing half-written in S3.
type Spool struct {
	ctx    context.Context
	client transfermanager.S3APIClient
	bucket string
	key    string
	small  []byte // what was written while it fits in spoolBuffer; then f holds it all
	f      *os.File
	buf    *bufio.Writer
	sum    *Hasher
	err    error
}

// spoolBuffer is what a spool keeps in memory: an object that fits is sent from it without a
// temporary file (the many small files of a small pool's units); a larger one is written through
// a buffer of this size, which batches the gzip stream's small writes into few system calls.
const spoolBuffer = 64 << 10

// CreateSpool starts a spooled object at bucket/key. Its temporary file is created by the Write
// that outgrows spoolBuffer, so an error creating it (no /tmp, or no space left) is that Write's.
func CreateSpool(ctx context.Context, client transfermanager.S3APIClient, bucket, key string) *Spool {
	return &Spool{ctx: ctx, client: client, bucket: bucket, key: key, sum: NewHasher()}
}

// Write appends p to the spool file. An error (a full /tmp) is kept: every later Write and Close
// returns it, and nothing is uploaded.
func (w *Spool) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.f == nil && len(w.small)+len(p) <= spoolBuffer {
		w.small = append(w.small, p...)
		w.sum.Write(p)
		return len(p), nil
	}
	if w.f == nil {
		f, err := TempFile("", "s3spool-*")
		if err != nil {
			return 0, w.fail(err)
		}
		w.f, w.buf = f, bufio.NewWriterSize(f, spoolBuffer)
		_, err = w.buf.Write(w.small)
		w.small = nil
		if err != nil {
			return 0, w.fail(err)
		}
	}
	n, err := w.buf.Write(p)
	w.sum.Write(p[:n])
	if err != nil {
		return n, w.fail(err)
	}
	return n, nil
}

// fail keeps the first error, saying which object could not be spooled where.
func (w *Spool) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("spool s3://%s/%s to %s (the function's ephemeral storage): %w", w.bucket, w.key, os.TempDir(), err)
	}
	return w.err
}

// Close uploads the spooled file, removes it and reports the object's size and SHA-256. On an
// error no object is written (a multipart upload is aborted).
func (w *Spool) Close() (Object, error) {
	defer w.remove()
	if w.err != nil {
		return Object{}, w.err
	}
	var body io.ReaderAt = bytes.NewReader(w.small)
	if w.f != nil {
		if err := w.buf.Flush(); err != nil {
			return Object{}, w.fail(err)
		}
		body = w.f
	}
	if err := upload(w.ctx, w.client, w.bucket, w.key, body, w.sum.bytes); err != nil {
		return Object{}, fmt.Errorf("upload %s: %w", w.key, err)
	}
	return w.sum.Object(w.key), nil
}

// Abort discards the spool: nothing was sent to S3, and its file is removed.
func (w *Spool) Abort() { w.remove() }

func (w *Spool) remove() {
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.buf, w.small = nil, nil, nil
	if w.err == nil {
		w.err = errors.New("spool already closed")
	}
}

// TempFile creates a temporary file in dir (os.TempDir() if empty) and unlinks it at once: it is
// read and written through the returned file, and its disk space is freed when that is closed or
// the process ends, so nothing is left behind in /tmp, even by an invocation killed mid-unit
// (Lambda keeps /tmp between invocations).
func TempFile(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// upload writes the first size bytes of f (a spool's file, or its bytes) to bucket/key: in one PutObject up to partSize, else
// in parts of partSize (more if the file has more than maxParts of them), each part a section of
// the file that the SDK reads (and re-reads on a retry) from disk.
func upload(ctx context.Context, client transfermanager.S3APIClient, bucket, key string, f io.ReaderAt, size int64) error {
	if size <= partSize {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key),
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size),
		})
		return err
	}
	part := max(int64(partSize), (size+maxParts-1)/maxParts)
	created, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < size; off, n = off+part, n+1 {
		length := min(part, size-off)
		out, err := client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId, PartNumber: aws.Int32(n),
			Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			return abortUpload(ctx, client, bucket, key, created.UploadId, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n), ChecksumCRC32: out.ChecksumCRC32})
	}
	_, err = client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abortUpload(ctx, client, bucket, key, created.UploadId, err)
	}
	return nil
}

// abortUpload discards a failed multipart upload's parts (with a context of its own: the failure
// may be the task's context ending) and returns the failure.
func abortUpload(ctx context.Context, client transfermanager.S3APIClient, bucket, key string, id *string, cause error) error {
	_, err := client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: id,
	})
	if err != nil {
		return errors.Join(cause, fmt.Errorf("abort multipart upload: %w", err))
	}
	return cause
}
