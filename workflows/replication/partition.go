package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// units of the partition (partitionUnit) into the plan's buckets while the budget is open. The
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
	// Each pool's units in order, the two pools side by side: no unit reads the other pool's files.
	// A failed unit fails the invocation, so the other pool's stop too: the retry redoes both.
	lanes, stopLanes := context.WithCancel(ctx)
	defer stopLanes()
	var wg sync.WaitGroup
	var errs [2]error
	for i, pe := range []*PoolExport{&prog.Primary, &prog.DR} {
		units := pt.units[i]
		pe.Units = len(units)
		wg.Go(func() {
			for pe.Next < len(units) && b.Open() {
				u := units[pe.Next]
				gone, err := pt.run(lanes, u)
				if err != nil {
					errs[i] = fmt.Errorf("partition exports for reconcile (%s): %w", u, err)
					stopLanes()
					return
				}
				if u.kind == unitGone {
					prog.Gone = gone
				}
				pe.Next++
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return in.Progress, err
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

// Kinds of partition units.
const (
	// unitStage stages one users part of a pool's export by username (partitioner.stageBuckets()
	// files), so that each user meets its group memberships; for the primary pool before the
	// repairs it also notes the retry-store users it holds.
	unitStage = "stage"
	// unitStageMembers stages a pool's memberships by username, as unitStage does its users.
	unitStageMembers = "stage-members"
	// unitGone lists the retry-store users the primary pool no longer has (PendingGoneFile).
	unitGone = "gone"
	// unitRoute reads one staged bucket of a pool, gives each user its groups and writes it to
	// the window of its join bucket: plan.Buckets in windows of s.openFiles() buckets.
	unitRoute = "route"
	// unitSplit reads one window's files and writes each of its buckets' file.
	unitSplit = "split"
)

// partitionUnit is one unit of the partition: it reads files of the run and writes files of its
// own, under keys fixed by the plan, the directory, its kind, side and index, so a re-run
// rewrites the same objects. Each reads a bounded share of one pool: an export part (at most
// about 250,000 users), the pool's memberships (every memberships part), one staged bucket (at most 1/32 of the pool) or one
// window (s.openFiles() buckets of at most BucketUsers users).
type partitionUnit struct {
	kind string
	side string
	i    int
}

func (u partitionUnit) String() string { return fmt.Sprintf("%s %s %d", u.kind, u.side, u.i) }

// partitioner partitions both pools' exports under dir into the plan's buckets: first staged by
// username (so each user meets its group memberships), then each staged bucket routed by join
// value into windows of buckets, then each window split into its buckets. Join values are the
// primary sub when custom:primary_sub is trusted (phase sub) else the key (phase key). No unit
// holds a pool: each reads a bounded share of one and streams it.
type partitioner struct {
	s     *Steps
	p     Plan
	dir   string
	first string
	parts map[string][]snapshot.Part
	// units are each pool's units, primary then DR, in the order they run.
	units [2][]partitionUnit
}

func (s *Steps) newPartition(ctx context.Context, p Plan, dir string) (*partitioner, error) {
	pt := &partitioner{s: s, p: p, dir: dir, first: phaseKey, parts: map[string][]snapshot.Part{}}
	if p.trusted() {
		pt.first = phaseSub
	}
	store := s.S3(p.Region)
	for _, side := range []string{sidePrimary, sideDR} {
		parts, err := snapshot.UsersParts(ctx, store, p.Bucket, pt.exportDir(side))
		if err != nil {
			return nil, &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
		pt.parts[side] = parts
	}
	for i, side := range []string{sidePrimary, sideDR} {
		units := make([]partitionUnit, 0, len(pt.parts[side])+2+p.stageBuckets()+s.windowCount(p))
		for part := range pt.parts[side] {
			units = append(units, partitionUnit{unitStage, side, part})
		}
		units = append(units, partitionUnit{kind: unitStageMembers, side: side})
		if dir == BeforeDir && side == sidePrimary {
			units = append(units, partitionUnit{kind: unitGone, side: side})
		}
		for staged := range p.stageBuckets() {
			units = append(units, partitionUnit{unitRoute, side, staged})
		}
		for w := range s.windowCount(p) {
			units = append(units, partitionUnit{unitSplit, side, w})
		}
		pt.units[i] = units
	}
	return pt, nil
}

// exportDir is where a pool's export is.
func (pt *partitioner) exportDir(side string) string {
	if side == sidePrimary {
		return pt.p.Prefix + pt.dir + PrimaryDir
	}
	return pt.p.Prefix + pt.dir + DRDir
}

func (pt *partitioner) stageKey(side string, part, i int) string {
	return pt.p.bucketKey(pt.dir, "stage", fmt.Sprintf("%s-users-p%05d", side, part), i)
}

func (pt *partitioner) membersKey(side string, i int) string {
	return pt.p.bucketKey(pt.dir, "stage", side+"-members", i)
}

func (pt *partitioner) windowKey(side string, staged, w int) string {
	return pt.p.bucketKey(pt.dir, "window", fmt.Sprintf("%s-s%05d", side, staged), w)
}

// seenKey lists the retry-store users that users part holds.
func (pt *partitioner) seenKey(part int) string {
	return pt.p.bucketKey(pt.dir, "stage", "pending-seen", part)
}

// run runs one unit; a unitGone returns how many retry-store users are gone.
func (pt *partitioner) run(ctx context.Context, u partitionUnit) (int, error) {
	switch u.kind {
	case unitStage:
		return 0, pt.stage(ctx, u.side, u.i)
	case unitStageMembers:
		return 0, pt.stageMembers(ctx, u.side)
	case unitGone:
		return pt.gone(ctx)
	case unitRoute:
		return 0, pt.route(ctx, u.side, u.i)
	default:
		return 0, pt.split(ctx, u.side, u.i)
	}
}

// pendingSubs are the retry store's subs as PlanReconcile read them.
func (pt *partitioner) pendingSubs(ctx context.Context) (map[string]bool, error) {
	pending := map[string]bool{}
	err := snapshot.GetLines(ctx, pt.s.S3(pt.p.Region), pt.p.Bucket, pt.p.Prefix+PendingFile, func(sub string) error { pending[sub] = true; return nil })
	return pending, err
}

// stage writes users part `part` of a pool's export to the staged buckets by username.
func (pt *partitioner) stage(ctx context.Context, side string, part int) error {
	store := pt.s.S3(pt.p.Region)
	var pending map[string]bool
	seen := []string{}
	if pt.dir == BeforeDir && side == sidePrimary {
		var err error
		if pending, err = pt.pendingSubs(ctx); err != nil {
			return &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	n := pt.p.stageBuckets()
	w := partition.Open(ctx, store, pt.p.Bucket, n, func(i int) string { return pt.stageKey(side, part, i) })
	err := snapshot.ReadParts(ctx, store, pt.p.Bucket, pt.parts[side][part:part+1], func(u snapshot.User) error {
		if sub := u.Attributes["sub"]; pending[sub] {
			seen = append(seen, sub)
		}
		return w.Write(partition.Of(u.Username, n), u)
	})
	if err := w.Close(err); err != nil {
		return err
	}
	if pending == nil {
		return nil
	}
	return snapshot.PutLines(ctx, store, pt.p.Bucket, pt.seenKey(part), seen)
}

// stageMembers writes a pool's memberships to the staged buckets by username.
func (pt *partitioner) stageMembers(ctx context.Context, side string) error {
	store := pt.s.S3(pt.p.Region)
	n := pt.p.stageBuckets()
	w := partition.Open(ctx, store, pt.p.Bucket, n, func(i int) string { return pt.membersKey(side, i) })
	err := snapshot.ReadMemberships(ctx, store, pt.p.Bucket, pt.exportDir(side), func(m snapshot.Membership) error {
		return w.Write(partition.Of(m.Username, n), m)
	})
	return w.Close(err)
}

// gone writes the repair list of the retry-store users no users part of the primary holds: only
// their entries to remove.
func (pt *partitioner) gone(ctx context.Context) (int, error) {
	store := pt.s.S3(pt.p.Region)
	pending, err := pt.pendingSubs(ctx)
	if err != nil {
		return 0, &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	for part := range pt.parts[sidePrimary] {
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

// route reads staged bucket i of a pool with its memberships (users stream through; only the
// bucket's memberships are held) and writes each user, with its groups, to the window of its
// join bucket.
func (pt *partitioner) route(ctx context.Context, side string, i int) error {
	store := pt.s.S3(pt.p.Region)
	groups := map[string][]string{}
	if err := snapshot.GetLines(ctx, store, pt.p.Bucket, pt.membersKey(side, i), func(m snapshot.Membership) error {
		groups[m.Username] = append(groups[m.Username], m.Group)
		return nil
	}); err != nil {
		return &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	return pt.s.routeWindows(ctx, pt.p, side, pt.first, func(w int) string { return pt.windowKey(side, i, w) }, func(put func(record) error) error {
		for part := range pt.parts[side] {
			if err := snapshot.GetLines(ctx, store, pt.p.Bucket, pt.stageKey(side, part, i), func(u snapshot.User) error {
				return put(record{User: u, Groups: groups[u.Username]})
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// split writes the bucket files of window w of a pool from the window's files of every staged
// bucket.
func (pt *partitioner) split(ctx context.Context, side string, w int) error {
	keys := make([]string, pt.p.stageBuckets())
	for i := range keys {
		keys[i] = pt.windowKey(side, i, w)
	}
	return pt.s.splitWindow(ctx, pt.p, side, pt.first, w, keys, func(i int) string { return pt.p.bucketKey(pt.dir, pt.first, side, i) })
}

// windowCount is how many windows of s.openFiles() buckets the plan's buckets make.
func (s *Steps) windowCount(p Plan) int { return (p.Buckets + s.openFiles() - 1) / s.openFiles() }

// routeWindows writes each record read puts to the window file (key) of its bucket in phase: a
// first pass that reads its input once (or once per s.openFiles() windows) however many
// buckets there are, where writing the buckets themselves would read it once per
// s.openFiles() buckets.
func (s *Steps) routeWindows(ctx context.Context, p Plan, side, phase string, key func(w int) string, read func(put func(record) error) error) error {
	of := s.openFiles()
	return s.windows(ctx, p, s.windowCount(p), key, func(put func(int, record) error) error {
		return read(func(r record) error { return put(p.joinBucket(side, phase, r.User)/of, r) })
	})
}

// splitWindow writes the bucket files (bucketKey) of window w in phase from the window's files
// keys, which routeWindows wrote.
func (s *Steps) splitWindow(ctx context.Context, p Plan, side, phase string, w int, keys []string, bucketKey func(i int) string) error {
	store := s.S3(p.Region)
	lo := w * s.openFiles()
	hi := min(lo+s.openFiles(), p.Buckets)
	out := partition.Open(ctx, store, p.Bucket, hi-lo, func(i int) string { return bucketKey(lo + i) })
	var err error
	for _, key := range keys {
		if err = snapshot.GetLines(ctx, store, p.Bucket, key, func(r record) error {
			return out.Write(p.joinBucket(side, phase, r.User)-lo, r)
		}); err != nil {
			break
		}
	}
	return out.Close(err)
}
