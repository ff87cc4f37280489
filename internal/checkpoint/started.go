package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// Started returns when a step first ran, recording now at key on its first invocation, before the
// step makes any call. Its re-runs and retries read the same moment back, so "created after the
// step started" keeps meaning "created by this run" across Lambda invocations.
func Started(ctx context.Context, store transfermanager.S3APIClient, bucket, key string, now time.Time) (time.Time, error) {
	var rec struct {
		Started time.Time `json:"started"`
	}
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err == nil {
		defer r.Close()
		body, err := io.ReadAll(r)
		if err != nil {
			return time.Time{}, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
		}
		if err := json.Unmarshal(body, &rec); err != nil || rec.Started.IsZero() {
			return time.Time{}, fmt.Errorf("s3://%s/%s does not record a start time: %v", bucket, key, err)
		}
		return rec.Started, nil
	}
	var missing *s3types.NoSuchKey
	if !errors.As(err, &missing) {
		return time.Time{}, err
	}
	rec.Started = now.UTC()
	body, err := json.Marshal(rec)
	if err != nil {
		return time.Time{}, err
	}
	if _, err := s3stream.Put(ctx, store, bucket, key, body); err != nil {
		return time.Time{}, fmt.Errorf("record the start of the step: %w", err)
	}
	return rec.Started, nil
}

// ClockSlack allows for the clocks of the task and of Cognito disagreeing (both are synchronised
// with NTP): a user created up to this long before a recorded start still counts as created after it.
const ClockSlack = 2 * time.Second

// CreatedSince reports whether a user Cognito says was created at created was created at or after
// started — by this run, when started is the moment the run began trying to create it. A create
// whose first answer was lost (a timeout, a reset, a 5xx after the write) is retried by the SDK or
// re-run with its chunk, and answered "user exists": this is how the run knows the user is its own.
func CreatedSince(created, started time.Time) bool {
	return !created.Before(started.Add(-ClockSlack))
}
