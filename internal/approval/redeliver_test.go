package approval

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
)

// loseFirstResponse is a client transport that lets the first PUT of a decision.json reach
// the local S3, which applies it, and then loses the answer, as a dropped connection would: the
// SDK retries the conditional write and S3 answers 412 PreconditionFailed.
type loseFirstResponse struct {
	mu   sync.Mutex
	lost int
}

func (l *loseFirstResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/decision.json") {
		return resp, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost > 0 {
		return resp, nil
	}
	l.lost++
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("read tcp 127.0.0.1:50000->127.0.0.1:9000: read: connection reset by peer")
}

func TestDecisionWhoseWriteAnswerWasLostIsDelivered(t *testing.T) {
	f := newFixture(t)
	lose := &loseFirstResponse{}
	f.store.Client = s3.NewFromConfig(f.stack.AWSConfig("ap-northeast-3"), f.stack.S3Options, func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: lose}
	})
	link := f.create(t, summary)
	code, body := f.decide(t, link, "approve", "Aiko")
	if lose.lost != 1 {
		t.Fatalf("the fault never fired (lost %d answers)", lose.lost)
	}
	if code != http.StatusOK || !strings.Contains(body, "Approved") {
		t.Fatalf("approve whose first answer was lost = %d:\n%s", code, body)
	}
	want := []string{`{"decision":"APPROVED","approver":"Aiko","decidedAt":"2026-11-27T09:00:00Z"}`}
	if diff := cmp.Diff(want, f.cb.success); diff != "" {
		t.Errorf("SendTaskSuccess outputs (-want +got):\n%s", diff)
	}
	if o, err := f.store.GetOutcome(t.Context(), idOf(t, link)); err != nil || !o.Delivered {
		t.Errorf("outcome = %+v, %v; want delivered", o, err)
	}
	// Another approver's POST afterwards changes nothing and sends nothing.
	tok := f.svc.Signer.FormToken(idOf(t, link), epoch.Add(time.Hour))
	if code, _ := f.do(t, http.MethodPost, link, url.Values{"token": {tok}, "decision": {"reject"}, "approver": {"Ben"}}); code != http.StatusConflict {
		t.Errorf("second POST = %d, want 409", code)
	}
	if n := f.cb.calls(); n != 1 {
		t.Errorf("%d callbacks, want 1", n)
	}
}

func TestStoredUndeliveredDecisionIsSentAgain(t *testing.T) {
	for _, decision := range []string{"approve", "reject"} {
		t.Run(decision, func(t *testing.T) {
			f := newFixture(t)
			f.cb.fail = fmt.Errorf("operation error SFN: SendTaskSuccess, https response error StatusCode: 500, InternalServerError")
			link := f.create(t, summary)
			if code, _ := f.decide(t, link, decision, "Aiko"); code != http.StatusBadGateway {
				t.Fatalf("decide with a failing callback = %d, want 502", code)
			}
			// The page offers to send the stored decision again.
			code, page := f.do(t, http.MethodGet, link, nil)
			if code != http.StatusConflict || !strings.Contains(page, `id="resend"`) {
				t.Fatalf("GET of an undelivered decision = %d, want 409 with a resend button:\n%s", code, page)
			}
			tok := f.svc.Signer.FormToken(idOf(t, link), epoch.Add(time.Hour))

			// Step Functions works again. A POST, whatever it asks, sends the stored decision.
			f.cb.fail = nil
			other := map[string]string{"approve": "reject", "reject": "approve"}[decision]
			code, body := f.do(t, http.MethodPost, link, url.Values{"token": {tok}, "decision": {other}, "approver": {"Ben"}}, "Sec-Fetch-Site", "same-origin")
			if code != http.StatusOK || !strings.Contains(body, "sent again") || !strings.Contains(body, "Aiko") {
				t.Fatalf("resend = %d:\n%s", code, body)
			}
			f.cb.mu.Lock()
			success, failures := append([]string(nil), f.cb.success...), append([][2]string(nil), f.cb.failures...)
			f.cb.mu.Unlock()
			if decision == "approve" {
				want := `{"decision":"APPROVED","approver":"Aiko","decidedAt":"2026-11-27T09:00:00Z"}`
				if diff := cmp.Diff([]string{want, want}, success); diff != "" || len(failures) != 0 {
					t.Errorf("SendTaskSuccess outputs (-want +got):\n%s\nfailures %v", diff, failures)
				}
			} else {
				want := [2]string{RejectedError, "rejected by Aiko at 2026-11-27T09:00:00Z"}
				if diff := cmp.Diff([][2]string{want, want}, failures); diff != "" || len(success) != 0 {
					t.Errorf("SendTaskFailure calls (-want +got):\n%s\nsuccesses %v", diff, success)
				}
			}
			if o, err := f.store.GetOutcome(t.Context(), idOf(t, link)); err != nil || !o.Delivered || !o.Resent {
				t.Errorf("outcome = %+v, %v; want delivered on resend", o, err)
			}
			// Delivered now: no more resends.
			n := f.cb.calls()
			if code, page := f.do(t, http.MethodPost, link, url.Values{"token": {tok}, "decision": {decision}}, "Sec-Fetch-Site", "same-origin"); code != http.StatusConflict || strings.Contains(page, `id="resend"`) {
				t.Errorf("POST after delivery = %d, want 409 without a resend button", code)
			}
			if f.cb.calls() != n {
				t.Errorf("a delivered decision was sent again")
			}
		})
	}
}

// TestDecisionWithNoOutcomeIsSentAgainOnlyAfterItsDelivery: a page that died between storing the
// decision and recording the outcome left no outcome. While the first delivery may still be
// under way nothing is resent; once its time is up, the stored decision is.
func TestDecisionWithNoOutcomeIsSentAgainOnlyAfterItsDelivery(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, summary)
	id := idOf(t, link)
	if err := f.store.PutDecision(t.Context(), id, Decision{Decision: Approved, Approver: "Aiko", DecidedAt: epoch}); err != nil {
		t.Fatal(err)
	}
	tok := f.svc.Signer.FormToken(id, epoch.Add(time.Hour))
	post := func() (int, string) {
		return f.do(t, http.MethodPost, link, url.Values{"token": {tok}, "decision": {"resend"}}, "Sec-Fetch-Site", "same-origin")
	}
	f.clock.Advance(deliverTimeout / 2)
	if code, page := post(); code != http.StatusConflict || strings.Contains(page, `id="resend"`) || f.cb.calls() != 0 {
		t.Fatalf("POST during the first delivery = %d with %d callbacks, want 409 and none", code, f.cb.calls())
	}
	f.clock.Advance(deliverTimeout)
	if code, _ := f.do(t, http.MethodGet, link, nil); code != http.StatusConflict {
		t.Fatalf("GET = %d", code)
	}
	if code, body := post(); code != http.StatusOK || len(f.cb.success) != 1 {
		t.Fatalf("POST after the first delivery's time = %d with %d successes:\n%s", code, len(f.cb.success), body)
	}
}

// TestResentDecisionTheExecutionNoLongerWaitsFor: the first delivery did arrive but its answer
// was lost; Step Functions answers the resend as for a closed task.
func TestResentDecisionTheExecutionNoLongerWaitsFor(t *testing.T) {
	f := newFixture(t)
	f.cb.fail = errors.New("send task success: connection reset")
	link := f.create(t, summary)
	f.decide(t, link, "approve", "Aiko")
	f.cb.fail = fmt.Errorf("send task success: %w: TaskTimedOut", ErrTaskEnded)
	tok := f.svc.Signer.FormToken(idOf(t, link), epoch.Add(time.Hour))
	code, body := f.do(t, http.MethodPost, link, url.Values{"token": {tok}, "decision": {"resend"}}, "Sec-Fetch-Site", "same-origin")
	if code != http.StatusGone || !strings.Contains(body, "an earlier delivery resumed it") {
		t.Fatalf("resend to a closed task = %d:\n%s", code, body)
	}
	if code, body := f.do(t, http.MethodGet, link, nil); code != http.StatusGone || strings.Contains(body, `id="resend"`) {
		t.Errorf("GET afterwards = %d, want 410 without a resend button:\n%s", code, body)
	}
}
