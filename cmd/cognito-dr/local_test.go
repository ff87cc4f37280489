package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/readiness"
)

// runMainEnv makes the test binary run the CLI's main instead of the tests (see TestMain), so a
// test can start the real command as a child process and signal it.
const runMainEnv = "COGNITO_DR_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// localProcess is `cognito-dr local --json` running as a child process.
type localProcess struct {
	cmd    *exec.Cmd
	ready  localReady
	stderr bytes.Buffer
	exited chan error    // the exit, once
	done   chan struct{} // closed at the exit
}

// startLocalProcess starts the command on dataDir and returns once its ready line is on stdout.
func startLocalProcess(t *testing.T, dataDir string) *localProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "local", "--json", "--addr", "127.0.0.1:0", "--users", "5", "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	p := &localProcess{cmd: cmd, exited: make(chan error, 1), done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a test that failed midway; ErrProcessDone otherwise
		<-p.done
	})
	// A child that never gets ready is killed after a minute (it is ready in about a second), so
	// the read below ends and the test fails with its stderr, rather than hang until the
	// binary's 10-minute timeout.
	notReady := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	lines := bufio.NewReader(stdout)
	line, err := lines.ReadBytes('\n') // the ready line, printed once the stack serves
	notReady.Stop()
	go func() {
		_, _ = io.Copy(io.Discard, lines)
		p.exited <- cmd.Wait()
		close(p.done)
	}()
	if err != nil {
		<-p.exited
		t.Fatalf("cognito-dr local ended before it was ready: %v\nstderr:\n%s", err, p.stderr.String())
	}
	if err := json.Unmarshal(line, &p.ready); err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	return p
}

// stop sends SIGTERM, as a service manager or `docker stop` does, and waits for the exit.
func (p *localProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("cognito-dr local after SIGTERM: %v\nstderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(time.Minute):
		// Killed and waited for before its stderr is read: exec copies into p.stderr until the
		// process has exited.
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("cognito-dr local still running a minute after SIGTERM\nstderr:\n%s", p.stderr.String())
	}
}

func (p *localProcess) clients() *awsclients.Clients {
	cfg := aws.Config{
		Region:       p.ready.TokyoRegion,
		BaseEndpoint: aws.String(p.ready.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		}),
	}
	return awsclients.New(cfg, awsclients.Options{S3PathStyle: true})
}

// TestLocalKeepsStateAcrossSIGTERM: `cognito-dr local --data-dir` stopped by SIGTERM saves what
// was written through the API, and the next start on the same directory serves it again: a user
// created in the Tokyo pool, an object put in the bucket, an approver subscribed to the topic and
// an app client.
func TestLocalKeepsStateAcrossSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the CLI twice as a child process")
	}
	dir := t.TempDir()
	first := startLocalProcess(t, dir)
	c := first.clients()
	ctx := t.Context()
	const username = "kept@example.jp" // the pool signs in by email
	if _, err := c.Cognito(first.ready.TokyoRegion).AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(first.ready.TokyoPoolID), Username: aws.String(username), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(username)}, {Name: aws.String("given_name"), Value: aws.String("Kept")}},
	}); err != nil {
		t.Fatal(err)
	}
	const key, body = "notes/kept.txt", "written before SIGTERM"
	if _, err := c.S3(first.ready.BucketRegion).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(first.ready.Bucket), Key: aws.String(key), Body: strings.NewReader(body),
	}); err != nil {
		t.Fatal(err)
	}
	const approver = "oncall@example.jp"
	if _, err := c.SNS(devstack.ControlRegion).Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(first.ready.TopicArn),
		Protocol: aws.String("email"), Endpoint: aws.String(approver)}); err != nil {
		t.Fatal(err)
	}
	app, err := c.Cognito(first.ready.TokyoRegion).CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(first.ready.TokyoPoolID), ClientName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	first.stop(t)
	if !strings.Contains(first.stderr.String(), "state saved in "+dir) {
		t.Errorf("stderr does not say where the state was saved:\n%s", first.stderr.String())
	}

	second := startLocalProcess(t, dir)
	defer second.stop(t)
	if second.ready.TokyoPoolID != first.ready.TokyoPoolID {
		t.Errorf("Tokyo pool %s after the restart, was %s", second.ready.TokyoPoolID, first.ready.TokyoPoolID)
	}
	c = second.clients()
	u, err := c.Cognito(second.ready.TokyoRegion).AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(second.ready.TokyoPoolID), Username: aws.String(username)})
	if err != nil {
		t.Fatalf("the user created before SIGTERM: %v", err)
	}
	if got := attrValue(u.UserAttributes, "given_name"); got != "Kept" {
		t.Errorf("given_name %q after the restart, want Kept", got)
	}
	obj, err := c.S3(second.ready.BucketRegion).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(second.ready.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("the object put before SIGTERM: %v", err)
	}
	got, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(got) != body {
		t.Errorf("object %q after the restart, want %q", got, body)
	}
	subs, err := c.SNS(devstack.ControlRegion).ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(second.ready.TopicArn)})
	if err != nil || len(subs.Subscriptions) != 1 || aws.ToString(subs.Subscriptions[0].Endpoint) != approver {
		t.Errorf("the topic's subscriptions after the restart: %+v, %v", subs, err)
	}
	if _, err := c.Cognito(second.ready.TokyoRegion).DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{
		UserPoolId: aws.String(second.ready.TokyoPoolID), ClientId: app.UserPoolClient.ClientId}); err != nil {
		t.Errorf("the app client created before SIGTERM: %v", err)
	}
}

func attrValue(attrs []types.AttributeType, name string) string {
	for _, a := range attrs {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// TestLocalReadinessAsDeployed: `readiness` on the pools of a freshly seeded `cognito-dr local`
// fails only for what a fresh deployment lacks too (a backup and a restore drill): the pools'
// modes are set as a deployment sets them, the primary active and the DR pool fenced.
func TestLocalReadinessAsDeployed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the CLI as a child process")
	}
	p := startLocalProcess(t, t.TempDir())
	defer p.stop(t)
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL", p.ready.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", p.ready.BucketRegion)
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("S3_FORCE_PATH_STYLE", "true")
	var stdout strings.Builder
	err := readinessCommand(t.Context(), []string{"--primary-pool", p.ready.TokyoPoolID, "--primary-region", p.ready.TokyoRegion,
		"--dr-pool", p.ready.OsakaPoolID, "--dr-region", p.ready.OsakaRegion, "--bucket", p.ready.Bucket, "--bucket-region", p.ready.BucketRegion,
		"--output", "json"}, &stdout)
	if code := exitCode(err); code != exitOK && code != exitFindings {
		t.Fatalf("readiness: exit %d, %v", code, err)
	}
	var report readiness.Report
	if err := json.Unmarshal([]byte(stdout.String()), &report); err != nil {
		t.Fatalf("readiness output is not its JSON report: %v\n%s", err, stdout.String())
	}
	freshAlsoFails := map[string]bool{readiness.CheckBackup: true, readiness.CheckRestore: true, readiness.CheckDrill: true}
	for _, c := range report.Checks {
		if c.Status == readiness.Fail && !freshAlsoFails[c.Name] {
			t.Errorf("check %s fails on a fresh local stack: %s", c.Name, c.Reason)
		}
	}
	modes, ok := report.Check(readiness.CheckModes)
	if !ok || modes.Status != readiness.OK || !strings.Contains(modes.Reason, "active") || !strings.Contains(modes.Reason, "fenced") {
		t.Errorf("pool-modes check %+v, want OK with the primary active and the DR pool fenced", modes)
	}
}
