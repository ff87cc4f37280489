package cognito

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// maxChallengeAttempts is how many wrong codes one session takes before it is spent.
const maxChallengeAttempts = 5

// session is the state Cognito carries between an InitiateAuth and the RespondToAuthChallenge
// calls that follow, behind the opaque Session string.
type session struct {
	id, poolID, clientID, region string
	sub                          [16]byte
	username                     string
	challenge                    types.ChallengeNameType
	expires                      time.Time
	code                         string // the SMS_MFA / EMAIL_OTP code sent
	attempts                     int
	totpVerified                 bool   // MFA_SETUP: VerifySoftwareToken succeeded in this session
	source                       string // PreTokenGeneration triggerSource when tokens follow
}

func errInvalidSession() *apiError {
	return newError("NotAuthorizedException", "Invalid session for the user.")
}

func errBadCredentials() *apiError {
	return newError("NotAuthorizedException", "Incorrect username or password.")
}

// newSession stores a session for the user's next challenge and returns it.
func (e *Emulator) newSession(c *appClient, u *user, challenge types.ChallengeNameType, source string) *session {
	now := e.now()
	s := &session{
		id: newSecret(120), poolID: c.poolID, clientID: c.id, region: c.region, sub: u.sub, username: u.username,
		challenge: challenge, expires: now.Add(c.sessionTTL), source: source,
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	if len(e.auth.sessions) > 10_000 {
		for id, old := range e.auth.sessions {
			if now.After(old.expires) {
				delete(e.auth.sessions, id)
			}
		}
	}
	e.auth.sessions[s.id] = s
	return s
}

// takeSession finds a live session; consume removes it (sessions are single use once answered).
func (e *Emulator) takeSession(id *string) (*session, error) {
	if id == nil || *id == "" {
		return nil, errInvalidSession()
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	s := e.auth.sessions[*id]
	if s == nil {
		return nil, errInvalidSession()
	}
	if e.now().After(s.expires) {
		delete(e.auth.sessions, s.id)
		return nil, newError("NotAuthorizedException", "Invalid session for the user, session is expired.")
	}
	return s, nil
}

func (e *Emulator) dropSession(s *session) {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	delete(e.auth.sessions, s.id)
}

// authResult is InitiateAuth's and RespondToAuthChallenge's answer.
type authResult struct {
	ChallengeName        types.ChallengeNameType `json:",omitempty"`
	ChallengeParameters  map[string]string
	Session              string    `json:",omitempty"`
	AuthenticationResult *tokenSet `json:",omitempty"`
}

// step is what follows a passed factor: another challenge, or tokens for snap.
type step struct {
	result authResult
	snap   *claimsFor
	source string
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// mfaStep decides, under the pool lock, whether the user must pass MFA: the factor challenge,
// MFA_SETUP when MFA is required and the user has no usable factor, or tokens.
func (e *Emulator) mfaStep(p *pool, c *appClient, u *user, source string) step {
	mode := p.cfg.MfaConfiguration
	if mode == "" || mode == types.UserPoolMfaTypeOff {
		s := snapshot(u)
		return step{snap: &s, source: source}
	}
	var usable uint8
	if p.mfa.totp && e.totpSecret(p, u) != "" {
		usable |= mfaTOTP
	}
	if _, ok := u.get("phone_number"); ok && p.mfa.sms && verified(u, "phone_number_verified") {
		usable |= mfaSMS
	}
	if _, ok := u.get("email"); ok && p.mfa.email && verified(u, "email_verified") {
		usable |= mfaEmail
	}
	active := u.mfaEnabled & usable
	if active == 0 && mode == types.UserPoolMfaTypeOn {
		// Required MFA uses whatever factor the user can receive.
		active = usable
	}
	params := map[string]string{"USER_ID_FOR_SRP": u.username}
	if active == 0 {
		if mode == types.UserPoolMfaTypeOptional {
			s := snapshot(u)
			return step{snap: &s, source: source}
		}
		params["MFAS_CAN_SETUP"] = jsonString(p.mfa.offered())
		s := e.newSession(c, u, types.ChallengeNameTypeMfaSetup, source)
		return step{result: authResult{ChallengeName: types.ChallengeNameTypeMfaSetup, ChallengeParameters: params, Session: s.id}}
	}
	factor := u.mfaPreferred & active
	switch {
	case factor != 0:
	case active&mfaTOTP != 0:
		factor = mfaTOTP
	case active&mfaSMS != 0:
		factor = mfaSMS
	default:
		factor = mfaEmail
	}
	var name types.ChallengeNameType
	var medium Medium
	var dest string
	var kind MessageKind
	switch factor {
	case mfaTOTP:
		name = types.ChallengeNameTypeSoftwareTokenMfa
	case mfaSMS:
		name, medium, kind = types.ChallengeNameTypeSmsMfa, MediumSMS, KindSMSMFA
		dest, _ = u.get("phone_number")
	default:
		name, medium, kind = types.ChallengeNameTypeEmailOtp, MediumEmail, KindEmailOTP
		dest, _ = u.get("email")
	}
	s := e.newSession(c, u, name, source)
	if medium != "" {
		s.code = e.newCode()
		e.send(Message{PoolID: p.id, Username: u.username, Destination: dest, Medium: medium, Kind: kind, Code: s.code, Time: e.now()})
		params["CODE_DELIVERY_DELIVERY_MEDIUM"] = string(medium)
		params["CODE_DELIVERY_DESTINATION"] = mask(medium, dest)
	}
	return step{result: authResult{ChallengeName: name, ChallengeParameters: params, Session: s.id}}
}

// finish turns a passed sign-in into tokens: PreTokenGeneration, a new grant, signed JWTs.
func (e *Emulator) finish(ctx context.Context, c *appClient, p *pool, st step) (any, error) {
	if st.snap == nil {
		return st.result, nil
	}
	ov, err := e.preTokenGeneration(ctx, p, st.source, c.id, *st.snap)
	if err != nil {
		return nil, err
	}
	g := e.newGrant(c, st.snap.sub)
	t := e.issueTokens(p.region, c, g, *st.snap, ov, true)
	return authResult{ChallengeParameters: map[string]string{}, AuthenticationResult: &t}, nil
}

func (e *Emulator) initiateAuth(region string, body []byte) (any, error) {
	var in cip.InitiateAuthInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	return e.startAuth(c, p, in.AuthFlow, in.AuthParameters, false)
}

func (e *Emulator) adminInitiateAuth(region string, body []byte) (any, error) {
	var in cip.AdminInitiateAuthInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	c, err := e.client(region, in.ClientId)
	if err != nil || c.poolID != p.id {
		return nil, errClientNotFound(aws.ToString(in.ClientId))
	}
	return e.startAuth(c, p, in.AuthFlow, in.AuthParameters, true)
}

func (e *Emulator) startAuth(c *appClient, p *pool, flow types.AuthFlowType, params map[string]string, admin bool) (any, error) {
	switch flow {
	case "":
		return nil, errNull("authFlow")
	case types.AuthFlowTypeRefreshTokenAuth, types.AuthFlowTypeRefreshToken:
		if !c.flows[types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth] {
			return nil, errInvalidParameter("Refresh Token auth flow not enabled for this client")
		}
		return e.refreshAuth(c, p, params)
	case types.AuthFlowTypeUserPasswordAuth:
		if admin {
			return nil, errInvalidParameter("Initiate Auth method not supported.")
		}
		if !c.flows[types.ExplicitAuthFlowsTypeAllowUserPasswordAuth] {
			return nil, errInvalidParameter("USER_PASSWORD_AUTH flow not enabled for this client")
		}
	case types.AuthFlowTypeAdminUserPasswordAuth, types.AuthFlowTypeAdminNoSrpAuth:
		if !admin {
			return nil, errInvalidParameter("Initiate Auth method not supported.")
		}
		if !c.flows[types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth] {
			return nil, errInvalidParameter("Auth flow not enabled for this client")
		}
	default:
		// SRP, custom and choice-based flows are not emulated.
		return nil, errInvalidParameter("Initiate Auth method not supported.")
	}
	name, pw := params["USERNAME"], params["PASSWORD"]
	if name == "" {
		return nil, errInvalidParameter("Missing required parameter USERNAME")
	}
	if _, ok := params["PASSWORD"]; !ok {
		return nil, errInvalidParameter("Missing required parameter PASSWORD")
	}
	if err := e.preAuthenticate(c, p, name); err != nil {
		return nil, err
	}
	st, err := func() (step, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		u := p.lookupForUpdate(name)
		if u == nil {
			if aerr := c.checkSecretHash(ptr(params["SECRET_HASH"]), name); aerr != nil {
				return step{}, aerr
			}
			if c.preventUserExist {
				return step{}, errBadCredentials()
			}
			return step{}, errUserNotFound()
		}
		if aerr := c.checkSecretHash(ptr(params["SECRET_HASH"]), name, u.username); aerr != nil {
			return step{}, aerr
		}
		if !u.enabled {
			return step{}, errUserDisabled()
		}
		if u.status == statusResetRequired {
			if c.preventUserExist {
				return step{}, errBadCredentials()
			}
			return step{}, newError("PasswordResetRequiredException", "Password reset required for the user")
		}
		if !u.checkPassword(pw) {
			return step{}, errBadCredentials()
		}
		switch u.status {
		case statusUnconfirmed:
			return step{}, newError("UserNotConfirmedException", "User is not confirmed.")
		case statusForceChangePassword:
			if exp := u.auth.tempExpires; exp != 0 && millis(e.now()) > exp {
				return step{}, newError("NotAuthorizedException", "Temporary password has expired and must be reset by an administrator.")
			}
			return e.newPasswordStep(p, c, u), nil
		}
		return e.mfaStep(p, c, u, sourceTokenAuthentication), nil
	}()
	if err != nil {
		return nil, err
	}
	return e.finish(context.Background(), c, p, st)
}

// preAuthenticate runs PreAuthentication for a sign-in with a password, before the password is
// checked: for a user of the pool, or for an unknown one when the client hides user existence.
// The trigger runs without the pool's lock.
func (e *Emulator) preAuthenticate(c *appClient, p *pool, name string) error {
	p.mu.RLock()
	u := p.lookup(name)
	var snap claimsFor
	if u != nil {
		snap = snapshot(u)
	}
	p.mu.RUnlock()
	switch {
	case u != nil:
		return e.preAuthentication(context.Background(), p, c.id, snap.username, snap.attrMap(), nil, false)
	case c.preventUserExist:
		return e.preAuthentication(context.Background(), p, c.id, name, map[string]string{}, nil, true)
	}
	return nil
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newPasswordStep is the NEW_PASSWORD_REQUIRED challenge of a user with a temporary password.
func (e *Emulator) newPasswordStep(p *pool, c *appClient, u *user) step {
	attrs := map[string]string{}
	for _, a := range u.attrs {
		attrs[a.name] = a.value
	}
	var required []string
	for _, d := range p.defs {
		if _, ok := u.get(d.name); d.required && d.name != "sub" && !ok {
			required = append(required, "userAttributes."+d.name)
		}
	}
	if required == nil {
		required = []string{}
	}
	s := e.newSession(c, u, types.ChallengeNameTypeNewPasswordRequired, sourceTokenNewPassword)
	return step{result: authResult{
		ChallengeName: types.ChallengeNameTypeNewPasswordRequired,
		ChallengeParameters: map[string]string{
			"USER_ID_FOR_SRP": u.username, "requiredAttributes": jsonString(required), "userAttributes": jsonString(attrs),
		},
		Session: s.id,
	}}
}

func (e *Emulator) refreshAuth(c *appClient, p *pool, params map[string]string) (any, error) {
	tok := params["REFRESH_TOKEN"]
	if tok == "" {
		return nil, errInvalidParameter("Missing required parameter REFRESH_TOKEN")
	}
	e.auth.mu.Lock()
	g := e.auth.grants.byRefresh[tok]
	e.auth.mu.Unlock()
	if g == nil || g.clientID != c.id {
		return nil, newError("NotAuthorizedException", "Invalid Refresh Token")
	}
	if g.revoked {
		return nil, newError("NotAuthorizedException", "Refresh Token has been revoked")
	}
	if e.now().After(g.refreshExpires) {
		return nil, newError("NotAuthorizedException", "Refresh Token has expired")
	}
	p.mu.RLock()
	u := p.userBySub(g.sub, false)
	if u == nil {
		p.mu.RUnlock()
		return nil, newError("NotAuthorizedException", "Invalid Refresh Token")
	}
	if aerr := c.checkSecretHash(ptr(params["SECRET_HASH"]), params["USERNAME"], u.username, u.subStr()); aerr != nil {
		p.mu.RUnlock()
		return nil, aerr
	}
	if !u.enabled {
		p.mu.RUnlock()
		return nil, errUserDisabled()
	}
	snap := snapshot(u)
	p.mu.RUnlock()
	ov, err := e.preTokenGeneration(context.Background(), p, sourceTokenRefresh, c.id, snap)
	if err != nil {
		return nil, err
	}
	t := e.issueTokens(p.region, c, g, snap, ov, false)
	return authResult{ChallengeParameters: map[string]string{}, AuthenticationResult: &t}, nil
}

func (e *Emulator) respondToAuthChallenge(region string, body []byte) (any, error) {
	var in cip.RespondToAuthChallengeInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, p, err := e.clientAndPool(region, in.ClientId)
	if err != nil {
		return nil, err
	}
	return e.respond(c, p, in.ChallengeName, in.Session, in.ChallengeResponses)
}

func (e *Emulator) adminRespondToAuthChallenge(region string, body []byte) (any, error) {
	var in cip.AdminRespondToAuthChallengeInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	c, err := e.client(region, in.ClientId)
	if err != nil || c.poolID != p.id {
		return nil, errClientNotFound(aws.ToString(in.ClientId))
	}
	return e.respond(c, p, in.ChallengeName, in.Session, in.ChallengeResponses)
}

func (e *Emulator) respond(c *appClient, p *pool, name types.ChallengeNameType, sessionID *string, resp map[string]string) (any, error) {
	if name == "" {
		return nil, errNull("challengeName")
	}
	s, err := e.takeSession(sessionID)
	if err != nil {
		return nil, err
	}
	if s.clientID != c.id || s.challenge != name {
		return nil, errInvalidSession()
	}
	if resp["USERNAME"] == "" {
		return nil, errInvalidParameter("Missing required parameter USERNAME")
	}
	st, err := func() (step, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		u := p.userBySub(s.sub, true)
		if u == nil {
			e.dropSession(s)
			return step{}, errUserNotFound()
		}
		if named := p.lookup(resp["USERNAME"]); named != u {
			return step{}, errInvalidSession()
		}
		if aerr := c.checkSecretHash(ptr(resp["SECRET_HASH"]), resp["USERNAME"], u.username); aerr != nil {
			return step{}, aerr
		}
		if !u.enabled {
			return step{}, errUserDisabled()
		}
		now := e.now()
		switch name {
		case types.ChallengeNameTypeNewPasswordRequired:
			pw, ok := resp["NEW_PASSWORD"]
			if !ok {
				return step{}, errInvalidParameter("Missing required parameter NEW_PASSWORD")
			}
			if aerr := p.checkPassword(pw); aerr != nil {
				return step{}, aerr
			}
			var given []types.AttributeType
			for k, v := range resp {
				if n, ok := strings.CutPrefix(k, "userAttributes."); ok {
					given = append(given, types.AttributeType{Name: aws.String(n), Value: aws.String(v)})
				}
			}
			vals, err := p.checkAttributes(given, false)
			if err != nil {
				return step{}, err
			}
			next := *u
			next.attrs = append([]attr(nil), u.attrs...)
			for _, d := range p.defs {
				if v, ok := vals[d.name]; ok {
					n, v := p.intern(d.name, v)
					next.set(n, v)
				}
			}
			if err := p.missingRequired(attrValues(&next)); err != nil {
				return step{}, err
			}
			p.unindexAliases(u)
			u.attrs = next.attrs
			p.indexAliases(u)
			u.setPassword(pw, false, 0, now)
			u.status = statusConfirmed
			u.modified = millis(now)
			e.dropSession(s)
			return e.mfaStep(p, c, u, s.source), nil
		case types.ChallengeNameTypeSoftwareTokenMfa:
			secret := e.totpSecret(p, u)
			if secret == "" || !validTOTP(secret, resp["SOFTWARE_TOKEN_MFA_CODE"], now) {
				return step{}, e.failedAttempt(s)
			}
		case types.ChallengeNameTypeSmsMfa, types.ChallengeNameTypeEmailOtp:
			key := "SMS_MFA_CODE"
			if name == types.ChallengeNameTypeEmailOtp {
				key = "EMAIL_OTP_CODE"
			}
			if got := resp[key]; got == "" || got != s.code {
				return step{}, e.failedAttempt(s)
			}
		case types.ChallengeNameTypeMfaSetup:
			if !s.totpVerified {
				return step{}, errInvalidParameter("Software token MFA has not been verified for this session.")
			}
		default:
			return step{}, errInvalidSession()
		}
		e.dropSession(s)
		snap := snapshot(u)
		return step{snap: &snap, source: s.source}, nil
	}()
	if err != nil {
		return nil, err
	}
	return e.finish(context.Background(), c, p, st)
}

// failedAttempt counts a wrong code; a session takes a few before it is spent.
func (e *Emulator) failedAttempt(s *session) error {
	e.auth.mu.Lock()
	s.attempts++
	if s.attempts >= maxChallengeAttempts {
		delete(e.auth.sessions, s.id)
	}
	e.auth.mu.Unlock()
	return newError("CodeMismatchException", "Invalid code received for user")
}

func attrValues(u *user) map[string]string {
	m := make(map[string]string, len(u.attrs))
	for _, a := range u.attrs {
		m[a.name] = a.value
	}
	return m
}

// tokenOrSessionUser resolves the user of AssociateSoftwareToken / VerifySoftwareToken, which
// take an access token or an MFA_SETUP session. The pool is returned write-locked.
func (e *Emulator) tokenOrSessionUser(accessToken, sessionID *string) (*pool, *user, *session, error) {
	if aws.ToString(accessToken) != "" {
		p, u, err := e.accessUser(accessToken, true)
		return p, u, nil, err
	}
	if aws.ToString(sessionID) == "" {
		return nil, nil, nil, errInvalidParameter("Either AccessToken or Session must be provided.")
	}
	s, err := e.takeSession(sessionID)
	if err != nil {
		return nil, nil, nil, err
	}
	if s.challenge != types.ChallengeNameTypeMfaSetup {
		return nil, nil, nil, errInvalidSession()
	}
	e.mu.RLock()
	p := e.pools[s.poolID]
	e.mu.RUnlock()
	if p == nil {
		return nil, nil, nil, errInvalidSession()
	}
	p.mu.Lock()
	u := p.userBySub(s.sub, true)
	if u == nil {
		p.mu.Unlock()
		return nil, nil, nil, errUserNotFound()
	}
	return p, u, s, nil
}

// nextSession replaces s with a fresh session for the same challenge, as Cognito hands back a
// new Session from AssociateSoftwareToken and VerifySoftwareToken.
func (e *Emulator) nextSession(s *session, verified bool) string {
	now := e.now()
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	delete(e.auth.sessions, s.id)
	n := *s
	n.id = newSecret(120)
	n.totpVerified = n.totpVerified || verified
	n.attempts = 0
	if c := e.auth.clients[s.clientID]; c != nil {
		n.expires = now.Add(c.sessionTTL)
	}
	e.auth.sessions[n.id] = &n
	return n.id
}

func (e *Emulator) associateSoftwareToken(region string, body []byte) (any, error) {
	var in cip.AssociateSoftwareTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, s, err := e.tokenOrSessionUser(in.AccessToken, in.Session)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	secret := newTOTPSecret()
	u.authState().pendingTOTP = secret
	out := struct {
		SecretCode string
		Session    string `json:",omitempty"`
	}{SecretCode: secret}
	if s != nil {
		out.Session = e.nextSession(s, false)
	}
	return out, nil
}

func (e *Emulator) verifySoftwareToken(region string, body []byte) (any, error) {
	var in cip.VerifySoftwareTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.UserCode == nil {
		return nil, errNull("userCode")
	}
	if len(*in.UserCode) != 6 || strings.Trim(*in.UserCode, "0123456789") != "" {
		return nil, errInvalidParameter("1 validation error detected: Value at 'userCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+")
	}
	p, u, s, err := e.tokenOrSessionUser(in.AccessToken, in.Session)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if u.auth == nil || u.auth.pendingTOTP == "" {
		return nil, newError("SoftwareTokenMFANotFoundException", "Software Token MFA has not been associated with the user.")
	}
	if !validTOTP(u.auth.pendingTOTP, *in.UserCode, e.now()) {
		return nil, newError("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
	}
	// Verifying replaces any earlier token and turns TOTP on; it becomes the preferred factor
	// unless the user already prefers another.
	u.auth.totpSecret, u.auth.pendingTOTP = u.auth.pendingTOTP, ""
	u.softwareToken = true
	u.mfaEnabled |= mfaTOTP
	if u.mfaPreferred == 0 {
		u.mfaPreferred = mfaTOTP
	}
	u.modified = millis(e.now())
	out := struct {
		Status  types.VerifySoftwareTokenResponseType
		Session string `json:",omitempty"`
	}{Status: types.VerifySoftwareTokenResponseTypeSuccess}
	if s != nil {
		out.Session = e.nextSession(s, true)
	}
	return out, nil
}

func (e *Emulator) getUser(region string, body []byte) (any, error) {
	var in cip.GetUserInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.accessUser(in.AccessToken, false)
	if err != nil {
		return nil, err
	}
	defer p.mu.RUnlock()
	if !u.enabled {
		return nil, errUserDisabled()
	}
	out := struct {
		Username            string
		UserAttributes      []attrJSON
		PreferredMfaSetting string   `json:",omitempty"`
		UserMFASettingList  []string `json:",omitempty"`
	}{Username: u.username, UserAttributes: attributes(u, nil)}
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

func (e *Emulator) globalSignOut(region string, body []byte) (any, error) {
	var in cip.GlobalSignOutInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.accessUser(in.AccessToken, false)
	if err != nil {
		return nil, err
	}
	defer p.mu.RUnlock()
	e.revokeTokens(p.id, u.sub)
	return struct{}{}, nil
}

// publicRegion finds the Region of an unsigned call (the SDK does not sign InitiateAuth, SignUp
// and the other public operations) from its app client, access token or session.
func (e *Emulator) publicRegion(body []byte) string {
	var in struct{ ClientId, AccessToken, Session string }
	_ = json.Unmarshal(body, &in)
	switch {
	case in.ClientId != "":
		e.auth.mu.Lock()
		defer e.auth.mu.Unlock()
		if c := e.auth.clients[in.ClientId]; c != nil {
			return c.region
		}
	case in.AccessToken != "":
		return regionOfToken(in.AccessToken)
	case in.Session != "":
		e.auth.mu.Lock()
		defer e.auth.mu.Unlock()
		if s := e.auth.sessions[in.Session]; s != nil {
			return s.region
		}
	}
	return ""
}
