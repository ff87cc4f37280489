package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// The pieces every workflow stack shares: its task table and Lambdas, the state machine running the
// embedded ASL, the EventBridge schedule that starts it, and the alarms. They are functions, not
// constructs of their own: every resource stays a direct child of the stack, so its logical id is the
// one it always had.

// newStack creates a stack of the deployment's account in region.
func newStack(scope constructs.Construct, id, account, region, description string) awscdk.Stack {
	return awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)},
		Description: jsii.String(description),
	})
}

// PartitionTmpMiB is the /tmp of a task that writes partition bucket files (internal/partition
// spools each file there until its unit ends, then uploads them): a unit needs as
// much as it writes. The largest units: a restore work-list unit writes 32 buckets of at most
// 100,000 users (3.2 million users); a partition split unit 32 buckets of 50,000 (1.6 million); a
// route unit one staged bucket, 1/32 of a pool (1.25 million at 40 million). The bench's synthetic
// users are small (the most /tmp one invocation was seen holding at 1 and 2 million users: 99 MB);
// at up to 1 KiB a user gzip'd (many custom attributes), 3.2 million users need 3,200 MiB: 4,096
// MiB leaves room, at a cost per GB-second far below the memory's. A unit that
// runs out fails with an error naming the ephemeral storage and uploads nothing. (The CSV builds'
// fingerprint units write one users part's fingerprints, 250,000 of about 20 bytes: Lambda's
// default 512 MiB.)
const PartitionTmpMiB = 4096

// taskSpec is how one task of a workflow's state machine is deployed; S is the workflow's stack.
// What the task is (its tasks/ directory, input, settings) is its typed definition in the
// workflow's package (boundary.Spec); this is only how big, how long and what it may call.
type taskSpec[S any] struct {
	MemoryMiB float64
	// TimeoutSeconds matches the ASL state's TimeoutSeconds: a longer Lambda would only be cut off.
	TimeoutSeconds float64
	// ReservedConcurrency: 0 leaves the function unreserved.
	ReservedConcurrency float64
	// TmpMiB is the function's /tmp (Lambda's ephemeral storage); 0 leaves Lambda's 512 MiB.
	TmpMiB float64
	// grant gives the task's role exactly what the task calls.
	grant func(s S, role awsiam.IRole)
}

// workflowTasks reads the embedded ASL of workflow and checks its placeholders against the
// deployed task table and the workflow's typed tasks (what the Lambda mains start and the local
// executor binds): a stack refuses to synthesize when the three disagree. It returns the
// definition and the typed tasks by placeholder.
func workflowTasks[S any](workflow string, tasks map[string]taskSpec[S], specs []boundary.Spec) ([]byte, map[string]boundary.Spec, error) {
	def, err := statemachines.Definition(workflow)
	if err != nil {
		return nil, nil, err
	}
	used := asl.Placeholders(def)
	bound := map[string]boundary.Spec{}
	for _, sp := range specs {
		bound[sp.Placeholder] = sp
	}
	typed := slices.Sorted(maps.Keys(bound))
	deployed := slices.Sorted(maps.Keys(tasks))
	if !slices.Equal(used, typed) || !slices.Equal(used, deployed) || len(specs) != len(bound) {
		return nil, nil, fmt.Errorf("%s state machine: placeholders %v, typed tasks %v and deployed tasks %v differ", workflow, used, typed, deployed)
	}
	return def, bound, nil
}

// taskEnvironment is the environment of a function: exactly the settings its task declares,
// with the values the stack knows. A required setting the stack cannot supply fails the synth;
// an optional one it has no value for is left unset.
func taskEnvironment(spec boundary.Spec, values map[string]*string) (map[string]*string, error) {
	env := map[string]*string{}
	var missing []string
	for _, st := range spec.Settings {
		v, ok := values[st.Name]
		switch {
		case ok:
			env[st.Name] = v
		case !st.Optional:
			missing = append(missing, st.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("task %s needs %s, which the stack does not supply", spec.Name, strings.Join(missing, ", "))
	}
	return env, nil
}

// taskFunctionsProps configure newTaskFunctions.
type taskFunctionsProps struct {
	// Workflow names the functions: cognito-dr-<workflow>-<task>.
	Workflow string
	// Tasks are the workflow's typed tasks by placeholder (workflowTasks).
	Tasks        map[string]boundary.Spec
	Code         CodeSource
	LogRetention awslogs.RetentionDays
	// Settings are the values the stack has for the workflow's settings; each function gets
	// those its task declares (taskEnvironment).
	Settings map[string]*string
}

// newTaskFunctions deploys the Lambda of every placeholder, in placeholder order, each granted
// exactly what its task calls; the result is keyed by placeholder.
func newTaskFunctions[S any](stack awscdk.Stack, s S, tasks map[string]taskSpec[S], p taskFunctionsProps) (map[string]*GoFunction, error) {
	functions := map[string]*GoFunction{}
	for _, placeholder := range slices.Sorted(maps.Keys(p.Tasks)) {
		spec, task := tasks[placeholder], p.Tasks[placeholder]
		env, err := taskEnvironment(task, p.Settings)
		if err != nil {
			return nil, fmt.Errorf("%s state machine: %w", p.Workflow, err)
		}
		fn := NewGoFunction(stack, taskConstructID(task.Name), GoFunctionProps{
			Task:                task.Name,
			FunctionName:        taskFunctionName(p.Workflow, task.Name),
			Code:                p.Code,
			MemoryMiB:           spec.MemoryMiB,
			Timeout:             awscdk.Duration_Seconds(jsii.Number(spec.TimeoutSeconds)),
			ReservedConcurrency: spec.ReservedConcurrency,
			TmpMiB:              spec.TmpMiB,
			Environment:         env,
			LogRetention:        p.LogRetention,
		})
		spec.grant(s, fn.Role)
		functions[placeholder] = fn
	}
	return functions, nil
}

// taskConstructID is the construct id of a task's function: export-users -> ExportUsersTask.
func taskConstructID(task string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(task, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Task"
}

// workflowStateMachineProps configure newWorkflowStateMachine.
type workflowStateMachineProps struct {
	// Name is the state machine's name; its execution logs go to /aws/vendedlogs/states/<Name>.
	Name       string
	Definition []byte
	// Functions are the Lambdas by ASL placeholder: each placeholder is substituted with its
	// function's ARN, and the state machine may invoke exactly these.
	Functions    map[string]*GoFunction
	LogRetention awslogs.RetentionDays
	Tracing      bool
	// StepEvidence says what shows every step without X-Ray (the reason of the SF2 suppression).
	StepEvidence string
}

// newWorkflowStateMachine creates the STANDARD state machine running the embedded ASL, and its
// execution log group: <id>ExecutionLogs and <id>StateMachine in scope.
func newWorkflowStateMachine(scope constructs.Construct, id string, p workflowStateMachineProps) (awsstepfunctions.StateMachine, awslogs.LogGroup) {
	subs := map[string]*string{}
	var arns []*string
	for _, placeholder := range slices.Sorted(maps.Keys(p.Functions)) {
		arn := p.Functions[placeholder].Function.FunctionArn()
		subs[placeholder] = arn
		arns = append(arns, arn)
	}
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"ExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + p.Name),
		Retention:     p.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String(id+"StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(p.Name),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(p.Definition))),
		DefinitionSubstitutions: &subs,
		// Every event, without input or output: state carries keys and counts, and the history
		// stays in the console for the details.
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(p.Tracing),
	})
	// The definition is a string, so CDK cannot see which functions it calls: grant exactly these,
	// unqualified, as the ASL names them (in Task states' Resource, or as the FunctionName of a
	// lambda:invoke.waitForTaskToken state).
	sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &arns,
	}))
	if !p.Tracing {
		cdknag.NagSuppressions_AddResourceSuppressions(sm, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SF2"),
			Reason: jsii.String("X-Ray is optional (config \"tracing\"): " + p.StepEvidence + " already show every step, and X-Ray needs Resource \"*\"."),
		}}, jsii.Bool(false))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(sm.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) and X-Ray support no resource-level permissions; Step Functions requires them on \"*\" to log executions."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	return sm, logs
}

// workflowScheduleProps configure newWorkflowSchedule.
type workflowScheduleProps struct {
	// Workflow names the workflow in descriptions: "backup", "reconcile".
	Workflow     string
	StateMachine awsstepfunctions.StateMachine
	// Name, Description, Expression, TimeZone and State are the schedule's.
	Name, Description, Expression, TimeZone, State string
	// Input is the execution input, marshalled to JSON.
	Input any
	// Account is the only account whose Scheduler may assume the role.
	Account string
	// MaxEventAgeSeconds and MaxRetries are the target's retry policy.
	MaxEventAgeSeconds, MaxRetries float64
}

// WorkflowSchedule is an EventBridge Scheduler schedule starting a state machine, its role and
// the dead-letter queue of the starts it could not make.
type WorkflowSchedule struct {
	Schedule     awsscheduler.CfnSchedule
	ScheduleRole awsiam.Role
	DeadLetters  awssqs.Queue
}

// newWorkflowSchedule creates ScheduleDeadLetters, ScheduleRole and the schedule <id> in scope.
func newWorkflowSchedule(scope constructs.Construct, id string, p workflowScheduleProps) (WorkflowSchedule, error) {
	var w WorkflowSchedule
	input, err := json.Marshal(p.Input)
	if err != nil {
		return w, err
	}
	w.DeadLetters = awssqs.NewQueue(scope, jsii.String("ScheduleDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(w.DeadLetters, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is the dead-letter queue of the " + p.Workflow + " schedule; an alarm watches it."),
	}}, jsii.Bool(false))

	w.ScheduleRole = awsiam.NewRole(scope, jsii.String("ScheduleRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler: start the " + p.Workflow + " state machine, dead-letter what it cannot"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": p.Account}},
		}),
	})
	w.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &[]*string{p.StateMachine.StateMachineArn()},
	}))
	// Scheduler sends undeliverable events to the DLQ with the target role.
	w.ScheduleRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{w.DeadLetters.QueueArn()},
	}))

	w.Schedule = awsscheduler.NewCfnSchedule(scope, jsii.String(id), &awsscheduler.CfnScheduleProps{
		Name:                       jsii.String(p.Name),
		Description:                jsii.String(p.Description),
		ScheduleExpression:         jsii.String(p.Expression),
		ScheduleExpressionTimezone: jsii.String(p.TimeZone),
		FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:                      jsii.String(p.State),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     p.StateMachine.StateMachineArn(),
			RoleArn: w.ScheduleRole.RoleArn(),
			Input:   jsii.String(string(input)),
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(p.MaxEventAgeSeconds),
				MaximumRetryAttempts:     jsii.Number(p.MaxRetries),
			},
			DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: w.DeadLetters.QueueArn()},
		},
	})
	return w, nil
}

// newDeadLettersAlarm creates ScheduleDeadLettersAlarm in scope: a start of workflow's state
// machine waits in its schedule's dead-letter queue.
func newDeadLettersAlarm(scope constructs.Construct, workflow string, deadLetters awssqs.Queue) awscloudwatch.Alarm {
	return newAlarm(scope, "ScheduleDeadLettersAlarm", "cognito-dr-"+workflow+"-schedule-dead-letters",
		"EventBridge Scheduler could not start a "+workflow+" execution; the event is in the dead-letter queue.",
		deadLetters.MetricApproximateNumberOfMessagesVisible(every5Minutes("Maximum")), 1)
}

// every5Minutes is a metric's statistic over 5-minute periods.
func every5Minutes(statistic string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String(statistic)}
}

// newAlarm is an alarm on a single period of metric reaching threshold; no data is no alarm.
func newAlarm(scope constructs.Construct, id, name, description string, metric awscloudwatch.IMetric, threshold float64) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(name),
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

// newNoSuccessAlarm alarms when sm had no successful execution in any of periods consecutive
// periods. Missing data breaches: an execution that never starts emits no metric at all.
func newNoSuccessAlarm(scope constructs.Construct, id, name, description string, sm awsstepfunctions.StateMachine, period awscdk.Duration, periods float64) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(name),
		AlarmDescription:   jsii.String(description),
		Metric:             sm.MetricSucceeded(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(periods),
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
	})
}

// notifyAlarms sends every alarm's ALARM state to topic.
func notifyAlarms(topic *OperatorTopic, alarms ...awscloudwatch.Alarm) {
	notify := awscloudwatchactions.NewSnsAction(topic.Topic)
	for _, a := range alarms {
		a.AddAlarmAction(notify)
	}
}

// taskFunctionName is the physical name of a workflow's task function: cognito-dr-<workflow>-<task>,
// the workflow named once when the task's name already starts with it (failover-check →
// cognito-dr-failover-check).
func taskFunctionName(workflow, task string) string {
	return "cognito-dr-" + workflow + "-" + strings.TrimPrefix(task, workflow+"-")
}
