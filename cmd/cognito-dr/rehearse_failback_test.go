package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// failbackRehearsal is a `run failback` in progress, as an operator's terminal shows it.
type failbackRehearsal struct {
	link   chan string // the approval link, once printed on stderr
	done   chan error  // the command's result
	stdout strings.Builder
	mu     sync.Mutex
	stderr strings.Builder
}

func (r *failbackRehearsal) errText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// startFailbackRehearsal runs `cognito-dr run failback` on the local stack after an outage in
// Osaka (outageUsers created there by API) and reads its stderr as the operator does.
func startFailbackRehearsal(t *testing.T) (*devstack.Stack, *devstack.Scenario, *devstack.Outage, *failbackRehearsal) {
	t.Helper()
	st, sc, _ := localStateMachines(t, 20)
	if err := st.ReplicateToOsaka(sc, time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	outage, err := st.SimulateOutage(t.Context(), sc, 3, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	input := writeJSON(t, sc.FailbackRequest(time.Now().Add(-24*time.Hour)))
	return st, sc, outage, startRehearsal(t, "failback", "--input", input, "--topic-arn", sc.TopicArn,
		"--import-logs-role-arn", devstack.ImportLogsRoleArn, "--name", "rehearsal", "--output", "json")
}

// startRehearsal runs `cognito-dr <args>` in the background and reads its stderr as the
// operator does, catching the approval link it prints.
func startRehearsal(t *testing.T, args ...string) *failbackRehearsal {
	t.Helper()
	r := &failbackRehearsal{link: make(chan string, 1), done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		sent := false
		for s := bufio.NewScanner(pr); s.Scan(); {
			r.mu.Lock()
			r.stderr.WriteString(s.Text() + "\n")
			r.mu.Unlock()
			if l := devstack.ApprovalLink(s.Text()); l != "" && !sent {
				r.link <- l
				sent = true
			}
		}
	}()
	go func() {
		err := rehearseCommand(t.Context(), args, &r.stdout, pw)
		pw.Close()
		r.done <- err
	}()
	return r
}

// rehearsalBound is how long a test waits for the command to ask for approval, or to end once
// decided: seconds alone, tens of seconds on a loaded 2-core machine under -race. A command that
// hangs fails its test in minutes, with its stderr, rather than at the binary's 10-minute
// timeout with a goroutine dump.
const rehearsalBound = 3 * time.Minute

// awaitLink returns the approval link printed on stderr, or fails when the command ends first or
// prints none within rehearsalBound.
func (r *failbackRehearsal) awaitLink(t *testing.T) string {
	t.Helper()
	select {
	case l := <-r.link:
		return l
	case err := <-r.done:
		t.Fatalf("run ended before asking for approval: %v\nstderr:\n%s", err, r.errText())
	case <-time.After(rehearsalBound):
		t.Fatalf("no approval link on stderr after %v\nstderr:\n%s", rehearsalBound, r.errText())
	}
	return ""
}

// result is the command's result, or fails the test when it has not ended within rehearsalBound.
func (r *failbackRehearsal) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(rehearsalBound):
		t.Fatalf("the command still runs %v after the decision\nstderr:\n%s", rehearsalBound, r.errText())
	}
	return nil
}

func userExists(t *testing.T, st *devstack.Stack, sc *devstack.Scenario, username string) bool {
	t.Helper()
	_, err := st.Clients.Cognito(sc.Tokyo.Region).AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(sc.TokyoID), Username: aws.String(username)})
	var nf *types.UserNotFoundException
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestRunFailbackApprovedInTheBrowser: `run failback` prints the approval link on stderr and
// mails it to the topic, serves the page from the process, and an Approve on the page resumes the
// execution: the users created in Osaka during the outage are in Tokyo, the report is on stdout.
func TestRunFailbackApprovedInTheBrowser(t *testing.T) {
	st, sc, outage, r := startFailbackRehearsal(t)
	link := r.awaitLink(t)
	if userExists(t, st, sc, outage.New[0]) {
		t.Fatalf("%s is in Tokyo before anyone approved", outage.New[0])
	}
	// The task mails the link it printed; the email follows the print.
	follow, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	mailed := false
	for m := range st.AWS.SNS().Follow(follow) {
		if m.TopicArn == sc.TopicArn && devstack.ApprovalLink(m.Message) == link {
			mailed = true
			break
		}
	}
	if !mailed {
		t.Errorf("the approval link was not sent to the topic %s", sc.TopicArn)
	}
	status, err := devstack.Decide(t.Context(), link, "approve", "on-call")
	if err != nil || status != 200 {
		t.Fatalf("approve on the page: HTTP %d, %v", status, err)
	}
	err = r.result(t)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("exit %d: %v\nstderr:\n%s", code, err, r.errText())
	}
	var report failback.ReportOutput
	if err := json.Unmarshal([]byte(r.stdout.String()), &report); err != nil {
		t.Fatalf("stdout is not the execution output: %v\n%s", err, r.stdout.String())
	}
	if report.Lost != 0 || report.Users == 0 || !strings.Contains(report.SummaryKey, "rehearsal") {
		t.Errorf("report %+v", report)
	}
	for _, u := range outage.New {
		if !userExists(t, st, sc, u) {
			t.Errorf("%s, created in Osaka during the outage, is not in Tokyo after the approved failback", u)
		}
	}
	for _, line := range strings.Split(r.errText(), "\n") {
		if strings.HasPrefix(line, "{") && strings.Contains(line, "/_local/approvals/") {
			t.Errorf("a log line carries the approval link: %s", line)
		}
	}
	for _, want := range []string{"RequestApproval", "ImportParts", "WriteReport", "ExecutionSucceeded"} {
		if !strings.Contains(r.errText(), want) {
			t.Errorf("progress on stderr does not show %q:\n%s", want, r.errText())
		}
	}
	// The page was served by the command, which is gone: the link no longer answers.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := devstack.Decide(ctx, link, "approve", "late"); err == nil {
		t.Errorf("the approval page still answers after run failback ended")
	}
}

// TestRunFailbackRejectedInTheBrowser: a Reject on the page ends the execution in
// FailbackRejected (error ApprovalRejected): exit 1 naming it, no output, and nothing imported into Tokyo.
func TestRunFailbackRejectedInTheBrowser(t *testing.T) {
	st, sc, outage, r := startFailbackRehearsal(t)
	link := r.awaitLink(t)
	status, err := devstack.Decide(t.Context(), link, "reject", "on-call")
	if err != nil || status != 200 {
		t.Fatalf("reject on the page: HTTP %d, %v", status, err)
	}
	err = r.result(t)
	if code := exitCode(err); code != exitFindings || !strings.Contains(err.Error(), "ApprovalRejected") {
		t.Fatalf("exit %d (%v), want %d naming ApprovalRejected\nstderr:\n%s", code, err, exitFindings, r.errText())
	}
	if r.stdout.Len() != 0 {
		t.Errorf("stdout: %s", r.stdout.String())
	}
	for _, u := range outage.New {
		if userExists(t, st, sc, u) {
			t.Errorf("%s was imported into Tokyo although the failback was rejected", u)
		}
	}
}
