package lambdamain

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

type in struct {
	Pool string `json:"pool"`
}

type out struct {
	Pool string `json:"pool"`
}

func step(_ context.Context, i in) (out, error) {
	if i.Pool == "" {
		return out{}, stateerr.Invalid("pool is required")
	}
	return out{Pool: i.Pool}, nil
}

// TestHandlerThroughTheLambdaRuntime builds a task the way main does and invokes it through
// aws-lambda-go's own handler, as the Lambda runtime does: output and error type names must be
// what the state machines expect.
func TestHandlerThroughTheLambdaRuntime(t *testing.T) {
	t.Setenv("AWS_REGION", "ap-northeast-3")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	load := func(getenv func(string) string, _ *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error) {
		return map[string]boundary.Func{"StepFunctionArn": boundary.Handler("step", step, log)}, nil
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if _, err := build("MissingFunctionArn", load, log); err == nil {
		t.Error("a placeholder the workflow lacks must not start")
	}
	h, err := build("StepFunctionArn", load, log)
	if err != nil {
		t.Fatal(err)
	}
	rt := lambda.NewHandler(h)
	got, err := rt.Invoke(context.Background(), []byte(`{"pool":"ap-northeast-1_A"}`))
	if err != nil || string(got) != `{"pool":"ap-northeast-1_A"}` {
		t.Errorf("Invoke = %s, %v", got, err)
	}
	_, err = rt.Invoke(context.Background(), []byte(`{"pool":""}`))
	if boundary.TypeName(err) != "InvalidInput" {
		t.Errorf("error type %q (%v), want InvalidInput as the runtime reports it", boundary.TypeName(err), err)
	}
	_, err = rt.Invoke(context.Background(), []byte(`{"pool":"x","extra":1}`))
	if boundary.TypeName(err) != "InvalidInput" {
		t.Errorf("unknown field: error type %q (%v), want InvalidInput", boundary.TypeName(err), err)
	}
}
