package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// The example configuration's restore: targets the primary pool, creates pools in the primary
// Region, drills in the DR Region (ap-northeast-3), files under cognito-dr/restores/.
const (
	rsBucket    = "arn:aws:s3:::cognito-dr-backups-123456789012-ap-northeast-3"
	rsPrimary   = "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123"
	rsSnapshots = rsBucket + "/cognito-dr/backups/ap-northeast-1_AbCdEf123/*"
	rsDrills    = rsBucket + "/cognito-dr/backups/ap-northeast-1_AbCdEf123/drills/*"
	rsFiles     = rsBucket + "/cognito-dr/restores/*"
)

// createdPools grants actions on the pools a restore created: any pool of the restore's Regions
// carrying the creation token tag.
func createdPools(actions ...string) map[string]any {
	return allowIf(actions, map[string]any{"Null": map[string]any{"aws:ResourceTag/cognito-dr:create-token": "false"}},
		"arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/*", "arn:aws:cognito-idp:ap-northeast-3:123456789012:userpool/*")
}

// drillPools grants actions on the DR Region's pools tagged as a drill's scratch pool.
func drillPools(actions ...string) map[string]any {
	return allowIf(actions, map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/cognito-dr:drill": "true"}},
		"arn:aws:cognito-idp:ap-northeast-3:123456789012:userpool/*")
}

var passRoleToCognito = allowIf([]string{"iam:PassRole"}, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cognito-idp.amazonaws.com"}},
	"arn:aws:iam::123456789012:role/*")

// restoreImportLogs are the import log groups of the restore's pools.
var restoreImportLogs = []any{
	"arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/cognito/userpools/ap-northeast-1_AbCdEf123/*",
	"arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/cognito/userpools/*",
	"arn:aws:logs:ap-northeast-3:123456789012:log-group:/aws/cognito/userpools/*",
}

// restoreImportGrants are what the shared import functions get for the restore, besides their
// failback grants (TestFailbackTaskPolicies). The example's only restore target is the primary
// pool, whose statements the failback grants already hold (CDK keeps one of identical statements).
var restoreImportGrants = map[string][]any{
	"UploadImportFunctionArn": {
		createdPools("cognito-idp:CreateUserImportJob"),
		allowAll([]string{"s3:GetObject"}, rsBucket+"/cognito-dr/restores/*/import/*"),
	},
	"StartImportFunctionArn": {
		createdPools("cognito-idp:StartUserImportJob", "cognito-idp:DescribeUserImportJob"),
	},
	"PollImportFunctionArn": {
		createdPools("cognito-idp:DescribeUserImportJob"),
	},
	"CollectImportResultsFunctionArn": {
		createdPools("cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"),
		allowAll([]string{"logs:GetLogEvents"}, restoreImportLogs...),
		allowAll([]string{"s3:GetObject"}, rsBucket+"/cognito-dr/restores/*/import/*"),
		allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, rsBucket+"/cognito-dr/restores/*/import-results/*"),
	},
}

func TestRestoreTaskPolicies(t *testing.T) {
	f := stacks.Failback
	bucketKey := imported(t, stacks.Backup.BucketKey, "Arn")
	kms := func(actions ...string) map[string]any { return allowAll(actions, bucketKey) }
	publish := []any{
		allowAll([]string{"sns:Publish"}, ref(logicalID(t, f.Topic.Topic))),
		allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, getAtt(logicalID(t, f.Topic.Key), "Arn")),
	}
	// Outcomes (report, drill result, failures) go to the operators; only the approval request,
	// which carries the link, to the approvers.
	operators := []any{
		allowAll([]string{"sns:Publish"}, imported(t, stacks.Backup.Topic.Topic, "")),
		allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, imported(t, stacks.Backup.Topic.Key, "Arn")),
	}
	signingKey := []any{
		allowAll([]string{"secretsmanager:GetSecretValue"}, ref(logicalID(t, f.SigningKey))),
		allowIf([]string{"kms:Decrypt"}, map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.ap-northeast-3.amazonaws.com"}}, getAtt(logicalID(t, f.SigningKeyKey), "Arn")),
	}
	regions := []any{"ap-northeast-1", "ap-northeast-3"}
	want := map[string][]any{
		"ResolveRestoreFunctionArn": {
			allowAll([]string{"s3:ListBucket"}, rsBucket),
			allowAll([]string{"s3:GetObject"}, rsSnapshots),
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers"}, rsPrimary),
			kms("kms:Decrypt"),
		},
		"PrepareRestoreTargetFunctionArn": {
			allowAll([]string{"s3:GetObject"}, rsSnapshots),
			kms("kms:Decrypt"),
			// No resource type: only in the restore's Regions, only with the creation tag.
			allowIf([]string{"cognito-idp:CreateUserPool"}, map[string]any{
				"StringEquals": map[string]any{"aws:RequestedRegion": regions},
				"Null":         map[string]any{"aws:RequestTag/cognito-dr:create-token": "false"},
			}, "*"),
			allowIf([]string{"cognito-idp:ListUserPools"}, map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": regions}}, "*"),
			createdPools("cognito-idp:DescribeUserPool", "cognito-idp:SetUserPoolMfaConfig", "cognito-idp:CreateUserPoolClient", "cognito-idp:CreateGroup",
				"cognito-idp:CreateResourceServer", "cognito-idp:CreateIdentityProvider", "cognito-idp:CreateUserPoolDomain"),
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:AddCustomAttributes"}, rsPrimary),
			passRoleToCognito,
		},
		"BuildRestoreCsvFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, rsPrimary),
			createdPools("cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"),
			allowAll([]string{"s3:GetObject"}, rsSnapshots),
			allowAll([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, rsFiles),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"RequestRestoreApprovalFunctionArn": append([]any{
			allowAll([]string{"s3:GetObject"}, rsFiles),
			allowAll([]string{"s3:PutObject"}, rsBucket+"/approvals/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		}, append(slices.Clone(signingKey), publish...)...),
		"ApplyRestoreFunctionArn": {
			allowAll([]string{"cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:CreateGroup", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDisableUser"}, rsPrimary),
			createdPools("cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:CreateGroup", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDisableUser"),
			passRoleToCognito,
			allowAll([]string{"s3:GetObject"}, rsSnapshots),
			allowAll([]string{"s3:GetObject"}, rsFiles),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, rsBucket+"/cognito-dr/restores/*/ledger/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"WriteRestoreReportFunctionArn": append([]any{
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup"}, rsPrimary),
			createdPools("cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup"),
			allowIf([]string{"s3:ListBucket"}, map[string]any{"StringLike": map[string]any{"s3:prefix": "cognito-dr/restores/*"}}, rsBucket),
			allowAll([]string{"s3:GetObject"}, rsSnapshots),
			allowAll([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, rsFiles),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		}, operators...),
		// The drill's steps reach no pool but its scratch pool.
		"VerifyRestoreDrillFunctionArn": {
			drillPools("cognito-idp:CreateUserPoolClient",
				"cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminInitiateAuth", "cognito-idp:AdminRespondToAuthChallenge"),
			allowAll([]string{"s3:GetObject"}, rsSnapshots),
			allowAll([]string{"s3:GetObject"}, rsFiles),
			allowAll([]string{"s3:PutObject"}, rsDrills),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"DeleteDrillPoolFunctionArn": append([]any{
			drillPools("cognito-idp:DescribeUserPool", "cognito-idp:DeleteUserPool"),
		}, operators...),
		"NotifyRestoreFunctionArn": append([]any{
			allowAll([]string{"s3:PutObject"}, rsDrills),
			kms("kms:GenerateDataKey"),
		}, operators...),
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(f.RestoreFunctions))); diff != "" {
		t.Fatalf("restore functions (-want +got):\n%s", diff)
	}
	for p, statements := range want {
		t.Run(p, func(t *testing.T) { checkTaskRole(t, fbResources, f.RestoreFunctions[p], statements) })
	}
}

// Only the drill's roles may delete a pool, and only one tagged as a drill's scratch pool; no
// role may tag a pool after its creation (the tag is what bounds the deletion).
func TestOnlyDrillPoolsAreDeleted(t *testing.T) {
	for _, rs := range []map[string]resource{resources, fbResources, repResources, rcResources} {
		for id, r := range rs {
			if r.Type != "AWS::IAM::Policy" {
				continue
			}
			for _, s := range normalize(r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any)) {
				for _, a := range s.Actions {
					switch a {
					case "cognito-idp:TagResource", "cognito-idp:UntagResource", "cognito-idp:UpdateUserPool":
						t.Errorf("%s allows %s", id, a)
					case "cognito-idp:DeleteUserPool":
						if s.Condition != `{"StringEquals":{"aws:ResourceTag/cognito-dr:drill":"true"}}` {
							t.Errorf("%s allows DeleteUserPool with condition %q", id, s.Condition)
						}
					}
				}
			}
		}
	}
}

func TestRestoreStateMachine(t *testing.T) {
	f := stacks.Failback
	// The import tasks are the failback's functions.
	functions := maps.Clone(f.RestoreFunctions)
	for _, p := range []string{"UploadImportFunctionArn", "StartImportFunctionArn", "PollImportFunctionArn", "CollectImportResultsFunctionArn"} {
		functions[p] = f.Functions[p]
	}
	deployed, vars := checkWorkflowStateMachine(t, fbResources, f.RestoreStateMachine, f.RestoreExecutionLogs, functions, statemachines.Restore, RestoreStateMachineName)
	var m struct {
		States map[string]struct {
			Resource   string         `json:"Resource"`
			Parameters map[string]any `json:"Parameters"`
		} `json:"States"`
	}
	if err := json.Unmarshal(deployed, &m); err != nil {
		t.Fatal(err)
	}
	ra, ok := m.States["RequestApproval"]
	if !ok || ra.Resource != "arn:aws:states:::lambda:invoke.waitForTaskToken" || ra.Parameters["FunctionName"] != vars["RequestRestoreApprovalFunctionArn"] {
		t.Errorf("RequestApproval: %v %s %v", ok, ra.Resource, ra.Parameters["FunctionName"])
	}
	checkStateMachineRole(t, fbResources, f.RestoreStateMachine, functions)
}

// Every restore Lambda: the common settings, a timeout equal to its ASL state's, TOPIC_ARN on the
// operators' topic but for the approval request's (the approvers'), and the approval settings only
// where they are read.
func TestRestoreFunctions(t *testing.T) {
	f := stacks.Failback
	def, _ := statemachines.Definition(statemachines.Restore)
	timeouts := aslTimeouts(t, def)
	timeouts["RequestRestoreApprovalFunctionArn"] = 60
	approvers, operators := ref(logicalID(t, f.Topic.Topic)), imported(t, stacks.Backup.Topic.Topic, "")
	for _, spec := range boundary.Specs(restore.Tasks) {
		p := spec.Placeholder
		fn, own := f.RestoreFunctions[p]
		if !own {
			if f.Functions[p] == nil {
				t.Errorf("%s: neither a restore nor a shared failback function", p)
			}
			continue
		}
		t.Run(p, func(t *testing.T) {
			got := checkFunctionBasics(t, fbResources, fn)
			if diff := cmp.Diff(timeouts[p], got["Timeout"]); diff != "" {
				t.Errorf("Timeout (-want +got):\n%s", diff)
			}
			env := envOf(t, fbResources, fn)
			checkSettings(t, spec, env)
			if slices.ContainsFunc(spec.Settings, func(s boundary.Setting) bool { return s.Name == "TOPIC_ARN" }) {
				topic := operators
				if p == "RequestRestoreApprovalFunctionArn" {
					topic = approvers
				}
				if diff := cmp.Diff(topic, env["TOPIC_ARN"]); diff != "" {
					t.Errorf("TOPIC_ARN (-want +got):\n%s", diff)
				}
			}
			_, hasKey := env["APPROVAL_SIGNING_KEY_SECRET"]
			if hasKey != (p == "RequestRestoreApprovalFunctionArn") {
				t.Errorf("APPROVAL_SIGNING_KEY_SECRET set: %v", hasKey)
			}
		})
	}
}

func TestDrillSchedule(t *testing.T) {
	f := stacks.Failback
	s := f.DrillSchedule
	target := checkWorkflowSchedule(t, fbResources, s.Schedule, f.RestoreStateMachine, s.ScheduleRole, s.DeadLetters, map[string]any{
		"Name":                       DrillScheduleName,
		"ScheduleExpression":         "cron(0 4 1 * ? *)",
		"ScheduleExpressionTimezone": "Asia/Tokyo",
		"FlexibleTimeWindow":         map[string]any{"Mode": "OFF"},
		"State":                      "ENABLED",
	}, map[string]any{"MaximumEventAgeInSeconds": 86400.0, "MaximumRetryAttempts": 10.0})
	var req restore.Request
	if err := boundary.DecodeStrict([]byte(target["Input"].(string)), &req); err != nil {
		t.Fatalf("schedule input is not a restore.Request: %v", err)
	}
	want := restore.Request{
		Bucket: "cognito-dr-backups-123456789012-ap-northeast-3", BucketRegion: "ap-northeast-3",
		Snapshot: restore.Latest, SourceUserPoolID: "ap-northeast-1_AbCdEf123", SnapshotPrefix: "cognito-dr/backups",
		Prefix: "cognito-dr/restores", Drill: true,
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("drill input (-want +got):\n%s", diff)
	}
	checkScheduleRole(t, fbResources, s.ScheduleRole, f.RestoreStateMachine, s.DeadLetters)

	operators := []any{imported(t, stacks.Backup.Topic.Topic, "")}
	hasStateMachineAlarms(t, fbTemplate, f.RestoreStateMachine, operators, "ExecutionsFailed", "ExecutionsTimedOut")
	hasPropsIn(t, fbTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"AlarmName": "cognito-dr-restore-drill-schedule-dead-letters", "MetricName": "ApproximateNumberOfMessagesVisible",
		"Threshold": 1, "AlarmActions": operators,
	})
	// A drill that ends with mismatches succeeds as an execution: its DrillFailed metric alarms.
	hasPropsIn(t, fbTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"AlarmName": "cognito-dr-restore-drill-not-passed", "Namespace": restore.MetricsNamespace, "MetricName": "DrillFailed",
		"Dimensions": []any{map[string]any{"Name": "UserPoolId", "Value": "ap-northeast-1_AbCdEf123"}},
		"Statistic":  "Maximum", "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": operators,
	})
}

// The off switch deploys the schedule disabled; the restore state machine stays.
func TestDrillScheduleOff(t *testing.T) {
	c := cfg
	off := false
	c.Restore.Drill.Enabled = &off
	st, _, _ := synthWith(t, c)
	fb, _, err := parse(assertions.Template_FromStack(st.Failback.Stack, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := resIn(t, fb, logicalID(t, st.Failback.DrillSchedule.Schedule)).Properties["State"]; got != "DISABLED" {
		t.Errorf("drill schedule state %v, want DISABLED", got)
	}
}

func TestRestoreConfig(t *testing.T) {
	base := `"account":"123456789012","primary":{"userPoolId":"ap-northeast-1_A1","region":"ap-northeast-1"},"dr":{"userPoolId":"ap-northeast-3_B2","region":"ap-northeast-3"},"operatorEmails":["ops@example.com"]`
	c, err := ParseConfig([]byte("{" + base + "}"))
	if err != nil {
		t.Fatal(err)
	}
	wantDefaults := RestoreConfig{
		Prefix:        restore.DefaultPrefix,
		RetentionDays: 90,
		Targets:       []Pool{{UserPoolID: "ap-northeast-1_A1", Region: "ap-northeast-1"}},
		CreateRegions: []string{"ap-northeast-1"},
		Drill:         DrillConfig{Schedule: "cron(0 4 1 * ? *)", TimeZone: "Asia/Tokyo"},
	}
	if diff := cmp.Diff(wantDefaults, c.Restore); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if !c.DrillEnabled() {
		t.Error("the drill is off by default")
	}
	_, err = ParseConfig([]byte("{" + base + `,"restore":{"prefix":"cognito-dr/backups/x","retentionDays":-1,"targets":[{"userPoolId":"us-east-1_X","region":"ap-northeast-1"}],"createRegions":["tokyo"],"drill":{"schedule":"monthly","timeZone":"Mars/Base"},` +
		`"secretArns":["arn:aws:ssm:ap-northeast-1:123456789012:parameter/x","arn:aws:secretsmanager:ap-northeast-1:999999999999:secret:other-AbCdEf"]}}`))
	for _, want := range []string{"restore.prefix", "restore.retentionDays", "restore.targets[0].userPoolId", "restore.createRegions[0]", "restore.drill.schedule", "restore.drill.timeZone",
		"restore.secretArns[0]", "is not a Secrets Manager secret ARN", "restore.secretArns[1]", "is not a secret of account 123456789012"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// The RestoreInput output is a restore request the state machine accepts as it is: the newest
// snapshot of the primary pool into the primary pool.
func TestRestoreInputOutput(t *testing.T) {
	raw, _ := json.Marshal(fbTemplate.ToJSON())
	var tm struct {
		Outputs map[string]output `json:"Outputs"`
	}
	if err := json.Unmarshal(raw, &tm); err != nil {
		t.Fatal(err)
	}
	in, ok := tm.Outputs["RestoreInput"].Value.(string)
	if !ok {
		t.Fatalf("no RestoreInput output: %v", tm.Outputs["RestoreInput"])
	}
	var req restore.Request
	if err := boundary.DecodeStrict([]byte(in), &req); err != nil {
		t.Fatalf("RestoreInput is not a restore.Request: %v", err)
	}
	want := restore.Request{
		Bucket: "cognito-dr-backups-123456789012-ap-northeast-3", BucketRegion: "ap-northeast-3",
		Snapshot: restore.Latest, SourceUserPoolID: "ap-northeast-1_AbCdEf123", SnapshotPrefix: "cognito-dr/backups",
		Prefix: "cognito-dr/restores", Target: &manifest.PoolRef{UserPoolID: "ap-northeast-1_AbCdEf123", Region: "ap-northeast-1"},
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("RestoreInput (-want +got):\n%s", diff)
	}
}

// restore.secretArns: the restore's ResolveSnapshot and CreateTargetPool functions may read
// exactly the listed secrets (an input's identity-provider and app-client secrets), and no other
// role may; with none listed (the example) no restore role reads any secret
// (TestRestoreTaskPolicies). A wildcard suffix stays cdk-nag clean.
func TestRestoreSecretGrants(t *testing.T) {
	c := cfg
	oidc := "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:cognito-dr/restore/corp-oidc-AbCdEf"
	backend := "arn:aws:secretsmanager:ap-northeast-3:123456789012:secret:cognito-dr/restore/backend-??????"
	c.Restore.SecretArns = []string{oidc, backend}
	st, _, _ := synthWith(t, c)
	fb, _, err := parse(assertions.Template_FromStack(st.Failback.Stack, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := normalize([]any{allowAll([]string{"secretsmanager:GetSecretValue"}, oidc, backend)})[0]
	readers := map[string]bool{}
	for p, fn := range st.Failback.RestoreFunctions {
		for _, s := range rolePolicyIn(t, fb, logicalID(t, fn.Role)) {
			if slices.Contains(s.Actions, "secretsmanager:GetSecretValue") && !slices.Contains(s.Resources, `{"Ref":"`+logicalID(t, st.Failback.SigningKey)+`"}`) {
				if diff := cmp.Diff(want, s); diff != "" {
					t.Errorf("%s reads secrets (-want +got):\n%s", p, diff)
				}
				readers[p] = true
			}
		}
	}
	if diff := cmp.Diff(map[string]bool{"ResolveRestoreFunctionArn": true, "PrepareRestoreTargetFunctionArn": true}, readers); diff != "" {
		t.Errorf("roles that read the restore's secrets (-want +got):\n%s", diff)
	}
	// No other role of the stack may read them (the approval signing key is another secret).
	for id, r := range fb {
		if r.Type != "AWS::IAM::Policy" {
			continue
		}
		for _, s := range normalize(r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any)) {
			if slices.Contains(s.Resources, `"`+oidc+`"`) && !strings.Contains(id, "ResolveRestore") && !strings.Contains(id, "PrepareRestoreTarget") {
				t.Errorf("%s reads %s", id, oidc)
			}
		}
	}
	nagClean(t, st.Failback.Stack)

}
