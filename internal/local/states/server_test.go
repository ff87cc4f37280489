package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

const (
	passARN = "arn:aws:states:ap-northeast-3:000000000000:stateMachine:pass"
	waitARN = "arn:aws:states:ap-northeast-3:000000000000:stateMachine:wait"
	waitDef = `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"ask","Payload":{"token.$":"$$.Task.Token"}},"End":true}}}`
	passDef = `{"StartAt":"Echo","States":{"Echo":{"Type":"Pass","End":true}}}`
)

// newServer serves two machines: pass (one Pass state) and wait (a .waitForTaskToken task whose
// function hands its token to tokens).
func newServer(t *testing.T) (*Server, *sfn.Client, chan string) {
	t.Helper()
	tokens := make(chan string, 10)
	ask := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Token string }
		json.Unmarshal(in, &p)
		tokens <- p.Token
		return nil, nil
	}
	srv := New(nil)
	t.Cleanup(srv.Close)
	for arn, def := range map[string]string{passARN: passDef, waitARN: waitDef} {
		m, err := asl.Parse([]byte(def))
		if err != nil {
			t.Fatal(err)
		}
		invoke := asl.LambdaInvoke(map[string]asl.TaskFunc{"ask": ask})
		exec, err := asl.NewExecutor(m, map[string]asl.TaskFunc{asl.LambdaInvokeResource + ".waitForTaskToken": invoke}, asl.WithStateMachineARN(arn))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Register(Machine{ARN: arn, Definition: []byte(def), RoleARN: "arn:aws:iam::000000000000:role/r", Executor: exec}); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := sfn.New(sfn.Options{
		Region: "ap-northeast-3", BaseEndpoint: aws.String(hs.URL),
		Credentials: aws.AnonymousCredentials{},
	})
	return srv, client, tokens
}

// TestListExecutionsPages: five executions come back newest first, two a page, with nothing
// repeated or lost, including when an execution starts between pages.
func TestListExecutionsPages(t *testing.T) {
	ctx := t.Context()
	srv, client, _ := newServer(t)
	start := func(name string) {
		out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(passARN), Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		x, _ := srv.Execution(aws.ToString(out.ExecutionArn))
		x.Wait(ctx)
	}
	for i := range 5 {
		start(fmt.Sprint("run", i))
	}
	var got []string
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(passARN), MaxResults: 2}
	for page := 0; ; page++ {
		out, err := client.ListExecutions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Executions) > 2 {
			t.Errorf("page of %d", len(out.Executions))
		}
		for _, e := range out.Executions {
			got = append(got, aws.ToString(e.Name))
		}
		if page == 0 {
			start("late") // newer than every page: the next pages stay where they were
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if diff := cmp.Diff([]string{"run4", "run3", "run2", "run1", "run0"}, got); diff != "" {
		t.Errorf("ListExecutions pages (-want +got):\n%s", diff)
	}
	_, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(waitARN), NextToken: in.NextToken})
	var bad *sfntypes.InvalidToken
	if in.NextToken != nil && !errors.As(err, &bad) {
		t.Errorf("a token of another request: %v, want InvalidToken", err)
	}
}

// TestCallbacks: the token reaches the executor that issued it among several; a heartbeat, a
// failure, and then a spent token, each as the API reports them.
func TestCallbacks(t *testing.T) {
	ctx := t.Context()
	srv, client, tokens := newServer(t)
	out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(waitARN), Name: aws.String("w")})
	if err != nil {
		t.Fatal(err)
	}
	token := <-tokens
	if _, err := client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: &token}); err != nil {
		t.Errorf("SendTaskHeartbeat: %v", err)
	}
	if _, err := client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: &token, Error: aws.String("Rejected"), Cause: aws.String("no")}); err != nil {
		t.Fatal(err)
	}
	x, _ := srv.Execution(aws.ToString(out.ExecutionArn))
	x.Wait(ctx)
	d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
	if err != nil || d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "Rejected" || aws.ToString(d.Cause) != "no" {
		t.Errorf("after SendTaskFailure: %+v %v", d, err)
	}
	h, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: out.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var types []sfntypes.HistoryEventType
	for _, e := range h.Events {
		types = append(types, e.Type)
	}
	want := []sfntypes.HistoryEventType{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed", "ExecutionFailed"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	var gone *sfntypes.TaskDoesNotExist
	if _, err := client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: &token}); !errors.As(err, &gone) {
		t.Errorf("heartbeat with a spent token: %v, want TaskDoesNotExist", err)
	}
	var invalid *sfntypes.InvalidOutput
	if _, err := client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: &token, Output: aws.String("{")}); !errors.As(err, &invalid) {
		t.Errorf("output that is not JSON: %v, want InvalidOutput", err)
	}
}
