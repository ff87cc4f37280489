package states

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"
)

// TestSaveLoadExecutions: a saved server's executions come back on a new one — a finished one
// with its output and history, one still running at the save as ABORTED with the cause
// "local stack stopped" — and their names stay taken.
func TestSaveLoadExecutions(t *testing.T) {
	ctx := t.Context()
	srv, client, tokens := newServer(t)
	done, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(passARN), Name: aws.String("done"), Input: aws.String(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := srv.Execution(aws.ToString(done.ExecutionArn))
	if err := x.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	running, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(waitARN), Name: aws.String("waiting")})
	if err != nil {
		t.Fatal(err)
	}
	<-tokens // the task waits for its token
	doneHist, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: done.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := srv.Save(&saved); err != nil {
		t.Fatal(err)
	}

	srv2, client2, _ := newServer(t)
	if err := srv2.Load(&saved); err != nil {
		t.Fatal(err)
	}
	d, err := client2.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: done.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"a":1}` || aws.ToString(d.Input) != `{"a":1}` || d.StopDate == nil {
		t.Errorf("finished execution after load: status %s input %s output %s stop %v", d.Status, aws.ToString(d.Input), aws.ToString(d.Output), d.StopDate)
	}
	hist, err := client2.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: done.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doneHist.Events, hist.Events, cmp.AllowUnexported(sfntypes.HistoryEvent{}, sfntypes.ExecutionStartedEventDetails{}, sfntypes.HistoryEventExecutionDataDetails{},
		sfntypes.StateEnteredEventDetails{}, sfntypes.StateExitedEventDetails{}, sfntypes.ExecutionSucceededEventDetails{})); diff != "" {
		t.Errorf("history after load (-before +after):\n%s", diff)
	}
	r, err := client2.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: running.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != sfntypes.ExecutionStatusAborted || aws.ToString(r.Cause) != StoppedCause || r.StopDate == nil {
		t.Errorf("running execution after load: status %s cause %q stop %v", r.Status, aws.ToString(r.Cause), r.StopDate)
	}
	rh, err := client2.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: running.ExecutionArn, ReverseOrder: true, MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rh.Events) != 1 || rh.Events[0].Type != sfntypes.HistoryEventTypeExecutionAborted {
		t.Errorf("last event of the stopped execution: %+v", rh.Events)
	}
	list, err := client2.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(waitARN), StatusFilter: sfntypes.ExecutionStatusAborted})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != "waiting" {
		t.Errorf("ListExecutions ABORTED: %+v", list.Executions)
	}
	_, err = client2.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(passARN), Name: aws.String("done"), Input: aws.String(`{"a":1}`)})
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("StartExecution done again after load: %v, want ExecutionAlreadyExists", err)
	}
}
