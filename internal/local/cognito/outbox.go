package cognito

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// DefaultTriggerTimeout is how long Cognito waits for a Lambda trigger before it fails the call.
const DefaultTriggerTimeout = 5 * time.Second

// maxOutbox bounds the outbox so long local runs do not grow without limit; the oldest go first.
const maxOutbox = 100_000

// Medium is how Cognito delivers a message.
type Medium string

// Delivery media, as Cognito names them in CodeDeliveryDetails.
const (
	MediumEmail Medium = "EMAIL"
	MediumSMS   Medium = "SMS"
)

// MessageKind says why Cognito sent a message.
type MessageKind string

// The messages the emulator records instead of sending.
const (
	// KindSignUp carries the sign-up confirmation code (SignUp, ResendConfirmationCode).
	KindSignUp MessageKind = "SIGN_UP"
	// KindForgotPassword carries the ForgotPassword code.
	KindForgotPassword MessageKind = "FORGOT_PASSWORD"
	// KindSMSMFA carries an SMS_MFA sign-in code.
	KindSMSMFA MessageKind = "SMS_MFA"
	// KindEmailOTP carries an EMAIL_OTP sign-in code.
	KindEmailOTP MessageKind = "EMAIL_OTP"
	// KindInvitation is AdminCreateUser's invitation; Code is the temporary password.
	KindInvitation MessageKind = "INVITATION"
)

// Message is one email or SMS Cognito would have sent. The emulator keeps them in an outbox so
// tests can read codes; nothing leaves the process.
type Message struct {
	PoolID      string
	Username    string // the user's username (a UUID in pools with UsernameAttributes)
	Destination string // the email address or phone number
	Medium      Medium
	Kind        MessageKind
	Code        string // the code, or the temporary password of an invitation
	Time        time.Time
}

// LambdaFunc is a Lambda function as Cognito invokes it: the trigger event in, the event
// (with its response filled in) out.
type LambdaFunc func(ctx context.Context, event json.RawMessage) (json.RawMessage, error)

// authState is the emulator's state for sign-in: app clients, sessions, issued tokens, the
// outbox and the Lambda functions bound to trigger ARNs. Its lock is taken after a pool's lock,
// never before, and never held while a trigger runs.
type authState struct {
	triggerTimeout time.Duration

	mu       sync.Mutex
	clients  map[string]*appClient // by client id
	sessions map[string]*session
	grants   grants
	outbox   []Message
	lambdas  map[string]LambdaFunc

	keyOnce sync.Once
	key     *rsa.PrivateKey
}

func (a *authState) init(opts Options) {
	a.triggerTimeout = opts.TriggerTimeout
	if a.triggerTimeout <= 0 {
		a.triggerTimeout = DefaultTriggerTimeout
	}
	a.clients = map[string]*appClient{}
	a.sessions = map[string]*session{}
	a.lambdas = map[string]LambdaFunc{}
	a.grants.init()
}

// send records a message in the outbox.
func (e *Emulator) send(m Message) {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	if len(e.auth.outbox) >= maxOutbox {
		e.auth.outbox = append(e.auth.outbox[:0], e.auth.outbox[len(e.auth.outbox)/2:]...)
	}
	e.auth.outbox = append(e.auth.outbox, m)
}

// Outbox returns a copy of every message recorded so far, oldest first.
func (e *Emulator) Outbox() []Message {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	return append([]Message(nil), e.auth.outbox...)
}

// LastCode returns the code of the newest message of kind sent to the user that username names
// in the pool (a username, sign-in alias such as the email, or sub); false if there is none.
func (e *Emulator) LastCode(poolID, username string, kind MessageKind) (string, bool) {
	name := username
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	if p != nil {
		p.mu.RLock()
		if u := p.lookup(username); u != nil {
			name = u.username
		}
		p.mu.RUnlock()
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	for i := len(e.auth.outbox) - 1; i >= 0; i-- {
		m := e.auth.outbox[i]
		if m.PoolID == poolID && m.Kind == kind && (m.Username == name || m.Username == username) {
			return m.Code, true
		}
	}
	return "", false
}

// RegisterLambda binds a Lambda function ARN to fn, so the pools whose LambdaConfig names the ARN
// invoke fn as Cognito invokes the function. Registering an ARN again replaces its function.
func (e *Emulator) RegisterLambda(arn string, fn LambdaFunc) {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	e.auth.lambdas[arn] = fn
}

// SetTriggerTimeout changes how long a trigger may run before the calling operation fails
// (Cognito: 5 seconds); d <= 0 restores the default.
func (e *Emulator) SetTriggerTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTriggerTimeout
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	e.auth.triggerTimeout = d
}

// KindVerifyAttribute carries the code that verifies a changed email or phone number
// (AdminUpdateUserAttributes without the matching *_verified=true).
const KindVerifyAttribute MessageKind = "VERIFY_ATTRIBUTE"

// DefaultDailyEmails is how many emails Cognito's default sender (EmailSendingAccount
// COGNITO_DEFAULT, also when a pool has no EmailConfiguration) sends a day per account; the
// count resets at 09:00 UTC. Pools that send with SES (DEVELOPER) are not limited by it.
const DefaultDailyEmails = 50

// emailQuota counts the account's emails sent by Cognito's default sender in the current day.
type emailQuota struct {
	mu     sync.Mutex
	limit  int       // 0 means DefaultDailyEmails, negative means unlimited
	window time.Time // start of the day being counted (09:00 UTC)
	sent   int
}

// SetDailyEmailLimit changes the account's daily quota of emails sent by Cognito's default
// sender; 0 restores DefaultDailyEmails, a negative n lifts it.
func (e *Emulator) SetDailyEmailLimit(n int) {
	e.emails.mu.Lock()
	defer e.emails.mu.Unlock()
	e.emails.limit = n
}

// cognitoSendsEmail reports whether the pool's email goes through Cognito's default sender.
func (p *pool) cognitoSendsEmail() bool {
	c := p.cfg.EmailConfiguration
	return c == nil || c.EmailSendingAccount == "" || c.EmailSendingAccount == types.EmailSendingAccountTypeCognitoDefault
}

// takeEmails counts n emails the pool is about to send against the daily quota, or refuses them
// all as Cognito does once the day's quota is spent. Callers check before they change anything.
func (e *Emulator) takeEmails(p *pool, n int) error {
	if n == 0 || !p.cognitoSendsEmail() {
		return nil
	}
	q := &e.emails
	q.mu.Lock()
	defer q.mu.Unlock()
	limit := q.limit
	if limit == 0 {
		limit = DefaultDailyEmails
	}
	if limit < 0 {
		return nil
	}
	now := e.now().UTC()
	w := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC)
	if now.Before(w) {
		w = w.AddDate(0, 0, -1)
	}
	if !w.Equal(q.window) {
		q.window, q.sent = w, 0
	}
	if q.sent+n > limit {
		return newError("LimitExceededException", "Exceeded daily email limit for the operation or the account. If a higher limit is required, please configure your user pool to use your own Amazon SES configuration for sending email.")
	}
	q.sent += n
	return nil
}

// takeEmailFor is takeEmails for one message sent by medium m.
func (e *Emulator) takeEmailFor(p *pool, m Medium) error {
	if m != MediumEmail {
		return nil
	}
	return e.takeEmails(p, 1)
}

// invitationEmails is how many emails invite would send u.
func invitationEmails(u *user, mediums []types.DeliveryMediumType) int {
	if v, ok := u.get("email"); ok && strings.TrimSpace(v) != "" && slices.Contains(mediums, types.DeliveryMediumTypeEmail) {
		return 1
	}
	return 0
}

// verifyChangedContacts handles an email or phone number that AdminUpdateUserAttributes changes
// without setting its *_verified flag to true in the same call: if the pool auto-verifies the
// attribute Cognito sends a code to the new value, and if the pool keeps the original value
// until it is verified (AttributesRequireVerificationBeforeUpdate) the update leaves the old,
// still verified value in place. vals is the update, edited in place; the caller holds p.mu
// and has not changed u yet.
func (e *Emulator) verifyChangedContacts(p *pool, u *user, vals map[string]string) error {
	type send struct {
		m          Medium
		dest, attr string
	}
	var sends []send
	keep := map[string]bool{}
	if s := p.cfg.UserAttributeUpdateSettings; s != nil {
		for _, a := range s.AttributesRequireVerificationBeforeUpdate {
			keep[string(a)] = true
		}
	}
	for _, c := range []struct {
		field, flag string
		m           Medium
	}{{"email", "email_verified", MediumEmail}, {"phone_number", "phone_number_verified", MediumSMS}} {
		v, changed := vals[c.field]
		old, had := u.get(c.field)
		if !changed || (had && old == v) || strings.EqualFold(vals[c.flag], "true") {
			continue
		}
		if !slices.Contains(p.cfg.AutoVerifiedAttributes, types.VerifiedAttributeType(c.field)) {
			continue
		}
		sends = append(sends, send{c.m, v, c.field})
		if keep[c.field] && had {
			delete(vals, c.field)
			delete(vals, c.flag)
		}
	}
	n := 0
	for _, s := range sends {
		if s.m == MediumEmail {
			n++
		}
	}
	if err := e.takeEmails(p, n); err != nil {
		return err
	}
	for _, s := range sends {
		e.sendCode(p, u, KindVerifyAttribute, s.m, s.dest, s.attr, 24*time.Hour)
	}
	return nil
}
