package backup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// TestExportBudgetSetting: EXPORT_BUDGET_SECONDS sets how long one ExportUsers invocation works;
// a value a Lambda could not honour is refused at start, with the quota settings' problems.
func TestExportBudgetSetting(t *testing.T) {
	load := func(env map[string]string) (*backup.Steps, error) {
		task := backup.ExportTask
		return task.Load(context.Background(), boundary.NewEnv(func(k string) string { return env[k] }, task.Settings),
			awsclients.New(aws.Config{}, awsclients.Options{}), nil)
	}
	s, err := load(map[string]string{"EXPORT_BUDGET_SECONDS": "120"})
	if err != nil || s.ExportBudget != 2*time.Minute {
		t.Errorf("budget %v err %v, want 2m", s.ExportBudget, err)
	}
	if s, err := load(nil); err != nil || s.ExportBudget != 0 {
		t.Errorf("unset: budget %v err %v, want the default (0)", s.ExportBudget, err)
	}
	for _, v := range []string{"900", "0", "10m"} {
		_, err := load(map[string]string{"EXPORT_BUDGET_SECONDS": v, "USER_LIST_RPS": "31"})
		if err == nil || !strings.Contains(err.Error(), "EXPORT_BUDGET_SECONDS=\""+v+"\"") || !strings.Contains(err.Error(), "USER_LIST_RPS") {
			t.Errorf("EXPORT_BUDGET_SECONDS=%s: err %v, want it and USER_LIST_RPS refused", v, err)
		}
	}
}

// TestBuildImportCsvBudgetSetting: BuildImportCsv reads EXPORT_BUDGET_SECONDS as ExportUsers does:
// how long one invocation builds before it saves and returns; a bad value is refused at start.
func TestBuildImportCsvBudgetSetting(t *testing.T) {
	load := func(env map[string]string) (*backup.Steps, error) {
		task := backup.BuildImportCsvTask
		return task.Load(context.Background(), boundary.NewEnv(func(k string) string { return env[k] }, task.Settings),
			awsclients.New(aws.Config{}, awsclients.Options{}), nil)
	}
	if s, err := load(map[string]string{"EXPORT_BUDGET_SECONDS": "300"}); err != nil || s.ExportBudget != 5*time.Minute {
		t.Errorf("budget %v err %v, want 5m", s.ExportBudget, err)
	}
	if s, err := load(nil); err != nil || s.ExportBudget != 0 {
		t.Errorf("unset: budget %v err %v, want the default (0)", s.ExportBudget, err)
	}
	if _, err := load(map[string]string{"EXPORT_BUDGET_SECONDS": "900"}); err == nil || !strings.Contains(err.Error(), "EXPORT_BUDGET_SECONDS") {
		t.Errorf("EXPORT_BUDGET_SECONDS=900: err %v, want it refused", err)
	}
}
