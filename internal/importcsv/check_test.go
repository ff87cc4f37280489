package importcsv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// readReport decodes a JSON-lines reject report.
func readReport(t *testing.T, b []byte) []Reject {
	t.Helper()
	var out []Reject
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var rj Reject
		if err := json.Unmarshal(sc.Bytes(), &rj); err != nil {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		out = append(out, rj)
	}
	return out
}

func validateUsers(t *testing.T, tg *Target, users ...snapshot.User) ([]Reject, Summary) {
	t.Helper()
	var rep bytes.Buffer
	s, err := ValidateUsers(tg, seqOf(users...), NewWriter(tg, (&memParts{}).open), NewReportWriter(&rep))
	if err != nil {
		t.Fatal(err)
	}
	return readReport(t, rep.Bytes()), s
}

func validateCSV(t *testing.T, tg *Target, file string) ([]Reject, Summary) {
	t.Helper()
	var rep bytes.Buffer
	s, err := ValidateCSV(tg, strings.NewReader(file), NewWriter(tg, (&memParts{}).open), NewReportWriter(&rep))
	if err != nil {
		t.Fatal(err)
	}
	return readReport(t, rep.Bytes()), s
}

// TestSameRejectsFromUsersAndFile is the package's promise: a user and the hand-edited CSV
// line saying the same thing are rejected for the same reasons, with the same username.
func TestSameRejectsFromUsersAndFile(t *testing.T) {
	tokyo := mustTarget(t, tokyoHeader, tokyoPool())
	classic := mustTarget(t, classicHeader, classicPool())
	const uuid1, uuid2 = "5f0c1d2e-0000-4000-8000-000000000001", "5f0c1d2e-0000-4000-8000-000000000002"
	long := strings.Repeat("x", 1900)
	tokyoLine := func(kv ...string) string {
		return handLine(tokyoHeader, append([]string{"cognito:mfa_enabled", "TRUE", "custom:tenant", "acme"}, kv...)...)
	}
	// classicLine is classicUser(name) written by hand, then changed by kv.
	classicLine := func(name string, kv ...string) string {
		return handLine(classicHeader, append([]string{"cognito:username", name, "cognito:mfa_enabled", "false",
			"name", "Name " + name, "email", name + "@example.com", "email_verified", "true"}, kv...)...)
	}
	tests := []struct {
		name  string
		t     *Target
		users []snapshot.User
		lines []string
		want  []Reject // Line and Detail not compared with want (they are compared between paths)
	}{{
		name:  "accepted, email username",
		t:     tokyo,
		users: []snapshot.User{tokyoUser(uuid1, "taro@example.jp")},
		lines: []string{tokyoLine("cognito:username", "taro@example.jp", "email", "taro@example.jp", "email_verified", "TRUE")},
	}, {
		name:  "accepted, comma in a value",
		t:     classic,
		users: []snapshot.User{classicUser("alice", "address", "1-1 Chiyoda, Chiyoda-ku, Tokyo")},
		lines: []string{classicLine("alice", "address", "1-1 Chiyoda, Chiyoda-ku, Tokyo")},
	}, {
		name:  "missing_username: email username pool, user without email",
		t:     tokyo,
		users: []snapshot.User{tokyoUser(uuid1, "")},
		lines: []string{tokyoLine("email_verified", "true")},
		want: []Reject{{Reason: ReasonMissingUsername,
			Also: []string{ReasonEmailVerifiedNoEmail, ReasonMissingRequired}}},
	}, {
		name:  "username_has_whitespace",
		t:     classic,
		users: []snapshot.User{classicUser("bob smith", "email", "bob@example.com")},
		lines: []string{classicLine("bob smith", "email", "bob@example.com")},
		want:  []Reject{{Username: "bob smith", Reason: ReasonUsernameWhitespace}},
	}, {
		name:  "duplicate_username: same email, other case, in a case-insensitive pool",
		t:     tokyo,
		users: []snapshot.User{tokyoUser(uuid1, "Same@example.jp"), tokyoUser(uuid2, "same@example.jp")},
		lines: []string{
			tokyoLine("cognito:username", "Same@example.jp", "email", "Same@example.jp", "email_verified", "true"),
			tokyoLine("cognito:username", "same@example.jp", "email", "same@example.jp", "email_verified", "true"),
		},
		want: []Reject{{Username: "same@example.jp", Reason: ReasonDuplicateUsername}},
	}, {
		name:  "no_verified_contact: copied without email_verified (the blog post's failure)",
		t:     tokyo,
		users: []snapshot.User{tokyoUser(uuid1, "hanako@example.jp", "email_verified", "")},
		lines: []string{tokyoLine("cognito:username", "hanako@example.jp", "email", "hanako@example.jp")},
		want:  []Reject{{Username: "hanako@example.jp", Reason: ReasonNoVerifiedContact}},
	}, {
		name: "no_verified_contact: phone verified, but the pool auto-verifies only email",
		t:    tokyo,
		users: []snapshot.User{tokyoUser(uuid1, "jiro@example.jp", "email_verified", "false",
			"phone_number", "+819012345678", "phone_number_verified", "true")},
		lines: []string{tokyoLine("cognito:username", "jiro@example.jp", "email", "jiro@example.jp", "email_verified", "FALSE",
			"phone_number", "+819012345678", "phone_number_verified", "TRUE")},
		want: []Reject{{Username: "jiro@example.jp", Reason: ReasonNoVerifiedContact}},
	}, {
		name:  "email_verified_without_email",
		t:     classic,
		users: []snapshot.User{classicUser("carol", "email", "")},
		lines: []string{classicLine("carol", "email", "")},
		want:  []Reject{{Username: "carol", Reason: ReasonEmailVerifiedNoEmail}},
	}, {
		name:  "phone_verified_without_phone",
		t:     classic,
		users: []snapshot.User{classicUser("dave", "phone_number_verified", "true")},
		lines: []string{classicLine("dave", "phone_number_verified", "true")},
		want:  []Reject{{Username: "dave", Reason: ReasonPhoneVerifiedNoPhone}},
	}, {
		name:  "phone_not_e164",
		t:     classic,
		users: []snapshot.User{classicUser("erin", "phone_number", "090-1234-5678")},
		lines: []string{classicLine("erin", "phone_number", "090-1234-5678")},
		want:  []Reject{{Username: "erin", Reason: ReasonPhoneNotE164}},
	}, {
		name:  "bad_email",
		t:     classic,
		users: []snapshot.User{classicUser("erik", "email", "erik.example.com")},
		lines: []string{classicLine("erik", "email", "erik.example.com")},
		want:  []Reject{{Username: "erik", Reason: ReasonBadEmail}},
	}, {
		name:  "missing_required_attribute",
		t:     classic,
		users: []snapshot.User{classicUser("frank", "name", "")},
		lines: []string{classicLine("frank", "name", "")},
		want:  []Reject{{Username: "frank", Reason: ReasonMissingRequired}},
	}, {
		name:  "invalid_boolean in a verified flag",
		t:     classic,
		users: []snapshot.User{classicUser("grace", "email_verified", "yes")},
		lines: []string{classicLine("grace", "email_verified", "yes")},
		want:  []Reject{{Username: "grace", Reason: ReasonInvalidBoolean, Also: []string{ReasonNoVerifiedContact}}},
	}, {
		name:  "bad_birthdate: year only",
		t:     classic,
		users: []snapshot.User{classicUser("heidi", "birthdate", "1985")},
		lines: []string{classicLine("heidi", "birthdate", "1985")},
		want:  []Reject{{Username: "heidi", Reason: ReasonBadBirthdate}},
	}, {
		name:  "bad_birthdate: no such day",
		t:     classic,
		users: []snapshot.User{classicUser("ivan", "birthdate", "1985-02-30")},
		lines: []string{classicLine("ivan", "birthdate", "02/30/1985")},
		want:  []Reject{{Username: "ivan", Reason: ReasonBadBirthdate}},
	}, {
		name:  "bad_updated_at",
		t:     classic,
		users: []snapshot.User{classicUser("judy", "updated_at", "last tuesday")},
		lines: []string{classicLine("judy", "updated_at", "last tuesday")},
		want:  []Reject{{Username: "judy", Reason: ReasonBadUpdatedAt}},
	}, {
		name: "row_too_long",
		t:    classic,
		users: []snapshot.User{classicUser("ken", "given_name", long, "family_name", long, "middle_name", long, "nickname", long,
			"preferred_username", long, "profile", long, "picture", long, "website", long, "address", long)},
		lines: []string{classicLine("ken", "given_name", long, "family_name", long, "middle_name", long, "nickname", long,
			"preferred_username", long, "profile", long, "picture", long, "website", long, "address", long)},
		want: []Reject{{Username: "ken", Reason: ReasonRowTooLong}},
	}, {
		name:  "unrepresentable_value: quotation mark",
		t:     classic,
		users: []snapshot.User{classicUser("liz", "nickname", `The "Boss"`)},
		lines: []string{classicLine("liz", "nickname", `The "Boss"`)},
		want:  []Reject{{Username: "liz", Reason: ReasonUnrepresentable}},
	}, {
		name:  "unrepresentable_value: backslash",
		t:     classic,
		users: []snapshot.User{classicUser("mal", "profile", `C:\Users\mal`)},
		lines: []string{classicLine("mal", "profile", `C:\Users\mal`)},
		want:  []Reject{{Username: "mal", Reason: ReasonUnrepresentable}},
	}, {
		name:  "invalid_utf8",
		t:     classic,
		users: []snapshot.User{classicUser("ned", "nickname", "n\xffd")},
		lines: []string{classicLine("ned", "nickname", "n\xffd")},
		want:  []Reject{{Username: "ned", Reason: ReasonInvalidUTF8}},
	}, {
		name:  "attribute_too_long: custom attribute over its schema maximum",
		t:     tokyo,
		users: []snapshot.User{tokyoUser(uuid1, "olga@example.jp", "custom:tenant", strings.Repeat("t", 65))},
		lines: []string{tokyoLine("cognito:username", "olga@example.jp", "email", "olga@example.jp", "email_verified", "true",
			"custom:tenant", strings.Repeat("t", 65))},
		want: []Reject{{Username: "olga@example.jp", Reason: ReasonAttributeTooLong}},
	}, {
		name:  "attribute_too_long: standard attribute over 2048",
		t:     classic,
		users: []snapshot.User{classicUser("otto", "given_name", strings.Repeat("g", 2049))},
		lines: []string{classicLine("otto", "given_name", strings.Repeat("g", 2049))},
		want:  []Reject{{Username: "otto", Reason: ReasonAttributeTooLong}},
	}, {
		name:  "attribute_too_short",
		t:     classic,
		users: []snapshot.User{classicUser("pam", "custom:code", "ab")},
		lines: []string{classicLine("pam", "custom:code", "ab")},
		want:  []Reject{{Username: "pam", Reason: ReasonAttributeTooShort}},
	}, {
		name:  "bad_number",
		t:     classic,
		users: []snapshot.User{classicUser("quin", "custom:seats", "many")},
		lines: []string{classicLine("quin", "custom:seats", "many")},
		want:  []Reject{{Username: "quin", Reason: ReasonBadNumber}},
	}, {
		name:  "number_out_of_range",
		t:     classic,
		users: []snapshot.User{classicUser("rob", "custom:seats", "1001")},
		lines: []string{classicLine("rob", "custom:seats", "1001")},
		want:  []Reject{{Username: "rob", Reason: ReasonNumberOutOfRange}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fromUsers, su := validateUsers(t, tt.t, tt.users...)
			fromFile, sf := validateCSV(t, tt.t, handFile(tt.t.Header, tt.lines...))
			if diff := cmp.Diff(tt.want, fromUsers, cmpopts.IgnoreFields(Reject{}, "Line", "Detail")); diff != "" {
				t.Errorf("rejects from users (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fromUsers, fromFile, cmpopts.IgnoreFields(Reject{}, "Line")); diff != "" {
				t.Errorf("rejects from file differ from users' (-users +file):\n%s", diff)
			}
			for _, rj := range fromFile {
				if rj.Line < 2 {
					t.Errorf("reject from file has line %d, want a data line (>= 2)", rj.Line)
				}
			}
			su.Parts, sf.Parts, su.Dropped = nil, nil, nil
			if diff := cmp.Diff(su, sf); diff != "" {
				t.Errorf("summaries differ (-users +file):\n%s", diff)
			}
		})
	}
}

// TestFileOnlyRejects covers rows a person can write but the encoder never does: the
// encoder follows the pool's MFA rule and username attribute by construction.
func TestFileOnlyRejects(t *testing.T) {
	tokyo := mustTarget(t, tokyoHeader, tokyoPool())
	offPool := classicPool()
	offPool.MfaConfiguration = types.UserPoolMfaTypeOff
	off := mustTarget(t, classicHeader, offPool)
	classic := mustTarget(t, classicHeader, classicPool())
	ok := func(kv ...string) string {
		return handLine(tokyoHeader, append([]string{"cognito:username", "a@example.jp", "email", "a@example.jp",
			"email_verified", "true", "cognito:mfa_enabled", "true"}, kv...)...)
	}
	tests := []struct {
		name string
		t    *Target
		line string
		want []Reject
	}{
		{"mfa_enabled_mismatch: pool requires MFA", tokyo, ok("cognito:mfa_enabled", "false"),
			[]Reject{{Line: 2, Username: "a@example.jp", Reason: ReasonMFAEnabledMismatch}}},
		{"mfa_enabled_mismatch: pool has MFA off", off, handLine(classicHeader, "cognito:username", "amy", "name", "Amy",
			"email", "amy@example.com", "email_verified", "true", "cognito:mfa_enabled", "TRUE"),
			[]Reject{{Line: 2, Username: "amy", Reason: ReasonMFAEnabledMismatch}}},
		{"missing_mfa_enabled", tokyo, ok("cognito:mfa_enabled", ""),
			[]Reject{{Line: 2, Username: "a@example.jp", Reason: ReasonMissingMFAEnabled}}},
		{"invalid_boolean in cognito:mfa_enabled", tokyo, ok("cognito:mfa_enabled", "1"),
			[]Reject{{Line: 2, Username: "a@example.jp", Reason: ReasonInvalidBoolean}}},
		{"username_not_sign_in_attribute: a UUID in an email username pool", tokyo,
			ok("cognito:username", "5f0c1d2e-0000-4000-8000-000000000001"),
			[]Reject{{Line: 2, Username: "5f0c1d2e-0000-4000-8000-000000000001", Reason: ReasonUsernameNotSignInAttr}}},
		{"bad_column_count", tokyo, ok() + ",extra", []Reject{{Line: 2, Reason: ReasonBadColumnCount}}},
		{"blank line", tokyo, "", []Reject{{Line: 2, Reason: ReasonBadColumnCount}}},
		{"white space around values is trimmed, as Cognito does", classic,
			handLine(classicHeader, "cognito:username", " amy ", "name", "Amy", "email", "amy@example.com",
				"email_verified", " TRUE", "cognito:mfa_enabled", "False "), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := validateCSV(t, tt.t, handFile(tt.t.Header, tt.line))
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Reject{}, "Detail")); diff != "" {
				t.Errorf("rejects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnrepresentableNewline(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	got, _ := validateUsers(t, tg, classicUser("sue", "address", "1 Main St\nApt 2"))
	want := []Reject{{Username: "sue", Reason: ReasonUnrepresentable}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Reject{}, "Detail")); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
}

func TestRejectDetailHasNoUserData(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	secret := "+81-secret-phone"
	got, _ := validateUsers(t, tg, classicUser("tom", "phone_number", secret, "birthdate", "secret-birthday"))
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "secret") {
		t.Errorf("report carries attribute values: %s", b)
	}
}

func TestCheckAcceptsGoodRowAndReportsAllProblems(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	if ps := tg.Check(tg.Row(classicUser("uma"))); ps != nil {
		t.Errorf("Check(good row) = %v, want nil", ps)
	}
	r := tg.Row(classicUser("bad user", "name", "", "phone_number", "12345", "custom:seats", "-1"))
	var got []string
	for _, p := range tg.Check(r) {
		got = append(got, p.Reason)
	}
	want := []string{ReasonUsernameWhitespace, ReasonBadEmail, ReasonPhoneNotE164, ReasonMissingRequired, ReasonNumberOutOfRange}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check reasons (-want +got):\n%s", diff)
	}
}

// TestBooleansAnyCase: AWS's sample import file writes TRUE/FALSE and its prose true/false; the
// validator accepts the flags in any case and nothing else.
func TestBooleansAnyCase(t *testing.T) {
	tg := mustTarget(t, classicHeader, classicPool())
	for _, v := range []string{"TRUE", "True", "true", "tRUE"} {
		if ps := tg.Check(tg.Row(classicUser("uma", "email_verified", v))); ps != nil {
			t.Errorf("email_verified=%s: %v, want accepted", v, ps)
		}
	}
	for _, v := range []string{"yes", "1", "T"} {
		if ps := tg.Check(tg.Row(classicUser("uma", "email_verified", v))); ps == nil {
			t.Errorf("email_verified=%s accepted, want refused", v)
		}
	}
}
