package poolpair

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Matcher matches the users of a primary pool and its DR copy by one canonical key. The key is
// for matching only: an API call names a user with Name, as its own pool holds it.
type Matcher struct {
	// Attribute is the sign-in attribute users are matched by ("email" or "phone_number") when
	// the pools sign in by exactly one (usernames are then generated per pool), else "": users
	// are matched by username.
	Attribute string `json:"attribute,omitempty"`
	// Fold lowercases keys: only when both pools are case insensitive. When either pool is case
	// sensitive, Alice@Example.com and alice@example.com may be two users there, so only the
	// exact value matches.
	Fold bool `json:"fold,omitempty"`
}

// NewMatcher returns the matcher of two pools, or an error when they sign in differently (their
// users cannot be matched then).
func NewMatcher(primary, dr Pool) (Matcher, error) {
	a, b := slices.Sorted(slices.Values(primary.UsernameAttributes)), slices.Sorted(slices.Values(dr.UsernameAttributes))
	if !slices.Equal(a, b) {
		return Matcher{}, fmt.Errorf("the pools sign in differently (UsernameAttributes %v vs %v): users cannot be matched", a, b)
	}
	m := Matcher{Fold: !primary.CaseSensitive && !dr.CaseSensitive}
	if len(a) == 1 {
		m.Attribute = a[0]
	}
	return m, nil
}

// Key is the canonical key of a user: the value of the sign-in attribute (or the username),
// lowercased when the pools are case insensitive. A user without the attribute keys by its
// username, prefixed so it never equals an attribute value.
func (m Matcher) Key(u snapshot.User) string { return m.KeyOf(m.Name(u)) }

// KeyOf is the canonical key of a name as Name returns it (or as an import CSV and its results
// carry it: the same value).
func (m Matcher) KeyOf(name string) string {
	if m.Fold && !strings.HasPrefix(name, usernamePrefix) {
		return strings.ToLower(name)
	}
	return name
}

const usernamePrefix = "username:"

// Name is how the user's own pool names it, exact case: the sign-in attribute's value when
// the pools sign in by one (what AdminCreateUser and an import take as the username, and what
// the other Admin* calls accept), else the username.
func (m Matcher) Name(u snapshot.User) string {
	if m.Attribute == "" {
		return u.Username
	}
	if v := u.Attributes[m.Attribute]; v != "" {
		return v
	}
	return usernamePrefix + u.Username
}

// Ineligibility kinds: why a DR user may not be matched by its key to an existing primary user.
const (
	// UnverifiedDRUser is a DR user that is UNCONFIRMED or whose matched contact attribute is
	// not verified: anybody can sign up with someone else's address, so such a user is never
	// matched by that address to an existing primary user and never changes one.
	UnverifiedDRUser = "unverified-dr-user"
)

// Eligible reports whether a DR user may be matched by its key to an existing primary user,
// and the reason when not. An UNCONFIRMED user never may; when users are matched by a contact
// attribute (email, phone_number), the user's value of it must be verified. A match by a
// trusted custom:primary_sub does not need this: an app could not have written it.
func (m Matcher) Eligible(u snapshot.User) (bool, string) {
	if u.Status == "UNCONFIRMED" {
		return false, "the DR user is UNCONFIRMED"
	}
	if flag, ok := Contacts[m.Attribute]; ok && !Verified(u.Attributes[flag]) {
		return false, "the DR user's " + m.Attribute + " is not verified"
	}
	return true, ""
}
