package backup

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// RejectsFile is the rejects report of an import, one JSON object per rejected user.
const RejectsFile = csvbuild.RejectsFile

// BuildImportCsv streams the snapshot's users through the target pool's import rules: accepted
// rows go to CSV parts within Cognito's per-file limits, rejected users to a report with a reason
// each. It works for one time budget (ExportBudget) from where its last invocation saved the
// build (csvbuild.Continue) and returns done: false until the build is finished; the state
// machine loops it.
func (s *Steps) BuildImportCsv(ctx context.Context, in CSVInput) (CSVOutput, error) {
	if in.Snapshot.Bucket == "" || in.Snapshot.Prefix == "" || in.Target.UserPoolID == "" || in.Target.Region == "" {
		return CSVOutput{}, stateerr.Invalid("build import CSV: snapshot and target are required")
	}
	b, _, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
	target, err := csvbuild.Target(ctx, s.Cognito(in.Target.Region), in.Target.UserPoolID, in.Target.Region)
	if err != nil {
		return CSVOutput{}, err
	}
	store := s.S3(in.Snapshot.Region)
	parts, err := snapshot.UsersParts(ctx, store, in.Snapshot.Bucket, in.Snapshot.Prefix)
	if err != nil {
		return CSVOutput{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("the users of snapshot s3://%s/%s are not readable: %v", in.Snapshot.Bucket, in.Snapshot.Prefix, err)}
	}
	job := csvbuild.Job{Store: store, Bucket: in.Snapshot.Bucket, Parts: parts, Dir: fmt.Sprintf("%simport/%s/", in.Snapshot.Prefix, in.Target.UserPoolID),
		Buckets: s.CSVBuckets, UnitUsers: s.CSVUnitUsers}
	res, err := csvbuild.Continue(ctx, target, job, b)
	if err != nil {
		return CSVOutput{}, fmt.Errorf("build import CSV for %s: %w", in.Target.UserPoolID, err)
	}
	return CSVOutput{Target: in.Target, Built: res.Built, Seconds: res.Seconds}, nil
}
