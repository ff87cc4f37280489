package restore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/s3fault"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// unverified are Tokyo users without a verified contact, in groups: the import refuses them and
// the create phase makes them by API, so that phase's join has work.
func unverified(n int) []localcognito.SeedUser {
	var us []localcognito.SeedUser
	for i := range n {
		us = append(us, localcognito.SeedUser{Enabled: i%2 == 0, Groups: []string{"staff"},
			Attributes: map[string]string{"email": fmt.Sprintf("unverified%d@example.jp", i), "email_verified": "false", "custom:tenant": "acme"}})
	}
	return us
}

// rewire replaces the fixture's runner with one whose task handlers wrap may replace.
func (f *fixture) rewire(wrap func(map[string]boundary.Func)) {
	f.t.Helper()
	run, err := f.stack.RestoreWorkflow(f.sc, f.run.Approvals, wrap, asl.WithClock(asl.NewFakeClock(time.Now())))
	if err != nil {
		f.t.Fatal(err)
	}
	run.Steps.Quota = f.run.Steps.Quota
	f.run = run
}

// restored runs a restore into a new empty pool and returns its output.
func (f *fixture) restored(name string) restore.ReportOutput {
	f.t.Helper()
	target := f.emptyPool(name)
	x := f.restore(name, f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region))
	if x.Status() != asl.StatusSucceeded {
		f.t.Fatalf("%s: status %s: %s %s\npath %v", name, x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// ledgerEntry is a ledger line without its index, which is the item's place in its work list.
type ledgerEntry struct {
	Phase, Username, Group, Message string
	OK, Existed                     bool
}

// ledgers reads a restore's ledgers: each entry with how often it occurs, and each index with how
// often it occurs, by phase.
func (f *fixture) ledgers(out restore.ReportOutput) (map[ledgerEntry]int, map[string]map[int]int) {
	f.t.Helper()
	prefix := strings.TrimSuffix(out.SummaryKey, restore.ReportSummary) + restore.LedgerDir
	entries, indexes := map[ledgerEntry]int{}, map[string]map[int]int{}
	for key := range f.objects() {
		if !strings.HasPrefix(key, prefix) || !strings.HasSuffix(key, ".jsonl.gz") {
			continue
		}
		if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, key, func(a restore.ApplyResult) error {
			entries[ledgerEntry{a.Phase, a.Username, a.Group, a.Message, a.OK, a.Existed}]++
			if indexes[a.Phase] == nil {
				indexes[a.Phase] = map[int]int{}
			}
			indexes[a.Phase][a.Index]++
			return nil
		}); err != nil {
			f.t.Fatal(err)
		}
	}
	return entries, indexes
}

// report reads a restore's report by username, without the new subs (each target has its own).
func (f *fixture) report(out restore.ReportOutput) map[string]restore.UserReport {
	f.t.Helper()
	lines := map[string]restore.UserReport{}
	if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, out.Report.Key, func(u restore.UserReport) error {
		u.NewSub = ""
		lines[u.Username] = u
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return lines
}

// workKeys are the keys of a restore's work files of a phase under dir ("" for the pages).
func (f *fixture) workKeys(out restore.ReportOutput, phase, dir string) []string {
	prefix := strings.TrimSuffix(out.SummaryKey, restore.ReportSummary) + restore.WorkDir + phase + "/"
	var keys []string
	for key := range f.objects() {
		rest, ok := strings.CutPrefix(key, prefix)
		if ok && strings.HasPrefix(rest, dir) && strings.HasSuffix(rest, ".jsonl.gz") && (dir != "" || !strings.HasPrefix(rest, "buckets/")) {
			keys = append(keys, rest)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestRestoreInPagesAndBucketsMatchesOneList: a restore whose work lists are cut into pages of 3
// items and whose joins go through many hash buckets, written a few bucket files at a time,
// writes the same ledger entries, each once, and the same report as a restore with one page and
// one bucket a phase.
func TestRestoreInPagesAndBucketsMatchesOneList(t *testing.T) {
	f := newFixture(t, unverified(7)...)
	whole := f.restored("one-list")

	f.run.Steps.PageSize, f.run.Steps.BucketUsers, f.run.Steps.OpenFiles = 3, 8, 4
	paged := f.restored("in-pages")

	wantEntries, wantIndexes := f.ledgers(whole)
	gotEntries, gotIndexes := f.ledgers(paged)
	if diff := cmp.Diff(wantEntries, gotEntries); diff != "" {
		t.Errorf("ledger entries in pages and buckets (-one list +paged):\n%s", diff)
	}
	for _, phase := range []string{restore.PhaseCreate, restore.PhaseGroups, restore.PhaseMemberships, restore.PhaseDisable} {
		n := 0
		for e, c := range gotEntries {
			if e.Phase == phase {
				n += c
			}
		}
		if n == 0 {
			t.Errorf("%s: no ledger entries; the test proves nothing for it", phase)
		}
		for i := range n {
			if gotIndexes[phase][i] != 1 || wantIndexes[phase][i] != 1 {
				t.Errorf("%s item %d: in the paged ledger %d times, in the one-list ledger %d times; want once", phase, i, gotIndexes[phase][i], wantIndexes[phase][i])
			}
		}
	}
	if diff := cmp.Diff(f.report(whole), f.report(paged)); diff != "" {
		t.Errorf("report in pages and buckets (-one list +paged):\n%s", diff)
	}
	if whole.Outcomes[restore.OutcomeCreatedByAPI] < 7 {
		t.Errorf("outcomes %v, want at least the 7 unverified users created by API", whole.Outcomes)
	}
	// The paged restore did go through pages and buckets: ceil(88 users / 8) = 11 buckets, each
	// a segment of its own, written from 3 windows of 4 bucket files per side.
	buckets := f.workKeys(paged, restore.PhaseMemberships, "buckets/")
	if len(buckets) != 2*11 {
		t.Errorf("memberships bucket files %v, want 11 per side", buckets)
	}
	pages := f.workKeys(paged, restore.PhaseMemberships, "")
	memberships := 0
	for e, c := range gotEntries {
		if e.Phase == restore.PhaseMemberships {
			memberships += c
		}
	}
	if len(pages) < (memberships+2)/3 {
		t.Errorf("%d memberships in %d pages, want pages of at most 3", memberships, len(pages))
	}
	if one := f.workKeys(whole, restore.PhaseMemberships, ""); len(one) != 1 {
		t.Errorf("one-list memberships pages %v, want one", one)
	}
}

// flakyCognito fails one AdminAddUserToGroup call as a Lambda cut off by its timeout would, and
// counts the calls per membership.
type flakyCognito struct {
	restore.Cognito
	mu     sync.Mutex
	calls  map[string]int
	n      int
	failAt int
}

func (c *flakyCognito) AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, opts ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error) {
	c.mu.Lock()
	c.n++
	fail := c.n == c.failAt
	if !fail {
		c.calls[aws.ToString(in.GroupName)+" "+aws.ToString(in.Username)]++
	}
	c.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("add to group: %w", context.DeadlineExceeded)
	}
	return c.Cognito.AdminAddUserToGroup(ctx, in, opts...)
}

// TestApplyCutMidPageResumesAtItsPage: an apply invocation cut off in the middle of a page is
// retried from the cursor it was given (Step Functions keeps no output of a failed invocation):
// every membership is in the ledger once, the target has every group membership of the snapshot,
// and only the cut page's memberships were asked of Cognito again.
func TestApplyCutMidPageResumesAtItsPage(t *testing.T) {
	f := newFixture(t)
	f.run.Steps.PageSize = 8
	// Two starts an invocation: two units of building the list, then a page each.
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(2) }
	flaky := &flakyCognito{calls: map[string]int{}, failAt: 8 + 5} // the 6th item of the second page
	cognito := f.run.Steps.Cognito
	f.run.Steps.Cognito = func(region string) restore.Cognito {
		flaky.Cognito = cognito(region)
		return flaky
	}
	target := f.emptyPool("cut-mid-page")
	x := f.restore("cut-mid-page", f.sc.RestoreRequest(f.manifestKey, target, f.sc.Tokyo.Region))
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	if n := strings.Count(strings.Join(x.Path(), " "), "RestoreMemberships "); n < 2 {
		t.Errorf("RestoreMemberships ran %d times; the cut invocation was not retried", n)
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	entries, indexes := f.ledgers(out)
	members := 0
	for e, c := range entries {
		if e.Phase == restore.PhaseMemberships {
			members += c
			if c != 1 {
				t.Errorf("ledger has %+v %d times, want once", e, c)
			}
		}
	}
	for i := range members {
		if indexes[restore.PhaseMemberships][i] != 1 {
			t.Errorf("membership %d is in the ledger %d times, want once", i, indexes[restore.PhaseMemberships][i])
		}
	}
	got := f.pool(f.sc.Tokyo.Region, target)
	for email, w := range f.want {
		if !slices.Equal(got[email].Groups, w.Groups) {
			t.Errorf("%s: groups %v after the restore, %v in the snapshot", email, got[email].Groups, w.Groups)
		}
	}
	again := 0
	for m, c := range flaky.calls {
		if c > 1 {
			again++
		}
		if c > 2 {
			t.Errorf("%s asked %d times", m, c)
		}
	}
	// The cut page's items before and beside the failed call ran; nothing of the first page or of
	// later pages ran twice.
	if again == 0 || again >= 8 {
		t.Errorf("%d memberships asked again, want some of the cut page's 8 and none of any other page", again)
	}
}

// TestApplyInvocationReadsOnlyItsPage: once a phase's work list is built, each apply invocation
// reads the list's index, the restore's start time and the pages at its cursor — never the
// snapshot, the hash buckets or another page — however large the pool.
func TestApplyInvocationReadsOnlyItsPage(t *testing.T) {
	f := newFixture(t, unverified(7)...)
	reads := s3fault.NewReads()
	type invocation struct {
		in, out restore.Progress
		phase   string
		gets    map[string]int
	}
	var calls []invocation
	f.rewire(func(functions map[string]boundary.Func) {
		apply := functions["ApplyRestoreFunctionArn"]
		functions["ApplyRestoreFunctionArn"] = func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
			var in restore.ApplyInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, err
			}
			reads.Take()
			res, err := apply(ctx, raw)
			if err != nil {
				return res, err
			}
			var out restore.Progress
			if err := json.Unmarshal(res, &out); err != nil {
				return nil, err
			}
			calls = append(calls, invocation{in.Progress, out, in.Phase, reads.Take()})
			return res, nil
		}
	})
	counted := reads.Client(f.stack.Clients.S3(f.sc.BucketRegion))
	f.run.Steps.S3 = func(string) restore.S3 { return counted }
	// Two starts an invocation: two units of a list, or one page (a page's one chunk).
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(2) }
	f.run.Steps.PageSize, f.run.Steps.BucketUsers, f.run.Steps.OpenFiles = 5, 20, 2
	out := f.restored("page-at-a-time")

	prefix := strings.TrimSuffix(out.SummaryKey, restore.ReportSummary)
	applying, pagesRead := map[string]int{}, map[string]int{}
	for _, c := range calls {
		if !c.in.List.Built {
			continue
		}
		applying[c.phase]++
		dir := prefix + restore.WorkDir + c.phase + "/"
		var pages []string
		for key := range c.gets {
			rest, ok := strings.CutPrefix(key, dir)
			switch {
			case key == prefix+restore.ApplyStartedFile || key == dir+"list.json":
			case ok && strings.HasSuffix(rest, ".jsonl.gz") && !strings.HasPrefix(rest, "buckets/"):
				pages = append(pages, rest)
				pagesRead[c.phase+"/"+rest]++
			default:
				t.Errorf("%s invocation at item %d read %s", c.phase, c.in.Cursor, strings.TrimPrefix(key, prefix))
			}
		}
		if len(pages) != 1 || c.out.Cursor-c.in.Cursor > 5 || c.out.Cursor == c.in.Cursor {
			t.Errorf("%s invocation applied items %d..%d reading pages %v; want one page of at most 5", c.phase, c.in.Cursor, c.out.Cursor, pages)
		}
	}
	for _, phase := range []string{restore.PhaseCreate, restore.PhaseMemberships} {
		written := f.workKeys(out, phase, "")
		for _, page := range written {
			if n := pagesRead[phase+"/"+page]; n != 1 {
				t.Errorf("%s page %s read by %d applying invocations, want one", phase, page, n)
			}
		}
		if applying[phase] != len(written) {
			t.Errorf("%d %s invocations for %d pages, want one each", applying[phase], phase, len(written))
		}
	}
	if applying[restore.PhaseMemberships] < 10 || applying[restore.PhaseCreate] < 2 {
		t.Errorf("applying invocations by phase %v, want many pages of memberships and of creates", applying)
	}
	if out.Outcomes[restore.OutcomeCreatedByAPI] < 7 {
		t.Errorf("outcomes %v, want at least the 7 unverified users created by API", out.Outcomes)
	}
}
