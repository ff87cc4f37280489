package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is stdout as the lanes share it: every Write is kept as one piece.
type lockedBuffer struct {
	mu     sync.Mutex
	writes []string
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, string(p))
	return len(p), nil
}

func (b *lockedBuffer) lines() []string {
	return strings.Split(strings.TrimSuffix(strings.Join(b.writes, ""), "\n"), "\n")
}

// TestLanesPrintWholeLines: two parts that write their lines in pieces, each piece while the
// other part is between two pieces of its own, still print whole lines, each part's in its order.
func TestLanesPrintWholeLines(t *testing.T) {
	var out lockedBuffer
	aTurn, bTurn := make(chan struct{}), make(chan struct{})
	// Each part writes a piece, then hands the turn to the other, so pieces alternate.
	piecewise := func(prefix string, mine, theirs chan struct{}, first bool) func(context.Context, io.Writer) error {
		return func(_ context.Context, w io.Writer) error {
			for i := range 3 {
				if !first || i > 0 {
					<-mine
				}
				fmt.Fprintf(w, "%s line=%d ", prefix, i)
				theirs <- struct{}{}
				<-mine
				fmt.Fprintf(w, "end=%s\n", prefix)
				if i < 2 || first {
					theirs <- struct{}{}
				}
			}
			return nil
		}
	}
	err := runLanes(t.Context(), &out,
		[]benchPart{{"a", piecewise("a", aTurn, bTurn, true)}},
		[]benchPart{{"b", piecewise("b", bTurn, aTurn, false)}})
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for _, l := range out.lines() {
		switch {
		case strings.HasPrefix(l, "a ") && strings.HasSuffix(l, " end=a"):
			a = append(a, l)
		case strings.HasPrefix(l, "b ") && strings.HasSuffix(l, " end=b"):
			b = append(b, l)
		default:
			t.Errorf("line cut or mixed: %q", l)
		}
	}
	for _, got := range [][]string{a, b} {
		if len(got) != 3 || !slices.IsSortedFunc(got, strings.Compare) {
			t.Errorf("a part's lines %q, want its three in order", got)
		}
	}
}

// TestLaneFailureNamesItsPart: a failing part ends its own lane (the part after it does not run)
// and is named in the error; the other lane runs to its end and its lines are printed.
func TestLaneFailureNamesItsPart(t *testing.T) {
	var out lockedBuffer
	boom := errors.New("no DR sign-in was refused")
	release := make(chan struct{})
	ran := map[string]bool{}
	var mu sync.Mutex
	part := func(name string, err error) benchPart {
		return benchPart{name, func(_ context.Context, w io.Writer) error {
			mu.Lock()
			ran[name] = true
			mu.Unlock()
			if name == "scale" {
				<-release // still running when the other lane fails
			}
			fmt.Fprintf(w, "%s done", name) // no newline: the runner ends the line
			if err != nil {
				close(release)
			}
			return err
		}}
	}
	err := runLanes(t.Context(), &out,
		[]benchPart{part("export", nil), part("failback+fence", boom), part("restore", nil)},
		[]benchPart{part("scale", nil)})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "failback+fence: ") {
		t.Errorf("error %v, want the failed part's, named", err)
	}
	if ran["restore"] {
		t.Error("the part after the failed one ran")
	}
	got := out.lines()
	slices.Sort(got)
	if want := []string{"export done", "failback+fence done", "scale done"}; !slices.Equal(got, want) {
		t.Errorf("printed %q, want %q", got, want)
	}
}

// TestLanesStopWhenCancelled: Ctrl-C (the context) reaches every lane's running part.
func TestLanesStopWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{}, 2)
	wait := func(ctx context.Context, _ io.Writer) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	done := make(chan error)
	go func() {
		done <- runLanes(ctx, io.Discard, []benchPart{{"reconcile", wait}}, []benchPart{{"scale", wait}})
	}()
	<-started
	<-started
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "reconcile: ") || !strings.Contains(err.Error(), "scale: ") {
		t.Errorf("error %v, want both parts' cancellation, named", err)
	}
}
