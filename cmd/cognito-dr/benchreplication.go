package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// benchReplicate measures the PostConfirmation trigger as Cognito would see it: n sign-ups, each
// replicated to the DR pool, with every Cognito call taking latency. Cognito gives a trigger 5 s.
func benchReplicate(ctx context.Context, n int, latency time.Duration) error {
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
	fmt.Printf("replicate users=%d p50_ms=%.0f p99_ms=%.0f limit_ms=5000 latency_ms=%d\n", n, pct(0.5), pct(0.99), latency.Milliseconds())
	return nil
}

// benchReconcile reconciles a pool of n users whose DR copy misses 1% of them, with AWS default
// quotas and latency on every call.
func benchReconcile(ctx context.Context, n int, latency time.Duration) error {
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
	fmt.Printf("reconcile users=%d drift=%d seconds=%.1f\n", run.Output.Before.PrimaryUsers, run.Output.Before.Users, run.Seconds)
	return nil
}
