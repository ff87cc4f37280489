package failback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Functions maps each task placeholder of failback.asl.json to the handler that runs it. The
// Lambda mains and the local executor both bind this table.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return map[string]boundary.Func{
		"PlanFailbackFunctionArn":         boundary.Handler("plan-failback", s.PlanFailback, log),
		"ValidateImportFunctionArn":       boundary.Handler("validate-import", s.ValidateImport, log),
		"RequestApprovalFunctionArn":      boundary.Handler("request-approval", s.RequestApproval, log),
		"UploadImportFunctionArn":         boundary.Handler("upload-import", s.UploadImport, log),
		"StartImportFunctionArn":          boundary.Handler("start-import", s.StartImport, log),
		"PollImportFunctionArn":           boundary.Handler("poll-import", s.PollImport, log),
		"CollectImportResultsFunctionArn": boundary.Handler("collect-import-results", s.CollectImportResults, log),
		"ApplyChangesFunctionArn":         boundary.Handler("apply-changes", s.ApplyChanges, log),
		"DisableUsersFunctionArn":         boundary.Handler("disable-users", s.DisableDrUsers, log),
		"WriteReportFunctionArn":          boundary.Handler("write-report", s.WriteReport, log),
		"NotifyFailbackFunctionArn":       boundary.Handler("notify-failback", s.NotifyFailback, log),
	}
}

// LoadFunctions is the lambdamain.Loader of the failback tasks. Environment: TOPIC_ARN (all),
// IMPORT_LOGS_ROLE_ARN (upload-import), the quota overrides of quota.FromEnv, and the approval settings of approval.LoadConfig
// (request-approval only: they are read at its first invocation).
func LoadFunctions(getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error) {
	topic := getenv("TOPIC_ARN")
	if topic == "" {
		return nil, errors.New("failback configuration: TOPIC_ARN is not set")
	}
	rates, err := quota.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("failback configuration: %w", err)
	}
	s := NewSteps(clients, topic, getenv("IMPORT_LOGS_ROLE_ARN"))
	s.Quota = quota.NewRegistry(rates)
	s.Approvals = &lazyApprovals{build: func(ctx context.Context) (Approvals, error) { return approval.FromEnv(ctx, getenv, log) }}
	return s.Functions(log), nil
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, topicArn, importLogsRoleArn string) *Steps {
	return &Steps{
		Cognito:           func(region string) Cognito { return clients.Cognito(region) },
		S3:                func(region string) S3 { return clients.S3(region) },
		SNS:               func(region string) SNS { return clients.SNS(region) },
		Logs:              func(region string) Logs { return clients.Logs(region) },
		TopicArn:          topicArn,
		ImportLogsRoleArn: importLogsRoleArn,
	}
}

// lazyApprovals builds the approval service at first use, so only the task that creates
// approvals needs their configuration.
type lazyApprovals struct {
	build func(context.Context) (Approvals, error)
	once  sync.Once
	svc   Approvals
	err   error
}

func (l *lazyApprovals) Create(ctx context.Context, token, execution string, sum approval.Summary, ttl time.Duration) (string, error) {
	l.once.Do(func() { l.svc, l.err = l.build(ctx) })
	if l.err != nil {
		return "", l.err
	}
	return l.svc.Create(ctx, token, execution, sum, ttl)
}
