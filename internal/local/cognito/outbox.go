package cognito

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"sync"
	"time"
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
