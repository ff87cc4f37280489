package export

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// groupedPool is a pool of n users with large groups (big-0 … of size members each, every
// user of the pool in one of them) and small groups of a few members.
func groupedPool(n, big, small int) *fakePool {
	p := newFakePool(n)
	for i, u := range p.users {
		name := aws.ToString(u.Username)
		p.groups[fmt.Sprintf("big-%d", i%big)] = append(p.groups[fmt.Sprintf("big-%d", i%big)], name)
		if i < 3*small {
			p.groups[fmt.Sprintf("small-%02d", i/3)] = append(p.groups[fmt.Sprintf("small-%02d", i/3)], name)
		}
	}
	return p
}

// membersOnce reads the snapshot's memberships back with the one reader and checks every
// membership of pool is in it exactly once.
func membersOnce(t *testing.T, store *s3.Client, pool *fakePool, prog Progress) {
	t.Helper()
	seen := map[snapshot.Membership]int{}
	if err := snapshot.ReadMemberships(context.Background(), store, "bkt", "snap/", func(m snapshot.Membership) error {
		seen[m]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := 0
	for g, members := range pool.groups {
		for _, u := range members {
			want++
			if n := seen[snapshot.Membership{Group: g, Username: u}]; n != 1 {
				t.Errorf("%s in %s exported %d times, want once", u, g, n)
			}
		}
	}
	if len(seen) != want || prog.Groups == nil || prog.Groups.Members != want || prog.Groups.GroupCount != len(pool.groups) {
		t.Errorf("snapshot has %d memberships, progress says %+v; the pool has %d in %d groups", len(seen), prog.Groups, want, len(pool.groups))
	}
}

// groupFaults serves ListUsersInGroup from a fakePool with tokens of one invocation ("epoch"):
// with refuse, Cognito refuses another invocation's token; the k-th call (k > 0) calls then, and
// later calls are served no more, as calls made when time has run out. It logs every call: "users" for
// ListUsers, the group's name for ListUsersInGroup.
type groupFaults struct {
	*fakePool
	epoch  int
	refuse bool
	k      int64
	then   func()

	pages   atomic.Int64
	refused atomic.Int64
	old     atomic.Int64 // calls carrying another invocation's token
	mu      sync.Mutex
	calls   []string
}

func (p *groupFaults) log(s string) {
	p.mu.Lock()
	p.calls = append(p.calls, s)
	p.mu.Unlock()
}

func (p *groupFaults) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	p.log("users")
	return p.fakePool.ListUsers(ctx, in, opts...)
}

func (p *groupFaults) ListUsersInGroup(ctx context.Context, in *cip.ListUsersInGroupInput, opts ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	p.log(aws.ToString(in.GroupName))
	n := p.pages.Add(1)
	if p.k > 0 && n > p.k {
		return nil, untilCancelled(ctx)
	}
	// n, not the count now: a concurrent call may have counted a page since this one did. And
	// whatever this call answers (a refused token too): the calls after it wait for then.
	if p.k > 0 && n == p.k {
		defer p.then()
	}
	cp := *in
	in = &cp
	if tok := aws.ToString(in.NextToken); tok != "" {
		epoch, idx, _ := strings.Cut(tok, ":")
		if epoch != fmt.Sprint(p.epoch) {
			p.old.Add(1)
			if p.refuse {
				p.refused.Add(1)
				return nil, &types.InvalidParameterException{Message: aws.String("Invalid pagination token.")}
			}
		}
		in.NextToken = aws.String(idx)
	}
	out, err := p.fakePool.ListUsersInGroup(ctx, in, opts...)
	if err == nil && out.NextToken != nil {
		out.NextToken = aws.String(fmt.Sprintf("%d:%s", p.epoch, aws.ToString(out.NextToken)))
	}
	return out, err
}

// invocation runs one Resume as the state machine does, its budget cut after k group pages (0:
// never cut).
func invocation(store *s3.Client, c *groupFaults, opts Options) (Progress, error) {
	b := newCutBudget()
	c.then = b.cut
	return New(c, fastPacer, opts).Resume(context.Background(), store, "bkt", "snap/", "pool", b)
}

var membersOpts = Options{Estimated: 10, Workers: 4, SegmentMembers: 100, PartUsers: 50}

// TestResumeMembersOverSeveralInvocations: each invocation's budget ends after 7 group pages, so
// the large groups (300 members, 5 pages each) are listed over several invocations, continued
// from their saved tokens; every membership is in the snapshot exactly once, small groups share
// parts, and no group was listed again from its start.
func TestResumeMembersOverSeveralInvocations(t *testing.T) {
	store := newBucket(t)
	pool := groupedPool(1200, 4, 20)
	var prog Progress
	var err error
	inv, restarts, maxSegments := 0, 0, 0
	for inv = 1; inv <= 50 && !prog.Done(); inv++ {
		prog, err = invocation(store, &groupFaults{fakePool: pool, epoch: inv, k: 7}, membersOpts)
		if err != nil {
			t.Fatalf("invocation %d: %v", inv, err)
		}
		if m := prog.Members; m != nil {
			for _, c := range m.Pending {
				restarts += c.Restarts
				maxSegments = max(maxSegments, len(c.Segments))
			}
		}
	}
	if !prog.Done() {
		t.Fatal("not done after 50 invocations")
	}
	if inv < 5 || restarts != 0 || maxSegments < 2 {
		t.Errorf("%d invocations, %d restarts, at most %d segments of a group; want several invocations continuing groups over segments, none restarted", inv, restarts, maxSegments)
	}
	parts, _ := snapshot.MembershipsLayout.Parts(context.Background(), store, "bkt", "snap/")
	if len(parts) >= len(pool.groups) {
		t.Errorf("%d memberships parts for %d groups, want small groups to share parts", len(parts), len(pool.groups))
	}
	membersOnce(t, store, pool, prog)
}

// TestResumeMembersWithAStartsBudget: three units (shards or groups) start per invocation; the
// groups are spread over invocations as the shards are, each membership written once.
func TestResumeMembersWithAStartsBudget(t *testing.T) {
	store := newBucket(t)
	pool := groupedPool(600, 2, 15)
	opts := Options{Estimated: 10, Workers: 2, PartUsers: 20}
	var prog Progress
	inv := 0
	for inv = 1; inv <= 50 && !prog.Done(); inv++ {
		var err error
		if prog, err = New(pool, fastPacer, opts).Resume(context.Background(), store, "bkt", "snap/", "pool", checkpoint.NewStarts(3)); err != nil {
			t.Fatalf("invocation %d: %v", inv, err)
		}
	}
	if inv < 8 {
		t.Errorf("%d invocations, want the 17 groups and 16 shards spread over several", inv)
	}
	membersOnce(t, store, pool, prog)
}

// TestResumeMembersAfterCrash: the invocation is killed after k group pages, in the middle of a
// group with segments recorded; the next invocation continues it and loses and duplicates nothing.
func TestResumeMembersAfterCrash(t *testing.T) {
	for _, k := range []int64{3, 8, 12} {
		t.Run(fmt.Sprint("pages=", k), func(t *testing.T) {
			store := newBucket(t)
			pool := groupedPool(1200, 2, 5)
			ctx, kill := context.WithCancel(context.Background())
			c := &groupFaults{fakePool: pool, epoch: 1, k: k, then: kill}
			if _, err := New(c, fastPacer, membersOpts).Resume(ctx, store, "bkt", "snap/", "pool", newCutBudget()); !errors.Is(err, context.Canceled) {
				t.Fatalf("killed invocation returned %v, want context.Canceled", err)
			}
			prog, err := invocation(store, &groupFaults{fakePool: pool, epoch: 2}, membersOpts)
			if err != nil || !prog.Done() {
				t.Fatalf("done=%v err=%v", prog.Done(), err)
			}
			membersOnce(t, store, pool, prog)
		})
	}
}

// TestResumeRestartsAGroupWhoseTokenIsRefused: Cognito refuses a token of an earlier invocation.
// The cut group is listed again from its start, alone and first, by the next invocation, and its
// members are still in the snapshot exactly once.
func TestResumeRestartsAGroupWhoseTokenIsRefused(t *testing.T) {
	store := newBucket(t)
	pool := groupedPool(1200, 2, 5) // big-0 and big-1: 600 members, 10 pages each
	opts := Options{Estimated: 10, Workers: 1, SegmentMembers: 100, PartUsers: 50}
	// 1: big-0 is listed first (Workers 1) and cut after 4 pages, recorded with its token.
	if _, err := invocation(store, &groupFaults{fakePool: pool, epoch: 1, k: 4, refuse: true}, opts); err != nil {
		t.Fatal(err)
	}
	// 2: its token is refused; it will be listed again from its start.
	second := &groupFaults{fakePool: pool, epoch: 2, refuse: true}
	prog, err := invocation(store, second, opts)
	if err != nil || second.refused.Load() != 1 {
		t.Fatalf("second invocation: %d tokens refused, err %v; want big-0's refused", second.refused.Load(), err)
	}
	if c := prog.Members.cursor("big-0"); c == nil || c.Token != "" || c.Refused != 1 || len(c.Segments) != 0 {
		t.Fatalf("big-0 after its token was refused: %+v, want it restarted", c)
	}
	for inv := 3; !prog.Done() && inv < 10; inv++ {
		c := &groupFaults{fakePool: pool, epoch: inv, refuse: true}
		if prog, err = invocation(store, c, opts); err != nil {
			t.Fatalf("invocation %d: %v", inv, err)
		}
		if inv == 3 {
			// big-0 alone, first: every call until its last page is for it.
			last := slices.Index(c.calls, "big-1")
			if first := slices.IndexFunc(c.calls, func(s string) bool { return s != "big-0" }); first >= 0 && first < 10 || last >= 0 && last < 10 {
				t.Errorf("third invocation's calls %v…, want big-0's 10 pages first and alone", c.calls[:min(len(c.calls), 12)])
			}
		}
	}
	membersOnce(t, store, pool, prog)
}

// TestResumeFailsWhenAGroupNeedsOneInvocationAndGetsNone: tokens never survive an invocation
// and every budget ends before big-0 is listed: the export fails with TaskFailed naming the
// group and the setting to raise, rather than loop.
func TestResumeFailsWhenAGroupNeedsOneInvocationAndGetsNone(t *testing.T) {
	store := newBucket(t)
	pool := groupedPool(1200, 2, 5)
	opts := Options{Estimated: 10, Workers: 1, SegmentMembers: 100, PartUsers: 50}
	var err error
	for inv := 1; inv <= 6 && err == nil; inv++ {
		_, err = invocation(store, &groupFaults{fakePool: pool, epoch: inv, k: 4, refuse: true}, opts)
	}
	var failed *stateerr.TaskFailed
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), `group "big-0"`) || !strings.Contains(err.Error(), BudgetSetting) {
		t.Errorf("err = %v, want TaskFailed naming big-0 and %s", err, BudgetSetting)
	}
}

// TestResumeDoesNotTryATokenOlderThanItsLifetime: two hours pass between invocations; the saved
// token is not sent, the group is listed again from its start, each member once.
func TestResumeDoesNotTryATokenOlderThanItsLifetime(t *testing.T) {
	store := newBucket(t)
	pool := groupedPool(1200, 2, 5)
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	opts := Options{Estimated: 10, Workers: 1, SegmentMembers: 100, PartUsers: 50, Now: func() time.Time { return now }}
	if _, err := invocation(store, &groupFaults{fakePool: pool, epoch: 1, k: 4}, opts); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	c := &groupFaults{fakePool: pool, epoch: 2}
	prog, err := invocation(store, c, opts)
	if err != nil || !prog.Done() {
		t.Fatalf("done=%v err=%v", prog.Done(), err)
	}
	if n := c.old.Load(); n != 0 {
		t.Errorf("%d calls with the two-hour-old token, want none", n)
	}
	membersOnce(t, store, pool, prog)
}

// TestResumeGroupsInParallelUnderTheRate: four large groups and the shards list at once under one
// pacer at 150 UserList calls/s: the groups' listings interleave, and no second has more
// ListUsers and ListUsersInGroup calls together than the quota.
func TestResumeGroupsInParallelUnderTheRate(t *testing.T) {
	const rps = 150
	store := newBucket(t)
	pool := &timedPool{fakePool: groupedPool(1200, 4, 0)}
	pace := quota.NewRegistry(quota.Rates{quota.UserList: rps, quota.UserPoolResourceRead: 1e6}).Pacer("local", Ops)
	c := &timedGroups{timedPool: pool}
	prog, err := New(c, pace, Options{Estimated: 1200}).Resume(context.Background(), store, "bkt", "snap/", "pool", newCutBudget())
	if err != nil || !prog.Done() {
		t.Fatalf("done=%v err=%v", prog.Done(), err)
	}
	calls := slices.Clone(pool.calls)
	slices.SortFunc(calls, time.Time.Compare)
	if peak := peakPerSecond(calls); peak > overRate(rps) {
		t.Errorf("%d UserList calls within one second, quota %d", peak, rps)
	}
	// Interleaved: some group's calls are not all consecutive.
	switches := 0
	for i := 1; i < len(c.groups); i++ {
		if c.groups[i] != c.groups[i-1] {
			switches++
		}
	}
	if switches <= 3 {
		t.Errorf("group calls %v: the four groups were listed one after another, want them in parallel", c.groups)
	}
	membersOnce(t, store, pool.fakePool, prog)
}

// timedGroups records ListUsersInGroup calls with the ListUsers ones, and the group of each.
type timedGroups struct {
	*timedPool
	groups []string
}

func (p *timedGroups) ListUsersInGroup(ctx context.Context, in *cip.ListUsersInGroupInput, opts ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	p.mu.Lock()
	p.calls = append(p.calls, time.Now())
	p.groups = append(p.groups, aws.ToString(in.GroupName))
	p.mu.Unlock()
	return p.fakePool.ListUsersInGroup(ctx, in, opts...)
}
