package restore

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// UserReport is what happened to one user of the snapshot, one JSON line of the report.
type UserReport struct {
	Username string `json:"username"`
	// Outcome is imported, skipped-existing, created-by-api, failed, result-unknown or
	// not-importable (a federated user).
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Disabled is "disabled" for a user disabled at snapshot time and disabled again,
	// "disable-failed" when that failed; empty for a user enabled in the snapshot.
	Disabled string `json:"disabled,omitempty"`
	// Groups are the groups the user was added to.
	Groups []string `json:"groups,omitempty"`
	OldSub string   `json:"oldSub,omitempty"`
	NewSub string   `json:"newSub,omitempty"`
}

// SubMapping is one line of sub-map.jsonl.gz: the user's sub in the snapshot and in the target,
// so applications can re-key the data they hold by sub.
type SubMapping struct {
	Username string `json:"username"`
	OldSub   string `json:"oldSub"`
	NewSub   string `json:"newSub"`
}

// Outcomes of a user.
const (
	OutcomeImported      = "imported"
	OutcomeSkipped       = "skipped-existing"
	OutcomeCreatedByAPI  = "created-by-api"
	OutcomeFailed        = "failed"
	OutcomeResultUnknown = "result-unknown"
	OutcomeNotImportable = "not-importable"
)

// WriteReport is one invocation of the ExportTarget or the WriteReport loop. Until the target's
// resumable export (internal/export, under TargetDir, checkpointed in S3) is done, it continues
// it for one time budget (ExportBudget, EXPORT_BUDGET_SECONDS) and returns: the ExportTarget loop.
// Then it works through the report's units (reportUnits) while its budget is open and returns its
// cursor: the WriteReport loop. The units join the snapshot's users with the import results, the
// rejects, the ledgers and the target's users a hash bucket at a time (internal/partition), so no
// invocation holds more than a bucket; the last writes the summary and tells the operators, and
// Output is the report's result.
func (s *Steps) WriteReport(ctx context.Context, in ReportInput) (ReportProgress, error) {
	b, length, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
	p, prog := in.Plan, in.Progress
	if p.Bucket == "" || p.Prefix == "" || p.Target.UserPoolID == "" {
		return prog, stateerr.Invalid("write report: the plan names no bucket, prefix or target")
	}
	if prog.Done {
		return prog, nil
	}
	prog.Invocations++
	if !prog.Export.Done {
		t := p.Target
		job := export.PoolJob{
			Pool: t.UserPoolID, Cognito: s.Cognito(t.Region), Pace: s.Quota.Pacer(t.Region, export.Ops),
			Estimated: func(ctx context.Context) (int, error) {
				desc, err := preflight.DescribePool(ctx, s.Cognito(t.Region), t.UserPoolID, t.Region)
				if err != nil {
					return 0, err
				}
				return int(desc.EstimatedNumberOfUsers), nil
			},
			Prefix: p.Prefix + TargetDir, State: &prog.Export,
		}
		if err := export.ResumePools(ctx, s.S3(p.Region), p.Bucket, b, length, job); err != nil {
			return in.Progress, fmt.Errorf("list the restored pool %s: %w", t.UserPoolID, err)
		}
		return prog, nil
	}
	if prog.Buckets == 0 {
		prog.Buckets = partition.Count(s.BucketUsers, int32(min(p.Counts.Users, math.MaxInt32)), int32(min(prog.Export.Users, math.MaxInt32)))
	}
	rj, err := s.reportJoin(ctx, in, prog.Buckets)
	if err != nil {
		return in.Progress, fmt.Errorf("write the report: %w", err)
	}
	units := rj.units()
	prog.Units = len(units)
	for prog.Next < len(units) && b.Open() {
		u := units[prog.Next]
		if err := rj.run(ctx, u, &prog); err != nil {
			return in.Progress, fmt.Errorf("write the report (%s): %w", u, err)
		}
		prog.Next++
	}
	prog.Done = prog.Next == len(units)
	return prog, nil
}

func (s *Steps) readLedger(ctx context.Context, p Plan, phase string, fn func(ApplyResult)) error {
	store := s.S3(p.Region)
	prefix := p.Prefix + LedgerDir + phase + "/"
	pages := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(p.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s ledger: %w", phase, err)
		}
		for _, o := range page.Contents {
			if err := snapshot.GetLines(ctx, store, p.Bucket, aws.ToString(o.Key), func(a ApplyResult) error { fn(a); return nil }); err != nil {
				return err
			}
		}
	}
	return nil
}

func summarySubject(p Plan, out ReportOutput) string {
	return fmt.Sprintf("Cognito DR restore into %s: %d of %d users restored", p.Target.UserPoolID, out.Outcomes[OutcomeImported]+out.Outcomes[OutcomeCreatedByAPI]+out.Outcomes[OutcomeSkipped], out.Users)
}

func summaryBody(p Plan, out ReportOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Restore %s finished.\n\nSnapshot: s3://%s/%s (%s, taken %s)\nTarget:   %s (%s, %s)\n\n",
		p.ExecutionName, p.Bucket, p.ManifestKey, p.SourceName, p.SnapshotAt.UTC().Format("2006-01-02 15:04 MST"), p.Target.UserPoolID, p.TargetName, p.Target.Region)
	fmt.Fprintf(&b, "Users: %d (%s)\nDisabled again: %d of %d disabled in the snapshot\nSub map entries: %d\n",
		out.Users, notify.Counts(out.Outcomes), out.Disabled, p.Counts.Disabled, out.Mapped)
	for _, n := range p.SchemaNotes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	if out.Created != nil {
		fmt.Fprintf(&b, "\nNew pool: %s\n", out.Created.UserPoolID)
		for old, nw := range out.Created.Clients {
			fmt.Fprintf(&b, "  app client %s is now %s\n", old, nw)
		}
		for _, ip := range out.Created.IdentityProviders {
			if ip.Created {
				fmt.Fprintf(&b, "  identity provider %s (%s) created\n", ip.Name, ip.Type)
			} else {
				fmt.Fprintf(&b, "  identity provider %s (%s) NOT created: %s\n", ip.Name, ip.Type, ip.Reason)
			}
		}
		for _, n := range out.Created.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\nPer-user report: s3://%s/%s\nSub map (snapshot sub -> new sub, for re-keying application data): s3://%s/%s\n",
		p.Bucket, out.Report.Key, p.Bucket, out.SubMap.Key)
	fmt.Fprintf(&b, "\nRestored users sign in with a password reset (the import carries no passwords) and set up MFA again.\n")
	return b.String()
}

// Notify tells the operators that a restore ended without completing: rejected, timed out, or
// failed.
func (s *Steps) Notify(ctx context.Context, in NotifyInput) (struct{}, error) {
	var subject, body string
	errText := ""
	if in.Error != nil {
		errText = in.Error.Error + ": " + in.Error.Message()
	}
	switch in.Outcome {
	case "REJECTED":
		subject = "Cognito DR restore rejected: nothing was changed"
		body = fmt.Sprintf("The approver rejected restore %s. Nothing was changed in the target pool.\n\n%s\n", in.ExecutionName, errText)
	case "TIMED_OUT":
		subject = "Cognito DR restore not approved in time: nothing was changed"
		body = fmt.Sprintf("Nobody approved restore %s before its approval timeout. Nothing was changed in the target pool.\n", in.ExecutionName)
	case "FAILED":
		subject = "Cognito DR restore failed"
		if in.Error != nil {
			subject += ": " + in.Error.Error
		}
		if in.Changes == nil {
			subject += ", nothing was changed"
		} else {
			subject += " after changes"
		}
		story := stateerr.Story(in.Changes, "the target pool", LedgerDir+" (API changes)", ImportDir+" (import jobs)")
		body = fmt.Sprintf("Restore %s failed.\n\n%s\n\n%s\n\nRe-running the restore with the same input is safe: users already imported are skipped, groups that exist are kept, and disabling is idempotent.\n", in.ExecutionName, story, errText)
		if p := in.Plan; p != nil && p.Request.Drill {
			key, err := s.recordFailedDrill(ctx, *p, errText)
			if err != nil {
				return struct{}{}, err
			}
			body += fmt.Sprintf("\nThe drill is recorded as failed: s3://%s/%s\n", p.Bucket, key)
		}
		if p := in.Plan; p != nil && p.Created != nil {
			if p.Request.Drill {
				body += fmt.Sprintf("This drill's scratch pool %s (%s) was not deleted: delete it (DeleteUserPool).\n", p.Created.UserPoolID, p.Target.Region)
			} else {
				body += fmt.Sprintf("\nThe restore created the pool %s (%s); a re-run with the same execution input creates another: restore into it with target instead.\n", p.Created.UserPoolID, p.Target.Region)
			}
		}
	default:
		return struct{}{}, stateerr.Invalid("outcome %q is not REJECTED, TIMED_OUT or FAILED", in.Outcome)
	}
	_, err := notify.Publish(ctx, s.SNS, s.TopicArn, subject, body)
	return struct{}{}, err
}
