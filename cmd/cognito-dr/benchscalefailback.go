package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"sync"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// scaleRunFailback runs the whole failback of the synthetic DR copy into the Tokyo pool, with
// applyDisables: the plan, the approval — given as an approver gives it, through the link the
// stack's SNS emailed (its mailbox file) and the page this process serves, whose decision goes
// to the executor's callback — the fence and the final plan, the import jobs, ApplyChanges, the
// DR pool's disables and the report. It then checks, through the emulator's API and against
// the generator, the primary pool (every DR-only user imported once with its attributes, every
// changed user updated, every user disabled in the DR pool disabled, nothing else changed), the
// DR pool (every user disabled) and the per-user report (every DR user once, each with the
// outcome its drift calls for). lost: a user the failback had to carry and did not (or one the
// report misses); duplicated: a user carried twice or without cause (or reported twice or
// unknown). Other differences are an error on the line.
func scaleRunFailback(ctx context.Context, self string, env taskEnv, sc *devstack.Scenario, mailbox string, primary, dr localcognito.Synthetic, opts ...asl.Option) scaleResult {
	in := sc.FailbackRequest(devstack.SyntheticFailover)
	in["applyDisables"] = true
	raw, err := json.Marshal(in)
	if err != nil {
		return scaleResult{Err: err}
	}
	clients := stackClients(env)
	pages, err := listenApprovals("127.0.0.1:0", raw, clients, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		return scaleResult{Err: err}
	}
	pages.Serve()
	defer pages.Close()
	env.Approvals = &pages.keys
	ap := &mailboxApprover{mailbox: mailbox, used: map[string]bool{}}
	states := &stateCounts{n: map[string]int{}}
	var deciding sync.WaitGroup
	x, res, err := scaleExecution(ctx, self, statemachines.Failback, env, in, func(fns map[string]boundary.Func, stop context.CancelFunc) {
		ask := fns[failback.RequestApprovalTask.Placeholder]
		fns[failback.RequestApprovalTask.Placeholder] = func(tctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			out, err := ask(tctx, in)
			if err == nil {
				// The approval is asked for: its email is in the mailbox. The state waits for the
				// decision once this returns (its token was registered before the task ran), and
				// the decision ends the task's context: the approver decides on its own.
				deciding.Go(func() {
					if err := ap.approve(ctx); err != nil {
						ap.fail(err)
						stop()
					}
				})
			}
			return out, err
		}
	}, func(ex *asl.Executor) { pages.bindDecisions(devstack.Callbacks{Executor: ex}) }, append(slices.Clip(opts), asl.WithObserver(states.observe))...)
	deciding.Wait()
	res.ByState = states.counts()
	if aerr := ap.failure(); aerr != nil {
		res.Err = fmt.Errorf("approve: %w", aerr)
		return res
	}
	var out failback.ReportOutput
	if res.Err = succeeded(x, err, "failback", &out); res.Err != nil {
		return res
	}
	fmt.Fprintf(os.Stderr, "  scale: failback report: %d DR users (%s), %d still only in the DR pool; approved %d times\n",
		out.Users, countsText(out.Outcomes), out.Lost, ap.count())
	r := env.Ready
	chk, err := checkFailedBack(ctx, clients.Cognito(r.TokyoRegion), r.TokyoPoolID, primary, dr)
	if err != nil {
		res.Err = fmt.Errorf("list the primary pool: %w", err)
		return res
	}
	enabled, err := enabledUsers(ctx, clients.Cognito(r.OsakaRegion), r.OsakaPoolID)
	if err != nil {
		res.Err = fmt.Errorf("list the DR pool: %w", err)
		return res
	}
	rep, err := checkFailbackReport(ctx, env, out, dr)
	if err != nil {
		res.Err = fmt.Errorf("read the report: %w", err)
		return res
	}
	res.Lost, res.Duplicated = chk.lost+rep.lost, chk.duplicated+rep.duplicated
	var wrong []error
	if chk.attributes > 0 {
		wrong = append(wrong, fmt.Errorf("%d primary users with attributes the generator does not give them", chk.attributes))
	}
	if enabled > 0 {
		wrong = append(wrong, fmt.Errorf("%d DR users left enabled", enabled))
	}
	if rep.outcomes > 0 {
		wrong = append(wrong, fmt.Errorf("%d report lines with an outcome their drift does not call for (%v)", rep.outcomes, rep.byDrift))
	}
	if out.Users != dr.Users || out.Lost != 0 {
		wrong = append(wrong, fmt.Errorf("the report says %d DR users, %d still only in the DR pool; the DR pool has %d", out.Users, out.Lost, dr.Users))
	}
	res.Err = errors.Join(wrong...)
	return res
}

// mailboxApprover approves as an approver does: it finds the link of an approval request in the
// stack's SNS mailbox and decides on its page (devstack.Decide: GET, then POST the form).
type mailboxApprover struct {
	mailbox string
	mu      sync.Mutex
	used    map[string]bool
	err     error
}

// approve approves the newest approval request not yet approved.
func (a *mailboxApprover) approve(ctx context.Context) error {
	link, err := a.newestLink()
	if err != nil {
		return err
	}
	status, err := devstack.Decide(ctx, link, "approve", "scale bench")
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		// The link decides the failback: it stays out of the error.
		return fmt.Errorf("%s the approval page: %w", ue.Op, ue.Err)
	}
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("the approval page answered HTTP %d", status)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used[link] = true
	return nil
}

func (a *mailboxApprover) newestLink() (string, error) {
	f, err := os.Open(a.mailbox)
	if err != nil {
		return "", err
	}
	defer f.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	var link string
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var m struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			return "", fmt.Errorf("mailbox: %w", err)
		}
		if l := devstack.ApprovalLink(m.Message); l != "" && !a.used[l] {
			link = l
		}
	}
	if err := lines.Err(); err != nil {
		return "", err
	}
	if link == "" {
		return "", errors.New("no approval request in the stack's SNS mailbox")
	}
	return link, nil
}

func (a *mailboxApprover) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = errors.Join(a.err, err)
}

func (a *mailboxApprover) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *mailboxApprover) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.used)
}

// failedBackCheck is what checkFailedBack found.
type failedBackCheck struct {
	lost, duplicated int
	// attributes counts users with attributes (other than sub, given_name) other than the
	// generator's.
	attributes int
}

// checkFailedBack lists the primary pool through the Cognito API and compares it with what the
// failback should have made of it: the primary's generated users, each with the given_name of
// its DR copy (changed copies carry theirs back) and disabled if the copy was disabled in the DR
// pool (applyDisables), and the DR copy's DR-only users, imported with their attributes.
func checkFailedBack(ctx context.Context, c *cip.Client, pool string, primary, dr localcognito.Synthetic) (failedBackCheck, error) {
	var chk failedBackCheck
	seen := make([]bool, dr.Users) // primary user i is the DR copy's user i
	err := eachPoolUser(ctx, c, pool, func(u types.UserType, attrs map[string]string) {
		i, ok := dr.IndexOf(attrs["email"])
		if !ok || seen[i] {
			chk.duplicated++
			return
		}
		seen[i] = true
		copied := dr.User(i)
		if dr.Drift(i) == localcognito.DriftDROnly {
			if attributesDiffer(copied.Attributes, attrs, "sub") {
				chk.attributes++
			}
			return
		}
		want := primary.User(i)
		wantEnabled := want.Enabled && dr.Drift(i) != localcognito.DriftDisabled
		carried := attrs["given_name"] == copied.Attributes["given_name"] && u.Enabled == wantEnabled
		switch {
		case !carried && dr.Drift(i) != localcognito.DriftNone:
			chk.lost++
		case !carried:
			chk.duplicated++ // changed without cause
		}
		if attributesDiffer(want.Attributes, attrs, "sub", "given_name") {
			chk.attributes++
		}
	})
	if err != nil {
		return chk, err
	}
	for _, s := range seen {
		if !s {
			chk.lost++
		}
	}
	return chk, nil
}

// enabledUsers counts the pool's enabled users through the Cognito API.
func enabledUsers(ctx context.Context, c *cip.Client, pool string) (int, error) {
	n := 0
	err := eachPoolUser(ctx, c, pool, func(u types.UserType, _ map[string]string) {
		if u.Enabled {
			n++
		}
	})
	return n, err
}

// reportCheck is what checkFailbackReport found.
type reportCheck struct {
	lost, duplicated int
	// outcomes counts lines whose outcome the user's drift does not call for; byDrift counts
	// the lines by drift and outcomes.
	outcomes int
	byDrift  map[string]int
}

// wantOutcomes are the primary outcomes each kind of DR user's report line may have.
var wantOutcomes = map[localcognito.DriftKind][]string{
	localcognito.DriftNone:     {failback.PrimaryUnchanged},
	localcognito.DriftChanged:  {failback.PrimaryUpdated},
	localcognito.DriftDisabled: {failback.PrimaryUpdated},
	localcognito.DriftDROnly:   {failback.PrimaryImported, failback.PrimaryCreatedByAPI},
}

var driftNames = map[localcognito.DriftKind]string{localcognito.DriftNone: "unchanged copy", localcognito.DriftChanged: "changed copy",
	localcognito.DriftDisabled: "disabled copy", localcognito.DriftDROnly: "DR-only"}

// checkFailbackReport reads the per-user report and finds each DR user in it once, by the
// email its key is, with the outcome its drift calls for and disabled in the DR pool.
func checkFailbackReport(ctx context.Context, env taskEnv, out failback.ReportOutput, dr localcognito.Synthetic) (reportCheck, error) {
	chk := reportCheck{byDrift: map[string]int{}}
	seen := make([]bool, dr.Users)
	r := env.Ready
	err := snapshot.GetLines(ctx, stackClients(env).S3(r.BucketRegion), r.Bucket, out.Report.Key, func(u failback.UserReport) error {
		i, ok := dr.IndexOf(u.Key)
		if !ok || seen[i] {
			chk.duplicated++
			return nil
		}
		seen[i] = true
		kind := dr.Drift(i)
		chk.byDrift[fmt.Sprintf("%s: primary %s, DR %s", driftNames[kind], u.Primary, u.DR)]++
		if !slices.Contains(wantOutcomes[kind], u.Primary) || u.DR != failback.DRDisabled {
			chk.outcomes++
		}
		return nil
	})
	for _, s := range seen {
		if !s {
			chk.lost++
		}
	}
	if len(chk.byDrift) > 0 {
		fmt.Fprintf(os.Stderr, "  scale: failback report lines by drift:")
		for _, k := range slices.Sorted(maps.Keys(chk.byDrift)) {
			fmt.Fprintf(os.Stderr, " %s=%d;", k, chk.byDrift[k])
		}
		fmt.Fprintln(os.Stderr)
	}
	return chk, err
}
