package backup

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// RejectsFile is the rejects report of an import, one JSON object per rejected user.
const RejectsFile = csvbuild.RejectsFile

// BuildImportCsv streams the snapshot's users through the target pool's import rules: accepted
// rows go to CSV parts within Cognito's per-file limits, rejected users to a report with a reason
// each.
func (s *Steps) BuildImportCsv(ctx context.Context, in CSVInput) (CSVOutput, error) {
	if in.Snapshot.Bucket == "" || in.Snapshot.Prefix == "" || in.Target.UserPoolID == "" || in.Target.Region == "" {
		return CSVOutput{}, stateerr.Invalid("build import CSV: snapshot and target are required")
	}
	begin := s.now()
	target, err := csvbuild.Target(ctx, s.Cognito(in.Target.Region), in.Target.UserPoolID, in.Target.Region)
	if err != nil {
		return CSVOutput{}, err
	}
	dir := fmt.Sprintf("%simport/%s/", in.Snapshot.Prefix, in.Target.UserPoolID)
	b, err := csvbuild.Build(ctx, s.S3(in.Snapshot.Region), target, in.Snapshot.Bucket, in.Snapshot.Prefix+UsersFile, dir)
	if err != nil {
		return CSVOutput{}, fmt.Errorf("build import CSV for %s: %w", in.Target.UserPoolID, err)
	}
	return CSVOutput{Target: in.Target, Built: b, Seconds: s.now().Sub(begin).Seconds()}, nil
}
