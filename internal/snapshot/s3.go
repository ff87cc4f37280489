package snapshot

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// GetLines streams the gzip JSON-lines object bucket/key into fn, record by record.
func GetLines[T any](ctx context.Context, store s3stream.GetObjectAPI, bucket, key string, fn func(T) error) error {
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ReadLines(r, fn); err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// GetRawLines streams the lines of the gzip JSON-lines object bucket/key into fn undecoded
// (ReadRawLines).
func GetRawLines(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string, fn func(line []byte) error) error {
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ReadRawLines(r, fn); err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// PutLines writes rows as one gzip JSON-lines object.
func PutLines[T any](ctx context.Context, store transfermanager.S3APIClient, bucket, key string, rows []T) error {
	w := s3stream.Create(ctx, store, bucket, key)
	lw := NewLineWriter(w)
	for _, r := range rows {
		if err := lw.Write(r); err != nil {
			w.Abort(err)
			return err
		}
	}
	if err := lw.Close(); err != nil {
		w.Abort(err)
		return err
	}
	_, err := w.Close()
	return err
}
