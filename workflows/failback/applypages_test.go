package failback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/s3fault"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// cutCognito fails one of the primary's update and group calls as a Lambda cut off by its
// timeout would, and counts the calls per user and call.
type cutCognito struct {
	failback.Cognito
	mu     sync.Mutex
	calls  map[string]int
	n      int
	failAt int
}

func (c *cutCognito) call(op, user string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.n == c.failAt {
		return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
	}
	c.calls[op+" "+user]++
	return nil
}

func (c *cutCognito) AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, opts ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error) {
	if err := c.call("update", aws.ToString(in.Username)); err != nil {
		return nil, err
	}
	return c.Cognito.AdminUpdateUserAttributes(ctx, in, opts...)
}

func (c *cutCognito) AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, opts ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error) {
	if err := c.call("add to "+aws.ToString(in.GroupName), aws.ToString(in.Username)); err != nil {
		return nil, err
	}
	return c.Cognito.AdminAddUserToGroup(ctx, in, opts...)
}

// applyCall is one ApplyChanges invocation: its progress in and out, and the objects it read.
type applyCall struct {
	in    failback.ApplyInput
	out   failback.Progress
	err   error
	reads map[string]int
}

// TestApplyChangesInPagesResumesACutPage: ApplyChanges works from a list in pages of 3 changes,
// one page an invocation; one invocation is cut off in the middle of its page (Step Functions
// keeps no output of a failed invocation, so the retry starts from the page's first change).
// Every change is in the apply ledger once, the primary has every change and the report is an
// uncut failback's; each invocation after the list is built reads the list's index, the step's
// start time and the one page at its cursor, nothing else; and only the cut page's changes were
// asked of Cognito again.
func TestApplyChangesInPagesResumesACutPage(t *testing.T) {
	f := newFixture(t)
	f.run.Steps.PageSize = 3
	cut := &cutCognito{calls: map[string]int{}, failAt: 3 + 2} // the second action of the second page of actions
	cognito := f.run.Steps.Cognito
	cut.Cognito = cognito(f.sc.Tokyo.Region)
	f.run.Steps.Cognito = func(region string) failback.Cognito {
		if region == f.sc.Tokyo.Region {
			return cut
		}
		return cognito(region)
	}
	reads := s3fault.NewReads()
	counted := reads.Client(f.stack.Clients.S3(f.sc.BucketRegion))
	f.run.Steps.S3 = func(string) failback.S3 { return counted }
	var calls []applyCall
	f.applyInvoke = func(ctx context.Context, raw json.RawMessage, apply boundary.Func) (json.RawMessage, error) {
		var c applyCall
		if err := json.Unmarshal(raw, &c.in); err != nil {
			return nil, err
		}
		// Two starts an invocation: two units of building the list, or one page (its one chunk).
		f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(2) }
		// A bucket a rejected user (for ApplyChanges alone: the plan's buckets stay few): the
		// creates come through many segments of the list.
		f.run.Steps.BucketUsers = 1
		defer func() { f.run.Steps.Budget, f.run.Steps.BucketUsers = nil, 0 }()
		reads.Take()
		res, err := apply(ctx, raw)
		c.err, c.reads = err, reads.Take()
		if err == nil {
			err = json.Unmarshal(res, &c.out)
		}
		calls = append(calls, c)
		return res, c.err
	}
	x := f.start("failback-apply-pages", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)
	if diff := cmp.Diff(f.approvedOutcomes(), out.Outcomes); diff != "" {
		t.Errorf("report outcomes (-want +got):\n%s", diff)
	}
	if len(calls) == 0 {
		t.Fatal("no ApplyChanges invocation")
	}
	p := calls[0].in.Plan
	page := regexp.MustCompile(`^[0-9]{5}/[0-9]{6}\.jsonl\.gz$`)
	dir := p.Prefix + failback.ApplyWorkDir
	var pages []string
	for _, key := range f.keys(dir) {
		if rest := strings.TrimPrefix(key, dir); page.MatchString(rest) {
			pages = append(pages, rest)
		}
	}

	cuts, applying, pagesRead := 0, 0, map[string]int{}
	for i, c := range calls {
		if c.err != nil {
			cuts++
			if i+1 == len(calls) || calls[i+1].in.Progress.Cursor != c.in.Progress.Cursor {
				t.Errorf("invocation at change %d failed (%v) and was not retried from that change", c.in.Progress.Cursor, c.err)
			}
			continue
		}
		if !c.in.Progress.List.Built {
			continue
		}
		applying++
		var read []string
		for key := range c.reads {
			rest, ok := strings.CutPrefix(key, dir)
			switch {
			case key == p.Prefix+failback.ApplyStartedFile || key == dir+"list.json":
			case ok && page.MatchString(rest):
				read = append(read, rest)
				pagesRead[rest]++
			default:
				t.Errorf("invocation at change %d read %s", c.in.Progress.Cursor, strings.TrimPrefix(key, p.Prefix))
			}
		}
		if len(read) != 1 || c.out.Cursor == c.in.Progress.Cursor || c.out.Cursor-c.in.Progress.Cursor > 3 {
			t.Errorf("invocation applied changes %d..%d reading pages %v; want one page of at most 3", c.in.Progress.Cursor, c.out.Cursor, read)
		}
	}
	if cuts != 1 {
		t.Errorf("%d invocations cut, want 1", cuts)
	}
	for _, pg := range pages {
		if pagesRead[pg] != 1 {
			t.Errorf("page %s read by %d applying invocations, want one", pg, pagesRead[pg])
		}
	}
	if applying != len(pages) || len(pages) < 4 {
		t.Errorf("%d applying invocations for pages %v; want one a page, and several pages", applying, pages)
	}

	last := calls[len(calls)-1].out
	indexes := map[int]int{}
	for _, key := range f.keys(p.Prefix + failback.ApplyLedgerDir) {
		if err := snapshot.GetLines(context.Background(), f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, key, func(r failback.ApplyResult) error {
			indexes[r.Index]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(indexes) != last.Cursor || last.List.Items != last.Cursor || !last.Done {
		t.Errorf("ledger holds %d changes; the loop ended at %+v", len(indexes), last)
	}
	for i := range last.Cursor {
		if indexes[i] != 1 {
			t.Errorf("change %d is in the ledger %d times, want once", i, indexes[i])
		}
	}
	again := map[string]bool{}
	for call, n := range cut.calls {
		if n > 1 {
			again[call[strings.LastIndex(call, " ")+1:]] = true
		}
		if n > 2 {
			t.Errorf("%s asked %d times", call, n)
		}
	}
	// Only the cut page's changes beside the failed call may have run twice.
	if len(again) > 2 {
		t.Errorf("users asked again %v, want at most the cut page's other 2", again)
	}
}

// keys are the keys of the failback bucket under prefix.
func (f *fixture) keys(prefix string) []string {
	f.t.Helper()
	var keys []string
	pg := s3.NewListObjectsV2Paginator(f.stack.Clients.S3(f.sc.BucketRegion), &s3.ListObjectsV2Input{Bucket: aws.String(f.sc.Bucket), Prefix: aws.String(prefix)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
