package failback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// collectPath is the import Map's states from the job's end to its results.
func collectPath(x *asl.Execution) []string {
	p := x.PathIn("ImportParts[0]")
	if i := slices.Index(p, "StartCollectingResults"); i >= 0 {
		return p[i:]
	}
	return p
}

// TestFailbackWaitsForLateImportResults: CloudWatch Logs shows the job's row lines only after the
// job ended (two more reads of the stream). The state machine waits and reads again until every
// row has its line, and the report is the same as with prompt logs.
func TestFailbackWaitsForLateImportResults(t *testing.T) {
	f := newFixture(t)
	f.stack.Logs.SetDeliveryLag(3)
	x := f.start("failback-late-logs", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)
	want := []string{"StartCollectingResults", "CollectImportResults", "ImportResultsComplete", "WaitForImportResults",
		"CollectImportResults", "ImportResultsComplete", "WaitForImportResults", "CollectImportResults", "ImportResultsComplete", "ImportPartDone"}
	if diff := cmp.Diff(want, collectPath(x)); diff != "" {
		t.Errorf("import results path (-want +got):\n%s", diff)
	}
	if out.Outcomes["primary:imported"] != len(f.outage.New) || out.Outcomes["primary:result-unknown"] != 0 {
		t.Errorf("outcomes %v: want %d imported, none result-unknown", out.Outcomes, len(f.outage.New))
	}
}

// TestFailbackReportsResultUnknown: the job's row lines never show up. After the last read the
// users are result-unknown, neither imported nor failed; the disable step looks each one up in
// the primary, so the users the job did import are disabled in DR and nobody is counted lost.
func TestFailbackReportsResultUnknown(t *testing.T) {
	f := newFixture(t)
	f.stack.Logs.SetDeliveryLag(1 << 30)
	x := f.start("failback-no-logs", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)
	reads := 0
	for _, s := range collectPath(x) {
		if s == "CollectImportResults" {
			reads++
		}
	}
	if reads != failback.ImportResultReads {
		t.Errorf("read the log %d times, want %d", reads, failback.ImportResultReads)
	}
	if out.Outcomes["primary:result-unknown"] != len(f.outage.New) || out.Outcomes["primary:imported"] != 0 || out.Outcomes["primary:import-failed"] != 0 {
		t.Errorf("outcomes %v: want %d result-unknown, none imported or failed", out.Outcomes, len(f.outage.New))
	}
	var imports struct {
		Imports []failback.ImportResults `json:"imports"`
	}
	for _, ev := range x.History() {
		if ev.State == "ImportParts" && len(ev.Output) > 0 {
			_ = json.Unmarshal(ev.Output, &imports)
		}
	}
	if len(imports.Imports) != 1 || imports.Imports[0].Unknown != len(f.outage.New) || !imports.Imports[0].Final {
		t.Errorf("import results %+v: want one final part with %d unknown", imports.Imports, len(f.outage.New))
	}
}

// TestFailbackSlotBusyWhateverTheCode: AWS does not document which exception StartUserImportJob
// answers while another job holds the account's slot; the failback waits for the slot whichever
// plausible code comes back, and goes on once the other job ends.
func TestFailbackSlotBusyWhateverTheCode(t *testing.T) {
	for _, code := range []string{"LimitExceededException", "InvalidParameterException"} {
		t.Run(code, func(t *testing.T) {
			f := newFixtureWith(t, devstack.Options{Quotas: true, ImportRowDelay: 20 * time.Millisecond})
			f.stack.Cognito.SetImportBusyError(code)
			x := f.start("failback-busy-"+strings.ToLower(code), nil)
			link := f.approvalLink(x)
			slot := f.newBusySlot(context.Background())
			slot.occupy()
			f.hooks.Lock()
			f.beforeTask = map[string]func(json.RawMessage){"StartImportFunctionArn": slot.startImportHook()}
			f.hooks.Unlock()
			f.decide(link, "approve")
			f.wait(x)
			slot.released()
			if !slices.Contains(x.PathIn("ImportParts[0]"), "WaitForImportSlot") {
				t.Errorf("path %v: the failback never waited for the slot", x.PathIn("ImportParts[0]"))
			}
			f.checkFailedBack(x)
		})
	}
}

// busySlot is another import job holding the account's only import slot for as long as the
// test wants: a job of 5,000 rows (100 s at 20 ms a row), stopped right before the failback's
// second StartImport, which runs only after the failback found the slot busy and waited
// (WaitForImportSlot). A job of a few rows could end, on a loaded machine, before the failback's
// first try, which would then find the slot free.
type busySlot struct {
	f       *fixture
	ctx     context.Context
	c       *cip.Client
	job     string
	stopped chan error
}

func (f *fixture) newBusySlot(ctx context.Context) *busySlot {
	return &busySlot{f: f, ctx: ctx, c: f.stack.Clients.Cognito(f.sc.Tokyo.Region), stopped: make(chan error, 1)}
}

// occupy starts the other job.
func (s *busySlot) occupy() { s.job = s.f.occupyImportSlotFor(s.ctx, 5000) }

// startImportHook is the hook for the failback's StartImport task: on its first run it arranges
// for the second to stop the other job first.
func (s *busySlot) startImportHook() func(json.RawMessage) {
	return func(json.RawMessage) {
		s.f.hooks.Lock()
		defer s.f.hooks.Unlock()
		s.f.beforeTask["StartImportFunctionArn"] = func(json.RawMessage) {
			_, err := s.c.StopUserImportJob(s.ctx, &cip.StopUserImportJobInput{UserPoolId: aws.String(s.f.sc.TokyoID), JobId: aws.String(s.job)})
			s.stopped <- err
		}
	}
}

// released checks, once the failback ended, that it tried StartImport again after the other job
// was stopped, and counts the users that job imported before it was.
func (s *busySlot) released() {
	t := s.f.t
	t.Helper()
	select {
	case err := <-s.stopped:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("StartImport never ran a second time: the failback did not wait for the busy slot")
	}
	d, err := s.c.DescribeUserImportJob(s.ctx, &cip.DescribeUserImportJobInput{UserPoolId: aws.String(s.f.sc.TokyoID), JobId: aws.String(s.job)})
	if err != nil {
		t.Fatal(err)
	}
	s.f.before += int(d.UserImportJob.ImportedUsers)
}

// occupyImportSlotFor starts an import job of n rows of its own, which holds the account's
// import slot until stopped.
func (f *fixture) occupyImportSlotFor(ctx context.Context, n int) string {
	f.t.Helper()
	c := f.stack.Clients.Cognito(f.sc.Tokyo.Region)
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: aws.String(f.sc.TokyoID), JobName: aws.String("someone-elses-import"), CloudWatchLogsRoleArn: aws.String(devstack.ImportLogsRoleArn)})
	if err != nil {
		f.t.Fatal(err)
	}
	h, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: aws.String(f.sc.TokyoID)})
	if err != nil {
		f.t.Fatal(err)
	}
	var body strings.Builder
	body.WriteString(strings.Join(h.CSVHeader, ",") + "\n")
	for i := range n {
		row := make([]string, len(h.CSVHeader))
		for j, col := range h.CSVHeader {
			switch col {
			case "cognito:username", "email":
				row[j] = fmt.Sprintf("busy%d@example.jp", i)
			case "email_verified", "cognito:mfa_enabled":
				row[j] = "true"
			case "phone_number_verified":
				row[j] = "false"
			}
		}
		body.WriteString(strings.Join(row, ",") + "\n")
	}
	req, _ := http.NewRequest(http.MethodPut, aws.ToString(job.UserImportJob.PreSignedUrl), strings.NewReader(body.String()))
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: aws.String(f.sc.TokyoID), JobId: job.UserImportJob.JobId}); err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(job.UserImportJob.JobId)
}

// TestFailbackReadsResultsOfAFailedJob: the job ends Failed ("Too many users have failed…")
// after importing some users, as reported on AWS. The failback still reads every row's result:
// the users imported before the failure are reported imported (and disabled in DR), the failed
// row's user is created by API after the plan's updates (created-by-api), the rows the job never
// reached import-failed (not processed) and kept enabled in DR: a re-run imports them.
func TestFailbackReadsResultsOfAFailedJob(t *testing.T) {
	f := newFixture(t)
	f.stack.Cognito.SetImportFailLimit(1)
	victim := f.outage.New[1]
	f.run.Steps.HTTP = &http.Client{Transport: rewriteRow{victim: victim, next: http.DefaultTransport}}
	x := f.start("failback-job-failed", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out failback.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	imported, failed := out.Outcomes["primary:imported"], out.Outcomes["primary:import-failed"]
	retried := out.Outcomes["primary:created-by-api"] - len(f.outage.NewUnverified)
	if imported+failed+retried != len(f.outage.New) || retried != 1 || out.Outcomes["primary:result-unknown"] != 0 {
		t.Fatalf("outcomes %v: want the %d imported rows split into imported, not processed (import-failed) and the failed victim created by API", out.Outcomes, len(f.outage.New))
	}
	if _, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, victim); err != nil {
		t.Errorf("the victim, whose row failed, is not in the primary: %v", err)
	}
	inPrimary := 0
	for _, email := range f.outage.New {
		_, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, email)
		if err == nil {
			inPrimary++
		}
		u, derr := f.user(f.sc.Osaka.Region, f.sc.OsakaID, email)
		if derr != nil || u.Enabled != (err != nil) {
			t.Errorf("%s: in the primary %v, enabled in DR %v (err %v); want disabled in DR exactly when in the primary", email, err == nil, u != nil && u.Enabled, derr)
		}
	}
	if inPrimary != imported+retried {
		t.Errorf("%d users in the primary, report says %d imported and %d created by API", inPrimary, imported, retried)
	}
	if out.Lost != failed {
		t.Errorf("lost %d, want the %d users that did not reach the primary", out.Lost, failed)
	}
}
