package restore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// bound are the files an approval binds: what the steps after it read.
func (c CSVOutput) bound() []s3stream.Object {
	out := []s3stream.Object{c.Users, c.Rejects}
	for _, part := range c.Parts {
		out = append(out, part.Object)
	}
	return out
}

// RequestApproval asks the operators to approve a restore into a pool that already has users,
// with the failback's page and link rules (internal/approval: signed, expiring, single-use), then
// the state waits (.waitForTaskToken) for the decision. Nothing has been written to the pool yet.
func (s *Steps) RequestApproval(ctx context.Context, in ApprovalInput) (struct{}, error) {
	if in.TaskToken == "" {
		return struct{}{}, stateerr.Invalid("taskToken is required: RequestApproval must run as .waitForTaskToken")
	}
	p := in.Plan
	for _, f := range in.CSV.bound() {
		got, err := s3stream.Digest(ctx, s.S3(p.Region), p.Bucket, f.Key)
		if err != nil || got != f {
			return struct{}{}, &stateerr.PlanTampered{Msg: fmt.Sprintf("s3://%s/%s changed after it was built for this restore; RequestApproval changed nothing", p.Bucket, f.Key)}
		}
	}
	csv := in.CSV
	sum := approval.Summary{
		Title: fmt.Sprintf("Restore %s (%s) into %s (%s)", p.SourceName, p.SnapshotAt.UTC().Format(time.RFC3339), p.TargetName, p.Target.UserPoolID),
		Effect: fmt.Sprintf("Approving imports %d users of the snapshot into the pool %s, which already has users (those it has are skipped: the import never overwrites), "+
			"creates by API the users whose only problem is an unverified address, restores groups and memberships, and disables again the users disabled in the snapshot.",
			csv.Accepted, p.Target.UserPoolID),
		PlanKey: p.ManifestKey,
		Facts: []approval.Fact{
			{Label: "Snapshot", Value: p.ManifestKey},
			{Label: "Users in the snapshot", Value: fmt.Sprint(p.Counts.Users)},
			{Label: "Users in the target now", Value: targetUsersText(p)},
			{Label: "Importable by import job", Value: fmt.Sprint(csv.Accepted)},
			{Label: "Rejected by the import rules", Value: fmt.Sprintf("%d %s", csv.Rejected, reasonList(csv.ByReason))},
			{Label: "Groups / memberships", Value: fmt.Sprintf("%d / %d", p.Counts.Groups, p.Counts.Memberships)},
			{Label: "Disabled in the snapshot", Value: fmt.Sprint(p.Counts.Disabled)},
			{Label: "Federated users (not importable)", Value: fmt.Sprint(csv.External)},
		},
		Bound: csv.bound(),
	}
	ttl := time.Duration(p.ApprovalTimeoutSeconds) * time.Second
	link, err := s.Approvals.Create(ctx, in.TaskToken, p.ExecutionName, sum, ttl)
	if err != nil {
		return struct{}{}, fmt.Errorf("create approval: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nExecution: %s\n\n%s\n\n", sum.Title, p.ExecutionName, sum.Effect)
	for _, f := range sum.Facts {
		fmt.Fprintf(&b, "  %-34s %s\n", f.Label+":", f.Value)
	}
	fmt.Fprintf(&b, "\nReview and decide (the link works once and expires %s):\n%s\n\nNothing changes in the target pool until someone approves. Opening the link does not decide.\n",
		s.now().Add(ttl).UTC().Format("2006-01-02 15:04 MST"), link)
	subject := fmt.Sprintf("Approve Cognito DR restore into %s? %d users to import", p.Target.UserPoolID, csv.Accepted)
	if _, err := notify.Publish(ctx, s.SNS, s.TopicArn, subject, b.String()); err != nil {
		return struct{}{}, fmt.Errorf("publish approval request: %w", err)
	}
	return struct{}{}, nil
}

func targetUsersText(p Plan) string {
	if p.TargetUsers >= 60 {
		return "60 or more"
	}
	return fmt.Sprint(p.TargetUsers)
}

func reasonList(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "(" + notify.Counts(m) + ")"
}
