// Package devstack is Cognito DR's local AWS: the Cognito emulator, S3 and SNS on one loopback
// endpoint, SDK clients pointed at it, seeded pools, and the state machines run by the local
// executor with their tasks bound to the same handlers the Lambdas run. The demo, the benchmarks,
// `make local` and the end-to-end tests all start it; nothing in it reaches task logic.
package devstack

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	locallambda "github.com/cognito-dr/cognito-dr/internal/local/lambda"
	locallogs "github.com/cognito-dr/cognito-dr/internal/local/logs"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	localscheduler "github.com/cognito-dr/cognito-dr/internal/local/scheduler"
	localsecrets "github.com/cognito-dr/cognito-dr/internal/local/secretsmanager"
	localssm "github.com/cognito-dr/cognito-dr/internal/local/ssm"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// Options configure a Stack.
type Options struct {
	// Addr to listen on; empty means a free port on 127.0.0.1.
	Addr string
	// Quotas enforces Cognito's default request-rate quotas.
	Quotas bool
	// Latency is added to every Cognito call.
	Latency time.Duration
	// MailboxFile, if set, receives every SNS message as a JSON line.
	MailboxFile string
	// ImportStartDelay and ImportRowDelay pace Cognito import jobs; see localcognito.Options.
	ImportStartDelay time.Duration
	ImportRowDelay   time.Duration
	// Clock is the Cognito emulator's and the log store's clock; nil means time.Now.
	Clock func() time.Time
}

// Stack is a running local AWS.
type Stack struct {
	AWS     *localaws.Stack
	Cognito *localcognito.Emulator
	// Logs is the emulated CloudWatch Logs, where Cognito import jobs write their row results.
	Logs *locallogs.Store
	// Clients are SDK clients for the stack, built the way the Lambdas build theirs.
	Clients *awsclients.Clients
	// SSM is Parameter Store (the pools' modes live there); Functions serve Lambda Invoke (the
	// functions a gate chains to).
	SSM       *localssm.Store
	Functions *locallambda.Functions
	// Scheduler is EventBridge Scheduler (the reconcile schedule a failover pauses).
	Scheduler *localscheduler.Store
	// Secrets is Secrets Manager (the identity-provider and app-client secrets a restore reads).
	Secrets *localsecrets.Store
}

// Start listens on loopback and serves Cognito (with import-job upload URLs), CloudWatch Logs,
// S3 and SNS.
func Start(opts Options) (*Stack, error) {
	logs := locallogs.New(locallogs.Options{Clock: opts.Clock, AccountID: localaws.DefaultAccountID})
	cog := localcognito.New(localcognito.Options{
		DisableQuotas: !opts.Quotas, Latency: opts.Latency, AccountID: localaws.DefaultAccountID, Clock: opts.Clock,
		ImportStartDelay: opts.ImportStartDelay, ImportRowDelay: opts.ImportRowDelay, LogSink: logs,
	})
	st, err := localaws.Start(localaws.Config{Addr: opts.Addr, Cognito: cog, Logs: logs, MailboxFile: opts.MailboxFile})
	if err != nil {
		return nil, fmt.Errorf("start local AWS: %w", err)
	}
	// Import jobs hand out upload URLs on this endpoint, known only once it listens.
	cog.SetPublicURL(st.URL())
	st.Handle(localcognito.ImportUploadPath, cog.ImportUploadHandler())
	// Apps verify ID tokens against <URL>/_local/cognito-idp/<poolId>/.well-known/jwks.json.
	st.Handle(localcognito.JWKSPath, cog.JWKSHandler())
	// Parameter Store and Lambda exist in every Region of AWS: they are always served.
	params := localssm.New(localssm.Options{AccountID: localaws.DefaultAccountID})
	fns := locallambda.New(localaws.DefaultAccountID)
	st.ServeSSM(params)
	secrets := localsecrets.New(localsecrets.Options{AccountID: localaws.DefaultAccountID, Clock: opts.Clock})
	st.ServeSecretsManager(secrets)
	st.ServeLambda(fns)
	sched := localscheduler.New(localscheduler.Options{AccountID: localaws.DefaultAccountID, Clock: opts.Clock})
	st.ServeScheduler(sched)
	return &Stack{
		AWS:       st,
		Cognito:   cog,
		Logs:      logs,
		Clients:   awsclients.New(st.AWSConfig("us-east-1"), awsclients.Options{S3PathStyle: true}),
		SSM:       params,
		Secrets:   secrets,
		Functions: fns,
		Scheduler: sched,
	}, nil
}

// URL is the endpoint every service answers on.
func (s *Stack) URL() string { return s.AWS.URL() }

// Close stops the stack.
func (s *Stack) Close() error { return s.AWS.Close() }

// SeedPool creates the pool of spec and its users, directly (no quotas, no HTTP).
func (s *Stack) SeedPool(spec PoolSpec) (string, error) {
	id, err := s.Cognito.CreatePool(spec.Region, spec.CreatePoolInput())
	if err != nil {
		return "", fmt.Errorf("create pool %s: %w", spec.Name, err)
	}
	if spec.Synthetic != nil {
		if err := s.Cognito.SeedSynthetic(id, *spec.Synthetic); err != nil {
			return "", err
		}
	} else if spec.Users > 0 {
		if err := s.Cognito.SeedUsers(id, spec.SeedUsers()); err != nil {
			return "", err
		}
	}
	return id, nil
}

// CreateTopic creates an SNS topic and returns its ARN.
func (s *Stack) CreateTopic(ctx context.Context, region, name string) (string, error) {
	out, err := s.Clients.SNS(region).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// FunctionARN is the ARN the local stack gives the Lambda behind an ASL placeholder.
func FunctionARN(region, placeholder string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:cognito-dr-%s", region, localaws.DefaultAccountID, placeholder)
}

// ReadObject returns a whole object; for small files such as manifests.
func (s *Stack) ReadObject(ctx context.Context, region, bucket, key string) ([]byte, error) {
	r, err := s3stream.Open(ctx, s.Clients.S3(region), bucket, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
