package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	wffailover "github.com/cognito-dr/cognito-dr/workflows/failover"
)

// runFailover moves users to the DR pool: fence the primary, activate the DR pool, pause
// reconcile, verify. Exit 1 when anything is left to do (an unreachable primary above all).
func runFailover(ctx context.Context, args []string) error {
	return failoverCommand(ctx, args, os.Stdout)
}

// failoverOutput is the command's JSON: the failover's result and the failback input to use later
// (the failover state machine's report, written the same way).
type failoverOutput = wffailover.Report

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
	clients, err := a.clients(ctx)
	if err != nil {
		return err
	}
	f := &failover.Failover{
		SSM: func(region string) poolmode.SSM { return clients.SSM(region) },
		Scheduler: func(region string) failover.Scheduler {
			return clients.Scheduler(region)
		},
	}
	r, runErr := f.Run(ctx, cfg)
	out := wffailover.NewReport(r, *bucket, *bucketRegion)
	if a.json() {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if err := out.WriteText(stdout); err != nil {
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
