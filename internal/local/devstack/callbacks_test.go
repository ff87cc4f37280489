package devstack

import (
	"errors"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

// TestCallbackErrors: a token whose task timed out or whose execution ended is approval.ErrTaskEnded,
// as the Step Functions API's TaskTimedOut and TaskDoesNotExist are; a malformed token is not.
func TestCallbackErrors(t *testing.T) {
	for _, err := range []error{asl.ErrTaskTimedOut, asl.ErrTaskDoesNotExist} {
		if !errors.Is(aslError("op", err), approval.ErrTaskEnded) {
			t.Errorf("asl %v is not ErrTaskEnded", err)
		}
	}
	if errors.Is(aslError("op", asl.ErrInvalidToken), approval.ErrTaskEnded) {
		t.Error("asl ErrInvalidToken is ErrTaskEnded")
	}
}
