package cognito

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// saveAndLoad returns a fresh emulator (another seed, the same clock) loaded from e's Save.
func saveAndLoad(t *testing.T, e *Emulator, opts Options) *Emulator {
	t.Helper()
	var saved bytes.Buffer
	if err := e.Save(&saved); err != nil {
		t.Fatal(err)
	}
	opts.Seed, opts.DisableQuotas = 7, true
	e2 := New(opts)
	if err := e2.Load(&saved); err != nil {
		t.Fatal(err)
	}
	return e2
}

// TestSaveLoadKeepsSignIns: after a save and a load into a fresh emulator, the app client is
// there with its settings, a user signs in with it, a refresh token issued before the save
// refreshes, an access token issued before the save still works, and a sign-in waiting on a
// challenge (a new password) completes with its session.
func TestSaveLoadKeepsSignIns(t *testing.T) {
	ctx := t.Context()
	env := newAuthEnv(t, plainPoolInput(), nil)
	c := env.c
	for _, name := range []string{"dave", "erin"} {
		if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &env.poolID, Username: aws.String(name), TemporaryPassword: aws.String("Temp-password-1"),
			UserAttributes: attrs("email", name+"@example.jp", "email_verified", "true"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &env.poolID, Username: aws.String("dave"), Password: aws.String("Perm-password-4"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	signedIn, err := env.signIn(ctx, "dave", "Perm-password-4")
	if err != nil || signedIn.AuthenticationResult == nil {
		t.Fatalf("sign-in before the save: %v", err)
	}
	pending, err := env.signIn(ctx, "erin", "Temp-password-1")
	if err != nil || pending.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("erin's first sign-in: %v %v", pending.ChallengeName, err)
	}
	before, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &env.poolID, ClientId: &env.clientID})
	if err != nil {
		t.Fatal(err)
	}

	e2 := saveAndLoad(t, env.e, Options{Clock: env.clock.Now})
	c2 := newTestClient(t, e2, testRegion)
	after, err := c2.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &env.poolID, ClientId: &env.clientID})
	if err != nil {
		t.Fatalf("the app client after the load: %v", err)
	}
	if diff := cmp.Diff(before.UserPoolClient, after.UserPoolClient, cmpopts.IgnoreUnexported(types.UserPoolClientType{}, types.TokenValidityUnitsType{})); diff != "" {
		t.Errorf("app client (-before +after):\n%s", diff)
	}
	if _, err := c2.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "dave", "PASSWORD": "Perm-password-4"}}); err != nil {
		t.Errorf("sign-in with the restored client: %v", err)
	}
	refreshed, err := c2.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(signedIn.AuthenticationResult.RefreshToken)}})
	if err != nil || refreshed.AuthenticationResult == nil || aws.ToString(refreshed.AuthenticationResult.AccessToken) == "" {
		t.Errorf("refresh with the token issued before the save: %v", err)
	}
	u, err := c2.GetUser(ctx, &cip.GetUserInput{AccessToken: signedIn.AuthenticationResult.AccessToken})
	if err != nil || aws.ToString(u.Username) != "dave" {
		t.Errorf("GetUser with the access token issued before the save: %v", err)
	}
	done, err := c2.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: &env.clientID, ChallengeName: types.ChallengeNameTypeNewPasswordRequired,
		Session: pending.Session, ChallengeResponses: map[string]string{"USERNAME": "erin", "NEW_PASSWORD": "New-password-2"}})
	if err != nil || done.AuthenticationResult == nil {
		t.Errorf("answering the challenge of a sign-in started before the save: %v", err)
	}

	// A global sign-out before a save stays: the refresh token it revoked is refused after the load.
	if _, err := c2.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: refreshed.AuthenticationResult.AccessToken}); err != nil {
		t.Fatal(err)
	}
	e3 := saveAndLoad(t, e2, Options{Clock: env.clock.Now})
	c3 := newTestClient(t, e3, testRegion)
	_, err = c3.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(signedIn.AuthenticationResult.RefreshToken)}})
	if apiCode(err) != "NotAuthorizedException" {
		t.Errorf("refresh with a token revoked before the save: %v, want NotAuthorizedException", err)
	}
}

// TestSaveLoadKeepsImportJobs: import jobs come back with their status, counts and dates; a
// job created and uploaded before the save starts after the load and imports its file; a job
// running at the save comes back Failed, saying the stack stopped.
func TestSaveLoadKeepsImportJobs(t *testing.T) { synctest.Test(t, testSaveLoadKeepsImportJobs) }

func testSaveLoadKeepsImportJobs(t *testing.T) {
	env := newBubbleImportEnv(t, Options{})
	ctx := t.Context()
	finishedJob := env.run(t, "done-before", csvFile(env.header, userRow("ann@example.com")))
	uploaded := env.createJob(t, "uploaded-before")
	env.upload(t, uploaded, csvFile(env.header, userRow("ben@example.com")))
	running := env.createJob(t, "running-at-save")
	env.upload(t, running, csvFile(env.header, userRow("cat@example.com")))
	env.start(t, aws.ToString(running.JobId)) // Pending: the bubble's clock has not moved since

	e2 := saveAndLoad(t, env.e, Options{Clock: env.clock.Now, LogSink: env.logs, ImportStartDelay: 5 * time.Millisecond})
	env2 := &importEnv{e: e2, clock: env.clock, logs: env.logs, cog: newInProcessClient(e2, testRegion), poolID: env.poolID}

	got := env2.describe(t, aws.ToString(finishedJob.JobId))
	if diff := cmp.Diff(finishedJob, got, cmpopts.IgnoreUnexported(types.UserImportJobType{}), cmpopts.IgnoreFields(types.UserImportJobType{}, "PreSignedUrl")); diff != "" {
		t.Errorf("finished job after the load (-before +after):\n%s", diff)
	}
	stopped := env2.describe(t, aws.ToString(running.JobId))
	if stopped.Status != types.UserImportJobStatusTypeFailed || aws.ToString(stopped.CompletionMessage) != msgStackStopped {
		t.Errorf("job running at the save: %s %q, want Failed %q", stopped.Status, aws.ToString(stopped.CompletionMessage), msgStackStopped)
	}
	list, err := env2.cog.ListUserImportJobs(ctx, &cip.ListUserImportJobsInput{UserPoolId: &env.poolID, MaxResults: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range list.UserImportJobs {
		names = append(names, aws.ToString(j.JobName))
	}
	if diff := cmp.Diff([]string{"running-at-save", "uploaded-before", "done-before"}, names); diff != "" {
		t.Errorf("ListUserImportJobs after the load (-want +got):\n%s", diff)
	}
	env2.start(t, aws.ToString(uploaded.JobId))
	if j := env2.waitFor(t, aws.ToString(uploaded.JobId), finished); j.Status != types.UserImportJobStatusTypeSucceeded || j.ImportedUsers != 1 {
		t.Errorf("the job uploaded before the save, started after: %s, %d imported", j.Status, j.ImportedUsers)
	}
	if _, err := env2.cog.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("ben@example.com")}); err != nil {
		t.Errorf("the user of the file uploaded before the save: %v", err)
	}
	created, err := env2.cog.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &env.poolID, JobName: aws.String("after"), CloudWatchLogsRoleArn: aws.String(testRoleARN)})
	if err != nil {
		t.Fatal(err)
	}
	list, err = env2.cog.ListUserImportJobs(ctx, &cip.ListUserImportJobsInput{UserPoolId: &env.poolID, MaxResults: aws.Int32(1)})
	if err != nil || len(list.UserImportJobs) != 1 || aws.ToString(list.UserImportJobs[0].JobId) != aws.ToString(created.UserImportJob.JobId) {
		t.Errorf("a job created after the load is not listed first: %v", err)
	}
}
