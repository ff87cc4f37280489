package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// CheckpointFile is where a resumable export keeps its progress, under the snapshot's prefix.
const CheckpointFile = "checkpoint/export.json"

// Workers is how many shards a resumable export lists at once unless Options.Workers says: enough
// pages in flight to reach the UserList quota despite each call's latency; the pacer, not this
// number, bounds the rate.
const Workers = 16

// splitAfter is how many users a shard cut by the budget must have written for it to be split
// (16 pages): a shard that listed fewer was slow for want of quota, not for its size, and its 16
// sub-prefixes would only cost more calls. It is redone whole, first, by the next invocation.
const splitAfter = 16 * pageSize

// Progress is a resumable export's checkpoint. A shard is a `sub` prefix; a user is in exactly
// one pending shard or in exactly one written part, so each user reaches the snapshot once.
type Progress struct {
	// Pending are the shards not written yet: the ones a budget cut first, so they start early in
	// the next invocation and have the whole of it.
	Pending []string `json:"pending"`
	// Parts are the users files written so far, in order.
	Parts []snapshot.Part `json:"parts"`
	// Split counts the shards split into their 16 sub-prefixes because they were too large to
	// finish within a budget.
	Split int `json:"split"`
	// Members is the memberships' progress, set once the groups are listed; Groups is set once
	// every group's members are written and indexed.
	Members *Members    `json:"members,omitempty"`
	Groups  *GroupFiles `json:"groups,omitempty"`
	// Invocations counts the calls of Resume that saved progress.
	Invocations int `json:"invocations"`
	// Seconds is the time spent exporting, all invocations together.
	Seconds float64 `json:"seconds"`
	// Counts of the users in Parts.
	Users    int            `json:"users"`
	Disabled int            `json:"disabled"`
	ByStatus map[string]int `json:"byStatus"`
	WithMFA  int            `json:"withMfa"`
}

// Done reports whether every user, group and membership is written.
func (p *Progress) Done() bool { return len(p.Pending) == 0 && p.Groups != nil }

// GroupFiles are the groups file and the memberships file (WriteSnapshot's single file, or
// Resume's index of the memberships parts) and their row counts.
type GroupFiles struct {
	Groups      s3stream.Object `json:"groups"`
	Memberships s3stream.Object `json:"memberships"`
	GroupCount  int             `json:"groupCount"`
	Members     int             `json:"members"`
}

// Plan are the shards of a pool of about estimated users, each of about perShard users or
// fewer: every `sub` prefix of the shortest length (1 to 4 hex characters) that is fine enough.
func Plan(estimated, perShard int) []string {
	shards := HexShards
	for len(shards) < 1<<16 && estimated/len(shards) > max(perShard, 1) {
		shards = split(shards)
	}
	return shards
}

// split returns the 16 sub-prefixes of each shard, in order.
func split(shards []string) []string {
	out := make([]string, 0, 16*len(shards))
	for _, s := range shards {
		for _, h := range HexShards {
			out = append(out, s+h)
		}
	}
	return out
}

// ShardUsers is the shard size for a budget: with Workers shards sharing the quota, a shard
// finishes in a quarter of the budget, so one started in its first half always finishes. The
// quota is users per second: ListUsers pages, or AdminGetUser calls when MFA is included.
func (e *Exporter) ShardUsers(budget time.Duration) int {
	perSecond := e.pace.Rate("ListUsers") * pageSize
	if e.opts.IncludeMFA {
		perSecond = min(perSecond, e.pace.Rate("AdminGetUser"))
	}
	return max(pageSize, int(perSecond*budget.Seconds()/4/float64(e.opts.workers())))
}

// Store is what a resumable export calls on the backup bucket.
type Store = transfermanager.S3APIClient

// Resume continues the export of pool to bucket under prefix from its checkpoint — the first
// invocation plans the shards (Options.PerShard users each, from Options.Estimated) — until
// every shard and group is written or budget closes. It saves progress after each part and returns it;
// Done tells whether to call it again. A re-run after a crash redoes only the shards not saved.
//
// ListUsers pagination tokens are not kept between invocations (the developer guide says Cognito
// expires them after an hour, and nothing that they survive changes to the pool), so a shard is written whole or not at all: one cut by the budget is redone from its
// start by the next invocation, split into its 16 sub-prefixes if it had listed many pages (it
// did not finish in half a budget: too large). A user listed twice within a shard (the pool
// changing while it is listed) is written once. The shards being listed (Workers, of at most
// MaxShardUsers users) are spooled to Options.TempDir; memory keeps a 16-byte fingerprint of each
// of their usernames, so it does not grow with the pool.
//
// Groups cannot be split, so a group's listing is resumable instead (Members): its pages are
// recorded in segments with the ListUsersInGroup token that continues them, continued by the next
// invocation while the token is younger than TokenLifetime, and committed to the memberships parts
// only when the group is listed whole. A group whose token is too old, or refused, is listed
// again from its start (refused: alone, first, by the next invocation); refused twice, the export
// fails with TaskFailed naming the group. Small groups listed whole share a part. Shards and
// groups take the same Workers slots under the one UserList pacer.
func (e *Exporter) Resume(ctx context.Context, store Store, bucket, prefix, pool string, budget checkpoint.Budget) (Progress, error) {
	begin := time.Now()
	key := prefix + CheckpointFile
	prog, found, err := checkpoint.Load[Progress](ctx, store, bucket, key)
	if err != nil {
		return prog, err
	}
	if !found {
		prog = Progress{Pending: Plan(e.opts.Estimated, e.opts.perShard()), Parts: []snapshot.Part{}, ByStatus: map[string]int{}}
	}
	if prog.ByStatus == nil {
		prog.ByStatus = map[string]int{}
	}
	r := &run{e: e, store: store, bucket: bucket, prefix: prefix, pool: pool, prog: &prog, key: key}
	err = r.run(ctx, budget)
	if ctx.Err() != nil {
		// The invocation itself is ending: nothing more can be saved, the last checkpoint stands.
		return prog, errors.Join(err, ctx.Err())
	}
	prog.Invocations++
	prog.Seconds += time.Since(begin).Seconds()
	if saveErr := checkpoint.Save(ctx, store, bucket, key, prog); saveErr != nil {
		return prog, errors.Join(err, saveErr)
	}
	if err != nil {
		return prog, err
	}
	if prog.Done() {
		if _, err := snapshot.PutUsersIndex(ctx, store, bucket, prefix, prog.Parts); err != nil {
			return prog, fmt.Errorf("write the users index: %w", err)
		}
	}
	return prog, nil
}

// run is one invocation of a resumable export.
type run struct {
	e                   *Exporter
	store               Store
	bucket, prefix, key string
	pool                string
	prog                *Progress

	// part is the users file being written, nil between parts; inPart counts its users and
	// partShards are its shards, pending again if the part is not completed.
	part       *s3stream.Writer
	inPart     shardCounts
	partShards []string

	// members is the shared memberships part being filled with small groups listed whole (gzip
	// members), memberRows its memberships and memberGroups its groups, pending until it is written.
	members      bytes.Buffer
	memberRows   int
	memberGroups []string
}

// shardCounts are the counts of written users.
type shardCounts struct {
	users, disabled, withMFA int
	byStatus                 map[string]int
}

func (c *shardCounts) add(o shardCounts) {
	c.users += o.users
	c.disabled += o.disabled
	c.withMFA += o.withMFA
	if c.byStatus == nil {
		c.byStatus = map[string]int{}
	}
	for k, v := range o.byStatus {
		c.byStatus[k] += v
	}
}

// shardResult is one shard's outcome: its users as one gzip member, or why it has none. gz is
// closed by whoever takes the result (write), so a shard's file lives no longer than its result.
type shardResult struct {
	shard  string
	gz     *spool
	counts shardCounts
	err    error
}

// errTooLarge stops a shard holding more than MaxShardUsers users: it is split instead.
var errTooLarge = errors.New("shard too large")

func (r *run) run(ctx context.Context, budget checkpoint.Budget) error {
	// Shards stop at the end of the budget; parts and checkpoints are written on ctx, so a cut
	// shard never cuts a part being completed.
	work, cut := context.WithCancel(ctx)
	defer cut()
	go func() {
		select {
		case <-budget.Done():
			cut()
		case <-work.Done():
		}
	}()

	queue := slices.Clone(r.prog.Pending)
	running := map[string]bool{}
	results := make(chan shardResult, r.e.opts.workers())
	// Groups' listings take worker slots as shards do; all share the UserList pacer.
	var gqueue []string
	runningGroups := map[string]bool{}
	alone := "" // a group listed alone, with the whole quota
	segs := make(chan segment, r.e.opts.workers())
	type groupsResult struct {
		m   *Members
		err error
	}
	groups := make(chan groupsResult, 1)
	groupsRunning := false
	if r.prog.Members != nil {
		gqueue = groupQueue(r.prog.Members)
	} else if budget.Open() {
		groupsRunning = true
		go func() {
			m, err := r.e.groupsFile(work, r.store, r.bucket, r.prefix, r.pool)
			groups <- groupsResult{m, err}
		}()
	}

	var firstErr error
	var later []string // shards split after being cut: next invocation's
	pending := func() []string {
		p := slices.Concat(later, slices.Sorted(maps.Keys(running)))
		if firstErr != nil {
			p = append(p, r.partShards...) // the open part will not be completed
		}
		return append(p, queue...)
	}
	for {
		for firstErr == nil && alone == "" && work.Err() == nil && len(running)+len(runningGroups) < r.e.opts.workers() {
			group := len(gqueue) > 0
			if group && r.prog.Members.cursor(gqueue[0]).alone() && len(running)+len(runningGroups) > 0 {
				break // it waits for the others to end
			}
			if !group && len(queue) == 0 || !budget.Open() {
				break
			}
			if group {
				c := r.startGroup(gqueue[0])
				gqueue = gqueue[1:]
				runningGroups[c.Name] = true
				if c.alone() {
					alone = c.Name
				}
				go r.e.listGroup(work, r.pool, c, segs)
				continue
			}
			shard := queue[0]
			queue = queue[1:]
			running[shard] = true
			go func() { results <- r.e.shard(work, r.pool, shard) }()
		}
		if len(running) == 0 && len(runningGroups) == 0 && !groupsRunning {
			break
		}
		select {
		case g := <-groups:
			groupsRunning = false
			switch {
			case g.err == nil:
				r.prog.Members = g.m
				gqueue = groupQueue(g.m)
			case !errors.Is(g.err, context.Canceled):
				firstErr = cmpOr(firstErr, g.err)
				cut()
			}
			// Cut by the budget: the next invocation lists the groups again.
		case s := <-segs:
			ended, err := r.recordSegment(ctx, s)
			if ended {
				delete(runningGroups, s.group)
				if alone == s.group {
					alone = ""
				}
			}
			if err != nil {
				firstErr = cmpOr(firstErr, err)
				cut()
			}
		case res := <-results:
			delete(running, res.shard)
			switch {
			case res.err == nil:
				if err := r.write(ctx, res); err != nil {
					firstErr = cmpOr(firstErr, err)
					cut()
					continue
				}
				if r.inPart.users >= r.e.opts.partUsers() {
					r.prog.Pending = pending()
					if err := r.closePart(ctx); err != nil {
						firstErr = cmpOr(firstErr, err)
						cut()
					}
				}
			case errors.Is(res.err, errTooLarge):
				r.prog.Split++
				queue = append(queue, split([]string{res.shard})...)
			case errors.Is(res.err, context.Canceled) && ctx.Err() == nil && firstErr == nil && res.counts.users >= splitAfter:
				// Cut by the budget after at least half of it and many pages: too large for one.
				r.prog.Split++
				later = append(later, split([]string{res.shard})...)
			default:
				if !errors.Is(res.err, context.Canceled) {
					firstErr = cmpOr(firstErr, res.err)
				}
				later = append(later, res.shard)
				cut()
			}
		}
	}
	if firstErr == nil {
		r.prog.Pending = pending()
		firstErr = errors.Join(r.closePart(ctx), r.closeMembers(ctx))
	}
	if firstErr == nil {
		firstErr = r.finishMembers(ctx)
	}
	if firstErr != nil {
		if r.part != nil {
			r.part.Abort(firstErr)
			r.part = nil
		}
		r.prog.Pending = pending()
		return firstErr
	}
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// write appends a finished shard to the open part, opening one if needed, and closes its spool.
func (r *run) write(ctx context.Context, res shardResult) error {
	defer res.gz.close()
	if r.part == nil {
		key := fmt.Sprintf("%s%spart-%05d.jsonl.gz", r.prefix, snapshot.UsersPartsDir, len(r.prog.Parts)+1)
		r.part = s3stream.Create(ctx, r.store, r.bucket, key)
		r.inPart = shardCounts{byStatus: map[string]int{}}
	}
	r.partShards = append(r.partShards, res.shard)
	// Concatenated gzip members are one gzip stream to every reader (RFC 1952 §2.2).
	if err := res.gz.copyTo(r.part); err != nil {
		return fmt.Errorf("write users of shard %q: %w", res.shard, err)
	}
	r.inPart.add(res.counts)
	if r.e.opts.Progress != nil {
		r.e.opts.Progress(r.prog.Users + r.inPart.users)
	}
	return nil
}

// closePart completes the open part and saves the checkpoint that lists it, with r.prog.Pending
// already without its shards. Progress changes only once both are done: until then the part's
// shards stay pending (r.partShards).
func (r *run) closePart(ctx context.Context) error {
	if r.part == nil {
		return nil
	}
	obj, err := r.part.Close()
	r.part = nil
	if err != nil {
		return fmt.Errorf("write users part: %w", err)
	}
	c := r.inPart
	next := *r.prog
	next.Parts = append(slices.Clip(r.prog.Parts), snapshot.Part{Object: obj, Rows: c.users})
	next.Users += c.users
	next.Disabled += c.disabled
	next.WithMFA += c.withMFA
	next.ByStatus = maps.Clone(r.prog.ByStatus)
	for k, v := range c.byStatus {
		next.ByStatus[k] += v
	}
	if err := checkpoint.Save(ctx, r.store, r.bucket, r.key, next); err != nil {
		return err
	}
	*r.prog = next
	r.partShards = nil
	return nil
}

// shard lists the users of one shard into one gzip member, spooled to a temporary file.
func (e *Exporter) shard(ctx context.Context, pool, shard string) shardResult {
	res := shardResult{shard: shard, counts: shardCounts{byStatus: map[string]int{}}}
	sp, err := newSpool(e.opts.TempDir)
	if err != nil {
		res.err = err
		return res
	}
	level := gzip.DefaultCompression
	if e.opts.WorkFiles {
		level = gzip.BestSpeed
	}
	lw := snapshot.NewLineWriterLevel(sp, level)
	seen := newNameSet()
	one := &Exporter{c: e.c, pace: e.pace, opts: Options{IncludeMFA: e.opts.IncludeMFA, Shards: []string{shard}}}
	_, err = one.Users(ctx, pool, func(u snapshot.User) error {
		if !seen.add(u.Username) {
			return nil
		}
		if seen.len() > e.opts.maxShardUsers() {
			return errTooLarge
		}
		res.counts.users++
		res.counts.byStatus[u.Status]++
		if !u.Enabled {
			res.counts.disabled++
		}
		if u.MFA != nil && len(u.MFA.Enabled) > 0 {
			res.counts.withMFA++
		}
		return lw.Write(u)
	})
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		sp.close()
		res.err = err
		if !errors.Is(err, errTooLarge) && !errors.Is(err, context.Canceled) {
			res.err = fmt.Errorf("shard %s: %w", strings.TrimSpace(shard), err)
		}
		return res
	}
	res.gz = sp
	return res
}
