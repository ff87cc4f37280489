package cognito

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpOpts are Cognito's TOTP parameters (RFC 6238): 30-second steps, six digits, SHA-1, and
// one step either side accepted for clock drift.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPCode returns the code an authenticator app shows at t for secret (the SecretCode of
// AssociateSoftwareToken, or SoftwareTokenSecret).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

func validTOTP(secret, code string, t time.Time) bool {
	ok, err := totp.ValidateCustom(code, secret, t, totpOpts)
	return err == nil && ok
}

// newTOTPSecret returns a 160-bit secret in base32 (32 characters), the shape of Cognito's SecretCode.
func newTOTPSecret() string { return newSecret(20) }

// totpSecret returns the user's verified TOTP secret. Seeded users marked HasSoftwareToken get a
// secret derived from the emulator key, pool and sub, so millions of them cost nothing until one
// signs in.
func (e *Emulator) totpSecret(p *pool, u *user) string {
	if u.auth != nil && u.auth.totpSecret != "" {
		return u.auth.totpSecret
	}
	if !u.softwareToken {
		return ""
	}
	m := hmac.New(sha256.New, e.tokenKey)
	m.Write([]byte("totp/" + p.id + "/"))
	m.Write(u.sub[:])
	return base32.StdEncoding.EncodeToString(m.Sum(nil)[:20])
}

// SoftwareTokenSecret returns the verified TOTP secret of the user that username names (a
// username, alias or sub), so a test can compute codes with TOTPCode; false if the user has none.
func (e *Emulator) SoftwareTokenSecret(poolID, username string) (string, bool) {
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	if p == nil {
		return "", false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	u := p.lookup(username)
	if u == nil {
		return "", false
	}
	s := e.totpSecret(p, u)
	return s, s != ""
}
