package failback

import (
	"fmt"
	"sync"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// TestPartPagerReadsAPartAtATime: user i is the i-th user of the parts in order (an empty part
// skipped), each part is read once when the positions are worked through in order, and no more
// than two parts are held at any time.
func TestPartPagerReadsAPartAtATime(t *testing.T) {
	// Parts at least a chunk long but the empty one and the last, as an export's are.
	sizes := []int{5, 0, 4, 6, 1}
	var parts []snapshot.Part
	for i, n := range sizes {
		parts = append(parts, snapshot.Part{Object: s3stream.Object{Key: fmt.Sprintf("p%d", i)}, Rows: n})
	}
	var mu sync.Mutex
	reads := map[string]int{}
	pg := &partPager{read: func(part snapshot.Part) ([]snapshot.User, error) {
		mu.Lock()
		reads[part.Key]++
		mu.Unlock()
		users := make([]snapshot.User, part.Rows)
		for i := range users {
			users[i].Username = fmt.Sprintf("%s-%d", part.Key, i)
		}
		return users, nil
	}, parts: parts, window: 4, loaded: map[int][]snapshot.User{}}
	total := 0
	for _, part := range parts {
		pg.starts = append(pg.starts, total)
		total += part.Rows
	}
	var got []string
	// In chunks of 4 positions, each chunk's positions at once, as checkpoint.Run works.
	for from := 0; from < total; from += 4 {
		chunk := make([]string, min(4, total-from))
		var wg sync.WaitGroup
		for i := from; i < from+len(chunk); i++ {
			wg.Go(func() {
				u, err := pg.user(i)
				if err != nil {
					t.Error(err)
				}
				chunk[i-from] = u.Username
			})
		}
		wg.Wait()
		if n := len(pg.loaded); n > 2 {
			t.Errorf("after positions %d..%d, %d parts held", from, from+len(chunk)-1, n)
		}
		got = append(got, chunk...)
	}
	var want []string
	for i, n := range sizes {
		for k := range n {
			want = append(want, fmt.Sprintf("p%d-%d", i, k))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users by position %v, want %v", got, want)
	}
	for _, key := range []string{"p0", "p2", "p3", "p4"} {
		if reads[key] != 1 {
			t.Errorf("part %s read %d times, want once", key, reads[key])
		}
	}
	if reads["p1"] != 0 {
		t.Errorf("the empty part was read %d times", reads["p1"])
	}
}
