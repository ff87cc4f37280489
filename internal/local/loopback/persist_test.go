package loopback

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
)

// TestSaveLoadS3: a stack loaded from another's SaveS3 has the same buckets and objects — more
// than a listing page of them — with the same bytes, content type and user metadata.
func TestSaveLoadS3(t *testing.T) {
	ctx := t.Context()
	src := startStack(t, Config{})
	client := s3.NewFromConfig(src.AWSConfig("us-east-1"), src.S3Options)
	for _, b := range []string{"backups", "empty"} {
		if err := src.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("backups"), Key: aws.String("pool/manifest.json"),
		Body: bytes.NewReader([]byte(`{"users":3}`)), ContentType: aws.String("application/json"), Metadata: map[string]string{"users": "3"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 1001 {
		if _, err := src.backend.PutObject("backups", fmt.Sprintf("pool/part-%04d.csv", i), nil, bytes.NewReader(randomBytes(i)), int64(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	look := func(s *Stack) map[string]string {
		t.Helper()
		c := s3.NewFromConfig(s.AWSConfig("us-east-1"), s.S3Options)
		out := map[string]string{}
		buckets, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range buckets.Buckets {
			out["bucket "+aws.ToString(b.Name)] = ""
		}
		pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("backups")})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("backups"), Key: o.Key})
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(got.Body)
				got.Body.Close()
				out[aws.ToString(o.Key)] = fmt.Sprintf("%s %s %v", b, aws.ToString(got.ContentType), got.Metadata)
			}
		}
		return out
	}
	before := look(src)
	if len(before) != 1004 {
		t.Fatalf("%d entries before the save, want 2 buckets and 1002 objects", len(before))
	}
	var saved bytes.Buffer
	if err := src.SaveS3(&saved); err != nil {
		t.Fatal(err)
	}
	dst := startStack(t, Config{})
	if err := dst.LoadS3(&saved); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, look(dst)); diff != "" {
		t.Errorf("after load (-before +after):\n%s", diff)
	}
}
