package importcsv

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Reason codes of rejected rows. They are stable: reports and alarms key on them.
const (
	// The file itself.
	ReasonBadColumnCount        = "bad_column_count"        // the line's field count differs from the header's
	ReasonInvalidUTF8           = "invalid_utf8"            // the file must be UTF-8
	ReasonUnrepresentable       = "unrepresentable_value"   // newline, quote or backslash: no way to write it in Cognito's CSV
	ReasonRowTooLong            = "row_too_long"            // over 16,000 characters
	ReasonMissingUsername       = "missing_username"        // cognito:username is required
	ReasonUsernameWhitespace    = "username_has_whitespace" // "it cannot contain spaces or tabs"
	ReasonUsernameNotSignInAttr = "username_not_sign_in_attribute"
	ReasonDuplicateUsername     = "duplicate_username" // must be unique; found across all parts of an import
	ReasonMissingMFAEnabled     = "missing_mfa_enabled"
	ReasonInvalidBoolean        = "invalid_boolean"
	ReasonMFAEnabledMismatch    = "mfa_enabled_mismatch"
	ReasonEmailVerifiedNoEmail  = "email_verified_without_email"
	ReasonPhoneVerifiedNoPhone  = "phone_verified_without_phone"
	ReasonNoVerifiedContact     = "no_verified_contact"
	ReasonBadEmail              = "bad_email"
	ReasonPhoneNotE164          = "phone_not_e164"
	ReasonBadBirthdate          = "bad_birthdate"
	ReasonBadUpdatedAt          = "bad_updated_at"
	ReasonMissingRequired       = "missing_required_attribute"
	ReasonAttributeTooLong      = "attribute_too_long"
	ReasonAttributeTooShort     = "attribute_too_short"
	ReasonBadNumber             = "bad_number"
	ReasonNumberOutOfRange      = "number_out_of_range"
)

// MaxRowChars is Cognito's limit on one row of an import file, in characters.
const MaxRowChars = 16000

// Problem is one reason a row cannot be imported. Detail names columns but never values:
// reports must not carry user data beyond the username.
type Problem struct {
	Reason string `json:"reason"`
	Column string `json:"column,omitempty"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return p.Reason + ": " + p.Detail }

// Check returns every problem that would make Cognito fail or mangle the row, in a fixed
// order (the first is the row's main reason), or nil. It judges values as Cognito reads them,
// with leading and trailing white space trimmed. Duplicate usernames need the whole import
// and are found by Writer.
func (t *Target) Check(r Row) []Problem {
	var ps []Problem
	add := func(reason, col, format string, args ...any) {
		ps = append(ps, Problem{Reason: reason, Column: col, Detail: fmt.Sprintf(format, args...)})
	}
	if len(r.Values) != len(t.Header) {
		add(ReasonBadColumnCount, "", "row has %d values, header has %d columns", len(r.Values), len(t.Header))
		return ps
	}

	// Encoding: what the file can carry at all.
	chars := len(r.Values) - 1 // separators
	for i, v := range r.Values {
		col := t.Header[i]
		if !utf8.ValidString(v) {
			add(ReasonInvalidUTF8, col, "%s is not valid UTF-8", col)
			continue
		}
		// Rows are lines, so no newline; the guide says values must not be in quotation
		// marks and escapes only commas, so a quote or a backslash would be read ambiguously.
		if strings.ContainsAny(v, "\r\n\"\\") {
			add(ReasonUnrepresentable, col, "%s holds a newline, quotation mark or backslash, which Cognito's CSV cannot carry", col)
		}
		chars += utf8.RuneCountInString(v) + strings.Count(v, ",") // each comma is written \,
	}
	if chars > MaxRowChars {
		add(ReasonRowTooLong, "", "row is %d characters; Cognito allows %d", chars, MaxRowChars)
	}

	// cognito:username: required, unique, any Unicode string without spaces or tabs.
	user := t.field(r, t.iUser)
	switch {
	case user == "" && len(t.UsernameAttributes) > 0:
		add(ReasonMissingUsername, ColUsername, "cognito:username is empty; this pool signs users in with %s, so it must hold that value", strings.Join(t.UsernameAttributes, " or "))
	case user == "":
		add(ReasonMissingUsername, ColUsername, "cognito:username is empty")
	case strings.IndexFunc(user, unicode.IsSpace) >= 0:
		add(ReasonUsernameWhitespace, ColUsername, "cognito:username contains white space")
	case len(t.UsernameAttributes) > 0 && !t.isSignInValue(r, user):
		add(ReasonUsernameNotSignInAttr, ColUsername, "this pool signs users in with %s: cognito:username must equal the row's %s",
			strings.Join(t.UsernameAttributes, " or "), strings.Join(t.UsernameAttributes, " or "))
	}

	// cognito:mfa_enabled: required; must be true when MFA is ON, false when OFF.
	switch mfa, ok := parseBool(t.field(r, t.iMFA)); {
	case t.field(r, t.iMFA) == "":
		add(ReasonMissingMFAEnabled, ColMFAEnabled, "cognito:mfa_enabled is empty; it must be true or false")
	case !ok:
		add(ReasonInvalidBoolean, ColMFAEnabled, "cognito:mfa_enabled is not true or false")
	case t.MFA == types.UserPoolMfaTypeOn && !mfa:
		add(ReasonMFAEnabledMismatch, ColMFAEnabled, "the pool requires MFA, so cognito:mfa_enabled must be true")
	case t.MFA == types.UserPoolMfaTypeOff && mfa:
		add(ReasonMFAEnabledMismatch, ColMFAEnabled, "the pool has MFA off, so cognito:mfa_enabled must be false")
	}

	// Verified contact: at least one of the pool's auto-verified attributes verified, with
	// the attribute present. Users need it to reset their password after the import.
	emailV, okE := t.verified(r, t.iEmailV)
	phoneV, okP := t.verified(r, t.iPhoneV)
	if !okE {
		add(ReasonInvalidBoolean, ColEmailVerified, "email_verified is not true or false")
	}
	if !okP {
		add(ReasonInvalidBoolean, ColPhoneNumberVerified, "phone_number_verified is not true or false")
	}
	email, phone := t.field(r, t.iEmail), t.field(r, t.iPhone)
	if emailV && email == "" {
		add(ReasonEmailVerifiedNoEmail, ColEmail, "email_verified is true but email is empty")
	}
	if phoneV && phone == "" {
		add(ReasonPhoneVerifiedNoPhone, ColPhoneNumber, "phone_number_verified is true but phone_number is empty")
	}
	if !(t.autoVerifies(ColEmail) && emailV) && !(t.autoVerifies(ColPhoneNumber) && phoneV) {
		add(ReasonNoVerifiedContact, "", "none of the pool's auto-verified attributes (%s) is verified", strings.Join(t.AutoVerified, ", "))
	}

	// Formats Cognito enforces on standard attributes.
	if email != "" && !validEmail(email) {
		add(ReasonBadEmail, ColEmail, "email is not an email address")
	}
	if phone != "" && !validE164(phone) {
		add(ReasonPhoneNotE164, ColPhoneNumber, "phone_number is not E.164 (+ and up to 15 digits)")
	}
	if b := t.field(r, t.iBirth); b != "" {
		if _, err := time.Parse("01/02/2006", b); err != nil || len(b) != len("01/02/2006") {
			add(ReasonBadBirthdate, ColBirthdate, "birthdate is not a date written mm/dd/yyyy")
		}
	}
	if u := t.field(r, t.iUpdated); u != "" {
		if _, err := strconv.ParseInt(u, 10, 64); err != nil || !isDigits(u) {
			add(ReasonBadUpdatedAt, ColUpdatedAt, "updated_at is not epoch seconds")
		}
	}

	// The pool's schema.
	for _, i := range t.iRequired {
		if t.field(r, i) == "" {
			add(ReasonMissingRequired, t.Header[i], "%s is required by the pool and empty", t.Header[i])
		}
	}
	for i, a := range t.iAttr {
		col := t.Header[i]
		v := t.field(r, i)
		if a == nil {
			if isAttributeColumn(col) && utf8.RuneCountInString(v) > defaultMaxLength {
				add(ReasonAttributeTooLong, col, "%s is longer than %d characters", col, defaultMaxLength)
			}
			continue
		}
		t.checkAttribute(col, v, a, add)
	}
	return ps
}

func (t *Target) checkAttribute(col, v string, a *Attribute, add func(reason, col, format string, args ...any)) {
	if v == "" {
		return // absent; Required is checked apart.
	}
	if n := utf8.RuneCountInString(v); n > a.MaxLength {
		add(ReasonAttributeTooLong, col, "%s is longer than %d characters", col, a.MaxLength)
	} else if a.Type == types.AttributeDataTypeString && n < a.MinLength {
		add(ReasonAttributeTooShort, col, "%s is shorter than %d characters", col, a.MinLength)
	}
	switch a.Type {
	case types.AttributeDataTypeNumber:
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
			add(ReasonBadNumber, col, "%s is not a number", col)
		case a.Min != nil && f < *a.Min, a.Max != nil && f > *a.Max:
			add(ReasonNumberOutOfRange, col, "%s is outside the pool's range%s", col, rangeText(a))
		}
	case types.AttributeDataTypeBoolean:
		if _, ok := parseBool(v); !ok {
			add(ReasonInvalidBoolean, col, "%s is not true or false", col)
		}
	}
}

func rangeText(a *Attribute) string {
	lo, hi := "", ""
	if a.Min != nil {
		lo = strconv.FormatFloat(*a.Min, 'f', -1, 64)
	}
	if a.Max != nil {
		hi = strconv.FormatFloat(*a.Max, 'f', -1, 64)
	}
	return " [" + lo + ", " + hi + "]"
}

// isAttributeColumn reports whether col is a user attribute (not cognito:username or
// cognito:mfa_enabled), to which Cognito's 2048-character limit applies.
func isAttributeColumn(col string) bool {
	return !strings.HasPrefix(col, "cognito:")
}

// verified reads a *_verified flag: empty is false. ok is false for a value that is neither.
func (t *Target) verified(r Row, i int) (v, ok bool) {
	s := t.field(r, i)
	if s == "" {
		return false, true
	}
	return parseBool(s)
}

// isSignInValue reports whether user is the row's value of one of the pool's username attributes.
func (t *Target) isSignInValue(r Row, user string) bool {
	if t.usernameIs(ColEmail) && strings.EqualFold(user, t.field(r, t.iEmail)) {
		return true
	}
	return t.usernameIs(ColPhoneNumber) && user == t.field(r, t.iPhone)
}

// parseBool accepts true and false in any case: the guide's sample file writes TRUE and FALSE.
func parseBool(s string) (v, ok bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// validEmail is deliberately loose (one @, something on each side, no white space): Cognito
// accepted the address once, and a stricter rule than Cognito's would drop real users.
func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && strings.IndexFunc(s, unicode.IsSpace) < 0
}

// validE164 reports whether s is +, a non-zero digit, then up to 14 more digits. Cognito
// requires phone_number in E.164 form ("+12065551212").
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return isDigits(s[1:])
}
