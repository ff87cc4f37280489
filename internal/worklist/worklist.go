// Package worklist lets a looped apply step work from a list of changes no invocation holds
// whole: the step's first invocations build the list, a bounded unit at a time, into pages of
// PageSize items in S3 with an index of how many items each segment holds; then each invocation
// reads only the page its cursor is in. The list stays as written, so a cursor (and a ledger's
// index) means the same item in every invocation.
//
// A list's files, under its Dir: SSSSS/PPPPPP.jsonl.gz (page P of segment S), SSSSS/count.json
// (the segment's item count, written after its pages), list.json (the index, written last) and
// buckets/SIDE-BBBBB.jsonl.gz (a Join's hash buckets).
package worklist

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

const (
	// DefaultPageSize is how many items one page holds: what one invocation holds of the list at
	// a time (a multiple of checkpoint.Chunk, so chunks stay whole).
	DefaultPageSize = 4 * checkpoint.Chunk
	// DefaultOpenFiles is how many bucket files one Join unit writes at once (each a gzip stream
	// spooled to /tmp, uploaded when the unit ends).
	DefaultOpenFiles = 32
)

// Progress is how far a list is built, carried in the step's progress from one invocation to
// the next.
type Progress struct {
	Built bool `json:"built"`
	// Unit is the next unit to run while the list is being built.
	Unit int `json:"unit"`
	// Buckets and PageSize are fixed by the step's first invocation.
	Buckets  int `json:"buckets"`
	PageSize int `json:"pageSize"`
	// Items is how many items the list has, once built.
	Items int `json:"items"`
}

// Limits say when an invocation of a step that works from a list stops starting work, from
// start on: more, for a chunk of items, until batch has passed; moreUnits, for a unit of the
// list (which may read a whole input once), only in batch's first half, so it ends inside the
// Lambda's time. A budget, if set, replaces both (tests cut invocations with it).
func Limits(now func() time.Time, batch time.Duration, budget func() checkpoint.Budget) (more, moreUnits func() bool) {
	if budget != nil {
		more = budget().Open
		return more, more
	}
	start := now()
	return func() bool { return now().Before(start.Add(batch)) },
		func() bool { return now().Before(start.Add(batch / 2)) }
}

// Unit is one bounded step of building a list: it reads a bounded share of what it needs and
// writes objects of its own under keys fixed by the list, so a retried unit rewrites them.
type Unit func(ctx context.Context) error

// List is one list's files under Dir (ending in "/") in Bucket.
type List struct {
	Store  transfermanager.S3APIClient
	Bucket string
	Dir    string
	// Name says whose list it is in errors: "the create" reads "the create work list".
	Name string
	// Buckets and PageSize are the list's, as its Progress fixed them.
	Buckets  int
	PageSize int
}

// PageKey is the key of page page of segment seg.
func (l List) PageKey(seg, page int) string {
	return fmt.Sprintf("%s%05d/%06d.jsonl.gz", l.Dir, seg, page)
}

// CountKey is the key of segment seg's item count.
func (l List) CountKey(seg int) string { return fmt.Sprintf("%s%05d/count.json", l.Dir, seg) }

// IndexKey is the key of the list's index.
func (l List) IndexKey() string { return l.Dir + "list.json" }

// BucketKey is the key of a Join's bucket b of one side ("left" or "right").
func (l List) BucketKey(side string, b int) string {
	return fmt.Sprintf("%sbuckets/%s-%05d.jsonl.gz", l.Dir, side, b)
}

// Index is a list's list.json: how many items each segment holds, in order. The list is the
// segments' items one after the other.
type Index struct {
	Segments []int `json:"segments"`
}

// Locate is the segment of the list's item i and i's offset in it (the segment past the last
// when the list has no item i).
func (x Index) Locate(i int) (seg, off int) {
	for seg, n := range x.Segments {
		if i < n {
			return seg, i
		}
		i -= n
	}
	return len(x.Segments), i
}

// Items is how many items the list has.
func (x Index) Items() int {
	n := 0
	for _, c := range x.Segments {
		n += c
	}
	return n
}

// Build runs the list's units from p.Unit on while more() holds, and marks the list built once
// the last has run. It reports whether the list is built.
func Build(ctx context.Context, p *Progress, units []Unit, more func() bool) (bool, error) {
	for p.Unit < len(units) && more() {
		if err := units[p.Unit](ctx); err != nil {
			return false, fmt.Errorf("unit %d of %d: %w", p.Unit+1, len(units), err)
		}
		p.Unit++
	}
	p.Built = p.Unit >= len(units)
	return p.Built, nil
}

// Segment is the unit that writes segment seg of the list from the items read gives it.
func Segment[T any](l List, seg int, read func(ctx context.Context, add func(T) error) error) Unit {
	return func(ctx context.Context) error {
		pg := &pager[T]{l: l, seg: seg}
		if err := read(ctx, func(it T) error { return pg.add(ctx, it) }); err != nil {
			return err
		}
		return pg.close(ctx)
	}
}

// pager writes a segment's items in pages of the list's page size, then the segment's count.
type pager[T any] struct {
	l     List
	seg   int
	page  []T
	pages int
	n     int
}

func (pg *pager[T]) add(ctx context.Context, it T) error {
	pg.page = append(pg.page, it)
	pg.n++
	if len(pg.page) == pg.l.PageSize {
		return pg.flush(ctx)
	}
	return nil
}

func (pg *pager[T]) flush(ctx context.Context) error {
	if err := snapshot.PutLines(ctx, pg.l.Store, pg.l.Bucket, pg.l.PageKey(pg.seg, pg.pages), pg.page); err != nil {
		return err
	}
	pg.pages++
	pg.page = pg.page[:0]
	return nil
}

func (pg *pager[T]) close(ctx context.Context) error {
	if len(pg.page) > 0 {
		if err := pg.flush(ctx); err != nil {
			return err
		}
	}
	body, _ := json.Marshal(struct {
		Items int `json:"items"`
	}{pg.n})
	_, err := s3stream.Put(ctx, pg.l.Store, pg.l.Bucket, pg.l.CountKey(pg.seg), body)
	return err
}

// WriteIndex is the unit that writes list.json from the counts of segments [0, segments): the
// last unit of a list.
func (l List) WriteIndex(segments int) Unit {
	return func(ctx context.Context) error {
		x := Index{Segments: make([]int, segments)}
		for seg := range segments {
			var c struct {
				Items *int `json:"items"`
			}
			if err := l.getJSON(ctx, l.CountKey(seg), &c); err != nil {
				return err
			}
			if c.Items == nil {
				return fmt.Errorf("s3://%s/%s has no item count", l.Bucket, l.CountKey(seg))
			}
			x.Segments[seg] = *c.Items
		}
		body, err := json.Marshal(x)
		if err != nil {
			return err
		}
		_, err = s3stream.Put(ctx, l.Store, l.Bucket, l.IndexKey(), body)
		return err
	}
}

// Index reads the list's index.
func (l List) Index(ctx context.Context) (Index, error) {
	var x Index
	return x, l.getJSON(ctx, l.IndexKey(), &x)
}

func (l List) getJSON(ctx context.Context, key string, v any) error {
	r, err := s3stream.Open(ctx, l.Store, l.Bucket, key)
	if err != nil {
		return fmt.Errorf("%s work list: %w", l.Name, err)
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", l.Bucket, key, err)
	}
	return nil
}

// Page reads the page holding the list's item i: its items, and the list index of the first.
func Page[T any](ctx context.Context, l List, x Index, i int) ([]T, int, error) {
	seg, off := x.Locate(i)
	if seg >= len(x.Segments) {
		return nil, 0, fmt.Errorf("%s work list has no item %d", l.Name, i)
	}
	page := off / l.PageSize
	var items []T
	if err := snapshot.GetLines(ctx, l.Store, l.Bucket, l.PageKey(seg, page), func(it T) error {
		items = append(items, it)
		return nil
	}); err != nil {
		return nil, 0, err
	}
	first := i - off + page*l.PageSize
	if want := min(l.PageSize, x.Segments[seg]-page*l.PageSize); len(items) != want {
		return nil, 0, fmt.Errorf("page %d of segment %d of %s work list has %d items, want %d", page, seg, l.Name, len(items), want)
	}
	return items, first, nil
}

// Run works through the list's items from cursor while more() holds, a page at a time, with
// checkpoint.Run: work runs item i (it), save receives each chunk's results before the cursor
// moves past them. It returns the cursor: the first item not done.
func Run[T, R any](ctx context.Context, l List, x Index, cursor int, more func() bool,
	work func(ctx context.Context, i int, it T) (R, error), save func(from int, results []R) error) (int, error) {
	n := x.Items()
	for cursor < n && more() {
		items, first, err := Page[T](ctx, l, x, cursor)
		if err != nil {
			return cursor, err
		}
		cursor, err = checkpoint.Run(ctx, cursor, first+len(items), more,
			func(ctx context.Context, i int) (R, error) { return work(ctx, i, items[i-first]) }, save)
		if err != nil {
			return cursor, err
		}
	}
	return cursor, nil
}

// Join lists items by joining two streams on a key, a hash bucket at a time: each side is spread
// over the list's buckets by the key's partition.Of (the files of at most OpenFiles buckets per
// unit), then each bucket's unit loads its left side and streams its right side, writing the
// items of that bucket as its segment (segment b for bucket b). No unit holds more than one
// bucket's left side.
type Join[L, R, T any] struct {
	ReadLeft  func(ctx context.Context, fn func(L) error) error
	LeftKey   func(L) string
	ReadRight func(ctx context.Context, fn func(R) error) error
	RightKey  func(R) string
	// Item is the item of right record r given its bucket's left records by key, if any.
	Item func(left map[string]L, r R) (T, bool)
	// OpenFiles is how many bucket files a spreading unit writes at once; zero means
	// DefaultOpenFiles.
	OpenFiles int
	// A list may hold more than one join. Name prefixes this join's bucket files (empty for a
	// list's first), Buckets is how many buckets it has (zero: the list's Buckets), and First is the
	// segment of its first bucket: its items are segments [First, First+Buckets).
	Name    string
	Buckets int
	First   int
}

// Units are the join's units over its buckets: segments [First, First+Buckets).
func (j Join[L, R, T]) Units(l List) []Unit {
	n, f := cmp.Or(j.Buckets, l.Buckets), j.OpenFiles
	if f <= 0 {
		f = DefaultOpenFiles
	}
	left, right := j.Name+"left", j.Name+"right"
	l.Buckets = n // the spreading units' partition.Of
	var us []Unit
	for lo := 0; lo < n; lo += f {
		hi := min(n, lo+f)
		us = append(us, func(ctx context.Context) error { return spread(ctx, l, left, lo, hi, j.ReadLeft, j.LeftKey) })
	}
	for lo := 0; lo < n; lo += f {
		hi := min(n, lo+f)
		us = append(us, func(ctx context.Context) error { return spread(ctx, l, right, lo, hi, j.ReadRight, j.RightKey) })
	}
	for b := range n {
		us = append(us, func(ctx context.Context) error {
			left := map[string]L{}
			if err := snapshot.GetLines(ctx, l.Store, l.Bucket, l.BucketKey(j.Name+"left", b), func(v L) error {
				left[j.LeftKey(v)] = v
				return nil
			}); err != nil {
				return err
			}
			return Segment(l, j.First+b, func(ctx context.Context, add func(T) error) error {
				return snapshot.GetLines(ctx, l.Store, l.Bucket, l.BucketKey(right, b), func(r R) error {
					if it, ok := j.Item(left, r); ok {
						return add(it)
					}
					return nil
				})
			})(ctx)
		})
	}
	return us
}

// spread writes the records read gives whose key falls in buckets [lo, hi) to those buckets'
// files of one side.
func spread[T any](ctx context.Context, l List, side string, lo, hi int, read func(context.Context, func(T) error) error, key func(T) string) error {
	out := partition.Open(ctx, l.Store, l.Bucket, hi-lo, func(i int) string { return l.BucketKey(side, lo+i) })
	err := read(ctx, func(v T) error {
		if b := partition.Of(key(v), l.Buckets); b >= lo && b < hi {
			return out.Write(b-lo, v)
		}
		return nil
	})
	return out.Close(err)
}
