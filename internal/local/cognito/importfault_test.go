package cognito

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestImportBusyErrorKnob: the exception for "another job is active" is undocumented; by default
// the emulator answers PreconditionNotMetException, and tests can make it any other code.
func TestImportBusyErrorKnob(t *testing.T) {
	env := newImportEnv(t, Options{ImportStartDelay: time.Hour})
	first, second := env.createJob(t, "first"), env.createJob(t, "second")
	env.upload(t, first, csvFile(env.header, userRow("a@example.com")))
	env.start(t, aws.ToString(first.JobId))
	for _, code := range []string{"", "LimitExceededException", "InvalidParameterException"} {
		env.e.SetImportBusyError(code)
		_, err := env.cog.StartUserImportJob(t.Context(), &cip.StartUserImportJobInput{UserPoolId: &env.poolID, JobId: second.JobId})
		want := code
		if want == "" {
			want = "PreconditionNotMetException"
		}
		if got := apiCode(err); got != want {
			t.Errorf("busy error with knob %q = %s, want %s", code, got, want)
		}
		if j := env.describe(t, aws.ToString(second.JobId)); j.Status != types.UserImportJobStatusTypeCreated {
			t.Errorf("refused job is %s, want Created", j.Status)
		}
	}
	if _, err := env.cog.StopUserImportJob(t.Context(), &cip.StopUserImportJobInput{UserPoolId: &env.poolID, JobId: first.JobId}); err != nil {
		t.Fatal(err)
	}
}

// TestImportJobFailsAfterImportingSome: as reported on AWS (ImportedUsers 14, FailedUsers 32,
// status Failed), a job can end Failed after importing users; those users stay, the rows after
// the limit are not processed and have no log line.
func TestImportJobFailsAfterImportingSome(t *testing.T) {
	env := newImportEnv(t, Options{})
	env.e.SetImportFailLimit(2)
	var rows []map[string]string
	for i := range 6 {
		r := userRow(fmt.Sprintf("u%d@example.com", i))
		if i == 2 || i == 3 {
			r["email_verified"] = "false" // no auto-verified attribute true: the row fails
		}
		rows = append(rows, r)
	}
	done := env.run(t, "partial", csvFile(env.header, rows...))
	if got, want := countsOf(done), (counts{Status: "Failed", Imported: 2, Fail: 2, Message: msgTooManyFailed}); got != want {
		t.Errorf("job = %+v, want %+v", got, want)
	}
	for i, want := range []bool{true, true, false, false, false, false} {
		_, err := env.cog.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String(fmt.Sprintf("u%d@example.com", i))})
		if (err == nil) != want {
			t.Errorf("user %d in the pool = %v, want %v", i, err == nil, want)
		}
	}
	lines := env.logLines(t, done)
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "[FAILED] Line Number 5") {
		t.Errorf("log lines %q: want one per processed row, the last the failed line 5", lines)
	}
}

// TestImportBooleansAnyCase: AWS's sample CSV writes TRUE/FALSE; the flags import in any case
// and read back as Cognito stores them.
func TestImportBooleansAnyCase(t *testing.T) {
	env := newImportEnv(t, Options{})
	upper := userRow("upper@example.com")
	upper["cognito:mfa_enabled"], upper["email_verified"], upper["phone_number_verified"] = "TRUE", "TRUE", "FALSE"
	mixed := userRow("mixed@example.com")
	mixed["cognito:mfa_enabled"], mixed["email_verified"] = "True", "tRuE"
	bad := userRow("bad@example.com")
	bad["email_verified"] = "yes"
	done := env.run(t, "bools", csvFile(env.header, upper, mixed, bad))
	lines := env.logLines(t, done)
	want := []string{"[SUCCEEDED] Line Number 2 - ", "[SUCCEEDED] Line Number 3 - ", "[FAILED] Line Number 4 - "}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Errorf("log lines %q: want line %d to start %q", lines, i+2, w)
		}
	}
	u, err := env.cog.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("upper@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == "email_verified" && aws.ToString(a.Value) != "true" {
			t.Errorf("email_verified = %q, want true", aws.ToString(a.Value))
		}
	}
}
