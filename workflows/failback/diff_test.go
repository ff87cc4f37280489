package failback

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

var (
	failoverAt   = time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	before       = failoverAt.Add(-time.Hour)
	after        = failoverAt.Add(time.Hour)
	testWritable = map[string]bool{"email": true, "email_verified": true, "given_name": true, "family_name": true, "custom:tenant": true}
)

// rec is a user of a bucket with its groups.
func rec(u snapshot.User, groups ...string) partition.Record {
	return partition.Record{User: u, Groups: groups}
}

// plan plans one DR user as a bucket's two phases do: by its primary sub, else by key.
func plan(pl *planner, r partition.Record) ([]Action, bool, *Held) {
	if a, i, h, ok := pl.addDR(r, partition.PhaseSub); ok {
		return a, i, h
	}
	a, i, h, _ := pl.addDR(r, partition.PhaseKey)
	return a, i, h
}

// addPrimary holds primary users without groups.
func addPrimary(pl *planner, users ...snapshot.User) {
	for _, u := range users {
		pl.addPrimary(rec(u))
	}
}

func user(name string, modified time.Time, enabled bool, kv ...string) snapshot.User {
	u := snapshot.User{Username: name, Attributes: map[string]string{}, Enabled: enabled, Modified: modified, Status: "CONFIRMED"}
	for i := 0; i < len(kv); i += 2 {
		u.Attributes[kv[i]] = kv[i+1]
	}
	return u
}

// TestPlannerDecidesUserByUser covers each kind of change a DR user can carry back.
func TestPlannerDecidesUserByUser(t *testing.T) {
	pl := newPlanner(poolpair.Matcher{Attribute: "email", Fold: true}, true, failoverAt, false, testWritable)
	pl.addPrimary(rec(user("p-same", before, true, "sub", "s-same", "email", "same@example.jp", "given_name", "Same"), "staff"))
	addPrimary(pl,
		user("p-changed", before, true, "sub", "s-changed", "email", "changed@example.jp", "given_name", "Old", "family_name", "Gone"),
		user("p-stale", before, true, "sub", "s-stale", "email", "stale@example.jp", "given_name", "Primary"),
		user("p-disabled", before, true, "sub", "s-disabled", "email", "disabled@example.jp", "email_verified", "true"),
		user("p-moved", before, true, "sub", "s-moved", "email", "old@example.jp", "email_verified", "true"),
		user("p-only", before, true, "sub", "s-only", "email", "only@example.jp"),
	)

	type got struct {
		actions []Action
		imports bool
	}
	run := func(r partition.Record) got { a, i, _ := plan(pl, r); return got{a, i} }
	cases := []struct {
		name string
		dr   partition.Record
		want got
	}{
		{"unchanged, in a group the primary user has", rec(user("d-same", after, true, "sub", "x1", "email", "same@example.jp", "given_name", "Same", "custom:primary_sub", "s-same"), "staff"), got{}},
		{"changed after failover: set and unset", rec(user("d-changed", after, true, "sub", "x2", "email", "changed@example.jp", "given_name", "New", "custom:primary_sub", "s-changed")),
			got{actions: []Action{{Kind: ActionUpdate, Key: "changed@example.jp", Username: "p-changed", DRUsername: "d-changed", Set: map[string]string{"given_name": "New"}, Unset: []string{"family_name"},
				Was: map[string]string{"given_name": "Old", "family_name": "Gone"}}}}},
		{"different but not changed since failover: the primary is newer", rec(user("d-stale", before, true, "sub", "x3", "email", "stale@example.jp", "email_verified", "true", "given_name", "DR")), got{}},
		{"disabled in DR: reported, not applied", rec(user("d-disabled", after, false, "sub", "x4", "email", "disabled@example.jp", "email_verified", "true")), got{}},
		{"email changed in DR: matched by primary_sub, email updated; the report joins it on its own key", rec(user("d-moved", after, true, "sub", "x5", "email", "new@example.jp", "email_verified", "true", "custom:primary_sub", "s-moved")),
			got{actions: []Action{{Kind: ActionUpdate, Key: "old@example.jp", Username: "p-moved", DRUsername: "d-moved", DRKey: "new@example.jp", Set: map[string]string{"email": "new@example.jp", "email_verified": "true"},
				Was: map[string]string{"email": "old@example.jp", "email_verified": "true"}}}}},
		{"signed up in DR: import, with its group", rec(user("d-new", after, true, "sub", "x6", "email", "New@Example.jp"), "outage"),
			got{actions: []Action{{Kind: ActionAddToGroup, Key: "new@example.jp", Username: "New@Example.jp", DRUsername: "d-new", Group: "outage"}}, imports: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, run(c.dr), cmp.AllowUnexported(got{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	counts := pl.finish(partition.PhaseKey)
	want := Counts{PrimaryUsers: 6, DRUsers: 6, Import: 1, Update: 2, GroupAdds: 1, DisabledInDR: 1, PrimaryOnly: 1, Unchanged: 3}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// TestPlannerAppliesDisablesOnlyWhenAskedAndNotOurOwn: with applyDisables a DR disable is carried
// back, except for users an earlier failback disabled itself.
func TestPlannerAppliesDisablesOnlyWhenAskedAndNotOurOwn(t *testing.T) {
	pl := newPlanner(poolpair.Matcher{Attribute: "email", Fold: true}, true, failoverAt, true, testWritable)
	addPrimary(pl, user("p1", before, true, "sub", "s1", "email", "a@example.jp", "email_verified", "true"),
		user("p2", before, true, "sub", "s2", "email", "b@example.jp", "email_verified", "true"))
	acts, _, _ := plan(pl, rec(user("d1", after, false, "email", "a@example.jp", "email_verified", "true")))
	if diff := cmp.Diff([]Action{{Kind: ActionDisablePrimary, Key: "a@example.jp", Username: "p1", DRUsername: "d1"}}, acts); diff != "" {
		t.Errorf("disabled in DR (-want +got):\n%s", diff)
	}
	ours := rec(user("d2", after, false, "email", "b@example.jp", "email_verified", "true"))
	ours.Marked = true
	if acts, _, _ := plan(pl, ours); len(acts) != 0 {
		t.Errorf("a user an earlier failback disabled: %+v, want nothing", acts)
	}
	// AWS does not document that disabling moves UserLastModifiedDate: a disable that left it
	// before the failover is still a disable.
	addPrimary(pl, user("p3", before, true, "sub", "s3", "email", "c@example.jp", "email_verified", "true"))
	acts, _, _ = plan(pl, rec(user("d3", before, false, "email", "c@example.jp", "email_verified", "true")))
	if diff := cmp.Diff([]Action{{Kind: ActionDisablePrimary, Key: "c@example.jp", Username: "p3", DRUsername: "d3"}}, acts); diff != "" {
		t.Errorf("disabled in DR, last modified before the failover (-want +got):\n%s", diff)
	}
}

// TestPlannerHoldsUnverifiedDRUsers: a DR sign-up that is UNCONFIRMED, or whose email is not
// verified, never speaks for the primary user that has that email.
func TestPlannerHoldsUnverifiedDRUsers(t *testing.T) {
	pl := newPlanner(poolpair.Matcher{Attribute: "email"}, true, failoverAt, true, testWritable)
	addPrimary(pl, user("p1", before, true, "sub", "s1", "email", "victim@example.jp", "email_verified", "true", "given_name", "Victim"),
		user("p2", before, true, "sub", "s2", "email", "other@example.jp", "email_verified", "true"))
	for _, u := range []snapshot.User{
		func() snapshot.User {
			u := user("d1", after, true, "email", "victim@example.jp", "email_verified", "true", "given_name", "Attacker")
			u.Status = "UNCONFIRMED"
			return u
		}(),
		user("d2", after, false, "email", "other@example.jp", "email_verified", "false", "given_name", "Attacker"),
	} {
		acts, importIt, held := plan(pl, rec(u, "admins"))
		if len(acts) != 0 || importIt || held == nil || held.Kind != poolpair.UnverifiedDRUser || held.DRUsername != u.Username {
			t.Errorf("%s: actions %+v import %v held %+v; want held as %s and nothing else", u.Username, acts, importIt, held, poolpair.UnverifiedDRUser)
		}
	}
	if c := pl.finish(partition.PhaseKey); c.UnverifiedDR != 2 || c.Update != 0 || c.DisabledInDR != 0 || c.GroupAdds != 0 || c.PrimaryOnly != 2 {
		t.Errorf("counts %+v", c)
	}
}

// TestPlannerDistrustsAWritablePrimarySub: when a DR app client can write custom:primary_sub,
// a DR user claiming someone's primary sub is matched by its own verified email only.
func TestPlannerDistrustsAWritablePrimarySub(t *testing.T) {
	pl := newPlanner(poolpair.Matcher{Attribute: "email"}, false, failoverAt, false, testWritable)
	addPrimary(pl, user("p1", before, true, "sub", "s1", "email", "victim@example.jp", "email_verified", "true", "given_name", "Victim"))
	acts, importIt, held := plan(pl, rec(user("d1", after, true, "email", "attacker@example.jp", "email_verified", "true", "custom:primary_sub", "s1", "given_name", "Attacker")))
	if len(acts) != 0 || !importIt || held != nil {
		t.Errorf("actions %+v import %v held %+v; want the attacker imported as the new user it is", acts, importIt, held)
	}
}

// TestPlannerMatchesExactCaseInCaseSensitivePools: in a case-sensitive pair, Alice@Example.com is
// matched to Alice@Example.com only, and the update names the primary user as the primary holds it.
func TestPlannerMatchesExactCaseInCaseSensitivePools(t *testing.T) {
	pl := newPlanner(poolpair.Matcher{Attribute: "email"}, false, failoverAt, false, testWritable)
	addPrimary(pl, user("p1", before, true, "sub", "s1", "email", "Alice@Example.com", "email_verified", "true", "given_name", "Old"))
	acts, _, _ := plan(pl, rec(user("d1", after, true, "email", "Alice@Example.com", "email_verified", "TRUE", "given_name", "New")))
	want := []Action{{Kind: ActionUpdate, Key: "Alice@Example.com", Username: "p1", DRUsername: "d1", Set: map[string]string{"given_name": "New"}, Was: map[string]string{"given_name": "Old"}}}
	if diff := cmp.Diff(want, acts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, importIt, _ := plan(pl, rec(user("d2", after, true, "email", "alice@example.com", "email_verified", "true"))); !importIt {
		t.Error("alice@example.com matched Alice@Example.com in a case-sensitive pair; want a new user")
	}
}
