package awsclients

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestHTTPClientBodyEndsCleanlyAfterClose replays the moment behind "use of closed network
// connection": the SDK has closed the request body (its answer arrived) and net/http's write loop
// then reads the body once more to check nothing is left. That read must end cleanly, or net/http
// closes the connection the answer is still being read from.
func TestHTTPClientBodyEndsCleanlyAfterClose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wrap    func(aws.HTTPClient) aws.HTTPClient
		wantErr error
	}{
		// If smithy-go's WriteTo ever ends with nil after Close, ReadOnlyBodies can go.
		{"SDK body as sent", func(c aws.HTTPClient) aws.HTTPClient { return c }, io.EOF},
		{"through ReadOnlyBodies", ReadOnlyBodies, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var checkErr error
			send := doFunc(func(r *http.Request) (*http.Response, error) {
				r.Body.Close()
				_, checkErr = io.Copy(io.Discard, r.Body)
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`))}, nil
			})
			cfg := aws.Config{Region: "ap-northeast-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
				Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
			c := cip.NewFromConfig(cfg, func(o *cip.Options) {
				o.HTTPClient = tc.wrap(send)
			})
			if _, err := c.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: aws.String("ap-northeast-1_x")}); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(checkErr, tc.wantErr) || (tc.wantErr == nil && checkErr != nil) {
				t.Errorf("copying the closed body: %v, want %v", checkErr, tc.wantErr)
			}
		})
	}
}

// TestClientsSendReadOnlyBodies: every client Clients builds, in a Lambda or the CLI, sends through
// ReadOnlyBodies.
func TestClientsSendReadOnlyBodies(t *testing.T) {
	c := New(aws.Config{Region: "ap-northeast-1"}, Options{})
	if _, ok := c.Cognito("ap-northeast-1").Options().HTTPClient.(readOnlyBodies); !ok {
		t.Errorf("the Cognito client sends through %T", c.Cognito("ap-northeast-1").Options().HTTPClient)
	}
}
