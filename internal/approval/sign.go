package approval

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// MinKeyBytes is the shortest signing key accepted: HMAC-SHA256's own block of security.
const MinKeyBytes = 32

// Signer signs approval links and derives their form tokens with HMAC-SHA256.
type Signer struct{ key []byte }

// NewSigner returns a Signer for key, which must be at least MinKeyBytes long.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("approval signing key is %d bytes, want at least %d", len(key), MinKeyBytes)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Labels keep the link signature and the form token apart: knowing one (a link leaked from a mail
// log) does not give the other (which only the rendered page holds).
const (
	linkLabel = "cognito-dr approval link v1"
	formLabel = "cognito-dr approval form v1"
)

func (s *Signer) mac(label, id string, exp time.Time) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(label + "\n" + id + "\n" + strconv.FormatInt(exp.Unix(), 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Sign is the link signature of approval id expiring at exp.
func (s *Signer) Sign(id string, exp time.Time) string { return s.mac(linkLabel, id, exp) }

// Verify reports, in constant time, whether sig is the link signature of id and exp.
func (s *Signer) Verify(id string, exp time.Time, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(s.Sign(id, exp)))
}

// FormToken is the token the page's form carries; a POST without it is refused.
func (s *Signer) FormToken(id string, exp time.Time) string { return s.mac(formLabel, id, exp) }

// VerifyFormToken reports, in constant time, whether tok is the form token of id and exp.
func (s *Signer) VerifyFormToken(id string, exp time.Time, tok string) bool {
	return hmac.Equal([]byte(tok), []byte(s.FormToken(id, exp)))
}
