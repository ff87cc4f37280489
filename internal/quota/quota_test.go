package quota

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The operations the workflows and commands call, with the category the quotas page gives.
func TestCategoryOfEveryOperationTheProjectCalls(t *testing.T) {
	want := map[string]Category{
		"ListUsers":                 UserList,
		"ListUsersInGroup":          UserList,
		"ListGroups":                UserPoolResourceRead,
		"AdminGetUser":              UserRead,
		"GetCSVHeader":              UserPoolResourceRead,
		"DescribeUserPool":          UserPoolRead,
		"CreateUserImportJob":       UserPoolResourceUpdate,
		"StartUserImportJob":        UserPoolResourceUpdate,
		"DescribeUserImportJob":     UserPoolResourceRead,
		"ListUserImportJobs":        UserPoolResourceRead,
		"AdminCreateUser":           UserCreation,
		"AdminUpdateUserAttributes": UserUpdate,
		"AdminDeleteUserAttributes": UserUpdate,
		"AdminDisableUser":          UserUpdate,
		"AdminEnableUser":           UserUpdate,
		"AdminDeleteUser":           UserUpdate,
		"AdminUserGlobalSignOut":    UserUpdate,
		"AdminAddUserToGroup":       UserUpdate,
		"AdminRemoveUserFromGroup":  UserUpdate,
		"AdminSetUserPassword":      UserAccountRecovery,
		"AdminDeleteSoftwareToken":  UserResourceUpdate,
		"AdminSetUserMFAPreference": UserResourceUpdate,
		"CreateGroup":               UserPoolResourceUpdate,
		"DescribeUserPoolClient":    UserPoolClientRead,
		"ListUserPoolClients":       UserPoolClientRead,
	}
	got := map[string]Category{}
	for op := range want {
		c, err := CategoryOf(op)
		if err != nil {
			t.Fatal(err)
		}
		got[op] = c
		if !Operations[op].Documented {
			t.Errorf("%s is marked assumed; the quotas page lists it", op)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("categories (-want +got):\n%s", d)
	}
}

func TestTableIsWhole(t *testing.T) {
	for op, m := range Operations {
		if _, ok := Limits[m.Category]; !ok {
			t.Errorf("%s: category %q has no row", op, m.Category)
		}
		if !m.Documented && m.Note == "" {
			t.Errorf("%s: an assumed category must say why", op)
		}
	}
	want := map[Category]float64{UserList: 30, UserRead: 120, UserCreation: 50, UserUpdate: 25, UserResourceUpdate: 25,
		UserAccountRecovery: 30, UserPoolResourceRead: 20, UserPoolResourceUpdate: 15, UserPoolRead: 15}
	for c, rps := range want {
		if Limits[c].RPS != rps {
			t.Errorf("%s: %v RPS, the quotas page says %v", c, Limits[c].RPS, rps)
		}
	}
}

func TestUnknownOperationFailsAtDeclaration(t *testing.T) {
	if _, err := CheckOps("ListUsers", "AdminFrobnicateUser"); err == nil || !strings.Contains(err.Error(), "AdminFrobnicateUser") {
		t.Errorf("CheckOps with an unknown operation: %v, want an error naming it", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustOps with an unknown operation did not panic")
			}
		}()
		MustOps("AdminFrobnicateUser")
	}()
	p := NewRegistry(nil).Pacer("r", MustOps("ListUsers"))
	if err := p.Wait(context.Background(), "AdminGetUser"); err == nil {
		t.Error("Wait for an operation the pacer was not built for: no error, want one (never an unpaced call)")
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	got, err := FromEnv(env(map[string]string{"USER_LIST_RPS": "10", "USER_READ_RPS": "500", "USER_POOL_RESOURCE_READ_RPS": "4"}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Rates{UserList: 10, UserRead: 500, UserPoolResourceRead: 4}, got); d != "" {
		t.Errorf("rates (-want +got):\n%s", d)
	}
	for _, bad := range []map[string]string{
		{"USER_LIST_RPS": "31"},  // UserList is not adjustable
		{"USER_LIST_RPS": "ten"}, // not a number
		{"USER_UPDATE_RPS": "0"}, // not positive
	} {
		if _, err := FromEnv(env(bad)); err == nil {
			t.Errorf("FromEnv(%v): no error", bad)
		}
	}
	if EnvName(UserList) != "USER_LIST_RPS" || EnvName(UserRead) != "USER_READ_RPS" {
		t.Errorf("EnvName: %s, %s; the deployed names are USER_LIST_RPS, USER_READ_RPS", EnvName(UserList), EnvName(UserRead))
	}
}

// callLog records when each call was let through, per key.
type callLog struct {
	mu    sync.Mutex
	times map[string][]time.Duration
}

func (l *callLog) add(key string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times[key] = append(l.times[key], d)
}

// minGap is the shortest time between two calls of a key.
func (l *callLog) minGap(key string) time.Duration {
	ts := slices.Clone(l.times[key])
	slices.Sort(ts)
	gap := time.Duration(1 << 62)
	for i := 1; i < len(ts); i++ {
		gap = min(gap, ts[i]-ts[i-1])
	}
	return gap
}

// Workers that each build their own pacer from one registry, calling operations of one category,
// together never exceed the category's rate; another Region's pacer does not slow them.
func TestSharedPacerNeverExceedsTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := NewRegistry(nil)
		ops := MustOps("AdminDisableUser", "AdminUserGlobalSignOut", "AdminAddUserToGroup", "GetCSVHeader", "ListGroups")
		start := time.Now()
		log := &callLog{times: map[string][]time.Duration{}}
		var wg sync.WaitGroup
		const workers, calls = 16, 10
		for w := range workers {
			wg.Go(func() {
				p := reg.Pacer("ap-northeast-1", ops)
				for i := range calls {
					op := []string{"AdminDisableUser", "AdminUserGlobalSignOut", "AdminAddUserToGroup"}[(w+i)%3]
					if err := p.Wait(t.Context(), op); err != nil {
						t.Error(err)
						return
					}
					log.add("UserUpdate", time.Since(start))
				}
			})
		}
		// The pool-resource reads: 20/s for the category, 5/s for each operation.
		for w := range 4 {
			wg.Go(func() {
				p := reg.Pacer("ap-northeast-1", ops)
				for range calls {
					op := []string{"GetCSVHeader", "ListGroups"}[w%2]
					if err := p.Wait(t.Context(), op); err != nil {
						t.Error(err)
						return
					}
					log.add(op, time.Since(start))
				}
			})
		}
		wg.Go(func() {
			p := reg.Pacer("ap-northeast-3", ops)
			for range calls {
				if err := p.Wait(t.Context(), "AdminDisableUser"); err != nil {
					t.Error(err)
				}
				log.add("osaka", time.Since(start))
			}
		})
		wg.Wait()

		for key, want := range map[string]time.Duration{
			"UserUpdate":   time.Second / 25,
			"GetCSVHeader": time.Second / 5,
			"ListGroups":   time.Second / 5,
			"osaka":        time.Second / 25,
		} {
			if got := log.minGap(key); got < want {
				t.Errorf("%s: two calls %v apart, want at least %v", key, got, want)
			}
		}
		if n := len(log.times["UserUpdate"]); n != workers*calls {
			t.Fatalf("%d UserUpdate calls, want %d", n, workers*calls)
		}
		// Shared, not per worker: 160 calls at 25/s take 159 gaps of 40 ms.
		if last := slices.Max(log.times["UserUpdate"]); last < 159*time.Second/25 {
			t.Errorf("160 UserUpdate calls done after %v: the workers did not share one limiter", last)
		}
		// Osaka's quota is its own: its 10 calls are not queued behind Tokyo's 160.
		if last := slices.Max(log.times["osaka"]); last > time.Second {
			t.Errorf("the other Region's calls ended after %v: it was paced with this Region's", last)
		}
	})
}

func TestOverridesApplyToEveryPacer(t *testing.T) {
	reg := NewRegistry(Rates{UserList: 10})
	p := reg.Pacer("r", MustOps("ListUsers", "ListUsersInGroup", "ListGroups", "AdminGetUser"))
	got := map[string]float64{}
	for _, op := range []string{"ListUsers", "ListUsersInGroup", "ListGroups", "AdminGetUser", "AdminCreateUser"} {
		got[op] = p.Rate(op)
	}
	want := map[string]float64{"ListUsers": 10, "ListUsersInGroup": 10, "ListGroups": 5, "AdminGetUser": 120, "AdminCreateUser": 0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rates (-want +got):\n%s", d)
	}
}
