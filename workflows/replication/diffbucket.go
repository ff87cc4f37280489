package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// bucketSummary is what comparing one bucket found: written last, after its drift and repair
// lists, so a summary names only whole files.
type bucketSummary struct {
	Drift   Drift    `json:"drift"`
	List    FileRows `json:"list"`
	Repairs FileRows `json:"repairs"`
}

// DiffBucket does one unit of a partitioned comparison per invocation, in order: compare bucket
// Next of the phase (sub, then key); once the sub phase's buckets are done, partition the users
// they left unmatched by key, one unit (partition.Layout.RepartitionUnits) at a time; once the key phase's are
// done, sum the buckets' summaries into the manifest and the totals. Each unit writes files of its own only, under keys fixed by the plan,
// the directory and its bucket, so a retried or re-run invocation rewrites the same objects:
// each bucket's output is written exactly once whatever the retries.
func (s *Steps) DiffBucket(ctx context.Context, in DiffInput) (DiffProgress, error) {
	p, prog := in.Plan, in.Progress
	if err := p.checkDir(in.Dir); err != nil || prog.Done {
		return prog, err
	}
	if prog.Phase == "" {
		prog.Phase = phaseKey
		if p.trusted() {
			prog.Phase = phaseSub
		}
	}
	switch {
	case prog.Next < p.Buckets:
		if err := s.diffBucket(ctx, p, in.Dir, prog.Phase, prog.Next); err != nil {
			return in.Progress, fmt.Errorf("compare bucket %d (%s) of %s: %w", prog.Next, prog.Phase, in.Dir, err)
		}
		prog.Next++
	case prog.Phase == phaseSub:
		l := s.layout(p, in.Dir)
		units := l.RepartitionUnits()
		if u := prog.Next - p.Buckets; u < len(units) {
			if err := l.Repartition(ctx, units[u]); err != nil {
				return in.Progress, fmt.Errorf("partition unmatched users of %s by key (%s): %w", in.Dir, units[u], err)
			}
			prog.Next++
		}
		if prog.Next-p.Buckets >= len(units) {
			prog.Phase, prog.Next = phaseKey, 0
		}
	default:
		m, drift, err := s.sumBuckets(ctx, p, in.Dir)
		if err != nil {
			return in.Progress, err
		}
		prog.Drift, prog.Done = drift, true
		for _, f := range m.Repairs {
			prog.Repairs += f.Rows
		}
	}
	return prog, nil
}

// checkDir checks what a loop over the plan's buckets under dir needs.
func (p Plan) checkDir(dir string) error {
	if dir != BeforeDir && dir != AfterDir {
		return stateerr.Invalid("dir must be %q or %q", BeforeDir, AfterDir)
	}
	if p.Buckets < 1 {
		return stateerr.Invalid("plan.buckets must be at least 1")
	}
	return nil
}

// diffBucket compares bucket i of a phase: it reads that bucket's two files (and the retry
// store's subs) and nothing else.
func (s *Steps) diffBucket(ctx context.Context, p Plan, dir, phase string, i int) error {
	pp, err := s.pools(ctx, p.Request)
	if err != nil {
		return err
	}
	store := s.S3(p.Region)
	var pending map[string]bool
	if dir == BeforeDir {
		pending = map[string]bool{}
		if err := snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+PendingFile, func(sub string) error { pending[sub] = true; return nil }); err != nil {
			return &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	// Measured the way the plan matched: the same trust in custom:primary_sub.
	d := newDiffer(pp.info, pp.match, p.trusted(), p.Request.MirrorDeletes, pending)
	for _, side := range []string{sidePrimary, sideDR} {
		add := d.addPrimary
		if side == sideDR {
			add = d.addDR
		}
		if err := snapshot.GetLines(ctx, store, p.Bucket, s.layout(p, dir).BucketKey(phase, side, i), func(r record) error { add(r.User, r.Groups); return nil }); err != nil {
			return &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
	}
	if phase == phaseSub {
		d.matchBySub()
		if err := s.writeUnmatched(ctx, p, dir, i, d); err != nil {
			return err
		}
	} else {
		// The sub phase matched every pair a trusted primary sub proves.
		d.matchByKey()
	}
	d.compare(s.now(), phase == phaseSub)
	out := bucketSummary{Drift: d.drift}
	out.List = FileRows{Key: p.bucketKey(dir, "out-"+phase, "drift", i), Rows: len(d.list)}
	if err := snapshot.PutLines(ctx, store, p.Bucket, out.List.Key, d.list); err != nil {
		return err
	}
	repairs := d.repairs()
	out.Repairs = FileRows{Key: p.bucketKey(dir, "out-"+phase, "repairs", i), Rows: len(repairs)}
	for _, r := range repairs {
		if r.Pending {
			out.Repairs.Pending++
		}
	}
	if err := snapshot.PutLines(ctx, store, p.Bucket, out.Repairs.Key, repairs); err != nil {
		return err
	}
	return putJSON(ctx, store, p.Bucket, p.summaryKey(dir, phase, i), out)
}

func (p Plan) summaryKey(dir, phase string, i int) string {
	return fmt.Sprintf("%s%sout-%s/summary-%05d.json", p.Prefix, dir, phase, i)
}

// writeUnmatched writes the users of sub-phase bucket i that no primary sub matched, as they
// were read, for the key phase.
func (s *Steps) writeUnmatched(ctx context.Context, p Plan, dir string, i int, d *differ) error {
	l := s.layout(p, dir)
	for _, side := range []string{sidePrimary, sideDR} {
		matched := map[string]bool{}
		entries := d.primary
		if side == sideDR {
			entries = d.dr
		}
		for _, e := range entries {
			if e.match != nil {
				matched[e.username] = true
			}
		}
		if err := l.WriteUnmatched(ctx, side, i, func(u snapshot.User) bool { return matched[u.Username] }); err != nil {
			return err
		}
	}
	return nil
}

// sumBuckets reads every bucket's summary, writes the comparison's manifest and returns it with
// the comparison's drift: the sums of the buckets' counts, the oldest change of all and the
// largest RPO.
func (s *Steps) sumBuckets(ctx context.Context, p Plan, dir string) (Manifest, Drift, error) {
	store := s.S3(p.Region)
	m := Manifest{Buckets: p.Buckets}
	total := Drift{Kinds: map[string]int{}, Key: p.Prefix + dir + ManifestFile}
	if dir == BeforeDir {
		gone := FileRows{Key: p.Prefix + dir + PendingGoneFile}
		if err := snapshot.GetLines(ctx, store, p.Bucket, gone.Key, func(Repair) error { gone.Rows++; return nil }); err != nil {
			return Manifest{}, Drift{}, &stateerr.SnapshotInvalid{Msg: err.Error()}
		}
		gone.Pending = gone.Rows
		m.Drift = append(m.Drift, gone)
		m.Repairs = append(m.Repairs, gone)
	}
	phases := []string{phaseKey}
	if p.trusted() {
		phases = []string{phaseSub, phaseKey}
	}
	for _, phase := range phases {
		for i := range p.Buckets {
			var b bucketSummary
			if err := getJSON(ctx, store, p.Bucket, p.summaryKey(dir, phase, i), &b); err != nil {
				return Manifest{}, Drift{}, &stateerr.SnapshotInvalid{Msg: err.Error()}
			}
			m.Drift = append(m.Drift, b.List)
			m.Repairs = append(m.Repairs, b.Repairs)
			d := b.Drift
			total.PrimaryUsers += d.PrimaryUsers
			total.DRUsers += d.DRUsers
			total.Users += d.Users
			total.Skipped += d.Skipped
			for k, n := range d.Kinds {
				total.Kinds[k] += n
			}
			if d.OldestChange != nil && (total.OldestChange == nil || d.OldestChange.Before(*total.OldestChange)) {
				total.OldestChange = d.OldestChange
			}
			total.RPOSeconds = max(total.RPOSeconds, d.RPOSeconds)
		}
	}
	if err := putJSON(ctx, store, p.Bucket, total.Key, m); err != nil {
		return Manifest{}, Drift{}, err
	}
	return m, total, nil
}

func getJSON(ctx context.Context, store S3, bucket, key string, v any) error {
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err != nil {
		return err
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
