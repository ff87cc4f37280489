package cognito

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// filterable are the attributes ListUsers can search, per the API reference. Custom attributes cannot be.
var filterable = map[string]bool{
	"username": true, "email": true, "phone_number": true, "name": true, "given_name": true,
	"family_name": true, "preferred_username": true, "cognito:user_status": true, "status": true, "sub": true,
}

var filterPattern = regexp.MustCompile(`^\s*([\w:]+)\s*(\^=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)

// filter is one parsed `attr = "value"` or `attr ^= "value"` clause.
type filter struct {
	attr   string
	prefix bool
	value  string
	raw    []byte // value as bytes, to compare subs without allocating
}

func parseFilter(s string) (*filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > 256 {
		return nil, errInvalidParameter("1 validation error detected: Value at 'filter' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	m := filterPattern.FindStringSubmatch(s)
	if m == nil {
		return nil, errInvalidParameter("Error while parsing filter.")
	}
	if !filterable[m[1]] {
		return nil, errInvalidParameter("Invalid search attribute: %s", m[1])
	}
	value := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[3])
	return &filter{attr: m[1], prefix: m[2] == "^=", value: value, raw: []byte(value)}, nil
}

func (f *filter) match(u *user) bool {
	var v string
	var buf [36]byte
	switch f.attr {
	case "username":
		v = u.username
	case "sub":
		b := u.subString(&buf)
		if f.prefix {
			return bytes.HasPrefix(b, f.raw)
		}
		return string(b) == f.value
	case "status":
		v = "Disabled"
		if u.enabled {
			v = "Enabled"
		}
	case "cognito:user_status":
		v = statusNames[u.status]
	default:
		var ok bool
		if v, ok = u.get(f.attr); !ok {
			return false
		}
	}
	if f.prefix {
		return strings.HasPrefix(v, f.value)
	}
	return v == f.value
}

// source picks the smallest creation-ordered slice that holds every match: one sub shard for
// `sub ^= "x..."`, so a sharded export pages in O(page size + log n).
func (p *pool) source(f *filter) []*user {
	if f == nil || f.attr != "sub" || f.value == "" {
		return p.all
	}
	c := f.value[0]
	switch {
	case c >= '0' && c <= '9':
		return p.shards[c-'0']
	case c >= 'a' && c <= 'f':
		return p.shards[c-'a'+10]
	}
	return nil
}

// page collects up to limit matches from us after cursor and reports whether more follow.
func page(us []*user, cursor uint64, limit int, match func(*user) bool) (out []*user, more bool) {
	for i := after(us, cursor); i < len(us); i++ {
		u := us[i]
		if u.deleted || (match != nil && !match(u)) {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, u)
	}
	return out, false
}

// Pagination tokens carry the seq of the last user returned, MACed with the emulator's key and
// bound to what they page over, so they are opaque, unforgeable, and survive deletes and inserts.
func (e *Emulator) token(scope string, seq uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return e.sealToken(scope, b[:])
}

func (e *Emulator) cursor(scope string, tok *string) (uint64, error) {
	if tok == nil || *tok == "" {
		return 0, nil
	}
	b, err := e.openToken(scope, *tok)
	if err != nil || len(b) != 8 {
		return 0, errInvalidParameter("Invalid pagination token.")
	}
	return binary.BigEndian.Uint64(b), nil
}

// sealToken appends a MAC to payload and encodes both.
func (e *Emulator) sealToken(scope string, payload []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), payload...), e.mac(scope, payload)...))
}

func (e *Emulator) openToken(scope, tok string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 8 || !hmac.Equal(b[len(b)-8:], e.mac(scope, b[:len(b)-8])) {
		return nil, errInvalidParameter("Invalid pagination token.")
	}
	return b[:len(b)-8], nil
}

func (e *Emulator) mac(scope string, payload []byte) []byte {
	h := hmac.New(sha256.New, e.tokenKey)
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:8]
}

func limitOf(l *int32) (int, error) {
	if l == nil {
		return 60, nil
	}
	if err := checkRange("limit", *l, 0, 60); err != nil {
		return 0, err
	}
	if *l == 0 {
		return 60, nil
	}
	return int(*l), nil
}

func (e *Emulator) listUsers(region string, body []byte) (any, error) {
	var in cip.ListUsersInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit)
	if err != nil {
		return nil, err
	}
	f, err := parseFilter(aws.ToString(in.Filter))
	if err != nil {
		return nil, err
	}
	scope := "ListUsers\x00" + p.id + "\x00" + aws.ToString(in.Filter)
	cur, err := e.cursor(scope, in.PaginationToken)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	var want map[string]bool
	if len(in.AttributesToGet) > 0 {
		want = make(map[string]bool, len(in.AttributesToGet))
		for _, a := range in.AttributesToGet {
			if p.def[a] == nil {
				return nil, errInvalidParameter("One or more requested attributes do not exist.")
			}
			want[a] = true
		}
	}
	var found []*user
	var more bool
	switch {
	case f != nil && f.attr == "username" && !f.prefix:
		// An exact username is one map lookup, not a scan.
		if u := p.userByName(p.nameKey(f.value), false); u != nil && u.seq > cur && (p.caseInsensitive || u.username == f.value) {
			found = []*user{u}
		}
	case f == nil:
		found, more = p.pageMerged(p.all, p.synthCandidates(nil), cur, limit, nil, nil)
	default:
		found, more = p.pageMerged(p.source(f), p.synthCandidates(f), cur, limit, f, f.match)
	}
	out := struct {
		Users           []userJSON
		PaginationToken *string `json:",omitempty"`
	}{Users: make([]userJSON, len(found))}
	for i, u := range found {
		out.Users[i] = toJSON(u, want)
	}
	if more {
		out.PaginationToken = aws.String(e.token(scope, found[len(found)-1].seq))
	}
	return out, nil
}
