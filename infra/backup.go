package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// backupTasks deploys every placeholder of backup.asl.json; NewBackupStack refuses to synthesize
// when it, the ASL's placeholders and backup.Tasks disagree.
var backupTasks = map[string]taskSpec[*BackupStack]{
	"ExportFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		// Two exports at once would each pace to the whole UserList quota and throttle each other.
		ReservedConcurrency: 1,
		grant: func(s *BackupStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup", "cognito-idp:AdminGetUser"}, cfg.PoolArn(cfg.Primary))
			// The export checks that the target pool of the import CSVs exists before writing anything.
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.DR))
			// HeadBucket is authorized as s3:ListBucket.
			allow(role, []string{"s3:ListBucket"}, s.BucketArn())
			// GetObject: a resumed export reads its checkpoint and the parts it wrote.
			s.allowObjects(role, []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, s.SnapshotsArn())
			s.grantBucketKey(role, "kms:GenerateDataKey", "kms:Decrypt") // Decrypt: multipart uploads, checkpoint reads
		},
	},
	"BuildImportCsvFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *BackupStack, role awsiam.IRole) {
			cfg := s.Config
			// CSVs for the DR pool (failover) or for the primary itself (restore in place).
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, cfg.PoolArn(cfg.DR), cfg.PoolArn(cfg.Primary))
			s.allowObjects(role, []string{"s3:GetObject"}, s.SnapshotsArn())
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.ImportCSVArns()...)
			s.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"CapturePoolConfigFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 300,
		grant: func(s *BackupStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:ListUserPoolClients",
				"cognito-idp:DescribeUserPoolClient", "cognito-idp:ListGroups", "cognito-idp:ListIdentityProviders",
				"cognito-idp:DescribeIdentityProvider", "cognito-idp:ListResourceServers", "cognito-idp:DescribeUserPoolDomain"}, cfg.PoolArn(cfg.Primary))
			s.allowObjects(role, []string{"s3:PutObject"}, s.PoolConfigArn())
			s.grantBucketKey(role, "kms:GenerateDataKey")
		},
	},
	"WriteManifestFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *BackupStack, role awsiam.IRole) {
			s.allowObjects(role, []string{"s3:PutObject"}, s.ManifestArn())
			// The manifest lists the users and memberships parts from the indexes the export wrote.
			s.allowObjects(role, []string{"s3:GetObject"}, s.UsersIndexArn(), s.MembershipsIndexArn())
			s.grantBucketKey(role, "kms:GenerateDataKey", "kms:Decrypt")
		},
	},
	"NotifyFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
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
	// WorkflowSchedule starts the state machine: Schedule, ScheduleRole, DeadLetters.
	WorkflowSchedule
	FailedAlarm awscloudwatch.Alarm
	AgeAlarm    awscloudwatch.Alarm
	DLQAlarm    awscloudwatch.Alarm
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

// PoolConfigArn covers the pool configuration (pool.json) of every snapshot.
func (s *BackupStack) PoolConfigArn() string {
	return strings.TrimSuffix(s.SnapshotsArn(), "*") + "*/" + backup.PoolConfigFile
}

// UsersIndexArn covers the users index of every snapshot.
func (s *BackupStack) UsersIndexArn() string {
	return strings.TrimSuffix(s.SnapshotsArn(), "*") + "*/" + snapshot.UsersIndexFile
}

// MembershipsIndexArn covers the memberships index of every snapshot.
func (s *BackupStack) MembershipsIndexArn() string {
	return strings.TrimSuffix(s.SnapshotsArn(), "*") + "*/" + snapshot.MembershipsIndexFile
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
		Reason:    jsii.String("Snapshot keys contain the execution's time and name, unknown at deploy time: the wildcard is confined to <prefix>/<primary pool id>/ of the backup bucket (and to import/<pool>/, manifest.json or pool.json under it)."),
		AppliesTo: &appliesTo,
	}}, jsii.Bool(true))
}

func (s *BackupStack) grantBucketKey(role awsiam.IRole, actions ...string) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{s.BucketKey.KeyArn()},
	}))
}

// NewBackupStack creates the backup stack in the DR Region.
func NewBackupStack(scope constructs.Construct, id string, props BackupStackProps) (*BackupStack, error) {
	cfg := props.Config
	// Synth fails when the ASL's placeholders, the task table and the typed tasks disagree.
	def, tasks, err := workflowTasks(statemachines.Backup, backupTasks, boundary.Specs(backup.Tasks))
	if err != nil {
		return nil, err
	}
	stack := newStack(scope, id, cfg.Account, cfg.DR.Region, fmt.Sprintf("Cognito DR backup: %s (%s) to s3://%s in %s", cfg.Primary.UserPoolID, cfg.Primary.Region, cfg.Backup.Bucket, cfg.DR.Region))
	s := &BackupStack{Stack: stack, Config: cfg}
	logRetention := cfg.LogRetention()

	s.Topic = NewOperatorTopic(stack, "Operators", OperatorTopicName, cfg.OperatorEmails)
	s.buildBucket()

	settings := map[string]*string{"TOPIC_ARN": s.Topic.Topic.TopicArn()}
	if cfg.Backup.UserListRPS > 0 {
		settings["USER_LIST_RPS"] = jsii.String(fmt.Sprint(cfg.Backup.UserListRPS))
	}
	if cfg.Backup.UserReadRPS > 0 {
		settings["USER_READ_RPS"] = jsii.String(fmt.Sprint(cfg.Backup.UserReadRPS))
	}
	if s.Functions, err = newTaskFunctions(stack, s, backupTasks, taskFunctionsProps{
		Workflow:     "backup",
		Tasks:        tasks,
		Code:         props.Code,
		LogRetention: logRetention,
		Settings:     settings,
	}); err != nil {
		return nil, err
	}

	s.StateMachine, s.ExecutionLogs = newWorkflowStateMachine(stack, "Backup", workflowStateMachineProps{
		Name:         BackupStateMachineName,
		Definition:   def,
		Functions:    s.Functions,
		LogRetention: logRetention,
		Tracing:      cfg.Tracing,
		StepEvidence: "the execution history and the tasks' JSON logs",
	})
	if err := s.buildSchedule(); err != nil {
		return nil, err
	}
	s.buildAlarms()
	return s, nil
}

func (s *BackupStack) buildBucket() {
	cfg := s.Config.Backup
	s.BucketKey = newBucketKey(s.Stack, "BackupKey", "Cognito DR: encrypts the snapshots in "+cfg.Bucket)
	s.AccessLogs = newAccessLogBucket(s.Stack, "AccessLogs", "backup")

	var transitions *[]*awss3.Transition
	if cfg.RetentionDays >= 60 {
		// Standard-IA bills at least 30 days: only worth it when a snapshot outlives that by as much.
		transitions = &[]*awss3.Transition{{
			StorageClass:    awss3.StorageClass_INFREQUENT_ACCESS(),
			TransitionAfter: awscdk.Duration_Days(jsii.Number(30)),
		}}
	}
	s.Bucket = newDataBucket(s.Stack, "BackupBucket", cfg.Bucket, s.BucketKey, s.AccessLogs, []*awss3.LifecycleRule{
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
			// Failback plans and exports hold user data; approvals are the audit trail of decisions.
			Id:         jsii.String("expire-failback-files"),
			Prefix:     jsii.String(s.Config.Failback.Prefix + "/"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(s.Config.Failback.RetentionDays))),
		},
		{
			// Restore files hold user data; the report and the sub map are what applications
			// re-key their data with.
			Id:         jsii.String("expire-restore-files"),
			Prefix:     jsii.String(s.Config.Restore.Prefix + "/"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(s.Config.Restore.RetentionDays))),
		},
		{
			Id:         jsii.String("expire-approvals"),
			Prefix:     jsii.String(ApprovalsPrefix + "/"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(s.Config.Failback.RetentionDays))),
		},
		{
			Id:                                  jsii.String("expire-noncurrent-versions"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(float64(cfg.NoncurrentVersionDays))),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			ExpiredObjectDeleteMarker:           jsii.Bool(true),
		},
	})
}

func (s *BackupStack) buildSchedule() error {
	var err error
	s.WorkflowSchedule, err = newWorkflowSchedule(s.Stack, "BackupSchedule", workflowScheduleProps{
		Workflow:           "backup",
		StateMachine:       s.StateMachine,
		Name:               BackupScheduleName,
		Description:        "Cognito DR: back up " + s.Config.Primary.UserPoolID,
		Expression:         s.Config.Backup.Schedule,
		TimeZone:           s.Config.Backup.TimeZone,
		State:              "ENABLED",
		Input:              s.Config.BackupRequest(),
		Account:            s.Config.Account,
		MaxEventAgeSeconds: 3600,
		MaxRetries:         10,
	})
	return err
}

func (s *BackupStack) buildAlarms() {
	s.FailedAlarm = newAlarm(s.Stack, "BackupFailedAlarm", "cognito-dr-backup-failed",
		"A backup execution failed; its failure notification names the error.",
		s.StateMachine.MetricFailed(every5Minutes("Sum")), 1)
	// No success in 26 hourly periods: a daily backup missed (or failed) by more than two hours.
	s.AgeAlarm = newNoSuccessAlarm(s.Stack, "BackupAgeAlarm", "cognito-dr-backup-age",
		"No backup succeeded in the last 26 hours.", s.StateMachine, awscdk.Duration_Hours(jsii.Number(1)), 26)
	s.DLQAlarm = newDeadLettersAlarm(s.Stack, "backup", s.DeadLetters)
	notifyAlarms(s.Topic, s.FailedAlarm, s.AgeAlarm, s.DLQAlarm)
	s.AgeAlarm.AddOkAction(awscloudwatchactions.NewSnsAction(s.Topic.Topic))
}
