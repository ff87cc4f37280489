package replication

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// ReportDrift writes the report of the drift found before the repairs and left after them (both
// measured bucket by bucket from exports: what is true, not what the ledger believes) next to
// the per-user lists and sends the summary to the operators.
func (s *Steps) ReportDrift(ctx context.Context, in ReportInput) (Output, error) {
	p := in.Plan
	if !in.Before.Done || !in.After.Done {
		return Output{}, stateerr.Invalid("before and after must be done comparisons")
	}
	out := Output{
		ReportKey: p.Prefix + ReportFile,
		Before:    in.Before.Drift,
		After:     in.After.Drift,
		Repaired:  in.Progress.Applied,
		Failed:    in.Progress.Failed,
		Pending:   p.Pending,
		Resolved:  in.Progress.Resolved,
	}
	if err := putJSON(ctx, s.S3(p.Region), p.Bucket, out.ReportKey, out); err != nil {
		return Output{}, err
	}
	subject := fmt.Sprintf("Cognito DR reconcile: %d users drifted, %d repaired, %d left (RPO %s)", out.Before.Users, out.Repaired, out.After.Users, rpo(out.After))
	id, err := s.publish(ctx, subject, reportText(p, out))
	if err != nil {
		return Output{}, err
	}
	out.MessageID = id
	return out, nil
}

func rpo(d Drift) string {
	if d.OldestChange == nil {
		return "0s"
	}
	return (time.Duration(d.RPOSeconds) * time.Second).String()
}

func driftText(b *strings.Builder, bucket, title string, d Drift) {
	fmt.Fprintf(b, "%s: %d of %d primary users drifted (DR pool: %d users); RPO %s", title, d.Users, d.PrimaryUsers, d.DRUsers, rpo(d))
	if d.OldestChange != nil {
		fmt.Fprintf(b, " (oldest unrepaired change %s)", d.OldestChange.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")
	for _, k := range slices.Sorted(maps.Keys(d.Kinds)) {
		fmt.Fprintf(b, "  %-12s %d\n", k, d.Kinds[k])
	}
	fmt.Fprintf(b, "  per user: the drift files listed in s3://%s/%s\n", bucket, d.Key)
}

func reportText(p Plan, out Output) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reconcile of %s (%s) into %s (%s).\n\n", p.Request.PrimaryUserPoolID, p.Request.PrimaryRegion, p.Request.DRUserPoolID, p.Request.DRRegion)
	driftText(&b, p.Bucket, "Before", out.Before)
	driftText(&b, p.Bucket, "After", out.After)
	fmt.Fprintf(&b, "\nRepaired %d users, %d failed (see the ledger under s3://%s/%s%s).\n", out.Repaired, out.Failed, p.Bucket, p.Prefix, RepairLedger)
	fmt.Fprintf(&b, "Retry store: %d users the replicate trigger could not copy, %d resolved.\n", out.Pending, out.Resolved)
	if n := out.After.Kinds[KindDeleted]; n > 0 && !p.Request.MirrorDeletes {
		fmt.Fprintf(&b, "%d replicated users are gone from the primary and kept in the DR pool: run with \"mirrorDeletes\": true to delete them.\n", n)
	}
	if n := out.After.Kinds[KindDROnly]; n > 0 {
		fmt.Fprintf(&b, "%d users exist only in the DR pool (created there): failback carries them to the primary.\n", n)
	}
	if n := out.After.Kinds[KindUnverifiedDR]; n > 0 {
		fmt.Fprintf(&b, "%d DR users are UNCONFIRMED or unverified and have a primary user's sign-in value: held, never matched to that user (see the drift list).\n", n)
	}
	if n := out.After.Kinds[KindAwaitingVerification]; n > 0 {
		fmt.Fprintf(&b, "%d primary users changed their email or phone number and have not verified it yet; the DR pool keeps the original until then, so it is copied once verified.\n", n)
	}
	if p.MatchNote != "" {
		fmt.Fprintf(&b, "custom:primary_sub was not used to match users: %s.\n", p.MatchNote)
	}
	fmt.Fprintf(&b, "Report: s3://%s/%s\n", p.Bucket, out.ReportKey)
	return b.String()
}

func (s *Steps) publish(ctx context.Context, subject, body string) (string, error) {
	return notify.Publish(ctx, s.SNS, s.TopicArn, subject, body)
}

// NotifyFailed tells the operators that a reconcile failed and where.
func (s *Steps) NotifyFailed(ctx context.Context, in NotifyInput) (struct{}, error) {
	subject := "Cognito DR reconcile failed"
	if in.Error != nil {
		subject += ": " + in.Error.Error
	}
	story := stateerr.Story(in.Changes, "the DR pool", RepairLedger+" (every user repaired and how)")
	if in.Changes == nil {
		subject += ", nothing was changed"
	} else {
		subject += " after changes"
	}
	body := fmt.Sprintf("Reconcile %s failed.\n\n%s\n\n%s\n\nRunning reconcile again is safe: it compares fresh exports, and every repair is idempotent. Users the replicate trigger could not copy stay in the retry store until repaired.\n", in.ExecutionName, story, in.Error.Message())
	_, err := s.publish(ctx, subject, body)
	return struct{}{}, err
}
