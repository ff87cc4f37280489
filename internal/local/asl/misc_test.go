package asl_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

// The executor's own clock in a synctest bubble: time moves only when every goroutine waits, so
// Wait states, task timeouts and history times are exact, and nothing waits on the wall clock.
// (Workflow tests serve real loopback HTTP, which a bubble cannot hold: they keep FakeClock.)

func TestRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex, _ := newExecutor(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"P"},"P":{"Type":"Pass","Result":1,"End":true}}}`,
			nil, asl.WithClock(asl.RealClock{}))
		began := time.Now()
		x := finish(t, start(t, ex, `{}`))
		if got := string(x.Output()); got != "1" {
			t.Errorf("output = %s, want 1", got)
		}
		if got := time.Since(began); got != 5*time.Second {
			t.Errorf("execution took %v, want the Wait state's 5s", got)
		}
		h := x.History()
		if got := h[len(h)-1].Time.Sub(h[0].Time); got != 5*time.Second {
			t.Errorf("history spans %v, want 5s", got)
		}
	})
}

func TestTimeoutSecondsPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		slow := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"slow","TimeoutSecondsPath":"$.timeout","End":true}}}`
		ex, _ := newExecutor(t, def, map[string]asl.TaskFunc{"slow": slow}, asl.WithClock(asl.RealClock{}))
		x := start(t, ex, `{"timeout":90}`)
		<-started
		time.Sleep(89 * time.Second)
		synctest.Wait()
		select {
		case <-x.Done():
			t.Fatal("timed out early")
		default:
		}
		time.Sleep(time.Second)
		if diff := cmp.Diff(failed("States.Timeout", "Task timed out"), outcomeOf(t, finish(t, x))); diff != "" {
			t.Errorf("outcome (-want +got):\n%s", diff)
		}
		var types []asl.EventType
		at := map[asl.EventType]time.Time{}
		for _, ev := range x.History() {
			types = append(types, ev.Type)
			at[ev.Type] = ev.Time
		}
		want := []asl.EventType{asl.EventExecutionStarted, asl.EventStateEntered, asl.EventTaskScheduled, asl.EventTaskTimedOut, asl.EventExecutionFailed}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		if got := at[asl.EventTaskTimedOut].Sub(at[asl.EventTaskScheduled]); got != 90*time.Second {
			t.Errorf("task timed out after %v, want 90s", got)
		}
	})
}

func TestNestedScopes(t *testing.T) {
	def := `{"StartAt":"Outer","States":{"Outer":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"Inner","States":{
		"Inner":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"Leaf","States":{"Leaf":{"Type":"Pass","End":true}}}]}}}}}}`
	x := runDef(t, def, nil, `[[1],[2]]`)
	if diff := cmp.Diff(succeeded(t, `[[[1]],[[2]]]`), outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Leaf"}, x.PathIn("Outer[1]/Inner[0]")); diff != "" {
		t.Errorf("nested path (-want +got):\n%s", diff)
	}
}

func TestStartRejectsLargeInput(t *testing.T) {
	ex, _ := newExecutor(t, `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, nil)
	if _, err := ex.Start(context.Background(), "", json.RawMessage(`"`+stringOf('x', 256*1024)+`"`)); err == nil {
		t.Error("Start accepted an input over 256 KiB")
	}
}
