package s3fault_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/s3fault"
)

// TestArmedKillFailsWritesPastItsAllowance: an armed Kill lets its allowance of writes through
// and fails the rest before they leave the client; reads pass; disarmed, every write passes.
func TestArmedKillFailsWritesPastItsAllowance(t *testing.T) {
	var sent []string
	base := s3.New(s3.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 1, HTTPClient: recorder(func(op string) { sent = append(sent, op) })})
	k := s3fault.New()
	c := k.Client(base)
	ctx := context.Background()
	put := func() error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("x")})
		return err
	}
	if err := put(); errors.Is(err, s3fault.ErrKilled) {
		t.Fatalf("disarmed: %v", err)
	}
	k.Arm(1)
	if err := put(); errors.Is(err, s3fault.ErrKilled) {
		t.Fatalf("first write after Arm(1): %v", err)
	}
	if err := put(); !errors.Is(err, s3fault.ErrKilled) {
		t.Fatalf("second write after Arm(1): %v; want killed", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}); errors.Is(err, s3fault.ErrKilled) {
		t.Fatalf("a read was killed: %v", err)
	}
	if !k.Killed() || k.Killed() {
		t.Fatal("Killed: want true once, then false")
	}
	if err := put(); errors.Is(err, s3fault.ErrKilled) {
		t.Fatalf("after Killed (disarmed): %v", err)
	}
	if want := 4; len(sent) != want {
		t.Errorf("%d requests reached the wire (%v); want %d: the killed write never leaves", len(sent), sent, want)
	}
}

// recorder answers every request 200 with an empty body and tells what it sent.
type recorder func(method string)

func (r recorder) Do(req *http.Request) (*http.Response, error) {
	r(req.Method)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// TestReadsCountsEachKeyRead: every GetObject through a Reads client counts for its key, writes
// do not, and Take starts the count again.
func TestReadsCountsEachKeyRead(t *testing.T) {
	base := s3.New(s3.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 1, HTTPClient: recorder(func(string) {})})
	r := s3fault.NewReads()
	c := r.Client(base)
	ctx := context.Background()
	for _, key := range []string{"a", "b", "a"} {
		if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("c"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if got := r.Take(); len(got) != 2 || got["a"] != 2 || got["b"] != 1 {
		t.Errorf("reads %v, want a twice and b once", got)
	}
	if got := r.Take(); len(got) != 0 {
		t.Errorf("reads after Take %v, want none", got)
	}
}
