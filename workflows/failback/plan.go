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
	"github.com/cognito-dr/cognito-dr/internal/partition"
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
	// estimated are the pools' EstimatedNumberOfUsers, primary then DR.
	estimated [2]int32
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
	return pools{primary: primary, writable: primaryPool.Writable, match: match, trust: trust,
		estimated: [2]int32{primary.EstimatedNumberOfUsers, dr.EstimatedNumberOfUsers}}, nil
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
		Buckets:                     partition.Count(s.BucketUsers, pp.estimated[:]...),
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

// PlanFailback is one invocation of the PlanFailback or PlanFinalDelta loop: it decides, user
// by user, from the two exports what goes back (DR-only users to import, changed users to update,
// memberships to add) without holding either pool. It works through the plan's units (planUnits)
// while its time budget (ExportBudget, EXPORT_BUDGET_SECONDS) is open and returns its cursor; the
// state machine calls it again until Done, when Plan is the plan with its counts and its files
// are written. Nothing is changed yet.
func (s *Steps) PlanFailback(ctx context.Context, in PlanExportsInput) (PlanProgress, error) {
	b, _, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
	plan, prog := in.Plan, in.Progress
	if !in.Export.Done {
		return prog, stateerr.Invalid("plan failback: the exports of %s are not done", plan.Prefix)
	}
	if plan.Buckets < 1 {
		return prog, stateerr.Invalid("plan failback: plan.buckets must be at least 1")
	}
	if prog.Done {
		return prog, nil
	}
	req, failover, err := plan.Request.withDefaults()
	if err != nil {
		return prog, err
	}
	pp, err := s.pools(ctx, req)
	if err != nil {
		return prog, err
	}
	if pp.match != plan.Match || pp.trust.Reason() != plan.MatchNote {
		return prog, stateerr.Invalid("the pools' sign-in settings or DR app clients changed while they were exported (users matched %+v, now %+v); start the failback again", plan.Match, pp.match)
	}
	pt, err := s.layout(plan, req).Load(ctx)
	if err != nil {
		return prog, fmt.Errorf("plan failback: %w", err)
	}
	units := planUnits(pt)
	prog.Units = len(units)
	prog.Invocations++
	bp := bucketPlanner{s: s, plan: plan, layout: pt.Layout, failover: failover, trust: pp.trust.Trusted, writable: pp.writable}
	for prog.Next < len(units) && b.Open() {
		u := units[prog.Next]
		switch u.kind {
		case unitPartition:
			err = pt.Run(ctx, u.part)
		case unitRepartition:
			err = pt.Repartition(ctx, u.part)
		case unitBucket:
			err = bp.planBucket(ctx, u.phase, u.i)
		default:
			var counts Counts
			if counts, err = bp.join(ctx, u.i); err == nil && u.i == joinSummary {
				plan.Counts = counts
				prog.Plan = &plan
			}
		}
		if err != nil {
			return in.Progress, fmt.Errorf("plan failback (%s): %w", u, err)
		}
		prog.Next++
	}
	prog.Done = prog.Next == len(units)
	return prog, nil
}

// layout is the partition of the plan's two exports into its buckets, under PlanBucketsDir: by
// primary sub first when custom:primary_sub is trusted, and by key. Marked DR users are those an
// earlier failback disabled (their disable ledgers).
func (s *Steps) layout(plan Plan, req Request) partition.Layout {
	first := partition.PhaseKey
	if plan.MatchNote == "" {
		first = partition.PhaseSub
	}
	return partition.Layout{
		Store: s.S3(plan.Region), Bucket: plan.Bucket, Dir: plan.Prefix + PlanBucketsDir,
		Exports: [2]string{plan.Prefix + PrimaryDir, plan.Prefix + DRDir},
		Buckets: plan.Buckets, OpenFiles: s.OpenFiles, First: first,
		Join: func(side, phase string, u snapshot.User) string {
			if phase == partition.PhaseSub {
				if side == partition.Primary {
					return "sub:" + u.Attributes["sub"]
				}
				if ps := u.Attributes[poolpair.PrimarySubAttribute]; ps != "" {
					return "sub:" + ps
				}
			}
			return plan.Match.Key(u)
		},
		Marks: func(ctx context.Context, side string, put func(string) error) error {
			if side != partition.DR {
				return nil
			}
			return s.disabledByFailback(ctx, req, put)
		},
	}
}

// Kinds of the plan's units.
const (
	unitPartition   = "partition"
	unitBucket      = "bucket"
	unitRepartition = "repartition"
	unitJoin        = "join"
)

// The join units, in order: each concatenates one kind of the buckets' files into the plan's.
const (
	joinImports = iota
	joinActions
	joinHeld
	joinSummary
)

// planUnit is one unit of a failback plan. Each reads and writes a bounded share of the pools
// under keys fixed by the plan, so a retried invocation rewrites the same objects.
type planUnit struct {
	kind  string
	part  partition.Unit
	phase string
	i     int
}

func (u planUnit) String() string {
	switch u.kind {
	case unitPartition, unitRepartition:
		return u.kind + " " + u.part.String()
	case unitBucket:
		return fmt.Sprintf("bucket %d of phase %s", u.i, u.phase)
	}
	return fmt.Sprintf("join %d", u.i)
}

// planUnits are the units of a plan in order: partition both exports; plan each bucket of the sub
// phase (when custom:primary_sub is trusted) and partition by key the users it left unmatched;
// plan each bucket of the key phase; join the buckets' files into the plan's.
func planUnits(pt *partition.Partition) []planUnit {
	var units []planUnit
	for _, side := range pt.Units() {
		for _, u := range side {
			units = append(units, planUnit{kind: unitPartition, part: u})
		}
	}
	if pt.First == partition.PhaseSub {
		for i := range pt.Buckets {
			units = append(units, planUnit{kind: unitBucket, phase: partition.PhaseSub, i: i})
		}
		for _, u := range pt.RepartitionUnits() {
			units = append(units, planUnit{kind: unitRepartition, part: u})
		}
	}
	for i := range pt.Buckets {
		units = append(units, planUnit{kind: unitBucket, phase: partition.PhaseKey, i: i})
	}
	for i := range joinSummary + 1 {
		units = append(units, planUnit{kind: unitJoin, i: i})
	}
	return units
}

// bucketPlanner plans the plan's buckets one at a time.
type bucketPlanner struct {
	s        *Steps
	plan     Plan
	layout   partition.Layout
	failover time.Time
	trust    bool
	writable map[string]bool
}

// bucketSummary is what planning one bucket found: written last, after its files.
type bucketSummary struct {
	Counts  Counts              `json:"counts"`
	Samples map[string][]string `json:"samples"`
}

// Files of one bucket's plan, under PlanBucketsDir.
const (
	bucketImports = "imports"
	bucketActions = "actions"
	bucketHeld    = "held"
)

func (bp bucketPlanner) outKey(phase, kind string, i int) string {
	return bp.layout.Key("out-"+phase, kind, i)
}

func (bp bucketPlanner) summaryKey(phase string, i int) string {
	return fmt.Sprintf("%sout-%s/summary-%05d.json", bp.layout.Dir, phase, i)
}

// phases are the plan's phases in order.
func (bp bucketPlanner) phases() []string {
	if bp.layout.First == partition.PhaseSub {
		return []string{partition.PhaseSub, partition.PhaseKey}
	}
	return []string{partition.PhaseKey}
}

// planBucket plans bucket i of a phase: the bucket's primary users held in a planner, its DR users
// streamed past. It writes the bucket's import users, actions and held users, then (in the sub
// phase) the users it left unmatched for the key phase, then its summary.
func (bp bucketPlanner) planBucket(ctx context.Context, phase string, i int) error {
	l := bp.layout
	pl := newPlanner(bp.plan.Match, bp.trust, bp.failover, bp.plan.Request.ApplyDisables, bp.writable)
	if err := snapshot.GetLines(ctx, l.Store, l.Bucket, l.BucketKey(phase, partition.Primary, i), func(r partition.Record) error {
		pl.addPrimary(r)
		return nil
	}); err != nil {
		return &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	kinds := []string{bucketImports, bucketActions, bucketHeld}
	w := partition.Open(ctx, l.Store, l.Bucket, len(kinds), func(k int) string { return bp.outKey(phase, kinds[k], i) })
	planned := map[string]bool{}
	err := snapshot.GetLines(ctx, l.Store, l.Bucket, l.BucketKey(phase, partition.DR, i), func(r partition.Record) error {
		acts, importIt, held, ok := pl.addDR(r, phase)
		if !ok {
			return nil
		}
		planned[r.User.Username] = true
		if importIt {
			if err := w.Write(0, r.User); err != nil {
				return err
			}
		}
		for _, a := range acts {
			if err := w.Write(1, a); err != nil {
				return err
			}
		}
		if held != nil {
			return w.Write(2, held)
		}
		return nil
	})
	if err := w.Close(err); err != nil {
		return err
	}
	if phase == partition.PhaseSub {
		if err := l.WriteUnmatched(ctx, partition.Primary, i, pl.matched); err != nil {
			return err
		}
		if err := l.WriteUnmatched(ctx, partition.DR, i, func(u snapshot.User) bool { return planned[u.Username] }); err != nil {
			return err
		}
	}
	body, err := json.Marshal(bucketSummary{Counts: pl.finish(phase), Samples: pl.samples})
	if err != nil {
		return err
	}
	_, err = s3stream.Put(ctx, l.Store, l.Bucket, bp.summaryKey(phase, i), body)
	return err
}

// join runs join unit i: it concatenates every bucket's files of one kind, in order, into the
// plan's file (ImportUsersFile, ActionsFile, HeldFile), streaming; the last (joinSummary) sums
// the buckets' counts, keeps the first 5 samples of each kind and writes PlanSummaryFile.
func (bp bucketPlanner) join(ctx context.Context, i int) (Counts, error) {
	l := bp.layout
	if i == joinSummary {
		return bp.summary(ctx)
	}
	kind, key := bucketImports, ImportUsersFile
	switch i {
	case joinActions:
		kind, key = bucketActions, ActionsFile
	case joinHeld:
		kind, key = bucketHeld, HeldFile
	}
	w := partition.Open(ctx, l.Store, l.Bucket, 1, func(int) string { return bp.plan.Prefix + key })
	var err error
	for _, phase := range bp.phases() {
		for b := range l.Buckets {
			if err = snapshot.GetLines(ctx, l.Store, l.Bucket, bp.outKey(phase, kind, b), func(line json.RawMessage) error { return w.Write(0, line) }); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	return Counts{}, w.Close(err)
}

// summary sums the buckets' summaries into PlanSummaryFile.
func (bp bucketPlanner) summary(ctx context.Context) (Counts, error) {
	l := bp.layout
	var c Counts
	samples := map[string][]string{}
	for _, phase := range bp.phases() {
		for b := range l.Buckets {
			var sum bucketSummary
			if err := getJSON(ctx, l.Store, l.Bucket, bp.summaryKey(phase, b), &sum); err != nil {
				return Counts{}, &stateerr.SnapshotInvalid{Msg: err.Error()}
			}
			c = c.plus(sum.Counts)
			for kind, keys := range sum.Samples {
				samples[kind] = append(samples[kind], keys[:min(len(keys), 5-len(samples[kind]))]...)
			}
		}
	}
	plan := bp.plan
	plan.Counts = c
	body, err := json.MarshalIndent(PlanSummary{Plan: plan, Samples: samples}, "", "  ")
	if err != nil {
		return Counts{}, err
	}
	_, err = s3stream.Put(ctx, l.Store, l.Bucket, plan.Prefix+PlanSummaryFile, body)
	return c, err
}

// plus is the sum of two plans' counts.
func (c Counts) plus(o Counts) Counts {
	return Counts{
		PrimaryUsers: c.PrimaryUsers + o.PrimaryUsers, DRUsers: c.DRUsers + o.DRUsers, Import: c.Import + o.Import,
		Update: c.Update + o.Update, GroupAdds: c.GroupAdds + o.GroupAdds, DisabledInDR: c.DisabledInDR + o.DisabledInDR,
		PrimaryOnly: c.PrimaryOnly + o.PrimaryOnly, Unchanged: c.Unchanged + o.Unchanged, UnverifiedDR: c.UnverifiedDR + o.UnverifiedDR,
	}
}

// disabledByFailback streams the DR usernames the disable ledgers of every earlier failback of
// this primary pool say were disabled.
func (s *Steps) disabledByFailback(ctx context.Context, req Request, put func(drUsername string) error) error {
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
					return put(d.DRUsername)
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
