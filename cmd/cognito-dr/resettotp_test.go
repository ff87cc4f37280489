package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
)

// TestResetTOTPCommand removes a seeded user's TOTP factor through the command, as an operator
// would after a failback, and reports users that do not exist.
func TestResetTOTPCommand(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Clients.Cognito(sc.Tokyo.Region)
	mfa := func(email string) []string {
		u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(sc.TokyoID), Username: aws.String(email)})
		if err != nil {
			t.Fatal(err)
		}
		return u.UserMFASettingList
	}
	email := devstack.Email(0)
	if !slices.Contains(mfa(email), "SOFTWARE_TOKEN_MFA") {
		t.Fatalf("seeded user %s has no TOTP to reset: %v", email, mfa(email))
	}
	t.Setenv("AWS_ENDPOINT_URL", st.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	base := []string{"--pool", sc.TokyoID, "--region", sc.Tokyo.Region}
	run := func(args ...string) (string, string, error) {
		var out, errOut strings.Builder
		err := resetTOTPCommand(ctx, append(slices.Clone(base), args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}

	// A users file with a comment, a blank line, a duplicate and a user who does not exist.
	file := filepath.Join(t.TempDir(), "users.txt")
	body := "# users who lost their phone\n" + email + "\n\n" + email + "\n  nobody@example.jp  \n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	// A dry run changes nothing and says what would happen.
	out, _, err := run("--users-file", file, "--dry-run", "--output", "json")
	if exitCode(err) != exitFindings {
		t.Fatalf("dry run with a missing user: err %v, exit %d, want %d", err, exitCode(err), exitFindings)
	}
	var dry resetResult
	if err := json.Unmarshal([]byte(out), &dry); err != nil {
		t.Fatalf("--output json: %v\n%s", err, out)
	}
	if !dry.DryRun || !slices.Equal(dry.Reset, []string{email}) || !slices.Equal(dry.NotFound, []string{"nobody@example.jp"}) || len(dry.Failed) != 0 {
		t.Errorf("dry run = %+v, want %s to reset once and nobody@example.jp not found", dry, email)
	}
	if !slices.Contains(mfa(email), "SOFTWARE_TOKEN_MFA") {
		t.Fatalf("the dry run deleted %s's TOTP", email)
	}

	// The reset: each user once, the missing one named, exit 1.
	out, progress, err := run("--users-file", file)
	if exitCode(err) != exitFindings || !strings.Contains(err.Error(), "1 not found") {
		t.Errorf("reset with a missing user: err %v, exit %d", err, exitCode(err))
	}
	if !strings.Contains(out, "reset 1, not found 1, failed 0") || !strings.Contains(out, "not found: nobody@example.jp") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(progress, "2/2 users") {
		t.Errorf("progress on stderr: %q", progress)
	}
	if got := mfa(email); slices.Contains(got, "SOFTWARE_TOKEN_MFA") {
		t.Errorf("after reset-totp, %s still has %v", email, got)
	}
	if got := mfa(devstack.Email(1)); !slices.Contains(got, "SOFTWARE_TOKEN_MFA") {
		t.Errorf("a user not listed lost its TOTP: %v", got)
	}
	if _, _, err := run("--user", devstack.Email(2)); err != nil {
		t.Errorf("a reset of one existing user: %v", err)
	}

	// Usage errors stop before any call: exit 2, one message.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--user", email, "--rps", "0"}, "--rps 0"},
		{[]string{"--user", email, "--rps", "-3"}, "--rps -3"},
		{[]string{"--user", email, "--rps", "26"}, "at most"},
		{[]string{"--users-file", filepath.Join(t.TempDir(), "missing.txt")}, "missing.txt"},
	} {
		if _, _, err := run(tt.args...); exitCode(err) != exitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v (exit %d), want a usage error naming %q", tt.args, err, exitCode(err), tt.want)
		}
	}
	var out2, errOut2 strings.Builder
	err = resetTOTPCommand(ctx, []string{"--pool", sc.TokyoID, "--region", "ap-northeast-3", "--user", email}, &out2, &errOut2)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "not a pool of --region ap-northeast-3") {
		t.Errorf("wrong Region: err %v (exit %d)", err, exitCode(err))
	}
	missingPool := sc.Tokyo.Region + "_NoSuchPool"
	err = resetTOTPCommand(ctx, []string{"--pool", missingPool, "--region", sc.Tokyo.Region, "--user", email, "--user", devstack.Email(3)}, &out2, &errOut2)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "does not exist") || strings.Count(errOut2.String(), "\n") > 0 {
		t.Errorf("missing pool: err %v (exit %d), stderr %q: want one usage error before any user", err, exitCode(err), errOut2.String())
	}
}
