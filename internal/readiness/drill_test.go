package readiness_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/readiness"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

func (f *fixture) manifest(t *testing.T, key string) backup.Manifest {
	t.Helper()
	body, err := f.stack.ReadObject(context.Background(), f.BucketRegion, f.Bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEveryFileIsChecked: the restore-drill check reads every file of the snapshot, not only the
// CSVs: a corrupted users file and a deleted memberships file both fail it, each named.
func TestEveryFileIsChecked(t *testing.T) {
	f := newFixture(t)
	out := f.backup(t, "nightly-1", time.Time{})
	ctx := context.Background()
	m := f.manifest(t, out.Manifest.Key)
	users, _ := m.Find(manifest.KindUsers)
	memberships, _ := m.Find(manifest.KindMemberships)
	if _, ok := m.Find(manifest.KindPoolConfig); !ok {
		t.Fatalf("the backup lists no pool.json: %+v", m.Files)
	}
	if c := get(t, f.check(t, f.config(f.OsakaID)), readiness.CheckRestore); c.Status != readiness.OK || !strings.Contains(c.Reason, "files") {
		t.Fatalf("a whole backup: %s %q", c.Status, c.Reason)
	}

	store := f.stack.Clients.S3(f.BucketRegion)
	body, err := f.stack.ReadObject(ctx, f.BucketRegion, f.Bucket, users.Key)
	if err != nil {
		t.Fatal(err)
	}
	body[len(body)/2] ^= 0xff // same size: only the checksum can tell
	if _, err := s3stream.Put(ctx, store, f.Bucket, users.Key, body); err != nil {
		t.Fatal(err)
	}
	if _, err := store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.Bucket), Key: aws.String(memberships.Key)}); err != nil {
		t.Fatal(err)
	}
	r := f.check(t, f.config(f.OsakaID))
	c := get(t, r, readiness.CheckRestore)
	if c.Status != readiness.Fail {
		t.Fatalf("restore-drill %s %q, want FAIL", c.Status, c.Reason)
	}
	all := strings.Join(c.Findings, "\n")
	for _, want := range []string{users.Key + " does not match the manifest", memberships.Key + " unreadable"} {
		if !strings.Contains(all, want) {
			t.Errorf("findings do not say %q:\n%s", want, all)
		}
	}
}

// TestSnapshotWithoutPoolConfig: a snapshot taken before pool.json existed is still whole: the
// check warns that it restores only into an existing pool.
func TestSnapshotWithoutPoolConfig(t *testing.T) {
	f := newFixture(t)
	out := f.backup(t, "nightly-1", time.Time{})
	m := f.manifest(t, out.Manifest.Key)
	var files []manifest.FileEntry
	for _, e := range m.Files {
		if e.Kind != manifest.KindPoolConfig {
			files = append(files, e)
		}
	}
	m.Files = files
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3stream.Put(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, out.Manifest.Key, body); err != nil {
		t.Fatal(err)
	}
	c := get(t, f.check(t, f.config(f.OsakaID)), readiness.CheckRestore)
	if c.Status != readiness.Warn || !strings.Contains(c.Reason, "no pool.json") {
		t.Errorf("restore-drill %s %q, want WARN about pool.json", c.Status, c.Reason)
	}
}

// TestDrillCheck: readiness fails without a passed restore drill within -max-drill-age, and when
// the newest drill failed, even if an older one passed.
func TestDrillCheck(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name   string
		drills func(t *testing.T, f *fixture)
		maxAge time.Duration
		status readiness.Status
		reason string
	}{
		{"none", func(*testing.T, *fixture) {}, 0, readiness.Fail, "no restore drill: no drill.json under s3://"},
		{"passed last week", func(t *testing.T, f *fixture) { f.drill(t, time.Now().Add(-7*day), true, "") }, 0, readiness.OK, "passed, RTO 10m, 300 users, 0 mismatches"},
		{"passed 40 days ago", func(t *testing.T, f *fixture) { f.drill(t, time.Now().Add(-40*day), true, "") }, 0, readiness.Fail, "older than 840h"},
		{"passed 40 days ago, -max-drill-age 60 days", func(t *testing.T, f *fixture) { f.drill(t, time.Now().Add(-40*day), true, "") }, 60 * day, readiness.OK, "passed"},
		{"newest failed", func(t *testing.T, f *fixture) {
			f.drill(t, time.Now().Add(-20*day), true, "")
			f.drill(t, time.Now().Add(-2*day), false, "3 users differ from the snapshot")
		}, 0, readiness.Fail, "failed: 3 users differ from the snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.drills(t, f)
			cfg := f.config(f.OsakaID)
			cfg.MaxDrillAge = tt.maxAge
			r := f.check(t, cfg)
			c := get(t, r, readiness.CheckDrill)
			if c.Status != tt.status || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("drill %s %q, want %s saying %q", c.Status, c.Reason, tt.status, tt.reason)
			}
			if tt.status == readiness.Fail && r.Status != readiness.Fail {
				t.Errorf("report status %s, want FAIL", r.Status)
			}
		})
	}
}
