package approval

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Callbacks resumes the execution waiting on a task token. Implementations wrap ErrTaskEnded when
// the task no longer waits (timed out, or the execution ended).
type Callbacks interface {
	SendTaskSuccess(ctx context.Context, token, output string) error
	SendTaskFailure(ctx context.Context, token, errorName, cause string) error
}

// ErrTaskEnded means the token's task no longer waits: it timed out or its execution ended.
var ErrTaskEnded = errors.New("the task no longer waits for this token")

// SFNAPI is what StepFunctions calls.
type SFNAPI interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// StepFunctions is Callbacks over the Step Functions API.
type StepFunctions struct{ Client SFNAPI }

// SendTaskSuccess calls states:SendTaskSuccess.
func (c StepFunctions) SendTaskSuccess(ctx context.Context, token, output string) error {
	_, err := c.Client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(output)})
	return sfnError("send task success", err)
}

// SendTaskFailure calls states:SendTaskFailure.
func (c StepFunctions) SendTaskFailure(ctx context.Context, token, errorName, cause string) error {
	_, err := c.Client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
		TaskToken: aws.String(token), Error: aws.String(errorName), Cause: aws.String(cause),
	})
	return sfnError("send task failure", err)
}

func sfnError(op string, err error) error {
	if err == nil {
		return nil
	}
	var timedOut *sfntypes.TaskTimedOut
	var gone *sfntypes.TaskDoesNotExist
	if errors.As(err, &timedOut) || errors.As(err, &gone) {
		return fmt.Errorf("%s: %w: %w", op, ErrTaskEnded, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
