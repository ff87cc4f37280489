package cognito

import (
	"fmt"
	"iter"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// SeedUser is a user to place directly into a pool with SeedUsers.
type SeedUser struct {
	// Username; empty means the sub, as Cognito generates for pools with UsernameAttributes.
	Username string
	// Attributes by name ("email", "email_verified", "custom:tenant", ...). A "sub" entry sets
	// the sub (a UUID); otherwise a random v4 UUID is generated.
	Attributes map[string]string
	Enabled    bool
	// Status is a UserStatusType value; empty means CONFIRMED.
	Status string
	// Groups the user belongs to; missing groups are created.
	Groups []string
	// MFAEnabled lists enabled factors: "SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP".
	MFAEnabled []string
	// MFAPreferred is one of MFAEnabled, or empty.
	MFAPreferred string
	// HasSoftwareToken marks a verified TOTP device, which AdminSetUserMFAPreference requires
	// before it enables SOFTWARE_TOKEN_MFA.
	HasSoftwareToken bool
	// Created is the creation (and last-modified) date; zero means the emulator's clock.
	Created time.Time
	// Modified, if later than Created, is the last-modified date.
	Modified time.Time
	// Password, if set, is the user's password (stored hashed), so the user can sign in; a
	// FORCE_CHANGE_PASSWORD user's is temporary. Leave it empty for RESET_REQUIRED users.
	Password string
	// TOTPSecret, if set, is the user's verified software token (base32) and implies
	// HasSoftwareToken. A HasSoftwareToken user without one gets a generated secret that
	// SoftwareTokenSecret returns.
	TOTPSecret string
}

// SeedUsers adds users to a pool directly: no HTTP, no quotas, no latency. It checks attributes
// against the schema and usernames and sign-in aliases for uniqueness, and stops at the first
// bad user (the ones before it stay). It is meant for loading millions of users quickly.
func (e *Emulator) SeedUsers(poolID string, users iter.Seq[SeedUser]) error {
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	if p == nil {
		return fmt.Errorf("seed users: user pool %s does not exist", poolID)
	}
	now := millis(e.now())
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for su := range users {
		if err := e.seedOne(p, su, now); err != nil {
			return fmt.Errorf("seed user %d (%q) into %s: %w", i, su.Username, poolID, err)
		}
		i++
	}
	return nil
}

// SeedUserSlice is SeedUsers for a slice.
func (e *Emulator) SeedUserSlice(poolID string, users []SeedUser) error {
	return e.SeedUsers(poolID, func(yield func(SeedUser) bool) {
		for _, u := range users {
			if !yield(u) {
				return
			}
		}
	})
}

func (e *Emulator) seedOne(p *pool, su SeedUser, now int64) error {
	u, err := seededUser(p, su, now, e.newSub)
	if err != nil {
		return err
	}
	if p.bySub[u.sub] != nil || p.synthSub(u.sub) {
		return fmt.Errorf("sub already in use")
	}
	if p.userByName(p.nameKey(u.username), false) != nil {
		return newError("UsernameExistsException", "User account already exists")
	}
	for _, k := range p.aliasKeys(u) {
		if p.aliasOwner(k, false) != nil {
			return newError("AliasExistsException", "sign-in alias %s already exists", k)
		}
	}
	if su.Password != "" {
		u.setPassword(su.Password, u.status == statusForceChangePassword, p.tempValidity(), time.UnixMilli(now))
	}
	if su.TOTPSecret != "" {
		u.softwareToken = true
		u.authState().totpSecret = su.TOTPSecret
	}
	p.insert(u)
	for _, name := range su.Groups {
		g, err := p.seedGroup(name, now)
		if err != nil {
			return err
		}
		g.add(u)
	}
	return nil
}

// seedGroup is the group name, created if missing.
func (p *pool) seedGroup(name string, now int64) (*group, error) {
	if g := p.groups[name]; g != nil {
		return g, nil
	}
	return p.addGroup(&cip.CreateGroupInput{GroupName: &name}, now)
}

// seededUser builds the user su describes, checked against the pool's schema, without storing
// it: what seeding stores and what a synthetic pool generates on each read.
func seededUser(p *pool, su SeedUser, now int64, newSub func() [16]byte) (*user, error) {
	u := &user{enabled: su.Enabled, status: statusConfirmed, softwareToken: su.HasSoftwareToken, created: now}
	if !su.Created.IsZero() {
		u.created = millis(su.Created)
	}
	u.modified = max(u.created, millis(su.Modified))
	if su.Status != "" {
		s, ok := parseStatus(su.Status)
		if !ok {
			return nil, fmt.Errorf("unknown status %q", su.Status)
		}
		u.status = s
	}
	if s, ok := su.Attributes["sub"]; ok {
		sub, ok := parseSub(s)
		if !ok {
			return nil, fmt.Errorf("sub %q is not a UUID", s)
		}
		u.sub = sub
	} else if newSub != nil {
		u.sub = newSub()
	} else {
		return nil, fmt.Errorf("no sub")
	}
	// Walk the schema rather than the map, so attributes keep schema order and output is stable.
	u.attrs = make([]attr, 0, len(su.Attributes))
	matched := 0
	for _, d := range p.defs {
		v, ok := su.Attributes[d.name]
		if !ok {
			if d.required && d.name != "sub" {
				return nil, errSchema("%s: The attribute is required", d.name)
			}
			continue
		}
		matched++
		if d.name == "sub" {
			continue
		}
		if err := d.checkValue(v); err != nil {
			return nil, err
		}
		name, v := p.intern(d.name, v)
		u.attrs = append(u.attrs, attr{name, v})
	}
	if matched != len(su.Attributes) {
		for name := range su.Attributes {
			if p.def[name] == nil {
				return nil, errSchema("Type for attribute {%s} could not be determined", name)
			}
		}
	}
	u.username = su.Username
	if u.username == "" {
		u.username = u.subStr()
	}
	for _, name := range su.MFAEnabled {
		bit, ok := mfaBit(name)
		if !ok {
			return nil, fmt.Errorf("unknown MFA factor %q", name)
		}
		u.mfaEnabled |= bit
	}
	if su.MFAPreferred != "" {
		bit, ok := mfaBit(su.MFAPreferred)
		if !ok || u.mfaEnabled&bit == 0 {
			return nil, fmt.Errorf("preferred MFA %q is not enabled", su.MFAPreferred)
		}
		u.mfaPreferred = bit
	}
	return u, nil
}

func mfaBit(name string) (uint8, bool) {
	for _, f := range mfaNames {
		if f.name == name {
			return f.bit, true
		}
	}
	return 0, false
}
