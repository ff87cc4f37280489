package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// countUsers counts the users of a pool.
func countUsers(t *testing.T, st *devstack.Stack, region, pool string) int {
	t.Helper()
	n := 0
	pages := cip.NewListUsersPaginator(st.Clients.Cognito(region), &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Users)
	}
	return n
}

// restoreFixture backs up the seeded Tokyo pool and creates an empty pool configured like it.
func restoreFixture(t *testing.T, users int) (*devstack.Stack, *devstack.Scenario, *devstack.StateMachines, string, string) {
	t.Helper()
	st, sc, sm := localStateMachines(t, users)
	manifestKey, err := st.BackupTokyo(t.Context(), sc, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	spec := devstack.TokyoPool(0)
	spec.Name = "tokyo-restored"
	target, err := st.SeedPool(spec)
	if err != nil {
		t.Fatal(err)
	}
	return st, sc, sm, manifestKey, target
}

// TestRunRestoreIntoEmptyPool: `run restore` restores a backup into an empty pool in this
// process: every user of the snapshot is in the pool, the report's counts are the output on
// stdout, and stderr shows the restore's states and its loops' work.
func TestRunRestoreIntoEmptyPool(t *testing.T) {
	st, sc, _, manifestKey, target := restoreFixture(t, 25)
	var stdout, stderr strings.Builder
	err := rehearseCommand(t.Context(), []string{"restore", "--input", writeJSON(t, sc.RestoreRequest(manifestKey, target, sc.Tokyo.Region)),
		"--topic-arn", sc.TopicArn, "--import-logs-role-arn", devstack.ImportLogsRoleArn, "--name", "rehearsal", "--output", "json"}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, stderr.String())
	}
	var out restore.ReportOutput
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		t.Fatalf("stdout is not the execution output: %v\n%s", err, stdout.String())
	}
	if out.Users != 25 || out.Mapped != 25 || out.Target.UserPoolID != target {
		t.Errorf("output: %d users, %d mapped, target %s; want 25, 25, %s", out.Users, out.Mapped, out.Target.UserPoolID, target)
	}
	if n := countUsers(t, st, sc.Tokyo.Region, target); n != 25 {
		t.Errorf("the restored pool has %d users, want 25", n)
	}
	for _, want := range []string{"ResolveSnapshot", "ImportParts", "CreateUsers", "DisableUsers", "WriteReport", "done,", "ExecutionSucceeded"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress on stderr does not show %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "Waiting for approval") {
		t.Errorf("a restore into an empty pool asked for approval:\n%s", stderr.String())
	}
}

// TestRunRestoreIntoPoolWithUsersApprovedInTheBrowser: a restore into a pool that has users
// waits for the approval page this process serves, as `run failback` does: nothing is written
// before the Approve, and the deleted users are back after it.
func TestRunRestoreIntoPoolWithUsersApprovedInTheBrowser(t *testing.T) {
	st, sc, _, manifestKey, _ := restoreFixture(t, 20)
	deleted := devstack.Email(4)
	if _, err := st.Clients.Cognito(sc.Tokyo.Region).AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(sc.TokyoID), Username: aws.String(deleted)}); err != nil {
		t.Fatal(err)
	}
	in := sc.RestoreRequest(manifestKey, sc.TokyoID, sc.Tokyo.Region)
	in["approveNonEmptyTarget"] = true
	r := startRehearsal(t, "restore", "--input", writeJSON(t, in), "--topic-arn", sc.TopicArn,
		"--import-logs-role-arn", devstack.ImportLogsRoleArn, "--name", "after-delete", "--output", "json")
	link := r.awaitLink(t)
	if userExists(t, st, sc, deleted) {
		t.Fatalf("%s is back before anyone approved", deleted)
	}
	if !strings.Contains(r.errText(), "nothing changes in the target pool") {
		t.Errorf("stderr does not say what waits for the approval:\n%s", r.errText())
	}
	if status, err := devstack.Decide(t.Context(), link, "approve", "on-call"); err != nil || status != 200 {
		t.Fatalf("approve on the page: HTTP %d, %v", status, err)
	}
	err := r.result(t)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, r.errText())
	}
	if !userExists(t, st, sc, deleted) {
		t.Errorf("%s is not back after the approved restore", deleted)
	}
	if n := countUsers(t, st, sc.Tokyo.Region, sc.TokyoID); n != 20 {
		t.Errorf("Tokyo has %d users after the restore, want 20", n)
	}
	if !strings.Contains(r.errText(), "RequestApproval") {
		t.Errorf("progress on stderr does not show the approval:\n%s", r.errText())
	}
}
