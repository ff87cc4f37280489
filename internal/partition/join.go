package partition

import (
	"context"
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
	// same bucket.
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
	err := snapshot.ReadParts(ctx, pt.Store, pt.Bucket, pt.users[sideIndex(side)][part:part+1], func(u snapshot.User) error {
		if see != nil {
			see(u)
		}
		return w.Write(Of(u.Username, n), u)
	})
	if err := w.Close(err); err != nil {
		return err
	}
	if done != nil {
		return done()
	}
	return nil
}

// stageMembers writes memberships part `part` of a side's export to the staged buckets by
// username.
func (pt *Partition) stageMembers(ctx context.Context, side string, part int) error {
	n := pt.StageBuckets()
	w := Open(ctx, pt.Store, pt.Bucket, n, func(i int) string { return pt.membersKey(side, part, i) })
	err := snapshot.ReadParts(ctx, pt.Store, pt.Bucket, pt.members[sideIndex(side)][part:part+1], func(m snapshot.Membership) error {
		return w.Write(Of(m.Username, n), m)
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
	return pt.routeWindows(ctx, side, pt.First, func(w int) string { return pt.windowKey(side, i, w) }, func(put func(Record) error) error {
		for part := range pt.users[sideIndex(side)] {
			if err := snapshot.GetLines(ctx, pt.Store, pt.Bucket, pt.stageKey(side, part, i), func(u snapshot.User) error {
				return put(Record{User: u, Groups: groups[u.Username], Marked: marked[u.Username], Tags: tags[u.Username]})
			}); err != nil {
				return err
			}
		}
		return nil
	})
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

// routeWindows writes each record read puts to the window file (key) of its bucket in phase.
func (l Layout) routeWindows(ctx context.Context, side, phase string, key func(w int) string, read func(put func(Record) error) error) error {
	return Route(ctx, l, key, func(r Record) string { return l.Join(side, phase, r.User) }, read)
}

// splitWindow writes the bucket files of window w in phase from the window's files keys, which
// routeWindows wrote.
func (l Layout) splitWindow(ctx context.Context, side, phase string, w int, keys []string) error {
	return Split(ctx, l, w, keys, func(i int) string { return l.BucketKey(phase, side, i) }, func(r Record) string { return l.Join(side, phase, r.User) })
}

// Route is the first of the two passes that spread values of any kind over the layout's
// buckets (Buckets, OpenFiles) by a join value (Of(value(v), Buckets)): it writes each value
// read puts to the window file (key) of its bucket, reading its input once per OpenFiles
// windows, where writing the buckets themselves would read it once per OpenFiles buckets. Split
// is the second pass. A partition's units and any other join of bounded buckets (failback's
// report) route with these two.
func Route[T any](ctx context.Context, l Layout, key func(w int) string, value func(T) string, read func(put func(T) error) error) error {
	of := l.openFiles()
	n := l.Windows()
	for lo := 0; lo < n; lo += of {
		hi := min(lo+of, n)
		w := Open(ctx, l.Store, l.Bucket, hi-lo, func(i int) string { return key(lo + i) })
		err := read(func(v T) error {
			i := Of(value(v), l.Buckets) / of
			if i < lo || i >= hi {
				return nil
			}
			return w.Write(i-lo, v)
		})
		if err := w.Close(err); err != nil {
			return err
		}
	}
	return nil
}

// Split writes the bucket files (out) of window w from the window's files keys, which Route
// wrote, in the order of keys: a bucket's file holds its values in the order they were routed.
func Split[T any](ctx context.Context, l Layout, w int, keys []string, out func(i int) string, value func(T) string) error {
	lo := w * l.openFiles()
	hi := min(lo+l.openFiles(), l.Buckets)
	files := Open(ctx, l.Store, l.Bucket, hi-lo, func(i int) string { return out(lo + i) })
	var err error
	for _, key := range keys {
		if err = snapshot.GetLines(ctx, l.Store, l.Bucket, key, func(v T) error {
			return files.Write(Of(value(v), l.Buckets)-lo, v)
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
// claim, as they were read, for the key phase (Repartition).
func (l Layout) WriteUnmatched(ctx context.Context, side string, i int, matched func(Record) bool) error {
	w := Open(ctx, l.Store, l.Bucket, 1, func(int) string { return l.UnmatchedKey(side, i) })
	err := snapshot.GetLines(ctx, l.Store, l.Bucket, l.BucketKey(PhaseSub, side, i), func(r Record) error {
		if matched(r) {
			return nil
		}
		return w.Write(0, r)
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
		return l.routeWindows(ctx, u.Side, PhaseKey, func(w int) string { return windowKey(u.I, w) }, func(put func(Record) error) error {
			for i := u.I * repartitionGroup; i < min((u.I+1)*repartitionGroup, l.Buckets); i++ {
				if err := snapshot.GetLines(ctx, l.Store, l.Bucket, l.UnmatchedKey(u.Side, i), put); err != nil {
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
