package checkpoint_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

func TestLoadSave(t *testing.T) {
	c := localaws.NewBucket(t, "bkt")
	ctx := context.Background()
	type state struct {
		Pending []string `json:"pending"`
		Done    int      `json:"done"`
	}
	if _, found, err := checkpoint.Load[state](ctx, c, "bkt", "run/checkpoint.json"); found || err != nil {
		t.Fatalf("first invocation: found=%v err=%v, want nothing saved yet", found, err)
	}
	want := state{Pending: []string{"3", "4"}, Done: 2}
	if err := checkpoint.Save(ctx, c, "bkt", "run/checkpoint.json", want); err != nil {
		t.Fatal(err)
	}
	got, found, err := checkpoint.Load[state](ctx, c, "bkt", "run/checkpoint.json")
	if err != nil || !found {
		t.Fatalf("found=%v err=%v", found, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if _, _, err := checkpoint.Load[state](ctx, c, "no-such-bucket", "run/checkpoint.json"); err == nil {
		t.Error("a bucket that does not exist loads as no checkpoint")
	}
}

// TestTimer: new work starts in the first half of the budget only; Done closes at its end.
func TestTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := checkpoint.NewTimer(10 * time.Minute)
		defer b.Stop()
		if !b.Open() {
			t.Error("closed at its start")
		}
		time.Sleep(5*time.Minute - time.Second)
		if !b.Open() {
			t.Error("closed before half of the budget")
		}
		time.Sleep(time.Second)
		if b.Open() {
			t.Error("open after half of the budget")
		}
		select {
		case <-b.Done():
			t.Error("done after half of the budget")
		default:
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		select {
		case <-b.Done():
		default:
			t.Error("not done at the end of the budget")
		}
	})
}

// TestStarts: a budget of n starts says yes n times, then no, and never cuts.
func TestStarts(t *testing.T) {
	b := checkpoint.NewStarts(2)
	got := []bool{b.Open(), b.Open(), b.Open()}
	if got[0] != true || got[1] != true || got[2] != false || b.Done() != nil {
		t.Errorf("opens %v, done %v; want true true false and never done", got, b.Done())
	}
}
