package importjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// jobName names the import job of a part so an operator can find it in the console.
func jobName(t Target, number int) string {
	name := fmt.Sprintf("%s-%04d", t.JobPrefix, number)
	if len(name) > 128 {
		name = name[len(name)-128:]
	}
	return name
}

// verifyPart checks that the part is still the file the run built (and, where the run asks for
// one, the approval binds): its digest travels in the state, which nobody with only write access
// to the bucket can change. On a mismatch the step fails with PlanTampered having changed nothing.
func (s *Steps) verifyPart(ctx context.Context, t Target, step string, part csvbuild.Part) error {
	want := part.Object
	if want.Key == "" || want.SHA256 == "" {
		return stateerr.Invalid("%s: the state carries no digest for the import part: the run was planned by an older version; start it again", step)
	}
	got, err := s3stream.Digest(ctx, s.S3(t.BucketRegion), t.Bucket, want.Key)
	var gone *s3types.NoSuchKey
	switch {
	case errors.As(err, &gone):
		return &stateerr.PlanTampered{Msg: fmt.Sprintf("s3://%s/%s was deleted after it was built for this run; %s changed nothing", t.Bucket, want.Key, step)}
	case err != nil:
		return fmt.Errorf("%s: verify the import part: %w", step, err)
	case got != want:
		return &stateerr.PlanTampered{Msg: fmt.Sprintf("s3://%s/%s changed after it was built for this run (and approved, where the run asks for approval): now %d bytes, sha256 %s; built %d bytes, sha256 %s; %s changed nothing",
			t.Bucket, want.Key, got.Bytes, got.SHA256, want.Bytes, want.SHA256, step)}
	}
	return nil
}

// UploadImport creates the import job of one CSV part and uploads the part to the job's presigned
// URL (valid 15 minutes, so both happen in one task).
func (s *Steps) UploadImport(ctx context.Context, in PartInput) (Job, error) {
	if s.LogsRoleArn == "" {
		return Job{}, errors.New("IMPORT_LOGS_ROLE_ARN is not configured: Cognito needs a role to write import results to CloudWatch Logs")
	}
	t := in.Target
	if err := s.verifyPart(ctx, t, "UploadImport", in.Part); err != nil {
		return Job{}, err
	}
	c := s.Cognito(t.Region)
	pace := s.Quota.Pacer(t.Region, Ops)
	name := jobName(t, in.Number)
	if err := pace.Wait(ctx, "CreateUserImportJob"); err != nil {
		return Job{}, err
	}
	out, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{
		UserPoolId:            aws.String(t.UserPoolID),
		JobName:               aws.String(name),
		CloudWatchLogsRoleArn: aws.String(s.LogsRoleArn),
	})
	if err != nil {
		return Job{}, fmt.Errorf("create import job %s: %w", name, err)
	}
	job := out.UserImportJob
	body, err := s3stream.Open(ctx, s.S3(t.BucketRegion), t.Bucket, in.Part.Key)
	if err != nil {
		return Job{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("import part: %v", err)}
	}
	defer body.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, aws.ToString(job.PreSignedUrl), body)
	if err != nil {
		return Job{}, err
	}
	req.ContentLength = in.Part.Bytes
	// The import guide's upload requires this header; the URL is signed for it.
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	req.Header.Set("Content-Type", "text/csv")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return Job{}, fmt.Errorf("upload %s to import job %s: %w", in.Part.Key, aws.ToString(job.JobId), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Job{}, fmt.Errorf("upload %s to import job %s: HTTP %d: %s", in.Part.Key, aws.ToString(job.JobId), resp.StatusCode, msg)
	}
	return Job{JobID: aws.ToString(job.JobId), Name: name, Status: string(job.Status)}, nil
}

// importBusyCodes are the exceptions StartUserImportJob may answer while another import job holds
// the account's only slot. AWS documents the rule ("Only one import job can be active at a time
// per account") but not the exception: PreconditionNotMetException is the likeliest (the
// operation's documented code for an unmet precondition), LimitExceededException and
// InvalidParameterException are plausible. The answer is trusted as "busy" only while the job is
// still Created.
var importBusyCodes = []string{"PreconditionNotMetException", "LimitExceededException", "InvalidParameterException"}

// SlotTimeout bounds how long StartImport keeps finding the slot busy (the state machine
// waits a minute between tries): past it the part fails rather than wait forever behind a job
// that never ends, or behind a refusal that is not about the slot at all.
const SlotTimeout = 4 * time.Hour

// StartImport starts the part's job. Only one import job can be active per account: while
// another holds the slot the job stays Created and the state machine waits and tries again.
func (s *Steps) StartImport(ctx context.Context, in PartInput) (Job, error) {
	if in.Job == nil {
		return Job{}, stateerr.Invalid("start import: job is required")
	}
	t := in.Target
	c := s.Cognito(t.Region)
	pace := s.Quota.Pacer(t.Region, Ops)
	job := *in.Job
	if err := pace.Wait(ctx, "StartUserImportJob"); err != nil {
		return Job{}, err
	}
	out, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: aws.String(t.UserPoolID), JobId: aws.String(job.JobID)},
		func(o *cip.Options) { o.Retryer = busyNotRetried{o.Retryer} })
	var api smithy.APIError
	if errors.As(err, &api) && slices.Contains(importBusyCodes, api.ErrorCode()) {
		// The same exceptions report other refusals: only a job still Created may be waiting
		// for the account's slot.
		if err := pace.Wait(ctx, "DescribeUserImportJob"); err != nil {
			return Job{}, err
		}
		d, derr := c.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: aws.String(t.UserPoolID), JobId: aws.String(job.JobID)})
		if derr == nil && d.UserImportJob.Status == types.UserImportJobStatusTypeCreated {
			now := s.now()
			if job.BusySince == nil {
				job.BusySince = &now
			}
			if now.Sub(*job.BusySince) > SlotTimeout {
				return Job{}, fmt.Errorf("start import job %s: still refused %s after the first try (is another import job stuck in the account, or is the refusal about something else?): %w", job.JobID, SlotTimeout, err)
			}
			job.Started, job.Status, job.Message = false, string(d.UserImportJob.Status), api.ErrorCode()+": "+api.ErrorMessage()
			return job, nil
		}
	}
	if err != nil {
		return Job{}, fmt.Errorf("start import job %s: %w", job.JobID, err)
	}
	job.Started, job.Status, job.Message = true, string(out.UserImportJob.Status), ""
	return job, nil
}

// busyNotRetried keeps the SDK from retrying a busy answer it takes for throttling
// (LimitExceededException): the state machine waits a minute between tries instead.
type busyNotRetried struct{ aws.Retryer }

func (r busyNotRetried) IsErrorRetryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && slices.Contains(importBusyCodes, api.ErrorCode()) {
		return false
	}
	return r.Retryer.IsErrorRetryable(err)
}

// PollImport reads the job's status and counts.
func (s *Steps) PollImport(ctx context.Context, in PartInput) (Job, error) {
	if in.Job == nil {
		return Job{}, stateerr.Invalid("poll import: job is required")
	}
	t := in.Target
	if err := s.Quota.Pacer(t.Region, Ops).Wait(ctx, "DescribeUserImportJob"); err != nil {
		return Job{}, err
	}
	d, err := s.Cognito(t.Region).DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: aws.String(t.UserPoolID), JobId: aws.String(in.Job.JobID)})
	if err != nil {
		return Job{}, fmt.Errorf("describe import job %s: %w", in.Job.JobID, err)
	}
	j := d.UserImportJob
	job := *in.Job
	job.Status = string(j.Status)
	job.Imported, job.Skipped, job.Failed = int(j.ImportedUsers), int(j.SkippedUsers), int(j.FailedUsers)
	job.Message = aws.ToString(j.CompletionMessage)
	switch j.Status {
	case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed,
		types.UserImportJobStatusTypeStopped, types.UserImportJobStatusTypeExpired:
		job.Done = true
	}
	return job, nil
}

// ResultReads is how many times CollectImportResults reads a job's log before it reports
// the rows still without a line as result-unknown; the state machine waits between reads
// (WaitForImportResults), about ten minutes in all. Cognito documents no moment at which every
// row's line is in CloudWatch Logs.
const ResultReads = 20

var resultLine = regexp.MustCompile(`^\[(SUCCEEDED|SKIPPED|FAILED)\] Line Number (\d+) - ?(.*)$`)

// CollectImportResults reads the job's per-row lines from CloudWatch Logs (the only place Cognito
// reports them, without user data) and maps their line numbers back to the part's users. The
// lines may arrive after the job ends: while some row has none, it answers Final=false and the
// state machine waits and calls again (in.Results carries the count); after ResultReads
// reads the rows still without a line are result-unknown. A job that ended without processing
// every row (Failed, Stopped, Expired) is complete once its log has as many lines as the job's
// counts; its other rows are not-processed. Results are read whatever the job's final status:
// a Failed job may have imported some users.
//
// Its memory does not grow with a row's data: the log's results are kept as a few bytes a line
// (jobLog), and the part is read twice rather than held: once to count the rows the log has a
// line for, once to write the results.
func (s *Steps) CollectImportResults(ctx context.Context, in PartInput) (Results, error) {
	if in.Job == nil {
		return Results{}, stateerr.Invalid("collect import results: job is required")
	}
	attempt := 1
	if in.Results != nil {
		attempt = in.Results.Attempt + 1
	}
	t := in.Target
	if err := s.verifyPart(ctx, t, "CollectImportResults", in.Part); err != nil {
		return Results{}, err
	}
	log, err := s.readJobLog(ctx, t, *in.Job, in.Part.Rows+1)
	if err != nil {
		return Results{}, err
	}
	target, err := Rules(ctx, s.Cognito(t.Region), s.Quota.Pacer(t.Region, Ops), t.UserPoolID, t.Region)
	if err != nil {
		return Results{}, err
	}
	rows, logged := 0, 0
	if _, err := s.eachRow(ctx, t, in.Part, target, func(r RowResult) error {
		rows++
		if _, ok := log.result(r.Line); ok {
			logged++
		}
		return nil
	}); err != nil {
		return Results{}, err
	}
	processed := in.Job.Imported + in.Job.Skipped + in.Job.Failed
	complete := logged == rows || (in.Job.Status != string(types.UserImportJobStatusTypeSucceeded) && logged >= processed)
	res := Results{Key: fmt.Sprintf("%s%s%04d.jsonl.gz", t.Prefix, ResultsDir, in.Number), Attempt: attempt, Final: complete || attempt >= ResultReads}
	w := s3stream.Create(ctx, s.S3(t.BucketRegion), t.Bucket, res.Key)
	lw := snapshot.NewLineWriter(w)
	read, err := s.eachRow(ctx, t, in.Part, target, func(r RowResult) error {
		if lr, ok := log.result(r.Line); ok {
			r.Outcome, r.Message = lr.outcome, lr.message
		} else if complete {
			r.Outcome, r.Message = RowNotProcessed, "the job ended "+in.Job.Status+" before this row"
		} else {
			r.Outcome, r.Message = RowResultUnknown, fmt.Sprintf("no result in the job's log after %d reads (job %s)", attempt, in.Job.Status)
		}
		switch r.Outcome {
		case RowImported:
			res.Imported++
		case RowSkipped:
			res.Skipped++
		case RowResultUnknown:
			res.Unknown++
		default:
			res.Failed++
		}
		return lw.Write(r)
	})
	if err == nil && read != in.Part.Object {
		// The part was verified before the first read; a change since would make the counts of
		// the first read wrong for the rows of the second.
		err = &stateerr.PlanTampered{Msg: fmt.Sprintf("s3://%s/%s changed while CollectImportResults read it (now %d bytes, sha256 %s; built %d bytes, sha256 %s); its results were not written",
			t.Bucket, in.Part.Key, read.Bytes, read.SHA256, in.Part.Bytes, in.Part.SHA256)}
	}
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		w.Abort(err)
		return Results{}, err
	}
	if _, err := w.Close(); err != nil {
		return Results{}, err
	}
	return res, nil
}

// eachRow calls f with each row of an import part, in order, by line and username, without their
// data, and describes what it read (as s3stream.Digest does).
func (s *Steps) eachRow(ctx context.Context, t Target, part csvbuild.Part, target *importcsv.Target, f func(RowResult) error) (s3stream.Object, error) {
	src, err := s3stream.Open(ctx, s.S3(t.BucketRegion), t.Bucket, part.Key)
	if err != nil {
		return s3stream.Object{}, err
	}
	defer src.Close()
	sum := s3stream.NewHasher()
	rd, err := importcsv.NewReader(target, io.TeeReader(src, sum))
	if err != nil {
		return s3stream.Object{}, fmt.Errorf("read import part %s: %w", part.Key, err)
	}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return sum.Object(part.Key), nil
		}
		var rowErr *importcsv.RowError
		switch {
		case errors.As(err, &rowErr):
			err = f(RowResult{Line: rowErr.Line, Username: rowErr.Username})
		case err != nil:
			return s3stream.Object{}, fmt.Errorf("read import part %s: %w", part.Key, err)
		default:
			err = f(RowResult{Line: row.Line, Username: target.Username(row)})
		}
		if err != nil {
			return s3stream.Object{}, err
		}
	}
}

// logResult is what a job's log says of one line.
type logResult struct{ outcome, message string }

// jobLog is the result of each line of a job's log, in four bytes a line: the index (plus one)
// of its outcome and message among the log's distinct ones, which repeat (Cognito's messages
// carry no user data). Lines past the part's last row, which Cognito should not log, are kept
// aside.
type jobLog struct {
	byLine   []uint32
	past     map[int]uint32
	distinct []logResult
	index    map[logResult]uint32
}

// newJobLog makes the log of a part whose last row is at most line last.
func newJobLog(last int) *jobLog {
	return &jobLog{byLine: make([]uint32, 0, max(last+1, 0)), past: map[int]uint32{}, index: map[logResult]uint32{}}
}

func (l *jobLog) set(line int, r logResult) {
	code, ok := l.index[r]
	if !ok {
		// Clone: the message is a slice of the log event, which is not kept.
		r.message = strings.Clone(r.message)
		l.distinct = append(l.distinct, r)
		code = uint32(len(l.distinct))
		l.index[r] = code
	}
	switch {
	case line >= 0 && line < cap(l.byLine):
		if line >= len(l.byLine) {
			l.byLine = l.byLine[:line+1]
		}
		l.byLine[line] = code
	default:
		l.past[line] = code
	}
}

func (l *jobLog) result(line int) (logResult, bool) {
	code := l.past[line]
	if line >= 0 && line < len(l.byLine) {
		code = l.byLine[line]
	}
	if code == 0 {
		return logResult{}, false
	}
	return l.distinct[code-1], true
}

// readJobLog reads the job's row results; last is the part's last line.
func (s *Steps) readJobLog(ctx context.Context, t Target, job Job, last int) (*jobLog, error) {
	group := fmt.Sprintf("/aws/cognito/userpools/%s/%s", t.UserPoolID, t.PoolName)
	stream := job.JobID + "/" + job.Name
	log := newJobLog(last)
	pg := cloudwatchlogs.NewGetLogEventsPaginator(s.Logs(t.Region), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
	}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) {
		// GetLogEvents never ends a stream by omitting the token: it returns the same one again.
		o.StopOnDuplicateToken = true
	})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		var missing *cwltypes.ResourceNotFoundException
		if errors.As(err, &missing) {
			return log, nil // a job that failed before any row has no stream
		}
		if err != nil {
			return nil, fmt.Errorf("read import log %s %s: %w", group, stream, err)
		}
		for _, e := range out.Events {
			m := resultLine.FindStringSubmatch(strings.TrimSpace(aws.ToString(e.Message)))
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			log.set(n, logResult{outcome: outcomes[m[1]], message: m[3]})
		}
	}
	return log, nil
}

// outcomes are the row outcomes of the log's result kinds.
var outcomes = map[string]string{"SUCCEEDED": RowImported, "SKIPPED": RowSkipped, "FAILED": RowFailed}
