package manifest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

const bucket, region, pool = "backups", "ap-northeast-3", "ap-northeast-1_AbCdEf123"

// newBucket starts a local stack with an empty backup bucket and returns its S3 client and a
// function that writes an object.
func newBucket(t *testing.T) (*s3.Client, func(key string, body []byte)) {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AWS.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	s3c := st.Clients.S3(region)
	return s3c, func(key string, body []byte) {
		t.Helper()
		if _, err := s3stream.Put(context.Background(), s3c, bucket, key, body); err != nil {
			t.Fatal(err)
		}
	}
}
