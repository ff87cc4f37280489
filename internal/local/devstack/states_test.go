package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// stateMachinesStack is a seeded stack serving the project's state machines, with an SDK sfn
// client pointed at it as an operator's would be.
func stateMachinesStack(t *testing.T, users int, opts ...asl.Option) (*Stack, *Scenario, *StateMachines, *sfn.Client) {
	t.Helper()
	st, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, err := st.SeedScenario(t.Context(), users)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := st.ServeStateMachines(sc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sm.API.Close)
	return st, sc, sm, sfn.NewFromConfig(st.AWS.AWSConfig(ControlRegion))
}

// wait blocks until the execution behind arn ends: the API's own execution, not a poll.
func wait(t *testing.T, sm *StateMachines, arn string) {
	t.Helper()
	x, ok := sm.API.Execution(arn)
	if !ok {
		t.Fatalf("no execution %s", arn)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := x.Wait(ctx); err != nil {
		t.Fatalf("%s did not end: %v", arn, err)
	}
}

// TestStepFunctionsBackup starts a backup through the Step Functions API, as the console or the
// AWS CLI would, and reads it back: describe, list with a status filter, the paginated history.
func TestStepFunctionsBackup(t *testing.T) {
	ctx := t.Context()
	_, sc, sm, client := stateMachinesStack(t, 40)

	list, err := client.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list.StateMachines {
		names = append(names, aws.ToString(m.Name))
		if aws.ToString(m.StateMachineArn) != StateMachineARN(strings.TrimPrefix(aws.ToString(m.Name), "cognito-dr-")) || m.Type != sfntypes.StateMachineTypeStandard {
			t.Errorf("state machine %s: arn %s type %s", aws.ToString(m.Name), aws.ToString(m.StateMachineArn), m.Type)
		}
	}
	if diff := cmp.Diff([]string{"cognito-dr-backup", "cognito-dr-failback", "cognito-dr-failover", "cognito-dr-reconcile", "cognito-dr-restore"}, names); diff != "" {
		t.Errorf("ListStateMachines (-want +got):\n%s", diff)
	}
	backupARN := sm.ARNs[statemachines.Backup]
	desc, err := client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: &backupARN})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(desc.Definition), FunctionARN(ControlRegion, "ExportFunctionArn")) || desc.Status != sfntypes.StateMachineStatusActive {
		t.Errorf("DescribeStateMachine: status %s, definition without the export function's ARN:\n%.300s", desc.Status, aws.ToString(desc.Definition))
	}

	input, _ := json.Marshal(sc.BackupRequest())
	start, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &backupARN, Name: aws.String("nightly"), Input: aws.String(string(input))})
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(backupARN, ":stateMachine:", ":execution:", 1) + ":nightly"; aws.ToString(start.ExecutionArn) != want {
		t.Errorf("execution ARN %s, want %s", aws.ToString(start.ExecutionArn), want)
	}
	wait(t, sm, aws.ToString(start.ExecutionArn))

	d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ManifestKey string `json:"manifestKey"`
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded || json.Unmarshal([]byte(aws.ToString(d.Output)), &out) != nil || out.ManifestKey == "" {
		t.Fatalf("DescribeExecution: %s %s %s output %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), aws.ToString(d.Output))
	}
	if d.StopDate == nil || d.StopDate.Before(*d.StartDate) || aws.ToString(d.Input) != string(input) || aws.ToString(d.Name) != "nightly" {
		t.Errorf("DescribeExecution: start %v stop %v name %s input %s", d.StartDate, d.StopDate, aws.ToString(d.Name), aws.ToString(d.Input))
	}

	for filter, want := range map[sfntypes.ExecutionStatus][]string{"": {"nightly"}, sfntypes.ExecutionStatusSucceeded: {"nightly"}, sfntypes.ExecutionStatusRunning: nil} {
		l, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &backupARN, StatusFilter: filter})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range l.Executions {
			got = append(got, aws.ToString(e.Name))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListExecutions statusFilter %q (-want +got):\n%s", filter, diff)
		}
	}

	// The history, five events a page: the execution's own states in order, each task a
	// Lambda function scheduled by its ARN.
	var events []sfntypes.HistoryEvent
	pages := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn, MaxResults: 5})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > 5 {
			t.Errorf("a page of %d events, asked for 5", len(p.Events))
		}
		events = append(events, p.Events...)
	}
	x, _ := sm.API.Execution(aws.ToString(start.ExecutionArn))
	var entered, lambdas []string
	for i, e := range events {
		if e.Id != int64(i+1) {
			t.Errorf("event %d has id %d", i, e.Id)
		}
		if e.StateEnteredEventDetails != nil && strings.HasSuffix(string(e.Type), "StateEntered") {
			entered = append(entered, aws.ToString(e.StateEnteredEventDetails.Name))
		}
		if e.Type == sfntypes.HistoryEventTypeLambdaFunctionScheduled {
			lambdas = append(lambdas, aws.ToString(e.LambdaFunctionScheduledEventDetails.Resource))
		}
	}
	if len(events) < 2 || events[0].Type != sfntypes.HistoryEventTypeExecutionStarted || events[len(events)-1].Type != sfntypes.HistoryEventTypeExecutionSucceeded {
		t.Fatalf("history does not run from ExecutionStarted to ExecutionSucceeded: %d events", len(events))
	}
	if aws.ToString(events[0].ExecutionStartedEventDetails.Input) != string(input) {
		t.Errorf("ExecutionStarted input %s", aws.ToString(events[0].ExecutionStartedEventDetails.Input))
	}
	if diff := cmp.Diff(x.Path(), entered); diff != "" {
		t.Errorf("states entered in the history (-path +history):\n%s", diff)
	}
	if len(lambdas) == 0 || lambdas[0] != FunctionARN(ControlRegion, "ExportFunctionArn") {
		t.Errorf("Lambda functions scheduled: %v", lambdas)
	}
	rev, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn, ReverseOrder: true, MaxResults: 1, IncludeExecutionData: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Events) != 1 || rev.Events[0].Type != sfntypes.HistoryEventTypeExecutionSucceeded || rev.Events[0].ExecutionSucceededEventDetails.Output != nil {
		t.Errorf("reverse history without data: %+v", rev.Events)
	}

	// Names are unique per state machine: a closed execution's name cannot be reused, with the
	// same input or another.
	for _, in := range []string{string(input), `{"other":true}`} {
		_, err = client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &backupARN, Name: aws.String("nightly"), Input: aws.String(in)})
		var exists *sfntypes.ExecutionAlreadyExists
		if !errors.As(err, &exists) {
			t.Errorf("StartExecution nightly again with input %s: %v, want ExecutionAlreadyExists", in, err)
		}
	}
}

// TestStepFunctionsErrors: the API's exceptions reach the SDK as its typed errors.
func TestStepFunctionsErrors(t *testing.T) {
	ctx := t.Context()
	_, _, sm, client := stateMachinesStack(t, 0)
	missing := StateMachineARN("nope")
	_, err := client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: &missing})
	var noMachine *sfntypes.StateMachineDoesNotExist
	if !errors.As(err, &noMachine) {
		t.Errorf("DescribeStateMachine %s: %v, want StateMachineDoesNotExist", missing, err)
	}
	_, err = client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &missing})
	if !errors.As(err, &noMachine) {
		t.Errorf("StartExecution %s: %v, want StateMachineDoesNotExist", missing, err)
	}
	var badARN *sfntypes.InvalidArn
	if _, err = client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("cognito-dr-backup")}); !errors.As(err, &badARN) {
		t.Errorf("DescribeStateMachine of a bare name: %v, want InvalidArn", err)
	}
	var noExec *sfntypes.ExecutionDoesNotExist
	execARN := strings.Replace(sm.ARNs[statemachines.Backup], ":stateMachine:", ":execution:", 1) + ":never"
	if _, err = client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &execARN}); !errors.As(err, &noExec) {
		t.Errorf("DescribeExecution %s: %v, want ExecutionDoesNotExist", execARN, err)
	}
	var badInput *sfntypes.InvalidExecutionInput
	if _, err = client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm.ARNs[statemachines.Backup]), Input: aws.String("{not json")}); !errors.As(err, &badInput) {
		t.Errorf("StartExecution with input that is not JSON: %v, want InvalidExecutionInput", err)
	}
	var badName *sfntypes.InvalidName
	if _, err = client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm.ARNs[statemachines.Backup]), Name: aws.String("a b")}); !errors.As(err, &badName) {
		t.Errorf("StartExecution named %q: %v, want InvalidName", "a b", err)
	}
	var badToken *sfntypes.InvalidToken
	if _, err = client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("x"), Output: aws.String("{}")}); !errors.As(err, &badToken) {
		t.Errorf("SendTaskSuccess with a malformed token: %v, want InvalidToken", err)
	}
	if _, err = client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm.ARNs[statemachines.Backup]), NextToken: aws.String("bogus")}); !errors.As(err, &badToken) {
		t.Errorf("ListExecutions with a bogus nextToken: %v, want InvalidToken", err)
	}
}

// TestStepFunctionsFailbackApproval runs failbacks through the API up to their approval: one is
// stopped while it waits, one resumed with SendTaskSuccess and the task token its history shows,
// one approved from the emailed link, whose page now resumes it through the Step Functions API.
func TestStepFunctionsFailbackApproval(t *testing.T) {
	ctx := t.Context()
	// The fake clock runs the import's Wait loops at once; the approval's timeout stays hours away.
	st, sc, sm, client := stateMachinesStack(t, 20, asl.WithClock(asl.NewFakeClock(time.Now())))
	failover := time.Now().Add(-24 * time.Hour)
	if err := st.ReplicateToOsaka(sc, failover.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SimulateOutage(ctx, sc, 2, 0, 1); err != nil {
		t.Fatal(err)
	}
	arn := sm.ARNs[statemachines.Failback]
	input, _ := json.Marshal(sc.FailbackRequest(failover))
	mail := st.AWS.SNS().Follow(ctx)
	// startAndAwaitApproval starts a failback and returns once its approval email is out: the
	// execution then waits on its task token.
	startAndAwaitApproval := func(name string) (execARN, link string) {
		t.Helper()
		out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &arn, Name: &name, Input: aws.String(string(input))})
		if err != nil {
			t.Fatal(err)
		}
		x, _ := sm.API.Execution(aws.ToString(out.ExecutionArn))
		for {
			select {
			case m := <-mail:
				if l := ApprovalLink(m.Message); l != "" && strings.Contains(m.Message, name) {
					return aws.ToString(out.ExecutionArn), l
				}
			case <-x.Done():
				t.Fatalf("%s ended before its approval: %s %s %s", name, x.Status(), x.ErrorName(), x.Cause())
			}
		}
	}
	// A repeated start of a running execution with the same input is the same execution.
	stopARN, _ := startAndAwaitApproval("fb-stop")
	again, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &arn, Name: aws.String("fb-stop"), Input: aws.String(string(input))})
	if err != nil || aws.ToString(again.ExecutionArn) != stopARN {
		t.Errorf("StartExecution of running fb-stop with the same input: %v %v, want %s", again, err, stopARN)
	}
	var exists *sfntypes.ExecutionAlreadyExists
	if _, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &arn, Name: aws.String("fb-stop"), Input: aws.String(`{}`)}); !errors.As(err, &exists) {
		t.Errorf("StartExecution of running fb-stop with another input: %v, want ExecutionAlreadyExists", err)
	}
	running, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &arn, StatusFilter: sfntypes.ExecutionStatusRunning})
	if err != nil || len(running.Executions) != 1 || aws.ToString(running.Executions[0].ExecutionArn) != stopARN {
		t.Errorf("running failbacks: %+v %v", running, err)
	}
	if _, err := client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: &stopARN, Error: aws.String("OperatorStopped"), Cause: aws.String("rehearsal over")}); err != nil {
		t.Fatal(err)
	}
	d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &stopARN})
	if err != nil || d.Status != sfntypes.ExecutionStatusAborted || aws.ToString(d.Error) != "OperatorStopped" || aws.ToString(d.Cause) != "rehearsal over" || d.StopDate == nil {
		t.Fatalf("stopped failback: %+v %v", d, err)
	}

	// SendTaskSuccess with the token from the history's TaskScheduled parameters.
	tokenARN, _ := startAndAwaitApproval("fb-token")
	h, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: &tokenARN, ReverseOrder: true})
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, e := range h.Events {
		if e.Type == sfntypes.HistoryEventTypeTaskScheduled {
			if r := aws.ToString(e.TaskScheduledEventDetails.Resource); r != "invoke.waitForTaskToken" || aws.ToString(e.TaskScheduledEventDetails.ResourceType) != "lambda" {
				t.Errorf("TaskScheduled resource %s %s", aws.ToString(e.TaskScheduledEventDetails.ResourceType), r)
			}
			var p struct{ Payload struct{ TaskToken string } }
			if err := json.Unmarshal([]byte(aws.ToString(e.TaskScheduledEventDetails.Parameters)), &p); err != nil {
				t.Fatal(err)
			}
			token = p.Payload.TaskToken
			break
		}
	}
	if token == "" {
		t.Fatal("no task token in the history's TaskScheduled parameters")
	}
	if _, err := client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: &token}); err != nil {
		t.Errorf("SendTaskHeartbeat: %v", err)
	}
	decision := `{"decision":"APPROVED","approver":"sdk test","decidedAt":"2026-12-02T00:00:00Z"}`
	if _, err := client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: &token, Output: &decision}); err != nil {
		t.Fatal(err)
	}
	wait(t, sm, tokenARN)
	if d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &tokenARN}); err != nil || d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("failback resumed by SendTaskSuccess: %+v %v", d, err)
	}
	var gone *sfntypes.TaskDoesNotExist
	if _, err := client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: &token, Output: &decision}); !errors.As(err, &gone) {
		t.Errorf("SendTaskSuccess with a spent token: %v, want TaskDoesNotExist", err)
	}

	// The emailed link, as the demo's approvers use it.
	linkARN, link := startAndAwaitApproval("fb-link")
	if status, err := Decide(ctx, link, "approve", "Aiko (SRE on call)"); err != nil || status != http.StatusOK {
		t.Fatalf("approve from the link: HTTP %d %v", status, err)
	}
	wait(t, sm, linkARN)
	if d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &linkARN}); err != nil || d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("failback approved from the link: %+v %v", d, err)
	}
}
