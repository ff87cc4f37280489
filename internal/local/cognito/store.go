package cognito

import (
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// User statuses, as AWS names them.
var statusNames = []string{"UNCONFIRMED", "CONFIRMED", "EXTERNAL_PROVIDER", "RESET_REQUIRED", "FORCE_CHANGE_PASSWORD", "UNKNOWN", "ARCHIVED", "COMPROMISED"}

const (
	statusUnconfirmed         = 0
	statusConfirmed           = 1
	statusForceChangePassword = 4
)

func parseStatus(s string) (uint8, bool) {
	for i, n := range statusNames {
		if n == s {
			return uint8(i), true
		}
	}
	return 0, false
}

// MFA factor bits.
const (
	mfaSMS uint8 = 1 << iota
	mfaTOTP
	mfaEmail
)

var mfaNames = []struct {
	bit  uint8
	name string
}{{mfaSMS, "SMS_MFA"}, {mfaTOTP, "SOFTWARE_TOKEN_MFA"}, {mfaEmail, "EMAIL_OTP"}}

type attr struct{ name, value string }

// user is kept small because pools hold millions: the sub is 16 bytes rendered on demand,
// attribute names share the schema's strings, dates are Unix milliseconds.
type user struct {
	seq           uint64
	username      string
	sub           [16]byte
	attrs         []attr // without sub
	created       int64
	modified      int64
	groups        []*group
	status        uint8
	mfaEnabled    uint8
	mfaPreferred  uint8
	enabled       bool
	deleted       bool
	softwareToken bool
	// synthetic marks a user generated for a read of a synthetic pool, not stored (promote).
	synthetic bool
	// auth holds what only users who authenticate need (password, TOTP secret, pending codes);
	// nil for the millions of seeded or imported users who never sign in.
	auth *userAuth
}

func (u *user) get(name string) (string, bool) {
	for _, a := range u.attrs {
		if a.name == name {
			return a.value, true
		}
	}
	return "", false
}

func (u *user) set(name, value string) {
	for i := range u.attrs {
		if u.attrs[i].name == name {
			u.attrs[i].value = value
			return
		}
	}
	u.attrs = append(u.attrs, attr{name, value})
}

func (u *user) del(name string) {
	for i := range u.attrs {
		if u.attrs[i].name == name {
			u.attrs = append(u.attrs[:i], u.attrs[i+1:]...)
			return
		}
	}
}

// subString renders the sub into buf without allocating.
func (u *user) subString(buf *[36]byte) []byte { return renderSub(&u.sub, buf) }

func renderSub(sub *[16]byte, buf *[36]byte) []byte {
	hex.Encode(buf[0:8], sub[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], sub[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], sub[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], sub[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], sub[10:16])
	return buf[:]
}

func (u *user) subStr() string {
	var b [36]byte
	return string(u.subString(&b))
}

// shard is the first hex digit of the sub: the exporter's `sub ^= "x"` shards.
func (u *user) shard() int { return int(u.sub[0] >> 4) }

func parseSub(s string) ([16]byte, bool) {
	var out [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(out[:], []byte(strings.ToLower(h))); err != nil {
		return out, false
	}
	return out, true
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// users is a pool's user store. all and shards are in creation (seq) order, so a cursor is the
// last seq returned and finding it is a binary search; deleted users stay in the slices, marked,
// until enough accumulate to compact, which keeps cursors valid across deletes.
type users struct {
	nextSeq uint64
	all     []*user
	shards  [16][]*user
	byName  map[string]*user
	bySub   map[[16]byte]*user
	// sign-in names other than the username: email/phone for UsernameAttributes pools, verified
	// email/phone and preferred_username for AliasAttributes pools. Email and preferred_username
	// keys are lowercased only in a case-insensitive pool (nameKey).
	byAlias map[string]*user
	count   int
	dead    int
	// syn, when set, generates the pool's seeded users on demand (synthstore.go).
	syn *synth
}

func (s *users) init() {
	s.nextSeq = 1
	s.byName = map[string]*user{}
	s.bySub = map[[16]byte]*user{}
	s.byAlias = map[string]*user{}
}

// nameKey is how a username, email or preferred_username is indexed: as given in a
// case-sensitive pool (AWS's default when UsernameConfiguration is omitted), lowercased in a
// pool created with CaseSensitive false, which "also enables both preferred_username and email
// alias to be case insensitive" (UsernameConfigurationType).
func (p *pool) nameKey(n string) string {
	if p.caseInsensitive {
		return strings.ToLower(n)
	}
	return n
}

// aliasKeys lists the sign-in aliases u currently claims.
func (p *pool) aliasKeys(u *user) []string {
	var keys []string
	if v, ok := u.get("email"); ok && (p.usernameEmail || (p.aliasEmail && verified(u, "email_verified"))) {
		keys = append(keys, "email:"+p.nameKey(v))
	}
	if v, ok := u.get("phone_number"); ok && (p.usernamePhone || (p.aliasPhone && verified(u, "phone_number_verified"))) {
		keys = append(keys, "phone:"+v)
	}
	if v, ok := u.get("preferred_username"); ok && p.aliasPreferred {
		keys = append(keys, "pref:"+p.nameKey(v))
	}
	return keys
}

func verified(u *user, flag string) bool {
	v, _ := u.get(flag)
	return v == "true"
}

func (p *pool) indexAliases(u *user) {
	for _, k := range p.aliasKeys(u) {
		p.byAlias[k] = u
	}
}

func (p *pool) unindexAliases(u *user) {
	for _, k := range p.aliasKeys(u) {
		if p.byAlias[k] == u {
			delete(p.byAlias, k)
		}
	}
}

func (p *pool) insert(u *user) {
	u.seq = p.nextSeq
	p.nextSeq++
	p.all = append(p.all, u)
	p.shards[u.shard()] = append(p.shards[u.shard()], u)
	p.byName[p.nameKey(u.username)] = u
	p.bySub[u.sub] = u
	p.indexAliases(u)
	p.count++
}

func (p *pool) remove(u *user) {
	p.unindexAliases(u)
	delete(p.byName, p.nameKey(u.username))
	delete(p.bySub, u.sub)
	for _, g := range u.groups {
		g.remove(u)
	}
	u.groups = nil
	u.deleted = true
	p.count--
	p.dead++
	if p.dead > 1024 && p.dead > len(p.all)/2 {
		p.all = compact(p.all)
		for i := range p.shards {
			p.shards[i] = compact(p.shards[i])
		}
		p.dead = 0
	}
}

func compact(us []*user) []*user {
	out := us[:0]
	for _, u := range us {
		if !u.deleted {
			out = append(out, u)
		}
	}
	clear(us[len(out):])
	return out
}

// after returns the index of the first user in us with a seq above cursor.
func after(us []*user, cursor uint64) int {
	return sort.Search(len(us), func(i int) bool { return us[i].seq > cursor })
}

// lookup finds a user the way Admin* operations do: by username, then by a sign-in alias,
// then by sub. A user of a synthetic pool may be generated for the read: change only what
// lookupForUpdate returns.
func (p *pool) lookup(name string) *user { return p.find(name, false) }

// lookupForUpdate is lookup for a caller that changes the user (it holds the write lock).
func (p *pool) lookupForUpdate(name string) *user { return p.find(name, true) }

func (p *pool) find(name string, write bool) *user {
	n := p.nameKey(name)
	if u := p.userByName(n, write); u != nil {
		return u
	}
	for _, k := range []string{"email:" + n, "phone:" + name, "pref:" + n} {
		if u := p.aliasOwner(k, write); u != nil {
			return u
		}
	}
	if s, ok := parseSub(name); ok {
		return p.userBySub(s, write)
	}
	return nil
}
