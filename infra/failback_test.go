package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func TestFailbackTaskPolicies(t *testing.T) {
	f := stacks.Failback
	primary, dr := cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR)
	bucket := "arn:aws:s3:::cognito-dr-backups-123456789012-ap-northeast-3"
	files := bucket + "/cognito-dr/failback/ap-northeast-1_AbCdEf123/"
	approvals := bucket + "/approvals/*"
	bucketKey := imported(t, stacks.Backup.BucketKey, "Arn")
	kms := func(actions ...string) map[string]any { return allowAll(actions, bucketKey) }
	publish := []any{
		allowAll([]string{"sns:Publish"}, ref(logicalID(t, f.Topic.Topic))),
		allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, getAtt(logicalID(t, f.Topic.Key), "Arn")),
	}
	signingKey := []any{
		allowAll([]string{"secretsmanager:GetSecretValue"}, ref(logicalID(t, f.SigningKey))),
		allowIf([]string{"kms:Decrypt"}, map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.ap-northeast-3.amazonaws.com"}}, getAtt(logicalID(t, f.SigningKeyKey), "Arn")),
	}
	exportActions := []string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup"}
	want := map[string][]any{
		"PrepareFailbackFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool"}, primary, dr),
			allowAll([]string{"cognito-idp:ListUserPoolClients", "cognito-idp:DescribeUserPoolClient"}, dr),
			allowAll([]string{"s3:ListBucket"}, bucket),
		},
		"ExportFailbackPoolsFunctionArn": {
			allowAll(exportActions, primary, dr),
			allowAll([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/primary/*", files+"*/dr/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"PlanFailbackFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool"}, primary, dr),
			allowAll([]string{"cognito-idp:ListUserPoolClients", "cognito-idp:DescribeUserPoolClient"}, dr),
			allowAll([]string{"s3:ListBucket"}, bucket),
			allowAll([]string{"s3:GetObject"}, files+"*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/plan/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"ValidateImportFunctionArn": {
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, primary),
			allowAll([]string{"s3:GetObject"}, files+"*/plan/*", files+"*/dr/*", files+"*/import/work/*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/import/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"RequestApprovalFunctionArn": append([]any{
			allowAll([]string{"s3:GetObject"}, files+"*/plan/*", files+"*/import/*", files+"*/dr/*"),
			allowAll([]string{"s3:PutObject"}, approvals),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		}, append(slices.Clone(signingKey), publish...)...),
		// The import tasks are shared with the restore: the primary pool for failbacks, the
		// restore targets and the pools a restore created for restores (restoreImportGrants).
		"UploadImportFunctionArn": append([]any{
			allowAll([]string{"cognito-idp:CreateUserImportJob"}, primary),
			allowIf([]string{"iam:PassRole"}, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "cognito-idp.amazonaws.com"}}, getAtt(logicalID(t, f.ImportLogsRole), "Arn")),
			allowAll([]string{"s3:GetObject"}, files+"*/import/*"),
			kms("kms:Decrypt"),
		}, restoreImportGrants["UploadImportFunctionArn"]...),
		"StartImportFunctionArn": append([]any{
			allowAll([]string{"cognito-idp:StartUserImportJob", "cognito-idp:DescribeUserImportJob"}, primary),
		}, restoreImportGrants["StartImportFunctionArn"]...),
		"PollImportFunctionArn": append([]any{
			allowAll([]string{"cognito-idp:DescribeUserImportJob"}, primary),
		}, restoreImportGrants["PollImportFunctionArn"]...),
		"CollectImportResultsFunctionArn": append([]any{
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, primary),
			allowAll([]string{"logs:GetLogEvents"}, "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/cognito/userpools/ap-northeast-1_AbCdEf123/*"),
			allowAll([]string{"s3:GetObject"}, files+"*/import/*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/import-results/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		}, restoreImportGrants["CollectImportResultsFunctionArn"]...),
		"ApplyChangesFunctionArn": {
			allowAll([]string{"cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminDeleteUserAttributes", "cognito-idp:AdminAddUserToGroup", "cognito-idp:CreateGroup", "cognito-idp:AdminDisableUser"}, primary),
			allowAll([]string{"s3:GetObject"}, files+"*/import/*", files+"*/plan/*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/ledger/apply/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"DisableUsersFunctionArn": {
			allowAll([]string{"cognito-idp:AdminGetUser"}, primary),
			allowAll([]string{"cognito-idp:AdminDisableUser", "cognito-idp:AdminUserGlobalSignOut"}, dr),
			allowAll([]string{"s3:GetObject"}, files+"*/dr/*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/ledger/disable/*"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"WriteReportFunctionArn": append([]any{
			allowIf([]string{"s3:ListBucket"}, map[string]any{"StringLike": map[string]any{"s3:prefix": "cognito-dr/failback/ap-northeast-1_AbCdEf123/*"}}, bucket),
			allowAll([]string{"s3:GetObject"}, files+"*"),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, files+"*/report/*", files+"*/report.jsonl.gz", files+"*/report-summary.json", files+"*/ledger/report-published.json"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		}, publish...),
		"FenceDrFunctionArn": {
			allowAll([]string{"ssm:GetParameter", "ssm:PutParameter"}, "arn:aws:ssm:ap-northeast-3:123456789012:parameter/cognito-dr/"+cfg.DR.UserPoolID+"/mode"),
			allowAll([]string{"s3:GetObject", "s3:PutObject"}, files+"*/ledger/fence.json"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
		},
		"ReopenDrFunctionArn": {
			allowAll([]string{"ssm:PutParameter"}, "arn:aws:ssm:ap-northeast-3:123456789012:parameter/cognito-dr/"+cfg.DR.UserPoolID+"/mode"),
		},
		"CompareFinalPlanFunctionArn": {
			allowAll([]string{"s3:GetObject"}, files+"*/plan/*"),
			kms("kms:Decrypt"),
		},
		"ActivatePrimaryFunctionArn": {
			allowAll([]string{"ssm:GetParameter", "ssm:PutParameter"}, "arn:aws:ssm:ap-northeast-1:123456789012:parameter/cognito-dr/"+cfg.Primary.UserPoolID+"/mode"),
			allowAll([]string{"scheduler:GetSchedule", "scheduler:UpdateSchedule"}, "arn:aws:scheduler:ap-northeast-3:123456789012:schedule/default/cognito-dr-reconcile"),
			allowIf([]string{"iam:PassRole"}, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}}, imported(t, stacks.Reconcile.ScheduleRole, "Arn")),
		},
		"NotifyFailbackFunctionArn": publish,
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(f.Functions))); diff != "" {
		t.Fatalf("functions (-want +got):\n%s", diff)
	}
	for p, statements := range want {
		t.Run(p, func(t *testing.T) { checkTaskRole(t, fbResources, f.Functions[p], statements) })
	}
	t.Run("ApprovalPage", func(t *testing.T) {
		checkTaskRole(t, fbResources, f.ApprovalPage, append([]any{
			allowAll([]string{"s3:GetObject", "s3:PutObject"}, approvals),
			allowAll([]string{"s3:GetObject"}, files+"*/plan/actions.jsonl.gz"),
			kms("kms:Decrypt", "kms:GenerateDataKey"),
			// Restores into pools with users are approved on the same page.
			allowAll([]string{"states:SendTaskSuccess", "states:SendTaskFailure"}, ref(logicalID(t, f.StateMachine)), ref(logicalID(t, f.RestoreStateMachine))),
		}, signingKey...))
	})
}

func TestImportLogsRole(t *testing.T) {
	f := stacks.Failback
	id := logicalID(t, f.ImportLogsRole)
	wantTrust := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "cognito-idp.amazonaws.com"},
	}}}
	if diff := cmp.Diff(wantTrust, resIn(t, fbResources, id).Properties["AssumeRolePolicyDocument"]); diff != "" {
		t.Errorf("trust policy (-want +got):\n%s", diff)
	}
	logActions := []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
	want := normalize([]any{
		allowAll(logActions, "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/cognito/userpools/ap-northeast-1_AbCdEf123/*"),
		// The restore's import jobs: its targets, and the pools it may create (ids unknown).
		allowAll(logActions, restoreImportLogs...),
	})
	if diff := cmp.Diff(want, rolePolicyIn(t, fbResources, id)); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	env := resIn(t, fbResources, logicalID(t, f.Functions["UploadImportFunctionArn"].Function)).Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
	if diff := cmp.Diff(getAtt(id, "Arn"), env["IMPORT_LOGS_ROLE_ARN"]); diff != "" {
		t.Errorf("IMPORT_LOGS_ROLE_ARN (-want +got):\n%s", diff)
	}
}

func TestFailbackStateMachine(t *testing.T) {
	f := stacks.Failback
	deployed, vars := checkWorkflowStateMachine(t, fbResources, f.StateMachine, f.ExecutionLogs, f.Functions, statemachines.Failback, FailbackStateMachineName)
	// RequestApproval names its function as the waitForTaskToken integration's FunctionName.
	var m struct {
		States map[string]struct {
			Resource   string         `json:"Resource"`
			Parameters map[string]any `json:"Parameters"`
		} `json:"States"`
	}
	if err := json.Unmarshal(deployed, &m); err != nil {
		t.Fatal(err)
	}
	ra := m.States["RequestApproval"]
	if ra.Resource != "arn:aws:states:::lambda:invoke.waitForTaskToken" || ra.Parameters["FunctionName"] != vars["RequestApprovalFunctionArn"] {
		t.Errorf("RequestApproval: %s %v", ra.Resource, ra.Parameters["FunctionName"])
	}
	checkStateMachineRole(t, fbResources, f.StateMachine, f.Functions)
}

// Every failback Lambda: the common settings, a timeout equal to its ASL state's, TOPIC_ARN on the
// failback topic, and the approval settings only where they are read.
func TestFailbackFunctions(t *testing.T) {
	f := stacks.Failback
	def, _ := statemachines.Definition(statemachines.Failback)
	timeouts := aslTimeouts(t, def)
	// The approval wait is the state's (TimeoutSecondsPath); the function only stores and mails.
	timeouts["RequestApprovalFunctionArn"] = 60
	if len(timeouts) != len(failbackTasks) {
		t.Errorf("timeouts found for %v", slices.Sorted(maps.Keys(timeouts)))
	}
	topic := ref(logicalID(t, f.Topic.Topic))
	baseURL := map[string]any{"Fn::Join": []any{"", []any{getAtt(logicalID(t, f.ApprovalAPI), "ApiEndpoint"), "/approvals"}}}
	approvalEnv := map[string]any{
		"APPROVAL_BUCKET":             "cognito-dr-backups-123456789012-ap-northeast-3",
		"BASE_URL":                    baseURL,
		"APPROVAL_SIGNING_KEY_SECRET": ref(logicalID(t, f.SigningKey)),
	}
	check := func(t *testing.T, fn *GoFunction, timeout float64, wantEnv map[string]any) {
		got := checkFunctionBasics(t, fbResources, fn)
		if diff := cmp.Diff(timeout, got["Timeout"]); diff != "" {
			t.Errorf("Timeout (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantEnv, envOf(t, fbResources, fn), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
	}
	for _, spec := range boundary.Specs(failback.Tasks) {
		p := spec.Placeholder
		t.Run(p, func(t *testing.T) {
			env := map[string]any{}
			switch p {
			case failback.UploadImportTask.Placeholder:
				env["IMPORT_LOGS_ROLE_ARN"] = getAtt(logicalID(t, f.ImportLogsRole), "Arn")
			case failback.RequestApprovalTask.Placeholder:
				env["TOPIC_ARN"] = topic
				maps.Copy(env, approvalEnv)
			case failback.WriteReportTask.Placeholder, failback.NotifyFailbackTask.Placeholder:
				env["TOPIC_ARN"] = topic
			case failback.ActivatePrimaryTask.Placeholder:
				env["RECONCILE_SCHEDULE_NAME"], env["RECONCILE_SCHEDULE_GROUP"] = "cognito-dr-reconcile", "default"
			}
			check(t, f.Functions[p], timeouts[p], env)
			checkSettings(t, spec, envOf(t, fbResources, f.Functions[p]))
		})
	}
	t.Run("ApprovalPage", func(t *testing.T) { check(t, f.ApprovalPage, 60, approvalEnv) })
	// The page's settings are exactly what approval.LoadConfig reads.
	env := map[string]string{"APPROVAL_BUCKET": "b", "BASE_URL": "https://x.execute-api.ap-northeast-3.amazonaws.com/approvals", "APPROVAL_SIGNING_KEY_SECRET": "arn"}
	if _, err := approval.LoadConfig(func(k string) string { return env[k] }); err != nil {
		t.Errorf("the deployed settings do not satisfy approval.LoadConfig: %v", err)
	}
}

func TestApprovalEndpoint(t *testing.T) {
	f := stacks.Failback
	api := logicalID(t, f.ApprovalAPI)
	page := getAtt(logicalID(t, f.ApprovalPage.Function), "Arn")
	hasPropsIn(t, fbTemplate, "AWS::ApiGatewayV2::Api", map[string]any{"Name": ApprovalAPIName, "ProtocolType": "HTTP"})
	var routes []string
	var integrations []string
	for id, r := range fbResources {
		switch r.Type {
		case "AWS::ApiGatewayV2::Route":
			routes = append(routes, r.Properties["RouteKey"].(string))
			if r.Properties["AuthorizationType"] != "NONE" || !cmp.Equal(r.Properties["ApiId"], ref(api)) {
				t.Errorf("route %s: %v", id, r.Properties)
			}
		case "AWS::ApiGatewayV2::Integration":
			integrations = append(integrations, id)
			want := map[string]any{"ApiId": ref(api), "IntegrationType": "AWS_PROXY", "IntegrationUri": page, "PayloadFormatVersion": "2.0"}
			if diff := cmp.Diff(want, r.Properties); diff != "" {
				t.Errorf("integration (-want +got):\n%s", diff)
			}
		case "AWS::Lambda::Permission":
			want := map[string]any{
				"Action": "lambda:InvokeFunction", "FunctionName": page, "Principal": "apigateway.amazonaws.com",
				"SourceArn": map[string]any{"Fn::Join": []any{"", []any{"arn:", ref("AWS::Partition"), ":execute-api:ap-northeast-3:123456789012:", ref(api), "/*/*/approvals/{id}"}}},
			}
			if diff := cmp.Diff(want, r.Properties); diff != "" {
				t.Errorf("permission %s (-want +got):\n%s", id, diff)
			}
		case "AWS::Lambda::Url":
			t.Errorf("unexpected Function URL %s: the page is behind the HTTP API only", id)
		}
	}
	slices.Sort(routes)
	if diff := cmp.Diff([]string{"GET /approvals/{id}", "HEAD /approvals/{id}", "POST /approvals/{id}"}, routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if len(integrations) != 1 {
		t.Errorf("%d integrations, want 1", len(integrations))
	}
	stage := resIn(t, fbResources, logicalID(t, f.ApprovalStage)).Properties
	wantStage := map[string]any{
		"ApiId": ref(api), "StageName": "$default", "AutoDeploy": true,
		"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 10.0},
	}
	for k, v := range wantStage {
		if diff := cmp.Diff(v, stage[k]); diff != "" {
			t.Errorf("stage %s (-want +got):\n%s", k, diff)
		}
	}
	logs := stage["AccessLogSettings"].(map[string]any)
	if diff := cmp.Diff(getAtt(logicalID(t, f.APIAccessLogs), "Arn"), logs["DestinationArn"]); diff != "" {
		t.Errorf("access log destination (-want +got):\n%s", diff)
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(logs["Format"].(string)), &format); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	for k, v := range format {
		// The query string carries the link's signature: it must never reach a log.
		if strings.Contains(v, "querystring") || strings.Contains(v, "path") {
			t.Errorf("access log field %s logs %s", k, v)
		}
	}
	if format["status"] != "$context.status" || format["ip"] != "$context.identity.sourceIp" {
		t.Errorf("access log format %v", format)
	}
}

func TestSigningKeySecret(t *testing.T) {
	f := stacks.Failback
	secret := resIn(t, fbResources, logicalID(t, f.SigningKey)).Properties
	want := map[string]any{
		"Name":                 SigningKeySecretName,
		"KmsKeyId":             getAtt(logicalID(t, f.SigningKeyKey), "Arn"),
		"GenerateSecretString": map[string]any{"PasswordLength": float64(SigningKeyLength), "ExcludePunctuation": true, "IncludeSpace": false},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, secret[k]); diff != "" {
			t.Errorf("secret %s (-want +got):\n%s", k, diff)
		}
	}
	if SigningKeyLength < approval.MinKeyBytes {
		t.Errorf("generated key of %d characters is shorter than approval.MinKeyBytes", SigningKeyLength)
	}
	if k := resIn(t, fbResources, logicalID(t, f.SigningKeyKey)).Properties; k["EnableKeyRotation"] != true {
		t.Errorf("signing key's KMS key rotation: %v", k["EnableKeyRotation"])
	}
	// Only the approval page, request-approval and request-restore-approval can read it.
	var readers []string
	for id, r := range fbResources {
		if r.Type != "AWS::IAM::Policy" {
			continue
		}
		for _, s := range normalize(r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any)) {
			if slices.Contains(s.Actions, "secretsmanager:GetSecretValue") {
				readers = append(readers, id)
			}
		}
	}
	slices.Sort(readers)
	wantReaders := []string{
		logicalID(t, f.ApprovalPage.Role.Node().TryFindChild(jsii.String("DefaultPolicy"))),
		logicalID(t, f.Functions["RequestApprovalFunctionArn"].Role.Node().TryFindChild(jsii.String("DefaultPolicy"))),
		logicalID(t, f.RestoreFunctions["RequestRestoreApprovalFunctionArn"].Role.Node().TryFindChild(jsii.String("DefaultPolicy"))),
	}
	slices.Sort(wantReaders)
	if diff := cmp.Diff(wantReaders, readers); diff != "" {
		t.Errorf("secret readers (-want +got):\n%s", diff)
	}
}

func TestFailbackTopicAndAlarms(t *testing.T) {
	f := stacks.Failback
	hasPropsIn(t, fbTemplate, "AWS::SNS::Topic", map[string]any{"TopicName": FailbackTopicName, "KmsMasterKeyId": getAtt(logicalID(t, f.Topic.Key), "Arn")})
	if n := countTypeIn(fbResources, "AWS::SNS::Subscription"); n != len(cfg.ApproverEmails) {
		t.Errorf("%d subscriptions, want the %d approvers", n, len(cfg.ApproverEmails))
	}
	for _, e := range cfg.ApproverEmails {
		hasPropsIn(t, fbTemplate, "AWS::SNS::Subscription", map[string]any{"Protocol": "email", "Endpoint": e, "TopicArn": ref(logicalID(t, f.Topic.Topic))})
	}
	operators := []any{imported(t, stacks.Backup.Topic.Topic, "")}
	hasStateMachineAlarms(t, fbTemplate, f.StateMachine, operators, "ExecutionsFailed", "ExecutionsTimedOut")
}

// The stack's execution input is a valid failback.Request for the configured pools and prefix.
func TestFailbackInputOutput(t *testing.T) {
	fbTemplate.HasOutput(jsii.String("FailbackInput"), map[string]any{})
	raw, _ := json.Marshal(fbTemplate.ToJSON())
	var tm struct {
		Outputs map[string]output `json:"Outputs"`
	}
	if err := json.Unmarshal(raw, &tm); err != nil {
		t.Fatal(err)
	}
	in := strings.Replace(tm.Outputs["FailbackInput"].Value.(string), "<RFC 3339 time traffic moved to the DR pool>", "2026-11-20T03:00:00Z", 1)
	var req failback.Request
	if err := boundary.DecodeStrict([]byte(in), &req); err != nil {
		t.Fatalf("FailbackInput is not a failback.Request: %v", err)
	}
	want := failback.Request{
		PrimaryUserPoolID: "ap-northeast-1_AbCdEf123", PrimaryRegion: "ap-northeast-1",
		DRUserPoolID: "ap-northeast-3_XyZ987654", DRRegion: "ap-northeast-3",
		Bucket: "cognito-dr-backups-123456789012-ap-northeast-3", BucketRegion: "ap-northeast-3",
		FailoverTime: "2026-11-20T03:00:00Z", Prefix: "cognito-dr/failback",
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("FailbackInput (-want +got):\n%s", diff)
	}
}

type keyRecorder struct{ keys []string }

func (k *keyRecorder) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	k.keys = append(k.keys, aws.ToString(in.Key))
	return &s3.PutObjectOutput{}, nil
}

func (k *keyRecorder) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	k.keys = append(k.keys, aws.ToString(in.Key))
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader([]byte("{}")))}, nil
}

// The IAM grants on approvals/* cover every key the approval store touches.
func TestApprovalsPrefixMatchesStore(t *testing.T) {
	rec := &keyRecorder{}
	store := &approval.S3Store{Client: rec, Bucket: "b"}
	ctx := t.Context()
	_ = store.PutRequest(ctx, approval.Request{ID: "0123456789abcdef0123456789abcdef"})
	_, _ = store.GetRequest(ctx, "0123456789abcdef0123456789abcdef")
	_ = store.PutDecision(ctx, "0123456789abcdef0123456789abcdef", approval.Decision{})
	_, _ = store.GetDecision(ctx, "0123456789abcdef0123456789abcdef")
	_ = store.PutOutcome(ctx, "0123456789abcdef0123456789abcdef", approval.Outcome{})
	_, _ = store.GetOutcome(ctx, "0123456789abcdef0123456789abcdef")
	if len(rec.keys) != 6 {
		t.Fatalf("keys %v", rec.keys)
	}
	for _, k := range rec.keys {
		if !strings.HasPrefix(k, ApprovalsPrefix+"/") {
			t.Errorf("approval store key %s is outside %s/", k, ApprovalsPrefix)
		}
	}
}

func TestFailbackConfig(t *testing.T) {
	base := `"account":"123456789012","primary":{"userPoolId":"ap-northeast-1_A1","region":"ap-northeast-1"},"dr":{"userPoolId":"ap-northeast-3_B2","region":"ap-northeast-3"},"operatorEmails":["ops@example.com"]`
	c, err := ParseConfig([]byte("{" + base + "}"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(FailbackConfig{Prefix: failback.DefaultPrefix, ApprovalRateLimit: 5, ApprovalBurstLimit: 10, RetentionDays: 90}, c.Failback); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	// Without approvers, the operators receive the approval links.
	if diff := cmp.Diff([]string{"ops@example.com"}, c.Approvers()); diff != "" {
		t.Errorf("approvers (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		`"failback":{"retentionDays":-1}`,
		`"failback":{"prefix":"cognito-dr/backups"}`,
		`"failback":{"prefix":"cognito-dr/backups/failback"}`,
		`"failback":{"prefix":"approvals"}`,
		`"failback":{"prefix":"x/"}`,
		`"failback":{"approvalRateLimit":-1}`,
	} {
		if _, err := ParseConfig([]byte("{" + base + "," + bad + "}")); err == nil || !strings.Contains(err.Error(), "failback") && !strings.Contains(err.Error(), "approvals") {
			t.Errorf("%s accepted: %v", bad, err)
		}
	}
}
