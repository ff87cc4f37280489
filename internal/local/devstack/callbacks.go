package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

// Callbacks is approval.Callbacks over the local Step Functions executor (internal/local/asl).
type Callbacks struct{ Executor *asl.Executor }

// SendTaskSuccess completes the local task holding token.
func (c Callbacks) SendTaskSuccess(_ context.Context, token, output string) error {
	return aslError("send task success", c.Executor.SendTaskSuccess(token, json.RawMessage(output)))
}

// SendTaskFailure fails the local task holding token.
func (c Callbacks) SendTaskFailure(_ context.Context, token, errorName, cause string) error {
	return aslError("send task failure", c.Executor.SendTaskFailure(token, errorName, cause))
}

func aslError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, asl.ErrTaskTimedOut) || errors.Is(err, asl.ErrTaskDoesNotExist) {
		return fmt.Errorf("%s: %w: %w", op, approval.ErrTaskEnded, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
