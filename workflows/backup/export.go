package backup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
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
	pool, err := describePool(ctx, cognito, req.UserPoolID, req.Region)
	if err != nil {
		return ExportOutput{}, err
	}
	if req.TargetUserPoolID != req.UserPoolID || req.TargetRegion != req.Region {
		if _, err := describePool(ctx, s.Cognito(req.TargetRegion), req.TargetUserPoolID, req.TargetRegion); err != nil {
			return ExportOutput{}, fmt.Errorf("target pool: %w", err)
		}
	}
	store := s.S3(req.BucketRegion)
	if err := checkBucket(ctx, store, req.Bucket, req.BucketRegion); err != nil {
		return ExportOutput{}, err
	}

	out := ExportOutput{
		Source:     PoolRef{UserPoolID: req.UserPoolID, Region: req.Region},
		PoolName:   aws.ToString(pool.Name),
		Target:     PoolRef{UserPoolID: req.TargetUserPoolID, Region: req.TargetRegion},
		SnapshotAt: started.UTC(),
		Snapshot: Location{
			Bucket: req.Bucket,
			Region: req.BucketRegion,
			Prefix: fmt.Sprintf("%s/%s/%s_%s/", req.Prefix, req.UserPoolID, started.UTC().Format("20060102T150405Z"), in.ExecutionName),
		},
		ByStatus: map[string]int{},
	}

	begin := s.now()
	estimated := int(pool.EstimatedNumberOfUsers)
	rates := s.Rates
	rates.IncludeMFA = req.IncludeMFAPreferences
	if s.Progress != nil {
		rates.Progress = func(n int) {
			s.Progress(Progress{Users: n, Estimated: estimated, Elapsed: s.now().Sub(begin)})
		}
	}
	exp := export.New(cognito, rates)

	g, gctx := errgroup.WithContext(ctx)
	var users, groups, memberships s3stream.Object
	g.Go(func() error {
		var withMFA int
		obj, err := writeLines(gctx, store, out.Snapshot, UsersFile, func(w *snapshot.LineWriter) error {
			n, err := exp.Users(gctx, req.UserPoolID, func(u snapshot.User) error {
				out.ByStatus[u.Status]++
				if !u.Enabled {
					out.Disabled++
				}
				if u.MFA != nil && len(u.MFA.Enabled) > 0 {
					withMFA++
				}
				return w.Write(u)
			})
			out.Users = n
			return err
		})
		users = obj
		if req.IncludeMFAPreferences {
			out.WithMFA = &withMFA
		}
		return err
	})
	g.Go(func() error {
		// Groups and memberships are written side by side as the export lists them.
		gw := s3stream.Create(gctx, store, req.Bucket, out.Snapshot.Prefix+GroupsFile)
		mw := s3stream.Create(gctx, store, req.Bucket, out.Snapshot.Prefix+MembershipsFile)
		gl, ml := snapshot.NewLineWriter(gw), snapshot.NewLineWriter(mw)
		var err error
		out.Groups, out.Memberships, err = exp.Groups(gctx, req.UserPoolID,
			func(g snapshot.Group) error { return gl.Write(g) },
			func(m snapshot.Membership) error { return ml.Write(m) })
		if err == nil {
			err = errors.Join(gl.Close(), ml.Close())
		}
		if err != nil {
			gw.Abort(err)
			mw.Abort(err)
			return err
		}
		if groups, err = gw.Close(); err != nil {
			mw.Abort(err)
			return err
		}
		memberships, err = mw.Close()
		return err
	})
	if err := g.Wait(); err != nil {
		return ExportOutput{}, fmt.Errorf("export %s to s3://%s/%s: %w", req.UserPoolID, req.Bucket, out.Snapshot.Prefix, err)
	}
	out.Files = []s3stream.Object{users, groups, memberships}
	out.Seconds = s.now().Sub(begin).Seconds()
	return out, nil
}

// writeLines streams gzip JSON lines written by fill to one object of the snapshot.
func writeLines(ctx context.Context, store S3, loc Location, name string, fill func(*snapshot.LineWriter) error) (s3stream.Object, error) {
	w := s3stream.Create(ctx, store, loc.Bucket, loc.Prefix+name)
	lw := snapshot.NewLineWriter(w)
	err := fill(lw)
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		w.Abort(err)
		return s3stream.Object{}, err
	}
	return w.Close()
}

// describePool returns the pool, or PoolNotFound when Cognito says it does not exist in region.
func describePool(ctx context.Context, c Cognito, id, region string) (*types.UserPoolType, error) {
	out, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return nil, &stateerr.PoolNotFound{Msg: fmt.Sprintf("user pool %s does not exist in %s", id, region)}
	}
	if err != nil {
		return nil, fmt.Errorf("describe user pool %s in %s: %w", id, region, err)
	}
	return out.UserPool, nil
}

// checkBucket fails with BucketNotFound before any work when the bucket cannot take the snapshot.
func checkBucket(ctx context.Context, c S3, bucket, region string) error {
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	var notFound *s3types.NotFound
	var noBucket *s3types.NoSuchBucket
	var resp *awshttp.ResponseError
	switch {
	case errors.As(err, &notFound), errors.As(err, &noBucket),
		errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
		return &stateerr.BucketNotFound{Msg: fmt.Sprintf("bucket %s does not exist in %s", bucket, region)}
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusMovedPermanently:
		return &stateerr.BucketNotFound{Msg: fmt.Sprintf("bucket %s is not in %s (S3 answered 301: it is in another Region)", bucket, region)}
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusForbidden:
		return &stateerr.BucketNotFound{Msg: fmt.Sprintf("bucket %s in %s is not accessible: access denied", bucket, region)}
	}
	return fmt.Errorf("check bucket %s in %s: %w", bucket, region, err)
}
