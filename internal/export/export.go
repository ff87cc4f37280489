// Package export reads a whole user pool at the speed Cognito's quotas allow: ListUsers sharded by
// a prefix of `sub` and run in parallel under the Region's one UserList pacer (Resume spreads a
// large pool over as many invocations as it needs, from a checkpoint in S3), groups through
// ListGroups + ListUsersInGroup rather than a call per user, and (when asked) each user's MFA
// preferences through AdminGetUser under the UserRead pacer. Records are handed to the caller one
// at a time so nothing holds the whole pool.
package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Cognito is what an export calls.
type Cognito interface {
	cip.ListUsersAPIClient
	cip.ListGroupsAPIClient
	cip.ListUsersInGroupAPIClient
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
}

// Ops are the operations an export calls; get its pacer with quota.Registry.Pacer(region, Ops).
var Ops = quota.MustOps("ListUsers", "ListUsersInGroup", "ListGroups", "AdminGetUser")

// pageSize is the largest page ListUsers and ListUsersInGroup accept.
const pageSize = 60

// HexShards splits a pool by the first character of `sub`, a lowercase UUID, so every user falls in
// exactly one shard and 16 shards can page in parallel.
var HexShards = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"}

// Options configure an Exporter.
type Options struct {
	// IncludeMFA fetches each user's MFA preferences with AdminGetUser: one UserRead call per user.
	IncludeMFA bool
	// Shards are `sub` prefixes that together cover every user; nil means HexShards.
	Shards []string
	// Progress, if set, is called with the running count of users exported.
	Progress func(users int)

	// Resume's settings. Estimated is the pool's estimated size and PerShard the users a shard
	// should hold (ShardUsers): together they plan the shards of a first invocation.
	Estimated, PerShard int
	// MaxShardUsers splits a shard that holds more users (the estimate was low); 0 means
	// 4 × PerShard, at most 40,000. It bounds what a shard holds while it is listed (spooled to
	// TempDir, compressed; Workers shards at once).
	MaxShardUsers int
	// Workers is how many shards Resume lists at once; 0 means Workers.
	Workers int
	// PartUsers closes a users part, and saves a checkpoint, once it holds this many users; 0
	// means 250,000. A crashed invocation loses at most the users of its open part. Memberships
	// parts of small groups close at the same count of memberships.
	PartUsers int
	// SegmentMembers records a group's listing in the checkpoint (its pages so far as a segment,
	// and the token that continues it) every this many members; 0 means 40,000. It bounds the
	// memory a group's listing holds and what a crashed invocation loses of it.
	SegmentMembers int
	// Now is the clock that dates pagination tokens; nil means time.Now.
	Now func() time.Time
	// TempDir is where Resume spools the shards being listed; "" means os.TempDir() (/tmp on
	// Lambda).
	TempDir string
	// WorkFiles says the export is a work file, read once by the workflow that made it (the
	// reconcile's, the failback's and the restore report's pool exports), not a snapshot kept:
	// Resume compresses its users at gzip's fastest level (about half the CPU, files about a
	// quarter larger).
	WorkFiles bool
}

// maxShardUsersCap bounds what an export whose quota allows large shards (a raised quota, or
// none in a benchmark) holds: Workers × 40,000 users of about 100 compressed bytes each, spooled
// to disk, and their 16-byte fingerprints in memory.
const maxShardUsersCap = 40_000

func (o Options) maxShardUsers() int {
	if o.MaxShardUsers > 0 {
		return o.MaxShardUsers
	}
	return min(4*o.perShard(), maxShardUsersCap)
}

// perShard is PerShard within what memory allows; 0 means as large as that.
func (o Options) perShard() int {
	if o.PerShard > 0 {
		return min(o.PerShard, maxShardUsersCap/2)
	}
	return maxShardUsersCap / 2
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return Workers
}

func (o Options) segmentMembers() int {
	if o.SegmentMembers > 0 {
		return o.SegmentMembers
	}
	return maxShardUsersCap
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) partUsers() int {
	if o.PartUsers > 0 {
		return o.PartUsers
	}
	return 250_000
}

// Exporter reads users and groups of pools.
type Exporter struct {
	c    Cognito
	pace *quota.Pacer
	opts Options
}

// New returns an Exporter calling c, each call paced by pace (built for Ops in c's Region):
// ListUsers and ListUsersInGroup share the UserList quota, AdminGetUser is UserRead, ListGroups
// UserPoolResourceRead.
func New(c Cognito, pace *quota.Pacer, opts Options) *Exporter {
	if opts.Shards == nil {
		opts.Shards = HexShards
	}
	return &Exporter{c: c, pace: pace, opts: opts}
}

// Users exports every user of pool, calling sink once per user from a single goroutine (sink
// need not be safe for concurrent use). It returns the number of users exported.
func (e *Exporter) Users(ctx context.Context, pool string, sink func(snapshot.User) error) (int, error) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(ctx)

	// The shards run in a group of their own inside g, so their errors reach g.Wait through it:
	// nothing is added to g from outside while g.Wait runs.
	pages := make(chan []types.UserType, 2*len(e.opts.Shards))
	g.Go(func() error {
		defer close(pages)
		shards, sctx := errgroup.WithContext(gctx)
		for _, shard := range e.opts.Shards {
			shards.Go(func() error { return e.listShard(sctx, pool, shard, pages) })
		}
		return shards.Wait()
	})

	users := make(chan snapshot.User, 256)
	g.Go(func() error {
		defer close(users)
		return e.records(gctx, pool, pages, users)
	})

	var n int
	var sinkErr error
	for u := range users {
		if sinkErr != nil {
			continue // drain: the producers see the cancelled context and end
		}
		if sinkErr = sink(u); sinkErr != nil {
			stop()
			continue
		}
		n++
		if e.opts.Progress != nil && n%pageSize == 0 {
			e.opts.Progress(n)
		}
	}
	err := g.Wait()
	if sinkErr != nil {
		return n, sinkErr
	}
	if err != nil {
		return n, err
	}
	if e.opts.Progress != nil {
		e.opts.Progress(n)
	}
	return n, nil
}

func (e *Exporter) listShard(ctx context.Context, pool, shard string, pages chan<- []types.UserType) error {
	p := cip.NewListUsersPaginator(e.c, &cip.ListUsersInput{
		UserPoolId: aws.String(pool),
		Limit:      aws.Int32(pageSize),
		Filter:     aws.String(fmt.Sprintf("sub ^= %q", shard)),
	})
	for p.HasMorePages() {
		if err := e.pace.Wait(ctx, "ListUsers"); err != nil {
			return err
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list users of %s (sub ^= %q): %w", pool, shard, err)
		}
		if len(out.Users) == 0 {
			continue
		}
		select {
		case pages <- out.Users:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// records turns pages into snapshot users, adding MFA preferences when asked. AdminGetUser runs
// with enough calls in flight to reach the UserRead quota despite each call's latency.
func (e *Exporter) records(ctx context.Context, pool string, pages <-chan []types.UserType, out chan<- snapshot.User) error {
	if !e.opts.IncludeMFA {
		for page := range pages {
			for _, u := range page {
				select {
				case out <- userRecord(u):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(e.pace.Rate("AdminGetUser")/2) + 1)
	for page := range pages {
		for _, u := range page {
			g.Go(func() error {
				rec := userRecord(u)
				mfa, err := e.mfa(gctx, pool, rec.Username)
				if err != nil {
					return err
				}
				rec.MFA = mfa
				select {
				case out <- rec:
					return nil
				case <-gctx.Done():
					return gctx.Err()
				}
			})
		}
	}
	return g.Wait()
}

func (e *Exporter) mfa(ctx context.Context, pool, username string) (*snapshot.MFA, error) {
	if err := e.pace.Wait(ctx, "AdminGetUser"); err != nil {
		return nil, err
	}
	out, err := e.c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(username)})
	var gone *types.UserNotFoundException
	if errors.As(err, &gone) {
		// Deleted between ListUsers and now: the snapshot keeps the listed record without MFA.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get MFA settings of a user in %s: %w", pool, err)
	}
	return &snapshot.MFA{Enabled: out.UserMFASettingList, Preferred: aws.ToString(out.PreferredMfaSetting)}, nil
}

func userRecord(u types.UserType) snapshot.User {
	attrs := make(map[string]string, len(u.Attributes))
	for _, a := range u.Attributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return snapshot.User{
		Username:   aws.ToString(u.Username),
		Attributes: attrs,
		Enabled:    u.Enabled,
		Status:     string(u.UserStatus),
		Created:    aws.ToTime(u.UserCreateDate).UTC(),
		Modified:   aws.ToTime(u.UserLastModifiedDate).UTC(),
	}
}

// Groups exports every group of pool and its members. Members come from ListUsersInGroup, which
// shares the UserList pacer with Users, so both may run at once without exceeding the quota.
func (e *Exporter) Groups(ctx context.Context, pool string, group func(snapshot.Group) error, member func(snapshot.Membership) error) (groups, memberships int, err error) {
	names, err := e.groupDefs(ctx, pool, group)
	if err != nil {
		return len(names), 0, err
	}
	for _, name := range names {
		token := ""
		for {
			out, err := e.membersPage(ctx, pool, name, token)
			if err != nil {
				return len(names), memberships, err
			}
			for _, u := range out.Users {
				if err := member(snapshot.Membership{Group: name, Username: aws.ToString(u.Username)}); err != nil {
					return len(names), memberships, err
				}
				memberships++
			}
			if token = aws.ToString(out.NextToken); token == "" {
				break
			}
		}
	}
	return len(names), memberships, nil
}

// groupDefs lists every group of pool with ListGroups, calling group for each, and returns their
// names in the order listed.
func (e *Exporter) groupDefs(ctx context.Context, pool string, group func(snapshot.Group) error) ([]string, error) {
	gp := cip.NewListGroupsPaginator(e.c, &cip.ListGroupsInput{UserPoolId: aws.String(pool), Limit: aws.Int32(pageSize)})
	var names []string
	for gp.HasMorePages() {
		if err := e.pace.Wait(ctx, "ListGroups"); err != nil {
			return names, err
		}
		out, err := gp.NextPage(ctx)
		if err != nil {
			return names, fmt.Errorf("list groups of %s: %w", pool, err)
		}
		for _, g := range out.Groups {
			rec := snapshot.Group{Name: aws.ToString(g.GroupName), Description: aws.ToString(g.Description), Precedence: g.Precedence, RoleArn: aws.ToString(g.RoleArn)}
			if err := group(rec); err != nil {
				return names, err
			}
			names = append(names, rec.Name)
		}
	}
	return names, nil
}

// membersPage is one ListUsersInGroup page of group name, the first if token is "", paced at the
// UserList quota. The error is Cognito's, unwrapped, for the caller to tell a refused token.
func (e *Exporter) membersPage(ctx context.Context, pool, name, token string) (*cip.ListUsersInGroupOutput, error) {
	if err := e.pace.Wait(ctx, "ListUsersInGroup"); err != nil {
		return nil, err
	}
	in := &cip.ListUsersInGroupInput{UserPoolId: aws.String(pool), GroupName: aws.String(name), Limit: aws.Int32(pageSize)}
	if token != "" {
		in.NextToken = aws.String(token)
	}
	out, err := e.c.ListUsersInGroup(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("list users in group %q of %s: %w", name, pool, err)
	}
	return out, nil
}
