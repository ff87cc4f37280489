package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
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
	out     *os.File
}

// failbackRun is what a run reports.
type failbackRun struct {
	exec           *asl.Execution
	report         failback.ReportOutput
	seconds        float64
	disableSeconds float64
	disabled       int
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
	failover := time.Now().Add(-24 * time.Hour)
	if err := st.SeedOutageSignUps(sc, fs.signUps, failover.Add(time.Hour)); err != nil {
		return nil, err
	}
	outage, err := st.SimulateOutage(ctx, sc, fs.newUsers, fs.unverified, fs.changed)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "local AWS        %s (Cognito with AWS default quotas and %v latency, S3, SNS, CloudWatch Logs)\n", st.URL(), fs.latency)
	fmt.Fprintf(w, "primary pool     %s (%s): %d users, replicated to Osaka before the outage\n", sc.TokyoID, sc.Tokyo.Region, fs.primaryUsers)
	fmt.Fprintf(w, "DR pool          %s (%s)\n", sc.OsakaID, sc.Osaka.Region)
	fmt.Fprintf(w, "outage           failover at %s; in Osaka since: %d sign-ups, %d users created by admins (%d with an unverified email), %d changed, %d disabled, %d added to a new group\n\n",
		failover.UTC().Format(time.RFC3339), fs.signUps, len(outage.New)+len(outage.NewUnverified), len(outage.NewUnverified), len(outage.Changed), len(outage.Disabled), len(outage.Grouped))

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
	input, _ := json.Marshal(sc.FailbackRequest(failover))
	fmt.Fprintf(w, "start execution  failback-demo with input %s\n", input)
	begin := time.Now()
	x, err := run.Exec.Start(ctx, "failback-demo", input)
	if err != nil {
		return nil, err
	}
	go func() {
		<-x.Done()
		decidedOnce.Do(func() { close(decided) })
	}()
	link, err := awaitApprovalEmail(ctx, st, x, w)
	if err != nil {
		return nil, err
	}
	if fs.approve != nil {
		if err := fs.approve(ctx, link, decided); err != nil {
			return nil, err
		}
	}
	if err := x.Wait(ctx); err != nil {
		return nil, fmt.Errorf("execution %s: %w", x.Status(), err)
	}
	res := &failbackRun{exec: x, seconds: time.Since(begin).Seconds()}
	if err := json.Unmarshal(x.Output(), &res.report); err != nil {
		return nil, err
	}
	var disableStart, disableEnd time.Time
	for _, e := range x.History() {
		switch {
		case e.Scope == "" && e.Type == asl.EventStateEntered && e.State == "StartDisable":
			disableStart = e.Time
		case e.Scope == "" && e.Type == asl.EventStateEntered && e.State == "WriteReport":
			disableEnd = e.Time
		}
	}
	res.disableSeconds = disableEnd.Sub(disableStart).Seconds()
	res.disabled = res.report.Outcomes["dr:disabled"]
	return res, nil
}

// awaitApprovalEmail prints the approval email when it arrives and returns its link.
func awaitApprovalEmail(ctx context.Context, st *devstack.Stack, x *asl.Execution, w *os.File) (string, error) {
	msgs := st.AWS.SNS().Follow(ctx)
	for {
		select {
		case m := <-msgs:
			if link := devstack.ApprovalLink(m.Message); link != "" {
				fmt.Fprintf(w, "\n--- SNS email to the approvers ------------------------------------------\nSubject: %s\n\n%s-------------------------------------------------------------------------\n\n", m.Subject, m.Message)
				return link, nil
			}
		case <-x.Done():
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
	fs := failbackScenario{primaryUsers: *users, signUps: *signUps, newUsers: 20, unverified: 5, changed: 25, latency: 20 * time.Millisecond, out: os.Stdout}
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
	fmt.Printf("elapsed          %.1f s (disabling %d DR users took %.1f s: %.1f users/s against the UserUpdate quota of 25/s)\n",
		res.seconds, res.disabled, res.disableSeconds, float64(res.disabled)/res.disableSeconds)
	fmt.Println(strings.TrimSpace(`
what users see   Imported users sign in to Tokyo with "forgot password" (an import carries no password),
                 then set up MFA again (TOTP secrets cannot be exported). Users created by API get an
                 invitation email with a temporary password. Their Osaka copies are disabled.`))
}
