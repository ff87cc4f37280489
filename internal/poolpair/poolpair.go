// Package poolpair owns the rules that relate a primary user pool to its DR copy, once for
// every workflow: how the users of the two pools are matched, which attributes are writable and
// compared, how verified flags compare, which DR users may be matched to an existing primary
// user at all, and the custom:primary_sub contract (its name, its token claim, and when it can
// be trusted). Failback, reconcile and readiness use it; none restates it.
package poolpair

import (
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Pool is what the pair rules need to know of one pool.
type Pool struct {
	// UsernameAttributes are the pool's sign-in attributes ("email", "phone_number"); empty
	// when users sign in by username.
	UsernameAttributes []string
	// CaseSensitive is UsernameConfiguration.CaseSensitive: whether usernames and the email and
	// preferred_username aliases match only in their exact case.
	CaseSensitive bool
	// Defined are the attributes the pool has, by the name the user APIs use ("custom:x"),
	// developer-only attributes excluded (the user APIs never show them).
	Defined map[string]bool
	// Writable are those an admin can change after a user is created.
	Writable map[string]bool
	// KeepsUntilVerified are the contact attributes ("email", "phone_number") whose original
	// value the pool keeps until a new value is verified
	// (UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate, which needs the
	// attribute auto-verified): an update that sets a new value unverified leaves the old one
	// in place and sends the user a code.
	KeepsUntilVerified map[string]bool
}

// Describe reads a DescribeUserPool answer.
func Describe(p *types.UserPoolType) Pool {
	out := Pool{CaseSensitive: CaseSensitive(p), Defined: map[string]bool{}, Writable: map[string]bool{}, KeepsUntilVerified: map[string]bool{}}
	for _, a := range p.UsernameAttributes {
		out.UsernameAttributes = append(out.UsernameAttributes, string(a))
	}
	if s := p.UserAttributeUpdateSettings; s != nil {
		for _, a := range s.AttributesRequireVerificationBeforeUpdate {
			if slices.Contains(p.AutoVerifiedAttributes, types.VerifiedAttributeType(a)) {
				out.KeepsUntilVerified[string(a)] = true
			}
		}
	}
	for _, a := range p.SchemaAttributes {
		if aws.ToBool(a.DeveloperOnlyAttribute) {
			continue
		}
		name := AttributeName(aws.ToString(a.Name))
		out.Defined[name] = true
		if Mutable(a) {
			out.Writable[name] = true
		}
	}
	return out
}

// CaseSensitive reads UsernameConfiguration.CaseSensitive. A pool created without it is case
// sensitive, email alias included: "true … This is the default value"
// (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UsernameConfigurationType.html).
func CaseSensitive(p *types.UserPoolType) bool {
	return p.UsernameConfiguration == nil || p.UsernameConfiguration.CaseSensitive == nil || *p.UsernameConfiguration.CaseSensitive
}

// Mutable is the one reading of SchemaAttributeType.Mutable: an attribute is mutable unless the
// pool says false. CreateUserPool makes an attribute whose Mutable is omitted mutable (the
// member defaults to true when creating,
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SchemaAttributeType.html),
// and DescribeUserPool states it for every attribute, so a nil seen here means the default.
func Mutable(a types.SchemaAttributeType) bool { return a.Mutable == nil || *a.Mutable }

// AttributeName is the name the user APIs give a schema attribute: standard attributes by their
// own name, the others with the "custom:" prefix DescribeUserPool may leave out.
func AttributeName(schemaName string) string {
	if standard[schemaName] || strings.HasPrefix(schemaName, "custom:") || strings.HasPrefix(schemaName, "dev:") {
		return schemaName
	}
	return "custom:" + schemaName
}

var standard = map[string]bool{
	"name": true, "given_name": true, "family_name": true, "middle_name": true, "nickname": true,
	"preferred_username": true, "profile": true, "picture": true, "website": true, "email": true,
	"email_verified": true, "gender": true, "birthdate": true, "zoneinfo": true, "locale": true,
	"phone_number": true, "phone_number_verified": true, "address": true, "updated_at": true,
	"sub": true, "identities": true,
}

// Copied reports whether an attribute of one pool's user can be carried to the other pool's:
// Cognito assigns sub, identities and the cognito: and dev: pseudo-attributes itself, and the
// primary sub is the DR pool's own record, never copied as an ordinary attribute.
func Copied(name string) bool {
	return name != "sub" && name != "identities" && name != PrimarySubAttribute &&
		!strings.HasPrefix(name, "cognito:") && !strings.HasPrefix(name, "dev:")
}

// Verified is the one reading of a verified flag: Cognito answers "true"/"false", and import
// CSVs (AWS's own sample file included) write "TRUE"/"FALSE".
func Verified(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

// Contacts maps each contact attribute to its verified flag.
var Contacts = map[string]string{"email": "email_verified", "phone_number": "phone_number_verified"}

// NormalizeVerified rewrites attrs so that two pools' answers for the same state compare equal:
// a verified flag becomes "true" or "false" (a missing flag of a present address is "false"),
// and the flag of an absent address is dropped. It returns attrs.
func NormalizeVerified(attrs map[string]string) map[string]string {
	for addr, flag := range Contacts {
		if attrs[addr] == "" {
			delete(attrs, flag)
			continue
		}
		if Verified(attrs[flag]) {
			attrs[flag] = "true"
		} else {
			attrs[flag] = "false"
		}
	}
	return attrs
}
