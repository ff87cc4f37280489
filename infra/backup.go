package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// taskSpec is how one task of a state machine is deployed.
type taskSpec struct {
	// Task is the directory under tasks/ whose main binds the placeholder.
	Task      string
	MemoryMiB float64
	// TimeoutSeconds matches the ASL state's TimeoutSeconds: a longer Lambda would only be cut off.
	TimeoutSeconds float64
	// ReservedConcurrency: 0 leaves the function unreserved.
	ReservedConcurrency float64
	// grant gives the task's role exactly what the task calls.
	grant func(s *BackupStack, role awsiam.IRole)
}

// backupTasks deploys every placeholder of backup.asl.json; NewBackupStack refuses to synthesize
// when it, the ASL's placeholders and backup.Steps.Functions disagree.
var backupTasks = map[string]taskSpec{
	"ExportFunctionArn": {
		Task: "export", MemoryMiB: 1024, TimeoutSeconds: 900,
		// Two exports at once would each pace to the whole UserList quota and throttle each other.
		ReservedConcurrency: 1,
		grant: func(s *BackupStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup", "cognito-idp:AdminGetUser"}, cfg.PoolArn(cfg.Primary))
			// The export checks that the target pool of the import CSVs exists before writing anything.
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.DR))
			// HeadBucket is authorized as s3:ListBucket.
			allow(role, []string{"s3:ListBucket"}, s.BucketArn())
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.SnapshotsArn())
			s.grantBucketKey(role, "kms:GenerateDataKey", "kms:Decrypt") // Decrypt: multipart uploads
		},
	},
	"BuildImportCsvFunctionArn": {
		Task: "build-import-csv", MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *BackupStack, role awsiam.IRole) {
			cfg := s.Config
			// CSVs for the DR pool (failover) or for the primary itself (restore in place).
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, cfg.PoolArn(cfg.DR), cfg.PoolArn(cfg.Primary))
			s.allowObjects(role, []string{"s3:GetObject"}, s.SnapshotsArn())
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.ImportCSVArns()...)
			s.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"WriteManifestFunctionArn": {
		Task: "write-manifest", MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *BackupStack, role awsiam.IRole) {
			s.allowObjects(role, []string{"s3:PutObject"}, s.ManifestArn())
			s.grantBucketKey(role, "kms:GenerateDataKey")
		},
	},
	"NotifyFunctionArn": {
		Task: "notify", MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *BackupStack, role awsiam.IRole) { s.Topic.GrantPublish(role) },
	},
}

func allow(role awsiam.IRole, actions []string, resources ...string) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(resources...),
	}))
}

// BackupStackProps configure NewBackupStack.
type BackupStackProps struct {
	Config Config
	// Code gives each task's deployment package (built binaries; a placeholder in unit tests).
	Code CodeSource
}

// BackupStack backs the primary pool up into a bucket in the DR Region on a schedule. It lives in the
// DR Region so that backups, their alarms and their notifications keep working while the primary
// Region is down, and so the bucket is never in the Region of the pool it backs up.
type BackupStack struct {
	awscdk.Stack
	Config       Config
	Topic        *OperatorTopic
	BucketKey    awskms.Key
	Bucket       awss3.Bucket
	AccessLogs   awss3.Bucket
	Functions    map[string]*GoFunction // by ASL placeholder
	StateMachine awsstepfunctions.StateMachine
	// ExecutionLogs receives the state machine's execution events.
	ExecutionLogs awslogs.LogGroup
	Schedule      awsscheduler.CfnSchedule
	ScheduleRole  awsiam.Role
	DeadLetters   awssqs.Queue
	FailedAlarm   awscloudwatch.Alarm
	AgeAlarm      awscloudwatch.Alarm
	DLQAlarm      awscloudwatch.Alarm
}

// Names of the deployed resources operators look for.
const (
	BackupStateMachineName = "cognito-dr-backup"
	BackupScheduleName     = "cognito-dr-backup"
	OperatorTopicName      = "cognito-dr-operators"
)

// BucketArn is the backup bucket's ARN.
func (s *BackupStack) BucketArn() string {
	return fmt.Sprintf("arn:%s:s3:::%s", s.Config.Partition(), s.Config.Backup.Bucket)
}

// SnapshotsArn covers every snapshot of the primary pool: <prefix>/<pool id>/<snapshot>/...
func (s *BackupStack) SnapshotsArn() string {
	return fmt.Sprintf("%s/%s/%s/*", s.BucketArn(), s.Config.Backup.Prefix, s.Config.Primary.UserPoolID)
}

// ImportCSVArns cover the import CSVs of a snapshot, for either configured pool.
func (s *BackupStack) ImportCSVArns() []string {
	snap := strings.TrimSuffix(s.SnapshotsArn(), "*")
	return []string{snap + "*/import/" + s.Config.DR.UserPoolID + "/*", snap + "*/import/" + s.Config.Primary.UserPoolID + "/*"}
}

// ManifestArn covers the manifest of every snapshot.
func (s *BackupStack) ManifestArn() string {
	return strings.TrimSuffix(s.SnapshotsArn(), "*") + "*/" + backup.ManifestFile
}

// allowObjects grants actions on snapshot objects. Snapshot keys are named by the execution's
// time and name, so the grant needs a wildcard; it stays under the configured prefix and pool id.
func (s *BackupStack) allowObjects(role awsiam.IRole, actions []string, arns ...string) {
	allow(role, actions, arns...)
	appliesTo := make([]any, len(arns))
	for i, a := range arns {
		appliesTo[i] = "Resource::" + a
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Snapshot keys contain the execution's time and name, unknown at deploy time: the wildcard is confined to <prefix>/<primary pool id>/ of the backup bucket (and to import/<pool>/ or manifest.json under it)."),
		AppliesTo: &appliesTo,
	}}, jsii.Bool(true))
}

func (s *BackupStack) grantBucketKey(role awsiam.IRole, actions ...string) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{s.BucketKey.KeyArn()},
	}))
}

// backupPlaceholders are the placeholders of backup.asl.json, checked against backupTasks and the
// handler table the Lambda mains and the local executor bind.
func backupPlaceholders() ([]byte, []string, error) {
	def, err := statemachines.Definition(statemachines.Backup)
	if err != nil {
		return nil, nil, err
	}
	used := asl.Placeholders(def)
	bound := slices.Sorted(maps.Keys((&backup.Steps{}).Functions(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	deployed := slices.Sorted(maps.Keys(backupTasks))
	if !slices.Equal(used, bound) || !slices.Equal(used, deployed) {
		return nil, nil, fmt.Errorf("backup state machine: placeholders %v, handlers %v and deployed tasks %v differ", used, bound, deployed)
	}
	return def, used, nil
}

// NewBackupStack creates the backup stack in the DR Region.
func NewBackupStack(scope constructs.Construct, id string, props BackupStackProps) (*BackupStack, error) {
	cfg := props.Config
	def, placeholders, err := backupPlaceholders()
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(cfg.DR.Region)},
		Description: jsii.String(fmt.Sprintf("Cognito DR backup: %s (%s) to s3://%s in %s", cfg.Primary.UserPoolID, cfg.Primary.Region, cfg.Backup.Bucket, cfg.DR.Region)),
	})
	s := &BackupStack{Stack: stack, Config: cfg, Functions: map[string]*GoFunction{}}
	logRetention := cfg.LogRetention()

	s.Topic = NewOperatorTopic(stack, "Operators", OperatorTopicName, cfg.OperatorEmails)
	s.buildBucket()

	for _, p := range placeholders {
		spec := backupTasks[p]
		env := map[string]*string{"TOPIC_ARN": s.Topic.Topic.TopicArn()}
		if spec.Task == "export" {
			if cfg.Backup.UserListRPS > 0 {
				env["USER_LIST_RPS"] = jsii.String(fmt.Sprint(cfg.Backup.UserListRPS))
			}
			if cfg.Backup.UserReadRPS > 0 {
				env["USER_READ_RPS"] = jsii.String(fmt.Sprint(cfg.Backup.UserReadRPS))
			}
		}
		fn := NewGoFunction(stack, taskConstructID(spec.Task), GoFunctionProps{
			Task:                spec.Task,
			FunctionName:        "cognito-dr-backup-" + spec.Task,
			Code:                props.Code,
			MemoryMiB:           spec.MemoryMiB,
			Timeout:             awscdk.Duration_Seconds(jsii.Number(spec.TimeoutSeconds)),
			ReservedConcurrency: spec.ReservedConcurrency,
			Environment:         env,
			LogRetention:        logRetention,
		})
		spec.grant(s, fn.Role)
		s.Functions[p] = fn
	}

	s.buildStateMachine(def, placeholders, logRetention)
	if err := s.buildSchedule(); err != nil {
		return nil, err
	}
	s.buildAlarms()
	return s, nil
}

func taskConstructID(task string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(task, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Task"
}

func (s *BackupStack) buildBucket() {
	cfg := s.Config.Backup
	s.BucketKey = awskms.NewKey(s.Stack, jsii.String("BackupKey"), &awskms.KeyProps{
		Description:       jsii.String("Cognito DR: encrypts the snapshots in " + cfg.Bucket),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN, // without the key the snapshots are lost
	})
	s.AccessLogs = awss3.NewBucket(s.Stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		// S3 server access logs can only be delivered to an SSE-S3 bucket.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(365)),
		}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.AccessLogs, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("This is the access-log bucket of the backup bucket; logging it into itself would loop and another log bucket would only move the finding."),
	}}, jsii.Bool(true))

	var transitions *[]*awss3.Transition
	if cfg.RetentionDays >= 60 {
		// Standard-IA bills at least 30 days: only worth it when a snapshot outlives that by as much.
		transitions = &[]*awss3.Transition{{
			StorageClass:    awss3.StorageClass_INFREQUENT_ACCESS(),
			TransitionAfter: awscdk.Duration_Days(jsii.Number(30)),
		}}
	}
	s.Bucket = awss3.NewBucket(s.Stack, jsii.String("BackupBucket"), &awss3.BucketProps{
		BucketName:             jsii.String(cfg.Bucket),
		Versioned:              jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_KMS,
		EncryptionKey:          s.BucketKey,
		BucketKeyEnabled:       jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		MinimumTLSVersion:      jsii.Number(1.2),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: s.AccessLogs,
		ServerAccessLogsPrefix: jsii.String(cfg.Bucket + "/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:          jsii.String("expire-snapshots"),
				Prefix:      jsii.String(cfg.Prefix + "/"),
				Expiration:  awscdk.Duration_Days(jsii.Number(float64(cfg.RetentionDays))),
				Transitions: transitions,
			},
			{
				// Every reconcile run writes four full exports: keep them only for a short look back.
				Id:                          jsii.String("expire-reconcile-files"),
				Prefix:                      jsii.String(s.Config.Replication.Reconcile.Prefix + "/"),
				Expiration:                  awscdk.Duration_Days(jsii.Number(float64(s.Config.Replication.Reconcile.RetentionDays))),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:                                  jsii.String("expire-noncurrent-versions"),
				NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(float64(cfg.NoncurrentVersionDays))),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
				ExpiredObjectDeleteMarker:           jsii.Bool(true),
			},
		},
	})
}

func (s *BackupStack) buildStateMachine(def []byte, placeholders []string, logRetention awslogs.RetentionDays) {
	subs := map[string]*string{}
	var arns []*string
	for _, p := range placeholders {
		arn := s.Functions[p].Function.FunctionArn()
		subs[p] = arn
		arns = append(arns, arn)
	}
	s.ExecutionLogs = awslogs.NewLogGroup(s.Stack, jsii.String("BackupExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + BackupStateMachineName),
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.StateMachine = awsstepfunctions.NewStateMachine(s.Stack, jsii.String("BackupStateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(BackupStateMachineName),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(def))),
		DefinitionSubstitutions: &subs,
		// Every event, without input or output: state carries keys and counts, and the history
		// stays in the console for the details.
		Logs: &awsstepfunctions.LogOptions{
			Destination:          s.ExecutionLogs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(s.Config.Tracing),
	})
	// The definition is a string, so CDK cannot see which functions it calls: grant exactly these,
	// unqualified, as the ASL names them.
	s.StateMachine.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &arns,
	}))
	if !s.Config.Tracing {
		cdknag.NagSuppressions_AddResourceSuppressions(s.StateMachine, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SF2"),
			Reason: jsii.String("X-Ray is optional (config \"tracing\"): the execution history and the tasks' JSON logs already show every step, and X-Ray needs Resource \"*\"."),
		}}, jsii.Bool(false))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.StateMachine.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) and X-Ray support no resource-level permissions; Step Functions requires them on \"*\" to log executions."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
}

func (s *BackupStack) buildSchedule() error {
	input, err := json.Marshal(s.Config.BackupRequest())
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
		Reason: jsii.String("This queue is the dead-letter queue of the backup schedule; an alarm watches it."),
	}}, jsii.Bool(false))

	s.ScheduleRole = awsiam.NewRole(s.Stack, jsii.String("ScheduleRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler: start the backup state machine, dead-letter what it cannot"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": s.Config.Account}},
		}),
	})
	s.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &[]*string{s.StateMachine.StateMachineArn()},
	}))
	// Scheduler sends undeliverable events to the DLQ with the target role.
	s.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{s.DeadLetters.QueueArn()},
	}))

	s.Schedule = awsscheduler.NewCfnSchedule(s.Stack, jsii.String("BackupSchedule"), &awsscheduler.CfnScheduleProps{
		Name:                       jsii.String(BackupScheduleName),
		Description:                jsii.String("Cognito DR: back up " + s.Config.Primary.UserPoolID),
		ScheduleExpression:         jsii.String(s.Config.Backup.Schedule),
		ScheduleExpressionTimezone: jsii.String(s.Config.Backup.TimeZone),
		FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:                      jsii.String("ENABLED"),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     s.StateMachine.StateMachineArn(),
			RoleArn: s.ScheduleRole.RoleArn(),
			Input:   jsii.String(string(input)),
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(3600),
				MaximumRetryAttempts:     jsii.Number(10),
			},
			DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: s.DeadLetters.QueueArn()},
		},
	})
	return nil
}

func (s *BackupStack) buildAlarms() {
	notify := awscloudwatchactions.NewSnsAction(s.Topic.Topic)
	s.FailedAlarm = awscloudwatch.NewAlarm(s.Stack, jsii.String("BackupFailedAlarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String("cognito-dr-backup-failed"),
		AlarmDescription:   jsii.String("A backup execution failed; its failure notification names the error."),
		Metric:             s.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	// No success in 26 hourly periods: a daily backup missed (or failed) by more than two hours.
	// Missing data breaches: an execution that never starts emits no metric at all.
	s.AgeAlarm = awscloudwatch.NewAlarm(s.Stack, jsii.String("BackupAgeAlarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String("cognito-dr-backup-age"),
		AlarmDescription:   jsii.String("No backup succeeded in the last 26 hours."),
		Metric:             s.StateMachine.MetricSucceeded(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Hours(jsii.Number(1)), Statistic: jsii.String("Sum")}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(26),
		DatapointsToAlarm:  jsii.Number(26),
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
	})
	s.DLQAlarm = awscloudwatch.NewAlarm(s.Stack, jsii.String("ScheduleDeadLettersAlarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String("cognito-dr-backup-schedule-dead-letters"),
		AlarmDescription:   jsii.String("EventBridge Scheduler could not start a backup execution; the event is in the dead-letter queue."),
		Metric:             s.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	for _, a := range []awscloudwatch.Alarm{s.FailedAlarm, s.AgeAlarm, s.DLQAlarm} {
		a.AddAlarmAction(notify)
	}
	s.AgeAlarm.AddOkAction(notify)
}
