package approval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
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

// SigningKey returns the key c names. SSM and Secrets Manager are called with one SigV4-signed
// JSON request each, so the function needs neither their SDK modules nor a Lambda extension.
func SigningKey(ctx context.Context, cfg aws.Config, c Config) ([]byte, error) {
	switch {
	case c.SigningKey != "":
		return []byte(c.SigningKey), nil
	case c.SigningKeyParam != "":
		var out struct{ Parameter struct{ Value string } }
		if err := callJSON(ctx, cfg, "ssm", "AmazonSSM.GetParameter",
			map[string]any{"Name": c.SigningKeyParam, "WithDecryption": true}, &out); err != nil {
			return nil, fmt.Errorf("get signing key parameter %s: %w", c.SigningKeyParam, err)
		}
		return []byte(out.Parameter.Value), nil
	default:
		var out struct{ SecretString string }
		if err := callJSON(ctx, cfg, "secretsmanager", "secretsmanager.GetSecretValue",
			map[string]any{"SecretId": c.SigningKeySecret}, &out); err != nil {
			return nil, fmt.Errorf("get signing key secret %s: %w", c.SigningKeySecret, err)
		}
		return []byte(out.SecretString), nil
	}
}

// callJSON makes one awsJson1.1 call; cfg.BaseEndpoint, if set, replaces the Regional endpoint.
func callJSON(ctx context.Context, cfg aws.Config, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	endpoint := fmt.Sprintf("https://%s.%s.amazonaws.com/", service, cfg.Region)
	if cfg.BaseEndpoint != nil {
		endpoint = strings.TrimSuffix(*cfg.BaseEndpoint, "/") + "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if cfg.Credentials == nil {
		return errors.New("no AWS credentials configured")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, cfg.Region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		// The error body names the error type and message; it never echoes the secret.
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("%s: HTTP %d %s %s", target, resp.StatusCode, e.Type, e.Message)
	}
	return json.Unmarshal(data, out)
}
