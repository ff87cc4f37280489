package partition

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Sides of a join: the two pools' exports.
const (
	Primary = "primary"
	DR      = "dr"
)

// Sides are the two sides, primary first: the order of Partition.Units.
var Sides = [2]string{Primary, DR}

// Phases of a partitioned join. In the sub phase users are partitioned by primary sub (a primary
// user's sub, a DR user's custom:primary_sub) and matched by it; the users left unmatched are
// partitioned again by key (Repartition) and matched by key in the key phase. A pair matched by a
// trusted primary sub whose keys differ (a changed email) is thus always in one bucket.
const (
	PhaseSub = "sub"
	PhaseKey = "key"
)

// DefaultBucketUsers is how many users of one pool a bucket holds at most (by the pools'
// estimated sizes): what one bucket's comparison loads of each side, about 60 MB.
const DefaultBucketUsers = 50_000

// Count is how many buckets hold users of pools of these estimated sizes, at most per users of the
// larger pool in each (per <= 0 means DefaultBucketUsers).
func Count(per int, estimates ...int32) int {
	if per <= 0 {
		per = DefaultBucketUsers
	}
	var most int
	for _, e := range estimates {
		most = max(most, int(e))
	}
	return max(1, (most+per-1)/per)
}

// ParseBucketUsers reads a setting (named name) of how many users a bucket holds: "" is 0 (the
// default), else a positive number.
func ParseBucketUsers(name, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive number of users", name, v)
	}
	return n, nil
}

// Record is one user of a partitioned export with its group memberships.
type Record struct {
	User   snapshot.User `json:"user"`
	Groups []string      `json:"groups,omitempty"`
	// Marked is set when the user's username is among its side's marks (Layout.Marks).
	Marked bool `json:"marked,omitempty"`
	// Tags are the notes its side's Layout.Tags gave the user's username, in the order given.
	Tags []string `json:"tags,omitempty"`
}

// Layout is one join of two pools' exports partitioned into hash buckets: where its files go and
// how users join. Its consumer (reconcile's comparison, failback's plan) decides what a bucket's
// two files mean; the partition only guarantees that users who may join are in one bucket.
type Layout struct {
	Store  transfermanager.S3APIClient
	Bucket string
	// Dir is the key prefix of every file of the partition (ends in "/").
	Dir string
	// Exports are where each side's resumable export is (users and memberships), primary then DR.
	Exports [2]string
	// Buckets is how many buckets the join has (Count).
	Buckets int
	// OpenFiles is how many bucket files a unit writes at once (each a gzip stream spooled to
	// /tmp, see Writers); zero means 32.
	OpenFiles int
	// First is the phase the exports are partitioned for: PhaseSub when primary subs are trusted,
	// else PhaseKey.
	First string
	// Join is the join value of a user of a side in a phase: users with the same value are in the
	// same bucket. It is given the user's username and attributes only (the partition decodes no
	// more of a user to route it).
	Join func(side, phase string, u snapshot.User) string
	// Marks, if set, streams the usernames marked on a side (put each) or returns nil at once
	// for a side with none; a marked user's Record has Marked set. Read by one unit per side.
	Marks func(ctx context.Context, side string, put func(username string) error) error
	// Tags, if set, streams notes about users of a side by username (put each) or returns nil at
	// once for a side with none; each note is attached to its user's Record (Tags), so a bucket
	// holds what another file says of its users by username. Read by one unit per side.
	Tags func(ctx context.Context, side string, put func(username, tag string) error) error
	// OnStage, if set, is called by each stage unit before it reads users part `part` of a side:
	// see is given every user of the part, done is called once the part's staged files are
	// written (either may be nil).
	OnStage func(ctx context.Context, side string, part int) (see func(snapshot.User), done func() error, err error)
}

func (l Layout) openFiles() int {
	if l.OpenFiles > 0 {
		return l.OpenFiles
	}
	return 32
}

// StageBuckets is how many files the partition stages each pool's users and memberships in: far
// fewer than Buckets (at most 32), so a stage unit writes few files and a route unit reads each
// staged file once per window; enough that one staged bucket (what a
// route unit reads, its memberships held) is at most 1/32 of a pool: 1.25 million users at 40
// million.
func (l Layout) StageBuckets() int { return min(32, max(1, (l.Buckets+15)/16)) }

// Windows is how many windows of OpenFiles buckets the buckets make.
func (l Layout) Windows() int { return (l.Buckets + l.openFiles() - 1) / l.openFiles() }

// Key is the key of one file of the partition.
func (l Layout) Key(stage, name string, i int) string {
	return fmt.Sprintf("%s%s/%s-%05d.jsonl.gz", l.Dir, stage, name, i)
}

// BucketKey is the file of bucket i of a side in a phase: Records.
func (l Layout) BucketKey(phase, side string, i int) string { return l.Key(phase, side, i) }

// Kinds of units.
const (
	// UnitStage stages one users part of a pool's export by username, so that each user meets
	// its group memberships.
	UnitStage = "stage"
	// UnitStageMembers stages one memberships part of a pool's export by username.
	UnitStageMembers = "stage-members"
	// UnitStageMarks stages a side's marks by username.
	UnitStageMarks = "stage-marks"
	// UnitStageTags stages a side's tags by username.
	UnitStageTags = "stage-tags"
	// UnitRoute reads one staged bucket of a pool, gives each user its groups (and mark) and
	// writes it to the window of its join bucket. In Repartition it routes a group of sub-phase
	// buckets' unmatched users.
	UnitRoute = "route"
	// UnitSplit reads one window's files and writes each of its buckets' file.
	UnitSplit = "split"
)

// Unit is one unit of a partition: it reads files of the run and writes files of its own, under
// keys fixed by the layout, its kind, side and index, so a re-run rewrites the same objects. Each
// reads a bounded share of one pool: an export part (at most about 250,000 users), one
// memberships part, one staged bucket (at most 1/32 of the pool) or one window (OpenFiles buckets).
type Unit struct {
	Kind string
	Side string
	I    int
}

func (u Unit) String() string { return fmt.Sprintf("%s %s %d", u.Kind, u.Side, u.I) }

// Partition is a layout with its exports' parts read: the units that partition them.
type Partition struct {
	Layout
	users, members [2][]snapshot.Part
}

// Load reads both exports' indexes.
func (l Layout) Load(ctx context.Context) (*Partition, error) {
	var users, members [2][]snapshot.Part
	for i := range Sides {
		var err error
		if users[i], err = snapshot.UsersLayout.Parts(ctx, l.Store, l.Bucket, l.Exports[i]); err != nil {
			return nil, &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
		if members[i], err = snapshot.MembershipsLayout.Parts(ctx, l.Store, l.Bucket, l.Exports[i]); err != nil {
			return nil, &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	return l.WithParts(users, members), nil
}

// WithParts is the partition of the users and memberships parts given, each side's in order: for
// a side whose parts are known without an export's index (a snapshot's, from its manifest).
// Exports is not read.
func (l Layout) WithParts(users, members [2][]snapshot.Part) *Partition {
	return &Partition{Layout: l, users: users, members: members}
}

// UsersParts is how many users parts a side's export has.
func (pt *Partition) UsersParts(side int) int { return len(pt.users[side]) }

// Units are each side's units, primary then DR, in the order they run: no unit reads the other
// side's files, so the two lists may run side by side.
func (pt *Partition) Units() [2][]Unit {
	var out [2][]Unit
	for i, side := range Sides {
		var units []Unit
		for part := range pt.users[i] {
			units = append(units, Unit{UnitStage, side, part})
		}
		for part := range pt.members[i] {
			units = append(units, Unit{UnitStageMembers, side, part})
		}
		if pt.Marks != nil {
			units = append(units, Unit{Kind: UnitStageMarks, Side: side})
		}
		if pt.Tags != nil {
			units = append(units, Unit{Kind: UnitStageTags, Side: side})
		}
		for staged := range pt.StageBuckets() {
			units = append(units, Unit{UnitRoute, side, staged})
		}
		for w := range pt.Windows() {
			units = append(units, Unit{UnitSplit, side, w})
		}
		out[i] = units
	}
	return out
}

// Run runs one unit of Units.
func (pt *Partition) Run(ctx context.Context, u Unit) error {
	switch u.Kind {
	case UnitStage:
		return pt.stage(ctx, u.Side, u.I)
	case UnitStageMembers:
		return pt.stageMembers(ctx, u.Side, u.I)
	case UnitStageMarks:
		return pt.stageMarks(ctx, u.Side)
	case UnitStageTags:
		return pt.stageTags(ctx, u.Side)
	case UnitRoute:
		return pt.route(ctx, u.Side, u.I)
	case UnitSplit:
		return pt.split(ctx, u.Side, u.I)
	}
	return fmt.Errorf("no partition unit %s", u)
}

func sideIndex(side string) int {
	if side == DR {
		return 1
	}
	return 0
}

func (l Layout) stageKey(side string, part, i int) string {
	return l.Key("stage", fmt.Sprintf("%s-users-p%05d", side, part), i)
}

func (l Layout) membersKey(side string, part, i int) string {
	return l.Key("stage", fmt.Sprintf("%s-members-p%05d", side, part), i)
}

func (l Layout) marksKey(side string, i int) string { return l.Key("stage", side+"-marks", i) }

func (l Layout) tagsKey(side string, i int) string { return l.Key("stage", side+"-tags", i) }

// tag is one staged note of Layout.Tags.
type tag struct {
	Username string `json:"u"`
	Tag      string `json:"t"`
}

func (l Layout) windowKey(side string, staged, w int) string {
	return l.Key("window", fmt.Sprintf("%s-s%05d", side, staged), w)
}

// stage writes users part `part` of a side's export to the staged buckets by username.
func (pt *Partition) stage(ctx context.Context, side string, part int) error {
	var see func(snapshot.User)
	var done func() error
	if pt.OnStage != nil {
		var err error
		if see, done, err = pt.OnStage(ctx, side, part); err != nil {
			return err
		}
	}
	n := pt.StageBuckets()
	w := Open(ctx, pt.Store, pt.Bucket, n, func(i int) string { return pt.stageKey(side, part, i) })
	err := snapshot.ReadRawParts(ctx, pt.Store, pt.Bucket, pt.users[sideIndex(side)][part:part+1], func(line []byte) error {
		name, err := usernameOf(line, see)
		if err != nil {
			return err
		}
		return w.WriteLine(Of(name, n), line)
	})
	if err := w.Close(err); err != nil {
		return err
	}
	if done != nil {
		return done()
	}
	return nil
}

// usernameOf is the username of a user's line; it decodes the whole user only for see (nil: just the
// username).
func usernameOf(line []byte, see func(snapshot.User)) (string, error) {
	if see == nil {
		if name, ok := leadingUsername(line); ok {
			return name, nil
		}
		var u struct {
			Username string `json:"username"`
		}
		if err := json.Unmarshal(line, &u); err != nil {
			return "", fmt.Errorf("a user's line: %w", err)
		}
		return u.Username, nil
	}
	var u snapshot.User
	if err := json.Unmarshal(line, &u); err != nil {
		return "", fmt.Errorf("a user's line: %w", err)
	}
	see(u)
	return u.Username, nil
}

// usernameField is how a user's line begins as snapshot.User encodes it: its username first.
var usernameField = []byte(`{"username":"`)

// leadingUsername reads the username at the start of a user's line without decoding the line when
// it is there and has no escape; ok is false otherwise (decode the line then). The line is
// decoded in full where it is routed.
func leadingUsername(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, usernameField)
	if !ok {
		return "", false
	}
	end := bytes.IndexAny(rest, `"\`)
	if end < 0 || rest[end] != '"' {
		return "", false
	}
	return string(rest[:end]), true
}

// joinUser is what Layout.Join is given of a user: its username and attributes, decoded without
// the rest of the user.
type joinUser struct {
	Username   string            `json:"username"`
	Attributes map[string]string `json:"attributes"`
}

func (u joinUser) user() snapshot.User {
	return snapshot.User{Username: u.Username, Attributes: u.Attributes}
}

// joinFields decodes the joinUser of a user's line.
func joinFields(line []byte) (snapshot.User, error) {
	var u joinUser
	if err := json.Unmarshal(line, &u); err != nil {
		return snapshot.User{}, fmt.Errorf("a user's line: %w", err)
	}
	return u.user(), nil
}

// recordJoinFields decodes the joinUser of a Record's line.
func recordJoinFields(line []byte) (snapshot.User, error) {
	var r struct {
		User joinUser `json:"user"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return snapshot.User{}, fmt.Errorf("a record's line: %w", err)
	}
	return r.User.user(), nil
}

// stageMembers writes memberships part `part` of a side's export to the staged buckets by
// username.
func (pt *Partition) stageMembers(ctx context.Context, side string, part int) error {
	n := pt.StageBuckets()
	w := Open(ctx, pt.Store, pt.Bucket, n, func(i int) string { return pt.membersKey(side, part, i) })
	err := snapshot.ReadRawParts(ctx, pt.Store, pt.Bucket, pt.members[sideIndex(side)][part:part+1], func(line []byte) error {
		var m snapshot.Membership
		if err := json.Unmarshal(line, &m); err != nil {
			return fmt.Errorf("a membership's line: %w", err)
		}
		return w.WriteLine(Of(m.Username, n), line)
	})
	return w.Close(err)
}

// stageMarks writes a side's marks to the staged buckets by username.
func (pt *Partition) stageMarks(ctx context.Context, side string) error {
	n := pt.StageBuckets()
	w := Open(ctx, pt.Store, pt.Bucket, n, func(i int) string { return pt.marksKey(side, i) })
	err := pt.Marks(ctx, side, func(name string) error { return w.Write(Of(name, n), name) })
	return w.Close(err)
}

// stageTags writes a side's tags to the staged buckets by username.
func (pt *Partition) stageTags(ctx context.Context, side string) error {
	n := pt.StageBuckets()
	w := Open(ctx, pt.Store, pt.Bucket, n, func(i int) string { return pt.tagsKey(side, i) })
	err := pt.Tags(ctx, side, func(name, t string) error { return w.Write(Of(name, n), tag{name, t}) })
	return w.Close(err)
}

// route reads staged bucket i of a side with its memberships, marks and tags (users stream
// through; only the bucket's memberships, marks and tags are held) and writes each user, with its groups, to the
// window of its join bucket.
func (pt *Partition) route(ctx context.Context, side string, i int) error {
	groups := map[string][]string{}
	for part := range pt.members[sideIndex(side)] {
		if err := snapshot.GetLines(ctx, pt.Store, pt.Bucket, pt.membersKey(side, part, i), func(m snapshot.Membership) error {
			groups[m.Username] = append(groups[m.Username], m.Group)
			return nil
		}); err != nil {
			return &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	marked := map[string]bool{}
	if pt.Marks != nil {
		if err := snapshot.GetLines(ctx, pt.Store, pt.Bucket, pt.marksKey(side, i), func(name string) error {
			marked[name] = true
			return nil
		}); err != nil {
			return &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	tags := map[string][]string{}
	if pt.Tags != nil {
		if err := snapshot.GetLines(ctx, pt.Store, pt.Bucket, pt.tagsKey(side, i), func(t tag) error {
			tags[t.Username] = append(tags[t.Username], t.Tag)
			return nil
		}); err != nil {
			return &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	return routeLines(ctx, pt.Layout, func(w int) string { return pt.windowKey(side, i, w) }, func(r *router) error {
		var rec []byte
		for part := range pt.users[sideIndex(side)] {
			if err := snapshot.GetRawLines(ctx, pt.Store, pt.Bucket, pt.stageKey(side, part, i), func(line []byte) error {
				u, err := joinFields(line)
				if err != nil {
					return err
				}
				b, ok := r.bucket(pt.Join(side, pt.First, u))
				if !ok {
					return nil
				}
				if rec, err = appendRecord(rec[:0], line, groups[u.Username], marked[u.Username], tags[u.Username]); err != nil {
					return err
				}
				return r.write(b, rec)
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendRecord appends the line of a Record of the user whose line is user (as it was read) with
// its groups, mark and tags: the user is not encoded again.
func appendRecord(dst, user []byte, groups []string, marked bool, tags []string) ([]byte, error) {
	dst = append(append(dst, `{"user":`...), user...)
	if len(groups) == 0 && !marked && len(tags) == 0 {
		return append(dst, '}'), nil
	}
	rest, err := json.Marshal(recordNotes{Groups: groups, Marked: marked, Tags: tags})
	if err != nil {
		return nil, err
	}
	// rest is {"groups":…}: its fields follow the user's.
	return append(append(dst, ','), rest[1:]...), nil
}

// recordNotes are the fields of a Record after its user, as Record encodes them.
type recordNotes struct {
	Groups []string `json:"groups,omitempty"`
	Marked bool     `json:"marked,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// split writes the bucket files of window w of a side from the window's files of every staged
// bucket.
func (pt *Partition) split(ctx context.Context, side string, w int) error {
	keys := make([]string, pt.StageBuckets())
	for i := range keys {
		keys[i] = pt.windowKey(side, i, w)
	}
	return pt.splitWindow(ctx, side, pt.First, w, keys)
}

// splitWindow writes the bucket files of window w in phase from the window's files keys, which a
// route unit wrote.
func (l Layout) splitWindow(ctx context.Context, side, phase string, w int, keys []string) error {
	return Split(ctx, l, w, keys, func(i int) string { return l.BucketKey(phase, side, i) })
}

// Route is the first of the two passes that spread values of any kind over the layout's
// buckets (Buckets, OpenFiles) by a join value (Of(value(v), Buckets)): it writes each value
// read puts to the window file (key) of its bucket, reading its input once per OpenFiles
// windows, where writing the buckets themselves would read it once per OpenFiles buckets. Split
// is the second pass. A partition's units and any other join of bounded buckets (failback's
// report) route with these two.
func Route[T any](ctx context.Context, l Layout, key func(w int) string, value func(T) string, read func(put func(T) error) error) error {
	return routeLines(ctx, l, key, func(r *router) error {
		return read(func(v T) error {
			b, ok := r.bucket(value(v))
			if !ok {
				return nil
			}
			line, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return r.write(b, line)
		})
	})
}

// routeLines is Route of encoded records: read is called once per pass, and writes each record
// whose bucket the pass takes (router.bucket) by router.write.
func routeLines(ctx context.Context, l Layout, key func(w int) string, read func(r *router) error) error {
	of := l.openFiles()
	n := l.Windows()
	for lo := 0; lo < n; lo += of {
		hi := min(lo+of, n)
		r := &router{l: l, lo: lo, hi: hi, files: Open(ctx, l.Store, l.Bucket, hi-lo, func(i int) string { return key(lo + i) })}
		if err := r.files.Close(read(r)); err != nil {
			return err
		}
	}
	return nil
}

// router is one pass of a route: it writes the window files of windows [lo, hi). Each line of a
// window file is a record's bucket, a space and the record's line, so that Split passes the record
// on without decoding it.
type router struct {
	l      Layout
	lo, hi int
	files  *Writers
	line   []byte
}

// bucket is the bucket of join value v, and whether this pass writes it.
func (r *router) bucket(v string) (int, bool) {
	b := Of(v, r.l.Buckets)
	w := b / r.l.openFiles()
	return b, w >= r.lo && w < r.hi
}

// write writes the line of a record of bucket b (one of bucket's) to its window's file.
func (r *router) write(b int, record []byte) error {
	r.line = strconv.AppendInt(r.line[:0], int64(b), 10)
	r.line = append(append(r.line, ' '), record...)
	return r.files.WriteLine(b/r.l.openFiles()-r.lo, r.line)
}

// Split writes the bucket files (out) of window w from the window's files keys, which Route
// wrote, in the order of keys: a bucket's file holds its values in the order they were routed,
// each line as Route encoded it.
func Split(ctx context.Context, l Layout, w int, keys []string, out func(i int) string) error {
	lo := w * l.openFiles()
	hi := min(lo+l.openFiles(), l.Buckets)
	files := Open(ctx, l.Store, l.Bucket, hi-lo, func(i int) string { return out(lo + i) })
	var err error
	for _, key := range keys {
		if err = snapshot.GetRawLines(ctx, l.Store, l.Bucket, key, func(line []byte) error {
			sp := bytes.IndexByte(line, ' ')
			b, err := strconv.Atoi(string(line[:max(sp, 0)]))
			if sp < 0 || err != nil || b < lo || b >= hi {
				return fmt.Errorf("a line of window %d does not begin with one of its buckets (%d to %d)", w, lo, hi-1)
			}
			return files.WriteLine(b-lo, line[sp+1:])
		}); err != nil {
			break
		}
	}
	return files.Close(err)
}

// UnmatchedKey is where WriteUnmatched writes the users of sub-phase bucket i of a side that the
// sub phase left unmatched.
func (l Layout) UnmatchedKey(side string, i int) string { return l.Key("unmatched", side, i) }

// WriteUnmatched writes the records of sub-phase bucket i of a side that matched does not
// claim, as they were read, for the key phase (Repartition). matched is given each record's user's
// username and attributes only (what Join is given).
func (l Layout) WriteUnmatched(ctx context.Context, side string, i int, matched func(snapshot.User) bool) error {
	w := Open(ctx, l.Store, l.Bucket, 1, func(int) string { return l.UnmatchedKey(side, i) })
	err := snapshot.GetRawLines(ctx, l.Store, l.Bucket, l.BucketKey(PhaseSub, side, i), func(line []byte) error {
		u, err := recordJoinFields(line)
		if err != nil {
			return err
		}
		if matched(u) {
			return nil
		}
		return w.WriteLine(0, line)
	})
	return w.Close(err)
}

// repartitionGroup is how many sub-phase buckets' unmatched users one repartition unit routes:
// at most 16 buckets of a pool.
const repartitionGroup = 16

// RepartitionUnits are the units of partitioning by key the users the sub phase left unmatched:
// route each group of sub-phase buckets' unmatched users to the windows of their key bucket, then
// split each window into its buckets. Each reads a bounded share of a pool however many users are
// unmatched (all of them in a first reconcile into an empty DR pool).
func (l Layout) RepartitionUnits() []Unit {
	var units []Unit
	groups := (l.Buckets + repartitionGroup - 1) / repartitionGroup
	for _, side := range Sides {
		for g := range groups {
			units = append(units, Unit{UnitRoute, side, g})
		}
	}
	for _, side := range Sides {
		for w := range l.Windows() {
			units = append(units, Unit{UnitSplit, side, w})
		}
	}
	return units
}

// Repartition runs one of RepartitionUnits: it writes the key phase's bucket files.
func (l Layout) Repartition(ctx context.Context, u Unit) error {
	windowKey := func(g, w int) string { return l.Key("rewindow", fmt.Sprintf("%s-g%05d", u.Side, g), w) }
	if u.Kind == UnitRoute {
		return routeLines(ctx, l, func(w int) string { return windowKey(u.I, w) }, func(r *router) error {
			for i := u.I * repartitionGroup; i < min((u.I+1)*repartitionGroup, l.Buckets); i++ {
				if err := snapshot.GetRawLines(ctx, l.Store, l.Bucket, l.UnmatchedKey(u.Side, i), func(line []byte) error {
					user, err := recordJoinFields(line)
					if err != nil {
						return err
					}
					if b, ok := r.bucket(l.Join(u.Side, PhaseKey, user)); ok {
						return r.write(b, line)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	keys := make([]string, (l.Buckets+repartitionGroup-1)/repartitionGroup)
	for g := range keys {
		keys[g] = windowKey(g, u.I)
	}
	return l.splitWindow(ctx, u.Side, PhaseKey, u.I, keys)
}
