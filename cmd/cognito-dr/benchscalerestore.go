package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// stateCounts counts the invocations of an execution's Task states, by state (a Map's inner
// states too): where one task serves several states, what each loop ran.
type stateCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *stateCounts) observe(e asl.Event) {
	if e.Type != asl.EventTaskScheduled {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[e.State]++
}

func (c *stateCounts) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// scaleRunRestore restores the snapshot the backup run took (backedUp) into a new pool, which the
// restore creates from the snapshot's pool configuration, and then checks that pool against the
// generator through the emulator's API: every snapshot user in it exactly once (lost: missing;
// duplicated: found twice, or not the snapshot's), and each with the snapshot's attributes,
// enabled state and groups, and the report accounting for every user; a user restored wrong is
// an error on the line.
func scaleRunRestore(ctx context.Context, self string, env taskEnv, sc *devstack.Scenario, backedUp scaleResult, spec localcognito.Synthetic, stackPid int, opts ...asl.Option) scaleResult {
	if backedUp.Snapshot == "" {
		return scaleResult{Err: fmt.Errorf("no snapshot to restore: the backup run failed (%v)", backedUp.Err)}
	}
	// A new pool, created by the restore from the snapshot's pool configuration, as after the
	// pool's loss (the demo's story).
	in := map[string]any{"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion, "snapshot": backedUp.Snapshot,
		"createPool": map[string]any{"name": "tokyo-restored", "region": sc.Tokyo.Region}}
	states := &stateCounts{n: map[string]int{}}
	x, res, err := scaleExecution(ctx, self, statemachines.Restore, env, in, nil, nil, append(slices.Clip(opts), asl.WithObserver(states.observe))...)
	res.ByState = states.counts()
	var out restore.ReportOutput
	if res.Err = succeeded(x, err, "restore", &out); res.Err != nil {
		return res
	}
	fmt.Fprintf(os.Stderr, "  scale: restore report: %d users (%s), %d disabled again, %d mapped; local stack rss %.0f MB with the restored pool\n",
		out.Users, countsText(out.Outcomes), out.Disabled, out.Mapped, float64(procStatusKB(strconv.Itoa(stackPid), "VmRSS:"))/1024)
	chk, err := checkRestored(ctx, stackClients(env).Cognito(out.Target.Region), out.Target.UserPoolID, spec)
	if err != nil {
		res.Err = fmt.Errorf("list the restored pool: %w", err)
		return res
	}
	res.Lost, res.Duplicated = chk.lost, chk.duplicated
	var wrong []error
	if chk.attributes+chk.enabled+chk.groups > 0 {
		wrong = append(wrong, fmt.Errorf("restored wrong: %d users' attributes, %d users' enabled state, %d users' groups", chk.attributes, chk.enabled, chk.groups))
	}
	restored := out.Outcomes[restore.OutcomeImported] + out.Outcomes[restore.OutcomeCreatedByAPI]
	if out.Users != spec.Users || restored != spec.Users || out.Mapped != spec.Users || out.Disabled != chk.disabled {
		wrong = append(wrong, fmt.Errorf("the report says %d users (%s), %d mapped, %d disabled; the snapshot has %d users, %d disabled",
			out.Users, countsText(out.Outcomes), out.Mapped, out.Disabled, spec.Users, chk.disabled))
	}
	res.Err = errors.Join(wrong...)
	return res
}

// restoredCheck is what checkRestored found.
type restoredCheck struct {
	lost, duplicated int
	// attributes, enabled and groups count the users found with other attributes (besides sub),
	// enabled state or groups than the generator's; disabled is how many the generator disables.
	attributes, enabled, groups, disabled int
}

// checkRestored lists the pool through the Cognito API (ListUsers, ListUsersInGroup) and compares
// it with spec's users, found by email: one byte a user (bit 0 seen, bit 1+k in the k-th group).
func checkRestored(ctx context.Context, c *cip.Client, pool string, spec localcognito.Synthetic) (restoredCheck, error) {
	var chk restoredCheck
	groups := slices.Sorted(maps.Keys(spec.Groups))
	if len(groups) > 7 {
		return chk, fmt.Errorf("%d groups: the check keeps at most 7 a user", len(groups))
	}
	seen := make([]uint8, spec.Users)
	err := eachPoolUser(ctx, c, pool, func(u types.UserType, attrs map[string]string) {
		i, ok := spec.IndexOf(attrs["email"])
		if !ok || seen[i]&1 != 0 {
			chk.duplicated++
			return
		}
		seen[i] |= 1
		want := spec.User(i)
		if u.Enabled != want.Enabled {
			chk.enabled++
		}
		if attributesDiffer(want.Attributes, attrs, "sub") {
			chk.attributes++
		}
	})
	if err != nil {
		return chk, err
	}
	for k, g := range groups {
		members := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: aws.String(pool), GroupName: aws.String(g), Limit: aws.Int32(60)})
		for members.HasMorePages() {
			page, err := members.NextPage(ctx)
			if err != nil {
				return chk, fmt.Errorf("group %s: %w", g, err)
			}
			for _, u := range page.Users {
				if i, ok := spec.IndexOf(attributeMap(u.Attributes)["email"]); ok {
					seen[i] |= 2 << k
				} else {
					chk.groups++ // a member the snapshot does not have
				}
			}
		}
	}
	for i, s := range seen {
		want := spec.User(i)
		if !want.Enabled {
			chk.disabled++
		}
		if s&1 == 0 {
			chk.lost++
			continue
		}
		var mask uint8
		for k, g := range groups {
			if slices.Contains(want.Groups, g) {
				mask |= 2 << k
			}
		}
		if s&^1 != mask {
			chk.groups++
		}
	}
	return chk, nil
}

// eachPoolUser lists the pool's users through the Cognito API (ListUsers) and gives each to fn
// with its attributes as a map.
func eachPoolUser(ctx context.Context, c *cip.Client, pool string, fn func(u types.UserType, attrs map[string]string)) error {
	users := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60)})
	for users.HasMorePages() {
		page, err := users.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			fn(u, attributeMap(u.Attributes))
		}
	}
	return nil
}

// attributesDiffer reports whether got lacks one of want's attributes or has another value for
// it, the attributes named in except aside.
func attributesDiffer(want, got map[string]string, except ...string) bool {
	for name, v := range want {
		if !slices.Contains(except, name) && got[name] != v {
			return true
		}
	}
	return false
}

func attributeMap(attrs []types.AttributeType) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}
