// Package localcognito is an in-memory emulator of the Amazon Cognito user pools API
// (cognito-idp, AWS JSON 1.1) for tests and local runs. The real aws-sdk-go-v2 client talks to it
// through a BaseEndpoint override; it answers with AWS's exception names, enforces AWS's default
// request-rate quotas and holds millions of users with cursor paging that does not scan the pool.
//
// It also signs users in: app clients, SignUp/ConfirmSignUp, USER_PASSWORD_AUTH and refresh,
// the NEW_PASSWORD_REQUIRED, MFA_SETUP, SOFTWARE_TOKEN_MFA (RFC 6238), SMS_MFA and EMAIL_OTP
// challenges, ForgotPassword, RS256 tokens with a JWKS, revocation, and PostConfirmation and
// PreTokenGeneration triggers bound to Go functions (RegisterLambda). Messages Cognito would
// send land in an outbox (Outbox, LastCode).
package cognito

import (
	crand "crypto/rand"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure an Emulator. The zero value gives AWS defaults: quotas on, no latency, no faults.
type Options struct {
	// DisableQuotas turns request-rate quotas off at start (see SetQuotas).
	DisableQuotas bool
	// Rates overrides the default rate (requests per second) of some categories; see DefaultRates.
	Rates map[Category]float64
	// DisablePerPoolLimits turns off the 5 RPS per-pool per-operation limit of the pool-resource categories.
	DisablePerPoolLimits bool
	// Latency is added before every answer (see SetLatency).
	Latency time.Duration
	// FailureRate is the fraction of calls, 0..1, answered with InternalErrorException (see SetFailureRate).
	FailureRate float64
	// Seed makes generated ids, subs and injected failures reproducible; 0 picks a random seed.
	Seed uint64
	// Clock gives the dates stored on pools and users; nil means time.Now.
	Clock func() time.Time
	// AccountID is used in pool ARNs; empty means "123456789012".
	AccountID string
	// ImportStartDelay is how long a started import job stays Pending before it runs; 0 means
	// DefaultImportStartDelay, a negative value means no delay.
	ImportStartDelay time.Duration
	// ImportRowDelay is added after each imported row, so tests can watch a job InProgress or
	// stop it midway; 0 means none.
	ImportRowDelay time.Duration
	// LogSink receives the per-row results of import jobs, as Cognito writes them to CloudWatch
	// Logs; nil discards them.
	LogSink LogSink
	// TriggerTimeout is how long a Lambda trigger may run before the calling operation fails
	// as Cognito's does; 0 means Cognito's 5 seconds.
	TriggerTimeout time.Duration
}

// Emulator is an in-memory Cognito user pools service for one AWS account. It is an http.Handler
// and safe for concurrent use.
type Emulator struct {
	clock     func() time.Time
	accountID string
	tokenKey  []byte // keys pagination tokens so they cannot be forged

	quotasOn atomic.Bool
	latency  atomic.Int64
	failures injectedRate // SetFailureRate, per operation
	throttle injectedRate // SetThrottleRate, per quota category
	quotas   *quotas
	outage   atomic.Pointer[outage] // SetOutage

	randMu sync.Mutex
	rnd    *rand.Rand // ids and subs

	loseMu sync.Mutex
	lose   map[string]int // operation -> successful calls whose answer is still to be lost

	mu    sync.RWMutex
	pools map[string]*pool

	imports imports

	auth authState // app clients, sessions, tokens, outbox, triggers

	emails emailQuota // the default sender's daily quota

	takenDomains sync.Map // "region/domain" held by another account (ReserveDomain)

	strictMfaUpdate      atomic.Bool // see SetStrictMfaUpdate
	enabledKeepsModified atomic.Bool // see SetEnableKeepsModified

	stats stats
}

// New returns an Emulator with no pools.
func New(opts Options) *Emulator {
	seed := opts.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	var key [32]byte
	_, _ = crand.Read(key[:])
	e := &Emulator{
		clock:     opts.Clock,
		accountID: opts.AccountID,
		tokenKey:  key[:],
		quotas:    newQuotas(opts.Rates, !opts.DisablePerPoolLimits),
		rnd:       mrand(seed),
		pools:     make(map[string]*pool),
	}
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.accountID == "" {
		e.accountID = "123456789012"
	}
	e.imports.init(opts)
	e.auth.init(opts)
	e.quotasOn.Store(!opts.DisableQuotas)
	e.SetLatency(opts.Latency)
	e.SetFailureRate(opts.FailureRate)
	return e
}

func mrand(seed uint64) *rand.Rand {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], seed^0x9e3779b97f4a7c15)
	return rand.New(rand.NewChaCha8(s))
}

// SetQuotas turns request-rate quotas on or off.
func (e *Emulator) SetQuotas(on bool) { e.quotasOn.Store(on) }

// SetRate changes the quota of one category (requests per second); buckets restart full.
func (e *Emulator) SetRate(c Category, rps float64) { e.quotas.setRate(c, rps) }

// SetEnableKeepsModified makes AdminDisableUser and AdminEnableUser leave UserLastModifiedDate
// as it was. AWS does not document whether they move it; by default the emulator moves it.
func (e *Emulator) SetEnableKeepsModified(keep bool) { e.enabledKeepsModified.Store(keep) }

// SetLatency sets the delay added before every answer.
func (e *Emulator) SetLatency(d time.Duration) { e.latency.Store(int64(d)) }

// SetFailureRate sets the fraction (0..1) of each operation's calls answered with
// InternalErrorException (HTTP 500): counted from this call, every call that takes an operation's
// count of failed calls to floor(calls × f) fails (at 0.1, the 10th, 20th, … ListUsers call), so a
// fault test sees failures of every operation it calls often enough, whatever the order in which
// concurrent calls arrive. Stats counts them in Failed.
func (e *Emulator) SetFailureRate(f float64) { e.failures.set(f) }

// LoseResponses makes the next n calls of op that succeed take effect and then answer
// InternalErrorException (HTTP 500), as when a response is lost on its way back after the write: a
// test fault, not an AWS behaviour. The SDK retries such a call, and the retry meets the state the
// lost call left (a create is answered UsernameExistsException).
func (e *Emulator) LoseResponses(op string, n int) {
	e.loseMu.Lock()
	defer e.loseMu.Unlock()
	if e.lose == nil {
		e.lose = map[string]int{}
	}
	e.lose[op] = n
}

func (e *Emulator) loseResponse(op string) bool {
	e.loseMu.Lock()
	defer e.loseMu.Unlock()
	if e.lose[op] <= 0 {
		return false
	}
	e.lose[op]--
	return true
}

// SetThrottleRate sets the fraction (0..1) of each quota category's calls answered with
// TooManyRequestsException, whether or not the quotas are on and however slowly the caller
// calls: counted from this call, every call that takes a category's count of throttled calls to
// floor(calls × f) is throttled (at 0.1, the 10th, 20th, … call of each category). Stats counts
// them in Throttled, as it counts quota throttling. A test of retries then sees throttling on
// any machine; the quotas only throttle a caller faster than them.
func (e *Emulator) SetThrottleRate(f float64) { e.throttle.set(f) }

// injectedRate is SetThrottleRate's or SetFailureRate's state: the rate and the calls per key
// (category or operation) since it was set.
type injectedRate struct {
	mu    sync.Mutex
	rate  float64
	calls map[string]uint64
}

func (t *injectedRate) set(f float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rate, t.calls = f, map[string]uint64{}
}

// hit counts a call of key and says whether the rate picks it.
func (t *injectedRate) hit(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate <= 0 {
		return false
	}
	n := t.calls[key]
	t.calls[key] = n + 1
	return math.Floor(float64(n+1)*t.rate) > math.Floor(float64(n)*t.rate)
}

// shouldThrottle counts a call of category c and says whether SetThrottleRate throttles it.
func (e *Emulator) shouldThrottle(c Category) bool { return e.throttle.hit(string(c)) }

func (e *Emulator) now() time.Time { return e.clock() }

// shouldFail counts a call of operation op and says whether SetFailureRate fails it.
func (e *Emulator) shouldFail(op string) bool { return e.failures.hit(op) }

// newSub returns a random UUID v4, as Cognito's sub is.
func (e *Emulator) newSub() [16]byte {
	e.randMu.Lock()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], e.rnd.Uint64())
	binary.LittleEndian.PutUint64(b[8:], e.rnd.Uint64())
	e.randMu.Unlock()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (e *Emulator) randomAlnum(n int) string {
	e.randMu.Lock()
	defer e.randMu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[e.rnd.IntN(len(alnum))]
	}
	return string(b)
}
