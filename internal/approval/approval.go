// Package approval is the human approval gate of the failback workflow. A Step Functions task
// waiting on .waitForTaskToken calls [Service.Create], which stores the task token server-side and
// returns a signed, expiring link to mail to the approvers. The link opens a page that summarises
// the plan; a POST from its Approve or Reject button records the decision exactly once (an S3
// conditional write) and resumes the execution with SendTaskSuccess or SendTaskFailure.
//
// Security properties:
//   - A GET (or HEAD) never decides: mail scanners and link previews follow links.
//   - A link carries an approval id (128 random bits), its expiry and an HMAC-SHA256 signature of
//     both. It never carries the task token, which only the bucket holds.
//   - A POST needs the link's signature, a form token only the rendered page holds (an HMAC of the
//     id and expiry under a separate label), and must not be cross-origin by its browser's
//     Sec-Fetch-Site/Origin headers ([http.CrossOriginProtection]).
//   - Only the first decision counts: decision.json is written with If-None-Match: *, so of two
//     concurrent POSTs exactly one resumes the execution; the other sees "already decided".
//   - A stored decision reaches the execution: a write whose answer was lost (the SDK's retry gets
//     412) delivers its own decision, and one stored but not delivered is sent again, as stored,
//     by a POST from the page once its first delivery failed or ran out of time.
//   - A summary's changes file is listed in full, page by page (?page=N on the signed link), and
//     checked against the SHA-256 the approval binds: a changed file offers no Approve button.
//
// Statuses: 403 forged, tampered or cross-site; 404 unknown id (with a valid signature: deleted);
// 405 other methods; 409 already decided; 410 link expired or the execution already ended.
package approval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// LocalPath is where the local stack serves approval pages (see localaws.Stack.Handle).
const LocalPath = "/_local/approvals/"

// Fact is one labelled figure of a plan, e.g. {"Users to import", "1,204"}.
type Fact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Sample is a labelled list of example usernames, e.g. the first users each action touches.
// Names come from user pools and may contain anything; the page escapes them.
type Sample struct {
	Label string   `json:"label"`
	Names []string `json:"names"`
}

// Summary is what the approver sees: enough to decide in a few seconds.
type Summary struct {
	// Title names the decision, e.g. "Fail back tokyo-users to ap-northeast-1".
	Title string `json:"title"`
	// Effect says in one sentence what approving does to the primary pool.
	Effect string `json:"effect"`
	// Facts are counts by action, rejects and anything else worth a number.
	Facts []Fact `json:"facts,omitempty"`
	// Samples are example usernames per action.
	Samples []Sample `json:"samples,omitempty"`
	// PlanKey is the S3 key of the full plan, for whoever wants the detail.
	PlanKey string `json:"planKey,omitempty"`
	// Changes, if set, is the file of every change the plan makes to users by API, which the
	// page lists in full, page by page, from S3.
	Changes *ChangesFile `json:"changes,omitempty"`
	// Bound are the files this approval binds, as they were when it was requested: the
	// workflow refuses to act on any that changed since.
	Bound []s3stream.Object `json:"bound,omitempty"`
}

// ChangesFile locates a gzip JSON-lines file of Change records, with its size and SHA-256.
type ChangesFile struct {
	Bucket string `json:"bucket"`
	s3stream.Object
}

// Change is one line of a ChangesFile: one change to one user, as the page lists it. Names,
// attribute values and groups are user data: they are shown on the signed page only, never
// logged or mailed.
type Change struct {
	Kind string `json:"kind"`
	// Key names the user.
	Key string `json:"key"`
	// Set are attributes and their new values; Unset attributes are removed; Was are the values
	// before the change of the attributes Set and Unset name (absent: the user has none).
	Set   map[string]string `json:"set,omitempty"`
	Unset []string          `json:"unset,omitempty"`
	Was   map[string]string `json:"was,omitempty"`
	// Group is the group an add-to-group change adds the user to.
	Group string `json:"group,omitempty"`
}

// Request is a pending approval as stored in approvals/<id>/request.json.
type Request struct {
	ID            string    `json:"id"`
	TaskToken     string    `json:"taskToken"`
	ExecutionName string    `json:"executionName"`
	Summary       Summary   `json:"summary"`
	CreatedAt     time.Time `json:"createdAt"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// Decision values.
const (
	Approved = "APPROVED"
	Rejected = "REJECTED"
)

// RejectedError is the error name SendTaskFailure reports for a rejection, for the ASL's Catch.
const RejectedError = "ApprovalRejected"

// Decision is the approver's answer as stored, once, in approvals/<id>/decision.json.
type Decision struct {
	Decision  string    `json:"decision"`
	Approver  string    `json:"approver"`
	DecidedAt time.Time `json:"decidedAt"`
	// SourceIP and UserAgent are kept for the audit trail.
	SourceIP  string `json:"sourceIp,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// same reports whether d and o are one decision: the same request's write, seen again.
func (d Decision) same(o Decision) bool {
	return d.Decision == o.Decision && d.Approver == o.Approver && d.DecidedAt.Equal(o.DecidedAt) &&
		d.SourceIP == o.SourceIP && d.UserAgent == o.UserAgent
}

// Outcome records what resuming the execution gave, in approvals/<id>/outcome.json. The last
// delivery attempt writes it.
type Outcome struct {
	// Delivered is true when Step Functions accepted the decision.
	Delivered bool `json:"delivered"`
	// ExecutionEnded is true when the task had already timed out or ended.
	ExecutionEnded bool   `json:"executionEnded,omitempty"`
	Error          string `json:"error,omitempty"`
	// Resent is true when this attempt sent a stored, undelivered decision again.
	Resent bool `json:"resent,omitempty"`
}

// Service creates approvals and serves their pages. Every field but Now and Log is required.
type Service struct {
	Store     Store
	Signer    *Signer
	Callbacks Callbacks
	// BaseURL is the public URL of the handler; links are BaseURL/<id>?exp=…&sig=….
	BaseURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives one line per decision; nil discards. Tokens and links are never logged.
	Log *slog.Logger
	// Files reads a summary's changes file; nil means the client of Store when it is an S3Store.
	Files s3stream.GetObjectAPI
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Create stores a pending approval for the task holding token and returns the link to mail. ttl
// should not outlast the task's TimeoutSeconds, or the link outlives the token.
func (s *Service) Create(ctx context.Context, token, execution string, sum Summary, ttl time.Duration) (string, error) {
	if token == "" {
		return "", errors.New("create approval: task token is empty")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("create approval for %s: ttl %v is not positive", execution, ttl)
	}
	id, err := newID()
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	// Whole seconds, as the link carries them, so the stored and signed expiries agree.
	exp := now.Add(ttl).Truncate(time.Second)
	req := Request{ID: id, TaskToken: token, ExecutionName: execution, Summary: sum, CreatedAt: now, ExpiresAt: exp}
	if err := s.Store.PutRequest(ctx, req); err != nil {
		return "", fmt.Errorf("create approval for %s: %w", execution, err)
	}
	return s.Link(id, exp), nil
}

// Link is the signed URL of approval id expiring at exp.
func (s *Service) Link(id string, exp time.Time) string {
	q := url.Values{}
	q.Set("exp", strconv.FormatInt(exp.Unix(), 10))
	q.Set("sig", s.Signer.Sign(id, exp))
	return strings.TrimSuffix(s.BaseURL, "/") + "/" + id + "?" + q.Encode()
}

// idBytes is 128 bits: unguessable, and short enough for a readable S3 key.
const idBytes = 16

func newID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("approval id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validID reports whether id has the shape newID gives, so nothing else reaches an S3 key.
func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
