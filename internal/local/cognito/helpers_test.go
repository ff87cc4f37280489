package cognito

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

const testRegion = "ap-northeast-1"

var testNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// newTestClient serves e over HTTP and returns an SDK client for region, with retries off so
// throttling and faults reach the test.
func newTestClient(t *testing.T, e *Emulator, region string) *cip.Client {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return cip.New(testClientOptions(region, srv.URL, loopback.HTTPClient()))
}

// newInProcessClient is newTestClient without a socket: e answers in the caller's goroutine, so
// the SDK and the emulator can share a synctest bubble and its clock.
func newInProcessClient(e *Emulator, region string) *cip.Client {
	return cip.New(testClientOptions(region, inProcessURL, inProcess{e}))
}

func testClientOptions(region, endpoint string, hc aws.HTTPClient) cip.Options {
	return cip.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "secret"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: hc,
	}
}

// inProcessURL is the endpoint of in-process clients; nothing listens there.
const inProcessURL = "http://cognito.in-process"

// inProcess is an aws.HTTPClient that serves each request with its handler directly.
type inProcess struct{ h http.Handler }

func (c inProcess) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func newTestEmulator() *Emulator {
	return New(Options{Seed: 42, Clock: func() time.Time { return testNow }, DisableQuotas: true})
}

// emailPoolInput is the pool shape Cognito DR backs up: email as username, email auto-verified,
// MFA required, one mutable and one immutable custom attribute.
func emailPoolInput() *cip.CreateUserPoolInput {
	return &cip.CreateUserPoolInput{
		PoolName:               aws.String("dr-test"),
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		MfaConfiguration:       types.UserPoolMfaTypeOn,
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)},
			{Name: aws.String("tenant"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true),
				StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("1"), MaxLength: aws.String("32")}},
			{Name: aws.String("level"), AttributeDataType: types.AttributeDataTypeNumber, Mutable: aws.Bool(false)},
		},
	}
}

// apiCode returns the API error code of err, or "" when err is nil or not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func attrMap(as []types.AttributeType) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

func attrs(kv ...string) []types.AttributeType {
	var out []types.AttributeType
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.AttributeType{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}
