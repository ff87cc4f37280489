package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Sizes of an apply phase's work list; Steps fields override them.
const (
	// DefaultPageSize is how many items one page of a work list holds: what one Apply
	// invocation holds of it at a time (a multiple of checkpoint.Chunk, so chunks stay whole).
	DefaultPageSize = 4 * checkpoint.Chunk
	// DefaultBucketUsers is how many of the snapshot's users one join bucket holds at most (by the
	// snapshot's count): a bucket's look-up side (sign-in names, or the names an API create may
	// make) is what a join unit holds.
	DefaultBucketUsers = 100_000
	// DefaultOpenFiles is how many bucket files one unit writes at once (each a gzip stream
	// spooled to /tmp, uploaded one at a time when the unit ends).
	DefaultOpenFiles = 32
)

// WorkList is how far the phase's work list is built. Apply builds it, a bounded unit at a time,
// before its first change; the list then stays as written, so a cursor means the same item in
// every invocation.
type WorkList struct {
	Built bool `json:"built"`
	// Unit is the next unit to run while the list is being built.
	Unit int `json:"unit"`
	// Buckets and PageSize are fixed by the first invocation of the phase.
	Buckets  int `json:"buckets"`
	PageSize int `json:"pageSize"`
	// Items is how many items the list has, once built.
	Items int `json:"items"`
}

// item is one change: a user to create or disable, a group to create, or a membership to add.
// Items are written to the work list's pages as JSON lines.
type item struct {
	User     *snapshot.User  `json:"user,omitempty"`
	Username string          `json:"username,omitempty"`
	Name     string          `json:"name,omitempty"`
	Group    *snapshot.Group `json:"group,omitempty"`
	Member   string          `json:"member,omitempty"`
}

// listIndex is the work list's list.json: how many items each segment holds, in order. The list
// is the segments' items one after the other.
type listIndex struct {
	Segments []int `json:"segments"`
}

// locate is the segment of the list's item i and i's offset in it.
func (x listIndex) locate(i int) (seg, off int) {
	for seg, n := range x.Segments {
		if i < n {
			return seg, i
		}
		i -= n
	}
	return len(x.Segments), i
}

func (x listIndex) items() int {
	n := 0
	for _, c := range x.Segments {
		n += c
	}
	return n
}

// unit is one bounded step of building a work list: it reads a bounded share of what it needs
// and writes objects of its own under keys fixed by the list, so a retried unit rewrites them.
type unit func(ctx context.Context) error

// worklist is one phase's work list: its files under Plan.Prefix + WorkDir + phase.
type worklist struct {
	s     *Steps
	p     Plan
	csv   CSVOutput
	phase string
	wl    WorkList
	store S3
}

func (w worklist) dir() string { return w.p.Prefix + WorkDir + w.phase + "/" }

func (w worklist) pageKey(seg, page int) string {
	return fmt.Sprintf("%s%05d/%06d.jsonl.gz", w.dir(), seg, page)
}
func (w worklist) countKey(seg int) string { return fmt.Sprintf("%s%05d/count.json", w.dir(), seg) }
func (w worklist) indexKey() string        { return w.dir() + "list.json" }
func (w worklist) bucketKey(side string, b int) string {
	return fmt.Sprintf("%sbuckets/%s-%05d.jsonl.gz", w.dir(), side, b)
}

func (s *Steps) pageSize() int {
	if s.PageSize > 0 {
		return s.PageSize
	}
	return DefaultPageSize
}

func (s *Steps) openFiles() int {
	if s.OpenFiles > 0 {
		return s.OpenFiles
	}
	return DefaultOpenFiles
}

// buckets is how many join buckets a plan's snapshot needs: at most BucketUsers users each.
func (s *Steps) buckets(p Plan) int {
	per := s.BucketUsers
	if per <= 0 {
		per = DefaultBucketUsers
	}
	return max(1, (p.Counts.Users+per-1)/per)
}

// units are the units that build the phase's list, the last one writing its index.
func (w worklist) units() ([]unit, error) {
	var us []unit
	segments := 1
	switch w.phase {
	case PhaseGroups:
		us = append(us, w.segment(0, func(ctx context.Context, add func(item) error) error {
			return readVerified(ctx, w.store, w.p.Bucket, w.p.Snapshot.Groups, func(g snapshot.Group) error {
				return add(item{Group: &g})
			})
		}))
	case PhaseDisable:
		us = append(us, w.segment(0, func(ctx context.Context, add func(item) error) error {
			return readVerified(ctx, w.store, w.p.Bucket, w.csv.Users, func(u snapshot.User) error {
				if u.Enabled {
					return nil
				}
				return add(item{Username: u.Username, Name: w.p.Match.Name(u)})
			})
		}))
	case PhaseCreate:
		// The users the import refused only for an unverified contact, joined to their records
		// by the name the CSV gave them.
		if w.csv.Rejected == 0 {
			segments = 0
			break
		}
		segments = w.wl.Buckets
		us = join[string, snapshot.User]{
			readLeft: func(ctx context.Context, fn func(string) error) error {
				return importjob.EachCreatable(ctx, w.store, w.p.Bucket, w.csv.Built, fn)
			},
			leftKey: func(name string) string { return name },
			readRight: func(ctx context.Context, fn func(snapshot.User) error) error {
				return readVerified(ctx, w.store, w.p.Bucket, w.csv.Users, fn)
			},
			rightKey: w.p.Match.Name,
			item: func(creatable map[string]string, u snapshot.User) (item, bool) {
				name := w.p.Match.Name(u)
				_, ok := creatable[name]
				return item{User: &u, Username: u.Username, Name: name}, ok
			},
		}.units(w)
	case PhaseMemberships:
		// Memberships name users by their snapshot username; the target knows them by name.
		segments = w.wl.Buckets
		us = join[signIn, snapshot.Membership]{
			readLeft: func(ctx context.Context, fn func(signIn) error) error {
				return readUsers(ctx, w.store, w.p.Bucket, w.p.Snapshot.Users, func(u snapshot.User) error {
					if u.Status == StatusExternalProvider {
						return nil
					}
					return fn(signIn{Username: u.Username, Name: w.p.Match.Name(u)})
				})
			},
			leftKey: func(n signIn) string { return n.Username },
			readRight: func(ctx context.Context, fn func(snapshot.Membership) error) error {
				return readParts(ctx, w.store, w.p.Bucket, w.p.Snapshot.Memberships, fn)
			},
			rightKey: func(m snapshot.Membership) string { return m.Username },
			item: func(names map[string]signIn, m snapshot.Membership) (item, bool) {
				return item{Username: m.Username, Name: names[m.Username].Name, Member: m.Group}, true
			},
		}.units(w)
	default:
		return nil, stateerr.Invalid("phase %q is not %s, %s, %s or %s", w.phase, PhaseCreate, PhaseGroups, PhaseMemberships, PhaseDisable)
	}
	return append(us, func(ctx context.Context) error { return w.writeIndex(ctx, segments) }), nil
}

// signIn is a user's snapshot username and the name the target knows it by.
type signIn struct {
	Username string `json:"u"`
	Name     string `json:"n"`
}

// segment is the unit that writes segment seg of the list from the items read gives it.
func (w worklist) segment(seg int, read func(ctx context.Context, add func(item) error) error) unit {
	return func(ctx context.Context) error {
		pg := &pager{w: w, seg: seg}
		if err := read(ctx, func(it item) error { return pg.add(ctx, it) }); err != nil {
			return err
		}
		return pg.close(ctx)
	}
}

// pager writes a segment's items in pages of the list's page size, then the segment's count.
type pager struct {
	w     worklist
	seg   int
	page  []item
	pages int
	n     int
}

func (pg *pager) add(ctx context.Context, it item) error {
	pg.page = append(pg.page, it)
	pg.n++
	if len(pg.page) == pg.w.wl.PageSize {
		return pg.flush(ctx)
	}
	return nil
}

func (pg *pager) flush(ctx context.Context) error {
	if err := snapshot.PutLines(ctx, pg.w.store, pg.w.p.Bucket, pg.w.pageKey(pg.seg, pg.pages), pg.page); err != nil {
		return err
	}
	pg.pages++
	pg.page = pg.page[:0]
	return nil
}

func (pg *pager) close(ctx context.Context) error {
	if len(pg.page) > 0 {
		if err := pg.flush(ctx); err != nil {
			return err
		}
	}
	body, _ := json.Marshal(struct {
		Items int `json:"items"`
	}{pg.n})
	_, err := s3stream.Put(ctx, pg.w.store, pg.w.p.Bucket, pg.w.countKey(pg.seg), body)
	return err
}

// writeIndex writes list.json from the segments' counts.
func (w worklist) writeIndex(ctx context.Context, segments int) error {
	x := listIndex{Segments: make([]int, segments)}
	for seg := range segments {
		var c struct {
			Items *int `json:"items"`
		}
		if err := w.getJSON(ctx, w.countKey(seg), &c); err != nil {
			return err
		}
		if c.Items == nil {
			return fmt.Errorf("s3://%s/%s has no item count", w.p.Bucket, w.countKey(seg))
		}
		x.Segments[seg] = *c.Items
	}
	body, err := json.Marshal(x)
	if err != nil {
		return err
	}
	_, err = s3stream.Put(ctx, w.store, w.p.Bucket, w.indexKey(), body)
	return err
}

func (w worklist) index(ctx context.Context) (listIndex, error) {
	var x listIndex
	return x, w.getJSON(ctx, w.indexKey(), &x)
}

func (w worklist) getJSON(ctx context.Context, key string, v any) error {
	r, err := s3stream.Open(ctx, w.store, w.p.Bucket, key)
	if err != nil {
		return fmt.Errorf("the %s work list: %w", w.phase, err)
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", w.p.Bucket, key, err)
	}
	return nil
}

// page reads the page holding the list's item i: its items, and the list index of the first.
func (w worklist) page(ctx context.Context, x listIndex, i int) ([]item, int, error) {
	seg, off := x.locate(i)
	if seg >= len(x.Segments) {
		return nil, 0, fmt.Errorf("the %s work list has no item %d", w.phase, i)
	}
	page := off / w.wl.PageSize
	var items []item
	if err := snapshot.GetLines(ctx, w.store, w.p.Bucket, w.pageKey(seg, page), func(it item) error {
		items = append(items, it)
		return nil
	}); err != nil {
		return nil, 0, err
	}
	first := i - off + page*w.wl.PageSize
	if want := min(w.wl.PageSize, x.Segments[seg]-page*w.wl.PageSize); len(items) != want {
		return nil, 0, fmt.Errorf("page %d of segment %d of the %s work list has %d items, want %d", page, seg, w.phase, len(items), want)
	}
	return items, first, nil
}

// join lists items by joining two streams on a key, a hash bucket at a time: each side is spread
// over the list's buckets by the key's partition.Of (the files of at most OpenFiles buckets per
// unit), then each bucket's unit loads its left side and streams its right side, writing the
// items of that bucket as its segment. No unit holds more than one bucket's left side.
type join[L, R any] struct {
	readLeft  func(ctx context.Context, fn func(L) error) error
	leftKey   func(L) string
	readRight func(ctx context.Context, fn func(R) error) error
	rightKey  func(R) string
	// item is the item of right record r given its bucket's left records by key, if any.
	item func(left map[string]L, r R) (item, bool)
}

func (j join[L, R]) units(w worklist) []unit {
	n, f := w.wl.Buckets, w.s.openFiles()
	var us []unit
	for lo := 0; lo < n; lo += f {
		hi := min(n, lo+f)
		us = append(us, func(ctx context.Context) error { return spread(ctx, w, "left", lo, hi, j.readLeft, j.leftKey) })
	}
	for lo := 0; lo < n; lo += f {
		hi := min(n, lo+f)
		us = append(us, func(ctx context.Context) error { return spread(ctx, w, "right", lo, hi, j.readRight, j.rightKey) })
	}
	for b := range n {
		us = append(us, func(ctx context.Context) error {
			left := map[string]L{}
			if err := snapshot.GetLines(ctx, w.store, w.p.Bucket, w.bucketKey("left", b), func(v L) error {
				left[j.leftKey(v)] = v
				return nil
			}); err != nil {
				return err
			}
			return w.segment(b, func(ctx context.Context, add func(item) error) error {
				return snapshot.GetLines(ctx, w.store, w.p.Bucket, w.bucketKey("right", b), func(r R) error {
					if it, ok := j.item(left, r); ok {
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
func spread[T any](ctx context.Context, w worklist, side string, lo, hi int, read func(context.Context, func(T) error) error, key func(T) string) error {
	out := partition.Open(ctx, w.store, w.p.Bucket, hi-lo, func(i int) string { return w.bucketKey(side, lo+i) })
	err := read(ctx, func(v T) error {
		if b := partition.Of(key(v), w.wl.Buckets); b >= lo && b < hi {
			return out.Write(b-lo, v)
		}
		return nil
	})
	return out.Close(err)
}
