package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// runFailover moves users to the DR pool: fence the primary, activate the DR pool, pause
// reconcile, verify. Exit 1 when anything is left to do (an unreachable primary above all).
func runFailover(ctx context.Context, args []string) error {
	return failoverCommand(ctx, args, os.Stdout)
}

// failoverOutput is the command's JSON: the failover's result and the failback input to use later.
type failoverOutput struct {
	failover.Result
	// FailbackInput is the failback request with this failover's time (bucket from --bucket).
	FailbackInput failback.Request `json:"failbackInput"`
}

func failoverCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("failover", "failover --primary-pool ID --primary-region R --dr-pool ID --dr-region R [flags]")
	var cfg failover.Config
	fs.StringVar(&cfg.PrimaryPool, "primary-pool", "", "primary user pool id, the pool to fence (required)")
	fs.StringVar(&cfg.PrimaryRegion, "primary-region", "", "the primary pool's Region (required)")
	fs.StringVar(&cfg.DRPool, "dr-pool", "", "DR user pool id, the pool to activate (required)")
	fs.StringVar(&cfg.DRRegion, "dr-region", "", "the DR pool's Region, where the reconcile schedule runs (required)")
	fs.StringVar(&cfg.Message, "message", "", "what the primary's users are told when refused, e.g. the DR sign-in address (default: the gate's FENCED_MESSAGE, else a built-in one)")
	fs.StringVar(&cfg.ScheduleName, "schedule-name", failover.DefaultScheduleName, "the reconcile schedule to pause (EventBridge Scheduler, in the DR Region)")
	fs.StringVar(&cfg.ScheduleGroup, "schedule-group", failover.DefaultScheduleGroup, "the reconcile schedule's group")
	noSchedule := fs.Bool("no-schedule", false, "do not pause a reconcile schedule (reconcile is not deployed)")
	fs.DurationVar(&cfg.FenceTimeout, "fence-timeout", failover.DefaultFenceTimeout, "how long to keep trying to fence a primary whose Region does not answer")
	fs.DurationVar(&cfg.CallTimeout, "call-timeout", failover.DefaultCallTimeout, "bound of each AWS call: a Region that does not answer in it is down for now")
	fs.DurationVar(&cfg.RetryInterval, "retry-interval", failover.DefaultRetryInterval, "pause between attempts to fence an unreachable primary")
	bucket := fs.String("bucket", "", "the backup bucket, to fill in the printed failback input (optional)")
	bucketRegion := fs.String("bucket-region", "", "the bucket's Region (optional, with --bucket)")
	var a awsFlags
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "primary-pool", "primary-region", "dr-pool", "dr-region"); err != nil {
		return err
	}
	if err := a.check(); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if *noSchedule {
		cfg.ScheduleName = ""
	}
	awsCfg, err := a.config(ctx)
	if err != nil {
		return err
	}
	clients, err := a.clients(ctx)
	if err != nil {
		return err
	}
	f := &failover.Failover{
		SSM: func(region string) poolmode.SSM { return clients.SSM(region) },
		Scheduler: func(region string) failover.Scheduler {
			return scheduler.NewFromConfig(awsCfg, func(o *scheduler.Options) { o.Region = region })
		},
	}
	r, runErr := f.Run(ctx, cfg)
	out := failoverOutput{Result: r, FailbackInput: failback.Request{
		PrimaryUserPoolID: cfg.PrimaryPool, PrimaryRegion: cfg.PrimaryRegion, DRUserPoolID: cfg.DRPool, DRRegion: cfg.DRRegion,
		Bucket: *bucket, BucketRegion: *bucketRegion, FailoverTime: failover.FailbackTime(r.FailoverTime),
	}}
	if a.json() {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if err := printFailover(stdout, out); err != nil {
		return err
	}
	switch {
	case runErr != nil:
		return runErr
	case len(r.Findings) > 0:
		return findingsError{fmt.Sprintf("failover done with %d finding(s): %s", len(r.Findings), strings.Join(r.Findings, "; "))}
	}
	return nil
}

func printFailover(w io.Writer, out failoverOutput) error {
	r := out.Result
	for _, p := range []failover.Pool{r.Primary, r.DR} {
		fmt.Fprintf(w, "%-8s %s (%s): %s", p.Role, p.Pool, p.Region, p.Action)
		if p.Attempts > 1 {
			fmt.Fprintf(w, " after %d attempts", p.Attempts)
		}
		if s := p.State; s != nil {
			fmt.Fprintf(w, "; reads %s since %s", s.Mode, s.Since.UTC().Format(time.RFC3339))
			if s.Cause != "" {
				fmt.Fprintf(w, " (%s)", s.Cause)
			}
		} else {
			fmt.Fprint(w, "; mode not read back")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-8s ", "schedule")
	if r.Schedule.Name != "" {
		fmt.Fprintf(w, "%s/%s (%s): ", r.Schedule.Group, r.Schedule.Name, r.Schedule.Region)
	}
	fmt.Fprint(w, r.Schedule.Action)
	if r.Schedule.State != "" {
		fmt.Fprintf(w, "; reads %s", r.Schedule.State)
	}
	fmt.Fprintln(w)
	if !r.FailoverTime.IsZero() {
		fmt.Fprintf(w, "failover time: %s (the DR pool's mode keeps it)\n", r.FailoverTime.Format(time.RFC3339Nano))
		b, err := json.Marshal(out.FailbackInput)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "failback input: %s\n", b)
		if out.FailbackInput.Bucket == "" {
			fmt.Fprintln(w, "  (bucket and bucketRegion: from the FailbackInput stack output, or pass --bucket and --bucket-region)")
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "FINDING: %s\n", f)
	}
	status := "OK"
	if len(r.Findings) > 0 {
		status = "INCOMPLETE"
	}
	_, err := fmt.Fprintf(w, "failover: %s\n", status)
	return err
}
