package asl_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

// TestMap runs in a synctest bubble: each iteration's 5 ms of work is on the bubble's clock, which
// moves only once every running iteration waits, so MaxConcurrency iterations always overlap.
func TestMap(t *testing.T) { synctest.Test(t, testMap) }

func testMap(t *testing.T) {
	var inFlight, peak atomic.Int32
	work := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // the work takes time, so iterations overlap
		inFlight.Add(-1)
		return in, nil
	}
	def := `{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.users","MaxConcurrency":2,
		"ItemSelector":{"index.$":"$$.Map.Item.Index","user.$":"$$.Map.Item.Value","pool.$":"$.pool"},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Work","States":{
			"Work":{"Type":"Task","Resource":"work","Next":"Tag"},
			"Tag":{"Type":"Pass","Result":"done","ResultPath":"$.status","End":true}}},
		"ResultSelector":{"count.$":"States.ArrayLength($)","items.$":"$"},
		"ResultPath":"$.result","Next":"After"},
		"After":{"Type":"Succeed"}}}`
	x := runDef(t, def, map[string]asl.TaskFunc{"work": work}, `{"pool":"p1","users":["a","b","c","d","e"]}`)
	want := succeeded(t, `{"pool":"p1","users":["a","b","c","d","e"],"result":{"count":5,"items":[
		{"index":0,"user":"a","pool":"p1","status":"done"},{"index":1,"user":"b","pool":"p1","status":"done"},
		{"index":2,"user":"c","pool":"p1","status":"done"},{"index":3,"user":"d","pool":"p1","status":"done"},
		{"index":4,"user":"e","pool":"p1","status":"done"}]}}`)
	if diff := cmp.Diff(want, outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency = %d, want 2 (MaxConcurrency)", p)
	}
	if diff := cmp.Diff([]string{"Each", "After"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Work", "Tag"}, x.PathIn("Each[3]")); diff != "" {
		t.Errorf("iteration 3 path (-want +got):\n%s", diff)
	}
}

func TestMapLegacyIteratorAndFailure(t *testing.T) {
	fail := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		if string(in) == `2` {
			return nil, &asl.TaskError{Name: "Item.Bad", Cause: "item 2"}
		}
		return in, nil
	}
	def := `{"StartAt":"Each","States":{"Each":{"Type":"Map","Parameters":{"v.$":"$$.Map.Item.Value"},
		"Iterator":{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"w","InputPath":"$.v","End":true}}},
		"Catch":[{"ErrorEquals":["Item.Bad"],"ResultPath":"$.error","Next":"Failed"}],"End":true},
		"Failed":{"Type":"Pass","End":true}}}`
	x := runDef(t, def, map[string]asl.TaskFunc{"w": fail}, `[1,2,3]`)
	// A top-level array input cannot take a ResultPath: the catch fails.
	if diff := cmp.Diff(failed("States.ResultPathMatchFailure", ""), outcomeOf(t, x), ignoreCause); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	x = runDef(t, def, map[string]asl.TaskFunc{"w": fail}, `{"items":[1,2,3]}`)
	if x.Status() != asl.StatusFailed || x.ErrorName() != "States.Runtime" {
		t.Errorf("Map over an object: got %s %s, want States.Runtime", x.Status(), x.ErrorName())
	}
	withItemsPath := strings.Replace(def, `"Type":"Map",`, `"Type":"Map","ItemsPath":"$.items",`, 1)
	x = runDef(t, withItemsPath, map[string]asl.TaskFunc{"w": fail}, `{"items":[1,2,3]}`)
	want := succeeded(t, `{"items":[1,2,3],"error":{"Error":"Item.Bad","Cause":"item 2"}}`)
	if diff := cmp.Diff(want, outcomeOf(t, x)); diff != "" {
		t.Errorf("caught Map failure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Each", "Failed"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
}

func TestParallel(t *testing.T) {
	def := `{"StartAt":"Both","States":{"Both":{"Type":"Parallel","Parameters":{"v.$":"$.v"},"ResultPath":"$.out","End":true,
		"Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.v"},"End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"b","Next":"B2"},"B2":{"Type":"Pass","End":true}}}]}}}`
	x := runDef(t, def, map[string]asl.TaskFunc{"b": fixed(`"from b"`)}, `{"v":7}`)
	if diff := cmp.Diff(succeeded(t, `{"v":7,"out":[{"a":7},"from b"]}`), outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"B", "B2"}, x.PathIn("Both[1]")); diff != "" {
		t.Errorf("branch path (-want +got):\n%s", diff)
	}

	x = runDef(t, def, map[string]asl.TaskFunc{"b": func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, errors.New("branch down")
	}}, `{"v":7}`)
	if diff := cmp.Diff(failed("errorString", ""), outcomeOf(t, x), ignoreCause); diff != "" {
		t.Errorf("failing branch outcome (-want +got):\n%s", diff)
	}
}

// TestPollLoop is the Wait + Choice pattern for long Cognito import jobs.
func TestPollLoop(t *testing.T) {
	var polls atomic.Int32
	poll := func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if polls.Add(1) <= 2 {
			return json.RawMessage(`{"Status":"IN_PROGRESS"}`), nil
		}
		return json.RawMessage(`{"Status":"SUCCEEDED","Imported":42}`), nil
	}
	def := `{"Comment":"poll","StartAt":"StartImport","States":{
		"StartImport":{"Type":"Task","Resource":"start","ResultPath":"$.job","Next":"WaitForImport"},
		"WaitForImport":{"Type":"Wait","SecondsPath":"$.pollSeconds","Next":"PollImport"},
		"PollImport":{"Type":"Task","Resource":"poll","Parameters":{"JobId.$":"$.job.JobId"},"ResultPath":"$.status","Next":"IsImportDone"},
		"IsImportDone":{"Type":"Choice","Choices":[
			{"Variable":"$.status.Status","StringEquals":"SUCCEEDED","Next":"Done"},
			{"Variable":"$.status.Status","StringEquals":"IN_PROGRESS","Next":"WaitForImport"}],
			"Default":"ImportFailed"},
		"ImportFailed":{"Type":"Fail","Error":"ImportFailed","Cause":"import did not succeed"},
		"Done":{"Type":"Succeed","OutputPath":"$.status"}}}`
	ex, clock := newExecutor(t, def, map[string]asl.TaskFunc{"start": fixed(`{"JobId":"job-1"}`), "poll": poll})
	x := finish(t, start(t, ex, `{"pollSeconds":30}`))
	if diff := cmp.Diff(succeeded(t, `{"Status":"SUCCEEDED","Imported":42}`), outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	wantPath := []string{"StartImport", "WaitForImport", "PollImport", "IsImportDone", "WaitForImport", "PollImport",
		"IsImportDone", "WaitForImport", "PollImport", "IsImportDone", "Done"}
	if diff := cmp.Diff(wantPath, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if got, want := clock.Now(), epoch.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("clock = %v, want %v", got, want)
	}
}

func TestWaitTimestamp(t *testing.T) {
	tests := []struct {
		name, state, input string
		want               time.Duration
	}{
		{"Seconds", `"Seconds":5`, `{}`, 5 * time.Second},
		{"Timestamp", `"Timestamp":"2026-01-02T03:05:05Z"`, `{}`, time.Minute},
		{"TimestampPath", `"TimestampPath":"$.at"`, `{"at":"2026-01-02T04:04:05+01:00"}`, 0},
		{"past Timestamp", `"Timestamp":"2020-01-01T00:00:00Z"`, `{}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, clock := newExecutor(t, `{"StartAt":"W","States":{"W":{"Type":"Wait",`+tt.state+`,"End":true}}}`, nil)
			x := finish(t, start(t, ex, tt.input))
			if x.Status() != asl.StatusSucceeded {
				t.Fatalf("status %s: %s", x.Status(), x.Cause())
			}
			if diff := cmp.Diff([]time.Duration{tt.want}, clock.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecutionTimeout(t *testing.T) {
	def := `{"TimeoutSeconds":100,"StartAt":"W","States":{
		"W":{"Type":"Wait","Seconds":60,"Next":"P"},"P":{"Type":"Pass","Next":"W"}}}`
	ex, clock := newExecutor(t, def, nil)
	x := finish(t, start(t, ex, `{}`))
	want := outcome{Status: asl.StatusTimedOut, Error: "States.Timeout"}
	if diff := cmp.Diff(want, outcomeOf(t, x), ignoreCause); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"W", "P", "W"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if got := clock.Now().Sub(epoch); got != 120*time.Second {
		t.Errorf("elapsed = %v, want 120s", got)
	}
}

func TestAbortAndStop(t *testing.T) {
	block := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}}`
	ex, _ := newExecutor(t, def, map[string]asl.TaskFunc{"r": block})

	ctx, cancel := context.WithCancel(context.Background())
	x, err := ex.Start(ctx, "cancelled", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if got := finish(t, x).Status(); got != asl.StatusAborted {
		t.Errorf("cancelled: status %s, want ABORTED", got)
	}

	x = start(t, ex, `{}`)
	x.Stop("Operator.Stop", "manual failback")
	want := outcome{Status: asl.StatusAborted, Error: "Operator.Stop", Cause: "manual failback"}
	if diff := cmp.Diff(want, outcomeOf(t, finish(t, x))); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}

	if _, err := ex.Start(context.Background(), "cancelled", nil); err == nil {
		t.Error("Start with a used name succeeded, want ExecutionAlreadyExists")
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  outcome
	}{
		{"literal", `"Error":"ExportFailed","Cause":"no users"`, failed("ExportFailed", "no users")},
		{"paths", `"ErrorPath":"$.e","CausePath":"$.c"`, failed("Custom.Error", "details")},
		{"intrinsic cause", `"Error":"E","CausePath":"States.Format('{} failed', $.e)"`, failed("E", "Custom.Error failed")},
		{"no error", ``, failed("", "")},
		{"non-string ErrorPath", `"ErrorPath":"$.n"`, failed("States.Runtime", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"F","States":{"F":{"Type":"Fail"` + map[bool]string{true: ",", false: ""}[tt.state != ""] + tt.state + `}}}`
			got := outcomeOf(t, runDef(t, def, nil, `{"e":"Custom.Error","c":"details","n":1}`))
			opts := cmp.Options{}
			if tt.want.Error == "States.Runtime" {
				opts = append(opts, ignoreCause)
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDataLimitExceeded(t *testing.T) {
	big := `"` + stringOf('x', 256*1024) + `"`
	tests := []struct {
		name  string
		def   string
		input string
	}{
		{"task result", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"big","Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Succeed"}}}`, `{}`},
		{"state output", `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"a":"` + stringOf('y', 200*1024) + `"},"ResultPath":"$.b","End":true}}}`, `{"c":"` + stringOf('z', 60*1024) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcomeOf(t, runDef(t, tt.def, map[string]asl.TaskFunc{"big": fixed(big)}, tt.input))
			if diff := cmp.Diff(failed("States.DataLimitExceeded", ""), got, ignoreCause); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func stringOf(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestObserver(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	obs := func(ev asl.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == asl.EventStateEntered || ev.Type == asl.EventStateExited {
			seen = append(seen, string(ev.Type)+" "+ev.State)
		}
	}
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}`
	ex, _ := newExecutor(t, def, nil, asl.WithObserver(obs))
	finish(t, start(t, ex, `{}`))
	want := []string{"StateEntered A", "StateExited A", "StateEntered B", "StateExited B"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

func TestRun(t *testing.T) {
	def := `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","Cause":"c"}}}`
	ex, _ := newExecutor(t, def, nil)
	_, err := ex.Run(context.Background(), "r1", json.RawMessage(`{}`))
	var f *asl.Failure
	if !errors.As(err, &f) {
		t.Fatalf("Run error = %v, want *asl.Failure", err)
	}
	if diff := cmp.Diff(&asl.Failure{Status: asl.StatusFailed, Name: "E", Cause: "c"}, f); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
	if _, err := ex.Start(context.Background(), "bad", json.RawMessage(`{`)); err == nil {
		t.Error("Start accepted invalid JSON input")
	}
}
