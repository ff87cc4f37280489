package backup_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// TestBackupInSeveralInvocations: with a budget of 4 shards per invocation, the state machine
// runs ExportUsers again until the pool is exported; the manifest lists each invocation's users
// part, and the snapshot has every user once.
func TestBackupInSeveralInvocations(t *testing.T) {
	f := newFixtureWith(t, 900, func(s *backup.Steps) {
		s.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(5) }
	})
	x := f.run(t, "in-parts", f.BackupRequest())
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	exports := 0
	for _, s := range x.Path() {
		if s == "ExportUsers" {
			exports++
		}
	}
	// 16 shards and the groups, 4 or 5 starts an invocation.
	if exports < 4 || exports > 5 {
		t.Errorf("ExportUsers ran %d times, want 4 or 5: %v", exports, x.Path())
	}
	var out struct {
		ManifestKey string          `json:"manifestKey"`
		Users       int             `json:"users"`
		Snapshot    backup.Location `json:"snapshot"`
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(f.get(t, out.ManifestKey), &m); err != nil {
		t.Fatal(err)
	}
	parts, rows := 0, 0
	for _, file := range m.Files {
		if file.Kind == "users" {
			parts++
			rows += file.Rows
		}
	}
	if parts != exports || rows != 900 || m.Users != 900 || out.Users != 900 || m.Version != backup.ManifestVersion {
		t.Errorf("manifest v%d: %d users parts with %d rows, %d users (output %d); want one part per invocation, 900 users", m.Version, parts, rows, m.Users, out.Users)
	}
	seen := map[string]int{}
	err := snapshot.ReadUsers(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, out.Snapshot.Prefix, func(u snapshot.User) error {
		seen[u.Attributes["email"]]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for email := range f.seeded() {
		if seen[email] != 1 {
			t.Errorf("%s exported %d times, want once", email, seen[email])
		}
	}
	if len(seen) != 900 {
		t.Errorf("%d distinct users exported, want 900", len(seen))
	}
}

// TestBuildImportCsvReadsASingleFileSnapshot: a snapshot written before exports were resumable
// (one users.jsonl.gz, no index) still builds the same import CSVs.
func TestBuildImportCsvReadsASingleFileSnapshot(t *testing.T) {
	var steps *backup.Steps
	f := newFixtureWith(t, 300, func(s *backup.Steps) { steps = s })
	x := f.run(t, "parted", f.BackupRequest())
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out struct {
		Importable int             `json:"importable"`
		Rejected   int             `json:"rejected"`
		Snapshot   backup.Location `json:"snapshot"`
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := f.stack.Clients.S3(f.BucketRegion)
	var users []snapshot.User
	if err := snapshot.ReadUsers(ctx, store, f.Bucket, out.Snapshot.Prefix, func(u snapshot.User) error { users = append(users, u); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := snapshot.PutLines(ctx, store, f.Bucket, "old/"+backup.UsersFile, users); err != nil {
		t.Fatal(err)
	}
	old := out.Snapshot
	old.Prefix = "old/"
	csv, err := steps.BuildImportCsv(ctx, backup.CSVInput{Snapshot: old, Target: backup.PoolRef{UserPoolID: f.OsakaID, Region: f.Osaka.Region}})
	if err != nil {
		t.Fatal(err)
	}
	if csv.Accepted != out.Importable || csv.Rejected != out.Rejected || csv.Accepted+csv.Rejected != 300 {
		t.Errorf("old layout: %d importable, %d rejected; the parted snapshot: %d, %d (300 users)", csv.Accepted, csv.Rejected, out.Importable, out.Rejected)
	}
}

// TestExportStateDoesNotGrowWithParts: the state ExportUsers hands the state machine (256 KB at
// most on Step Functions) carries counts, not the parts or shards, so an export that wrote many
// more users parts (one per invocation here, thousands at 40 million users on AWS) passes a state
// of the same size.
func TestExportStateDoesNotGrowWithParts(t *testing.T) {
	starts := 0
	f := newFixtureWith(t, 300, func(s *backup.Steps) {
		s.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(starts) }
	})
	// largest is the largest state ExportUsers left, and how many times it ran.
	largest := func(name string) (size, exports int) {
		x := f.run(t, name, f.BackupRequest())
		if x.Status() != asl.StatusSucceeded {
			t.Fatalf("%s: status %s: %s %s", name, x.Status(), x.ErrorName(), x.Cause())
		}
		for _, ev := range x.History() {
			if ev.Type == asl.EventStateExited && ev.State == "ExportUsers" {
				size, exports = max(size, len(ev.Output)), exports+1
			}
		}
		return size, exports
	}
	starts = 100 // every shard and the groups in one invocation
	few, fewExports := largest("few-parts")
	starts = 1 // a shard (or the groups) an invocation
	many, manyExports := largest("many-parts")
	if manyExports < fewExports+10 {
		t.Fatalf("ExportUsers ran %d and %d times; the test needs many more parts in the second run", fewExports, manyExports)
	}
	// Counts may gain a digit or two (invocations, seconds); a part listed would add ~100 bytes.
	if many > few+32 {
		t.Errorf("largest ExportUsers state: %d bytes after %d invocations, %d after %d: it grows with the parts", few, fewExports, many, manyExports)
	}
}

// TestBuildImportCsvLoopsUntilBuilt: with a budget of one unit per invocation, the state machine
// loops BuildImportCsv until the build is done, and the CSV parts and rejects report the manifest
// records are byte for byte those of the same build run in one invocation.
func TestBuildImportCsvLoopsUntilBuilt(t *testing.T) {
	f := newFixtureWith(t, 300, func(s *backup.Steps) {
		s.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(1) }
		s.CSVBuckets, s.CSVUnitUsers = 3, 40
	})
	x := f.run(t, "looped-csv", f.BackupRequest())
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	builds := 0
	for _, s := range x.Path() {
		if s == "BuildImportCsv" {
			builds++
		}
	}
	var out struct {
		ManifestKey string `json:"manifestKey"`
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(f.get(t, out.ManifestKey), &m); err != nil {
		t.Fatal(err)
	}
	// Every user is read by the write units, 40 at most each: 8 of them, besides the others.
	if builds < 8 || !m.Import.Done || m.Import.Accepted+m.Import.Rejected != 300 {
		t.Fatalf("%d BuildImportCsv invocations, done %v, %d importable + %d rejected; want several, of 300 users",
			builds, m.Import.Done, m.Import.Accepted, m.Import.Rejected)
	}

	ctx := context.Background()
	store := f.stack.Clients.S3(f.BucketRegion)
	target, err := csvbuild.Target(ctx, f.stack.Clients.Cognito(m.Import.Target.Region), m.Import.Target.UserPoolID, m.Import.Target.Region)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := snapshot.UsersParts(ctx, store, f.Bucket, m.Snapshot.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	one, err := csvbuild.Continue(ctx, target, csvbuild.Job{Store: store, Bucket: f.Bucket, Parts: parts, Dir: "one/", Buckets: 3, UnitUsers: 40}, checkpoint.NewStarts(1<<30))
	if err != nil || !one.Done {
		t.Fatalf("one invocation: done %v, err %v", one.Done, err)
	}
	if len(one.Parts) != len(m.Import.Parts) || len(one.Parts) < 2 {
		t.Fatalf("%d parts in one invocation, %d looped; want the same, several", len(one.Parts), len(m.Import.Parts))
	}
	for i, p := range one.Parts {
		if string(f.get(t, p.Key)) != string(f.get(t, m.Import.Parts[i].Key)) {
			t.Errorf("part %d differs", i+1)
		}
	}
	if string(f.get(t, one.Rejects.Key)) != string(f.get(t, m.Import.Rejects.Key)) {
		t.Error("rejects reports differ")
	}
}
