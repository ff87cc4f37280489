package failback

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

func getJSON(ctx context.Context, c s3stream.GetObjectAPI, bucket, key string, v any) error {
	r, err := s3stream.Open(ctx, c, bucket, key)
	if err != nil {
		return err
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
