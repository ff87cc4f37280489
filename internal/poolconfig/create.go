package poolconfig

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// CreateAPI is what Create calls on the new pool's Region.
type CreateAPI interface {
	cip.ListUserPoolsAPIClient
	preflight.DescribePoolAPI
	cip.ListUserPoolClientsAPIClient
	cip.ListResourceServersAPIClient
	CreateUserPool(ctx context.Context, in *cip.CreateUserPoolInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolOutput, error)
	SetUserPoolMfaConfig(ctx context.Context, in *cip.SetUserPoolMfaConfigInput, optFns ...func(*cip.Options)) (*cip.SetUserPoolMfaConfigOutput, error)
	CreateResourceServer(ctx context.Context, in *cip.CreateResourceServerInput, optFns ...func(*cip.Options)) (*cip.CreateResourceServerOutput, error)
	CreateIdentityProvider(ctx context.Context, in *cip.CreateIdentityProviderInput, optFns ...func(*cip.Options)) (*cip.CreateIdentityProviderOutput, error)
	CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error)
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
	CreateUserPoolDomain(ctx context.Context, in *cip.CreateUserPoolDomainInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolDomainOutput, error)
}

// TriggerPolicy says what a created pool does with the captured Lambda triggers, which name
// functions of the captured pool's Region.
type TriggerPolicy string

const (
	// TriggersOmit (the default) creates the pool without triggers and reports the captured ones.
	TriggersOmit TriggerPolicy = "omit"
	// TriggersKeep points the new pool at the captured functions, in their Region.
	TriggersKeep TriggerPolicy = "keep"
	// TriggersReplace uses Options.LambdaConfig instead.
	TriggersReplace TriggerPolicy = "replace"
)

// Options are the decisions Create cannot take from the snapshot alone.
type Options struct {
	// ProviderSecrets gives, per identity provider name, the ProviderDetails keys capture removed
	// (IdentityProvider.SecretsRemoved). A provider without them is not created (Created says why).
	ProviderSecrets map[string]map[string]string
	// ClientSecrets gives, per captured app client id, the secret its copy should have; a
	// client that had a secret and is not named here gets a new one.
	ClientSecrets map[string]string
	// Domain is a domain prefix to create for the new pool; empty creates none (domains are
	// unique: the captured one is still held by the captured pool unless it was deleted).
	Domain string
	// Triggers decides LambdaConfig; empty means TriggersOmit.
	Triggers TriggerPolicy
	// LambdaConfig is the new pool's triggers with TriggersReplace.
	LambdaConfig *types.LambdaConfigType
	// Tags are added to the captured pool's tags.
	Tags map[string]string
	// DeletionProtection, when set, replaces the captured setting (a drill's scratch pool is
	// deleted afterwards).
	DeletionProtection types.DeletionProtectionType
	// Token, when set, makes Create safe to call again, as a Step Functions retry does: the pool
	// is tagged TokenTag=Token, and a later call with the same name and token finishes that pool
	// (the resource servers, identity providers, app clients, groups and domain it lacks)
	// instead of creating another. Use the execution's name.
	Token string
}

// TokenTag is the pool tag that carries Options.Token.
const TokenTag = "cognito-dr:create-token"

// Created is what Create made: what applications must be reconfigured with, and what it left out.
type Created struct {
	UserPoolID string `json:"userPoolId"`
	Arn        string `json:"arn"`
	// Clients maps every captured app client to its copy.
	Clients []ClientCopy `json:"clients"`
	// ClientIDs is Clients as old client id → new client id.
	ClientIDs         map[string]string     `json:"clientIds"`
	Groups            int                   `json:"groups"`
	ResourceServers   int                   `json:"resourceServers"`
	IdentityProviders []ProviderResult      `json:"identityProviders"`
	Domain            DomainResult          `json:"domain"`
	Triggers          TriggerResult         `json:"triggers"`
	MFA               types.UserPoolMfaType `json:"mfa"`
	// Resumed is true when an earlier call with the same Token had created the pool.
	Resumed bool `json:"resumed,omitempty"`
	// Notes are differences from the captured pool an operator should know.
	Notes []string `json:"notes,omitempty"`
}

// ClientCopy is one app client and its copy.
type ClientCopy struct {
	Name        string `json:"name"`
	OldClientID string `json:"oldClientId"`
	NewClientID string `json:"newClientId"`
	// NewSecret is true when the copy has a secret the apps do not know yet (read it with
	// DescribeUserPoolClient; it is never written anywhere by this tool).
	NewSecret bool `json:"newSecret,omitempty"`
}

// ProviderResult says whether one identity provider was created, and if not why.
type ProviderResult struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Created bool   `json:"created"`
	Reason  string `json:"reason,omitempty"`
}

// DomainResult reports the captured domain and the one created, if any.
type DomainResult struct {
	Captured string `json:"captured,omitempty"`
	Custom   bool   `json:"custom,omitempty"`
	Created  string `json:"created,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// TriggerResult reports what became of the captured Lambda triggers.
type TriggerResult struct {
	Policy   TriggerPolicy `json:"policy"`
	Captured []string      `json:"captured,omitempty"`
	Applied  []string      `json:"applied,omitempty"`
}

var poolNamePattern = regexp.MustCompile(`^[\w\s+=,.@-]+$`)

// Create makes a new pool named name equivalent to cfg: everything CreateUserPool accepts, then
// the MFA configuration, resource servers, identity providers (those whose secrets opts gives),
// app clients (the old → new id map is in Created), groups and, when opts names one, a domain.
//
// Without Options.Token, Create is not idempotent: called again it makes another pool. On an
// error after the pool was made it returns what it made so far with the error, so the caller can
// report or delete it.
func Create(ctx context.Context, api CreateAPI, pacer *quota.Pacer, cfg Config, name string, opts Options) (Created, error) {
	if len(name) == 0 || len(name) > 128 || !poolNamePattern.MatchString(name) {
		return Created{}, stateerr.Invalid("pool name %q: 1 to 128 letters, digits, spaces or +=,.@-_", name)
	}
	if cfg.Version != Version || cfg.Pool.Id == nil {
		return Created{}, stateerr.Invalid("no pool configuration (version %d) to create a pool from", cfg.Version)
	}
	in, created, err := createInput(cfg, name, opts)
	if err != nil {
		return Created{}, err
	}
	pool, err := findByToken(ctx, api, pacer, name, opts.Token)
	if err != nil {
		return Created{}, err
	}
	created.Resumed = pool != nil
	if pool == nil {
		if err := pacer.Wait(ctx, "CreateUserPool"); err != nil {
			return Created{}, err
		}
		out, err := api.CreateUserPool(ctx, in)
		if err != nil {
			return Created{}, fmt.Errorf("create user pool %q: %w", name, err)
		}
		pool = out.UserPool
	}
	created.UserPoolID, created.Arn = aws.ToString(pool.Id), aws.ToString(pool.Arn)
	created.MFA = pool.MfaConfiguration
	c := &creator{api: api, pacer: pacer, cfg: cfg, opts: opts, out: &created, pool: pool}
	for _, step := range []func(context.Context) error{c.mfa, c.servers, c.providers, c.clients, c.groups, c.domain} {
		if err := step(ctx); err != nil {
			return created, fmt.Errorf("pool %s created from %s, then: %w", created.UserPoolID, cfg.UserPoolID, err)
		}
	}
	gaps := SchemaGaps(cfg, pool)
	for _, m := range gaps.Missing {
		created.Notes = append(created.Notes, fmt.Sprintf("custom attribute %s was not created", aws.ToString(m.Name)))
	}
	created.Notes = append(created.Notes, gaps.Incompatible...)
	return created, nil
}

// createInput is CreateUserPool's input from cfg and the Created record it starts.
func createInput(cfg Config, name string, opts Options) (*cip.CreateUserPoolInput, Created, error) {
	p := cfg.Pool
	created := Created{ClientIDs: map[string]string{}, Clients: []ClientCopy{}, IdentityProviders: []ProviderResult{}}
	in := &cip.CreateUserPoolInput{
		PoolName:                    aws.String(name),
		AccountRecoverySetting:      p.AccountRecoverySetting,
		AdminCreateUserConfig:       p.AdminCreateUserConfig,
		AliasAttributes:             p.AliasAttributes,
		AutoVerifiedAttributes:      p.AutoVerifiedAttributes,
		DeletionProtection:          p.DeletionProtection,
		DeviceConfiguration:         p.DeviceConfiguration,
		EmailConfiguration:          p.EmailConfiguration,
		EmailVerificationMessage:    p.EmailVerificationMessage,
		EmailVerificationSubject:    p.EmailVerificationSubject,
		IssuerConfiguration:         p.IssuerConfiguration,
		KeyConfiguration:            p.KeyConfiguration,
		MfaConfiguration:            p.MfaConfiguration,
		Policies:                    p.Policies,
		Schema:                      createSchema(p.SchemaAttributes),
		SmsAuthenticationMessage:    p.SmsAuthenticationMessage,
		SmsConfiguration:            p.SmsConfiguration,
		SmsVerificationMessage:      p.SmsVerificationMessage,
		UserAttributeUpdateSettings: p.UserAttributeUpdateSettings,
		UserPoolAddOns:              p.UserPoolAddOns,
		UserPoolTags:                maps.Clone(p.UserPoolTags),
		UserPoolTier:                p.UserPoolTier,
		UsernameAttributes:          p.UsernameAttributes,
		UsernameConfiguration:       p.UsernameConfiguration,
		VerificationMessageTemplate: p.VerificationMessageTemplate,
	}
	// Keys under "aws:" (CloudFormation's stack tags) are AWS's own: a request may not set them.
	maps.DeleteFunc(in.UserPoolTags, func(k, _ string) bool { return strings.HasPrefix(k, "aws:") })
	if len(opts.Tags) > 0 || opts.Token != "" {
		if in.UserPoolTags == nil {
			in.UserPoolTags = map[string]string{}
		}
		maps.Copy(in.UserPoolTags, opts.Tags)
		if opts.Token != "" {
			in.UserPoolTags[TokenTag] = opts.Token
		}
	}
	if opts.DeletionProtection != "" {
		in.DeletionProtection = opts.DeletionProtection
	}
	// DescribeUserPool echoes the deprecated UnusedAccountValidityDays beside the password
	// policy's TemporaryPasswordValidityDays; CreateUserPool refuses the two together.
	if a := in.AdminCreateUserConfig; a != nil && a.UnusedAccountValidityDays != 0 && in.Policies != nil &&
		in.Policies.PasswordPolicy != nil && in.Policies.PasswordPolicy.TemporaryPasswordValidityDays != 0 {
		cp := *a
		cp.UnusedAccountValidityDays = 0
		in.AdminCreateUserConfig = &cp
	}
	// CreateUserPool refuses MFA ON or OPTIONAL without an SMS configuration, even for TOTP-only
	// MFA, and UpdateUserPool cannot turn MFA ON later: such a pool is created with MFA OFF and
	// SetUserPoolMfaConfig turns it on (the step after this one).
	if in.MfaConfiguration != types.UserPoolMfaTypeOff && in.MfaConfiguration != "" && in.SmsConfiguration == nil {
		in.MfaConfiguration = types.UserPoolMfaTypeOff
	}
	created.Triggers = TriggerResult{Policy: opts.Triggers, Captured: triggers(p.LambdaConfig)}
	switch opts.Triggers {
	case "", TriggersOmit:
		created.Triggers.Policy = TriggersOmit
	case TriggersKeep:
		in.LambdaConfig = p.LambdaConfig
	case TriggersReplace:
		if opts.LambdaConfig == nil {
			return nil, Created{}, stateerr.Invalid("triggers %q needs a LambdaConfig", TriggersReplace)
		}
		in.LambdaConfig = opts.LambdaConfig
	default:
		return nil, Created{}, stateerr.Invalid("triggers %q: want %q, %q or %q", opts.Triggers, TriggersOmit, TriggersKeep, TriggersReplace)
	}
	created.Triggers.Applied = triggers(in.LambdaConfig)
	if len(created.Triggers.Captured) > 0 && created.Triggers.Policy == TriggersOmit {
		created.Notes = append(created.Notes, fmt.Sprintf("%d Lambda triggers of %s were not attached: attach functions of this Region", len(created.Triggers.Captured), cfg.Region))
	}
	if e := p.EmailConfiguration; e != nil && aws.ToString(e.SourceArn) != "" {
		created.Notes = append(created.Notes, fmt.Sprintf("email is sent through %s: check that identity can send for this Region", aws.ToString(e.SourceArn)))
	}
	return in, created, nil
}

// createSchema is CreateUserPool's Schema from DescribeUserPool's: every custom attribute (named
// without its "custom:" or "dev:custom:" prefix, as CreateUserPool takes it) and the standard
// attributes whose settings are not the defaults (required, or immutable). sub is Cognito's own.
func createSchema(described []types.SchemaAttributeType) []types.SchemaAttributeType {
	var out []types.SchemaAttributeType
	for _, a := range described {
		name := aws.ToString(a.Name)
		short, custom := customName(name)
		switch {
		case custom:
			a.Name = aws.String(short)
			a.Required = aws.Bool(false)
			out = append(out, a)
		case name == "sub" || name == "identities":
		case aws.ToBool(a.Required) || (a.Mutable != nil && !*a.Mutable):
			a.DeveloperOnlyAttribute = nil
			out = append(out, a)
		}
	}
	return out
}

// customName strips "custom:" or "dev:custom:" and says whether name was a custom attribute.
func customName(name string) (string, bool) {
	n := strings.TrimPrefix(name, "dev:")
	if s, ok := strings.CutPrefix(n, "custom:"); ok {
		return s, true
	}
	return name, false
}

// findByToken finds the pool an earlier call with token created under name, or nil.
func findByToken(ctx context.Context, api CreateAPI, pacer *quota.Pacer, name, token string) (*types.UserPoolType, error) {
	if token == "" {
		return nil, nil
	}
	pages := cip.NewListUserPoolsPaginator(api, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	for pages.HasMorePages() {
		if err := pacer.Wait(ctx, "ListUserPools"); err != nil {
			return nil, err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list user pools: %w", err)
		}
		for _, d := range page.UserPools {
			if aws.ToString(d.Name) != name {
				continue
			}
			if err := pacer.Wait(ctx, "DescribeUserPool"); err != nil {
				return nil, err
			}
			out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: d.Id})
			if err != nil {
				return nil, fmt.Errorf("describe user pool %s: %w", aws.ToString(d.Id), err)
			}
			if out.UserPool.UserPoolTags[TokenTag] == token {
				return out.UserPool, nil
			}
		}
	}
	return nil, nil
}

// creator runs the steps after CreateUserPool.
type creator struct {
	api   CreateAPI
	pacer *quota.Pacer
	cfg   Config
	opts  Options
	out   *Created
	// pool is the new pool as CreateUserPool (or, resumed, DescribeUserPool) described it.
	pool *types.UserPoolType
	// made are the names of the identity providers the new pool has.
	made map[string]bool
}

func (c *creator) poolID() *string { return aws.String(c.out.UserPoolID) }

func (c *creator) mfa(ctx context.Context) error {
	m := c.cfg.MFA
	if m.MfaConfiguration == "" || m.MfaConfiguration == types.UserPoolMfaTypeOff {
		return nil
	}
	if err := c.pacer.Wait(ctx, "SetUserPoolMfaConfig"); err != nil {
		return err
	}
	out, err := c.api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{
		UserPoolId: c.poolID(), MfaConfiguration: m.MfaConfiguration,
		SmsMfaConfiguration: m.SmsMfaConfiguration, SoftwareTokenMfaConfiguration: m.SoftwareTokenMfaConfiguration,
		EmailMfaConfiguration: m.EmailMfaConfiguration, WebAuthnConfiguration: m.WebAuthnConfiguration,
	})
	if err != nil {
		return fmt.Errorf("set MFA %s: %w", m.MfaConfiguration, err)
	}
	c.out.MFA = out.MfaConfiguration
	return nil
}

func (c *creator) servers(ctx context.Context) error {
	have := map[string]bool{}
	if c.out.Resumed {
		pages := cip.NewListResourceServersPaginator(c.api, &cip.ListResourceServersInput{UserPoolId: c.poolID(), MaxResults: aws.Int32(50)})
		for pages.HasMorePages() {
			if err := c.pacer.Wait(ctx, "ListResourceServers"); err != nil {
				return err
			}
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list resource servers: %w", err)
			}
			for _, rs := range page.ResourceServers {
				have[aws.ToString(rs.Identifier)] = true
			}
		}
	}
	for _, rs := range c.cfg.ResourceServers {
		if have[aws.ToString(rs.Identifier)] {
			c.out.ResourceServers++
			continue
		}
		if err := c.pacer.Wait(ctx, "CreateResourceServer"); err != nil {
			return err
		}
		if _, err := c.api.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: c.poolID(), Identifier: rs.Identifier, Name: rs.Name, Scopes: rs.Scopes}); err != nil {
			return fmt.Errorf("create resource server %s: %w", aws.ToString(rs.Identifier), err)
		}
		c.out.ResourceServers++
	}
	return nil
}

// providers creates the identity providers whose secrets opts gives (and those that have none);
// one Cognito refuses (a SAML metadata URL it cannot read, a bad secret) is reported, not fatal.
func (c *creator) providers(ctx context.Context) error {
	c.made = map[string]bool{}
	for _, ip := range c.cfg.IdentityProviders {
		name := aws.ToString(ip.ProviderName)
		r := ProviderResult{Name: name, Type: string(ip.ProviderType)}
		details := maps.Clone(ip.ProviderDetails)
		if details == nil {
			details = map[string]string{}
		}
		var missing []string
		for _, k := range ip.SecretsRemoved {
			v := c.opts.ProviderSecrets[name][k]
			if v == "" {
				missing = append(missing, k)
				continue
			}
			details[k] = v
		}
		// DescribeIdentityProvider adds what Cognito derived: the certificate it generated for a
		// SAML provider, whether an OIDC provider's attributes URL takes extra attributes. The new
		// pool derives its own.
		delete(details, "ActiveEncryptionCertificate")
		delete(details, "attributes_url_add_attributes")
		if len(missing) > 0 {
			r.Reason = fmt.Sprintf("its %s cannot be read from Cognito and was not supplied", strings.Join(missing, " and "))
			c.out.IdentityProviders = append(c.out.IdentityProviders, r)
			continue
		}
		if err := c.pacer.Wait(ctx, "CreateIdentityProvider"); err != nil {
			return err
		}
		_, err := c.api.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{
			UserPoolId: c.poolID(), ProviderName: ip.ProviderName, ProviderType: ip.ProviderType,
			ProviderDetails: details, AttributeMapping: ip.AttributeMapping, IdpIdentifiers: ip.IdpIdentifiers,
		})
		var dup *types.DuplicateProviderException
		switch {
		case err == nil, c.out.Resumed && errors.As(err, &dup):
			r.Created = true
			c.made[name] = true
		case isInvalidParameter(err):
			r.Reason = "Cognito refused it: " + apiMessage(err)
		default:
			return fmt.Errorf("create identity provider %s: %w", name, err)
		}
		c.out.IdentityProviders = append(c.out.IdentityProviders, r)
	}
	return nil
}

func (c *creator) clients(ctx context.Context) error {
	// Resumed, the clients an earlier attempt made are reused by name, each once.
	existing := map[string][]string{}
	if c.out.Resumed {
		pages := cip.NewListUserPoolClientsPaginator(c.api, &cip.ListUserPoolClientsInput{UserPoolId: c.poolID(), MaxResults: aws.Int32(60)})
		for pages.HasMorePages() {
			if err := c.pacer.Wait(ctx, "ListUserPoolClients"); err != nil {
				return err
			}
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list app clients: %w", err)
			}
			for _, d := range page.UserPoolClients {
				existing[aws.ToString(d.ClientName)] = append(existing[aws.ToString(d.ClientName)], aws.ToString(d.ClientId))
			}
		}
	}
	for _, cl := range c.cfg.Clients {
		oldID := aws.ToString(cl.ClientId)
		in := &cip.CreateUserPoolClientInput{
			UserPoolId: c.poolID(), ClientName: cl.ClientName,
			AccessTokenValidity: cl.AccessTokenValidity, IdTokenValidity: cl.IdTokenValidity, RefreshTokenValidity: cl.RefreshTokenValidity,
			TokenValidityUnits: cl.TokenValidityUnits, AuthSessionValidity: cl.AuthSessionValidity,
			AllowedOAuthFlows: cl.AllowedOAuthFlows, AllowedOAuthFlowsUserPoolClient: aws.ToBool(cl.AllowedOAuthFlowsUserPoolClient),
			AllowedOAuthScopes: cl.AllowedOAuthScopes, AnalyticsConfiguration: cl.AnalyticsConfiguration,
			CallbackURLs: cl.CallbackURLs, LogoutURLs: cl.LogoutURLs, DefaultRedirectURI: cl.DefaultRedirectURI,
			EnablePropagateAdditionalUserContextData: cl.EnablePropagateAdditionalUserContextData,
			EnableTokenRevocation:                    cl.EnableTokenRevocation, ExplicitAuthFlows: cl.ExplicitAuthFlows,
			PreventUserExistenceErrors: cl.PreventUserExistenceErrors,
			// Copied exactly: an empty list means "the default", not "none".
			ReadAttributes: cl.ReadAttributes, WriteAttributes: cl.WriteAttributes,
			RefreshTokenRotation: cl.RefreshTokenRotation,
		}
		for _, p := range cl.SupportedIdentityProviders {
			if p == "COGNITO" || c.made[p] {
				in.SupportedIdentityProviders = append(in.SupportedIdentityProviders, p)
			} else {
				c.out.Notes = append(c.out.Notes, fmt.Sprintf("app client %s: identity provider %s left out (not created)", aws.ToString(cl.ClientName), p))
			}
		}
		if cl.AnalyticsConfiguration != nil {
			c.out.Notes = append(c.out.Notes, fmt.Sprintf("app client %s sends analytics to the Pinpoint project of %s", aws.ToString(cl.ClientName), c.cfg.Region))
		}
		copied := ClientCopy{Name: aws.ToString(cl.ClientName), OldClientID: oldID}
		if cl.HasSecret {
			if s := c.opts.ClientSecrets[oldID]; s != "" {
				in.ClientSecret = aws.String(s)
			} else {
				in.GenerateSecret, copied.NewSecret = true, true
			}
		}
		if ids := existing[copied.Name]; len(ids) > 0 {
			copied.NewClientID, existing[copied.Name] = ids[0], ids[1:]
		} else {
			if err := c.pacer.Wait(ctx, "CreateUserPoolClient"); err != nil {
				return err
			}
			out, err := c.api.CreateUserPoolClient(ctx, in)
			if err != nil {
				return fmt.Errorf("create app client %s (was %s): %w", copied.Name, oldID, err)
			}
			copied.NewClientID = aws.ToString(out.UserPoolClient.ClientId)
		}
		c.out.Clients = append(c.out.Clients, copied)
		c.out.ClientIDs[oldID] = copied.NewClientID
	}
	return nil
}

func (c *creator) groups(ctx context.Context) error {
	for _, g := range c.cfg.Groups {
		if err := c.pacer.Wait(ctx, "CreateGroup"); err != nil {
			return err
		}
		_, err := c.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: c.poolID(), GroupName: aws.String(g.Name), Description: g.Description, Precedence: g.Precedence, RoleArn: g.RoleArn})
		var exists *types.GroupExistsException
		if err != nil && !(c.out.Resumed && errors.As(err, &exists)) {
			return fmt.Errorf("create group %s: %w", g.Name, err)
		}
		c.out.Groups++
	}
	return nil
}

// domain creates the domain opts names; one Cognito refuses (taken by another pool or account)
// is reported, not fatal: the pool works without a domain, and a domain can be added later.
func (c *creator) domain(ctx context.Context) error {
	r := &c.out.Domain
	if d := c.cfg.Domain; d != nil {
		r.Captured, r.Custom = aws.ToString(d.Domain), d.CustomDomainConfig != nil
	}
	if c.opts.Domain == "" {
		if r.Captured != "" {
			r.Reason = "no domain was asked for: domains are unique, so the new pool gets one only when the input names it"
		}
		return nil
	}
	if c.out.Resumed && (aws.ToString(c.pool.Domain) == c.opts.Domain || aws.ToString(c.pool.CustomDomain) == c.opts.Domain) {
		r.Created = c.opts.Domain
		return nil
	}
	in := &cip.CreateUserPoolDomainInput{UserPoolId: c.poolID(), Domain: aws.String(c.opts.Domain)}
	if d := c.cfg.Domain; d != nil {
		in.ManagedLoginVersion = d.ManagedLoginVersion
	}
	if err := c.pacer.Wait(ctx, "CreateUserPoolDomain"); err != nil {
		return err
	}
	_, err := c.api.CreateUserPoolDomain(ctx, in)
	switch {
	case err == nil:
		r.Created = c.opts.Domain
	case isInvalidParameter(err):
		r.Reason = fmt.Sprintf("domain %s: %s", c.opts.Domain, apiMessage(err))
	default:
		return fmt.Errorf("create domain %s: %w", c.opts.Domain, err)
	}
	return nil
}

func isInvalidParameter(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidParameterException"
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}
