package failback_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// A user the failback creates by API whose first answer is lost (the write happened, the 500
// came back) is reported as created by this failback, not as a user the primary already had:
// the SDK's retry is answered UsernameExistsException, and the user's creation date is after the
// apply step began.
func TestFailbackCreateWhoseAnswerWasLost(t *testing.T) {
	f := newFixture(t)
	if len(f.outage.NewUnverified) == 0 {
		t.Fatal("the outage created no user for the API to create")
	}
	f.stack.Cognito.LoseResponses("AdminCreateUser", len(f.outage.NewUnverified))
	x := f.start("failback-lost-answers", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)
	if got := f.stack.Cognito.Stats().Failed["AdminCreateUser"]; got != int64(len(f.outage.NewUnverified)) {
		t.Fatalf("%d answers lost, want %d: the test did not exercise the retry", got, len(f.outage.NewUnverified))
	}
	if out.Outcomes["primary:created-by-api"] != len(f.outage.NewUnverified) || out.Outcomes["primary:skipped-existing"] != 0 {
		t.Errorf("outcomes %v: want %d created-by-api and none skipped-existing", out.Outcomes, len(f.outage.NewUnverified))
	}
	reasons := map[string]string{}
	if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, out.Report.Key, func(u failback.UserReport) error {
		if u.Primary == failback.PrimaryCreatedByAPI {
			reasons[u.Key] = u.Reason
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, email := range f.outage.NewUnverified {
		want[email] = ""
	}
	if d := cmp.Diff(want, reasons); d != "" {
		t.Errorf("created-by-api users and their reasons (-want +got):\n%s", d)
	}
}
