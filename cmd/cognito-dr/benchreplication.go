package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// benchReplicate measures the PostConfirmation trigger as Cognito would see it: n sign-ups, each
// replicated to the DR pool, with every Cognito call taking latency. Cognito gives a trigger 5 s.
func benchReplicate(ctx context.Context, w io.Writer, n int, latency time.Duration) error {
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, 0)
	if err != nil {
		return err
	}
	r, err := st.Replication(sc, nil, nil)
	if err != nil {
		return err
	}
	took := make([]time.Duration, 0, n)
	for i := range n {
		ev := sc.PostConfirmationEvent(fmt.Sprintf("bench%06d@example.jp", i), uuid.NewString())
		start := time.Now()
		if _, err := r.Replicate(ctx, ev); err != nil {
			return fmt.Errorf("replicate: %w", err)
		}
		took = append(took, time.Since(start))
	}
	pending := 0
	if err := r.Retry.List(ctx, sc.TokyoID, func(replication.Pending) error { pending++; return nil }); err != nil {
		return err
	}
	if pending != 0 {
		return fmt.Errorf("%d of %d sign-ups were queued for retry instead of replicated", pending, n)
	}
	slices.Sort(took)
	pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	fmt.Fprintf(w, "replicate users=%d p50_ms=%.0f p99_ms=%.0f limit_ms=5000 latency_ms=%d\n", n, pct(0.5), pct(0.99), latency.Milliseconds())
	return nil
}

// benchReconcile reconciles a pool of n users whose DR copy misses 1% of them, with AWS default
// quotas and latency on every call.
func benchReconcile(ctx context.Context, w io.Writer, n int, latency time.Duration) error {
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, n)
	if err != nil {
		return err
	}
	if err := st.ReplicateToOsakaExcept(sc, time.Now().Add(-time.Hour), func(i int) bool { return i%100 == 0 }); err != nil {
		return err
	}
	run, err := st.RunReconcile(ctx, sc, "bench-reconcile", false, nil)
	if err != nil {
		return err
	}
	if run.Output.After.Users != 0 {
		return fmt.Errorf("reconcile left %d users drifted: %v", run.Output.After.Users, run.Output.After.Kinds)
	}
	fmt.Fprintf(w, "reconcile users=%d drift=%d seconds=%.1f\n", run.Output.Before.PrimaryUsers, run.Output.Before.Users, run.Seconds)
	// What one bucket's diff needs does not grow with the pool: the same bucket size at two sizes.
	for _, users := range []int{20_000, 100_000} {
		if err := benchBucketDiff(ctx, users, benchBucketUsers); err != nil {
			return err
		}
	}
	return nil
}

// benchBucketUsers is the bucket size of benchBucketDiff: smaller than both pools, so both are
// partitioned into several buckets of about this size.
const benchBucketUsers = 10_000

// benchBucketDiff plans a reconcile of a pool of n users whose DR copy misses 1% of them, with
// buckets of bucketUsers users, then compares the buckets in a child process, as one warm
// Lambda would run DiffBucket after DiffBucket: its peak heap and peak RSS are what the largest
// invocation needed, which must not grow with the pool. The emulator stays in this process so
// the pools it holds are not counted. Quotas are off: this measures memory, not time.
func benchBucketDiff(ctx context.Context, n, bucketUsers int) error {
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, n)
	if err != nil {
		return err
	}
	if err := st.ReplicateToOsakaExcept(sc, time.Now().Add(-time.Hour), func(i int) bool { return i%100 == 0 }); err != nil {
		return err
	}
	r, err := st.Replication(sc, nil, nil)
	if err != nil {
		return err
	}
	r.Steps.BucketUsers = bucketUsers
	r.Steps.Quota = quota.NewRegistry(benchRates)
	req := replication.Request{PrimaryUserPoolID: sc.TokyoID, PrimaryRegion: sc.Tokyo.Region, DRUserPoolID: sc.OsakaID, DRRegion: sc.Osaka.Region, Bucket: sc.Bucket, BucketRegion: sc.BucketRegion}
	plan, err := r.Steps.PlanReconcile(ctx, replication.PlanInput{Request: req, ExecutionName: "bench-bucket-diff", StartTime: time.Now().Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	for exp := (replication.ExportProgress{}); !exp.Done; {
		if exp, err = r.Steps.ExportPools(ctx, replication.ExportInput{Plan: plan, Dir: replication.BeforeDir, Progress: exp}); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	child := exec.CommandContext(ctx, self, "bench-bucket-diff", "-endpoint", st.URL(), "-plan", string(planJSON))
	child.Stderr = os.Stderr
	out, err := child.Output()
	if err != nil {
		return fmt.Errorf("bucket diff: %w", err)
	}
	var res bucketDiffResult
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("bucket diff output %q: %w", out, err)
	}
	// Every hundredth user is missing, but for those never copied (UNCONFIRMED, federated).
	if got := res.Drift.Kinds[replication.KindMissing]; got == 0 || got > n/100 || res.Drift.PrimaryUsers != n {
		return fmt.Errorf("bucket diff of %d users found %d primary users, drift %v; want them all and at most %d missing", n, res.Drift.PrimaryUsers, res.Drift.Kinds, n/100)
	}
	if res.PeakRSSKB == 0 {
		return errors.New("the bucket diff did not report its peak RSS (VmHWM in /proc/self/status)")
	}
	fmt.Printf("reconcile-bucket users=%d buckets=%d bucket_users=%d peak_heap_mb=%.1f peak_rss_mb=%.0f\n",
		n, plan.Buckets, bucketUsers, float64(res.PeakHeap)/(1<<20), float64(res.PeakRSSKB)/1024)
	return nil
}

// benchRates turn the pacing off for the memory runs (the emulator enforces no quota either).
var benchRates = quota.Rates{quota.UserList: 1e6, quota.UserPoolRead: 1e6, quota.UserPoolResourceRead: 1e6}

// bucketDiffResult is what the bench-bucket-diff child reports.
type bucketDiffResult struct {
	Drift     replication.Drift `json:"drift"`
	PeakHeap  uint64            `json:"peakHeap"`
	PeakRSSKB int64             `json:"peakRssKb"`
}

// runBenchBucketDiff is the child process of benchBucketDiff: it runs DiffBucket until the
// comparison of the plan's before exports is done, on the local stack at -endpoint.
func runBenchBucketDiff(ctx context.Context, args []string) error {
	fs := newFlags("bench-bucket-diff", "bench-bucket-diff [flags]")
	endpoint := fs.String("endpoint", "", "the local stack's endpoint")
	planJSON := fs.String("plan", "", "the plan PlanReconcile returned, as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var plan replication.Plan
	if err := json.Unmarshal([]byte(*planJSON), &plan); err != nil {
		return fmt.Errorf("-plan: %w", err)
	}
	steps := replication.NewSteps(awsclients.New(localaws.ClientConfig(*endpoint, plan.Region), awsclients.Options{S3PathStyle: true}))
	steps.Quota = quota.NewRegistry(benchRates)
	var prog replication.DiffProgress
	peak, err := peakHeap(func() error {
		for !prog.Done {
			next, err := steps.DiffBucket(ctx, replication.DiffInput{Plan: plan, Dir: replication.BeforeDir, Progress: prog})
			if err != nil {
				return fmt.Errorf("diff %+v: %w", prog, err)
			}
			prog = next
		}
		return nil
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(bucketDiffResult{Drift: prog.Drift, PeakHeap: peak, PeakRSSKB: peakRSSKB()})
}

// peakHeap runs fn and returns the most heap (objects, live or not yet collected) the process
// held meanwhile, sampled every millisecond.
func peakHeap(fn func() error) (uint64, error) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	var peak atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heap(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	err := fn()
	close(stop)
	<-stopped
	return max(peak.Load(), heap()), err
}
