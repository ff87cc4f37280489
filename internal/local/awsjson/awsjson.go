// Package awsjson is what the local AWS's JSON 1.1 emulators (Parameter Store, Secrets Manager)
// share: the operation named by X-Amz-Target, the Region a request is signed for, and the
// answer, a result or an error as {"__type", "message"}. It holds no service's behaviour.
package awsjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ContentType is the media type of AWS JSON 1.1 requests and answers.
const ContentType = "application/x-amz-json-1.1"

// Error is an AWS error answer: Code is its __type.
type Error struct {
	Code, Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf is an Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Request is one signed request, read.
type Request struct {
	// Op is the operation, the X-Amz-Target after the service's prefix.
	Op string
	// Region is the Region of the SigV4 credential scope.
	Region string
	Body   []byte
}

// Read checks that r names an operation of the service whose targets start with prefix and is
// signed, and reads its body (at most 1 MiB). Its error is the answer to send.
func Read(r *http.Request, prefix string) (Request, error) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), prefix)
	if !ok {
		return Request{}, &Error{"UnknownOperationException", "missing or unknown X-Amz-Target"}
	}
	region, signed := SignedRegion(r.Header.Get("Authorization"))
	if !signed {
		return Request{}, &Error{"MissingAuthenticationTokenException", "Request is missing Authentication Token"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return Request{}, &Error{"ValidationException", "cannot read the request: " + err.Error()}
	}
	return Request{Op: op, Region: region, Body: body}, nil
}

// SignedRegion reads the Region of a SigV4 Authorization header
// (Credential=AKID/20261201/<region>/<service>/aws4_request). The signature is not checked.
func SignedRegion(auth string) (string, bool) {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", false
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[2] == "" {
		return "", false
	}
	return parts[2], true
}

// Write answers with out, or with err as a 400 error answer; an err that is not an *Error is
// answered as internal, with the code the service uses for its own failures.
func Write(w http.ResponseWriter, out any, err error, internalCode string) {
	w.Header().Set("Content-Type", ContentType)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			ae = &Error{internalCode, err.Error()}
		}
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": ae.Code, "message": ae.Message}) //nolint:errcheck // the client went away
		return
	}
	json.NewEncoder(w).Encode(out) //nolint:errcheck // the client went away
}
