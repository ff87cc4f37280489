package main

import (
	"encoding/json"
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

	"github.com/cognito-dr/cognito-dr/internal/asl"
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

type output struct {
	Value  any `json:"Value"`
	Export struct {
		Name string `json:"Name"`
	} `json:"Export"`
}

// parse returns the resources and outputs of a synthesized template.
func parse(tmpl assertions.Template) (map[string]resource, map[string]output, error) {
	raw, _ := json.Marshal(tmpl.ToJSON())
	var t struct {
		Resources map[string]resource `json:"Resources"`
		Outputs   map[string]output   `json:"Outputs"`
	}
	err := json.Unmarshal(raw, &t)
	return t.Resources, t.Outputs, err
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

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
			rcResources, _, err = parse(rcTemplate)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// logicalID is the template id of construct c's CloudFormation resource.
func logicalID(t *testing.T, c constructs.IConstruct) string {
	t.Helper()
	el, ok := c.(awscdk.CfnElement)
	if !ok {
		el, ok = c.Node().DefaultChild().(awscdk.CfnElement)
	}
	if !ok {
		t.Fatalf("%s has no CloudFormation resource", *c.Node().Path())
	}
	s := awscdk.Stack_Of(c)
	return s.Resolve(s.GetLogicalId(el)).(string)
}

func countType(typ string) int { return countTypeIn(resources, typ) }

func countTypeIn(rs map[string]resource, typ string) int {
	n := 0
	for _, r := range rs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func getAtt(id, attr string) any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
func ref(id string) any          { return map[string]any{"Ref": id} }

func res(t *testing.T, id string) resource {
	t.Helper()
	return resIn(t, resources, id)
}

func resIn(t *testing.T, rs map[string]resource, id string) resource {
	t.Helper()
	r, ok := rs[id]
	if !ok {
		t.Fatalf("no resource %s in the template", id)
	}
	return r
}

// hasProps is Template.HasResourceProperties reporting a mismatch as a test error (jsii panics).
func hasProps(t *testing.T, typ string, props any) {
	t.Helper()
	hasPropsIn(t, template, typ, props)
}

func hasPropsIn(t *testing.T, template assertions.Template, typ string, props any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("no %s with the expected properties: %v", typ, r)
		}
	}()
	template.HasResourceProperties(jsii.String(typ), props)
}

// stmt is a policy statement normalized for comparison: actions and resources sorted.
type stmt struct {
	Effect    string
	Actions   []string
	Resources []string
	// Condition is the statement's condition block as JSON, "" without one.
	Condition string
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func normalize(statements []any) []stmt {
	var out []stmt
	for _, s := range statements {
		m := s.(map[string]any)
		st := stmt{Effect: m["Effect"].(string)}
		for _, a := range asList(m["Action"]) {
			st.Actions = append(st.Actions, a.(string))
		}
		for _, r := range asList(m["Resource"]) {
			b, _ := json.Marshal(r)
			st.Resources = append(st.Resources, string(b))
		}
		if c, ok := m["Condition"]; ok {
			b, _ := json.Marshal(c)
			st.Condition = string(b)
		}
		slices.Sort(st.Actions)
		slices.Sort(st.Resources)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b stmt) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

func allowAll(actions []string, resources ...any) map[string]any {
	return map[string]any{"Effect": "Allow", "Action": toAny(actions), "Resource": resources}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// rolePolicy returns the statements of the only policy attached to role, and checks the role has
// no managed or inline policies of its own.
func rolePolicy(t *testing.T, roleID string) []stmt {
	t.Helper()
	return rolePolicyIn(t, resources, roleID)
}

func rolePolicyIn(t *testing.T, resources map[string]resource, roleID string) []stmt {
	t.Helper()
	role := resIn(t, resources, roleID)
	if role.Properties["ManagedPolicyArns"] != nil || role.Properties["Policies"] != nil {
		t.Errorf("role %s has managed or inline policies: %v", roleID, role.Properties)
	}
	var found []any
	n := 0
	for _, r := range resources {
		if r.Type != "AWS::IAM::Policy" {
			continue
		}
		for _, rr := range asList(r.Properties["Roles"]) {
			if cmp.Equal(rr, ref(roleID)) {
				n++
				found = r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any)
			}
		}
	}
	if n != 1 {
		t.Fatalf("role %s has %d policies, want 1", roleID, n)
	}
	return normalize(found)
}

func TestTaskPolicies(t *testing.T) {
	b := stacks.Backup
	primary, dr := cfg.PoolArn(cfg.Primary), cfg.PoolArn(cfg.DR)
	bucket := "arn:aws:s3:::cognito-dr-backups-123456789012-ap-northeast-3"
	snapshots := bucket + "/cognito-dr/backups/ap-northeast-1_AbCdEf123/*"
	bucketKey := getAtt(logicalID(t, b.BucketKey), "Arn")
	logs := func(p string) map[string]any {
		return allowAll([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(logicalID(t, b.Functions[p].LogGroup), "Arn"))
	}
	want := map[string][]any{
		"ExportFunctionArn": {
			logs("ExportFunctionArn"),
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:ListUsers", "cognito-idp:ListGroups", "cognito-idp:ListUsersInGroup", "cognito-idp:AdminGetUser"}, primary),
			allowAll([]string{"cognito-idp:DescribeUserPool"}, dr),
			allowAll([]string{"s3:ListBucket"}, bucket),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, snapshots),
			allowAll([]string{"kms:GenerateDataKey", "kms:Decrypt"}, bucketKey),
		},
		"BuildImportCsvFunctionArn": {
			logs("BuildImportCsvFunctionArn"),
			allowAll([]string{"cognito-idp:DescribeUserPool", "cognito-idp:GetCSVHeader"}, dr, primary),
			allowAll([]string{"s3:GetObject"}, snapshots),
			allowAll([]string{"s3:PutObject", "s3:AbortMultipartUpload"},
				bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/import/ap-northeast-3_XyZ987654/*",
				bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/import/ap-northeast-1_AbCdEf123/*"),
			allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, bucketKey),
		},
		"WriteManifestFunctionArn": {
			logs("WriteManifestFunctionArn"),
			allowAll([]string{"s3:PutObject"}, bucket+"/cognito-dr/backups/ap-northeast-1_AbCdEf123/*/manifest.json"),
			allowAll([]string{"kms:GenerateDataKey"}, bucketKey),
		},
		"NotifyFunctionArn": {
			logs("NotifyFunctionArn"),
			allowAll([]string{"sns:Publish"}, ref(logicalID(t, b.Topic.Topic))),
			allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, getAtt(logicalID(t, b.Topic.Key), "Arn")),
		},
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(b.Functions))); diff != "" {
		t.Fatalf("functions (-want +got):\n%s", diff)
	}
	for p, statements := range want {
		t.Run(p, func(t *testing.T) {
			fn := res(t, logicalID(t, b.Functions[p].Function))
			roleID := logicalID(t, b.Functions[p].Role)
			if diff := cmp.Diff(getAtt(roleID, "Arn"), fn.Properties["Role"]); diff != "" {
				t.Errorf("function role (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(normalize(statements), rolePolicy(t, roleID)); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStateMachineAndScheduleRoles(t *testing.T) {
	b := stacks.Backup
	var fns []any
	for _, p := range slices.Sorted(maps.Keys(b.Functions)) {
		fns = append(fns, getAtt(logicalID(t, b.Functions[p].Function), "Arn"))
	}
	wantSM := normalize([]any{
		// Log delivery has no resource-level permissions (suppressed for cdk-nag with that reason).
		allowAll([]string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}, "*"),
		allowAll([]string{"lambda:InvokeFunction"}, fns...),
	})
	if diff := cmp.Diff(wantSM, rolePolicy(t, logicalID(t, b.StateMachine.Role()))); diff != "" {
		t.Errorf("state machine role (-want +got):\n%s", diff)
	}
	wantSchedule := normalize([]any{
		allowAll([]string{"states:StartExecution"}, ref(logicalID(t, b.StateMachine))),
		allowAll([]string{"sqs:SendMessage"}, getAtt(logicalID(t, b.DeadLetters), "Arn")),
	})
	if diff := cmp.Diff(wantSchedule, rolePolicy(t, logicalID(t, b.ScheduleRole))); diff != "" {
		t.Errorf("schedule role (-want +got):\n%s", diff)
	}
}

func TestNoWildcardActionsOrResources(t *testing.T) {
	for name, rs := range map[string]map[string]resource{"backup": resources, "failback": fbResources, "reconcile": rcResources} {
		t.Run(name, func(t *testing.T) { noWildcards(t, rs, 1) })
	}
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
				if !slices.Equal(s.Actions, []string{"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"}) {
					t.Errorf("%s allows %v on Resource *", id, s.Actions)
				}
				smPolicy++
			}
		}
	}
	if smPolicy != stateMachines {
		t.Errorf("%d statements on Resource *, want only the state machines' log delivery (%d)", smPolicy, stateMachines)
	}
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
	if n := countType("AWS::StepFunctions::StateMachine"); n != 1 {
		t.Errorf("%d state machines, want 1", n)
	}
	sm := res(t, logicalID(t, b.StateMachine))
	def, err := statemachines.Definition(statemachines.Backup)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := sm.Properties["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString is not a plain string (the template must show the ASL): %v", sm.Properties["DefinitionString"])
	}
	if got != string(def) {
		t.Errorf("DefinitionString differs from the embedded statemachines/backup.asl.json")
	}
	subs := sm.Properties["DefinitionSubstitutions"].(map[string]any)
	vars := map[string]string{}
	for _, p := range asl.Placeholders(def) {
		fnID := logicalID(t, b.Functions[p].Function)
		if diff := cmp.Diff(getAtt(fnID, "Arn"), subs[p]); diff != "" {
			t.Errorf("substitution %s (-want +got):\n%s", p, diff)
		}
		vars[p] = "arn:aws:lambda:ap-northeast-3:123456789012:function:" + fnID
	}
	for k := range subs {
		if _, ok := vars[k]; !ok {
			t.Errorf("substitution %s has no placeholder", k)
		}
	}
	deployed, err := asl.Substitute([]byte(got), vars)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(deployed), "${") {
		t.Errorf("placeholders left after substitution")
	}
	if !json.Valid(deployed) {
		t.Errorf("substituted definition is not JSON")
	}
	if diff := cmp.Diff("STANDARD", sm.Properties["StateMachineType"]); diff != "" {
		t.Errorf("type (-want +got):\n%s", diff)
	}
	wantLogs := map[string]any{
		"Destinations":         []any{map[string]any{"CloudWatchLogsLogGroup": map[string]any{"LogGroupArn": getAtt(logicalID(t, b.ExecutionLogs), "Arn")}}},
		"IncludeExecutionData": false,
		"Level":                "ALL",
	}
	if diff := cmp.Diff(wantLogs, sm.Properties["LoggingConfiguration"]); diff != "" {
		t.Errorf("logging (-want +got):\n%s", diff)
	}
}

// The Lambdas' settings, and each function's timeout equal to the longest TimeoutSeconds of the ASL
// states that call it.
func TestFunctions(t *testing.T) {
	def, _ := statemachines.Definition(statemachines.Backup)
	var m struct {
		States map[string]struct {
			Resource       string  `json:"Resource"`
			TimeoutSeconds float64 `json:"TimeoutSeconds"`
		} `json:"States"`
	}
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	timeouts := map[string]float64{}
	for _, s := range m.States {
		if p, ok := strings.CutPrefix(s.Resource, "${"); ok {
			p = strings.TrimSuffix(p, "}")
			timeouts[p] = max(timeouts[p], s.TimeoutSeconds)
		}
	}
	topic := ref(logicalID(t, stacks.Backup.Topic.Topic))
	for p, fn := range stacks.Backup.Functions {
		t.Run(p, func(t *testing.T) {
			got := res(t, logicalID(t, fn.Function)).Properties
			want := map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"Timeout":       timeouts[p],
				"LoggingConfig": map[string]any{"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": ref(logicalID(t, fn.LogGroup))},
			}
			for k, v := range want {
				if diff := cmp.Diff(v, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			env := got["Environment"].(map[string]any)["Variables"].(map[string]any)
			if diff := cmp.Diff(topic, env["TOPIC_ARN"]); diff != "" {
				t.Errorf("TOPIC_ARN (-want +got):\n%s", diff)
			}
		})
	}
}

// Each tasks/<dir> main starts the handler of the placeholder its function is deployed for.
func TestTasksBindTheirPlaceholders(t *testing.T) {
	tasks := map[string]string{}
	for p, spec := range backupTasks {
		tasks[p] = spec.Task
	}
	for p, spec := range failbackTasks {
		tasks[p] = spec.Task
	}
	for p, spec := range reconcileTasks {
		tasks[p] = spec.Task
	}
	for p, task := range tasks {
		src, err := os.ReadFile(filepath.Join("..", "tasks", task, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), fmt.Sprintf("lambdamain.Start(%q,", p)) {
			t.Errorf("tasks/%s/main.go does not start %s", task, p)
		}
	}
}

func TestSchedule(t *testing.T) {
	b := stacks.Backup
	s := res(t, logicalID(t, b.Schedule)).Properties
	target := s["Target"].(map[string]any)
	want := map[string]any{
		"ScheduleExpression":         "cron(0 3 * * ? *)",
		"ScheduleExpressionTimezone": "Asia/Tokyo",
		"FlexibleTimeWindow":         map[string]any{"Mode": "OFF"},
		"State":                      "ENABLED",
	}
	for k, v := range want {
		if diff := cmp.Diff(v, s[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	wantTarget := map[string]any{
		"Arn":              ref(logicalID(t, b.StateMachine)),
		"RoleArn":          getAtt(logicalID(t, b.ScheduleRole), "Arn"),
		"DeadLetterConfig": map[string]any{"Arn": getAtt(logicalID(t, b.DeadLetters), "Arn")},
		"RetryPolicy":      map[string]any{"MaximumEventAgeInSeconds": 3600.0, "MaximumRetryAttempts": 10.0},
	}
	for k, v := range wantTarget {
		if diff := cmp.Diff(v, target[k]); diff != "" {
			t.Errorf("Target.%s (-want +got):\n%s", k, diff)
		}
	}
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
	hasProps(t, ("AWS::CloudWatch::Alarm"), map[string]any{
		"Namespace": "AWS/States", "MetricName": "ExecutionsFailed", "Dimensions": sm, "Statistic": "Sum",
		"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1,
		"TreatMissingData": "notBreaching", "AlarmActions": topic,
	})
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
		"backup": {"schedule": "daily", "timeZone": "Mars/Olympus", "bucket": "UPPER", "prefix": "/x/"},
		"logRetentionDays": 42
	}`))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"account", "primary.userPoolId", "dr.userPoolId", "both ap-northeast-1", "operatorEmails", "approverEmails", "backup.schedule", "backup.timeZone", "backup.bucket", "backup.prefix", "logRetentionDays"} {
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
	want = []string{"apply-changes", "approval-page", "build-import-csv", "collect-import-results", "disable-users", "export", "notify", "notify-failback",
		"notify-reconcile", "plan-failback", "plan-reconcile", "poll-import", "pre-token", "repair-drift", "replicate", "report-drift", "request-approval", "start-import", "upload-import", "validate-import", "write-manifest", "write-report"}
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
