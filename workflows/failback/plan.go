package failback

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// PlanSummary is plan/summary.json: the counts and sample keys per kind of change.
type PlanSummary struct {
	Plan    Plan                `json:"plan"`
	Samples map[string][]string `json:"samples"`
}

func (r Request) withDefaults() (Request, time.Time, error) {
	if r.Prefix == "" {
		r.Prefix = DefaultPrefix
	}
	r.Prefix = strings.TrimSuffix(r.Prefix, "/")
	if r.ApprovalTimeoutSeconds == 0 {
		r.ApprovalTimeoutSeconds = int(DefaultApprovalTimeout.Seconds())
	}
	if r.FinalApprovalTimeoutSeconds == 0 {
		r.FinalApprovalTimeoutSeconds = int(DefaultFinalApprovalTimeout.Seconds())
	}
	if r.FencedMessage == "" {
		r.FencedMessage = DefaultFencedMessage
	}
	if r.ApprovalMarginUsers == nil {
		r.ApprovalMarginUsers = aws.Int(DefaultApprovalMarginUsers)
	}
	if r.ApprovalMarginPercent == nil {
		r.ApprovalMarginPercent = aws.Float64(DefaultApprovalMarginPercent)
	}
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
	failover, err := time.Parse(time.RFC3339, r.FailoverTime)
	switch {
	case r.FailoverTime == "":
		p.Add("failoverTime is required (RFC 3339, e.g. 2026-11-20T03:00:00Z)")
	case err != nil:
		p.Add("failoverTime %q is not an RFC 3339 time such as 2026-11-20T03:00:00Z", r.FailoverTime)
	}
	if r.ApprovalTimeoutSeconds < 60 || r.ApprovalTimeoutSeconds > 7*24*3600 {
		p.Add("approvalTimeoutSeconds %d is outside 60..604800", r.ApprovalTimeoutSeconds)
	}
	if r.FinalApprovalTimeoutSeconds < 60 || r.FinalApprovalTimeoutSeconds > 24*3600 {
		p.Add("finalApprovalTimeoutSeconds %d is outside 60..86400 (nobody can sign in while it waits)", r.FinalApprovalTimeoutSeconds)
	}
	if n := *r.ApprovalMarginUsers; n < 0 {
		p.Add("approvalMarginUsers %d is negative", n)
	}
	if pc := *r.ApprovalMarginPercent; pc < 0 || pc > 100 || math.IsNaN(pc) {
		p.Add("approvalMarginPercent %v is outside 0..100", pc)
	}
	if len(r.FencedMessage) > 1000 {
		p.Add("fencedMessage is %d characters; keep it under 1000 (it is shown to users)", len(r.FencedMessage))
	}
	return r, failover, p.Err("failback request")
}

// pools is what a failback plan needs of the two pools: read when the plan is prepared and again
// when it is taken, after the exports.
type pools struct {
	primary *types.UserPoolType
	// writable are the primary's attributes an update may set.
	writable map[string]bool
	match    poolpair.Matcher
	trust    poolpair.Trust
}

// pools describes both pools and decides how their users match.
func (s *Steps) pools(ctx context.Context, req Request) (pools, error) {
	primary, err := preflight.DescribePool(ctx, s.Cognito(req.PrimaryRegion), req.PrimaryUserPoolID, req.PrimaryRegion)
	if err != nil {
		return pools{}, fmt.Errorf("primary pool: %w", err)
	}
	dr, err := preflight.DescribePool(ctx, s.Cognito(req.DRRegion), req.DRUserPoolID, req.DRRegion)
	if err != nil {
		return pools{}, fmt.Errorf("DR pool: %w", err)
	}
	primaryPool := poolpair.Describe(primary)
	match, err := poolpair.NewMatcher(primaryPool, poolpair.Describe(dr))
	if err != nil {
		return pools{}, stateerr.Invalid("%v", err)
	}
	// custom:primary_sub proves which primary user a DR user is only if no DR app client can
	// write it; otherwise users are matched by a confirmed user's verified address alone.
	trust, err := poolpair.PrimarySubTrust(ctx, s.Cognito(req.DRRegion), req.DRUserPoolID)
	if err != nil {
		return pools{}, fmt.Errorf("DR pool: %w", err)
	}
	return pools{primary: primary, writable: primaryPool.Writable, match: match, trust: trust}, nil
}

// PreparePlan checks the request and both pools and locates the plan's files; the ExportPools
// loop then exports both pools there and PlanFailback decides. It changes nothing. With
// Approved it prepares the final plan, after the fence, beside the approved plan's files.
func (s *Steps) PreparePlan(ctx context.Context, in PlanInput) (Plan, error) {
	req, failover, err := in.Request.withDefaults()
	if err != nil {
		return Plan{}, err
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil || in.ExecutionName == "" {
		return Plan{}, stateerr.Invalid("startTime (RFC 3339) and executionName are required")
	}
	if failover.After(started) {
		return Plan{}, stateerr.Invalid("failoverTime %s is after the execution started", req.FailoverTime)
	}
	pp, err := s.pools(ctx, req)
	if err != nil {
		return Plan{}, err
	}
	if err := preflight.CheckBucket(ctx, s.S3(req.BucketRegion), req.Bucket, req.BucketRegion); err != nil {
		return Plan{}, err
	}
	plan := Plan{
		Request:                     req,
		Bucket:                      req.Bucket,
		Region:                      req.BucketRegion,
		Prefix:                      snapshot.RunPrefix(req.Prefix, req.PrimaryUserPoolID, started, in.ExecutionName),
		PrimaryName:                 aws.ToString(pp.primary.Name),
		ApprovalTimeoutSeconds:      req.ApprovalTimeoutSeconds,
		FinalApprovalTimeoutSeconds: req.FinalApprovalTimeoutSeconds,
		UsernameAttribute:           pp.match.Attribute,
		Match:                       pp.match,
		MatchNote:                   pp.trust.Reason(),
	}
	plan.RunPrefix = plan.Prefix
	if a := in.Approved; a != nil {
		// The final plan: the same planner, after the fence, beside the approved plan's files.
		if a.Final || a.Prefix != plan.Prefix {
			return Plan{}, stateerr.Invalid("approved plan %s is not this execution's first plan %s", a.Prefix, plan.Prefix)
		}
		plan.Final, plan.Prefix = true, plan.RunPrefix+FinalDir
	}
	plan.Import = importTarget(plan, in.ExecutionName)
	return plan, nil
}

// ExportPools is one invocation of the ExportPools or ExportFinalPools loop: it continues both
// pools' resumable exports under the plan's prefix (export.ResumePools, each with its checkpoint
// in S3) for one time budget (ExportBudget, EXPORT_BUDGET_SECONDS). The state machine calls it
// again until Done. It changes nothing in either pool.
func (s *Steps) ExportPools(ctx context.Context, in ExportInput) (ExportProgress, error) {
	b, length, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
	p, prog := in.Plan, in.Progress
	if p.Bucket == "" || p.Prefix == "" {
		return prog, stateerr.Invalid("export pools: the plan names no bucket or prefix")
	}
	if prog.Done {
		return prog, nil
	}
	prog.Invocations++
	req := p.Request
	job := func(pool, region, dir string, st *export.PoolState) export.PoolJob {
		return export.PoolJob{
			Pool: pool, Cognito: s.Cognito(region), Pace: s.Quota.Pacer(region, export.Ops),
			Estimated: func(ctx context.Context) (int, error) {
				desc, err := preflight.DescribePool(ctx, s.Cognito(region), pool, region)
				if err != nil {
					return 0, err
				}
				return int(desc.EstimatedNumberOfUsers), nil
			},
			Prefix: p.Prefix + dir, State: st,
		}
	}
	// The pools are in different Regions, so their quotas are separate: export both at once.
	if err := export.ResumePools(ctx, s.S3(p.Region), p.Bucket, b, length,
		job(req.PrimaryUserPoolID, req.PrimaryRegion, PrimaryDir, &prog.Primary),
		job(req.DRUserPoolID, req.DRRegion, DRDir, &prog.DR)); err != nil {
		return in.Progress, fmt.Errorf("export pools for failback: %w", err)
	}
	prog.Done = prog.Primary.Done && prog.DR.Done
	return prog, nil
}

// PlanFailback decides, user by user, from the two exports what goes back: DR-only users to
// import, changed users to update, memberships to add. Nothing is changed yet.
func (s *Steps) PlanFailback(ctx context.Context, in PlanExportsInput) (Plan, error) {
	plan := in.Plan
	if !in.Export.Done {
		return Plan{}, stateerr.Invalid("plan failback: the exports of %s are not done", plan.Prefix)
	}
	req, failover, err := plan.Request.withDefaults()
	if err != nil {
		return Plan{}, err
	}
	pp, err := s.pools(ctx, req)
	if err != nil {
		return Plan{}, err
	}
	if pp.match != plan.Match || pp.trust.Reason() != plan.MatchNote {
		return Plan{}, stateerr.Invalid("the pools' sign-in settings or DR app clients changed while they were exported (users matched %+v, now %+v); start the failback again", plan.Match, pp.match)
	}
	pl := newPlanner(plan.Match, pp.trust.Trusted, failover, req.ApplyDisables, pp.writable)
	// DR users an earlier failback disabled look "disabled in DR": they must not
	// be mirrored to the primary.
	if err := s.disabledByFailback(ctx, req, pl); err != nil {
		return Plan{}, err
	}
	if err := s.diff(ctx, plan, pl); err != nil {
		return Plan{}, err
	}
	plan.Counts = pl.finish()
	body, err := json.MarshalIndent(PlanSummary{Plan: plan, Samples: pl.samples}, "", "  ")
	if err != nil {
		return Plan{}, err
	}
	if _, err := s3stream.Put(ctx, s.S3(plan.Region), plan.Bucket, plan.Prefix+PlanSummaryFile, body); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// diff streams the two exports through the planner and writes the import users and actions.
func (s *Steps) diff(ctx context.Context, plan Plan, pl *planner) error {
	store := s.S3(plan.Region)
	if err := snapshot.ReadUsers(ctx, store, plan.Bucket, plan.Prefix+PrimaryDir, func(u snapshot.User) error { pl.addPrimary(u); return nil }); err != nil {
		return fmt.Errorf("read primary users: %w", err)
	}
	if err := snapshot.ReadMemberships(ctx, store, plan.Bucket, plan.Prefix+PrimaryDir, func(m snapshot.Membership) error { pl.addPrimaryMembership(m); return nil }); err != nil {
		return fmt.Errorf("read primary memberships: %w", err)
	}

	imports := s3stream.Create(ctx, store, plan.Bucket, plan.Prefix+ImportUsersFile)
	actions := s3stream.Create(ctx, store, plan.Bucket, plan.Prefix+ActionsFile)
	iw, aw := snapshot.NewLineWriter(imports), snapshot.NewLineWriter(actions)
	var held []Held
	err := snapshot.ReadUsers(ctx, store, plan.Bucket, plan.Prefix+DRDir, func(u snapshot.User) error {
		acts, importIt, h := pl.addDR(u)
		if importIt {
			if err := iw.Write(u); err != nil {
				return err
			}
		}
		if h != nil {
			held = append(held, *h)
		}
		for _, a := range acts {
			if err := aw.Write(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = snapshot.ReadMemberships(ctx, store, plan.Bucket, plan.Prefix+DRDir, func(m snapshot.Membership) error {
			if a, ok := pl.addDRMembership(m); ok {
				return aw.Write(a)
			}
			return nil
		})
	}
	if err == nil {
		err = iw.Close()
	}
	if err == nil {
		err = aw.Close()
	}
	if err != nil {
		imports.Abort(err)
		actions.Abort(err)
		return fmt.Errorf("plan failback: %w", err)
	}
	if _, err := imports.Close(); err != nil {
		actions.Abort(err)
		return err
	}
	if _, err := actions.Close(); err != nil {
		return err
	}
	return snapshot.PutLines(ctx, store, plan.Bucket, plan.Prefix+HeldFile, held)
}

// disabledByFailback reads the disable ledgers of every earlier failback of this primary pool.
func (s *Steps) disabledByFailback(ctx context.Context, req Request, pl *planner) error {
	store := s.S3(req.BucketRegion)
	pg := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(req.Bucket), Prefix: aws.String(req.Prefix + "/" + req.PrimaryUserPoolID + "/")})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list earlier failbacks: %w", err)
		}
		for _, o := range page.Contents {
			if !strings.Contains(aws.ToString(o.Key), "/"+DisableLedgerDir) {
				continue
			}
			if err := snapshot.GetLines(ctx, store, req.Bucket, aws.ToString(o.Key), func(d DisableResult) error {
				if d.Outcome == DRDisabled {
					pl.disabledByUs[d.DRUsername] = true
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
