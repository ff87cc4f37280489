package cognito

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// mfaFactors is the pool's factor configuration, as GetUserPoolMfaConfig shows it.
type mfaFactors struct {
	totp, sms, email bool
	smsCfg           *types.SmsMfaConfigType
	emailCfg         *types.EmailMfaConfigType
}

// init gives a new pool its factors. AWS turns on SMS MFA with the pool's SMS configuration and
// leaves TOTP to SetUserPoolMfaConfig; the emulator also turns TOTP on for pools created with MFA
// ON or OPTIONAL, so a pool made in one call can take MFA_SETUP with a software token.
func (f *mfaFactors) init(mfa types.UserPoolMfaType, smsConfigured bool, smsMessage *string) {
	f.sms = smsConfigured && mfa != types.UserPoolMfaTypeOff
	f.totp = mfa != types.UserPoolMfaTypeOff
	if f.sms {
		f.smsCfg = &types.SmsMfaConfigType{SmsAuthenticationMessage: smsMessage}
	}
}

func (f *mfaFactors) any() bool { return f.totp || f.sms || f.email }

// offered lists the factors the pool offers, in the order MFAS_CAN_SETUP lists them.
func (f *mfaFactors) offered() []string {
	var out []string
	if f.sms {
		out = append(out, "SMS_MFA")
	}
	if f.totp {
		out = append(out, "SOFTWARE_TOKEN_MFA")
	}
	if f.email {
		out = append(out, "EMAIL_OTP")
	}
	return out
}

// errMfaNeedsSMS is how CreateUserPool (and, reportedly, UpdateUserPool) refuse MFA ON or
// OPTIONAL without an SMS configuration, even for a pool whose only factor will be TOTP
// (aws-cli #3876, aws-cdk #12075, cloudformation-coverage-roadmap #769 and #2221): TOTP-only MFA
// is turned on with SetUserPoolMfaConfig.
func errMfaNeedsSMS() error {
	return errInvalidParameter("SMS configuration and Auto verification for phone_number are required when MFA is required/optional")
}

// checkCreateMfa refuses what CreateUserPool refuses: MFA ON or OPTIONAL without SMS.
func checkCreateMfa(mfa types.UserPoolMfaType, smsConfigured bool) error {
	if mfa != "" && mfa != types.UserPoolMfaTypeOff && !smsConfigured {
		return errMfaNeedsSMS()
	}
	return nil
}

// checkMfaUpdate refuses the MFA changes UpdateUserPool is reported to refuse. Turning MFA ON on
// an existing pool is refused (cloudformation-coverage-roadmap #1176, aws-cdk #21284); turning it
// on from OFF without SMS is refused like CreateUserPool; keeping a pool's ON or OPTIONAL is
// accepted (reported for pools whose TOTP MFA was set with SetUserPoolMfaConfig). With
// SetStrictMfaUpdate the emulator also refuses that last case, the reading of the reports under
// which no UpdateUserPool of a TOTP-only pool succeeds.
func (e *Emulator) checkMfaUpdate(current, next types.UserPoolMfaType, smsConfigured bool) error {
	if next == "" || next == types.UserPoolMfaTypeOff {
		return nil
	}
	if next == types.UserPoolMfaTypeOn && current != types.UserPoolMfaTypeOn {
		return errInvalidParameter("Cannot turn MFA functionality ON, once the user pool has been created.")
	}
	if !smsConfigured && (current == types.UserPoolMfaTypeOff || e.strictMfaUpdate.Load()) {
		return errMfaNeedsSMS()
	}
	return nil
}

// SetStrictMfaUpdate makes UpdateUserPool refuse MFA ON or OPTIONAL without an SMS configuration
// even when the pool already has that MFA setting, so tests can show what a procedure does if
// AWS refuses it.
func (e *Emulator) SetStrictMfaUpdate(on bool) { e.strictMfaUpdate.Store(on) }

func checkMfaType(m types.UserPoolMfaType) error {
	switch m {
	case "", types.UserPoolMfaTypeOff, types.UserPoolMfaTypeOn, types.UserPoolMfaTypeOptional:
		return nil
	}
	return errInvalidParameter("1 validation error detected: Value '%s' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]", m)
}

// updateUserPool replaces the pool's updatable settings. As on AWS, a setting the request leaves
// out goes back to its default, so callers pass what DescribeUserPool returned plus their change.
func (e *Emulator) updateUserPool(region string, body []byte) (any, error) {
	var in cip.UpdateUserPoolInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if err := checkMfaType(in.MfaConfiguration); err != nil {
		return nil, err
	}
	p.mu.RLock()
	current := p.cfg.MfaConfiguration
	p.mu.RUnlock()
	if err := e.checkMfaUpdate(current, in.MfaConfiguration, in.SmsConfiguration != nil); err != nil {
		return nil, err
	}
	for _, a := range in.AutoVerifiedAttributes {
		if a != types.VerifiedAttributeTypeEmail && a != types.VerifiedAttributeTypePhoneNumber {
			return nil, errInvalidParameter("1 validation error detected: Value '[%s]' at 'autoVerifiedAttributes' failed to satisfy constraint: Member must satisfy enum value set: [phone_number, email]", a)
		}
	}
	policy := types.PasswordPolicyType{MinimumLength: aws.Int32(8), RequireLowercase: true, RequireNumbers: true, RequireSymbols: true, RequireUppercase: true, TemporaryPasswordValidityDays: 7}
	if in.Policies != nil && in.Policies.PasswordPolicy != nil {
		policy = *in.Policies.PasswordPolicy
		if policy.MinimumLength == nil {
			policy.MinimumLength = aws.Int32(8)
		}
		if policy.TemporaryPasswordValidityDays == 0 {
			policy.TemporaryPasswordValidityDays = 7
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.cfg
	c.AccountRecoverySetting = in.AccountRecoverySetting
	c.AdminCreateUserConfig = in.AdminCreateUserConfig
	c.AutoVerifiedAttributes = in.AutoVerifiedAttributes
	c.DeviceConfiguration = in.DeviceConfiguration
	c.EmailConfiguration = in.EmailConfiguration
	c.EmailVerificationMessage = in.EmailVerificationMessage
	c.EmailVerificationSubject = in.EmailVerificationSubject
	c.LambdaConfig = in.LambdaConfig
	c.SmsAuthenticationMessage = in.SmsAuthenticationMessage
	c.SmsConfiguration = in.SmsConfiguration
	c.SmsVerificationMessage = in.SmsVerificationMessage
	c.UserAttributeUpdateSettings = in.UserAttributeUpdateSettings
	c.UserPoolAddOns = in.UserPoolAddOns
	c.UserPoolTags = in.UserPoolTags
	c.VerificationMessageTemplate = in.VerificationMessageTemplate
	c.DeletionProtection = in.DeletionProtection
	if c.DeletionProtection == "" {
		c.DeletionProtection = types.DeletionProtectionTypeInactive
	}
	if in.PoolName != nil {
		c.PoolName = in.PoolName
	}
	if in.UserPoolTier != "" {
		c.UserPoolTier = in.UserPoolTier
	}
	p.policy = policy
	c.Policies = &types.UserPoolPolicyType{PasswordPolicy: &p.policy}
	if in.Policies != nil {
		c.Policies.SignInPolicy = in.Policies.SignInPolicy
	}
	c.MfaConfiguration = in.MfaConfiguration
	if c.MfaConfiguration == "" {
		c.MfaConfiguration = types.UserPoolMfaTypeOff
	}
	if c.MfaConfiguration != types.UserPoolMfaTypeOff && !p.mfa.any() {
		p.mfa.init(c.MfaConfiguration, in.SmsConfiguration != nil, in.SmsAuthenticationMessage)
	}
	p.modified = e.now()
	return struct{}{}, nil
}

type mfaConfigJSON struct {
	MfaConfiguration              types.UserPoolMfaType
	SmsMfaConfiguration           *types.SmsMfaConfigType           `json:",omitempty"`
	SoftwareTokenMfaConfiguration *types.SoftwareTokenMfaConfigType `json:",omitempty"`
	EmailMfaConfiguration         *types.EmailMfaConfigType         `json:",omitempty"`
}

func (p *pool) mfaConfig() mfaConfigJSON {
	out := mfaConfigJSON{
		MfaConfiguration:              p.cfg.MfaConfiguration,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: p.mfa.totp},
	}
	if p.mfa.sms {
		out.SmsMfaConfiguration = p.mfa.smsCfg
		if out.SmsMfaConfiguration == nil {
			out.SmsMfaConfiguration = &types.SmsMfaConfigType{}
		}
	}
	if p.mfa.email {
		out.EmailMfaConfiguration = p.mfa.emailCfg
		if out.EmailMfaConfiguration == nil {
			out.EmailMfaConfiguration = &types.EmailMfaConfigType{}
		}
	}
	return out
}

func (e *Emulator) setUserPoolMfaConfig(region string, body []byte) (any, error) {
	var in cip.SetUserPoolMfaConfigInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if err := checkMfaType(in.MfaConfiguration); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	next := p.mfa
	// A factor the request leaves out is turned off, as the console's "save" does on AWS.
	next.totp = in.SoftwareTokenMfaConfiguration != nil && in.SoftwareTokenMfaConfiguration.Enabled
	next.sms, next.smsCfg = in.SmsMfaConfiguration != nil, in.SmsMfaConfiguration
	next.email, next.emailCfg = in.EmailMfaConfiguration != nil, in.EmailMfaConfiguration
	if next.email && p.cfg.UserPoolTier == types.UserPoolTierTypeLite {
		return nil, errInvalidParameter("Email MFA requires the Essentials or Plus feature plan.")
	}
	mfa := in.MfaConfiguration
	if mfa == "" {
		mfa = p.cfg.MfaConfiguration
	}
	if mfa != types.UserPoolMfaTypeOff && !next.any() {
		// As reported (aws-sdk-js #4186, sst #5177).
		return nil, errInvalidParameter("Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration.")
	}
	p.mfa = next
	p.cfg.MfaConfiguration = mfa
	p.modified = e.now()
	return p.mfaConfig(), nil
}

func (e *Emulator) getUserPoolMfaConfig(region string, body []byte) (any, error) {
	var in cip.GetUserPoolMfaConfigInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.mfaConfig(), nil
}

// adminDeleteSoftwareToken removes the user's TOTP factor and any preference for it; other
// factors stay. With MFA required and no other factor, the next sign-in gets MFA_SETUP.
// (The operation is newer than the SDK this module pins; call it with a raw JSON request.)
func (e *Emulator) adminDeleteSoftwareToken(region string, body []byte) (any, error) {
	var in struct{ UserPoolId, Username *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, u, err := e.findUser(region, in.UserPoolId, in.Username, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	u.softwareToken = false
	if u.auth != nil {
		u.auth.totpSecret, u.auth.pendingTOTP = "", ""
	}
	u.mfaEnabled &^= mfaTOTP
	u.mfaPreferred &^= mfaTOTP
	u.modified = millis(e.now())
	return struct{}{}, nil
}
