package restore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Cognito is what the restore steps call on the target pool.
type Cognito interface {
	importjob.Cognito
	importjob.CreateAPI
	poolconfig.CreateAPI
	poolconfig.AddAPI
	export.Cognito
	cip.ListUsersAPIClient
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, optFns ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
	// The drill's canary sign-in and the deletion of its scratch pool.
	AdminSetUserPassword(ctx context.Context, in *cip.AdminSetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error)
	AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, optFns ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error)
	AssociateSoftwareToken(ctx context.Context, in *cip.AssociateSoftwareTokenInput, optFns ...func(*cip.Options)) (*cip.AssociateSoftwareTokenOutput, error)
	VerifySoftwareToken(ctx context.Context, in *cip.VerifySoftwareTokenInput, optFns ...func(*cip.Options)) (*cip.VerifySoftwareTokenOutput, error)
	AdminRespondToAuthChallenge(ctx context.Context, in *cip.AdminRespondToAuthChallengeInput, optFns ...func(*cip.Options)) (*cip.AdminRespondToAuthChallengeOutput, error)
	DeleteUserPool(ctx context.Context, in *cip.DeleteUserPoolInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolOutput, error)
}

// S3 is what the restore steps call on the backup bucket.
type S3 interface {
	transfermanager.S3APIClient
	s3.ListObjectsV2APIClient
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// SNS publishes notifications.
type SNS interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Approvals creates the approval an operator answers from the emailed link.
type Approvals interface {
	Create(ctx context.Context, token, execution string, sum approval.Summary, ttl time.Duration) (string, error)
}

// Steps are the tasks of the restore state machine.
type Steps struct {
	Cognito func(region string) Cognito
	S3      func(region string) S3
	SNS     func(region string) SNS
	// Secrets reads the identity-provider and app-client secrets a request names, in the
	// secret's Region.
	Secrets   func(region string) Secrets
	Approvals Approvals
	// Import runs the import jobs (the same steps as failback's).
	Import *importjob.Steps
	// TopicArn receives the approval request and the outcome.
	TopicArn string
	// Quota paces every Cognito call to its quota category; nil means quota.Default().
	Quota *quota.Registry
	// BatchTime bounds how long a looping step works before it returns its cursor; zero means
	// 10 minutes.
	BatchTime time.Duration
	// Budget, if set, replaces BatchTime for the apply phases: a budget per invocation whose Open
	// says whether to start another unit, page or chunk (tests count them: checkpoint.Starts).
	Budget func() checkpoint.Budget
	// ExportBudget is how long one invocation of the ExportTarget or WriteReport loop works
	// (EXPORT_BUDGET_SECONDS, as the backup's export); zero means checkpoint.DefaultBudget.
	ExportBudget time.Duration
	// PageSize, BucketUsers and OpenFiles size the apply phases' work lists (worklist.go); zero
	// means DefaultPageSize, DefaultBucketUsers and DefaultOpenFiles. BucketUsers also sizes the
	// report's join buckets (zero there means partition.DefaultBucketUsers).
	PageSize    int
	BucketUsers int
	OpenFiles   int
	// Metrics receives the drill's metrics as CloudWatch embedded metric format lines (the
	// Lambda's standard output); nil publishes none.
	Metrics io.Writer
	Now     func() time.Time
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Steps) batchTime() time.Duration {
	if s.BatchTime > 0 {
		return s.BatchTime
	}
	return 10 * time.Minute
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, topicArn, importLogsRoleArn string) *Steps {
	return &Steps{
		Cognito:  func(region string) Cognito { return clients.Cognito(region) },
		S3:       func(region string) S3 { return clients.S3(region) },
		SNS:      func(region string) SNS { return clients.SNS(region) },
		Secrets:  func(region string) Secrets { return clients.SecretsManager(region) },
		Import:   importjob.NewSteps(clients, importLogsRoleArn),
		TopicArn: topicArn,
	}
}

// Settings of the restore tasks.
var (
	topicSetting  = boundary.Setting{Name: "TOPIC_ARN"}
	quotaSettings = boundary.Optional(quota.EnvNames()...)
	// budgetSetting is how long one ExportTarget or WriteReport invocation works: the backup
	// export's setting.
	budgetSetting = boundary.Setting{Name: export.BudgetSetting, Optional: true}
	// approvalSettings are what approval.LoadConfig reads (it decides which are required).
	approvalSettings = boundary.Optional(approval.EnvNames()...)
)

// The tasks of restore.asl.json besides the import tasks (importjob), which failback shares.
var (
	ResolveRestoreTask = boundary.Task[*Steps, ResolveInput, Plan]{
		Name: "resolve-restore", Placeholder: "ResolveRestoreFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).ResolveSnapshot,
	}
	PrepareRestoreTargetTask = boundary.Task[*Steps, PlanRef, Plan]{
		Name: "prepare-restore-target", Placeholder: "PrepareRestoreTargetFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).PrepareTarget,
	}
	BuildRestoreCsvTask = boundary.Task[*Steps, PlanRef, CSVOutput]{
		Name: "build-restore-csv", Placeholder: "BuildRestoreCsvFunctionArn",
		Load: load, Step: (*Steps).BuildImportCsv,
	}
	RequestRestoreApprovalTask = boundary.Task[*Steps, ApprovalInput, struct{}]{
		Name: "request-restore-approval", Placeholder: "RequestRestoreApprovalFunctionArn",
		Settings: append([]boundary.Setting{topicSetting}, approvalSettings...),
		Load:     approval.LoadWithService(load, func(s *Steps, svc *approval.Service) { s.Approvals = svc }),
		Step:     (*Steps).RequestApproval,
	}
	ApplyRestoreTask = boundary.Task[*Steps, ApplyInput, Progress]{
		Name: "apply-restore", Placeholder: "ApplyRestoreFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).Apply,
	}
	WriteRestoreReportTask = boundary.Task[*Steps, ReportInput, ReportProgress]{
		Name: "write-restore-report", Placeholder: "WriteRestoreReportFunctionArn",
		Settings: append([]boundary.Setting{topicSetting, budgetSetting}, quotaSettings...),
		Load:     load, Step: (*Steps).WriteReport,
	}
	VerifyRestoreDrillTask = boundary.Task[*Steps, DrillInput, DrillOutput]{
		Name: "verify-restore-drill", Placeholder: "VerifyRestoreDrillFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).VerifyDrill,
	}
	DeleteDrillPoolTask = boundary.Task[*Steps, DrillFinishInput, DrillOutput]{
		Name: "delete-drill-pool", Placeholder: "DeleteDrillPoolFunctionArn",
		Settings: append([]boundary.Setting{topicSetting}, quotaSettings...),
		Load:     load, Step: (*Steps).DeleteScratchPool,
	}
	NotifyRestoreTask = boundary.Task[*Steps, NotifyInput, struct{}]{
		Name: "notify-restore", Placeholder: "NotifyRestoreFunctionArn",
		Settings: []boundary.Setting{topicSetting},
		Load:     load, Step: (*Steps).Notify,
	}
)

// Tasks are the tasks of restore.asl.json.
var Tasks = append([]boundary.Def[*Steps]{
	ResolveRestoreTask, PrepareRestoreTargetTask, BuildRestoreCsvTask, RequestRestoreApprovalTask, ApplyRestoreTask, WriteRestoreReportTask,
	VerifyRestoreDrillTask, DeleteDrillPoolTask, NotifyRestoreTask,
}, importjob.For(func(s *Steps) *importjob.Steps { return s.Import })...)

// Functions maps each task placeholder of restore.asl.json to its handler on s: the local
// executor's binding.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return boundary.Bind(Tasks, s, log)
}

// load is a restore task's Load: the steps on clients with TOPIC_ARN when the task declares it
// and the quota overrides.
func load(_ context.Context, env *boundary.Env, clients *awsclients.Clients, _ *slog.Logger) (*Steps, error) {
	s := NewSteps(clients, "", "")
	if env.Declares(topicSetting.Name) {
		s.TopicArn = env.Get(topicSetting.Name)
	}
	rates, err := quota.FromEnv(env.Declared)
	budget, budgetErr := export.ParseBudget(env.Declared(budgetSetting.Name))
	if err := errors.Join(err, budgetErr); err != nil {
		return nil, err
	}
	s.Quota = quota.NewRegistry(rates)
	s.ExportBudget = budget
	// A Lambda's standard output is its log stream, where CloudWatch Logs extracts the drill's
	// embedded-format metrics.
	s.Metrics = os.Stdout
	return s, nil
}
