package asl_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newExecutor parses def and binds tasks, on a fake clock.
func newExecutor(t *testing.T, def string, tasks map[string]asl.TaskFunc, opts ...asl.Option) (*asl.Executor, *asl.FakeClock) {
	t.Helper()
	m, err := asl.Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	clock := asl.NewFakeClock(epoch)
	ex, err := asl.NewExecutor(m, tasks, append([]asl.Option{asl.WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatalf("NewExecutor: %v", err)
	}
	return ex, clock
}

// start starts an execution; finish waits for it with a deadline.
func start(t *testing.T, ex *asl.Executor, input string) *asl.Execution {
	t.Helper()
	x, err := ex.Start(context.Background(), "", json.RawMessage(input))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return x
}

func finish(t *testing.T, x *asl.Execution) *asl.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v (path %v)", err, x.Path())
	}
	return x
}

func runDef(t *testing.T, def string, tasks map[string]asl.TaskFunc, input string) *asl.Execution {
	t.Helper()
	ex, _ := newExecutor(t, def, tasks)
	return finish(t, start(t, ex, input))
}

// outcome is what a test asserts about a finished execution.
type outcome struct {
	Status asl.Status
	Output any
	Error  string
	Cause  string
}

func outcomeOf(t *testing.T, x *asl.Execution) outcome {
	t.Helper()
	o := outcome{Status: x.Status(), Error: x.ErrorName(), Cause: x.Cause()}
	if out := x.Output(); out != nil {
		o.Output = decode(t, string(out))
	}
	return o
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func succeeded(t *testing.T, output string) outcome {
	return outcome{Status: asl.StatusSucceeded, Output: decode(t, output)}
}

func failed(name, cause string) outcome {
	return outcome{Status: asl.StatusFailed, Error: name, Cause: cause}
}

// ignoreCause compares outcomes without the Cause text.
var ignoreCause = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Cause" }, cmp.Ignore())

// fixed returns a TaskFunc that always returns out.
func fixed(out string) asl.TaskFunc {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(out), nil }
}

// echo returns its input.
func echo(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
