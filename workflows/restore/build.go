package restore

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// StatusExternalProvider is the status of a federated user: created by Cognito at sign-in
// through an identity provider, never by an import.
const StatusExternalProvider = "EXTERNAL_PROVIDER"

// BuildImportCsv writes the snapshot's importable users (federated users left out) to the
// restore's users file and builds the import CSVs from it against the target pool's own header
// and rules, the backup's one implementation (csvbuild). It writes only the restore's files.
func (s *Steps) BuildImportCsv(ctx context.Context, in PlanRef) (CSVOutput, error) {
	p := in.Plan
	store := s.S3(p.Region)
	target, err := importjob.Rules(ctx, s.Cognito(p.Target.Region), s.Quota.Pacer(p.Target.Region, importjob.Ops), p.Target.UserPoolID, p.Target.Region)
	if err != nil {
		return CSVOutput{}, err
	}
	w := s3stream.Create(ctx, store, p.Bucket, p.Prefix+UsersFile)
	lw := snapshot.NewLineWriter(w)
	external := 0
	err = readUsers(ctx, store, p.Bucket, p.Snapshot.Users, func(u snapshot.User) error {
		if u.Status == StatusExternalProvider {
			external++
			return nil
		}
		return lw.Write(u)
	})
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		w.Abort(err)
		return CSVOutput{}, err
	}
	users, err := w.Close()
	if err != nil {
		return CSVOutput{}, err
	}
	b, err := csvbuild.Build(ctx, store, target, p.Bucket, users.Key, p.Prefix+ImportDir)
	if err != nil {
		return CSVOutput{}, fmt.Errorf("build import CSVs for %s: %w", p.Target.UserPoolID, err)
	}
	return CSVOutput{Built: b, Users: users, External: external}, nil
}
