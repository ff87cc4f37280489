package failback

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Settings of the failback tasks.
var (
	topicSetting = boundary.Setting{Name: "TOPIC_ARN"}
	// quotaSettings are the request-rate overrides (quota.FromEnv) of the tasks that pace Cognito.
	quotaSettings = boundary.Optional(quota.EnvNames()...)
	// approvalSettings are what approval.LoadConfig reads; it decides which are required (one of
	// the three key sources), so they are optional here.
	approvalSettings = boundary.Optional(approval.EnvNames()...)
	// bucketUsersSetting overrides partition.DefaultBucketUsers: how many users of a pool one
	// bucket of the plan holds, so what one PlanFailback unit holds in memory.
	bucketUsersSetting = boundary.Setting{Name: "FAILBACK_BUCKET_USERS", Optional: true}
	// budgetSetting is how long one ExportPools, PlanFailback or WriteReport invocation works:
	// the backup export's setting.
	budgetSetting = boundary.Setting{Name: export.BudgetSetting, Optional: true}
	// scheduleSettings name the reconcile schedule ActivatePrimary resumes; an empty name resumes none.
	scheduleSettings = boundary.Optional("RECONCILE_SCHEDULE_NAME", "RECONCILE_SCHEDULE_GROUP")
)

// The tasks of failback.asl.json: each Lambda main starts one, the local executor binds them all
// (Steps.Functions), the ASL lint checks them against the states and the CDK stack deploys them.
var (
	// PrepareFailbackTask runs the PreparePlan and PrepareFinalPlan states.
	PrepareFailbackTask = boundary.Task[*Steps, PlanInput, Plan]{
		Name: "prepare-failback", Placeholder: "PrepareFailbackFunctionArn",
		Settings: []boundary.Setting{bucketUsersSetting},
		Load:     load, Step: (*Steps).PreparePlan,
	}
	// ExportFailbackPoolsTask runs the ExportPools and ExportFinalPools loops.
	ExportFailbackPoolsTask = boundary.Task[*Steps, ExportInput, ExportProgress]{
		Name: "export-failback-pools", Placeholder: "ExportFailbackPoolsFunctionArn",
		Settings: append(slices.Clone(quotaSettings), budgetSetting),
		Load:     load, Step: (*Steps).ExportPools,
	}
	// PlanFailbackTask runs the PlanFailback and PlanFinalDelta loops.
	PlanFailbackTask = boundary.Task[*Steps, PlanExportsInput, PlanProgress]{
		Name: "plan-failback", Placeholder: "PlanFailbackFunctionArn",
		Settings: []boundary.Setting{budgetSetting},
		Load:     load, Step: (*Steps).PlanFailback,
	}
	ValidateImportTask = boundary.Task[*Steps, PlanRef, CSVOutput]{
		Name: "validate-import", Placeholder: "ValidateImportFunctionArn",
		Load: load, Step: (*Steps).ValidateImport,
	}
	// RequestApprovalTask reads the approval signing key at start-up: a task that cannot sign
	// links fails before the execution waits for an approval nobody can give.
	RequestApprovalTask = boundary.Task[*Steps, ApprovalInput, struct{}]{
		Name: "request-approval", Placeholder: "RequestApprovalFunctionArn",
		Settings: append([]boundary.Setting{topicSetting}, approvalSettings...),
		Load:     approval.LoadWithService(load, func(s *Steps, svc *approval.Service) { s.Approvals = svc }),
		Step:     (*Steps).RequestApproval,
	}
	ApplyChangesTask = boundary.Task[*Steps, ApplyInput, Progress]{
		Name: "apply-changes", Placeholder: "ApplyChangesFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).ApplyChanges,
	}
	DisableUsersTask = boundary.Task[*Steps, DisableInput, Progress]{
		Name: "disable-users", Placeholder: "DisableUsersFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).DisableDrUsers,
	}
	// WriteReportTask runs the WriteReport loop.
	WriteReportTask = boundary.Task[*Steps, ReportInput, ReportProgress]{
		Name: "write-report", Placeholder: "WriteReportFunctionArn",
		Settings: []boundary.Setting{topicSetting, budgetSetting},
		Load:     load, Step: (*Steps).WriteReport,
	}
	FenceDrTask = boundary.Task[*Steps, PlanRef, Fence]{
		Name: "fence-dr", Placeholder: "FenceDrFunctionArn",
		Load: load, Step: (*Steps).FenceDr,
	}
	ReopenDrTask = boundary.Task[*Steps, ReopenInput, Fence]{
		Name: "reopen-dr", Placeholder: "ReopenDrFunctionArn",
		Load: load, Step: (*Steps).ReopenDr,
	}
	CompareFinalPlanTask = boundary.Task[*Steps, CompareInput, Comparison]{
		Name: "compare-final-plan", Placeholder: "CompareFinalPlanFunctionArn",
		Load: load, Step: (*Steps).CompareFinalPlan,
	}
	ActivatePrimaryTask = boundary.Task[*Steps, ActivateInput, Activation]{
		Name: "activate-primary", Placeholder: "ActivatePrimaryFunctionArn",
		Settings: scheduleSettings,
		Load:     load, Step: (*Steps).ActivatePrimary,
	}
	NotifyFailbackTask = boundary.Task[*Steps, NotifyInput, struct{}]{
		Name: "notify-failback", Placeholder: "NotifyFailbackFunctionArn",
		Settings: []boundary.Setting{topicSetting},
		Load:     load, Step: (*Steps).NotifyFailback,
	}
)

// Tasks are the tasks of failback.asl.json.
var Tasks = append([]boundary.Def[*Steps]{
	PrepareFailbackTask, ExportFailbackPoolsTask, PlanFailbackTask, ValidateImportTask, RequestApprovalTask, FenceDrTask, ReopenDrTask, CompareFinalPlanTask,
	ApplyChangesTask, ActivatePrimaryTask, DisableUsersTask, WriteReportTask, NotifyFailbackTask,
}, importjob.For((*Steps).importer)...)

// Functions maps each task placeholder of failback.asl.json to its handler on s: the local
// executor's binding.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return boundary.Bind(Tasks, s, log)
}

// load is a failback task's Load: the steps on clients with TOPIC_ARN when the task declares it
// (the import tasks, importjob's, load their own settings).
func load(_ context.Context, env *boundary.Env, clients *awsclients.Clients, _ *slog.Logger) (*Steps, error) {
	s := NewSteps(clients, "", "")
	if env.Declares(topicSetting.Name) {
		s.TopicArn = env.Get(topicSetting.Name)
	}
	if env.Declares(scheduleSettings[0].Name) {
		s.ScheduleName, s.ScheduleGroup = env.Get(scheduleSettings[0].Name), env.Get(scheduleSettings[1].Name)
	}
	bucketUsers, usersErr := partition.ParseBucketUsers(bucketUsersSetting.Name, env.Declared(bucketUsersSetting.Name))
	rates, err := quota.FromEnv(env.Declared)
	budget, budgetErr := export.ParseBudget(env.Declared(budgetSetting.Name))
	if err := errors.Join(err, budgetErr, usersErr); err != nil {
		return nil, err
	}
	s.Quota = quota.NewRegistry(rates)
	s.ExportBudget = budget
	s.BucketUsers = bucketUsers
	return s, nil
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, topicArn, importLogsRoleArn string) *Steps {
	return &Steps{
		Cognito:           func(region string) Cognito { return clients.Cognito(region) },
		S3:                func(region string) S3 { return clients.S3(region) },
		SNS:               func(region string) SNS { return clients.SNS(region) },
		Logs:              func(region string) Logs { return clients.Logs(region) },
		SSM:               func(region string) poolmode.SSM { return clients.SSM(region) },
		Scheduler:         func(region string) failover.Scheduler { return clients.Scheduler(region) },
		ScheduleName:      failover.DefaultScheduleName,
		TopicArn:          topicArn,
		ImportLogsRoleArn: importLogsRoleArn,
	}
}
