package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// RejectsFile is the rejects report of an import, one JSON object per rejected user.
const RejectsFile = "rejects.jsonl"

// BuildImportCsv streams the snapshot's users through the target pool's import rules: accepted
// rows go to CSV parts within Cognito's per-file limits, rejected users to a report with a reason
// each. The rules come from the target pool itself (GetCSVHeader and DescribeUserPool), so the CSVs
// are what that pool's import job accepts.
func (s *Steps) BuildImportCsv(ctx context.Context, in CSVInput) (CSVOutput, error) {
	if in.Snapshot.Bucket == "" || in.Snapshot.Prefix == "" || in.Target.UserPoolID == "" || in.Target.Region == "" {
		return CSVOutput{}, stateerr.Invalid("build import CSV: snapshot and target are required")
	}
	begin := s.now()
	target, err := s.importTarget(ctx, in.Target)
	if err != nil {
		return CSVOutput{}, err
	}
	store := s.S3(in.Snapshot.Region)
	dir := fmt.Sprintf("%simport/%s/", in.Snapshot.Prefix, in.Target.UserPoolID)

	src, err := s3stream.Open(ctx, store, in.Snapshot.Bucket, in.Snapshot.Prefix+UsersFile)
	if err != nil {
		return CSVOutput{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("snapshot has no readable %s: %v", UsersFile, err)}
	}
	defer src.Close()

	keys := map[int]string{}
	parts := importcsv.NewWriter(target, func(n int) (io.WriteCloser, error) {
		keys[n] = fmt.Sprintf("%susers-%04d.csv", dir, n)
		return &objectWriter{s3stream.Create(ctx, store, in.Snapshot.Bucket, keys[n])}, nil
	})
	rejectsObj := s3stream.Create(ctx, store, in.Snapshot.Bucket, dir+RejectsFile)
	report := importcsv.NewReportWriter(rejectsObj)

	sum, err := importcsv.ValidateUsers(target, readUsers(src), parts, report)
	if err != nil {
		rejectsObj.Abort(err)
		return CSVOutput{}, fmt.Errorf("build import CSV for %s from s3://%s/%s: %w", in.Target.UserPoolID, in.Snapshot.Bucket, in.Snapshot.Prefix, err)
	}
	rejects, err := rejectsObj.Close()
	if err != nil {
		return CSVOutput{}, err
	}
	out := CSVOutput{
		Target:     in.Target,
		Rows:       sum.Rows,
		Importable: sum.Accepted,
		Rejected:   sum.Rejected,
		ByReason:   sum.ByReason,
		Rejects:    rejects,
		Parts:      []CSVPart{},
		Seconds:    s.now().Sub(begin).Seconds(),
	}
	if out.ByReason == nil {
		out.ByReason = map[string]int{}
	}
	for _, p := range sum.Parts {
		out.Parts = append(out.Parts, CSVPart{Object: s3stream.Object{Key: keys[p.Number], Bytes: p.Bytes, SHA256: p.SHA256}, Rows: p.Rows})
	}
	return out, nil
}

// importTarget reads the rules of the pool the CSVs are for.
func (s *Steps) importTarget(ctx context.Context, ref PoolRef) (*importcsv.Target, error) {
	c := s.Cognito(ref.Region)
	pool, err := describePool(ctx, c, ref.UserPoolID, ref.Region)
	if err != nil {
		return nil, err
	}
	h, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: aws.String(ref.UserPoolID)})
	if err != nil {
		return nil, fmt.Errorf("get CSV header of %s: %w", ref.UserPoolID, err)
	}
	t, err := importcsv.NewTarget(h.CSVHeader, pool)
	if err != nil {
		return nil, &stateerr.PoolNotImportable{Msg: fmt.Sprintf("user pool %s cannot import users: %v", ref.UserPoolID, err)}
	}
	return t, nil
}

// readUsers yields the users of a snapshot file in order, then the first read error if any.
func readUsers(r io.Reader) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		errStop := errors.New("stop")
		err := snapshot.ReadLines(r, func(u snapshot.User) error {
			if !yield(u, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(snapshot.User{}, err)
		}
	}
}

// objectWriter adapts an S3 stream to the io.WriteCloser the CSV splitter opens per part.
type objectWriter struct{ *s3stream.Writer }

func (w *objectWriter) Close() error {
	_, err := w.Writer.Close()
	return err
}
