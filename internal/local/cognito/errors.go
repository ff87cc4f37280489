package cognito

import (
	"fmt"
	"net/http"
)

// apiError is an error answered to the client in the AWS JSON 1.1 error shape. The SDK picks the
// typed error from the x-amzn-ErrorType header (then __type), so Code must be AWS's exception name.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func errInvalidParameter(format string, args ...any) *apiError {
	return newError("InvalidParameterException", format, args...)
}

// errNull is the validation message AWS gives for a missing required member.
func errNull(member string) *apiError {
	return errInvalidParameter("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func errPoolNotFound(id string) *apiError {
	return newError("ResourceNotFoundException", "User pool %s does not exist.", id)
}

func errUserNotFound() *apiError {
	return newError("UserNotFoundException", "User does not exist.")
}

func errGroupNotFound() *apiError {
	return newError("ResourceNotFoundException", "Group not found.")
}

func errTooManyRequests() *apiError {
	return newError("TooManyRequestsException", "Too many requests")
}

func errInternal() *apiError {
	return &apiError{Code: "InternalErrorException", Message: "Internal server error.", Status: http.StatusInternalServerError}
}

func errSchema(format string, args ...any) *apiError {
	return errInvalidParameter("Attributes did not conform to the schema: "+format, args...)
}
