package export

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// fakePool answers the calls an export makes from an in-memory pool, honouring `sub ^=` filters
// and paging by index tokens.
type fakePool struct {
	users  []types.UserType
	groups map[string][]string

	mu        sync.Mutex
	getCalls  int
	listCalls int
}

func newFakePool(n int) *fakePool {
	p := &fakePool{groups: map[string][]string{}}
	for i := range n {
		name := fmt.Sprintf("user-%05d", i)
		p.users = append(p.users, types.UserType{
			Username: aws.String(name),
			Enabled:  i%7 != 0,
			Attributes: []types.AttributeType{
				{Name: aws.String("sub"), Value: aws.String(uuid.NewString())},
				{Name: aws.String("email"), Value: aws.String(name + "@example.com")},
			},
			UserStatus: types.UserStatusTypeConfirmed,
		})
		if i%10 == 0 {
			p.groups["admins"] = append(p.groups["admins"], name)
		}
	}
	p.groups["empty"] = nil
	return p
}

func sub(u types.UserType) string {
	for _, a := range u.Attributes {
		if aws.ToString(a.Name) == "sub" {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func (p *fakePool) ListUsers(_ context.Context, in *cip.ListUsersInput, _ ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	p.mu.Lock()
	p.listCalls++
	p.mu.Unlock()
	prefix := strings.Trim(strings.TrimPrefix(aws.ToString(in.Filter), "sub ^= "), `"`)
	start, _ := strconv.Atoi(aws.ToString(in.PaginationToken))
	var page []types.UserType
	i := start
	for ; i < len(p.users) && len(page) < int(aws.ToInt32(in.Limit)); i++ {
		if strings.HasPrefix(sub(p.users[i]), prefix) {
			page = append(page, p.users[i])
		}
	}
	out := &cip.ListUsersOutput{Users: page}
	if i < len(p.users) {
		out.PaginationToken = aws.String(strconv.Itoa(i))
	}
	return out, nil
}

func (p *fakePool) ListGroups(_ context.Context, in *cip.ListGroupsInput, _ ...func(*cip.Options)) (*cip.ListGroupsOutput, error) {
	var names []string
	for g := range p.groups {
		names = append(names, g)
	}
	sort.Strings(names)
	out := &cip.ListGroupsOutput{}
	for _, n := range names {
		out.Groups = append(out.Groups, types.GroupType{GroupName: aws.String(n)})
	}
	return out, nil
}

func (p *fakePool) ListUsersInGroup(_ context.Context, in *cip.ListUsersInGroupInput, _ ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	members := p.groups[aws.ToString(in.GroupName)]
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+int(aws.ToInt32(in.Limit)), len(members))
	out := &cip.ListUsersInGroupOutput{}
	for _, m := range members[start:end] {
		out.Users = append(out.Users, types.UserType{Username: aws.String(m)})
	}
	if end < len(members) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (p *fakePool) AdminGetUser(_ context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	p.mu.Lock()
	p.getCalls++
	p.mu.Unlock()
	if strings.HasSuffix(aws.ToString(in.Username), "3") {
		return nil, &types.UserNotFoundException{Message: aws.String("User does not exist.")}
	}
	return &cip.AdminGetUserOutput{Username: in.Username, UserMFASettingList: []string{"SOFTWARE_TOKEN_MFA"}, PreferredMfaSetting: aws.String("SOFTWARE_TOKEN_MFA")}, nil
}

// fastPacer paces far above the defaults: these tests are about what is exported.
var fastPacer = quota.NewRegistry(quota.Rates{quota.UserList: 1e6, quota.UserRead: 1e6, quota.UserPoolResourceRead: 1e6}).Pacer("local", Ops)

var fast = Options{}

func TestUsersExportsEveryUserOnce(t *testing.T) {
	pool := newFakePool(1000)
	var got []string
	var disabled int
	n, err := New(pool, fastPacer, fast).Users(context.Background(), "pool", func(u snapshot.User) error {
		got = append(got, u.Username)
		if !u.Enabled {
			disabled++
		}
		if u.MFA != nil {
			t.Errorf("%s: MFA fetched although not asked for", u.Username)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range pool.users {
		want = append(want, aws.ToString(u.Username))
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exported users (-want +got):\n%s", diff)
	}
	if n != 1000 || disabled != 143 {
		t.Errorf("n=%d disabled=%d, want 1000 and 143", n, disabled)
	}
	if pool.getCalls != 0 {
		t.Errorf("AdminGetUser called %d times without IncludeMFA", pool.getCalls)
	}
}

func TestUsersWithMFA(t *testing.T) {
	pool := newFakePool(200)
	opts := fast
	opts.IncludeMFA = true
	withMFA := 0
	n, err := New(pool, fastPacer, opts).Users(context.Background(), "pool", func(u snapshot.User) error {
		if u.MFA != nil {
			withMFA++
			if u.MFA.Preferred != "SOFTWARE_TOKEN_MFA" {
				t.Errorf("%s: preferred %q", u.Username, u.MFA.Preferred)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Users whose name ends in 3 vanished before AdminGetUser: kept, without MFA.
	if n != 200 || withMFA != 180 || pool.getCalls != 200 {
		t.Errorf("n=%d withMFA=%d getCalls=%d, want 200, 180, 200", n, withMFA, pool.getCalls)
	}
}

func TestUsersStopsOnSinkError(t *testing.T) {
	pool := newFakePool(5000)
	boom := errors.New("disk full")
	calls := 0
	_, err := New(pool, fastPacer, fast).Users(context.Background(), "pool", func(snapshot.User) error {
		calls++
		if calls == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the sink's error", err)
	}
	if calls != 10 {
		t.Errorf("sink called %d times after failing, want it never called again", calls-10)
	}
}

func TestGroups(t *testing.T) {
	pool := newFakePool(1000)
	var groups []string
	members := map[string]int{}
	g, m, err := New(pool, fastPacer, fast).Groups(context.Background(), "pool",
		func(g snapshot.Group) error { groups = append(groups, g.Name); return nil },
		func(m snapshot.Membership) error { members[m.Group]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"admins", "empty"}, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if g != 2 || m != 100 || members["admins"] != 100 {
		t.Errorf("groups=%d memberships=%d admins=%d, want 2, 100, 100", g, m, members["admins"])
	}
}

// shardFailing fails ListUsers for one shard, after the other shards have started paging.
type shardFailing struct {
	*fakePool
	shard string
	err   error
}

func (p *shardFailing) ListUsers(ctx context.Context, in *cip.ListUsersInput, opts ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	if aws.ToString(in.Filter) == fmt.Sprintf("sub ^= %q", p.shard) {
		return nil, p.err
	}
	return p.fakePool.ListUsers(ctx, in, opts...)
}

// A shard's failure ends the export with that failure, whichever goroutine sees it first; run
// with -race, this is the path that once added to the errgroup while Wait ran.
func TestUsersReturnsAShardsError(t *testing.T) {
	boom := errors.New("shard 7 failed")
	pool := &shardFailing{fakePool: newFakePool(3000), shard: "7", err: boom}
	_, err := New(pool, fastPacer, fast).Users(context.Background(), "pool", func(snapshot.User) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the shard's error", err)
	}
}
