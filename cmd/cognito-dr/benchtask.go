package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// taskEnv is the configuration of a task run in its own process: the stack it calls and what
// the local executor's steps are configured with (quota pacing off: the emulator enforces none).
type taskEnv struct {
	Ready localReady `json:"ready"`
	// ExportBudget is the export's time budget per invocation (backup's EXPORT_BUDGET_SECONDS).
	ExportBudget time.Duration `json:"exportBudget"`
	// ExportStarts, if set, replaces the time budget of the export loops (backup's export,
	// reconcile's ExportPools, failback's export and plan) by one of work: an invocation starts
	// at most this many pieces of work (shards, partition units) and returns once they are done,
	// so even a small pool's export continues over several invocations, whatever the machine's
	// speed.
	ExportStarts int `json:"exportStarts,omitempty"`
	// PageSize, if set, is the restore's and the failback's work-list page size
	// (restore.Steps.PageSize, failback.Steps.PageSize), small so a small pool's apply phases
	// continue over several invocations too.
	PageSize int `json:"pageSize,omitempty"`
	// Approvals, if set, are the approval pages the bench serves (approvalPages.keys): the
	// failback's RequestApproval creates its approvals for them, so their emailed links decide.
	Approvals *approvalKeys `json:"approvals,omitempty"`
}

// startsBudget is the budget of work ExportStarts asks for, or nil: the time budget.
func (env taskEnv) startsBudget() func() checkpoint.Budget {
	if env.ExportStarts <= 0 {
		return nil
	}
	return func() checkpoint.Budget { return checkpoint.NewStarts(env.ExportStarts) }
}

// taskRequest is what `bench-task` reads on stdin: one invocation of one task of a workflow.
type taskRequest struct {
	Workflow string          `json:"workflow"`
	Task     string          `json:"task"` // the ASL placeholder of its function
	Input    json.RawMessage `json:"input"`
	Env      taskEnv         `json:"env"`
}

// taskResult is what `bench-task` prints: the task's output or its error, and the process's
// peak RSS, which is what the invocation alone needed.
type taskResult struct {
	Output    json.RawMessage `json:"output,omitempty"`
	ErrorName string          `json:"errorName,omitempty"`
	Error     string          `json:"error,omitempty"`
	PeakRSSKB int64           `json:"peakRssKb"`
}

// unpacedRates turn every quota category's pacing off.
func unpacedRates() quota.Rates {
	r := quota.Rates{}
	for _, c := range quota.Categories() {
		r[c] = 1e6
	}
	return r
}

// taskFunctions are the workflow's task handlers as the local stack binds them (devstack), on
// steps configured by env.
func taskFunctions(workflow string, env taskEnv) (map[string]boundary.Func, error) {
	ready := env.Ready
	clients := awsclients.New(localaws.ClientConfig(ready.Endpoint, "us-east-1"), awsclients.Options{S3PathStyle: true})
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	reg := quota.NewRegistry(unpacedRates())
	switch workflow {
	case statemachines.Backup:
		s := backup.NewSteps(clients, backup.Config{TopicArn: ready.TopicArn, ExportBudget: env.ExportBudget})
		s.Quota, s.Budget = reg, env.startsBudget()
		return s.Functions(log), nil
	case statemachines.Reconcile:
		s := replication.NewSteps(clients)
		s.TopicArn, s.DRUserPoolID, s.DRRegion, s.Quota = ready.TopicArn, ready.OsakaPoolID, ready.OsakaRegion, reg
		s.Retry = &replication.S3RetryStore{Client: clients.S3(ready.TokyoRegion), Bucket: devstack.RetryBucket}
		// ExportPools' budget (EXPORT_BUDGET_SECONDS), short so it continues, as the backup's.
		s.ExportBudget, s.Budget = env.ExportBudget, env.startsBudget()
		return s.Functions(log), nil
	case statemachines.Failback:
		s := failback.NewSteps(clients, ready.TopicArn, devstack.ImportLogsRoleArn)
		// The export, plan and report loops' budget (EXPORT_BUDGET_SECONDS) and ApplyChanges' and
		// DisableDrUsers' BatchTime, short so they continue.
		s.Quota, s.ExportBudget, s.BatchTime, s.Budget, s.PageSize = reg, env.ExportBudget, env.ExportBudget, env.startsBudget(), env.PageSize
		if env.Approvals != nil {
			svc, err := env.Approvals.service(clients, log)
			if err != nil {
				return nil, err
			}
			s.Approvals = svc
		}
		return s.Functions(log), nil
	case statemachines.Restore:
		s := restore.NewSteps(clients, ready.TopicArn, devstack.ImportLogsRoleArn)
		s.Quota, s.Import.Quota = reg, reg
		// Every loop's budget (BuildImportCsv and the apply phases' BatchTime, ExportTarget and
		// WriteReport's EXPORT_BUDGET_SECONDS), short so they continue.
		s.BatchTime, s.ExportBudget, s.Budget, s.PageSize = env.ExportBudget, env.ExportBudget, env.startsBudget(), env.PageSize
		return s.Functions(log), nil
	}
	return nil, fmt.Errorf("no tasks for workflow %q", workflow)
}

// runBenchTask is `cognito-dr bench-task`: one task invocation in a process of its own.
func runBenchTask(ctx context.Context, args []string) error {
	fs := newFlags("bench-task", "bench-task < request.json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var req taskRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("request on stdin: %w", err)
	}
	fns, err := taskFunctions(req.Workflow, req.Env)
	if err != nil {
		return err
	}
	fn := fns[req.Task]
	if fn == nil {
		return fmt.Errorf("workflow %s has no task %s", req.Workflow, req.Task)
	}
	var res taskResult
	res.Output, err = fn(ctx, req.Input)
	if err != nil {
		res.ErrorName, res.Error = boundary.TypeName(err), err.Error()
	}
	res.PeakRSSKB = peakRSSKB()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// lambdaTimeout is the longest a Lambda runs.
const lambdaTimeout = 900 * time.Second

// invocations counts the task invocations run in child processes and their largest peak RSS.
type invocations struct {
	mu        sync.Mutex
	n         int
	peakRSSKB int64
	byTask    map[string]int
	taskRSSKB map[string]int64
	taskTime  map[string]time.Duration
}

func (v *invocations) record(task string, rss int64, took time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	v.peakRSSKB = max(v.peakRSSKB, rss)
	if v.byTask == nil {
		v.byTask, v.taskRSSKB, v.taskTime = map[string]int{}, map[string]int64{}, map[string]time.Duration{}
	}
	v.byTask[task]++
	v.taskTime[task] += took
	v.taskRSSKB[task] = max(v.taskRSSKB[task], rss)
}

// inChildProcesses replaces each of a workflow's handlers with one that runs the invocation in a
// `bench-task` child process, as a Lambda runs alone, and records its peak RSS in v. An
// invocation that outlives Lambda's 900 s fails with States.Timeout, as on AWS.
func inChildProcesses(self, workflow string, env taskEnv, v *invocations) func(map[string]boundary.Func) {
	return func(fns map[string]boundary.Func) {
		for task := range fns {
			fns[task] = func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
				req, err := json.Marshal(taskRequest{Workflow: workflow, Task: task, Input: input, Env: env})
				if err != nil {
					return nil, err
				}
				ctx, cancel := context.WithTimeout(ctx, lambdaTimeout)
				defer cancel()
				child := exec.CommandContext(ctx, self, "bench-task")
				child.Stdin = bytes.NewReader(req)
				child.Stderr = os.Stderr
				begin := time.Now()
				out, err := child.Output()
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil, asl.TaskError{Name: asl.ErrorTimeout, Cause: fmt.Sprintf("%s ran longer than Lambda's %v", task, lambdaTimeout)}
				}
				if err != nil {
					return nil, fmt.Errorf("bench-task %s: %w", task, err)
				}
				var res taskResult
				if err := json.Unmarshal(out, &res); err != nil {
					return nil, fmt.Errorf("bench-task %s output %q: %w", task, out, err)
				}
				v.record(task, res.PeakRSSKB, time.Since(begin))
				if res.ErrorName != "" {
					return nil, asl.TaskError{Name: res.ErrorName, Cause: res.Error}
				}
				return res.Output, nil
			}
		}
	}
}
