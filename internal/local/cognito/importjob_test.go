package cognito

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	locallogs "github.com/cognito-dr/cognito-dr/internal/local/logs"
	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

const testRoleARN = "arn:aws:iam::123456789012:role/CognitoImportLogs"

// fakeClock is an emulator clock tests can move forward.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// importEnv is an emulator serving Cognito, the upload URLs and CloudWatch Logs on one
// endpoint, with SDK clients for it and an HTTP client for the upload URLs.
type importEnv struct {
	e      *Emulator
	clock  *fakeClock
	logs   *locallogs.Store
	cog    *cip.Client
	cwl    *cloudwatchlogs.Client
	http   aws.HTTPClient
	poolID string
	header []string
}

// newImportEnv serves the endpoint on an httptest server: uploads go over a real socket.
func newImportEnv(t *testing.T, opts Options) *importEnv {
	t.Helper()
	return buildImportEnv(t, opts, func(h http.Handler) (string, aws.HTTPClient) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL, loopback.HTTPClient()
	})
}

// runInBubble runs f as subtest name in a synctest bubble of its own.
func runInBubble(t *testing.T, name string, f func(t *testing.T)) bool {
	return t.Run(name, func(t *testing.T) { synctest.Test(t, f) })
}

// newBubbleImportEnv serves the endpoint in process, for tests in a synctest bubble: import jobs
// run on the bubble's clock, so their start delay and row pace take no wall time and a test sees
// a job exactly where the clock says it is.
func newBubbleImportEnv(t *testing.T, opts Options) *importEnv {
	t.Helper()
	return buildImportEnv(t, opts, func(h http.Handler) (string, aws.HTTPClient) { return inProcessURL, inProcess{h} })
}

func buildImportEnv(t *testing.T, opts Options, serve func(http.Handler) (string, aws.HTTPClient)) *importEnv {
	t.Helper()
	clock := &fakeClock{t: testNow}
	logs := locallogs.New(locallogs.Options{Clock: clock.Now})
	opts.Seed, opts.Clock, opts.DisableQuotas, opts.LogSink = 42, clock.Now, true, logs
	if opts.ImportStartDelay == 0 {
		opts.ImportStartDelay = 5 * time.Millisecond
	}
	e := New(opts)
	mux := http.NewServeMux()
	mux.Handle(ImportUploadPath, e.ImportUploadHandler())
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), locallogs.TargetPrefix) {
			logs.ServeHTTP(w, r)
			return
		}
		e.ServeHTTP(w, r)
	}))
	url, hc := serve(mux)
	e.SetPublicURL(url)
	opt := testClientOptions(testRegion, url, hc)
	env := &importEnv{
		e: e, clock: clock, logs: logs, http: hc,
		cog: cip.New(opt),
		cwl: cloudwatchlogs.New(cloudwatchlogs.Options{Region: opt.Region, BaseEndpoint: opt.BaseEndpoint, Credentials: opt.Credentials, Retryer: opt.Retryer, HTTPClient: hc}),
	}
	id, err := e.CreatePool(testRegion, emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	env.poolID = id
	h, err := env.cog.GetCSVHeader(t.Context(), &cip.GetCSVHeaderInput{UserPoolId: &id})
	if err != nil {
		t.Fatalf("GetCSVHeader: %v", err)
	}
	env.header = h.CSVHeader
	return env
}

// csv renders rows under header; a row's missing columns are empty, commas are escaped `\,`.
func csvFile(header []string, rows ...map[string]string) string {
	var b strings.Builder
	b.WriteString(strings.Join(header, ",") + "\n")
	for _, r := range rows {
		vals := make([]string, len(header))
		for i, h := range header {
			vals[i] = strings.ReplaceAll(r[h], ",", `\,`)
		}
		b.WriteString(strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

func userRow(email string) map[string]string {
	return map[string]string{
		"cognito:username": email, "cognito:mfa_enabled": "true",
		"email": email, "email_verified": "true", "custom:tenant": "acme",
	}
}

func (env *importEnv) createJob(t *testing.T, name string) types.UserImportJobType {
	t.Helper()
	out, err := env.cog.CreateUserImportJob(t.Context(), &cip.CreateUserImportJobInput{
		UserPoolId: &env.poolID, JobName: aws.String(name), CloudWatchLogsRoleArn: aws.String(testRoleARN),
	})
	if err != nil {
		t.Fatalf("CreateUserImportJob: %v", err)
	}
	return *out.UserImportJob
}

// put uploads body to a PreSignedUrl the way the import guide's curl example does.
func (env *importEnv) put(t *testing.T, rawURL, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := env.http.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var sse = map[string]string{"x-amz-server-side-encryption": "aws:kms"}

func (env *importEnv) upload(t *testing.T, job types.UserImportJobType, body string) {
	t.Helper()
	if code, resp := env.put(t, aws.ToString(job.PreSignedUrl), body, sse); code != http.StatusOK {
		t.Fatalf("upload = %d %s, want 200", code, resp)
	}
}

func (env *importEnv) start(t *testing.T, jobID string) types.UserImportJobType {
	t.Helper()
	out, err := env.cog.StartUserImportJob(t.Context(), &cip.StartUserImportJobInput{UserPoolId: &env.poolID, JobId: &jobID})
	if err != nil {
		t.Fatalf("StartUserImportJob: %v", err)
	}
	return *out.UserImportJob
}

func (env *importEnv) describe(t *testing.T, jobID string) types.UserImportJobType {
	t.Helper()
	out, err := env.cog.DescribeUserImportJob(t.Context(), &cip.DescribeUserImportJobInput{UserPoolId: &env.poolID, JobId: &jobID})
	if err != nil {
		t.Fatalf("DescribeUserImportJob: %v", err)
	}
	return *out.UserImportJob
}

// waitFor polls DescribeUserImportJob, as a client of Cognito must (a job's end is no event),
// until done says so. It runs in a synctest bubble: the polls are 5 ms apart on the bubble's
// clock, so a job is seen at the first poll after the step that ended it, with no wall time spent;
// a job that never ends fails the test after 5 s of bubble time.
func (env *importEnv) waitFor(t *testing.T, jobID string, done func(types.UserImportJobType) bool) types.UserImportJobType {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		j := env.describe(t, jobID)
		if done(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 5s", jobID, j.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func finished(j types.UserImportJobType) bool {
	switch j.Status {
	case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped:
		return true
	}
	return false
}

// run uploads body into a new job, starts it and waits for its end.
func (env *importEnv) run(t *testing.T, name, body string) types.UserImportJobType {
	t.Helper()
	job := env.createJob(t, name)
	env.upload(t, job, body)
	env.start(t, aws.ToString(job.JobId))
	return env.waitFor(t, aws.ToString(job.JobId), finished)
}

// logLines reads a job's stream with the cloudwatchlogs SDK, two events a page, following
// nextForwardToken until AWS's end condition: the same token comes back.
func (env *importEnv) logLines(t *testing.T, job types.UserImportJobType) []string {
	t.Helper()
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String("/aws/cognito/userpools/" + env.poolID + "/dr-test"),
		LogStreamName: aws.String(aws.ToString(job.JobId) + "/" + aws.ToString(job.JobName)),
		StartFromHead: aws.Bool(true),
		Limit:         aws.Int32(2),
	}
	var lines []string
	for range 100 {
		out, err := env.cwl.GetLogEvents(t.Context(), in)
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		for _, ev := range out.Events {
			lines = append(lines, aws.ToString(ev.Message))
		}
		if in.NextToken != nil && aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			return lines
		}
		in.NextToken = out.NextForwardToken
	}
	t.Fatal("GetLogEvents never returned the same token")
	return nil
}

type counts struct {
	Status                  types.UserImportJobStatusType
	Imported, Skipped, Fail int64
	Message                 string
}

func countsOf(j types.UserImportJobType) counts {
	return counts{j.Status, j.ImportedUsers, j.SkippedUsers, j.FailedUsers, aws.ToString(j.CompletionMessage)}
}

func TestImportHappyPath(t *testing.T) { synctest.Test(t, testImportHappyPath) }

func testImportHappyPath(t *testing.T) {
	env := newBubbleImportEnv(t, Options{})
	ctx := t.Context()
	job := env.createJob(t, "restore-1")
	id := aws.ToString(job.JobId)
	if job.Status != types.UserImportJobStatusTypeCreated || !strings.HasPrefix(id, "import-") {
		t.Errorf("created job = %s %q, want Created import-…", job.Status, id)
	}
	u, err := url.Parse(aws.ToString(job.PreSignedUrl))
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != ImportUploadPath+id || u.Query().Get("X-Amz-Expires") != "900" || u.Query().Get("X-Amz-Signature") == "" {
		t.Errorf("PreSignedUrl = %s, want %s%s with X-Amz-Expires=900 and a signature", u, ImportUploadPath, id)
	}

	alice := userRow("alice@example.com")
	alice["given_name"] = "Alice"
	alice["custom:level"] = "3"
	env.upload(t, job, csvFile(env.header, alice, userRow("bob@example.com")))
	started := env.start(t, id)
	if started.Status != types.UserImportJobStatusTypePending || started.StartDate == nil {
		t.Errorf("StartUserImportJob status = %s (StartDate %v), want Pending with a StartDate", started.Status, started.StartDate)
	}
	done := env.waitFor(t, id, finished)
	if diff := cmp.Diff(counts{Status: "Succeeded", Imported: 2, Message: msgSucceeded}, countsOf(done)); diff != "" {
		t.Errorf("job (-want +got):\n%s", diff)
	}
	if done.CompletionDate == nil {
		t.Error("CompletionDate is nil")
	}

	got, err := env.cog.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("alice@example.com")})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	a := attrMap(got.UserAttributes)
	if _, err := uuid.Parse(a["sub"]); err != nil || aws.ToString(got.Username) != a["sub"] {
		t.Errorf("username %q, sub %q: want a new UUID sub as the username of an email-username pool", aws.ToString(got.Username), a["sub"])
	}
	delete(a, "sub")
	want := map[string]string{"email": "alice@example.com", "email_verified": "true", "given_name": "Alice", "custom:tenant": "acme", "custom:level": "3"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("imported attributes (-want +got):\n%s", diff)
	}
	if got.UserStatus != types.UserStatusTypeResetRequired || !got.Enabled {
		t.Errorf("imported user is %s enabled=%v, want RESET_REQUIRED and enabled", got.UserStatus, got.Enabled)
	}
	if diff := cmp.Diff([]string{
		"[SUCCEEDED] Line Number 2 - The import succeeded.",
		"[SUCCEEDED] Line Number 3 - The import succeeded.",
	}, env.logLines(t, done)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestImportMixedRows(t *testing.T) { synctest.Test(t, testImportMixedRows) }

func testImportMixedRows(t *testing.T) {
	env := newBubbleImportEnv(t, Options{})
	if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Attributes: map[string]string{"email": "old@example.com", "email_verified": "true"}, Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	unverified := userRow("carol@example.com")
	unverified["email_verified"] = "false"
	noMFA := userRow("dave@example.com")
	noMFA["cognito:mfa_enabled"] = "false" // the pool requires MFA
	noName := userRow("erin@example.com")
	noName["cognito:username"] = ""
	comma := userRow("frank@example.com")
	comma["given_name"] = "Frank, Jr."
	// The docs let columns come in any order.
	header := append([]string(nil), env.header...)
	for i, j := 0, len(header)-1; i < j; i, j = i+1, j-1 {
		header[i], header[j] = header[j], header[i]
	}
	body := csvFile(header, userRow("ann@example.com"), userRow("old@example.com"), unverified, noMFA, noName, comma)

	done := env.run(t, "mixed", body)
	if diff := cmp.Diff(counts{Status: "Succeeded", Imported: 2, Skipped: 1, Fail: 3, Message: msgSucceeded}, countsOf(done)); diff != "" {
		t.Errorf("job (-want +got):\n%s", diff)
	}
	want := []string{
		"[SUCCEEDED] Line Number 2 - The import succeeded.",
		"[SKIPPED] Line Number 3 - The user already exists.",
		"[FAILED] Line Number 4 - " + reasonNoVerified,
		"[FAILED] Line Number 5 - " + reasonMFAOn,
		"[FAILED] Line Number 6 - " + reasonNoUsername,
		"[SUCCEEDED] Line Number 7 - The import succeeded.",
	}
	if diff := cmp.Diff(want, env.logLines(t, done)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	f, err := env.cog.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("frank@example.com")})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	if g := attrMap(f.UserAttributes)["given_name"]; g != "Frank, Jr." {
		t.Errorf(`given_name = %q, want the \, unescaped to "Frank, Jr."`, g)
	}
	old, err := env.cog.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: &env.poolID, Username: aws.String("old@example.com")})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	if old.UserStatus != types.UserStatusTypeConfirmed || attrMap(old.UserAttributes)["custom:tenant"] != "" {
		t.Errorf("existing user became %s %v: an import must never update a user", old.UserStatus, attrMap(old.UserAttributes))
	}
}

func TestImportWholeJobOutcomes(t *testing.T) {
	bad := userRow("x@example.com")
	bad["email_verified"] = "false"
	bom := func(h []string) string { return "\xef\xbb\xbf" + csvFile(h, userRow("a@example.com")) }
	tests := []struct {
		name string
		body func(header []string) string
		want counts
	}{
		{"missing column", func(h []string) string { return csvFile(h[1:], userRow("a@example.com")) },
			counts{Status: "Failed", Message: `The CSV header lacks the column "name".`}},
		{"extra column", func(h []string) string {
			return csvFile(append(h[:len(h):len(h)], "custom:nope"), userRow("a@example.com"))
		},
			counts{Status: "Failed", Message: `The CSV header has the unknown column "custom:nope".`}},
		{"byte order mark", bom, counts{Status: "Failed", Message: "The CSV file must be UTF-8 without a byte order mark."}},
		{"every row failed", func(h []string) string { return csvFile(h, bad, bad) },
			counts{Status: "Failed", Fail: 2, Message: msgTooManyFailed}},
		{"header only", func(h []string) string { return csvFile(h) }, counts{Status: "Succeeded", Message: msgSucceeded}},
	}
	for _, tt := range tests {
		runInBubble(t, tt.name, func(t *testing.T) {
			env := newBubbleImportEnv(t, Options{})
			done := env.run(t, "whole", tt.body(env.header))
			if diff := cmp.Diff(tt.want, countsOf(done)); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
		})
	}

	runInBubble(t, "every user exists already", func(t *testing.T) {
		env := newBubbleImportEnv(t, Options{})
		body := csvFile(env.header, userRow("a@example.com"))
		env.run(t, "first", body)
		if diff := cmp.Diff(counts{Status: "Succeeded", Skipped: 1, Message: msgSucceeded}, countsOf(env.run(t, "again", body))); diff != "" {
			t.Errorf("re-run (-want +got):\n%s", diff)
		}
	})

	runInBubble(t, "no upload", func(t *testing.T) {
		env := newBubbleImportEnv(t, Options{})
		job := env.createJob(t, "empty")
		env.start(t, aws.ToString(job.JobId))
		done := env.waitFor(t, aws.ToString(job.JobId), finished)
		if diff := cmp.Diff(counts{Status: "Failed", Message: msgNoFile}, countsOf(done)); diff != "" {
			t.Errorf("job (-want +got):\n%s", diff)
		}
	})
}

func TestImportUploadRefusals(t *testing.T) {
	env := newImportEnv(t, Options{})
	body := csvFile(env.header, userRow("a@example.com"))
	tests := []struct {
		name     string
		url      func(u string) string
		header   map[string]string
		advance  time.Duration
		wantCode int
		wantBody string
	}{
		{"no encryption header", nil, nil, 0, 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"wrong encryption", nil, map[string]string{"x-amz-server-side-encryption": "AES256"}, 0, 403, "x-amz-server-side-encryption: aws:kms"},
		{"forged signature", func(u string) string {
			p, _ := url.Parse(u)
			q := p.Query()
			q.Set("X-Amz-Signature", strings.Repeat("0", 64))
			p.RawQuery = q.Encode()
			return p.String()
		}, sse, 0, 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"longer expiry", func(u string) string { return strings.Replace(u, "X-Amz-Expires=900", "X-Amz-Expires=86400", 1) }, sse, 0, 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"expired", nil, sse, importURLTTL, 403, "<Code>AccessDenied</Code><Message>Request has expired</Message>"},
		{"just in time", nil, sse, importURLTTL - time.Second, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := env.createJob(t, "upload")
			u := aws.ToString(job.PreSignedUrl)
			if tt.url != nil {
				u = tt.url(u)
			}
			env.clock.Advance(tt.advance)
			code, resp := env.put(t, u, body, tt.header)
			if code != tt.wantCode || !strings.Contains(resp, tt.wantBody) {
				t.Errorf("PUT = %d %s, want %d with %q", code, resp, tt.wantCode, tt.wantBody)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		job := env.createJob(t, "get")
		resp, err := http.Get(aws.ToString(job.PreSignedUrl))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET = %d, want 405", resp.StatusCode)
		}
	})
}

func TestImportStartErrors(t *testing.T) { synctest.Test(t, testImportStartErrors) }

func testImportStartErrors(t *testing.T) {
	env := newBubbleImportEnv(t, Options{ImportStartDelay: time.Hour})
	ctx := t.Context()
	first, second := env.createJob(t, "first"), env.createJob(t, "second")
	env.upload(t, first, csvFile(env.header, userRow("a@example.com")))
	env.start(t, aws.ToString(first.JobId))

	startErr := func(id string) error {
		_, err := env.cog.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &env.poolID, JobId: &id})
		return err
	}
	tests := []struct {
		name, jobID, wantCode string
	}{
		{"another job is active in the account", aws.ToString(second.JobId), "PreconditionNotMetException"},
		{"already started", aws.ToString(first.JobId), "PreconditionNotMetException"},
		{"unknown job", "import-doesnotexist", "ResourceNotFoundException"},
		{"malformed job id", "job-1", "InvalidParameterException"},
	}
	for _, tt := range tests { // no subtests: a synctest bubble cannot start them
		if got := apiCode(startErr(tt.jobID)); got != tt.wantCode {
			t.Errorf("%s: StartUserImportJob error = %s, want %s", tt.name, got, tt.wantCode)
		}
	}

	// A stopped job frees the account for the next one.
	stop, err := env.cog.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &env.poolID, JobId: first.JobId})
	if err != nil {
		t.Fatalf("StopUserImportJob: %v", err)
	}
	if stop.UserImportJob.Status != types.UserImportJobStatusTypeStopping {
		t.Errorf("StopUserImportJob status = %s, want Stopping", stop.UserImportJob.Status)
	}
	env.waitFor(t, aws.ToString(first.JobId), finished)
	if got := apiCode(startErr(aws.ToString(second.JobId))); got != "" {
		t.Errorf("starting the second job after the first stopped: %s", got)
	}
	if _, err := env.cog.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &env.poolID, JobId: first.JobId}); apiCode(err) != "PreconditionNotMetException" {
		t.Errorf("stopping a stopped job: %v, want PreconditionNotMetException", err)
	}
	if _, err := env.cog.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &env.poolID, JobId: second.JobId}); err != nil {
		t.Errorf("cleanup stop: %v", err)
	}
}

func TestStopImportMidway(t *testing.T) { synctest.Test(t, testStopImportMidway) }

func testStopImportMidway(t *testing.T) {
	env := newBubbleImportEnv(t, Options{ImportRowDelay: 30 * time.Millisecond})
	ctx := t.Context()
	var rows []map[string]string
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		rows = append(rows, userRow(n+"@example.com"))
	}
	job := env.createJob(t, "stop-me")
	id := aws.ToString(job.JobId)
	env.upload(t, job, csvFile(env.header, rows...))
	env.start(t, id)
	env.waitFor(t, id, func(j types.UserImportJobType) bool {
		return j.Status == types.UserImportJobStatusTypeInProgress && j.ImportedUsers >= 1
	})
	if _, err := env.cog.StopUserImportJob(ctx, &cip.StopUserImportJobInput{UserPoolId: &env.poolID, JobId: &id}); err != nil {
		t.Fatalf("StopUserImportJob: %v", err)
	}
	done := env.waitFor(t, id, finished)
	if done.Status != types.UserImportJobStatusTypeStopped || done.ImportedUsers < 1 || done.ImportedUsers >= int64(len(rows)) {
		t.Fatalf("stopped job = %+v, want Stopped with some but not all users imported", countsOf(done))
	}
	list, err := env.cog.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &env.poolID})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(list.Users)) != done.ImportedUsers {
		t.Errorf("pool holds %d users, want the %d imported before the stop", len(list.Users), done.ImportedUsers)
	}
	if n := len(env.logLines(t, done)); int64(n) != done.ImportedUsers {
		t.Errorf("%d log lines, want one per processed row (%d)", n, done.ImportedUsers)
	}
}

func TestListUserImportJobsPaging(t *testing.T) {
	env := newImportEnv(t, Options{})
	ctx := t.Context()
	var want []string
	for _, n := range []string{"j1", "j2", "j3", "j4", "j5"} {
		want = append(want, aws.ToString(env.createJob(t, n).JobId))
	}
	slices.Reverse(want) // newest first, as AWS's examples list them
	var got []string
	var pages []int
	in := &cip.ListUserImportJobsInput{UserPoolId: &env.poolID, MaxResults: aws.Int32(2)}
	for {
		out, err := env.cog.ListUserImportJobs(ctx, in)
		if err != nil {
			t.Fatalf("ListUserImportJobs: %v", err)
		}
		pages = append(pages, len(out.UserImportJobs))
		for _, j := range out.UserImportJobs {
			got = append(got, aws.ToString(j.JobId))
		}
		if out.PaginationToken == nil {
			break
		}
		in.PaginationToken = out.PaginationToken
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{2, 2, 1}, pages); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	// A missing MaxResults never leaves the SDK, which checks required members itself.
	for _, max := range []*int32{aws.Int32(0), aws.Int32(61)} {
		_, err := env.cog.ListUserImportJobs(ctx, &cip.ListUserImportJobsInput{UserPoolId: &env.poolID, MaxResults: max})
		if apiCode(err) != "InvalidParameterException" {
			t.Errorf("MaxResults %v: %v, want InvalidParameterException", aws.ToInt32(max), err)
		}
	}
}

func TestCreateUserImportJobValidation(t *testing.T) {
	env := newImportEnv(t, Options{})
	tests := []struct {
		name       string
		pool, role *string
		wantCode   string
	}{
		{"empty role", &env.poolID, aws.String(""), "InvalidParameterException"},
		{"not an ARN", &env.poolID, aws.String("CognitoImportLogsRole"), "InvalidParameterException"},
		{"not an IAM role", &env.poolID, aws.String("arn:aws:sns:ap-northeast-1:123456789012:topic"), "InvalidParameterException"},
		{"unknown pool", aws.String(testRegion + "_nope"), aws.String(testRoleARN), "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.cog.CreateUserImportJob(t.Context(), &cip.CreateUserImportJobInput{UserPoolId: tt.pool, JobName: aws.String("j"), CloudWatchLogsRoleArn: tt.role})
			if got := apiCode(err); got != tt.wantCode {
				t.Errorf("error = %s (%s), want %s", got, apiMessage(err), tt.wantCode)
			}
		})
	}
}

func TestImportJobExpires(t *testing.T) {
	env := newImportEnv(t, Options{})
	job := env.createJob(t, "late")
	id := aws.ToString(job.JobId)
	env.clock.Advance(importJobTTL)
	if got := env.describe(t, id).Status; got != types.UserImportJobStatusTypeExpired {
		t.Errorf("status after 24h = %s, want Expired", got)
	}
	_, err := env.cog.StartUserImportJob(t.Context(), &cip.StartUserImportJobInput{UserPoolId: &env.poolID, JobId: &id})
	if apiCode(err) != "PreconditionNotMetException" {
		t.Errorf("starting an expired job: %v, want PreconditionNotMetException", err)
	}
}

func TestImportRowRules(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(r map[string]string)
		reason string
	}{
		{"space in username", func(r map[string]string) { r["cognito:username"] = "a b@example.com" }, reasonSpaceInName},
		{"no mfa value", func(r map[string]string) { r["cognito:mfa_enabled"] = "" }, reasonNoMFA},
		{"verified but no email", func(r map[string]string) { r["email"] = "" }, "email_verified is true but email is empty."},
		{"username not the email", func(r map[string]string) { r["email"] = "other@example.com" }, "Username and email attribute must be the same value."},
		{"schema violation", func(r map[string]string) { r["custom:level"] = "high" }, "Attributes did not conform to the schema: custom:level: Number must be a valid number"},
		{"birthdate format", func(r map[string]string) { r["birthdate"] = "1990-01-31" }, reasonBirthdate},
		{"too long", func(r map[string]string) { r["address"] = strings.Repeat("x", maxRowChars) }, reasonTooLong},
	}
	for _, tt := range tests {
		runInBubble(t, tt.name, func(t *testing.T) {
			env := newBubbleImportEnv(t, Options{})
			row := userRow("a@example.com")
			tt.edit(row)
			done := env.run(t, "rule", csvFile(env.header, userRow("ok@example.com"), row))
			got := env.logLines(t, done)
			if len(got) != 2 || got[1] != "[FAILED] Line Number 3 - "+tt.reason {
				t.Errorf("log lines = %q, want line 3 to fail with %q", got, tt.reason)
			}
		})
	}
}

func TestAdminUserGlobalSignOutRecorded(t *testing.T) {
	env := newImportEnv(t, Options{})
	ctx := t.Context()
	if err := env.e.SeedUserSlice(env.poolID, []SeedUser{{Attributes: map[string]string{"email": "a@example.com", "email_verified": "true"}, Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.e.SignedOutAt(env.poolID, "a@example.com"); ok {
		t.Error("SignedOutAt reports a sign-out before any")
	}
	env.clock.Advance(time.Minute)
	if _, err := env.cog.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &env.poolID, Username: aws.String("a@example.com")}); err != nil {
		t.Fatalf("AdminUserGlobalSignOut: %v", err)
	}
	if at, ok := env.e.SignedOutAt(env.poolID, "a@example.com"); !ok || !at.Equal(testNow.Add(time.Minute)) {
		t.Errorf("SignedOutAt = %v %v, want %v", at, ok, testNow.Add(time.Minute))
	}
	_, err := env.cog.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &env.poolID, Username: aws.String("nobody@example.com")})
	if apiCode(err) != "UserNotFoundException" {
		t.Errorf("unknown user: %v, want UserNotFoundException", err)
	}
}

func TestImportUploadTooLarge(t *testing.T) {
	env := newImportEnv(t, Options{})
	job := env.createJob(t, "big")
	req := httptest.NewRequest(http.MethodPut, aws.ToString(job.PreSignedUrl), strings.NewReader("x"))
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	req.ContentLength = maxImportFile + 1 // declared size; S3 refuses before reading
	rec := httptest.NewRecorder()
	env.e.ImportUploadHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "<Code>EntityTooLarge</Code>") {
		t.Errorf("upload of 100 MB + 1 = %d %s, want 400 EntityTooLarge", rec.Code, rec.Body)
	}
}
