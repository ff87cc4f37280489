package readiness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/readiness"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// fixture is the classic scenario (Tokyo primary, Osaka DR, backups in Osaka) on the local stack,
// with the Tokyo users replicated to Osaka, as it looks when replication has been running.
type fixture struct {
	stack *devstack.Stack
	*devstack.Scenario
}

func newFixture(t *testing.T) *fixture { return newFixtureUnverified(t, 0) }

// newFixtureUnverified seeds unverifiedPercent of the Tokyo users with an unverified email: the
// users a backup for an email-verifying pool rejects.
func newFixtureUnverified(t *testing.T, unverifiedPercent int) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc.Tokyo.Users, sc.Tokyo.UnverifiedPercent = 300, unverifiedPercent
	if err := st.Cognito.SeedUsers(sc.TokyoID, sc.Tokyo.SeedUsers()); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplicateToOsaka(sc, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	return &fixture{stack: st, Scenario: sc}
}

// backup runs the real backup state machine; a non-zero start dates the execution (and so the
// snapshot) then.
func (f *fixture) backup(t *testing.T, name string, start time.Time) backup.ManifestOutput {
	t.Helper()
	steps := backup.NewSteps(f.stack.Clients, backup.Config{TopicArn: f.TopicArn})
	var opts []asl.Option
	if !start.IsZero() {
		opts = append(opts, asl.WithClock(asl.NewFakeClock(start)))
	}
	exec, err := devstack.Executor(statemachines.Backup, steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil))), opts...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(f.BackupRequest())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := exec.Run(ctx, name, raw)
	if x == nil {
		t.Fatal(err)
	}
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("backup %s: %s %s %s", name, x.Status(), x.ErrorName(), x.Cause())
	}
	var out struct {
		ManifestKey string `json:"manifestKey"`
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	body, err := f.stack.ReadObject(ctx, f.BucketRegion, f.Bucket, out.ManifestKey)
	if err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Import.Parts) == 0 {
		t.Fatalf("backup %s wrote no CSV part", name)
	}
	return backup.ManifestOutput{Manifest: s3stream.Object{Key: out.ManifestKey}}
}

// drill writes a restore drill record that started at started and took ten minutes.
func (f *fixture) drill(t *testing.T, started time.Time, passed bool, reason string) string {
	t.Helper()
	d := manifest.Drill{Version: manifest.DrillVersion, Source: manifest.PoolRef{UserPoolID: f.TokyoID, Region: f.Tokyo.Region},
		Started: started, Finished: started.Add(10 * time.Minute), RTOSeconds: 600, Users: 300, Passed: passed, FailureReason: reason}
	if !passed {
		d.Mismatches = 3
	}
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	key := manifest.DrillKey(manifest.DefaultPrefix, f.TokyoID, started, "drill")
	if _, err := s3stream.Put(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, key, body); err != nil {
		t.Fatal(err)
	}
	return key
}

func (f *fixture) config(drPool string) readiness.Config {
	return readiness.Config{
		PrimaryPool: f.TokyoID, PrimaryRegion: f.Tokyo.Region,
		DRPool: drPool, DRRegion: f.Osaka.Region,
		Bucket: f.Bucket, BucketRegion: f.BucketRegion,
	}
}

func (f *fixture) check(t *testing.T, cfg readiness.Config) readiness.Report {
	t.Helper()
	c := &readiness.Checker{
		Cognito: func(region string) readiness.Cognito { return f.stack.Clients.Cognito(region) },
		S3:      func(region string) readiness.S3 { return f.stack.Clients.S3(region) },
	}
	r, err := c.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func statuses(r readiness.Report) map[string]readiness.Status {
	m := map[string]readiness.Status{}
	for _, c := range r.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func allChecks(s readiness.Status) map[string]readiness.Status {
	m := map[string]readiness.Status{}
	for _, n := range []string{readiness.CheckSignIn, readiness.CheckMFA, readiness.CheckPasswordPolicy, readiness.CheckSchema,
		readiness.CheckPrimarySub, readiness.CheckGroups, readiness.CheckEmail, readiness.CheckBackup, readiness.CheckRestore, readiness.CheckDrill} {
		m[n] = s
	}
	return m
}

func get(t *testing.T, r readiness.Report, name string) readiness.Check {
	t.Helper()
	c, ok := r.Check(name)
	if !ok {
		t.Fatalf("report has no %s check: %+v", name, r.Checks)
	}
	return c
}

func TestHealthyAfterBackup(t *testing.T) {
	f := newFixture(t)
	f.backup(t, "nightly-1", time.Time{})
	f.drill(t, time.Now().Add(-72*time.Hour), true, "")
	r := f.check(t, f.config(f.OsakaID))
	if diff := cmp.Diff(allChecks(readiness.OK), statuses(r)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s\nreport: %+v", diff, r.Checks)
	}
	if r.Status != readiness.OK || r.Failed() != 0 || !strings.HasSuffix(r.Manifest, "_nightly-1/manifest.json") {
		t.Errorf("status %s, failed %d, manifest %q", r.Status, r.Failed(), r.Manifest)
	}
	if got := get(t, r, readiness.CheckBackup).Reason; !strings.Contains(got, "300 users, 300 importable, 0 rejected") {
		t.Errorf("backup reason %q", got)
	}
}

func TestRejectedUsersWarn(t *testing.T) {
	f := newFixtureUnverified(t, 10)
	f.backup(t, "nightly-1", time.Time{})
	f.drill(t, time.Now().Add(-time.Hour), true, "")
	r := f.check(t, f.config(f.OsakaID))
	c := get(t, r, readiness.CheckBackup)
	if c.Status != readiness.Warn || !strings.Contains(c.Reason, "of 300 users not importable: no_verified_contact") || !strings.Contains(c.Reason, "rejects.jsonl") {
		t.Errorf("backup-freshness %s %q, want WARN naming the reason and the report", c.Status, c.Reason)
	}
	if r.Failed() != 0 {
		t.Errorf("failed checks: %+v", r.Checks)
	}
}

func TestPoolDrift(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		change func(in *cip.CreateUserPoolInput)
		check  string
		status readiness.Status
		reason []string
	}{
		{"stricter DR constraint", func(in *cip.CreateUserPoolInput) {
			in.Schema[1].StringAttributeConstraints.MaxLength = aws.String("32")
		}, readiness.CheckSchema, readiness.Fail, []string{"custom:tenant", "maximum length 32", "stricter than the primary's 64"}},
		{"MFA off in DR", func(in *cip.CreateUserPoolInput) {
			in.MfaConfiguration = types.UserPoolMfaTypeOff
		}, readiness.CheckMFA, readiness.Fail, []string{"MFA is ON in the primary but OFF in DR", "without MFA"}},
		{"custom attribute missing in DR", func(in *cip.CreateUserPoolInput) {
			in.Schema = append(in.Schema[:1], in.Schema[2:]...)
		}, readiness.CheckSchema, readiness.Fail, []string{"custom:tenant is missing in DR"}},
		{"no primary_sub", func(in *cip.CreateUserPoolInput) {
			in.Schema = in.Schema[:2]
		}, readiness.CheckSchema, readiness.Warn, []string{"DR has no custom:primary_sub"}},
		{"signs in by username", func(in *cip.CreateUserPoolInput) {
			in.UsernameAttributes = nil
		}, readiness.CheckSignIn, readiness.Fail, []string{"username attributes differ: primary email, DR none"}},
		{"weaker password policy", func(in *cip.CreateUserPoolInput) {
			in.Policies = &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(6)}}
		}, readiness.CheckPasswordPolicy, readiness.Warn, []string{"password minimum length: primary 8, DR 6"}},
		{"groups missing (no users replicated)", func(*cip.CreateUserPoolInput) {},
			readiness.CheckGroups, readiness.Warn, []string{"3 of 3 primary groups missing in DR: admins, beta, staff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := devstack.OsakaPool().CreatePoolInput()
			in.PoolName = aws.String("osaka-drifted")
			tt.change(in)
			dr, err := f.stack.Cognito.CreatePool(f.Osaka.Region, in)
			if err != nil {
				t.Fatal(err)
			}
			r := f.check(t, f.config(dr))
			c := get(t, r, tt.check)
			if c.Status != tt.status {
				t.Errorf("%s: %s %q, want %s", tt.check, c.Status, c.Reason, tt.status)
			}
			for _, s := range tt.reason {
				if !strings.Contains(c.Reason, s) {
					t.Errorf("%s reason %q does not say %q", tt.check, c.Reason, s)
				}
			}
			if tt.status == readiness.Fail && r.Failed() == 0 {
				t.Errorf("report counts no failure: %+v", r.Checks)
			}
		})
	}
}

// TestPrimarySubWritableByAnAppClient: readiness FAILs when any DR app client can write
// custom:primary_sub — one created without WriteAttributes (treated as all writable) or one that
// lists it — and passes when every client lists its attributes without it.
func TestPrimarySubWritableByAnAppClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	osaka := f.stack.Clients.Cognito(f.Osaka.Region)
	for _, tt := range []struct {
		name   string
		writes [][]string
		status readiness.Status
		reason []string
	}{
		{"no app client", nil, readiness.OK, []string{"no DR app client can write custom:primary_sub"}},
		{"explicit attributes without it", [][]string{{"email", "given_name"}}, readiness.OK, []string{"no DR app client can write"}},
		{"a client without WriteAttributes", [][]string{{"email"}, nil}, readiness.Fail, []string{"app-1 (", "can write custom:primary_sub"}},
		{"a client that lists it", [][]string{{"email", "custom:primary_sub"}}, readiness.Fail, []string{"app-0 (", "WriteAttributes without custom:primary_sub"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := devstack.OsakaPool().CreatePoolInput()
			dr, err := f.stack.Cognito.CreatePool(f.Osaka.Region, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.writes {
				if _, err := osaka.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(dr), ClientName: aws.String(fmt.Sprintf("app-%d", i)), WriteAttributes: w}); err != nil {
					t.Fatal(err)
				}
			}
			r := f.check(t, f.config(dr))
			c := get(t, r, readiness.CheckPrimarySub)
			if c.Status != tt.status {
				t.Errorf("%s %q, want %s", c.Status, c.Reason, tt.status)
			}
			for _, s := range tt.reason {
				if !strings.Contains(c.Reason, s) {
					t.Errorf("reason %q does not say %q", c.Reason, s)
				}
			}
			if tt.status == readiness.Fail && r.Status != readiness.Fail {
				t.Errorf("report status %s, want FAIL", r.Status)
			}
		})
	}
}

func TestNoBackup(t *testing.T) {
	f := newFixture(t)
	r := f.check(t, f.config(f.OsakaID))
	want := allChecks(readiness.OK)
	want[readiness.CheckBackup], want[readiness.CheckRestore], want[readiness.CheckDrill] = readiness.Fail, readiness.Fail, readiness.Fail
	if diff := cmp.Diff(want, statuses(r)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got, want := get(t, r, readiness.CheckBackup).Reason, "no backup: no manifest.json under s3://"+f.Bucket+"/cognito-dr/backups/"+f.TokyoID+"/"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if r.Status != readiness.Fail {
		t.Errorf("report status %s", r.Status)
	}
}

func TestTamperedCSVPart(t *testing.T) {
	f := newFixture(t)
	out := f.backup(t, "nightly-1", time.Time{})
	ctx := context.Background()
	body, err := f.stack.ReadObject(ctx, f.BucketRegion, f.Bucket, out.Manifest.Key)
	if err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	part := m.Import.Parts[0].Key
	csv, err := f.stack.ReadObject(ctx, f.BucketRegion, f.Bucket, part)
	if err != nil {
		t.Fatal(err)
	}
	// Same size, one byte changed: only the checksum can tell.
	tampered := []byte(strings.Replace(string(csv), "Given1", "Given9", 1))
	if _, err := s3stream.Put(ctx, f.stack.Clients.S3(f.BucketRegion), f.Bucket, part, tampered); err != nil {
		t.Fatal(err)
	}
	r := f.check(t, f.config(f.OsakaID))
	c := get(t, r, readiness.CheckRestore)
	if c.Status != readiness.Fail || !strings.Contains(c.Reason, part+" does not match the manifest") {
		t.Errorf("restore-drill %s %q, want FAIL naming %s", c.Status, c.Reason, part)
	}
	if st := get(t, r, readiness.CheckBackup).Status; st != readiness.OK {
		t.Errorf("backup-freshness %s, want OK: the backup is fresh, only a part is damaged", st)
	}
}

func TestOldBackup(t *testing.T) {
	f := newFixture(t)
	f.backup(t, "nightly-old", time.Now().Add(-30*time.Hour))
	cfg := f.config(f.OsakaID)

	r := f.check(t, cfg)
	c := get(t, r, readiness.CheckBackup)
	if c.Status != readiness.Fail || !strings.Contains(c.Reason, "newest backup is 30h0m old") || !strings.Contains(c.Reason, "older than 26h0m") {
		t.Errorf("backup-freshness %s %q, want FAIL: 30h old, older than 26h", c.Status, c.Reason)
	}
	if st := get(t, r, readiness.CheckRestore).Status; st != readiness.OK {
		t.Errorf("restore-drill %s: an old backup can still be restored from", st)
	}

	cfg.MaxBackupAge = 48 * time.Hour
	if st := get(t, f.check(t, cfg), readiness.CheckBackup).Status; st != readiness.OK {
		t.Errorf("with -max-backup-age 48h: %s, want OK", st)
	}
}

// TestNewestBySnapshotTime: a manifest whose key sorts last but whose snapshot is old (copied,
// rewritten) must not hide that a newer backup exists, nor pass for fresh.
func TestNewestBySnapshotTime(t *testing.T) {
	f := newFixture(t)
	fresh := f.backup(t, "nightly-1", time.Time{})
	ctx := context.Background()
	body, err := f.stack.ReadObject(ctx, f.BucketRegion, f.Bucket, fresh.Manifest.Key)
	if err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m.SnapshotAt = time.Now().Add(-40 * 24 * time.Hour)
	body, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	copied := "cognito-dr/backups/" + f.TokyoID + "/99991231T000000Z_copied/manifest.json"
	if _, err := s3stream.Put(ctx, f.stack.Clients.S3(f.BucketRegion), f.Bucket, copied, body); err != nil {
		t.Fatal(err)
	}
	r := f.check(t, f.config(f.OsakaID))
	if r.Manifest != fresh.Manifest.Key || get(t, r, readiness.CheckBackup).Status != readiness.OK {
		t.Errorf("picked %s (%s), want the fresh %s", r.Manifest, get(t, r, readiness.CheckBackup).Reason, fresh.Manifest.Key)
	}
}

func TestInvalidConfig(t *testing.T) {
	c := &readiness.Checker{}
	_, err := c.Run(context.Background(), readiness.Config{PrimaryPool: "ap-northeast-1_abc", PrimaryRegion: "ap-northeast-3", DRPool: "x", Bucket: "B"})
	for _, want := range []string{"belongs to Region ap-northeast-1", "DR region is required", `"x" is not a user pool id`, "not a valid S3 bucket name", "bucket region is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
