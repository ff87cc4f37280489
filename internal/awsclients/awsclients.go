// Package awsclients builds the SDK clients every task uses, one per service and Region, from one
// aws.Config. The endpoint is never hard-coded: in AWS the SDK resolves it; against the local stack
// the standard AWS_ENDPOINT_URL setting (or aws.Config.BaseEndpoint) points every client at it.
package awsclients

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cognito-dr/cognito-dr/internal/totpreset"
)

// Options tune the clients beyond aws.Config.
type Options struct {
	// S3PathStyle addresses buckets as http://host/bucket/key. Emulators on loopback need it.
	S3PathStyle bool
	// CognitoMaxAttempts bounds the SDK's retries of a Cognito call (throttling, 5xx); 0 means 10.
	CognitoMaxAttempts int
}

// Clients hands out SDK clients per Region, built once and shared.
type Clients struct {
	cfg  aws.Config
	opts Options

	mu      sync.Mutex
	cognito map[string]*cognitoidentityprovider.Client
	s3      map[string]*s3.Client
	sns     map[string]*sns.Client
	logs    map[string]*cloudwatchlogs.Client
	ssm     map[string]*ssm.Client
	lambda  map[string]*lambda.Client
	secrets map[string]*secretsmanager.Client
	sched   map[string]*scheduler.Client
}

// New returns Clients built from cfg.
func New(cfg aws.Config, opts Options) *Clients {
	if opts.CognitoMaxAttempts == 0 {
		opts.CognitoMaxAttempts = 10
	}
	cfg.HTTPClient = ReadOnlyBodies(cfg.HTTPClient)
	return &Clients{
		cfg:     cfg,
		opts:    opts,
		cognito: map[string]*cognitoidentityprovider.Client{},
		s3:      map[string]*s3.Client{},
		sns:     map[string]*sns.Client{},
		logs:    map[string]*cloudwatchlogs.Client{},
		ssm:     map[string]*ssm.Client{},
		lambda:  map[string]*lambda.Client{},
		secrets: map[string]*secretsmanager.Client{},
		sched:   map[string]*scheduler.Client{},
	}
}

// Load reads the SDK's default configuration (environment, shared files, Lambda role) and the
// project's own S3_FORCE_PATH_STYLE setting.
func Load(ctx context.Context, getenv func(string) string) (*Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	var opts Options
	if v := getenv("S3_FORCE_PATH_STYLE"); v != "" {
		if opts.S3PathStyle, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("S3_FORCE_PATH_STYLE=%q is not a boolean", v)
		}
	}
	return New(cfg, opts), nil
}

// Cognito returns the Cognito user pools client for region. Its retryer backs off on
// TooManyRequestsException without the SDK's client-side retry quota, which a long export that
// runs at the account's quota would otherwise drain and then fail on.
func (c *Clients) Cognito(region string) *cognitoidentityprovider.Client {
	return perRegion(c, c.cognito, region, func() *cognitoidentityprovider.Client {
		return cognitoidentityprovider.NewFromConfig(c.cfg, func(o *cognitoidentityprovider.Options) {
			o.Region = region
			o.Retryer = c.CognitoRetryer()
		})
	})
}

// CognitoRetryer is the retryer of every Cognito call: the SDK's standard retryer with
// CognitoMaxAttempts attempts, a 10 s backoff cap and no client-side retry quota.
func (c *Clients) CognitoRetryer() aws.RetryerV2 {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = c.opts.CognitoMaxAttempts
		so.MaxBackoff = 10 * time.Second
		so.RateLimiter = ratelimit.None
	})
}

// TOTPReset returns the AdminDeleteSoftwareToken client for region, retried like the Cognito client.
func (c *Clients) TOTPReset(region string) *totpreset.Client {
	return totpreset.New(c.cfg, region, c.CognitoRetryer())
}

// S3 returns the S3 client for region.
func (c *Clients) S3(region string) *s3.Client {
	return perRegion(c, c.s3, region, func() *s3.Client {
		return s3.NewFromConfig(c.cfg, func(o *s3.Options) {
			o.Region = region
			o.UsePathStyle = c.opts.S3PathStyle
		})
	})
}

// SNS returns the SNS client for region.
func (c *Clients) SNS(region string) *sns.Client {
	return perRegion(c, c.sns, region, func() *sns.Client {
		return sns.NewFromConfig(c.cfg, func(o *sns.Options) { o.Region = region })
	})
}

// Logs returns the CloudWatch Logs client for region.
func (c *Clients) Logs(region string) *cloudwatchlogs.Client {
	return perRegion(c, c.logs, region, func() *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(c.cfg, func(o *cloudwatchlogs.Options) { o.Region = region })
	})
}

// SSM returns the Systems Manager (Parameter Store) client for region.
func (c *Clients) SSM(region string) *ssm.Client {
	return perRegion(c, c.ssm, region, func() *ssm.Client {
		return ssm.NewFromConfig(c.cfg, func(o *ssm.Options) { o.Region = region })
	})
}

// SecretsManager returns the Secrets Manager client for region (a secret's Region is in its ARN).
func (c *Clients) SecretsManager(region string) *secretsmanager.Client {
	return perRegion(c, c.secrets, region, func() *secretsmanager.Client {
		return secretsmanager.NewFromConfig(c.cfg, func(o *secretsmanager.Options) { o.Region = region })
	})
}

// Lambda returns the Lambda client for region.
func (c *Clients) Lambda(region string) *lambda.Client {
	return perRegion(c, c.lambda, region, func() *lambda.Client {
		return lambda.NewFromConfig(c.cfg, func(o *lambda.Options) { o.Region = region })
	})
}

// Scheduler returns the EventBridge Scheduler client for region.
func (c *Clients) Scheduler(region string) *scheduler.Client {
	return perRegion(c, c.sched, region, func() *scheduler.Client {
		return scheduler.NewFromConfig(c.cfg, func(o *scheduler.Options) { o.Region = region })
	})
}

// perRegion returns m's client for region, built by build the first time: one client per service
// and Region, shared by every caller (clients are safe for concurrent use and keep connections).
func perRegion[T any](c *Clients, m map[string]*T, region string, build func() *T) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := m[region]; ok {
		return cl
	}
	cl := build()
	m[region] = cl
	return cl
}

// TopicRegion is the Region of an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>),
// the Region its SNS client must call. Anything else is an error naming the ARN.
func TopicRegion(topicArn string) (string, error) {
	a, err := arn.Parse(topicArn)
	if err != nil || a.Service != "sns" || a.Region == "" || a.AccountID == "" || a.Resource == "" || strings.Contains(a.Resource, ":") {
		return "", fmt.Errorf("topic ARN %q is not an SNS topic ARN", topicArn)
	}
	return a.Region, nil
}
