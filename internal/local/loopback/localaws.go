// Package localaws is the project's emulated AWS for local runs and tests: one
// loopback HTTP endpoint that serves S3 (gofakes3 with an in-memory backend),
// a minimal SNS, and Cognito, CloudWatch Logs, Step Functions, Parameter Store, Secrets Manager and Lambda Invoke
// through handlers supplied by the caller.
//
// Every service shares the endpoint, so a client only needs BaseEndpoint set to
// [Stack.URL], just like `aws --endpoint-url URL <service> ...`. Requests are
// routed by the X-Amz-Target header (Cognito, Logs, Step Functions, SSM, Secrets Manager), then by the service name in the
// SigV4 credential scope (Lambda's and EventBridge Scheduler's REST APIs among them), then by the shape of unsigned awsquery requests
// (SNS); everything else goes to S3. Paths under /_local/ are reserved for
// local-only pages mounted with [Stack.Handle].
package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// LocalPrefix is the path prefix reserved for local-only endpoints mounted
// with [Stack.Handle]; no AWS service is routed below it.
const LocalPrefix = "/_local/"

// DefaultAccountID is the account used in ARNs when Config.AccountID is empty.
const DefaultAccountID = "000000000000"

// defaultRegion is used when a request carries no SigV4 credential scope.
const defaultRegion = "us-east-1"

// Config configures [Start]. The zero value is usable.
type Config struct {
	// Addr is the listen address; empty means 127.0.0.1:0 (a free port).
	Addr string
	// Cognito serves requests whose X-Amz-Target names
	// AWSCognitoIdentityProviderService. Nil answers them with
	// UnknownOperationException.
	Cognito http.Handler
	// Logs serves CloudWatch Logs requests (X-Amz-Target Logs_20140328.*, or
	// credential scope service "logs"). Nil answers them with
	// UnknownOperationException.
	Logs http.Handler
	// StepFunctions serves Step Functions requests (X-Amz-Target AWSStepFunctions.*, or
	// credential scope service "states"); [Stack.ServeStepFunctions] can set it later. Nil
	// answers them with UnknownOperationException.
	StepFunctions http.Handler
	// SSM serves Parameter Store requests (X-Amz-Target AmazonSSM.*, or credential scope
	// service "ssm"); Lambda serves Lambda requests (credential scope service "lambda", or a
	// path under /2015-03-31/functions/). [Stack.ServeSSM] and [Stack.ServeLambda] can set them
	// later. Nil answers them with UnknownOperationException.
	SSM, Lambda http.Handler
	// SecretsManager serves Secrets Manager requests (X-Amz-Target secretsmanager.*, or credential
	// scope service "secretsmanager"); [Stack.ServeSecretsManager] can set it later. Nil answers
	// them with UnknownOperationException.
	SecretsManager http.Handler
	// AccountID appears in SNS ARNs; empty means DefaultAccountID.
	AccountID string
	// MailboxFile, if set, receives every published SNS message as one JSON
	// line, so a person running the stack can read what would have been sent.
	MailboxFile string
}

// Stack is a running local AWS endpoint. It is safe for concurrent use.
type Stack struct {
	url     string
	ln      net.Listener
	srv     *http.Server
	handler http.Handler
	s3      http.Handler
	backend *s3mem.Backend
	sns     *SNS
	cognito http.Handler
	logs    http.Handler
	states  atomic.Pointer[http.Handler]
	ssm     atomic.Pointer[http.Handler]
	lambda  atomic.Pointer[http.Handler]
	secrets atomic.Pointer[http.Handler]
	// scheduler serves EventBridge Scheduler (credential scope service "scheduler").
	scheduler atomic.Pointer[http.Handler]
	local     *http.ServeMux
}

// Start listens on cfg.Addr and serves in the background until Close.
func Start(cfg Config) (*Stack, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	account := cfg.AccountID
	if account == "" {
		account = DefaultAccountID
	}
	sns, err := newSNS(account, cfg.MailboxFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		sns.close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}

	backend := s3mem.New()
	faker := gofakes3.New(backend,
		// Local clients share the host clock; skew checks only produce
		// confusing failures after a laptop sleeps.
		gofakes3.WithTimeSkewLimit(0),
	)
	s := &Stack{
		url:     "http://" + ln.Addr().String(),
		ln:      ln,
		backend: backend,
		s3:      faker.Server(),
		sns:     sns,
		cognito: cfg.Cognito,
		logs:    cfg.Logs,
		local:   http.NewServeMux(),
	}
	if cfg.StepFunctions != nil {
		s.ServeStepFunctions(cfg.StepFunctions)
	}
	if cfg.SSM != nil {
		s.ServeSSM(cfg.SSM)
	}
	if cfg.Lambda != nil {
		s.ServeLambda(cfg.Lambda)
	}
	if cfg.SecretsManager != nil {
		s.ServeSecretsManager(cfg.SecretsManager)
	}
	s.handler = http.HandlerFunc(s.route)
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed after Close
	return s, nil
}

// URL is the endpoint for every service, e.g. http://127.0.0.1:41234.
func (s *Stack) URL() string { return s.url }

// SNS is the emulated SNS, for reading what was published.
func (s *Stack) SNS() *SNS { return s.sns }

// Close stops the server, ends every [SNS.Follow] channel and closes the
// mailbox file.
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return errors.Join(err, s.sns.close())
}

// ServeStepFunctions makes h serve the Step Functions API from now on, for a caller that
// builds its state machines once the stack listens (their tasks call the stack).
func (s *Stack) ServeStepFunctions(h http.Handler) { s.states.Store(&h) }

// ServeSSM makes h serve Parameter Store from now on.
func (s *Stack) ServeSSM(h http.Handler) { s.ssm.Store(&h) }

// ServeSecretsManager makes h serve Secrets Manager from now on.
func (s *Stack) ServeSecretsManager(h http.Handler) { s.secrets.Store(&h) }

// ServeLambda makes h serve Lambda from now on.
func (s *Stack) ServeLambda(h http.Handler) { s.lambda.Store(&h) }

// ServeScheduler makes h serve EventBridge Scheduler (REST-JSON, SigV4 service "scheduler") from now on.
func (s *Stack) ServeScheduler(h http.Handler) { s.scheduler.Store(&h) }

// Handle mounts h for pattern, which must lie under [LocalPrefix]
// ("/_local/import/" or "GET /_local/approve/{id}"). Like [http.ServeMux.Handle]
// it panics on a bad or conflicting pattern. It may be called while serving.
func (s *Stack) Handle(pattern string, h http.Handler) {
	path := pattern
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		path = strings.TrimLeft(pattern[i:], " ")
	}
	if !strings.HasPrefix(path, LocalPrefix) {
		panic(fmt.Sprintf("localaws: pattern %q is not under %s", pattern, LocalPrefix))
	}
	s.local.Handle(pattern, h)
}

// CreateBucket creates bucket name directly in the backend; an existing bucket
// is not an error, so setup code can call it unconditionally.
func (s *Stack) CreateBucket(name string) error {
	if err := gofakes3.ValidateBucketName(name); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	ok, err := s.backend.BucketExists(name)
	if err != nil || ok {
		return err
	}
	if err := s.backend.CreateBucket(name); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// AWSConfig returns a config for clients of this stack: static dummy
// credentials, the given region, BaseEndpoint = URL and [HTTPClient]. It is for tests and
// demos; production code loads its config normally.
//
// The checksum settings are set explicitly to WhenSupported, which is what
// config.LoadDefaultConfig resolves them to: a bare aws.Config leaves them
// unset, and then the S3 client sends no checksums at all, so local runs would
// not exercise what production sends.
func (s *Stack) AWSConfig(region string) aws.Config { return ClientConfig(s.url, region) }

// ClientConfig is AWSConfig for a stack running in another process, known by its endpoint.
func ClientConfig(endpoint, region string) aws.Config {
	return aws.Config{
		Region:                     region,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "localaws"}, nil
		})),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   HTTPClient(),
	}
}

// S3Options points an S3 client at the stack with path-style addressing, which
// works for every bucket name on a bare host:port. Use it as
// s3.NewFromConfig(cfg, stack.S3Options).
func (s *Stack) S3Options(o *s3.Options) {
	o.BaseEndpoint = aws.String(s.url)
	o.UsePathStyle = true
}

// route dispatches one request; see the package comment for the order.
func (s *Stack) route(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, LocalPrefix) {
		s.local.ServeHTTP(w, r)
		return
	}
	service, region := credentialScope(r)
	if region == "" {
		region = defaultRegion
	}
	switch {
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService."),
		service == "cognito-idp":
		s.serveCognito(w, r)
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328."), service == "logs":
		serveJSON(w, r, s.logs, "CloudWatch Logs")
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions."), service == "states":
		serveJSON(w, r, loadHandler(&s.states), "Step Functions")
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM."), service == "ssm":
		serveJSON(w, r, loadHandler(&s.ssm), "SSM")
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager."), service == "secretsmanager":
		serveJSON(w, r, loadHandler(&s.secrets), "Secrets Manager")
	case service == "lambda", service == "" && strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/"):
		serveJSON(w, r, loadHandler(&s.lambda), "Lambda")
	case service == "scheduler":
		serveJSON(w, r, loadHandler(&s.scheduler), "EventBridge Scheduler")
	case service == "sns", service == "" && isQueryRequest(r):
		s.sns.serveHTTP(w, r, region)
	default:
		s.serveS3(w, r)
	}
}

func loadHandler(p *atomic.Pointer[http.Handler]) http.Handler {
	if h := p.Load(); h != nil {
		return *h
	}
	return nil
}

func (s *Stack) serveCognito(w http.ResponseWriter, r *http.Request) {
	serveJSON(w, r, s.cognito, "Cognito")
}

// serveJSON hands a JSON 1.1 request to h, or refuses it when no emulator is configured.
func serveJSON(w http.ResponseWriter, r *http.Request, h http.Handler, name string) {
	if h == nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"no %s emulator configured in localaws"}`, name)
		return
	}
	h.ServeHTTP(w, r)
}

// credentialScope returns the service and region of the SigV4 credential
// scope (Credential=AKID/20260101/us-east-1/s3/aws4_request), from the
// Authorization header or from presigned-URL query parameters.
func credentialScope(r *http.Request) (service, region string) {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, after, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return "", ""
		}
		cred, _, _ = strings.Cut(after, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return "", ""
	}
	return parts[3], parts[2]
}

// isQueryRequest reports whether an unsigned request looks like an awsquery
// call (form-encoded POST to /), which S3 never sends.
func isQueryRequest(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return r.Method == http.MethodPost && r.URL.Path == "/" &&
		strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}
