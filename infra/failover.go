package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

// Names of the failover resources operators look for.
const (
	FailoverStateMachineName = "cognito-dr-failover"
	ModeWatchFunctionName    = "cognito-dr-mode-watch"
	ModeWatchScheduleName    = "cognito-dr-mode-watch"
)

// Defaults of FailoverAlarms.
const (
	DefaultFencedMinutes     = 5
	DefaultBothActiveMinutes = 5
)

// FailoverConfig configures the failover state machine and the mode watch (both in the reconcile
// stack, in the DR Region).
type FailoverConfig struct {
	Alarms FailoverAlarms `json:"alarms,omitzero"`
}

// FailoverAlarms are the mode watch's alarm thresholds, in minutes of consecutive one-minute
// readings (1 to 1440). The passive pool is fenced by design: the alarms are about the serving side.
type FailoverAlarms struct {
	// FencedMinutes: no pool reads active (both fenced, or the only readable one fenced) this long.
	FencedMinutes int `json:"fencedMinutes,omitempty"`
	// BothActiveMinutes: both pools read active this long.
	BothActiveMinutes int `json:"bothActiveMinutes,omitempty"`
}

func orDefaultMinutes(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// FencedMinutes is failover.alarms.fencedMinutes or its default.
func (c Config) FencedMinutes() int {
	return orDefaultMinutes(c.Failover.Alarms.FencedMinutes, DefaultFencedMinutes)
}

// BothActiveMinutes is failover.alarms.bothActiveMinutes or its default.
func (c Config) BothActiveMinutes() int {
	return orDefaultMinutes(c.Failover.Alarms.BothActiveMinutes, DefaultBothActiveMinutes)
}

func (c *Config) failoverProblems() []string {
	var p []string
	for _, m := range []struct {
		key string
		v   int
	}{{"failover.alarms.fencedMinutes", c.Failover.Alarms.FencedMinutes}, {"failover.alarms.bothActiveMinutes", c.Failover.Alarms.BothActiveMinutes}} {
		if m.v < 0 || m.v > 1440 {
			p = append(p, fmt.Sprintf("%s %d must be from 1 to 1440 (a day of one-minute readings)", m.key, m.v))
		}
	}
	return p
}

// FailoverRequest is the console input of the failover state machine for the configured pools:
// the FailoverInput stack output.
func (c Config) FailoverRequest() failover.Request {
	return failover.Request{
		PrimaryUserPoolID: c.Primary.UserPoolID, PrimaryRegion: c.Primary.Region, DRUserPoolID: c.DR.UserPoolID, DRRegion: c.DR.Region,
		Message: c.Gate.FencedMessage, ScheduleName: ReconcileScheduleName,
		Bucket: c.Backup.Bucket, BucketRegion: c.DR.Region,
	}
}

// failoverTasks deploys every placeholder of failover.asl.json, each function allowed exactly the
// calls of its step of internal/failover; together: the mode parameters (each in its own Region),
// the reconcile schedule and its role, and the operators' topic.
var failoverTasks = map[string]taskSpec[*ReconcileStack]{
	// Check reads the DR pool's mode.
	"FailoverCheckFunctionArn": {MemoryMiB: 256, TimeoutSeconds: 60, grant: func(s *ReconcileStack, role awsiam.IRole) {
		allow(role, []string{"ssm:GetParameter"}, s.Config.ModeParameterArn(s.Config.DR))
	}},
	// Fence reads the primary's mode and writes it fenced, across Regions.
	"FailoverFenceFunctionArn": {MemoryMiB: 256, TimeoutSeconds: 60, grant: func(s *ReconcileStack, role awsiam.IRole) {
		allow(role, []string{"ssm:GetParameter", "ssm:PutParameter"}, s.Config.ModeParameterArn(s.Config.Primary))
	}},
	// Activate writes the DR pool's mode (the state Check read travels in the run).
	"FailoverActivateFunctionArn": {MemoryMiB: 256, TimeoutSeconds: 60, grant: func(s *ReconcileStack, role awsiam.IRole) {
		allow(role, []string{"ssm:PutParameter"}, s.Config.ModeParameterArn(s.Config.DR))
	}},
	// Pause reads the reconcile schedule and sends it back whole, disabled: UpdateSchedule passes
	// the schedule's role again.
	"FailoverPauseFunctionArn": {MemoryMiB: 256, TimeoutSeconds: 60, grant: func(s *ReconcileStack, role awsiam.IRole) {
		allow(role, []string{"scheduler:GetSchedule", "scheduler:UpdateSchedule"}, *s.Schedule.AttrArn())
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings("iam:PassRole"),
			Resources:  &[]*string{s.ScheduleRole.RoleArn()},
			Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
		}))
	}},
	// Verify reads both modes and the schedule back.
	"FailoverVerifyFunctionArn": {MemoryMiB: 256, TimeoutSeconds: 60, grant: func(s *ReconcileStack, role awsiam.IRole) {
		allow(role, []string{"ssm:GetParameter"}, s.Config.ModeParameterArn(s.Config.Primary), s.Config.ModeParameterArn(s.Config.DR))
		allow(role, []string{"scheduler:GetSchedule"}, *s.Schedule.AttrArn())
	}},
	"FailoverNotifyFunctionArn": {MemoryMiB: 256, TimeoutSeconds: 60, grant: func(s *ReconcileStack, role awsiam.IRole) {
		s.Backup.Topic.GrantPublish(role)
	}},
}

// FailoverParts are the failover state machine and the mode watch in the reconcile stack.
type FailoverParts struct {
	Functions     map[string]*GoFunction // by ASL placeholder
	StateMachine  awsstepfunctions.StateMachine
	ExecutionLogs awslogs.LogGroup
	FailedAlarm   awscloudwatch.Alarm
	// The mode watch; nil while the gate is off (no modes to watch).
	Watch             *GoFunction
	WatchSchedule     awsscheduler.CfnSchedule
	WatchRole         awsiam.Role
	NoActivePoolAlarm awscloudwatch.Alarm
	BothActiveAlarm   awscloudwatch.Alarm
	WatchErrorsAlarm  awscloudwatch.Alarm
	// WatchSilentAlarm: no reading for 5 minutes (the schedule disabled, the function not invoked or
	// dying before it publishes): the mode alarms treat missing readings as no alarm.
	WatchSilentAlarm awscloudwatch.Alarm
}

// buildFailover deploys the failover state machine beside the reconcile schedule it pauses, in the
// DR Region (the primary's may be down), and the mode watch when the gate is on.
func (s *ReconcileStack) buildFailover(code CodeSource) error {
	cfg := s.Config
	def, tasks, err := workflowTasks(statemachines.Failover, failoverTasks, boundary.Specs(failover.Tasks))
	if err != nil {
		return err
	}
	f := &FailoverParts{}
	s.Failover = f
	if f.Functions, err = newTaskFunctions(s.Stack, s, failoverTasks, taskFunctionsProps{
		Workflow:     "failover",
		Tasks:        tasks,
		Code:         code,
		LogRetention: cfg.LogRetention(),
		Settings:     map[string]*string{"TOPIC_ARN": s.Backup.Topic.Topic.TopicArn()},
	}); err != nil {
		return err
	}
	f.StateMachine, f.ExecutionLogs = newWorkflowStateMachine(s.Stack, "Failover", workflowStateMachineProps{
		Name:         FailoverStateMachineName,
		Definition:   def,
		Functions:    f.Functions,
		LogRetention: cfg.LogRetention(),
		Tracing:      cfg.Tracing,
		StepEvidence: "the execution history, the notification and the tasks' JSON logs",
	})
	f.FailedAlarm = newAlarm(s.Stack, "FailoverFailedAlarm", "cognito-dr-failover-failed",
		"A failover execution failed or ended incomplete (the primary not fenced, the schedule not paused); its notification on "+OperatorTopicName+" says what is left. Running it again is safe.",
		f.StateMachine.MetricFailed(every5Minutes("Sum")), 1)
	notifyAlarms(s.Backup.Topic, f.FailedAlarm)

	input, err := json.Marshal(cfg.FailoverRequest())
	if err != nil {
		return err
	}
	out := func(id, value, desc string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(desc)})
	}
	out("FailoverInput", string(input), "Execution input of "+FailoverStateMachineName+" (Step Functions console, Start execution; optional: retryIntervalSeconds, fenceTimeoutSeconds)")
	out("FailoverStart", "cognito-dr start failover --region "+cfg.DR.Region+" --input failover.json", "Or from a shell, with the FailoverInput in failover.json; `cognito-dr failover` does the same without the state machine")
	out("FailoverStateMachineArn", *f.StateMachine.StateMachineArn(), "The failover state machine")

	if cfg.GateEnabled() {
		return s.buildModeWatch(code)
	}
	return nil
}

// buildModeWatch deploys the mode watch: a Lambda EventBridge Scheduler invokes every minute, which
// reads both modes (the primary's across Regions, briefly) and publishes them as metrics, and the
// alarms on them.
func (s *ReconcileStack) buildModeWatch(code CodeSource) error {
	cfg, f := s.Config, s.Failover
	spec := failover.FailoverWatchTask.Spec()
	env, err := taskEnvironment(spec, nil)
	if err != nil {
		return err
	}
	f.Watch = NewGoFunction(s.Stack, taskConstructID(spec.Name), GoFunctionProps{
		Task: spec.Name, FunctionName: ModeWatchFunctionName, Code: code, MemoryMiB: 128,
		Timeout: awscdk.Duration_Seconds(jsii.Number(30)), Environment: env, LogRetention: cfg.LogRetention(),
		// One run at a time is all a watch needs; a stuck one never piles up.
		ReservedConcurrency: 1,
	})
	allow(f.Watch.Role, []string{"ssm:GetParameter"}, cfg.ModeParameterArn(cfg.Primary), cfg.ModeParameterArn(cfg.DR))

	f.WatchRole = awsiam.NewRole(s.Stack, jsii.String("ModeWatchScheduleRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler: invoke the mode watch"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": cfg.Account}},
		}),
	})
	f.WatchRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{f.Watch.Function.FunctionArn()},
	}))
	input, err := json.Marshal(failover.WatchInput{PrimaryUserPoolID: cfg.Primary.UserPoolID, PrimaryRegion: cfg.Primary.Region, DRUserPoolID: cfg.DR.UserPoolID, DRRegion: cfg.DR.Region})
	if err != nil {
		return err
	}
	f.WatchSchedule = awsscheduler.NewCfnSchedule(s.Stack, jsii.String("ModeWatchSchedule"), &awsscheduler.CfnScheduleProps{
		Name:               jsii.String(ModeWatchScheduleName),
		Description:        jsii.String("Cognito DR: publish the modes of " + cfg.Primary.UserPoolID + " and " + cfg.DR.UserPoolID + " every minute for the mode alarms"),
		ScheduleExpression: jsii.String("rate(1 minute)"),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:              jsii.String("ENABLED"),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     f.Watch.Function.FunctionArn(),
			RoleArn: f.WatchRole.RoleArn(),
			Input:   jsii.String(string(input)),
			// A reading a minute late is worth nothing: the next one comes.
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumEventAgeInSeconds: jsii.Number(60), MaximumRetryAttempts: jsii.Number(0)},
		},
	})

	dims := failover.WatchDimensions(cfg.Primary.UserPoolID, cfg.DR.UserPoolID)
	minutes := func(id, name, metric, description string, n int) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(name),
			AlarmDescription: jsii.String(description),
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(failover.MetricsNamespace), MetricName: jsii.String(metric), DimensionsMap: jsiiMap(dims),
				Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Minimum"),
			}),
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(float64(n)),
			DatapointsToAlarm:  jsii.Number(float64(n)),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddOkAction(awscloudwatchactions.NewSnsAction(s.Backup.Topic.Topic))
		return a
	}
	f.NoActivePoolAlarm = minutes("NoActivePoolAlarm", "cognito-dr-no-active-pool", failover.MetricNoActivePool,
		fmt.Sprintf("No pool has read active for %d minutes: both fenced, or the one readable from %s fenced while the other does not answer. Users cannot sign in: run failover (or failback) to activate one.", cfg.FencedMinutes(), cfg.DR.Region),
		cfg.FencedMinutes())
	f.BothActiveAlarm = minutes("BothActiveAlarm", "cognito-dr-both-active", failover.MetricBothActive,
		fmt.Sprintf("Both pools have read active for %d minutes: users can sign up and change data in both, and what one takes the other never sees. Run failover (or failback) to fence one.", cfg.BothActiveMinutes()),
		cfg.BothActiveMinutes())
	f.WatchErrorsAlarm = newAlarm(s.Stack, "ModeWatchErrorsAlarm", "cognito-dr-mode-watch-errors",
		"The mode watch failed: the mode alarms have no readings. Check the "+ModeWatchFunctionName+" logs.",
		f.Watch.Function.MetricErrors(every5Minutes("Sum")), 1)
	f.WatchSilentAlarm = awscloudwatch.NewAlarm(s.Stack, jsii.String("ModeWatchSilentAlarm"), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String("cognito-dr-mode-watch-silent"),
		AlarmDescription: jsii.String("The mode watch published no reading for 5 minutes: the mode alarms cannot fire. Check the " + ModeWatchScheduleName + " schedule is enabled and the " + ModeWatchFunctionName + " logs."),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(failover.MetricsNamespace), MetricName: jsii.String(failover.MetricNoActivePool), DimensionsMap: jsiiMap(dims),
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("SampleCount"),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
	})
	f.WatchSilentAlarm.AddOkAction(awscloudwatchactions.NewSnsAction(s.Backup.Topic.Topic))
	notifyAlarms(s.Backup.Topic, f.NoActivePoolAlarm, f.BothActiveAlarm, f.WatchErrorsAlarm, f.WatchSilentAlarm)
	return nil
}

func jsiiMap(m map[string]string) *map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}
