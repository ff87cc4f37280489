package importcsv

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// Row is one user in an import file: its values by Target.Header position.
type Row struct {
	// Line is the row's line number in the file it was read from (the header is line 1, as in
	// the import job's CloudWatch log); 0 when the row was encoded from a snapshot user.
	Line   int
	Values []string
}

// Row encodes a snapshot user into a row of t's header. Attributes the header lacks are
// dropped (see Dropped); sub is never written, because Cognito assigns a new one on import.
// Row does not judge the user: Check does, on the row, so that users and files share one rule set.
func (t *Target) Row(u snapshot.User) Row {
	vals := make([]string, len(t.Header))
	for i, col := range t.Header {
		switch col {
		case ColUsername:
			vals[i] = t.encodeUsername(u)
		case ColMFAEnabled:
			vals[i] = strconv.FormatBool(t.encodeMFA(u))
		case ColBirthdate:
			vals[i] = encodeBirthdate(u.Attributes[col])
		case ColUpdatedAt:
			vals[i] = encodeUpdatedAt(u.Attributes[col])
		case "sub":
			// Never carried over: a restored user gets a new sub.
		default:
			vals[i] = u.Attributes[col]
		}
	}
	return Row{Values: vals}
}

// encodeUsername picks cognito:username. In a pool whose users sign in with email or phone
// number (UsernameAttributes), the snapshot's username is the UUID Cognito generated, which
// such a pool rejects as a username; as with AdminCreateUser, the import names the user by the
// sign-in attribute, and Cognito generates a new UUID username.
func (t *Target) encodeUsername(u snapshot.User) string {
	if len(t.UsernameAttributes) == 0 {
		return u.Username
	}
	for _, a := range []string{ColEmail, ColPhoneNumber} {
		if t.usernameIs(a) && u.Attributes[a] != "" {
			return u.Attributes[a]
		}
	}
	return ""
}

// encodeMFA follows the pool's rule for cognito:mfa_enabled: true for every user when MFA is
// ON, false when OFF; when OPTIONAL, true for users who had a factor enabled.
func (t *Target) encodeMFA(u snapshot.User) bool {
	switch t.MFA {
	case types.UserPoolMfaTypeOn:
		return true
	case types.UserPoolMfaTypeOptional:
		return u.MFA != nil && len(u.MFA.Enabled) > 0
	default:
		return false
	}
}

// encodeBirthdate turns Cognito's (OpenID) YYYY-MM-DD into the import's mm/dd/yyyy; any
// other value is passed on for Check to judge.
func encodeBirthdate(v string) string {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d.Format("01/02/2006")
	}
	return v
}

// encodeUpdatedAt writes updated_at as epoch seconds, the import's format. Cognito itself
// returns epoch seconds; an RFC 3339 time (from another source) is converted.
func encodeUpdatedAt(v string) string {
	if ts, err := time.Parse(time.RFC3339, v); err == nil {
		return strconv.FormatInt(ts.Unix(), 10)
	}
	return v
}

// Dropped lists, sorted, the attributes of u that an import into t cannot carry because
// the header has no column for them (sub excepted: it is never carried). They are not a
// reason to reject the user.
func (t *Target) Dropped(u snapshot.User) []string {
	var out []string
	for name := range u.Attributes {
		if _, ok := t.index[name]; !ok && name != "sub" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
