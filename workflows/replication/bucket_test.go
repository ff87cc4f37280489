package replication_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// watchedS3 is the run's bucket, counting GetObject calls by key and calling onPut after each
// PutObject that succeeded.
type watchedS3 struct {
	replication.S3
	mu    sync.Mutex
	gets  map[string]int
	onPut func(key string)
}

func (w *watchedS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	w.mu.Lock()
	w.gets[aws.ToString(in.Key)]++
	w.mu.Unlock()
	return w.S3.GetObject(ctx, in, opts...)
}

func (w *watchedS3) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	out, err := w.S3.PutObject(ctx, in, opts...)
	w.mu.Lock()
	onPut := w.onPut
	w.mu.Unlock()
	if err == nil && onPut != nil {
		onPut(aws.ToString(in.Key))
	}
	return out, err
}

func (w *watchedS3) take() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.gets
	w.gets = map[string]int{}
	return g
}

// watch makes the steps use a watchedS3.
func (f *stackFixture) watch() *watchedS3 {
	w := &watchedS3{S3: f.stack.Clients.S3(f.sc.BucketRegion), gets: map[string]int{}}
	f.repl.Steps.S3 = func(string) replication.S3 { return w }
	return w
}

func (f *stackFixture) request() replication.Request {
	return replication.Request{PrimaryUserPoolID: f.sc.TokyoID, PrimaryRegion: f.sc.Tokyo.Region, DRUserPoolID: f.sc.OsakaID, DRRegion: f.sc.Osaka.Region,
		Bucket: f.sc.Bucket, BucketRegion: f.sc.BucketRegion}
}

// plan runs PlanReconcile with at most bucketUsers users of a pool a bucket, then the
// ExportBefore loop, as the state machine does.
func (f *stackFixture) plan(name string, bucketUsers int) replication.Plan {
	f.t.Helper()
	f.repl.Steps.BucketUsers = bucketUsers
	p, err := f.repl.Steps.PlanReconcile(context.Background(), replication.PlanInput{Request: f.request(), ExecutionName: name, StartTime: time.Now().Format(time.RFC3339Nano)})
	if err != nil {
		f.t.Fatal(err)
	}
	f.export(p, nil)
	return p
}

// export runs ExportPools under before/ as the state machine does until it is done and returns
// its last progress; each, if set, runs before each invocation and may replace its context
// (an error of an invocation so cut is not fatal: the loop goes on as Step Functions retries).
func (f *stackFixture) export(p replication.Plan, each func(ctx context.Context, prog replication.ExportProgress) (context.Context, func())) replication.ExportProgress {
	f.t.Helper()
	return loop(f.t, "export", func(ctx context.Context, prog replication.ExportProgress) (replication.ExportProgress, error) {
		return f.repl.Steps.ExportPools(ctx, replication.ExportInput{Plan: p, Dir: replication.BeforeDir, Progress: prog})
	}, func(prog replication.ExportProgress) bool { return prog.Done }, each)
}

// diff runs DiffBucket as the state machine does until it is done; each, if set, runs before
// each invocation and may replace its context.
func (f *stackFixture) diff(p replication.Plan, each func(ctx context.Context, prog replication.DiffProgress) (context.Context, func())) replication.DiffProgress {
	f.t.Helper()
	return loop(f.t, "diff", func(ctx context.Context, prog replication.DiffProgress) (replication.DiffProgress, error) {
		return f.repl.Steps.DiffBucket(ctx, replication.DiffInput{Plan: p, Dir: replication.BeforeDir, Progress: prog})
	}, func(prog replication.DiffProgress) bool { return prog.Done }, each)
}

// loop calls step as a state machine's Task ⇄ Choice loop does, from the zero progress until
// done; each, if set, runs before each invocation and may replace its context. An invocation
// whose context each cut may fail with context.Canceled: it is called again with the same
// progress, as Step Functions retries it.
func loop[P any](t *testing.T, what string, step func(context.Context, P) (P, error), done func(P) bool, each func(context.Context, P) (context.Context, func())) P {
	t.Helper()
	var prog P
	for range 1000 {
		if done(prog) {
			return prog
		}
		ctx, finished := context.Background(), func() {}
		if each != nil {
			ctx, finished = each(ctx, prog)
		}
		next, err := step(ctx, prog)
		cut := ctx.Err() != nil
		finished()
		if err != nil {
			if cut && errors.Is(err, context.Canceled) {
				continue
			}
			t.Fatalf("%s at %+v: %v", what, prog, err)
		}
		prog = next
	}
	t.Fatalf("the %s loop does not end", what)
	return prog
}

// lists reads the comparison's drift and repair lists through its manifest, each sorted.
func (f *stackFixture) lists(p replication.Plan) (drift, repairs []replication.Repair) {
	f.t.Helper()
	ctx := context.Background()
	store := f.stack.Clients.S3(f.sc.BucketRegion)
	var m replication.Manifest
	raw, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, p.Prefix+replication.BeforeDir+replication.ManifestFile)
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	read := func(files []replication.FileRows) []replication.Repair {
		var out []replication.Repair
		for _, fr := range files {
			n := 0
			if err := snapshot.GetLines(ctx, store, p.Bucket, fr.Key, func(r replication.Repair) error { out = append(out, r); n++; return nil }); err != nil {
				f.t.Fatal(err)
			}
			if n != fr.Rows {
				f.t.Errorf("%s has %d rows, the manifest says %d", fr.Key, n, fr.Rows)
			}
		}
		slices.SortFunc(out, func(a, b replication.Repair) int {
			return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.DRUsername, b.DRUsername))
		})
		return out
	}
	return read(m.Drift), read(m.Repairs)
}

// sameDrift compares two comparisons' totals, leaving out where they are and when they ran.
func sameDrift(t *testing.T, what string, want, got replication.Drift) {
	t.Helper()
	want.Key, got.Key, want.RPOSeconds, got.RPOSeconds = "", "", 0, 0
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("%s: drift (-want +got):\n%s", what, diff)
	}
}

// TestManyBucketsFindWhatOneBucketFinds: partitioned into many buckets (4 users of a pool each,
// written 5 files at a time), the comparison finds the same drift and the same repairs as in one bucket, including the user
// whose email changed (matched by primary sub across keys: an update, not a delete and a create).
// The same once custom:primary_sub is not trusted (a DR app client may write it): users are then
// partitioned by email only.
func TestManyBucketsFindWhatOneBucketFinds(t *testing.T) {
	f := newStack(t)
	f.makeEveryDrift()
	// Five bucket files open at once: the partitions are written in several passes.
	f.repl.Steps.OpenFiles = 5
	for _, trusted := range []bool{true, false} {
		if !trusted {
			// An app client without WriteAttributes may write every writable attribute.
			f.must(f.osaka().CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: aws.String(f.sc.OsakaID), ClientName: aws.String("legacy-web")}))
		}
		name := fmt.Sprintf("trusted-%t", trusted)
		one := f.plan(name+"-one-bucket", 1000)
		many := f.plan(name+"-many-buckets", 4)
		if one.Buckets != 1 || many.Buckets < 10 || (many.MatchNote == "") != trusted {
			t.Fatalf("%s: buckets %d and %d, match note %q; want 1 and at least 10", name, one.Buckets, many.Buckets, many.MatchNote)
		}
		oneOut, manyOut := f.diff(one, nil), f.diff(many, nil)
		sameDrift(t, name, oneOut.Drift, manyOut.Drift)
		deleted := replication.KindDeleted
		if !trusted {
			deleted = replication.KindDROnly
		}
		if oneOut.Drift.Kinds[replication.KindMissing] < 2 || oneOut.Drift.Kinds[deleted] < 1 || oneOut.Repairs != manyOut.Repairs {
			t.Errorf("%s: one bucket %+v, many %+v; want 2 missing or more, 1 %s or more and the same repairs", name, oneOut, manyOut, deleted)
		}
		_, oneRepairs := f.sameLists(name+", one bucket vs many", one, many)
		if trusted && (len(oneRepairs) != oneOut.Repairs || len(oneRepairs) != 7) {
			t.Errorf("%d repairs listed, %d counted; want 7: the 8 drifted users but the deleted one (reported, not deleted)", len(oneRepairs), oneOut.Repairs)
		}
	}
}

// TestDiffBucketKilledMidwayWritesItsOutputOnce: every DiffBucket invocation is killed (its
// context cancelled) right after its first write, then run again, as Step Functions retries it.
// Each bucket's output is then whole and written once: the same drift and repairs as a run
// never killed, no user listed twice, none lost.
func TestDiffBucketKilledMidwayWritesItsOutputOnce(t *testing.T) {
	f := newStack(t)
	f.makeEveryDrift()
	cleanPlan := f.plan("never-killed", 4)
	clean := f.diff(cleanPlan, nil)
	cleanDrift, cleanRepairs := f.lists(cleanPlan)

	w := f.watch()
	f.repl.Steps.OpenFiles = 5
	p := f.plan("killed", 4)
	killed := 0
	var out replication.DiffProgress
	var prog replication.DiffProgress
	for range 1000 {
		if prog.Done {
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		w.mu.Lock()
		w.onPut = func(string) { cancel() }
		w.mu.Unlock()
		_, err := f.repl.Steps.DiffBucket(ctx, replication.DiffInput{Plan: p, Dir: replication.BeforeDir, Progress: prog})
		cancel()
		w.mu.Lock()
		w.onPut = nil
		w.mu.Unlock()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("killed at %+v: %v; want context.Canceled", prog, err)
			}
			killed++
		}
		next, err := f.repl.Steps.DiffBucket(context.Background(), replication.DiffInput{Plan: p, Dir: replication.BeforeDir, Progress: prog})
		if err != nil {
			t.Fatalf("rerun at %+v: %v", prog, err)
		}
		prog, out = next, next
	}
	if killed < 2*p.Buckets {
		t.Errorf("%d invocations killed midway; want every bucket's (%d)", killed, 2*p.Buckets)
	}
	sameDrift(t, "killed and rerun", clean.Drift, out.Drift)
	drift, repairs := f.lists(p)
	seen := map[string]int{}
	for _, r := range drift {
		seen[r.Key+"/"+r.DRUsername]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", k, n)
		}
	}
	// Nothing but each bucket's drift list, repair list and summary, once each.
	var outputs []string
	pages := s3.NewListObjectsV2Paginator(f.stack.Clients.S3(f.sc.BucketRegion), &s3.ListObjectsV2Input{Bucket: aws.String(p.Bucket), Prefix: aws.String(p.Prefix + replication.BeforeDir + "out-")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			outputs = append(outputs, strings.TrimPrefix(aws.ToString(o.Key), p.Prefix))
		}
	}
	if len(outputs) != 3*2*p.Buckets {
		t.Errorf("%d output objects; want %d (a drift list, a repair list and a summary per bucket and phase): %v", len(outputs), 3*2*p.Buckets, outputs)
	}
	if diff := gocmp.Diff(cleanRepairs, repairs); diff != "" || len(drift) != len(cleanDrift) {
		t.Errorf("%d drifted users listed, %d when never killed; repairs (-never killed +killed):\n%s", len(drift), len(cleanDrift), diff)
	}
}

// TestDiffBucketReadsOnlyItsBucket: comparing bucket i reads that bucket's two files and the
// retry store's subs, nothing else of the run: what one invocation holds is bounded by the
// bucket, not the pool.
func TestDiffBucketReadsOnlyItsBucket(t *testing.T) {
	f := newStack(t)
	f.makeEveryDrift()
	w := f.watch()
	p := f.plan("bounded", 4)
	w.take()
	compared := 0
	f.diff(p, func(ctx context.Context, prog replication.DiffProgress) (context.Context, func()) {
		phase := cmp.Or(prog.Phase, "sub")
		if prog.Next >= p.Buckets {
			return ctx, func() { w.take() }
		}
		return ctx, func() {
			compared++
			got := w.take()
			want := map[string]bool{p.Prefix + replication.PendingFile: true}
			for _, side := range []string{"primary", "dr"} {
				want[fmt.Sprintf("%s%s%s/%s-%05d.jsonl.gz", p.Prefix, replication.BeforeDir, phase, side, prog.Next)] = true
			}
			for key := range got {
				if !want[key] {
					t.Errorf("bucket %d (%s) read %s", prog.Next, phase, strings.TrimPrefix(key, p.Prefix))
				}
			}
			for key := range want {
				if got[key] == 0 {
					t.Errorf("bucket %d (%s) did not read %s", prog.Next, phase, strings.TrimPrefix(key, p.Prefix))
				}
			}
		}
	})
	if compared != 2*p.Buckets {
		t.Errorf("%d buckets compared; want %d", compared, 2*p.Buckets)
	}
}
