package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// Names of the reconcile resources operators look for.
const (
	ReconcileStateMachineName = "cognito-dr-reconcile"
	// ReconcileScheduleName is the schedule `cognito-dr failover` pauses: one name for both.
	ReconcileScheduleName = failover.DefaultScheduleName
)

// Cognito actions of the reconcile tasks, read off workflows/replication.
var (
	// export.Exporter.Resume without MFA preferences, after preflight.DescribePool: both pools.
	reconcileExport = []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup"}
	// Steps.applyRepair and upsert on the DR pool: every kind of repair, the existing copy's
	// status (AdminGetUser) and the unusable permanent password.
	reconcileRepair = []string{
		"cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminDeleteUserAttributes",
		"cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminEnableUser", "cognito-idp:AdminDisableUser",
		"cognito-idp:AdminDeleteUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:CreateGroup",
	}
)

// reconcileTasks deploys every placeholder of reconcile.asl.json; NewReconcileStack refuses to
// synthesize when it, the ASL's placeholders and replication.Tasks disagree.
var reconcileTasks = map[string]taskSpec[*ReconcileStack]{
	// PlanReconcile checks both pools and the bucket, and writes the retry store's subs: the
	// exports are ExportPools'.
	"PlanReconcileFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			allow(role, cognitoAppClients, cfg.PoolArn(cfg.DR))
			allow(role, []string{"s3:ListBucket"}, s.Backup.BucketArn()) // HeadBucket
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.PendingFile))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			// The retry store's listing, in the primary Region; listing needs no key.
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:    jsii.Strings("s3:ListBucket"),
				Resources:  jsii.Strings(cfg.RetryBucketArn()),
				Conditions: &map[string]any{"StringEquals": map[string]any{"s3:prefix": cfg.RetryDir()}},
			}))
		},
	},
	"RepairDriftFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			// Steps.pools describes both pools before repairing.
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			allow(role, reconcileRepair, cfg.PoolArn(cfg.DR))
			// The before manifest and its repair files.
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(replication.BeforeDir+"*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.RepairLedger+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			// A repaired user leaves the retry store; deleting needs no key.
			allow(role, []string{"s3:DeleteObject"}, cfg.RetryEntriesArn())
			suppressWildcard(role, "Retry entries are named by the user's primary sub, unknown at deploy time: the wildcard is confined to <retry prefix>/<primary pool id>/*.json of the retry bucket.", cfg.RetryEntriesArn())
		},
	},
	// DiffBucket compares one bucket of the before or after exports (Steps.pools describes both
	// pools): it reads and writes only files of the run.
	"DiffBucketFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(replication.BeforeDir+"*"), s.FileArn(replication.AfterDir+"*"), s.FileArn(replication.PendingFile))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.BeforeDir+"*"), s.FileArn(replication.AfterDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	// ExportPools (the ExportBefore and ExportAfter loops) exports both pools under before/ or
	// after/, checkpoints included, and partitions them there; before/ it also reads the retry
	// store's subs PlanReconcile wrote.
	"ExportPoolsFunctionArn": {
		MemoryMiB: 2048, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, reconcileExport, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(replication.BeforeDir+"*"), s.FileArn(replication.AfterDir+"*"), s.FileArn(replication.PendingFile))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.BeforeDir+"*"), s.FileArn(replication.AfterDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"ReportDriftFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.ReportFile))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			s.Backup.Topic.GrantPublish(role)
		},
	},
	"NotifyReconcileFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *ReconcileStack, role awsiam.IRole) { s.Backup.Topic.GrantPublish(role) },
	},
}

// ReconcileStackProps configure NewReconcileStack.
type ReconcileStackProps struct {
	Config Config
	Code   CodeSource
	// Backup is the stack whose bucket, bucket key and operators' topic reconcile uses.
	Backup *BackupStack
	// Replication is the primary-Region stack with the retry bucket; deployed first.
	Replication *ReplicationStack
}

// ReconcileStack is the replication's part in the DR Region: the DR pool's pre-token-generation
// trigger and the scheduled reconcile workflow. A stack of its own, not part of the backup stack:
// its roles write to the DR pool (the backup's only read), its schedule is switched off at
// failover by deploying this stack alone, and a change to it never redeploys the backups.
type ReconcileStack struct {
	awscdk.Stack
	Config    Config
	Backup    *BackupStack
	Functions map[string]*GoFunction // by ASL placeholder
	PreToken  *GoFunction
	// Gate is the DR pool's gate; PreToken is its pre-token trigger.
	Gate         *PoolGate
	StateMachine awsstepfunctions.StateMachine
	// ExecutionLogs receives the state machine's execution events.
	ExecutionLogs awslogs.LogGroup
	// WorkflowSchedule starts the state machine: Schedule, ScheduleRole, DeadLetters.
	WorkflowSchedule
	FailedAlarm   awscloudwatch.Alarm
	TimedOutAlarm awscloudwatch.Alarm
	// StaleAlarm is nil while the schedule is disabled.
	StaleAlarm          awscloudwatch.Alarm
	DLQAlarm            awscloudwatch.Alarm
	PreTokenErrorsAlarm awscloudwatch.Alarm
	// Failover is the failover state machine and the mode watch (infra/failover.go).
	Failover *FailoverParts
}

// FilesPrefix is where reconciles keep their files: <reconcile prefix>/<primary pool>/.
func (s *ReconcileStack) FilesPrefix() string {
	return s.Config.Replication.Reconcile.Prefix + "/" + s.Config.Primary.UserPoolID + "/"
}

// FileArn covers file name (relative to a run's prefix, may end in *) of every reconcile run.
func (s *ReconcileStack) FileArn(name string) string {
	return s.Backup.BucketArn() + "/" + s.FilesPrefix() + "*/" + name
}

func (s *ReconcileStack) allowObjects(role awsiam.IRole, actions []string, arns ...string) {
	allow(role, actions, arns...)
	suppressWildcard(role, "Reconcile keys contain the execution's start time and name, unknown at deploy time: the wildcard is confined to <reconcile prefix>/<primary pool id>/<run>/ and a directory or file name under it in the backup bucket.", arns...)
}

// NewReconcileStack creates the reconcile stack in the DR Region.
func NewReconcileStack(scope constructs.Construct, id string, props ReconcileStackProps) (*ReconcileStack, error) {
	cfg := props.Config
	// Synth fails when the ASL's placeholders, the task table and the typed tasks disagree.
	def, tasks, err := workflowTasks(statemachines.Reconcile, reconcileTasks, boundary.Specs(replication.Tasks))
	if err != nil {
		return nil, err
	}
	stack := newStack(scope, id, cfg.Account, cfg.DR.Region, fmt.Sprintf("Cognito DR reconcile: %s (%s) into %s (%s), and the DR pool's gate triggers and mode parameter", cfg.Primary.UserPoolID, cfg.Primary.Region, cfg.DR.UserPoolID, cfg.DR.Region))
	stack.AddDependency(props.Backup.Stack, jsii.String("reconcile keeps its files in the backup bucket and reports to the operators' topic"))
	if props.Replication != nil {
		// Ordering only (no reference crosses Regions): the retry bucket exists before reconcile lists it.
		stack.AddDependency(props.Replication.Stack, jsii.String("reconcile reads and empties the retry store in the primary Region"))
	}
	s := &ReconcileStack{Stack: stack, Config: cfg, Backup: props.Backup}
	logRetention := cfg.LogRetention()

	if s.Functions, err = newTaskFunctions(stack, s, reconcileTasks, taskFunctionsProps{
		Workflow:     "reconcile",
		Tasks:        tasks,
		Code:         props.Code,
		LogRetention: logRetention,
		Settings:     cfg.retryEnv(map[string]*string{"TOPIC_ARN": s.Backup.Topic.Topic.TopicArn()}),
	}); err != nil {
		return nil, err
	}
	if err := s.buildGate(props.Code); err != nil {
		return nil, err
	}
	s.StateMachine, s.ExecutionLogs = newWorkflowStateMachine(stack, "Reconcile", workflowStateMachineProps{
		Name:         ReconcileStateMachineName,
		Definition:   def,
		Functions:    s.Functions,
		LogRetention: logRetention,
		Tracing:      cfg.Tracing,
		StepEvidence: "the execution history, the drift report and the tasks' JSON logs",
	})
	if err := s.buildSchedule(); err != nil {
		return nil, err
	}
	s.buildAlarms()
	if err := s.buildFailover(props.Code); err != nil {
		return nil, err
	}
	return s, nil
}

// buildGate deploys the DR pool's gate: its three gate triggers and its mode parameter. The
// pre-token trigger also adds the primary_sub claim, and stays when the gate is off.
func (s *ReconcileStack) buildGate(code CodeSource) error {
	var err error
	if s.Gate, err = newPoolGate(s.Stack, s.Config, code, s.Config.DR, true, s.Backup.Topic); err != nil {
		return err
	}
	s.PreToken = s.Gate.PreToken
	s.PreTokenErrorsAlarm = s.Gate.ErrorsAlarms[PreTokenTask]
	return nil
}

func (s *ReconcileStack) buildSchedule() error {
	cfg := s.Config
	state := "ENABLED"
	if !cfg.ReconcileEnabled() {
		state = "DISABLED"
	}
	rc := cfg.Replication.Reconcile
	var err error
	s.WorkflowSchedule, err = newWorkflowSchedule(s.Stack, "ReconcileSchedule", workflowScheduleProps{
		Workflow:     "reconcile",
		StateMachine: s.StateMachine,
		Name:         ReconcileScheduleName,
		Description:  "Cognito DR: reconcile " + cfg.DR.UserPoolID + " with " + cfg.Primary.UserPoolID + " (disable at failover: replication.reconcile.enabled)",
		Expression:   rc.Schedule,
		TimeZone:     rc.TimeZone,
		State:        state,
		Input:        cfg.ReconcileRequest(),
		Account:      cfg.Account,
		// A start that cannot happen soon is not worth making late: the next run comes anyway.
		MaxEventAgeSeconds: 600,
		MaxRetries:         5,
	})
	return err
}

func (s *ReconcileStack) buildAlarms() {
	sum := every5Minutes("Sum")
	s.FailedAlarm = newAlarm(s.Stack, "ReconcileFailedAlarm", "cognito-dr-reconcile-failed",
		"A reconcile execution failed; its notification on "+OperatorTopicName+" names the error. Running it again is safe.",
		s.StateMachine.MetricFailed(sum), 1)
	s.TimedOutAlarm = newAlarm(s.Stack, "ReconcileTimedOutAlarm", "cognito-dr-reconcile-timed-out",
		"A reconcile execution hit the state machine's timeout; no notification was sent. Check its history.",
		s.StateMachine.MetricTimedOut(sum), 1)
	s.DLQAlarm = newDeadLettersAlarm(s.Stack, "reconcile", s.DeadLetters)
	alarms := []awscloudwatch.Alarm{s.FailedAlarm, s.TimedOutAlarm, s.DLQAlarm}
	// The drift report (SNS, report.json) carries drift and RPO; the code publishes no metric of
	// them. What bounds the RPO of a user the trigger missed is a successful run: alarm when none
	// succeeded for staleAfterMinutes. Only while the schedule runs: paused, it would always fire.
	if s.Config.ReconcileEnabled() {
		stale := s.Config.Replication.Reconcile.StaleAfterMinutes
		period := 15
		if stale > 24*60 {
			period = 60
		}
		s.StaleAlarm = newNoSuccessAlarm(s.Stack, "ReconcileStaleAlarm", "cognito-dr-reconcile-stale",
			fmt.Sprintf("No reconcile succeeded in the last %d minutes: users the replicate trigger missed are not being repaired.", stale),
			s.StateMachine, awscdk.Duration_Minutes(jsii.Number(float64(period))), float64(stale/period))
		s.StaleAlarm.AddOkAction(awscloudwatchactions.NewSnsAction(s.Backup.Topic.Topic))
		alarms = append(alarms, s.StaleAlarm)
	}
	notifyAlarms(s.Backup.Topic, alarms...)
}
