package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// Workflows of the scale part.
const (
	scaleBackup       = "backup"
	scaleReconcile    = "reconcile"
	scaleFailbackPlan = "failback-plan"
	scaleRestore      = "restore"
	scaleFailback     = "failback"
)

// scaleDriftPercent is the DR copy's drift in the scale runs.
const scaleDriftPercent = 1

// scaleResult is one workflow's run at scale, as its `scale` line prints it.
type scaleResult struct {
	Workflow    string
	Users       int
	Invocations int
	Seconds     float64
	PeakRSSKB   int64
	// ByTask counts the invocations of each task (by ASL placeholder); TaskRSSKB is each one's
	// largest peak RSS.
	ByTask    map[string]int
	TaskRSSKB map[string]int64
	// TaskTime is the time each task's invocations took together.
	TaskTime map[string]time.Duration
	// ByState counts the invocations of each Task state, where one task serves several (the
	// restore's).
	ByState map[string]int
	// Snapshot is the manifest key of the snapshot a backup run took.
	Snapshot string
	// Lost are users the generator says the workflow had to find and it did not; Duplicated
	// are users it found twice, or found without cause.
	Lost, Duplicated int
	Err              error
}

func (r scaleResult) String() string {
	line := fmt.Sprintf("scale workflow=%s users=%d invocations=%d seconds=%.1f peak_rss_mb=%.0f lost=%d duplicated=%d",
		r.Workflow, r.Users, r.Invocations, r.Seconds, float64(r.PeakRSSKB)/1024, r.Lost, r.Duplicated)
	if r.Err != nil {
		line += fmt.Sprintf(" error=%q", r.Err.Error())
	}
	return line
}

// benchScale starts the local stack in a child process with users synthesized Tokyo users and
// their Osaka copy (scaleDriftPercent drift), quotas off, and runs each workflow's state machine
// in this process with every task invocation in a child process of its own (bench-task),
// configured by tune (the export's budget cut so it continues many times; the stack's fields are
// filled in here). A workflow that fails gets its line with error=… and the next one runs. opts
// go to the restore's and the failback's executors (a fake clock, in tests, so their Wait states
// take no time).
func benchScale(ctx context.Context, w io.Writer, users int, workflows []string, tune taskEnv, opts ...asl.Option) ([]scaleResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cognito-dr-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	stack, err := startScaleStack(ctx, self, users, filepath.Join(dir, "mailbox-1.jsonl"))
	if err != nil {
		return nil, err
	}
	defer func() { stack.stop(users) }()
	tokyo, osaka := devstack.SyntheticPools(users, scaleDriftPercent)
	var results []scaleResult
	var backedUp scaleResult
	for _, wf := range scaleOrder(workflows) {
		if wf == scaleFailback && slices.ContainsFunc(results, func(r scaleResult) bool { return r.Workflow == scaleReconcile }) {
			// Reconcile repaired the drift the failback carries back: fresh pools for it.
			stack.stop(users)
			if stack, err = startScaleStack(ctx, self, users, filepath.Join(dir, "mailbox-2.jsonl")); err != nil {
				return results, err
			}
		}
		env := tune
		env.Ready = stack.ready
		r := stack.ready
		sc := &devstack.Scenario{Tokyo: tokyo, Osaka: osaka, TokyoID: r.TokyoPoolID, OsakaID: r.OsakaPoolID,
			Bucket: r.Bucket, BucketRegion: r.BucketRegion, TopicArn: r.TopicArn}
		var res scaleResult
		switch wf {
		case scaleBackup:
			res = scaleRunBackup(ctx, self, env, sc.BackupRequest(), *tokyo.Synthetic)
			backedUp = res
		case scaleReconcile:
			res = scaleRunReconcile(ctx, self, env, sc.ReconcileRequest(false), *osaka.Synthetic)
		case scaleFailbackPlan:
			res = scaleRunFailbackPlan(ctx, self, env, sc.FailbackRequest(devstack.SyntheticFailover), *osaka.Synthetic)
		case scaleRestore:
			res = scaleRunRestore(ctx, self, env, sc, backedUp, *tokyo.Synthetic, stack.cmd.Process.Pid, opts...)
		case scaleFailback:
			res = scaleRunFailback(ctx, self, env, sc, stack.mailbox, *tokyo.Synthetic, *osaka.Synthetic, opts...)
		default:
			return results, fmt.Errorf("unknown scale workflow %q (backup, reconcile, failback-plan, restore, failback)", wf)
		}
		res.Workflow, res.Users = wf, users
		fmt.Fprintln(w, res)
		for _, task := range slices.Sorted(maps.Keys(res.ByTask)) {
			fmt.Fprintf(os.Stderr, "  scale: %s %s invocations=%d seconds=%.1f peak_rss_mb=%.0f\n", wf, task, res.ByTask[task], res.TaskTime[task].Seconds(), float64(res.TaskRSSKB[task])/1024)
		}
		if len(res.ByState) > 0 {
			fmt.Fprintf(os.Stderr, "  scale: %s invocations by state %v\n", wf, res.ByState)
		}
		results = append(results, res)
	}
	return results, nil
}

// scaleStack is the local stack of the scale runs, in a child process.
type scaleStack struct {
	cmd     *exec.Cmd
	ready   localReady
	mailbox string // where the stack appends every SNS message (local -mailbox)
}

// startScaleStack starts the local stack with users synthesized Tokyo users and their Osaka copy,
// quotas off, appending its SNS messages to mailbox.
func startScaleStack(ctx context.Context, self string, users int, mailbox string) (*scaleStack, error) {
	seedStart := time.Now()
	cmd := exec.CommandContext(ctx, self, "local", "-json", "-addr", "127.0.0.1:0", "-quotas=false",
		"-synthetic-users", fmt.Sprint(users), "-drift", fmt.Sprint(scaleDriftPercent), "-mailbox", mailbox)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	st := &scaleStack{cmd: cmd, mailbox: mailbox}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &st.ready)
	}
	if err != nil {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		return nil, fmt.Errorf("local stack did not start: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  scale: stack with %d synthetic users (and their copy) ready in %.1fs, rss %.0f MB\n",
		users, time.Since(seedStart).Seconds(), float64(procStatusKB(strconv.Itoa(cmd.Process.Pid), "VmRSS:"))/1024)
	return st, nil
}

// stop reports the stack's peak RSS and stops it; a stopped stack stops no more.
func (st *scaleStack) stop(users int) {
	if st.cmd == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "  scale: local stack peak rss %.0f MB for %d + %d synthetic users\n",
		float64(procStatusKB(strconv.Itoa(st.cmd.Process.Pid), "VmHWM:"))/1024, users, users+localcognito.DROnlyUsers(users, scaleDriftPercent))
	st.cmd.Process.Signal(os.Interrupt)
	st.cmd.Wait()
	st.cmd = nil
}

// scaleOrder puts the selected workflows in the order they can share one stack: reconcile
// repairs the DR copy's drift, which the failback plan must still see, so it runs after it; the
// restore restores the snapshot the backup run takes (selecting it selects the backup too) into a
// pool of its own, which the stack then stores user by user, so it runs after those; the failback
// changes both pools (the primary gets the DR pool's drift, the DR pool is fenced and its users
// disabled), so it runs last, and on a fresh stack if reconcile repaired the drift before it.
func scaleOrder(selected []string) []string {
	var out []string
	for _, wf := range []string{scaleBackup, scaleFailbackPlan, scaleReconcile, scaleRestore, scaleFailback} {
		if slices.Contains(selected, wf) || wf == scaleBackup && slices.Contains(selected, scaleRestore) {
			out = append(out, wf)
		}
	}
	for _, wf := range selected {
		if !slices.Contains(out, wf) {
			out = append(out, wf) // unknown: refused in order
		}
	}
	return out
}

// scaleExecution runs one execution of workflow with its tasks in child processes and returns
// its time and invocations; observe, if set, may wrap the handlers (after they are moved to child
// processes) to watch outputs, and bind, if set, is given the executor before the execution
// starts (to send it callbacks). opts go to the executor.
func scaleExecution(ctx context.Context, self, workflow string, env taskEnv, input any, observe func(map[string]boundary.Func, context.CancelFunc), bind func(*asl.Executor), opts ...asl.Option) (*asl.Execution, scaleResult, error) {
	fns, err := taskFunctions(workflow, env)
	if err != nil {
		return nil, scaleResult{}, err
	}
	v := &invocations{}
	inChildProcesses(self, workflow, env, v)(fns)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if observe != nil {
		observe(fns, cancel)
	}
	ex, err := devstack.Executor(workflow, fns, opts...)
	if err != nil {
		return nil, scaleResult{}, err
	}
	if bind != nil {
		bind(ex)
	}
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, scaleResult{}, err
	}
	start := time.Now()
	x, err := ex.Run(ctx, "scale-"+workflow, raw)
	res := scaleResult{Seconds: time.Since(start).Seconds(), Invocations: v.n, PeakRSSKB: v.peakRSSKB, ByTask: v.byTask, TaskRSSKB: v.taskRSSKB, TaskTime: v.taskTime}
	return x, res, err
}

// recordOutput wraps task's handler to keep its last output.
func recordOutput(fns map[string]boundary.Func, task string, last *json.RawMessage) {
	fn := fns[task]
	fns[task] = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := fn(ctx, in)
		if err == nil {
			*last = out
		}
		return out, err
	}
}

func stackClients(env taskEnv) *awsclients.Clients {
	return awsclients.New(localaws.ClientConfig(env.Ready.Endpoint, "us-east-1"), awsclients.Options{S3PathStyle: true})
}

func failed(x *asl.Execution, err error) error {
	if err != nil {
		return err
	}
	if x.Status() != asl.StatusSucceeded {
		return fmt.Errorf("%s %s: %s", x.Status(), x.ErrorName(), x.Cause())
	}
	return nil
}

// succeeded checks that the execution succeeded and decodes its output into out; what names the
// workflow in the error.
func succeeded(x *asl.Execution, err error, what string, out any) error {
	if err := failed(x, err); err != nil {
		return err
	}
	if err := json.Unmarshal(x.Output(), out); err != nil {
		return fmt.Errorf("%s output %s: %w", what, x.Output(), err)
	}
	return nil
}

// scaleRunBackup backs the Tokyo pool up and checks that the snapshot holds every generated
// user exactly once.
func scaleRunBackup(ctx context.Context, self string, env taskEnv, input map[string]any, spec localcognito.Synthetic) scaleResult {
	var last json.RawMessage
	x, res, err := scaleExecution(ctx, self, statemachines.Backup, env, input, func(fns map[string]boundary.Func, _ context.CancelFunc) {
		recordOutput(fns, backup.ExportTask.Placeholder, &last)
	}, nil)
	var out struct {
		ManifestKey string `json:"manifestKey"`
	}
	if res.Err = succeeded(x, err, "backup", &out); res.Err != nil {
		return res
	}
	if out.ManifestKey == "" {
		res.Err = fmt.Errorf("no manifest key in the backup's output %s", x.Output())
		return res
	}
	res.Snapshot = out.ManifestKey
	var exp backup.ExportOutput
	if err := json.Unmarshal(last, &exp); err != nil {
		res.Err = fmt.Errorf("export output: %w", err)
		return res
	}
	seen := make([]uint8, spec.Users)
	res.Err = snapshot.ReadUsers(ctx, stackClients(env).S3(exp.Snapshot.Region), exp.Snapshot.Bucket, exp.Snapshot.Prefix, func(u snapshot.User) error {
		i, ok := spec.IndexOf(u.Attributes["email"])
		if !ok || u.Attributes["sub"] != spec.Sub(i) || seen[i] == 1 {
			res.Duplicated++
			return nil
		}
		seen[i] = 1
		return nil
	})
	for _, s := range seen {
		if s == 0 {
			res.Lost++
		}
	}
	return res
}

// driftOf lists the DR copy's users by what happened to them.
func driftOf(dr localcognito.Synthetic) map[localcognito.DriftKind]int {
	n := map[localcognito.DriftKind]int{}
	for i := range dr.Users {
		n[dr.Drift(i)]++
	}
	return n
}

// scaleRunReconcile reconciles the Osaka copy with Tokyo and checks the drift it found, user by
// user, against the generator: the changed and disabled copies, and the DR-only users.
func scaleRunReconcile(ctx context.Context, self string, env taskEnv, input map[string]any, dr localcognito.Synthetic) scaleResult {
	r := env.Ready
	x, res, err := scaleExecution(ctx, self, statemachines.Reconcile, env, input, nil, nil)
	var out replication.Output
	if res.Err = succeeded(x, err, "reconcile", &out); res.Err != nil {
		return res
	}
	s3c := stackClients(env).S3(r.BucketRegion)
	raw, err := readAll(ctx, s3c, r.Bucket, out.Before.Key)
	if err != nil {
		res.Err = fmt.Errorf("drift manifest: %w", err)
		return res
	}
	var m replication.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		res.Err = fmt.Errorf("drift manifest: %w", err)
		return res
	}
	want := map[localcognito.DriftKind]string{localcognito.DriftChanged: replication.KindAttributes,
		localcognito.DriftDisabled: replication.KindEnabled, localcognito.DriftDROnly: replication.KindDROnly}
	seen := make([]uint8, dr.Users)
	for _, f := range m.Drift {
		err := snapshot.GetLines(ctx, s3c, r.Bucket, f.Key, func(rep replication.Repair) error {
			i, ok := dr.IndexOf(rep.Key)
			if !ok || seen[i] == 1 || len(rep.Kinds) != 1 || rep.Kinds[0] != want[dr.Drift(i)] {
				res.Duplicated++
				return nil
			}
			seen[i] = 1
			return nil
		})
		if err != nil {
			res.Err = fmt.Errorf("drift file %s: %w", f.Key, err)
			return res
		}
	}
	for i := range dr.Users {
		if dr.Drift(i) != localcognito.DriftNone && seen[i] == 0 {
			res.Lost++
		}
	}
	if out.After.Users != 0 {
		res.Err = fmt.Errorf("reconcile left %d users drifted", out.After.Users)
	}
	return res
}

// errReachedApproval stops a failback at its approval: the plan is done.
var errReachedApproval = errors.New("the failback reached its approval")

// scaleRunFailbackPlan runs the failback up to its approval and checks the plan's counts against
// the generator: every DR-only user to import, every changed copy to update, every disabled one.
func scaleRunFailbackPlan(ctx context.Context, self string, env taskEnv, input map[string]any, dr localcognito.Synthetic) scaleResult {
	var plan json.RawMessage
	reached := false
	x, res, err := scaleExecution(ctx, self, statemachines.Failback, env, input, func(fns map[string]boundary.Func, stop context.CancelFunc) {
		recordOutput(fns, failback.PlanFailbackTask.Placeholder, &plan)
		fns[failback.RequestApprovalTask.Placeholder] = func(context.Context, json.RawMessage) (json.RawMessage, error) {
			reached = true
			stop()
			return nil, errReachedApproval
		}
	}, nil)
	if err == nil && !reached {
		err = failed(x, nil)
		if err == nil {
			err = errors.New("the failback ended without asking for approval")
		}
	}
	if !reached {
		res.Err = err
		return res
	}
	var prog failback.PlanProgress
	if err := json.Unmarshal(plan, &prog); err != nil || prog.Plan == nil {
		res.Err = fmt.Errorf("plan output: %v (%s)", err, plan)
		return res
	}
	p := *prog.Plan
	want := driftOf(dr)
	fmt.Fprintf(os.Stderr, "  scale: failback plan counts %+v; generator: %d DR-only, %d changed, %d disabled\n",
		p.Counts, want[localcognito.DriftDROnly], want[localcognito.DriftChanged], want[localcognito.DriftDisabled])
	for _, c := range []struct{ got, want int }{
		{p.Counts.Import, want[localcognito.DriftDROnly]},
		{p.Counts.Update, want[localcognito.DriftChanged]},
		{p.Counts.DisabledInDR, want[localcognito.DriftDisabled]},
	} {
		res.Lost += max(0, c.want-c.got)
		res.Duplicated += max(0, c.got-c.want)
	}
	return res
}

func readAll(ctx context.Context, s3c s3stream.GetObjectAPI, bucket, key string) ([]byte, error) {
	r, err := s3stream.Open(ctx, s3c, bucket, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
