package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

// The failover tasks' roles: together, exactly Get/PutParameter on the two mode parameters (each
// in its own Region), Get/UpdateSchedule on the reconcile schedule, PassRole of the schedule's role
// to Scheduler only, and Publish to the operators' topic; each function only what its step calls.
func TestFailoverTaskPolicies(t *testing.T) {
	rc := stacks.Reconcile
	f := rc.Failover
	schedule := getAtt(logicalID(t, rc.Schedule), "Arn")
	want := map[string][]any{
		"FailoverCheckFunctionArn":    {allowAll([]string{"ssm:GetParameter"}, drModeArn)},
		"FailoverFenceFunctionArn":    {allowAll([]string{"ssm:GetParameter", "ssm:PutParameter"}, primaryModeArn)},
		"FailoverActivateFunctionArn": {allowAll([]string{"ssm:PutParameter"}, drModeArn)},
		"FailoverPauseFunctionArn": {
			allowAll([]string{"scheduler:GetSchedule", "scheduler:UpdateSchedule"}, schedule),
			allowIf([]string{"iam:PassRole"}, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
				getAtt(logicalID(t, rc.ScheduleRole), "Arn")),
		},
		"FailoverVerifyFunctionArn": {
			allowAll([]string{"ssm:GetParameter"}, primaryModeArn, drModeArn),
			allowAll([]string{"scheduler:GetSchedule"}, schedule),
		},
		"FailoverNotifyFunctionArn": {
			allowAll([]string{"sns:Publish"}, imported(t, stacks.Backup.Topic.Topic, "")),
			allowAll([]string{"kms:Decrypt", "kms:GenerateDataKey"}, imported(t, stacks.Backup.Topic.Key, "Arn")),
		},
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(f.Functions))); diff != "" {
		t.Fatalf("functions (-want +got):\n%s", diff)
	}
	for p, statements := range want {
		t.Run(p, func(t *testing.T) { checkTaskRole(t, rcResources, f.Functions[p], statements) })
	}
	t.Run("state machine", func(t *testing.T) { checkStateMachineRole(t, rcResources, f.StateMachine, f.Functions) })
	t.Run("watch", func(t *testing.T) {
		checkTaskRole(t, rcResources, f.Watch, []any{allowAll([]string{"ssm:GetParameter"}, primaryModeArn, drModeArn)})
	})
}

// The failover state machine runs the embedded ASL with each task's function, each function's
// timeout the ASL's and only notify gets the topic; the stack outputs the console input.
func TestFailoverStateMachine(t *testing.T) {
	f := stacks.Reconcile.Failover
	checkWorkflowStateMachine(t, rcResources, f.StateMachine, f.ExecutionLogs, f.Functions, statemachines.Failover, FailoverStateMachineName)
	def, _ := statemachines.Definition(statemachines.Failover)
	timeouts := aslTimeouts(t, def)
	for _, spec := range boundary.Specs(failover.Tasks) {
		fn := f.Functions[spec.Placeholder]
		got := checkFunctionBasics(t, rcResources, fn)
		if diff := cmp.Diff(timeouts[spec.Placeholder], got["Timeout"]); diff != "" {
			t.Errorf("%s: Timeout (-want +got):\n%s", spec.Placeholder, diff)
		}
		env := envOf(t, rcResources, fn)
		var want map[string]any
		if spec.Placeholder == failover.FailoverNotifyTask.Placeholder {
			want = map[string]any{"TOPIC_ARN": imported(t, stacks.Backup.Topic.Topic, "")}
		}
		if diff := cmp.Diff(want, env, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: environment (-want +got):\n%s", spec.Placeholder, diff)
		}
		checkSettings(t, spec, env)
	}

	outs := rcTemplate.ToJSON()
	raw, _ := json.Marshal((*outs)["Outputs"])
	var outputs map[string]struct{ Value any }
	if err := json.Unmarshal(raw, &outputs); err != nil {
		t.Fatal(err)
	}
	input, _ := outputs["FailoverInput"].Value.(string)
	var req failover.Request
	if err := boundary.DecodeStrict([]byte(input), &req); err != nil {
		t.Fatalf("FailoverInput %q is not a failover.Request: %v", input, err)
	}
	wantReq := failover.Request{PrimaryUserPoolID: cfg.Primary.UserPoolID, PrimaryRegion: cfg.Primary.Region, DRUserPoolID: cfg.DR.UserPoolID, DRRegion: cfg.DR.Region,
		Message: cfg.Gate.FencedMessage, ScheduleName: ReconcileScheduleName, Bucket: cfg.Backup.Bucket, BucketRegion: cfg.DR.Region}
	if diff := cmp.Diff(wantReq, req); diff != "" {
		t.Errorf("FailoverInput (-want +got):\n%s", diff)
	}
	if start, _ := outputs["FailoverStart"].Value.(string); !strings.Contains(start, "cognito-dr start failover --region ap-northeast-3") {
		t.Errorf("FailoverStart %q", start)
	}
}

// The mode watch: invoked every minute by its schedule with the pools, and alarms on its metrics
// after the configured minutes, to the operators and back when they clear.
func TestModeWatch(t *testing.T) {
	rc := stacks.Reconcile
	f := rc.Failover
	fn := getAtt(logicalID(t, f.Watch.Function), "Arn")
	s := resIn(t, rcResources, logicalID(t, f.WatchSchedule)).Properties
	target := s["Target"].(map[string]any)
	if s["ScheduleExpression"] != "rate(1 minute)" || s["State"] != "ENABLED" || !cmp.Equal(target["Arn"], fn) ||
		!cmp.Equal(target["RoleArn"], getAtt(logicalID(t, f.WatchRole), "Arn")) {
		t.Errorf("schedule %v", s)
	}
	var in failover.WatchInput
	if err := boundary.DecodeStrict([]byte(target["Input"].(string)), &in); err != nil || in.PrimaryUserPoolID != cfg.Primary.UserPoolID || in.DRRegion != cfg.DR.Region {
		t.Errorf("schedule input %v: %v", target["Input"], err)
	}
	if diff := cmp.Diff(normalize([]any{allowAll([]string{"lambda:InvokeFunction"}, fn)}), rolePolicyIn(t, rcResources, logicalID(t, f.WatchRole))); diff != "" {
		t.Errorf("schedule role (-want +got):\n%s", diff)
	}
	trust, _ := json.Marshal(resIn(t, rcResources, logicalID(t, f.WatchRole)).Properties["AssumeRolePolicyDocument"])
	if !strings.Contains(string(trust), `"scheduler.amazonaws.com"`) || !strings.Contains(string(trust), `"aws:SourceAccount":"123456789012"`) {
		t.Errorf("schedule role trust %s", trust)
	}
	operators := []any{imported(t, stacks.Backup.Topic.Topic, "")}
	dims := []any{map[string]any{"Name": "DrUserPoolId", "Value": cfg.DR.UserPoolID}, map[string]any{"Name": "PrimaryUserPoolId", "Value": cfg.Primary.UserPoolID}}
	for _, a := range []struct {
		name, metric string
		minutes      int
	}{{"cognito-dr-no-active-pool", failover.MetricNoActivePool, cfg.FencedMinutes()}, {"cognito-dr-both-active", failover.MetricBothActive, cfg.BothActiveMinutes()}} {
		hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{
			"AlarmName": a.name, "Namespace": failover.MetricsNamespace, "MetricName": a.metric, "Dimensions": dims,
			"Statistic": "Minimum", "Period": 60, "EvaluationPeriods": a.minutes, "DatapointsToAlarm": a.minutes,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "TreatMissingData": "notBreaching",
			"AlarmActions": operators, "OKActions": operators,
		})
	}
	hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{"AlarmName": "cognito-dr-failover-failed", "MetricName": "ExecutionsFailed", "AlarmActions": operators})
	hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{"AlarmName": "cognito-dr-mode-watch-errors", "MetricName": "Errors", "AlarmActions": operators})
	// A watch that stopped publishing alarms too: missing readings breach.
	hasPropsIn(t, rcTemplate, "AWS::CloudWatch::Alarm", map[string]any{
		"AlarmName": "cognito-dr-mode-watch-silent", "Namespace": failover.MetricsNamespace, "MetricName": failover.MetricNoActivePool, "Dimensions": dims,
		"Statistic": "SampleCount", "Period": 300, "ComparisonOperator": "LessThanThreshold", "Threshold": 1, "TreatMissingData": "breaching",
		"AlarmActions": operators, "OKActions": operators,
	})
}

func TestFailoverConfig(t *testing.T) {
	if cfg.FencedMinutes() != DefaultFencedMinutes || cfg.BothActiveMinutes() != DefaultBothActiveMinutes {
		t.Errorf("defaults: fenced %d, both active %d", cfg.FencedMinutes(), cfg.BothActiveMinutes())
	}
	c := cfg
	c.Failover.Alarms = FailoverAlarms{FencedMinutes: 1441, BothActiveMinutes: -1}
	p := strings.Join(c.failoverProblems(), "; ")
	for _, want := range []string{"failover.alarms.fencedMinutes 1441", "failover.alarms.bothActiveMinutes -1"} {
		if !strings.Contains(p, want) {
			t.Errorf("problems %q lack %q", p, want)
		}
	}
}

// TestTaskFunctionNames: every Lambda function of a stack has a name of its own (the gate's
// triggers have the same name in both Regions) that names its workflow once — an operator looking for the failover's check step finds
// cognito-dr-failover-check.
func TestTaskFunctionNames(t *testing.T) {
	all := map[string]bool{}
	for _, rs := range []map[string]resource{resources, fbResources, repResources, rcResources} {
		seen := map[string]bool{}
		for id, r := range rs {
			if r.Type != "AWS::Lambda::Function" {
				continue
			}
			name, _ := r.Properties["FunctionName"].(string)
			if name == "" {
				continue // CDK's own helper functions
			}
			if seen[name] {
				t.Errorf("%s: function name %s is used twice", id, name)
			}
			seen[name], all[name] = true, true
			parts := strings.Split(name, "-")
			for i := 1; i < len(parts); i++ {
				if parts[i] == parts[i-1] {
					t.Errorf("%s: function name %s repeats %q", id, name, parts[i])
				}
			}
		}
	}
	for _, want := range []string{"cognito-dr-failover-check", "cognito-dr-failback-plan-failback"} {
		if !all[want] {
			t.Errorf("no function %s among %v", want, slices.Sorted(maps.Keys(all)))
		}
	}
}
