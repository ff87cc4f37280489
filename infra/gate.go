package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// Names of the gate functions, the same in both Regions (function names are per Region).
var (
	PreSignUpFunctionName         = "cognito-dr-" + replication.PreSignUpTrigger.Name
	PreAuthenticationFunctionName = "cognito-dr-" + replication.PreAuthenticationTrigger.Name
)

// The gate triggers' tasks/ directories, from their typed definitions.
var (
	PreSignUpTask         = replication.PreSignUpTrigger.Name
	PreAuthenticationTask = replication.PreAuthenticationTrigger.Name
)

// GateMemoryMiB sizes the gate functions: a cold start reads two Regions' Parameter Stores (and
// may invoke a chained function) inside Cognito's 5 s; more memory is more CPU for the TLS
// handshakes.
const GateMemoryMiB = 512

// DeployedSince is the since time of the modes the deployment writes: before every failover, so
// the gate's peer rule (a peer activated by a failover after this pool's activation) holds for
// any later failover; a fixed value keeps the template, and `cdk diff`, unchanged between synths.
var DeployedSince = time.Unix(0, 0).UTC()

// ModeParameterArn is the ARN of a pool's mode parameter (poolmode.ParameterName, which starts
// with a slash), in the pool's Region.
func (c Config) ModeParameterArn(p Pool) string {
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s", c.Partition(), p.Region, c.Account, poolmode.ParameterName(p.UserPoolID))
}

// DeployedState is the mode the deployment creates a pool's parameter with: the primary active,
// the DR pool fenced, both with cause deploy.
func (c Config) DeployedState(p Pool) poolmode.State {
	mode := poolmode.Fenced
	if p == c.Primary {
		mode = poolmode.Active
	}
	return poolmode.State{Mode: mode, Since: DeployedSince, Cause: poolmode.CauseDeploy}
}

// peerOf is the other pool of the pair.
func (c Config) peerOf(p Pool) Pool {
	if p == c.Primary {
		return c.DR
	}
	return c.Primary
}

// gateEnv is the gate settings of pool's triggers: its own and its peer's mode parameters, the
// message and cache time when configured, and the chained function when the pool had one.
func (c Config) gateEnv(p Pool, chain string) map[string]*string {
	env := map[string]*string{}
	if c.GateEnabled() {
		peer := c.peerOf(p)
		env["MODE_PARAMETER"] = jsii.String(poolmode.ParameterName(p.UserPoolID))
		env["MODE_REGION"] = jsii.String(p.Region)
		env["PEER_MODE_PARAMETER"] = jsii.String(poolmode.ParameterName(peer.UserPoolID))
		env["PEER_MODE_REGION"] = jsii.String(peer.Region)
		if c.Gate.FencedMessage != "" {
			env["FENCED_MESSAGE"] = jsii.String(c.Gate.FencedMessage)
		}
		if c.Gate.ModeCacheSeconds != 0 {
			env["MODE_CACHE_SECONDS"] = jsii.String(strconv.Itoa(c.Gate.ModeCacheSeconds))
		}
	}
	if chain != "" {
		env["CHAIN_FUNCTION_ARN"] = jsii.String(chain)
	}
	return env
}

// triggerFunctionProps configure newTriggerFunction.
type triggerFunctionProps struct {
	Trigger      boundary.Trigger
	FunctionName string
	MemoryMiB    float64
	// ReservedConcurrency: 0 is unreserved (a throttled trigger fails the user's request).
	ReservedConcurrency float64
	// Values are the stack's values for the trigger's settings: it gets exactly those it declares.
	Values map[string]*string
	// Pool is the only pool that may invoke it.
	Pool Pool
	// Chain is the pool's own function on the event, which the trigger may invoke; "" is none.
	Chain string
}

// newTriggerFunction deploys one Cognito trigger: timeout 5 s (Cognito's limit), the settings its
// typed definition declares, an invoke permission for its own pool only, and lambda:InvokeFunction
// on the chained function when there is one.
func newTriggerFunction(stack awscdk.Stack, id string, cfg Config, code CodeSource, p triggerFunctionProps) (*GoFunction, error) {
	env, err := taskEnvironment(p.Trigger.Spec(), p.Values)
	if err != nil {
		return nil, err
	}
	fn := NewGoFunction(stack, id, GoFunctionProps{
		Task:                p.Trigger.Name,
		FunctionName:        p.FunctionName,
		Code:                code,
		MemoryMiB:           p.MemoryMiB,
		Timeout:             awscdk.Duration_Seconds(jsii.Number(TriggerTimeoutSeconds)),
		ReservedConcurrency: p.ReservedConcurrency,
		Environment:         env,
		LogRetention:        cfg.LogRetention(),
	})
	fn.Function.AddPermission(jsii.String("PoolInvoke"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String(CognitoPrincipal), nil),
		Action:        jsii.String("lambda:InvokeFunction"),
		SourceArn:     jsii.String(cfg.PoolArn(p.Pool)),
		SourceAccount: jsii.String(cfg.Account),
	})
	if p.Chain != "" {
		allow(fn.Role, []string{"lambda:InvokeFunction"}, p.Chain)
	}
	return fn, nil
}

// PoolGate is one pool's gate: its three trigger functions and its mode parameter.
type PoolGate struct {
	Pool Pool
	// PreSignUp and PreAuthentication are nil while the gate is off; PreToken is the DR pool's
	// pre-token trigger either way (the primary_sub claim).
	PreSignUp, PreAuthentication, PreToken *GoFunction
	// ModeParameter creates the mode parameter once; nil while the gate is off.
	ModeParameter customresources.AwsCustomResource
	// ErrorsAlarms: a trigger failed for another reason than refusing a user; by task.
	ErrorsAlarms map[string]awscloudwatch.Alarm
}

// newPoolGate deploys pool's gate in stack (the pool's Region): the three gate triggers reading
// both pools' modes, and the pool's mode parameter. The construct ids are the stack's own, so the
// DR pool's pre-token trigger (id PreTokenTrigger) keeps the logical id it had before the gate.
// While the gate is off only the DR pool's pre-token trigger is deployed (withPreToken).
func newPoolGate(stack awscdk.Stack, cfg Config, code CodeSource, pool Pool, withPreToken bool, topic *OperatorTopic) (*PoolGate, error) {
	g := &PoolGate{Pool: pool}
	own := pool.ExistingTriggers
	triggers := []struct {
		id, name string
		trigger  boundary.Trigger
		chain    string
		fn       **GoFunction
		deploy   bool
	}{
		{"PreSignUpTrigger", PreSignUpFunctionName, replication.PreSignUpTrigger, own.PreSignUp, &g.PreSignUp, cfg.GateEnabled()},
		{"PreAuthenticationTrigger", PreAuthenticationFunctionName, replication.PreAuthenticationTrigger, own.PreAuthentication, &g.PreAuthentication, cfg.GateEnabled()},
		{"PreTokenTrigger", PreTokenFunctionName, replication.PreTokenGenerationTrigger, own.PreTokenGeneration, &g.PreToken, cfg.GateEnabled() || withPreToken},
	}
	for _, t := range triggers {
		if !t.deploy {
			continue
		}
		fn, err := newTriggerFunction(stack, t.id, cfg, code, triggerFunctionProps{
			Trigger: t.trigger, FunctionName: t.name, MemoryMiB: GateMemoryMiB,
			Values: cfg.gateEnv(pool, t.chain), Pool: pool, Chain: t.chain,
		})
		if err != nil {
			return nil, err
		}
		if cfg.GateEnabled() {
			// Both pools' modes: its own, and the peer's for the split-brain rule. Reading only.
			allow(fn.Role, []string{"ssm:GetParameter"}, cfg.ModeParameterArn(pool), cfg.ModeParameterArn(cfg.peerOf(pool)))
		}
		*t.fn = fn
	}
	if cfg.GateEnabled() {
		g.ModeParameter = newModeParameter(stack, cfg, pool)
	}
	g.ErrorsAlarms = map[string]awscloudwatch.Alarm{}
	for _, t := range triggers {
		if *t.fn != nil {
			a := newTriggerErrorsAlarm(stack, t.trigger.Name, *t.fn)
			g.ErrorsAlarms[t.trigger.Name] = a
			notifyAlarms(topic, a)
		}
	}
	return g, nil
}

// newModeParameter creates pool's mode parameter with its deployed state, once: PutParameter
// without Overwrite on create, ParameterAlreadyExists ignored, nothing on update or delete. A
// redeploy (or a re-created stack) never touches a mode that failover or failback set. Its role
// may create the parameter and is denied every overwrite (ssm:Overwrite), so even it cannot
// change a mode: only the failover and failback roles may.
func newModeParameter(stack awscdk.Stack, cfg Config, pool Pool) customresources.AwsCustomResource {
	name := poolmode.ParameterName(pool.UserPoolID)
	arn := cfg.ModeParameterArn(pool)
	value, _ := json.Marshal(cfg.DeployedState(pool))
	cr := customresources.NewAwsCustomResource(stack, jsii.String("ModeParameter"), &customresources.AwsCustomResourceProps{
		ResourceType: jsii.String("Custom::CognitoDrModeParameter"),
		OnCreate: &customresources.AwsSdkCall{
			Service: jsii.String("SSM"),
			Action:  jsii.String("putParameter"),
			Parameters: map[string]any{
				"Name":        name,
				"Value":       string(value),
				"Type":        "String",
				"Overwrite":   false,
				"Description": "Cognito DR: mode of user pool " + pool.UserPoolID + " (active or fenced), read by its gate triggers; set by failover and failback",
			},
			PhysicalResourceId:       customresources.PhysicalResourceId_Of(jsii.String(name)),
			IgnoreErrorCodesMatching: jsii.String("ParameterAlreadyExists"),
			Region:                   jsii.String(pool.Region),
		},
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ssm:PutParameter"),
				Resources: jsii.Strings(arn),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Effect:     awsiam.Effect_DENY,
				Actions:    jsii.Strings("ssm:PutParameter"),
				Resources:  jsii.Strings(arn),
				Conditions: &map[string]any{"StringEquals": map[string]any{"ssm:Overwrite": "true"}},
			}),
		}),
		// The SDK the provider's runtime ships: synth and deploy download nothing.
		InstallLatestAwsSdk: jsii.Bool(false),
		// A log group with a retention, rather than CDK's log-retention function (which would
		// hold logs:PutRetentionPolicy on every log group).
		LogGroup:      providerLogs(stack, cfg),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppressProvider(stack)
	return cr
}

// providerLogs is the log group of the stack's AwsCustomResource provider, one per stack.
func providerLogs(stack awscdk.Stack, cfg Config) awslogs.ILogGroup {
	id := "ModeParameterProviderLogs"
	if l, ok := stack.Node().TryFindChild(jsii.String(id)).(awslogs.ILogGroup); ok {
		return l
	}
	return awslogs.NewLogGroup(stack, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     cfg.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// suppressProvider justifies the findings on the AwsCustomResource provider (one per stack).
func suppressProvider(stack awscdk.Stack) {
	cdknag.NagSuppressions_AddStackSuppressions(stack, &[]*cdknag.NagPackSuppression{
		{
			Id:        jsii.String("AwsSolutions-IAM4"),
			Reason:    jsii.String("The mode parameter's create-only custom resource provider (CDK's AwsCustomResource) logs with AWSLambdaBasicExecutionRole; its own policy allows only ssm:PutParameter on the pool's mode parameter without overwrite."),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
		},
	}, jsii.Bool(true))
}

// Messages of the gate's log lines that are not failures: a fenced pool refusing a user, and the
// pool's own chained function refusing the event. Both end the invocation with an error (that is
// how a trigger refuses), so Lambda's Errors metric counts them.
const (
	gateRefusedMessage      = "pool fenced: user refused"
	gateChainRefusedMessage = "chained function refused the event"
)

// gateMetricPrefix names a trigger's metrics: PreSignUp, PreAuthentication, PreToken.
var gateMetricPrefix = map[string]string{PreSignUpTask: "PreSignUp", PreAuthenticationTask: "PreAuthentication", PreTokenTask: "PreToken"}

// newTriggerErrorsAlarm alarms when a trigger fails — crash, timeout, throttle, or a chained
// function it cannot invoke — which fails the users' requests: Errors plus Throttles, less the
// refusals (a fenced pool's, the chained function's), counted from the function's own log lines.
func newTriggerErrorsAlarm(stack awscdk.Stack, task string, fn *GoFunction) awscloudwatch.Alarm {
	sum := every5Minutes("Sum")
	prefix := gateMetricPrefix[task]
	refusals := func(id, msg, name string) awscloudwatch.IMetric {
		mf := awslogs.NewMetricFilter(stack, jsii.String(prefix+id), &awslogs.MetricFilterProps{
			LogGroup:        fn.LogGroup,
			FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.message"), jsii.String("="), jsii.String(msg)),
			MetricNamespace: jsii.String(MetricNamespace),
			MetricName:      jsii.String(name),
			MetricValue:     jsii.String("1"),
		})
		return mf.Metric(sum)
	}
	return newAlarm(stack, prefix+"ErrorsAlarm", "cognito-dr-"+task+"-errors",
		"The "+task+" trigger failed (crash, timeout, throttle, or a chained function it could not invoke): those users' requests FAILED. A fenced pool's refusals and the pool's own function's refusals are not counted. Check the cognito-dr-"+task+" logs.",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("FILL(errors,0) + FILL(throttles,0) - FILL(fenced,0) - FILL(chainRefused,0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"errors":       fn.Function.MetricErrors(sum),
				"throttles":    fn.Function.MetricThrottles(sum),
				"fenced":       refusals("FencedFilter", gateRefusedMessage, prefix+"Fenced"),
				"chainRefused": refusals("ChainRefusedFilter", gateChainRefusedMessage, prefix+"ChainRefused"),
			},
			Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}), 1)
}

var lambdaFunctionArn = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):lambda:([a-z0-9-]+):(\d{12}):function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$`)

func (c *Config) gateProblems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	g := c.Gate
	if g.ModeCacheSeconds != 0 && (g.ModeCacheSeconds < 1 || g.ModeCacheSeconds > int(poolmode.MaxTTL/time.Second)) {
		add("gate.modeCacheSeconds %d must be from 1 to %d", g.ModeCacheSeconds, int(poolmode.MaxTTL/time.Second))
	}
	if len(g.FencedMessage) > 2048 {
		add("gate.fencedMessage is %d bytes: keep it short, users read it in an error message", len(g.FencedMessage))
	}
	ours := map[string]bool{PreSignUpFunctionName: true, PreAuthenticationFunctionName: true, PreTokenFunctionName: true, ReplicateFunctionName: true}
	for _, pool := range []struct {
		field string
		pool  Pool
	}{{"primary", c.Primary}, {"dr", c.DR}} {
		t := pool.pool.ExistingTriggers
		for _, f := range []struct{ event, arn string }{{"preSignUp", t.PreSignUp}, {"preAuthentication", t.PreAuthentication}, {"preTokenGeneration", t.PreTokenGeneration}, {"postConfirmation", t.PostConfirmation}} {
			if f.arn == "" {
				continue
			}
			field := pool.field + ".existingTriggers." + f.event
			m := lambdaFunctionArn.FindStringSubmatch(f.arn)
			switch {
			case m == nil:
				add("%s %q is not a Lambda function ARN (arn:aws:lambda:<Region>:<account>:function:<name>)", field, f.arn)
			case m[1] != c.Partition() || m[2] != pool.pool.Region:
				add("%s %q is not in the pool's Region %s: Cognito invokes a pool's triggers in its own Region", field, f.arn, pool.pool.Region)
			case ours[functionNameOf(f.arn)] && m[3] == c.Account:
				add("%s %q is Cognito DR's own trigger: chaining to it would invoke itself", field, f.arn)
			}
		}
		if pool.field == "dr" && t.PostConfirmation != "" {
			add("dr.existingTriggers.postConfirmation: Cognito DR attaches nothing to the DR pool's PostConfirmation; leave that function attached")
		}
		if !c.GateEnabled() && (t.PreSignUp != "" || t.PreAuthentication != "" || (pool.field == "primary" && t.PreTokenGeneration != "")) {
			add("%s.existingTriggers: with gate.enabled false no gate trigger takes these events; leave the pool's functions attached and remove them here", pool.field)
		}
	}
	return p
}

// functionNameOf is the function name of a Lambda function ARN.
func functionNameOf(arn string) string {
	m := regexp.MustCompile(`:function:([^:]+)`).FindStringSubmatch(arn)
	if m == nil {
		return ""
	}
	return m[1]
}
