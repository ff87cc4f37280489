package cognito

import (
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// poolResources are the parts of a pool that live beside its users: identity providers,
// resource servers and the domain. The pool's lock guards them; Save keeps them (snapshot.go).
type poolResources struct {
	providers []*identityProvider // creation order
	servers   []*types.ResourceServerType
	domain    *types.DomainDescriptionType
}

type identityProvider struct {
	name, kind        string
	details           map[string]string
	mapping           map[string]string
	identifiers       []string
	created, modified float64
}

func (r *poolResources) provider(name string) *identityProvider {
	for _, p := range r.providers {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (r *poolResources) server(id string) *types.ResourceServerType {
	for _, s := range r.servers {
		if aws.ToString(s.Identifier) == id {
			return s
		}
	}
	return nil
}

// prefixDomain and customDomain are what DescribeUserPool shows in Domain and CustomDomain.
func (r *poolResources) prefixDomain() *string {
	if r.domain == nil || r.domain.CustomDomainConfig != nil {
		return nil
	}
	return r.domain.Domain
}

func (r *poolResources) customDomain() *string {
	if r.domain == nil || r.domain.CustomDomainConfig == nil {
		return nil
	}
	return r.domain.Domain
}

// Identity providers.

var (
	providerNamePattern = regexp.MustCompile(`^[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+$`)
	// providerRequired are the ProviderDetails keys each provider type needs (CreateIdentityProvider).
	providerRequired = map[types.IdentityProviderTypeType][]string{
		types.IdentityProviderTypeTypeFacebook:        {"client_id", "client_secret", "authorize_scopes"},
		types.IdentityProviderTypeTypeGoogle:          {"client_id", "client_secret", "authorize_scopes"},
		types.IdentityProviderTypeTypeLoginWithAmazon: {"client_id", "client_secret", "authorize_scopes"},
		types.IdentityProviderTypeTypeSignInWithApple: {"client_id", "team_id", "key_id", "private_key", "authorize_scopes"},
		types.IdentityProviderTypeTypeOidc:            {"client_id", "client_secret", "attributes_request_method", "oidc_issuer", "authorize_scopes"},
		types.IdentityProviderTypeTypeSaml:            nil, // MetadataURL or MetadataFile
	}
)

func errProviderNotFound(name string) *apiError {
	return newError("ResourceNotFoundException", "Identity provider %s does not exist.", name)
}

func (ip *identityProvider) describe(poolID string) types.IdentityProviderType {
	return types.IdentityProviderType{
		ProviderName: aws.String(ip.name), ProviderType: types.IdentityProviderTypeType(ip.kind), UserPoolId: aws.String(poolID),
		ProviderDetails: ip.details, AttributeMapping: ip.mapping, IdpIdentifiers: ip.identifiers,
	}
}

type identityProviderJSON struct {
	types.IdentityProviderType
	CreationDate     float64
	LastModifiedDate float64
}

func (ip *identityProvider) json(poolID string) identityProviderJSON {
	return identityProviderJSON{ip.describe(poolID), ip.created, ip.modified}
}

func (e *Emulator) createIdentityProvider(region string, body []byte) (any, error) {
	var in cip.CreateIdentityProviderInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.ProviderName)
	if name == "" {
		return nil, errNull("providerName")
	}
	if len([]rune(name)) > 32 || !providerNamePattern.MatchString(name) {
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'providerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^_\\p{Z}][\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}][^_\\p{Z}]+", name)
	}
	required, ok := providerRequired[in.ProviderType]
	if !ok {
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]", in.ProviderType)
	}
	for _, k := range required {
		if in.ProviderDetails[k] == "" {
			return nil, errInvalidParameter("%s is required for %s.", k, in.ProviderType)
		}
	}
	if in.ProviderType == types.IdentityProviderTypeTypeSaml && in.ProviderDetails["MetadataURL"] == "" && in.ProviderDetails["MetadataFile"] == "" {
		return nil, errInvalidParameter("MetadataURL or MetadataFile is required for SAML.")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.res.provider(name) != nil {
		return nil, newError("DuplicateProviderException", "A provider with the name %s already exists in this user pool.", name)
	}
	now := epoch(e.now())
	ip := &identityProvider{name: name, kind: string(in.ProviderType), details: in.ProviderDetails, mapping: in.AttributeMapping,
		identifiers: in.IdpIdentifiers, created: now, modified: now}
	p.res.providers = append(p.res.providers, ip)
	return map[string]any{"IdentityProvider": ip.json(p.id)}, nil
}

func (e *Emulator) describeIdentityProvider(region string, body []byte) (any, error) {
	var in cip.DescribeIdentityProviderInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	ip := p.res.provider(aws.ToString(in.ProviderName))
	if ip == nil {
		return nil, errProviderNotFound(aws.ToString(in.ProviderName))
	}
	return map[string]any{"IdentityProvider": ip.json(p.id)}, nil
}

// listIdentityProviders pages a pool's providers in creation order, names and types only.
func (e *Emulator) listIdentityProviders(region string, body []byte) (any, error) {
	var in cip.ListIdentityProvidersInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	limit := int32(60)
	if in.MaxResults != nil {
		if err := checkRange("maxResults", *in.MaxResults, 1, 60); err != nil {
			return nil, err
		}
		limit = *in.MaxResults
	}
	scope := "ListIdentityProviders\x00" + p.id
	from, err := e.cursor(scope, in.NextToken)
	if err != nil {
		return nil, err
	}
	type desc struct {
		ProviderName, ProviderType     string
		CreationDate, LastModifiedDate float64
	}
	out := struct {
		Providers []desc
		NextToken *string `json:",omitempty"`
	}{Providers: []desc{}}
	p.mu.RLock()
	defer p.mu.RUnlock()
	start := min(int(from), len(p.res.providers))
	end := min(start+int(limit), len(p.res.providers))
	for _, ip := range p.res.providers[start:end] {
		out.Providers = append(out.Providers, desc{ip.name, ip.kind, ip.created, ip.modified})
	}
	if end < len(p.res.providers) {
		out.NextToken = aws.String(e.token(scope, uint64(end)))
	}
	return out, nil
}

func (e *Emulator) deleteIdentityProvider(region string, body []byte) (any, error) {
	var in cip.DeleteIdentityProviderInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	name := aws.ToString(in.ProviderName)
	if p.res.provider(name) == nil {
		return nil, errProviderNotFound(name)
	}
	p.res.providers = slices.DeleteFunc(p.res.providers, func(ip *identityProvider) bool { return ip.name == name })
	return struct{}{}, nil
}

// Resource servers.

func (e *Emulator) createResourceServer(region string, body []byte) (any, error) {
	var in cip.CreateResourceServerInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	id, name := aws.ToString(in.Identifier), aws.ToString(in.Name)
	switch {
	case id == "":
		return nil, errNull("identifier")
	case name == "":
		return nil, errNull("name")
	case len(id) > 256:
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'identifier' failed to satisfy constraint: Member must have length less than or equal to 256", id)
	case len(in.Scopes) > 100:
		return nil, errInvalidParameter("1 validation error detected: Value at 'scopes' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	for _, s := range in.Scopes {
		if aws.ToString(s.ScopeName) == "" || aws.ToString(s.ScopeDescription) == "" {
			return nil, errInvalidParameter("1 validation error detected: Value null at 'scopes.member.scopeName' failed to satisfy constraint: Member must not be null")
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.res.server(id) != nil {
		return nil, errInvalidParameter("%s already exists in user pool %s.", id, p.id)
	}
	rs := &types.ResourceServerType{Identifier: aws.String(id), Name: aws.String(name), Scopes: in.Scopes, UserPoolId: aws.String(p.id)}
	if rs.Scopes == nil {
		rs.Scopes = []types.ResourceServerScopeType{}
	}
	p.res.servers = append(p.res.servers, rs)
	return map[string]any{"ResourceServer": rs}, nil
}

func (e *Emulator) describeResourceServer(region string, body []byte) (any, error) {
	var in cip.DescribeResourceServerInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	rs := p.res.server(aws.ToString(in.Identifier))
	if rs == nil {
		return nil, newError("ResourceNotFoundException", "Resource server %s does not exist.", aws.ToString(in.Identifier))
	}
	return map[string]any{"ResourceServer": rs}, nil
}

func (e *Emulator) listResourceServers(region string, body []byte) (any, error) {
	var in cip.ListResourceServersInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	limit := int32(50)
	if in.MaxResults != nil {
		if err := checkRange("maxResults", *in.MaxResults, 1, 50); err != nil {
			return nil, err
		}
		limit = *in.MaxResults
	}
	scope := "ListResourceServers\x00" + p.id
	from, err := e.cursor(scope, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		ResourceServers []*types.ResourceServerType
		NextToken       *string `json:",omitempty"`
	}{ResourceServers: []*types.ResourceServerType{}}
	p.mu.RLock()
	defer p.mu.RUnlock()
	start := min(int(from), len(p.res.servers))
	end := min(start+int(limit), len(p.res.servers))
	out.ResourceServers = append(out.ResourceServers, p.res.servers[start:end]...)
	if end < len(p.res.servers) {
		out.NextToken = aws.String(e.token(scope, uint64(end)))
	}
	return out, nil
}

// standardScopes are the OAuth scopes every pool has; others are "<resource server>/<scope>".
var standardScopes = []string{"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}

// checkClientReferences refuses an app client naming an identity provider or a custom scope the
// pool does not have; the caller holds the pool's lock.
func (p *pool) checkClientReferences(providers, scopes []string) *apiError {
	for _, name := range providers {
		if name != "COGNITO" && p.res.provider(name) == nil {
			return errInvalidParameter("The provider %s does not exist for User Pool %s", name, p.id)
		}
	}
	for _, s := range scopes {
		if slices.Contains(standardScopes, s) {
			continue
		}
		i := strings.LastIndex(s, "/")
		if i <= 0 {
			return errInvalidParameter("Invalid scope requested: %s", s)
		}
		rs := p.res.server(s[:i])
		if rs == nil || !slices.ContainsFunc(rs.Scopes, func(sc types.ResourceServerScopeType) bool { return aws.ToString(sc.ScopeName) == s[i+1:] }) {
			return errInvalidParameter("Invalid scope requested: %s", s)
		}
	}
	return nil
}

// Domains.

var prefixDomainPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$`)

// ReserveDomain marks a domain prefix of region as held by another AWS account: domains are
// unique across accounts, which a one-account emulator cannot otherwise show.
func (e *Emulator) ReserveDomain(region, domain string) {
	e.takenDomains.Store(region+"/"+domain, true)
}

// domainOwner finds the pool of region holding domain; the caller holds no pool lock.
func (e *Emulator) domainOwner(region, domain string) *pool {
	e.mu.RLock()
	ps := make([]*pool, 0, len(e.pools))
	for _, p := range e.pools {
		if p.region == region {
			ps = append(ps, p)
		}
	}
	e.mu.RUnlock()
	for _, p := range ps {
		p.mu.RLock()
		d := p.res.domain
		p.mu.RUnlock()
		if d != nil && aws.ToString(d.Domain) == domain {
			return p
		}
	}
	return nil
}

func (e *Emulator) createUserPoolDomain(region string, body []byte) (any, error) {
	var in cip.CreateUserPoolDomainInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	domain := aws.ToString(in.Domain)
	if domain == "" {
		return nil, errNull("domain")
	}
	custom := in.CustomDomainConfig
	if custom == nil && !prefixDomainPattern.MatchString(domain) {
		return nil, errInvalidParameter("The domain name contains an invalid character. Domain names can only contain lower-case letters, numbers, and hyphens. Please enter a different name that follows this format: ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$")
	}
	if custom != nil && aws.ToString(custom.CertificateArn) == "" {
		return nil, errNull("customDomainConfig.certificateArn")
	}
	if _, taken := e.takenDomains.Load(region + "/" + domain); taken || e.domainOwner(region, domain) != nil {
		return nil, errInvalidParameter("Domain already associated with another user pool.")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.res.domain != nil {
		return nil, errInvalidParameter("User pool already has a domain configured.")
	}
	d := &types.DomainDescriptionType{
		AWSAccountId: aws.String(e.accountID), Domain: aws.String(domain), UserPoolId: aws.String(p.id),
		CustomDomainConfig: custom, ManagedLoginVersion: in.ManagedLoginVersion, Status: types.DomainStatusTypeActive,
		Version: aws.String("20261201000000"), S3Bucket: aws.String("aws-cognito-prod-" + region + "-assets"),
		CloudFrontDistribution: aws.String(strings.ToLower(e.randomAlnum(14)) + ".cloudfront.net"),
	}
	if d.ManagedLoginVersion == nil {
		d.ManagedLoginVersion = aws.Int32(1)
	}
	p.res.domain = d
	out := map[string]any{"ManagedLoginVersion": d.ManagedLoginVersion}
	if custom != nil {
		out["CloudFrontDomain"] = d.CloudFrontDistribution
	}
	return out, nil
}

// describeUserPoolDomain answers an empty description for a domain nobody holds, as AWS does.
func (e *Emulator) describeUserPoolDomain(region string, body []byte) (any, error) {
	var in cip.DescribeUserPoolDomainInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	domain := aws.ToString(in.Domain)
	if domain == "" {
		return nil, errNull("domain")
	}
	p := e.domainOwner(region, domain)
	if p == nil {
		return map[string]any{"DomainDescription": struct{}{}}, nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return map[string]any{"DomainDescription": p.res.domain}, nil
}

func (e *Emulator) deleteUserPoolDomain(region string, body []byte) (any, error) {
	var in cip.DeleteUserPoolDomainInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.res.domain == nil || aws.ToString(p.res.domain.Domain) != aws.ToString(in.Domain) {
		return nil, errInvalidParameter("No such domain or user pool exists.")
	}
	p.res.domain = nil
	return struct{}{}, nil
}

// Schema and groups.

// addCustomAttributes adds custom attributes with CreateUserPool's schema rules: a name the pool
// has, a required attribute or more than 50 custom attributes is refused, and nothing is added.
func (e *Emulator) addCustomAttributes(region string, body []byte) (any, error) {
	var in cip.AddCustomAttributesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if len(in.CustomAttributes) == 0 {
		return nil, errNull("customAttributes")
	}
	if len(in.CustomAttributes) > 25 {
		return nil, errInvalidParameter("1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 25")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range in.CustomAttributes {
		name := aws.ToString(a.Name)
		if name != "" && isStandard(name) {
			return nil, errInvalidParameter("Existing attribute already has name %s.", name)
		}
	}
	schema := append(slices.Clone(p.cfg.Schema), in.CustomAttributes...)
	defs, err := buildSchema(schema)
	if err != nil {
		return nil, err
	}
	p.cfg.Schema = schema
	p.defs = defs
	p.def = make(map[string]*attrDef, len(defs))
	for _, d := range defs {
		p.def[d.name] = d
	}
	p.modified = e.now()
	return struct{}{}, nil
}

// updateGroup changes the members the request names; a member left out keeps its value.
func (e *Emulator) updateGroup(region string, body []byte) (any, error) {
	var in cip.UpdateGroupInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Precedence != nil && *in.Precedence < 0 {
		return nil, checkRange("precedence", *in.Precedence, 0, 1<<31-1)
	}
	p, g, err := e.findGroup(region, in.UserPoolId, in.GroupName, true)
	if err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	if in.Description != nil {
		g.description = in.Description
	}
	if in.Precedence != nil {
		g.precedence = in.Precedence
	}
	if in.RoleArn != nil {
		g.roleArn = in.RoleArn
	}
	g.modified = millis(e.now())
	return map[string]any{"Group": p.groupJSON(g)}, nil
}

// checkTags refuses tag keys under "aws:", which AWS reserves for its own tags (CloudFormation's
// stack tags among them).
func checkTags(tags map[string]string) error {
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errInvalidParameter("Tag keys starting with 'aws:' are reserved for internal use: %s", k)
		}
	}
	return nil
}
