package replication

import (
	"slices"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func testInfo() poolInfo {
	attrs := map[string]bool{"email": true, "email_verified": true, "given_name": true, PrimarySubAttribute: true}
	return poolInfo{usernameAttributes: []string{"email"}, defined: attrs, mutable: attrs}
}

func drUser(name, status string, kv ...string) snapshot.User {
	u := snapshot.User{Username: name, Status: status, Enabled: true, Attributes: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		u.Attributes[kv[i]] = kv[i+1]
	}
	return u
}

func byKey(list []Repair) map[string]Repair {
	m := map[string]Repair{}
	for _, r := range list {
		m[r.Key+"/"+r.DRUsername] = r
	}
	return m
}

// TestDifferHoldsUnverifiedDRUsers: a DR user that is UNCONFIRMED or unverified and holds a
// primary user's email is never matched to it, never changed, and the primary user is not
// created over it.
func TestDifferHoldsUnverifiedDRUsers(t *testing.T) {
	d := newDiffer(testInfo(), poolpair.Matcher{Attribute: "email"}, true, false, nil)
	d.addPrimary(drUser("p1", "CONFIRMED", "sub", "s1", "email", "victim@example.jp", "email_verified", "true", "given_name", "Victim"), nil)
	d.addDR(drUser("d1", "UNCONFIRMED", "email", "victim@example.jp", "email_verified", "true", "given_name", "Attacker"), nil)
	d.matchBySub()
	d.matchByKey()
	d.compare(time.Now(), false)
	for _, r := range d.list {
		if r.hasWork() {
			t.Errorf("repair with work: %+v; want none", r)
		}
	}
	kinds := map[string][]string{}
	for _, r := range d.list {
		kinds[r.DRUsername] = r.Kinds
	}
	if !slices.Equal(kinds["d1"], []string{KindUnverifiedDR}) || d.drift.Kinds[KindUnverifiedDR] != 1 || d.drift.Kinds[KindMissing] != 1 {
		t.Errorf("kinds %v, drift %+v; want d1 held and the primary user missing", kinds, d.drift.Kinds)
	}
}

// TestDifferWithoutTrustedPrimarySub: when a DR app client can write custom:primary_sub, a DR
// user claiming a primary user's sub is not matched by it, and an unmatched DR user carrying
// one is dr-only, never deleted.
func TestDifferWithoutTrustedPrimarySub(t *testing.T) {
	d := newDiffer(testInfo(), poolpair.Matcher{Attribute: "email"}, false, true, nil)
	d.addPrimary(drUser("p1", "CONFIRMED", "sub", "s1", "email", "victim@example.jp", "email_verified", "true", "given_name", "Victim"), nil)
	d.addDR(drUser("d-victim", "CONFIRMED", "email", "victim@example.jp", "email_verified", "true", "given_name", "Victim", PrimarySubAttribute, "s1"), nil)
	d.addDR(drUser("d-claim", "CONFIRMED", "email", "attacker@example.jp", "email_verified", "true", "given_name", "Attacker", PrimarySubAttribute, "s1"), nil)
	d.matchBySub()
	d.matchByKey()
	d.compare(time.Now(), false)
	got := byKey(d.list)
	if r, ok := got["attacker@example.jp/d-claim"]; !ok || !slices.Equal(r.Kinds, []string{KindDROnly}) || r.Delete || r.hasWork() {
		t.Errorf("the claiming user: %+v (%v); want dr-only, untouched", r, ok)
	}
	for _, r := range d.list {
		if r.Key == "victim@example.jp" && r.hasWork() {
			t.Errorf("victim: %+v; want in sync with its verified DR copy", r)
		}
	}
}

// TestDifferMatchesExactCase: in a case-sensitive pair two users differing only in case are two
// users; a create names the new copy as the primary holds it.
func TestDifferMatchesExactCase(t *testing.T) {
	d := newDiffer(testInfo(), poolpair.Matcher{Attribute: "email"}, true, false, nil)
	d.addPrimary(drUser("p1", "CONFIRMED", "sub", "s1", "email", "Alice@Example.com", "email_verified", "TRUE"), nil)
	d.addPrimary(drUser("p2", "CONFIRMED", "sub", "s2", "email", "alice@example.com", "email_verified", "true"), nil)
	d.addDR(drUser("d2", "CONFIRMED", "email", "alice@example.com", "email_verified", "true", PrimarySubAttribute, "s2"), nil)
	d.matchBySub()
	d.matchByKey()
	d.compare(time.Now(), false)
	var creates []string
	for _, r := range d.repairs() {
		if r.Create != nil {
			creates = append(creates, r.CreateAs)
		} else if r.hasWork() {
			t.Errorf("unexpected repair %+v", r)
		}
	}
	if !slices.Equal(creates, []string{"Alice@Example.com"}) {
		t.Errorf("creates %v; want Alice@Example.com, in its own case", creates)
	}
}
