package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// Names of the replication resources operators look for.
const (
	ReplicateFunctionName = "cognito-dr-replicate"
	PreTokenFunctionName  = "cognito-dr-pre-token"
	// TriggerTimeoutSeconds is Cognito's limit for a Lambda trigger: a longer timeout only lets
	// the function run after Cognito has given up.
	TriggerTimeoutSeconds = 5
	// MetricNamespace holds the metrics the stacks derive from the tasks' JSON logs.
	MetricNamespace = "CognitoDR"
	// CognitoPrincipal invokes the triggers.
	CognitoPrincipal = "cognito-idp.amazonaws.com"
)

// The triggers' tasks/ directories, from their typed definitions.
var (
	ReplicateTask = replication.PostConfirmationTrigger.Name
	PreTokenTask  = replication.PreTokenGenerationTrigger.Name
)

// replicateDRActions are the DR pool calls of replication.Steps.copyUser (the replication.DR
// interface): the DR pool's schema once per process, then create, or update and read an existing
// copy, and the unusable permanent password that makes the copy CONFIRMED.
var replicateDRActions = []string{"cognito-idp:DescribeUserPool", "cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword"}

// RetryBucketArn is the retry store's bucket in the primary Region.
func (c Config) RetryBucketArn() string {
	return fmt.Sprintf("arn:%s:s3:::%s", c.Partition(), c.Replication.RetryBucket)
}

// RetryDir is the key prefix of the primary pool's retry entries, as replication.S3RetryStore
// builds it: <retry prefix>/<primary pool>/.
func (c Config) RetryDir() string {
	return c.Replication.RetryPrefix + "/" + c.Primary.UserPoolID + "/"
}

// RetryEntriesArn covers the primary pool's retry entries, <retry prefix>/<pool>/<sub>.json.
func (c Config) RetryEntriesArn() string {
	return c.RetryBucketArn() + "/" + c.RetryDir() + "*.json"
}

// retryEnv is the retry store's settings, read by the replicate trigger and the reconcile tasks.
func (c Config) retryEnv(env map[string]*string) map[string]*string {
	env["RETRY_BUCKET"] = jsii.String(c.Replication.RetryBucket)
	env["RETRY_REGION"] = jsii.String(c.Primary.Region)
	env["RETRY_PREFIX"] = jsii.String(c.Replication.RetryPrefix)
	return env
}

// ReplicationStackProps configure NewReplicationStack.
type ReplicationStackProps struct {
	Config Config
	Code   CodeSource
}

// ReplicationStack is the replication's part in the primary Region: the primary pool's
// PostConfirmation trigger and the retry store it records failed copies in. Both must live where
// the sign-ups happen: when the DR Region is down, a retry store there would be down too.
type ReplicationStack struct {
	awscdk.Stack
	Config Config
	// Topic is the operators' topic in the primary Region: alarm actions must be in the alarm's
	// Region, and this stack's alarms must reach someone while the DR Region is down.
	Topic       *OperatorTopic
	RetryKey    awskms.Key
	RetryBucket awss3.Bucket
	AccessLogs  awss3.Bucket
	Replicate   *GoFunction
	// Gate is the primary pool's gate (nil functions and parameter while the gate is off).
	Gate *PoolGate
	// QueuedMetric and NotQueuedMetric count the trigger's log lines with result
	// queued-for-retry and not-queued.
	QueuedMetric    awscloudwatch.Metric
	NotQueuedMetric awscloudwatch.Metric
	ErrorsAlarm     awscloudwatch.Alarm
	ThrottlesAlarm  awscloudwatch.Alarm
	SlowAlarm       awscloudwatch.Alarm
	QueuedAlarm     awscloudwatch.Alarm
	NotQueuedAlarm  awscloudwatch.Alarm
}

// NewReplicationStack creates the replication stack in the primary Region.
func NewReplicationStack(scope constructs.Construct, id string, props ReplicationStackProps) (*ReplicationStack, error) {
	cfg := props.Config
	stack := newStack(scope, id, cfg.Account, cfg.Primary.Region, fmt.Sprintf("Cognito DR replication: PostConfirmation trigger of %s (%s) copying users to %s (%s), retry store s3://%s; the primary pool's gate triggers and mode parameter", cfg.Primary.UserPoolID, cfg.Primary.Region, cfg.DR.UserPoolID, cfg.DR.Region, cfg.Replication.RetryBucket))
	s := &ReplicationStack{Stack: stack, Config: cfg}
	s.Topic = NewOperatorTopic(stack, "Operators", OperatorTopicName, cfg.OperatorEmails)
	s.buildRetryBucket()

	r := cfg.Replication
	chain := cfg.Primary.ExistingTriggers.PostConfirmation
	values := cfg.retryEnv(map[string]*string{
		"DR_USER_POOL_ID": jsii.String(cfg.DR.UserPoolID),
		"DR_REGION":       jsii.String(cfg.DR.Region),
	})
	if chain != "" {
		values["CHAIN_FUNCTION_ARN"] = jsii.String(chain)
	}
	var err error
	// Unreserved by default: a reservation is also a cap, and a throttled trigger fails the
	// user's sign-up (config replication.replicateReservedConcurrency). Only the primary pool of
	// this account may invoke it.
	if s.Replicate, err = newTriggerFunction(stack, "ReplicateTrigger", cfg, props.Code, triggerFunctionProps{
		Trigger: replication.PostConfirmationTrigger, FunctionName: ReplicateFunctionName,
		MemoryMiB: r.ReplicateMemoryMiB, ReservedConcurrency: r.ReplicateReservedConcurrency,
		Values: values, Pool: cfg.Primary, Chain: chain,
	}); err != nil {
		return nil, err
	}
	role := s.Replicate.Role
	allow(role, replicateDRActions, cfg.PoolArn(cfg.DR))
	allow(role, []string{"s3:PutObject"}, cfg.RetryEntriesArn())
	suppressWildcard(role, "Retry entries are named by the user's primary sub, unknown at deploy time: the wildcard is confined to <retry prefix>/<primary pool id>/*.json of the retry bucket.", cfg.RetryEntriesArn())
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:GenerateDataKey"),
		Resources: &[]*string{s.RetryKey.KeyArn()},
	}))
	// The primary pool's gate: its pre sign-up, pre authentication and pre-token triggers and its
	// mode parameter, beside the other trigger of the pool's Region.
	if s.Gate, err = newPoolGate(stack, cfg, props.Code, cfg.Primary, false, s.Topic); err != nil {
		return nil, err
	}
	s.buildAlarms()
	return s, nil
}

func (s *ReplicationStack) buildRetryBucket() {
	r := s.Config.Replication
	s.RetryKey = newBucketKey(s.Stack, "RetryKey", "Cognito DR: encrypts the replication retry store "+r.RetryBucket)
	s.AccessLogs = newAccessLogBucket(s.Stack, "RetryAccessLogs", "retry")
	// Current entries never expire: an entry leaves when reconcile repairs its user, however
	// long the DR Region was down (replication.S3RetryStore). Resolved entries leave a
	// noncurrent version and a delete marker behind; those go.
	s.RetryBucket = newDataBucket(s.Stack, "RetryBucket", r.RetryBucket, s.RetryKey, s.AccessLogs, []*awss3.LifecycleRule{{
		Id:                                  jsii.String("expire-resolved-entries"),
		NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(float64(r.RetryNoncurrentVersionDays))),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		ExpiredObjectDeleteMarker:           jsii.Bool(true),
	}})
}

func (s *ReplicationStack) buildAlarms() {
	fn := s.Replicate
	sum := func(m awscloudwatch.Metric) awscloudwatch.Metric { return m.With(every5Minutes("Sum")) }
	filter := func(id, name, result string) awscloudwatch.Metric {
		mf := awslogs.NewMetricFilter(s.Stack, jsii.String(id), &awslogs.MetricFilterProps{
			LogGroup:        fn.LogGroup,
			FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.result"), jsii.String("="), jsii.String(result)),
			MetricNamespace: jsii.String(MetricNamespace),
			MetricName:      jsii.String(name),
			MetricValue:     jsii.String("1"),
		})
		return sum(mf.Metric(nil))
	}
	s.QueuedMetric = filter("ReplicateQueuedFilter", "ReplicateQueued", replication.ResultQueued)
	s.NotQueuedMetric = filter("ReplicateNotQueuedFilter", "ReplicateNotQueued", replication.ResultNotQueued)

	// The handler never returns an error: an error or a throttle is a crash, a timeout or a
	// missing setting, and Cognito then fails the user's sign-up.
	s.ErrorsAlarm = newAlarm(s.Stack, "ReplicateErrorsAlarm", "cognito-dr-replicate-errors",
		"The replicate trigger failed (crash, timeout or configuration): the users' sign-ups in the primary pool FAILED. Check the "+ReplicateFunctionName+" logs.",
		sum(fn.Function.MetricErrors(nil)), 1)
	s.ThrottlesAlarm = newAlarm(s.Stack, "ReplicateThrottlesAlarm", "cognito-dr-replicate-throttles",
		"The replicate trigger was throttled: those sign-ups FAILED. Raise the account's Lambda concurrency or replication.replicateReservedConcurrency.",
		sum(fn.Function.MetricThrottles(nil)), 1)
	s.SlowAlarm = newAlarm(s.Stack, "ReplicateSlowAlarm", "cognito-dr-replicate-slow",
		"A replicate invocation took 4 s or more, close to Cognito's 5 s trigger limit.",
		fn.Function.MetricDuration(every5Minutes("Maximum")), 4000)
	s.QueuedAlarm = newAlarm(s.Stack, "ReplicateQueuedAlarm", "cognito-dr-replicate-queued",
		"The replicate trigger could not copy users to the DR pool (DR Region failing or slow) and queued them in the retry store; sign-ups succeeded and the next reconcile repairs them.",
		s.QueuedMetric, 1)
	s.NotQueuedAlarm = newAlarm(s.Stack, "ReplicateNotQueuedAlarm", "cognito-dr-replicate-not-queued",
		"The replicate trigger could neither copy users nor record them in the retry store; sign-ups succeeded and only the next full reconcile finds them.",
		s.NotQueuedMetric, 1)
	notifyAlarms(s.Topic, s.ErrorsAlarm, s.ThrottlesAlarm, s.SlowAlarm, s.QueuedAlarm, s.NotQueuedAlarm)
}
