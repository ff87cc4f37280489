package asl

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// LambdaInvokeResource is the optimized Lambda integration's resource.
const LambdaInvokeResource = "arn:aws:states:::lambda:invoke"

// LambdaInvoke returns a TaskFunc for LambdaInvokeResource. Every state using
// that resource shares one binding, so it routes on the FunctionName
// parameter, exactly as written after substitution, to functions. It passes
// the Payload parameter to the function and wraps the result like the
// integration does ({"ExecutedVersion","Payload","SdkHttpMetadata",
// "SdkResponseMetadata","StatusCode"}). Function errors keep Lambda naming;
// an unknown FunctionName fails with Lambda.ResourceNotFoundException.
func LambdaInvoke(functions map[string]TaskFunc) TaskFunc {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		var p struct {
			FunctionName string
			Payload      json.RawMessage
		}
		if err := json.Unmarshal(input, &p); err != nil {
			return nil, TaskError{Name: "States.Runtime", Cause: fmt.Sprintf("lambda:invoke parameters: %v", err)}
		}
		fn, ok := functions[p.FunctionName]
		if !ok {
			return nil, TaskError{Name: "Lambda.ResourceNotFoundException",
				Cause: fmt.Sprintf("Function not found: %s", p.FunctionName)}
		}
		if len(p.Payload) == 0 {
			p.Payload = json.RawMessage("{}")
		}
		out, err := fn(ctx, p.Payload)
		if err != nil {
			return nil, err
		}
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		resp := map[string]any{
			"ExecutedVersion":     "$LATEST",
			"Payload":             out,
			"SdkHttpMetadata":     map[string]any{"HttpStatusCode": 200},
			"SdkResponseMetadata": map[string]any{"RequestId": uuid.NewString()},
			"StatusCode":          200,
		}
		return json.Marshal(resp)
	}
}
