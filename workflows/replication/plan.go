package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

func (r Request) withDefaults() (Request, error) {
	if r.Prefix == "" {
		r.Prefix = DefaultPrefix
	}
	r.Prefix = strings.TrimSuffix(r.Prefix, "/")
	var p preflight.Problems
	p.Region("primaryRegion", r.PrimaryRegion)
	p.Pool("primaryUserPoolId", r.PrimaryUserPoolID, r.PrimaryRegion)
	p.Region("drRegion", r.DRRegion)
	p.Pool("drUserPoolId", r.DRUserPoolID, r.DRRegion)
	p.Region("bucketRegion", r.BucketRegion)
	p.Bucket("bucket", r.Bucket)
	if r.PrimaryUserPoolID != "" && r.PrimaryUserPoolID == r.DRUserPoolID {
		p.Add("primaryUserPoolId and drUserPoolId are the same pool")
	}
	return r, p.Err("reconcile request")
}

// pools is what the reconcile steps need of the two pools.
type pools struct {
	// info describes the DR pool.
	info  poolInfo
	match poolpair.Matcher
	// estimated are the pools' EstimatedNumberOfUsers, primary then DR.
	estimated [2]int32
}

// describeOps is what pools calls: once per task invocation, and DiffBucket runs once per bucket.
var describeOps = quota.MustOps("DescribeUserPool")

// pools checks both pools and returns what the diff needs of the DR pool and how users match.
func (s *Steps) pools(ctx context.Context, req Request) (pools, error) {
	primary, err := s.describe(ctx, req.PrimaryUserPoolID, req.PrimaryRegion)
	if err != nil {
		return pools{}, fmt.Errorf("primary pool: %w", err)
	}
	dr, err := s.describe(ctx, req.DRUserPoolID, req.DRRegion)
	if err != nil {
		return pools{}, fmt.Errorf("DR pool: %w", err)
	}
	match, err := poolpair.NewMatcher(poolpair.Describe(primary), poolpair.Describe(dr))
	if err != nil {
		return pools{}, stateerr.Invalid("%v", err)
	}
	info := describePool(dr)
	if !info.mutable[PrimarySubAttribute] {
		return pools{}, stateerr.Invalid("DR pool %s does not define a mutable %s: add the custom attribute (String, max length 36 or more) before reconciling", req.DRUserPoolID, PrimarySubAttribute)
	}
	return pools{info: info, match: match, estimated: [2]int32{primary.EstimatedNumberOfUsers, dr.EstimatedNumberOfUsers}}, nil
}

// describe checks that pool exists and describes it, paced.
func (s *Steps) describe(ctx context.Context, pool, region string) (*types.UserPoolType, error) {
	if err := s.Quota.Pacer(region, describeOps).Wait(ctx, "DescribeUserPool"); err != nil {
		return nil, err
	}
	return preflight.DescribePool(ctx, s.Cognito(region), pool, region)
}

// PlanReconcile checks the request and both pools, reads the retry store (PendingFile) and
// sizes the partition: Buckets of at most BucketUsers users of a pool each, by the pools'
// estimated sizes. The ExportBefore loop (ExportPools) then exports both pools into them and
// DiffBucket compares them bucket by bucket. It changes nothing.
func (s *Steps) PlanReconcile(ctx context.Context, in PlanInput) (Plan, error) {
	req, err := in.Request.withDefaults()
	if err != nil {
		return Plan{}, err
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil || in.ExecutionName == "" {
		return Plan{}, stateerr.Invalid("startTime (RFC 3339) and executionName are required")
	}
	pp, err := s.pools(ctx, req)
	if err != nil {
		return Plan{}, err
	}
	// custom:primary_sub proves which primary user a DR user is only if no DR app client can
	// write it; otherwise users are matched by a confirmed user's verified address alone.
	trust, err := poolpair.PrimarySubTrust(ctx, s.Cognito(req.DRRegion), req.DRUserPoolID)
	if err != nil {
		return Plan{}, fmt.Errorf("DR pool: %w", err)
	}
	store := s.S3(req.BucketRegion)
	if err := preflight.CheckBucket(ctx, store, req.Bucket, req.BucketRegion); err != nil {
		return Plan{}, err
	}
	plan := Plan{
		Request:           req,
		Bucket:            req.Bucket,
		Region:            req.BucketRegion,
		Prefix:            snapshot.RunPrefix(req.Prefix, req.PrimaryUserPoolID, started, in.ExecutionName),
		UsernameAttribute: pp.match.Attribute,
		Match:             pp.match,
		MatchNote:         trust.Reason(),
	}
	// The retry store is read before the export: every user in it was confirmed in the primary
	// before the export began, so the export has it unless it was deleted since.
	var pending []string
	if s.Retry != nil {
		if err := s.Retry.List(ctx, req.PrimaryUserPoolID, func(p Pending) error { pending = append(pending, p.Sub); return nil }); err != nil {
			return Plan{}, err
		}
	}
	slices.Sort(pending)
	pending = slices.Compact(pending)
	plan.Pending = len(pending)
	plan.Buckets = partition.Count(s.BucketUsers, pp.estimated[:]...)
	if err := snapshot.PutLines(ctx, store, plan.Bucket, plan.Prefix+PendingFile, pending); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// joinValue is the join value of a user in a phase: its primary sub in phase sub (a DR user
// without one its key: it can only match by key), else the Matcher's key.
func (p Plan) joinValue(side, phase string, u snapshot.User) string {
	if phase == phaseSub {
		if side == sidePrimary {
			return "sub:" + u.Attributes["sub"]
		}
		if ps := u.Attributes[PrimarySubAttribute]; ps != "" {
			return "sub:" + ps
		}
	}
	return p.Match.Key(u)
}

// trusted is whether custom:primary_sub identifies a DR user's primary user (see PlanReconcile).
func (p Plan) trusted() bool { return p.MatchNote == "" }

func putJSON(ctx context.Context, store S3, bucket, key string, v any) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = s3stream.Put(ctx, store, bucket, key, body)
	return err
}
