package asl_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

func TestRealClock(t *testing.T) {
	m, err := asl.Parse([]byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":0,"Next":"P"},"P":{"Type":"Pass","Result":1,"End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := asl.NewExecutor(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x, err := ex.Run(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(x.Output()); got != "1" {
		t.Errorf("output = %s, want 1", got)
	}
}

func TestTimeoutSecondsPath(t *testing.T) {
	started := make(chan struct{})
	slow := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"slow","TimeoutSecondsPath":"$.timeout","End":true}}}`
	ex, clock := newExecutor(t, def, map[string]asl.TaskFunc{"slow": slow})
	x := start(t, ex, `{"timeout":90}`)
	<-started
	clock.Advance(89 * time.Second)
	select {
	case <-x.Done():
		t.Fatal("timed out early")
	case <-time.After(20 * time.Millisecond):
	}
	clock.Advance(time.Second)
	if diff := cmp.Diff(failed("States.Timeout", "Task timed out"), outcomeOf(t, finish(t, x))); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	var types []asl.EventType
	for _, ev := range x.History() {
		types = append(types, ev.Type)
	}
	want := []asl.EventType{asl.EventExecutionStarted, asl.EventStateEntered, asl.EventTaskScheduled, asl.EventTaskTimedOut, asl.EventExecutionFailed}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
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
