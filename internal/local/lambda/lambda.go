// Package lambda is the local AWS's Lambda Invoke endpoint: functions registered in Go, invoked
// synchronously over the REST API the SDK calls (POST /2015-03-31/functions/{name}/invocations),
// so a gate trigger chains to a pool's own function locally as it does in AWS.
package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
)

// PathPrefix starts the path of every Invoke request.
const PathPrefix = "/2015-03-31/functions/"

// maxPayload is the synchronous invocation payload limit (6 MB).
const maxPayload = 6 << 20

// Func is a function as Lambda runs it: the event in, the answer out. An error is the
// function's own error (Lambda's FunctionError: Unhandled).
type Func func(ctx context.Context, event json.RawMessage) (json.RawMessage, error)

// Functions are the registered functions by ARN. It is safe for concurrent use.
type Functions struct {
	accountID string

	mu  sync.RWMutex
	fns map[string]Func
}

// New returns a registry whose function ARNs are in accountID.
func New(accountID string) *Functions {
	return &Functions{accountID: accountID, fns: map[string]Func{}}
}

// Register serves fn under its function ARN (arn:aws:lambda:<region>:<account>:function:<name>).
func (f *Functions) Register(arn string, fn Func) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns[arn] = fn
}

// ServeHTTP serves one Invoke request.
func (f *Functions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), PathPrefix)
	name, isInvoke := strings.CutSuffix(rest, "/invocations")
	if !ok || !isInvoke || r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "only Invoke is emulated")
		return
	}
	name, err := url.PathUnescape(name)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "function name is not a valid path segment")
		return
	}
	switch t := r.Header.Get("X-Amz-Invocation-Type"); t {
	case "", "RequestResponse":
	default:
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf("invocation type %s is not emulated", t))
		return
	}
	arn := f.arn(name, region(r))
	f.mu.RLock()
	fn := f.fns[arn]
	f.mu.RUnlock()
	if fn == nil {
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "cannot read the payload")
		return
	}
	if len(payload) > maxPayload {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	out, fnErr := run(r.Context(), fn, payload)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Header().Set("Content-Type", "application/json")
	if fnErr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		body, _ := json.Marshal(map[string]string{"errorMessage": fnErr.message, "errorType": fnErr.typ})
		w.Write(body) //nolint:errcheck // the client went away
		return
	}
	w.Write(out) //nolint:errcheck // the client went away
}

type functionError struct{ message, typ string }

// run calls fn as the Go runtime does: an error is reported by its message and its type's name,
// a panic by its value and the value's type's name.
func run(ctx context.Context, fn Func, payload json.RawMessage) (out json.RawMessage, ferr *functionError) {
	defer func() {
		if p := recover(); p != nil {
			ferr = &functionError{message: fmt.Sprint(p), typ: goTypeName(p)}
		}
	}()
	out, err := fn(ctx, payload)
	if err != nil {
		return nil, &functionError{message: err.Error(), typ: goTypeName(err)}
	}
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	return out, nil
}

// goTypeName is how the Go runtime names an error's type: its name, pointer dereferenced.
func goTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// arn resolves a FunctionName (a name, a partial ARN account:function:name or a full ARN,
// any of them with an optional :$LATEST) to the function's ARN in region.
func (f *Functions) arn(name, region string) string {
	name = strings.TrimSuffix(name, ":$LATEST")
	switch parts := strings.Split(name, ":"); {
	case strings.HasPrefix(name, "arn:"):
		return name
	case len(parts) == 3 && parts[1] == "function":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, parts[0], parts[2])
	}
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, f.accountID, name)
}

// region is the Region of the request's SigV4 credential scope.
func region(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return "us-east-1"
	}
	cred, _, _ = strings.Cut(cred, ",")
	if parts := strings.Split(cred, "/"); len(parts) == 5 {
		return parts[2]
	}
	return "us-east-1"
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"Type": "User", "message": message})
	w.Write(body) //nolint:errcheck // the client went away
}
