package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// The app is synthesized once per test binary (jsii starts node, and a synth takes seconds): every
// test reads the same template. Functions use a placeholder asset so the tests need no build; the
// build itself is what `make synth` runs.
var (
	cfg       Config
	stacks    *Stacks
	template  assertions.Template
	resources map[string]resource
	// outputs are the backup stack's outputs, among them the exports the failback stack imports.
	outputs map[string]output
	// The failback stack's template.
	fbTemplate  assertions.Template
	fbResources map[string]resource
	// The replication (primary Region) and reconcile (DR Region) stacks' templates.
	repTemplate  assertions.Template
	repResources map[string]resource
	rcTemplate   assertions.Template
	rcResources  map[string]resource
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		defer jsii.Close()
		var err error
		if cfg, err = LoadConfig("cognito-dr.example.json"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		assets, err := os.MkdirTemp("", "cognito-dr-assets")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(assets)
		if err := os.WriteFile(filepath.Join(assets, "bootstrap"), []byte("placeholder: tests do not build the tasks"), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		placeholder := func(string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(assets), nil) }
		if stacks, err = NewStacks(NewApp(), cfg, placeholder); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		template = assertions.Template_FromStack(stacks.Backup.Stack, nil)
		fbTemplate = assertions.Template_FromStack(stacks.Failback.Stack, nil)
		repTemplate = assertions.Template_FromStack(stacks.Replication.Stack, nil)
		rcTemplate = assertions.Template_FromStack(stacks.Reconcile.Stack, nil)
		if resources, outputs, err = parse(template); err == nil {
			fbResources, _, err = parse(fbTemplate)
		}
		if err == nil {
			repResources, _, err = parse(repTemplate)
		}
		if err == nil {
			// The failback stack also imports the reconcile schedule's role.
			var rcOutputs map[string]output
			if rcResources, rcOutputs, err = parse(rcTemplate); err == nil {
				for k, o := range rcOutputs {
					outputs["reconcile/"+k] = o
				}
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

func TestTaskPolicies(t *testing.T) {
	b := stacks.Backup
	primary, dr := cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR)
	bucket := "arn:aws:s3:::cognito-dr-backups-123456789012-ap-northeast-3"
	snapshots := bucket + "/cognito-dr/backups/ap-northeast-1_AbCdEf123/*"
	bucketKey := getAtt(logicalID(t, b.BucketKey), "Arn")
	want := map[string][]any{
		"ExportFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup", "cognito-idp:AdminGetUser"}, primary),
			allowAll([]string{"cognito-idp:DescribeUserPool"}, dr),
			allowAll([]string{"s3:ListBucket"}, bucket),
			allowAll([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, snapshots),
			allowAll([]string{"kms:GenerateDataKey", "kms:Decrypt"}, bucketKey),
		},
		"BuildImportCsvFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, dr, primary),
			allowAll([]string{"s3:GetObject"}, snapshots),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"},
				bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/import/ap-northeast-3_XyZ987654/*",
				bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/import/ap-northeast-1_AbCdEf123/*"),
			allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, bucketKey),
		},
		"CapturePoolConfigFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:ListUserPoolClients",
				"cognito-idp:DescribeUserPoolClient", "cognito-idp:ListGroups", "cognito-idp:ListIdentityProviders",
				"cognito-idp:DescribeIdentityProvider", "cognito-idp:ListResourceServers", "cognito-idp:DescribeUserPoolDomain"}, primary),
			allowAll([]string{"s3:PutObject"}, bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/pool.json"),
			allowAll([]string{"kms:GenerateDataKey"}, bucketKey),
		},
		"WriteManifestFunctionArn": {
			allowAll([]string{"s3:PutObject"}, bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/manifest.json"),
			allowAll([]string{"s3:GetObject"}, bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/users/index.json",
				bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/memberships/index.json"),
			allowAll([]string{"kms:GenerateDataKey", "kms:Decrypt"}, bucketKey),
		},
		"NotifyFunctionArn": {
			allowAll([]string{"sns:Publish"}, ref(logicalID(t, b.Topic.Topic))),
			allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, getAtt(logicalID(t, b.Topic.Key), "Arn")),
		},
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(b.Functions))); diff != "" {
		t.Fatalf("functions (-want +got):\n%s", diff)
	}
	for p, statements := range want {
		t.Run(p, func(t *testing.T) { checkTaskRole(t, resources, b.Functions[p], statements) })
	}
}

func TestStateMachineAndScheduleRoles(t *testing.T) {
	b := stacks.Backup
	checkStateMachineRole(t, resources, b.StateMachine, b.Functions)
	checkScheduleRole(t, resources, b.ScheduleRole, b.StateMachine, b.DeadLetters)
}

func TestNoWildcardActionsOrResources(t *testing.T) {
	t.Run("backup", func(t *testing.T) { noWildcards(t, resources, 1) })
	// The reconcile stack also runs the failover state machine.
	t.Run("reconcile", func(t *testing.T) { noWildcards(t, rcResources, 2) })
	// The failback stack also runs the restore state machine.
	t.Run("failback", func(t *testing.T) { noWildcards(t, fbResources, 2) })
	// No state machine in the primary Region: no log-delivery statement either.
	t.Run("replication", func(t *testing.T) { noWildcards(t, repResources, 0) })
}

func noWildcards(t *testing.T, resources map[string]resource, stateMachines int) {
	smPolicy := 0
	for id, r := range resources {
		if r.Type != "AWS::IAM::Policy" {
			continue
		}
		for _, s := range normalize(r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any)) {
			for _, a := range s.Actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s allows wildcard action %s", id, a)
				}
			}
			if slices.Contains(s.Resources, `"*"`) {
				switch {
				case slices.Equal(s.Actions, slices.Sorted(slices.Values(logDeliveryActions))):
					smPolicy++
				case restoreCreatesPools(s):
				default:
					t.Errorf("%s allows %v on Resource *", id, s.Actions)
				}
			}
		}
	}
	if smPolicy != stateMachines {
		t.Errorf("%d statements on Resource *, want only the state machines' log delivery (%d)", smPolicy, stateMachines)
	}
}

// restoreCreatesPools reports whether s is prepare-restore-target's CreateUserPool or
// ListUserPools, which have no resource type: allowed on * only within the restore's Regions.
func restoreCreatesPools(s stmt) bool {
	switch {
	case slices.Equal(s.Actions, []string{"cognito-idp:CreateUserPool"}):
		return strings.Contains(s.Condition, `"aws:RequestedRegion"`) && strings.Contains(s.Condition, `"aws:RequestTag/cognito-dr:create-token":"false"`)
	case slices.Equal(s.Actions, []string{"cognito-idp:ListUserPools"}):
		return strings.Contains(s.Condition, `"aws:RequestedRegion"`)
	}
	return false
}

func TestNagAwsSolutions(t *testing.T) {
	for _, s := range []awscdk.Stack{stacks.Backup.Stack, stacks.Failback.Stack, stacks.Replication.Stack, stacks.Reconcile.Stack} {
		t.Run(*s.StackName(), func(t *testing.T) { nagClean(t, s) })
	}
}

func nagClean(t *testing.T, s awscdk.Stack) {
	a := assertions.Annotations_FromStack(s)
	for _, e := range *a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		t.Errorf("unsuppressed cdk-nag error at %s: %v", *e.Id, e.Entry.Data)
	}
	for _, w := range *a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		t.Errorf("unsuppressed cdk-nag warning at %s: %v", *w.Id, w.Entry.Data)
	}
}

func TestStateMachineDefinition(t *testing.T) {
	b := stacks.Backup
	checkWorkflowStateMachine(t, resources, b.StateMachine, b.ExecutionLogs, b.Functions, statemachines.Backup, BackupStateMachineName)
}

// The Lambdas' settings, and each function's timeout equal to the longest TimeoutSeconds of the ASL
// states that call it.
func TestFunctions(t *testing.T) {
	def, _ := statemachines.Definition(statemachines.Backup)
	timeouts := aslTimeouts(t, def)
	topic := ref(logicalID(t, stacks.Backup.Topic.Topic))
	// Only notify publishes; the example configuration leaves the export at AWS's quotas.
	wantEnv := map[string]map[string]any{backup.NotifyTask.Placeholder: {"TOPIC_ARN": topic}}
	for _, spec := range boundary.Specs(backup.Tasks) {
		p := spec.Placeholder
		t.Run(p, func(t *testing.T) {
			fn := stacks.Backup.Functions[p]
			got := checkFunctionBasics(t, resources, fn)
			if diff := cmp.Diff(timeouts[p], got["Timeout"]); diff != "" {
				t.Errorf("Timeout (-want +got):\n%s", diff)
			}
			env := envOf(t, resources, fn)
			if diff := cmp.Diff(wantEnv[p], env, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			checkSettings(t, spec, env)
		})
	}
}

// Every deployed task has its Lambda main: tasks/<name>/main.go (tasks.TestMainsStartTheirTask
// checks which task each main starts).
func TestEveryTaskHasAMain(t *testing.T) {
	for _, task := range Tasks() {
		if _, err := os.Stat(filepath.Join("..", "tasks", task, "main.go")); err != nil {
			t.Errorf("task %s: %v", task, err)
		}
	}
}

func TestSchedule(t *testing.T) {
	b := stacks.Backup
	target := checkWorkflowSchedule(t, resources, b.Schedule, b.StateMachine, b.ScheduleRole, b.DeadLetters, map[string]any{
		"Name":                       BackupScheduleName,
		"ScheduleExpression":         "cron(0 3 * * ? *)",
		"ScheduleExpressionTimezone": "Asia/Tokyo",
		"FlexibleTimeWindow":         map[string]any{"Mode": "OFF"},
		"State":                      "ENABLED",
	}, map[string]any{"MaximumEventAgeInSeconds": 3600.0, "MaximumRetryAttempts": 10.0})
	var req backup.Request
	if err := boundary.DecodeStrict([]byte(target["Input"].(string)), &req); err != nil {
		t.Fatalf("schedule input is not a backup.Request: %v", err)
	}
	wantReq := backup.Request{
		UserPoolID: "ap-northeast-1_AbCdEf123", Region: "ap-northeast-1",
		Bucket: "cognito-dr-backups-123456789012-ap-northeast-3", BucketRegion: "ap-northeast-3",
		Prefix:           "cognito-dr/backups",
		TargetUserPoolID: "ap-northeast-3_XyZ987654", TargetRegion: "ap-northeast-3",
	}
	if diff := cmp.Diff(wantReq, req); diff != "" {
		t.Errorf("schedule input (-want +got):\n%s", diff)
	}
	// The decoder the Lambda uses refuses what the request does not define.
	if err := boundary.DecodeStrict([]byte(`{"userPoolId":"x","surprise":1}`), &req); err == nil {
		t.Errorf("DecodeStrict accepted an unknown field")
	}
}

func TestBuckets(t *testing.T) {
	b := stacks.Backup
	hasProps(t, ("AWS::S3::Bucket"), map[string]any{
		"BucketName":              "cognito-dr-backups-123456789012-ap-northeast-3",
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
			"BucketKeyEnabled":              true,
			"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": getAtt(logicalID(t, b.BucketKey), "Arn")},
		}}},
		"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"LoggingConfiguration":           map[string]any{"DestinationBucketName": ref(logicalID(t, b.AccessLogs)), "LogFilePrefix": "cognito-dr-backups-123456789012-ap-northeast-3/"},
		"LifecycleConfiguration": map[string]any{"Rules": []any{
			map[string]any{"Id": "expire-snapshots", "Prefix": "cognito-dr/backups/", "ExpirationInDays": 35, "Status": "Enabled"},
			map[string]any{"Id": "expire-reconcile-files", "Prefix": "cognito-dr/reconcile/", "ExpirationInDays": 7, "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 1}, "Status": "Enabled"},
			map[string]any{"Id": "expire-failback-files", "Prefix": "cognito-dr/failback/", "ExpirationInDays": 90, "Status": "Enabled"},
			map[string]any{"Id": "expire-restore-files", "Prefix": "cognito-dr/restores/", "ExpirationInDays": 90, "Status": "Enabled"},
			map[string]any{"Id": "expire-approvals", "Prefix": "approvals/", "ExpirationInDays": 90, "Status": "Enabled"},
			map[string]any{"Id": "expire-noncurrent-versions", "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 30}, "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1}, "ExpiredObjectDeleteMarker": true, "Status": "Enabled"},
		}},
	})
	hasProps(t, ("AWS::KMS::Key"), map[string]any{"EnableKeyRotation": true})
	for _, bucket := range []constructs.IConstruct{b.Bucket, b.AccessLogs} {
		hasProps(t, ("AWS::S3::BucketPolicy"), map[string]any{
			"Bucket": ref(logicalID(t, bucket)),
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Effect": "Deny", "Action": "s3:*", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			})})},
		})
		if got := res(t, logicalID(t, bucket)); got.Properties["PublicAccessBlockConfiguration"] == nil {
			t.Errorf("%s does not block public access", *bucket.Node().Path())
		}
	}
	if kms := res(t, logicalID(t, b.BucketKey)); kms.Properties["EnableKeyRotation"] != true {
		t.Errorf("backup key rotation: %v", kms.Properties["EnableKeyRotation"])
	}
}

func TestTopic(t *testing.T) {
	b := stacks.Backup
	hasProps(t, ("AWS::SNS::Topic"), map[string]any{
		"TopicName":      OperatorTopicName,
		"KmsMasterKeyId": getAtt(logicalID(t, b.Topic.Key), "Arn"),
	})
	if n := countType("AWS::SNS::Subscription"); n != len(cfg.OperatorEmails) {
		t.Errorf("%d subscriptions, want %d", n, len(cfg.OperatorEmails))
	}
	for _, e := range cfg.OperatorEmails {
		hasProps(t, ("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": e, "TopicArn": ref(logicalID(t, b.Topic.Topic))})
	}
	hasProps(t, ("AWS::SNS::TopicPolicy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		})})},
	})
	// Alarm notifications reach an encrypted topic only if CloudWatch may use its key.
	hasProps(t, ("AWS::KMS::Key"), map[string]any{
		"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action":    []any{"kms:Decrypt", "kms:GenerateDataKey"},
		})})},
	})
}

func TestAlarms(t *testing.T) {
	b := stacks.Backup
	topic := []any{ref(logicalID(t, b.Topic.Topic))}
	sm := []any{map[string]any{"Name": "StateMachineArn", "Value": ref(logicalID(t, b.StateMachine))}}
	hasStateMachineAlarms(t, template, b.StateMachine, topic, "ExecutionsFailed")
	hasProps(t, ("AWS::CloudWatch::Alarm"), map[string]any{
		"Namespace": "AWS/States", "MetricName": "ExecutionsSucceeded", "Dimensions": sm, "Statistic": "Sum",
		"Period": 3600, "EvaluationPeriods": 26, "DatapointsToAlarm": 26,
		"ComparisonOperator": "LessThanThreshold", "Threshold": 1,
		"TreatMissingData": "breaching", "AlarmActions": topic, "OKActions": topic,
	})
	hasProps(t, ("AWS::CloudWatch::Alarm"), map[string]any{
		"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
		"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "AlarmActions": topic,
	})
}

func TestConfigProblemsAreNamedTogether(t *testing.T) {
	_, err := ParseConfig([]byte(`{
		"account": "12345",
		"primary": {"userPoolId": "ap-northeast-3_Abc", "region": "ap-northeast-1"},
		"dr": {"userPoolId": "nope", "region": "ap-northeast-1"},
		"operatorEmails": [],
		"approverEmails": ["not an address"],
		"backup": {"schedule": "daily", "timeZone": "Mars/Olympus", "bucket": "UPPER", "prefix": "/x/", "userListRps": 31},
		"logRetentionDays": 42
	}`))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"account", "primary.userPoolId", "dr.userPoolId", "both ap-northeast-1", "operatorEmails", "approverEmails", "backup.schedule", "backup.timeZone", "backup.bucket", "backup.prefix", "backup.userListRps 31 exceeds", "logRetentionDays"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if _, err := ParseConfig([]byte(`{"acount": "123456789012"}`)); err == nil || !strings.Contains(err.Error(), "acount") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"account":"123456789012","primary":{"userPoolId":"ap-northeast-1_A1","region":"ap-northeast-1"},"dr":{"userPoolId":"ap-northeast-3_B2","region":"ap-northeast-3"},"operatorEmails":["ops@example.com"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := BackupConfig{Schedule: DefaultSchedule, TimeZone: DefaultTimeZone, RetentionDays: DefaultRetentionDays, NoncurrentVersionDays: DefaultNoncurrentVersionDays, Bucket: "cognito-dr-backups-123456789012-ap-northeast-3", Prefix: backup.DefaultPrefix}
	if diff := cmp.Diff(want, c.Backup); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestBuildCommand(t *testing.T) {
	cmd := buildCommand("/repo", "/out/.bin", []string{"export", "notify"})
	want := []string{"go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", "/out/.bin/", "./tasks/export", "./tasks/notify"}
	if diff := cmp.Diff(want, cmd.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	for _, e := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"} {
		if !slices.Contains(cmd.Env, e) {
			t.Errorf("env lacks %s", e)
		}
	}
	if cmd.Dir != "/repo" {
		t.Errorf("dir %s", cmd.Dir)
	}
	want = []string{"activate-primary", "apply-changes", "apply-restore", "approval-page", "build-import-csv", "build-restore-csv", "capture-pool-config", "collect-import-results", "compare-final-plan", "delete-drill-pool", "diff-bucket", "disable-users",
		"export", "export-failback-pools", "export-pools", "failover-activate", "failover-check", "failover-fence", "failover-notify", "failover-pause", "failover-verify", "failover-watch", "fence-dr", "notify", "notify-failback",
		"notify-reconcile", "notify-restore", "plan-failback", "plan-reconcile", "poll-import", "pre-authentication", "pre-sign-up", "pre-token", "prepare-failback", "prepare-restore-target", "reopen-dr", "repair-drift", "replicate",
		"report-drift", "request-approval", "request-restore-approval", "resolve-restore", "start-import", "upload-import", "validate-import",
		"verify-restore-drill", "write-manifest", "write-report", "write-restore-report"}
	if diff := cmp.Diff(want, Tasks()); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
}

// Only infra/ may import CDK: the Lambdas must stay small.
func TestTasksDoNotImportCDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../tasks/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "aws-cdk") || strings.Contains(line, "jsii") || strings.Contains(line, "constructs-go") || strings.Contains(line, "cdk-nag") {
			t.Errorf("tasks depend on %s", line)
		}
	}
}

// A function gets exactly its task's settings; a required one the stack cannot supply fails the
// synth, naming it.
func TestTaskEnvironment(t *testing.T) {
	spec := boundary.Spec{Name: "t", Settings: []boundary.Setting{{Name: "A"}, {Name: "B", Optional: true}, {Name: "C", Optional: true}}}
	env, err := taskEnvironment(spec, map[string]*string{"A": jsii.String("a"), "C": jsii.String("c"), "OTHER": jsii.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]*string{"A": jsii.String("a"), "C": jsii.String("c")}, env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	if _, err := taskEnvironment(spec, map[string]*string{"B": jsii.String("b")}); err == nil || !strings.Contains(err.Error(), "needs A") {
		t.Errorf("error %v, want the missing required setting named", err)
	}
}

// eachGoFunction calls fn with every Go Lambda of every stack (by logical id).
func eachGoFunction(t *testing.T, st *Stacks, fn func(s awscdk.Stack, id string, r resource)) {
	t.Helper()
	for _, s := range []awscdk.Stack{st.Backup.Stack, st.Failback.Stack, st.Replication.Stack, st.Reconcile.Stack} {
		rs, _, err := parse(assertions.Template_FromStack(s, nil))
		if err != nil {
			t.Fatal(err)
		}
		for id, r := range rs {
			if r.Type == "AWS::Lambda::Function" && r.Properties["Runtime"] == "provided.al2023" {
				fn(s, id, r)
			}
		}
	}
}

// TestGoMemLimit: every Go function of every stack runs with GOMEMLIMIT below its memory size, so
// the Go runtime collects before Lambda stops the function for exceeding its memory.
func TestGoMemLimit(t *testing.T) {
	st, _, _ := synthWith(t, cfg)
	checked := 0
	eachGoFunction(t, st, func(s awscdk.Stack, id string, r resource) {
		checked++
		memory, _ := r.Properties["MemorySize"].(float64)
		env, _ := r.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		limit, _ := vars["GOMEMLIMIT"].(string)
		var mib float64
		if _, err := fmt.Sscanf(limit, "%gMiB", &mib); err != nil || mib >= memory || mib < memory*0.8 {
			t.Errorf("%s %s: GOMEMLIMIT %q with %v MiB of memory, want 80–99%% of it", *s.StackName(), id, limit, memory)
		}
	})
	if checked < 20 {
		t.Errorf("checked %d Go functions, want every task and trigger", checked)
	}
}

// TestPartitionTasksHaveTmp: every task that writes partition bucket files (each spooled to /tmp
// until its unit ends) has PartitionTmpMiB of ephemeral storage; every other Go function keeps
// Lambda's default.
func TestPartitionTasksHaveTmp(t *testing.T) {
	st, _, _ := synthWith(t, cfg)
	partitioning := map[*GoFunction]bool{
		st.Reconcile.Functions["ExportPoolsFunctionArn"]:              true,
		st.Reconcile.Functions["DiffBucketFunctionArn"]:               true,
		st.Failback.Functions["PlanFailbackFunctionArn"]:              true,
		st.Failback.Functions["WriteReportFunctionArn"]:               true,
		st.Failback.RestoreFunctions["ApplyRestoreFunctionArn"]:       true,
		st.Failback.RestoreFunctions["WriteRestoreReportFunctionArn"]: true,
		st.Failback.RestoreFunctions["VerifyRestoreDrillFunctionArn"]: true,
	}
	ids := map[string]bool{}
	for fn := range partitioning {
		if fn == nil {
			t.Fatal("a partitioning task has no function")
		}
		ids[logicalID(t, fn.Function)] = true
	}
	found := 0
	eachGoFunction(t, st, func(s awscdk.Stack, id string, r resource) {
		storage, _ := r.Properties["EphemeralStorage"].(map[string]any)
		size, _ := storage["Size"].(float64)
		switch {
		case ids[id] && size != PartitionTmpMiB:
			t.Errorf("%s %s partitions with %v MiB of /tmp, want %d", *s.StackName(), id, size, PartitionTmpMiB)
		case !ids[id] && storage != nil:
			t.Errorf("%s %s: ephemeral storage %v, want Lambda's default", *s.StackName(), id, storage)
		}
		if ids[id] {
			found++
		}
	})
	if found != len(ids) {
		t.Errorf("found %d of the %d partitioning functions", found, len(ids))
	}
}
