package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/statemachines"
	wffailover "github.com/cognito-dr/cognito-dr/workflows/failover"
)

// localStateMachines starts the local stack with its state machines and points the standard AWS
// settings at it, as `make local` and an operator's shell would.
func localStateMachines(t *testing.T, users int) (*devstack.Stack, *devstack.Scenario, *devstack.StateMachines) {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(t.Context(), users)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := st.ServeStateMachines(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sm.API.Close)
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL", st.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("S3_FORCE_PATH_STYLE", "true")
	return st, sc, sm
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	raw, _ := json.Marshal(v)
	f := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStartFollowsBackup: `start backup` finds cognito-dr-backup by name, shows each state on
// stderr as the execution enters it, and prints the execution's output on stdout.
func TestStartFollowsBackup(t *testing.T) {
	_, sc, _ := localStateMachines(t, 30)
	var stdout, stderr strings.Builder
	err := startCommand(t.Context(), []string{"backup", "--input", writeJSON(t, sc.BackupRequest()), "--region", devstack.ControlRegion,
		"--name", "rehearsal", "--poll-interval", "20ms", "--output", "json"}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	var res struct {
		ExecutionArn, Status string
		Output               struct{ ManifestKey string }
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
	}
	if res.Status != "SUCCEEDED" || !strings.HasSuffix(res.ExecutionArn, ":execution:cognito-dr-backup:rehearsal") || !strings.Contains(res.Output.ManifestKey, "rehearsal/manifest.json") {
		t.Errorf("result %+v", res)
	}
	for _, state := range []string{"ExportUsers", "WriteManifest"} {
		if !strings.Contains(stderr.String(), state) {
			t.Errorf("progress on stderr does not show %s:\n%s", state, stderr.String())
		}
	}
	// The same progress as run: each task's counts from its result.
	if !strings.Contains(stderr.String(), "users=") {
		t.Errorf("progress on stderr shows no counts:\n%s", stderr.String())
	}
}

// TestStartStopsAtApproval: a failback is followed until it waits for approval; the command then
// ends, successfully, saying so, and the execution keeps waiting for the emailed link.
func TestStartStopsAtApproval(t *testing.T) {
	st, sc, sm := localStateMachines(t, 20)
	failover := time.Now().Add(-24 * time.Hour)
	if err := st.ReplicateToOsaka(sc, failover.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SimulateOutage(t.Context(), sc, 2, 0, 0); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	err := startCommand(t.Context(), []string{"failback", "--input", writeJSON(t, sc.FailbackRequest(failover)), "--region", devstack.ControlRegion,
		"--state-machine-arn", sm.ARNs[statemachines.Failback], "--name", "fb", "--poll-interval", "20ms"}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if !strings.Contains(stdout.String(), "RUNNING (waiting for approval)") || !strings.Contains(stderr.String(), "RequestApproval") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	x, _ := sm.API.Execution(strings.Replace(sm.ARNs[statemachines.Failback], ":stateMachine:", ":execution:", 1) + ":fb")
	if x == nil || x.Status() != "RUNNING" {
		t.Errorf("the failback no longer waits: %v", x)
	}
}

// TestStartErrors: a failed execution exits 1; an unknown workflow, a missing state machine or an
// input that is not JSON exit 2 before anything starts.
func TestStartErrors(t *testing.T) {
	_, sc, _ := localStateMachines(t, 0)
	bad := sc.BackupRequest()
	bad["userPoolId"] = "ap-northeast-1_missing"
	notJSON := filepath.Join(t.TempDir(), "in.json")
	os.WriteFile(notJSON, []byte("{"), 0o600)
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"failed", []string{"backup", "--input", writeJSON(t, bad)}, exitFindings, "FAILED: PoolNotFound"},
		{"unknown workflow", []string{"drill", "--input", writeJSON(t, bad)}, exitUsage, "must be one of backup, failback, failover, reconcile, restore"},
		{"not JSON", []string{"backup", "--input", notJSON}, exitUsage, "is not JSON"},
		{"not deployed", []string{"backup", "--input", writeJSON(t, bad), "--region", "eu-west-1"}, exitUsage, "no state machine named cognito-dr-backup"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--poll-interval", "20ms")
			if !slices.Contains(args, "--region") {
				args = append(args, "--region", devstack.ControlRegion)
			}
			var stdout, stderr strings.Builder
			err := startCommand(t.Context(), args, &stdout, &stderr)
			if code := exitCode(err); code != tt.code || err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("exit %d, %v; want exit %d and %q", code, err, tt.code, tt.msg)
			}
		})
	}
}

// TestStartFollowsRestore: `start restore` finds cognito-dr-restore, follows a restore into an
// empty pool through its import and loops to the end, and prints the report's counts.
func TestStartFollowsRestore(t *testing.T) {
	st, sc, _, manifestKey, target := restoreFixture(t, 15)
	var stdout, stderr strings.Builder
	err := startCommand(t.Context(), []string{"restore", "--input", writeJSON(t, sc.RestoreRequest(manifestKey, target, sc.Tokyo.Region)),
		"--region", devstack.ControlRegion, "--name", "restore-1", "--poll-interval", "20ms", "--output", "json"}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, stderr.String())
	}
	var res struct {
		ExecutionArn, Status string
		Output               struct{ Users, Mapped int }
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
	}
	if res.Status != "SUCCEEDED" || !strings.HasSuffix(res.ExecutionArn, ":execution:cognito-dr-restore:restore-1") || res.Output.Users != 15 || res.Output.Mapped != 15 {
		t.Errorf("result %+v", res)
	}
	if n := countUsers(t, st, sc.Tokyo.Region, target); n != 15 {
		t.Errorf("the restored pool has %d users, want 15", n)
	}
	for _, want := range []string{"ResolveSnapshot", "PollImport", "CreateUsers", "done,", "WriteReport"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress on stderr does not show %q:\n%s", want, stderr.String())
		}
	}
}

// TestStartFailover: `start failover` with the console input fences Tokyo, activates Osaka and
// prints the report with the failback input; the modes are what the gates then read.
func TestStartFailover(t *testing.T) {
	st, sc, _ := localStateMachines(t, 0)
	var stdout, stderr strings.Builder
	err := startCommand(t.Context(), []string{"failover", "--input", writeJSON(t, sc.FailoverRequest()), "--region", devstack.ControlRegion,
		"--name", "failover-drill", "--poll-interval", "20ms", "--output", "json"}, &stdout, &stderr)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, stderr.String())
	}
	var res struct {
		Status string
		Output wffailover.Report
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
	}
	out := res.Output
	if res.Status != "SUCCEEDED" || out.Primary.Action != failover.Fenced || out.DR.Action != failover.Activated || out.FailbackInput.FailoverTime == "" ||
		out.FailbackInput.Bucket != sc.Bucket {
		t.Errorf("result %s: %+v", res.Status, out)
	}
	for _, state := range []string{"CheckRequest", "FencePrimary", "ActivateDr", "PauseReconcile", "Verify", "NotifyResult"} {
		if !strings.Contains(stderr.String(), state) {
			t.Errorf("progress on stderr does not show %s:\n%s", state, stderr.String())
		}
	}
	for pool, want := range map[string]poolmode.Mode{sc.TokyoID: poolmode.Fenced, sc.OsakaID: poolmode.Active} {
		region := sc.Tokyo.Region
		if pool == sc.OsakaID {
			region = sc.Osaka.Region
		}
		s, err := poolmode.Parameter{Client: st.Clients.SSM(region), Name: poolmode.ParameterName(pool)}.Get(t.Context())
		if err != nil || s.Mode != want || s.Cause != poolmode.CauseFailover {
			t.Errorf("%s mode %+v %v, want %s by the failover", pool, s, err, want)
		}
	}
}
