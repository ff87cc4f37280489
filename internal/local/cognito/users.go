package cognito

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

type attrJSON struct {
	Name  string
	Value string
}

// userJSON is UserType on the wire.
type userJSON struct {
	Username             string
	Attributes           []attrJSON
	UserCreateDate       float64
	UserLastModifiedDate float64
	Enabled              bool
	UserStatus           string
}

// attributes renders u's attributes, sub first as AWS does; want, if not nil, selects some.
func attributes(u *user, want map[string]bool) []attrJSON {
	out := make([]attrJSON, 0, len(u.attrs)+1)
	if want == nil || want["sub"] {
		out = append(out, attrJSON{"sub", u.subStr()})
	}
	for _, a := range u.attrs {
		if want == nil || want[a.name] {
			out = append(out, attrJSON{a.name, a.value})
		}
	}
	return out
}

func toJSON(u *user, want map[string]bool) userJSON {
	return userJSON{
		Username:             u.username,
		Attributes:           attributes(u, want),
		UserCreateDate:       float64(u.created) / 1000,
		UserLastModifiedDate: float64(u.modified) / 1000,
		Enabled:              u.enabled,
		UserStatus:           statusNames[u.status],
	}
}

func requireUsername(name *string) (string, *apiError) {
	if name == nil || *name == "" {
		return "", errNull("username")
	}
	if len(*name) > 128 {
		return "", errInvalidParameter("1 validation error detected: Value at 'username' failed to satisfy constraint: Member must have length less than or equal to 128")
	}
	return *name, nil
}

// findUser resolves the pool and the user an Admin* request names. The caller holds no lock;
// the pool is returned locked (write if write, else read) when err is nil.
func (e *Emulator) findUser(region string, poolID, username *string, write bool) (*pool, *user, error) {
	p, err := e.pool(region, poolID)
	if err != nil {
		return nil, nil, err
	}
	name, aerr := requireUsername(username)
	if aerr != nil {
		return nil, nil, aerr
	}
	if write {
		p.mu.Lock()
	} else {
		p.mu.RLock()
	}
	u := p.find(name, write)
	if u == nil {
		if write {
			p.mu.Unlock()
		} else {
			p.mu.RUnlock()
		}
		return nil, nil, errUserNotFound()
	}
	return p, u, nil
}

// checkAttributes validates attribute values against the schema. creating allows immutable
// attributes, which can be set only when the user is created.
func (p *pool) checkAttributes(in []types.AttributeType, creating bool) (map[string]string, error) {
	vals := make(map[string]string, len(in))
	for _, a := range in {
		name := aws.ToString(a.Name)
		d := p.def[name]
		if d == nil || name == "identities" {
			return nil, errSchema("Type for attribute {%s} could not be determined", name)
		}
		if name == "sub" || (!creating && !d.mutable) {
			return nil, errSchema("%s: Attribute cannot be updated. (changing an immutable attribute)", name)
		}
		v := aws.ToString(a.Value)
		if err := d.checkValue(v); err != nil {
			return nil, err
		}
		vals[d.name] = v
	}
	return vals, nil
}

// intern returns the schema's copy of a value's name and shares "true"/"false", so a million
// users do not carry a million copies of them.
func (p *pool) intern(name, v string) (string, string) {
	if d := p.def[name]; d != nil {
		name = d.name
	}
	switch v {
	case "true":
		v = "true"
	case "false":
		v = "false"
	}
	return name, v
}

func (p *pool) missingRequired(vals map[string]string) error {
	var missing []string
	for _, d := range p.defs {
		if d.required && d.name != "sub" {
			if _, ok := vals[d.name]; !ok {
				missing = append(missing, d.name+": The attribute is required")
			}
		}
	}
	if len(missing) > 0 {
		return errSchema("%s", strings.Join(missing, "\n"))
	}
	return nil
}

// claimAliases refuses sign-in names held by another user; force moves an alias instead, as
// ForceAliasCreation does, by clearing the other user's verified flag.
func (p *pool) claimAliases(u *user, force bool, now int64) error {
	for _, k := range p.aliasKeys(u) {
		other := p.aliasOwner(k, false)
		// u may be a copy being validated before it replaces the stored user: same seq, same user.
		if other == nil || other == u || other.seq == u.seq {
			continue
		}
		kind, _, _ := strings.Cut(k, ":")
		field := map[string]string{"email": "email", "phone": "phone_number", "pref": "preferred_username"}[kind]
		switch {
		case p.usernameEmail && kind == "email", p.usernamePhone && kind == "phone":
			return newError("UsernameExistsException", "An account with the given %s already exists.", field)
		case force && kind != "pref":
			other = p.promote(other)
			p.unindexAliases(other)
			other.set(field+"_verified", "false")
			other.modified = now
			p.indexAliases(other)
		default:
			return newError("AliasExistsException", "An account with the %s already exists.", field)
		}
	}
	return nil
}

func (e *Emulator) adminCreateUser(region string, body []byte) (any, error) {
	var in cip.AdminCreateUserInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	name, aerr := requireUsername(in.Username)
	if aerr != nil {
		return nil, aerr
	}
	switch in.MessageAction {
	case "", types.MessageActionTypeSuppress, types.MessageActionTypeResend:
	default:
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'messageAction' failed to satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]", in.MessageAction)
	}
	if in.TemporaryPassword != nil {
		if err := p.checkPassword(*in.TemporaryPassword); err != nil {
			return nil, err
		}
	}
	if in.MessageAction != types.MessageActionTypeResend {
		// PreSignUp runs without the pool's lock, so here before the checks that need it.
		if err := e.adminPreSignUp(context.Background(), p, name, in.UserAttributes, in.ValidationData, in.ClientMetadata); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if in.MessageAction == types.MessageActionTypeResend {
		// RESEND re-invites an existing user; no message leaves the emulator.
		u := p.lookupForUpdate(name)
		if u == nil {
			return nil, errUserNotFound()
		}
		if u.status != statusForceChangePassword {
			return nil, newError("UnsupportedUserStateException", "Resend not possible. %s status is not FORCE_CHANGE_PASSWORD", u.username)
		}
		// The new invitation carries a new temporary password.
		temp := aws.ToString(in.TemporaryPassword)
		if temp == "" {
			temp = e.newTemporaryPassword(int(aws.ToInt32(p.policy.MinimumLength)))
		}
		if err := e.takeEmails(p, invitationEmails(u, in.DesiredDeliveryMediums)); err != nil {
			return nil, err
		}
		u.setPassword(temp, true, p.tempValidity(), e.now())
		e.invite(p, u, in.DesiredDeliveryMediums, temp)
		return map[string]any{"User": toJSON(u, nil)}, nil
	}
	vals, err := p.checkAttributes(in.UserAttributes, true)
	if err != nil {
		return nil, err
	}
	sub := e.newSub()
	username := name
	if p.usernameEmail || p.usernamePhone {
		// The sign-in name goes into its attribute; the username is generated (the sub).
		field := ""
		switch {
		case p.usernameEmail && looksLikeEmail(name):
			field = "email"
		case p.usernamePhone && looksLikePhone(name):
			field = "phone_number"
		case p.usernameEmail && p.usernamePhone:
			return nil, errInvalidParameter("Username should be either an email or a phone number.")
		case p.usernameEmail:
			return nil, errInvalidParameter("Username should be an email.")
		default:
			return nil, errInvalidParameter("Username should be a phone number.")
		}
		if v, ok := vals[field]; ok && p.nameKey(v) != p.nameKey(name) {
			return nil, errInvalidParameter("Username and %s attribute must be the same value.", field)
		}
		vals[field] = name
		var b [36]byte
		username = string((&user{sub: sub}).subString(&b))
	} else {
		if p.aliasEmail && looksLikeEmail(name) {
			return nil, errInvalidParameter("Username cannot be of email format, since user pool is configured for email alias.")
		}
		if p.aliasPhone && looksLikePhone(name) {
			return nil, errInvalidParameter("Username cannot be of phone number format, since user pool is configured for phone number alias.")
		}
		if p.userByName(p.nameKey(name), false) != nil {
			return nil, newError("UsernameExistsException", "User account already exists")
		}
	}
	if err := p.missingRequired(vals); err != nil {
		return nil, err
	}
	now := millis(e.now())
	u := &user{username: username, sub: sub, created: now, modified: now, status: statusForceChangePassword, enabled: true}
	for _, d := range p.defs { // schema order, so output is stable
		if v, ok := vals[d.name]; ok {
			name, v := p.intern(d.name, v)
			u.attrs = append(u.attrs, attr{name, v})
		}
	}
	if in.MessageAction != types.MessageActionTypeSuppress {
		if err := e.takeEmails(p, invitationEmails(u, in.DesiredDeliveryMediums)); err != nil {
			return nil, err
		}
	}
	if err := p.claimAliases(u, in.ForceAliasCreation, now); err != nil {
		return nil, err
	}
	temp := aws.ToString(in.TemporaryPassword)
	if temp == "" {
		temp = e.newTemporaryPassword(int(aws.ToInt32(p.policy.MinimumLength)))
	}
	u.setPassword(temp, true, p.tempValidity(), e.now())
	p.insert(u)
	if in.MessageAction != types.MessageActionTypeSuppress {
		e.invite(p, u, in.DesiredDeliveryMediums, temp)
	}
	return map[string]any{"User": toJSON(u, nil)}, nil
}

func (e *Emulator) adminGetUser(region string, body []byte) (any, error) {
	var in cip.AdminGetUserInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, false)
	if err != nil {
		return nil, err
	}
	defer p.mu.RUnlock()
	out := struct {
		Username             string
		UserAttributes       []attrJSON
		UserCreateDate       float64
		UserLastModifiedDate float64
		Enabled              bool
		UserStatus           string
		PreferredMfaSetting  string   `json:",omitempty"`
		UserMFASettingList   []string `json:",omitempty"`
	}{
		Username:             u.username,
		UserAttributes:       attributes(u, nil),
		UserCreateDate:       float64(u.created) / 1000,
		UserLastModifiedDate: float64(u.modified) / 1000,
		Enabled:              u.enabled,
		UserStatus:           statusNames[u.status],
	}
	for _, f := range mfaNames {
		if u.mfaEnabled&f.bit != 0 {
			out.UserMFASettingList = append(out.UserMFASettingList, f.name)
		}
		if u.mfaPreferred&f.bit != 0 {
			out.PreferredMfaSetting = f.name
		}
	}
	return out, nil
}

func (e *Emulator) adminUpdateUserAttributes(region string, body []byte) (any, error) {
	var in cip.AdminUpdateUserAttributesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.UserAttributes == nil {
		if _, err := e.pool(region, in.UserPoolId); err != nil {
			return nil, err
		}
		return nil, errNull("userAttributes")
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	vals, err := p.checkAttributes(in.UserAttributes, false)
	if err != nil {
		return nil, err
	}
	// A changed email or phone number is unverified unless the same call says otherwise.
	for field, flag := range map[string]string{"email": "email_verified", "phone_number": "phone_number_verified"} {
		if v, ok := vals[field]; ok {
			old, had := u.get(field)
			if _, given := vals[flag]; !given && (!had || old != v) {
				vals[flag] = "false"
			}
		}
	}
	if err := e.verifyChangedContacts(p, u, vals); err != nil {
		return nil, err
	}
	now := millis(e.now())
	// Apply to a copy so a refused alias leaves the user untouched.
	next := *u
	next.attrs = append([]attr(nil), u.attrs...)
	for _, d := range p.defs {
		if v, ok := vals[d.name]; ok {
			name, v := p.intern(d.name, v)
			next.set(name, v)
		}
	}
	if err := p.claimAliases(&next, false, now); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Code == "UsernameExistsException" {
			ae.Code = "AliasExistsException"
		}
		return nil, err
	}
	p.unindexAliases(u)
	u.attrs = next.attrs
	u.modified = now
	p.indexAliases(u)
	return struct{}{}, nil
}

func (e *Emulator) adminDeleteUserAttributes(region string, body []byte) (any, error) {
	var in cip.AdminDeleteUserAttributesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.UserAttributeNames == nil {
		return nil, errNull("userAttributeNames")
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	for _, n := range in.UserAttributeNames {
		d := p.def[n]
		switch {
		case d == nil:
			return nil, errSchema("Type for attribute {%s} could not be determined", n)
		case d.required:
			return nil, errSchema("%s: The attribute is required", n)
		case !d.mutable:
			return nil, errSchema("%s: Attribute cannot be updated. (changing an immutable attribute)", n)
		}
	}
	p.unindexAliases(u)
	for _, n := range in.UserAttributeNames {
		u.del(n)
		// A deleted address cannot stay verified.
		switch n {
		case "email":
			u.del("email_verified")
		case "phone_number":
			u.del("phone_number_verified")
		}
	}
	u.modified = millis(e.now())
	p.indexAliases(u)
	return struct{}{}, nil
}

func (e *Emulator) setEnabled(region string, body []byte, enabled bool) (any, error) {
	var in struct{ UserPoolId, Username *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if u.enabled != enabled {
		u.enabled = enabled
		if !e.enabledKeepsModified.Load() {
			u.modified = millis(e.now())
		}
	}
	if !enabled {
		// "Deactivates a user and revokes all access tokens for the user."
		e.revokeTokens(p.id, u.sub)
	}
	return struct{}{}, nil
}

func (e *Emulator) adminDisableUser(region string, body []byte) (any, error) {
	return e.setEnabled(region, body, false)
}

func (e *Emulator) adminEnableUser(region string, body []byte) (any, error) {
	return e.setEnabled(region, body, true)
}

func (e *Emulator) adminDeleteUser(region string, body []byte) (any, error) {
	var in cip.AdminDeleteUserInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	e.revokeTokens(p.id, u.sub)
	p.remove(u)
	return struct{}{}, nil
}

func (e *Emulator) adminUserGlobalSignOut(region string, body []byte) (any, error) {
	var in cip.AdminUserGlobalSignOutInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	e.revokeTokens(p.id, u.sub)
	// The time is kept too, so tests can tell a user was signed out.
	if p.signOuts == nil {
		p.signOuts = map[[16]byte]int64{}
	}
	p.signOuts[u.sub] = millis(e.now())
	return struct{}{}, nil
}

// SignedOutAt reports when AdminUserGlobalSignOut last signed out the user that username
// (a username, alias or sub) names in the pool; false if never or if there is no such user.
func (e *Emulator) SignedOutAt(poolID, username string) (time.Time, bool) {
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	if p == nil {
		return time.Time{}, false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	u := p.lookup(username)
	if u == nil {
		return time.Time{}, false
	}
	ms, ok := p.signOuts[u.sub]
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

func (e *Emulator) adminSetUserPassword(region string, body []byte) (any, error) {
	var in cip.AdminSetUserPasswordInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Password == nil {
		return nil, errNull("password")
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if err := p.checkPassword(*in.Password); err != nil {
		return nil, err
	}
	now := e.now()
	u.setPassword(*in.Password, !in.Permanent, p.tempValidity(), now)
	if in.Permanent {
		u.status = statusConfirmed
	} else {
		u.status = statusForceChangePassword
	}
	u.modified = millis(now)
	return struct{}{}, nil
}

func (e *Emulator) adminSetUserMFAPreference(region string, body []byte) (any, error) {
	var in cip.AdminSetUserMFAPreferenceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	type setting struct {
		bit              uint8
		enabled, prefers *bool
	}
	var settings []setting
	if s := in.SMSMfaSettings; s != nil {
		settings = append(settings, setting{mfaSMS, &s.Enabled, &s.PreferredMfa})
	}
	if s := in.SoftwareTokenMfaSettings; s != nil {
		settings = append(settings, setting{mfaTOTP, &s.Enabled, &s.PreferredMfa})
	}
	if s := in.EmailMfaSettings; s != nil {
		settings = append(settings, setting{mfaEmail, &s.Enabled, &s.PreferredMfa})
	}
	enabled, preferred := u.mfaEnabled, u.mfaPreferred
	for _, s := range settings {
		if *s.enabled {
			switch s.bit {
			case mfaSMS:
				if _, ok := u.get("phone_number"); !ok {
					return nil, errInvalidParameter("User does not have delivery config set to turn on SMS_MFA")
				}
			case mfaTOTP:
				if !u.softwareToken {
					return nil, errInvalidParameter("User has not verified software token mfa")
				}
			case mfaEmail:
				if _, ok := u.get("email"); !ok {
					return nil, errInvalidParameter("User does not have delivery config set to turn on EMAIL_OTP")
				}
			}
			enabled |= s.bit
		} else {
			enabled &^= s.bit
			preferred &^= s.bit
		}
		switch {
		case *s.prefers && *s.enabled:
			preferred = s.bit // only one factor can be preferred
		case !*s.prefers:
			preferred &^= s.bit
		}
	}
	u.mfaEnabled, u.mfaPreferred = enabled, preferred&enabled
	u.modified = millis(e.now())
	return struct{}{}, nil
}
