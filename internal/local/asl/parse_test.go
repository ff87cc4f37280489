package asl_test

import (
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		def     string
		wantErr []string // substrings of the error
	}{
		{"unknown top-level field", `{"StartAt":"A","States":{"A":{"Type":"Succeed"}},"Extra":1}`, []string{`"Extra"`}},
		{"JSONata machine", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, []string{"JSONata"}},
		{"JSONata state", `{"StartAt":"A","States":{"A":{"Type":"Succeed","QueryLanguage":"JSONata"}}}`, []string{`state "A"`, "JSONata"}},
		{"Arguments (JSONata field)", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","Arguments":{},"End":true}}}`, []string{`state "A"`, `"Arguments"`}},
		{"Assign", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"End":true}}}`, []string{`state "A"`, `"Assign"`}},
		{"unknown state field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Resultt":1,"End":true}}}`, []string{`state "A"`, `"Resultt"`}},
		{"field of another type", `{"StartAt":"A","States":{"A":{"Type":"Pass","Resource":"r","End":true}}}`, []string{`state "A"`, `"Resource"`, "Pass"}},
		{"unknown state type", `{"StartAt":"A","States":{"A":{"Type":"Sleep","End":true}}}`, []string{`state "A"`, `"Sleep"`}},
		{"unreachable state", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, []string{`state "B"`, "unreachable"}},
		{"dangling Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}`, []string{`state "A"`, `"Nope"`}},
		{"dangling Default", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"B"}],"Default":"Nope"},"B":{"Type":"Succeed"}}}`, []string{`Default "Nope"`}},
		{"dangling Catch Next", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nope"}]}}}`, []string{`Catch[0] Next "Nope"`}},
		{"bad StartAt", `{"StartAt":"X","States":{"A":{"Type":"Succeed"}}}`, []string{`StartAt "X"`}},
		{"neither Next nor End", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, []string{`state "A"`, "Next"}},
		{"both Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`, []string{`state "A"`, "both"}},
		{"States.ALL not alone", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL","x"]}]}}}`, []string{"States.ALL"}},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","Next":"B","Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"},{"ErrorEquals":["x"],"Next":"B"}]},"B":{"Type":"Succeed"}}}`, []string{"States.ALL"}},
		{"unknown States error", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.Timeot"]}]}}}`, []string{`"States.Timeot"`}},
		{"unknown Retry field", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["x"],"Backoff":2}]}}}`, []string{`state "A" Retry[0]`, `"Backoff"`}},
		{"bad JitterStrategy", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["x"],"JitterStrategy":"HALF"}]}}}`, []string{"JitterStrategy"}},
		{"BackoffRate below 1", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["x"],"BackoffRate":0.5}]}}}`, []string{"BackoffRate"}},
		{"distributed Map", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"A","States":{"A":{"Type":"Succeed"}}}}}}`, []string{`state "M"`, "DISTRIBUTED"}},
		{"ItemReader", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemReader":{},"ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}}}}`, []string{`state "M"`, `"ItemReader"`}},
		{"ToleratedFailurePercentage", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ToleratedFailurePercentage":5,"Iterator":{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}}}}`, []string{`"ToleratedFailurePercentage"`}},
		{"unreachable in Map", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"Iterator":{"StartAt":"A","States":{"A":{"Type":"Succeed"},"Z":{"Type":"Succeed"}}}}}}`, []string{`state "Z"`, "unreachable"}},
		{"Next out of branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"X","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"}}}]},"X":{"Type":"Succeed"}}}`, []string{`state "A"`, `"X"`}},
		{".sync resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","End":true}}}`, []string{`state "A"`, ".sync"}},
		{"bad path", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.a[","End":true}}}`, []string{`state "A"`, "InputPath"}},
		{"ResultPath not a reference path", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, []string{`state "A"`, "ResultPath"}},
		{"bad choice comparator", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","StringContains":"a","Next":"D"}]},"D":{"Type":"Succeed"}}}`, []string{`state "C"`, `"StringContains"`}},
		{"StringMatchesPath does not exist", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","StringMatchesPath":"$.y","Next":"D"}]},"D":{"Type":"Succeed"}}}`, []string{`"StringMatchesPath"`}},
		{"choice rule type", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"D"}]},"D":{"Type":"Succeed"}}}`, []string{"NumericEquals"}},
		{"nested Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.x","IsNull":true,"Next":"D"},"Next":"D"}]},"D":{"Type":"Succeed"}}}`, []string{"nested"}},
		{"Wait needs one duration", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Timestamp":"2026-01-01T00:00:00Z","End":true}}}`, []string{`state "W"`}},
		{"Fail with Error and ErrorPath", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"a","ErrorPath":"$.e"}}}`, []string{"ErrorPath"}},
		{"Parameters .$ not a path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"plain"},"End":true}}}`, []string{`state "A"`, `"x.$"`}},
		{"duplicate key", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Succeed"}}}`, []string{"duplicate"}},
		{"duplicate state across branches", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"P","States":{"P":{"Type":"Succeed"}}}]}}}`, []string{"duplicate"}},
		{"TimeoutSeconds not an integer", `{"TimeoutSeconds":1.5,"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, []string{"TimeoutSeconds"}},
		{"HeartbeatSeconds >= TimeoutSeconds", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`, []string{"HeartbeatSeconds"}},
		{"not JSON", `{"StartAt":`, []string{"parse definition"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := asl.Parse([]byte(tt.def))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestParseModel(t *testing.T) {
	def := `{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"StartAt":"Export","States":{
		"Export":{"Type":"Task","Resource":"arn:aws:lambda:ap-northeast-1:123456789012:function:export",
			"Parameters":{"PoolId.$":"$.poolId"},"Next":"Each",
			"Retry":[{"ErrorEquals":["Lambda.ServiceException"]}],
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Notify"}]},
		"Each":{"Type":"Map","ItemsPath":"$.users","Iterator":{"StartAt":"Item","States":{"Item":{"Type":"Pass","End":true}}},"Next":"Notify"},
		"Notify":{"Type":"Succeed"}}}`
	m, err := asl.Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	m.Walk(func(s *asl.State) { names = append(names, s.Name+":"+s.Type) })
	if diff := cmp.Diff([]string{"Each:Map", "Item:Pass", "Export:Task", "Notify:Succeed"}, names); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
	export := m.States["Export"]
	want := []asl.Retrier{{ErrorEquals: []string{"Lambda.ServiceException"}, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}}
	if diff := cmp.Diff(want, export.Retry); diff != "" {
		t.Errorf("Retry defaults (-want +got):\n%s", diff)
	}
	if got := string(export.Parameters); got != `{"PoolId.$":"$.poolId"}` {
		t.Errorf("Parameters = %s", got)
	}
	if m.TimeoutSeconds != 60 || m.Comment != "c" {
		t.Errorf("TimeoutSeconds, Comment = %d, %q", m.TimeoutSeconds, m.Comment)
	}
}

func TestNewExecutorMissingBinding(t *testing.T) {
	m, err := asl.Parse([]byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:r:1:function:export","End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = asl.NewExecutor(m, map[string]asl.TaskFunc{"other": echo})
	if err == nil || !strings.Contains(err.Error(), `state "A"`) || !strings.Contains(err.Error(), "function:export") {
		t.Errorf("NewExecutor error = %v, want one naming the state and resource", err)
	}
}

func TestSubstitute(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${ExportFunctionArn}","Parameters":{"Bucket":"${BackupBucket}","Again":"${BackupBucket}"},"End":true}}}`
	if diff := cmp.Diff([]string{"BackupBucket", "ExportFunctionArn"}, asl.Placeholders([]byte(def))); diff != "" {
		t.Errorf("Placeholders (-want +got):\n%s", diff)
	}
	got, err := asl.Substitute([]byte(def), map[string]string{"ExportFunctionArn": "arn:aws:lambda:x", "BackupBucket": "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:x","Parameters":{"Bucket":"b","Again":"b"},"End":true}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Substitute (-want +got):\n%s", diff)
	}

	errTests := []struct {
		name    string
		def     string
		vars    map[string]string
		wantErr []string
	}{
		{"missing", def, map[string]string{"BackupBucket": "b"}, []string{"ExportFunctionArn"}},
		{"unused", def, map[string]string{"ExportFunctionArn": "a", "BackupBucket": "b", "Extra": "x"}, []string{"Extra"}},
		{"malformed", `{"a":"${Not Valid}"}`, nil, []string{"${Not Valid}"}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := asl.Substitute([]byte(tt.def), tt.vars)
			if err == nil {
				t.Fatal("Substitute succeeded, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
