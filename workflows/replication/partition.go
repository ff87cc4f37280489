package replication

import (
	"context"
	"fmt"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// ExportPools is one invocation of the ExportBefore or ExportAfter loop. It continues both
// pools' resumable exports under Dir (export.Resume, each with its checkpoint in S3) for one time
// budget (ExportBudget, EXPORT_BUDGET_SECONDS), then, once both are written, works through the
// units of the partition (partition.Unit) into the plan's buckets while the budget is open. The
// state machine calls it again until Done.
//
// The two exports run side by side in one invocation: the pools are in different Regions, so
// each has its own UserList quota (one pacer per Region for everything the function calls), and
// together they take as long as the larger pool alone.
func (s *Steps) ExportPools(ctx context.Context, in ExportInput) (ExportProgress, error) {
	b, length, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
	p, prog := in.Plan, in.Progress
	if err := p.checkDir(in.Dir); err != nil || prog.Done {
		return prog, err
	}
	prog.Invocations++
	if !prog.Primary.Done || !prog.DR.Done {
		if err := s.exportPools(ctx, p, in.Dir, &prog, b, length); err != nil {
			return in.Progress, fmt.Errorf("export pools for reconcile: %w", err)
		}
		if !prog.Primary.Done || !prog.DR.Done {
			return prog, nil
		}
	}
	pt, err := s.newPartition(ctx, p, in.Dir)
	if err != nil {
		return in.Progress, fmt.Errorf("partition exports for reconcile: %w", err)
	}
	// The primary's units in order, then the DR pool's, one at a time: a unit holds up to 32 bucket
	// files open (each a gzip stream spooled to /tmp), and running the pools side by side would
	// double that and the /tmp it needs for no gain on a Lambda of this size (under one vCPU below
	// 1,769 MB).
	for i, pe := range []*PoolExport{&prog.Primary, &prog.DR} {
		units := pt.units[i]
		pe.Units = len(units)
		for pe.Next < len(units) && b.Open() {
			u := units[pe.Next]
			gone, err := pt.run(ctx, u)
			if err != nil {
				return in.Progress, fmt.Errorf("partition exports for reconcile (%s): %w", u, err)
			}
			if u.Kind == unitGone {
				prog.Gone = gone
			}
			pe.Next++
		}
	}
	prog.Done = prog.Primary.Next == prog.Primary.Units && prog.DR.Next == prog.DR.Units
	return prog, nil
}

// exportPools continues both pools' exports under the run's prefix + dir (export.ResumePools).
func (s *Steps) exportPools(ctx context.Context, p Plan, dir string, prog *ExportProgress, b checkpoint.Budget, length time.Duration) error {
	req := p.Request
	job := func(pool, region, side string, st *export.PoolState) export.PoolJob {
		return export.PoolJob{
			Pool: pool, Cognito: s.Cognito(region), Pace: s.Quota.Pacer(region, export.Ops),
			Estimated: func(ctx context.Context) (int, error) {
				desc, err := s.describe(ctx, pool, region)
				if err != nil {
					return 0, err
				}
				return int(desc.EstimatedNumberOfUsers), nil
			},
			Prefix: p.Prefix + dir + side, State: st,
		}
	}
	return export.ResumePools(ctx, s.S3(p.Region), p.Bucket, b, length,
		job(req.PrimaryUserPoolID, req.PrimaryRegion, PrimaryDir, &prog.Primary.PoolState),
		job(req.DRUserPoolID, req.DRRegion, DRDir, &prog.DR.PoolState))
}

// unitGone lists the retry-store users the primary pool no longer has (PendingGoneFile): a unit
// reconcile adds to the partition's (partition.Partition.Units), after the primary's stage units.
const unitGone = "gone"

// partitioner partitions both pools' exports under dir into the plan's buckets
// (partition.Partition): first staged by username (so each user meets its group memberships),
// then each staged bucket routed by join value into windows of buckets, then each window split
// into its buckets. Join values are the primary sub when custom:primary_sub is trusted (phase
// sub) else the key (phase key). Before the repairs, staging the primary also notes the
// retry-store users it holds, and a unit of reconcile's own lists those it no longer has.
type partitioner struct {
	*partition.Partition
	s   *Steps
	p   Plan
	dir string
	// units are each pool's units, primary then DR, in the order they run.
	units [2][]partition.Unit
}

// layout is the partition of the exports under dir into the plan's buckets.
func (s *Steps) layout(p Plan, dir string) partition.Layout {
	first := phaseKey
	if p.trusted() {
		first = phaseSub
	}
	return partition.Layout{
		Store: s.S3(p.Region), Bucket: p.Bucket, Dir: p.Prefix + dir,
		Exports: [2]string{p.Prefix + dir + PrimaryDir, p.Prefix + dir + DRDir},
		Buckets: p.Buckets, OpenFiles: s.OpenFiles, First: first, Join: p.joinValue,
	}
}

func (s *Steps) newPartition(ctx context.Context, p Plan, dir string) (*partitioner, error) {
	pt := &partitioner{s: s, p: p, dir: dir}
	l := s.layout(p, dir)
	if dir == BeforeDir {
		l.OnStage = pt.notePending
	}
	var err error
	if pt.Partition, err = l.Load(ctx); err != nil {
		return nil, err
	}
	pt.units = pt.Units()
	if dir == BeforeDir {
		// After the primary's stage units, which note the retry-store users each part holds.
		units := pt.units[0]
		at := pt.UsersParts(0)
		pt.units[0] = append(units[:at:at], append([]partition.Unit{{Kind: unitGone, Side: sidePrimary}}, units[at:]...)...)
	}
	return pt, nil
}

// seenKey lists the retry-store users that users part holds.
func (pt *partitioner) seenKey(part int) string {
	return pt.p.bucketKey(pt.dir, "stage", "pending-seen", part)
}

// run runs one unit; a unitGone returns how many retry-store users are gone.
func (pt *partitioner) run(ctx context.Context, u partition.Unit) (int, error) {
	if u.Kind == unitGone {
		return pt.gone(ctx)
	}
	return 0, pt.Run(ctx, u)
}

// pendingSubs are the retry store's subs as PlanReconcile read them.
func (pt *partitioner) pendingSubs(ctx context.Context) (map[string]bool, error) {
	pending := map[string]bool{}
	err := snapshot.GetLines(ctx, pt.s.S3(pt.p.Region), pt.p.Bucket, pt.p.Prefix+PendingFile, func(sub string) error { pending[sub] = true; return nil })
	return pending, err
}

// notePending is the stage units' hook before the repairs: a primary users part's stage unit
// also writes which retry-store users the part holds (seenKey).
func (pt *partitioner) notePending(ctx context.Context, side string, part int) (func(snapshot.User), func() error, error) {
	if side != sidePrimary {
		return nil, nil, nil
	}
	pending, err := pt.pendingSubs(ctx)
	if err != nil {
		return nil, nil, &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	seen := []string{}
	see := func(u snapshot.User) {
		if sub := u.Attributes["sub"]; pending[sub] {
			seen = append(seen, sub)
		}
	}
	done := func() error {
		return snapshot.PutLines(ctx, pt.s.S3(pt.p.Region), pt.p.Bucket, pt.seenKey(part), seen)
	}
	return see, done, nil
}

// gone writes the repair list of the retry-store users no users part of the primary holds: only
// their entries to remove.
func (pt *partitioner) gone(ctx context.Context) (int, error) {
	store := pt.s.S3(pt.p.Region)
	pending, err := pt.pendingSubs(ctx)
	if err != nil {
		return 0, &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	for part := range pt.UsersParts(0) {
		if err := snapshot.GetLines(ctx, store, pt.p.Bucket, pt.seenKey(part), func(sub string) error { delete(pending, sub); return nil }); err != nil {
			return 0, &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	// In the order PlanReconcile wrote them.
	gone := []Repair{}
	err = snapshot.GetLines(ctx, store, pt.p.Bucket, pt.p.Prefix+PendingFile, func(sub string) error {
		if pending[sub] {
			gone = append(gone, Repair{Key: "sub:" + sub, PrimarySub: sub, Pending: true})
		}
		return nil
	})
	if err != nil {
		return 0, &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	return len(gone), snapshot.PutLines(ctx, store, pt.p.Bucket, pt.p.Prefix+pt.dir+PendingGoneFile, gone)
}
