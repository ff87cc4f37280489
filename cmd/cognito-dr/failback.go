package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// failbackScenario sizes the outage story of the failback demo and benchmark.
type failbackScenario struct {
	primaryUsers int           // Tokyo users, replicated to Osaka before the outage
	signUps      int           // users who signed up in Osaka during the outage (seeded directly)
	newUsers     int           // users created in Osaka through the API during the outage
	unverified   int           // of those, with an unverified email (the import rejects them)
	changed      int           // existing users changed in Osaka during the outage
	latency      time.Duration // added to each Cognito call
	// approve decides for the operator; nil waits for a decision made in a browser. decided is
	// closed when the execution has its decision, from whichever side it came.
	approve func(ctx context.Context, link string, decided <-chan struct{}) error
	out     io.Writer
	// switched wires the gates on both pools and runs `cognito-dr failover` (internal/failover)
	// at the failover time with the reconcile schedule deployed, as on AWS.
	switched bool
	// writeEvery runs a devstack.Writer in the DR pool for the whole failback (sign-ups and
	// profile changes, one every writeEvery); zero writes nothing.
	writeEvery time.Duration
}

// fencedMessage is what the DR pool's users are told once a demo or benchmark failback fences it.
const fencedMessage = "We are back in Tokyo: sign in at https://login.example.jp"

// failbackRun is what a run reports.
type failbackRun struct {
	exec           *asl.Execution
	report         failback.ReportOutput
	seconds        float64
	disableSeconds float64
	disabled       int
	// approvedAt is when the approver decided; writes what the writer saw, lost the writes the DR
	// pool accepted that the primary lacks at the end.
	approvedAt time.Time
	writes     devstack.WriterResult
	lost       []string
}

func runFailbackScenario(ctx context.Context, fs failbackScenario) (*failbackRun, error) {
	w := fs.out
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: fs.latency})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, fs.primaryUsers)
	if err != nil {
		return nil, err
	}
	if err := st.ReplicateToOsaka(sc, time.Now().Add(-48*time.Hour)); err != nil {
		return nil, err
	}
	failoverAt := time.Now().Add(-24 * time.Hour)
	if err := st.SeedOutageSignUps(sc, fs.signUps, failoverAt.Add(time.Hour)); err != nil {
		return nil, err
	}
	outage, err := st.SimulateOutage(ctx, sc, fs.newUsers, fs.unverified, fs.changed)
	if err != nil {
		return nil, err
	}
	var writer *devstack.Writer
	if fs.switched {
		if writer, err = switchToDR(ctx, st, sc, outage, failoverAt); err != nil {
			return nil, err
		}
		writer.Interval = fs.writeEvery
	}
	fmt.Fprintf(w, "local AWS        %s (Cognito with AWS default quotas and %v latency, S3, SNS, CloudWatch Logs)\n", st.URL(), fs.latency)
	fmt.Fprintf(w, "primary pool     %s (%s): %d users, replicated to Osaka before the outage\n", sc.TokyoID, sc.Tokyo.Region, fs.primaryUsers)
	fmt.Fprintf(w, "DR pool          %s (%s)\n", sc.OsakaID, sc.Osaka.Region)
	fmt.Fprintf(w, "outage           failover at %s; in Osaka since: %d sign-ups, %d users created by admins (%d with an unverified email), %d changed, %d disabled, %d added to a new group\n\n",
		failoverAt.UTC().Format(time.RFC3339), fs.signUps, len(outage.New)+len(outage.NewUnverified), len(outage.NewUnverified), len(outage.Changed), len(outage.Disabled), len(outage.Grouped))

	decided := make(chan struct{})
	var decidedOnce sync.Once
	run, err := st.Failback(sc, nil, asl.WithObserver(func(e asl.Event) {
		if e.Scope == "" && e.Type == asl.EventStateEntered {
			fmt.Fprintf(w, "state            %s  (%s)\n", e.State, e.Time.Format("15:04:05"))
		}
		if e.Scope == "" && e.Type == asl.EventStateExited && e.State == "RequestApproval" {
			decidedOnce.Do(func() { close(decided) })
		}
	}))
	if err != nil {
		return nil, err
	}
	req := sc.FailbackRequest(failoverAt)
	req["fencedMessage"] = fencedMessage
	input, _ := json.Marshal(req)
	fmt.Fprintf(w, "start execution  failback-demo with input %s\n", input)
	stopWriting, written := make(chan struct{}), make(chan devstack.WriterResult, 1)
	if fs.writeEvery > 0 && writer != nil {
		go func() { written <- writer.Run(ctx, stopWriting) }()
	} else {
		written <- devstack.WriterResult{}
	}
	begin := time.Now()
	x, err := run.Exec.Start(ctx, "failback-demo", input)
	if err != nil {
		close(stopWriting)
		return nil, err
	}
	go func() {
		<-x.Done()
		decidedOnce.Do(func() { close(decided) })
	}()
	link, err := awaitApprovalEmail(ctx, st, x, w, "")
	if err != nil {
		close(stopWriting)
		return nil, err
	}
	approvedAt := time.Now()
	if fs.approve != nil {
		if err := fs.approve(ctx, link, decided); err != nil {
			close(stopWriting)
			return nil, err
		}
		// A final plan beyond the margin asks again (the DR pool is fenced meanwhile).
		final, err := awaitApprovalEmail(ctx, st, x, w, link)
		if err == nil && final != "" {
			err = fs.approve(ctx, final, x.Done())
		}
		if err != nil {
			close(stopWriting)
			return nil, err
		}
	}
	waitErr := x.Wait(ctx)
	seconds := time.Since(begin).Seconds()
	close(stopWriting)
	wr := <-written
	if waitErr != nil {
		return nil, fmt.Errorf("execution %s: %w", x.Status(), waitErr)
	}
	res := &failbackRun{exec: x, seconds: seconds, approvedAt: approvedAt, writes: wr}
	if fs.writeEvery > 0 {
		// What the DR pool accepted must be in the primary; the check is no part of the run.
		st.Cognito.SetQuotas(false)
		primary, _ := sc.GatePools()
		if res.lost, err = wr.Lost(ctx, st, primary); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(x.Output(), &res.report); err != nil {
		return nil, err
	}
	var disableStart, disableEnd time.Time
	for _, e := range x.History() {
		switch {
		case e.Scope == "" && e.Type == asl.EventStateEntered && e.State == "StartDisable":
			disableStart = e.Time
		case e.Scope == "" && e.Type == asl.EventStateEntered && e.State == "StartReport":
			disableEnd = e.Time
		}
	}
	res.disableSeconds = disableEnd.Sub(disableStart).Seconds()
	res.disabled = res.report.Outcomes["dr:disabled"]
	return res, nil
}

// switchToDR does what the operator does when the primary fails: the gates on both pools as
// deployed, the reconcile schedule deployed, then `cognito-dr failover` at failoverAt. It returns
// a writer of the DR pool's users (an app client, a few replicated users who reset their password
// in the DR pool), not started.
func switchToDR(ctx context.Context, st *devstack.Stack, sc *devstack.Scenario, outage *devstack.Outage, failoverAt time.Time) (*devstack.Writer, error) {
	primary, dr := sc.GatePools()
	if _, err := st.WireGates(ctx, primary, dr, devstack.GateOptions{}); err != nil {
		return nil, err
	}
	if err := st.DeployReconcileSchedule(ctx, primary, dr, failover.DefaultScheduleName); err != nil {
		return nil, err
	}
	f := &failover.Failover{
		SSM:       func(region string) poolmode.SSM { return st.Clients.SSM(region) },
		Scheduler: func(region string) failover.Scheduler { return st.Clients.Scheduler(region) },
		Now:       func() time.Time { return failoverAt },
	}
	r, err := f.Run(ctx, failover.Config{PrimaryPool: primary.ID, PrimaryRegion: primary.Region, DRPool: dr.ID, DRRegion: dr.Region,
		Message: "Tokyo is down: sign in at https://osaka.example.jp", ScheduleName: failover.DefaultScheduleName})
	if err != nil {
		return nil, err
	}
	if len(r.Findings) > 0 {
		return nil, fmt.Errorf("failover: %s", strings.Join(r.Findings, "; "))
	}
	c := st.Clients.Cognito(dr.Region)
	out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(dr.ID), ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		return nil, err
	}
	w := &devstack.Writer{Stack: st, Pool: dr, ClientID: aws.ToString(out.UserPoolClient.ClientId), Message: fencedMessage, Users: map[string]string{}, Prefix: "writer"}
	for u := range sc.Tokyo.SeedUsers() {
		email := u.Attributes["email"]
		if !u.Enabled || u.Attributes["email_verified"] != "true" || slices.Contains(outage.Changed, email) || slices.Contains(outage.Disabled, email) {
			continue
		}
		const password = "Osaka-Passw0rd!"
		if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(dr.ID), Username: aws.String(email), Password: aws.String(password), Permanent: true}); err != nil {
			return nil, err
		}
		if w.Users[email] = password; len(w.Users) == 5 {
			break
		}
	}
	return w, nil
}

// awaitApprovalEmail prints the approval email when it arrives and returns its link. With seen
// set (the first approval's link) it waits for a second one and returns "" if the execution ends
// without asking again.
func awaitApprovalEmail(ctx context.Context, st *devstack.Stack, x *asl.Execution, w io.Writer, seen string) (string, error) {
	msgs := st.AWS.SNS().Follow(ctx)
	for {
		select {
		case m := <-msgs:
			if link := devstack.ApprovalLink(m.Message); link != "" && link != seen {
				fmt.Fprintf(w, "\n--- SNS email to the approvers ------------------------------------------\nSubject: %s\n\n%s-------------------------------------------------------------------------\n\n", m.Subject, m.Message)
				return link, nil
			}
		case <-x.Done():
			if seen != "" {
				return "", nil
			}
			return "", fmt.Errorf("execution ended before asking for approval: %s %s %s", x.Status(), x.ErrorName(), x.Cause())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func runDemoFailback(ctx context.Context, args []string) error {
	fl := newFlags("demo-failback", "demo-failback [flags]")
	users := fl.Int("users", 1000, "users in the Tokyo pool, replicated to Osaka before the outage")
	signUps := fl.Int("signups", 200, "users who signed up in Osaka during the outage")
	interactive := fl.Bool("interactive", false, "wait for you to approve in a browser instead of approving for you")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	fmt.Printf("Cognito DR demo: fail back from Osaka to the recovered Tokyo pool, with human approval\n\n")
	fs := failbackScenario{primaryUsers: *users, signUps: *signUps, newUsers: 20, unverified: 5, changed: 25, latency: 20 * time.Millisecond, out: os.Stdout, switched: true}
	if *interactive {
		fs.approve = func(ctx context.Context, link string, decided <-chan struct{}) error {
			return approveInteractive(ctx, link, decided, os.Stdin, os.Stdout)
		}
	} else {
		fs.approve = func(ctx context.Context, link string, _ <-chan struct{}) error {
			fmt.Println("Approving as the demo (-interactive lets you click Approve in a browser): GET the page, then POST its form.")
			return approveAs(ctx, link)
		}
	}
	res, err := runFailbackScenario(ctx, fs)
	if err != nil {
		var f *asl.Failure
		if errors.As(err, &f) {
			return fmt.Errorf("%s: %s", f.Name, f.Cause)
		}
		return err
	}
	printFailbackReport(res)
	return nil
}

// approveInteractive waits for the operator: a decision made on the page in a browser (decided is
// closed; nothing more to do) or Enter on the terminal (approve as the demo would, unless the
// browser was faster).
func approveInteractive(ctx context.Context, link string, decided <-chan struct{}, stdin io.Reader, stdout io.Writer) error {
	fmt.Fprintln(stdout, "Open the link in a browser on this machine and press Approve or Reject (nothing changes until you do).")
	fmt.Fprintln(stdout, "Or press Enter here to approve as the demo would.")
	line := make(chan struct{})
	go func() { bufio.NewReader(stdin).ReadString('\n'); close(line) }()
	select {
	case <-decided:
		fmt.Fprintln(stdout, "Decided in the browser.")
		return nil
	case <-line:
		select {
		case <-decided:
			return nil
		default:
		}
		return approveAs(ctx, link)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func approveAs(ctx context.Context, link string) error {
	status, err := devstack.Decide(ctx, link, "approve", "demo operator")
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("approval page answered HTTP %d", status)
	}
	return nil
}

func printFailbackReport(res *failbackRun) {
	r := res.report
	fmt.Printf("\npath             %v\n", res.exec.Path())
	fmt.Printf("users            %d DR users reported, %d still only in the DR pool\n", r.Users, r.Lost)
	keys := make([]string, 0, len(r.Outcomes))
	for k := range r.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-26s %d\n", k, r.Outcomes[k])
	}
	fmt.Printf("report           %s (one JSON line per DR user; summary in %s)\n", r.Report.Key, r.SummaryKey)
	fmt.Printf("modes            primary %s, DR %s (its users are told %q), reconcile schedule %s\n", r.Modes.Primary, r.Modes.DR, fencedMessage, r.Modes.Schedule)
	fmt.Printf("elapsed          %.1f s (disabling %d DR users took %.1f s: %.1f users/s against the UserUpdate quota of 25/s)\n",
		res.seconds, res.disabled, res.disableSeconds, float64(res.disabled)/res.disableSeconds)
	fmt.Println(strings.TrimSpace(`
what users see   Imported users sign in to Tokyo with "forgot password" (an import carries no password),
                 then set up MFA again (TOTP secrets cannot be exported). Users created by API get an
                 invitation email with a temporary password. Their Osaka copies are disabled.`))
}
