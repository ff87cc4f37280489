package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/cognito-dr/cognito-dr/internal/readiness"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// runReadiness checks, read-only, that a failover and a restore would work now: the DR pool's
// configuration against the primary's, the newest backup's age, the checksum of every file of
// it, and the newest restore drill.
// Any failed check makes the command fail, so a scheduler or CI job can alert on it.
func runReadiness(ctx context.Context, args []string) error {
	return readinessCommand(ctx, args, os.Stdout)
}

func readinessCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("readiness", "readiness --primary-pool ID --primary-region R --dr-pool ID --dr-region R --bucket B --bucket-region R [flags]")
	var cfg readiness.Config
	fs.StringVar(&cfg.PrimaryPool, "primary-pool", "", "primary user pool id (required)")
	fs.StringVar(&cfg.PrimaryRegion, "primary-region", "", "the primary pool's Region (required)")
	fs.StringVar(&cfg.DRPool, "dr-pool", "", "DR user pool id (required)")
	fs.StringVar(&cfg.DRRegion, "dr-region", "", "the DR pool's Region (required)")
	fs.StringVar(&cfg.Bucket, "bucket", "", "the backup bucket (required)")
	fs.StringVar(&cfg.BucketRegion, "bucket-region", "", "the bucket's Region (required)")
	fs.StringVar(&cfg.Prefix, "prefix", backup.DefaultPrefix, "key prefix of backups")
	fs.DurationVar(&cfg.MaxBackupAge, "max-backup-age", readiness.DefaultMaxBackupAge, "oldest acceptable newest backup (the deployed alarm's 26h)")
	fs.DurationVar(&cfg.MaxDrillAge, "max-drill-age", readiness.DefaultMaxDrillAge, "oldest acceptable newest passed restore drill (35 days: a monthly drill and some slack)")
	asJSON := fs.Bool("json", false, "the same as --output json")
	var a awsFlags
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "primary-pool", "primary-region", "dr-pool", "dr-region", "bucket", "bucket-region"); err != nil {
		return err
	}
	if err := a.check(); err != nil {
		return err
	}
	clients, err := a.clients(ctx)
	if err != nil {
		return err
	}
	c := &readiness.Checker{
		Cognito: func(region string) readiness.Cognito { return clients.Cognito(region) },
		S3:      func(region string) readiness.S3 { return clients.S3(region) },
	}
	report, err := c.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON || a.json() {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else if err := printReport(stdout, report); err != nil {
		return err
	}
	if n := report.Failed(); n > 0 {
		return findingsError{fmt.Sprintf("%d of %d checks failed", n, len(report.Checks))}
	}
	return nil
}

func printReport(w io.Writer, r readiness.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CHECK\tSTATUS\tREASON\n")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Checks {
		if len(c.Findings) > 1 {
			fmt.Fprintf(w, "\n%s:\n", c.Name)
			for _, f := range c.Findings {
				fmt.Fprintf(w, "  - %s\n", f)
			}
		}
	}
	if r.Manifest != "" {
		fmt.Fprintf(w, "\nnewest backup: s3://%s/%s\n", r.Config.Bucket, r.Manifest)
	}
	if r.Drill != "" {
		fmt.Fprintf(w, "newest drill:  s3://%s/%s\n", r.Config.Bucket, r.Drill)
	}
	_, err := fmt.Fprintf(w, "readiness: %s\n", r.Status)
	return err
}
