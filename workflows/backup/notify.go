package backup

import (
	"context"
	"fmt"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Notify publishes the outcome of a backup to the operators' topic.
func (s *Steps) Notify(ctx context.Context, in NotifyInput) (NotifyOutput, error) {
	subject, body, err := message(in)
	if err != nil {
		return NotifyOutput{}, err
	}
	id, err := notify.Publish(ctx, s.SNS, s.TopicArn, subject, body)
	if err != nil {
		return NotifyOutput{}, fmt.Errorf("backup %s notification: %w", strings.ToLower(in.Status), err)
	}
	return NotifyOutput{MessageID: id}, nil
}

// message renders the notification. SNS email subjects are limited to 100 characters.
func message(in NotifyInput) (subject, body string, err error) {
	var b strings.Builder
	switch in.Status {
	case "SUCCEEDED":
		if in.Export == nil || in.CSV == nil || in.Manifest == nil {
			return "", "", stateerr.Invalid("a SUCCEEDED notification needs export, csv and manifest")
		}
		e, c := in.Export, in.CSV
		subject = fmt.Sprintf("Cognito DR backup of %s succeeded: %d users", e.Source.UserPoolID, e.Users)
		fmt.Fprintf(&b, "Backup %s of user pool %s (%s) in %s succeeded.\n\n", in.ExecutionName, e.Source.UserPoolID, e.PoolName, e.Source.Region)
		fmt.Fprintf(&b, "Snapshot time:   %s\n", e.SnapshotAt.Format("2006-01-02 15:04:05 MST"))
		fmt.Fprintf(&b, "Users exported:  %d (%d disabled)\n", e.Users, e.Disabled)
		fmt.Fprintf(&b, "By status:       %s\n", notify.Counts(e.ByStatus))
		fmt.Fprintf(&b, "Groups:          %d with %d memberships\n", e.Groups, e.Memberships)
		fmt.Fprintf(&b, "Import CSVs for: %s in %s\n", c.Target.UserPoolID, c.Target.Region)
		fmt.Fprintf(&b, "Importable rows: %d in %d file(s)\n", c.Accepted, len(c.Parts))
		fmt.Fprintf(&b, "Rejected rows:   %d %s\n", c.Rejected, reasons(c.ByReason))
		fmt.Fprintf(&b, "\nManifest: s3://%s/%s (%s)\n", e.Snapshot.Bucket, in.Manifest.Key, e.Snapshot.Region)
		if c.Rejected > 0 {
			fmt.Fprintf(&b, "Rejects report: s3://%s/%s\n", e.Snapshot.Bucket, c.Rejects.Key)
		}
	case "FAILED":
		if in.Error == nil {
			return "", "", stateerr.Invalid("a FAILED notification needs error")
		}
		subject = fmt.Sprintf("Cognito DR backup failed: %s, nothing was changed", in.Error.Error)
		fmt.Fprintf(&b, "Backup %s failed with %s.\n\n%s\n\nNothing was changed: a backup only reads the user pool and writes to S3. No snapshot was recorded: files under the snapshot prefix without a manifest.json are an incomplete snapshot, never to be restored from; the next backup writes a new one.\n",
			in.ExecutionName, in.Error.Error, in.Error.Message())
	default:
		return "", "", stateerr.Invalid("status %q is not SUCCEEDED or FAILED", in.Status)
	}
	return notify.Subject(subject), b.String(), nil
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "(" + notify.Counts(m) + ")"
}
