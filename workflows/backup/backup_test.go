package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	mf "github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

type fixture struct {
	stack *devstack.Stack
	*devstack.Scenario
	exec *asl.Executor
}

func newFixture(t *testing.T, users int) *fixture {
	t.Helper()
	return newFixtureWith(t, users, func(*backup.Steps) {})
}

// newFixtureWith is newFixture with the steps changed by set before they are bound.
func newFixtureWith(t *testing.T, users int, set func(*backup.Steps)) *fixture {
	t.Helper()
	st, err := devstack.Start(devstack.Options{Quotas: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(context.Background(), users)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{stack: st, Scenario: sc}
	steps := backup.NewSteps(st.Clients, backup.Config{TopicArn: sc.TopicArn})
	set(steps)
	f.exec, err = devstack.Executor(statemachines.Backup, steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T, name string, input any) *asl.Execution {
	t.Helper()
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := f.exec.Run(ctx, name, raw)
	if x == nil {
		t.Fatal(err)
	}
	return x
}

func (f *fixture) get(t *testing.T, key string) []byte {
	t.Helper()
	r, err := s3stream.Open(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seeded is what the test knows of a seeded user, keyed by email.
type seeded struct {
	attrs   map[string]string
	enabled bool
	status  string
	groups  []string
	mfa     bool
}

func (f *fixture) seeded() map[string]seeded {
	m := map[string]seeded{}
	for u := range f.Tokyo.SeedUsers() {
		g := append([]string(nil), u.Groups...)
		sort.Strings(g)
		m[u.Attributes["email"]] = seeded{attrs: u.Attributes, enabled: u.Enabled, status: u.Status, groups: g, mfa: len(u.MFAEnabled) > 0}
	}
	return m
}

func TestBackupEndToEnd(t *testing.T) {
	f := newFixture(t, 1500)
	req := f.BackupRequest()
	req["includeMfaPreferences"] = true
	x := f.run(t, "nightly-1", req)

	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	if diff := cmp.Diff([]string{"ExportUsers", "ExportFinished", "BuildImportCsv", "CsvBuilt", "CapturePoolConfig", "WriteManifest", "NotifySuccess", "Summarize"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	var out struct {
		ManifestKey      string         `json:"manifestKey"`
		Users            int            `json:"users"`
		Importable       int            `json:"importable"`
		Rejected         int            `json:"rejected"`
		RejectedByReason map[string]int `json:"rejectedByReason"`
		Snapshot         backup.Location
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}

	want := f.seeded()
	var manifest backup.Manifest
	if err := json.Unmarshal(f.get(t, out.ManifestKey), &manifest); err != nil {
		t.Fatal(err)
	}

	t.Run("manifest checksums match every file", func(t *testing.T) {
		if len(manifest.Files) < 5 {
			t.Fatalf("manifest lists %d files, want users, groups, memberships, CSV parts and rejects", len(manifest.Files))
		}
		for _, file := range manifest.Files {
			body := f.get(t, file.Key)
			sum := sha256.Sum256(body)
			if got := hex.EncodeToString(sum[:]); got != file.SHA256 || int64(len(body)) != file.Bytes {
				t.Errorf("%s: manifest says %d bytes sha256 %s, object has %d bytes sha256 %s", file.Key, file.Bytes, file.SHA256, len(body), got)
			}
		}
		if manifest.Users != len(want) || manifest.Source.UserPoolID != f.TokyoID || !strings.HasPrefix(manifest.Snapshot.Prefix, "cognito-dr/backups/"+f.TokyoID+"/") {
			t.Errorf("manifest users=%d source=%s prefix=%s", manifest.Users, manifest.Source.UserPoolID, manifest.Snapshot.Prefix)
		}
	})

	t.Run("pool.json is listed and describes the pool", func(t *testing.T) {
		entry, ok := manifest.Find(mf.KindPoolConfig)
		if !ok || entry.Key != out.Snapshot.Prefix+backup.PoolConfigFile {
			t.Fatalf("manifest lists no %s at %s: %+v", backup.PoolConfigFile, out.Snapshot.Prefix, entry)
		}
		cfg, err := poolconfig.Decode(bytes.NewReader(f.get(t, entry.Key)))
		if err != nil {
			t.Fatal(err)
		}
		groups, err := f.stack.Clients.Cognito(f.Tokyo.Region).ListGroups(context.Background(), &cip.ListGroupsInput{UserPoolId: &f.TokyoID})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.UserPoolID != f.TokyoID || aws.ToString(cfg.Pool.Id) != f.TokyoID || len(cfg.Groups) != len(groups.Groups) || len(cfg.Groups) == 0 ||
			len(cfg.Pool.SchemaAttributes) == 0 || cfg.MFA.MfaConfiguration == "" {
			t.Errorf("pool.json: pool %s, %d groups (pool has %d), %d attributes, MFA %q", cfg.UserPoolID, len(cfg.Groups), len(groups.Groups), len(cfg.Pool.SchemaAttributes), cfg.MFA.MfaConfiguration)
		}
	})

	t.Run("snapshot holds every user with full fidelity", func(t *testing.T) {
		got := map[string]snapshot.User{}
		subs := map[string]bool{}
		err := snapshot.ReadUsers(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, out.Snapshot.Prefix, func(u snapshot.User) error {
			email := u.Attributes["email"]
			if _, dup := got[email]; dup {
				t.Errorf("%s exported twice", email)
			}
			got[email] = u
			subs[u.Attributes["sub"]] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		groups := map[string][]string{}
		byUsername := map[string]string{}
		for email, u := range got {
			byUsername[u.Username] = email
		}
		err = snapshot.ReadMemberships(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, out.Snapshot.Prefix, func(m snapshot.Membership) error {
			groups[byUsername[m.Username]] = append(groups[byUsername[m.Username]], m.Group)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(subs) != len(want) {
			t.Fatalf("exported %d users with %d distinct subs, want %d", len(got), len(subs), len(want))
		}
		for email, w := range want {
			u, ok := got[email]
			if !ok {
				t.Errorf("%s missing from the snapshot", email)
				continue
			}
			for k, v := range w.attrs {
				if u.Attributes[k] != v {
					t.Errorf("%s: %s = %q, want %q", email, k, u.Attributes[k], v)
				}
			}
			if u.Enabled != w.enabled || u.Status != w.status {
				t.Errorf("%s: enabled=%v status=%s, want %v %s", email, u.Enabled, u.Status, w.enabled, w.status)
			}
			if u.Username != u.Attributes["sub"] {
				t.Errorf("%s: username %q is not the sub (email-as-username pool)", email, u.Username)
			}
			if u.MFA == nil || (len(u.MFA.Enabled) > 0) != w.mfa {
				t.Errorf("%s: MFA %+v, want enabled=%v", email, u.MFA, w.mfa)
			}
			g := groups[email]
			sort.Strings(g)
			if !cmp.Equal(g, w.groups, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })) {
				t.Errorf("%s: groups %v, want %v", email, g, w.groups)
			}
			if u.Created.IsZero() || u.Modified.IsZero() {
				t.Errorf("%s: created/modified dates missing", email)
			}
		}
	})

	t.Run("import CSVs take every verified user and reject the others with a reason", func(t *testing.T) {
		target, err := importcsv.NewTarget(osakaHeader(t, f), osakaPool(t, f))
		if err != nil {
			t.Fatal(err)
		}
		imported := map[string]bool{}
		for _, file := range manifest.Files {
			if file.Kind != "import-csv" {
				continue
			}
			rd, err := importcsv.NewReader(target, strings.NewReader(string(f.get(t, file.Key))))
			if err != nil {
				t.Fatal(err)
			}
			for {
				row, err := rd.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				imported[target.Username(row)] = true
			}
		}
		rejected := map[string]string{}
		for line := range strings.Lines(string(f.get(t, manifest.Import.Rejects.Key))) {
			var r importcsv.Reject
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			rejected[r.Username] = r.Reason
		}
		for email, w := range want {
			switch {
			case w.attrs["email_verified"] == "true" && !imported[email]:
				t.Errorf("%s: verified user not in the import CSV (rejected: %q)", email, rejected[email])
			case w.attrs["email_verified"] == "false" && rejected[email] != "no_verified_contact":
				t.Errorf("%s: unverified user: reject reason %q, want no_verified_contact", email, rejected[email])
			}
		}
		if len(imported)+len(rejected) != len(want) || out.Importable != len(imported) || out.Rejected != len(rejected) {
			t.Errorf("imported %d + rejected %d != %d users (output says %d + %d)", len(imported), len(rejected), len(want), out.Importable, out.Rejected)
		}
	})

	t.Run("operators are notified", func(t *testing.T) {
		msgs := f.stack.AWS.SNS().Messages()
		if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "succeeded") || !strings.Contains(msgs[0].Message, fmt.Sprintf("Users exported:  %d", len(want))) {
			t.Errorf("SNS messages: %+v", msgs)
		}
	})
}

func TestBackupBadInput(t *testing.T) {
	f := newFixture(t, 10)
	with := func(change func(map[string]any)) map[string]any {
		r := f.BackupRequest()
		change(r)
		return r
	}
	tests := []struct {
		name      string
		input     any
		wantError string
		wantCause string
	}{
		{"unknown field", with(func(r map[string]any) { r["userPool"] = "x" }), "InvalidInput", `unknown field "userPool"`},
		{"key in another case", with(func(r map[string]any) { r["REGION"] = r["region"]; delete(r, "region") }), "InvalidInput", `unknown field "REGION" at request.REGION`},
		{"missing pool", with(func(r map[string]any) { delete(r, "userPoolId") }), "InvalidInput", "userPoolId is required"},
		{"bad region", with(func(r map[string]any) { r["region"] = "tokyo" }), "InvalidInput", `region "tokyo" is not an AWS Region name`},
		{"pool in another region", with(func(r map[string]any) { r["userPoolId"] = "ap-northeast-3_Abc123" }), "InvalidInput", "belongs to Region ap-northeast-3"},
		{"pool does not exist", with(func(r map[string]any) { r["userPoolId"] = "ap-northeast-1_Nope12345" }), "PoolNotFound", "user pool ap-northeast-1_Nope12345 does not exist in ap-northeast-1"},
		{"target pool does not exist", with(func(r map[string]any) { r["targetUserPoolId"] = "ap-northeast-3_Nope12345" }), "PoolNotFound", "target pool"},
		{"bucket does not exist", with(func(r map[string]any) { r["bucket"] = "no-such-bucket" }), "BucketNotFound", "bucket no-such-bucket does not exist in ap-northeast-3"},
		{"not an object", []string{"x"}, "InvalidInput", "cannot unmarshal array"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.stack.AWS.SNS().Messages())
			x := f.run(t, fmt.Sprintf("bad-%d", i), tt.input)
			if x.Status() != asl.StatusFailed {
				t.Fatalf("status %s, want FAILED", x.Status())
			}
			var cause struct {
				Message string `json:"errorMessage"`
			}
			if err := json.Unmarshal([]byte(x.Cause()), &cause); err != nil {
				t.Fatalf("cause %q is not a Lambda error: %v", x.Cause(), err)
			}
			if x.ErrorName() != tt.wantError || !strings.Contains(cause.Message, tt.wantCause) {
				t.Errorf("error %s %q, want %s containing %q", x.ErrorName(), cause.Message, tt.wantError, tt.wantCause)
			}
			if diff := cmp.Diff([]string{"ExportUsers", "NotifyFailure", "FailureClean"}, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			msgs := f.stack.AWS.SNS().Messages()
			if len(msgs) != before+1 || !strings.Contains(msgs[len(msgs)-1].Subject, tt.wantError) || !strings.Contains(msgs[len(msgs)-1].Message, tt.wantCause) ||
				!strings.Contains(msgs[len(msgs)-1].Message, "Nothing was changed") {
				t.Errorf("failure notification missing or vague: %+v", msgs[before:])
			}
			objs, err := f.stack.Clients.S3(f.BucketRegion).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(f.Bucket)})
			if err != nil {
				t.Fatal(err)
			}
			if len(objs.Contents) != 0 {
				t.Errorf("a failed request wrote %d objects", len(objs.Contents))
			}
		})
	}
}
