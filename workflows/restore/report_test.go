package restore_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/s3fault"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// drillCheck is the report's comparison of a drill's scratch pool with the snapshot.
type drillCheck struct {
	Users  int      `json:"users"`
	Count  int      `json:"count"`
	Listed []string `json:"listed"`
}

// reportRun is what one report wrote: its result (without what differs by run: the message id
// and the joined files' digests, whose lines come in bucket order), its lines and sub map by
// username, the drill's comparison, and how many invocations it took.
type reportRun struct {
	Out   restore.ReportOutput
	Lines map[string]restore.UserReport
	Subs  map[string]restore.SubMapping
	Drill *drillCheck
	// exports are the invocations that continued the target's export; invocations all of them.
	exports, invocations int
}

// reportDirect runs the report of in invocation after invocation, as the ExportTarget and
// WriteReport loops do; an invocation that fails while killed() says it was killed is retried
// with the progress it was given, as Step Functions retries a task.
func (f *fixture) reportDirect(in restore.ReportInput, killed func() bool) reportRun {
	f.t.Helper()
	ctx := context.Background()
	var run reportRun
	prog := restore.ReportProgress{}
	for !prog.Done {
		if run.invocations++; run.invocations > 2000 {
			f.t.Fatalf("the report did not finish in %d invocations: %+v", run.invocations, prog)
		}
		in.Progress = prog
		got, err := f.run.Steps.WriteReport(ctx, in)
		if k := killed != nil && killed(); err != nil {
			if !k {
				f.t.Fatal(err)
			}
			continue
		}
		if !prog.Export.Done {
			run.exports++
		}
		prog = got
	}
	if prog.Output == nil {
		f.t.Fatalf("report done without output: %+v", prog)
	}
	run.Out = *prog.Output
	run.Lines = map[string]restore.UserReport{}
	run.Subs = map[string]restore.SubMapping{}
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	if err := snapshot.GetLines(ctx, store, f.sc.Bucket, run.Out.Report.Key, func(u restore.UserReport) error {
		if _, dup := run.Lines[u.Username]; dup {
			f.t.Errorf("%s is in the report twice", u.Username)
		}
		run.Lines[u.Username] = u
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	if err := snapshot.GetLines(ctx, store, f.sc.Bucket, run.Out.SubMap.Key, func(m restore.SubMapping) error {
		if _, dup := run.Subs[m.Username]; dup {
			f.t.Errorf("%s is in the sub map twice", m.Username)
		}
		run.Subs[m.Username] = m
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	if in.Plan.Request.Drill {
		b, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, in.Plan.Prefix+restore.DrillCheckFile)
		if err != nil {
			f.t.Fatal(err)
		}
		run.Drill = &drillCheck{}
		if err := json.Unmarshal(b, run.Drill); err != nil {
			f.t.Fatal(err)
		}
		slices.Sort(run.Drill.Listed)
	}
	run.Out.MessageID, run.Out.Report, run.Out.SubMap = "", restore.ReportOutput{}.Report, restore.ReportOutput{}.SubMap
	return run
}

// withReport wires the restore so that fn runs with the report's input at the first WriteReport
// invocation, before the report runs: the target is restored then, a drill's scratch pool not
// yet deleted.
func (f *fixture) withReport(fn func(in restore.ReportInput)) {
	f.rewire(func(functions map[string]boundary.Func) {
		report := functions["WriteRestoreReportFunctionArn"]
		first := true
		functions["WriteRestoreReportFunctionArn"] = func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
			if first {
				first = false
				var in restore.ReportInput
				if err := json.Unmarshal(raw, &in); err != nil {
					return nil, err
				}
				fn(in)
			}
			return report(ctx, raw)
		}
	})
}

// TestReportInBucketsMatchesOneBucket: a drill's report joined through many hash buckets, in
// invocations that each start a few units (the target's export among them, so its listing
// continues across invocations), writes the same report lines, sub map, counts and drill verdict
// as the report joined in one bucket: a user missing from the scratch pool, one left out of a
// group and one disabled there are found either way, counted exactly.
func TestReportInBucketsMatchesOneBucket(t *testing.T) {
	f := newFixture(t, unverified(7)...)
	var one, many reportRun
	f.withReport(func(in restore.ReportInput) {
		ctx := context.Background()
		c := f.stack.Clients.Cognito(in.Plan.Target.Region)
		pool := aws.String(in.Plan.Target.UserPoolID)
		// A broken restore: one user missing, one out of its group, one enabled user disabled.
		victim, outOfGroup, disabled := devstack.Email(3), "", ""
		for _, email := range slices.Sorted(maps.Keys(f.want)) {
			switch u := f.want[email]; {
			case email == victim || strings.HasPrefix(email, "unverified"):
			case outOfGroup == "" && len(u.Groups) > 0:
				outOfGroup = email
			case disabled == "" && u.Enabled && len(u.Groups) == 0:
				disabled = email
			}
		}
		if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: pool, Username: aws.String(victim)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: pool, Username: aws.String(outOfGroup), GroupName: aws.String(f.want[outOfGroup].Groups[0])}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(disabled)}); err != nil {
			t.Fatal(err)
		}
		s := f.run.Steps
		bucketUsers, openFiles, budget := s.BucketUsers, s.OpenFiles, s.Budget
		// Many buckets first, so that its invocations list the target; the one-bucket report
		// (and the execution's) find the export done.
		s.BucketUsers, s.OpenFiles = 3, 4
		s.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(3) }
		many = f.reportDirect(in, nil)
		s.BucketUsers, s.OpenFiles, s.Budget = 1<<30, 0, nil
		one = f.reportDirect(in, nil)
		s.BucketUsers, s.OpenFiles, s.Budget = bucketUsers, openFiles, budget
	})
	in := map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": f.manifestKey, "sourceUserPoolId": f.sc.TokyoID, "drill": true}
	x := f.restore("drill-buckets", in)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if diff := cmp.Diff(one.Out, many.Out); diff != "" {
		t.Errorf("report result (-one bucket +many):\n%s", diff)
	}
	if diff := cmp.Diff(one.Lines, many.Lines); diff != "" {
		t.Errorf("report lines (-one bucket +many):\n%s", diff)
	}
	if diff := cmp.Diff(one.Subs, many.Subs); diff != "" {
		t.Errorf("sub map (-one bucket +many):\n%s", diff)
	}
	if diff := cmp.Diff(one.Drill, many.Drill); diff != "" {
		t.Errorf("drill comparison (-one bucket +many):\n%s", diff)
	}
	// What a user would notice: every snapshot user reported, the restored ones mapped, the
	// three breakages found and nothing else.
	if one.Out.Users != len(f.want)+1 || len(one.Lines) != one.Out.Users {
		t.Errorf("%d users reported (%d lines), want the snapshot's %d", one.Out.Users, len(one.Lines), len(f.want)+1)
	}
	if one.Out.Mapped != len(f.want)-1 || len(one.Subs) != one.Out.Mapped {
		t.Errorf("%d sub map entries (%d lines), want every restorable user but the missing one: %d", one.Out.Mapped, len(one.Subs), len(f.want)-1)
	}
	if d := one.Drill; d == nil || d.Users != len(f.want) || d.Count != 3 || len(d.Listed) != 3 {
		t.Errorf("drill comparison %+v, want %d users and 3 mismatches", d, len(f.want))
	}
	// Many buckets, many invocations, the export among them.
	if one.invocations != 2 || many.exports < 2 || many.invocations < 20 {
		t.Errorf("one bucket: %d invocations; many: %d invocations, %d of the export; want 2, and several of each", one.invocations, many.invocations, many.exports)
	}
	var out restore.DrillOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Drill.Passed || out.Drill.Mismatches != 3 {
		t.Errorf("drill record %+v, want failed with 3 mismatches", out.Drill)
	}
}

// TestReportKilledMidBucketResumes: report invocations killed in the middle of a unit (their S3
// writes failing after a few), retried from the progress they were given, write the same report,
// sub map and counts as invocations never killed.
func TestReportKilledMidBucketResumes(t *testing.T) {
	f := newFixture(t, unverified(7)...)
	var in restore.ReportInput
	f.withReport(func(got restore.ReportInput) { in = got })
	f.restored("killed-report")
	s := f.run.Steps
	s.BucketUsers, s.OpenFiles = 3, 4
	s.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(5) }
	clean := f.reportDirect(in, nil)

	store := s.S3
	kill := s3fault.New()
	failing := kill.Client(f.stack.Clients.S3(f.sc.BucketRegion))
	s.S3 = func(string) restore.S3 { return failing }
	defer func() { s.S3 = store }()
	var invocations, kills int
	s.Budget = func() checkpoint.Budget {
		// Every other invocation is killed after three writes.
		if invocations++; invocations%2 == 1 {
			kill.Arm(3)
		} else {
			kill.Disarm()
		}
		return checkpoint.NewStarts(5)
	}
	killed := f.reportDirect(in, func() bool {
		k := kill.Killed()
		if k {
			kills++
		}
		return k
	})
	if kills < 3 {
		t.Fatalf("killed %d invocations; want several", kills)
	}
	if diff := cmp.Diff(clean.Out, killed.Out); diff != "" {
		t.Errorf("report result (-never killed +killed):\n%s", diff)
	}
	if diff := cmp.Diff(clean.Lines, killed.Lines); diff != "" {
		t.Errorf("report lines (-never killed +killed):\n%s", diff)
	}
	if diff := cmp.Diff(clean.Subs, killed.Subs); diff != "" {
		t.Errorf("sub map (-never killed +killed):\n%s", diff)
	}
	if clean.Out.Users != len(f.want)+1 || clean.Out.Mapped != len(f.want) {
		t.Errorf("%d users and %d sub map entries, want %d and %d", clean.Out.Users, clean.Out.Mapped, len(f.want)+1, len(f.want))
	}
}
