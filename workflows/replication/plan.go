package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
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

// pools checks both pools and returns what the diff needs of the DR pool and how users match.
func (s *Steps) pools(ctx context.Context, req Request) (poolInfo, poolpair.Matcher, error) {
	primary, err := preflight.DescribePool(ctx, s.Cognito(req.PrimaryRegion), req.PrimaryUserPoolID, req.PrimaryRegion)
	if err != nil {
		return poolInfo{}, poolpair.Matcher{}, fmt.Errorf("primary pool: %w", err)
	}
	dr, err := preflight.DescribePool(ctx, s.Cognito(req.DRRegion), req.DRUserPoolID, req.DRRegion)
	if err != nil {
		return poolInfo{}, poolpair.Matcher{}, fmt.Errorf("DR pool: %w", err)
	}
	match, err := poolpair.NewMatcher(poolpair.Describe(primary), poolpair.Describe(dr))
	if err != nil {
		return poolInfo{}, poolpair.Matcher{}, stateerr.Invalid("%v", err)
	}
	info := describePool(dr)
	if !info.mutable[PrimarySubAttribute] {
		return poolInfo{}, poolpair.Matcher{}, stateerr.Invalid("DR pool %s does not define a mutable %s: add the custom attribute (String, max length 36 or more) before reconciling", req.DRUserPoolID, PrimarySubAttribute)
	}
	return info, match, nil
}

// PlanReconcile checks the request, reads the retry store, exports both pools and writes the
// drift found (before/drift.jsonl.gz) and the repair list (repairs.jsonl.gz, the users of the
// retry store first). It changes nothing.
func (s *Steps) PlanReconcile(ctx context.Context, in PlanInput) (Plan, error) {
	req, err := in.Request.withDefaults()
	if err != nil {
		return Plan{}, err
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil || in.ExecutionName == "" {
		return Plan{}, stateerr.Invalid("startTime (RFC 3339) and executionName are required")
	}
	info, match, err := s.pools(ctx, req)
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
		UsernameAttribute: match.Attribute,
		Match:             match,
		MatchNote:         trust.Reason(),
	}
	// The retry store is read before the export: every user in it was confirmed in the primary
	// before the export began, so the export has it unless it was deleted since.
	pending := map[string]bool{}
	if s.Retry != nil {
		if err := s.Retry.List(ctx, req.PrimaryUserPoolID, func(p Pending) error { pending[p.Sub] = true; return nil }); err != nil {
			return Plan{}, err
		}
	}
	if err := s.exportBoth(ctx, plan, BeforeDir); err != nil {
		return Plan{}, err
	}
	d := newDiffer(info, match, trust.Trusted, req.MirrorDeletes, pending)
	if err := d.run(ctx, store, plan, BeforeDir, s.now()); err != nil {
		return Plan{}, err
	}
	plan.Before = d.drift
	repairs := d.repairs()
	plan.Repairs, plan.Pending = len(repairs), len(pending)
	if err := snapshot.PutLines(ctx, store, plan.Bucket, plan.Prefix+RepairsFile, repairs); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// exportBoth exports the two pools side by side: they are in different Regions, so their
// quotas are separate.
func (s *Steps) exportBoth(ctx context.Context, plan Plan, dir string) error {
	req := plan.Request
	store := s.S3(plan.Region)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		_, err := export.New(s.Cognito(req.PrimaryRegion), s.Quota.Pacer(req.PrimaryRegion, export.Ops), export.Options{}).WriteSnapshot(gctx, store, plan.Bucket, plan.Prefix+dir+PrimaryDir, req.PrimaryUserPoolID)
		return err
	})
	g.Go(func() error {
		_, err := export.New(s.Cognito(req.DRRegion), s.Quota.Pacer(req.DRRegion, export.Ops), export.Options{}).WriteSnapshot(gctx, store, plan.Bucket, plan.Prefix+dir+DRDir, req.DRUserPoolID)
		return err
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("export pools for reconcile: %w", err)
	}
	return nil
}

func putJSON(ctx context.Context, store S3, bucket, key string, v any) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = s3stream.Put(ctx, store, bucket, key, body)
	return err
}
