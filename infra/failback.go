package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// Names of the failback resources operators look for.
const (
	FailbackStateMachineName = "cognito-dr-failback"
	FailbackTopicName        = "cognito-dr-failback"
	ApprovalAPIName          = "cognito-dr-approvals"
	ApprovalPageFunctionName = "cognito-dr-approval-page"
	SigningKeySecretName     = "cognito-dr/approval-signing-key"
	// ApprovalPageTask is the tasks/<dir> of the approval page, which is no state machine task.
	ApprovalPageTask = "approval-page"
	// ApprovalsPrefix is where approval.S3Store keeps approvals/<id>/{request,decision,outcome}.json,
	// at the root of the bucket (infra_test.go checks it against the store).
	ApprovalsPrefix = "approvals"
	// ApprovalPath is the approval page's route; links are <API endpoint>/approvals/<id>?exp=…&sig=….
	ApprovalPath = "/approvals"
	// SigningKeyLength is the generated key's length in characters (letters and digits: ~380 bits),
	// above approval.MinKeyBytes.
	SigningKeyLength = 64
)

// Cognito actions of the failback tasks, read off workflows/failback.
var (
	// export.WriteSnapshot without MFA preferences (the failback never asks for them), after
	// preflight.DescribePool.
	cognitoExport = []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup"}
	// csvbuild.Target: the primary pool's schema and import header.
	cognitoCSVTarget = []string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}
	// failback.Steps.apply: every kind of change ApplyChanges makes on the primary.
	cognitoApply = []string{"cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminDeleteUserAttributes", "cognito-idp:AdminAddUserToGroup", "cognito-idp:CreateGroup", "cognito-idp:AdminDisableUser"}
	// poolpair.PrimarySubTrust: every DR app client's WriteAttributes decides whether
	// custom:primary_sub is trusted (PlanFailback and PlanReconcile, on the DR pool only).
	cognitoAppClients = []string{"cognito-idp:ListUserPoolClients", "cognito-idp:DescribeUserPoolClient"}
)

// failbackTasks deploys every placeholder of failback.asl.json; NewFailbackStack refuses to
// synthesize when it, the ASL's placeholders and failback.Tasks disagree.
var failbackTasks = map[string]taskSpec[*FailbackStack]{
	"PrepareFailbackFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			allow(role, cognitoAppClients, cfg.PoolArn(cfg.DR))
			// HeadBucket has no prefix, so no s3:prefix condition can apply.
			allow(role, []string{"s3:ListBucket"}, s.Backup.BucketArn())
		},
	},
	"ExportFailbackPoolsFunctionArn": {
		MemoryMiB: 2048, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, cognitoExport, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			// The exports and their checkpoints, read back by the next invocation.
			exports := []string{s.FileArn(failback.PrimaryDir + "*"), s.FileArn(failback.DRDir + "*")}
			s.allowObjects(role, []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, exports...)
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	// PlanFailback works bucket by bucket (internal/partition): bounded by a bucket, not the pool;
	// a unit's bucket files are spooled to /tmp (measured 99 MB at 1 million users, 101 MB at 2).
	"PlanFailbackFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:DescribeUserPool"}, cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR))
			allow(role, cognitoAppClients, cfg.PoolArn(cfg.DR))
			// The listing of earlier failbacks' disable ledgers.
			allow(role, []string{"s3:ListBucket"}, s.Backup.BucketArn())
			// The exports and earlier failbacks' disable ledgers; the plan files.
			s.allowObjects(role, []string{"s3:GetObject"}, s.FilesArn())
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn("plan/*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"ValidateImportFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, cognitoCSVTarget, s.Config.PoolArn(s.Config.Primary))
			// The users to import, the plan files whose digests bind the approval, and the CSV
			// build's own work files (csvbuild: username fingerprints, its checkpoint, the units'
			// rejects it joins).
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn("plan/*"), s.FileArn(failback.DRDir+"*"), s.FileArn(failback.ImportDir+"work/*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(failback.ImportDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"RequestApprovalFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// The summary, and every file the approval binds, verified before it is requested.
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn("plan/*"), s.FileArn(failback.ImportDir+"*"), s.FileArn(failback.DRDir+"*"))
			s.allowObjects(role, []string{"s3:PutObject"}, s.ApprovalsArn())
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			s.grantSigningKey(role)
			s.Topic.GrantPublish(role)
		},
	},
	"UploadImportFunctionArn": {
		MemoryMiB: 512, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, []string{"cognito-idp:CreateUserImportJob"}, s.Config.PoolArn(s.Config.Primary))
			// CreateUserImportJob passes the logs role to Cognito.
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:    jsii.Strings("iam:PassRole"),
				Resources:  &[]*string{s.ImportLogsRole.RoleArn()},
				Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cognito-idp.amazonaws.com"}},
			}))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(failback.ImportDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt")
		},
	},
	"StartImportFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// DescribeUserImportJob tells a busy account slot from a job in the wrong status.
			allow(role, []string{"cognito-idp:StartUserImportJob", "cognito-idp:DescribeUserImportJob"}, s.Config.PoolArn(s.Config.Primary))
		},
	},
	"PollImportFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, []string{"cognito-idp:DescribeUserImportJob"}, s.Config.PoolArn(s.Config.Primary))
		},
	},
	"CollectImportResultsFunctionArn": {
		MemoryMiB: 512, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, cognitoCSVTarget, s.Config.PoolArn(s.Config.Primary))
			allow(role, []string{"logs:GetLogEvents"}, s.ImportLogGroupsArn())
			suppressWildcard(role, "Cognito names the import log group /aws/cognito/userpools/<pool id>/<pool name> and each stream <job id>/<job name>: the wildcard covers only the primary pool's import logs.", s.ImportLogGroupsArn())
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(failback.ImportDir+"*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(failback.ImportResultsDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"ApplyChangesFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, cognitoApply, s.Config.PoolArn(s.Config.Primary))
			// The rejects (import/), the users to import and the actions (plan/).
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(failback.ImportDir+"*"), s.FileArn("plan/*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(failback.ApplyLedgerDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"DisableUsersFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			cfg := s.Config
			allow(role, []string{"cognito-idp:AdminGetUser"}, cfg.PoolArn(cfg.Primary))
			allow(role, []string{"cognito-idp:AdminDisableUser", "cognito-idp:AdminUserGlobalSignOut"}, cfg.PoolArn(cfg.DR))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(failback.DRDir+"*"))
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(failback.DisableLedgerDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"WriteReportFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// The ledgers are listed under the failback's own prefix.
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:    jsii.Strings("s3:ListBucket"),
				Resources:  jsii.Strings(s.Backup.BucketArn()),
				Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": s.FilesPrefix() + "*"}},
			}))
			s.allowObjects(role, []string{"s3:GetObject"}, s.FilesArn())
			// The report's buckets, the report, its summary and the record that it was sent.
			s.allowObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.FileArn(failback.ReportDir+"*"), s.FileArn(failback.ReportFile), s.FileArn(failback.ReportSummary), s.FileArn(failback.ReportPublishedFile))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			s.Topic.GrantPublish(role)
		},
	},
	// The switch (internal/failover through workflows/failback): each function writes exactly one
	// pool's mode parameter; ActivatePrimary also resumes the reconcile schedule (its PassRole on
	// the schedule's role is granted by GrantResumeReconcile, once the reconcile stack exists).
	"FenceDrFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, []string{"ssm:GetParameter", "ssm:PutParameter"}, s.Config.ModeParameterArn(s.Config.DR))
			// The DR pool's mode before the fence, recorded before it is changed.
			s.allowObjects(role, []string{"s3:GetObject", "s3:PutObject"}, s.FileArn(failback.FenceRecordFile))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"ReopenDrFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, []string{"ssm:PutParameter"}, s.Config.ModeParameterArn(s.Config.DR))
		},
	},
	"CompareFinalPlanFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// Both plans' users to import and actions (plan/ and final/plan/), checked against their digests.
			s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn("plan/*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt")
		},
	},
	"ActivatePrimaryFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			allow(role, []string{"ssm:GetParameter", "ssm:PutParameter"}, s.Config.ModeParameterArn(s.Config.Primary))
			allow(role, []string{"scheduler:GetSchedule", "scheduler:UpdateSchedule"}, s.Config.ReconcileScheduleArn())
		},
	},
	"NotifyFailbackFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) { s.Topic.GrantPublish(role) },
	},
}

// ReconcileScheduleArn is the reconcile schedule failover pauses and failback resumes, in the DR Region.
func (c Config) ReconcileScheduleArn() string {
	return fmt.Sprintf("arn:%s:scheduler:%s:%s:schedule/%s/%s", c.Partition(), c.DR.Region, c.Account, failover.DefaultScheduleGroup, ReconcileScheduleName)
}

// GrantResumeReconcile lets ActivatePrimary pass the reconcile schedule's role back to EventBridge
// Scheduler: UpdateSchedule sends the whole schedule, its target's role included
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html).
func (s *FailbackStack) GrantResumeReconcile(scheduleRole awsiam.IRole) {
	s.Functions[failback.ActivatePrimaryTask.Placeholder].Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("iam:PassRole"),
		Resources:  &[]*string{scheduleRole.RoleArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
	}))
}

// FailbackStackProps configure NewFailbackStack.
type FailbackStackProps struct {
	Config Config
	Code   CodeSource
	// Backup is the stack whose bucket, bucket key and operators' topic the failback uses.
	Backup *BackupStack
}

// FailbackStack deploys the approval-gated failback workflow in the DR Region, beside the backup
// stack whose bucket holds its files. It is a stack of its own so that the public approval
// endpoint, the signing key and the roles that write to the primary pool are deployed, reviewed
// and removed apart from the backups, and a change to one never redeploys the other. It also runs
// the restore and its drill (restore.go), which share its import functions and its approvals.
type FailbackStack struct {
	awscdk.Stack
	Config Config
	Backup *BackupStack
	// Topic carries the approval requests and the outcomes to the approvers: whoever is
	// subscribed can approve.
	Topic *OperatorTopic
	// ImportLogsRole is the role Cognito assumes to log import jobs in the primary Region (IAM is
	// global, so it lives here; only the log group ARN names the primary Region).
	ImportLogsRole awsiam.Role
	SigningKey     awssecretsmanager.Secret
	SigningKeyKey  awskms.Key
	Functions      map[string]*GoFunction // by ASL placeholder
	ApprovalPage   *GoFunction
	ApprovalAPI    awsapigatewayv2.HttpApi
	ApprovalStage  awsapigatewayv2.HttpStage
	APIAccessLogs  awslogs.LogGroup
	// ApprovalBaseURL is the BASE_URL of the approval page and of request-approval.
	ApprovalBaseURL *string
	StateMachine    awsstepfunctions.StateMachine
	ExecutionLogs   awslogs.LogGroup
	FailedAlarm     awscloudwatch.Alarm
	TimedOutAlarm   awscloudwatch.Alarm
	// The restore workflow and its drill (infra/restore.go).
	restoreResources
}

// FilesPrefix is where this deployment's failbacks keep their files: <prefix>/<primary pool>/.
func (s *FailbackStack) FilesPrefix() string {
	return s.Config.Failback.Prefix + "/" + s.Config.Primary.UserPoolID + "/"
}

// FilesArn covers every failback's files. Their keys carry the execution's time and name.
func (s *FailbackStack) FilesArn() string { return s.Backup.BucketArn() + "/" + s.FilesPrefix() + "*" }

// FileArn covers file name (relative to a failback's prefix, may end in *) of every failback.
func (s *FailbackStack) FileArn(name string) string {
	return s.Backup.BucketArn() + "/" + s.FilesPrefix() + "*/" + name
}

// ApprovalsArn covers the approval records.
func (s *FailbackStack) ApprovalsArn() string {
	return s.Backup.BucketArn() + "/" + ApprovalsPrefix + "/*"
}

// ImportLogGroupsArn covers the primary pool's import job log group and its streams.
func (s *FailbackStack) ImportLogGroupsArn() string {
	c := s.Config
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/cognito/userpools/%s/*", c.Partition(), c.Primary.Region, c.Account, c.Primary.UserPoolID)
}

// allowObjects grants actions on failback or approval objects, whose keys hold an execution's
// time and name or a random approval id: a wildcard confined to the prefix.
func (s *FailbackStack) allowObjects(role awsiam.IRole, actions []string, arns ...string) {
	allow(role, actions, arns...)
	suppressWildcard(role, "Failback keys contain the execution's time and name, approval keys a random id, both unknown at deploy time: the wildcard is confined to <failback prefix>/<primary pool id>/ (or a file name under it) or approvals/ of the backup bucket.", arns...)
}

// suppressWildcard records why the wildcards of arns in role's policy are needed.
func suppressWildcard(role awsiam.IRole, reason string, arns ...string) {
	appliesTo := make([]any, len(arns))
	for i, a := range arns {
		appliesTo[i] = "Resource::" + a
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String(reason),
		AppliesTo: &appliesTo,
	}}, jsii.Bool(true))
}

// grantSigningKey lets a role read the approval signing key: the secret, decrypted by its key
// only through Secrets Manager.
func (s *FailbackStack) grantSigningKey(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{s.SigningKey.SecretArn()},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  &[]*string{s.SigningKeyKey.KeyArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + s.Config.DR.Region + ".amazonaws.com"}},
	}))
}

// NewFailbackStack creates the failback stack in the DR Region.
func NewFailbackStack(scope constructs.Construct, id string, props FailbackStackProps) (*FailbackStack, error) {
	cfg := props.Config
	// Synth fails when the ASL's placeholders, the task table and the typed tasks disagree.
	def, tasks, err := workflowTasks(statemachines.Failback, failbackTasks, boundary.Specs(failback.Tasks))
	if err != nil {
		return nil, err
	}
	stack := newStack(scope, id, cfg.Account, cfg.DR.Region, fmt.Sprintf("Cognito DR failback: %s (%s) back to %s (%s), approved at %s", cfg.DR.UserPoolID, cfg.DR.Region, cfg.Primary.UserPoolID, cfg.Primary.Region, ApprovalAPIName))
	stack.AddDependency(props.Backup.Stack, jsii.String("the failback keeps its files in the backup bucket and alarms on the operators' topic"))
	s := &FailbackStack{Stack: stack, Config: cfg, Backup: props.Backup}
	logRetention := cfg.LogRetention()

	s.Topic = NewOperatorTopic(stack, "Approvers", FailbackTopicName, cfg.Approvers())
	s.buildImportLogsRole()
	s.buildSigningKey()
	// The API exists before the functions: both the page and request-approval need its URL.
	s.ApprovalAPI = awsapigatewayv2.NewHttpApi(stack, jsii.String("ApprovalApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(ApprovalAPIName),
		Description:        jsii.String("Cognito DR: the failback approval page behind the emailed, signed links"),
		CreateDefaultStage: jsii.Bool(false),
	})
	s.ApprovalBaseURL = jsii.String(*s.ApprovalAPI.ApiEndpoint() + ApprovalPath)
	approvalEnv := func(env map[string]*string) map[string]*string {
		env["APPROVAL_BUCKET"] = jsii.String(cfg.Backup.Bucket)
		env["BASE_URL"] = s.ApprovalBaseURL
		env["APPROVAL_SIGNING_KEY_SECRET"] = s.SigningKey.SecretArn()
		return env
	}

	if s.Functions, err = newTaskFunctions(stack, s, failbackTasks, taskFunctionsProps{
		Workflow:     "failback",
		Tasks:        tasks,
		Code:         props.Code,
		LogRetention: logRetention,
		Settings: approvalEnv(map[string]*string{
			"TOPIC_ARN":                s.Topic.Topic.TopicArn(),
			"IMPORT_LOGS_ROLE_ARN":     s.ImportLogsRole.RoleArn(),
			"RECONCILE_SCHEDULE_NAME":  jsii.String(ReconcileScheduleName),
			"RECONCILE_SCHEDULE_GROUP": jsii.String(failover.DefaultScheduleGroup),
		}),
	}); err != nil {
		return nil, err
	}
	// Task states name the functions by unqualified ARN, RequestApproval through
	// lambda:invoke.waitForTaskToken's FunctionName: lambda:InvokeFunction on exactly these.
	s.StateMachine, s.ExecutionLogs = newWorkflowStateMachine(stack, "Failback", workflowStateMachineProps{
		Name:         FailbackStateMachineName,
		Definition:   def,
		Functions:    s.Functions,
		LogRetention: logRetention,
		Tracing:      cfg.Tracing,
		StepEvidence: "the execution history, the per-user report and the tasks' JSON logs",
	})
	if err := s.buildRestore(props.Code, approvalEnv(map[string]*string{"TOPIC_ARN": s.Topic.Topic.TopicArn()}), logRetention); err != nil {
		return nil, err
	}
	s.buildApprovalPage(props.Code, approvalEnv(map[string]*string{}), logRetention)
	s.buildAlarms()
	if err := s.buildOutputs(); err != nil {
		return nil, err
	}
	return s, nil
}

// buildImportLogsRole creates the role CreateUserImportJob passes to Cognito, with the policy
// the Cognito import guide gives, narrowed to the primary pool's log group.
func (s *FailbackStack) buildImportLogsRole() {
	c := s.Config
	s.ImportLogsRole = awsiam.NewRole(s.Stack, jsii.String("ImportLogsRole"), &awsiam.RoleProps{
		Description: jsii.String("Cognito user import jobs of " + c.Primary.UserPoolID + ": write their per-row results to CloudWatch Logs in " + c.Primary.Region),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("cognito-idp.amazonaws.com"), nil),
	})
	arn := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/cognito/userpools/%s/*", c.Partition(), c.Primary.Region, c.Account, c.Primary.UserPoolID)
	s.ImportLogsRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
		Resources: jsii.Strings(arn),
	}))
	suppressWildcard(s.ImportLogsRole, "Cognito creates the log group /aws/cognito/userpools/<pool id>/<pool name> and a stream per job; the pool name and job ids are not known at deploy time. The wildcard covers only the primary pool's import logs.", arn)
}

// buildSigningKey creates the approval links' HMAC key: a generated Secrets Manager secret
// encrypted with a customer key of its own.
func (s *FailbackStack) buildSigningKey() {
	s.SigningKeyKey = awskms.NewKey(s.Stack, jsii.String("SigningKeyKey"), &awskms.KeyProps{
		Description:       jsii.String("Cognito DR: encrypts the approval signing key " + SigningKeySecretName),
		EnableKeyRotation: jsii.Bool(true),
	})
	s.SigningKey = awssecretsmanager.NewSecret(s.Stack, jsii.String("SigningKey"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String(SigningKeySecretName),
		Description:   jsii.String("Cognito DR: HMAC-SHA256 key signing the failback approval links and forms"),
		EncryptionKey: s.SigningKeyKey,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(SigningKeyLength),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.SigningKey, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SMG4"),
		Reason: jsii.String("The key signs approval links that live at most the approval timeout (7 days at most); the functions read it at cold start. " +
			"Rotation is a manual runbook step (README: rotate between failbacks, then update the functions) because rotating voids every pending link; there is no database credential to rotate."),
	}}, jsii.Bool(false))
}

// buildApprovalPage deploys tasks/approval-page behind an HTTP API: GET/HEAD show the plan, POST
// decides. The API (not a Function URL) because the page's own BASE_URL would make a Function URL
// reference itself, and because a stage throttles the public endpoint and logs every request.
func (s *FailbackStack) buildApprovalPage(code CodeSource, env map[string]*string, logRetention awslogs.RetentionDays) {
	s.ApprovalPage = NewGoFunction(s.Stack, "ApprovalPage", GoFunctionProps{
		Task:         ApprovalPageTask,
		FunctionName: ApprovalPageFunctionName,
		Code:         code,
		MemoryMiB:    256,
		// Longer than API Gateway's 30 s integration timeout: once a decision is recorded, its
		// delivery to Step Functions (bounded by the handler's 30 s) finishes even if the browser
		// has been answered 504 by then.
		Timeout:      awscdk.Duration_Seconds(jsii.Number(60)),
		Environment:  env,
		LogRetention: logRetention,
	})
	role := s.ApprovalPage.Role
	s.allowObjects(role, []string{"s3:GetObject", "s3:PutObject"}, s.ApprovalsArn())
	// The page lists every change of the plan from its actions file.
	s.allowObjects(role, []string{"s3:GetObject"}, s.FileArn(failback.ActionsFile))
	s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
	s.grantSigningKey(role)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure"),
		Resources: &[]*string{s.StateMachine.StateMachineArn(), s.RestoreStateMachine.StateMachineArn()},
	}))

	s.APIAccessLogs = awslogs.NewLogGroup(s.Stack, jsii.String("ApprovalApiAccessLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/apigateway/" + ApprovalAPIName),
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.ApprovalStage = awsapigatewayv2.NewHttpStage(s.Stack, jsii.String("ApprovalApiStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    s.ApprovalAPI,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(s.Config.Failback.ApprovalRateLimit),
			BurstLimit: jsii.Number(s.Config.Failback.ApprovalBurstLimit),
		},
	})
	// Who asked for what, when, and the answer; never the query string, which holds the link's
	// signature.
	format, _ := json.Marshal(map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "requestTime": "$context.requestTime",
		"method": "$context.httpMethod", "routeKey": "$context.routeKey", "status": "$context.status",
		"responseLength": "$context.responseLength", "userAgent": "$context.identity.userAgent",
		"integrationError": "$context.integrationErrorMessage",
	})
	s.ApprovalStage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: s.APIAccessLogs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})

	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApprovalPageIntegration"), s.ApprovalPage.Function,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
	routes := s.ApprovalAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(ApprovalPath + "/{id}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_HEAD, awsapigatewayv2.HttpMethod_POST},
		Integration: integration,
	})
	for _, r := range *routes {
		cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-APIG4"),
			Reason: jsii.String("Approvers are whoever receives the failback topic's email and have no AWS identity: the link's HMAC-SHA256 signature (128-bit random id, expiry) is the authorization, " +
				"checked before anything is read; a decision also needs the page's form token and a same-origin POST, and is recorded once. The stage throttles the route."),
		}}, jsii.Bool(true))
	}
}

func (s *FailbackStack) buildAlarms() {
	// A rejection or an approval timeout also ends the execution as failed: the operators hear
	// of every failback that did not complete (the approvers' topic says which it was).
	s.FailedAlarm = newAlarm(s.Stack, "FailbackFailedAlarm", "cognito-dr-failback-failed",
		"A failback execution failed, was rejected or was not approved in time; its notification on "+FailbackTopicName+" says which.",
		s.StateMachine.MetricFailed(every5Minutes("Sum")), 1)
	// The execution's own 8-day timeout: no task notifies then.
	s.TimedOutAlarm = newAlarm(s.Stack, "FailbackTimedOutAlarm", "cognito-dr-failback-timed-out",
		"A failback execution hit the state machine's timeout; no notification was sent. Check its history.",
		s.StateMachine.MetricTimedOut(every5Minutes("Sum")), 1)
	notifyAlarms(s.Backup.Topic, s.FailedAlarm, s.TimedOutAlarm)
}

// buildOutputs shows what the runbook needs after a deploy: the console input, the state machine,
// the approval endpoint.
func (s *FailbackStack) buildOutputs() error {
	input, err := json.Marshal(s.Config.FailbackRequest())
	if err != nil {
		return err
	}
	out := func(id, value, desc string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(desc)})
	}
	out("FailbackInput", strings.Replace(string(input), `"failoverTime":""`, `"failoverTime":"<RFC 3339 time traffic moved to the DR pool>"`, 1),
		"Execution input of "+FailbackStateMachineName+": set failoverTime (and applyDisables, globalSignOut, approvalTimeoutSeconds if wanted)")
	out("FailbackStateMachineArn", *s.StateMachine.StateMachineArn(), "The failback state machine")
	out("ApprovalBaseUrl", *s.ApprovalBaseURL, "Approval links are <this>/<id>?exp=…&sig=…")
	out("ApprovalSigningKeySecret", *s.SigningKey.SecretArn(), "The approval signing key (rotate: README, Deploy on AWS)")
	return nil
}
