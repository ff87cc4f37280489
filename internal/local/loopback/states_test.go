package loopback

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
)

// TestStepFunctionsRouting: Step Functions calls reach the handler set once the stack serves, and
// are refused, not sent to S3, before.
func TestStepFunctionsRouting(t *testing.T) {
	stack := startStack(t, Config{})
	client := sfn.NewFromConfig(stack.AWSConfig("ap-northeast-3"))
	_, err := client.ListStateMachines(t.Context(), &sfn.ListStateMachinesInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
		t.Errorf("ListStateMachines without a handler: %v, want UnknownOperationException", err)
	}
	stack.ServeStepFunctions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"stateMachines":[{"name":"`+r.Header.Get("X-Amz-Target")+`","stateMachineArn":"a","type":"STANDARD","creationDate":1}]}`)
	}))
	out, err := client.ListStateMachines(t.Context(), &sfn.ListStateMachinesInput{})
	if err != nil || len(out.StateMachines) != 1 || *out.StateMachines[0].Name != "AWSStepFunctions.ListStateMachines" {
		t.Errorf("ListStateMachines through the handler: %+v %v", out, err)
	}
}
