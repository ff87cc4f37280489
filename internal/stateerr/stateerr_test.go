package stateerr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"syscall"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func typeName(err error) string { return reflect.TypeOf(err).Elem().Name() }

func TestNamedKeepsTypeAndFullMessage(t *testing.T) {
	inner := &PoolNotFound{Msg: "user pool ap-northeast-1_x does not exist"}
	wrapped := fmt.Errorf("export ap-northeast-1_x: %w", inner)

	got := Named(wrapped)

	if name := typeName(got); name != "PoolNotFound" {
		t.Errorf("type name = %q, want PoolNotFound", name)
	}
	if got.Error() != wrapped.Error() {
		t.Errorf("message = %q, want %q", got.Error(), wrapped.Error())
	}
	if Named(nil) != nil {
		t.Error("Named(nil) != nil")
	}
}

// sdkError builds the error chain the SDK returns for an API error answered with status.
func sdkError(status int, code string) error {
	return &smithy.OperationError{ServiceID: "Cognito Identity Provider", OperationName: "ListUsers",
		Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "from the service"},
		}}
}

// TestNamedMapsEverythingIntoTheClosedSet: whatever a step returns, Step Functions sees one of
// Names() — a transient failure as Transient (which the state machines retry), anything else as
// TaskFailed — never wrapError or an SDK type.
func TestNamedMapsEverythingIntoTheClosedSet(t *testing.T) {
	reset := &url.Error{Op: "Post", URL: "https://cognito-idp.ap-northeast-1.amazonaws.com/",
		Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"throttled", fmt.Errorf("list users: %w", sdkError(400, "TooManyRequestsException")), "Transient"},
		{"internal error 500", fmt.Errorf("list users: %w", sdkError(500, "InternalErrorException")), "Transient"},
		{"service unavailable 503", sdkError(503, "ServiceUnavailable"), "Transient"},
		{"connection reset", fmt.Errorf("list users: %w", &smithy.OperationError{Err: reset}), "Transient"},
		{"connection refused", &url.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, "Transient"},
		{"deadline", fmt.Errorf("apply: %w", context.DeadlineExceeded), "Transient"},
		{"canceled", fmt.Errorf("apply: %w", context.Canceled), "TaskFailed"},
		{"access denied", sdkError(400, "AccessDeniedException"), "TaskFailed"},
		{"not authorized", sdkError(400, "NotAuthorizedException"), "TaskFailed"},
		{"plain", errors.New("boom"), "TaskFailed"},
		{"named wins over transient", fmt.Errorf("%w: %w", &SnapshotInvalid{"bad"}, context.DeadlineExceeded), "SnapshotInvalid"},
	}
	names := map[string]bool{}
	for _, n := range Names() {
		names[n] = true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Named(tt.err)
			if typeName(got) != tt.want {
				t.Errorf("Named(%v) is %s, want %s", tt.err, typeName(got), tt.want)
			}
			if !names[typeName(got)] {
				t.Errorf("%s is not in Names()", typeName(got))
			}
			if got.Error() != tt.err.Error() {
				t.Errorf("message %q, want %q", got.Error(), tt.err.Error())
			}
		})
	}
}

func TestNamesAreTheTypeNames(t *testing.T) {
	want := []string{"InvalidInput", "PoolNotFound", "BucketNotFound", "SnapshotInvalid", "PoolNotImportable", "Transient", "TaskFailed", "PlanTampered"}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}
