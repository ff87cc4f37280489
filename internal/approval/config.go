package approval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
)

// Config is the approval page's configuration, from the environment:
//
//	APPROVAL_BUCKET              the failback plan bucket, which holds approvals/<id>/
//	BASE_URL                     the public URL of the page, e.g. https://<id>.lambda-url.<region>.on.aws/approvals
//	APPROVAL_SIGNING_KEY_PARAM   name of an SSM SecureString parameter holding the signing key, or
//	APPROVAL_SIGNING_KEY_SECRET  name or ARN of a Secrets Manager secret (SecretString) holding it, or
//	APPROVAL_SIGNING_KEY         the key itself (local runs and tests; it then shows in the
//	                             function's configuration, so deployments use one of the above)
//
// Exactly one of the three key settings must be set; the key must be at least MinKeyBytes long
// (for example `openssl rand -base64 48`). The task that creates approvals needs the same key.
type Config struct {
	Bucket           string
	BaseURL          string
	SigningKeyParam  string
	SigningKeySecret string
	SigningKey       string
}

// EnvNames are the settings LoadConfig reads; it decides which are required (one of the three
// key sources), so a task declares them all as optional.
func EnvNames() []string {
	return []string{"APPROVAL_BUCKET", "BASE_URL", "APPROVAL_SIGNING_KEY_PARAM", "APPROVAL_SIGNING_KEY_SECRET", "APPROVAL_SIGNING_KEY"}
}

// LoadConfig reads Config with getenv and returns one error naming every missing setting.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Bucket:           getenv("APPROVAL_BUCKET"),
		BaseURL:          getenv("BASE_URL"),
		SigningKeyParam:  getenv("APPROVAL_SIGNING_KEY_PARAM"),
		SigningKeySecret: getenv("APPROVAL_SIGNING_KEY_SECRET"),
		SigningKey:       getenv("APPROVAL_SIGNING_KEY"),
	}
	var missing []string
	if c.Bucket == "" {
		missing = append(missing, "APPROVAL_BUCKET")
	}
	if c.BaseURL == "" {
		missing = append(missing, "BASE_URL")
	}
	keys := 0
	for _, v := range []string{c.SigningKeyParam, c.SigningKeySecret, c.SigningKey} {
		if v != "" {
			keys++
		}
	}
	if keys == 0 {
		missing = append(missing, "APPROVAL_SIGNING_KEY_PARAM (or APPROVAL_SIGNING_KEY_SECRET or APPROVAL_SIGNING_KEY)")
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("missing configuration: %s", strings.Join(missing, ", ")))
	}
	if keys > 1 {
		errs = append(errs, errors.New("set only one of APPROVAL_SIGNING_KEY_PARAM, APPROVAL_SIGNING_KEY_SECRET, APPROVAL_SIGNING_KEY"))
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		errs = append(errs, fmt.Errorf("BASE_URL %q is not an http(s) URL", c.BaseURL))
	}
	return c, errors.Join(errs...)
}

// FromEnv builds the production Service: configuration from getenv, AWS clients from the SDK's
// default configuration, the signing key from SSM or Secrets Manager.
func FromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Service, error) {
	c, err := LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	key, err := SigningKey(ctx, cfg, c)
	if err != nil {
		return nil, err
	}
	signer, err := NewSigner(key)
	if err != nil {
		return nil, err
	}
	return &Service{
		Store:     &S3Store{Client: s3.NewFromConfig(cfg), Bucket: c.Bucket},
		Signer:    signer,
		Callbacks: StepFunctions{Client: sfn.NewFromConfig(cfg)},
		BaseURL:   c.BaseURL,
		Log:       log,
	}, nil
}

// SSMAPI is the one SSM call SigningKey makes.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretsManagerAPI is the one Secrets Manager call SigningKey makes.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// KeySources read the signing key from where Config names it.
type KeySources struct {
	SSM            SSMAPI
	SecretsManager SecretsManagerAPI
}

// SigningKey returns the key c names, with SDK clients built from cfg (cfg.BaseEndpoint, if set,
// replaces the Regional endpoints, as for every other client).
func SigningKey(ctx context.Context, cfg aws.Config, c Config) ([]byte, error) {
	return KeySources{SSM: ssm.NewFromConfig(cfg), SecretsManager: secretsmanager.NewFromConfig(cfg)}.SigningKey(ctx, c)
}

// SigningKey returns the key c names: the configured value itself, the decrypted SSM parameter,
// or the secret's SecretString (SecretBinary when the secret holds bytes). Errors name the
// parameter or secret, never its value.
func (k KeySources) SigningKey(ctx context.Context, c Config) ([]byte, error) {
	switch {
	case c.SigningKey != "":
		return []byte(c.SigningKey), nil
	case c.SigningKeyParam != "":
		out, err := k.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(c.SigningKeyParam), WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("get signing key parameter %s: %w", c.SigningKeyParam, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return nil, fmt.Errorf("get signing key parameter %s: the parameter has no value", c.SigningKeyParam)
		}
		return []byte(*out.Parameter.Value), nil
	case c.SigningKeySecret != "":
		out, err := k.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.SigningKeySecret)})
		if err != nil {
			return nil, fmt.Errorf("get signing key secret %s: %w", c.SigningKeySecret, err)
		}
		switch {
		case out.SecretString != nil:
			return []byte(*out.SecretString), nil
		case out.SecretBinary != nil:
			return out.SecretBinary, nil
		}
		return nil, fmt.Errorf("get signing key secret %s: the secret has no value", c.SigningKeySecret)
	}
	return nil, errors.New("no signing key configured: set APPROVAL_SIGNING_KEY_PARAM, APPROVAL_SIGNING_KEY_SECRET or APPROVAL_SIGNING_KEY")
}

// LoadWithService wraps a task's Load (boundary.Task.Load) for the task that requests approvals:
// it reads the approval service first — a task that cannot sign links fails at start, before an
// execution waits for an approval nobody can give — then builds the steps with load and hands
// them the service with set.
func LoadWithService[S any](load func(context.Context, *boundary.Env, *awsclients.Clients, *slog.Logger) (S, error), set func(S, *Service)) func(context.Context, *boundary.Env, *awsclients.Clients, *slog.Logger) (S, error) {
	return func(ctx context.Context, env *boundary.Env, clients *awsclients.Clients, log *slog.Logger) (S, error) {
		var none S
		svc, err := FromEnv(ctx, env.Get, log)
		if err != nil {
			return none, err
		}
		s, err := load(ctx, env, clients, log)
		if err != nil {
			return none, err
		}
		set(s, svc)
		return s, nil
	}
}
