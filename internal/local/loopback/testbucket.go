package loopback

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// NewBucket starts a stack for the test t with an empty bucket named bucket, and returns an S3
// client of it (in ap-northeast-3). The stack closes when the test ends.
func NewBucket(t testing.TB, bucket string) *s3.Client {
	t.Helper()
	st, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(st.AWSConfig("ap-northeast-3"), st.S3Options)
}

// Objects is how many objects bucket holds (one listing page: a test's few).
func Objects(t testing.TB, c *s3.Client, bucket string) int {
	t.Helper()
	out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Contents)
}
