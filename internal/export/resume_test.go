package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func newBucket(t *testing.T) *s3.Client {
	return localaws.NewBucket(t, "bkt")
}

// cutBudget is open until cut, then done: an invocation whose time ran out.
type cutBudget struct {
	once sync.Once
	done chan struct{}
}

func newCutBudget() *cutBudget { return &cutBudget{done: make(chan struct{})} }

func (b *cutBudget) cut() { b.once.Do(func() { close(b.done) }) }

func (b *cutBudget) Open() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

func (b *cutBudget) Done() <-chan struct{} { return b.done }

// pagesThen calls then on the k-th ListUsers page it serves, and serves no more: later calls
// wait for the end of their context, as calls made when time has run out.
type pagesThen struct {
	*fakePool
	k     int64
	pages atomic.Int64
	then  func()
}

func (p *pagesThen) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	n := p.pages.Add(1)
	if n > p.k {
		return nil, untilCancelled(ctx)
	}
	out, err := p.fakePool.ListUsers(ctx, in, opts...)
	if n == p.k {
		p.then()
	}
	return out, err
}

// untilCancelled is a call made when time has run out: it waits for its context, which Resume
// cancels once the budget is done, or which the test cancels to kill the invocation. Were nothing
// to cancel it, the test would hang until the binary's timeout (10 minutes in CI) and print only
// a goroutine dump; after a minute (an invocation here takes well under a second) the call fails
// instead, saying why, and so does the invocation.
func untilCancelled(ctx context.Context) error {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("test fake: a call made after the budget ended (or the kill) waited a minute for its context; nothing cancelled it")
	}
}

// exportedOnce reads the snapshot back with the one reader and checks every user of pool is in
// it exactly once.
func exportedOnce(t *testing.T, store *s3.Client, pool *fakePool, prog Progress) {
	t.Helper()
	seen := map[string]int{}
	err := snapshot.ReadUsers(context.Background(), store, "bkt", "snap/", func(u snapshot.User) error {
		seen[u.Username]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range pool.users {
		if n := seen[aws.ToString(u.Username)]; n != 1 {
			t.Errorf("%s exported %d times, want once", aws.ToString(u.Username), n)
		}
	}
	if len(seen) != len(pool.users) || prog.Users != len(pool.users) {
		t.Errorf("snapshot has %d users, progress says %d, the pool has %d", len(seen), prog.Users, len(pool.users))
	}
	if prog.Groups == nil || prog.Groups.Members != len(pool.groups["admins"]) {
		t.Errorf("groups %+v, want the admins group's %d members", prog.Groups, len(pool.groups["admins"]))
	}
}

// resumeUntilDone calls Resume as the state machine does, each invocation cut after k pages,
// until the export is done.
func resumeUntilDone(t *testing.T, store *s3.Client, pool *fakePool, k int64, opts Options) Progress {
	t.Helper()
	for inv := 1; inv <= 50; inv++ {
		b := newCutBudget()
		c := &pagesThen{fakePool: pool, k: k, then: b.cut}
		prog, err := New(c, fastPacer, opts).Resume(context.Background(), store, "bkt", "snap/", "pool", b)
		if err != nil {
			t.Fatalf("invocation %d: %v", inv, err)
		}
		if prog.Invocations != inv {
			t.Errorf("invocation %d: progress counts %d invocations", inv, prog.Invocations)
		}
		if prog.Done() {
			return prog
		}
	}
	t.Fatal("not done after 50 invocations")
	return Progress{}
}

// TestResumeAfterBudgetEnds: each invocation's budget ends after k ListUsers pages, in the middle
// of a shard (one worker; each shard holds about 4 pages). The cut shard is redone first by the
// next invocation; the snapshot has every user exactly once.
func TestResumeAfterBudgetEnds(t *testing.T) {
	for _, k := range []int64{5, 6, 11} {
		t.Run(fmt.Sprint("pages=", k), func(t *testing.T) {
			store := newBucket(t)
			pool := newFakePool(3000)
			prog := resumeUntilDone(t, store, pool, k, Options{Estimated: 3000, PerShard: 1000, PartUsers: 120, Workers: 1})
			if prog.Invocations < 4 || prog.Split != 0 {
				t.Errorf("%d invocations, %d shards split; want several, and no shard of 4 pages split", prog.Invocations, prog.Split)
			}
			exportedOnce(t, store, pool, prog)
		})
	}
}

// TestResumeWithMFAAfterBudgetEnds: MFA preferences resume the same way; every user is written
// once, with the AdminGetUser answer of the invocation that wrote it.
func TestResumeWithMFAAfterBudgetEnds(t *testing.T) {
	store := newBucket(t)
	pool := newFakePool(1000)
	prog := resumeUntilDone(t, store, pool, 3, Options{Estimated: 1000, PerShard: 1000, PartUsers: 50, Workers: 1, IncludeMFA: true})
	if prog.Invocations < 4 {
		t.Errorf("%d invocations, want the budget to cut several", prog.Invocations)
	}
	// Users whose name ends in 3 vanished before AdminGetUser: kept, without MFA.
	if prog.WithMFA != 900 {
		t.Errorf("%d users with MFA, want 900", prog.WithMFA)
	}
	exportedOnce(t, store, pool, prog)
}

// TestResumeSplitsAShardTooLargeForABudget: shard "0" holds about 26 pages and is cut after 24;
// the next invocations export its 16 sub-prefixes instead, and still every user once.
func TestResumeSplitsAShardTooLargeForABudget(t *testing.T) {
	store := newBucket(t)
	pool := newFakePool(2000)
	for _, u := range pool.users[:1500] {
		for i, a := range u.Attributes {
			if aws.ToString(a.Name) == "sub" {
				u.Attributes[i].Value = aws.String("0" + aws.ToString(a.Value)[1:])
			}
		}
	}
	prog := resumeUntilDone(t, store, pool, 24, Options{Estimated: 10, PartUsers: 1000, Workers: 1})
	if prog.Split != 1 {
		t.Errorf("%d shards split, want shard 0 only", prog.Split)
	}
	exportedOnce(t, store, pool, prog)
}

// TestResumeAfterCrash: the invocation's context ends after k pages, as when a Lambda is killed;
// nothing more is saved. The next invocation resumes from the last saved part.
func TestResumeAfterCrash(t *testing.T) {
	for _, k := range []int64{3, 30, 45} {
		t.Run(fmt.Sprint("pages=", k), func(t *testing.T) {
			store := newBucket(t)
			pool := newFakePool(3000)
			opts := Options{Estimated: 3000, PerShard: 1000, PartUsers: 120, Workers: 4}
			ctx, kill := context.WithCancel(context.Background())
			c := &pagesThen{fakePool: pool, k: k, then: kill}
			if _, err := New(c, fastPacer, opts).Resume(ctx, store, "bkt", "snap/", "pool", newCutBudget()); !errors.Is(err, context.Canceled) {
				t.Fatalf("killed invocation returned %v, want context.Canceled", err)
			}
			prog, err := New(pool, fastPacer, opts).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
			if err != nil {
				t.Fatal(err)
			}
			if !prog.Done() {
				t.Fatalf("not done: %d shards pending", len(prog.Pending))
			}
			exportedOnce(t, store, pool, prog)
		})
	}
}

// TestResumeRerunAfterDone: a retried invocation (its first answer lost) finds the export done
// and changes nothing.
func TestResumeRerunAfterDone(t *testing.T) {
	store := newBucket(t)
	pool := newFakePool(500)
	first := resumeUntilDone(t, store, pool, 1e9, Options{Estimated: 500})
	again, err := New(pool, fastPacer, Options{Estimated: 500}).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Parts, again.Parts); diff != "" || !again.Done() {
		t.Errorf("re-run changed the parts (-first +again):\n%s", diff)
	}
	exportedOnce(t, store, pool, again)
}

// TestResumeSplitsAShardLargerThanTheEstimate: the pool is far larger than Cognito's estimate;
// shards that outgrow MaxShardUsers are split at once, and every user is still exported once.
func TestResumeSplitsAShardLargerThanTheEstimate(t *testing.T) {
	store := newBucket(t)
	pool := newFakePool(3000)
	prog := resumeUntilDone(t, store, pool, 1e9, Options{Estimated: 10, MaxShardUsers: 100})
	if prog.Split < 16 {
		t.Errorf("%d shards split, want every 1-character shard (about 190 users each, max 100)", prog.Split)
	}
	exportedOnce(t, store, pool, prog)
}

// TestResumeSpoolsShardsToTempDir: a shard being listed is held in Options.TempDir, not in
// memory. Without a usable one the invocation fails saying so and loses nothing: its shards stay
// pending, and the next invocation, with one, writes every user once.
func TestResumeSpoolsShardsToTempDir(t *testing.T) {
	store := newBucket(t)
	pool := newFakePool(600)
	opts := Options{Estimated: 600, PerShard: 100, TempDir: filepath.Join(t.TempDir(), "missing")}
	prog, err := New(pool, fastPacer, opts).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
	if err == nil || !strings.Contains(err.Error(), "spool a shard") {
		t.Fatalf("Resume without its temporary directory returned %v, want a spool error", err)
	}
	if prog.Users != 0 || len(prog.Pending) != len(Plan(600, 100)) {
		t.Errorf("failed invocation: %d users written, %d shards pending; want none written, all %d pending", prog.Users, len(prog.Pending), len(Plan(600, 100)))
	}
	opts.TempDir = t.TempDir()
	prog, err = New(pool, fastPacer, opts).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
	if err != nil || !prog.Done() {
		t.Fatalf("second invocation: done %v, err %v", prog.Done(), err)
	}
	exportedOnce(t, store, pool, prog)
	if left, err := os.ReadDir(opts.TempDir); err != nil || len(left) != 0 {
		t.Errorf("temporary directory after the export: %v %v, want it empty", left, err)
	}
}

// duplicating lists the first user of every page twice, as a pool changing during a listing may.
type duplicating struct{ *fakePool }

func (p duplicating) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	out, err := p.fakePool.ListUsers(ctx, in, opts...)
	if err == nil && len(out.Users) > 1 {
		out.Users = append(out.Users, out.Users[0])
	}
	return out, err
}

func TestResumeWritesAUserListedTwiceOnce(t *testing.T) {
	store := newBucket(t)
	pool := newFakePool(600)
	prog, err := New(duplicating{pool}, fastPacer, Options{}).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
	if err != nil {
		t.Fatal(err)
	}
	exportedOnce(t, store, pool, prog)
}

// timedPool records when each ListUsers call arrives.
type timedPool struct {
	*fakePool
	mu    sync.Mutex
	calls []time.Time
}

func (p *timedPool) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	p.mu.Lock()
	p.calls = append(p.calls, time.Now())
	p.mu.Unlock()
	return p.fakePool.ListUsers(ctx, in, opts...)
}

// TestResumeWorkersTogetherStayUnderTheRate: Workers shards list at once (256 shards, one page
// each) with one pacer at 150 ListUsers/s: no second of the run has more calls than the quota.
func TestResumeWorkersTogetherStayUnderTheRate(t *testing.T) {
	const rps = 150
	store := newBucket(t)
	pool := &timedPool{fakePool: newFakePool(2000)}
	pace := quota.NewRegistry(quota.Rates{quota.UserList: rps, quota.UserPoolResourceRead: 1e6}).Pacer("local", Ops)
	began := time.Now()
	prog, err := New(pool, pace, Options{Estimated: 2000, PerShard: 10}).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
	if err != nil || !prog.Done() {
		t.Fatalf("done=%v err=%v", prog.Done(), err)
	}
	calls := slices.Clone(pool.calls)
	slices.SortFunc(calls, time.Time.Compare)
	if len(calls) < 256 {
		t.Fatalf("%d ListUsers calls, want one per shard at least (256)", len(calls))
	}
	peak := peakPerSecond(calls)
	// The pacer starts with one token and spaces calls evenly: rps+1 in a second at most, give or
	// take the scheduling between a call's turn and its arrival (overRate). Unshared pacers would
	// allow Workers times the rate.
	if peak > overRate(rps) {
		t.Errorf("%d ListUsers calls within one second, quota %d", peak, rps)
	}
	// From before the run, not from the first call's arrival: that arrival can be late (its
	// goroutine scheduled late on a loaded machine), which shortens the span from it without the
	// pacer being any faster. The n-th turn is (n-1)/rps after the first, which is after began.
	if span, least := calls[len(calls)-1].Sub(began), time.Duration(float64(len(calls)-1)/rps*0.95*float64(time.Second)); span < least {
		t.Errorf("%d calls in %s, faster than %d/s", len(calls), span, rps)
	}
	exportedOnce(t, store, pool.fakePool, prog)
}

// overRate is the most calls a test accepts within one second at rps: the pacer's rps+1, plus
// what a loaded machine adds by scheduling goroutines late and then together (a quarter: seen at
// 5% over on a shared 2-core machine). It still catches pacers that are not shared, which allow
// Workers (16) times the rate.
func overRate(rps int) int { return rps + rps/4 }

// peakPerSecond is the most of the sorted calls within any one second.
func peakPerSecond(calls []time.Time) int {
	peak := 0
	for i, j := 0, 0; i < len(calls); i++ {
		for j < len(calls) && calls[j].Sub(calls[i]) < time.Second {
			j++
		}
		peak = max(peak, j-i)
	}
	return peak
}

func TestPlan(t *testing.T) {
	for _, tt := range []struct{ estimated, perShard, want int }{
		{0, 0, 16},
		{50_000, 16_875, 16},
		{1_000_000, 16_875, 256},
		{40_000_000, 16_875, 4096},
		{40_000_000, 1125, 65536},
		{1e9, 1, 65536},
	} {
		got := Plan(tt.estimated, tt.perShard)
		if len(got) != tt.want || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != tt.want {
			t.Errorf("Plan(%d, %d): %d shards, want %d, sorted and distinct", tt.estimated, tt.perShard, len(got), tt.want)
		}
	}
}

func TestShardUsers(t *testing.T) {
	pace := quota.NewRegistry(nil).Pacer("local", Ops)
	// 30 pages/s × 60 users × 600 s / 4 / 16 workers; with MFA, 120 AdminGetUser/s instead.
	if got := New(nil, pace, Options{}).ShardUsers(checkpoint.DefaultBudget); got != 16_875 {
		t.Errorf("ShardUsers = %d, want 16875", got)
	}
	if got := New(nil, pace, Options{IncludeMFA: true}).ShardUsers(checkpoint.DefaultBudget); got != 1125 {
		t.Errorf("ShardUsers with MFA = %d, want 1125", got)
	}
}

// TestResumeWorkFilesHoldTheSameUsers: a work export (WorkFiles: read once by the workflow)
// holds the same users in the same order as a snapshot's, compressed at gzip's fastest level:
// larger files for less CPU.
func TestResumeWorkFilesHoldTheSameUsers(t *testing.T) {
	pool := newFakePool(3000)
	read := func(work bool) ([]snapshot.User, int64) {
		store := newBucket(t)
		resumeUntilDone(t, store, pool, 1000, Options{Estimated: 3000, PerShard: 1000, Workers: 1, WorkFiles: work})
		var users []snapshot.User
		err := snapshot.ReadUsers(t.Context(), store, "bkt", "snap/", func(u snapshot.User) error {
			users = append(users, u)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		list, err := store.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("snap/users")})
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, o := range list.Contents {
			size += aws.ToInt64(o.Size)
		}
		return users, size
	}
	snap, snapSize := read(false)
	work, workSize := read(true)
	if len(snap) != 3000 {
		t.Fatalf("the snapshot has %d users, want 3000", len(snap))
	}
	if diff := cmp.Diff(snap, work); diff != "" {
		t.Errorf("the work export's users differ from the snapshot's (-snapshot +work):\n%s", diff)
	}
	if workSize <= snapSize {
		t.Errorf("work export %d bytes, snapshot %d: want the work export less compressed", workSize, snapSize)
	}
}
