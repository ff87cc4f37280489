package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// The restore workflow lives in the failback stack: its import tasks are the failback's own
// functions (importjob, the same placeholders), and a restore into a pool with users is approved
// on the failback's page, with its signing key, by the failback's approvers.

// Names of the restore resources operators look for.
const (
	RestoreStateMachineName = "cognito-dr-restore"
	DrillScheduleName       = "cognito-dr-restore-drill"
)

// Cognito actions of the restore tasks, read off workflows/restore and internal/poolconfig.
var (
	// poolconfig.Create on the pool it creates (CreateUserPool and ListUserPools have no resource).
	cognitoCreatePool = []string{"cognito-idp:DescribeUserPool", "cognito-idp:SetUserPoolMfaConfig", "cognito-idp:CreateUserPoolClient", "cognito-idp:CreateGroup",
		"cognito-idp:CreateResourceServer", "cognito-idp:CreateIdentityProvider", "cognito-idp:CreateUserPoolDomain"}
	// restore.Steps.Apply and importjob's creation by API of the users an import refused.
	cognitoRestoreApply = []string{"cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:CreateGroup", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDisableUser"}
	// restore.Steps.VerifyDrill: the canary's sign-in (the report lists and compares the scratch
	// pool; AssociateSoftwareToken and VerifySoftwareToken are authorized by the canary's session,
	// not IAM).
	cognitoDrillVerify = []string{"cognito-idp:CreateUserPoolClient",
		"cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminInitiateAuth", "cognito-idp:AdminRespondToAuthChallenge"}
)

// restoreTasks deploys the placeholders of restore.asl.json besides the import tasks, which are
// the failback's functions (failbackTasks), granted the restore targets too.
var restoreTasks = map[string]taskSpec[*FailbackStack]{
	"ResolveRestoreFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// HeadBucket and the listing of the snapshots for "latest"; HeadBucket has no prefix.
			allow(role, []string{"s3:ListBucket"}, s.Backup.BucketArn())
			s.allowSnapshots(role, []string{"s3:GetObject"}, s.Backup.SnapshotsArn())
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers"}, s.RestoreTargetArns()...)
			s.Backup.grantBucketKey(role, "kms:Decrypt")
			// The input's secrets are read here first, so a wrong one fails before any write.
			s.allowRestoreSecrets(role)
		},
	},
	"PrepareRestoreTargetFunctionArn": {
		MemoryMiB: 512, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			s.allowSnapshots(role, []string{"s3:GetObject"}, s.Backup.SnapshotsArn())
			s.Backup.grantBucketKey(role, "kms:Decrypt")
			s.allowCreatePool(role)
			s.allowCreatedPools(role, cognitoCreatePool)
			allow(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:AddCustomAttributes"}, s.RestoreTargetArns()...)
			s.allowPassRoleToCognito(role, "the snapshot's groups' role ARNs and its SMS role (SmsConfiguration.SnsCallerArn)")
			s.allowRestoreSecrets(role)
		},
	},
	"BuildRestoreCsvFunctionArn": {
		MemoryMiB: 2048, TimeoutSeconds: 900,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			s.allowRestorePools(role, cognitoCSVTarget)
			s.allowSnapshots(role, []string{"s3:GetObject"}, s.Backup.SnapshotsArn())
			s.allowRestoreObjects(role, []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, s.RestoreFilesArn())
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"RequestRestoreApprovalFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// The import CSVs the approval binds, verified before it is requested.
			s.allowRestoreObjects(role, []string{"s3:GetObject"}, s.RestoreFilesArn())
			s.allowObjects(role, []string{"s3:PutObject"}, s.ApprovalsArn())
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			s.grantSigningKey(role)
			s.Topic.GrantPublish(role)
		},
	},
	"ApplyRestoreFunctionArn": {
		MemoryMiB: 1024, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			s.allowRestorePools(role, cognitoRestoreApply)
			// CreateGroup passes the snapshot's group role.
			s.allowPassRoleToCognito(role, "the snapshot's groups' role ARNs")
			s.allowSnapshots(role, []string{"s3:GetObject"}, s.Backup.SnapshotsArn())
			s.allowRestoreObjects(role, []string{"s3:GetObject"}, s.RestoreFilesArn())
			s.allowRestoreObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.RestoreFileArn(restore.LedgerDir+"*"))
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	// WriteReport lists the target with the resumable export (its users, groups and memberships,
	// a drill's scratch pool too) and joins it bucket by bucket (internal/partition): bounded by
	// a bucket and the bucket files a unit writes at once, not the pool.
	"WriteRestoreReportFunctionArn": {
		MemoryMiB: 2048, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			s.allowRestorePools(role, cognitoExport)
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:    jsii.Strings("s3:ListBucket"),
				Resources:  jsii.Strings(s.Backup.BucketArn()),
				Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": s.Config.Restore.Prefix + "/*"}},
			}))
			s.allowSnapshots(role, []string{"s3:GetObject"}, s.Backup.SnapshotsArn())
			s.allowRestoreObjects(role, []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, s.RestoreFilesArn())
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
			s.Backup.Topic.GrantPublish(role)
		},
	},
	"VerifyRestoreDrillFunctionArn": {
		MemoryMiB: 2048, TimeoutSeconds: 900, TmpMiB: PartitionTmpMiB,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			s.allowDrillPools(role, cognitoDrillVerify)
			s.allowSnapshots(role, []string{"s3:GetObject"}, s.Backup.SnapshotsArn())
			s.allowRestoreObjects(role, []string{"s3:GetObject"}, s.RestoreFilesArn())
			s.allowSnapshots(role, []string{"s3:PutObject"}, s.DrillsArn())
			s.Backup.grantBucketKey(role, "kms:Decrypt", "kms:GenerateDataKey")
		},
	},
	"DeleteDrillPoolFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// Only pools tagged as a drill's scratch pool at creation, in the DR Region; no role
			// of the deployment may tag a pool afterwards.
			s.allowDrillPools(role, []string{"cognito-idp:DescribeUserPool", "cognito-idp:DeleteUserPool"})
			s.Backup.Topic.GrantPublish(role)
		},
	},
	"NotifyRestoreFunctionArn": {
		MemoryMiB: 256, TimeoutSeconds: 60,
		grant: func(s *FailbackStack, role awsiam.IRole) {
			// A failed drill's record, so readiness sees the failure.
			s.allowSnapshots(role, []string{"s3:PutObject"}, s.DrillsArn())
			s.Backup.grantBucketKey(role, "kms:GenerateDataKey")
			s.Backup.Topic.GrantPublish(role)
		},
	},
}

// restoreWorkflowTasks reads restore.asl.json and checks its placeholders against the typed
// tasks and the deployed ones: restoreTasks plus the failback's import functions.
func restoreWorkflowTasks() ([]byte, map[string]boundary.Spec, error) {
	shared := map[string]taskSpec[*FailbackStack]{}
	for _, sp := range boundary.Specs(importjob.For(func(*restore.Steps) *importjob.Steps { return nil })) {
		shared[sp.Placeholder] = failbackTasks[sp.Placeholder]
	}
	all := maps.Clone(restoreTasks)
	maps.Copy(all, shared)
	return workflowTasks(statemachines.Restore, all, boundary.Specs(restore.Tasks))
}

// RestoreTargetArns are the configured pools a restore may write into.
func (s *FailbackStack) RestoreTargetArns() []string {
	var arns []string
	for _, t := range s.Config.Restore.Targets {
		arns = append(arns, s.Config.PoolArn(t))
	}
	return arns
}

// createRegions are where a restore may create a pool: the configured Regions and, for the
// drill's scratch pools, the DR Region.
func (s *FailbackStack) createRegions() []string {
	regions := slices.Clone(s.Config.Restore.CreateRegions)
	if !slices.Contains(regions, s.Config.DR.Region) {
		regions = append(regions, s.Config.DR.Region)
	}
	return regions
}

func (s *FailbackStack) poolsIn(region string) string {
	return fmt.Sprintf("arn:%s:cognito-idp:%s:%s:userpool/*", s.Config.Partition(), region, s.Config.Account)
}

// createdPoolCondition matches the pools poolconfig.Create made: every one carries its token tag
// from the CreateUserPool call on (no role of this deployment may tag a pool afterwards).
var createdPoolCondition = map[string]any{"Null": map[string]any{"aws:ResourceTag/" + poolconfig.TokenTag: "false"}}

// allowCreatePool lets role create pools in the restore's Regions, only with the creation token
// tag. CreateUserPool has no resource type: it is bounded by aws:RequestedRegion and
// aws:RequestTag instead. The Service Authorization Reference
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncognitouserpools.html)
// lists aws:RequestTag/${TagKey}, aws:TagKeys and aws:ResourceTag/${TagKey} as CreateUserPool's
// condition keys, and no dependent action.
//
// Whether tags given at creation (UserPoolTags) also need cognito-idp:TagResource is not
// documented: CloudFormation's AWS::Cognito::UserPool schema lists TagResource among its create
// handler's permissions, which may only be its own separate tagging. No role here gets
// TagResource, on purpose: a role that may tag pools could mark any pool as a restore's (the
// token tag) or a drill's (the tag that bounds DeleteUserPool). If AWS asks for it, CreateUserPool
// fails with AccessDenied before any pool exists and the failure email names the action: the
// guess is recorded in internal/local/FIDELITY.md and the README (Restore: the deployed parts).
func (s *FailbackStack) allowCreatePool(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("cognito-idp:CreateUserPool"),
		Resources: jsii.Strings("*"),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:RequestedRegion": s.createRegions()},
			"Null":         map[string]any{"aws:RequestTag/" + poolconfig.TokenTag: "false"},
		},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("cognito-idp:ListUserPools"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": s.createRegions()}},
	}))
	suppressWildcard(role, "CreateUserPool and ListUserPools support no resource-level permissions (Service Authorization Reference, Amazon Cognito User Pools): they are limited to the restore's Regions, and CreateUserPool to requests carrying the "+poolconfig.TokenTag+" tag.", "*")
}

// allowCreatedPools grants actions on the pools a restore created (createdPoolCondition).
func (s *FailbackStack) allowCreatedPools(role awsiam.IRole, actions []string) {
	var arns []string
	for _, r := range s.createRegions() {
		arns = append(arns, s.poolsIn(r))
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(arns...),
		Conditions: &createdPoolCondition,
	}))
	suppressWildcard(role, "A pool a restore creates has an id unknown at deploy time: the wildcard is limited to the restore's Regions and, by aws:ResourceTag, to pools carrying the "+poolconfig.TokenTag+" tag that only a restore's CreateUserPool sets.", arns...)
}

// allowRestorePools grants actions on the configured targets and on the pools a restore created.
func (s *FailbackStack) allowRestorePools(role awsiam.IRole, actions []string) {
	allow(role, actions, s.RestoreTargetArns()...)
	s.allowCreatedPools(role, actions)
}

// allowDrillPools grants actions on the drill's scratch pools only: the DR Region's pools tagged
// restore.DrillTag=true at creation.
func (s *FailbackStack) allowDrillPools(role awsiam.IRole, actions []string) {
	arn := s.poolsIn(s.Config.DR.Region)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(arn),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + restore.DrillTag: "true"}},
	}))
	suppressWildcard(role, "A drill's scratch pool ("+restore.DrillPoolPrefix+"<execution>) is created at run time: the wildcard is limited to the DR Region's pools tagged "+restore.DrillTag+"=true, a tag set only at creation.", arn)
}

// allowRestoreSecrets lets role read the secrets restore.secretArns lists (identity-provider and
// app-client secrets), and nothing when it lists none. A secret encrypted with a customer
// managed key also needs that key's policy to let the role decrypt through Secrets Manager.
func (s *FailbackStack) allowRestoreSecrets(role awsiam.IRole) {
	arns := s.Config.Restore.SecretArns
	if len(arns) == 0 {
		return
	}
	allow(role, []string{"secretsmanager:GetSecretValue"}, arns...)
	var wild []string
	for _, a := range arns {
		if strings.ContainsAny(a, "*?") {
			wild = append(wild, a)
		}
	}
	if len(wild) > 0 {
		suppressWildcard(role, "restore.secretArns names these secrets with a wildcard suffix (Secrets Manager appends six random characters to a secret's name): each is one named secret of the configuration.", wild...)
	}
}

// allowPassRoleToCognito lets role pass this account's roles to Cognito only.
func (s *FailbackStack) allowPassRoleToCognito(role awsiam.IRole, what string) {
	arn := fmt.Sprintf("arn:%s:iam::%s:role/*", s.Config.Partition(), s.Config.Account)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("iam:PassRole"),
		Resources:  jsii.Strings(arn),
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cognito-idp.amazonaws.com"}},
	}))
	suppressWildcard(role, "The restore recreates "+what+" as the snapshot recorded them, unknown at deploy time: roles of this account, passed to Cognito only (iam:PassedToService).", arn)
}

// RestoreFilesArn covers every restore's files: <restore prefix>/<target>/<time>_<execution>/.
func (s *FailbackStack) RestoreFilesArn() string {
	return s.Backup.BucketArn() + "/" + s.Config.Restore.Prefix + "/*"
}

// RestoreFileArn covers file name (may end in *) of every restore.
func (s *FailbackStack) RestoreFileArn(name string) string {
	return s.Backup.BucketArn() + "/" + s.Config.Restore.Prefix + "/*/" + name
}

// DrillsArn covers the drills' records beside the primary pool's snapshots (manifest.DrillPrefix).
func (s *FailbackStack) DrillsArn() string {
	return fmt.Sprintf("%s/%s/%s/drills/*", s.Backup.BucketArn(), s.Config.Backup.Prefix, s.Config.Primary.UserPoolID)
}

func (s *FailbackStack) allowRestoreObjects(role awsiam.IRole, actions []string, arns ...string) {
	allow(role, actions, arns...)
	suppressWildcard(role, "Restore keys contain the target, the execution's time and name, unknown at deploy time: the wildcard is confined to <restore prefix>/ of the backup bucket.", arns...)
}

func (s *FailbackStack) allowSnapshots(role awsiam.IRole, actions []string, arns ...string) {
	allow(role, actions, arns...)
	suppressWildcard(role, "Snapshot and drill keys contain their time and execution: the wildcard is confined to the primary pool's snapshots (<backup prefix>/<primary pool id>/).", arns...)
}

// restoreImportLogGroupArns cover the import logs of the restore targets and of the pools a
// restore creates (their ids are unknown: every pool's in the restore's Regions).
func (s *FailbackStack) restoreImportLogGroupArns() []string {
	c := s.Config
	var arns []string
	for _, t := range c.Restore.Targets {
		arns = append(arns, fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/cognito/userpools/%s/*", c.Partition(), t.Region, c.Account, t.UserPoolID))
	}
	for _, r := range s.createRegions() {
		arns = append(arns, fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/cognito/userpools/*", c.Partition(), r, c.Account))
	}
	return arns
}

// grantRestoreImports lets the failback's import functions run the restore's import jobs.
func (s *FailbackStack) grantRestoreImports() {
	importFiles := []string{s.RestoreFileArn(restore.ImportDir + "*")}
	for placeholder, fn := range s.Functions {
		role := fn.Role
		switch placeholder {
		case "UploadImportFunctionArn":
			s.allowRestorePools(role, []string{"cognito-idp:CreateUserImportJob"})
			s.allowRestoreObjects(role, []string{"s3:GetObject"}, importFiles...)
		case "StartImportFunctionArn":
			s.allowRestorePools(role, []string{"cognito-idp:StartUserImportJob", "cognito-idp:DescribeUserImportJob"})
		case "PollImportFunctionArn":
			s.allowRestorePools(role, []string{"cognito-idp:DescribeUserImportJob"})
		case "CollectImportResultsFunctionArn":
			s.allowRestorePools(role, cognitoCSVTarget)
			logs := s.restoreImportLogGroupArns()
			allow(role, []string{"logs:GetLogEvents"}, logs...)
			suppressWildcard(role, "Cognito names the import log group /aws/cognito/userpools/<pool id>/<pool name>: the wildcard covers the restore targets' import logs and, for pools a restore creates (ids unknown), the import logs of the restore's Regions.", logs...)
			s.allowRestoreObjects(role, []string{"s3:GetObject"}, importFiles...)
			s.allowRestoreObjects(role, []string{"s3:PutObject", "s3:AbortMultipartUpload"}, s.RestoreFileArn(importjob.ResultsDir+"*"))
		}
	}
	logs := s.restoreImportLogGroupArns()
	s.ImportLogsRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
		Resources: jsii.Strings(logs...),
	}))
	suppressWildcard(s.ImportLogsRole, "Cognito creates the log group /aws/cognito/userpools/<pool id>/<pool name> and a stream per job: the wildcard covers the restore targets' import logs and, for pools a restore creates (ids unknown), the import logs of the restore's Regions.", logs...)
}

// restoreApprovalTask is the one restore task whose TOPIC_ARN is the approvers' topic: its message
// carries the approval link. The restore's outcomes go to the operators' topic.
const restoreApprovalTask = "RequestRestoreApprovalFunctionArn"

// buildRestore deploys the restore state machine, its own task functions, the drill schedule and
// the drill alarms. approvalSettings are the approval page's settings with the approvers' topic.
func (s *FailbackStack) buildRestore(code CodeSource, approvalSettings map[string]*string, logRetention awslogs.RetentionDays) error {
	def, tasks, err := restoreWorkflowTasks()
	if err != nil {
		return err
	}
	fns := map[string]*GoFunction{}
	for _, approvers := range []bool{true, false} {
		specs := map[string]boundary.Spec{}
		for p := range restoreTasks {
			if (p == restoreApprovalTask) == approvers {
				specs[p] = tasks[p]
			}
		}
		settings := approvalSettings
		if !approvers {
			settings = map[string]*string{"TOPIC_ARN": s.Backup.Topic.Topic.TopicArn()}
		}
		made, err := newTaskFunctions(s.Stack, s, restoreTasks, taskFunctionsProps{
			Workflow: "restore", Tasks: specs, Code: code, LogRetention: logRetention, Settings: settings,
		})
		if err != nil {
			return err
		}
		maps.Copy(fns, made)
	}
	s.grantRestoreImports()
	s.RestoreFunctions = fns
	all := maps.Clone(fns)
	for p := range tasks {
		if _, ok := all[p]; !ok {
			all[p] = s.Functions[p]
		}
	}
	s.RestoreStateMachine, s.RestoreExecutionLogs = newWorkflowStateMachine(s.Stack, "Restore", workflowStateMachineProps{
		Name:         RestoreStateMachineName,
		Definition:   def,
		Functions:    all,
		LogRetention: logRetention,
		Tracing:      s.Config.Tracing,
		StepEvidence: "the execution history, the restore report and the tasks' JSON logs",
	})
	state := "ENABLED"
	if !s.Config.DrillEnabled() {
		state = "DISABLED"
	}
	d := s.Config.Restore.Drill
	if s.DrillSchedule, err = newWorkflowSchedule(s.Stack, "DrillSchedule", workflowScheduleProps{
		Workflow:     "restore drill",
		StateMachine: s.RestoreStateMachine,
		Name:         DrillScheduleName,
		Description:  "Cognito DR: restore the newest snapshot of " + s.Config.Primary.UserPoolID + " into a scratch pool, verify it, time it, delete it",
		Expression:   d.Schedule, TimeZone: d.TimeZone, State: state,
		Input:   s.Config.RestoreDrillRequest(),
		Account: s.Config.Account,
		// A drill started late still measures the restore: retry for up to a day.
		MaxEventAgeSeconds: 86400, MaxRetries: 10,
	}); err != nil {
		return err
	}
	// Restores and drills fail the same way; a failed drill is also drill.json with its reason and
	// the notification on the operators' topic, where the alarms go too.
	s.RestoreFailedAlarm = newAlarm(s.Stack, "RestoreFailedAlarm", "cognito-dr-restore-failed",
		"A restore or restore drill execution failed or was not approved in time; its notification on "+OperatorTopicName+" and, for a drill, its drill.json say why.",
		s.RestoreStateMachine.MetricFailed(every5Minutes("Sum")), 1)
	s.RestoreTimedOutAlarm = newAlarm(s.Stack, "RestoreTimedOutAlarm", "cognito-dr-restore-timed-out",
		"A restore or restore drill execution hit the state machine's timeout; no notification was sent. Check its history.",
		s.RestoreStateMachine.MetricTimedOut(every5Minutes("Sum")), 1)
	s.DrillDeadLettersAlarm = newAlarm(s.Stack, "DrillScheduleDeadLettersAlarm", "cognito-dr-restore-drill-schedule-dead-letters",
		"EventBridge Scheduler could not start a restore drill; the event is in the dead-letter queue.",
		s.DrillSchedule.DeadLetters.MetricApproximateNumberOfMessagesVisible(every5Minutes("Maximum")), 1)
	// A drill that ran to its end but found mismatches succeeds as an execution: its record, published
	// as embedded-format metrics by the drill's tasks, is what tells.
	s.DrillNotPassedAlarm = newAlarm(s.Stack, "DrillNotPassedAlarm", "cognito-dr-restore-drill-not-passed",
		"A restore drill did not pass (mismatches between the restored scratch pool and the snapshot, or a failed drill): its drill.json and its notification on "+OperatorTopicName+" say why.",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(restore.MetricsNamespace),
			MetricName:    jsii.String("DrillFailed"),
			DimensionsMap: &map[string]*string{"UserPoolId": jsii.String(s.Config.Primary.UserPoolID)},
			Period:        awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic:     jsii.String("Maximum"),
		}), 1)
	notifyAlarms(s.Backup.Topic, s.RestoreFailedAlarm, s.RestoreTimedOutAlarm, s.DrillDeadLettersAlarm, s.DrillNotPassedAlarm)

	input, err := json.Marshal(s.Config.RestoreRequest())
	if err != nil {
		return err
	}
	awscdk.NewCfnOutput(s.Stack, jsii.String("RestoreInput"), &awscdk.CfnOutputProps{
		Value:       jsii.String(string(input)),
		Description: jsii.String("Execution input of " + RestoreStateMachineName + ": the newest snapshot into the primary pool; or replace target with createPool {name, region}"),
	})
	awscdk.NewCfnOutput(s.Stack, jsii.String("RestoreStateMachineArn"), &awscdk.CfnOutputProps{
		Value: s.RestoreStateMachine.StateMachineArn(), Description: jsii.String("The restore state machine (also runs the drill)"),
	})
	return nil
}

// restoreResources are the FailbackStack fields buildRestore fills.
type restoreResources struct {
	RestoreFunctions      map[string]*GoFunction // the restore's own tasks, by ASL placeholder
	RestoreStateMachine   awsstepfunctions.StateMachine
	RestoreExecutionLogs  awslogs.LogGroup
	DrillSchedule         WorkflowSchedule
	RestoreFailedAlarm    awscloudwatch.Alarm
	RestoreTimedOutAlarm  awscloudwatch.Alarm
	DrillDeadLettersAlarm awscloudwatch.Alarm
	// DrillNotPassedAlarm watches the drill's DrillFailed metric (workflows/restore.MetricsNamespace).
	DrillNotPassedAlarm awscloudwatch.Alarm
}
