package cognito

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// This file is the import job's reading of a CSV file, written from AWS's import guide and on
// purpose independent of internal/importcsv: the emulator is the referee that validator is
// tested against, so the two must not share code.

const (
	rowSucceeded = iota
	rowSkipped
	rowFailed
)

// maxRowChars is AWS's limit of 16,000 characters per row.
const maxRowChars = 16000

const statusResetRequired = 3 // statusNames index of RESET_REQUIRED

// Row results. SUCCEEDED, SKIPPED and the auto-verified FAILED wording are AWS's, from "Viewing
// the user pool import results in the CloudWatch console"; the other FAILED reasons are the
// emulator's. None of them carries user data, as on AWS.
const (
	reasonSucceeded   = "The import succeeded."
	reasonExists      = "The user already exists."
	reasonNoVerified  = "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true)."
	reasonTooLong     = "The User Record is longer than 16000 characters."
	reasonColumns     = "The User Record has %d values but the header has %d columns."
	reasonNoUsername  = "The User Record has no cognito:username."
	reasonSpaceInName = "The cognito:username contains whitespace."
	reasonNoMFA       = "The User Record has no cognito:mfa_enabled."
	reasonBadMFA      = "The cognito:mfa_enabled value must be true or false."
	reasonMFAOn       = "The cognito:mfa_enabled value must be true because MFA is required in the user pool."
	reasonMFAOff      = "The cognito:mfa_enabled value must be false because MFA is off in the user pool."
	reasonNoAddress   = "%s_verified is true but %s is empty."
	reasonBirthdate   = "birthdate must be in the format mm/dd/yyyy."
	reasonInvalidUTF8 = "The User Record is not valid UTF-8."
)

var birthdatePattern = regexp.MustCompile(`^[0-9]{2}/[0-9]{2}/[0-9]{4}$`)

type importRow struct {
	line   int // 1-based, the header is line 1
	values map[string]string
	err    string // a reason the row fails before its values are looked at
}

// parseImportFile checks the header and splits the rows. A non-empty fail message fails the
// whole job, as AWS fails a job whose file it cannot parse; it becomes the CompletionMessage.
func (p *pool) parseImportFile(file []byte) (rows []importRow, fail string) {
	if len(file) >= 3 && string(file[:3]) == "\xef\xbb\xbf" {
		return nil, "The CSV file must be UTF-8 without a byte order mark."
	}
	lines := strings.Split(string(file), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	if len(lines) == 0 || lines[0] == "" {
		return nil, "The CSV file has no header."
	}
	header := splitImportLine(lines[0])
	p.mu.RLock()
	want := p.csvHeader()
	p.mu.RUnlock()
	if fail := checkImportHeader(header, want); fail != "" {
		return nil, fail
	}
	for i, l := range lines[1:] {
		if l == "" {
			continue // blank lines, the final newline among them, are not users
		}
		row := importRow{line: i + 2}
		switch vals := splitImportLine(l); {
		case !utf8.ValidString(l):
			row.err = reasonInvalidUTF8
		case utf8.RuneCountInString(l) > maxRowChars:
			row.err = reasonTooLong
		case len(vals) != len(header):
			row.err = fmt.Sprintf(reasonColumns, len(vals), len(header))
		default:
			row.values = make(map[string]string, len(header))
			for c, name := range header {
				row.values[name] = vals[c]
			}
		}
		rows = append(rows, row)
	}
	return rows, ""
}

// checkImportHeader requires exactly the columns of GetCSVHeader, in any order; it returns why
// not, or "".
func checkImportHeader(got, want []string) string {
	known := make(map[string]bool, len(want))
	for _, w := range want {
		known[w] = true
	}
	seen := make(map[string]bool, len(got))
	for _, g := range got {
		switch {
		case !known[g]:
			return fmt.Sprintf("The CSV header has the unknown column %q.", g)
		case seen[g]:
			return fmt.Sprintf("The CSV header has the column %q twice.", g)
		}
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return fmt.Sprintf("The CSV header lacks the column %q.", w)
		}
	}
	return ""
}

// splitImportLine splits a line on commas; a comma inside a value is written `\,`. Quotes have
// no meaning: AWS asks for string values without quotation marks.
func splitImportLine(line string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line) && line[i+1] == ',':
			b.WriteByte(',')
			i++
		case c == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

func logLine(outcome, line int, reason string) string {
	kind := "FAILED"
	switch outcome {
	case rowSucceeded:
		kind = "SUCCEEDED"
	case rowSkipped:
		kind = "SKIPPED"
	}
	return fmt.Sprintf("[%s] Line Number %d - %s", kind, line, reason)
}

// importRow checks one row against AWS's rules and creates its user. An existing user is
// skipped, never updated.
func (e *Emulator) importRow(p *pool, row importRow) (int, string) {
	if row.err != "" {
		return rowFailed, row.err
	}
	v := row.values
	// AWS's sample import file writes TRUE and FALSE, its prose true and false: the flags are
	// read in any case and stored as Cognito shows them, lower case.
	for _, col := range []string{"cognito:mfa_enabled", "email_verified", "phone_number_verified"} {
		if b := strings.ToLower(v[col]); b == "true" || b == "false" {
			v[col] = b
		}
	}
	name := v["cognito:username"]
	if name == "" {
		return rowFailed, reasonNoUsername
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return rowFailed, reasonSpaceInName
	}
	if len(name) > 128 {
		return rowFailed, "The cognito:username is longer than 128 characters."
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch mfa := v["cognito:mfa_enabled"]; {
	case mfa == "":
		return rowFailed, reasonNoMFA
	case mfa != "true" && mfa != "false":
		return rowFailed, reasonBadMFA
	case p.cfg.MfaConfiguration == types.UserPoolMfaTypeOn && mfa != "true":
		return rowFailed, reasonMFAOn
	case p.cfg.MfaConfiguration == types.UserPoolMfaTypeOff && mfa != "false":
		return rowFailed, reasonMFAOff
	}
	verified := false
	for _, a := range p.cfg.AutoVerifiedAttributes {
		if v[string(a)+"_verified"] != "true" {
			continue
		}
		if v[string(a)] == "" {
			return rowFailed, fmt.Sprintf(reasonNoAddress, a, a)
		}
		verified = true
	}
	if !verified {
		return rowFailed, reasonNoVerified
	}
	vals := map[string]string{}
	for _, d := range p.defs {
		val, ok := v[d.name]
		if !ok || val == "" {
			continue
		}
		if err := d.checkValue(val); err != nil {
			return rowFailed, err.Message
		}
		if d.name == "birthdate" && !birthdatePattern.MatchString(val) {
			return rowFailed, reasonBirthdate
		}
		vals[d.name] = val
	}
	sub := e.newSub()
	username := name
	switch {
	case p.usernameEmail || p.usernamePhone:
		// cognito:username holds the sign-in email or phone; the stored username is generated.
		field := ""
		switch {
		case p.usernameEmail && looksLikeEmail(name):
			field = "email"
		case p.usernamePhone && looksLikePhone(name):
			field = "phone_number"
		case p.usernameEmail && p.usernamePhone:
			return rowFailed, "Username should be either an email or a phone number."
		case p.usernameEmail:
			return rowFailed, "Username should be an email."
		default:
			return rowFailed, "Username should be a phone number."
		}
		if got, ok := vals[field]; ok && !strings.EqualFold(got, name) {
			return rowFailed, fmt.Sprintf("Username and %s attribute must be the same value.", field)
		}
		vals[field] = name
		var b [36]byte
		username = string((&user{sub: sub}).subString(&b))
	case p.aliasEmail && looksLikeEmail(name):
		return rowFailed, "Username cannot be of email format, since user pool is configured for email alias."
	case p.aliasPhone && looksLikePhone(name):
		return rowFailed, "Username cannot be of phone number format, since user pool is configured for phone number alias."
	}
	if p.lookup(name) != nil {
		return rowSkipped, reasonExists
	}
	if err := p.missingRequired(vals); err != nil {
		return rowFailed, err.(*apiError).Message
	}
	now := millis(e.now())
	u := &user{username: username, sub: sub, created: now, modified: now, status: statusResetRequired, enabled: true}
	for _, d := range p.defs {
		if val, ok := vals[d.name]; ok {
			n, val := p.intern(d.name, val)
			u.attrs = append(u.attrs, attr{n, val})
		}
	}
	if err := p.claimAliases(u, false, now); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Code == "UsernameExistsException" {
			return rowSkipped, reasonExists
		}
		return rowFailed, err.(*apiError).Message
	}
	p.insert(u)
	return rowSucceeded, reasonSucceeded
}
