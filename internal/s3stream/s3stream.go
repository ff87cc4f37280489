// Package s3stream writes and reads S3 objects as streams, so a task never holds a whole snapshot in
// memory: writes go through the SDK's transfer manager in bounded parts, reads stream GetObject.
package s3stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// partSize is S3's minimum multipart part size; with one part in flight a writer holds about two
// parts of memory whatever the object's size.
const partSize = 5 << 20

// Object describes a written object: what a manifest records to prove a file is whole.
type Object struct {
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Hasher counts and hashes what is written to it: how Writer describes what it uploaded and
// Digest (or a reader that tees into one) what it read, so that the descriptions always agree.
type Hasher struct {
	hash  hash.Hash
	bytes int64
}

// NewHasher returns an empty Hasher.
func NewHasher() *Hasher { return &Hasher{hash: sha256.New()} }

// Write adds p; it never fails.
func (d *Hasher) Write(p []byte) (int, error) {
	d.hash.Write(p)
	d.bytes += int64(len(p))
	return len(p), nil
}

// Object describes what was written so far as the object key.
func (d *Hasher) Object(key string) Object {
	return Object{Key: key, Bytes: d.bytes, SHA256: hex.EncodeToString(d.hash.Sum(nil))}
}

// Writer is an io.WriteCloser that uploads what is written to one S3 object.
type Writer struct {
	key  string
	pw   *io.PipeWriter
	sum  *Hasher
	done chan error
}

// Create starts streaming an upload to bucket/key. Close completes it; Abort discards it.
func Create(ctx context.Context, client transfermanager.S3APIClient, bucket, key string) *Writer {
	pr, pw := io.Pipe()
	w := &Writer{key: key, pw: pw, sum: NewHasher(), done: make(chan error, 1)}
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.MultipartUploadThreshold = partSize
		o.Concurrency = 1
	})
	go func() {
		_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: pr})
		// Unblock a writer still writing after a failed upload.
		pr.CloseWithError(errUploadEnded(err))
		w.done <- err
	}()
	return w
}

func errUploadEnded(err error) error {
	if err == nil {
		return errors.New("upload already completed")
	}
	return err
}

// Write sends p to the upload.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	w.sum.Write(p[:n])
	if err != nil {
		return n, fmt.Errorf("upload %s: %w", w.key, err)
	}
	return n, nil
}

// Close finishes the upload and reports the object's size and SHA-256.
func (w *Writer) Close() (Object, error) {
	w.pw.Close()
	if err := <-w.done; err != nil {
		return Object{}, fmt.Errorf("upload %s: %w", w.key, err)
	}
	return w.sum.Object(w.key), nil
}

// Abort stops the upload; the transfer manager aborts any multipart upload so no part is left behind.
func (w *Writer) Abort(cause error) {
	if cause == nil {
		cause = errors.New("aborted")
	}
	w.pw.CloseWithError(cause)
	<-w.done
}

// GetObjectAPI is the one call Open needs.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Open streams bucket/key.
func Open(ctx context.Context, client GetObjectAPI, bucket, key string) (io.ReadCloser, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	return out.Body, nil
}

// Digest streams bucket/key to its end and describes it as Writer.Close describes what it wrote:
// size and SHA-256, holding none of it in memory.
func Digest(ctx context.Context, client GetObjectAPI, bucket, key string) (Object, error) {
	r, err := Open(ctx, client, bucket, key)
	if err != nil {
		return Object{}, err
	}
	defer r.Close()
	h := NewHasher()
	if _, err := io.Copy(h, r); err != nil {
		return Object{}, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return h.Object(key), nil
}

// Put writes a small object in one call (manifests, reports).
func Put(ctx context.Context, client transfermanager.S3APIClient, bucket, key string, body []byte) (Object, error) {
	w := Create(ctx, client, bucket, key)
	if _, err := w.Write(body); err != nil {
		w.Abort(err)
		return Object{}, err
	}
	return w.Close()
}
