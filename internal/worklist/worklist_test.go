package worklist_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3fault"
	"github.com/cognito-dr/cognito-dr/internal/worklist"
)

// newStore is a client of an S3 with bucket "bkt", and what it counts of the objects read.
func newStore(t *testing.T) (*s3.Client, *s3fault.Reads) {
	t.Helper()
	reads := s3fault.NewReads()
	return reads.Client(localaws.NewBucket(t, "bkt")), reads
}

// segments are the items of a list's segments: "sS-I" is item I of segment S.
func segments(sizes ...int) [][]string {
	var out [][]string
	for s, n := range sizes {
		var seg []string
		for i := range n {
			seg = append(seg, fmt.Sprintf("s%d-%d", s, i))
		}
		out = append(out, seg)
	}
	return out
}

// build builds a list of these segments with units cut by more, one Build per invocation as a
// step would; it returns the list's progress and how many invocations it took.
func build(t *testing.T, l worklist.List, segs [][]string, more func() func() bool) (worklist.Progress, int) {
	t.Helper()
	var units []worklist.Unit
	for s, items := range segs {
		units = append(units, worklist.Segment(l, s, func(_ context.Context, add func(string) error) error {
			for _, it := range items {
				if err := add(it); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	units = append(units, l.WriteIndex(len(segs)))
	p := worklist.Progress{Buckets: l.Buckets, PageSize: l.PageSize}
	for n := 1; n <= 2*len(units); n++ {
		built, err := worklist.Build(context.Background(), &p, units, more())
		if err != nil {
			t.Fatal(err)
		}
		if built {
			return p, n
		}
	}
	t.Fatalf("list not built after %d invocations: %+v", 2*len(units), p)
	return p, 0
}

// TestListGivesEveryItemByItsIndex: a list built a unit an invocation, of segments of 7, 0 and 5
// items in pages of 3, gives item i as the i-th item of the segments one after the other, from
// a page of at most 3 items that begins at a multiple of 3 within its segment.
func TestListGivesEveryItemByItsIndex(t *testing.T) {
	store, _ := newStore(t)
	l := worklist.List{Store: store, Bucket: "bkt", Dir: "run/work/", Name: "the test", Buckets: 1, PageSize: 3}
	segs := segments(7, 0, 5)
	p, invocations := build(t, l, segs, func() func() bool { return checkpoint.NewStarts(1).Open })
	if invocations != 4 {
		t.Errorf("built in %d invocations of one unit each, want 4 (3 segments and the index)", invocations)
	}
	x, err := l.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(segs...)
	if x.Items() != len(want) || !p.Built {
		t.Fatalf("index %+v (%d items), progress %+v; want %d items, built", x, x.Items(), p, len(want))
	}
	for i, w := range want {
		page, first, err := worklist.Page[string](context.Background(), l, x, i)
		if err != nil {
			t.Fatal(err)
		}
		if i < first || i >= first+len(page) || page[i-first] != w || len(page) > 3 {
			t.Errorf("item %d: page %v from %d, want one of at most 3 holding %s", i, page, first, w)
		}
	}
	if _, _, err := worklist.Page[string](context.Background(), l, x, len(want)); err == nil {
		t.Errorf("item %d of a list of %d: no error", len(want), len(want))
	}
}

// TestRunReadsOnlyThePageAtItsCursor: an invocation that may run one chunk from the middle of
// the list reads the page its cursor is in, nothing else, and a run resumed from its cursor
// works every item once, in order.
func TestRunReadsOnlyThePageAtItsCursor(t *testing.T) {
	store, reads := newStore(t)
	l := worklist.List{Store: store, Bucket: "bkt", Dir: "run/work/", Name: "the test", Buckets: 1, PageSize: 3}
	segs := segments(7, 5)
	build(t, l, segs, func() func() bool { return func() bool { return true } })
	x, err := l.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reads.Take()
	var got []string
	var saved []int
	cursor := 0
	for invocations := 0; cursor < x.Items(); invocations++ {
		if invocations > x.Items() {
			t.Fatalf("no end after %d invocations at cursor %d", invocations, cursor)
		}
		from := cursor
		// Two starts: the page, then its one chunk.
		cursor, err = worklist.Run(context.Background(), l, x, cursor, checkpoint.NewStarts(2).Open,
			func(_ context.Context, i int, it string) (string, error) { return it, nil },
			func(from int, rs []string) error {
				saved = append(saved, from)
				got = append(got, rs...)
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		seg, off := x.Locate(from)
		if want := map[string]int{l.PageKey(seg, off/3): 1}; !cmp.Equal(want, reads.Take()) {
			t.Errorf("invocation at item %d read other than its page %v", from, want)
		}
		if cursor == from {
			t.Fatalf("invocation at item %d did nothing", from)
		}
	}
	if diff := cmp.Diff(slices.Concat(segs...), got); diff != "" {
		t.Errorf("items worked (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 3, 6, 7, 10}, saved); diff != "" {
		t.Errorf("chunks saved from (-want +got):\n%s", diff)
	}
}

// TestJoinListsEachMatchOnce: a join over 5 buckets, spread 2 bucket files at a time, lists every
// right record whose key a left record has, once, in a segment per bucket; the others not.
func TestJoinListsEachMatchOnce(t *testing.T) {
	store, _ := newStore(t)
	l := worklist.List{Store: store, Bucket: "bkt", Dir: "run/join/", Name: "the test", Buckets: 5, PageSize: 2}
	left := []string{"a", "c", "e", "g", "i", "k", "m"}
	var right []string
	for c := 'a'; c <= 'n'; c++ {
		right = append(right, string(c), string(c)+"-again")
	}
	each := func(xs []string) func(context.Context, func(string) error) error {
		return func(_ context.Context, fn func(string) error) error {
			for _, x := range xs {
				if err := fn(x); err != nil {
					return err
				}
			}
			return nil
		}
	}
	units := append(worklist.Join[string, string, string]{
		ReadLeft: each(left), LeftKey: func(s string) string { return s },
		ReadRight: each(right), RightKey: func(s string) string { return strings.TrimSuffix(s, "-again") },
		Item: func(left map[string]string, r string) (string, bool) {
			_, ok := left[strings.TrimSuffix(r, "-again")]
			return r, ok
		},
		OpenFiles: 2,
	}.Units(l), l.WriteIndex(5))
	// Three windows of at most 2 bucket files a side, then a unit a bucket, then the index.
	if len(units) != 3+3+5+1 {
		t.Errorf("%d units, want 12", len(units))
	}
	p := worklist.Progress{Buckets: 5, PageSize: 2}
	if built, err := worklist.Build(context.Background(), &p, units, func() bool { return true }); err != nil || !built {
		t.Fatalf("built %v: %v", built, err)
	}
	x, err := l.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	if _, err := worklist.Run(context.Background(), l, x, 0, func() bool { return true },
		func(_ context.Context, _ int, it string) (string, error) { return it, nil },
		func(_ int, rs []string) error {
			for _, r := range rs {
				got[r]++
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, k := range left {
		want[k], want[k+"-again"] = 1, 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items listed (-want +got):\n%s", diff)
	}
	if len(x.Segments) != 5 {
		t.Errorf("segments %v, want one a bucket", x.Segments)
	}
}
