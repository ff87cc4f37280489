package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

func TestSignerVerify(t *testing.T) {
	s, err := NewSigner([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	id, exp := "0123456789abcdef0123456789abcdef", epoch
	sig := s.Sign(id, exp)
	other, _ := NewSigner([]byte(testKey + "x"))
	tests := []struct {
		name string
		id   string
		exp  time.Time
		sig  string
		want bool
	}{
		{"genuine", id, exp, sig, true},
		{"tampered id", "1123456789abcdef0123456789abcdef", exp, sig, false},
		{"tampered exp", id, exp.Add(time.Second), sig, false},
		{"tampered sig", id, exp, flip(sig), false},
		{"truncated sig", id, exp, sig[:len(sig)-1], false},
		{"empty sig", id, exp, "", false},
		{"other key", id, exp, other.Sign(id, exp), false},
		{"form token is not a link signature", id, exp, s.FormToken(id, exp), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Verify(tt.id, tt.exp, tt.sig); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
	if s.VerifyFormToken(id, exp, sig) {
		t.Error("a link signature passes as the form token")
	}
	if _, err := NewSigner(make([]byte, MinKeyBytes-1)); err == nil {
		t.Error("NewSigner accepted a short key")
	}
}

// flip changes one character of s, keeping it in the base64url alphabet.
func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func TestLinkCarriesNoToken(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(link, testToken) {
		t.Fatalf("link holds the task token: %s", link)
	}
	id := idOf(t, link)
	if !validID(id) || !strings.HasPrefix(link, f.svc.BaseURL+"/") {
		t.Errorf("link %s: id %q is not 128 bits of hex under BaseURL", link, id)
	}
	wantExp := strconv.FormatInt(epoch.Add(time.Hour).Unix(), 10)
	if got := u.Query().Get("exp"); got != wantExp {
		t.Errorf("exp = %s, want %s", got, wantExp)
	}
	req, err := f.store.GetRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if req.TaskToken != testToken || req.ExecutionName != "failback-2026-11-27" || !req.ExpiresAt.Equal(epoch.Add(time.Hour)) {
		t.Errorf("stored request = %+v", req)
	}
	if f.create(t, summary) == link {
		t.Error("two approvals got the same link")
	}
}

func TestGetDoesNotDecide(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	for _, m := range []string{http.MethodGet, http.MethodGet, http.MethodHead} {
		if code, _ := f.do(t, m, link, nil); code != http.StatusOK {
			t.Fatalf("%s = %d, want 200", m, code)
		}
	}
	// A GET with decision parameters, as a scanner replaying a form might send, decides nothing.
	if code, _ := f.do(t, http.MethodGet, link+"&decision=approve&token=x", nil); code != http.StatusOK {
		t.Fatalf("GET with form fields = %d", code)
	}
	if n := f.cb.calls(); n != 0 {
		t.Errorf("GET made %d callbacks", n)
	}
	if _, err := f.store.GetDecision(t.Context(), idOf(t, link)); !errors.Is(err, ErrNotFound) {
		t.Errorf("decision after GETs: %v, want ErrNotFound", err)
	}
	_, body := f.do(t, http.MethodGet, link, nil)
	for _, want := range []string{summary.Title, summary.Effect, "Users to import", "1,204", "Rejected rows", "alice@example.jp",
		"failback-2026-11-27", "2026-11-27 10:00 UTC", "(in 1h 00m)", summary.PlanKey, `id="approve"`, `id="reject"`, `name="approver"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	u, _ := url.Parse(link)
	id, q := idOf(t, link), u.Query()
	with := func(id, exp, sig string) string {
		v := url.Values{"exp": {exp}, "sig": {sig}}
		return f.svc.BaseURL + "/" + id + "?" + v.Encode()
	}
	unknown := "ffffffffffffffffffffffffffffffff"
	tok := f.formToken(t, link)
	form := func(token, decision string) url.Values { return url.Values{"token": {token}, "decision": {decision}} }
	tests := []struct {
		name   string
		method string
		link   string
		form   url.Values
		header []string
		want   int
		text   string
	}{
		{"forged sig", "GET", with(id, q.Get("exp"), flip(q.Get("sig"))), nil, nil, 403, "not valid"},
		{"tampered id", "GET", with(flip(id), q.Get("exp"), q.Get("sig")), nil, nil, 403, "not valid"},
		{"tampered exp", "GET", with(id, strconv.FormatInt(epoch.Add(48*time.Hour).Unix(), 10), q.Get("sig")), nil, nil, 403, "not valid"},
		{"no sig", "GET", f.svc.BaseURL + "/" + id + "?exp=" + q.Get("exp"), nil, nil, 403, "not valid"},
		{"not an id", "GET", with("..", q.Get("exp"), q.Get("sig")), nil, nil, 403, "not valid"},
		{"forged POST", "POST", with(id, q.Get("exp"), flip(q.Get("sig"))), form(tok, "approve"), nil, 403, "not valid"},
		{"unknown id, valid signature", "GET", f.svc.Link(unknown, epoch.Add(time.Hour)), nil, nil, 404, "not found"},
		{"PUT", "PUT", link, nil, nil, 405, "Method not allowed"},
		{"DELETE", "DELETE", link, nil, nil, 405, "Method not allowed"},
		{"POST without form token", "POST", link, form("", "approve"), nil, 403, "Decision refused"},
		{"POST with the link signature as form token", "POST", link, form(q.Get("sig"), "approve"), nil, 403, "Decision refused"},
		{"cross-site POST", "POST", link, form(tok, "approve"), []string{"Sec-Fetch-Site", "cross-site"}, 403, "Cross-site"},
		{"foreign Origin", "POST", link, form(tok, "approve"), []string{"Origin", "https://evil.example"}, 403, "Cross-site"},
		{"unknown decision", "POST", link, form(tok, "maybe"), nil, 400, "Choose Approve or Reject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(t, tt.method, tt.link, tt.form, tt.header...)
			if code != tt.want || !strings.Contains(body, tt.text) {
				t.Errorf("%s = %d, want %d with %q:\n%s", tt.method, code, tt.want, tt.text, body)
			}
			if code == 405 && !strings.Contains(body, "Approve") {
				t.Error("405 page does not say what to do")
			}
			if code == 403 && strings.Contains(body, summary.Title) && tt.text == "not valid" {
				t.Error("a forged link shows the plan")
			}
		})
	}
	if n := f.cb.calls(); n != 0 {
		t.Errorf("refused requests made %d callbacks", n)
	}

	t.Run("expired", func(t *testing.T) {
		f.clock.Advance(time.Hour)
		for _, m := range []string{"GET", "POST"} {
			code, body := f.do(t, m, link, form(tok, "approve"), "Sec-Fetch-Site", "same-origin")
			if code != http.StatusGone || !strings.Contains(body, "expired") {
				t.Errorf("%s after expiry = %d, want 410:\n%s", m, code, body)
			}
		}
		if n := f.cb.calls(); n != 0 {
			t.Errorf("expired link made %d callbacks", n)
		}
	})
}

func TestApprove(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	f.clock.Advance(10 * time.Minute)
	code, body := f.decide(t, link, "approve", "  Aiko\tSato  ")
	if code != http.StatusOK || !strings.Contains(body, "Approved") {
		t.Fatalf("approve = %d:\n%s", code, body)
	}
	want := `{"decision":"APPROVED","approver":"Aiko Sato","decidedAt":"2026-11-27T09:10:00Z"}`
	if diff := cmp.Diff([]string{want}, f.cb.success); diff != "" {
		t.Errorf("SendTaskSuccess outputs (-want +got):\n%s", diff)
	}
	d, err := f.store.GetDecision(t.Context(), idOf(t, link))
	if err != nil || d.Decision != Approved || d.Approver != "Aiko Sato" {
		t.Errorf("stored decision = %+v, %v", d, err)
	}
	o, err := f.store.GetOutcome(t.Context(), idOf(t, link))
	if err != nil || !o.Delivered {
		t.Errorf("stored outcome = %+v, %v", o, err)
	}

	// The link works once: a second load or a replayed POST shows who decided, with 409.
	tok := f.svc.Signer.FormToken(idOf(t, link), epoch.Add(time.Hour))
	for _, m := range []string{"GET", "POST"} {
		code, body := f.do(t, m, link, url.Values{"token": {tok}, "decision": {"reject"}})
		if code != http.StatusConflict || !strings.Contains(body, "Already decided") || !strings.Contains(body, "Aiko Sato") {
			t.Errorf("%s after decision = %d:\n%s", m, code, body)
		}
	}
	// Even after expiry, a decided link says it was decided rather than expired.
	f.clock.Advance(2 * time.Hour)
	if code, _ := f.do(t, "GET", link, nil); code != http.StatusConflict {
		t.Errorf("GET of a decided, expired link = %d, want 409", code)
	}
	if n := f.cb.calls(); n != 1 {
		t.Errorf("%d callbacks, want 1", n)
	}
}

func TestReject(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	code, body := f.decide(t, link, "reject", "")
	if code != http.StatusOK || !strings.Contains(body, "Rejected") || !strings.Contains(body, RejectedError) {
		t.Fatalf("reject = %d:\n%s", code, body)
	}
	want := [][2]string{{"ApprovalRejected", "rejected by anonymous at 2026-11-27T09:00:00Z"}}
	if diff := cmp.Diff(want, f.cb.failures); diff != "" || len(f.cb.success) != 0 {
		t.Errorf("SendTaskFailure calls (-want +got):\n%s\nsuccesses %v", diff, f.cb.success)
	}
}

func TestConcurrentPostsDecideOnce(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	tok := f.formToken(t, link)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			decision := []string{"approve", "reject"}[i%2]
			codes[i], _ = f.do(t, "POST", link, url.Values{"token": {tok}, "decision": {decision}, "approver": {fmt.Sprint("sre-", i)}})
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if diff := cmp.Diff(map[int]int{200: 1, 409: n - 1}, count); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := f.cb.calls(); got != 1 {
		t.Errorf("%d callbacks, want exactly 1 (successes %v, failures %v)", got, f.cb.success, f.cb.failures)
	}
}

func TestHostileNamesAreEscaped(t *testing.T) {
	f := newFixture(t)
	hostile := []string{`<script>alert("x")</script>@example.jp`, `"><img src=x onerror=alert(1)>`, `' onmouseover='alert(1)`}
	sum := summary
	sum.Title = `<b>pool</b>`
	sum.Samples = []Sample{{Label: "Users to disable <i>", Names: hostile}}
	link := f.create(t, sum)
	_, page := f.do(t, "GET", link, nil)
	approver := `</p><script>alert(2)</script>`
	_, decided := f.decide(t, link, "approve", approver)
	for name, body := range map[string]string{"plan page": page, "decided page": decided} {
		for _, raw := range append(hostile, `<b>pool</b>`, `<i>`, approver) {
			if strings.Contains(body, raw) {
				t.Errorf("%s holds %q unescaped", name, raw)
			}
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
			t.Errorf("%s holds markup from data:\n%s", name, body)
		}
	}
	for _, want := range []string{`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;@example.jp`, `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`, `&lt;b&gt;pool&lt;/b&gt;`} {
		if !strings.Contains(page, want) {
			t.Errorf("plan page lacks escaped %q", want)
		}
	}
	if !strings.Contains(decided, `&lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;`) {
		t.Errorf("decided page lacks the escaped approver:\n%s", decided)
	}
}

// TestExecutionAlreadyEnded runs a real local execution whose task times out before the click.
func TestExecutionAlreadyEnded(t *testing.T) {
	f := newFixture(t)
	const resource = "arn:aws:states:::lambda:invoke.waitForTaskToken"
	def := `{"StartAt":"WaitForApproval","States":{"WaitForApproval":{"Type":"Task","Resource":"` + resource + `",
		"Parameters":{"FunctionName":"request-approval","Payload":{"token.$":"$$.Task.Token"}},"TimeoutSeconds":60,"End":true}}}`
	m, err := asl.Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	links := make(chan string, 1)
	aslClock := asl.NewFakeClock(epoch)
	var ex *asl.Executor
	ex, err = asl.NewExecutor(m, map[string]asl.TaskFunc{resource: func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Payload struct{ Token string } }
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		link, err := f.svc.Create(ctx, p.Payload.Token, "failback-late", summary, time.Hour)
		links <- link
		return nil, err
	}}, asl.WithClock(aslClock))
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Callbacks = executorCallbacks{ex}
	x, err := ex.Start(t.Context(), "failback-late", nil)
	if err != nil {
		t.Fatal(err)
	}
	link := <-links
	tok := f.formToken(t, link)
	aslClock.Advance(time.Minute) // the task times out; the link has not expired
	if err := x.Wait(t.Context()); err != nil || x.Status() != asl.StatusFailed {
		t.Fatalf("execution %v, %v", x.Status(), err)
	}
	code, body := f.do(t, "POST", link, url.Values{"token": {tok}, "decision": {"approve"}})
	if code != http.StatusGone || !strings.Contains(body, "This approval expired; the execution ended") {
		t.Fatalf("late approve = %d:\n%s", code, body)
	}
	code, body = f.do(t, "GET", link, nil)
	if code != http.StatusGone || !strings.Contains(body, "the execution ended") {
		t.Errorf("GET after a late decision = %d:\n%s", code, body)
	}
}

func TestUndeliveredDecision(t *testing.T) {
	f := newFixture(t)
	f.cb.fail = fmt.Errorf("operation error SFN: SendTaskSuccess, ThrottlingException for token %s", testToken)
	link := f.create(t, summary)
	code, body := f.decide(t, link, "approve", "aiko")
	if code != http.StatusBadGateway || !strings.Contains(body, "not resumed") {
		t.Fatalf("approve with failing Step Functions = %d:\n%s", code, body)
	}
	o, err := f.store.GetOutcome(t.Context(), idOf(t, link))
	if err != nil || o.Delivered || strings.Contains(o.Error, testToken) || !strings.Contains(o.Error, "ThrottlingException") {
		t.Errorf("outcome = %+v, %v; want undelivered with the token redacted", o, err)
	}
	if code, body := f.do(t, "GET", link, nil); code != http.StatusConflict || !strings.Contains(body, "did not accept") {
		t.Errorf("GET after an undelivered decision = %d:\n%s", code, body)
	}
}

func TestS3StoreWritesDecisionOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id := "00000000000000000000000000000001"
	if _, err := f.store.GetDecision(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDecision of nothing: %v", err)
	}
	first := Decision{Decision: Approved, Approver: "a", DecidedAt: epoch}
	if err := f.store.PutDecision(ctx, id, first); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutDecision(ctx, id, Decision{Decision: Rejected, Approver: "b"}); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("second PutDecision: %v, want ErrAlreadyDecided", err)
	}
	got, err := f.store.GetDecision(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
}

func TestStepFunctionsErrors(t *testing.T) {
	tests := []struct {
		err   error
		ended bool
	}{
		{&sfntypes.TaskTimedOut{Message: aws.String("Task Timed Out")}, true},
		{&sfntypes.TaskDoesNotExist{Message: aws.String("Task does not exist anymore")}, true},
		{&sfntypes.InvalidToken{Message: aws.String("Invalid token")}, false},
		{errors.New("dial tcp: timeout"), false},
	}
	for _, tt := range tests {
		api := fakeSFN{err: tt.err}
		for _, err := range []error{
			StepFunctions{Client: api}.SendTaskSuccess(t.Context(), testToken, "{}"),
			StepFunctions{Client: api}.SendTaskFailure(t.Context(), testToken, RejectedError, "no"),
		} {
			if errors.Is(err, ErrTaskEnded) != tt.ended || !errors.Is(err, tt.err) {
				t.Errorf("%T: got %v, want ended=%v", tt.err, err, tt.ended)
			}
		}
	}
}

type fakeSFN struct{ err error }

func (f fakeSFN) SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	return nil, f.err
}

func (f fakeSFN) SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return nil, f.err
}

// executorCallbacks resumes tasks of the local executor; the devstack's adapter cannot be imported
// here (devstack imports this package).
type executorCallbacks struct{ ex *asl.Executor }

func (c executorCallbacks) SendTaskSuccess(_ context.Context, token, output string) error {
	return ended(c.ex.SendTaskSuccess(token, json.RawMessage(output)))
}

func (c executorCallbacks) SendTaskFailure(_ context.Context, token, errorName, cause string) error {
	return ended(c.ex.SendTaskFailure(token, errorName, cause))
}

func ended(err error) error {
	if errors.Is(err, asl.ErrTaskTimedOut) || errors.Is(err, asl.ErrTaskDoesNotExist) {
		return fmt.Errorf("%w: %w", ErrTaskEnded, err)
	}
	return err
}
