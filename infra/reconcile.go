package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// Names of the reconcile resources operators look for.
const (
	ReconcileStateMachineName = "cognito-dr-reconcile"
	ReconcileScheduleName     = "cognito-dr-reconcile"
)

// reconcileTask is how one task of the reconcile state machine is deployed.
type reconcileTask struct {
	Task      string
	MemoryMiB float64
	// TimeoutSeconds matches the ASL state's TimeoutSeconds.
	TimeoutSeconds float64
	grant          func(s *ReconcileStack, role awsiam.IRole)
}

// Cognito actions of the reconcile tasks, read off workflows/replication.
var (
	// export.WriteSnapshot without MFA preferences, after preflight.DescribePool: both pools.
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
// synthesize when it, the ASL's placeholders and replication.Steps.Functions disagree.
var reconcileTasks = map[string]reconcileTask{
	"PlanReconcileFunctionArn": {
		Task: "plan-reconcile", MemoryMiB: 2048, TimeoutSeconds: 900,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, reconcileExport, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			allow(role, []string{"s3:ListBucket"}, s.Backup.BucketArn()) // HeadBucket
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(replication.BeforeDir+"*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.BeforeDir+"*"), s.FileArn(replication.RepairsFile))
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
		Task: "repair-drift", MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			// Steps.pools describes both pools before repairing.
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			allow(role, reconcileRepair, cfg.PoolArn(cfg.DR))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(replication.RepairsFile))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.RepairLedger+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			// A repaired user leaves the retry store; deleting needs no key.
			allow(role, []string{"s3:DeleteObject"}, cfg.RetryEntriesArn())
			suppressWildcard(role, "Retry entries are named by the user's primary sub, unknown at deploy time: the wildcard is confined to <retry prefix>/<primary pool id>/*.json of the retry bucket.", cfg.RetryEntriesArn())
		},
	},
	"ReportDriftFunctionArn": {
		Task: "report-drift", MemoryMiB: 2048, TimeoutSeconds: 900,
		grant: func(s *ReconcileStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, reconcileExport, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(replication.AfterDir+"*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(replication.AfterDir+"*"), s.FileArn(replication.ReportFile))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			s.Backup.Topic.GrantPublish(role)
		},
	},
	"NotifyReconcileFunctionArn": {
		Task: "notify-reconcile", MemoryMiB: 256, TimeoutSeconds: 60,
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
	Config       Config
	Backup       *BackupStack
	Functions    map[string]*GoFunction // by ASL placeholder
	PreToken     *GoFunction
	StateMachine awsstepfunctions.StateMachine
	// ExecutionLogs receives the state machine's execution events.
	ExecutionLogs awslogs.LogGroup
	Schedule      awsscheduler.CfnSchedule
	ScheduleRole  awsiam.Role
	DeadLetters   awssqs.Queue
	FailedAlarm   awscloudwatch.Alarm
	TimedOutAlarm awscloudwatch.Alarm
	// StaleAlarm is nil while the schedule is disabled.
	StaleAlarm          awscloudwatch.Alarm
	DLQAlarm            awscloudwatch.Alarm
	PreTokenErrorsAlarm awscloudwatch.Alarm
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

// reconcilePlaceholders are the placeholders of reconcile.asl.json, checked against
// reconcileTasks and the handler table the Lambda mains and the local executor bind.
func reconcilePlaceholders() ([]byte, []string, error) {
	def, err := statemachines.Definition(statemachines.Reconcile)
	if err != nil {
		return nil, nil, err
	}
	used := asl.Placeholders(def)
	bound := slices.Sorted(maps.Keys((&replication.Steps{}).Functions(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	deployed := slices.Sorted(maps.Keys(reconcileTasks))
	if !slices.Equal(used, bound) || !slices.Equal(used, deployed) {
		return nil, nil, fmt.Errorf("reconcile state machine: placeholders %v, handlers %v and deployed tasks %v differ", used, bound, deployed)
	}
	return def, used, nil
}

// NewReconcileStack creates the reconcile stack in the DR Region.
func NewReconcileStack(scope constructs.Construct, id string, props ReconcileStackProps) (*ReconcileStack, error) {
	cfg := props.Config
	def, placeholders, err := reconcilePlaceholders()
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(cfg.DR.Region)},
		Description: jsii.String(fmt.Sprintf("Cognito DR reconcile: %s (%s) into %s (%s), and the DR pool's pre-token trigger", cfg.Primary.UserPoolID, cfg.Primary.Region, cfg.DR.UserPoolID, cfg.DR.Region)),
	})
	stack.AddDependency(props.Backup.Stack, jsii.String("reconcile keeps its files in the backup bucket and reports to the operators' topic"))
	if props.Replication != nil {
		// Ordering only (no reference crosses Regions): the retry bucket exists before reconcile lists it.
		stack.AddDependency(props.Replication.Stack, jsii.String("reconcile reads and empties the retry store in the primary Region"))
	}
	s := &ReconcileStack{Stack: stack, Config: cfg, Backup: props.Backup, Functions: map[string]*GoFunction{}}
	logRetention := cfg.LogRetention()

	for _, p := range placeholders {
		spec := reconcileTasks[p]
		fn := NewGoFunction(stack, taskConstructID(spec.Task), GoFunctionProps{
			Task:         spec.Task,
			FunctionName: "cognito-dr-reconcile-" + spec.Task,
			Code:         props.Code,
			MemoryMiB:    spec.MemoryMiB,
			Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.TimeoutSeconds)),
			// replication.LoadFunctions needs all four settings in every task.
			Environment:  cfg.retryEnv(map[string]*string{"TOPIC_ARN": s.Backup.Topic.Topic.TopicArn()}),
			LogRetention: logRetention,
		})
		spec.grant(s, fn.Role)
		s.Functions[p] = fn
	}
	s.buildPreToken(props.Code, logRetention)
	s.buildStateMachine(def, placeholders, logRetention)
	if err := s.buildSchedule(); err != nil {
		return nil, err
	}
	s.buildAlarms()
	return s, nil
}

// buildPreToken deploys the DR pool's pre-token-generation trigger: no settings, no AWS calls, so
// its role holds only its log permissions.
func (s *ReconcileStack) buildPreToken(code CodeSource, logRetention awslogs.RetentionDays) {
	cfg := s.Config
	s.PreToken = NewGoFunction(s.Stack, "PreTokenTrigger", GoFunctionProps{
		Task:         PreTokenTask,
		FunctionName: PreTokenFunctionName,
		Code:         code,
		MemoryMiB:    256,
		Timeout:      awscdk.Duration_Seconds(jsii.Number(TriggerTimeoutSeconds)),
		Environment:  map[string]*string{},
		LogRetention: logRetention,
	})
	s.PreToken.Function.AddPermission(jsii.String("DRPoolInvoke"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String(CognitoPrincipal), nil),
		Action:        jsii.String("lambda:InvokeFunction"),
		SourceArn:     jsii.String(cfg.PoolArn(cfg.DR)),
		SourceAccount: jsii.String(cfg.Account),
	})
}

func (s *ReconcileStack) buildStateMachine(def []byte, placeholders []string, logRetention awslogs.RetentionDays) {
	subs := map[string]*string{}
	var arns []*string
	for _, p := range placeholders {
		arn := s.Functions[p].Function.FunctionArn()
		subs[p] = arn
		arns = append(arns, arn)
	}
	s.ExecutionLogs = awslogs.NewLogGroup(s.Stack, jsii.String("ReconcileExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + ReconcileStateMachineName),
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.StateMachine = awsstepfunctions.NewStateMachine(s.Stack, jsii.String("ReconcileStateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(ReconcileStateMachineName),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(def))),
		DefinitionSubstitutions: &subs,
		Logs: &awsstepfunctions.LogOptions{
			Destination:          s.ExecutionLogs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(s.Config.Tracing),
	})
	s.StateMachine.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &arns,
	}))
	if !s.Config.Tracing {
		cdknag.NagSuppressions_AddResourceSuppressions(s.StateMachine, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SF2"),
			Reason: jsii.String("X-Ray is optional (config \"tracing\"): the execution history, the drift report and the tasks' JSON logs already show every step, and X-Ray needs Resource \"*\"."),
		}}, jsii.Bool(false))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.StateMachine.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) and X-Ray support no resource-level permissions; Step Functions requires them on \"*\" to log executions."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
}

func (s *ReconcileStack) buildSchedule() error {
	cfg := s.Config
	input, err := json.Marshal(cfg.ReconcileRequest())
	if err != nil {
		return err
	}
	s.DeadLetters = awssqs.NewQueue(s.Stack, jsii.String("ScheduleDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.DeadLetters, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is the dead-letter queue of the reconcile schedule; an alarm watches it."),
	}}, jsii.Bool(false))
	s.ScheduleRole = awsiam.NewRole(s.Stack, jsii.String("ScheduleRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler: start the reconcile state machine, dead-letter what it cannot"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": cfg.Account}},
		}),
	})
	s.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &[]*string{s.StateMachine.StateMachineArn()},
	}))
	s.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{s.DeadLetters.QueueArn()},
	}))
	state := "ENABLED"
	if !cfg.ReconcileEnabled() {
		state = "DISABLED"
	}
	rc := cfg.Replication.Reconcile
	s.Schedule = awsscheduler.NewCfnSchedule(s.Stack, jsii.String("ReconcileSchedule"), &awsscheduler.CfnScheduleProps{
		Name:                       jsii.String(ReconcileScheduleName),
		Description:                jsii.String("Cognito DR: reconcile " + cfg.DR.UserPoolID + " with " + cfg.Primary.UserPoolID + " (disable at failover: replication.reconcile.enabled)"),
		ScheduleExpression:         jsii.String(rc.Schedule),
		ScheduleExpressionTimezone: jsii.String(rc.TimeZone),
		FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:                      jsii.String(state),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     s.StateMachine.StateMachineArn(),
			RoleArn: s.ScheduleRole.RoleArn(),
			Input:   jsii.String(string(input)),
			// A start that cannot happen soon is not worth making late: the next run comes anyway.
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(600),
				MaximumRetryAttempts:     jsii.Number(5),
			},
			DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: s.DeadLetters.QueueArn()},
		},
	})
	return nil
}

func (s *ReconcileStack) buildAlarms() {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}
	alarm := func(id, name, desc string, m awscloudwatch.IMetric) awscloudwatch.Alarm {
		return awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(name),
			AlarmDescription:   jsii.String(desc),
			Metric:             m,
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	}
	s.FailedAlarm = alarm("ReconcileFailedAlarm", "cognito-dr-reconcile-failed",
		"A reconcile execution failed; its notification on "+OperatorTopicName+" names the error. Running it again is safe.",
		s.StateMachine.MetricFailed(sum))
	s.TimedOutAlarm = alarm("ReconcileTimedOutAlarm", "cognito-dr-reconcile-timed-out",
		"A reconcile execution hit the state machine's timeout; no notification was sent. Check its history.",
		s.StateMachine.MetricTimedOut(sum))
	s.DLQAlarm = alarm("ScheduleDeadLettersAlarm", "cognito-dr-reconcile-schedule-dead-letters",
		"EventBridge Scheduler could not start a reconcile execution; the event is in the dead-letter queue.",
		s.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	s.PreTokenErrorsAlarm = alarm("PreTokenErrorsAlarm", "cognito-dr-pre-token-errors",
		"The DR pool's pre-token trigger failed (crash, timeout or throttle): those sign-ins to the DR pool FAILED. Check the "+PreTokenFunctionName+" logs.",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("errors + throttles"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"errors":    s.PreToken.Function.MetricErrors(sum),
				"throttles": s.PreToken.Function.MetricThrottles(sum),
			},
			Period: five,
		}))
	alarms := []awscloudwatch.Alarm{s.FailedAlarm, s.TimedOutAlarm, s.DLQAlarm, s.PreTokenErrorsAlarm}
	// The drift report (SNS, report.json) carries drift and RPO; the code publishes no metric of
	// them. What bounds the RPO of a user the trigger missed is a successful run: alarm when none
	// succeeded for staleAfterMinutes. Only while the schedule runs: paused, it would always fire.
	if s.Config.ReconcileEnabled() {
		stale := s.Config.Replication.Reconcile.StaleAfterMinutes
		period := 15
		if stale > 24*60 {
			period = 60
		}
		s.StaleAlarm = awscloudwatch.NewAlarm(s.Stack, jsii.String("ReconcileStaleAlarm"), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String("cognito-dr-reconcile-stale"),
			AlarmDescription: jsii.String(fmt.Sprintf("No reconcile succeeded in the last %d minutes: users the replicate trigger missed are not being repaired.", stale)),
			Metric: s.StateMachine.MetricSucceeded(&awscloudwatch.MetricOptions{
				Period: awscdk.Duration_Minutes(jsii.Number(float64(period))), Statistic: jsii.String("Sum"),
			}),
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(float64(stale / period)),
			DatapointsToAlarm:  jsii.Number(float64(stale / period)),
			TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
		})
		s.StaleAlarm.AddOkAction(awscloudwatchactions.NewSnsAction(s.Backup.Topic.Topic))
		alarms = append(alarms, s.StaleAlarm)
	}
	notify := awscloudwatchactions.NewSnsAction(s.Backup.Topic.Topic)
	for _, a := range alarms {
		a.AddAlarmAction(notify)
	}
}
