package failback

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// UserReport is what happened to one DR user, one JSON line of the report.
type UserReport struct {
	Key        string `json:"key"`
	DRUsername string `json:"drUsername"`
	// Primary is the user's fate in the primary pool: imported, skipped-existing, created-by-api,
	// import-failed, rejected, updated, update-failed, unchanged.
	Primary string   `json:"primary"`
	Reason  string   `json:"reason,omitempty"`
	Groups  []string `json:"groupsAdded,omitempty"`
	// DR is the user's fate in the DR pool: disabled, not-in-primary (left enabled), failed.
	DR string `json:"dr"`
}

// Primary outcomes.
const (
	PrimaryImported     = "imported"
	PrimarySkipped      = "skipped-existing"
	PrimaryCreatedByAPI = "created-by-api"
	PrimaryImportFailed = "import-failed"
	PrimaryRejected     = "rejected"
	PrimaryUpdated      = "updated"
	PrimaryUpdateFailed = "update-failed"
	PrimaryUnchanged    = "unchanged"
)

// WriteReport joins the plan, the import results and the ledgers into one line per DR user, writes
// the report and its summary, and tells the operators.
func (s *Steps) WriteReport(ctx context.Context, in ReportInput) (ReportOutput, error) {
	p := in.Plan
	store := s.S3(p.Region)
	users := map[string]*UserReport{}
	byDR := map[string]*UserReport{} // by DR username: a key may differ (an email changed in DR)
	var order []string
	pl := newPlanner(p.UsernameAttribute, time.Time{}, false, nil)
	if err := snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+DRDir+export.UsersFile, func(u snapshot.User) error {
		k := pl.key(u)
		users[k] = &UserReport{Key: k, DRUsername: u.Username, Primary: PrimaryUnchanged, DR: "unknown"}
		byDR[u.Username] = users[k]
		order = append(order, k)
		return nil
	}); err != nil {
		return ReportOutput{}, err
	}
	get := func(k string) *UserReport {
		if r := users[k]; r != nil {
			return r
		}
		// A user absent from the DR export (its key changed) still gets a line.
		users[k] = &UserReport{Key: k, Primary: PrimaryUnchanged, DR: "unknown"}
		order = append(order, k)
		return users[k]
	}
	for _, res := range in.Imports {
		if err := snapshot.GetLines(ctx, store, p.Bucket, res.Key, func(r RowResult) error {
			u := get(r.Username)
			switch r.Outcome {
			case RowImported:
				u.Primary = PrimaryImported
			case RowSkipped:
				u.Primary, u.Reason = PrimarySkipped, r.Message
			default:
				u.Primary, u.Reason = PrimaryImportFailed, r.Message
			}
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
			u := get(rj.Username)
			u.Primary, u.Reason = PrimaryRejected, rj.Reason
			return nil
		})
		r.Close()
		if err != nil {
			return ReportOutput{}, err
		}
	}
	if err := readLedgers(ctx, store, p.Bucket, p.Prefix+ApplyLedgerDir, func(a ApplyResult) error {
		u := byDR[a.DRUsername]
		if u == nil {
			u = get(a.Key)
		}
		switch {
		case a.Kind == ActionCreate && a.Existed:
			u.Primary, u.Reason = PrimarySkipped, a.Message
		case a.Kind == ActionCreate && a.OK:
			u.Primary, u.Reason = PrimaryCreatedByAPI, a.Message
		case a.Kind == ActionUpdate && a.OK:
			u.Primary = PrimaryUpdated
		case a.Kind == ActionUpdate:
			u.Primary, u.Reason = PrimaryUpdateFailed, a.Message
		case a.Kind == ActionAddToGroup && a.OK:
			u.Groups = append(u.Groups, a.Group)
		}
		return nil
	}); err != nil {
		return ReportOutput{}, err
	}
	if err := readLedgers(ctx, store, p.Bucket, p.Prefix+DisableLedgerDir, func(d DisableResult) error {
		if u := byDR[d.DRUsername]; u != nil {
			u.DR = d.Outcome
		} else {
			get(d.Key).DR = d.Outcome
		}
		return nil
	}); err != nil {
		return ReportOutput{}, err
	}

	out := ReportOutput{Outcomes: map[string]int{}, SummaryKey: p.Prefix + ReportSummary}
	w := s3stream.Create(ctx, store, p.Bucket, p.Prefix+ReportFile)
	lw := snapshot.NewLineWriter(w)
	for _, k := range order {
		u := users[k]
		out.Users++
		out.Outcomes["primary:"+u.Primary]++
		out.Outcomes["dr:"+u.DR]++
		if u.DR != DRDisabled {
			// Still enabled in DR and not in the primary: this user would be lost if the DR pool went away.
			out.Lost++
		}
		if err := lw.Write(u); err != nil {
			w.Abort(err)
			return ReportOutput{}, err
		}
	}
	if err := lw.Close(); err != nil {
		w.Abort(err)
		return ReportOutput{}, err
	}
	obj, err := w.Close()
	if err != nil {
		return ReportOutput{}, err
	}
	out.Report = obj
	body, _ := json.MarshalIndent(out, "", "  ")
	if _, err := s3stream.Put(ctx, store, p.Bucket, out.SummaryKey, body); err != nil {
		return ReportOutput{}, err
	}
	msgID, err := s.publish(ctx, fmt.Sprintf("Cognito DR failback to %s finished: %d users, %d not carried over", p.Request.PrimaryUserPoolID, out.Users, out.Lost), reportText(p, out))
	if err != nil {
		return ReportOutput{}, err
	}
	out.MessageID = msgID
	return out, nil
}

func reportText(p Plan, out ReportOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Failback of %s (%s) from %s finished.\n\n", p.PrimaryName, p.Request.PrimaryUserPoolID, p.Request.DRUserPoolID)
	keys := make([]string, 0, len(out.Outcomes))
	for k := range out.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-28s %d\n", k, out.Outcomes[k])
	}
	fmt.Fprintf(&b, "\nUsers still only in the DR pool: %d\n", out.Lost)
	fmt.Fprintf(&b, "Per-user report: s3://%s/%s\n\n", p.Bucket, out.Report.Key)
	b.WriteString("Imported and API-created users must reset their password (imports carry no password) and set up MFA again at their next sign-in: TOTP secrets cannot be exported.\n")
	return b.String()
}

func (s *Steps) publish(ctx context.Context, subject, body string) (string, error) {
	if len(subject) > 100 {
		subject = subject[:97] + "..."
	}
	region, err := awsclients.TopicRegion(s.TopicArn)
	if err != nil {
		return "", err
	}
	out, err := s.SNS(region).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(s.TopicArn), Subject: aws.String(subject), Message: aws.String(body)})
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", s.TopicArn, err)
	}
	return aws.ToString(out.MessageId), nil
}

// readLedgers reads every ledger object under prefix in key order.
func readLedgers[T any](ctx context.Context, store S3, bucket, prefix string, fn func(T) error) error {
	pg := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			if err := snapshot.GetLines(ctx, store, bucket, aws.ToString(o.Key), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// NotifyFailback tells the operators that a failback ended without completing: rejected, timed
// out, or failed.
func (s *Steps) NotifyFailback(ctx context.Context, in NotifyInput) (struct{}, error) {
	var subject, body string
	switch in.Outcome {
	case "REJECTED":
		subject = "Cognito DR failback rejected: nothing was changed"
		body = fmt.Sprintf("The approver rejected failback %s. Nothing was changed in either pool.\n\n%s\n", in.ExecutionName, errText(in.Error))
	case "TIMED_OUT":
		subject = "Cognito DR failback not approved in time: nothing was changed"
		body = fmt.Sprintf("Nobody approved failback %s before its approval timeout. Nothing was changed in either pool; start a new failback when ready.\n", in.ExecutionName)
	case "FAILED":
		subject = "Cognito DR failback failed"
		if in.Error != nil {
			subject += ": " + in.Error.Error
		}
		body = fmt.Sprintf("Failback %s failed.\n\n%s\n\nRe-running the failback with the same input is safe: it plans again from fresh exports, users already imported are skipped, and disabling is idempotent.\n", in.ExecutionName, errText(in.Error))
	default:
		return struct{}{}, stateerr.Invalid("outcome %q is not REJECTED, TIMED_OUT or FAILED", in.Outcome)
	}
	_, err := s.publish(ctx, subject, body)
	return struct{}{}, err
}

func errText(e *StateError) string {
	if e == nil {
		return ""
	}
	var lambdaErr struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(e.Cause), &lambdaErr) == nil && lambdaErr.Message != "" {
		return e.Error + ": " + lambdaErr.Message
	}
	return e.Error + ": " + e.Cause
}
