package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Store keeps approvals. PutDecision must write at most once per id.
type Store interface {
	PutRequest(ctx context.Context, req Request) error
	// GetRequest returns ErrNotFound for an unknown id.
	GetRequest(ctx context.Context, id string) (Request, error)
	// PutDecision returns ErrAlreadyDecided if a decision for id exists.
	PutDecision(ctx context.Context, id string, d Decision) error
	// GetDecision returns ErrNotFound if id is undecided.
	GetDecision(ctx context.Context, id string) (Decision, error)
	PutOutcome(ctx context.Context, id string, o Outcome) error
	// GetOutcome returns ErrNotFound if no outcome was recorded.
	GetOutcome(ctx context.Context, id string) (Outcome, error)
}

// Store errors.
var (
	ErrNotFound       = errors.New("not found")
	ErrAlreadyDecided = errors.New("approval already decided")
)

// S3API is what S3Store calls.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Store keeps approvals in Bucket under approvals/<id>/: request.json, decision.json (written
// once, with If-None-Match: *) and outcome.json.
type S3Store struct {
	Client S3API
	Bucket string
}

func key(id, name string) string { return "approvals/" + id + "/" + name }

// PutRequest writes request.json.
func (s *S3Store) PutRequest(ctx context.Context, req Request) error {
	return s.put(ctx, key(req.ID, "request.json"), req, false)
}

// GetRequest reads request.json.
func (s *S3Store) GetRequest(ctx context.Context, id string) (Request, error) {
	var r Request
	return r, s.get(ctx, key(id, "request.json"), &r)
}

// PutDecision writes decision.json unless it exists.
func (s *S3Store) PutDecision(ctx context.Context, id string, d Decision) error {
	return s.put(ctx, key(id, "decision.json"), d, true)
}

// GetDecision reads decision.json.
func (s *S3Store) GetDecision(ctx context.Context, id string) (Decision, error) {
	var d Decision
	return d, s.get(ctx, key(id, "decision.json"), &d)
}

// PutOutcome writes outcome.json.
func (s *S3Store) PutOutcome(ctx context.Context, id string, o Outcome) error {
	return s.put(ctx, key(id, "outcome.json"), o, false)
}

// GetOutcome reads outcome.json.
func (s *S3Store) GetOutcome(ctx context.Context, id string) (Outcome, error) {
	var o Outcome
	return o, s.get(ctx, key(id, "outcome.json"), &o)
}

// conflictRetries bounds retries of S3's 409 ConditionalRequestConflict, which a conditional
// write can get while another write to the key is in flight; a retry then sees 412 or succeeds.
const conflictRetries = 3

func (s *S3Store) put(ctx context.Context, k string, v any, once bool) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode s3://%s/%s: %w", s.Bucket, k, err)
	}
	for attempt := 0; ; attempt++ {
		in := &s3.PutObjectInput{
			Bucket: aws.String(s.Bucket), Key: aws.String(k),
			Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
		}
		if once {
			in.IfNoneMatch = aws.String("*")
		}
		_, err = s.Client.PutObject(ctx, in)
		switch {
		case err == nil:
			return nil
		case once && preconditionFailed(err):
			return ErrAlreadyDecided
		case once && apiErrorCode(err) == "ConditionalRequestConflict" && attempt < conflictRetries:
			select {
			case <-time.After(time.Duration(50*(attempt+1)) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		return fmt.Errorf("put s3://%s/%s: %w", s.Bucket, k, err)
	}
}

func (s *S3Store) get(ctx context.Context, k string, v any) error {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(k)})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) || apiErrorCode(err) == "NoSuchKey" || httpStatus(err) == http.StatusNotFound {
			return ErrNotFound
		}
		return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, k, err)
	}
	defer out.Body.Close()
	// The objects are small; a bound keeps a corrupted one from exhausting memory.
	data, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", s.Bucket, k, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode s3://%s/%s: %w", s.Bucket, k, err)
	}
	return nil
}

// preconditionFailed reports S3's answer to a conditional write whose key exists: error code
// PreconditionFailed, HTTP 412. The SDK has no modelled type for it.
func preconditionFailed(err error) bool {
	return apiErrorCode(err) == "PreconditionFailed" || httpStatus(err) == http.StatusPreconditionFailed
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
