package backup_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// TestBackupSurvivesThrottlingAndFaults: every tenth call of each quota category is throttled
// (TooManyRequestsException, as when another tool eats the quota) and 10% of all Cognito calls
// fail with InternalErrorException. The SDK's retries must carry the export through with every
// user once.
func TestBackupSurvivesThrottlingAndFaults(t *testing.T) {
	f := newFixture(t, 3000)
	// Injected, not left to the quotas: a slow machine never calls faster than a quota.
	f.stack.Cognito.SetThrottleRate(0.1)
	f.stack.Cognito.SetFailureRate(0.1)

	x := f.run(t, "faulty", f.BackupRequest())
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	stats := f.stack.Cognito.Stats()
	if stats.Throttled[localcognito.UserList] == 0 || stats.Failed["ListUsers"] == 0 {
		t.Fatalf("the test injected nothing: throttled %v failed %v", stats.Throttled, stats.Failed)
	}

	var prefix string
	for _, e := range x.History() {
		if e.State == "ExportUsers" && e.Type == asl.EventStateExited {
			prefix = between(string(e.Output), `"prefix":"`, `"`)
		}
	}
	seen := map[string]int{}
	err := snapshot.ReadUsers(context.Background(), f.stack.Clients.S3(f.BucketRegion), f.Bucket, prefix, func(u snapshot.User) error {
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
	if len(seen) != 3000 {
		t.Errorf("exported %d distinct users, want 3000", len(seen))
	}
}

func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(after, end)
	return v
}
