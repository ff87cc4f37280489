package cognito

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Synthetic describes a pool's users as a function of their index, so a pool of millions holds
// an index of tens of bytes per user instead of the users (SeedSynthetic): user i is
// Synthetic.User(i) every time it is asked for. Users an API call changes, deletes or creates
// are kept as any other user; the rest are generated again on each read.
//
// A primary pool's users: username = sub (as Cognito generates it where the pool signs in by
// email or phone), email user0000042@example.jp, given_name, family_name, custom:tenant (when the
// pool defines it), a verified phone number for every fifth user, CONFIRMED with a verified
// TOTP (MFA enabled and preferred) unless UnverifiedPercent makes them unverified (half of those
// UNCONFIRMED), DisabledPercent disabled, and Groups by percent.
type Synthetic struct {
	Users int    `json:"users"`
	Seed  uint64 `json:"seed"`
	// UnverifiedPercent of users have email_verified=false; half of them are UNCONFIRMED.
	UnverifiedPercent int `json:"unverifiedPercent,omitempty"`
	// DisabledPercent of users are disabled.
	DisabledPercent int `json:"disabledPercent,omitempty"`
	// Groups maps a group name to the percent of users in it; missing groups are created.
	Groups map[string]int `json:"groups,omitempty"`
	// Created is every user's creation and last-modified date; zero means the emulator's clock
	// when the pool is seeded (the spec then keeps that date, so a saved pool comes back the same).
	Created time.Time `json:"created"`
	// Copy, when set, makes these users the DR copy of another synthetic pool (DRCopy).
	Copy *Copy `json:"copy,omitempty"`
}

// Copy describes a DR pool as replication leaves it: each primary user copied (same sign-in
// email and attributes, a sub of its own, the primary's in custom:primary_sub, no MFA), then
// changed during an outage: DriftPercent of the copies drift (half with a changed given_name,
// half disabled in the DR pool), and DROnly users signed up in the DR pool only.
type Copy struct {
	Primary      Synthetic `json:"primary"`
	DriftPercent int       `json:"driftPercent"`
	// Changed is when the drifted and DR-only users were changed or created (after failover).
	Changed time.Time `json:"changed"`
}

// DriftKind is what happened to a DR user during the outage.
type DriftKind int

// The kinds of DR users of a Copy.
const (
	// DriftNone: the DR user is the primary user's unchanged copy.
	DriftNone DriftKind = iota
	// DriftChanged: the copy's given_name changed in the DR pool.
	DriftChanged
	// DriftDisabled: the copy was disabled in the DR pool while the primary user is enabled.
	DriftDisabled
	// DriftDROnly: the user signed up in the DR pool; the primary has no such user.
	DriftDROnly
)

// DRCopy is the DR pool of primary with driftPercent of drift, its users created at created and
// changed at changed. seed makes its subs differ from the primary's.
func DRCopy(primary Synthetic, seed uint64, driftPercent int, created, changed time.Time) Synthetic {
	primary.Copy = nil
	return Synthetic{
		Users: primary.Users + DROnlyUsers(primary.Users, driftPercent), Seed: seed, Created: created,
		Groups: primary.Groups,
		Copy:   &Copy{Primary: primary, DriftPercent: driftPercent, Changed: changed},
	}
}

// DROnlyUsers is how many DR-only users a copy of n users with driftPercent drift has: half a
// drift's share.
func DROnlyUsers(n, driftPercent int) int { return n * driftPercent / 200 }

// Domain is the email domain of synthetic users.
const syntheticDomain = "@example.jp"

// SyntheticEmail is the email address of primary user i; a DR copy's user i has the same.
func SyntheticEmail(i int) string { return fmt.Sprintf("user%07d%s", i, syntheticDomain) }

// SyntheticDROnlyEmail is the email address of the j-th DR-only user of a copy.
func SyntheticDROnlyEmail(j int) string { return fmt.Sprintf("dronly%07d%s", j, syntheticDomain) }

// syntheticTenants are the values of custom:tenant.
var syntheticTenants = []string{"acme", "globex", "initech", "umbrella"}

// syntheticAttrs are the attributes synthetic users may carry: a pool must define them all.
var syntheticAttrs = []string{"email", "email_verified", "given_name", "family_name", "phone_number", "phone_number_verified"}

// mix is SplitMix64's finalizer over seed, index and a purpose, so every choice about a user is
// random-looking, reproducible and independent of the others, without generating users before it.
func mix(seed uint64, i int, purpose uint64) uint64 {
	z := seed*0x9e3779b97f4a7c15 ^ uint64(i)*0xbf58476d1ce4e5b9 ^ purpose*0x94d049bb133111eb
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// percent reports whether user i falls in pct percent of users for purpose.
func percent(seed uint64, i int, purpose uint64, pct int) bool {
	return pct > 0 && int(mix(seed, i, purpose)%100) < pct
}

// Sub is user i's sub: a UUID v4 derived from the seed and the index.
func (s Synthetic) Sub(i int) string { return subString(s.sub(i)) }

func (s Synthetic) sub(i int) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], mix(s.Seed, i, 1))
	binary.BigEndian.PutUint64(b[8:], mix(s.Seed, i, 2))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// Drift is what happened to DR user i during the outage; DriftNone for a primary pool's users.
func (s Synthetic) Drift(i int) DriftKind {
	c := s.Copy
	if c == nil {
		return DriftNone
	}
	if i >= c.Primary.Users {
		return DriftDROnly
	}
	if !percent(s.Seed, i, 10, c.DriftPercent) {
		return DriftNone
	}
	// Half are disabled, but only a user the primary has enabled can be disabled in the DR pool.
	if mix(s.Seed, i, 11)%2 == 0 && c.Primary.User(i).Enabled {
		return DriftDisabled
	}
	return DriftChanged
}

// User is user i (0 ≤ i < Users), with its sub in Attributes["sub"].
func (s Synthetic) User(i int) SeedUser {
	if c := s.Copy; c != nil {
		return s.copyUser(i)
	}
	return s.primaryUser(i, true)
}

func (s Synthetic) primaryUser(i int, mfa bool) SeedUser {
	attrs := map[string]string{
		"sub":            s.Sub(i),
		"email":          SyntheticEmail(i),
		"email_verified": "true",
		"given_name":     "Given" + strconv.Itoa(i),
		"family_name":    "Family" + strconv.Itoa(i%997),
		"custom:tenant":  syntheticTenants[i%len(syntheticTenants)],
	}
	u := SeedUser{Attributes: attrs, Enabled: true, Status: "CONFIRMED", Created: s.Created}
	if percent(s.Seed, i, 3, s.UnverifiedPercent) {
		attrs["email_verified"] = "false"
		if mix(s.Seed, i, 4)%2 == 0 {
			u.Status = "UNCONFIRMED"
		}
	}
	if percent(s.Seed, i, 5, s.DisabledPercent) {
		u.Enabled = false
	}
	if i%5 == 0 {
		attrs["phone_number"] = fmt.Sprintf("+8190%08d", i%100000000)
		attrs["phone_number_verified"] = "true"
	}
	if mfa && u.Status == "CONFIRMED" {
		u.HasSoftwareToken = true
		u.MFAEnabled = []string{"SOFTWARE_TOKEN_MFA"}
		u.MFAPreferred = "SOFTWARE_TOKEN_MFA"
	}
	u.Groups = s.groupsOf(i)
	return u
}

// groupsFor is User(i).Groups without generating the user.
func (s Synthetic) groupsFor(i int) []string {
	if c := s.Copy; c != nil {
		if i >= c.Primary.Users {
			return nil
		}
		return c.Primary.groupsOf(i)
	}
	return s.groupsOf(i)
}

// groupsOf lists user i's groups in name order.
func (s Synthetic) groupsOf(i int) []string {
	var out []string
	for k, g := range slices.Sorted(maps.Keys(s.Groups)) {
		if percent(s.Seed, i, 100+uint64(k), s.Groups[g]) {
			out = append(out, g)
		}
	}
	return out
}

func (s Synthetic) copyUser(i int) SeedUser {
	c := s.Copy
	if i >= c.Primary.Users {
		j := i - c.Primary.Users
		return SeedUser{
			Attributes: map[string]string{
				"sub": s.Sub(i), "email": SyntheticDROnlyEmail(j), "email_verified": "true",
				"given_name": "Osaka", "custom:tenant": syntheticTenants[j%len(syntheticTenants)],
			},
			Enabled: true, Status: "CONFIRMED", Created: c.Changed,
		}
	}
	// The primary's user, its groups included, as replication copies it: no TOTP (secrets
	// cannot be copied), the primary sub recorded.
	u := c.Primary.primaryUser(i, false)
	u.Attributes[primarySubAttr] = u.Attributes["sub"]
	u.Attributes["sub"] = s.Sub(i)
	u.Created = s.Created
	switch s.Drift(i) {
	case DriftChanged:
		u.Attributes["given_name"] = "Changed" + strconv.Itoa(i)
		u.Modified = c.Changed
	case DriftDisabled:
		u.Enabled = false
		u.Modified = c.Changed
	}
	return u
}

// primarySubAttr is where a DR copy records its primary user's sub (the project's contract,
// named here independently of the product code the emulator checks).
const primarySubAttr = "custom:primary_sub"

// indexOfName returns the index an email or phone number of s would belong to, if it
// has the generator's form; the caller checks the user really has it.
func (s Synthetic) indexOfName(name string) (int, bool) {
	name = strings.ToLower(name)
	switch {
	case strings.HasSuffix(name, syntheticDomain) && strings.HasPrefix(name, "user"):
		return s.checkIndex(strings.TrimSuffix(name[len("user"):], syntheticDomain), 0)
	case strings.HasSuffix(name, syntheticDomain) && strings.HasPrefix(name, "dronly") && s.Copy != nil:
		return s.checkIndex(strings.TrimSuffix(name[len("dronly"):], syntheticDomain), s.Copy.Primary.Users)
	case strings.HasPrefix(name, "+8190"):
		return s.checkIndex(name[len("+8190"):], 0)
	}
	return 0, false
}

func (s Synthetic) checkIndex(digits string, offset int) (int, bool) {
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || offset+n >= s.Users {
		return 0, false
	}
	return offset + n, true
}

// IndexOf is the index of the user whose email is email (SyntheticEmail or, in a copy,
// SyntheticDROnlyEmail), if s has such a user.
func (s Synthetic) IndexOf(email string) (int, bool) {
	if !strings.HasSuffix(email, syntheticDomain) || strings.HasPrefix(email, "+") {
		return 0, false
	}
	return s.indexOfName(email)
}
