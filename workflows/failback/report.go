package failback

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// UserReport is what happened to one DR user, one JSON line of the report.
type UserReport struct {
	Key        string `json:"key"`
	DRUsername string `json:"drUsername"`
	// Primary is the user's fate in the primary pool: imported, skipped-existing, created-by-api,
	// import-failed, result-unknown, rejected, updated, update-failed, unchanged, or unverified-dr-user
	// (held: matched to no primary user, nothing of it applied).
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
	// PrimaryResultUnknown: the import job's log never gave this user's row a result, so
	// whether the import created it is not known (the disable step looks it up itself).
	PrimaryResultUnknown = "result-unknown"
	PrimaryRejected      = "rejected"
	PrimaryUpdated       = "updated"
	PrimaryUpdateFailed  = "update-failed"
	PrimaryUnchanged     = "unchanged"
)

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
	if n := out.Outcomes["primary:"+poolpair.UnverifiedDRUser]; n > 0 {
		fmt.Fprintf(&b, "DR users held back (UNCONFIRMED or unverified, with a primary user's sign-in value; nothing of theirs was applied): %d\n", n)
	}
	if p.MatchNote != "" {
		fmt.Fprintf(&b, "custom:primary_sub was not used to match users: %s.\n", p.MatchNote)
	}
	fmt.Fprintf(&b, "Per-user report: s3://%s/%s\n\n", p.Bucket, out.Report.Key)
	b.WriteString("Imported and API-created users must reset their password (imports carry no password) and set up MFA again at their next sign-in: TOTP secrets cannot be exported.\n")
	return b.String()
}

// modesLeft is what the failback left of the switch, as the state says.
func modesLeft(in ReportInput) Modes {
	m := Modes{Primary: "unknown", DR: "unknown", Schedule: "unknown"}
	if f := in.Fence; f != nil && f.State != nil {
		m.DR = string(f.State.Mode)
	}
	if a := in.Activation; a != nil {
		if a.Primary.State != nil {
			m.Primary = string(a.Primary.State.Mode)
		}
		m.Schedule = a.Schedule.Action
	}
	return m
}

// switchText tells the operators what the failback did to the modes and the schedule, and what is
// left to them.
func switchText(in ReportInput) string {
	var b strings.Builder
	b.WriteString("\nThe switch:\n")
	if f := in.Fence; f != nil && f.State != nil {
		fmt.Fprintf(&b, "  DR pool %s: %s (%s) since %s; its users are told %q.\n", f.Pool, f.State.Mode, f.Action, f.State.Since.UTC().Format(time.RFC3339), f.State.Message)
	}
	if c := in.Compare; c != nil {
		fmt.Fprintf(&b, "  Final plan: %d changes beyond the approved plan (margin %d)", c.NewChanges, c.Margin)
		if !c.WithinMargin {
			b.WriteString(", approved again")
		}
		b.WriteString(".\n")
	}
	if a := in.Activation; a != nil {
		if st := a.Primary.State; st != nil {
			fmt.Fprintf(&b, "  Primary pool %s: %s (%s) since %s.\n", a.Primary.Pool, st.Mode, a.Primary.Action, st.Since.UTC().Format(time.RFC3339))
		}
		sc := a.Schedule
		switch sc.Action {
		case failover.Resumed, failover.AlreadyResumed:
			fmt.Fprintf(&b, "  Reconcile schedule %s/%s in %s: %s.\n", sc.Group, sc.Name, sc.Region, sc.Action)
		case failover.NotFound:
			fmt.Fprintf(&b, "  Reconcile schedule %s/%s not found in %s: reconcile is not deployed, nothing to resume.\n", sc.Group, sc.Name, sc.Region)
		case failover.Skipped:
			b.WriteString("  No reconcile schedule is configured (RECONCILE_SCHEDULE_NAME): nothing resumed.\n")
		default:
			fmt.Fprintf(&b, "  Reconcile schedule %s/%s in %s was NOT resumed (%s): enable it yourself (aws scheduler get-schedule, then update-schedule with State ENABLED and everything else as read).\n", sc.Group, sc.Name, sc.Region, sc.Error)
		}
	}
	return b.String()
}

func (s *Steps) publish(ctx context.Context, subject, body string) (string, error) {
	return notify.Publish(ctx, s.SNS, s.TopicArn, subject, body)
}

// NotifyFailback tells the operators that a failback ended without completing: rejected, timed
// out, or failed.
func (s *Steps) NotifyFailback(ctx context.Context, in NotifyInput) (struct{}, error) {
	var subject, body string
	switch in.Outcome {
	case "REJECTED":
		subject = "Cognito DR failback rejected: nothing was changed"
		body = fmt.Sprintf("The approver rejected failback %s. Nothing was changed in either pool.\n\n%s\n", in.ExecutionName, errText(in.Error))
		if in.Fence != nil {
			subject = "Cognito DR failback: final plan rejected, DR pool reopened"
			body = fmt.Sprintf("The approver rejected the final plan of failback %s. Nothing was imported or changed in the primary pool.\n\n%s\n%s\n", in.ExecutionName, fenceText(in.Fence), errText(in.Error))
		}
	case "TIMED_OUT":
		subject = "Cognito DR failback not approved in time: nothing was changed"
		body = fmt.Sprintf("Nobody approved failback %s before its approval timeout. Nothing was changed in either pool; start a new failback when ready.\n", in.ExecutionName)
		if in.Fence != nil {
			subject = "Cognito DR failback: final plan not approved in time, DR pool reopened"
			body = fmt.Sprintf("Nobody approved the final plan of failback %s in time. Nothing was imported or changed in the primary pool; start a new failback when ready.\n\n%s\n", in.ExecutionName, fenceText(in.Fence))
		}
	case "FAILED":
		subject = "Cognito DR failback failed"
		if in.Error != nil {
			subject += ": " + in.Error.Error
		}
		if in.Changes == nil {
			subject += ", nothing was changed"
		} else {
			subject += " after changes"
		}
		pools := "either pool"
		if in.Changes != nil {
			pools = "the primary pool (imports, API changes) or the DR pool (disables)"
		}
		story := stateerr.Story(in.Changes, pools, ApplyLedgerDir+" (API changes)", DisableLedgerDir+" (disables)", ImportDir+" (import jobs)")
		body = fmt.Sprintf("Failback %s failed.\n\n%s\n\n%s%s\nRe-running the failback with the same input is safe: it plans again from fresh exports, users already imported are skipped, and disabling is idempotent.\n", in.ExecutionName, story, fenceText(in.Fence), errText(in.Error))
	default:
		return struct{}{}, stateerr.Invalid("outcome %q is not REJECTED, TIMED_OUT or FAILED", in.Outcome)
	}
	_, err := s.publish(ctx, subject, body)
	return struct{}{}, err
}

// fenceText says what the failback did to the DR pool's mode and, while it is fenced, how to
// reopen it: nobody can sign in to either pool until the failback is re-run or the DR pool reopened.
func fenceText(f *Fence) string {
	if f == nil {
		return ""
	}
	param := cmp.Or(f.Parameter, poolmode.ParameterName(f.Pool))
	switch f.Action {
	case failover.Reopened:
		if f.State != nil {
			return fmt.Sprintf("The DR pool %s (%s) was fenced for the final plan and is open again: its mode is back to %s (cause %q, since %s), as before the failback.\n",
				f.Pool, f.Region, f.State.Mode, f.State.Cause, f.State.Since.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("The DR pool %s (%s) is open again.\n", f.Pool, f.Region)
	case FenceUnconfirmed:
		return fmt.Sprintf("The DR pool %s (%s) MAY BE FENCED: the failback was fencing it when it failed. Read its mode: aws ssm get-parameter --region %s --name %s\n"+
			"If it reads fenced with cause failback, nobody can sign in to either pool: re-run the failback, or reopen the DR pool with the mode it had before "+
			"(recorded in the failback's %s).\n", f.Pool, f.Region, f.Region, param, FenceRecordFile)
	}
	prev := `{"mode":"active","since":"<the failover time>","cause":"failover"}`
	if f.Previous != nil {
		if b, err := json.Marshal(f.Previous); err == nil {
			prev = string(b)
		}
	}
	return fmt.Sprintf("The DR pool %s (%s) IS FENCED by this failback: its users cannot sign in, sign up or refresh; unless the failback got as far as ActivatePrimary (see the execution's history), "+
		"the primary is not active either, and nobody can sign in to either pool. Re-run the failback to finish the move, or reopen the DR pool with the mode it had before the fence:\n"+
		"  aws ssm put-parameter --region %s --name %s --type String --overwrite --value '%s'\n", f.Pool, f.Region, f.Region, param, prev)
}

func errText(e *StateError) string {
	if e == nil {
		return ""
	}
	return e.Error + ": " + e.Message()
}
