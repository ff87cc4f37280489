package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestConventions: help and version exit 0 on stdout from everywhere; usage errors exit 2 on stderr
// naming the problem; as documented in the README and in --help.
func TestConventions(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{args: []string{"--help"}, code: 0, stdout: "exit codes"},
		{args: []string{"-h"}, code: 0, stdout: "commands:"},
		{args: []string{"help"}, code: 0, stdout: "readiness"},
		{args: []string{"help", "validate-csv"}, code: 0, stdout: "--force"},
		{args: []string{"validate-csv", "-h"}, code: 0, stdout: "usage: cognito-dr validate-csv"},
		{args: []string{"readiness", "--help"}, code: 0, stdout: "--endpoint-url"},
		{args: []string{"demo", "--help"}, code: 0, stdout: "-users"},
		{args: []string{"help", "run"}, code: 0, stdout: "run <backup|failback|failover|reconcile|restore>"},
		{args: []string{"--version"}, code: 0, stdout: "cognito-dr "},
		{args: []string{"version"}, code: 0, stdout: "cognito-dr "},
		{args: nil, code: 2, stderr: "usage: cognito-dr", noStdout: true},
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`, noStdout: true},
		{args: []string{"validate-csv"}, code: 2, stderr: "--pool, --region, --file required", noStdout: true},
		{args: []string{"validate-csv", "--pool", "p", "--region", "r", "--file", "f", "--output", "yaml"}, code: 2, stderr: `--output "yaml"`, noStdout: true},
		{args: []string{"readiness", "--no-such-flag"}, code: 2, stderr: "no-such-flag", noStdout: true},
		{args: []string{"readiness", "stray"}, code: 2, stderr: `unexpected argument "stray"`, noStdout: true},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || (tt.noStdout && stdout.Len() > 0) {
				t.Errorf("stdout %q, want it to contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

// TestApproveInteractiveReturnsOnBrowserDecision: with -interactive, a decision made on the page in
// a browser ends the wait at once; the terminal is not waited for and nothing is posted again
// (which the page would refuse with HTTP 409).
func TestApproveInteractiveReturnsOnBrowserDecision(t *testing.T) {
	decided := make(chan struct{})
	stdin, never := io.Pipe() // the operator never presses Enter
	defer never.Close()
	done := make(chan error, 1)
	var out strings.Builder
	go func() {
		done <- approveInteractive(context.Background(), "http://127.0.0.1:1/approvals/x", decided, stdin, &out)
	}()
	close(decided) // the page sent the decision to the execution
	if err := <-done; err != nil {
		t.Fatalf("approveInteractive: %v", err)
	}
	if !strings.Contains(out.String(), "Decided in the browser") {
		t.Errorf("output %q", out.String())
	}
}
