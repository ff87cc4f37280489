package restore

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// StatusExternalProvider is the status of a federated user: created by Cognito at sign-in
// through an identity provider, never by an import.
const StatusExternalProvider = "EXTERNAL_PROVIDER"

// BuildImportCsv builds the import CSVs from the snapshot's users parts, each verified as it is
// read, against the target pool's own header and rules, the backup's one implementation
// (csvbuild), leaving federated users out; in the same pass it writes the importable users to the
// restore's users file, which the apply phases read. It works for one batch time (or Budget)
// from where its last invocation saved the build and returns done: false until the build is
// finished; the state machine loops it. It writes only the restore's files.
func (s *Steps) BuildImportCsv(ctx context.Context, in PlanRef) (CSVOutput, error) {
	p := in.Plan
	var budget checkpoint.Budget
	if s.Budget != nil {
		budget = s.Budget()
	} else {
		t := checkpoint.NewTimer(s.batchTime())
		defer t.Stop()
		budget = t
	}
	store := s.S3(p.Region)
	target, err := importjob.Rules(ctx, s.Cognito(p.Target.Region), s.Quota.Pacer(p.Target.Region, importjob.Ops), p.Target.UserPoolID, p.Target.Region)
	if err != nil {
		return CSVOutput{}, err
	}
	parts := make([]snapshot.Part, len(p.Snapshot.Users))
	for i, o := range p.Snapshot.Users {
		parts[i] = snapshot.Part{Object: o}
	}
	job := csvbuild.Job{
		Store: store, Bucket: p.Bucket, Parts: parts, Users: p.Counts.Users, Dir: p.Prefix + ImportDir,
		Read: func(ctx context.Context, i int, fn func(snapshot.User) error) error {
			return readVerified(ctx, store, p.Bucket, p.Snapshot.Users[i], fn)
		},
		Skip:    func(u snapshot.User) bool { return u.Status == StatusExternalProvider },
		KeptKey: p.Prefix + UsersFile,
	}
	res, err := csvbuild.Continue(ctx, target, job, budget)
	if err != nil {
		return CSVOutput{}, fmt.Errorf("build import CSVs for %s: %w", p.Target.UserPoolID, err)
	}
	return CSVOutput{Built: res.Built, Users: res.Kept, External: res.Skipped}, nil
}
