package devstack

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/statemachines"
)

// awsCLI runs the AWS CLI against a local stack with throwaway credentials and no shared config,
// and decodes its JSON output into out (when not nil).
type awsCLI struct {
	t        *testing.T
	bin, url string
	env      []string
}

func newAWSCLI(t *testing.T, url string) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH, so the local stack is not tested with it: install it (apt-get install -y awscli, as .ci/run does) to run this test")
	}
	dir := t.TempDir()
	// Nothing of the caller's AWS settings may leak in: no profile, session or endpoint.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	env = append(env,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
	)
	return &awsCLI{t: t, bin: bin, url: url, env: env}
}

func (c *awsCLI) run(region string, out any, args ...string) string {
	c.t.Helper()
	full := append([]string{"--endpoint-url", c.url, "--region", region, "--output", "json"}, args...)
	cmd := exec.CommandContext(c.t.Context(), c.bin, full...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			c.t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout.String())
		}
	}
	return stdout.String()
}

// TestAWSCLI drives the local stack with the AWS CLI as an operator would: list users with a
// filter, a Cognito import job end to end, S3 copy and list, and a backup started through Step
// Functions whose snapshot files are then listed in S3.
func TestAWSCLI(t *testing.T) {
	st, sc, _, _ := stateMachinesStack(t, 40)
	cli := newAWSCLI(t, st.URL())

	// list-users with a prefix filter on email.
	var users struct {
		Users []struct {
			Attributes []struct{ Name, Value string }
		}
	}
	cli.run(sc.Tokyo.Region, &users, "cognito-idp", "list-users", "--user-pool-id", sc.TokyoID, "--filter", `email ^= "user000001"`)
	var emails []string
	for _, u := range users.Users {
		for _, a := range u.Attributes {
			if a.Name == "email" {
				emails = append(emails, a.Value)
			}
		}
	}
	slices.Sort(emails)
	var want []string
	for i := 10; i < 20; i++ {
		want = append(want, Email(i))
	}
	if diff := cmp.Diff(want, emails); diff != "" {
		t.Errorf(`list-users --filter 'email ^= "user000001"' (-want +got):`+"\n%s", diff)
	}

	// An import job into the Osaka pool: header, create, upload to the pre-signed URL, start,
	// describe until it ends.
	var header struct{ CSVHeader []string }
	cli.run(sc.Osaka.Region, &header, "cognito-idp", "get-csv-header", "--user-pool-id", sc.OsakaID)
	row := func(email string) string {
		vals := make([]string, len(header.CSVHeader))
		for i, c := range header.CSVHeader {
			vals[i] = map[string]string{"cognito:username": email, "cognito:mfa_enabled": "true", "email": email, "email_verified": "true", "custom:tenant": "acme"}[c]
		}
		return strings.Join(vals, ",")
	}
	csvFile := filepath.Join(t.TempDir(), "users.csv")
	csv := strings.Join([]string{strings.Join(header.CSVHeader, ","), row("cli1@example.jp"), row("cli2@example.jp")}, "\n") + "\n"
	if err := os.WriteFile(csvFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var job struct {
		UserImportJob struct {
			JobId, PreSignedUrl, Status string
			ImportedUsers, FailedUsers  int
		}
	}
	cli.run(sc.Osaka.Region, &job, "cognito-idp", "create-user-import-job", "--user-pool-id", sc.OsakaID,
		"--job-name", "cli-restore", "--cloud-watch-logs-role-arn", ImportLogsRoleArn)
	upload(t, job.UserImportJob.PreSignedUrl, csvFile)
	id := job.UserImportJob.JobId
	cli.run(sc.Osaka.Region, &job, "cognito-idp", "start-user-import-job", "--user-pool-id", sc.OsakaID, "--job-id", id)
	for deadline := time.Now().Add(30 * time.Second); ; {
		cli.run(sc.Osaka.Region, &job, "cognito-idp", "describe-user-import-job", "--user-pool-id", sc.OsakaID, "--job-id", id)
		if s := job.UserImportJob.Status; s != "Created" && s != "Pending" && s != "InProgress" || time.Now().After(deadline) {
			break
		}
	}
	if j := job.UserImportJob; j.Status != "Succeeded" || j.ImportedUsers != 2 || j.FailedUsers != 0 {
		t.Fatalf("import job: %+v, want Succeeded with 2 imported", j)
	}
	var got struct{ UserStatus string }
	cli.run(sc.Osaka.Region, &got, "cognito-idp", "admin-get-user", "--user-pool-id", sc.OsakaID, "--username", "cli2@example.jp")
	if got.UserStatus != "RESET_REQUIRED" {
		t.Errorf("imported user's status %q, want RESET_REQUIRED", got.UserStatus)
	}

	// s3 cp up and down, s3 ls.
	dst := "s3://" + sc.Bucket + "/rehearsal/users.csv"
	cli.run(sc.BucketRegion, nil, "s3", "cp", csvFile, dst)
	if ls := cli.run(sc.BucketRegion, nil, "s3", "ls", "s3://"+sc.Bucket+"/rehearsal/"); !strings.Contains(ls, "users.csv") {
		t.Errorf("s3 ls after s3 cp:\n%s", ls)
	}
	back := filepath.Join(t.TempDir(), "back.csv")
	cli.run(sc.BucketRegion, nil, "s3", "cp", dst, back)
	if b, err := os.ReadFile(back); err != nil || string(b) != csv {
		t.Errorf("s3 cp down: %q %v, want what was uploaded", b, err)
	}

	// A backup through Step Functions, followed until it ends; its files are then in S3.
	input, _ := json.Marshal(sc.BackupRequest())
	var start struct{ ExecutionArn string }
	cli.run(ControlRegion, &start, "stepfunctions", "start-execution", "--state-machine-arn", StateMachineARN(statemachines.Backup),
		"--name", "cli-backup", "--input", string(input))
	var desc struct{ Status, Output, Error, Cause string }
	for deadline := time.Now().Add(time.Minute); ; {
		cli.run(ControlRegion, &desc, "stepfunctions", "describe-execution", "--execution-arn", start.ExecutionArn)
		if desc.Status != "RUNNING" || time.Now().After(deadline) {
			break
		}
	}
	var out struct {
		ManifestKey string
		Snapshot    struct{ Prefix string }
	}
	if desc.Status != "SUCCEEDED" || json.Unmarshal([]byte(desc.Output), &out) != nil || out.Snapshot.Prefix == "" {
		t.Fatalf("backup: %s %s %s output %s", desc.Status, desc.Error, desc.Cause, desc.Output)
	}
	ls := cli.run(sc.BucketRegion, nil, "s3", "ls", "--recursive", "s3://"+sc.Bucket+"/"+out.Snapshot.Prefix)
	if !strings.Contains(ls, out.ManifestKey) || !strings.Contains(ls, ".csv") {
		t.Errorf("s3 ls of the snapshot %s has no manifest %s or import CSV:\n%s", out.Snapshot.Prefix, out.ManifestKey, ls)
	}
}

// upload PUTs file to a Cognito import job's pre-signed URL the way the Cognito guide shows, with
// curl and the SSE header the URL was signed with.
func upload(t *testing.T, url, file string) {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not on PATH; the import job's upload is tested with it")
	}
	out, err := exec.CommandContext(t.Context(), curl, "-sS", "--fail", "-T", file, "-H", "x-amz-server-side-encryption: aws:kms", url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
}
