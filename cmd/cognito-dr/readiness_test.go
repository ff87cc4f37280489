package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/readiness"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// TestReadinessCommand runs the command through the standard AWS settings, as an operator would:
// all OK after a backup (exit 0), then FAIL against a DR pool without MFA (non-zero exit).
func TestReadinessCommand(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc.Tokyo.Users, sc.Tokyo.UnverifiedPercent = 50, 0
	if err := st.Cognito.SeedUsers(sc.TokyoID, sc.Tokyo.SeedUsers()); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplicateToOsaka(sc, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	exec, err := devstack.Executor(statemachines.Backup, backup.NewSteps(st.Clients, backup.Config{TopicArn: sc.TopicArn}).Functions(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(sc.BackupRequest())
	if x, err := exec.Run(ctx, "nightly-1", raw); x == nil || x.Status() != asl.StatusSucceeded {
		t.Fatalf("backup: %v %v", x, err)
	}
	// A drill passed ten days ago.
	drilled := time.Now().Add(-10 * 24 * time.Hour)
	record, _ := json.Marshal(manifest.Drill{Version: manifest.DrillVersion, Started: drilled, Finished: drilled.Add(5 * time.Minute), RTOSeconds: 300, Users: 50, Passed: true})
	if _, err := s3stream.Put(ctx, st.Clients.S3(sc.BucketRegion), sc.Bucket, manifest.DrillKey(backup.DefaultPrefix, sc.TokyoID, drilled, "drill-1"), record); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", st.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("S3_FORCE_PATH_STYLE", "true")
	args := func(dr string, extra ...string) []string {
		return append([]string{"-primary-pool", sc.TokyoID, "-primary-region", sc.Tokyo.Region, "-dr-pool", dr, "-dr-region", sc.Osaka.Region,
			"-bucket", sc.Bucket, "-bucket-region", sc.BucketRegion}, extra...)
	}

	var out bytes.Buffer
	if err := readinessCommand(ctx, args(sc.OsakaID), &out); err != nil {
		t.Fatalf("healthy: %v\n%s", err, &out)
	}
	t.Logf("healthy:\n%s", &out)
	for _, want := range []string{"CHECK", "schema", "backup-freshness  OK", "restore-drill     OK", "drill             OK", "newest drill:  s3://", "readiness: OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "FAIL") || strings.Contains(out.String(), "WARN") {
		t.Errorf("healthy output:\n%s", &out)
	}

	out.Reset()
	err = readinessCommand(ctx, args(sc.OsakaID, "-max-drill-age", "168h"), &out)
	if exitCode(err) != exitFindings || !strings.Contains(out.String(), "older than 168h") {
		t.Errorf("-max-drill-age 168h with a drill 10 days old: %v\n%s", err, &out)
	}

	in := devstack.OsakaPool().CreatePoolInput()
	in.PoolName, in.MfaConfiguration = aws.String("osaka-no-mfa"), types.UserPoolMfaTypeOff
	noMFA, err := st.Cognito.CreatePool(sc.Osaka.Region, in)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = readinessCommand(ctx, args(noMFA), &out)
	t.Logf("DR pool without MFA: %v\n%s", err, &out)
	if !strings.Contains(out.String(), "mfa               FAIL    MFA is ON in the primary but OFF in DR") {
		t.Errorf("table lacks the mfa failure:\n%s", &out)
	}
	out.Reset()
	err = readinessCommand(ctx, args(noMFA, "--output", "json"), &out)
	if err == nil || !strings.Contains(err.Error(), "checks failed") {
		t.Errorf("error %v, want checks failed", err)
	}
	var r readiness.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("-json output: %v\n%s", err, &out)
	}
	if c, _ := r.Check(readiness.CheckMFA); c.Status != readiness.Fail || !strings.Contains(c.Reason, "without MFA") {
		t.Errorf("mfa check %+v", c)
	}
	if r.Status != readiness.Fail || r.MaxBackupAge != "26h0m0s" || r.Config.Prefix != backup.DefaultPrefix {
		t.Errorf("report status %s, max age %s, prefix %s", r.Status, r.MaxBackupAge, r.Config.Prefix)
	}

	if exitCode(err) != exitFindings {
		t.Errorf("failed checks exit %d, want %d", exitCode(err), exitFindings)
	}
	err = readinessCommand(ctx, []string{"-primary-pool", sc.TokyoID}, io.Discard)
	if exitCode(err) != exitUsage || err == nil || !strings.Contains(err.Error(), "--primary-region, --dr-pool, --dr-region, --bucket, --bucket-region required") {
		t.Errorf("missing flags: %v (exit %d)", err, exitCode(err))
	}
}
