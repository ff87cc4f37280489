package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// crossOrigin refuses POSTs a browser marks as cross-origin (Sec-Fetch-Site, else Origin vs Host).
var crossOrigin = http.NewCrossOriginProtection()

// deliverTimeout bounds resuming the execution once the decision is recorded; it runs detached
// from the request so an approver closing the tab cannot leave a decision undelivered.
const deliverTimeout = 30 * time.Second

// maxApprover bounds the approver's name as typed into the form.
const maxApprover = 80

// ServeHTTP serves BaseURL/<id>?exp=…&sig=…: GET and HEAD show the plan, POST decides.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No scripts at all, no framing (a framed Approve button invites clickjacking), no caching
	// of a page that holds a form token, no Referer carrying the signed link anywhere.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")

	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		h.Set("Allow", "GET, HEAD, POST")
		s.render(w, view{Status: http.StatusMethodNotAllowed, Kind: "refused", Heading: "Method not allowed",
			Message: "Open the link in a browser and use the Approve or Reject button."})
		return
	}
	id, exp, ok := s.verifyLink(r)
	if !ok {
		s.render(w, view{Status: http.StatusForbidden, Kind: "refused", Heading: "This approval link is not valid",
			Message: "The link is incomplete or was altered. Open the link exactly as it arrived in the approval email."})
		return
	}
	if r.Method == http.MethodPost {
		if err := crossOrigin.Check(r); err != nil {
			s.render(w, view{Status: http.StatusForbidden, Kind: "refused", Heading: "Cross-site request refused",
				Message: "A decision can only be sent from the approval page itself."})
			return
		}
	}
	ctx := r.Context()
	req, err := s.Store.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.render(w, view{Status: http.StatusNotFound, Kind: "refused", Heading: "Approval not found",
			Message: "This approval no longer exists. Ask the operator who started the failback."})
		return
	}
	if err != nil {
		s.fail(w, r, id, "read approval", err)
		return
	}
	switch d, err := s.Store.GetDecision(ctx, id); {
	case err == nil && r.Method == http.MethodPost:
		s.resend(w, r, req, exp, d)
		return
	case err == nil:
		s.decided(w, r, req, d)
		return
	case !errors.Is(err, ErrNotFound):
		s.fail(w, r, id, "read decision", err)
		return
	}
	now := s.now()
	if !now.Before(exp) || !now.Before(req.ExpiresAt) {
		s.render(w, view{Status: http.StatusGone, Kind: "gone", Heading: "This approval link has expired",
			Message: "Nothing was decided. The failback execution " + req.ExecutionName + " times out and must be started again.",
			Req:     &req})
		return
	}
	if r.Method == http.MethodPost {
		s.decide(w, r, req, exp)
		return
	}
	v := view{Status: http.StatusOK, Kind: "pending", Heading: req.Summary.Title, Req: &req,
		FormToken: s.Signer.FormToken(id, exp), ExpiresIn: until(req.ExpiresAt, now)}
	if cf := req.Summary.Changes; cf != nil {
		v.Changes = s.listChanges(ctx, r, id, cf)
	}
	s.render(w, v)
}

// verifyLink checks the id's shape and the signature over id and exp, before anything is read.
func (s *Service) verifyLink(r *http.Request) (id string, exp time.Time, ok bool) {
	id = path.Base(r.URL.Path)
	if !validID(id) {
		return "", time.Time{}, false
	}
	q := r.URL.Query()
	sec, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || sec <= 0 {
		return "", time.Time{}, false
	}
	exp = time.Unix(sec, 0).UTC()
	return id, exp, s.Signer.Verify(id, exp, q.Get("sig"))
}

// readForm parses a POST's form and checks its form token; it answers the request itself and
// returns false when either fails.
func (s *Service) readForm(w http.ResponseWriter, r *http.Request, req Request, exp time.Time) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, view{Status: http.StatusBadRequest, Kind: "refused", Heading: "Bad request", Message: "The form could not be read."})
		return false
	}
	if !s.Signer.VerifyFormToken(req.ID, exp, r.PostForm.Get("token")) {
		s.render(w, view{Status: http.StatusForbidden, Kind: "refused", Heading: "Decision refused",
			Message: "A decision can only be sent from the approval page itself. Reload the link and use its buttons."})
		return false
	}
	return true
}

func (s *Service) decide(w http.ResponseWriter, r *http.Request, req Request, exp time.Time) {
	if !s.readForm(w, r, req, exp) {
		return
	}
	d := Decision{Approver: cleanName(r.PostForm.Get("approver")), DecidedAt: s.now().UTC().Truncate(time.Second),
		SourceIP: sourceIP(r), UserAgent: r.UserAgent()}
	switch r.PostForm.Get("decision") {
	case "approve":
		d.Decision = Approved
	case "reject":
		d.Decision = Rejected
	default:
		s.render(w, view{Status: http.StatusBadRequest, Kind: "refused", Heading: "Bad request", Message: "Choose Approve or Reject."})
		return
	}
	// The conditional write is the lock: of concurrent POSTs exactly one gets past it.
	switch err := s.Store.PutDecision(r.Context(), req.ID, d); {
	case errors.Is(err, ErrAlreadyDecided):
		first, err := s.Store.GetDecision(r.Context(), req.ID)
		if err != nil {
			s.fail(w, r, req.ID, "read decision", err)
			return
		}
		if !first.same(d) {
			s.decided(w, r, req, first)
			return
		}
		// Our own write: S3 applied it but its answer was lost, and the SDK's retry of the
		// conditional write got 412. This request is still the one that decided: deliver it.
		// (A double click in the same second looks the same; its second delivery is a repeat.)
		s.deliverAndShow(w, r, req, d, deliverMaybeRepeat)
		return
	case err != nil:
		s.fail(w, r, req.ID, "record decision", err)
		return
	}
	s.deliverAndShow(w, r, req, d, deliverFirst)
}

// delivery says how a decision comes to be delivered.
type delivery int

const (
	// deliverFirst is the delivery by the request that stored the decision.
	deliverFirst delivery = iota
	// deliverMaybeRepeat is a delivery that may repeat an earlier one: the stored decision
	// equals this request's, which may have been written by an identical request.
	deliverMaybeRepeat
	// deliverAgain sends a stored decision that was not delivered again.
	deliverAgain
)

// resend answers a POST to a decided approval. A decision that was stored but never delivered
// (Step Functions refused or did not answer the callback, or the page died between the two) is
// sent again as stored, whatever this POST asks: the first decision stands, and the execution
// must not wait for a decision it will never get. A delivered one, or one whose delivery may
// still be under way, is only shown.
func (s *Service) resend(w http.ResponseWriter, r *http.Request, req Request, exp time.Time, d Decision) {
	if !s.readForm(w, r, req, exp) {
		return
	}
	if !s.undelivered(r.Context(), req.ID, d) {
		s.decided(w, r, req, d)
		return
	}
	s.deliverAndShow(w, r, req, d, deliverAgain)
}

// undelivered reports whether decision d of approval id is known not to have reached Step
// Functions: its outcome says so, or no outcome was recorded although the delivery that follows
// the decision has had all of its time (deliverTimeout bounds both the callback and the write of
// the outcome).
func (s *Service) undelivered(ctx context.Context, id string, d Decision) bool {
	o, err := s.Store.GetOutcome(ctx, id)
	switch {
	case err == nil:
		return !o.Delivered && !o.ExecutionEnded
	case errors.Is(err, ErrNotFound):
		return s.now().Sub(d.DecidedAt) > deliverTimeout+time.Second
	}
	return false
}

// delivered reports whether approval id's outcome says its decision reached Step Functions.
func (s *Service) delivered(ctx context.Context, id string) bool {
	o, err := s.Store.GetOutcome(ctx, id)
	return err == nil && o.Delivered
}

// deliverAndShow resumes the execution with decision d, records the outcome and renders it.
// Step Functions answers a delivery that repeats one which did arrive as it answers a late one
// (TaskTimedOut: "expired or already closed"): for a delivery that may repeat another, the page
// says both, and an outcome already recorded as delivered stays.
func (s *Service) deliverAndShow(w http.ResponseWriter, r *http.Request, req Request, d Decision, how delivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), deliverTimeout)
	defer cancel()
	err := s.deliver(ctx, req, d)
	again := how == deliverAgain || how == deliverMaybeRepeat && errors.Is(err, ErrTaskEnded)
	out := Outcome{Delivered: err == nil, ExecutionEnded: errors.Is(err, ErrTaskEnded), Resent: again}
	if err != nil {
		out.Error = redact(err.Error(), req.TaskToken)
	}
	var putErr error
	if !again || !out.ExecutionEnded || !s.delivered(ctx, req.ID) {
		putErr = s.Store.PutOutcome(ctx, req.ID, out)
	}
	attrs := []any{slog.String("approval", req.ID), slog.String("execution", req.ExecutionName),
		slog.String("decision", d.Decision), slog.Bool("delivered", out.Delivered), slog.Bool("execution_ended", out.ExecutionEnded),
		slog.Bool("resent", again)}
	if out.Error != "" {
		attrs = append(attrs, slog.String("error", out.Error))
	}
	if putErr != nil {
		attrs = append(attrs, slog.String("outcome_error", redact(putErr.Error(), req.TaskToken)))
	}
	s.log().InfoContext(ctx, "approval decided", attrs...)

	v := view{Req: &req, Decision: &d}
	switch {
	case out.ExecutionEnded && again:
		v.Status, v.Kind, v.Heading = http.StatusGone, "gone", "The execution no longer waits for this decision"
		v.Message = "The decision below was sent again. Step Functions answered that execution " + req.ExecutionName +
			" is no longer waiting for it: an earlier delivery resumed it, or it ended first. Its history says which."
	case out.ExecutionEnded:
		v.Status, v.Kind, v.Heading = http.StatusGone, "gone", "This approval expired; the execution ended"
		v.Message = "Your decision was recorded but had no effect: execution " + req.ExecutionName + " is no longer waiting for it."
	case err != nil:
		v.Status, v.Kind, v.Heading = http.StatusBadGateway, "error", "Decision recorded, but the execution was not resumed"
		v.Message = "Step Functions did not accept the decision. The execution keeps waiting until it times out; an operator can " +
			"resume it with the task token in approvals/" + req.ID + "/request.json of the plan bucket."
	case how == deliverAgain:
		v.Status, v.Kind, v.Heading = http.StatusOK, "done", "Decision delivered"
		v.Message = "The decision below had been recorded but had not reached execution " + req.ExecutionName + "; it was sent again now."
	case d.Decision == Approved:
		v.Status, v.Kind, v.Heading = http.StatusOK, "done", "Approved"
		v.Message = "Execution " + req.ExecutionName + " continues with the failback."
	default:
		v.Status, v.Kind, v.Heading = http.StatusOK, "done", "Rejected"
		v.Message = "Execution " + req.ExecutionName + " stops with " + RejectedError + "; nothing changes in the primary pool."
	}
	s.render(w, v)
}

func (s *Service) deliver(ctx context.Context, req Request, d Decision) error {
	at := d.DecidedAt.Format(time.RFC3339)
	if d.Decision == Rejected {
		return s.Callbacks.SendTaskFailure(ctx, req.TaskToken, RejectedError, fmt.Sprintf("rejected by %s at %s", d.Approver, at))
	}
	out, err := json.Marshal(struct {
		Decision  string `json:"decision"`
		Approver  string `json:"approver"`
		DecidedAt string `json:"decidedAt"`
	}{d.Decision, d.Approver, at})
	if err != nil {
		return err
	}
	return s.Callbacks.SendTaskSuccess(ctx, req.TaskToken, string(out))
}

// decided answers any request for an approval that has a decision: 409, or 410 when the decision
// came too late for the execution.
func (s *Service) decided(w http.ResponseWriter, r *http.Request, req Request, d Decision) {
	v := view{Status: http.StatusConflict, Kind: "decided", Heading: "Already decided", Req: &req, Decision: &d,
		Message: "This approval was already answered; a link works once."}
	switch o, err := s.Store.GetOutcome(r.Context(), req.ID); {
	case err != nil:
		// No outcome yet: the decision is being delivered, or its delivery was cut short.
	case o.ExecutionEnded && o.Resent:
		v.Status, v.Kind, v.Heading = http.StatusGone, "gone", "The execution no longer waits for this decision"
		v.Message = "When the decision below was sent again, execution " + req.ExecutionName + " was no longer waiting for it: an earlier delivery resumed it, or it ended first."
	case o.ExecutionEnded:
		v.Status, v.Kind, v.Heading = http.StatusGone, "gone", "This approval expired; the execution ended"
		v.Message = "The decision below came after execution " + req.ExecutionName + " stopped waiting, so it had no effect."
	case !o.Delivered:
		v.Message += " Step Functions did not accept the decision below; execution " + req.ExecutionName +
			" waits until it times out unless it is sent again."
	}
	if s.undelivered(r.Context(), req.ID, d) {
		// The form resends the stored decision; what it posts as "decision" is ignored.
		v.Resend = true
		v.FormToken = s.Signer.FormToken(req.ID, req.ExpiresAt)
	}
	s.render(w, v)
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, id, op string, err error) {
	s.log().ErrorContext(r.Context(), "approval page failed", slog.String("approval", id), slog.String("op", op), slog.String("error", err.Error()))
	s.render(w, view{Status: http.StatusInternalServerError, Kind: "error", Heading: "Something went wrong",
		Message: "Nothing was decided by this request. Try again in a minute."})
}

// cleanName keeps what an approver typed printable and short; the page escapes it anyway.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return -1
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if rs := []rune(s); len(rs) > maxApprover {
		s = string(rs[:maxApprover])
	}
	if s == "" {
		return "anonymous"
	}
	return s
}

func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// redact removes the task token from an error message before it is stored or logged.
func redact(msg, token string) string {
	if token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, token, "<task token>")
}

// until is a short "2h 05m" for how long a link stays valid.
func until(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh %02dm", h, m)
}
