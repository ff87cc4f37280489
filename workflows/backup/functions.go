package backup

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// The tasks of backup.asl.json: each Lambda main starts one, the local executor binds them all
// (Steps.Functions), the ASL lint checks them against the states and the CDK stack deploys them.
var (
	ExportTask = boundary.Task[*Steps, ExportInput, ExportOutput]{
		Name: "export", Placeholder: "ExportFunctionArn",
		Settings: boundary.Optional(append(quota.EnvNames(), export.BudgetSetting)...),
		Load:     load(readExport),
		Step:     (*Steps).Export,
	}
	BuildImportCsvTask = boundary.Task[*Steps, CSVInput, CSVOutput]{
		Name: "build-import-csv", Placeholder: "BuildImportCsvFunctionArn",
		Settings: boundary.Optional(export.BudgetSetting),
		Load:     load(readBudget),
		Step:     (*Steps).BuildImportCsv,
	}
	CapturePoolConfigTask = boundary.Task[*Steps, PoolConfigInput, PoolConfigOutput]{
		Name: "capture-pool-config", Placeholder: "CapturePoolConfigFunctionArn",
		Settings: boundary.Optional(quota.EnvNames()...),
		Load:     load(readRates),
		Step:     (*Steps).CapturePoolConfig,
	}
	WriteManifestTask = boundary.Task[*Steps, ManifestInput, ManifestOutput]{
		Name: "write-manifest", Placeholder: "WriteManifestFunctionArn",
		Load: load(readNothing),
		Step: (*Steps).WriteManifest,
	}
	NotifyTask = boundary.Task[*Steps, NotifyInput, NotifyOutput]{
		Name: "notify", Placeholder: "NotifyFunctionArn",
		Settings: []boundary.Setting{{Name: "TOPIC_ARN"}},
		Load:     load(readTopic),
		Step:     (*Steps).Notify,
	}
)

// Tasks are the tasks of backup.asl.json.
var Tasks = []boundary.Def[*Steps]{ExportTask, BuildImportCsvTask, CapturePoolConfigTask, WriteManifestTask, NotifyTask}

// Functions maps each task placeholder of backup.asl.json to its handler on s: the local
// executor's binding.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return boundary.Bind(Tasks, s, log)
}

// Config is the deployment's configuration of the backup tasks, from the environment; each
// task reads only its own settings.
type Config struct {
	// TopicArn (TOPIC_ARN) receives notifications.
	TopicArn string
	// Rates (USER_LIST_RPS, USER_READ_RPS, … one per quota category; see quota.FromEnv) pace the
	// export below AWS's default quotas. Lower them when other tools share the account's quota.
	Rates quota.Rates
	// ExportBudget (EXPORT_BUDGET_SECONDS, default 600) is how long one ExportUsers (or
	// BuildImportCsv) invocation works before it saves its checkpoint and returns: well under the function's timeout, which
	// must leave time for the invocation's start and its last save.
	ExportBudget time.Duration
}

// readExport reads the export's pacing and time budget, naming every malformed variable in one
// error.
func readExport(env *boundary.Env) (Config, error) {
	cfg, err := readRates(env)
	errs := []error{err}
	budget, err := export.ParseBudget(env.Get(export.BudgetSetting))
	cfg.ExportBudget = budget
	errs = append(errs, err)
	return cfg, errors.Join(errs...)
}

// readBudget reads the time budget of a looped task that calls no quota-paced API.
func readBudget(env *boundary.Env) (Config, error) {
	budget, err := export.ParseBudget(env.Get(export.BudgetSetting))
	return Config{ExportBudget: budget}, err
}

// readRates reads the pacing of a task that calls Cognito, naming every malformed variable.
func readRates(env *boundary.Env) (Config, error) {
	rates, err := quota.FromEnv(env.Declared)
	return Config{Rates: rates}, err
}

// readTopic reads where notifications go.
func readTopic(env *boundary.Env) (Config, error) { return Config{TopicArn: env.Get("TOPIC_ARN")}, nil }

// readNothing is the configuration of a task without settings.
func readNothing(*boundary.Env) (Config, error) { return Config{}, nil }

// load is a backup task's Load: the steps on clients, configured by read.
func load(read func(*boundary.Env) (Config, error)) func(context.Context, *boundary.Env, *awsclients.Clients, *slog.Logger) (*Steps, error) {
	return func(_ context.Context, env *boundary.Env, clients *awsclients.Clients, _ *slog.Logger) (*Steps, error) {
		cfg, err := read(env)
		if err != nil {
			return nil, err
		}
		return NewSteps(clients, cfg), nil
	}
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, cfg Config) *Steps {
	return &Steps{
		Cognito:      func(region string) Cognito { return clients.Cognito(region) },
		S3:           func(region string) S3 { return clients.S3(region) },
		SNS:          func(region string) SNS { return clients.SNS(region) },
		TopicArn:     cfg.TopicArn,
		Quota:        quota.NewRegistry(cfg.Rates),
		ExportBudget: cfg.ExportBudget,
	}
}
