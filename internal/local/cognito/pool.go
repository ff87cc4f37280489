package cognito

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

var (
	poolIDPattern   = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	poolNamePattern = regexp.MustCompile(`^[\w\s+=,.@-]+$`)
)

// pool is one user pool. Its lock guards everything below it, users and groups included.
type pool struct {
	id, region, arn string
	created         time.Time

	mu       sync.RWMutex
	modified time.Time
	cfg      cip.CreateUserPoolInput // as created, echoed by DescribeUserPool
	defs     []*attrDef
	def      map[string]*attrDef
	policy   types.PasswordPolicyType

	usernameEmail, usernamePhone bool // UsernameAttributes
	aliasEmail, aliasPhone       bool // AliasAttributes
	aliasPreferred               bool
	caseInsensitive              bool

	users
	groups map[string]*group
	// signOuts holds the last AdminUserGlobalSignOut per user sub, in Unix milliseconds.
	signOuts map[[16]byte]int64

	mfa mfaFactors // which MFA factors the pool offers (SetUserPoolMfaConfig)

	res poolResources // identity providers, resource servers, domain (poolresources.go)
}

func newPool(id, region, arn string, in *cip.CreateUserPoolInput, now time.Time) (*pool, error) {
	name := aws.ToString(in.PoolName)
	if name == "" {
		return nil, errNull("poolName")
	}
	if len(name) > 128 || !poolNamePattern.MatchString(name) {
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'poolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+", name)
	}
	if len(in.UsernameAttributes) > 0 && len(in.AliasAttributes) > 0 {
		return nil, errInvalidParameter("Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.")
	}
	switch in.MfaConfiguration {
	case "", types.UserPoolMfaTypeOff, types.UserPoolMfaTypeOn, types.UserPoolMfaTypeOptional:
	default:
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]", in.MfaConfiguration)
	}
	defs, err := buildSchema(in.Schema)
	if err != nil {
		return nil, err
	}
	p := &pool{id: id, region: region, arn: arn, created: now, modified: now, cfg: *in, defs: defs, def: make(map[string]*attrDef, len(defs))}
	for _, d := range defs {
		p.def[d.name] = d
	}
	for _, a := range in.UsernameAttributes {
		switch a {
		case types.UsernameAttributeTypeEmail:
			p.usernameEmail = true
		case types.UsernameAttributeTypePhoneNumber:
			p.usernamePhone = true
		default:
			return nil, errInvalidParameter("1 validation error detected: Value '[%s]' at 'usernameAttributes' failed to satisfy constraint: Member must satisfy enum value set: [phone_number, email]", a)
		}
	}
	for _, a := range in.AliasAttributes {
		switch a {
		case types.AliasAttributeTypeEmail:
			p.aliasEmail = true
		case types.AliasAttributeTypePhoneNumber:
			p.aliasPhone = true
		case types.AliasAttributeTypePreferredUsername:
			p.aliasPreferred = true
		default:
			return nil, errInvalidParameter("1 validation error detected: Value '[%s]' at 'aliasAttributes' failed to satisfy constraint: Member must satisfy enum value set: [phone_number, email, preferred_username]", a)
		}
	}
	for _, a := range in.AutoVerifiedAttributes {
		if a != types.VerifiedAttributeTypeEmail && a != types.VerifiedAttributeTypePhoneNumber {
			return nil, errInvalidParameter("1 validation error detected: Value '[%s]' at 'autoVerifiedAttributes' failed to satisfy constraint: Member must satisfy enum value set: [phone_number, email]", a)
		}
	}
	if c := in.UsernameConfiguration; c != nil && c.CaseSensitive != nil && !*c.CaseSensitive {
		p.caseInsensitive = true
	}
	if p.cfg.MfaConfiguration == "" {
		p.cfg.MfaConfiguration = types.UserPoolMfaTypeOff
	}
	if p.cfg.DeletionProtection == "" {
		p.cfg.DeletionProtection = types.DeletionProtectionTypeInactive
	}
	// AWS's default password policy, filled in member by member.
	p.policy = types.PasswordPolicyType{MinimumLength: aws.Int32(8), RequireLowercase: true, RequireNumbers: true, RequireSymbols: true, RequireUppercase: true, TemporaryPasswordValidityDays: 7}
	if in.Policies != nil && in.Policies.PasswordPolicy != nil {
		p.policy = *in.Policies.PasswordPolicy
		if p.policy.MinimumLength == nil {
			p.policy.MinimumLength = aws.Int32(8)
		}
		if p.policy.TemporaryPasswordValidityDays == 0 {
			p.policy.TemporaryPasswordValidityDays = 7
		}
	}
	p.cfg.Policies = &types.UserPoolPolicyType{PasswordPolicy: &p.policy}
	if in.Policies != nil {
		p.cfg.Policies.SignInPolicy = in.Policies.SignInPolicy
	}
	p.groups = map[string]*group{}
	p.users.init()
	p.mfa.init(p.cfg.MfaConfiguration, in.SmsConfiguration != nil, in.SmsAuthenticationMessage)
	return p, nil
}

// CreatePool creates a pool directly, without HTTP or quotas, and returns its id. It is a
// fixture: a pool created with MFA ON or OPTIONAL and no SMS configuration gets TOTP MFA, the
// state an operator reaches with CreateUserPool (MFA OFF) then SetUserPoolMfaConfig, which AWS
// requires for TOTP-only MFA (the CreateUserPool operation refuses it).
func (e *Emulator) CreatePool(region string, in *cip.CreateUserPoolInput) (string, error) {
	if in == nil {
		in = &cip.CreateUserPoolInput{}
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var id string
	for {
		id = region + "_" + e.randomAlnum(9)
		if e.pools[id] == nil {
			break
		}
	}
	arn := "arn:aws:cognito-idp:" + region + ":" + e.accountID + ":userpool/" + id
	p, err := newPool(id, region, arn, in, now)
	if err != nil {
		return "", err
	}
	e.pools[id] = p
	return id, nil
}

// pool finds a pool by id as seen from region: a pool of another Region does not exist there.
func (e *Emulator) pool(region string, id *string) (*pool, error) {
	if id == nil || *id == "" {
		return nil, errNull("userPoolId")
	}
	if len(*id) > 55 || !poolIDPattern.MatchString(*id) {
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+", *id)
	}
	e.mu.RLock()
	p := e.pools[*id]
	e.mu.RUnlock()
	if p == nil || p.region != region {
		return nil, errPoolNotFound(*id)
	}
	return p, nil
}

func (e *Emulator) createUserPool(region string, body []byte) (any, error) {
	var in cip.CreateUserPoolInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkCreateMfa(in.MfaConfiguration, in.SmsConfiguration != nil); err != nil {
		return nil, err
	}
	if err := checkTags(in.UserPoolTags); err != nil {
		return nil, err
	}
	id, err := e.CreatePool(region, &in)
	if err != nil {
		return nil, err
	}
	p, _ := e.pool(region, &id)
	return map[string]any{"UserPool": p.describe()}, nil
}

// userPoolJSON is UserPoolType with its dates as epoch seconds; the outer fields shadow the embedded ones.
type userPoolJSON struct {
	types.UserPoolType
	CreationDate     float64
	LastModifiedDate float64
}

func (p *pool) describe() userPoolJSON {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c := p.cfg
	schema := make([]types.SchemaAttributeType, len(p.defs))
	for i, d := range p.defs {
		schema[i] = d.schemaType()
	}
	return userPoolJSON{
		UserPoolType: types.UserPoolType{
			AccountRecoverySetting:      c.AccountRecoverySetting,
			AdminCreateUserConfig:       c.AdminCreateUserConfig,
			AliasAttributes:             c.AliasAttributes,
			Arn:                         aws.String(p.arn),
			AutoVerifiedAttributes:      c.AutoVerifiedAttributes,
			DeletionProtection:          c.DeletionProtection,
			DeviceConfiguration:         c.DeviceConfiguration,
			EmailConfiguration:          c.EmailConfiguration,
			EmailVerificationMessage:    c.EmailVerificationMessage,
			EmailVerificationSubject:    c.EmailVerificationSubject,
			EstimatedNumberOfUsers:      int32(p.users.count),
			Id:                          aws.String(p.id),
			LambdaConfig:                c.LambdaConfig,
			MfaConfiguration:            c.MfaConfiguration,
			Name:                        c.PoolName,
			Policies:                    c.Policies,
			SchemaAttributes:            schema,
			SmsAuthenticationMessage:    c.SmsAuthenticationMessage,
			SmsConfiguration:            c.SmsConfiguration,
			SmsVerificationMessage:      c.SmsVerificationMessage,
			UserAttributeUpdateSettings: c.UserAttributeUpdateSettings,
			UserPoolAddOns:              c.UserPoolAddOns,
			UserPoolTags:                c.UserPoolTags,
			UserPoolTier:                c.UserPoolTier,
			UsernameAttributes:          c.UsernameAttributes,
			UsernameConfiguration:       c.UsernameConfiguration,
			VerificationMessageTemplate: c.VerificationMessageTemplate,
			IssuerConfiguration:         c.IssuerConfiguration,
			KeyConfiguration:            c.KeyConfiguration,
			Domain:                      p.res.prefixDomain(),
			CustomDomain:                p.res.customDomain(),
		},
		CreationDate:     epoch(p.created),
		LastModifiedDate: epoch(p.modified),
	}
}

func (e *Emulator) describeUserPool(region string, body []byte) (any, error) {
	var in cip.DescribeUserPoolInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"UserPool": p.describe()}, nil
}

func (e *Emulator) listUserPools(region string, body []byte) (any, error) {
	var in cip.ListUserPoolsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.MaxResults == nil {
		return nil, errNull("maxResults")
	}
	if err := checkRange("maxResults", *in.MaxResults, 1, 60); err != nil {
		return nil, err
	}
	e.mu.RLock()
	var ps []*pool
	for _, p := range e.pools {
		if p.region == region {
			ps = append(ps, p)
		}
	}
	e.mu.RUnlock()
	slices.SortFunc(ps, func(a, b *pool) int { return strings.Compare(a.id, b.id) })
	start := 0
	if t := aws.ToString(in.NextToken); t != "" {
		start, _ = slices.BinarySearchFunc(ps, t, func(p *pool, id string) int { return strings.Compare(p.id, id) })
		if start < len(ps) && ps[start].id == t {
			start++
		}
	}
	type desc struct {
		Id, Name                       string
		Status                         string `json:",omitempty"`
		CreationDate, LastModifiedDate float64
		LambdaConfig                   *types.LambdaConfigType `json:",omitempty"`
	}
	out := struct {
		UserPools []desc
		NextToken *string `json:",omitempty"`
	}{UserPools: []desc{}}
	end := min(start+int(*in.MaxResults), len(ps))
	for _, p := range ps[start:end] {
		p.mu.RLock()
		out.UserPools = append(out.UserPools, desc{Id: p.id, Name: aws.ToString(p.cfg.PoolName), CreationDate: epoch(p.created), LastModifiedDate: epoch(p.modified), LambdaConfig: p.cfg.LambdaConfig})
		p.mu.RUnlock()
	}
	if end < len(ps) {
		out.NextToken = aws.String(ps[end-1].id)
	}
	return out, nil
}

func (e *Emulator) deleteUserPool(region string, body []byte) (any, error) {
	var in cip.DeleteUserPoolInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	protected := p.cfg.DeletionProtection == types.DeletionProtectionTypeActive
	p.mu.RUnlock()
	if protected {
		return nil, errInvalidParameter("The user pool cannot be deleted because deletion protection is activated.")
	}
	e.mu.Lock()
	delete(e.pools, p.id)
	e.mu.Unlock()
	return struct{}{}, nil
}

func checkRange(member string, v, lo, hi int32) *apiError {
	if v > hi {
		return errInvalidParameter("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", v, member, hi)
	}
	if v < lo {
		return errInvalidParameter("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", v, member, lo)
	}
	return nil
}

// checkPassword applies the pool's password policy with AWS's InvalidPasswordException messages.
func (p *pool) checkPassword(pw string) *apiError {
	const prefix = "Password did not conform with policy: "
	bad := func(msg string) *apiError { return newError("InvalidPasswordException", "%s", prefix+msg) }
	if len(pw) > 256 {
		return errInvalidParameter("1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	if len([]rune(pw)) < int(aws.ToInt32(p.policy.MinimumLength)) {
		return bad("Password not long enough")
	}
	var upper, lower, digit, symbol bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ", r):
			symbol = true
		}
	}
	switch {
	case p.policy.RequireUppercase && !upper:
		return bad("Password must have uppercase characters")
	case p.policy.RequireLowercase && !lower:
		return bad("Password must have lowercase characters")
	case p.policy.RequireNumbers && !digit:
		return bad("Password must have numeric characters")
	case p.policy.RequireSymbols && !symbol:
		return bad("Password must have symbol characters")
	}
	return nil
}
