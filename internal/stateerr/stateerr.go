// Package stateerr holds the closed set of error names a task may report to Step Functions. A Go
// Lambda reports an error by its type name, so a Catch or Retry can only tell errors apart by
// type: these types are the only names ASL may list in ErrorEquals. Domain code wraps them freely
// (fmt.Errorf("...: %w", err)); the Lambda boundary passes every error through Named, so Step
// Functions sees "PoolNotFound", "Transient" or "TaskFailed" — never "wrapError" or an SDK type.
package stateerr

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Error is implemented only by the types of this package.
type Error interface {
	error
	// rename returns a copy of the error with msg as its message, keeping its type.
	rename(msg string) Error
}

// InvalidInput means the execution input (or a task's input) is malformed; retrying cannot help.
type InvalidInput struct{ Msg string }

// PoolNotFound means a user pool does not exist in the Region it was looked up in.
type PoolNotFound struct{ Msg string }

// BucketNotFound means the backup bucket does not exist or is not reachable with these credentials.
type BucketNotFound struct{ Msg string }

// SnapshotInvalid means a snapshot in S3 is missing a file or a file does not match its manifest.
type SnapshotInvalid struct{ Msg string }

// PoolNotImportable means the target pool cannot take an import at all (for example, it has no
// auto-verified attribute), so no CSV row could ever succeed.
type PoolNotImportable struct{ Msg string }

// Transient means the task failed on something that passes on its own: throttling, a 5xx answer,
// a connection reset or refused, a timeout. The state machines retry it with backoff long enough
// to ride out a regional Cognito outage of minutes, and the tasks resume from their checkpoints.
type Transient struct{ Msg string }

// TaskFailed is every other failure: a bug, a refused permission, an answer nobody planned for.
// Retrying is not expected to help; the message says what happened.
type TaskFailed struct{ Msg string }

// PlanTampered means a file the approver approved (a failback plan file or import CSV) changed
// after the approval was requested: the step refused it and changed nothing.
type PlanTampered struct{ Msg string }

func (e *InvalidInput) Error() string      { return e.Msg }
func (e *PoolNotFound) Error() string      { return e.Msg }
func (e *BucketNotFound) Error() string    { return e.Msg }
func (e *SnapshotInvalid) Error() string   { return e.Msg }
func (e *PoolNotImportable) Error() string { return e.Msg }
func (e *Transient) Error() string         { return e.Msg }
func (e *TaskFailed) Error() string        { return e.Msg }
func (e *PlanTampered) Error() string      { return e.Msg }

func (e *InvalidInput) rename(m string) Error      { return &InvalidInput{m} }
func (e *PoolNotFound) rename(m string) Error      { return &PoolNotFound{m} }
func (e *BucketNotFound) rename(m string) Error    { return &BucketNotFound{m} }
func (e *SnapshotInvalid) rename(m string) Error   { return &SnapshotInvalid{m} }
func (e *PoolNotImportable) rename(m string) Error { return &PoolNotImportable{m} }
func (e *Transient) rename(m string) Error         { return &Transient{m} }
func (e *TaskFailed) rename(m string) Error        { return &TaskFailed{m} }
func (e *PlanTampered) rename(m string) Error      { return &PlanTampered{m} }

// all is the closed set, in the order Names lists it.
var all = []Error{&InvalidInput{}, &PoolNotFound{}, &BucketNotFound{}, &SnapshotInvalid{}, &PoolNotImportable{},
	&Transient{}, &TaskFailed{}, &PlanTampered{}}

// Invalid returns an InvalidInput error with a formatted message.
func Invalid(format string, args ...any) error { return &InvalidInput{fmt.Sprintf(format, args...)} }

// Named returns err as one of the closed set, carrying err's full message, so that the Lambda
// runtime reports a stable type name and the whole context as the cause:
//   - the first Error in err's chain, if any;
//   - Transient, if the AWS SDK would retry err (throttling, 5xx, connection errors, timeouts) or
//     the task ran out of time (context deadline);
//   - TaskFailed otherwise.
func Named(err error) error {
	if err == nil {
		return nil
	}
	var se Error
	switch {
	case errors.As(err, &se):
		return se.rename(err.Error())
	case IsTransient(err):
		return &Transient{err.Error()}
	}
	return &TaskFailed{err.Error()}
}

// retryables is the SDK's own classification of errors worth retrying, the one its standard
// retryer applies to every call.
var retryables = retry.IsErrorRetryables(retry.DefaultRetryables)

// IsTransient reports whether err is one the SDK classifies as retryable or as throttling, or a
// context deadline (a call that did not answer in time). Cancellation is not transient: someone
// stopped the task on purpose.
func IsTransient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	return retryables.IsErrorRetryable(err) == aws.TrueTernary ||
		retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// Names lists the type names of every Error, as Step Functions sees them: the only names a task
// reports.
func Names() []string {
	names := make([]string, len(all))
	for i, e := range all {
		names[i] = reflect.TypeOf(e).Elem().Name()
	}
	return names
}
