package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Settings of the reconcile tasks and the triggers.
var (
	topicSetting = boundary.Setting{Name: "TOPIC_ARN"}
	// retrySettings name the replicate trigger's retry store, in the primary Region.
	retrySettings = []boundary.Setting{{Name: "RETRY_BUCKET"}, {Name: "RETRY_REGION"}, {Name: "RETRY_PREFIX", Optional: true}}
	// replicateSettings add the DR pool the trigger copies users to, and the pool's own
	// PostConfirmation function, if it had one (CHAIN_FUNCTION_ARN, Alongside).
	replicateSettings = append(append([]boundary.Setting{{Name: "DR_USER_POOL_ID"}, {Name: "DR_REGION"}}, retrySettings...),
		boundary.Setting{Name: "CHAIN_FUNCTION_ARN", Optional: true})
	// bucketUsersSetting overrides DefaultBucketUsers: how many users of a pool one reconcile
	// bucket holds, so what one DiffBucket invocation holds in memory.
	bucketUsersSetting = boundary.Setting{Name: "RECONCILE_BUCKET_USERS", Optional: true}
	// budgetSetting is how long one ExportPools invocation works: the backup export's setting.
	budgetSetting = boundary.Setting{Name: export.BudgetSetting, Optional: true}
	// quotaSettings are the request-rate overrides (quota.FromEnv) of the tasks that call Cognito.
	quotaSettings = boundary.Optional(quota.EnvNames()...)
)

// The tasks of reconcile.asl.json: each Lambda main starts one, the local executor binds them all
// (Steps.Functions), the ASL lint checks them against the states and the CDK stack deploys them.
var (
	PlanReconcileTask = boundary.Task[*Steps, PlanInput, Plan]{
		Name: "plan-reconcile", Placeholder: "PlanReconcileFunctionArn",
		Settings: append(append(slices.Clone(retrySettings), bucketUsersSetting), quotaSettings...),
		Load:     load, Step: (*Steps).PlanReconcile,
	}
	DiffBucketTask = boundary.Task[*Steps, DiffInput, DiffProgress]{
		Name: "diff-bucket", Placeholder: "DiffBucketFunctionArn",
		Settings: quotaSettings,
		Load:     load, Step: (*Steps).DiffBucket,
	}
	// ExportPoolsTask runs the ExportBefore and ExportAfter loops: one function, the same
	// exports and partition under before/ or after/.
	ExportPoolsTask = boundary.Task[*Steps, ExportInput, ExportProgress]{
		Name: "export-pools", Placeholder: "ExportPoolsFunctionArn",
		Settings: append(slices.Clone(quotaSettings), budgetSetting),
		Load:     load, Step: (*Steps).ExportPools,
	}
	RepairDriftTask = boundary.Task[*Steps, RepairInput, Progress]{
		Name: "repair-drift", Placeholder: "RepairDriftFunctionArn",
		Settings: append(slices.Clone(retrySettings), quotaSettings...),
		Load:     load, Step: (*Steps).RepairDrift,
	}
	ReportDriftTask = boundary.Task[*Steps, ReportInput, Output]{
		Name: "report-drift", Placeholder: "ReportDriftFunctionArn",
		Settings: []boundary.Setting{topicSetting},
		Load:     load, Step: (*Steps).ReportDrift,
	}
	NotifyReconcileTask = boundary.Task[*Steps, NotifyInput, struct{}]{
		Name: "notify-reconcile", Placeholder: "NotifyReconcileFunctionArn",
		Settings: []boundary.Setting{topicSetting},
		Load:     load, Step: (*Steps).NotifyFailed,
	}
)

// Tasks are the tasks of reconcile.asl.json.
var Tasks = []boundary.Def[*Steps]{PlanReconcileTask, ExportPoolsTask, DiffBucketTask, RepairDriftTask, ReportDriftTask, NotifyReconcileTask}

// Functions maps each task placeholder of reconcile.asl.json to its handler on s: the local
// executor's binding.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return boundary.Bind(Tasks, s, log)
}

// The Cognito triggers: Lambdas that Cognito, not a state machine, invokes.
var (
	// PostConfirmationTrigger is the primary pool's PostConfirmation trigger (ReplicateTrigger).
	// It starts whatever its settings: see replicateHandler.
	PostConfirmationTrigger = boundary.Trigger{
		Name:     "replicate",
		Settings: replicateSettings,
		Handler:  replicateHandler,
	}
)

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients) *Steps {
	return &Steps{
		Cognito: func(region string) Cognito { return clients.Cognito(region) },
		S3:      func(region string) S3 { return clients.S3(region) },
		SNS:     func(region string) SNS { return clients.SNS(region) },
	}
}

// load is a reconcile task's Load: the steps on clients with whichever of the topic and the
// retry store the task declares.
func load(_ context.Context, env *boundary.Env, clients *awsclients.Clients, _ *slog.Logger) (*Steps, error) {
	s := NewSteps(clients)
	if env.Declares(topicSetting.Name) {
		s.TopicArn = env.Get(topicSetting.Name)
	}
	if env.Declares("RETRY_BUCKET") {
		s.Retry = retryStore(env.Get, clients)
	}
	n, err := partition.ParseBucketUsers(bucketUsersSetting.Name, env.Declared(bucketUsersSetting.Name))
	if err != nil {
		return nil, err
	}
	s.BucketUsers = n
	rates, err := quota.FromEnv(env.Declared)
	budget, budgetErr := export.ParseBudget(env.Declared(budgetSetting.Name))
	if err := errors.Join(err, budgetErr); err != nil {
		return nil, err
	}
	s.Quota = quota.NewRegistry(rates)
	s.ExportBudget = budget
	return s, nil
}

// retryStore is the S3 retry store RETRY_BUCKET, RETRY_REGION (the primary Region) and
// RETRY_PREFIX (optional) name.
func retryStore(getenv func(string) string, clients *awsclients.Clients) RetryStore {
	region := getenv("RETRY_REGION")
	return &S3RetryStore{Client: clients.S3(region), Bucket: getenv("RETRY_BUCKET"), Prefix: getenv("RETRY_PREFIX")}
}

// replicateHandler is the replicate trigger as its Lambda starts it. It fails open: with a
// setting missing or the AWS clients failing to load it still answers Cognito with the event
// unchanged, so the sign-up goes on, and takes the path of any failed copy (ReplicateTrigger):
// the user goes to the retry store when the store's own settings allow, and the log line says
// why, naming settings, never the user. A failed start-up is tried again at the next
// invocation; only a complete one is kept.
func replicateHandler(getenv func(string) string, clients func(context.Context) (*awsclients.Clients, error), log *slog.Logger) boundary.Func {
	steps := boundary.NewRetrying(func(ctx context.Context) (*Steps, error) { return loadReplicate(ctx, getenv, clients) })
	chainARN := getenv("CHAIN_FUNCTION_ARN")
	chain := boundary.NewRetrying(func(ctx context.Context) (*Chain, error) {
		c, err := clients(ctx)
		if err != nil {
			return nil, fmt.Errorf("replicate trigger cannot load AWS clients: %w", err)
		}
		ch, _ := newChain(c, chainARN) // an ARN that names no function fails each invocation, saying so
		return ch, nil
	})
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		s, err := steps.Get(ctx)
		if err != nil {
			// The DR side cannot be reached as configured: every DR call answers the start-up
			// error, so the copy fails the ordinary way.
			s.Cognito = func(string) Cognito { return unconfiguredDR{err: err} }
		}
		h := ReplicateTrigger(s, log)
		if chainARN == "" {
			return h(ctx, payload)
		}
		ch, err := chain.Get(ctx)
		if err != nil {
			ch = &Chain{Client: failingInvoker{err}, FunctionARN: chainARN}
		}
		return Alongside("replicate", h, ch, log)(ctx, payload)
	}
}

// loadReplicate builds the trigger's steps from its settings. On error it returns the part it
// could build: a retry store, when the clients loaded and the store is configured.
func loadReplicate(ctx context.Context, getenv func(string) string, clients func(context.Context) (*awsclients.Clients, error)) (*Steps, error) {
	missing := boundary.Missing(getenv, replicateSettings)
	c, err := clients(ctx)
	if err != nil {
		return &Steps{}, fmt.Errorf("replicate trigger cannot start: load AWS clients: %w", err)
	}
	s := NewSteps(c)
	s.DRUserPoolID, s.DRRegion = getenv("DR_USER_POOL_ID"), getenv("DR_REGION")
	if getenv("RETRY_BUCKET") != "" && getenv("RETRY_REGION") != "" {
		s.Retry = retryStore(getenv, c)
	}
	if len(missing) > 0 {
		return s, errors.New("replicate trigger cannot start: not set: " + strings.Join(missing, ", "))
	}
	return s, nil
}

// unconfiguredDR is the DR pool of a trigger that could not start: every call fails with why.
type unconfiguredDR struct {
	Cognito
	err error
}

func (u unconfiguredDR) DescribeUserPool(context.Context, *cip.DescribeUserPoolInput, ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return nil, u.err
}

func (u unconfiguredDR) AdminCreateUser(context.Context, *cip.AdminCreateUserInput, ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error) {
	return nil, u.err
}

func (u unconfiguredDR) AdminUpdateUserAttributes(context.Context, *cip.AdminUpdateUserAttributesInput, ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error) {
	return nil, u.err
}

func (u unconfiguredDR) AdminGetUser(context.Context, *cip.AdminGetUserInput, ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	return nil, u.err
}

func (u unconfiguredDR) AdminSetUserPassword(context.Context, *cip.AdminSetUserPasswordInput, ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error) {
	return nil, u.err
}
