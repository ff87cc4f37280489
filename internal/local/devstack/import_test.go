package devstack

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

// TestImportJobThroughStack runs a Cognito import the way an operator does — create, PUT the CSV
// to the PreSignedUrl with curl's SSE header, start, poll — and reads the row results back from
// the stack's CloudWatch Logs.
func TestImportJobThroughStack(t *testing.T) {
	ctx := t.Context()
	st, err := Start(Options{ImportStartDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	spec := OsakaPool()
	pool, err := st.SeedPool(spec)
	if err != nil {
		t.Fatal(err)
	}
	cog, logs := st.Clients.Cognito(spec.Region), st.Clients.Logs(spec.Region)

	h, err := cog.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool})
	if err != nil {
		t.Fatalf("GetCSVHeader: %v", err)
	}
	row := func(email, verified string) string {
		vals := make([]string, len(h.CSVHeader))
		for i, c := range h.CSVHeader {
			vals[i] = map[string]string{"cognito:username": email, "cognito:mfa_enabled": "true", "email": email, "email_verified": verified, "custom:tenant": "acme"}[c]
		}
		return strings.Join(vals, ",")
	}
	csv := strings.Join([]string{strings.Join(h.CSVHeader, ","), row(Email(1), "true"), row(Email(2), "false")}, "\n") + "\n"

	job, err := cog.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{
		UserPoolId: &pool, JobName: aws.String("restore"), CloudWatchLogsRoleArn: aws.String("arn:aws:iam::000000000000:role/CognitoImport"),
	})
	if err != nil {
		t.Fatalf("CreateUserImportJob: %v", err)
	}
	url := aws.ToString(job.UserImportJob.PreSignedUrl)
	if !strings.HasPrefix(url, st.URL()+"/_local/cognito-import/") {
		t.Fatalf("PreSignedUrl %s is not on the stack %s", url, st.URL())
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(csv))
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload = %d, want 200", resp.StatusCode)
	}
	id := job.UserImportJob.JobId
	if _, err := cog.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: id}); err != nil {
		t.Fatalf("StartUserImportJob: %v", err)
	}
	// Cognito tells a job's end only by DescribeUserImportJob, so poll it as an operator's script
	// does. The job of two rows ends in well under a second; one still running after a minute
	// fails the test saying so, rather than hang until the binary's 10-minute timeout.
	deadline := time.Now().Add(time.Minute)
	var done *types.UserImportJobType
	for done == nil {
		if time.Now().After(deadline) {
			t.Fatalf("import job %s not ended a minute after StartUserImportJob", aws.ToString(id))
		}
		out, err := cog.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: id})
		if err != nil {
			t.Fatalf("DescribeUserImportJob: %v", err)
		}
		switch out.UserImportJob.Status {
		case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped:
			done = out.UserImportJob
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	if done.Status != types.UserImportJobStatusTypeSucceeded || done.ImportedUsers != 1 || done.FailedUsers != 1 {
		t.Fatalf("job = %+v, want Succeeded with 1 imported and 1 failed", done)
	}

	ev, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String("/aws/cognito/userpools/" + pool + "/" + spec.Name),
		LogStreamName: aws.String(aws.ToString(id) + "/restore"),
		StartFromHead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	var got []string
	for _, e := range ev.Events {
		got = append(got, aws.ToString(e.Message))
	}
	want := []string{
		"[SUCCEEDED] Line Number 2 - The import succeeded.",
		"[FAILED] Line Number 3 - The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true).",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	u, err := cog.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String(Email(1))})
	if err != nil || u.UserStatus != types.UserStatusTypeResetRequired {
		t.Errorf("imported user: %v %v, want RESET_REQUIRED", u, err)
	}
}
