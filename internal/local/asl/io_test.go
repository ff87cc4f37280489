package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

const helloARN = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction"

// hello is the Lambda function of the AWS developer guide examples.
func hello(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	var v struct{ Who string }
	if err := json.Unmarshal(in, &v); err != nil {
		return nil, err
	}
	return json.Marshal("Hello, " + v.Who + "!")
}

func taskDef(fields string) string {
	return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + helloARN + `",` + fields + `"End":true}}}`
}

func TestInputOutputProcessing(t *testing.T) {
	invoke := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		// Shaped like the lambda:invoke integration's response.
		var p struct{ Payload json.RawMessage }
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		out, err := hello(ctx, p.Payload)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(fmt.Sprintf(`{"ExecutedVersion":"$LATEST","Payload":%s,"StatusCode":200,"SdkResponseMetadata":{"RequestId":"r-1"}}`, out)), nil
	}
	tests := []struct {
		name  string
		def   string
		input string
		want  string
	}{{
		// Developer guide, "InputPath, ResultPath and OutputPath example".
		name: "guide InputPath ResultPath OutputPath",
		def:  taskDef(`"InputPath":"$.lambda","ResultPath":"$.data.lambdaresult","OutputPath":"$.data",`),
		input: `{"comment":"An input comment.","data":{"val1":23,"val2":17},"extra":"foo",
			"lambda":{"who":"AWS Step Functions"}}`,
		want: `{"val1":23,"val2":17,"lambdaresult":"Hello, AWS Step Functions!"}`,
	}, {
		// Developer guide, "Parameters" key-value pair example, on a Pass state.
		name: "guide Parameters",
		def: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Parameters":{
			"comment":"Selecting what I care about.",
			"MyDetails":{"size.$":"$.product.details.size","exists.$":"$.product.availability","StaticValue":"foo"}}}}}`,
		input: `{"comment":"Example for Parameters.","product":{"details":{"color":"blue","size":"small","material":"cotton"},
			"availability":"in stock","sku":"2317","cost":"$23"}}`,
		want: `{"comment":"Selecting what I care about.","MyDetails":{"size":"small","exists":"in stock","StaticValue":"foo"}}`,
	}, {
		name: "InputPath dataset2",
		def:  `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.dataset2","End":true}}}`,
		input: `{"comment":"Example for InputPath.","dataset1":{"val1":1,"val2":2,"val3":3},
			"dataset2":{"val1":"a","val2":"b","val3":"c"}}`,
		want: `{"val1":"a","val2":"b","val3":"c"}`,
	}, {
		name:  "indefinite path yields an array",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a[0:2]","End":true}}}`,
		input: `{"a":[1,2,3,4]}`,
		want:  `[1,2]`,
	}, {
		// All five steps in spec order on a lambda:invoke shaped result.
		name: "InputPath Parameters ResultSelector ResultPath OutputPath",
		def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"InputPath":"$.job",
			"Parameters":{"FunctionName":"hello","Payload":{"who.$":"$.name","execution.$":"$$.Execution.Name"}},
			"ResultSelector":{"greeting.$":"$.Payload","status.$":"$.StatusCode"},
			"ResultPath":"$.job.result",
			"OutputPath":"$.job",
			"End":true}}}`,
		input: `{"job":{"name":"Cognito"},"other":1}`,
		want:  `{"name":"Cognito","result":{"greeting":"Hello, Cognito!","status":200}}`,
	}, {
		name:  "ResultPath null keeps the raw input",
		def:   taskDef(`"InputPath":"$.lambda","ResultPath":null,`),
		input: `{"lambda":{"who":"x"},"keep":true}`,
		want:  `{"lambda":{"who":"x"},"keep":true}`,
	}, {
		name:  "ResultPath default replaces the input",
		def:   taskDef(``),
		input: `{"who":"x"}`,
		want:  `"Hello, x!"`,
	}, {
		name:  "ResultPath creates missing objects",
		def:   taskDef(`"ResultPath":"$.a.b.c",`),
		input: `{"who":"x","a":{"keep":1}}`,
		want:  `{"who":"x","a":{"keep":1,"b":{"c":"Hello, x!"}}}`,
	}, {
		name:  "InputPath null passes {}",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":null,"ResultPath":"$.x","End":true}}}`,
		input: `{"a":1}`,
		want:  `{"a":1,"x":{}}`,
	}, {
		name:  "OutputPath null outputs {}",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":null,"End":true}}}`,
		input: `{"a":1}`,
		want:  `{}`,
	}, {
		name:  "Pass Result at ResultPath",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":[1,2]},"ResultPath":"$.r","End":true}}}`,
		input: `{"a":1}`,
		want:  `{"a":1,"r":{"x":[1,2]}}`,
	}, {
		name: "context object",
		def: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Parameters":{
			"name.$":"$$.Execution.Name","id.$":"$$.Execution.Id","in.$":"$$.Execution.Input",
			"start.$":"$$.Execution.StartTime","sm.$":"$$.StateMachine.Name","smid.$":"$$.StateMachine.Id",
			"state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime","retries.$":"$$.State.RetryCount"}}}}`,
		input: `{"a":1}`,
		want: `{"name":"run-1","id":"arn:aws:states:ap-northeast-1:123456789012:execution:Backup:run-1","in":{"a":1},
			"start":"2026-01-02T03:04:05.000Z","sm":"Backup","smid":"arn:aws:states:ap-northeast-1:123456789012:stateMachine:Backup",
			"state":"P","entered":"2026-01-02T03:04:05.000Z","retries":0}`,
	}, {
		name:  "Parameters inside arrays",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Parameters":{"Entries":[{"Detail.$":"$.d","n":1}]}}}}`,
		input: `{"d":"x"}`,
		want:  `{"Entries":[{"Detail":"x","n":1}]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, _ := newExecutor(t, tt.def, map[string]asl.TaskFunc{helloARN: hello, "arn:aws:states:::lambda:invoke": invoke},
				asl.WithStateMachineARN("arn:aws:states:ap-northeast-1:123456789012:stateMachine:Backup"))
			x, err := ex.Start(context.Background(), "run-1", json.RawMessage(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			got := outcomeOf(t, finish(t, x))
			if diff := cmp.Diff(succeeded(t, tt.want), got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInputOutputErrors(t *testing.T) {
	tests := []struct {
		name  string
		def   string
		input string
		want  outcome
	}{{
		name:  "missing Parameters path is States.Runtime",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$.missing"},"End":true}}}`,
		input: `{}`,
		want:  failed("States.Runtime", ""),
	}, {
		name:  "missing InputPath is States.Runtime",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.missing","End":true}}}`,
		input: `{}`,
		want:  failed("States.Runtime", ""),
	}, {
		name:  "ResultPath into a string",
		def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","ResultPath":"$.a.b","End":true}}}`,
		input: `{"a":"text"}`,
		want:  failed("States.ResultPathMatchFailure", ""),
	}, {
		name: "States.Runtime is not caught by States.ALL",
		def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"x.$":"$.missing"},
			"Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Succeed"}}}`,
		input: `{}`,
		want:  failed("States.Runtime", ""),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcomeOf(t, runDef(t, tt.def, map[string]asl.TaskFunc{"r": echo}, tt.input))
			if diff := cmp.Diff(tt.want, got, ignoreCause); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLambdaInvoke(t *testing.T) {
	def := `{"StartAt":"Greet","States":{"Greet":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"arn:aws:lambda:ap-northeast-1:123456789012:function:hello","Payload.$":"$"},
		"ResultSelector":{"greeting.$":"$.Payload","status.$":"$.StatusCode"},"Next":"Other"},
		"Other":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"missing"},
		"Catch":[{"ErrorEquals":["Lambda.ResourceNotFoundException"],"ResultPath":"$.err","Next":"Done"}],"End":true},
		"Done":{"Type":"Pass","End":true,"OutputPath":"$.greeting"}}}`
	invoke := asl.LambdaInvoke(map[string]asl.TaskFunc{"arn:aws:lambda:ap-northeast-1:123456789012:function:hello": hello})
	x := runDef(t, def, map[string]asl.TaskFunc{asl.LambdaInvokeResource: invoke}, `{"who":"Lambda"}`)
	if diff := cmp.Diff(succeeded(t, `"Hello, Lambda!"`), outcomeOf(t, x)); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Greet", "Other", "Done"}, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
}
