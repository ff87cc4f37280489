// Package totpreset removes users' TOTP authenticators (AdminDeleteSoftwareToken), so their next
// sign-in to a pool that requires MFA leads to MFA_SETUP with a new authenticator. TOTP secrets
// cannot be exported: after a failback or a restore this is how users get a working factor again.
//
// The operation was added to Cognito in 2026-08, after the newest aws-sdk-go-v2 Cognito client
// this project can use (v1.61.0), so this package sends it as the SDK would: AWS JSON 1.1, signed
// with the SDK's SigV4 signer and the SDK's credentials, at the SDK's endpoint or the configured
// override. Replace it with the SDK method when the client has it.
package totpreset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client calls AdminDeleteSoftwareToken in one Region.
type Client struct {
	cfg     aws.Config
	region  string
	http    *http.Client
	signer  *v4.Signer
	retryer aws.RetryerV2
}

// New returns a Client for region built from cfg (credentials, BaseEndpoint override).
func New(cfg aws.Config, region string) *Client {
	return &Client{cfg: cfg, region: region, http: &http.Client{Timeout: 30 * time.Second}, signer: v4.NewSigner(),
		retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 8 })}
}

// APIError is an error Cognito answered with.
type APIError struct {
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// IsUserNotFound reports whether err says the user does not exist.
func IsUserNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == "UserNotFoundException"
}

func (c *Client) endpoint() string {
	if c.cfg.BaseEndpoint != nil && *c.cfg.BaseEndpoint != "" {
		return strings.TrimSuffix(*c.cfg.BaseEndpoint, "/") + "/"
	}
	return fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/", c.region)
}

// AdminDeleteSoftwareToken deletes the user's TOTP factor. Throttling and server errors are
// retried with the SDK's standard backoff.
func (c *Client) AdminDeleteSoftwareToken(ctx context.Context, pool, username string) error {
	body, err := json.Marshal(map[string]string{"UserPoolId": pool, "Username": username})
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err = c.call(ctx, body)
		if err == nil || !c.retryer.IsErrorRetryable(err) || attempt >= c.retryer.MaxAttempts() {
			if err != nil {
				return fmt.Errorf("AdminDeleteSoftwareToken for a user of %s: %w", pool, err)
			}
			return nil
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Client) call(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminDeleteSoftwareToken")
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cognito-idp", c.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(out, &e)
	code := e.Type[strings.LastIndex(e.Type, "#")+1:]
	if code == "" {
		code = fmt.Sprintf("HTTP%d", resp.StatusCode)
	}
	ae := &APIError{Code: code, Message: e.Message}
	if resp.StatusCode >= 500 || code == "TooManyRequestsException" {
		return retryable{ae}
	}
	return ae
}

// retryable marks an answer the SDK's retryer retries (throttling, server faults).
type retryable struct{ *APIError }

func (r retryable) RetryableError() bool { return true }
func (r retryable) Unwrap() error        { return r.APIError }
