package failback

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// RequestApproval creates the approval for this plan and emails the operators a link to it. The
// state waits (.waitForTaskToken) until the approver decides or the timeout passes; the task
// token never leaves the approval store.
func (s *Steps) RequestApproval(ctx context.Context, in ApprovalInput) (struct{}, error) {
	if in.TaskToken == "" {
		return struct{}{}, stateerr.Invalid("taskToken is required: RequestApproval must run as .waitForTaskToken")
	}
	p := in.Plan
	if err := s.verifyBound(ctx, p, "RequestApproval", in.CSV.files()...); err != nil {
		return struct{}{}, err
	}
	samples, err := s.readSamples(ctx, p)
	if err != nil {
		return struct{}{}, err
	}
	sum := summary(p, in.CSV, samples)
	if in.Final != nil {
		finalSummary(&sum, p, *in.Final)
	}
	sum.Changes = &approval.ChangesFile{Bucket: p.Bucket, Object: in.CSV.PlanFiles.Actions}
	sum.Bound = in.CSV.files()
	ttl := time.Duration(p.ApprovalTimeoutSeconds) * time.Second
	if in.Final != nil {
		ttl = time.Duration(p.FinalApprovalTimeoutSeconds) * time.Second
	}
	link, err := s.Approvals.Create(ctx, in.TaskToken, executionName(p), sum, ttl)
	if err != nil {
		return struct{}{}, fmt.Errorf("create approval: %w", err)
	}
	subject := fmt.Sprintf("Approve Cognito DR failback to %s? %d to import, %d to update", p.Request.PrimaryUserPoolID, p.Counts.Import, p.Counts.Update)
	if in.Final != nil {
		subject = fmt.Sprintf("Approve the FINAL Cognito DR failback plan for %s? %d changes beyond the approved plan; DR is fenced", p.Request.PrimaryUserPoolID, in.Final.NewChanges)
	}
	if len(subject) > 100 {
		subject = subject[:97] + "..."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nExecution: %s\n\n%s\n\n", sum.Title, executionName(p), sum.Effect)
	for _, f := range sum.Facts {
		fmt.Fprintf(&b, "  %-34s %s\n", f.Label+":", f.Value)
	}
	// Users and their attributes are shown on the signed page only, never in the email.
	fmt.Fprintf(&b, "\nThe approval page lists every user changed by API, with each attribute's value now and after.\n")
	fmt.Fprintf(&b, "\nReview and decide (the link works once and expires %s):\n%s\n\nNothing changes in the primary pool until someone approves. Opening the link does not decide.\n",
		s.now().Add(ttl).UTC().Format("2006-01-02 15:04 MST"), link)
	if _, err := notify.Publish(ctx, s.SNS, s.TopicArn, subject, b.String()); err != nil {
		return struct{}{}, fmt.Errorf("publish approval request: %w", err)
	}
	return struct{}{}, nil
}

func executionName(p Plan) string {
	// The prefix ends in "<time>_<execution name>/".
	last := strings.TrimSuffix(p.runPrefix(), "/")
	last = last[strings.LastIndex(last, "/")+1:]
	_, name, _ := strings.Cut(last, "_")
	return name
}

func (s *Steps) readSamples(ctx context.Context, p Plan) (map[string][]string, error) {
	var ps PlanSummary
	if err := getJSON(ctx, s.S3(p.Region), p.Bucket, p.Prefix+PlanSummaryFile, &ps); err != nil {
		return nil, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("plan summary: %v", err)}
	}
	return ps.Samples, nil
}

// summary is what the approver sees on the page and in the email.
func summary(p Plan, csv CSVOutput, samples map[string][]string) approval.Summary {
	c := p.Counts
	sum := approval.Summary{
		Title: fmt.Sprintf("Fail back %s (%s) to %s", p.PrimaryName, p.Request.PrimaryUserPoolID, p.Request.PrimaryRegion),
		Effect: fmt.Sprintf("Approving imports %d users from the DR pool %s into the primary pool (import jobs; they must reset their password and set up MFA again), "+
			"updates %d changed users and adds %d group memberships by API, then marks the primary active, resumes reconcile, and disables and signs out the DR users that exist in the primary. "+
			"Approving first fences the DR pool at once (its users are told: %q) and plans again with it fenced, so what changed there meanwhile goes back too; "+
			"if that final plan has more than %d changes this one does not, you are asked again.",
			c.Import, p.Request.DRUserPoolID, c.Update, c.GroupAdds, p.Request.FencedMessage, margin(p.Request, p.changeCount())),
		PlanKey: p.Prefix + PlanSummaryFile,
		Facts: []approval.Fact{
			{Label: "Users in the primary pool", Value: fmt.Sprint(c.PrimaryUsers)},
			{Label: "Users in the DR pool", Value: fmt.Sprint(c.DRUsers)},
			{Label: "Users to import", Value: fmt.Sprint(c.Import)},
			{Label: "  importable by import job", Value: fmt.Sprint(csv.Accepted)},
			{Label: "  rejected by the import rules", Value: fmt.Sprintf("%d %s", csv.Rejected, reasonList(csv.ByReason))},
			{Label: "Users to update", Value: fmt.Sprint(c.Update)},
			{Label: "Group memberships to add", Value: fmt.Sprint(c.GroupAdds)},
			{Label: "Disabled in DR, enabled in the primary", Value: disabledText(p)},
			{Label: "Only in the primary (left alone)", Value: fmt.Sprint(c.PrimaryOnly)},
			{Label: "Held: UNCONFIRMED or unverified DR users with a primary user's sign-in value (nothing applied)", Value: fmt.Sprint(c.UnverifiedDR)},
			{Label: "Failover time", Value: p.Request.FailoverTime},
		},
	}
	if p.MatchNote != "" {
		sum.Facts = append(sum.Facts, approval.Fact{Label: "custom:primary_sub not used to match users", Value: p.MatchNote})
	}
	labels := make([]string, 0, len(samples))
	for l := range samples {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		if listed[l] {
			continue
		}
		sum.Samples = append(sum.Samples, approval.Sample{Label: "Sample: " + l, Names: samples[l]})
	}
	return sum
}

// finalSummary turns the summary of a final plan into the second approval's: the DR pool is
// fenced, and how the plan goes beyond the approved one.
func finalSummary(sum *approval.Summary, p Plan, c Comparison) {
	sum.Title = "Final plan: " + sum.Title
	sum.Effect = fmt.Sprintf("The DR pool %s is fenced since the first approval: nobody can sign in to either pool until you decide. "+
		"This final plan, taken with the DR pool fenced, has %d changes the approved plan did not (the approval covered %d): approving applies it as described below. "+
		"Rejecting, or no decision within %s, imports nothing and reopens the DR pool exactly as it was before the fence.",
		p.Request.DRUserPoolID, c.NewChanges, c.Margin, time.Duration(p.FinalApprovalTimeoutSeconds)*time.Second)
	sum.Facts = append([]approval.Fact{
		{Label: "Changes beyond the approved plan", Value: fmt.Sprintf("%d (margin %d)", c.NewChanges, c.Margin)},
		{Label: "Changes in the approved plan", Value: fmt.Sprint(c.ApprovedChanges)},
		{Label: "Changes in this final plan", Value: fmt.Sprint(c.FinalChanges)},
		{Label: "Approved changes no longer planned", Value: fmt.Sprint(c.Dropped)},
	}, sum.Facts...)
}

// changeCount is how many changes the plan makes: users to import and actions.
func (p Plan) changeCount() int {
	c := p.Counts
	n := c.Import + c.Update + c.GroupAdds
	if p.Request.ApplyDisables {
		n += c.DisabledInDR
	}
	return n
}

// listed are the kinds of change the page lists in full from the actions file: no samples.
var listed = map[string]bool{"update": true, "group add": true}

func disabledText(p Plan) string {
	if p.Request.ApplyDisables {
		return fmt.Sprintf("%d (will be disabled in the primary)", p.Counts.DisabledInDR)
	}
	return fmt.Sprintf("%d (reported only; applyDisables is off)", p.Counts.DisabledInDR)
}

func reasonList(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "(" + notify.Counts(m) + ")"
}
