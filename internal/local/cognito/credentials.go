package cognito

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

// pbkdf2Iterations is low because this is an emulator that seeds many users; the point is that
// no password is ever kept or logged in the clear.
const pbkdf2Iterations = 1000

// Code lifetimes, as Cognito documents them.
const (
	signUpCodeTTL         = 24 * time.Hour
	forgotPasswordCodeTTL = time.Hour
)

// userAuth is the sign-in state of one user.
type userAuth struct {
	pwSalt, pwHash []byte
	// tempExpires is when a temporary password (FORCE_CHANGE_PASSWORD) stops working, Unix ms.
	tempExpires int64
	// totpSecret is the verified software token; pendingTOTP the one associated but not yet verified.
	totpSecret, pendingTOTP string
	codes                   []pendingCode
}

type pendingCode struct {
	kind    MessageKind
	code    string
	attr    string // the attribute the code was sent to, verified when it is used
	expires time.Time
}

func (u *user) authState() *userAuth {
	if u.auth == nil {
		u.auth = &userAuth{}
	}
	return u.auth
}

// setPassword stores a salted hash of pw; temporary passwords expire after validity.
func (u *user) setPassword(pw string, temporary bool, validity time.Duration, now time.Time) {
	a := u.authState()
	a.pwSalt = make([]byte, 16)
	_, _ = rand.Read(a.pwSalt)
	a.pwHash = hashPassword(pw, a.pwSalt)
	a.tempExpires = 0
	if temporary {
		a.tempExpires = millis(now.Add(validity))
	}
}

func hashPassword(pw string, salt []byte) []byte {
	h, err := pbkdf2.Key(sha256.New, pw, salt, pbkdf2Iterations, 32)
	if err != nil {
		panic("pbkdf2: " + err.Error()) // only for key lengths out of range
	}
	return h
}

func (u *user) hasPassword() bool { return u.auth != nil && len(u.auth.pwHash) > 0 }

func (u *user) checkPassword(pw string) bool {
	if !u.hasPassword() {
		return false
	}
	return hmac.Equal(hashPassword(pw, u.auth.pwSalt), u.auth.pwHash)
}

// addCode replaces any pending code of the same kind: Cognito honours only the newest.
func (u *user) addCode(kind MessageKind, code, attr string, expires time.Time) {
	a := u.authState()
	a.codes = append(a.dropCodes(kind), pendingCode{kind, code, attr, expires})
}

func (a *userAuth) dropCodes(kind MessageKind) []pendingCode {
	out := a.codes[:0]
	for _, c := range a.codes {
		if c.kind != kind {
			out = append(out, c)
		}
	}
	return out
}

// useCode checks a code of kind and consumes it when it matches; it returns the attribute the
// code was sent to.
func (u *user) useCode(kind MessageKind, code string, now time.Time) (string, *apiError) {
	mismatch := newError("CodeMismatchException", "Invalid verification code provided, please try again.")
	if u.auth == nil {
		return "", mismatch
	}
	for _, c := range u.auth.codes {
		if c.kind != kind {
			continue
		}
		if !hmac.Equal([]byte(c.code), []byte(code)) {
			return "", mismatch
		}
		if now.After(c.expires) {
			return "", newError("ExpiredCodeException", "Invalid code provided, please request a code again.")
		}
		u.auth.codes = u.auth.dropCodes(kind)
		return c.attr, nil
	}
	return "", mismatch
}

// newCode returns a six-digit code, as Cognito sends.
func (e *Emulator) newCode() string {
	e.randMu.Lock()
	defer e.randMu.Unlock()
	const digits = "0123456789"
	b := make([]byte, 6)
	for i := range b {
		b[i] = digits[e.rnd.IntN(10)]
	}
	return string(b)
}

// newTemporaryPassword returns a password that satisfies any policy the emulator accepts.
func (e *Emulator) newTemporaryPassword(minLen int) string {
	n := max(minLen, 12) - 4
	return "Aa1!" + e.randomAlnum(n)
}

// newSecret returns a random opaque token (sessions, refresh tokens, client secrets).
func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.TrimRight(base32.StdEncoding.EncodeToString(b), "=")
}

// maskEmail renders an address the way CodeDeliveryDetails.Destination does: a***@e***.
func maskEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	return local[:1] + "***@" + domain[:1] + "***"
}

// maskPhone keeps the last four digits: +*******1234.
func maskPhone(s string) string {
	if len(s) <= 4 {
		return "+***"
	}
	return "+" + strings.Repeat("*", len(s)-5) + s[len(s)-4:]
}

func mask(m Medium, dest string) string {
	if m == MediumEmail {
		return maskEmail(dest)
	}
	return maskPhone(dest)
}

// codeDelivery is CodeDeliveryDetailsType on the wire.
type codeDelivery struct {
	AttributeName  string
	DeliveryMedium Medium
	Destination    string
}

func deliveryOf(m Medium, dest string) *codeDelivery {
	attr := "email"
	if m == MediumSMS {
		attr = "phone_number"
	}
	return &codeDelivery{AttributeName: attr, DeliveryMedium: m, Destination: mask(m, dest)}
}
