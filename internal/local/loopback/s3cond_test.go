package loopback

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// TestConditionalPutIfNoneMatch proves the stack honours PutObject's If-None-Match: * as S3 does
// (since 2024): an existing key gives 412 PreconditionFailed, and of concurrent conditional
// writes exactly one wins. gofakes3 v1.2.0 checks the condition under its backend lock, so the
// stack needs no code of its own for it; this test keeps an upgrade from losing that.
func TestConditionalPutIfNoneMatch(t *testing.T) {
	ctx := t.Context()
	stack := startStack(t, Config{})
	if err := stack.CreateBucket("plans"); err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(stack.AWSConfig("ap-northeast-3"), stack.S3Options)
	put := func(key, body string) error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plans"), Key: aws.String(key),
			Body: bytes.NewReader([]byte(body)), IfNoneMatch: aws.String("*")})
		return err
	}

	if err := put("approvals/a/decision.json", "first"); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	err := put("approvals/a/decision.json", "second")
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed" || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusPreconditionFailed {
		t.Fatalf("second conditional put: %v, want PreconditionFailed (412)", err)
	}
	if got := string(getObject(t, client, "plans", "approvals/a/decision.json")); got != "first" {
		t.Errorf("object = %q, want the first write", got)
	}

	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = put("approvals/b/decision.json", fmt.Sprint("writer ", i)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed":
			t.Errorf("concurrent conditional put: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent conditional writes succeeded, want 1", won)
	}
}
