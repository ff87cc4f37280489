package failback

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
)

// ValidateImport builds the import CSVs of the users to import, against the primary pool's own
// header and rules. Rejected users are handled by API where possible (see ApplyChanges).
func (s *Steps) ValidateImport(ctx context.Context, in PlanRef) (CSVOutput, error) {
	p := in.Plan
	target, err := csvbuild.Target(ctx, s.Cognito(p.Request.PrimaryRegion), p.Request.PrimaryUserPoolID, p.Request.PrimaryRegion)
	if err != nil {
		return CSVOutput{}, err
	}
	b, err := csvbuild.Build(ctx, s.S3(p.Region), target, p.Bucket, p.Prefix+ImportUsersFile, p.Prefix+ImportDir)
	if err != nil {
		return CSVOutput{}, fmt.Errorf("validate import for %s: %w", p.Request.PrimaryUserPoolID, err)
	}
	files, err := s.bindPlan(ctx, p)
	return CSVOutput{Built: b, PlanFiles: files}, err
}
