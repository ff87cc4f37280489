package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// workflows are the state machines `start` knows, deployed as cognito-dr-<name>.
var workflows = []string{statemachines.Backup, statemachines.Failback, statemachines.Failover, statemachines.Reconcile, statemachines.Restore}

// sfnAPI is what `start` calls.
type sfnAPI interface {
	sfn.ListStateMachinesAPIClient
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

func runStart(ctx context.Context, args []string) error {
	return startCommand(ctx, args, os.Stdout, os.Stderr)
}

// startResult is what `start` prints on stdout.
type startResult struct {
	ExecutionArn string          `json:"executionArn"`
	Name         string          `json:"name"`
	Status       string          `json:"status"`
	StartDate    *time.Time      `json:"startDate,omitempty"`
	StopDate     *time.Time      `json:"stopDate,omitempty"`
	Output       json.RawMessage `json:"output,omitempty"`
	Error        string          `json:"error,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	// WaitingForApproval: the execution is running and waits for a person to decide.
	WaitingForApproval bool `json:"waitingForApproval,omitempty"`
}

func startCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("start", "start <"+strings.Join(workflows, "|")+"> --input FILE [flags]")
	inputFile := fs.String("input", "", "the execution input, a JSON file (- reads stdin) (required)")
	arn := fs.String("state-machine-arn", "", "the state machine to start (default: the one named cognito-dr-<workflow>, found with ListStateMachines)")
	name := fs.String("name", "", "the execution name (default: a UUID)")
	region := fs.String("region", "", "the state machines' Region (default: AWS_REGION or the profile's)")
	poll := fs.Duration("poll-interval", 2*time.Second, "how often to read the execution's progress")
	var a awsFlags
	a.register(fs)
	workflow := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		workflow, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "input"); err != nil {
		return err
	}
	if !slices.Contains(workflows, workflow) {
		return usagef("the workflow must be one of %s, not %q (see cognito-dr start --help)", strings.Join(workflows, ", "), workflow)
	}
	if err := a.check(); err != nil {
		return err
	}
	if *poll <= 0 {
		return usagef("--poll-interval %v: want a positive duration", *poll)
	}
	input, err := readInput(*inputFile)
	if err != nil {
		return err
	}
	cfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	if *region != "" {
		cfg.Region = *region
	}
	client := sfn.NewFromConfig(cfg)
	if *arn == "" {
		if *arn, err = findStateMachine(ctx, client, "cognito-dr-"+workflow); err != nil {
			return err
		}
	}
	in := &sfn.StartExecutionInput{StateMachineArn: arn, Input: aws.String(string(input))}
	if *name != "" {
		in.Name = name
	}
	started, err := client.StartExecution(ctx, in)
	if err != nil {
		return fmt.Errorf("start %s: %w", *arn, err)
	}
	fmt.Fprintf(stderr, "started   %s\n", aws.ToString(started.ExecutionArn))
	res, err := follow(ctx, client, aws.ToString(started.ExecutionArn), *poll, stderr)
	if err != nil {
		return err
	}
	if err := printStartResult(stdout, res, a.json()); err != nil {
		return err
	}
	switch res.Status {
	case string(sfntypes.ExecutionStatusSucceeded), string(sfntypes.ExecutionStatusRunning):
		return nil
	}
	return findingsError{fmt.Sprintf("execution %s %s: %s %s", res.Name, res.Status, res.Error, res.Cause)}
}

func readInput(file string) ([]byte, error) {
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, usagef("--input: %v", err)
	}
	if !json.Valid(raw) {
		return nil, usagef("--input %s is not JSON", file)
	}
	return raw, nil
}

// findStateMachine finds a state machine by name, as the CDK stack names them.
func findStateMachine(ctx context.Context, client sfn.ListStateMachinesAPIClient, name string) (string, error) {
	pages := sfn.NewListStateMachinesPaginator(client, &sfn.ListStateMachinesInput{})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list state machines: %w", err)
		}
		for _, m := range out.StateMachines {
			if aws.ToString(m.Name) == name {
				return aws.ToString(m.StateMachineArn), nil
			}
		}
	}
	return "", usagef("no state machine named %s in this account and Region: deploy the stack, or pass --state-machine-arn", name)
}

// follow prints the execution's progress on w, as `run` does (each state entered, each task's
// counts, and a loop's done of total with its rate and time left), reading the history every
// interval, until the execution ends or waits for a person (a .waitForTaskToken task: the approval).
func follow(ctx context.Context, client sfnAPI, arn string, interval time.Duration, w io.Writer) (startResult, error) {
	var lastID int64
	waiting := map[int64]bool{} // TaskScheduled ids of callback tasks not yet answered
	p := &progress{w: w}
	var state string // the state whose task the next task event belongs to
	// ended is set once DescribeExecution has said the execution ended: the history is read once
	// more, since events may have been added between the last read and that answer.
	ended := false
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		pages := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: &arn, IncludeExecutionData: aws.Bool(true)})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return startResult{}, fmt.Errorf("read the history of %s: %w", arn, err)
			}
			for _, e := range out.Events {
				if e.Id <= lastID {
					continue
				}
				lastID = e.Id
				ts := aws.ToTime(e.Timestamp)
				switch {
				case e.Type == sfntypes.HistoryEventTypeExecutionStarted:
					p.start = ts
				case e.StateEnteredEventDetails != nil:
					state = aws.ToString(e.StateEnteredEventDetails.Name)
					p.event(asl.Event{Type: asl.EventStateEntered, State: state, Time: ts})
				case e.LambdaFunctionSucceededEventDetails != nil:
					p.event(asl.Event{Type: asl.EventTaskSucceeded, State: state, Time: ts, Output: json.RawMessage(aws.ToString(e.LambdaFunctionSucceededEventDetails.Output))})
				case e.LambdaFunctionFailedEventDetails != nil:
					p.event(asl.Event{Type: asl.EventTaskFailed, State: state, Time: ts, Error: aws.ToString(e.LambdaFunctionFailedEventDetails.Error)})
				case e.Type == sfntypes.HistoryEventTypeTaskScheduled && strings.HasSuffix(aws.ToString(e.TaskScheduledEventDetails.Resource), ".waitForTaskToken"):
					waiting[e.Id] = true
				case e.Type == sfntypes.HistoryEventTypeTaskSucceeded, e.Type == sfntypes.HistoryEventTypeTaskFailed, e.Type == sfntypes.HistoryEventTypeTaskTimedOut:
					clear(waiting)
				}
			}
		}
		d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &arn})
		if err != nil {
			return startResult{}, fmt.Errorf("describe %s: %w", arn, err)
		}
		res := startResult{
			ExecutionArn: arn, Name: aws.ToString(d.Name), Status: string(d.Status), StartDate: d.StartDate, StopDate: d.StopDate,
			Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause),
		}
		if d.Output != nil {
			res.Output = json.RawMessage(aws.ToString(d.Output))
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			if ended {
				return res, nil
			}
			ended = true
			continue
		}
		if len(waiting) > 0 {
			res.WaitingForApproval = true
			fmt.Fprintf(w, "waiting   for approval: the link went by email to the subscribers of the stack's notification topic; approving stays with them and that link\n")
			return res, nil
		}
		select {
		case <-ctx.Done():
			return startResult{}, errors.Join(fmt.Errorf("stopped following %s (it keeps running)", arn), ctx.Err())
		case <-tick.C:
		}
	}
}

func printStartResult(w io.Writer, r startResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "execution  %s\nstatus     %s", r.ExecutionArn, r.Status)
	if r.WaitingForApproval {
		fmt.Fprint(w, " (waiting for approval)")
	}
	fmt.Fprintln(w)
	if r.StopDate != nil && r.StartDate != nil {
		fmt.Fprintf(w, "duration   %s\n", r.StopDate.Sub(*r.StartDate).Round(time.Millisecond))
	}
	if r.Error != "" || r.Cause != "" {
		fmt.Fprintf(w, "error      %s\ncause      %s\n", r.Error, r.Cause)
	}
	if len(r.Output) > 0 {
		fmt.Fprintf(w, "output     %s\n", r.Output)
	}
	return nil
}
