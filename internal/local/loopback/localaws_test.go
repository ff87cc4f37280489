package loopback

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func TestCognitoRouting(t *testing.T) {
	ctx := t.Context()
	var (
		mu      sync.Mutex
		targets []string
	)
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"UserPools":[{"Id":"eu-west-1_abc","Name":"prod"}]}`)
	})
	stack := startStack(t, Config{Cognito: fake})
	client := cip.NewFromConfig(stack.AWSConfig("eu-west-1"))

	out, err := client.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)})
	if err != nil {
		t.Fatalf("ListUserPools: %v", err)
	}
	if len(out.UserPools) != 1 || aws.ToString(out.UserPools[0].Id) != "eu-west-1_abc" {
		t.Errorf("ListUserPools = %+v, want the fake's pool", out.UserPools)
	}
	// InitiateAuth is sent unsigned, so only X-Amz-Target can route it.
	_, _ = client.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: "USER_PASSWORD_AUTH", ClientId: aws.String("c")},
		func(o *cip.Options) { o.Credentials = aws.AnonymousCredentials{} })

	want := []string{
		"AWSCognitoIdentityProviderService.ListUserPools",
		"AWSCognitoIdentityProviderService.InitiateAuth",
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, targets); diff != "" {
		t.Errorf("requests reaching the Cognito handler (-want +got):\n%s", diff)
	}
}

func TestCognitoWithoutHandler(t *testing.T) {
	stack := startStack(t, Config{})
	client := cip.NewFromConfig(stack.AWSConfig("eu-west-1"))
	_, err := client.ListUserPools(t.Context(), &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("ListUserPools without a Cognito handler: %v, want UnknownOperationException", err)
	}
}

func TestRouting(t *testing.T) {
	stack := startStack(t, Config{})
	stack.Handle("GET /_local/ping", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pong")
	}))

	form := url.Values{"Action": {"CreateTopic"}, "Name": {"unsigned"}, "Version": {"2010-03-31"}}
	tests := []struct {
		name     string
		req      func() *http.Request
		wantCode int
		wantBody string // substring
	}{
		{
			name: "local handler",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, stack.URL()+"/_local/ping", nil)
				return r
			},
			wantCode: http.StatusOK,
			wantBody: "pong",
		},
		{
			name: "unmounted local path is not S3",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, stack.URL()+"/_local/nothing", nil)
				return r
			},
			wantCode: http.StatusNotFound,
			wantBody: "404 page not found",
		},
		{
			name: "unsigned awsquery goes to SNS",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, stack.URL()+"/", strings.NewReader(form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				return r
			},
			wantCode: http.StatusOK,
			wantBody: "<TopicArn>arn:aws:sns:us-east-1:000000000000:unsigned</TopicArn>",
		},
		{
			name: "credential scope sns wins over the request shape",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, stack.URL()+"/", strings.NewReader(form.Encode()))
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/ap-south-1/sns/aws4_request, SignedHeaders=host, Signature=00")
				return r
			},
			wantCode: http.StatusOK,
			wantBody: "arn:aws:sns:ap-south-1:000000000000:unsigned",
		},
		{
			name: "unknown SNS action",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, stack.URL()+"/", strings.NewReader("Action=Nope"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
			wantCode: http.StatusBadRequest,
			wantBody: "<Code>InvalidAction</Code>",
		},
		{
			name:     "everything else is S3",
			req:      func() *http.Request { r, _ := http.NewRequest(http.MethodGet, stack.URL()+"/", nil); return r },
			wantCode: http.StatusOK,
			wantBody: "ListAllMyBucketsResult",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %s\nwant %d containing %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestHandleOutsideLocalPrefixPanics(t *testing.T) {
	stack := startStack(t, Config{})
	for _, pattern := range []string{"/approve", "GET /bucket/_local/x", "/_localx/"} {
		t.Run(pattern, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic", pattern)
				}
			}()
			stack.Handle(pattern, http.NotFoundHandler())
		})
	}
}

func TestCredentialScope(t *testing.T) {
	tests := []struct {
		name, auth, query   string
		service, wantRegion string
	}{
		{"header", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=ab", "", "s3", "eu-west-1"},
		{"presigned", "", "X-Amz-Credential=AKID%2F20260101%2Fus-west-2%2Fs3%2Faws4_request", "s3", "us-west-2"},
		{"no auth", "", "", "", ""},
		{"sigv2", "AWS AKID:sig", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://x/?"+tt.query, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			service, region := credentialScope(r)
			if service != tt.service || region != tt.wantRegion {
				t.Errorf("credentialScope = %q, %q; want %q, %q", service, region, tt.service, tt.wantRegion)
			}
		})
	}
}
