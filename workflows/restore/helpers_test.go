package restore_test

import (
	"bytes"
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// objects reads every object of the bucket, to put them back after a test changed some.
func (f *fixture) objects() map[string][]byte {
	f.t.Helper()
	ctx := context.Background()
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	out := map[string][]byte{}
	pages := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(f.sc.Bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, o := range page.Contents {
			b, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, aws.ToString(o.Key))
			if err != nil {
				f.t.Fatal(err)
			}
			out[aws.ToString(o.Key)] = b
		}
	}
	return out
}

// putObjects writes objects back, and deletes what was not among them.
func (f *fixture) putObjects(objs map[string][]byte) {
	f.t.Helper()
	ctx := context.Background()
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	for k := range f.objects() {
		if _, ok := objs[k]; !ok {
			if _, err := store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.sc.Bucket), Key: aws.String(k)}); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	for k, b := range objs {
		if _, err := s3stream.Put(ctx, store, f.sc.Bucket, k, b); err != nil {
			f.t.Fatal(err)
		}
	}
}

// move renames an object, as a lost or misplaced file would look.
func (f *fixture) move(from, to string) {
	f.t.Helper()
	ctx := context.Background()
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	b, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, from)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := s3stream.Put(ctx, store, f.sc.Bucket, to, b); err != nil {
		f.t.Fatal(err)
	}
	if _, err := store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.sc.Bucket), Key: aws.String(from)}); err != nil {
		f.t.Fatal(err)
	}
}

// corrupt flips one byte in the middle of an object, as bit rot or a bad copy would.
func (f *fixture) corrupt(key string) {
	f.t.Helper()
	ctx := context.Background()
	b, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, key)
	if err != nil {
		f.t.Fatal(err)
	}
	b = bytes.Clone(b)
	b[len(b)/2] ^= 0xff
	if _, err := s3stream.Put(ctx, f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, key, b); err != nil {
		f.t.Fatal(err)
	}
}
