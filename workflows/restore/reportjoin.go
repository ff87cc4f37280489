package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// reportJoin joins, a hash bucket at a time, the snapshot's users (the partition's primary side,
// each with its snapshot groups and, as tags, its ledger lines) with the target's export (the DR
// side, each user with its groups) and the import results and rejects (spread to the same buckets
// by the same key): every file it writes is under the plan's ReportDir, at keys fixed by the
// report, so a unit cut and run again rewrites the same objects.
type reportJoin struct {
	s     *Steps
	in    ReportInput
	p     Plan
	pt    *partition.Partition
	store S3
	// every is the drill's sample rate: every 1 in every users has all its attributes compared.
	every int
}

// Kinds of the report's units.
const (
	reportPartition = "partition"
	reportResults   = "results"
	reportBucket    = "bucket"
	reportJoinFiles = "join"
)

// The join units, in order.
const (
	joinReportFile = iota
	joinSubMapFile
	joinSummaryFile
)

// reportUnit is one unit of the report: each reads and writes a bounded share of the pools.
type reportUnit struct {
	kind string
	part partition.Unit
	i    int
}

func (u reportUnit) String() string {
	if u.kind == reportPartition {
		return "partition " + u.part.String()
	}
	return fmt.Sprintf("%s %d", u.kind, u.i)
}

func (s *Steps) reportJoin(ctx context.Context, in ReportInput, buckets int) (*reportJoin, error) {
	p := in.Plan
	store := s.S3(p.Region)
	rj := &reportJoin{s: s, in: in, p: p, store: store, every: max(1, p.Counts.Users/(2*DrillSample))}
	l := partition.Layout{
		Store: store, Bucket: p.Bucket, Dir: p.Prefix + ReportDir,
		Exports: [2]string{"", p.Prefix + TargetDir},
		Buckets: buckets, OpenFiles: s.openFiles(), First: partition.PhaseKey,
		Join: func(_, _ string, u snapshot.User) string { return p.Match.Key(u) },
		Tags: func(ctx context.Context, side string, put func(username, tag string) error) error {
			if side != partition.Primary {
				return nil
			}
			return rj.ledgerTags(ctx, put)
		},
	}
	var users, members [2][]snapshot.Part
	for _, o := range p.Snapshot.Users {
		users[0] = append(users[0], snapshot.Part{Object: o})
	}
	for _, o := range p.Snapshot.Memberships {
		members[0] = append(members[0], snapshot.Part{Object: o})
	}
	var err error
	if users[1], err = snapshot.UsersLayout.Parts(ctx, store, p.Bucket, l.Exports[1]); err != nil {
		return nil, fmt.Errorf("the target's export: %w", err)
	}
	if members[1], err = snapshot.MembershipsLayout.Parts(ctx, store, p.Bucket, l.Exports[1]); err != nil {
		return nil, fmt.Errorf("the target's export: %w", err)
	}
	rj.pt = l.WithParts(users, members)
	return rj, nil
}

// units are the report's units in order: partition the snapshot and the target's export by user
// key; spread the import results and rejects to the same buckets, a window of OpenFiles buckets
// at a time; join each bucket; join the buckets' reports, sub maps and summaries.
func (rj *reportJoin) units() []reportUnit {
	var units []reportUnit
	for _, side := range rj.pt.Units() {
		for _, u := range side {
			units = append(units, reportUnit{kind: reportPartition, part: u})
		}
	}
	for w := range rj.pt.Windows() {
		units = append(units, reportUnit{kind: reportResults, i: w})
	}
	for b := range rj.pt.Buckets {
		units = append(units, reportUnit{kind: reportBucket, i: b})
	}
	for i := range joinSummaryFile + 1 {
		units = append(units, reportUnit{kind: reportJoinFiles, i: i})
	}
	return units
}

func (rj *reportJoin) run(ctx context.Context, u reportUnit, prog *ReportProgress) error {
	switch u.kind {
	case reportPartition:
		return rj.pt.Run(ctx, u.part)
	case reportResults:
		return rj.spreadResults(ctx, u.i)
	case reportBucket:
		return rj.bucket(ctx, u.i)
	}
	switch u.i {
	case joinReportFile:
		o, err := rj.concat(ctx, "report", ReportFile)
		prog.Report = &o
		return err
	case joinSubMapFile:
		o, err := rj.concat(ctx, "submap", SubMapFile)
		prog.SubMap = &o
		return err
	}
	if prog.Report == nil || prog.SubMap == nil {
		return fmt.Errorf("the report's files are not joined yet")
	}
	out, err := rj.summary(ctx, *prog.Report, *prog.SubMap)
	prog.Output = &out
	return err
}

// ledgerTags streams the ledger lines the report needs by the snapshot username they name: every
// create and disable result and every membership added, in the order the ledgers hold them.
func (rj *reportJoin) ledgerTags(ctx context.Context, put func(username, tag string) error) error {
	for _, phase := range []string{PhaseCreate, PhaseDisable, PhaseMemberships} {
		var err error
		if lerr := rj.s.readLedger(ctx, rj.p, phase, func(a ApplyResult) {
			if err != nil || a.Username == "" || (phase == PhaseMemberships && !a.OK) {
				return
			}
			a.Index = 0
			a.Phase = phase
			b, merr := json.Marshal(a)
			if merr == nil {
				merr = put(a.Username, string(b))
			}
			err = merr
		}); lerr != nil {
			return lerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// importResult is a user's import outcome by its key: one line of a bucket's results file.
type importResult struct {
	Key     string `json:"k"`
	Outcome string `json:"o"`
	Reason  string `json:"r,omitempty"`
}

func (rj *reportJoin) resultsKey(b int) string { return rj.pt.Key("results", "import", b) }
func (rj *reportJoin) outKey(kind string, b int) string {
	return rj.pt.Key("out", kind, b)
}
func (rj *reportJoin) summaryKey(b int) string {
	return fmt.Sprintf("%sout/summary-%05d.json", rj.pt.Dir, b)
}

// spreadResults writes the import results and the rejects whose key falls in window w's buckets
// to those buckets' results files, in the order read: a reject after the import results, so it
// wins, as it did when they were read into one map.
func (rj *reportJoin) spreadResults(ctx context.Context, w int) error {
	p, of := rj.p, rj.pt.OpenFiles
	lo, hi := w*of, min((w+1)*of, rj.pt.Buckets)
	out := partition.Open(ctx, rj.store, p.Bucket, hi-lo, func(i int) string { return rj.resultsKey(lo + i) })
	put := func(r importResult) error {
		if b := partition.Of(r.Key, rj.pt.Buckets); b >= lo && b < hi {
			return out.Write(b-lo, r)
		}
		return nil
	}
	err := func() error {
		for _, res := range rj.in.Imports {
			if err := snapshot.GetLines(ctx, rj.store, p.Bucket, res.Key, func(r importjob.RowResult) error {
				o := importResult{p.Match.KeyOf(r.Username), OutcomeFailed, r.Message}
				switch r.Outcome {
				case importjob.RowImported:
					o.Outcome, o.Reason = OutcomeImported, ""
				case importjob.RowSkipped:
					o.Outcome = OutcomeSkipped
				case importjob.RowResultUnknown:
					o.Outcome = OutcomeResultUnknown
				}
				return put(o)
			}); err != nil {
				return err
			}
		}
		if rj.in.CSV.Rejected == 0 {
			return nil
		}
		r, err := s3stream.Open(ctx, rj.store, p.Bucket, rj.in.CSV.Rejects.Key)
		if err != nil {
			return err
		}
		defer r.Close()
		return importcsv.ReadReport(r, func(rj importcsv.Reject) error {
			return put(importResult{p.Match.KeyOf(rj.Username), OutcomeFailed, "rejected by the import rules: " + strings.Join(append([]string{rj.Reason}, rj.Also...), ", ")})
		})
	}()
	return out.Close(err)
}

// bucketReport is what joining one bucket found: written last, after its files.
type bucketReport struct {
	Outcomes map[string]int `json:"outcomes"`
	Users    int            `json:"users"`
	Disabled int            `json:"disabled"`
	Mapped   int            `json:"mapped"`
	// Drill is the comparison of a drill's scratch pool with the snapshot, for a drill.
	Drill *verifier `json:"drill,omitempty"`
}

// target is what a bucket keeps of a target user: its sub, flags and, if sampled, attributes.
type target struct {
	sub     string
	enabled bool
	attrs   map[string]string
}

// bucket joins bucket b: its target users and import results held, its snapshot users streamed
// past. It writes the bucket's report lines and sub map, then its summary. For a drill it
// compares the bucket's users with the snapshot's as VerifyDrill's record reports them.
func (rj *reportJoin) bucket(ctx context.Context, b int) error {
	p, l := rj.p, rj.pt.Layout
	results := map[string]importResult{}
	if err := snapshot.GetLines(ctx, rj.store, p.Bucket, rj.resultsKey(b), func(r importResult) error {
		results[r.Key] = r
		return nil
	}); err != nil {
		return err
	}
	var v *verifier
	if p.Request.Drill {
		v = &verifier{}
	}
	got := map[string]target{}
	members := map[string]bool{}
	if err := snapshot.GetLines(ctx, rj.store, p.Bucket, l.BucketKey(partition.PhaseKey, partition.DR, b), func(r partition.Record) error {
		key := p.Match.Key(r.User)
		t := target{sub: r.User.Attributes["sub"], enabled: r.User.Enabled}
		if v != nil {
			if _, dup := got[key]; dup {
				v.add("%s is in the scratch pool twice", key)
			}
			if sampled(key, rj.every) {
				t.attrs = r.User.Attributes
			}
			for _, g := range r.Groups {
				members[g+"\x00"+key] = true
			}
		}
		got[key] = t
		return nil
	}); err != nil {
		return &stateerr.SnapshotInvalid{Msg: err.Error()}
	}
	sum := bucketReport{Outcomes: map[string]int{}, Drill: v}
	out := partition.Open(ctx, rj.store, p.Bucket, 2, func(i int) string { return rj.outKey([]string{"report", "submap"}[i], b) })
	matched := map[string]bool{}
	err := snapshot.GetLines(ctx, rj.store, p.Bucket, l.BucketKey(partition.PhaseKey, partition.Primary, b), func(r partition.Record) error {
		u := r.User
		key := p.Match.Key(u)
		line := rj.line(r, key, results, got, &sum)
		if line.NewSub != "" {
			if err := out.Write(1, SubMapping{Username: u.Username, OldSub: line.OldSub, NewSub: line.NewSub}); err != nil {
				return err
			}
		}
		if v != nil && u.Status != StatusExternalProvider {
			v.compare(u, r.Groups, key, got, matched, members)
		}
		return out.Write(0, line)
	})
	if err := out.Close(err); err != nil {
		return err
	}
	if v != nil {
		for _, key := range slices.Sorted(maps.Keys(got)) {
			if !matched[key] {
				v.add("the scratch pool has a user the snapshot lacks (%s)", key)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(members)) {
			group, key, _ := strings.Cut(k, "\x00")
			v.add("%s is in group %s, the snapshot says not", key, group)
		}
	}
	body, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	_, err = s3stream.Put(ctx, rj.store, p.Bucket, rj.summaryKey(b), body)
	return err
}

// line is the report line of one snapshot user: its import outcome, overridden by an API create,
// overridden for a federated user; its disabled flag again; the groups it was added to; its new
// sub (not for a federated user).
func (rj *reportJoin) line(r partition.Record, key string, results map[string]importResult, got map[string]target, sum *bucketReport) UserReport {
	u := r.User
	line := UserReport{Username: u.Username, Outcome: OutcomeFailed, Reason: "no import result", OldSub: u.Attributes["sub"]}
	if res, ok := results[key]; ok {
		line.Outcome, line.Reason = res.Outcome, res.Reason
	}
	var created, disabled *ApplyResult
	for _, t := range r.Tags {
		var a ApplyResult
		if json.Unmarshal([]byte(t), &a) != nil {
			continue
		}
		switch a.Phase {
		case PhaseCreate:
			created = &a
		case PhaseDisable:
			disabled = &a
		case PhaseMemberships:
			line.Groups = append(line.Groups, a.Group)
		}
	}
	if a := created; a != nil {
		switch {
		case a.Existed:
			line.Outcome, line.Reason = OutcomeSkipped, a.Message
		case a.OK:
			line.Outcome, line.Reason = OutcomeCreatedByAPI, "the import refuses a user without a verified contact; invited by AdminCreateUser"
		default:
			line.Outcome, line.Reason = OutcomeFailed, a.Message
		}
	}
	if u.Status == StatusExternalProvider {
		line.Outcome, line.Reason = OutcomeNotImportable, "a federated user: Cognito creates it again at its next sign-in through its identity provider"
	}
	if !u.Enabled && u.Status != StatusExternalProvider {
		line.Disabled = "disable-failed"
		if disabled != nil && disabled.OK {
			line.Disabled = "disabled"
			sum.Disabled++
		}
	}
	slices.Sort(line.Groups)
	if t, ok := got[key]; ok && u.Status != StatusExternalProvider {
		line.NewSub = t.sub
		sum.Mapped++
	}
	sum.Outcomes[line.Outcome]++
	sum.Users++
	return line
}

// compare checks one restorable snapshot user against the bucket's target users: present once,
// enabled as in the snapshot, every copied attribute equal if sampled, in each of its groups.
func (v *verifier) compare(u snapshot.User, groups []string, key string, got map[string]target, matched, members map[string]bool) {
	v.Users++
	g, ok := got[key]
	switch {
	case !ok || matched[key]:
		v.add("snapshot user %s is missing", u.Username)
	case g.enabled != u.Enabled:
		v.add("snapshot user %s is enabled=%v, the snapshot says %v", u.Username, g.enabled, u.Enabled)
	}
	if ok && !matched[key] {
		matched[key] = true
		if g.attrs != nil {
			for _, name := range slices.Sorted(maps.Keys(u.Attributes)) {
				if poolpair.Copied(name) && g.attrs[name] != u.Attributes[name] {
					v.add("snapshot user %s: attribute %s differs", u.Username, name)
				}
			}
		}
	}
	for _, group := range groups {
		k := group + "\x00" + key
		if !members[k] {
			v.add("snapshot user %s is not in group %s", u.Username, group)
		}
		delete(members, k)
	}
}

// concat joins every bucket's files of one kind, in bucket order, into the report's file key.
func (rj *reportJoin) concat(ctx context.Context, kind, key string) (s3stream.Object, error) {
	p := rj.p
	w := s3stream.Create(ctx, rj.store, p.Bucket, p.Prefix+key)
	lw := snapshot.NewLineWriter(w)
	var err error
	for b := range rj.pt.Buckets {
		if err = snapshot.GetLines(ctx, rj.store, p.Bucket, rj.outKey(kind, b), func(line json.RawMessage) error { return lw.Write(line) }); err != nil {
			break
		}
	}
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		w.Abort(err)
		return s3stream.Object{}, err
	}
	return w.Close()
}

// summary sums the buckets' summaries into the report's, writes it (and, for a drill, the joined
// comparison DrillCheckFile) and tells the operators.
func (rj *reportJoin) summary(ctx context.Context, report, subMap s3stream.Object) (ReportOutput, error) {
	p := rj.p
	out := ReportOutput{Outcomes: map[string]int{}, Target: p.Target, Created: p.Created, SummaryKey: p.Prefix + ReportSummary, Report: report, SubMap: subMap}
	drill := verifier{}
	for b := range rj.pt.Buckets {
		sum, found, err := checkpoint.Load[bucketReport](ctx, rj.store, p.Bucket, rj.summaryKey(b))
		if err == nil && !found {
			err = fmt.Errorf("s3://%s/%s is missing", p.Bucket, rj.summaryKey(b))
		}
		if err != nil {
			return ReportOutput{}, err
		}
		for o, n := range sum.Outcomes {
			out.Outcomes[o] += n
		}
		out.Users += sum.Users
		out.Disabled += sum.Disabled
		out.Mapped += sum.Mapped
		if sum.Drill != nil {
			drill.plus(*sum.Drill)
		}
	}
	if p.Request.Drill {
		body, err := json.Marshal(drill)
		if err != nil {
			return ReportOutput{}, err
		}
		if _, err := s3stream.Put(ctx, rj.store, p.Bucket, p.Prefix+DrillCheckFile, body); err != nil {
			return ReportOutput{}, err
		}
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return ReportOutput{}, err
	}
	if _, err := s3stream.Put(ctx, rj.store, p.Bucket, out.SummaryKey, body); err != nil {
		return ReportOutput{}, err
	}
	out.MessageID, err = notify.Publish(ctx, rj.s.SNS, rj.s.TopicArn, summarySubject(p, out), summaryBody(p, out))
	return out, err
}
