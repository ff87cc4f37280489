package checkpoint_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

func TestLoadSave(t *testing.T) {
	st, err := localaws.Start(localaws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(st.AWSConfig("ap-northeast-3"), st.S3Options)
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

func TestStartsOpensNTimesAndNeverCuts(t *testing.T) {
	b := checkpoint.Starts(2)
	var opened []bool
	for range 4 {
		opened = append(opened, b.Open())
	}
	if want := []bool{true, true, false, false}; !slices.Equal(opened, want) {
		t.Errorf("Open gave %v, want %v", opened, want)
	}
	select {
	case <-b.Done():
		t.Error("Done closed: a budget of starts never cuts the work that runs")
	default:
	}
}
