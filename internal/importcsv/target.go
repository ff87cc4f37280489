package importcsv

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
)

// Columns with a meaning of their own in an import file.
const (
	ColUsername            = "cognito:username"
	ColMFAEnabled          = "cognito:mfa_enabled"
	ColEmail               = "email"
	ColEmailVerified       = "email_verified"
	ColPhoneNumber         = "phone_number"
	ColPhoneNumberVerified = "phone_number_verified"
	ColBirthdate           = "birthdate"
	ColUpdatedAt           = "updated_at"
)

// defaultMaxLength is Cognito's limit for any attribute value without a schema constraint
// ("standard and custom attribute values can be any string with a length of up to 2048 characters").
const defaultMaxLength = 2048

// Target holds the rules of the pool a CSV file will be imported into. Build it with
// NewTarget; its fields are read-only after that.
type Target struct {
	// Header is the pool's GetCSVHeader answer, in its order; files are written in this order.
	Header []string
	// AutoVerified lists the pool's auto-verified attributes ("email", "phone_number"):
	// every row must have at least one of them verified.
	AutoVerified []string
	// Required lists the header columns the pool's schema marks Required, in header order.
	Required []string
	// MFA is the pool's MfaConfiguration; cognito:mfa_enabled must be true for all rows
	// when ON and false when OFF.
	MFA types.UserPoolMfaType
	// UsernameAttributes is set when users sign in with email or phone number instead of
	// a username: cognito:username must then hold that email or phone number.
	UsernameAttributes []string
	// CaseSensitive is the pool's username case sensitivity (true when the pool does not say:
	// that is Cognito's default). Duplicate usernames are found case-insensitively otherwise.
	CaseSensitive bool
	// Attributes holds the schema rules of header columns the pool describes, by column.
	Attributes map[string]Attribute

	index map[string]int
	// The positions of columns the checks read, -1 when absent.
	iUser, iMFA, iEmail, iEmailV, iPhone, iPhoneV, iBirth, iUpdated int
	// iRequired and iAttr are Required and Attributes by position, for a check without map look-ups.
	iRequired []int
	iAttr     []*Attribute
}

// Attribute is the schema rule of one column, from DescribeUserPool's SchemaAttributes.
type Attribute struct {
	Type types.AttributeDataType
	// MinLength and MaxLength bound a String value in characters (MaxLength is 2048 when
	// the schema does not say: Cognito's limit for every attribute).
	MinLength, MaxLength int
	// Min and Max bound a Number value when the schema sets them.
	Min, Max *float64
}

// NewTarget builds the rules of a pool from its GetCSVHeader header and its DescribeUserPool
// output. It fails when the header lacks a column the import needs, or when the pool has no
// auto-verified attribute: Cognito does not start an import job into such a pool.
func NewTarget(header []string, pool *types.UserPoolType) (*Target, error) {
	if pool == nil {
		return nil, errors.New("new import target: no user pool description")
	}
	id := aws.ToString(pool.Id)
	t := &Target{
		Header:     slices.Clone(header),
		MFA:        pool.MfaConfiguration,
		Attributes: map[string]Attribute{},
		index:      make(map[string]int, len(header)),
	}
	if t.MFA == "" {
		t.MFA = types.UserPoolMfaTypeOff // DescribeUserPool's default.
	}
	for i, c := range header {
		if c == "" || strings.ContainsAny(c, ",\r\n") {
			return nil, fmt.Errorf("new import target for %s: bad header column %q", id, c)
		}
		if _, dup := t.index[c]; dup {
			return nil, fmt.Errorf("new import target for %s: header column %q appears twice", id, c)
		}
		t.index[c] = i
	}
	for _, c := range []string{ColUsername, ColMFAEnabled} {
		if _, ok := t.index[c]; !ok {
			return nil, fmt.Errorf("new import target for %s: header has no %s column", id, c)
		}
	}
	for _, a := range pool.AutoVerifiedAttributes {
		name := string(a)
		if _, ok := t.index[name+"_verified"]; !ok {
			return nil, fmt.Errorf("new import target for %s: %s is auto-verified but the header has no %s_verified column", id, name, name)
		}
		if !slices.Contains(t.AutoVerified, name) {
			t.AutoVerified = append(t.AutoVerified, name)
		}
	}
	if len(t.AutoVerified) == 0 {
		return nil, fmt.Errorf("new import target for %s: pool has no auto-verified attribute (email or phone_number); Cognito cannot import into it", id)
	}
	for _, a := range pool.UsernameAttributes {
		t.UsernameAttributes = append(t.UsernameAttributes, string(a))
	}
	t.CaseSensitive = poolpair.CaseSensitive(pool)

	required := map[string]bool{}
	for _, s := range pool.SchemaAttributes {
		col := schemaColumn(aws.ToString(s.Name), t.index)
		if col == "" {
			continue // sub, dev:… and other attributes an import cannot set.
		}
		a, err := schemaRule(s)
		if err != nil {
			return nil, fmt.Errorf("new import target for %s: attribute %s: %w", id, col, err)
		}
		t.Attributes[col] = a
		if aws.ToBool(s.Required) {
			required[col] = true
		}
	}
	for _, c := range header {
		if required[c] {
			t.Required = append(t.Required, c)
		}
	}
	t.positions()
	return t, nil
}

// schemaColumn maps a schema attribute name to its header column, or "" when the header has
// none. DescribeUserPool names custom attributes "custom:x"; CreateUserPool input names them "x".
func schemaColumn(name string, index map[string]int) string {
	if _, ok := index[name]; ok {
		return name
	}
	if _, ok := index["custom:"+name]; ok && !strings.Contains(name, ":") {
		return "custom:" + name
	}
	return ""
}

func schemaRule(s types.SchemaAttributeType) (Attribute, error) {
	a := Attribute{Type: s.AttributeDataType, MaxLength: defaultMaxLength}
	if a.Type == "" {
		a.Type = types.AttributeDataTypeString
	}
	if c := s.StringAttributeConstraints; c != nil {
		if v := aws.ToString(c.MinLength); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return a, fmt.Errorf("bad MinLength %q", v)
			}
			a.MinLength = n
		}
		if v := aws.ToString(c.MaxLength); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return a, fmt.Errorf("bad MaxLength %q", v)
			}
			a.MaxLength = min(n, defaultMaxLength)
		}
	}
	if c := s.NumberAttributeConstraints; c != nil {
		for _, b := range []struct {
			s   *string
			dst **float64
		}{{c.MinValue, &a.Min}, {c.MaxValue, &a.Max}} {
			if v := aws.ToString(b.s); v != "" {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					return a, fmt.Errorf("bad number constraint %q", v)
				}
				*b.dst = &f
			}
		}
	}
	return a, nil
}

func (t *Target) positions() {
	pos := func(c string) int {
		if i, ok := t.index[c]; ok {
			return i
		}
		return -1
	}
	t.iUser, t.iMFA = pos(ColUsername), pos(ColMFAEnabled)
	t.iEmail, t.iEmailV = pos(ColEmail), pos(ColEmailVerified)
	t.iPhone, t.iPhoneV = pos(ColPhoneNumber), pos(ColPhoneNumberVerified)
	t.iBirth, t.iUpdated = pos(ColBirthdate), pos(ColUpdatedAt)
	t.iRequired = t.iRequired[:0]
	for _, c := range t.Required {
		t.iRequired = append(t.iRequired, t.index[c])
	}
	t.iAttr = make([]*Attribute, len(t.Header))
	for c, a := range t.Attributes {
		t.iAttr[t.index[c]] = &a
	}
}

// Value returns the value of column col in r, or "" when the target has no such column.
func (t *Target) Value(r Row, col string) string {
	i, ok := t.index[col]
	if !ok || i >= len(r.Values) {
		return ""
	}
	return r.Values[i]
}

// Username returns the row's cognito:username as Cognito reads it (trimmed).
func (t *Target) Username(r Row) string {
	return t.field(r, t.iUser)
}

// usernameKey is what makes two rows the same user: cognito:username, lower-cased in a pool
// whose usernames are not case-sensitive.
func (t *Target) usernameKey(r Row) string {
	return t.keyOf(t.Username(r))
}

// keyOf is usernameKey of a row whose cognito:username is user.
func (t *Target) keyOf(user string) string {
	user = strings.TrimSpace(user)
	if t.CaseSensitive {
		return user
	}
	return strings.ToLower(user)
}

// field returns the value at position i as Cognito reads it: "Any leading or trailing white
// space in an attribute value will be trimmed."
func (t *Target) field(r Row, i int) string {
	if i < 0 || i >= len(r.Values) {
		return ""
	}
	return strings.TrimSpace(r.Values[i])
}

func (t *Target) autoVerifies(attr string) bool {
	return slices.Contains(t.AutoVerified, attr)
}

func (t *Target) usernameIs(attr string) bool {
	return slices.Contains(t.UsernameAttributes, attr)
}
