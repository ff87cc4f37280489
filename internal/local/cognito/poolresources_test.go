package cognito

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

func newResourcePool(t *testing.T, ctx context.Context, c *cip.Client) string {
	t.Helper()
	out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("resources")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPool.Id)
}

func TestIdentityProviders(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), "ap-northeast-1")
	id := newResourcePool(t, ctx, c)
	google := func(details map[string]string) error {
		_, err := c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Google"),
			ProviderType: types.IdentityProviderTypeTypeGoogle, ProviderDetails: details, AttributeMapping: map[string]string{"email": "email"}})
		return err
	}
	if err := google(map[string]string{"client_id": "a", "authorize_scopes": "openid"}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("Google without client_secret: %v", err)
	}
	details := map[string]string{"client_id": "a", "client_secret": "s3cret", "authorize_scopes": "openid"}
	if err := google(details); err != nil {
		t.Fatal(err)
	}
	if err := google(details); apiCode(err) != "DuplicateProviderException" {
		t.Errorf("same name again: %v", err)
	}
	if _, err := c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Corp"),
		ProviderType: types.IdentityProviderTypeTypeSaml, ProviderDetails: map[string]string{"MetadataURL": "https://idp.example.jp/m"}}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Google")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(details, d.IdentityProvider.ProviderDetails); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	var names []string
	pages := cip.NewListIdentityProvidersPaginator(c, &cip.ListIdentityProvidersInput{UserPoolId: &id, MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Providers {
			names = append(names, aws.ToString(p.ProviderName)+"/"+string(p.ProviderType))
		}
	}
	if diff := cmp.Diff([]string{"Google/Google", "Corp/SAML"}, names); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	if _, err := c.DeleteIdentityProvider(ctx, &cip.DeleteIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Google")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Google")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("deleted provider: %v", err)
	}
}

func TestResourceServers(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), "ap-northeast-1")
	id := newResourcePool(t, ctx, c)
	scopes := []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("Read")}}
	for _, ident := range []string{"https://api.example.jp", "orders"} {
		if _, err := c.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &id, Identifier: aws.String(ident), Name: aws.String(ident), Scopes: scopes}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &id, Identifier: aws.String("orders"), Name: aws.String("again")})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("same identifier again: %v", err)
	}
	d, err := c.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: &id, Identifier: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ResourceServer.Scopes) != 1 || aws.ToString(d.ResourceServer.Scopes[0].ScopeName) != "read" {
		t.Errorf("scopes: %+v", d.ResourceServer.Scopes)
	}
	var ids []string
	pages := cip.NewListResourceServersPaginator(c, &cip.ListResourceServersInput{UserPoolId: &id, MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range page.ResourceServers {
			ids = append(ids, aws.ToString(rs.Identifier))
		}
	}
	if diff := cmp.Diff([]string{"https://api.example.jp", "orders"}, ids); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	_, err = c.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: &id, Identifier: aws.String("nope")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown server: %v", err)
	}
}

// TestAppClientReferencesAndEcho: an app client may name only providers and custom scopes the
// pool has, and DescribeUserPoolClient returns what CreateUserPoolClient accepted.
func TestAppClientReferencesAndEcho(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), "ap-northeast-1")
	id := newResourcePool(t, ctx, c)
	client := func(providers, scopes []string) (*cip.CreateUserPoolClientOutput, error) {
		return c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &id, ClientName: aws.String("web"),
			SupportedIdentityProviders: providers, AllowedOAuthScopes: scopes, AllowedOAuthFlows: []types.OAuthFlowType{types.OAuthFlowTypeCode},
			AllowedOAuthFlowsUserPoolClient: true, CallbackURLs: []string{"https://app.example.jp/cb"}, LogoutURLs: []string{"https://app.example.jp/"},
			ClientSecret: aws.String("my-own-secret-of-enough-length")})
	}
	if _, err := client([]string{"COGNITO", "Google"}, nil); apiCode(err) != "InvalidParameterException" {
		t.Errorf("unknown provider: %v", err)
	}
	if _, err := client(nil, []string{"orders/read"}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("unknown scope: %v", err)
	}
	if _, err := c.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &id, Identifier: aws.String("orders"), Name: aws.String("orders"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("Read")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := client([]string{"COGNITO"}, []string{"openid", "orders/read"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &id, ClientId: out.UserPoolClient.ClientId})
	if err != nil {
		t.Fatal(err)
	}
	got := d.UserPoolClient
	if aws.ToString(got.ClientSecret) != "my-own-secret-of-enough-length" || !aws.ToBool(got.AllowedOAuthFlowsUserPoolClient) ||
		!cmp.Equal(got.AllowedOAuthScopes, []string{"openid", "orders/read"}) || !cmp.Equal(got.CallbackURLs, []string{"https://app.example.jp/cb"}) ||
		!cmp.Equal(got.LogoutURLs, []string{"https://app.example.jp/"}) || !cmp.Equal(got.SupportedIdentityProviders, []string{"COGNITO"}) ||
		len(got.AllowedOAuthFlows) != 1 {
		t.Errorf("described client differs from the created one: %+v", got)
	}
}

func TestUserPoolDomain(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, "ap-northeast-1")
	a, b := newResourcePool(t, ctx, c), newResourcePool(t, ctx, c)
	create := func(pool, domain string) error {
		_, err := c.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &pool, Domain: &domain})
		return err
	}
	if err := create(a, "Not_A_Prefix"); apiCode(err) != "InvalidParameterException" {
		t.Errorf("bad prefix: %v", err)
	}
	if err := create(a, "tokyo-login"); err != nil {
		t.Fatal(err)
	}
	if err := create(b, "tokyo-login"); apiMessage(err) != "Domain already associated with another user pool." {
		t.Errorf("a domain another pool holds: %v", err)
	}
	e.ReserveDomain("ap-northeast-1", "someone-elses")
	if err := create(b, "someone-elses"); apiMessage(err) != "Domain already associated with another user pool." {
		t.Errorf("a domain another account holds: %v", err)
	}
	if err := create(a, "tokyo-login-2"); apiCode(err) != "InvalidParameterException" {
		t.Errorf("a second domain: %v", err)
	}
	p, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &a})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(p.UserPool.Domain) != "tokyo-login" {
		t.Errorf("DescribeUserPool Domain = %v", aws.ToString(p.UserPool.Domain))
	}
	d, err := c.DescribeUserPoolDomain(ctx, &cip.DescribeUserPoolDomainInput{Domain: aws.String("tokyo-login")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.DomainDescription.UserPoolId) != a || d.DomainDescription.Status != types.DomainStatusTypeActive {
		t.Errorf("description: %+v", d.DomainDescription)
	}
	d, err = c.DescribeUserPoolDomain(ctx, &cip.DescribeUserPoolDomainInput{Domain: aws.String("nobody-has-this")})
	if err != nil || d.DomainDescription == nil || d.DomainDescription.Domain != nil {
		t.Errorf("unknown domain: %+v, %v; want an empty description", d, err)
	}
	if _, err := c.DeleteUserPoolDomain(ctx, &cip.DeleteUserPoolDomainInput{UserPoolId: &a, Domain: aws.String("tokyo-login")}); err != nil {
		t.Fatal(err)
	}
	if err := create(b, "tokyo-login"); err != nil {
		t.Errorf("a released domain: %v", err)
	}
}

func TestAddCustomAttributes(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, "ap-northeast-1")
	id, err := e.CreatePool("ap-northeast-1", emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	add := func(as ...types.SchemaAttributeType) error {
		_, err := c.AddCustomAttributes(ctx, &cip.AddCustomAttributesInput{UserPoolId: &id, CustomAttributes: as})
		return err
	}
	region := types.SchemaAttributeType{Name: aws.String("region"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true),
		StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("1"), MaxLength: aws.String("20")}}
	if err := add(region); err != nil {
		t.Fatal(err)
	}
	if err := add(region); apiCode(err) != "InvalidParameterException" {
		t.Errorf("an existing name: %v", err)
	}
	if err := add(types.SchemaAttributeType{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("a standard name: %v", err)
	}
	many := make([]types.SchemaAttributeType, 25)
	for i := range many {
		many[i] = types.SchemaAttributeType{Name: aws.String("x" + string(rune('a'+i))), AttributeDataType: types.AttributeDataTypeString}
	}
	if err := add(many...); err != nil {
		t.Fatal(err)
	}
	more := []types.SchemaAttributeType{}
	for i := range 24 {
		more = append(more, types.SchemaAttributeType{Name: aws.String("y" + string(rune('a'+i))), AttributeDataType: types.AttributeDataTypeString})
	}
	if err := add(more...); apiCode(err) != "InvalidParameterException" {
		t.Errorf("51 custom attributes: %v", err)
	}
	p, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range p.UserPool.SchemaAttributes {
		if name := aws.ToString(a.Name); len(name) > 7 && name[:7] == "custom:" {
			n++
		}
	}
	if n != 2+1+25 {
		t.Errorf("%d custom attributes after adding 26, want 28", n)
	}
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("a@example.jp"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: attrs("email", "a@example.jp", "custom:region", "kansai")}); err != nil {
		t.Errorf("a user with the added attribute: %v", err)
	}
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &id, Username: aws.String("b@example.jp"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: attrs("email", "b@example.jp", "custom:region", "a-value-longer-than-twenty")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("the added attribute's constraint: %v", err)
	}
}

func TestUpdateGroup(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), "ap-northeast-1")
	id := newResourcePool(t, ctx, c)
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: aws.String("admins"), Description: aws.String("Admins"),
		Precedence: aws.Int32(3), RoleArn: aws.String("arn:aws:iam::123456789012:role/a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGroup(ctx, &cip.UpdateGroupInput{UserPoolId: &id, GroupName: aws.String("admins"), Precedence: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &id, GroupName: aws.String("admins")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(g.Group.Precedence) != 1 || aws.ToString(g.Group.Description) != "Admins" || aws.ToString(g.Group.RoleArn) != "arn:aws:iam::123456789012:role/a" {
		t.Errorf("after UpdateGroup(Precedence 1): %+v", g.Group)
	}
	_, err = c.UpdateGroup(ctx, &cip.UpdateGroupInput{UserPoolId: &id, GroupName: aws.String("nope"), Precedence: aws.Int32(1)})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown group: %v", err)
	}
}

// TestDescribeUserPoolEchoesCreate: DescribeUserPool returns every setting CreateUserPool
// accepted, so a pool's configuration can be read back and created again.
func TestDescribeUserPoolEchoesCreate(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), "ap-northeast-1")
	in := &cip.CreateUserPoolInput{
		PoolName:               aws.String("everything"),
		AliasAttributes:        []types.AliasAttributeType{types.AliasAttributeTypeEmail, types.AliasAttributeTypePreferredUsername},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		AccountRecoverySetting: &types.AccountRecoverySettingType{RecoveryMechanisms: []types.RecoveryOptionType{{Name: types.RecoveryOptionNameTypeVerifiedEmail, Priority: aws.Int32(1)}}},
		AdminCreateUserConfig: &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true,
			InviteMessageTemplate: &types.MessageTemplateType{EmailSubject: aws.String("Hi"), EmailMessage: aws.String("{username} {####}"), SMSMessage: aws.String("{username} {####}")}},
		DeletionProtection:          types.DeletionProtectionTypeActive,
		DeviceConfiguration:         &types.DeviceConfigurationType{ChallengeRequiredOnNewDevice: true},
		EmailConfiguration:          &types.EmailConfigurationType{EmailSendingAccount: types.EmailSendingAccountTypeDeveloper, SourceArn: aws.String("arn:aws:ses:ap-northeast-1:123456789012:identity/example.jp"), From: aws.String("no-reply@example.jp")},
		EmailVerificationMessage:    aws.String("code {####}"),
		EmailVerificationSubject:    aws.String("Verify"),
		LambdaConfig:                &types.LambdaConfigType{PreSignUp: aws.String("arn:aws:lambda:ap-northeast-1:123456789012:function:f")},
		MfaConfiguration:            types.UserPoolMfaTypeOptional,
		SmsConfiguration:            &types.SmsConfigurationType{SnsCallerArn: aws.String("arn:aws:iam::123456789012:role/sns"), ExternalId: aws.String("x")},
		SmsAuthenticationMessage:    aws.String("auth {####}"),
		SmsVerificationMessage:      aws.String("verify {####}"),
		UserAttributeUpdateSettings: &types.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}},
		UserPoolAddOns:              &types.UserPoolAddOnsType{AdvancedSecurityMode: types.AdvancedSecurityModeTypeAudit},
		UserPoolTags:                map[string]string{"team": "identity"},
		UserPoolTier:                types.UserPoolTierTypePlus,
		VerificationMessageTemplate: &types.VerificationMessageTemplateType{DefaultEmailOption: types.DefaultEmailOptionTypeConfirmWithLink, EmailSubjectByLink: aws.String("Click")},
		Policies: &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(14), RequireSymbols: true, TemporaryPasswordValidityDays: 2, PasswordHistorySize: aws.Int32(5)},
			SignInPolicy: &types.SignInPolicyType{AllowedFirstAuthFactors: []types.AuthFactorType{types.AuthFactorTypePassword, types.AuthFactorTypeEmailOtp}}},
	}
	reserved := *in
	reserved.UserPoolTags = map[string]string{"aws:cloudformation:stack-name": "s"}
	if _, err := c.CreateUserPool(ctx, &reserved); apiCode(err) != "InvalidParameterException" {
		t.Errorf("a tag under aws: %v", err)
	}
	out, err := c.CreateUserPool(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: out.UserPool.Id})
	if err != nil {
		t.Fatal(err)
	}
	p := d.UserPool
	got := &cip.CreateUserPoolInput{
		PoolName: p.Name, AliasAttributes: p.AliasAttributes, AutoVerifiedAttributes: p.AutoVerifiedAttributes, UsernameConfiguration: p.UsernameConfiguration,
		AccountRecoverySetting: p.AccountRecoverySetting, AdminCreateUserConfig: p.AdminCreateUserConfig, DeletionProtection: p.DeletionProtection,
		DeviceConfiguration: p.DeviceConfiguration, EmailConfiguration: p.EmailConfiguration, EmailVerificationMessage: p.EmailVerificationMessage,
		EmailVerificationSubject: p.EmailVerificationSubject, LambdaConfig: p.LambdaConfig, MfaConfiguration: p.MfaConfiguration,
		SmsConfiguration: p.SmsConfiguration, SmsAuthenticationMessage: p.SmsAuthenticationMessage, SmsVerificationMessage: p.SmsVerificationMessage,
		UserAttributeUpdateSettings: p.UserAttributeUpdateSettings, UserPoolAddOns: p.UserPoolAddOns, UserPoolTags: p.UserPoolTags, UserPoolTier: p.UserPoolTier,
		VerificationMessageTemplate: p.VerificationMessageTemplate, Policies: p.Policies,
	}
	if diff := cmp.Diff(in, got, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
		t.Errorf("DescribeUserPool (-created +described):\n%s", diff)
	}
}
