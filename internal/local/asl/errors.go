package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Error names defined by the States Language that this package reports or matches.
const (
	ErrorAll               = "States.ALL"
	ErrorTimeout           = "States.Timeout"
	ErrorHeartbeatTimeout  = "States.HeartbeatTimeout"
	ErrorTaskFailed        = "States.TaskFailed"
	ErrorNoChoiceMatched   = "States.NoChoiceMatched"
	ErrorResultPathMatch   = "States.ResultPathMatchFailure"
	ErrorIntrinsicFailure  = "States.IntrinsicFailure"
	ErrorRuntime           = "States.Runtime"
	ErrorDataLimitExceeded = "States.DataLimitExceeded"
	ErrorBranchFailed      = "States.BranchFailed"
	ErrorParameterPath     = "States.ParameterPathFailure"
	ErrorPermissions       = "States.Permissions"
)

// TaskError is an error with an explicit States Language error name, for
// bindings of resources that are not Lambda functions (for example an SNS
// publish that fails with "SNS.InvalidParameterException"). A TaskFunc that
// returns a TaskError or *TaskError directly fails the task with Name and
// Cause as given; wrapped TaskErrors get Lambda naming like any other error.
type TaskError struct {
	Name  string
	Cause string
}

// Error returns "Name: Cause".
func (e TaskError) Error() string { return e.Name + ": " + e.Cause }

// stateErr is an error a state reports, named as in the States Language.
type stateErr struct {
	name  string
	cause string
	// heartbeat marks a States.Timeout caused by a missed heartbeat, which
	// States.HeartbeatTimeout also matches.
	heartbeat bool
	// aborted marks the run being stopped (abort, execution timeout or a
	// sibling branch failing), not a failure of the state itself.
	aborted bool
}

func (e *stateErr) Error() string { return e.name + ": " + e.cause }

func newErr(name, format string, a ...any) *stateErr {
	return &stateErr{name: name, cause: fmt.Sprintf(format, a...)}
}

// terminal errors fail the execution: no Retry or Catch applies.
func (e *stateErr) terminal() bool {
	return e.aborted || e.name == ErrorRuntime || e.name == ErrorDataLimitExceeded
}

// matches reports whether a Retrier or Catcher ErrorEquals list covers e.
func (e *stateErr) matches(errorEquals []string) bool {
	for _, n := range errorEquals {
		switch {
		case n == e.name, n == ErrorAll:
			return true
		case n == ErrorTaskFailed && e.name != ErrorTimeout:
			return true
		case n == ErrorHeartbeatTimeout && e.heartbeat:
			return true
		}
	}
	return false
}

// pathError is a path that selected nothing where a value is required.
type pathError struct {
	path  string
	where string
}

func (e *pathError) Error() string {
	return fmt.Sprintf("the JSONPath %s specified for %s could not be found in the input", e.path, e.where)
}

// lambdaCause mirrors the error payload of a Go Lambda function, which Step
// Functions reports as the Cause of a failed Lambda task.
type lambdaCause struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// taskFailure converts an error returned by a TaskFunc to a state error,
// naming it exactly as aws-lambda-go names a Go Lambda's error: the reflect
// type name with one pointer dereferenced, so fmt.Errorf gives "wrapError" and
// errors.New gives "errorString".
func taskFailure(err error) *stateErr {
	switch e := err.(type) {
	case TaskError:
		return &stateErr{name: e.Name, cause: e.Cause}
	case *TaskError:
		return &stateErr{name: e.Name, cause: e.Cause}
	case messages.InvokeResponse_Error:
		return lambdaErr(e.Type, e.Message)
	case *messages.InvokeResponse_Error:
		return lambdaErr(e.Type, e.Message)
	}
	return lambdaErr(lambdaTypeName(err), err.Error())
}

func lambdaTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

func lambdaErr(name, message string) *stateErr {
	cause, err := json.Marshal(lambdaCause{Message: message, Type: name})
	if err != nil {
		cause = []byte(message)
	}
	return &stateErr{name: name, cause: string(cause)}
}

// Errors returned by the callback API, named after the Step Functions API errors.
var (
	// ErrTaskDoesNotExist: the token is unknown, or its task already completed.
	ErrTaskDoesNotExist = errors.New("TaskDoesNotExist: no running task has this token")
	// ErrTaskTimedOut: the token's task timed out before the call.
	ErrTaskTimedOut = errors.New("TaskTimedOut: the task for this token timed out")
	// ErrInvalidToken: the token is not a token this package issued.
	ErrInvalidToken = errors.New("InvalidToken: malformed task token")
	// ErrInvalidOutput: SendTaskSuccess output is not valid JSON.
	ErrInvalidOutput = errors.New("InvalidOutput: output is not valid JSON")
)
