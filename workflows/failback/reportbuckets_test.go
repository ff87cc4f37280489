package failback_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/s3fault"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// reportLoop runs the WriteReport loop on in as the state machine does, from no progress: each
// invocation's context wrapped by invoke when set (killed reports whether it ended the
// invocation), an invocation that fails retried with the progress from before it. It returns
// the result and the progress the last invocation started from.
func (f *fixture) reportLoop(in failback.ReportInput, invoke func(context.Context) (context.Context, func() bool)) (failback.ReportOutput, failback.ReportProgress) {
	f.t.Helper()
	ctx := context.Background()
	var prog, last failback.ReportProgress
	for i := 0; !prog.Done; i++ {
		if i > 500 {
			f.t.Fatalf("report not done after %d invocations: %+v", i, prog)
		}
		ictx, killed := ctx, func() bool { return false }
		if invoke != nil {
			ictx, killed = invoke(ctx)
		}
		in.Progress = prog
		next, err := f.run.Steps.WriteReport(ictx, in)
		if k := killed(); err != nil && !k {
			f.t.Fatalf("report invocation %d: %v", i+1, err)
		} else if k {
			continue
		}
		last, prog = in.Progress, next
	}
	if prog.Report == nil {
		f.t.Fatalf("the report loop ended without its result: %+v", prog)
	}
	return *prog.Report, last
}

// reportLines are a report's lines, sorted.
func (f *fixture) reportLines(out failback.ReportOutput) []string {
	f.t.Helper()
	var lines []string
	if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, out.Report.Key, func(v json.RawMessage) error {
		lines = append(lines, string(v))
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

// sameReport is what must not change with the buckets: the counts, the modes and where the
// report and its summary are (the report's bytes do: its lines come bucket by bucket; the
// message is compared on its own).
func sameReport(out failback.ReportOutput) failback.ReportOutput {
	out.Report.Bytes, out.Report.SHA256, out.MessageID = 0, "", ""
	return out
}

// TestReportInBuckets: a failback whose plan has many buckets (2 users each) writes its report
// a bucket at a time. Its lines and summary are those of the same report in one bucket; the
// copy matched by its primary sub whose email changed in DR (its update's ledger line carries
// the primary user's key, which a DR sign-up took) has one line, updated, in its own bucket.
// Killed mid-unit again and again, the loop resumes to the same report, tells the operators
// once, and a retry of its last invocation tells them nothing more.
func TestReportInBuckets(t *testing.T) {
	f := newFixture(t)
	extras := f.makeExtras()
	f.run.Steps.BucketUsers = 2
	x := f.start("report-buckets", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("failback %s: %s %s; last events:\n%s", x.Status(), x.ErrorName(), x.Cause(), lastEvents(x, 8))
	}
	var many failback.ReportOutput
	if err := json.Unmarshal(x.Output(), &many); err != nil {
		t.Fatal(err)
	}
	var in failback.ReportInput
	loops := 0
	for _, e := range x.History() {
		if e.State == "WriteReport" && e.Type == asl.EventTaskScheduled {
			if loops++; loops == 1 {
				if err := json.Unmarshal(e.Input, &in); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	n := in.Plan.Buckets
	if n < 20 || in.Apply == nil || in.Disable == nil || in.Progress.Next != 0 {
		t.Fatalf("WriteReport's first input: %d buckets, apply %v, disable %v, progress %+v; want many buckets, both ledgers' ends, no progress", n, in.Apply, in.Disable, in.Progress)
	}
	if partition.Of(extras.moved, n) == partition.Of(extras.movedTo, n) {
		t.Fatalf("the moved user's old and new email share a bucket of %d: the fixture does not test the routing", n)
	}
	manyLines := f.reportLines(many)
	if many.Users != len(manyLines) || many.Users < seeded || many.MessageID == "" {
		t.Fatalf("report: %d users, %d lines, message %q", many.Users, len(manyLines), many.MessageID)
	}
	var moved, reused []failback.UserReport
	for _, l := range manyLines {
		var u failback.UserReport
		if err := json.Unmarshal([]byte(l), &u); err != nil {
			t.Fatal(err)
		}
		switch u.Key {
		case extras.movedTo:
			moved = append(moved, u)
		case extras.moved:
			reused = append(reused, u)
		}
	}
	if len(moved) != 1 || moved[0].Primary != failback.PrimaryUpdated || len(reused) != 1 || reused[0].Primary == failback.PrimaryUpdated || reused[0].DRUsername == moved[0].DRUsername {
		t.Errorf("the copy whose email moved: %+v; the DR sign-up that took its old email: %+v; want one line each, the copy's updated", moved, reused)
	}

	t.Run("one bucket", func(t *testing.T) {
		one := in
		one.Plan.Buckets = 1
		out, _ := f.reportLoop(one, nil)
		if diff := cmp.Diff(sameReport(many), sameReport(out)); diff != "" || out.MessageID != many.MessageID {
			t.Errorf("message %q, summary (-%d buckets +one):\n%s", out.MessageID, n, diff)
		}
		if diff := cmp.Diff(manyLines, f.reportLines(out)); diff != "" {
			t.Errorf("lines (-%d buckets +one):\n%s", n, diff)
		}
	})

	t.Run("killed mid-unit", func(t *testing.T) {
		ctx := context.Background()
		store := f.stack.Clients.S3(f.sc.BucketRegion)
		if _, err := store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(in.Plan.Bucket), Key: aws.String(in.Plan.Prefix + failback.ReportPublishedFile)}); err != nil {
			t.Fatal(err)
		}
		sent := len(f.stack.AWS.SNS().Messages())
		f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(5) }
		kill := s3fault.New()
		failing := kill.Client(f.stack.Clients.S3(f.sc.BucketRegion))
		f.run.Steps.S3 = func(string) failback.S3 { return failing }
		var invocations, kills atomic.Int32
		out, last := f.reportLoop(in, func(ctx context.Context) (context.Context, func() bool) {
			if invocations.Add(1)%2 == 0 {
				kill.Disarm()
				return ctx, func() bool { return false }
			}
			kill.Arm(3)
			return ctx, func() bool {
				killed := kill.Killed()
				if killed {
					kills.Add(1)
				}
				return killed
			}
		})
		if kills.Load() < 3 || invocations.Load() < 8 {
			t.Fatalf("killed %d of %d invocations; want several", kills.Load(), invocations.Load())
		}
		if diff := cmp.Diff(sameReport(many), sameReport(out)); diff != "" {
			t.Errorf("summary (-never killed +killed):\n%s", diff)
		}
		if diff := cmp.Diff(manyLines, f.reportLines(out)); diff != "" {
			t.Errorf("lines (-never killed +killed):\n%s", diff)
		}
		told := finished(f.stack.AWS.SNS().Messages()[sent:])
		if len(told) != 1 || out.MessageID != told[0] {
			t.Errorf("the killed loop told the operators %d times (%v), its result names message %q; want once", len(told), told, out.MessageID)
		}

		// The last invocation retried (its answer lost): nothing is told again.
		sent = len(f.stack.AWS.SNS().Messages())
		in.Progress = last
		again, err := f.run.Steps.WriteReport(ctx, in)
		if err != nil || !again.Done || again.Report == nil || again.Report.MessageID != out.MessageID {
			t.Fatalf("the last invocation retried: %+v %v; want done with message %q", again, err, out.MessageID)
		}
		if told := finished(f.stack.AWS.SNS().Messages()[sent:]); len(told) != 0 {
			t.Errorf("the retried last invocation told the operators again: %v", told)
		}
	})
}

// finished are the ids of the "failback finished" messages among msgs.
func finished(msgs []loopback.Message) []string {
	var ids []string
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "Cognito DR failback finished") {
			ids = append(ids, m.ID)
		}
	}
	return ids
}
