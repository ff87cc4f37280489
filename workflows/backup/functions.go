package backup

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Functions maps each task placeholder of backup.asl.json to the handler that runs it. The Lambda
// mains and the local executor both bind this table.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return map[string]boundary.Func{
		"ExportFunctionArn":         boundary.Handler("export", s.Export, log),
		"BuildImportCsvFunctionArn": boundary.Handler("build-import-csv", s.BuildImportCsv, log),
		"WriteManifestFunctionArn":  boundary.Handler("write-manifest", s.WriteManifest, log),
		"NotifyFunctionArn":         boundary.Handler("notify", s.Notify, log),
	}
}

// Config is the deployment's configuration of the backup tasks, from the environment.
type Config struct {
	// TopicArn (TOPIC_ARN) receives notifications.
	TopicArn string
	// Rates (USER_LIST_RPS, USER_READ_RPS, … one per quota category; see quota.FromEnv) pace the
	// export below AWS's default quotas. Lower them when other tools share the account's quota.
	Rates quota.Rates
}

// LoadConfig reads Config, naming every missing or malformed variable in one error.
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	var problems []string
	if c.TopicArn = getenv("TOPIC_ARN"); c.TopicArn == "" {
		problems = append(problems, "TOPIC_ARN is not set")
	}
	var err error
	if c.Rates, err = quota.FromEnv(getenv); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return c, errors.New("backup configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, cfg Config) *Steps {
	return &Steps{
		Cognito:  func(region string) Cognito { return clients.Cognito(region) },
		S3:       func(region string) S3 { return clients.S3(region) },
		SNS:      func(region string) SNS { return clients.SNS(region) },
		TopicArn: cfg.TopicArn,
		Quota:    quota.NewRegistry(cfg.Rates),
	}
}

// LoadFunctions is the lambdamain.Loader of the backup tasks.
func LoadFunctions(getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error) {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	return NewSteps(clients, cfg).Functions(log), nil
}
