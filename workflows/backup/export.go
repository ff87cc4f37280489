package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Export checks the request, then streams the users, groups and memberships of the pool to the
// snapshot's files in the backup bucket for at most one time budget (ExportBudget), from where
// the previous invocation of the same execution stopped. The state machine calls it again while
// Done is false; the checkpoint lives under the snapshot's prefix, named by the execution.
func (s *Steps) Export(ctx context.Context, in ExportInput) (ExportOutput, error) {
	// The budget counts from the start of the invocation, checks included.
	b, budget, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
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
	opts := export.Options{IncludeMFA: req.IncludeMFAPreferences, Estimated: int(pool.EstimatedNumberOfUsers)}
	if s.Progress != nil {
		estimated := int(pool.EstimatedNumberOfUsers)
		opts.Progress = func(n int) {
			s.Progress(Progress{Users: n, Estimated: estimated, Elapsed: s.now().Sub(begin)})
		}
	}
	pace := s.Quota.Pacer(req.Region, export.Ops)
	opts.PerShard = export.New(cognito, pace, opts).ShardUsers(budget)
	prog, err := export.New(cognito, pace, opts).Resume(ctx, store, loc.Bucket, loc.Prefix, req.UserPoolID, b)
	if err != nil {
		return ExportOutput{}, fmt.Errorf("export %s to s3://%s/%s: %w", req.UserPoolID, loc.Bucket, loc.Prefix, err)
	}
	out := ExportOutput{
		Done:            prog.Done(),
		RemainingShards: len(prog.Pending),
		Invocations:     prog.Invocations,
		EstimatedUsers:  int(pool.EstimatedNumberOfUsers),
		Source:          PoolRef{UserPoolID: req.UserPoolID, Region: req.Region},
		PoolName:        aws.ToString(pool.Name),
		Target:          PoolRef{UserPoolID: req.TargetUserPoolID, Region: req.TargetRegion},
		SnapshotAt:      started.UTC(),
		Snapshot:        loc,
		Users:           prog.Users,
		Disabled:        prog.Disabled,
		ByStatus:        prog.ByStatus,
		Files:           []s3stream.Object{},
		Seconds:         prog.Seconds,
	}
	if g := prog.Groups; g != nil {
		out.Groups, out.Memberships = g.GroupCount, g.Members
	}
	if out.Done {
		// The users index, groups and the memberships index: WriteManifest lists the parts from
		// the indexes.
		idx, err := s3stream.Digest(ctx, store, loc.Bucket, loc.Prefix+UsersIndexFile)
		if err != nil {
			return ExportOutput{}, fmt.Errorf("export %s: %w", req.UserPoolID, err)
		}
		out.Files = []s3stream.Object{idx, prog.Groups.Groups, prog.Groups.Memberships}
	}
	if req.IncludeMFAPreferences {
		out.WithMFA = aws.Int(prog.WithMFA)
	}
	return out, nil
}
