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
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	wffailover "github.com/cognito-dr/cognito-dr/workflows/failover"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// rehearsable are the workflows `run` executes in-process. The approval page of a failback and of
// a restore into a pool with users is served by this process too (rehearse_failback.go).
var rehearsable = []string{statemachines.Backup, statemachines.Failback, statemachines.Failover, statemachines.Reconcile, statemachines.Restore}

func runRehearse(ctx context.Context, args []string) error {
	return rehearseCommand(ctx, args, os.Stdout, os.Stderr)
}

// rehearseCommand is `cognito-dr run`: the workflow's ASL on the local executor, in this process,
// with the task handlers the Lambdas run, against whatever AWS the flags and the SDK's settings
// name. Progress goes to stderr, the execution output (JSON) to stdout.
func rehearseCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run <"+strings.Join(rehearsable, "|")+"> --input FILE --topic-arn ARN [flags]")
	inputFile := fs.String("input", "", "the execution input, a JSON file (- reads stdin) (required)")
	topic := fs.String("topic-arn", "", "the SNS topic the tasks notify (TOPIC_ARN of the deployed tasks) (required)")
	name := fs.String("name", "", "the execution name, part of the snapshot's or report's key (default: a UUID)")
	region := fs.String("region", "", "the SDK's default Region (default: AWS_REGION or the profile's); the input names the pools' and the bucket's Regions, which the calls use")
	retryBucket := fs.String("retry-bucket", "", "reconcile: the replicate trigger's retry store (RETRY_BUCKET) (default: none; the retry store is not read)")
	retryRegion := fs.String("retry-region", "", "reconcile: the retry store's Region, the primary's (RETRY_REGION) (required with --retry-bucket)")
	retryPrefix := fs.String("retry-prefix", "", "reconcile: the retry store's key prefix (RETRY_PREFIX)")
	importLogsRole := fs.String("import-logs-role-arn", "", "failback, restore: the role Cognito's import jobs write their results to CloudWatch Logs with (IMPORT_LOGS_ROLE_ARN) (required for failback and restore)")
	listen := fs.String("listen", "127.0.0.1:0", "failback, restore: the loopback address this process serves the approval page on while the execution waits (port 0 picks a free one)")
	var a awsFlags
	a.register(fs)
	workflow := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		workflow, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !slices.Contains(rehearsable, workflow) {
		return usagef("the workflow must be one of %s, not %q (see cognito-dr run --help)", strings.Join(rehearsable, ", "), workflow)
	}
	if err := required(fs, "input", "topic-arn"); err != nil {
		return err
	}
	if (*retryBucket == "") != (*retryRegion == "") {
		return usagef("--retry-bucket and --retry-region go together (see cognito-dr run --help)")
	}
	if workflow == statemachines.Failback || workflow == statemachines.Restore {
		if err := required(fs, "import-logs-role-arn"); err != nil {
			return err
		}
		if err := loopbackOnly(*listen); err != nil {
			return err
		}
	}
	if err := a.check(); err != nil {
		return err
	}
	// The tasks' request-rate overrides (USER_LIST_RPS, …) come from the environment, as in the
	// deployed Lambdas.
	rates, err := quota.FromEnv(os.Getenv)
	if err != nil {
		return usageError{err}
	}
	input, err := readInput(*inputFile)
	if err != nil {
		return err
	}
	clients, err := a.clientsIn(ctx, *region)
	if err != nil {
		return err
	}
	// The tasks' JSON log lines carry no user data; they go to stderr only with the progress at
	// warning level and above, so the progress stays readable.
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var functions map[string]boundary.Func
	var pages *approvalPages
	switch workflow {
	case statemachines.Backup:
		functions = backup.NewSteps(clients, backup.Config{TopicArn: *topic, Rates: rates}).Functions(log)
	case statemachines.Failback:
		if pages, err = listenApprovals(*listen, input, clients, log); err != nil {
			return err
		}
		defer pages.Close()
		functions = failbackSteps(clients, *topic, *importLogsRole, rates, pages, stderr).Functions(log)
	case statemachines.Restore:
		if pages, err = listenApprovals(*listen, input, clients, log); err != nil {
			return err
		}
		defer pages.Close()
		functions = restoreSteps(clients, *topic, *importLogsRole, rates, pages, stderr).Functions(log)
	case statemachines.Failover:
		functions = wffailover.NewSteps(clients, *topic).Functions(log)
	case statemachines.Reconcile:
		functions = reconcileSteps(clients, *topic, rates, *retryBucket, *retryRegion, *retryPrefix).Functions(log)
	}

	p := &progress{w: stderr, start: time.Now()}
	exec, err := devstack.Executor(workflow, functions, asl.WithObserver(p.event))
	if err != nil {
		return err
	}
	if pages != nil {
		pages.bindDecisions(devstack.Callbacks{Executor: exec})
		pages.Serve()
	}
	x, err := exec.Start(ctx, *name, input)
	if err != nil {
		return usagef("--input: %v", err)
	}
	if err := x.Wait(ctx); err != nil {
		return errors.Join(fmt.Errorf("interrupted: the execution was stopped where it was"), err)
	}
	switch x.Status() {
	case asl.StatusSucceeded:
		out := x.Output()
		if !a.json() {
			// text: the same JSON, indented for a person.
			var b bytes.Buffer
			if json.Indent(&b, out, "", "  ") == nil {
				out = b.Bytes()
			}
		}
		_, err := fmt.Fprintf(stdout, "%s\n", out)
		return err
	}
	msg := fmt.Sprintf("execution %s %s: %s: %s", x.Name, x.Status(), x.ErrorName(), x.Cause())
	if x.ErrorName() == "InvalidInput" {
		// The input was refused before anything was read or written.
		return usagef("%s (see the README for the workflow's input)", msg)
	}
	return findingsError{msg}
}

// reconcileSteps configures reconcile's tasks as the deployed stack's environment does.
func reconcileSteps(clients *awsclients.Clients, topic string, rates quota.Rates, bucket, region, prefix string) *replication.Steps {
	s := replication.NewSteps(clients)
	s.TopicArn = topic
	s.Quota = quota.NewRegistry(rates)
	if bucket != "" {
		s.Retry = &replication.S3RetryStore{Client: clients.S3(region), Bucket: bucket, Prefix: prefix}
	}
	return s
}

// loops are the states a workflow repeats over a work list: the state whose task output counts
// the work done (progress field), and the earlier task output that gives the total. Restore's
// loops have no total in an earlier output (totalState empty): they show the work done and its rate.
var loops = map[string]struct{ totalState, totalField, doneField string }{
	"RepairDrift": {"DiffBefore", "repairs", "cursor"},
	"ExportUsers": {"ExportUsers", "estimatedUsers", "users"},
	// restore.asl.json
	"CreateUsers":        {"", "", "cursor"},
	"RestoreGroups":      {"", "", "cursor"},
	"RestoreMemberships": {"", "", "cursor"},
	"DisableUsers":       {"", "", "cursor"},
}

// progress prints an execution's history as it happens: each state entered, the counts of each
// task's result, and for a loop the work done of the total with its rate and the time left.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	start  time.Time
	totals map[string]float64 // numeric task results by "State.field"
	first  map[string]time.Time
}

func (p *progress) event(e asl.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.totals == nil {
		p.totals, p.first = map[string]float64{}, map[string]time.Time{}
	}
	elapsed := e.Time.Sub(p.start).Round(100 * time.Millisecond)
	switch e.Type {
	case asl.EventStateEntered:
		if _, seen := p.first[e.State]; !seen {
			p.first[e.State] = e.Time
		}
		fmt.Fprintf(p.w, "%8s  %s\n", elapsed, e.State)
	case asl.EventTaskSucceeded:
		var out map[string]any
		if json.Unmarshal(e.Output, &out) != nil {
			return
		}
		var counts []string
		for k, v := range out {
			if n, ok := v.(float64); ok {
				p.totals[e.State+"."+k] = n
				counts = append(counts, fmt.Sprintf("%s=%g", k, n))
			}
		}
		if len(counts) == 0 {
			return
		}
		sort.Strings(counts)
		line := fmt.Sprintf("%8s    %s", elapsed, strings.Join(counts, " "))
		if l, ok := loops[e.State]; ok {
			total, known := p.totals[l.totalState+"."+l.totalField]
			done := p.totals[e.State+"."+l.doneField]
			secs := e.Time.Sub(p.first[e.State]).Seconds()
			if l.totalState == "" && secs > 0 {
				line += fmt.Sprintf("  %g done, %.1f/s", done, done/secs)
			}
			if known && total > 0 && secs > 0 {
				rate := done / secs
				line += fmt.Sprintf("  %g of %g, %.1f/s", done, total, rate)
				if rate > 0 && done < total {
					line += fmt.Sprintf(", about %s left", time.Duration((total-done)/rate*float64(time.Second)).Round(time.Second))
				}
			}
		}
		fmt.Fprintln(p.w, line)
	case asl.EventTaskFailed:
		fmt.Fprintf(p.w, "%8s    failed: %s\n", elapsed, e.Error)
	case asl.EventRetry:
		fmt.Fprintf(p.w, "%8s    retry %d in %s: %s\n", elapsed, e.Attempt, e.Wait, e.Error)
	case asl.EventExecutionSucceeded, asl.EventExecutionFailed, asl.EventExecutionAborted, asl.EventExecutionTimedOut:
		fmt.Fprintf(p.w, "%8s  %s\n", elapsed, strings.TrimSpace(string(e.Type)+" "+e.Error))
	}
}
