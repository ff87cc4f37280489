package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Export checks the request, then streams every user, group and membership of the pool to the
// snapshot's files in the backup bucket.
func (s *Steps) Export(ctx context.Context, in ExportInput) (ExportOutput, error) {
	req, err := in.Request.withDefaults()
	if err != nil {
		return ExportOutput{}, err
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil {
		return ExportOutput{}, stateerr.Invalid("startTime %q is not an RFC 3339 time", in.StartTime)
	}
	if in.ExecutionName == "" {
		return ExportOutput{}, stateerr.Invalid("executionName is required")
	}

	cognito := s.Cognito(req.Region)
	pool, err := preflight.DescribePool(ctx, cognito, req.UserPoolID, req.Region)
	if err != nil {
		return ExportOutput{}, err
	}
	if req.TargetUserPoolID != req.UserPoolID || req.TargetRegion != req.Region {
		if _, err := preflight.DescribePool(ctx, s.Cognito(req.TargetRegion), req.TargetUserPoolID, req.TargetRegion); err != nil {
			return ExportOutput{}, fmt.Errorf("target pool: %w", err)
		}
	}
	store := s.S3(req.BucketRegion)
	if err := preflight.CheckBucket(ctx, store, req.Bucket, req.BucketRegion); err != nil {
		return ExportOutput{}, err
	}

	loc := Location{
		Bucket: req.Bucket,
		Region: req.BucketRegion,
		Prefix: snapshot.RunPrefix(req.Prefix, req.UserPoolID, started, in.ExecutionName),
	}
	begin := s.now()
	opts := export.Options{IncludeMFA: req.IncludeMFAPreferences}
	if s.Progress != nil {
		estimated := int(pool.EstimatedNumberOfUsers)
		opts.Progress = func(n int) {
			s.Progress(Progress{Users: n, Estimated: estimated, Elapsed: s.now().Sub(begin)})
		}
	}
	w, err := export.New(cognito, s.Quota.Pacer(req.Region, export.Ops), opts).WriteSnapshot(ctx, store, loc.Bucket, loc.Prefix, req.UserPoolID)
	if err != nil {
		return ExportOutput{}, fmt.Errorf("export %s to s3://%s/%s: %w", req.UserPoolID, loc.Bucket, loc.Prefix, err)
	}
	out := ExportOutput{
		Source:      PoolRef{UserPoolID: req.UserPoolID, Region: req.Region},
		PoolName:    aws.ToString(pool.Name),
		Target:      PoolRef{UserPoolID: req.TargetUserPoolID, Region: req.TargetRegion},
		SnapshotAt:  started.UTC(),
		Snapshot:    loc,
		Users:       w.Users,
		Disabled:    w.Disabled,
		ByStatus:    w.ByStatus,
		Groups:      w.Groups,
		Memberships: w.Memberships,
		Files:       w.Files,
		Seconds:     s.now().Sub(begin).Seconds(),
	}
	if req.IncludeMFAPreferences {
		out.WithMFA = aws.Int(w.WithMFA)
	}
	return out, nil
}
