package failback

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/partition"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// WriteReport is one invocation of the WriteReport loop: it joins the DR export, the held
// users, the import results, the rejects and the ledgers into one line per DR user without
// holding the pool. Every input is routed by its user's canonical key (the matcher's) into the
// plan's hash buckets (partition.Route, partition.Split), each bucket is joined on its own
// (reportJoin), and the buckets' lines are joined into the one ReportFile; then the summary is
// written and the operators told, once. It works through these units while its time budget
// (ExportBudget, EXPORT_BUDGET_SECONDS) is open and returns its cursor; the state machine calls
// it again until Done, when Report is the execution's result.
func (s *Steps) WriteReport(ctx context.Context, in ReportInput) (ReportProgress, error) {
	b, _, stop := export.StartBudget(s.ExportBudget, s.Budget)
	defer stop()
	prog := in.Progress
	if prog.Done {
		return prog, nil
	}
	p := in.Plan
	if err := s.verifyBound(ctx, p, "WriteReport", in.CSV.PlanFiles.Held, in.CSV.Rejects); err != nil {
		return prog, err
	}
	// Each part is verified by the unit that routes it: an invocation reads none it does not route.
	parts, err := s.drIndex(ctx, p, "WriteReport", in.CSV.PlanFiles.DRUsers)
	if err != nil {
		return prog, err
	}
	r := s.reporter(ctx, in, parts)
	units := r.units()
	prog.Units = len(units)
	prog.Invocations++
	for prog.Next < len(units) && b.Open() {
		u := units[prog.Next]
		switch u.kind {
		case reportRoute:
			err = partition.Route(ctx, r.layout, func(w int) string { return r.windowKey(u.name, w) }, entryKey, u.read)
		case reportSplit:
			err = partition.Split(ctx, r.layout, u.i, r.windowKeys(u.i), r.bucketKey)
		case reportBucket:
			err = r.bucket(ctx, u.i)
		case reportJoinLines:
			var out ReportOutput
			if out, err = r.join(ctx); err == nil {
				prog.Report = &out
			}
		case reportPublish:
			if prog.Report == nil {
				return in.Progress, stateerr.Invalid("write report: the progress lost the report before it was published")
			}
			prog.Report.MessageID, err = r.publish(ctx, *prog.Report)
		}
		if err != nil {
			return in.Progress, fmt.Errorf("write report (%s): %w", u, err)
		}
		prog.Next++
	}
	prog.Done = prog.Next == len(units)
	return prog, nil
}

// reportEntry is one line of an input of the report, routed to the bucket of its user's
// canonical key: exactly one of the fields after Key is set.
type reportEntry struct {
	// Key is the canonical key of the DR user the line is about: its bucket.
	Key string `json:"key"`
	// DRUser is the username of a DR user of the export.
	DRUser  string            `json:"drUser,omitempty"`
	Held    *Held             `json:"held,omitempty"`
	Row     *RowResult        `json:"row,omitempty"`
	Reject  *importcsv.Reject `json:"reject,omitempty"`
	Apply   *ApplyResult      `json:"apply,omitempty"`
	Disable *DisableResult    `json:"disable,omitempty"`
}

func entryKey(e reportEntry) string { return e.Key }

// reportJoin joins report entries into one line per DR user, on one canonical key: import results
// and rejects name a user as the CSV did (exactly as the DR pool holds it), ledgers by DR username
// and key. A name that no DR user has still gets one line, under its key. Entries come in the
// order of the inputs — the DR users, the held users, the import results, the rejects, the apply
// ledger, the disable ledger — and a later one overrides an earlier one's outcome. One bucket's
// entries are all the entries of its users.
type reportJoin struct {
	lines []*UserReport
	byDR  map[string]*UserReport
	byKey map[string]*UserReport
}

func newReportJoin() *reportJoin {
	return &reportJoin{byDR: map[string]*UserReport{}, byKey: map[string]*UserReport{}}
}

func (j *reportJoin) add(key, drUsername string) *UserReport {
	u := &UserReport{Key: key, DRUsername: drUsername, Primary: PrimaryUnchanged, DR: "unknown"}
	j.lines = append(j.lines, u)
	if drUsername != "" {
		j.byDR[drUsername] = u
	}
	if j.byKey[key] == nil {
		j.byKey[key] = u
	}
	return u
}

// find is the line of a DR user: by DR username first, then by key, else a new line.
func (j *reportJoin) find(drUsername, key string) *UserReport {
	if u := j.byDR[drUsername]; u != nil {
		return u
	}
	if u := j.byKey[key]; u != nil {
		return u
	}
	return j.add(key, drUsername)
}

// put applies one entry.
func (j *reportJoin) put(e reportEntry) {
	switch {
	case e.DRUser != "":
		j.add(e.Key, e.DRUser)
	case e.Held != nil:
		h := e.Held
		u := j.find(h.DRUsername, h.Key)
		u.Primary, u.Reason = h.Kind, h.Reason
	case e.Row != nil:
		u := j.find("", e.Key)
		switch r := e.Row; r.Outcome {
		case RowImported:
			u.Primary = PrimaryImported
		case RowSkipped:
			u.Primary, u.Reason = PrimarySkipped, r.Message
		case RowResultUnknown:
			u.Primary, u.Reason = PrimaryResultUnknown, r.Message
		default:
			u.Primary, u.Reason = PrimaryImportFailed, r.Message
		}
	case e.Reject != nil:
		u := j.find("", e.Key)
		u.Primary, u.Reason = PrimaryRejected, e.Reject.Reason
	case e.Apply != nil:
		a := e.Apply
		u := j.find(a.DRUsername, a.Key)
		switch {
		case a.Kind == ActionCreate && a.Existed:
			u.Primary, u.Reason = PrimarySkipped, a.Message
		case a.Kind == ActionCreate && a.OK:
			u.Primary, u.Reason = PrimaryCreatedByAPI, a.Message
		case a.Kind == ActionCreateAfterImport && a.Existed:
			// The primary has the user: the import's outcome (routed before the ledgers) stands.
		case a.Kind == ActionCreateAfterImport && a.OK:
			u.Primary, u.Reason = PrimaryCreatedByAPI, fmt.Sprintf("created by API after the plan's updates; the import job's row: %s %s", u.Primary, u.Reason)
		case a.Kind == ActionCreateAfterImport:
			u.Reason += "; created by API after the plan's updates: refused: " + a.Message
		case a.Kind == ActionUpdate && a.OK:
			u.Primary = PrimaryUpdated
		case a.Kind == ActionUpdate:
			u.Primary, u.Reason = PrimaryUpdateFailed, a.Message
		case a.Kind == ActionDisablePrimary && a.OK:
			// Disabled as in the DR pool (applyDisables): its enabled state updated. A failed
			// update of its attributes stays the line's outcome.
			if u.Primary != PrimaryUpdateFailed {
				u.Primary = PrimaryUpdated
			}
		case a.Kind == ActionDisablePrimary:
			u.Primary, u.Reason = PrimaryUpdateFailed, a.Message
		case a.Kind == ActionAddToGroup && a.OK:
			u.Groups = append(u.Groups, a.Group)
		}
	case e.Disable != nil:
		d := e.Disable
		j.find(d.DRUsername, d.Key).DR = d.Outcome
	}
}

// reportCounts are the summary counts of report lines.
type reportCounts struct {
	Users    int            `json:"users"`
	Lost     int            `json:"lost"`
	Outcomes map[string]int `json:"outcomes"`
}

func (c *reportCounts) count(u *UserReport) {
	if c.Outcomes == nil {
		c.Outcomes = map[string]int{}
	}
	c.Users++
	c.Outcomes["primary:"+u.Primary]++
	c.Outcomes["dr:"+u.DR]++
	if u.DR != DRDisabled {
		// Still enabled in DR and not in the primary: this user would be lost if the DR pool went away.
		c.Lost++
	}
}

func (c *reportCounts) plus(o reportCounts) {
	if c.Outcomes == nil {
		c.Outcomes = map[string]int{}
	}
	c.Users += o.Users
	c.Lost += o.Lost
	for k, n := range o.Outcomes {
		c.Outcomes[k] += n
	}
}

// Kinds of the report's units.
const (
	// reportRoute routes one piece of an input (a DR export part, the held users, one import's
	// results, the rejects, a range of a ledger) to the windows of its users' buckets.
	reportRoute = "route"
	// reportSplit writes the bucket files of one window.
	reportSplit = "split"
	// reportBucket joins one bucket into its report lines and counts.
	reportBucket = "bucket"
	// reportJoinLines joins the buckets' lines into ReportFile and writes the summary.
	reportJoinLines = "join"
	// reportPublish tells the operators.
	reportPublish = "publish"
)

// reportUnit is one unit of the report. Each reads a bounded share of the inputs and writes
// files under keys fixed by the plan, so a retried invocation rewrites the same objects.
type reportUnit struct {
	kind string
	i    int
	// name and read are a route unit's: the name of its window files and its input.
	name string
	read func(put func(reportEntry) error) error
}

func (u reportUnit) String() string {
	switch u.kind {
	case reportRoute:
		return "route " + u.name
	case reportSplit, reportBucket:
		return fmt.Sprintf("%s %d", u.kind, u.i)
	}
	return u.kind
}

// ledgerRange is how many ledger results (cursor positions) one route unit of a ledger reads:
// 400 ledger objects of checkpoint.Chunk.
const ledgerRange = 400 * checkpoint.Chunk

// reporter builds and runs the report's units of one invocation.
type reporter struct {
	s *Steps
	// ctx is the invocation's: the route units' inputs are read with it.
	ctx    context.Context
	in     ReportInput
	store  S3
	parts  []snapshot.Part
	layout partition.Layout
}

func (s *Steps) reporter(ctx context.Context, in ReportInput, parts []snapshot.Part) *reporter {
	p := in.Plan
	return &reporter{s: s, ctx: ctx, in: in, store: s.S3(p.Region), parts: parts, layout: partition.Layout{
		Store: s.S3(p.Region), Bucket: p.Bucket, Dir: p.Prefix + ReportDir,
		// Buckets of the plan hold at most a bucket's share of the DR pool.
		Buckets: max(1, p.Buckets), OpenFiles: s.OpenFiles,
	}}
}

func (r *reporter) windowKey(name string, w int) string { return r.layout.Key("window", name, w) }

func (r *reporter) bucketKey(i int) string { return r.layout.Key("bucket", "in", i) }

func (r *reporter) linesKey(i int) string { return r.layout.Key("out", "lines", i) }

func (r *reporter) countsKey(i int) string {
	return fmt.Sprintf("%sout/counts-%05d.json", r.layout.Dir, i)
}

// windowKeys are the window files of window w of every route unit, in unit order.
func (r *reporter) windowKeys(w int) []string {
	var keys []string
	for _, u := range r.routes() {
		keys = append(keys, r.windowKey(u.name, w))
	}
	return keys
}

// units are the report's units in order: route every input (in the order reportJoin takes
// them), split each window into its buckets, join each bucket, join the buckets' lines, publish.
func (r *reporter) units() []reportUnit {
	units := r.routes()
	for w := range r.layout.Windows() {
		units = append(units, reportUnit{kind: reportSplit, i: w})
	}
	for i := range r.layout.Buckets {
		units = append(units, reportUnit{kind: reportBucket, i: i})
	}
	return append(units, reportUnit{kind: reportJoinLines}, reportUnit{kind: reportPublish})
}

// routes are the route units, in the order reportJoin takes the inputs.
func (r *reporter) routes() []reportUnit {
	ctx, p, in, store := r.ctx, r.in.Plan, r.in, r.store
	m := p.matcher()
	var units []reportUnit
	route := func(name string, read func(put func(reportEntry) error) error) {
		units = append(units, reportUnit{kind: reportRoute, name: name, read: read})
	}
	for i := range r.parts {
		route(fmt.Sprintf("dr-p%05d", i), func(put func(reportEntry) error) error {
			if err := r.s.verifyBound(ctx, p, "WriteReport", r.parts[i].Object); err != nil {
				return err
			}
			return snapshot.ReadParts(ctx, store, p.Bucket, r.parts[i:i+1], func(u snapshot.User) error {
				return put(reportEntry{Key: m.Key(u), DRUser: u.Username})
			})
		})
	}
	route("held", func(put func(reportEntry) error) error {
		return snapshot.GetLines(ctx, store, p.Bucket, p.Prefix+HeldFile, func(h Held) error {
			return put(reportEntry{Key: h.Key, Held: &h})
		})
	})
	for i, res := range in.Imports {
		route(fmt.Sprintf("import-%05d", i), func(put func(reportEntry) error) error {
			return snapshot.GetLines(ctx, store, p.Bucket, res.Key, func(row RowResult) error {
				// An import result names the user as the CSV did.
				return put(reportEntry{Key: m.KeyOf(row.Username), Row: &row})
			})
		})
	}
	if in.CSV.Rejected > 0 {
		route("rejects", func(put func(reportEntry) error) error {
			f, err := s3stream.Open(ctx, store, p.Bucket, in.CSV.Rejects.Key)
			if err != nil {
				return err
			}
			defer f.Close()
			return importcsv.ReadReport(f, func(rj importcsv.Reject) error {
				return put(reportEntry{Key: m.KeyOf(rj.Username), Reject: &rj})
			})
		})
	}
	for j, rg := range ledgerRanges(in.Apply) {
		route(fmt.Sprintf("apply-r%05d", j), func(put func(reportEntry) error) error {
			return readLedger(ctx, store, p.Bucket, p.Prefix+ApplyLedgerDir, rg, func(a ApplyResult) error {
				// A user matched by its primary sub carries the primary user's key; its line is
				// under its own (DRKey), with its DR user's other entries.
				return put(reportEntry{Key: cmp.Or(a.DRKey, a.Key), Apply: &a})
			})
		})
	}
	for j, rg := range ledgerRanges(in.Disable) {
		route(fmt.Sprintf("disable-r%05d", j), func(put func(reportEntry) error) error {
			return readLedger(ctx, store, p.Bucket, p.Prefix+DisableLedgerDir, rg, func(d DisableResult) error {
				return put(reportEntry{Key: d.Key, Disable: &d})
			})
		})
	}
	return units
}

// positions is a range [lo, hi) of a ledger's cursor positions; hi < 0 is unbounded.
type positions struct{ lo, hi int }

// ledgerRanges split a ledger whose loop ended at prog's cursor into ranges of ledgerRange
// results, the last unbounded (whatever else the ledger holds). Without prog (the state names
// no progress) the ledger is one range.
func ledgerRanges(prog *Progress) []positions {
	if prog == nil {
		return []positions{{0, -1}}
	}
	var out []positions
	for lo := 0; lo < prog.Cursor; lo += ledgerRange {
		out = append(out, positions{lo, lo + ledgerRange})
	}
	if len(out) > 0 {
		out[len(out)-1].hi = -1
	}
	return out
}

// readLedger reads, in key order, the ledger objects under prefix (checkpointed writes them at
// %08d of the position of their first result) of the positions in rg. An object whose name is
// no position is read by the last range (the unbounded one).
func readLedger[T any](ctx context.Context, store S3, bucket, prefix string, rg positions, fn func(T) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if rg.lo > 0 {
		// After every key of position lo-1 and before any of lo: the listing skips what earlier
		// ranges read (the check below does not depend on it).
		in.StartAfter = aws.String(fmt.Sprintf("%s%08d~", prefix, rg.lo-1))
	}
	pg := s3.NewListObjectsV2Paginator(store, in)
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, prefix), ".jsonl.gz"))
			switch {
			case err != nil && rg.hi >= 0, err == nil && n < rg.lo:
				continue
			case err == nil && rg.hi >= 0 && n >= rg.hi:
				return nil
			}
			if err := snapshot.GetLines(ctx, store, bucket, key, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucket joins bucket i: its entries, all of its users', into its report lines and counts.
func (r *reporter) bucket(ctx context.Context, i int) error {
	l := r.layout
	j := newReportJoin()
	if err := snapshot.GetLines(ctx, l.Store, l.Bucket, r.bucketKey(i), func(e reportEntry) error {
		j.put(e)
		return nil
	}); err != nil {
		return err
	}
	var c reportCounts
	w := partition.Open(ctx, l.Store, l.Bucket, 1, func(int) string { return r.linesKey(i) })
	var err error
	for _, u := range j.lines {
		c.count(u)
		if err = w.Write(0, u); err != nil {
			break
		}
	}
	if err := w.Close(err); err != nil {
		return err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s3stream.Put(ctx, l.Store, l.Bucket, r.countsKey(i), body)
	return err
}

// join concatenates the buckets' lines, in bucket order, into ReportFile, sums their counts and
// writes the summary (ReportSummary).
func (r *reporter) join(ctx context.Context) (ReportOutput, error) {
	p, l := r.in.Plan, r.layout
	var c reportCounts
	w := s3stream.Create(ctx, r.store, p.Bucket, p.Prefix+ReportFile)
	lw := snapshot.NewLineWriter(w)
	for i := range l.Buckets {
		var bc reportCounts
		if err := getJSON(ctx, r.store, p.Bucket, r.countsKey(i), &bc); err != nil {
			w.Abort(err)
			return ReportOutput{}, err
		}
		c.plus(bc)
		if err := snapshot.GetLines(ctx, r.store, p.Bucket, r.linesKey(i), func(line json.RawMessage) error { return lw.Write(line) }); err != nil {
			w.Abort(err)
			return ReportOutput{}, err
		}
	}
	if err := lw.Close(); err != nil {
		w.Abort(err)
		return ReportOutput{}, err
	}
	obj, err := w.Close()
	if err != nil {
		return ReportOutput{}, err
	}
	out := ReportOutput{Report: obj, SummaryKey: p.Prefix + ReportSummary, Outcomes: c.Outcomes, Users: c.Users, Lost: c.Lost, Modes: modesLeft(r.in)}
	if out.Outcomes == nil {
		out.Outcomes = map[string]int{}
	}
	body, _ := json.MarshalIndent(out, "", "  ")
	if _, err := s3stream.Put(ctx, r.store, p.Bucket, out.SummaryKey, body); err != nil {
		return ReportOutput{}, err
	}
	return out, nil
}

// published is ReportPublishedFile: the message that told the operators.
type published struct {
	MessageID string `json:"messageId"`
}

// publish tells the operators the outcome once: a retried invocation finds the message it sent
// recorded (ReportPublishedFile) and sends none.
func (r *reporter) publish(ctx context.Context, out ReportOutput) (string, error) {
	p, in := r.in.Plan, r.in
	key := p.Prefix + ReportPublishedFile
	var rec published
	err := getJSON(ctx, r.store, p.Bucket, key, &rec)
	var missing *s3types.NoSuchKey
	switch {
	case err == nil:
		return rec.MessageID, nil
	case !errors.As(err, &missing):
		return "", err
	}
	msgID, err := r.s.publish(ctx, fmt.Sprintf("Cognito DR failback finished: primary %s, DR %s; %d users, %d not carried over", out.Modes.Primary, out.Modes.DR, out.Users, out.Lost),
		reportText(p, out)+switchText(in))
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(published{MessageID: msgID})
	if err != nil {
		return "", err
	}
	if _, err := s3stream.Put(ctx, r.store, p.Bucket, key, body); err != nil {
		return "", err
	}
	return msgID, nil
}
