package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// The helpers every stack's tests share: reading a synthesized template, comparing policies, and
// the checks of the pieces the workflow stacks build alike (workflow.go).

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

// imported is how the failback stack refers to an attribute (attr "" means Ref) of a backup
// stack resource: Fn::ImportValue of the export CDK made for it.
func imported(t *testing.T, c constructs.IConstruct, attr string) any {
	t.Helper()
	id := logicalID(t, c)
	want := ref(id)
	if attr != "" {
		want = getAtt(id, attr)
	}
	for _, o := range outputs {
		if cmp.Equal(o.Value, want) && o.Export.Name != "" {
			return map[string]any{"Fn::ImportValue": o.Export.Name}
		}
	}
	t.Fatalf("the backup stack exports no %v", want)
	return nil
}

func allowIf(actions []string, condition map[string]any, resources ...any) map[string]any {
	s := allowAll(actions, resources...)
	s["Condition"] = condition
	return s
}

func envOf(t *testing.T, rs map[string]resource, fn *GoFunction) map[string]any {
	t.Helper()
	props := resIn(t, rs, logicalID(t, fn.Function)).Properties
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	// Every function has GOMEMLIMIT below its memory (TestGoMemLimit); the rest is the task's.
	memory, _ := props["MemorySize"].(float64)
	if got, want := vars["GOMEMLIMIT"], GoMemLimit(memory); got != want {
		t.Errorf("%s: GOMEMLIMIT %v, want %s (memory %v MiB)", logicalID(t, fn.Function), got, want, memory)
	}
	if vars == nil {
		return nil
	}
	task := maps.Clone(vars) // the template's map is shared by every caller
	delete(task, "GOMEMLIMIT")
	if len(task) == 0 {
		return nil
	}
	return task
}

// asGetenv turns a template's environment (plain strings, or a reference replaced by a stand-in)
// into the getenv a Loader reads.
func asGetenv(env map[string]any) func(string) string {
	return func(k string) string {
		v, ok := env[k]
		if !ok {
			return ""
		}
		if s, ok := v.(string); ok {
			return s
		}
		return "arn:aws:sns:ap-northeast-3:123456789012:resolved"
	}
}

// checkSettings: a function's environment holds only settings its task declares, and every
// required one, so the task's Lambda starts on it.
func checkSettings(t *testing.T, spec boundary.Spec, env map[string]any) {
	t.Helper()
	declared := map[string]bool{}
	for _, st := range spec.Settings {
		declared[st.Name] = true
	}
	for k := range env {
		if !declared[k] {
			t.Errorf("task %s gets %s, which it does not read", spec.Name, k)
		}
	}
	if missing := boundary.Missing(asGetenv(env), spec.Settings); len(missing) > 0 {
		t.Errorf("task %s lacks %v", spec.Name, missing)
	}
}

// logDeliveryActions are what Step Functions needs on "*" to log executions (suppressed for cdk-nag
// with that reason).
var logDeliveryActions = []string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}

// checkTaskRole checks that fn runs with its own role, whose only policy is its log permissions and
// statements.
func checkTaskRole(t *testing.T, rs map[string]resource, fn *GoFunction, statements []any) {
	t.Helper()
	statements = append([]any{allowAll([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(logicalID(t, fn.LogGroup), "Arn"))}, statements...)
	roleID := logicalID(t, fn.Role)
	if diff := cmp.Diff(getAtt(roleID, "Arn"), resIn(t, rs, logicalID(t, fn.Function)).Properties["Role"]); diff != "" {
		t.Errorf("function role (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(normalize(statements), rolePolicyIn(t, rs, roleID)); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
}

// checkFunctionBasics checks what NewGoFunction sets on every Lambda and returns its properties.
func checkFunctionBasics(t *testing.T, rs map[string]resource, fn *GoFunction) map[string]any {
	t.Helper()
	got := resIn(t, rs, logicalID(t, fn.Function)).Properties
	want := map[string]any{
		"Runtime":       "provided.al2023",
		"Architectures": []any{"arm64"},
		"Handler":       "bootstrap",
		"LoggingConfig": map[string]any{"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": ref(logicalID(t, fn.LogGroup))},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	return got
}

// aslTimeouts is, for each placeholder of def called as a Task state's Resource (in Map item
// processors too), the longest TimeoutSeconds of those states.
func aslTimeouts(t *testing.T, def []byte) map[string]float64 {
	t.Helper()
	timeouts := map[string]float64{}
	var walk func(states map[string]json.RawMessage)
	walk = func(states map[string]json.RawMessage) {
		for _, raw := range states {
			var s struct {
				Resource       string  `json:"Resource"`
				TimeoutSeconds float64 `json:"TimeoutSeconds"`
				ItemProcessor  struct {
					States map[string]json.RawMessage `json:"States"`
				} `json:"ItemProcessor"`
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			if p, ok := strings.CutPrefix(s.Resource, "${"); ok {
				p = strings.TrimSuffix(p, "}")
				timeouts[p] = max(timeouts[p], s.TimeoutSeconds)
			}
			walk(s.ItemProcessor.States)
		}
	}
	var top struct {
		States map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(def, &top); err != nil {
		t.Fatal(err)
	}
	walk(top.States)
	return timeouts
}

// checkWorkflowStateMachine checks the stack's one state machine named name: its definition is
// the embedded ASL of workflow as a plain string, exactly its placeholders are substituted, each
// with its function's ARN, and it logs every event without execution data to execLogs. It returns
// the definition as deployed with function ARNs made of the functions' logical ids.
func checkWorkflowStateMachine(t *testing.T, rs map[string]resource, sm awsstepfunctions.StateMachine, execLogs awslogs.LogGroup, functions map[string]*GoFunction, workflow, name string) (deployed []byte, vars map[string]string) {
	t.Helper()
	named := 0
	for _, r := range rs {
		if r.Type == "AWS::StepFunctions::StateMachine" && r.Properties["StateMachineName"] == name {
			named++
		}
	}
	if named != 1 {
		t.Errorf("%d state machines named %s, want 1", named, name)
	}
	props := resIn(t, rs, logicalID(t, sm)).Properties
	def, err := statemachines.Definition(workflow)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := props["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString is not a plain string (the template must show the ASL): %v", props["DefinitionString"])
	}
	if got != string(def) {
		t.Fatalf("DefinitionString is not the embedded statemachines/%s.asl.json", workflow)
	}
	subs := props["DefinitionSubstitutions"].(map[string]any)
	placeholders := asl.Placeholders(def)
	if diff := cmp.Diff(placeholders, slices.Sorted(maps.Keys(subs))); diff != "" {
		t.Errorf("substitutions (-placeholders +substituted):\n%s", diff)
	}
	vars = map[string]string{}
	for _, p := range placeholders {
		fnID := logicalID(t, functions[p].Function)
		if diff := cmp.Diff(getAtt(fnID, "Arn"), subs[p]); diff != "" {
			t.Errorf("substitution %s (-want +got):\n%s", p, diff)
		}
		vars[p] = "arn:aws:lambda:ap-northeast-3:123456789012:function:" + fnID
	}
	deployed, err = asl.Substitute([]byte(got), vars)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(deployed), "${") || !json.Valid(deployed) {
		t.Errorf("substituted definition has placeholders left or is not JSON")
	}
	if props["StateMachineType"] != "STANDARD" || props["StateMachineName"] != name {
		t.Errorf("type %v, name %v", props["StateMachineType"], props["StateMachineName"])
	}
	wantLogs := map[string]any{
		"Destinations":         []any{map[string]any{"CloudWatchLogsLogGroup": map[string]any{"LogGroupArn": getAtt(logicalID(t, execLogs), "Arn")}}},
		"IncludeExecutionData": false,
		"Level":                "ALL",
	}
	if diff := cmp.Diff(wantLogs, props["LoggingConfiguration"]); diff != "" {
		t.Errorf("logging (-want +got):\n%s", diff)
	}
	return deployed, vars
}

// checkStateMachineRole checks that sm may log executions and invoke exactly functions.
func checkStateMachineRole(t *testing.T, rs map[string]resource, sm awsstepfunctions.StateMachine, functions map[string]*GoFunction) {
	t.Helper()
	var fns []any
	for _, p := range slices.Sorted(maps.Keys(functions)) {
		fns = append(fns, getAtt(logicalID(t, functions[p].Function), "Arn"))
	}
	want := normalize([]any{
		allowAll(logDeliveryActions, "*"),
		allowAll([]string{"lambda:InvokeFunction"}, fns...),
	})
	if diff := cmp.Diff(want, rolePolicyIn(t, rs, logicalID(t, sm.Role()))); diff != "" {
		t.Errorf("state machine role (-want +got):\n%s", diff)
	}
}

// checkWorkflowSchedule checks a schedule's properties (want), that it starts sm with its role,
// dead-letters to dlq and retries as retryPolicy says, and that the role, assumable by Scheduler
// of this account only, may do only that. It returns the schedule's target.
func checkWorkflowSchedule(t *testing.T, rs map[string]resource, schedule awsscheduler.CfnSchedule, sm awsstepfunctions.StateMachine, role awsiam.Role, dlq awssqs.Queue, want, retryPolicy map[string]any) map[string]any {
	t.Helper()
	s := resIn(t, rs, logicalID(t, schedule)).Properties
	for k, v := range want {
		if diff := cmp.Diff(v, s[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	target := s["Target"].(map[string]any)
	wantTarget := map[string]any{
		"Arn":              ref(logicalID(t, sm)),
		"RoleArn":          getAtt(logicalID(t, role), "Arn"),
		"DeadLetterConfig": map[string]any{"Arn": getAtt(logicalID(t, dlq), "Arn")},
		"RetryPolicy":      retryPolicy,
	}
	for k, v := range wantTarget {
		if diff := cmp.Diff(v, target[k]); diff != "" {
			t.Errorf("Target.%s (-want +got):\n%s", k, diff)
		}
	}
	checkScheduleRole(t, rs, role, sm, dlq)
	return target
}

// checkScheduleRole checks that the schedule's role, assumable by Scheduler of this account only,
// may start sm and send to dlq, and nothing else.
func checkScheduleRole(t *testing.T, rs map[string]resource, role awsiam.Role, sm awsstepfunctions.StateMachine, dlq awssqs.Queue) {
	t.Helper()
	wantRole := normalize([]any{
		allowAll([]string{"states:StartExecution"}, ref(logicalID(t, sm))),
		allowAll([]string{"sqs:SendMessage"}, getAtt(logicalID(t, dlq), "Arn")),
	})
	if diff := cmp.Diff(wantRole, rolePolicyIn(t, rs, logicalID(t, role))); diff != "" {
		t.Errorf("schedule role (-want +got):\n%s", diff)
	}
	trust := resIn(t, rs, logicalID(t, role)).Properties["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	if diff := cmp.Diff(map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "123456789012"}}, trust["Condition"]); diff != "" {
		t.Errorf("schedule trust condition (-want +got):\n%s", diff)
	}
}

// hasStateMachineAlarms checks an alarm per metric (ExecutionsFailed, ...) of sm: any execution in
// 5 minutes notifies actions.
func hasStateMachineAlarms(t *testing.T, tmpl assertions.Template, sm awsstepfunctions.StateMachine, actions []any, metrics ...string) {
	t.Helper()
	dims := []any{map[string]any{"Name": "StateMachineArn", "Value": ref(logicalID(t, sm))}}
	for _, metric := range metrics {
		hasPropsIn(t, tmpl, "AWS::CloudWatch::Alarm", map[string]any{
			"Namespace": "AWS/States", "MetricName": metric, "Dimensions": dims, "Statistic": "Sum",
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1,
			"TreatMissingData": "notBreaching", "AlarmActions": actions,
		})
	}
}
