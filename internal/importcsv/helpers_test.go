package importcsv

import (
	"bytes"
	"io"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// standardHeader is GetCSVHeader's answer for a pool without custom attributes, in its order.
var standardHeader = []string{
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile",
	"picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", "phone_number_verified", "address", "updated_at",
}

func headerWith(custom ...string) []string {
	h := append([]string{}, standardHeader...)
	h = append(h, custom...)
	return append(h, "cognito:mfa_enabled", "cognito:username")
}

// tokyoHeader is the Tokyo pool's header: custom:tenant before the cognito: columns, as GetCSVHeader puts it.
var tokyoHeader = headerWith("custom:tenant")

func str(name string, required bool, minLen, maxLen string) types.SchemaAttributeType {
	return types.SchemaAttributeType{
		Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(required),
		Mutable: aws.Bool(name != "sub"),
		StringAttributeConstraints: &types.StringAttributeConstraintsType{
			MinLength: aws.String(minLen), MaxLength: aws.String(maxLen)},
	}
}

// tokyoPool looks like DescribeUserPool for the production pool: users sign in with their email,
// email is auto-verified and required, MFA is required, one custom attribute.
func tokyoPool() *types.UserPoolType {
	return &types.UserPoolType{
		Id:                     aws.String("ap-northeast-1_Tokyo1234"),
		Name:                   aws.String("prod-users"),
		MfaConfiguration:       types.UserPoolMfaTypeOn,
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		SchemaAttributes: []types.SchemaAttributeType{
			str("sub", true, "1", "2048"),
			str("name", false, "0", "2048"),
			str("email", true, "0", "2048"),
			{Name: aws.String("email_verified"), AttributeDataType: types.AttributeDataTypeBoolean, Required: aws.Bool(false)},
			str("phone_number", false, "0", "2048"),
			{Name: aws.String("updated_at"), AttributeDataType: types.AttributeDataTypeNumber, Required: aws.Bool(false),
				NumberAttributeConstraints: &types.NumberAttributeConstraintsType{MinValue: aws.String("0")}},
			str("identities", false, "0", "2048"),
			str("custom:tenant", false, "1", "64"),
		},
	}
}

// classicHeader is the header of a pool with usernames, both contacts auto-verified and two custom attributes.
var classicHeader = headerWith("custom:code", "custom:seats")

// classicPool signs users in with a username, auto-verifies email and phone, has optional
// MFA, requires name, and has a custom string (3..8 characters) and number (0..1000).
func classicPool() *types.UserPoolType {
	return &types.UserPoolType{
		Id:               aws.String("ap-northeast-3_Osaka5678"),
		MfaConfiguration: types.UserPoolMfaTypeOptional,
		AutoVerifiedAttributes: []types.VerifiedAttributeType{
			types.VerifiedAttributeTypeEmail, types.VerifiedAttributeTypePhoneNumber},
		SchemaAttributes: []types.SchemaAttributeType{
			str("name", true, "0", "2048"),
			str("code", false, "3", "8"), // CreateUserPool-style name without custom:
			{Name: aws.String("custom:seats"), AttributeDataType: types.AttributeDataTypeNumber,
				NumberAttributeConstraints: &types.NumberAttributeConstraintsType{MinValue: aws.String("0"), MaxValue: aws.String("1000")}},
		},
	}
}

func mustTarget(t testing.TB, header []string, pool *types.UserPoolType) *Target {
	t.Helper()
	tg, err := NewTarget(header, pool)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

var created = time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)

// tokyoUser is a user as the exporter writes it for the Tokyo pool: the username is the UUID
// Cognito generated.
func tokyoUser(uuid, email string, attrs ...string) snapshot.User {
	u := snapshot.User{
		Username: uuid,
		Attributes: map[string]string{
			"sub": uuid, "email": email, "email_verified": "true", "custom:tenant": "acme",
		},
		Enabled: true, Status: "CONFIRMED", Created: created, Modified: created,
	}
	if email == "" {
		delete(u.Attributes, "email")
	}
	setAttrs(u.Attributes, attrs)
	return u
}

// classicUser is a user of the classic pool with a verified email and a name.
func classicUser(username string, attrs ...string) snapshot.User {
	u := snapshot.User{
		Username: username,
		Attributes: map[string]string{
			"sub": "0b6f-" + username, "name": "Name " + username,
			"email": username + "@example.com", "email_verified": "true",
		},
		Enabled: true, Status: "CONFIRMED", Created: created, Modified: created,
	}
	setAttrs(u.Attributes, attrs)
	return u
}

// setAttrs sets name/value pairs; an empty value deletes the attribute.
func setAttrs(m map[string]string, kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
}

func seqOf(users ...snapshot.User) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		for _, u := range users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

// handLine writes a CSV line the way a person editing the file would: values placed by column
// name, commas escaped by hand. It does not use the package's encoder.
func handLine(header []string, kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	vals := make([]string, len(header))
	for i, c := range header {
		vals[i] = strings.ReplaceAll(m[c], ",", `\,`)
	}
	return strings.Join(vals, ",")
}

func handFile(header []string, lines ...string) string {
	return strings.Join(header, ",") + "\n" + strings.Join(lines, "\n") + "\n"
}

// memParts collects written parts in memory.
type memParts struct{ bufs []*bytes.Buffer }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (m *memParts) open(n int) (io.WriteCloser, error) {
	b := &bytes.Buffer{}
	m.bufs = append(m.bufs, b)
	return nopCloser{b}, nil
}

func (m *memParts) strings() []string {
	var out []string
	for _, b := range m.bufs {
		out = append(out, b.String())
	}
	return out
}
