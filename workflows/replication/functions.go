package replication

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Functions maps each task placeholder of reconcile.asl.json to the handler that runs it. The
// Lambda mains and the local executor both bind this table.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return map[string]boundary.Func{
		"PlanReconcileFunctionArn":   boundary.Handler("plan-reconcile", s.PlanReconcile, log),
		"RepairDriftFunctionArn":     boundary.Handler("repair-drift", s.RepairDrift, log),
		"ReportDriftFunctionArn":     boundary.Handler("report-drift", s.ReportDrift, log),
		"NotifyReconcileFunctionArn": boundary.Handler("notify-reconcile", s.NotifyFailed, log),
	}
}

// Trigger names: the keys of Triggers, which are Cognito Lambda triggers rather than tasks of a
// state machine.
const (
	// ReplicateTriggerName is the primary pool's PostConfirmation trigger.
	ReplicateTriggerName = "ReplicateFunctionArn"
	// PreTokenTriggerName is the DR pool's PreTokenGeneration trigger.
	PreTokenTriggerName = "PreTokenFunctionArn"
)

// Triggers are the Cognito triggers, keyed like Functions so lambdamain starts them the same way.
func (s *Steps) Triggers(log *slog.Logger) map[string]boundary.Func {
	return map[string]boundary.Func{
		ReplicateTriggerName: ReplicateTrigger(s, log),
		PreTokenTriggerName:  PreTokenTrigger(s, log),
	}
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients) *Steps {
	return &Steps{
		Cognito: func(region string) Cognito { return clients.Cognito(region) },
		S3:      func(region string) S3 { return clients.S3(region) },
		SNS:     func(region string) SNS { return clients.SNS(region) },
	}
}

// retryStore builds the S3 retry store from RETRY_BUCKET, RETRY_REGION (the primary Region) and
// RETRY_PREFIX (optional).
func retryStore(getenv func(string) string, clients *awsclients.Clients, missing *[]string) RetryStore {
	bucket, region := getenv("RETRY_BUCKET"), getenv("RETRY_REGION")
	if bucket == "" {
		*missing = append(*missing, "RETRY_BUCKET")
	}
	if region == "" {
		*missing = append(*missing, "RETRY_REGION")
	}
	return &S3RetryStore{Client: clients.S3(region), Bucket: bucket, Prefix: getenv("RETRY_PREFIX")}
}

// LoadFunctions is the lambdamain.Loader of the reconcile tasks. Environment: TOPIC_ARN,
// RETRY_BUCKET, RETRY_REGION and optionally RETRY_PREFIX (the replicate trigger's retry store), and
// the quota overrides of quota.FromEnv.
func LoadFunctions(getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error) {
	var missing []string
	s := NewSteps(clients)
	if s.TopicArn = getenv("TOPIC_ARN"); s.TopicArn == "" {
		missing = append(missing, "TOPIC_ARN")
	}
	s.Retry = retryStore(getenv, clients, &missing)
	if len(missing) > 0 {
		return nil, errors.New("reconcile configuration: not set: " + strings.Join(missing, ", "))
	}
	rates, err := quota.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("reconcile configuration: %w", err)
	}
	s.Quota = quota.NewRegistry(rates)
	return s.Functions(log), nil
}

// LoadReplicateTrigger is the lambdamain.Loader of the replicate trigger. Environment:
// DR_USER_POOL_ID, DR_REGION, RETRY_BUCKET, RETRY_REGION and optionally RETRY_PREFIX.
func LoadReplicateTrigger(getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error) {
	s := NewSteps(clients)
	var missing []string
	if s.DRUserPoolID = getenv("DR_USER_POOL_ID"); s.DRUserPoolID == "" {
		missing = append(missing, "DR_USER_POOL_ID")
	}
	if s.DRRegion = getenv("DR_REGION"); s.DRRegion == "" {
		missing = append(missing, "DR_REGION")
	}
	s.Retry = retryStore(getenv, clients, &missing)
	if len(missing) > 0 {
		return nil, errors.New("replicate trigger configuration: not set: " + strings.Join(missing, ", "))
	}
	return map[string]boundary.Func{ReplicateTriggerName: ReplicateTrigger(s, log)}, nil
}

// LoadPreTokenTrigger is the lambdamain.Loader of the pre-token trigger; it needs no settings
// and calls no AWS service.
func LoadPreTokenTrigger(_ func(string) string, clients *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error) {
	return map[string]boundary.Func{PreTokenTriggerName: PreTokenTrigger(NewSteps(clients), log)}, nil
}
