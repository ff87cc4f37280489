package importjob_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// memRows is the size of the part the memory test imports: large enough that a task holding
// a few hundred bytes a row (what it held before) is tens of megabytes over the bound.
const memRows = 200_000

// smallRows is the part the memory test compares with: enough rows that the log is read in full
// pages, so what grows from it to memRows is what grows with the rows.
const smallRows = 20_000

// maxBytesPerRow bounds what CollectImportResults may hold per row of its part: a part of
// Cognito's 500,000 rows then adds at most 20 MB to its 512 MB function. Holding each row's
// username and log line (what it did before) is over 300.
const maxBytesPerRow = 40

// TestCollectImportResultsMemoryIsSmallPerRow imports a 200,000-row part into the emulator (one
// row in ten imported, the rest refused for an unverified email, so every result line carries a
// message) and collects its results: the heap the task keeps live grows by at most
// maxBytesPerRow for each row more than a 20,000-row part's, and the results are every row's, in
// the part's order.
func TestCollectImportResultsMemoryIsSmallPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 200,000 rows")
	}
	st, steps, target := importStack(t, "memory")

	// The small part's users follow the big part's, so that every big part's user is new.
	small := importPart(t, st, steps, target, 1, memRows, smallRows)
	_, smallPeak := peakLiveHeap(t, steps, small)
	big := importPart(t, st, steps, target, 2, 0, memRows)
	res, bigPeak := peakLiveHeap(t, steps, big)

	perRow := (int64(bigPeak) - int64(smallPeak)) / (memRows - smallRows)
	t.Logf("peak live heap: %d rows %.1f MB, %d rows %.1f MB: %d bytes a row", small.Part.Rows, float64(smallPeak)/(1<<20), memRows, float64(bigPeak)/(1<<20), perRow)
	if perRow > maxBytesPerRow {
		t.Errorf("CollectImportResults holds %d bytes a row of its part (peak %.1f MB at %d rows), want at most %d",
			perRow, float64(bigPeak)/(1<<20), memRows, maxBytesPerRow)
	}

	wantImported := memRows / 10
	if !res.Final || res.Imported != wantImported || res.Failed != memRows-wantImported || res.Skipped != 0 || res.Unknown != 0 {
		t.Errorf("results %+v: want final, %d imported, %d failed", res, wantImported, memRows-wantImported)
	}
	rows := readResults(t, st, target, res.Key)
	if len(rows) != memRows {
		t.Fatalf("results file has %d rows, want %d", len(rows), memRows)
	}
	for i, r := range rows {
		want := importjob.RowResult{Line: i + 2, Username: devstack.Email(i), Outcome: importjob.RowFailed, Message: unverifiedMessage}
		if i%10 == 0 {
			want.Outcome, want.Message = importjob.RowImported, "The import succeeded."
		}
		if r != want {
			t.Fatalf("results row %d = %+v, want %+v", i, r, want)
		}
	}
}

const unverifiedMessage = "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true)."

// importPart writes a part of n rows (users first..first+n-1, every tenth with a verified email),
// runs it through an import job to its end and returns the input CollectImportResults is called with.
func importPart(t *testing.T, st *devstack.Stack, steps *importjob.Steps, target importjob.Target, number, first, n int) importjob.PartInput {
	t.Helper()
	ctx := t.Context()
	h, err := st.Clients.Cognito(target.Region).GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: aws.String(target.UserPoolID)})
	if err != nil {
		t.Fatal(err)
	}
	w := s3stream.Create(ctx, st.Clients.S3(target.BucketRegion), target.Bucket, fmt.Sprintf("%spart-%d.csv", target.Prefix, number))
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, strings.Join(h.CSVHeader, ","))
	vals := make([]string, len(h.CSVHeader))
	for i := first; i < first+n; i++ {
		verified := "false"
		if i%10 == 0 {
			verified = "true"
		}
		for c, name := range h.CSVHeader {
			vals[c] = map[string]string{"cognito:username": devstack.Email(i), "cognito:mfa_enabled": "true", "email": devstack.Email(i),
				"email_verified": verified, "custom:tenant": "acme"}[name]
		}
		fmt.Fprintln(bw, strings.Join(vals, ","))
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	obj, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	in := importjob.PartInput{Target: target, Part: csvbuild.Part{Object: obj, Rows: n}, Number: number}
	job, err := steps.UploadImport(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Job = &job
	if job, err = steps.StartImport(ctx, in); err != nil || !job.Started {
		t.Fatalf("StartImport = %+v, %v", job, err)
	}
	// As the state machine does, poll until the job ends; a job that never ends is the test
	// binary's timeout.
	for !job.Done {
		if job, err = steps.PollImport(ctx, in); err != nil {
			t.Fatal(err)
		}
		in.Job = &job
		runtime.Gosched()
	}
	return in
}

// peakLiveHeap runs CollectImportResults on in and returns the most heap it keeps live over
// what was live before, found at each call it makes to read the part or the log, and at each
// megabyte it reads of the part: a garbage collection, then the heap it left live. The emulator
// serving the calls runs in this process and keeps about the same heap throughout.
func peakLiveHeap(t *testing.T, steps *importjob.Steps, in importjob.PartInput) (importjob.Results, uint64) {
	t.Helper()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	measure := func() uint64 {
		runtime.GC()
		metrics.Read(live)
		return live[0].Value.Uint64()
	}
	var peak uint64
	probe := func() { peak = max(peak, measure()) }
	probed := *steps
	probed.S3 = func(region string) importjob.S3 { return probedS3{steps.S3(region), probe} }
	probed.Logs = func(region string) importjob.Logs { return probedLogs{steps.Logs(region), probe} }
	base := measure()
	res, err := probed.CollectImportResults(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return res, max(peak, base) - base
}

type probedS3 struct {
	importjob.S3
	probe func()
}

func (p probedS3) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	p.probe()
	out, err := p.S3.GetObject(ctx, in, optFns...)
	if err == nil {
		out.Body = &probedBody{ReadCloser: out.Body, probe: p.probe}
	}
	return out, err
}

type probedBody struct {
	io.ReadCloser
	probe func()
	read  int
}

func (b *probedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.read/(1<<20) != (b.read+n)/(1<<20) || err == io.EOF {
		b.probe()
	}
	b.read += n
	return n, err
}

type probedLogs struct {
	importjob.Logs
	probe func()
}

func (p probedLogs) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	p.probe()
	return p.Logs.GetLogEvents(ctx, in, optFns...)
}

func readResults(t *testing.T, st *devstack.Stack, target importjob.Target, key string) []importjob.RowResult {
	t.Helper()
	r, err := s3stream.Open(t.Context(), st.Clients.S3(target.BucketRegion), target.Bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var rows []importjob.RowResult
	dec := json.NewDecoder(zr)
	for dec.More() {
		var row importjob.RowResult
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

// TestCollectImportResultsRefusesAPartChangedBetweenItsReads: the part is overwritten after
// CollectImportResults verified it and counted its rows, before it writes their results. It
// fails with PlanTampered and writes no results file: the counts of the first read would not
// be those of the rows it writes.
func TestCollectImportResultsRefusesAPartChangedBetweenItsReads(t *testing.T) {
	st, steps, target := importStack(t, "tampered")
	in := importPart(t, st, steps, target, 1, 0, 10)

	reads := 0
	tampering := *steps
	tampering.S3 = func(region string) importjob.S3 {
		return probedS3{steps.S3(region), func() {
			if reads++; reads == 3 { // verify, count, then write: the part loses its last row
				part, err := st.ReadObject(t.Context(), region, target.Bucket, in.Part.Key)
				if err != nil {
					t.Fatal(err)
				}
				part = part[:bytes.LastIndexByte(part[:len(part)-1], '\n')+1]
				w := s3stream.Create(t.Context(), steps.S3(region), target.Bucket, in.Part.Key)
				if _, err := w.Write(part); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}}
	}
	_, err := tampering.CollectImportResults(t.Context(), in)
	var tampered *stateerr.PlanTampered
	if !errors.As(err, &tampered) {
		t.Fatalf("CollectImportResults = %v, want PlanTampered", err)
	}
	if reads < 3 {
		t.Fatalf("the part was read %d times, want the overwrite before the third", reads)
	}
	if _, err := st.ReadObject(t.Context(), target.BucketRegion, target.Bucket, target.Prefix+importjob.ResultsDir+"0001.jsonl.gz"); err == nil {
		t.Error("a results file was written from the changed part")
	}
}

// importStack starts a local stack with the Osaka pool seeded and a bucket for an import run
// named name: the steps and the target of its imports.
func importStack(t *testing.T, name string) (*devstack.Stack, *importjob.Steps, importjob.Target) {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	spec := devstack.OsakaPool()
	pool, err := st.SeedPool(spec)
	if err != nil {
		t.Fatal(err)
	}
	bucket := "import-" + name
	if err := st.AWS.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	steps := importjob.NewSteps(st.Clients, "arn:aws:iam::000000000000:role/CognitoImport")
	return st, steps, importjob.Target{UserPoolID: pool, Region: spec.Region, PoolName: spec.Name,
		Bucket: bucket, BucketRegion: spec.Region, Prefix: "run/", JobPrefix: name}
}
