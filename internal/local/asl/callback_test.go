package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

const snsWait = "arn:aws:states:::sns:publish.waitForTaskToken"

// approvalDef waits for an operator's approval through a task token.
const approvalDef = `{"StartAt":"WaitForApproval","States":{
	"WaitForApproval":{"Type":"Task","Resource":"` + snsWait + `",
		"Parameters":{"TopicArn":"arn:aws:sns:ap-northeast-1:123456789012:approvals","Message":{"token.$":"$$.Task.Token","pool.$":"$.pool"}},
		"TimeoutSeconds":3600,"HeartbeatSeconds":600,"ResultPath":"$.approval","Next":"Failback",
		"Catch":[{"ErrorEquals":["States.HeartbeatTimeout"],"ResultPath":"$.error","Next":"NoHeartbeat"}]},
	"Failback":{"Type":"Succeed"},
	"NoHeartbeat":{"Type":"Fail","Error":"NoHeartbeat"}}}`

// publisher captures the task token of each publish.
func publisher() (asl.TaskFunc, chan string) {
	tokens := make(chan string, 10)
	return func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Message struct{ Token, Pool string } }
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		tokens <- p.Message.Token
		return json.RawMessage(`{"MessageId":"ignored"}`), nil
	}, tokens
}

func receive(t *testing.T, tokens chan string) string {
	t.Helper()
	select {
	case tok := <-tokens:
		return tok
	case <-time.After(5 * time.Second):
		t.Fatal("no task token published")
		return ""
	}
}

func TestWaitForTaskToken(t *testing.T) {
	tests := []struct {
		name     string
		act      func(t *testing.T, ex *asl.Executor, clock *asl.FakeClock, token string)
		want     outcome
		wantPath []string
	}{{
		name: "success",
		act: func(t *testing.T, ex *asl.Executor, _ *asl.FakeClock, token string) {
			if err := ex.SendTaskSuccess(token, json.RawMessage(`{"approved":true}`)); err != nil {
				t.Fatal(err)
			}
		},
		want:     succeeded(t, `{"pool":"p1","approval":{"approved":true}}`),
		wantPath: []string{"WaitForApproval", "Failback"},
	}, {
		name: "failure",
		act: func(t *testing.T, ex *asl.Executor, _ *asl.FakeClock, token string) {
			if err := ex.SendTaskFailure(token, "Rejected", "operator said no"); err != nil {
				t.Fatal(err)
			}
		},
		want:     failed("Rejected", "operator said no"),
		wantPath: []string{"WaitForApproval"},
	}, {
		name: "heartbeats keep it alive until TimeoutSeconds",
		act: func(t *testing.T, ex *asl.Executor, clock *asl.FakeClock, token string) {
			for range 7 { // 7 × 590s = 4130s > 3600s
				clock.Advance(590 * time.Second)
				if err := ex.SendTaskHeartbeat(token); err != nil {
					if !errors.Is(err, asl.ErrTaskTimedOut) {
						t.Errorf("SendTaskHeartbeat: %v", err)
					}
					return
				}
			}
		},
		want:     failed("States.Timeout", ""),
		wantPath: []string{"WaitForApproval"},
	}, {
		name: "heartbeat timeout",
		act: func(t *testing.T, ex *asl.Executor, clock *asl.FakeClock, token string) {
			clock.Advance(599 * time.Second)
			if err := ex.SendTaskHeartbeat(token); err != nil {
				t.Fatal(err)
			}
			clock.Advance(599 * time.Second)
			clock.Advance(time.Second)
		},
		want:     failed("NoHeartbeat", ""),
		wantPath: []string{"WaitForApproval", "NoHeartbeat"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			publish, tokens := publisher()
			ex, clock := newExecutor(t, approvalDef, map[string]asl.TaskFunc{snsWait: publish})
			x := start(t, ex, `{"pool":"p1"}`)
			token := receive(t, tokens)
			tt.act(t, ex, clock, token)
			got := outcomeOf(t, finish(t, x))
			if diff := cmp.Diff(tt.want, got, ignoreCause); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPath, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			if err := ex.SendTaskSuccess(token, json.RawMessage(`{}`)); err == nil {
				t.Error("SendTaskSuccess after the task ended succeeded")
			}
		})
	}
}

func TestTaskTokenErrors(t *testing.T) {
	publish, tokens := publisher()
	ex, clock := newExecutor(t, approvalDef, map[string]asl.TaskFunc{snsWait: publish})
	x := start(t, ex, `{"pool":"p1"}`)
	token := receive(t, tokens)
	if err := ex.SendTaskSuccess("not-a-token", json.RawMessage(`{}`)); !errors.Is(err, asl.ErrInvalidToken) {
		t.Errorf("unknown token: %v, want ErrInvalidToken", err)
	}
	if err := ex.SendTaskSuccess(token, json.RawMessage(`{bad`)); !errors.Is(err, asl.ErrInvalidOutput) {
		t.Errorf("bad output: %v, want ErrInvalidOutput", err)
	}
	clock.Advance(time.Hour)
	finish(t, x)
	if err := ex.SendTaskSuccess(token, json.RawMessage(`{}`)); !errors.Is(err, asl.ErrTaskTimedOut) {
		t.Errorf("after timeout: %v, want ErrTaskTimedOut", err)
	}
	other := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if err := ex.SendTaskHeartbeat(other); !errors.Is(err, asl.ErrTaskDoesNotExist) {
		t.Errorf("never issued: %v, want ErrTaskDoesNotExist", err)
	}
}

func TestTaskTimeout(t *testing.T) {
	started := make(chan struct{})
	slow := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"slow","TimeoutSeconds":30,"End":true,
		"Retry":[{"ErrorEquals":["States.TaskFailed"]}],
		"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"TimedOut"}]},
		"TimedOut":{"Type":"Pass","End":true}}}`
	ex, clock := newExecutor(t, def, map[string]asl.TaskFunc{"slow": slow})
	x := start(t, ex, `{}`)
	<-started
	clock.Advance(30 * time.Second)
	// States.TaskFailed does not match States.Timeout, so no retry happens.
	got := outcomeOf(t, finish(t, x))
	if diff := cmp.Diff(succeeded(t, `{"Error":"States.Timeout","Cause":"Task timed out"}`), got); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("retried a timeout: sleeps %v", clock.Sleeps())
	}
}
