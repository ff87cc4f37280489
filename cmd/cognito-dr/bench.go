package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// benchResult is what one export run reports.
type benchResult struct {
	Users   int     `json:"users"`
	Seconds float64 `json:"seconds"`
	// Invocations is how many export invocations the run took (ours).
	Invocations int `json:"invocations,omitempty"`
	// PeakRSSKB is the exporting process's own high-water mark (VmHWM), read by the process itself.
	PeakRSSKB int64 `json:"peakRssKb,omitempty"`
}

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "bench [flags]")
	users := fs.Int("users", 50000, "users in the pool exported with quotas and latency")
	latency := fs.Duration("latency", 100*time.Millisecond, "latency the emulator adds to each Cognito call")
	rssUsers := fs.Int("rss-users", 1000000, "users in the pool of the memory runs (0 skips them)")
	failbackUsers := fs.Int("failback-users", 20000, "DR-only users of the failback run, which runs with writes in flight in the DR pool (0 skips it)")
	fence := fs.Bool("fence", true, "print the fence line: seconds from the approval until a DR sign-in is refused (measured in the failback run; with -failback-users 0, in a run of 200 DR-only users)")
	replicateUsers := fs.Int("replicate-users", 300, "sign-ups replicated by the trigger benchmark (0 skips it)")
	reconcileUsers := fs.Int("reconcile-users", 50000, "users in the reconciled pool (0 skips it)")
	restoreUsers := fs.Int("restore-users", 100000, "users in the snapshot restored into an empty pool (0 skips it)")
	drillUsers := fs.Int("drill-users", 10000, "users in the snapshot of the restore drill (0 skips it)")
	skipExport := fs.Bool("skip-export", false, "skip the export throughput runs")
	exportImpls := fs.String("export-impls", "ours,baseline", "the exporters of the throughput runs, comma-separated (ours, baseline)")
	exportBudget := fs.Duration("export-budget", 0, "time budget of one export invocation in the throughput runs (0: the default, 10m); a short one makes the export resume many times")
	scaleUsers := fs.Int("scale-users", 5000000, "synthesized users of the scale runs: backup, reconcile and the failback plan (and restore, failback if selected) with quotas off, each task invocation in its own process (0 skips them)")
	scaleWorkflows := fs.String("scale-workflows", "backup,failback-plan,reconcile", "the workflows of the scale runs, comma-separated: backup, failback-plan, reconcile, restore, failback (run in this order: reconcile repairs the drift the failback plan reads; restore restores the backup's snapshot into an empty pool, which the emulator stores for real, about 1 GB per million users, and selects backup too; failback runs the whole failback, approved through its emailed link, and changes both pools, so it runs last, on a fresh stack if reconcile ran)")
	scaleBudget := fs.Duration("scale-budget", 20*time.Second, "the export's time budget per invocation in the scale runs, short so it continues many times")
	serial := fs.Bool("serial", false, "run the parts one after another, in the order export, replicate, reconcile, failback and fence, restore, drill, scale, memory; without it the scale part (CPU-bound: quotas off) runs beside the others (which wait on quotas and latency, each on an emulator of its own), and the memory runs after both")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	// The parts paced by quotas and latency, in their order.
	var paced []benchPart
	if !*skipExport {
		paced = append(paced, benchPart{"export", func(ctx context.Context, w io.Writer) error {
			return benchExportThroughput(ctx, w, *users, *latency, strings.Split(*exportImpls, ","), *exportBudget)
		}})
	}
	if *replicateUsers > 0 {
		paced = append(paced, benchPart{"replicate", func(ctx context.Context, w io.Writer) error {
			return benchReplicate(ctx, w, *replicateUsers, *latency)
		}})
	}
	if *reconcileUsers > 0 {
		paced = append(paced, benchPart{"reconcile", func(ctx context.Context, w io.Writer) error {
			return benchReconcile(ctx, w, *reconcileUsers, *latency)
		}})
	}
	if *failbackUsers > 0 || *fence {
		paced = append(paced, benchPart{"failback+fence", func(ctx context.Context, w io.Writer) error {
			return benchFailback(ctx, w, *failbackUsers, *latency, *fence)
		}})
	}
	if *restoreUsers > 0 {
		paced = append(paced, benchPart{"restore", func(ctx context.Context, w io.Writer) error {
			return benchRestore(ctx, w, *restoreUsers, *latency)
		}})
	}
	if *drillUsers > 0 {
		paced = append(paced, benchPart{"drill", func(ctx context.Context, w io.Writer) error {
			return benchDrill(ctx, w, *drillUsers, *latency)
		}})
	}
	var scale, memory []benchPart
	if *scaleUsers > 0 {
		scale = append(scale, benchPart{"scale", func(ctx context.Context, w io.Writer) error {
			_, err := benchScale(ctx, w, *scaleUsers, strings.Split(*scaleWorkflows, ","), taskEnv{ExportBudget: *scaleBudget})
			return err
		}})
	}
	if *rssUsers > 0 {
		memory = append(memory, benchPart{"memory", func(ctx context.Context, w io.Writer) error {
			return benchMemory(ctx, w, *rssUsers)
		}})
	}
	if *serial {
		return runLanes(ctx, os.Stdout, slices.Concat(paced, scale, memory))
	}
	// The memory runs measure one exporter's RSS, which a busy CPU would not change, but they
	// are CPU-bound too: they wait for the CPU the scale part leaves.
	if err := runLanes(ctx, os.Stdout, paced, scale); err != nil {
		return err
	}
	return runLanes(ctx, os.Stdout, memory)
}

// benchMemory prints each exporter's peak RSS exporting a pool of users, quotas off; the
// emulator runs in its own process so the peak RSS is the exporter's alone.
func benchMemory(ctx context.Context, w io.Writer, users int) error {
	for _, impl := range []string{"ours", "baseline"} {
		rss, n, err := exportRSS(ctx, impl, users)
		if err != nil {
			return fmt.Errorf("%s memory run: %w", impl, err)
		}
		fmt.Fprintf(w, "export impl=%s users=%d peak_rss_mb=%.0f\n", impl, n, rss)
	}
	return nil
}

// exportOnce runs one export implementation against the stack described by ready.
func exportOnce(ctx context.Context, impl string, clients *awsclients.Clients, ready localReady, name string, listRPS float64, budget time.Duration) (benchResult, error) {
	switch impl {
	case "ours":
		steps := backup.NewSteps(clients, backup.Config{TopicArn: ready.TopicArn, Rates: quota.Rates{quota.UserList: listRPS}, ExportBudget: budget})
		begin := time.Now()
		in := backup.ExportInput{
			Request: backup.Request{
				UserPoolID: ready.TokyoPoolID, Region: ready.TokyoRegion, Bucket: ready.Bucket, BucketRegion: ready.BucketRegion,
			},
			ExecutionName: name,
			StartTime:     time.Now().UTC().Format(time.RFC3339Nano),
		}
		// As the state machine does: invoke again until the export is done.
		for {
			out, err := steps.Export(ctx, in)
			if err != nil || out.Done {
				return benchResult{Users: out.Users, Seconds: time.Since(begin).Seconds(), Invocations: out.Invocations}, err
			}
		}
	case "baseline":
		begin := time.Now()
		n, err := blogExport(ctx, clients.Cognito(ready.TokyoRegion), clients.S3(ready.BucketRegion), ready.TokyoPoolID, ready.Bucket, "baseline/"+name+".csv")
		return benchResult{Users: n, Seconds: time.Since(begin).Seconds()}, err
	}
	return benchResult{}, fmt.Errorf("unknown implementation %q", impl)
}

// exportRSS starts the stack with users in a child process, exports in a second child, and
// returns the exporter's peak RSS in MB.
func exportRSS(ctx context.Context, impl string, users int) (float64, int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stack := exec.CommandContext(ctx, self, "local", "-json", "-addr", "127.0.0.1:0", "-quotas=false", "-users", fmt.Sprint(users))
	stack.Stderr = os.Stderr
	out, err := stack.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := stack.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		stack.Process.Signal(os.Interrupt)
		stack.Wait()
	}()
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("local stack did not start: %w", err)
	}
	// Quotas are off for the memory runs: the exporter need not pace itself either.
	exporter := exec.CommandContext(ctx, self, "bench-export", "-impl", impl, "-list-rps", "1e6", "-ready", string(line))
	exporter.Stderr = os.Stderr
	res, err := exporter.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("exporter: %w", err)
	}
	var r benchResult
	if err := json.Unmarshal(res, &r); err != nil {
		return 0, 0, fmt.Errorf("exporter output %q: %w", res, err)
	}
	// Not the child's rusage: ru_maxrss also counts the parent's pages the child shared between
	// fork and exec, so a parent grown by earlier benchmarks inflates it.
	if r.PeakRSSKB == 0 {
		return 0, 0, errors.New("the exporter did not report its peak RSS (VmHWM in /proc/self/status)")
	}
	return float64(r.PeakRSSKB) / 1024, r.Users, nil
}

// peakRSSKB reads this process's resident-set high-water mark from /proc/self/status (Linux).
func peakRSSKB() int64 { return procStatusKB("self", "VmHWM:") }

// procStatusKB reads a field in kB (VmHWM:, VmRSS:) of a process's /proc/<pid>/status (Linux);
// 0 when it cannot.
func procStatusKB(pid, field string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// runBenchExport is the child process of a memory run.
func runBenchExport(ctx context.Context, args []string) error {
	fs := newFlags("bench-export", "bench-export [flags]")
	impl := fs.String("impl", "ours", "ours or baseline")
	readyJSON := fs.String("ready", "", "the JSON line printed by `local -json`")
	listRPS := fs.Float64("list-rps", quota.Limits[quota.UserList].RPS, "pace of ListUsers calls")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var ready localReady
	if err := json.Unmarshal([]byte(*readyJSON), &ready); err != nil {
		return fmt.Errorf("-ready: %w", err)
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	clients := awsclients.New(localaws.ClientConfig(ready.Endpoint, "us-east-1"), awsclients.Options{S3PathStyle: true})
	res, err := exportOnce(ctx, *impl, clients, ready, "rss-"+*impl, *listRPS, 0)
	if err != nil {
		return err
	}
	res.PeakRSSKB = peakRSSKB()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// fenceOnlyUsers are the DR-only users of the run that measures the fence alone.
const fenceOnlyUsers = 200

// benchWriteEvery paces the benchmark's DR writer: a sign-up or a profile change every 100 ms.
const benchWriteEvery = 100 * time.Millisecond

// benchFailback runs the failback end to end with AWS default quotas, on pools switched by
// `cognito-dr failover` with the gates running: n users who signed up in the DR pool during the
// outage go back by import job while a writer keeps signing up and changing profiles in the DR
// pool; the DR pool is fenced right after the approval; every DR user is disabled at the end.
// It prints the fence line when fence is set, and the failback and disable lines when n > 0
// (n == 0: a run of fenceOnlyUsers for the fence line alone).
func benchFailback(ctx context.Context, w io.Writer, n int, latency time.Duration, fence bool) error {
	size := n
	if size == 0 {
		size = fenceOnlyUsers
	}
	res, err := runFailbackScenario(ctx, failbackScenario{
		primaryUsers: 1000, signUps: size, latency: latency, out: io.Discard, switched: true, writeEvery: benchWriteEvery,
		approve: func(ctx context.Context, link string, _ <-chan struct{}) error { return approveAs(ctx, link) },
	})
	if err != nil {
		return fmt.Errorf("failback: %w", err)
	}
	wr := res.writes
	if len(wr.Errors) > 0 {
		return fmt.Errorf("failback: the DR writer got answers that were neither accepted nor refused by the fence: %q", wr.Errors)
	}
	if fence {
		if wr.FirstSignInRefused.IsZero() {
			return errors.New("fence: no DR sign-in was refused during the failback")
		}
		fmt.Fprintf(w, "fence seconds=%.1f\n", wr.FirstSignInRefused.Sub(res.approvedAt).Seconds())
	}
	if n == 0 {
		return nil
	}
	fmt.Fprintf(w, "failback users=%d writes_during=%d lost=%d seconds=%.1f\n", n, wr.Accepted, len(res.lost), res.seconds)
	rate := float64(res.disabled) / res.disableSeconds
	fmt.Fprintf(w, "disable users=%d users_per_s=%.1f bound=25 ratio=%.2f\n", res.disabled, rate, rate/25)
	switch {
	case res.report.Lost != 0:
		return fmt.Errorf("failback left %d users only in the DR pool: %v", res.report.Lost, res.report.Outcomes)
	case len(res.lost) > 0:
		return fmt.Errorf("failback lost %d writes the DR pool accepted: %q", len(res.lost), res.lost)
	case len(wr.Violations) > 0:
		return fmt.Errorf("the fence let writes through: %q", wr.Violations)
	}
	return nil
}

// benchExportThroughput exports the same pool with both implementations, AWS default quotas and
// realistic latency.
func benchExportThroughput(ctx context.Context, w io.Writer, users int, latency time.Duration, impls []string, budget time.Duration) error {
	// Both exporters against the same pool, AWS default quotas, realistic latency.
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, users)
	if err != nil {
		return err
	}
	ready := localReady{Endpoint: st.URL(), TokyoPoolID: sc.TokyoID, TokyoRegion: sc.Tokyo.Region, Bucket: sc.Bucket, BucketRegion: sc.BucketRegion, TopicArn: sc.TopicArn}
	for _, impl := range impls {
		time.Sleep(1500 * time.Millisecond) // let the emulator's token buckets refill between runs
		res, err := exportOnce(ctx, impl, st.Clients, ready, fmt.Sprintf("bench-%s", impl), quota.Limits[quota.UserList].RPS, budget)
		if err != nil {
			return fmt.Errorf("%s export: %w", impl, err)
		}
		if res.Users != users {
			return fmt.Errorf("%s exported %d users, want %d", impl, res.Users, users)
		}
		rate := float64(res.Users) / res.Seconds
		stats := st.Cognito.Stats()
		fmt.Fprintf(os.Stderr, "  %s: invocations %d calls %v throttled %v\n", impl, res.Invocations, stats.Calls, stats.Throttled)
		st.Cognito.ResetStats()
		fmt.Fprintf(w, "export impl=%s users=%d seconds=%.1f users_per_s=%.0f bound=%.0f ratio=%.2f\n",
			impl, res.Users, res.Seconds, rate, quotaBound, rate/quotaBound)
	}
	return nil
}
