package failback

import (
	"fmt"
	"iter"
	"sync"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// fakeParts are parts of the sizes given, read by a pager whose reads it counts.
func fakeParts(t *testing.T, sizes []int, window int) (*partPager, int, map[string]int) {
	t.Helper()
	var parts []snapshot.Part
	for i, n := range sizes {
		parts = append(parts, snapshot.Part{Object: s3stream.Object{Key: fmt.Sprintf("p%d", i)}, Rows: n})
	}
	var mu sync.Mutex
	reads := map[string]int{}
	holds := map[string]int{} // what each part holds, whatever its index says
	for _, part := range parts {
		holds[part.Key] = part.Rows
	}
	pg := &partPager{open: func(from []snapshot.Part) iter.Seq2[snapshot.User, error] {
		return func(yield func(snapshot.User, error) bool) {
			for _, part := range from {
				mu.Lock()
				reads[part.Key]++
				mu.Unlock()
				for k := range holds[part.Key] {
					if !yield(snapshot.User{Username: fmt.Sprintf("%s-%d", part.Key, k)}, nil) {
						return
					}
				}
			}
		}
	}, keep: func(u snapshot.User) snapshot.User { return u }, parts: parts, window: window}
	total := 0
	for _, part := range parts {
		pg.starts = append(pg.starts, total)
		total += part.Rows
	}
	t.Cleanup(pg.close)
	return pg, total, reads
}

// TestPartPagerStreamsTheParts: user i is the i-th user of the parts in order (an empty part
// skipped), asked for a chunk at a time by concurrent workers (chunks that straddle parts' ends);
// each part is read once, from a resumed position on only the parts from its own, and the pager
// never holds more than two chunks of users.
func TestPartPagerStreamsTheParts(t *testing.T) {
	sizes := []int{5, 0, 4, 6, 1}
	const chunk = 4
	for _, from := range []int{0, 8} {
		t.Run(fmt.Sprintf("from %d", from), func(t *testing.T) {
			pg, total, reads := fakeParts(t, sizes, chunk)
			var got []string
			for lo := from; lo < total; lo += chunk {
				names := make([]string, min(chunk, total-lo))
				var wg sync.WaitGroup
				// Each chunk's positions at once, last first, as checkpoint.Run's workers may.
				for i := lo + len(names) - 1; i >= lo; i-- {
					wg.Go(func() {
						u, err := pg.user(i)
						if err != nil {
							t.Error(err)
						}
						names[i-lo] = u.Username
					})
				}
				wg.Wait()
				if n := len(pg.held); n > 2*chunk {
					t.Errorf("after positions %d..%d, %d users held", lo, lo+len(names)-1, n)
				}
				got = append(got, names...)
			}
			var want []string
			for i, n := range sizes {
				for k := range n {
					want = append(want, fmt.Sprintf("p%d-%d", i, k))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want[from:]) {
				t.Errorf("users by position %v, want %v", got, want[from:])
			}
			for i, n := range sizes {
				key := fmt.Sprintf("p%d", i)
				wantReads := 1
				if pgStart(sizes, i)+n <= from-chunk+1 {
					wantReads = 0 // before the resumed position's window
				}
				if n > 0 && reads[key] != wantReads {
					t.Errorf("part %s read %d times, want %d", key, reads[key], wantReads)
				}
			}
		})
	}
}

func pgStart(sizes []int, i int) int {
	n := 0
	for _, s := range sizes[:i] {
		n += s
	}
	return n
}

// TestPartPagerRefusesAShortExport: a position past the users the parts hold fails as an invalid
// snapshot, not with some other user.
func TestPartPagerRefusesAShortExport(t *testing.T) {
	pg, _, _ := fakeParts(t, []int{3}, 4)
	pg.parts[0].Rows = 5 // the index says 5
	pg.starts = []int{0}
	if _, err := pg.user(4); err == nil {
		t.Fatal("user 4 of a part holding 3: no error")
	}
}
