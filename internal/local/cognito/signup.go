package cognito

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// clientIDNotApplicable is the callerContext.clientId of triggers that admin operations fire.
const clientIDNotApplicable = "CLIENT_ID_NOT_APPLICABLE"

func errUserNotFoundForClient() *apiError {
	return newError("UserNotFoundException", "Username/client id combination not found.")
}

func errUserDisabled() *apiError { return newError("NotAuthorizedException", "User is disabled.") }

// signUpDelivery picks where the sign-up code goes: the auto-verified phone number if the pool
// verifies phones and the user has one, else the auto-verified email.
func (p *pool) signUpDelivery(u *user) (Medium, string, string, bool) {
	auto := p.cfg.AutoVerifiedAttributes
	if v, ok := u.get("phone_number"); ok && slices.Contains(auto, types.VerifiedAttributeTypePhoneNumber) {
		return MediumSMS, v, "phone_number", true
	}
	if v, ok := u.get("email"); ok && slices.Contains(auto, types.VerifiedAttributeTypeEmail) {
		return MediumEmail, v, "email", true
	}
	return "", "", "", false
}

// recoveryDelivery picks where a ForgotPassword code goes: a verified address, in the order of
// the pool's AccountRecoverySetting (phone first when there is none, as Cognito's legacy default).
func (p *pool) recoveryDelivery(u *user) (Medium, string, string, bool) {
	order := []types.RecoveryOptionNameType{types.RecoveryOptionNameTypeVerifiedPhoneNumber, types.RecoveryOptionNameTypeVerifiedEmail}
	if s := p.cfg.AccountRecoverySetting; s != nil && len(s.RecoveryMechanisms) > 0 {
		ms := slices.Clone(s.RecoveryMechanisms)
		slices.SortFunc(ms, func(a, b types.RecoveryOptionType) int { return int(aws.ToInt32(a.Priority) - aws.ToInt32(b.Priority)) })
		order = order[:0]
		for _, m := range ms {
			order = append(order, m.Name)
		}
	}
	for _, o := range order {
		switch o {
		case types.RecoveryOptionNameTypeVerifiedEmail:
			if v, ok := u.get("email"); ok && verified(u, "email_verified") {
				return MediumEmail, v, "email", true
			}
		case types.RecoveryOptionNameTypeVerifiedPhoneNumber:
			if v, ok := u.get("phone_number"); ok && verified(u, "phone_number_verified") {
				return MediumSMS, v, "phone_number", true
			}
		}
	}
	return "", "", "", false
}

// sendCode records a code for u and puts the message in the outbox. The caller holds p.mu.
func (e *Emulator) sendCode(p *pool, u *user, kind MessageKind, m Medium, dest, attr string, ttl time.Duration) string {
	code := e.newCode()
	now := e.now()
	u.addCode(kind, code, attr, now.Add(ttl))
	e.send(Message{PoolID: p.id, Username: u.username, Destination: dest, Medium: m, Kind: kind, Code: code, Time: now})
	return code
}

func (e *Emulator) signUp(region string, body []byte) (any, error) {
	var in cip.SignUpInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	name, aerr := requireUsername(in.Username)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := c.checkSecretHash(in.SecretHash, name); aerr != nil {
		return nil, aerr
	}
	if in.Password == nil {
		return nil, errNull("password")
	}
	if aerr := p.checkPassword(*in.Password); aerr != nil {
		return nil, aerr
	}
	// Cognito validates the request, runs PreSignUp, then creates the user; the trigger runs
	// without the pool's lock (it may call the pool), so the username is checked again after.
	vals, sub, username, err := func() (map[string]string, [16]byte, string, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return e.signUpUser(p, name, in.UserAttributes)
	}()
	if err != nil {
		return nil, err
	}
	ans, err := e.preSignUp(context.Background(), p, sourcePreSignUp, c.id, username, vals, attrPairs(in.ValidationData), in.ClientMetadata)
	if err != nil {
		return nil, err
	}
	out, snap, err := func() (signUpOutput, *claimsFor, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if username == name && p.userByName(p.nameKey(name), false) != nil {
			return signUpOutput{}, nil, newError("UsernameExistsException", "User already exists")
		}
		return e.createSignUpUser(p, username, sub, vals, *in.Password, ans)
	}()
	if err != nil {
		return nil, err
	}
	if snap != nil {
		// An auto-confirmed user is confirmed at sign-up: PostConfirmation runs now.
		if err := e.postConfirmation(context.Background(), p, sourceConfirmSignUp, c.id, *snap, in.ClientMetadata); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type signUpOutput struct {
	UserConfirmed       bool
	UserSub             string
	CodeDeliveryDetails *codeDelivery `json:",omitempty"`
}

// signUpUser validates a sign-up's attributes and picks the new user's sub and username. The
// caller holds p.mu.
func (e *Emulator) signUpUser(p *pool, name string, attrs []types.AttributeType) (map[string]string, [16]byte, string, error) {
	vals, err := p.checkAttributes(attrs, true)
	if err != nil {
		return nil, [16]byte{}, "", err
	}
	sub := e.newSub()
	username := name
	if p.usernameEmail || p.usernamePhone {
		field := ""
		switch {
		case p.usernameEmail && looksLikeEmail(name):
			field = "email"
		case p.usernamePhone && looksLikePhone(name):
			field = "phone_number"
		case p.usernameEmail && p.usernamePhone:
			return nil, sub, "", errInvalidParameter("Username should be either an email or a phone number.")
		case p.usernameEmail:
			return nil, sub, "", errInvalidParameter("Username should be an email.")
		default:
			return nil, sub, "", errInvalidParameter("Username should be a phone number.")
		}
		vals[field] = name
		username = subString(sub)
	} else if p.userByName(p.nameKey(name), false) != nil {
		return nil, sub, "", newError("UsernameExistsException", "User already exists")
	}
	// A new user's addresses are not verified, whatever the request says.
	delete(vals, "email_verified")
	delete(vals, "phone_number_verified")
	if err := p.missingRequired(vals); err != nil {
		return nil, sub, "", err
	}
	return vals, sub, username, nil
}

// createSignUpUser creates a signed-up user as PreSignUp's answer says: confirmed, with
// addresses verified, or unconfirmed with a code sent. It returns the confirmed user's claims
// when PostConfirmation is due. The caller holds p.mu.
func (e *Emulator) createSignUpUser(p *pool, username string, sub [16]byte, vals map[string]string, password string, ans preSignUpAnswer) (signUpOutput, *claimsFor, error) {
	if _, ok := vals["email"]; ok && ans.autoVerifyEmail {
		vals["email_verified"] = "true"
	}
	if _, ok := vals["phone_number"]; ok && ans.autoVerifyPhone {
		vals["phone_number_verified"] = "true"
	}
	now := e.now()
	u := &user{username: username, sub: sub, created: millis(now), modified: millis(now), status: statusUnconfirmed, enabled: true}
	if ans.autoConfirm {
		u.status = statusConfirmed
	}
	for _, d := range p.defs {
		if v, ok := vals[d.name]; ok {
			n, v := p.intern(d.name, v)
			u.attrs = append(u.attrs, attr{n, v})
		}
	}
	m, dest, attrName, sendCode := p.signUpDelivery(u)
	sendCode = sendCode && !ans.autoConfirm
	if sendCode {
		if err := e.takeEmailFor(p, m); err != nil {
			return signUpOutput{}, nil, err
		}
	}
	if err := p.claimAliases(u, false, millis(now)); err != nil {
		return signUpOutput{}, nil, err
	}
	u.setPassword(password, false, 0, now)
	p.insert(u)
	out := signUpOutput{UserSub: u.subStr(), UserConfirmed: ans.autoConfirm}
	if sendCode {
		e.sendCode(p, u, KindSignUp, m, dest, attrName, signUpCodeTTL)
		out.CodeDeliveryDetails = deliveryOf(m, dest)
	}
	if ans.autoConfirm {
		snap := snapshot(u)
		return out, &snap, nil
	}
	return out, nil, nil
}

// clientUser finds the user a public operation names, locked for writing. When the client hides
// user existence, notFound is what an unknown user gets instead of UserNotFoundException.
func (e *Emulator) clientUser(p *pool, c *appClient, username *string, notFound *apiError) (*user, error) {
	name, aerr := requireUsername(username)
	if aerr != nil {
		return nil, aerr
	}
	p.mu.Lock()
	u := p.lookupForUpdate(name)
	if u == nil {
		p.mu.Unlock()
		if c.preventUserExist && notFound != nil {
			return nil, notFound
		}
		return nil, errUserNotFoundForClient()
	}
	return u, nil
}

func (e *Emulator) confirmSignUp(region string, body []byte) (any, error) {
	var in cip.ConfirmSignUpInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	if in.ConfirmationCode == nil {
		return nil, errNull("confirmationCode")
	}
	u, err := e.clientUser(p, c, in.Username, newError("CodeMismatchException", "Invalid verification code provided, please try again."))
	if err != nil {
		return nil, err
	}
	snap, err := func() (claimsFor, error) {
		defer p.mu.Unlock()
		if aerr := c.checkSecretHash(in.SecretHash, aws.ToString(in.Username), u.username); aerr != nil {
			return claimsFor{}, aerr
		}
		if u.status != statusUnconfirmed {
			return claimsFor{}, newError("NotAuthorizedException", "User cannot be confirmed. Current status is %s", statusNames[u.status])
		}
		now := e.now()
		attrName, aerr := u.useCode(KindSignUp, *in.ConfirmationCode, now)
		if aerr != nil {
			return claimsFor{}, aerr
		}
		if attrName != "" {
			next := *u
			next.attrs = slices.Clone(u.attrs)
			next.set(attrName+"_verified", "true")
			if err := p.claimAliases(&next, in.ForceAliasCreation, millis(now)); err != nil {
				return claimsFor{}, err
			}
			p.unindexAliases(u)
			u.attrs = next.attrs
			p.indexAliases(u)
		}
		u.status = statusConfirmed
		u.modified = millis(now)
		return snapshot(u), nil
	}()
	if err != nil {
		return nil, err
	}
	if err := e.postConfirmation(context.Background(), p, sourceConfirmSignUp, c.id, snap, in.ClientMetadata); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (e *Emulator) adminConfirmSignUp(region string, body []byte) (any, error) {
	var in cip.AdminConfirmSignUpInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	if u.status != statusUnconfirmed {
		p.mu.Unlock()
		return nil, newError("NotAuthorizedException", "User cannot be confirmed. Current status is %s", statusNames[u.status])
	}
	u.status = statusConfirmed
	u.modified = millis(e.now())
	snap := snapshot(u)
	p.mu.Unlock()
	if err := e.postConfirmation(context.Background(), p, sourceConfirmSignUp, clientIDNotApplicable, snap, in.ClientMetadata); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (e *Emulator) resendConfirmationCode(region string, body []byte) (any, error) {
	var in cip.ResendConfirmationCodeInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	u, err := e.clientUser(p, c, in.Username, nil)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if aerr := c.checkSecretHash(in.SecretHash, aws.ToString(in.Username), u.username); aerr != nil {
		return nil, aerr
	}
	if u.status != statusUnconfirmed {
		return nil, errInvalidParameter("User is already confirmed.")
	}
	m, dest, attrName, ok := p.signUpDelivery(u)
	if !ok {
		return nil, errInvalidParameter("Auto verification not turned on.")
	}
	if err := e.takeEmailFor(p, m); err != nil {
		return nil, err
	}
	e.sendCode(p, u, KindSignUp, m, dest, attrName, signUpCodeTTL)
	return map[string]any{"CodeDeliveryDetails": deliveryOf(m, dest)}, nil
}

func (e *Emulator) forgotPassword(region string, body []byte) (any, error) {
	var in cip.ForgotPasswordInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	name, aerr := requireUsername(in.Username)
	if aerr != nil {
		return nil, aerr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.lookupForUpdate(name)
	if u == nil {
		if aerr := c.checkSecretHash(in.SecretHash, name); aerr != nil {
			return nil, aerr
		}
		if c.preventUserExist {
			// Cognito pretends to have sent a code, so callers cannot probe for users.
			m, dest := MediumEmail, name
			if !looksLikeEmail(name) {
				dest = "unknown@example.com"
			}
			return map[string]any{"CodeDeliveryDetails": deliveryOf(m, dest)}, nil
		}
		return nil, errUserNotFoundForClient()
	}
	if aerr := c.checkSecretHash(in.SecretHash, name, u.username); aerr != nil {
		return nil, aerr
	}
	if !u.enabled {
		return nil, errUserDisabled()
	}
	if u.status == statusForceChangePassword {
		return nil, newError("NotAuthorizedException", "User password cannot be reset in the current state.")
	}
	m, dest, attrName, ok := p.recoveryDelivery(u)
	if !ok {
		return nil, errInvalidParameter("Cannot reset password for the user as there is no registered/verified email or phone_number")
	}
	if err := e.takeEmailFor(p, m); err != nil {
		return nil, err
	}
	e.sendCode(p, u, KindForgotPassword, m, dest, attrName, forgotPasswordCodeTTL)
	return map[string]any{"CodeDeliveryDetails": deliveryOf(m, dest)}, nil
}

func (e *Emulator) confirmForgotPassword(region string, body []byte) (any, error) {
	var in cip.ConfirmForgotPasswordInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	if in.ConfirmationCode == nil {
		return nil, errNull("confirmationCode")
	}
	if in.Password == nil {
		return nil, errNull("password")
	}
	if aerr := p.checkPassword(*in.Password); aerr != nil {
		return nil, aerr
	}
	u, err := e.clientUser(p, c, in.Username, newError("CodeMismatchException", "Invalid verification code provided, please try again."))
	if err != nil {
		return nil, err
	}
	snap, err := func() (claimsFor, error) {
		defer p.mu.Unlock()
		if aerr := c.checkSecretHash(in.SecretHash, aws.ToString(in.Username), u.username); aerr != nil {
			return claimsFor{}, aerr
		}
		now := e.now()
		if _, aerr := u.useCode(KindForgotPassword, *in.ConfirmationCode, now); aerr != nil {
			return claimsFor{}, aerr
		}
		u.setPassword(*in.Password, false, 0, now)
		u.status = statusConfirmed
		u.modified = millis(now)
		return snapshot(u), nil
	}()
	if err != nil {
		return nil, err
	}
	if err := e.postConfirmation(context.Background(), p, sourceConfirmForgotPassword, c.id, snap, in.ClientMetadata); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (e *Emulator) changePassword(region string, body []byte) (any, error) {
	var in cip.ChangePasswordInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ProposedPassword == nil {
		return nil, errNull("proposedPassword")
	}
	p, u, err := e.accessUser(in.AccessToken, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if !u.checkPassword(aws.ToString(in.PreviousPassword)) {
		return nil, newError("NotAuthorizedException", "Incorrect username or password.")
	}
	if aerr := p.checkPassword(*in.ProposedPassword); aerr != nil {
		return nil, aerr
	}
	now := e.now()
	u.setPassword(*in.ProposedPassword, false, 0, now)
	u.modified = millis(now)
	return struct{}{}, nil
}

// tempValidity is how long the pool's temporary passwords last.
func (p *pool) tempValidity() time.Duration {
	return time.Duration(p.policy.TemporaryPasswordValidityDays) * 24 * time.Hour
}

// invite records AdminCreateUser's invitation, carrying the temporary password, for each
// requested medium the user has an address for (SMS when none is requested, as on AWS).
func (e *Emulator) invite(p *pool, u *user, mediums []types.DeliveryMediumType, tempPassword string) {
	if len(mediums) == 0 {
		mediums = []types.DeliveryMediumType{types.DeliveryMediumTypeSms}
	}
	now := e.now()
	for _, m := range mediums {
		field, medium := "phone_number", MediumSMS
		if m == types.DeliveryMediumTypeEmail {
			field, medium = "email", MediumEmail
		}
		if dest, ok := u.get(field); ok && strings.TrimSpace(dest) != "" {
			e.send(Message{PoolID: p.id, Username: u.username, Destination: dest, Medium: medium, Kind: KindInvitation, Code: tempPassword, Time: now})
		}
	}
}
