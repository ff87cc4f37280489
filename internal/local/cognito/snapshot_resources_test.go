package cognito

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSaveLoadPoolResources: an emulator loaded from another's Save has the pool's identity
// providers (in creation order), resource servers and domain: an app client can name the
// provider and the custom scope, the domain is the pool's and stays taken, and a state saved
// before they were kept (no such keys) still loads.
func TestSaveLoadPoolResources(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, "ap-northeast-1")
	id := newResourcePool(t, ctx, c)
	if _, err := c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Google"),
		ProviderType: types.IdentityProviderTypeTypeGoogle, AttributeMapping: map[string]string{"email": "email"},
		ProviderDetails: map[string]string{"client_id": "a", "client_secret": "s3cret", "authorize_scopes": "openid"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Corp"),
		ProviderType: types.IdentityProviderTypeTypeSaml, ProviderDetails: map[string]string{"MetadataURL": "https://idp.example.jp/m"},
		IdpIdentifiers: []string{"corp"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &id, Identifier: aws.String("orders"), Name: aws.String("orders"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("Read")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &id, Domain: aws.String("tokyo-login")}); err != nil {
		t.Fatal(err)
	}
	look := func(c *cip.Client) []any {
		t.Helper()
		ps, err := c.ListIdentityProviders(ctx, &cip.ListIdentityProvidersInput{UserPoolId: &id, MaxResults: aws.Int32(10)})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := c.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &id, ProviderName: aws.String("Corp")})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := c.ListResourceServers(ctx, &cip.ListResourceServersInput{UserPoolId: &id, MaxResults: aws.Int32(10)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeUserPoolDomain(ctx, &cip.DescribeUserPoolDomainInput{Domain: aws.String("tokyo-login")})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
		if err != nil {
			t.Fatal(err)
		}
		return []any{ps.Providers, ip.IdentityProvider, rs.ResourceServers, d.DomainDescription, aws.ToString(p.UserPool.Domain)}
	}
	before := look(c)
	if got := before[4]; got != "tokyo-login" {
		t.Fatalf("DescribeUserPool Domain before the save = %v", got)
	}
	var saved bytes.Buffer
	if err := e.Save(&saved); err != nil {
		t.Fatal(err)
	}

	e2 := newTestEmulator()
	if err := e2.Load(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	c2 := newTestClient(t, e2, "ap-northeast-1")
	after := look(c2)
	if diff := cmp.Diff(before, after, cmpopts.IgnoreUnexported(types.ProviderDescription{}, types.IdentityProviderType{},
		types.ResourceServerType{}, types.ResourceServerScopeType{}, types.DomainDescriptionType{})); diff != "" {
		t.Errorf("after load (-before +after):\n%s", diff)
	}
	if _, err := c2.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &id, ClientName: aws.String("web"),
		SupportedIdentityProviders: []string{"COGNITO", "Google", "Corp"}, AllowedOAuthScopes: []string{"openid", "orders/read"},
		AllowedOAuthFlows: []types.OAuthFlowType{types.OAuthFlowTypeCode}, AllowedOAuthFlowsUserPoolClient: true,
		CallbackURLs: []string{"https://app.example.jp/cb"}}); err != nil {
		t.Errorf("an app client naming the restored provider and scope: %v", err)
	}
	other := newResourcePool(t, ctx, c2)
	if _, err := c2.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &other, Domain: aws.String("tokyo-login")}); apiMessage(err) != "Domain already associated with another user pool." {
		t.Errorf("the restored pool's domain for another pool: %v, want it taken", err)
	}

	// A state saved before pools kept these resources has none of their keys.
	for _, key := range []string{`"Providers"`, `"Servers"`, `"Domain"`} {
		if !strings.Contains(saved.String(), key) {
			t.Fatalf("saved state lacks %s", key)
		}
	}
	var plain bytes.Buffer
	e3 := newTestEmulator()
	newResourcePool(t, ctx, newTestClient(t, e3, "ap-northeast-1"))
	if err := e3.Save(&plain); err != nil {
		t.Fatal(err)
	}
	if s := plain.String(); strings.Contains(s, `"Providers"`) || strings.Contains(s, `"Servers"`) || strings.Contains(s, `"Domain"`) {
		t.Fatalf("a pool without resources saves their keys: %s", s)
	}
	if err := newTestEmulator().Load(bytes.NewReader(plain.Bytes())); err != nil {
		t.Errorf("a state without the resources' keys: %v", err)
	}
}
