// Command cognito-dr is the operator CLI of Cognito DR. Against the embedded local stack it runs
// the demo, the benchmarks and the stack on its own:
//
//	cognito-dr demo           seed a Tokyo-style pool and run the backup state machine locally
//	cognito-dr demo-failback  fail back from Osaka to Tokyo with an approval, locally
//	cognito-dr demo-restore   lose the Tokyo pool and restore it from a snapshot, locally
//	cognito-dr start    start a deployed workflow and follow it
//	cognito-dr run      run a workflow in this process against any endpoint, without deploying
//	cognito-dr local    run the local AWS (Cognito, S3, SNS, Step Functions) until interrupted
//	cognito-dr bench    export benchmarks with AWS default quotas and 100 ms latency
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
		{"demo-restore", "the pool-loss story: back up Tokyo, delete it, restore a new Tokyo pool from the snapshot, sign a user in", runDemoRestore},
		{"validate-csv", "check a (hand-edited) import CSV against a pool's own header and rules, with the backup's checks", runValidateCSV},
		{"failover", "fail over to the DR pool: fence the primary, activate the DR pool, pause reconcile, verify; safe to re-run", runFailover},
		{"readiness", "check, read-only, that failover and restore would work: pool drift, backup age, CSV checksums", runReadiness},
		{"reset-totp", "delete users' TOTP authenticators (AdminDeleteSoftwareToken) so their next sign-in sets up MFA again", runResetTOTP},
		{"start", "start a deployed workflow (backup, failback, reconcile, restore) with an input file and follow it until it ends or waits for approval", runStart},
		{"run", "rehearse a workflow (backup, failback, reconcile, restore) in this process with the Go tasks against any endpoint, without deploying", runRehearse},
		{"snapshots", "list a pool's backups (time, users, rejects, size) or show one manifest in full", runSnapshots},
		{"local", "run the local AWS stack (Cognito, S3, SNS, CloudWatch Logs, Step Functions) on loopback until interrupted", runLocal},
		{"bench", "benchmark the export against the emulator with AWS default quotas", runBench},
		{"bench-export", "(used by bench) export one pool from a running local stack and report", runBenchExport},
		{"bench-task", "(used by bench) run one task invocation of a workflow, read from stdin, and report its output and peak RSS", runBenchTask},
		{"bench-bucket-diff", "(used by bench) compare a planned reconcile bucket by bucket on a running local stack and report", runBenchBucketDiff},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches one invocation and returns its exit code: 0 ok, 1 findings (failed checks,
// rejected rows, users not changed) or a failed AWS call, 2 usage or configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "cognito-dr %s\n", versionString())
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			stopProfile, err := startCPUProfile(c.name)
			if err != nil {
				fmt.Fprintf(stderr, "cognito-dr %s: %v\n", c.name, err)
				return exitUsage
			}
			err = c.run(ctx, args[1:])
			stopProfile()
			var help helpError
			if errors.As(err, &help) {
				fmt.Fprint(stdout, help.text)
				return exitOK
			}
			if code := exitCode(err); code != exitOK {
				fmt.Fprintf(stderr, "cognito-dr %s: %v\n", c.name, err)
				return code
			}
			return exitOK
		}
	}
	fmt.Fprintf(stderr, "cognito-dr: unknown command %q (see cognito-dr --help)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cognito-dr <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
cognito-dr help <command> (or <command> --help) describes a command and its flags; --version prints the version.
Commands that call AWS take --profile, --endpoint-url and --output text|json, and otherwise follow the SDK's
standard settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, the credential chain).

exit codes: 0 ok; 1 findings (failed checks, rejected rows, users not changed) or a failed AWS call;
            2 usage or configuration error (nothing was done)
`)
}
