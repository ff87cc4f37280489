package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

// failTimes returns a TaskFunc that fails with err n times, then returns out.
func failTimes(n int, err error, out string) (asl.TaskFunc, *atomic.Int32) {
	var calls atomic.Int32
	return func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if int(calls.Add(1)) <= n {
			return nil, err
		}
		return json.RawMessage(out), nil
	}, &calls
}

func retryDef(retry string) string {
	return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[` + retry + `],"End":true}}}`
}

func TestRetryBackoff(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		retry     string
		failures  int
		want      asl.Status
		wantWaits []time.Duration
		wantCalls int32
	}{{
		name:      "defaults: 3 attempts, 1s doubling",
		retry:     `{"ErrorEquals":["errorString"]}`,
		failures:  3,
		want:      asl.StatusSucceeded,
		wantWaits: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second},
		wantCalls: 4,
	}, {
		name:      "exhausted",
		retry:     `{"ErrorEquals":["States.ALL"]}`,
		failures:  10,
		want:      asl.StatusFailed,
		wantWaits: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second},
		wantCalls: 4,
	}, {
		name:      "MaxDelaySeconds caps the backoff",
		retry:     `{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":3,"MaxAttempts":5,"BackoffRate":3,"MaxDelaySeconds":20}`,
		failures:  5,
		want:      asl.StatusSucceeded,
		wantWaits: []time.Duration{3 * time.Second, 9 * time.Second, 20 * time.Second, 20 * time.Second, 20 * time.Second},
		wantCalls: 6,
	}, {
		name:      "fractional BackoffRate",
		retry:     `{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"MaxAttempts":2,"BackoffRate":1.5}`,
		failures:  2,
		want:      asl.StatusSucceeded,
		wantWaits: []time.Duration{2 * time.Second, 3 * time.Second},
		wantCalls: 3,
	}, {
		name:      "MaxAttempts 0 never retries",
		retry:     `{"ErrorEquals":["States.ALL"],"MaxAttempts":0}`,
		failures:  1,
		want:      asl.StatusFailed,
		wantCalls: 1,
	}, {
		name:      "error names match exactly",
		retry:     `{"ErrorEquals":["ErrorString"]}`,
		failures:  1,
		want:      asl.StatusFailed,
		wantCalls: 1,
	}, {
		name: "first matching retrier decides, counts are per retrier",
		retry: `{"ErrorEquals":["errorString"],"MaxAttempts":1,"IntervalSeconds":5},
			{"ErrorEquals":["States.ALL"],"MaxAttempts":5}`,
		failures:  2,
		want:      asl.StatusFailed,
		wantWaits: []time.Duration{5 * time.Second},
		wantCalls: 2,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, calls := failTimes(tt.failures, boom, `"ok"`)
			ex, clock := newExecutor(t, retryDef(tt.retry), map[string]asl.TaskFunc{"r": fn})
			x := finish(t, start(t, ex, `{}`))
			if got := x.Status(); got != tt.want {
				t.Errorf("status = %s, want %s (%s: %s)", got, tt.want, x.ErrorName(), x.Cause())
			}
			if diff := cmp.Diff(tt.wantWaits, clock.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			var retried []time.Duration
			for _, ev := range x.History() {
				if ev.Type == asl.EventRetry {
					retried = append(retried, ev.Wait)
				}
			}
			if diff := cmp.Diff(tt.wantWaits, retried); diff != "" {
				t.Errorf("RetryScheduled waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryJitterFull(t *testing.T) {
	fn, _ := failTimes(3, errors.New("boom"), `"ok"`)
	ex, clock := newExecutor(t, retryDef(`{"ErrorEquals":["States.ALL"],"IntervalSeconds":4,"JitterStrategy":"FULL"}`),
		map[string]asl.TaskFunc{"r": fn})
	finish(t, start(t, ex, `{}`))
	caps := []time.Duration{4 * time.Second, 8 * time.Second, 16 * time.Second}
	waits := clock.Sleeps()
	if len(waits) != len(caps) {
		t.Fatalf("waits = %v, want %d", waits, len(caps))
	}
	for i, w := range waits {
		if w < 0 || w > caps[i] {
			t.Errorf("wait %d = %v, want within [0, %v]", i, w, caps[i])
		}
	}
}

func TestRetryCountInContext(t *testing.T) {
	var seen []int
	fn := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v struct{ Count int }
		_ = json.Unmarshal(in, &v)
		seen = append(seen, v.Count)
		if v.Count < 2 {
			return nil, errors.New("again")
		}
		return in, nil
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"Count.$":"$$.State.RetryCount"},
		"Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}`
	x := runDef(t, def, map[string]asl.TaskFunc{"r": fn}, `{}`)
	if diff := cmp.Diff(succeeded(t, `{"Count":2}`), outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 2}, seen); diff != "" {
		t.Errorf("RetryCount seen (-want +got):\n%s", diff)
	}
}

type importFailed struct{ Job string }

func (e *importFailed) Error() string { return "import job " + e.Job + " failed" }

type quotaError struct{}

func (quotaError) Error() string { return "quota" }

func TestCatch(t *testing.T) {
	def := func(catch string) string {
		return `{"StartAt":"T","States":{
			"T":{"Type":"Task","Resource":"r","Catch":[` + catch + `],"Next":"Done"},
			"Done":{"Type":"Succeed"},
			"Handle":{"Type":"Pass","End":true}}}`
	}
	tests := []struct {
		name    string
		catch   string
		err     error
		want    outcome
		wantLog []string
	}{{
		name:    "ResultPath merges the error output into the input",
		catch:   `{"ErrorEquals":["wrapError"],"ResultPath":"$.error","Next":"Handle"}`,
		err:     fmt.Errorf("export users in pool-1: %w", errors.New("throttled")),
		want:    succeeded(t, `{"in":1,"error":{"Error":"wrapError","Cause":"{\"errorMessage\":\"export users in pool-1: throttled\",\"errorType\":\"wrapError\"}"}}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "default ResultPath replaces the input",
		catch:   `{"ErrorEquals":["errorString"],"Next":"Handle"}`,
		err:     errors.New("boom"),
		want:    succeeded(t, `{"Error":"errorString","Cause":"{\"errorMessage\":\"boom\",\"errorType\":\"errorString\"}"}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "ResultPath null discards the error",
		catch:   `{"ErrorEquals":["States.ALL"],"ResultPath":null,"Next":"Handle"}`,
		err:     errors.New("boom"),
		want:    succeeded(t, `{"in":1}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "custom pointer error type is named by its type",
		catch:   `{"ErrorEquals":["importFailed"],"ResultPath":"$.e","Next":"Handle"}`,
		err:     &importFailed{Job: "j-1"},
		want:    succeeded(t, `{"in":1,"e":{"Error":"importFailed","Cause":"{\"errorMessage\":\"import job j-1 failed\",\"errorType\":\"importFailed\"}"}}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "custom value error type",
		catch:   `{"ErrorEquals":["quotaError"],"ResultPath":"$.e.Error","Next":"Handle"}`,
		err:     quotaError{},
		want:    succeeded(t, `{"in":1,"e":{"Error":{"Error":"quotaError","Cause":"{\"errorMessage\":\"quota\",\"errorType\":\"quotaError\"}"}}}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "TaskError keeps its name and cause",
		catch:   `{"ErrorEquals":["SNS.InvalidParameterException"],"Next":"Handle"}`,
		err:     &asl.TaskError{Name: "SNS.InvalidParameterException", Cause: "bad topic"},
		want:    succeeded(t, `{"Error":"SNS.InvalidParameterException","Cause":"bad topic"}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "InvokeResponse_Error keeps its type",
		catch:   `{"ErrorEquals":["Custom"],"Next":"Handle"}`,
		err:     messages.InvokeResponse_Error{Type: "Custom", Message: "m"},
		want:    succeeded(t, `{"Error":"Custom","Cause":"{\"errorMessage\":\"m\",\"errorType\":\"Custom\"}"}`),
		wantLog: []string{"T", "Handle"},
	}, {
		name:    "wrapped TaskError is a wrapError, like in Lambda",
		catch:   `{"ErrorEquals":["SNS.Throttled"],"Next":"Handle"}`,
		err:     fmt.Errorf("publish: %w", asl.TaskError{Name: "SNS.Throttled", Cause: "slow"}),
		want:    failed("wrapError", `{"errorMessage":"publish: SNS.Throttled: slow","errorType":"wrapError"}`),
		wantLog: []string{"T"},
	}, {
		name:    "first matching catcher wins",
		catch:   `{"ErrorEquals":["errorString"],"ResultPath":"$.first","Next":"Handle"},{"ErrorEquals":["States.ALL"],"Next":"Done"}`,
		err:     errors.New("x"),
		want:    succeeded(t, `{"in":1,"first":{"Error":"errorString","Cause":"{\"errorMessage\":\"x\",\"errorType\":\"errorString\"}"}}`),
		wantLog: []string{"T", "Handle"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, tt.err }
			x := runDef(t, def(tt.catch), map[string]asl.TaskFunc{"r": fn}, `{"in":1}`)
			if diff := cmp.Diff(tt.want, outcomeOf(t, x)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLog, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryThenCatch(t *testing.T) {
	fn, calls := failTimes(100, errors.New("down"), `null`)
	def := `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"r","Next":"Done",
			"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2}],
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Notify"}]},
		"Done":{"Type":"Succeed"},
		"Notify":{"Type":"Fail","ErrorPath":"$.err.Error","CausePath":"$.err.Cause"}}}`
	ex, clock := newExecutor(t, def, map[string]asl.TaskFunc{"r": fn})
	x := finish(t, start(t, ex, `{}`))
	want := failed("errorString", `{"errorMessage":"down","errorType":"errorString"}`)
	if diff := cmp.Diff(want, outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"T", "Notify"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if calls.Load() != 3 || len(clock.Sleeps()) != 2 {
		t.Errorf("calls = %d, sleeps = %v; want 3 calls and 2 sleeps", calls.Load(), clock.Sleeps())
	}
}

func TestPanicIsNamedLikeLambda(t *testing.T) {
	fn := func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("oops") }
	x := runDef(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}}`, map[string]asl.TaskFunc{"r": fn}, `{}`)
	if diff := cmp.Diff(failed("string", `{"errorMessage":"oops","errorType":"string"}`), outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
}
