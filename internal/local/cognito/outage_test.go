package cognito

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestOutageRefusesEverythingUntilTheTestSaysSo: during an outage every call fails — with HTTP
// 500 InternalErrorException, or with the connection reset and no answer — and nothing is
// changed; once the test's condition ends it, calls succeed again.
func TestOutageRefusesEverythingUntilTheTestSaysSo(t *testing.T) {
	for _, tt := range []struct {
		name  string
		mode  OutageMode
		check func(t *testing.T, err error)
	}{
		{"internal error", OutageInternalError, func(t *testing.T, err error) {
			var re *smithyhttp.ResponseError
			if apiCode(err) != "InternalErrorException" || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
				t.Errorf("err = %v, want InternalErrorException with HTTP 500", err)
			}
		}},
		{"connection reset", OutageConnectionReset, func(t *testing.T, err error) {
			var send *smithyhttp.RequestSendError
			var answered smithy.APIError
			if err == nil || errors.As(err, &answered) || !errors.As(err, &send) || !strings.Contains(err.Error(), "connection reset") {
				t.Errorf("err = %v, want a connection error with no answer", err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEmulator()
			c := newTestClient(t, e, testRegion)
			ctx := context.Background()
			// Created directly: CreateUserPool refuses this TOTP-only MFA pool (see mfaconfig.go).
			created, err := e.CreatePool(testRegion, emailPoolInput())
			if err != nil {
				t.Fatal(err)
			}
			id := &created
			var down atomic.Bool
			down.Store(true)
			var mu sync.Mutex
			var ops []string
			e.SetOutage(tt.mode, func(op string) bool {
				mu.Lock()
				defer mu.Unlock()
				ops = append(ops, op)
				return down.Load()
			})

			_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: id, Username: aws.String("a@example.jp"), UserAttributes: attrs("email", "a@example.jp")})
			tt.check(t, err)
			_, err = c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: id})
			tt.check(t, err)
			mu.Lock()
			got := strings.Join(ops, ",")
			mu.Unlock()
			if e.OutageRefused() != 2 || got != "AdminCreateUser,ListUsers" {
				t.Errorf("refused %d calls %v, want AdminCreateUser and ListUsers", e.OutageRefused(), ops)
			}

			down.Store(false)
			out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: id})
			if err != nil || len(out.Users) != 0 {
				t.Fatalf("after the outage: %v, %d users (the refused create must not have happened)", err, len(out.Users))
			}
			e.SetOutage(0, nil)
			if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: id, Username: aws.String("a@example.jp"), UserAttributes: attrs("email", "a@example.jp")}); err != nil {
				t.Errorf("after SetOutage(nil): %v", err)
			}
		})
	}
}
