package csvbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3fault"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

const bkt = "snapshots"

type fixture struct {
	t      testing.TB
	store  transfermanager.S3APIClient
	target *importcsv.Target
	users  []snapshot.User
	parts  []snapshot.Part
}

// newFixture writes a snapshot of n users in parts of per users. Every 97th user repeats, in
// another case, the username of a user 5 parts earlier (a case-insensitive pool), every 31st has
// its email unverified (rejected), every 50th is federated.
func newFixture(t testing.TB, n, per int) *fixture {
	t.Helper()
	st, err := localaws.Start(localaws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateBucket(bkt); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: s3.NewFromConfig(st.AWSConfig("ap-northeast-3"), st.S3Options)}
	pool := &types.UserPoolType{
		Id:                     aws.String("ap-northeast-1_Target123"),
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
	}
	f.target, err = importcsv.NewTarget([]string{"name", "email", "email_verified", "cognito:mfa_enabled", "cognito:username"}, pool)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		name := fmt.Sprintf("user-%05d", i)
		if i%97 == 96 && i >= 5*per {
			name = strings.ToUpper(fmt.Sprintf("user-%05d", i-5*per))
		}
		u := snapshot.User{Username: name, Enabled: true, Status: "CONFIRMED", Created: created, Modified: created,
			Attributes: map[string]string{"sub": fmt.Sprintf("sub-%d", i), "email": name + "@example.com", "email_verified": "true", "name": "Yamada, Taro"}}
		if i%31 == 30 {
			u.Attributes["email_verified"] = "false"
		}
		if i%50 == 49 {
			u.Status = "EXTERNAL_PROVIDER"
		}
		f.users = append(f.users, u)
	}
	ctx := context.Background()
	for lo := 0; lo < n; lo += per {
		key := fmt.Sprintf("snap/users/part-%05d.jsonl.gz", lo/per)
		rows := f.users[lo:min(lo+per, n)]
		if err := snapshot.PutLines(ctx, f.store, bkt, key, rows); err != nil {
			t.Fatal(err)
		}
		f.parts = append(f.parts, snapshot.Part{Object: s3stream.Object{Key: key}, Rows: len(rows)})
	}
	return f
}

func (f *fixture) job(dir string) Job {
	return Job{Store: f.store, Bucket: bkt, Parts: f.parts, Dir: dir, Buckets: 4, UnitUsers: 150, PartRows: 100}
}

// built is a build's files: each part's text and the rejects report, keys relative to dir.
type built struct {
	Parts   []string
	Rejects string
	Summary Built
}

func (f *fixture) read(dir string, b Built) built {
	f.t.Helper()
	out := built{Rejects: f.get(b.Rejects.Key), Summary: b}
	for _, p := range b.Parts {
		out.Parts = append(out.Parts, f.get(p.Key))
	}
	out.Summary.Rejects.Key = strings.TrimPrefix(b.Rejects.Key, dir)
	out.Summary.Parts = nil
	for _, p := range b.Parts {
		p.Key = strings.TrimPrefix(p.Key, dir)
		out.Summary.Parts = append(out.Summary.Parts, p)
	}
	return out
}

func (f *fixture) get(key string) string {
	f.t.Helper()
	r, err := s3stream.Open(context.Background(), f.store, bkt, key)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// continued runs a build to its end, one invocation after another, each with a budget of starts
// units; invoke, if set, may fail an invocation (as a killed Lambda) and says whether it did.
func (f *fixture) continued(job Job, starts int, invoke func() (done func() bool)) (Result, int) {
	f.t.Helper()
	for invocations := 1; invocations < 1000; invocations++ {
		var killed func() bool
		if invoke != nil {
			killed = invoke()
		}
		res, err := Continue(context.Background(), f.target, job, checkpoint.NewStarts(starts))
		if killed != nil && killed() {
			continue
		}
		if err != nil {
			f.t.Fatalf("invocation %d: %v", invocations, err)
		}
		if res.Done {
			return res, invocations
		}
	}
	f.t.Fatal("the build never ended")
	return Result{}, 0
}

// TestContinuedBuildWritesWhatOneInvocationWrites: a build continued over many invocations, one
// unit each, writes byte for byte the CSV parts and rejects report of a build run in one
// invocation, and duplicate usernames whose users different invocations read are still rejected.
func TestContinuedBuildWritesWhatOneInvocationWrites(t *testing.T) {
	f := newFixture(t, 1200, 100)
	one, err := Continue(context.Background(), f.target, f.job("one/"), unbounded{})
	if err != nil || !one.Done {
		t.Fatalf("one invocation: done %v err %v", one.Done, err)
	}
	cont, invocations := f.continued(f.job("continued/"), 1, nil)
	// 12 fingerprint units, 4 repeats units, the write units and the join: one each.
	if invocations < 12+4+len(cont.Parts)+1 {
		t.Errorf("%d invocations for %d parts; want one per unit", invocations, len(cont.Parts))
	}
	want, got := f.read("one/", one.Built), f.read("continued/", cont.Built)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("continued build (-one invocation +continued):\n%s", diff)
	}
	// Users 5 parts apart: read by different invocations (a write unit reads at most 150 users).
	dups := 0
	for i := 5 * 100; i < 1200; i++ {
		if i%97 == 96 {
			dups++
		}
	}
	if got.Summary.ByReason[importcsv.ReasonDuplicateUsername] != dups || dups < 5 {
		t.Errorf("%d duplicate usernames rejected, want %d", got.Summary.ByReason[importcsv.ReasonDuplicateUsername], dups)
	}
	if got.Summary.Rows != 1200 || got.Summary.Accepted+got.Summary.Rejected != 1200 {
		t.Errorf("rows %d accepted %d rejected %d; want every user once", got.Summary.Rows, got.Summary.Accepted, got.Summary.Rejected)
	}
}

// TestOneInvocationBuildIsTheSinglePass: where no unit ends early (each reads its part's rows
// before UnitUsers), the build writes exactly what one importcsv Writer holding every username
// writes from the users in one pass: the units add nothing and cut nothing.
func TestOneInvocationBuildIsTheSinglePass(t *testing.T) {
	f := newFixture(t, 1200, 100)
	job := f.job("one/")
	job.UnitUsers = 1000
	res, err := Continue(context.Background(), f.target, job, unbounded{})
	if err != nil || !res.Done {
		t.Fatalf("done %v err %v", res.Done, err)
	}
	var parts []*strings.Builder
	w := importcsv.NewWriter(f.target, func(int) (io.WriteCloser, error) {
		parts = append(parts, &strings.Builder{})
		return nopCloser{parts[len(parts)-1]}, nil
	})
	w.MaxRows = 100
	var rep strings.Builder
	sum, err := importcsv.ValidateUsers(f.target, func(yield func(snapshot.User, error) bool) {
		for _, u := range f.users {
			if !yield(u, nil) {
				return
			}
		}
	}, w, importcsv.NewReportWriter(&rep))
	if err != nil {
		t.Fatal(err)
	}
	got := f.read("one/", res.Built)
	var want []string
	for _, p := range parts {
		want = append(want, p.String())
	}
	if diff := cmp.Diff(want, got.Parts); diff != "" {
		t.Errorf("parts (-one pass +build):\n%s", diff)
	}
	if rep.String() != got.Rejects || sum.Accepted != res.Accepted || sum.Rejected != res.Rejected {
		t.Errorf("rejects or counts differ: one pass %d/%d, build %d/%d", sum.Accepted, sum.Rejected, res.Accepted, res.Rejected)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestKilledBuildResumesEveryUserOnce: invocations killed mid-unit (their S3 writes failing after
// a few) leave the build to the next, which redoes the unit: the finished build has every user
// exactly once, in a part or in the rejects, and the files of a build never killed.
func TestKilledBuildResumesEveryUserOnce(t *testing.T) {
	f := newFixture(t, 1200, 100)
	clean, _ := f.continued(f.job("clean/"), 3, nil)

	kill := s3fault.New()
	job := f.job("killed/")
	job.Store = kill.Client(f.store.(*s3.Client))
	var invocations, kills int
	res, _ := f.continued(job, 3, func() func() bool {
		invocations++
		if invocations%2 == 0 {
			kill.Disarm()
		} else {
			kill.Arm(1 + invocations%5)
		}
		return func() bool {
			if kill.Killed() {
				kills++
				return true
			}
			return false
		}
	})
	if kills < 5 {
		t.Fatalf("killed %d invocations; want several", kills)
	}
	want, got := f.read("clean/", clean.Built), f.read("killed/", res.Built)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("build killed and resumed (-never killed +killed):\n%s", diff)
	}
	seen := map[string]int{}
	for _, p := range got.Parts {
		rd, err := importcsv.NewReader(f.target, strings.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		for {
			row, err := rd.Read()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			seen[strings.ToLower(f.target.Username(row))]++
		}
	}
	if err := importcsv.ReadReport(strings.NewReader(got.Rejects), func(rj importcsv.Reject) error {
		if rj.Reason != importcsv.ReasonDuplicateUsername {
			seen[strings.ToLower(rj.Username)]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, u := range f.users {
		if n := seen[strings.ToLower(u.Username)]; n != 1 {
			t.Errorf("user %s written %d times", u.Username, n)
			break
		}
	}
}

// TestSkippedUsersAndTheKeptFile: users Skip leaves out are in no file and counted; the kept file
// holds every other user once, in order, across the units that wrote it.
func TestSkippedUsersAndTheKeptFile(t *testing.T) {
	f := newFixture(t, 600, 100)
	job := f.job("restore/import/")
	job.Skip = func(u snapshot.User) bool { return u.Status == "EXTERNAL_PROVIDER" }
	job.KeptKey = "restore/users.jsonl.gz"
	res, _ := f.continued(job, 2, nil)
	var want, got []string
	for _, u := range f.users {
		if u.Status != "EXTERNAL_PROVIDER" {
			want = append(want, u.Username)
		}
	}
	if err := snapshot.GetLines(context.Background(), f.store, bkt, job.KeptKey, func(u snapshot.User) error {
		got = append(got, u.Username)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kept users (-want +got):\n%s", diff)
	}
	if res.Skipped != 600-len(want) || res.Rows != len(want) {
		t.Errorf("skipped %d rows %d; want %d and %d", res.Skipped, res.Rows, 600-len(want), len(want))
	}
	if digest, err := s3stream.Digest(context.Background(), f.store, bkt, job.KeptKey); err != nil || digest != res.Kept {
		t.Errorf("kept file %+v, result says %+v (err %v)", digest, res.Kept, err)
	}
}

// TestBudgetEndCutsAUnitWithoutFailing: when the budget ends in the middle of a unit (its S3
// writes then see the invocation's context cancelled), the invocation returns not done and no
// error, and the next ones redo the unit: the files are those of a build never cut.
func TestBudgetEndCutsAUnitWithoutFailing(t *testing.T) {
	f := newFixture(t, 600, 100)
	clean, _ := f.continued(f.job("clean/"), 1<<20, nil)
	cutting := &cuttingS3{S3APIClient: f.store}
	job := f.job("cut/")
	job.Store = cutting
	// A cut write waits for the invocation's context, which Continue cancels when the budget
	// ends; were nothing to cancel it, the test would hang until the binary's timeout (10
	// minutes in CI) with only a goroutine dump. The loop takes about a second; after a minute
	// it fails saying why.
	ctx, stop := context.WithTimeoutCause(t.Context(), time.Minute, errors.New("a write cut by the budget waited a minute for its context: nothing cancelled it"))
	defer stop()
	cuts := 0
	var res Result
	for at := int32(3); !res.Done; at += 7 {
		if at > 2000 {
			t.Fatal("the build never ended")
		}
		b := &endingBudget{done: make(chan struct{})}
		cutting.puts.Store(0)
		cutting.at.Store(at)
		cutting.budget.Store(b)
		var err error
		res, err = Continue(ctx, f.target, job, b)
		if ctx.Err() != nil {
			t.Fatalf("cut at write %d: %v", at, context.Cause(ctx))
		}
		if err != nil {
			t.Fatalf("cut at write %d: %v", at, err)
		}
		if b.ended.Load() {
			cuts++
			if res.Done {
				t.Fatalf("cut at write %d, yet done", at)
			}
		}
	}
	if cuts < 3 {
		t.Fatalf("%d invocations cut; want several", cuts)
	}
	if diff := cmp.Diff(f.read("clean/", clean.Built), f.read("cut/", res.Built)); diff != "" {
		t.Errorf("build cut by its budget (-never cut +cut):\n%s", diff)
	}
}

// endingBudget is open until its Done closes.
type endingBudget struct {
	done  chan struct{}
	ended atomic.Bool
}

func (b *endingBudget) Open() bool            { return !b.ended.Load() }
func (b *endingBudget) Done() <-chan struct{} { return b.done }
func (b *endingBudget) end() {
	if !b.ended.Swap(true) {
		close(b.done)
	}
}

// cuttingS3 ends the budget at the at-th PutObject or multipart part, and that write then waits
// for the invocation's context to be cancelled: the budget's end reached mid-unit.
type cuttingS3 struct {
	transfermanager.S3APIClient
	puts, at atomic.Int32
	budget   atomic.Pointer[endingBudget]
}

func (s *cuttingS3) cut(ctx context.Context) error {
	if s.puts.Add(1) != s.at.Load() {
		return nil
	}
	s.budget.Load().end()
	<-ctx.Done()
	return ctx.Err()
}

func (s *cuttingS3) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := s.cut(ctx); err != nil {
		return nil, err
	}
	return s.S3APIClient.PutObject(ctx, in, opts...)
}

func (s *cuttingS3) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if err := s.cut(ctx); err != nil {
		return nil, err
	}
	return s.S3APIClient.UploadPart(ctx, in, opts...)
}
