package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/export"
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
	if err := s.Quota.Pacer(req.PrimaryRegion, describeOps).Wait(ctx, "DescribeUserPool"); err != nil {
		return pools{}, err
	}
	primary, err := preflight.DescribePool(ctx, s.Cognito(req.PrimaryRegion), req.PrimaryUserPoolID, req.PrimaryRegion)
	if err != nil {
		return pools{}, fmt.Errorf("primary pool: %w", err)
	}
	if err := s.Quota.Pacer(req.DRRegion, describeOps).Wait(ctx, "DescribeUserPool"); err != nil {
		return pools{}, err
	}
	dr, err := preflight.DescribePool(ctx, s.Cognito(req.DRRegion), req.DRUserPoolID, req.DRRegion)
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

// PlanReconcile checks the request, reads the retry store (PendingFile) and exports both pools
// partitioned into buckets (partition) of at most BucketUsers users each by the pools' estimated
// sizes; DiffBucket then compares them bucket by bucket. It changes nothing.
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
	plan.Buckets = bucketCount(s.BucketUsers, pp.estimated[:]...)
	if err := snapshot.PutLines(ctx, store, plan.Bucket, plan.Prefix+PendingFile, pending); err != nil {
		return Plan{}, err
	}
	gone, err := s.partition(ctx, plan, BeforeDir, pending)
	if err != nil {
		return Plan{}, err
	}
	plan.Gone = gone
	return plan, nil
}

// ExportAfter exports both pools again after the repairs, partitioned as PlanReconcile did, so
// that DiffBucket measures what is true now, not what the ledger believes.
func (s *Steps) ExportAfter(ctx context.Context, in AfterInput) (DiffProgress, error) {
	if in.Plan.Buckets < 1 {
		return DiffProgress{}, stateerr.Invalid("plan.buckets must be at least 1")
	}
	if _, err := s.partition(ctx, in.Plan, AfterDir, nil); err != nil {
		return DiffProgress{}, err
	}
	return DiffProgress{}, nil
}

// partition exports both pools into plan.Buckets files per side under dir, holding neither in
// memory: first staged by username (so each user meets its group memberships), then each staged
// bucket is read with its memberships and routed to the bucket of its join value, by primary sub
// when custom:primary_sub is trusted (phase sub) else by key (phase key). It returns how many
// users of pending the primary pool no longer has; their retry-store entries are listed in
// PendingGoneFile.
func (s *Steps) partition(ctx context.Context, plan Plan, dir string, pending []string) (int, error) {
	req := plan.Request
	store := s.S3(plan.Region)
	var gone []Repair
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		seen := map[string]bool{}
		for _, sub := range pending {
			seen[sub] = false
		}
		err := s.stage(gctx, plan, dir, sidePrimary, req.PrimaryUserPoolID, req.PrimaryRegion, func(u snapshot.User) {
			if _, ok := seen[u.Attributes["sub"]]; ok {
				seen[u.Attributes["sub"]] = true
			}
		})
		// Retry-store users the primary no longer has: nothing to copy, only the entry to remove.
		for _, sub := range pending {
			if !seen[sub] {
				gone = append(gone, Repair{Key: "sub:" + sub, PrimarySub: sub, Pending: true})
			}
		}
		return err
	})
	g.Go(func() error {
		return s.stage(gctx, plan, dir, sideDR, req.DRUserPoolID, req.DRRegion, nil)
	})
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("export pools for reconcile: %w", err)
	}
	if dir == BeforeDir {
		if err := snapshot.PutLines(ctx, store, plan.Bucket, plan.Prefix+dir+PendingGoneFile, gone); err != nil {
			return 0, err
		}
	}
	first := phaseKey
	if plan.trusted() {
		first = phaseSub
	}
	// One side at a time: each open bucket file holds an S3 part buffer.
	for _, side := range []string{sidePrimary, sideDR} {
		if err := s.route(ctx, plan, dir, side, first); err != nil {
			return 0, fmt.Errorf("partition exports for reconcile: %w", err)
		}
	}
	return len(gone), nil
}

// stage exports one pool's users and memberships into plan.stageBuckets() files each by username.
func (s *Steps) stage(ctx context.Context, plan Plan, dir, side, pool, region string, saw func(snapshot.User)) error {
	store := s.S3(plan.Region)
	n := plan.stageBuckets()
	ex := export.New(s.Cognito(region), s.Quota.Pacer(region, export.Ops), export.Options{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		w := openWriters(gctx, store, plan.Bucket, n, func(i int) string { return plan.bucketKey(dir, "stage", side+"-users", i) })
		_, err := ex.Users(gctx, pool, func(u snapshot.User) error {
			if saw != nil {
				saw(u)
			}
			return w.write(bucketOf(u.Username, n), u)
		})
		return w.close(err)
	})
	g.Go(func() error {
		w := openWriters(gctx, store, plan.Bucket, n, func(i int) string { return plan.bucketKey(dir, "stage", side+"-members", i) })
		_, _, err := ex.Groups(gctx, pool, func(snapshot.Group) error { return nil },
			func(m snapshot.Membership) error { return w.write(bucketOf(m.Username, n), m) })
		return w.close(err)
	})
	return g.Wait()
}

// route reads one side's staged buckets, gives each user its groups and writes it to the bucket
// of its join value in the first phase. It holds one staged bucket's memberships (users stream
// through) and writes at most s.openFiles() buckets at a time, reading the staged buckets again
// for each such window.
func (s *Steps) route(ctx context.Context, plan Plan, dir, side, phase string) error {
	store := s.S3(plan.Region)
	return s.windows(ctx, plan, func(i int) string { return plan.bucketKey(dir, phase, side, i) }, func(put func(i int, r record) error) error {
		for i := range plan.stageBuckets() {
			groups := map[string][]string{}
			if err := snapshot.GetLines(ctx, store, plan.Bucket, plan.bucketKey(dir, "stage", side+"-members", i), func(m snapshot.Membership) error {
				groups[m.Username] = append(groups[m.Username], m.Group)
				return nil
			}); err != nil {
				return err
			}
			if err := snapshot.GetLines(ctx, store, plan.Bucket, plan.bucketKey(dir, "stage", side+"-users", i), func(u snapshot.User) error {
				return put(plan.joinBucket(side, phase, u), record{User: u, Groups: groups[u.Username]})
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// windows writes plan.Buckets bucket files named by key, s.openFiles() at a time: each open file
// holds an S3 part buffer (5 MiB) and a gzip stream. read is called once per window and must
// put every record; put keeps those of the window.
func (s *Steps) windows(ctx context.Context, plan Plan, key func(i int) string, read func(put func(i int, r record) error) error) error {
	store := s.S3(plan.Region)
	for lo := 0; lo < plan.Buckets; lo += s.openFiles() {
		hi := min(lo+s.openFiles(), plan.Buckets)
		w := openWriters(ctx, store, plan.Bucket, hi-lo, func(i int) string { return key(lo + i) })
		err := read(func(i int, r record) error {
			if i < lo || i >= hi {
				return nil
			}
			return w.write(i-lo, r)
		})
		if err := w.close(err); err != nil {
			return err
		}
	}
	return nil
}

func (s *Steps) openFiles() int {
	if s.OpenFiles > 0 {
		return s.OpenFiles
	}
	return 32
}

// joinBucket is the bucket of a user in a phase: by primary sub in phase sub (a DR user without
// one by its key: it can only match by key), else by the Matcher's key.
func (p Plan) joinBucket(side, phase string, u snapshot.User) int {
	if phase == phaseSub {
		if side == sidePrimary {
			return bucketOf("sub:"+u.Attributes["sub"], p.Buckets)
		}
		if ps := u.Attributes[PrimarySubAttribute]; ps != "" {
			return bucketOf("sub:"+ps, p.Buckets)
		}
	}
	return bucketOf(p.Match.Key(u), p.Buckets)
}

// stageBuckets is how many files partition stages each pool's users and memberships in: far
// fewer than Buckets (at most 16, so 64 files open at once), since each open file holds an S3
// part buffer (5 MiB) and route holds only one staged bucket's memberships (users stream
// through), not its users.
func (p Plan) stageBuckets() int { return min(16, max(1, (p.Buckets+15)/16)) }

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
