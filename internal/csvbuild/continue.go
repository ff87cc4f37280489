package csvbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// A build continued over several invocations works in units, each bounded whatever the pool's
// size, in three phases, then joins what they wrote:
//
//   - fingerprints: one unit per users part of the snapshot writes the fingerprint of each user's
//     username key (importcsv.Fingerprint) to the hash bucket of that key (partition.Of), a file
//     per part and bucket;
//   - repeats: one unit per bucket reads the bucket's files of every part and writes the
//     fingerprints seen more than once (usually none): a username repeated anywhere in the
//     snapshot is in one bucket, whichever invocations read its users;
//   - write: each unit writes one CSV part, from where the last unit stopped: it ends where
//     importcsv's Writer would start the next part (Cognito's per-file limits), or after
//     UnitUsers users, or at the last user. Its rejects (and, for a restore, the users it kept)
//     go to files of its own;
//   - join: the rejects report (and the kept users) are the units' files one after the other.
//
// Each unit's outcome is saved (checkpoint.Save) once its files are written; a unit cut or failed
// is redone from its start and rewrites the same keys. Where units end depends only on the users,
// never on where invocations end, so a build continued over many invocations writes the same
// bytes as one that ran in one.
const (
	phaseFingerprints = "fingerprints"
	phaseRepeats      = "repeats"
	phaseWrite        = "write"
	phaseJoin         = "join"
	phaseDone         = "done"
)

// DefaultUnitUsers is how many users a write unit reads at most: it ends there, its CSV part
// shorter than Cognito's limit, only when most users of its stretch are rejected or left out.
const DefaultUnitUsers = 1_000_000

// bucketUsers is how many users a fingerprint bucket holds (by the snapshot's count): what a
// repeats unit sorts, 8 bytes each (20 MB); at most maxBuckets buckets, whose files a
// fingerprint unit writes at once.
const (
	bucketUsers = 2_500_000
	maxBuckets  = 32
)

// Job is one build of import CSVs from a snapshot's users.
type Job struct {
	Store  transfermanager.S3APIClient
	Bucket string
	// Parts are the snapshot's users files, in order (snapshot.UsersParts).
	Parts []snapshot.Part
	// Users is how many users the parts hold, if Parts' Rows do not say (it sizes the buckets).
	Users int
	// Read, if set, reads part i instead of snapshot.ReadParts (a restore verifies each file).
	Read func(ctx context.Context, i int, fn func(snapshot.User) error) error
	// Dir is where the CSV parts, the rejects report and the build's own files go (ends in "/").
	Dir string
	// Skip, if set, leaves users out of the import: counted in Result.Skipped, in no file.
	Skip func(snapshot.User) bool
	// KeptKey, if set, receives the users not skipped, in order, as gzip JSON lines.
	KeptKey string
	// Fresh starts over whatever an earlier build saved in Dir.
	Fresh bool
	// Buckets, UnitUsers and PartRows (a CSV part's most rows, Cognito's limit by default)
	// replace the defaults (tests).
	Buckets, UnitUsers, PartRows int
}

// Result is where a build is: Built (Done once every phase ran), and what it kept and skipped.
type Result struct {
	Built
	// Kept is the file of the users not skipped (Job.KeptKey), once done.
	Kept    s3stream.Object `json:"kept"`
	Skipped int             `json:"skipped"`
	// Seconds is the time spent building, every invocation together.
	Seconds float64 `json:"seconds"`
}

// progress is what a build saves after each unit.
type progress struct {
	Phase   string   `json:"phase"`
	Next    int      `json:"next"` // next unit of the phase
	Buckets int      `json:"buckets"`
	Header  []string `json:"header"`
	// Repeats are the buckets whose repeated fingerprints are written (the others have none).
	Repeats []int `json:"repeats,omitempty"`
	// Part and Offset are where the next write unit starts: users part, users of it already read.
	Part    int               `json:"part"`
	Offset  int               `json:"offset"`
	Sum     importcsv.Summary `json:"sum"`
	Rejects []s3stream.Object `json:"rejects,omitempty"`
	Kept    []s3stream.Object `json:"kept,omitempty"`
	Skipped int               `json:"skipped"`
	// Held are the repeated usernames written so far (importcsv.Writer.Held).
	Held    []string `json:"held,omitempty"`
	Seconds float64  `json:"seconds"`
	Result  *Result  `json:"result,omitempty"`
}

// run is one invocation of a build.
type run struct {
	job    Job
	t      *importcsv.Target
	budget checkpoint.Budget
	st     progress
	// start is when the invocation began, and spent the seconds of the invocations before it.
	start time.Time
	spent float64
}

func (j Job) stateKey() string { return j.Dir + "work/build.json" }
func (j Job) fingerprintsKey(part, b int) string {
	return fmt.Sprintf("%swork/fingerprints/p%05d-b%05d.jsonl.gz", j.Dir, part, b)
}
func (j Job) repeatsKey(b int) string { return fmt.Sprintf("%swork/repeats-%05d.jsonl.gz", j.Dir, b) }
func (j Job) rejectsKey(unit int) string {
	return fmt.Sprintf("%swork/rejects-%05d.jsonl", j.Dir, unit)
}
func (j Job) keptKey(unit int) string { return fmt.Sprintf("%swork/kept-%05d.jsonl.gz", j.Dir, unit) }
func (j Job) partKey(n int) string    { return fmt.Sprintf("%susers-%04d.csv", j.Dir, n) }

func (j Job) unitUsers() int {
	if j.UnitUsers > 0 {
		return j.UnitUsers
	}
	return DefaultUnitUsers
}

func (j Job) buckets() int {
	if j.Buckets > 0 {
		return j.Buckets
	}
	users := j.Users
	if users == 0 {
		for _, p := range j.Parts {
			users += p.Rows
		}
	}
	return min(maxBuckets, partition.Count(bucketUsers, int32(min(users, 1<<31-1))))
}

func (j Job) read(ctx context.Context, i int, fn func(snapshot.User) error) error {
	if j.Read != nil {
		return j.Read(ctx, i, fn)
	}
	return snapshot.ReadParts(ctx, j.Store, j.Bucket, j.Parts[i:i+1], fn)
}

func (j Job) skip(u snapshot.User) bool { return j.Skip != nil && j.Skip(u) }

// Continue works on a build from where its last invocation saved it, unit after unit while the
// budget is open, and returns where it is: Done once the CSV parts and the rejects report are
// written. Call it again (the state machine loops) until then. A unit the budget cuts is redone
// by the next invocation.
func Continue(ctx context.Context, target *importcsv.Target, job Job, budget checkpoint.Budget) (Result, error) {
	r := &run{job: job, t: target, budget: budget, start: time.Now()}
	if !job.Fresh {
		st, found, err := checkpoint.Load[progress](ctx, job.Store, job.Bucket, job.stateKey())
		if err != nil {
			return Result{}, fmt.Errorf("build import CSV: %w", err)
		}
		if found {
			r.st = st
		}
	}
	if r.st.Phase == "" {
		r.st = progress{Phase: phaseFingerprints, Buckets: job.buckets(), Header: target.Header}
	}
	if r.st.Result != nil {
		return *r.st.Result, nil
	}
	r.spent = r.st.Seconds
	if !slices.Equal(r.st.Header, target.Header) {
		return Result{}, &stateerr.PoolNotImportable{Msg: fmt.Sprintf("the target pool's CSV header changed while its import CSVs were built (was %v, now %v); start the build again", r.st.Header, target.Header)}
	}
	cut, stop := budgetContext(ctx, budget)
	defer stop()
	err := r.phases(cut)
	if err != nil && cut.Err() != nil && ctx.Err() == nil {
		err = nil // the budget ended: what the cut unit wrote is redone next time.
	}
	if err != nil {
		return Result{}, err
	}
	if r.st.Result != nil {
		return *r.st.Result, nil
	}
	return r.partial(), nil
}

// budgetContext is ctx, cancelled when the budget ends.
func budgetContext(ctx context.Context, b checkpoint.Budget) (context.Context, func()) {
	cut, cancel := context.WithCancel(ctx)
	done := b.Done()
	if done == nil {
		return cut, cancel
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-done:
			cancel()
		case <-stopped:
		}
	}()
	return cut, func() { close(stopped); cancel() }
}

// partial is the outcome so far of a build not done.
func (r *run) partial() Result {
	return Result{Built: r.built(s3stream.Object{}), Skipped: r.st.Skipped, Seconds: r.seconds()}
}

func (r *run) built(rejects s3stream.Object) Built {
	s := r.st.Sum
	b := Built{Rows: s.Rows, Accepted: s.Accepted, Rejected: s.Rejected, ByReason: s.ByReason, Rejects: rejects, Parts: []Part{}}
	if b.ByReason == nil {
		b.ByReason = map[string]int{}
	}
	for _, p := range s.Parts {
		b.Parts = append(b.Parts, Part{Object: s3stream.Object{Key: r.job.partKey(p.Number), Bytes: p.Bytes, SHA256: p.SHA256}, Rows: p.Rows})
	}
	return b
}

func (r *run) seconds() float64 { return r.spent + time.Since(r.start).Seconds() }

func (r *run) save(ctx context.Context) error {
	r.st.Seconds = r.seconds()
	return checkpoint.Save(ctx, r.job.Store, r.job.Bucket, r.job.stateKey(), r.st)
}

// phases runs units while the budget is open.
func (r *run) phases(ctx context.Context) error {
	for {
		switch r.st.Phase {
		case phaseFingerprints:
			if r.st.Next == len(r.job.Parts) {
				r.st.Phase, r.st.Next = phaseRepeats, 0
				continue
			}
			if !r.budget.Open() {
				return nil
			}
			if err := r.fingerprints(ctx, r.st.Next); err != nil {
				return err
			}
		case phaseRepeats:
			if r.st.Next == r.st.Buckets {
				r.st.Phase, r.st.Next = phaseWrite, 0
				continue
			}
			if !r.budget.Open() {
				return nil
			}
			if err := r.repeats(ctx, r.st.Next); err != nil {
				return err
			}
		case phaseWrite:
			if r.st.Part == len(r.job.Parts) {
				r.st.Phase = phaseJoin
				continue
			}
			if err := r.write(ctx); err != nil || r.st.Part < len(r.job.Parts) {
				return err
			}
			continue
		case phaseJoin:
			if !r.budget.Open() {
				return nil
			}
			return r.join(ctx)
		default:
			return fmt.Errorf("build import CSV: saved phase %q is none of the build's", r.st.Phase)
		}
		r.st.Next++
		if err := r.save(ctx); err != nil {
			return err
		}
	}
}

// fingerprints writes the fingerprint of each user of users part `part` to its bucket's file.
func (r *run) fingerprints(ctx context.Context, part int) error {
	n := r.st.Buckets
	w := partition.Open(ctx, r.job.Store, r.job.Bucket, n, func(b int) string { return r.job.fingerprintsKey(part, b) })
	err := r.job.read(ctx, part, func(u snapshot.User) error {
		if r.job.skip(u) {
			return nil
		}
		key := r.t.UsernameKey(u)
		return w.Write(partition.Of(key, n), importcsv.Fingerprint(key))
	})
	if err := w.Close(err); err != nil {
		return fmt.Errorf("find repeated usernames: users part %d: %w", part, err)
	}
	return nil
}

// repeats writes the fingerprints of bucket b seen more than once, if any.
func (r *run) repeats(ctx context.Context, b int) error {
	var fps []uint64
	for part := range r.job.Parts {
		if err := snapshot.GetLines(ctx, r.job.Store, r.job.Bucket, r.job.fingerprintsKey(part, b), func(h uint64) error {
			fps = append(fps, h)
			return nil
		}); err != nil {
			return fmt.Errorf("find repeated usernames: bucket %d: %w", b, err)
		}
	}
	rep := importcsv.Repeated(fps)
	if len(rep) == 0 {
		return nil
	}
	if err := snapshot.PutLines(ctx, r.job.Store, r.job.Bucket, r.job.repeatsKey(b), rep); err != nil {
		return fmt.Errorf("find repeated usernames: bucket %d: %w", b, err)
	}
	r.st.Repeats = append(r.st.Repeats, b)
	return nil
}

// candidates reads the repeated fingerprints of every bucket.
func (r *run) candidates(ctx context.Context) (*importcsv.Fingerprints, error) {
	var all [][]uint64
	for _, b := range r.st.Repeats {
		var rep []uint64
		if err := snapshot.GetLines(ctx, r.job.Store, r.job.Bucket, r.job.repeatsKey(b), func(h uint64) error {
			rep = append(rep, h)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read repeated usernames: %w", err)
		}
		all = append(all, rep)
	}
	return importcsv.NewFingerprints(all...), nil
}

// errStop ends a read early.
var errStop = errors.New("stop")

// write runs write units from the saved cursor while the budget is open, reading the users once:
// a unit that ends hands the user that did not fit to the next.
func (r *run) write(ctx context.Context) error {
	cands, err := r.candidates(ctx)
	if err != nil {
		return err
	}
	var cur *unit
	defer func() {
		if cur != nil {
			cur.abort(errors.New("build import CSV: unit not finished"))
		}
	}()
	// finish ends the current unit with the cursor at part, offset and saves it.
	finish := func(part, offset int) error {
		u := cur
		cur = nil
		if err := u.finish(r, part, offset); err != nil {
			return err
		}
		return r.save(ctx)
	}
	for part := r.st.Part; part < len(r.job.Parts); part++ {
		skip := 0
		if part == r.st.Part {
			skip = r.st.Offset
		}
		i := -1
		err := r.job.read(ctx, part, func(user snapshot.User) error {
			i++
			if i < skip {
				return nil
			}
			for {
				if cur == nil {
					if !r.budget.Open() {
						return errStop
					}
					cur = r.startUnit(ctx, cands)
				}
				err := cur.user(r, user)
				if errors.Is(err, importcsv.ErrFull) {
					if err := finish(part, i); err != nil {
						return err
					}
					continue // the user starts the next unit
				}
				if err != nil {
					return err
				}
				if cur.users == r.job.unitUsers() {
					return finish(part, i+1)
				}
				return nil
			}
		})
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("build import CSV: users part %d: %w", part, err)
		}
	}
	if cur != nil {
		return finish(len(r.job.Parts), 0)
	}
	r.st.Part, r.st.Offset = len(r.job.Parts), 0
	return nil
}

// unit is one write unit: a Writer of one CSV part, its rejects and kept users.
type unit struct {
	index   int
	part    *partWriter
	w       *importcsv.Writer
	v       *importcsv.Validator
	rejects *s3stream.Writer
	kept    *s3stream.Writer
	keptLW  *snapshot.LineWriter
	users   int
	skipped int
}

func (r *run) startUnit(ctx context.Context, cands *importcsv.Fingerprints) *unit {
	u := &unit{index: len(r.st.Rejects)}
	u.w = importcsv.NewWriter(r.t, func(n int) (io.WriteCloser, error) {
		u.part = &partWriter{w: s3stream.Create(ctx, r.job.Store, r.job.Bucket, r.job.partKey(n))}
		return u.part, nil
	})
	u.w.MaxParts = 1
	if r.job.PartRows > 0 {
		u.w.MaxRows = r.job.PartRows
	}
	u.w.OnlyCandidates(cands)
	u.w.Resume(len(r.st.Sum.Parts), r.st.Held)
	u.rejects = s3stream.Create(ctx, r.job.Store, r.job.Bucket, r.job.rejectsKey(u.index))
	u.v = importcsv.NewValidator(r.t, u.w, importcsv.NewReportWriter(u.rejects))
	if r.job.KeptKey != "" {
		u.kept = s3stream.Create(ctx, r.job.Store, r.job.Bucket, r.job.keptKey(u.index))
		u.keptLW = snapshot.NewLineWriter(u.kept)
	}
	return u
}

// user takes one user; importcsv.ErrFull leaves it to the next unit.
func (u *unit) user(r *run, user snapshot.User) error {
	if r.job.skip(user) {
		u.users++
		u.skipped++
		return nil
	}
	if err := u.v.User(user); err != nil {
		return err
	}
	u.users++
	if u.keptLW != nil {
		return u.keptLW.Write(user)
	}
	return nil
}

// finish completes the unit's files and records them, the cursor at part, offset.
func (u *unit) finish(r *run, part, offset int) error {
	sum, err := u.v.Close()
	if err == nil && u.keptLW != nil {
		err = u.keptLW.Close()
	}
	if err != nil {
		u.abort(err)
		return err
	}
	rejects, err := u.rejects.Close()
	u.rejects = nil
	if err != nil {
		u.abort(err)
		return err
	}
	var kept s3stream.Object
	if u.kept != nil {
		kept, err = u.kept.Close()
		u.kept = nil
		if err != nil {
			return err
		}
		r.st.Kept = append(r.st.Kept, kept)
	}
	r.st.Sum.Add(sum)
	r.st.Rejects = append(r.st.Rejects, rejects)
	r.st.Skipped += u.skipped
	r.st.Held = u.w.Held()
	r.st.Part, r.st.Offset = part, offset
	return nil
}

// abort discards what the unit has not completed (a redone unit rewrites it all).
func (u *unit) abort(err error) {
	if u.part != nil && !u.part.closed {
		u.part.closed = true
		u.part.w.Abort(err)
	}
	if u.rejects != nil {
		u.rejects.Abort(err)
		u.rejects = nil
	}
	if u.kept != nil {
		u.kept.Abort(err)
		u.kept = nil
	}
}

// partWriter is the io.WriteCloser of a CSV part that the unit can still abort.
type partWriter struct {
	w      *s3stream.Writer
	closed bool
}

func (p *partWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *partWriter) Close() error {
	if p.closed {
		return errors.New("import part already closed")
	}
	p.closed = true
	_, err := p.w.Close()
	return err
}

// join writes the rejects report (and the kept users) from the units' files, and the result.
func (r *run) join(ctx context.Context) error {
	rejects, err := concat(ctx, r.job.Store, r.job.Bucket, r.job.Dir+RejectsFile, r.st.Rejects)
	if err != nil {
		return fmt.Errorf("build import CSV: %w", err)
	}
	res := Result{Built: r.built(rejects), Skipped: r.st.Skipped, Seconds: r.seconds()}
	if r.job.KeptKey != "" {
		if res.Kept, err = concat(ctx, r.job.Store, r.job.Bucket, r.job.KeptKey, r.st.Kept); err != nil {
			return fmt.Errorf("build import CSV: %w", err)
		}
	}
	res.Done = true
	r.st.Phase, r.st.Result = phaseDone, &res
	return r.save(ctx)
}

// concat writes the objects pieces one after the other to key: JSON lines stay JSON lines, gzip
// members a gzip stream.
func concat(ctx context.Context, store transfermanager.S3APIClient, bucket, key string, pieces []s3stream.Object) (s3stream.Object, error) {
	w := s3stream.Create(ctx, store, bucket, key)
	for _, p := range pieces {
		src, err := s3stream.Open(ctx, store, bucket, p.Key)
		if err != nil {
			w.Abort(err)
			return s3stream.Object{}, err
		}
		h := s3stream.NewHasher()
		_, err = io.Copy(w, io.TeeReader(src, h))
		src.Close()
		if err == nil && h.Object(p.Key) != p {
			err = fmt.Errorf("s3://%s/%s is not the file its unit wrote", bucket, p.Key)
		}
		if err != nil {
			w.Abort(err)
			return s3stream.Object{}, fmt.Errorf("join %s: %w", key, err)
		}
	}
	return w.Close()
}
