package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// benchFields parses a bench line "<name> k=v k=v …", failing unless it has exactly the keys of
// want, in that order, each a number.
func benchFields(t *testing.T, line, name string, want []string) map[string]float64 {
	t.Helper()
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != name {
		t.Fatalf("line %q does not start with %q", line, name)
	}
	kv := regexp.MustCompile(`^([a-z_]+)=([0-9]+(\.[0-9]+)?)$`)
	got := map[string]float64{}
	var keys []string
	for _, field := range f[1:] {
		m := kv.FindStringSubmatch(field)
		if m == nil {
			t.Fatalf("field %q of %q is not key=number", field, line)
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		got[m[1]] = v
		keys = append(keys, m[1])
	}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("line %q has keys %v, want %v", line, keys, want)
	}
	return got
}

// TestBenchRestoreAndDrillLines: the restore and drill benchmarks run at a tiny size and print
// their lines: every user of the snapshot restored, by import or by API, each paced phase's rate
// beside the quota it runs at (memberships and disables at UserUpdate, creations at
// UserCreation), and a drill that found no mismatch.
func TestBenchRestoreAndDrillLines(t *testing.T) {
	const users = 200
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A fake clock: the state machine's Wait states (import polling, late results) take no time.
	clock := func() asl.Option { return asl.WithClock(asl.NewFakeClock(time.Now())) }

	var out strings.Builder
	if err := benchRestore(ctx, &out, users, 0, clock()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var keys []string
	keys = append(keys, "users", "seconds", "import_rows", "import_rows_per_s")
	for _, ph := range []string{"create_api", "memberships", "disable"} {
		keys = append(keys, ph, ph+"_per_s", "bound_"+ph)
	}
	r := benchFields(t, strings.TrimSpace(out.String()), "restore", keys)
	if r["users"] != users || r["import_rows"]+r["create_api"] != users {
		t.Errorf("restore line %q: want %d users, each imported or created by API", out.String(), users)
	}
	if r["memberships"] == 0 || r["disable"] == 0 || r["create_api"] == 0 {
		t.Errorf("restore line %q: the seed has memberships, disabled and unverified users; a phase did nothing", out.String())
	}
	for ph, c := range map[string]quota.Category{"create_api": quota.UserCreation, "memberships": quota.UserUpdate, "disable": quota.UserUpdate} {
		if got, want := r["bound_"+ph], quota.Limits[c].RPS; got != want {
			t.Errorf("bound_%s=%v, want the %s quota %v", ph, got, c, want)
		}
		// The pacer lets the first call go at once: n calls take at least (n-1)/bound seconds.
		if n := r[ph]; n > 1 && r[ph+"_per_s"]*(n-1)/n > r["bound_"+ph]*1.05 {
			t.Errorf("%s ran at %v/s, above its bound %v", ph, r[ph+"_per_s"], r["bound_"+ph])
		}
	}

	out.Reset()
	if err := benchDrill(ctx, &out, users, 0, clock()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	d := benchFields(t, strings.TrimSpace(out.String()), "drill", []string{"users", "rto_seconds", "mismatches"})
	if d["users"] != users || d["mismatches"] != 0 {
		t.Errorf("drill line %q, want %s", out.String(), fmt.Sprintf("users=%d … mismatches=0", users))
	}
}
