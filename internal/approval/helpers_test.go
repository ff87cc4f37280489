package approval

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

var epoch = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

const (
	testBucket = "cognito-dr-failback-plans"
	testToken  = "AQCEAAAAKgAAAAMAAAAAAAAAAeJ7SECRET-TASK-TOKEN"
	testKey    = "0123456789abcdef0123456789abcdef-test-key"
)

// clock is a settable Service.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// callbacks records calls; fail, if set, is what each call returns.
type callbacks struct {
	mu       sync.Mutex
	success  []string // outputs
	failures [][2]string
	fail     error
}

func (c *callbacks) SendTaskSuccess(_ context.Context, token, output string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if token != testToken {
		return errorString("unexpected token")
	}
	c.success = append(c.success, output)
	return c.fail
}

func (c *callbacks) SendTaskFailure(_ context.Context, token, name, cause string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if token != testToken {
		return errorString("unexpected token")
	}
	c.failures = append(c.failures, [2]string{name, cause})
	return c.fail
}

func (c *callbacks) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.success) + len(c.failures)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// fixture is a Service on the local S3, with recorded callbacks, a settable clock and a log.
type fixture struct {
	svc   *Service
	cb    *callbacks
	clock *clock
	logs  *bytes.Buffer
	store *S3Store
	stack *localaws.Stack
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	stack, err := localaws.Start(localaws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	if err := stack.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	signer, err := NewSigner([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{cb: &callbacks{}, clock: &clock{now: epoch}, logs: &bytes.Buffer{}, stack: stack}
	f.store = &S3Store{Client: s3.NewFromConfig(stack.AWSConfig("ap-northeast-3"), stack.S3Options), Bucket: testBucket}
	f.svc = &Service{
		Store: f.store, Signer: signer, Callbacks: f.cb, BaseURL: "https://approve.example.com/approvals",
		Now: f.clock.Now, Log: newLogger(f.logs),
	}
	t.Cleanup(func() {
		// Nothing the service logs may hold the task token or a link's signature.
		if strings.Contains(f.logs.String(), testToken) || strings.Contains(f.logs.String(), "sig=") {
			t.Errorf("log holds a token or link:\n%s", f.logs)
		}
	})
	return f
}

var summary = Summary{
	Title:  "Fail back tokyo-users to ap-northeast-1",
	Effect: "Approving disables 3 users and imports 1,204 users into the primary pool ap-northeast-1_AbCdEf.",
	Facts: []Fact{
		{Label: "Users to import", Value: "1,204"}, {Label: "Users to disable", Value: "3"},
		{Label: "Rejected rows", Value: "2"},
	},
	Samples: []Sample{{Label: "Users to disable", Names: []string{"alice@example.jp", "bob@example.jp"}}},
	PlanKey: "failback/2026-11-27/plan.json",
}

// create makes an approval valid for an hour and returns its link.
func (f *fixture) create(t *testing.T, sum Summary) string {
	t.Helper()
	link, err := f.svc.Create(t.Context(), testToken, "failback-2026-11-27", sum, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// do serves one request and returns status and body. A POST sends form as the page would.
func (f *fixture) do(t *testing.T, method, link string, form url.Values, header ...string) (int, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequestWithContext(t.Context(), method, link, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.svc.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// decide posts decision with the form token the GET page carries.
func (f *fixture) decide(t *testing.T, link, decision, approver string) (int, string) {
	t.Helper()
	return f.do(t, http.MethodPost, link, url.Values{"token": {f.formToken(t, link)}, "decision": {decision}, "approver": {approver}},
		"Sec-Fetch-Site", "same-origin")
}

// formToken reads the hidden form token from the rendered page, as a browser would submit it.
func (f *fixture) formToken(t *testing.T, link string) string {
	t.Helper()
	code, body := f.do(t, http.MethodGet, link, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %d, want 200:\n%s", code, body)
	}
	_, after, ok := strings.Cut(body, `name="token" value="`)
	if !ok {
		t.Fatalf("no form token in page:\n%s", body)
	}
	tok, _, _ := strings.Cut(after, `"`)
	return tok
}

// idOf returns the approval id in link.
func idOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path[strings.LastIndexByte(u.Path, '/')+1:]
}

func newLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&lockedWriter{w: buf}, nil))
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
