package failback

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// ledgerS3 holds ledger objects by key and lists them in key order, one page, honouring
// StartAfter only when startAfter is set.
type ledgerS3 struct {
	S3
	objects    map[string][]byte
	startAfter bool
}

func (l *ledgerS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	var keys []string
	for k := range l.objects {
		if l.startAfter && in.StartAfter != nil && k <= *in.StartAfter {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := &s3.ListObjectsV2Output{}
	for _, k := range keys {
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k)})
	}
	return out, nil
}

func (l *ledgerS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(l.objects[*in.Key]))}, nil
}

// TestLedgerRangesReadEachResultOnce: a ledger of 2.5 ranges of results, as checkpointed writes
// it (one object per chunk), read range by range — with or without S3 skipping the earlier
// ranges' keys — gives every result exactly once, in order; a ledger loop that never ran has
// no range, and a state without the loop's end reads the ledger in one.
func TestLedgerRangesReadEachResultOnce(t *testing.T) {
	const prefix = "run/ledger/disable/"
	n := 2*ledgerRange + ledgerRange/2
	objects := map[string][]byte{}
	for from := 0; from < n; from += checkpoint.Chunk {
		var b bytes.Buffer
		lw := snapshot.NewLineWriter(&b)
		for i := from; i < min(from+checkpoint.Chunk, n); i += 50 {
			if err := lw.Write(DisableResult{Index: i}); err != nil {
				t.Fatal(err)
			}
		}
		if err := lw.Close(); err != nil {
			t.Fatal(err)
		}
		objects[fmt.Sprintf("%s%08d.jsonl.gz", prefix, from)] = b.Bytes()
	}
	var want []int
	for i := 0; i < n; i += 50 {
		want = append(want, i)
	}
	ranges := ledgerRanges(&Progress{Done: true, Cursor: n})
	if len(ranges) != 3 || ranges[2].hi >= 0 {
		t.Fatalf("ranges %v; want 3, the last unbounded", ranges)
	}
	for _, startAfter := range []bool{true, false} {
		store := &ledgerS3{objects: objects, startAfter: startAfter}
		var got []int
		for _, rg := range ranges {
			if err := readLedger(context.Background(), store, "b", prefix, rg, func(d DisableResult) error {
				got = append(got, d.Index)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("S3 honours StartAfter %v: results read (-want +got):\n%s", startAfter, diff)
		}
	}
	if r := ledgerRanges(&Progress{Done: true}); len(r) != 0 {
		t.Errorf("an empty ledger has ranges %v", r)
	}
	if r := ledgerRanges(nil); len(r) != 1 || r[0] != (positions{0, -1}) {
		t.Errorf("a ledger of unknown size has ranges %v; want one, unbounded", r)
	}
}

// TestReportOfRowsCreatedAfterTheImport: a user whose import row was skipped or failed is created
// by API after the plan's updates. Its line says so with the import's outcome as the reason;
// a user the primary really had keeps its import outcome; one the API refuses too stays with the
// import's outcome, the API's answer added to the reason.
func TestReportOfRowsCreatedAfterTheImport(t *testing.T) {
	type want struct{ primary, reason string }
	for _, tt := range []struct {
		name  string
		row   RowResult
		apply ApplyResult
		want  want
	}{
		{"skipped then created", RowResult{Outcome: RowSkipped, Message: "The user already exists."},
			ApplyResult{OK: true}, want{PrimaryCreatedByAPI, "created by API after the plan's updates; the import job's row: skipped-existing The user already exists."}},
		{"skipped and there", RowResult{Outcome: RowSkipped, Message: "The user already exists."},
			ApplyResult{OK: true, Existed: true, Message: "already existed in the primary before this failback"}, want{PrimarySkipped, "The user already exists."}},
		{"failed and refused", RowResult{Outcome: RowFailed, Message: "bad row"},
			ApplyResult{Message: "InvalidParameterException"}, want{PrimaryImportFailed, "bad row; created by API after the plan's updates: refused: InvalidParameterException"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := newReportJoin()
			j.put(reportEntry{Key: "k", DRUser: "dr-1"})
			row := tt.row
			j.put(reportEntry{Key: "k", Row: &row})
			a := tt.apply
			a.Kind, a.Key, a.DRUsername = ActionCreateAfterImport, "k", "dr-1"
			j.put(reportEntry{Key: "k", Apply: &a})
			if p, r := onlyLine(t, j); (want{p, r}) != tt.want {
				t.Errorf("line %+v, want %+v", want{p, r}, tt.want)
			}
		})
	}
}

// onlyLine is the primary outcome and reason of the join's one report line.
func onlyLine(t *testing.T, j *reportJoin) (primary, reason string) {
	t.Helper()
	if len(j.lines) != 1 {
		t.Fatalf("%d lines, want 1", len(j.lines))
	}
	return j.lines[0].Primary, j.lines[0].Reason
}

// TestReportOfDisablesApplied: a user the failback disabled in the primary, as the DR pool has it
// (applyDisables), is reported updated, or update-failed with the API's answer when the disable
// failed; a disable does not hide a failed update of the same user's attributes.
func TestReportOfDisablesApplied(t *testing.T) {
	type want struct{ primary, reason string }
	for _, tt := range []struct {
		name    string
		applied []ApplyResult
		want    want
	}{
		{"disabled", []ApplyResult{{Kind: ActionDisablePrimary, OK: true}}, want{PrimaryUpdated, ""}},
		{"disable refused", []ApplyResult{{Kind: ActionDisablePrimary, Message: "TooManyRequestsException"}}, want{PrimaryUpdateFailed, "TooManyRequestsException"}},
		{"updated and disabled", []ApplyResult{{Kind: ActionUpdate, OK: true}, {Kind: ActionDisablePrimary, OK: true}}, want{PrimaryUpdated, ""}},
		{"update refused, disabled", []ApplyResult{{Kind: ActionUpdate, Message: "InvalidParameterException"}, {Kind: ActionDisablePrimary, OK: true}},
			want{PrimaryUpdateFailed, "InvalidParameterException"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := newReportJoin()
			j.put(reportEntry{Key: "k", DRUser: "dr-1"})
			for _, a := range tt.applied {
				a.Key, a.DRUsername = "k", "dr-1"
				j.put(reportEntry{Key: "k", Apply: &a})
			}
			if p, r := onlyLine(t, j); (want{p, r}) != tt.want {
				t.Errorf("line %+v, want %+v", want{p, r}, tt.want)
			}
		})
	}
}
