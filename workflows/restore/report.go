package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
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

// reportOps are the calls WriteReport makes: listing the target for the new subs.
var reportOps = export.Ops

// WriteReport joins the snapshot's users with the import results, the rejects and the ledgers
// into one line per user, lists the target for each user's new sub and writes the sub map, both
// streamed to S3 as the snapshot is read, then the summary, and tells the operators.
func (s *Steps) WriteReport(ctx context.Context, in ReportInput) (ReportOutput, error) {
	p := in.Plan
	store := s.S3(p.Region)
	type result struct{ outcome, reason string }
	byName := map[string]result{}
	for _, res := range in.Imports {
		if err := snapshot.GetLines(ctx, store, p.Bucket, res.Key, func(r importjob.RowResult) error {
			o := result{OutcomeFailed, r.Message}
			switch r.Outcome {
			case importjob.RowImported:
				o = result{OutcomeImported, ""}
			case importjob.RowSkipped:
				o = result{OutcomeSkipped, r.Message}
			case importjob.RowResultUnknown:
				o = result{OutcomeResultUnknown, r.Message}
			}
			byName[p.Match.KeyOf(r.Username)] = o
			return nil
		}); err != nil {
			return ReportOutput{}, err
		}
	}
	if in.CSV.Rejected > 0 {
		r, err := s3stream.Open(ctx, store, p.Bucket, in.CSV.Rejects.Key)
		if err != nil {
			return ReportOutput{}, err
		}
		err = importcsv.ReadReport(r, func(rj importcsv.Reject) error {
			byName[p.Match.KeyOf(rj.Username)] = result{OutcomeFailed, "rejected by the import rules: " + strings.Join(append([]string{rj.Reason}, rj.Also...), ", ")}
			return nil
		})
		r.Close()
		if err != nil {
			return ReportOutput{}, err
		}
	}
	created, disabled, groups := map[string]ApplyResult{}, map[string]ApplyResult{}, map[string][]string{}
	if err := s.readLedger(ctx, p, PhaseCreate, func(a ApplyResult) { created[a.Username] = a }); err != nil {
		return ReportOutput{}, err
	}
	if err := s.readLedger(ctx, p, PhaseDisable, func(a ApplyResult) { disabled[a.Username] = a }); err != nil {
		return ReportOutput{}, err
	}
	if err := s.readLedger(ctx, p, PhaseMemberships, func(a ApplyResult) {
		if a.Username != "" && a.OK {
			groups[a.Username] = append(groups[a.Username], a.Group)
		}
	}); err != nil {
		return ReportOutput{}, err
	}
	subs := map[string]string{}
	pace := s.Quota.Pacer(p.Target.Region, reportOps)
	if _, err := export.New(s.Cognito(p.Target.Region), pace, export.Options{}).Users(ctx, p.Target.UserPoolID, func(u snapshot.User) error {
		subs[p.Match.Key(u)] = u.Attributes["sub"]
		return nil
	}); err != nil {
		return ReportOutput{}, fmt.Errorf("list the restored pool %s: %w", p.Target.UserPoolID, err)
	}

	out := ReportOutput{Outcomes: map[string]int{}, Target: p.Target, Created: p.Created, SummaryKey: p.Prefix + ReportSummary}
	rw, mw := s3stream.Create(ctx, store, p.Bucket, p.Prefix+ReportFile), s3stream.Create(ctx, store, p.Bucket, p.Prefix+SubMapFile)
	rl, ml := snapshot.NewLineWriter(rw), snapshot.NewLineWriter(mw)
	err := readUsers(ctx, store, p.Bucket, p.Snapshot.Users, func(u snapshot.User) error {
		line := UserReport{Username: u.Username, Outcome: OutcomeFailed, Reason: "no import result", OldSub: u.Attributes["sub"]}
		key := p.Match.Key(u)
		if r, ok := byName[key]; ok {
			line.Outcome, line.Reason = r.outcome, r.reason
		}
		if a, ok := created[u.Username]; ok {
			switch {
			case a.Existed:
				line.Outcome, line.Reason = OutcomeSkipped, a.Message
			case a.OK:
				line.Outcome, line.Reason = OutcomeCreatedByAPI, "the import refuses a user without a verified contact; invited by AdminCreateUser"
			default:
				line.Outcome, line.Reason = OutcomeFailed, a.Message
			}
		}
		if u.Status == StatusExternalProvider {
			line.Outcome, line.Reason = OutcomeNotImportable, "a federated user: Cognito creates it again at its next sign-in through its identity provider"
		}
		if !u.Enabled && u.Status != StatusExternalProvider {
			line.Disabled = "disable-failed"
			if a, ok := disabled[u.Username]; ok && a.OK {
				line.Disabled = "disabled"
				out.Disabled++
			}
		}
		line.Groups = groups[u.Username]
		slices.Sort(line.Groups)
		if sub, ok := subs[key]; ok && u.Status != StatusExternalProvider {
			line.NewSub = sub
			if err := ml.Write(SubMapping{Username: u.Username, OldSub: line.OldSub, NewSub: sub}); err != nil {
				return err
			}
			out.Mapped++
		}
		out.Outcomes[line.Outcome]++
		out.Users++
		return rl.Write(line)
	})
	if err == nil {
		err = rl.Close()
	}
	if err == nil {
		err = ml.Close()
	}
	if err != nil {
		rw.Abort(err)
		mw.Abort(err)
		return ReportOutput{}, err
	}
	if out.Report, err = rw.Close(); err != nil {
		mw.Abort(err)
		return ReportOutput{}, err
	}
	if out.SubMap, err = mw.Close(); err != nil {
		return ReportOutput{}, err
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return ReportOutput{}, err
	}
	if _, err := s3stream.Put(ctx, store, p.Bucket, out.SummaryKey, body); err != nil {
		return ReportOutput{}, err
	}
	out.MessageID, err = notify.Publish(ctx, s.SNS, s.TopicArn, summarySubject(p, out), summaryBody(p, out))
	return out, err
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
