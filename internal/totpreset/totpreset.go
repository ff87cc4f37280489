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
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Client calls AdminDeleteSoftwareToken in one Region.
type Client struct {
	cfg     aws.Config
	region  string
	http    *http.Client
	signer  *v4.Signer
	retryer aws.Retryer
}

// New returns a Client for region built from cfg (credentials, BaseEndpoint override). Its calls
// are retried by retryer, as an SDK client built from cfg retries (nil: cfg.Retryer, else the
// SDK's standard retryer); awsclients.Clients.TOTPReset passes the one its Cognito clients use.
func New(cfg aws.Config, region string, retryer aws.Retryer) *Client {
	if retryer == nil && cfg.Retryer != nil {
		retryer = cfg.Retryer()
	}
	if retryer == nil {
		retryer = retry.NewStandard()
	}
	return &Client{cfg: cfg, region: region, http: &http.Client{Timeout: 30 * time.Second}, signer: v4.NewSigner(), retryer: retryer}
}

// IsUserNotFound reports whether err says the user does not exist.
func IsUserNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "UserNotFoundException"
}

func (c *Client) endpoint() string {
	if c.cfg.BaseEndpoint != nil && *c.cfg.BaseEndpoint != "" {
		return strings.TrimSuffix(*c.cfg.BaseEndpoint, "/") + "/"
	}
	return fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/", c.region)
}

// AdminDeleteSoftwareToken deletes the user's TOTP factor. The call runs through a smithy
// middleware stack as an SDK operation does: serialize, the SDK's retry middleware, SigV4 signing
// of every attempt, and a deserializer that turns Cognito's answer into a smithy.APIError inside an
// HTTP response error, so the retryer classifies throttling and server faults as it does for the
// SDK's own calls.
func (c *Client) AdminDeleteSoftwareToken(ctx context.Context, pool, username string) error {
	body, err := json.Marshal(map[string]string{"UserPoolId": pool, "Username": username})
	if err != nil {
		return err
	}
	endpoint, err := url.Parse(c.endpoint())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	stack := middleware.NewStack("AdminDeleteSoftwareToken", smithyhttp.NewStackRequest)
	err = errors.Join(
		stack.Serialize.Add(middleware.SerializeMiddlewareFunc("OperationSerializer", func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
			req := in.Request.(*smithyhttp.Request)
			req.Method, req.URL = http.MethodPost, endpoint
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminDeleteSoftwareToken")
			req, err := req.SetStream(bytes.NewReader(body))
			if err != nil {
				return middleware.SerializeOutput{}, middleware.Metadata{}, err
			}
			in.Request = req
			return next.HandleSerialize(ctx, in)
		}), middleware.After),
		stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("Signing", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req := in.Request.(*smithyhttp.Request)
			creds, err := c.cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("credentials: %w", err)
			}
			if err := c.signer.SignHTTP(ctx, creds, req.Request, hex.EncodeToString(sum[:]), "cognito-idp", c.region, time.Now()); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After),
		// The retry loop goes before Signing, so every attempt is signed afresh.
		retry.AddRetryMiddlewares(stack, retry.AddRetryMiddlewaresOptions{Retryer: c.retryer}),
		stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("OperationDeserializer", deserialize), middleware.After),
	)
	if err != nil {
		return err
	}
	h := middleware.DecorateHandler(smithyhttp.NewClientHandler(c.http), stack)
	if _, _, err := h.Handle(ctx, struct{}{}); err != nil {
		return fmt.Errorf("AdminDeleteSoftwareToken for a user of %s: %w", pool, err)
	}
	return nil
}

// deserialize reads Cognito's AWS JSON 1.1 answer: nothing on success, else the error named by
// __type, as a smithy.APIError wrapped in the HTTP response error the retryer reads.
func deserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok {
		return out, md, fmt.Errorf("unexpected response type %T", out.RawResponse)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return out, md, nil
	}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	code := e.Type[strings.LastIndex(e.Type, "#")+1:]
	if code == "" {
		code = fmt.Sprintf("HTTP%d", resp.StatusCode)
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return out, md, &smithyhttp.ResponseError{Response: resp, Err: &smithy.GenericAPIError{Code: code, Message: e.Message, Fault: fault}}
}
