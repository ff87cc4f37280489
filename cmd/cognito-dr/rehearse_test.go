package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	wffailover "github.com/cognito-dr/cognito-dr/workflows/failover"
)

// TestRunBackupRehearsal: `run backup` runs the backup in this process against the local stack:
// the snapshot's manifest is in the bucket, the execution output is JSON on stdout, and stderr
// shows each state entered and the export's counts.
func TestRunBackupRehearsal(t *testing.T) {
	st, sc, _ := localStateMachines(t, 30)
	var stdout, stderr strings.Builder
	err := rehearseCommand(t.Context(), []string{"backup", "--input", writeJSON(t, sc.BackupRequest()), "--topic-arn", sc.TopicArn, "--name", "rehearsal"}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, stderr.String())
	}
	var out struct {
		ManifestKey string
		Users       int
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		t.Fatalf("stdout is not the execution output: %v\n%s", err, stdout.String())
	}
	if out.Users != 30 || !strings.HasSuffix(out.ManifestKey, "rehearsal/manifest.json") {
		t.Errorf("output %s", stdout.String())
	}
	raw, err := st.ReadObject(t.Context(), sc.BucketRegion, sc.Bucket, out.ManifestKey)
	if err != nil {
		t.Fatalf("the manifest %s is not in the bucket: %v", out.ManifestKey, err)
	}
	if !json.Valid(raw) {
		t.Errorf("manifest is not JSON: %s", raw)
	}
	for _, want := range []string{"ExportUsers", "BuildImportCsv", "WriteManifest", "NotifySuccess", "users=30", "ExecutionSucceeded"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress on stderr does not show %q:\n%s", want, stderr.String())
		}
	}
}

// TestRunReconcileShowsTheRepairLoop: `run reconcile` repairs the empty DR pool and stderr shows
// the repair loop's progress against the plan's total.
func TestRunReconcileShowsTheRepairLoop(t *testing.T) {
	_, sc, _ := localStateMachines(t, 12)
	var stdout, stderr strings.Builder
	err := rehearseCommand(t.Context(), []string{"reconcile", "--input", writeJSON(t, sc.ReconcileRequest(false)), "--topic-arn", sc.TopicArn}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, stderr.String())
	}
	var out struct {
		Repaired, Failed int
		Before           struct{ Users int }
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		t.Fatalf("stdout is not the execution output: %v\n%s", err, stdout.String())
	}
	if n := out.Before.Users; n == 0 || out.Repaired != n || out.Failed != 0 {
		t.Errorf("output %s", stdout.String())
	}
	n := out.Before.Users
	for _, want := range []string{"PlanReconcile", "RepairDrift", fmt.Sprintf("repairs=%d", n), fmt.Sprintf("%d of %d", n, n)} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress on stderr does not show %q:\n%s", want, stderr.String())
		}
	}
}

// TestRunRefusesBadUsage: input the workflow refuses, a missing flag, and a failback approval
// page off loopback exit 2, naming what is wrong.
func TestRunRefusesBadUsage(t *testing.T) {
	_, sc, _ := localStateMachines(t, 1)
	bad := sc.BackupRequest()
	delete(bad, "userPoolId")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"invalid input", []string{"backup", "--input", writeJSON(t, bad), "--topic-arn", sc.TopicArn}, "InvalidInput"},
		{"no topic", []string{"backup", "--input", writeJSON(t, sc.BackupRequest())}, "--topic-arn"},
		{"failback without its role", []string{"failback", "--input", writeJSON(t, map[string]any{}), "--topic-arn", sc.TopicArn}, "--import-logs-role-arn"},
		{"failback page off loopback", []string{"failback", "--input", writeJSON(t, map[string]any{}), "--topic-arn", sc.TopicArn, "--import-logs-role-arn", "arn:aws:iam::000000000000:role/r", "--listen", "0.0.0.0:8080"}, "loopback"},
		{"restore without its role", []string{"restore", "--input", writeJSON(t, map[string]any{}), "--topic-arn", sc.TopicArn}, "--import-logs-role-arn"},
		{"unknown workflow", []string{"drill", "--input", writeJSON(t, map[string]any{}), "--topic-arn", sc.TopicArn}, `"drill"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := rehearseCommand(t.Context(), tc.args, &stdout, &stderr)
			if code := exitCode(err); code != exitUsage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("exit %d (%v), want %d naming %s", code, err, exitUsage, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}

// TestRunFailedExecutionExits1: an execution that fails for a reason other than its input (here
// a bucket that does not exist) exits 1 with the execution's error named, and prints no output.
func TestRunFailedExecutionExits1(t *testing.T) {
	_, sc, _ := localStateMachines(t, 1)
	in := sc.BackupRequest()
	in["bucket"] = "no-such-bucket"
	var stdout, stderr strings.Builder
	err := rehearseCommand(t.Context(), []string{"backup", "--input", writeJSON(t, in), "--topic-arn", sc.TopicArn}, &stdout, &stderr)
	if code := exitCode(err); code != exitFindings || !strings.Contains(err.Error(), "BucketNotFound") {
		t.Errorf("exit %d (%v), want %d naming BucketNotFound", code, err, exitFindings)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "ExecutionFailed BucketNotFound") {
		t.Errorf("progress on stderr does not end with the failure:\n%s", stderr.String())
	}
}

// TestRunFailoverRehearsal: `run failover` runs the failover state machine in this process: the
// primary ends fenced and the DR pool active by the failover, and stderr shows its steps.
func TestRunFailoverRehearsal(t *testing.T) {
	st, sc, _ := localStateMachines(t, 0)
	var stdout, stderr strings.Builder
	err := rehearseCommand(t.Context(), []string{"failover", "--input", writeJSON(t, sc.FailoverRequest()), "--topic-arn", sc.TopicArn}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, stderr.String())
	}
	var out wffailover.Report
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		t.Fatalf("stdout is not the execution output: %v\n%s", err, stdout.String())
	}
	if out.Primary.Action != failover.Fenced || out.DR.Action != failover.Activated || out.FailbackInput.FailoverTime == "" {
		t.Errorf("output %s", stdout.String())
	}
	for _, state := range []string{"CheckRequest", "FencePrimary", "ActivateDr", "PauseReconcile", "Verify", "ExecutionSucceeded"} {
		if !strings.Contains(stderr.String(), state) {
			t.Errorf("progress on stderr does not show %s:\n%s", state, stderr.String())
		}
	}
	for pool, region := range map[string]string{sc.TokyoID: sc.Tokyo.Region, sc.OsakaID: sc.Osaka.Region} {
		want := poolmode.Fenced
		if pool == sc.OsakaID {
			want = poolmode.Active
		}
		s, err := poolmode.Parameter{Client: st.Clients.SSM(region), Name: poolmode.ParameterName(pool)}.Get(t.Context())
		if err != nil || s.Mode != want || s.Cause != poolmode.CauseFailover {
			t.Errorf("%s mode %+v %v, want %s by the failover", pool, s, err, want)
		}
	}
}
