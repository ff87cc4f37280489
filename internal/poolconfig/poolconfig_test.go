package poolconfig_test

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

const (
	tokyo = "ap-northeast-1"
	osaka = "ap-northeast-3"
)

// fast paces far above AWS's quotas: these tests check what is called, not how fast.
func fast(region string) *quota.Pacer {
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 1e6
	}
	return quota.NewRegistry(rates).Pacer(region, poolconfig.Ops)
}

func start(t *testing.T) *devstack.Stack {
	t.Helper()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// try fails the test on a call's error: try(t)(c.CreateGroup(…)).
func try(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

const (
	googleSecret = "google-secret-value-0001"
	clientSecret = "app-secret-value-that-must-not-leak-0001"
)

// richPool makes a pool with something in every part of the configuration: custom attributes
// with constraints, email sign-in, case insensitivity, TOTP MFA required (set the only way AWS
// allows), a trigger, an app client with a secret and OAuth, one without, groups, a resource
// server, a Google and a SAML provider, and a domain.
func richPool(t *testing.T, ctx context.Context, st *devstack.Stack) string {
	t.Helper()
	do := try(t)
	c := st.Clients.Cognito(tokyo)
	// Created as a fixture: the aws: tag is one CloudFormation sets, which a request may not.
	id, err := st.Cognito.CreatePool(tokyo, &cip.CreateUserPoolInput{
		PoolName:               aws.String("tokyo-users"),
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)},
			{Name: aws.String("tenant"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(false),
				StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("2"), MaxLength: aws.String("40")}},
			{Name: aws.String("level"), AttributeDataType: types.AttributeDataTypeNumber, Mutable: aws.Bool(true),
				NumberAttributeConstraints: &types.NumberAttributeConstraintsType{MinValue: aws.String("0"), MaxValue: aws.String("9")}},
		},
		Policies: &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(12), RequireNumbers: true, TemporaryPasswordValidityDays: 3}},
		AdminCreateUserConfig: &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true,
			InviteMessageTemplate: &types.MessageTemplateType{EmailSubject: aws.String("Welcome"), EmailMessage: aws.String("Hi {username}, {####}")}},
		AccountRecoverySetting:      &types.AccountRecoverySettingType{RecoveryMechanisms: []types.RecoveryOptionType{{Name: types.RecoveryOptionNameTypeVerifiedEmail, Priority: aws.Int32(1)}}},
		UserAttributeUpdateSettings: &types.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}},
		VerificationMessageTemplate: &types.VerificationMessageTemplateType{DefaultEmailOption: types.DefaultEmailOptionTypeConfirmWithCode, EmailSubject: aws.String("Your code")},
		EmailConfiguration:          &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeCognitoDefault},
		DeletionProtection:          types.DeletionProtectionTypeActive,
		UserPoolTier:                types.UserPoolTierTypeEssentials,
		UserPoolTags:                map[string]string{"team": "identity", "aws:cloudformation:stack-name": "identity"},
		LambdaConfig:                &types.LambdaConfigType{PostConfirmation: aws.String("arn:aws:lambda:ap-northeast-1:123456789012:function:replicate")},
	})
	if err != nil {
		t.Fatal(err)
	}
	do(c.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &id, MfaConfiguration: types.UserPoolMfaTypeOn,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}))
	do(c.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &id, Identifier: aws.String("https://api.example.jp"), Name: aws.String("api"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("read it")}}}))
	do(c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Google"), ProviderType: types.IdentityProviderTypeTypeGoogle,
		ProviderDetails:  map[string]string{"client_id": "g-client", "client_secret": googleSecret, "authorize_scopes": "openid email"},
		AttributeMapping: map[string]string{"email": "email"}}))
	do(c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Corp"), ProviderType: types.IdentityProviderTypeTypeSaml,
		ProviderDetails: map[string]string{"MetadataURL": "https://idp.example.jp/metadata"}, IdpIdentifiers: []string{"example.jp"}}))
	do(c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &id, ClientName: aws.String("web"), ClientSecret: aws.String(clientSecret),
		AllowedOAuthFlows: []types.OAuthFlowType{types.OAuthFlowTypeCode}, AllowedOAuthFlowsUserPoolClient: true,
		AllowedOAuthScopes: []string{"openid", "https://api.example.jp/read"}, CallbackURLs: []string{"https://app.example.jp/cb"},
		SupportedIdentityProviders: []string{"COGNITO", "Google", "Corp"}, ReadAttributes: []string{"email", "custom:tenant"}}))
	do(c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &id, ClientName: aws.String("mobile"),
		ExplicitAuthFlows:          []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserSrpAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled, WriteAttributes: []string{"email"}}))
	do(c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String("admins"), Description: aws.String("Admins"), Precedence: aws.Int32(1),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/admins")}))
	do(c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String("readers")}))
	do(c.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &id, Domain: aws.String("tokyo-users-login")}))
	return id
}

// TestCaptureCreateRoundTrip: a pool created from a capture captures the same, except what
// cannot travel (ids, dates, secrets, the domain, the triggers of the old Region), and the
// capture holds no secret.
func TestCaptureCreateRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := start(t)
	src := st.Clients.Cognito(tokyo)
	id := richPool(t, ctx, st)

	cfg, err := poolconfig.Capture(ctx, src, fast(tokyo), id)
	if err != nil {
		t.Fatal(err)
	}
	body, err := poolconfig.Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{googleSecret, clientSecret} {
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("pool.json holds a secret %q", secret)
		}
	}
	if cfg, err = poolconfig.Decode(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Clients) != 2 || len(cfg.Groups) != 2 || len(cfg.IdentityProviders) != 2 || len(cfg.ResourceServers) != 1 || cfg.Domain == nil {
		t.Fatalf("capture incomplete: %d clients, %d groups, %d providers, %d servers, domain %v",
			len(cfg.Clients), len(cfg.Groups), len(cfg.IdentityProviders), len(cfg.ResourceServers), cfg.Domain)
	}

	dst := st.Clients.Cognito(osaka)
	created, err := poolconfig.Create(ctx, dst, fast(osaka), cfg, "tokyo-users-restored", poolconfig.Options{
		ProviderSecrets: map[string]map[string]string{"Corp": {}}, // Google's secret not supplied
		Domain:          "tokyo-users-restored",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantProviders := []poolconfig.ProviderResult{
		{Name: "Google", Type: "Google", Reason: "its client_secret cannot be read from Cognito and was not supplied"},
		{Name: "Corp", Type: "SAML", Created: true},
	}
	if diff := cmp.Diff(wantProviders, created.IdentityProviders, cmpopts.SortSlices(func(a, b poolconfig.ProviderResult) bool { return a.Name < b.Name })); diff != "" {
		t.Errorf("identity providers (-want +got):\n%s", diff)
	}
	if created.Domain.Captured != "tokyo-users-login" || created.Domain.Created != "tokyo-users-restored" {
		t.Errorf("domain: %+v", created.Domain)
	}
	if created.Triggers.Policy != poolconfig.TriggersOmit || len(created.Triggers.Captured) != 1 || len(created.Triggers.Applied) != 0 {
		t.Errorf("triggers: %+v", created.Triggers)
	}
	if created.MFA != types.UserPoolMfaTypeOn {
		t.Errorf("MFA of the created pool: %s, want ON", created.MFA)
	}
	wantNotes := []string{
		"1 Lambda triggers of ap-northeast-1 were not attached: attach functions of this Region",
		"app client web: identity provider Google left out (not created)",
	}
	if diff := cmp.Diff(wantNotes, created.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if len(created.ClientIDs) != 2 {
		t.Fatalf("client id map: %v", created.ClientIDs)
	}

	again, err := poolconfig.Capture(ctx, dst, fast(osaka), created.UserPoolID)
	if err != nil {
		t.Fatal(err)
	}
	// What cannot travel, or travels by decision: ids, names, dates, the domain, the triggers,
	// the Google provider and every reference to it.
	normalize := func(c poolconfig.Config, clientIDs map[string]string) poolconfig.Config {
		c.UserPoolID, c.Region, c.CapturedAt = "", "", time.Time{}
		p := &c.Pool
		delete(p.UserPoolTags, "aws:cloudformation:stack-name") // AWS's own tag: not copied
		p.Id, p.Arn, p.Name, p.CreationDate, p.LastModifiedDate, p.Domain, p.CustomDomain, p.LambdaConfig = nil, nil, nil, nil, nil, nil, nil, nil
		c.Domain = nil
		c.IdentityProviders = slices.DeleteFunc(c.IdentityProviders, func(ip poolconfig.IdentityProvider) bool { return aws.ToString(ip.ProviderName) == "Google" })
		for i := range c.IdentityProviders {
			c.IdentityProviders[i].UserPoolId, c.IdentityProviders[i].CreationDate, c.IdentityProviders[i].LastModifiedDate = nil, nil, nil
		}
		for i := range c.ResourceServers {
			c.ResourceServers[i].UserPoolId = nil
		}
		for i := range c.Clients {
			cl := &c.Clients[i]
			if clientIDs != nil {
				cl.ClientId = aws.String(clientIDs[aws.ToString(cl.ClientId)])
			}
			cl.UserPoolId, cl.CreationDate, cl.LastModifiedDate = nil, nil, nil
			cl.SupportedIdentityProviders = slices.DeleteFunc(cl.SupportedIdentityProviders, func(s string) bool { return s == "Google" })
		}
		return c
	}
	want, got := normalize(cfg, created.ClientIDs), normalize(again, nil)
	opts := cmp.Options{
		cmp.Exporter(func(reflect.Type) bool { return true }), // the SDK's types carry an unexported marker
		cmpopts.SortSlices(func(a, b poolconfig.Client) bool { return aws.ToString(a.ClientName) < aws.ToString(b.ClientName) }),
		cmpopts.SortSlices(func(a, b poolconfig.Group) bool { return a.Name < b.Name }),
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("the created pool differs from the captured one (-captured +created):\n%s", diff)
	}
}
