package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

const (
	drPoolArn      = "arn:aws:cognito-idp:ap-northeast-3:123456789012:userpool/ap-northeast-3_XyZ987654"
	primaryPoolArn = "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123"
	retryBucket    = "cognito-dr-replication-retry-123456789012-ap-northeast-1"
	retryEntries   = "arn:aws:s3:::" + retryBucket + "/cognito-dr/replication-retry/ap-northeast-1_AbCdEf123/*.json"
	backupBucket   = "arn:aws:s3:::cognito-dr-backups-123456789012-ap-northeast-3"
	reconcileFiles = backupBucket + "/cognito-dr/reconcile/ap-northeast-1_AbCdEf123/*/"
)

func TestReplicatePolicy(t *testing.T) {
	r := stacks.Replication
	checkTaskRole(t, repResources, r.Replicate, []any{
		allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword"}, drPoolArn),
		allowAll([]string{"s3:PutObject"}, retryEntries),
		allowAll([]string{"kms:GenerateDataKey"}, getAtt(logicalID(t, r.RetryKey), "Arn")),
	})
}

func TestReconcileTaskPolicies(t *testing.T) {
	rc := stacks.Reconcile
	bucketKey := imported(t, stacks.Backup.BucketKey, "Arn")
	kms := allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, bucketKey)
	publish := []any{
		allowAll([]string{"sns:Publish"}, imported(t, stacks.Backup.Topic.Topic, "")),
		allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, imported(t, stacks.Backup.Topic.Key, "Arn")),
	}
	exportActions := []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup"}
	repairActions := []string{
		"cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminDeleteUserAttributes",
		"cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminEnableUser", "cognito-idp:AdminDisableUser",
		"cognito-idp:AdminDeleteUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:CreateGroup",
	}
	want := map[string][]any{
		"PlanReconcileFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool"}, primaryPoolArn, drPoolArn),
			allowAll([]string{"cognito-idp:ListUserPoolClients", "cognito-idp:DescribeUserPoolClient"}, drPoolArn),
			allowAll([]string{"s3:ListBucket"}, backupBucket),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, reconcileFiles+"pending.jsonl.gz"),
			kms,
			allowIf([]string{"s3:ListBucket"}, map[string]any{"StringEquals": map[string]any{"s3:prefix": "cognito-dr/replication-retry/ap-northeast-1_AbCdEf123/"}}, "arn:aws:s3:::"+retryBucket),
		},
		"RepairDriftFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool"}, primaryPoolArn, drPoolArn),
			allowAll(repairActions, drPoolArn),
			allowAll([]string{"s3:GetObject"}, reconcileFiles+"before/*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, reconcileFiles+"ledger/*"),
			kms,
			allowAll([]string{"s3:DeleteObject"}, retryEntries),
		},
		"DiffBucketFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool"}, primaryPoolArn, drPoolArn),
			allowAll([]string{"s3:GetObject"}, reconcileFiles+"before/*", reconcileFiles+"after/*", reconcileFiles+"pending.jsonl.gz"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, reconcileFiles+"before/*", reconcileFiles+"after/*"),
			kms,
		},
		"ExportPoolsFunctionArn": {
			allowAll(exportActions, primaryPoolArn, drPoolArn),
			allowAll([]string{"s3:GetObject"}, reconcileFiles+"before/*", reconcileFiles+"after/*", reconcileFiles+"pending.jsonl.gz"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, reconcileFiles+"before/*", reconcileFiles+"after/*"),
			kms,
		},
		"ReportDriftFunctionArn": append([]any{
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, reconcileFiles+"report.json"),
			kms,
		}, publish...),
		"NotifyReconcileFunctionArn": publish,
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(rc.Functions))); diff != "" {
		t.Fatalf("functions (-want +got):\n%s", diff)
	}
	for p, statements := range want {
		t.Run(p, func(t *testing.T) { checkTaskRole(t, rcResources, rc.Functions[p], statements) })
	}
	// The pre-token trigger is the DR pool's gate: it reads the two mode parameters (gate_test.go).
	t.Run("PreToken", func(t *testing.T) {
		checkTaskRole(t, rcResources, rc.PreToken, []any{allowAll([]string{"ssm:GetParameter"}, drModeArn, primaryModeArn)})
	})
}

// Each trigger may be invoked by Cognito for its own pool only, and by nothing else.
func TestTriggerInvokePermissions(t *testing.T) {
	for _, c := range []struct {
		name string
		rs   map[string]resource
		fn   *GoFunction
		pool string
	}{
		{"replicate", repResources, stacks.Replication.Replicate, primaryPoolArn},
		{"pre-token", rcResources, stacks.Reconcile.PreToken, drPoolArn},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []map[string]any
			fnArn := getAtt(logicalID(t, c.fn.Function), "Arn")
			for _, r := range c.rs {
				if r.Type == "AWS::Lambda::Permission" && cmp.Equal(r.Properties["FunctionName"], fnArn) {
					got = append(got, r.Properties)
				}
			}
			want := []map[string]any{{
				"Action": "lambda:InvokeFunction", "FunctionName": fnArn,
				"Principal": "cognito-idp.amazonaws.com", "SourceArn": c.pool, "SourceAccount": "123456789012",
			}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTriggerFunctions(t *testing.T) {
	t.Run("replicate", func(t *testing.T) {
		r := stacks.Replication
		got := checkFunctionBasics(t, repResources, r.Replicate)
		// Cognito waits 5 s for a trigger; the code's DR budget and retry budget fit inside.
		if got["Timeout"] != 5.0 || got["MemorySize"] != 512.0 || got["FunctionName"] != ReplicateFunctionName {
			t.Errorf("timeout %v, memory %v, name %v", got["Timeout"], got["MemorySize"], got["FunctionName"])
		}
		if replication.DefaultDRBudget+replication.DefaultRetryBudget >= TriggerTimeoutSeconds*time.Second {
			t.Errorf("the trigger's budgets do not fit in its timeout")
		}
		// A reservation caps sign-ups: none by default.
		if v, ok := got["ReservedConcurrentExecutions"]; ok {
			t.Errorf("replicate reserves concurrency %v by default", v)
		}
		env := envOf(t, repResources, r.Replicate)
		want := map[string]any{
			"DR_USER_POOL_ID": "ap-northeast-3_XyZ987654", "DR_REGION": "ap-northeast-3",
			"RETRY_BUCKET": retryBucket, "RETRY_REGION": "ap-northeast-1", "RETRY_PREFIX": replication.DefaultRetryPrefix,
		}
		if diff := cmp.Diff(want, env); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		checkSettings(t, replication.PostConfirmationTrigger.Spec(), env)
	})
	t.Run("pre-token", func(t *testing.T) {
		got := checkFunctionBasics(t, rcResources, stacks.Reconcile.PreToken)
		if got["Timeout"] != 5.0 || got["FunctionName"] != PreTokenFunctionName {
			t.Errorf("timeout %v, name %v", got["Timeout"], got["FunctionName"])
		}
		// The DR pool's gate settings (gate_test.go): both pools' mode parameters.
		env := envOf(t, rcResources, stacks.Reconcile.PreToken)
		if diff := cmp.Diff(gateEnvWant(drPool, primaryPool), env); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		checkSettings(t, replication.PreTokenGenerationTrigger.Spec(), env)
	})
}

// Every reconcile Lambda: a timeout equal to its ASL state's, and the settings its task reads.
func TestReconcileFunctions(t *testing.T) {
	rc := stacks.Reconcile
	def, _ := statemachines.Definition(statemachines.Reconcile)
	timeouts := aslTimeouts(t, def)
	if len(timeouts) != len(reconcileTasks) {
		t.Errorf("timeouts found for %v", slices.Sorted(maps.Keys(timeouts)))
	}
	retry := map[string]any{"RETRY_BUCKET": retryBucket, "RETRY_REGION": "ap-northeast-1", "RETRY_PREFIX": replication.DefaultRetryPrefix}
	topic := map[string]any{"TOPIC_ARN": imported(t, stacks.Backup.Topic.Topic, "")}
	wantEnv := map[string]map[string]any{
		replication.PlanReconcileTask.Placeholder: retry, replication.RepairDriftTask.Placeholder: retry,
		replication.ReportDriftTask.Placeholder: topic, replication.NotifyReconcileTask.Placeholder: topic,
	}
	for _, spec := range boundary.Specs(replication.Tasks) {
		p := spec.Placeholder
		t.Run(p, func(t *testing.T) {
			fn := rc.Functions[p]
			got := resIn(t, rcResources, logicalID(t, fn.Function)).Properties
			if got["Timeout"] != timeouts[p] || got["Runtime"] != "provided.al2023" || got["FunctionName"] != "cognito-dr-reconcile-"+spec.Name {
				t.Errorf("timeout %v (ASL %v), runtime %v, name %v", got["Timeout"], timeouts[p], got["Runtime"], got["FunctionName"])
			}
			env := envOf(t, rcResources, fn)
			if diff := cmp.Diff(wantEnv[p], env); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			checkSettings(t, spec, env)
		})
	}
}

func TestReconcileStateMachine(t *testing.T) {
	rc := stacks.Reconcile
	checkWorkflowStateMachine(t, rcResources, rc.StateMachine, rc.ExecutionLogs, rc.Functions, statemachines.Reconcile, ReconcileStateMachineName)
	def, _ := statemachines.Definition(statemachines.Reconcile)
	var bound []string
	for _, spec := range boundary.Specs(replication.Tasks) {
		bound = append(bound, spec.Placeholder)
	}
	if diff := cmp.Diff(asl.Placeholders(def), slices.Sorted(slices.Values(bound))); diff != "" {
		t.Errorf("placeholders vs replication.Tasks (-asl +tasks):\n%s", diff)
	}
	checkStateMachineRole(t, rcResources, rc.StateMachine, rc.Functions)
}

func TestReconcileSchedule(t *testing.T) {
	rc := stacks.Reconcile
	target := checkWorkflowSchedule(t, rcResources, rc.Schedule, rc.StateMachine, rc.ScheduleRole, rc.DeadLetters, map[string]any{
		"Name":                       ReconcileScheduleName,
		"ScheduleExpression":         "rate(15 minutes)",
		"ScheduleExpressionTimezone": "Asia/Tokyo",
		"FlexibleTimeWindow":         map[string]any{"Mode": "OFF"},
		"State":                      "ENABLED",
	}, map[string]any{"MaximumEventAgeInSeconds": 600.0, "MaximumRetryAttempts": 5.0})
	var req replication.Request
	if err := boundary.DecodeStrict([]byte(target["Input"].(string)), &req); err != nil {
		t.Fatalf("schedule input is not a replication.Request: %v", err)
	}
	wantReq := replication.Request{
		PrimaryUserPoolID: "ap-northeast-1_AbCdEf123", PrimaryRegion: "ap-northeast-1",
		DRUserPoolID: "ap-northeast-3_XyZ987654", DRRegion: "ap-northeast-3",
		Bucket: "cognito-dr-backups-123456789012-ap-northeast-3", BucketRegion: "ap-northeast-3",
		Prefix: "cognito-dr/reconcile",
	}
	if diff := cmp.Diff(wantReq, req); diff != "" {
		t.Errorf("schedule input (-want +got):\n%s", diff)
	}
}

// replication.reconcile.enabled=false is the failover switch: the schedule is deployed DISABLED
// (nothing else changes), and the staleness alarm, which would only fire, is gone.
func TestReconcileScheduleSwitch(t *testing.T) {
	off := cfg
	off.Replication.Reconcile.Enabled = jsii.Bool(false)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := NewStacks(NewApp(), off, func(string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(dir), nil) })
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := parse(assertions.Template_FromStack(st.Reconcile.Stack, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := resIn(t, rs, logicalID(t, st.Reconcile.Schedule)).Properties["State"]; got != "DISABLED" {
		t.Errorf("schedule state %v, want DISABLED", got)
	}
	if st.Reconcile.StaleAlarm != nil {
		t.Errorf("staleness alarm deployed while the schedule is disabled")
	}
	for _, r := range rs {
		if r.Type == "AWS::CloudWatch::Alarm" && r.Properties["AlarmName"] == "cognito-dr-reconcile-stale" {
			t.Errorf("staleness alarm in the template while the schedule is disabled")
		}
	}
	if n, want := countTypeIn(rs, "AWS::CloudWatch::Alarm"), countTypeIn(rcResources, "AWS::CloudWatch::Alarm")-1; n != want {
		t.Errorf("%d alarms, want %d", n, want)
	}
}

func TestRetryBucket(t *testing.T) {
	r := stacks.Replication
	hasPropsIn(t, repTemplate, "AWS::S3::Bucket", map[string]any{
		"BucketName":              retryBucket,
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
			"BucketKeyEnabled":              true,
			"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": getAtt(logicalID(t, r.RetryKey), "Arn")},
		}}},
		"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"LoggingConfiguration":           map[string]any{"DestinationBucketName": ref(logicalID(t, r.AccessLogs)), "LogFilePrefix": retryBucket + "/"},
		// No expiration of current entries: they leave when reconcile repairs the user.
		"LifecycleConfiguration": map[string]any{"Rules": []any{
			map[string]any{"Id": "expire-resolved-entries", "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 7}, "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1}, "ExpiredObjectDeleteMarker": true, "Status": "Enabled"},
		}},
	})
	for _, b := range []*string{jsii.String(logicalID(t, r.RetryBucket)), jsii.String(logicalID(t, r.AccessLogs))} {
		hasPropsIn(t, repTemplate, "AWS::S3::BucketPolicy", map[string]any{
			"Bucket": ref(*b),
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Effect": "Deny", "Action": "s3:*", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			})})},
		})
		if resIn(t, repResources, *b).Properties["PublicAccessBlockConfiguration"] == nil {
			t.Errorf("%s does not block public access", *b)
		}
	}
	if k := resIn(t, repResources, logicalID(t, r.RetryKey)).Properties; k["EnableKeyRotation"] != true {
		t.Errorf("retry key rotation: %v", k["EnableKeyRotation"])
	}
}

// s3Recorder records the keys and prefixes replication.S3RetryStore uses.
type s3Recorder struct{ keys, prefixes []string }

func (r *s3Recorder) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	r.keys = append(r.keys, aws.ToString(in.Key))
	return &s3.PutObjectOutput{}, nil
}

func (r *s3Recorder) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	r.keys = append(r.keys, aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

func (r *s3Recorder) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	r.prefixes = append(r.prefixes, aws.ToString(in.Prefix))
	return &s3.ListObjectsV2Output{Contents: []s3types.Object{}}, nil
}

// The grants on the retry store cover exactly the keys and listing prefix the store uses with the
// deployed RETRY_PREFIX.
func TestRetryGrantsMatchStore(t *testing.T) {
	rec := &s3Recorder{}
	store := &replication.S3RetryStore{Client: rec, Bucket: retryBucket, Prefix: cfg.Replication.RetryPrefix}
	ctx := t.Context()
	sub := "0d8e5a6e-1111-4222-8333-944455556666"
	_ = store.Record(ctx, replication.Pending{PrimaryUserPoolID: cfg.Primary.UserPoolID, Sub: sub})
	_ = store.Resolve(ctx, cfg.Primary.UserPoolID, sub)
	_ = store.List(ctx, cfg.Primary.UserPoolID, func(replication.Pending) error { return nil })
	entries := strings.TrimPrefix(cfg.RetryEntriesArn(), "arn:aws:s3:::"+retryBucket+"/")
	dir, suffix, _ := strings.Cut(entries, "*")
	if len(rec.keys) != 2 {
		t.Fatalf("keys %v", rec.keys)
	}
	for _, k := range rec.keys {
		if !strings.HasPrefix(k, dir) || !strings.HasSuffix(k, suffix) || strings.Contains(strings.TrimPrefix(k, dir), "/") {
			t.Errorf("retry key %s is outside the grant %s", k, entries)
		}
	}
	if diff := cmp.Diff([]string{cfg.RetryDir()}, rec.prefixes); diff != "" {
		t.Errorf("listing prefix vs the s3:prefix condition (-want +got):\n%s", diff)
	}
}

func TestReplicationAlarms(t *testing.T) {
	r := stacks.Replication
	topic := []any{ref(logicalID(t, r.Topic.Topic))}
	hasPropsIn(t, repTemplate, "AWS::SNS::Topic", map[string]any{"TopicName": OperatorTopicName, "KmsMasterKeyId": getAtt(logicalID(t, r.Topic.Key), "Arn")})
	if n := countTypeIn(repResources, "AWS::SNS::Subscription"); n != len(cfg.OperatorEmails) {
		t.Errorf("%d subscriptions, want the %d operators", n, len(cfg.OperatorEmails))
	}
	fn := []any{map[string]any{"Name": "FunctionName", "Value": ref(logicalID(t, r.Replicate.Function))}}
	for _, metric := range []string{"Errors", "Throttles"} {
		hasPropsIn(t, repTemplate, "AWS::CloudWatch::Alarm", map[string]any{
			"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": fn, "Statistic": "Sum", "Period": 300,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "TreatMissingData": "notBreaching", "AlarmActions": topic,
		})
	}
	hasPropsIn(t, repTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": fn, "Statistic": "Maximum", "Threshold": 4000, "AlarmActions": topic,
	})
	for metric, result := range map[string]string{"ReplicateQueued": replication.ResultQueued, "ReplicateNotQueued": replication.ResultNotQueued} {
		hasPropsIn(t, repTemplate, "AWS::Logs::MetricFilter", map[string]any{
			"LogGroupName":          ref(logicalID(t, r.Replicate.LogGroup)),
			"FilterPattern":         `{ $.result = "` + result + `" }`,
			"MetricTransformations": []any{map[string]any{"MetricNamespace": MetricNamespace, "MetricName": metric, "MetricValue": "1"}},
		})
		hasPropsIn(t, repTemplate, "AWS::CloudWatch::Alarm", map[string]any{
			"Namespace": MetricNamespace, "MetricName": metric, "Statistic": "Sum", "Threshold": 1,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching", "AlarmActions": topic,
		})
	}
	// And the primary pool's three gate triggers' errors (gate_test.go).
	if n := countTypeIn(repResources, "AWS::CloudWatch::Alarm"); n != 5+3 {
		t.Errorf("%d alarms, want 8", n)
	}
}

// unreachableDR fails the first call the trigger makes on the DR pool.
type unreachableDR struct{ replication.Cognito }

func (unreachableDR) DescribeUserPool(context.Context, *cip.DescribeUserPoolInput, ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return nil, errors.New("DR Region unreachable")
}

// The metric filters match the trigger's own log line: a JSON object whose "result" is the
// outcome, with the queued-for-retry and not-queued values the filters name.
func TestReplicateLogLineMatchesFilter(t *testing.T) {
	for _, c := range []struct {
		store *replication.MemoryRetryStore
		want  string
	}{
		{&replication.MemoryRetryStore{}, replication.ResultQueued},
		{&replication.MemoryRetryStore{Fail: errors.New("S3 down too")}, replication.ResultNotQueued},
	} {
		var buf strings.Builder
		s := &replication.Steps{DRUserPoolID: "ap-northeast-3_XyZ987654", DRRegion: "ap-northeast-3", Retry: c.store}
		s.Cognito = func(string) replication.Cognito { return unreachableDR{} }
		h := replication.ReplicateTrigger(s, slog.New(slog.NewJSONHandler(&buf, nil)))
		if _, err := h(t.Context(), json.RawMessage(`{"userPoolId":"ap-northeast-1_AbCdEf123","userName":"u","request":{"userAttributes":{"sub":"s1"}}}`)); err != nil {
			t.Fatal(err)
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &line); err != nil {
			t.Fatalf("trigger log is not one JSON line: %q", buf.String())
		}
		if line["result"] != c.want {
			t.Errorf("log line result %v, want %s: %v", line["result"], c.want, line)
		}
	}
}

func TestReconcileAlarms(t *testing.T) {
	rc := stacks.Reconcile
	operators := []any{imported(t, stacks.Backup.Topic.Topic, "")}
	sm := []any{map[string]any{"Name": "StateMachineArn", "Value": ref(logicalID(t, rc.StateMachine))}}
	hasStateMachineAlarms(t, rcTemplate, rc.StateMachine, operators, "ExecutionsFailed", "ExecutionsTimedOut")
	// Staleness: no success in 60 minutes (four 15-minute runs) with the default schedule.
	hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"AlarmName": "cognito-dr-reconcile-stale",
		"Namespace": "AWS/States", "MetricName": "ExecutionsSucceeded", "Dimensions": sm, "Statistic": "Sum",
		"Period": 900, "EvaluationPeriods": 4, "DatapointsToAlarm": 4,
		"ComparisonOperator": "LessThanThreshold", "Threshold": 1,
		"TreatMissingData": "breaching", "AlarmActions": operators, "OKActions": operators,
	})
	hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
		"Dimensions":         []any{map[string]any{"Name": "QueueName", "Value": getAtt(logicalID(t, rc.DeadLetters), "QueueName")}},
		"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "AlarmActions": operators,
	})
	hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"AlarmName": "cognito-dr-pre-token-errors", "Threshold": 1, "AlarmActions": operators,
		"Metrics": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{"Id": "errors", "MetricStat": assertions.Match_ObjectLike(&map[string]any{"Metric": map[string]any{
				"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(logicalID(t, rc.PreToken.Function))}},
			}})}),
		}),
	})
	// And the DR pool's other two gate triggers' errors (gate_test.go), the failover's and the
	// mode watch's (failover_test.go).
	if n := countTypeIn(rcResources, "AWS::CloudWatch::Alarm"); n != 5+2+5 {
		t.Errorf("%d alarms, want 12", n)
	}
}

// The reconcile stack deploys after the backup stack (imports) and the replication stack (its
// retry bucket), and no reference crosses Regions.
func TestReplicationStackPlacement(t *testing.T) {
	if *stacks.Replication.Region() != "ap-northeast-1" || *stacks.Reconcile.Region() != "ap-northeast-3" {
		t.Errorf("Regions: replication %s, reconcile %s", *stacks.Replication.Region(), *stacks.Reconcile.Region())
	}
	var deps []string
	for _, d := range *stacks.Reconcile.Dependencies() {
		deps = append(deps, *d.StackName())
	}
	slices.Sort(deps)
	if diff := cmp.Diff([]string{"CognitoDrBackup", "CognitoDrReplication"}, deps); diff != "" {
		t.Errorf("reconcile dependencies (-want +got):\n%s", diff)
	}
	raw, _ := json.Marshal(rcTemplate.ToJSON())
	if strings.Contains(string(raw), "CognitoDrReplication") {
		t.Errorf("the reconcile template refers to the replication stack")
	}
	if raw, _ := json.Marshal(repTemplate.ToJSON()); strings.Contains(string(raw), "Fn::ImportValue") {
		t.Errorf("the replication template imports from another stack")
	}
}

func TestReplicationConfig(t *testing.T) {
	base := `"account":"123456789012","primary":{"userPoolId":"ap-northeast-1_A1","region":"ap-northeast-1"},"dr":{"userPoolId":"ap-northeast-3_B2","region":"ap-northeast-3"},"operatorEmails":["ops@example.com"]`
	c, err := ParseConfig([]byte("{" + base + "}"))
	if err != nil {
		t.Fatal(err)
	}
	want := ReplicationConfig{
		RetryBucket: "cognito-dr-replication-retry-123456789012-ap-northeast-1", RetryPrefix: replication.DefaultRetryPrefix,
		RetryNoncurrentVersionDays: 7, ReplicateMemoryMiB: 512,
		Reconcile: ReconcileConfig{Schedule: "rate(15 minutes)", TimeZone: "Asia/Tokyo", Prefix: replication.DefaultPrefix, RetentionDays: 7, StaleAfterMinutes: 60},
	}
	if diff := cmp.Diff(want, c.Replication); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if !c.ReconcileEnabled() {
		t.Errorf("reconcile disabled by default")
	}
	for schedule, stale := range map[string]int{"rate(1 hour)": 240, "rate(10 minutes)": 60, "rate(1 day)": 5760, "cron(0 * * * ? *)": 1500} {
		c, err := ParseConfig([]byte("{" + base + `,"replication":{"reconcile":{"schedule":"` + schedule + `"}}}`))
		if err != nil {
			t.Errorf("%s: %v", schedule, err)
			continue
		}
		if c.Replication.Reconcile.StaleAfterMinutes != stale {
			t.Errorf("%s: staleAfterMinutes %d, want %d", schedule, c.Replication.Reconcile.StaleAfterMinutes, stale)
		}
	}
	c, err = ParseConfig([]byte("{" + base + `,"replication":{"reconcile":{"enabled":false}}}`))
	if err != nil || c.ReconcileEnabled() {
		t.Errorf("enabled=false: %v, enabled %t", err, c.ReconcileEnabled())
	}
	_, err = ParseConfig([]byte("{" + base + `,"replication":{
		"retryBucket":"Bad_Bucket","retryPrefix":"/x/","retryNoncurrentVersionDays":-1,"replicateMemoryMib":64,"replicateReservedConcurrency":-2,
		"reconcile":{"schedule":"every 15 minutes","timeZone":"Mars/Olympus","prefix":"cognito-dr/backups/reconcile","retentionDays":-1,"staleAfterMinutes":7}}}`))
	if err == nil {
		t.Fatal("invalid replication configuration accepted")
	}
	for _, w := range []string{"replication.retryBucket", "replication.retryPrefix", "replication.retryNoncurrentVersionDays", "replication.replicateMemoryMib",
		"replication.replicateReservedConcurrency", "replication.reconcile.schedule", "replication.reconcile.timeZone", "overlaps backup.prefix",
		"replication.reconcile.retentionDays", "replication.reconcile.staleAfterMinutes"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %s: %v", w, err)
		}
	}
	for _, bad := range []string{
		`"replication":{"reconcile":{"schedule":"rate(1 hour)","staleAfterMinutes":60}}`, // fires between runs
		`"replication":{"reconcile":{"schedule":"rate(fortnightly)"}}`,
		`"replication":{"reconcile":{"staleAfterMinutes":1450}}`, // above a day: whole hours
		`"replication":{"retryBucket":"cognito-dr-backups-123456789012-ap-northeast-3"}`,
		`"replication":{"reconcile":{"prefix":"approvals"}}`,
		`"replication":{"reconcile":{"enable":false}}`,
	} {
		if _, err := ParseConfig([]byte("{" + base + "," + bad + "}")); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
