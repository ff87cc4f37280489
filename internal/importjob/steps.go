package importjob

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Cognito is what the import steps call on the target pool.
type Cognito interface {
	csvbuild.Cognito
	CreateUserImportJob(ctx context.Context, in *cip.CreateUserImportJobInput, optFns ...func(*cip.Options)) (*cip.CreateUserImportJobOutput, error)
	StartUserImportJob(ctx context.Context, in *cip.StartUserImportJobInput, optFns ...func(*cip.Options)) (*cip.StartUserImportJobOutput, error)
	DescribeUserImportJob(ctx context.Context, in *cip.DescribeUserImportJobInput, optFns ...func(*cip.Options)) (*cip.DescribeUserImportJobOutput, error)
}

// S3 is what the import steps call on the bucket of the parts and results.
type S3 interface {
	transfermanager.S3APIClient
}

// Logs reads an import job's per-row results from CloudWatch Logs.
type Logs interface {
	cloudwatchlogs.GetLogEventsAPIClient
}

// Steps are the import tasks.
type Steps struct {
	Cognito func(region string) Cognito
	S3      func(region string) S3
	Logs    func(region string) Logs
	// HTTP uploads import CSVs to their presigned URLs; nil means http.DefaultClient.
	HTTP *http.Client
	// LogsRoleArn is the role Cognito assumes to write import results to CloudWatch Logs.
	LogsRoleArn string
	// Quota paces every Cognito call to its quota category; nil means quota.Default().
	Quota *quota.Registry
	Now   func() time.Time
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, logsRoleArn string) *Steps {
	return &Steps{
		Cognito:     func(region string) Cognito { return clients.Cognito(region) },
		S3:          func(region string) S3 { return clients.S3(region) },
		Logs:        func(region string) Logs { return clients.Logs(region) },
		LogsRoleArn: logsRoleArn,
	}
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Steps) httpClient() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

// quotaSettings are the request-rate overrides (quota.FromEnv).
var quotaSettings = boundary.Optional(quota.EnvNames()...)

// logsRoleSetting is the role Cognito writes import logs with; only UploadImport passes it.
const logsRoleSetting = "IMPORT_LOGS_ROLE_ARN"

func load(_ context.Context, env *boundary.Env, clients *awsclients.Clients, _ *slog.Logger) (*Steps, error) {
	s := NewSteps(clients, "")
	if env.Declares(logsRoleSetting) {
		s.LogsRoleArn = env.Get(logsRoleSetting)
	}
	rates, err := quota.FromEnv(env.Declared)
	if err != nil {
		return nil, err
	}
	s.Quota = quota.NewRegistry(rates)
	return s, nil
}

// The import tasks. Every state machine that imports (failback.asl.json, restore.asl.json) runs
// the same four functions: each Lambda main starts one, and a workflow lists them among its
// Tasks with For.
var (
	UploadImportTask = boundary.Task[*Steps, PartInput, Job]{
		Name: "upload-import", Placeholder: "UploadImportFunctionArn",
		Settings: append([]boundary.Setting{{Name: logsRoleSetting}}, quotaSettings...),
		Load:     load, Step: (*Steps).UploadImport,
	}
	StartImportTask = boundary.Task[*Steps, PartInput, Job]{
		Name: "start-import", Placeholder: "StartImportFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).StartImport,
	}
	PollImportTask = boundary.Task[*Steps, PartInput, Job]{
		Name: "poll-import", Placeholder: "PollImportFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).PollImport,
	}
	CollectImportResultsTask = boundary.Task[*Steps, PartInput, Results]{
		Name: "collect-import-results", Placeholder: "CollectImportResultsFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).CollectImportResults,
	}
)

// Tasks are the import tasks.
var Tasks = []boundary.Def[*Steps]{UploadImportTask, StartImportTask, PollImportTask, CollectImportResultsTask}

// For lists the import tasks as tasks of a workflow whose steps are S: get returns the import
// steps of a workflow's steps. It is called at each invocation, so a change to the workflow's
// steps after binding (a test's HTTP client, say) is seen. A Lambda starts the import task
// itself, with its own settings.
func For[S any](get func(S) *Steps) []boundary.Def[S] {
	out := make([]boundary.Def[S], len(Tasks))
	for i, t := range Tasks {
		out[i] = via[S]{def: t, get: get}
	}
	return out
}

type via[S any] struct {
	def boundary.Def[*Steps]
	get func(S) *Steps
}

func (v via[S]) Spec() boundary.Spec { return v.def.Spec() }

func (v via[S]) Bind(s S, log *slog.Logger) boundary.Func {
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		return v.def.Bind(v.get(s), log)(ctx, in)
	}
}

func (v via[S]) Start(ctx context.Context, getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (boundary.Func, error) {
	return v.def.Start(ctx, getenv, clients, log)
}
