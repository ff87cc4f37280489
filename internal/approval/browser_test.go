package approval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// skipBrowserEnv lets people without Chromium run the other tests: COGNITO_DR_SKIP_BROWSER=1.
// Without it a missing Chromium fails the test, so CI (which installs it in .ci/run) can never
// pass without having run it.
const skipBrowserEnv = "COGNITO_DR_SKIP_BROWSER"

// newBrowser starts headless Chromium (Debian's `chromium` package) for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv(skipBrowserEnv) == "1" {
		t.Skipf("%s=1: skipping the headless Chromium test", skipBrowserEnv)
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		path = "/usr/bin/chromium"
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("Chromium is not installed: install it with `sudo apt-get install -y chromium` "+
				"(CI installs it in .ci/run), or set %s=1 to skip this test", skipBrowserEnv)
		}
	}
	dataDir := t.TempDir() // removed after the browser, whose cleanup is registered later
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these Chromium keeps calling Google services, which the offline CI network refuses.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dataDir),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first call starts the browser and must not carry a timeout (it would stop the browser);
	// later calls are bounded by a context derived from it.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// load navigates to url (or runs a navigating action) and returns the HTTP status and page text.
func load(t *testing.T, ctx context.Context, nav chromedp.Action[chromedp.Void]) (int, string) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, nav)
	if err != nil {
		t.Fatalf("navigate: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("read page: %v", err)
	}
	return int(resp.Status), text
}

// offsetClock is Service.Now: the wall clock, moved forward by the test.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// TestBrowserApproval drives the approval page in headless Chromium against the local stack and a
// real local execution waiting on .waitForTaskToken.
func TestBrowserApproval(t *testing.T) {
	ctx := newBrowser(t)

	stack, err := localaws.Start(localaws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	const bucket = "cognito-dr-failback-plans"
	if err := stack.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	signer, err := approval.NewSigner([]byte("browser-test-signing-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &offsetClock{}
	svc := &approval.Service{
		Store:   &approval.S3Store{Client: s3.NewFromConfig(stack.AWSConfig("ap-northeast-3"), stack.S3Options), Bucket: bucket},
		Signer:  signer,
		BaseURL: stack.URL() + strings.TrimSuffix(approval.LocalPath, "/"),
		Now:     clock.Now,
	}
	var posts atomic.Int32 // decisions that reached the server
	stack.Handle(approval.LocalPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		svc.ServeHTTP(w, r)
	}))

	hostile := `<img src=x id=pwned onerror="document.title='pwned'">`
	summary := approval.Summary{
		Title:   "Fail back tokyo-users to ap-northeast-1",
		Effect:  "Approving imports 1,204 users into the primary pool ap-northeast-1_AbCdEf and disables 3.",
		Facts:   []approval.Fact{{Label: "Users to import", Value: "1,204"}, {Label: "Rejected rows", Value: "2"}},
		Samples: []approval.Sample{{Label: "Users to disable", Names: []string{"alice@example.jp", hostile}}},
	}
	// More changes than a page lists: the approver pages through them.
	s3c := s3.NewFromConfig(stack.AWSConfig("ap-northeast-3"), stack.S3Options)
	w := s3stream.Create(context.Background(), s3c, bucket, "failback/plan/actions.jsonl.gz")
	lw := snapshot.NewLineWriter(w)
	for i := range 150 {
		lw.Write(approval.Change{Kind: "update", Key: fmt.Sprintf("user%03d@example.jp", i),
			Set: map[string]string{"given_name": fmt.Sprintf("New%03d", i)}, Was: map[string]string{"given_name": fmt.Sprintf("Old%03d", i)}})
	}
	lw.Close()
	obj, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	summary.Changes = &approval.ChangesFile{Bucket: bucket, Object: obj}
	const resource = "arn:aws:states:::lambda:invoke.waitForTaskToken"
	def := `{"Comment":"waits for a human","StartAt":"WaitForApproval","States":{
		"WaitForApproval":{"Type":"Task","Resource":"` + resource + `",
			"Parameters":{"FunctionName":"request-approval","Payload":{"token.$":"$$.Task.Token","execution.$":"$$.Execution.Name"}},
			"TimeoutSeconds":3600,"ResultPath":"$.approval","Next":"Failback"},
		"Failback":{"Type":"Succeed"}}}`
	m, err := asl.Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	links, tokens := make(chan string, 1), make(chan string, 1)
	requestApproval := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		var p struct {
			Payload struct{ Token, Execution string }
		}
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		link, err := svc.Create(ctx, p.Payload.Token, p.Payload.Execution, summary, time.Hour)
		if err != nil {
			return nil, err
		}
		tokens <- p.Payload.Token
		links <- link // in AWS: published to the operators' SNS topic
		return json.RawMessage(`{}`), nil
	}
	ex, err := asl.NewExecutor(m, map[string]asl.TaskFunc{resource: requestApproval})
	if err != nil {
		t.Fatal(err)
	}
	svc.Callbacks = devstack.Callbacks{Executor: ex}
	x, err := ex.Start(context.Background(), "failback-browser-test", json.RawMessage(`{"pool":"tokyo-users"}`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Stop("TestEnded", "") })
	link, token := <-links, <-tokens
	// waiting reports whether the approval task still waits for its token: a decision, once
	// delivered, takes the token at once, while the execution moves on in its own time.
	waiting := func() bool { return ex.SendTaskHeartbeat(token) == nil }

	// The page shows the plan, and opening it (twice, as a mail scanner then a person) decides nothing.
	for range 2 {
		status, text := load(t, ctx, chromedp.Navigate(link))
		if status != http.StatusOK {
			t.Fatalf("GET link: %d\n%s", status, text)
		}
		for _, want := range []string{summary.Title, summary.Effect, "Users to import", "1,204", "Rejected rows",
			"alice@example.jp", hostile, "failback-browser-test", "Approve", "Reject",
			"Changes to users by API (150)", "Page 1 of 2", "user000@example.jp", "Old000", "→ New000", "user099@example.jp"} {
			if !strings.Contains(text, want) {
				t.Errorf("page lacks %q:\n%s", want, text)
			}
		}
	}
	// The next page lists the rest, and still offers the decision.
	status, text := load(t, ctx, chromedp.Click(chromedp.CSS("#next")))
	for _, want := range []string{"Page 2 of 2", "user100@example.jp", "user149@example.jp", "Old149", "→ New149", "Approve"} {
		if status != http.StatusOK || !strings.Contains(text, want) {
			t.Errorf("page 2: %d, lacks %q:\n%s", status, want, text)
		}
	}
	if strings.Contains(text, "user099@example.jp") {
		t.Error("page 2 repeats page 1")
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("pwned") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if pwned || title == "pwned" {
		t.Error("a username was rendered as markup")
	}
	// The page runs no script (its CSP forbids it): a GET decides, if at all, before its answer.
	if !waiting() {
		t.Fatalf("after GETs the approval task no longer waits (execution %s)", x.Status())
	}

	// A form on another origin posting to the link (here with no form token, as it cannot read
	// the page) is refused, and the execution keeps waiting.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<form method="post" action="` + link + `"><input type="hidden" name="decision" value="approve">` +
			`<button id="go" type="submit">win a prize</button></form>`))
	}))
	defer evil.Close()
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	if status, text := load(t, ctx, chromedp.Click(chromedp.CSS("#go"))); status != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403\n%s", status, text)
	}
	if !waiting() {
		t.Fatalf("after a cross-site POST the approval task no longer waits (execution %s)", x.Status())
	}

	// Approve: the execution resumes with the decision as the task's result.
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	// Enter in the name field must not submit: the form's default button is a disabled one.
	// A submission by Enter would be one more POST counted below, or would leave no #approve to click.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#approver"), "Aiko Sato\r")); err != nil {
		t.Fatal(err)
	}
	if !waiting() {
		t.Fatalf("after Enter in the name field the approval task no longer waits (execution %s)", x.Status())
	}
	status, text = load(t, ctx, chromedp.Click(chromedp.CSS("#approve")))
	if status != http.StatusOK || !strings.Contains(text, "Approved") {
		t.Fatalf("approve: %d\n%s", status, text)
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.Wait(waitCtx); err != nil {
		t.Fatalf("execution did not finish: %v (status %s)", err, x.Status())
	}
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("execution %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	if n := posts.Load(); n != 2 {
		t.Errorf("%d decisions reached the server, want 2: the cross-site POST and the approval", n)
	}
	var out struct {
		Approval struct{ Decision, Approver, DecidedAt string }
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil || out.Approval.Decision != "APPROVED" || out.Approval.Approver != "Aiko Sato" {
		t.Errorf("execution output %s: %v", x.Output(), err)
	}

	// The link works once.
	if status, text := load(t, ctx, chromedp.Navigate(link)); status != http.StatusConflict || !strings.Contains(text, "Already decided") ||
		!strings.Contains(text, "Aiko Sato") {
		t.Errorf("second load: %d, want 409 already decided\n%s", status, text)
	}

	// A link with one character of its signature changed is refused.
	i := strings.Index(link, "sig=") + len("sig=")
	c := byte('A')
	if link[i] == 'A' {
		c = 'B'
	}
	forged := link[:i] + string(c) + link[i+1:]
	if status, text := load(t, ctx, chromedp.Navigate(forged)); status != http.StatusForbidden || !strings.Contains(text, "not valid") ||
		strings.Contains(text, summary.Title) {
		t.Errorf("forged link: %d, want 403 refusal without the plan\n%s", status, text)
	}

	// An expired link is refused with 410.
	late, err := svc.Create(context.Background(), "token-of-an-execution-nobody-approved", "failback-expired", summary, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Minute)
	if status, text := load(t, ctx, chromedp.Navigate(late)); status != http.StatusGone || !strings.Contains(text, "expired") {
		t.Errorf("expired link: %d, want 410\n%s", status, text)
	}
}
