package restore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// TestBuildImportCsvLoopsUntilBuilt: with two units per invocation, the restore's BuildImportCsv
// runs again until the build is done, and the users file it writes in the same pass holds every
// importable user of the snapshot once, the federated user left out; the restore then succeeds.
func TestBuildImportCsvLoopsUntilBuilt(t *testing.T) {
	f := newFixture(t)
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(2) }
	target := f.emptyPool("looped-csv")
	x := f.restore("looped-csv", f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region))
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	// One fingerprint unit per users part, a repeats unit, a write unit, the join: two at a time.
	if n := strings.Count(strings.Join(x.Path(), " "), "BuildImportCsv "); n < 2 {
		t.Errorf("BuildImportCsv ran %d times, want once per unit", n)
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	usersKey := strings.TrimSuffix(out.Report.Key, restore.ReportFile) + restore.UsersFile
	seen := map[string]int{}
	if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, usersKey, func(u snapshot.User) error {
		seen[u.Attributes["email"]]++
		if u.Username == federated {
			t.Errorf("the federated user %s is in the users file", federated)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for email := range f.want {
		if seen[email] != 1 {
			t.Errorf("%s is %d times in the users file, want once", email, seen[email])
		}
	}
	if len(seen) != len(f.want) {
		t.Errorf("%d users in the users file, %d in the snapshot", len(seen), len(f.want))
	}
}
