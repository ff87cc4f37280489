package checkpoint

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunSavesEachChunkBeforeMovingOn(t *testing.T) {
	var saved []int
	chunks := 0
	cursor, err := Run(context.Background(), 10, 10+2*Chunk+7, func() bool { return chunks < 2 },
		func(_ context.Context, i int) (int, error) { return i * 2, nil },
		func(from int, rs []int) error {
			chunks++
			if rs[0] != from*2 {
				t.Errorf("chunk from %d starts with result %d", from, rs[0])
			}
			saved = append(saved, from, len(rs))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	// Two chunks, then more() said stop: the cursor is where the third would start.
	if diff := cmp.Diff([]int{10, Chunk, 10 + Chunk, Chunk}, saved); diff != "" {
		t.Errorf("saved chunks (-want +got):\n%s", diff)
	}
	if cursor != 10+2*Chunk {
		t.Errorf("cursor = %d, want %d", cursor, 10+2*Chunk)
	}
	cursor, err = Run(context.Background(), cursor, 10+2*Chunk+7, func() bool { return true },
		func(_ context.Context, i int) (int, error) { return i, nil }, func(int, []int) error { return nil })
	if err != nil || cursor != 10+2*Chunk+7 {
		t.Errorf("last chunk: cursor %d err %v", cursor, err)
	}
}

func TestRunStopsOnAnErrorWithoutSavingTheChunk(t *testing.T) {
	boom := errors.New("access denied")
	var saves atomic.Int32
	cursor, err := Run(context.Background(), 0, 3*Chunk, func() bool { return true },
		func(_ context.Context, i int) (int, error) {
			if i == Chunk+3 {
				return 0, boom
			}
			return i, nil
		},
		func(int, []int) error { saves.Add(1); return nil })
	if !errors.Is(err, boom) || cursor != Chunk || saves.Load() != 1 {
		t.Errorf("cursor %d saves %d err %v; want the second chunk unsaved and redone next time", cursor, saves.Load(), err)
	}
}
