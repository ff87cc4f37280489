package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBenchFenceAndFailbackLines: the fence and failback benchmarks at a tiny size, on the local
// stack with the gates running and the real clock (the fence is timed against the gates' cache):
// the DR pool refuses a sign-in within the gate's cache after the approval, the writer's writes
// the DR pool accepted are all in the primary, and every DR-only user went back.
func TestBenchFenceAndFailbackLines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a failback with the state machine's real waits")
	}
	const users = 30
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := benchFailback(ctx, &out, users, 0, true); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("bench lines:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines %q, want fence, failback and disable", lines)
	}
	f := benchFields(t, lines[0], "fence", []string{"seconds"})
	// The gate reads its mode at most every 5 s (MODE_CACHE_SECONDS' default); the fence is
	// written right after the approval.
	if f["seconds"] <= 0 || f["seconds"] >= 10 {
		t.Errorf("fence took %v s, want under the 10-s target", f["seconds"])
	}
	fb := benchFields(t, lines[1], "failback", []string{"users", "writes_during", "lost", "seconds"})
	if fb["users"] != users || fb["lost"] != 0 || fb["writes_during"] == 0 {
		t.Errorf("failback line %q: want %d users, writes during the failback, none lost", lines[1], users)
	}
	benchFields(t, lines[2], "disable", []string{"users", "users_per_s", "bound", "ratio"})
}
