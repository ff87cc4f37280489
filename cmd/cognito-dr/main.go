// Command cognito-dr is the operator CLI of Cognito DR. Against the embedded local stack it runs
// the demo, the benchmarks and the stack on its own:
//
//	cognito-dr demo           seed a Tokyo-style pool and run the backup state machine locally
//	cognito-dr demo-failback  fail back from Osaka to Tokyo with an approval, locally
//	cognito-dr local    run the local AWS (Cognito, S3, SNS) until interrupted
//	cognito-dr bench    export benchmarks with AWS default quotas and 100 ms latency
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "seed a Tokyo-style pool locally and run the backup state machine on it", runDemo},
		{"demo-failback", "continue the story: outage, changes in Osaka, approval-gated failback to Tokyo, report", runDemoFailback},
		{"validate-csv", "check a (hand-edited) import CSV against a pool's own header and rules, with the backup's checks", runValidateCSV},
		{"readiness", "check, read-only, that failover and restore would work: pool drift, backup age, CSV checksums", runReadiness},
		{"reset-totp", "delete users' TOTP authenticators (AdminDeleteSoftwareToken) so their next sign-in sets up MFA again", runResetTOTP},
		{"local", "run the local AWS stack (Cognito, S3, SNS) on loopback until interrupted", runLocal},
		{"bench", "benchmark the export against the emulator with AWS default quotas", runBench},
		{"bench-export", "(used by bench) export one pool from a running local stack and report", runBenchExport},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			if err := c.run(ctx, os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "cognito-dr %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "cognito-dr: unknown command %q\n", os.Args[1])
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cognito-dr <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-13s %s\n", c.name, c.summary)
	}
}
