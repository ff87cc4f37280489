package restore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// The secrets of the Tokyo pool's OIDC provider and its backend app client, as an operator
// keeps them in Secrets Manager; a backup never holds them.
const (
	oidcSecret    = "oidc-client-secret-7f3a"
	backendSecret = "backend-app-client-secret-0c9d1e"
)

// TestRestoreProviderSecrets: Tokyo had a SAML and an OIDC identity provider and an app client
// with a secret; the pool is lost and restored into a new pool from the snapshot, which holds no
// secret. Bad secret input fails at the first state naming the problem, before any pool is
// created. Without the OIDC provider's secret, the new pool gets the SAML provider only and the
// report says why the OIDC one is missing; with the secret named by its Secrets Manager ARN, the
// new pool gets both, the OIDC provider with that secret, and the backend client keeps its
// secret. No secret value appears in the execution's history, its output or the email.
func TestRestoreProviderSecrets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	region := f.sc.Tokyo.Region
	c := f.stack.Clients.Cognito(region)
	providers := []*cip.CreateIdentityProviderInput{
		{UserPoolId: aws.String(f.sc.TokyoID), ProviderName: aws.String("CorpSAML"), ProviderType: types.IdentityProviderTypeTypeSaml,
			ProviderDetails: map[string]string{"MetadataURL": "https://idp.example.jp/saml/metadata.xml"}, AttributeMapping: map[string]string{"email": "mail"}},
		{UserPoolId: aws.String(f.sc.TokyoID), ProviderName: aws.String("CorpOIDC"), ProviderType: types.IdentityProviderTypeTypeOidc,
			ProviderDetails: map[string]string{"client_id": "tokyo-app", "client_secret": oidcSecret, "attributes_request_method": "GET",
				"oidc_issuer": "https://login.example.jp", "authorize_scopes": "openid email"}, AttributeMapping: map[string]string{"email": "email"}},
	}
	for _, in := range providers {
		if _, err := c.CreateIdentityProvider(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	backend, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(f.sc.TokyoID), ClientName: aws.String("tokyo-backend"),
		ClientSecret: aws.String(backendSecret), SupportedIdentityProviders: []string{"COGNITO", "CorpSAML", "CorpOIDC"}})
	if err != nil {
		t.Fatal(err)
	}
	backendID := aws.ToString(backend.UserPoolClient.ClientId)
	key, err := f.stack.BackupTokyo(ctx, f.sc, "with-providers", asl.WithClock(asl.NewFakeClock(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := f.stack.ReadObject(ctx, f.sc.BucketRegion, f.sc.Bucket, strings.TrimSuffix(key, manifest.File)+manifest.PoolConfigFile); err != nil || strings.Contains(string(raw), oidcSecret) || strings.Contains(string(raw), backendSecret) {
		t.Fatalf("pool.json: %v; it must hold no secret", err)
	}
	if _, err := c.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(f.sc.TokyoID)}); err != nil {
		t.Fatal(err)
	}
	sm := f.stack.Clients.SecretsManager(region)
	newSecret := func(name, value string) string {
		t.Helper()
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}
	oidcArn := newSecret("cognito-dr/restore/corp-oidc", fmt.Sprintf(`{"client_secret":%q}`, oidcSecret))
	backendArn := newSecret("cognito-dr/restore/tokyo-backend", backendSecret)
	wrongArn := newSecret("cognito-dr/restore/wrong-keys", `{"secret":"x"}`)
	request := func(change func(map[string]any)) map[string]any {
		in := map[string]any{"bucket": f.sc.Bucket, "bucketRegion": f.sc.BucketRegion, "snapshot": key,
			"createPool": map[string]any{"name": "tokyo-users", "region": region}}
		if change != nil {
			change(in)
		}
		return in
	}
	pools := func() int {
		t.Helper()
		out, err := c.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.UserPools)
	}

	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			secrets map[string]any
			want    []string
		}{
			{"malformed ARN", map[string]any{"CorpOIDC": map[string]any{"secretArn": "cognito-dr/restore/corp-oidc"}}, []string{"providerSecrets.CorpOIDC.secretArn", "is not a Secrets Manager secret ARN"}},
			{"missing secret", map[string]any{"CorpOIDC": map[string]any{"secretArn": oidcArn + "x"}}, []string{oidcArn + "x", "does not exist"}},
			{"missing key", map[string]any{"CorpOIDC": map[string]any{"secretArn": wrongArn}}, []string{wrongArn, "has no client_secret key"}},
			{"unknown provider", map[string]any{"CorpOkta": map[string]any{"keys": map[string]any{"client_secret": oidcArn}}}, []string{"identity provider CorpOkta", "CorpOIDC, CorpSAML"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := pools()
				x := f.restore("restore-secrets-"+strings.ReplaceAll(tt.name, " ", "-"), request(func(in map[string]any) { in["providerSecrets"] = tt.secrets }))
				if x.Status() != asl.StatusFailed || x.ErrorName() != "InvalidInput" {
					t.Fatalf("status %s %s %s, want FAILED InvalidInput", x.Status(), x.ErrorName(), x.Cause())
				}
				if diff := cmp.Diff([]string{"ResolveSnapshot", "NotifyFailed", "FailureClean"}, x.Path()); diff != "" {
					t.Errorf("path (-want +got):\n%s", diff)
				}
				for _, w := range tt.want {
					if !strings.Contains(x.Cause(), w) {
						t.Errorf("cause %q does not name %q", x.Cause(), w)
					}
				}
				if after := pools(); after != before {
					t.Errorf("%d pools after the refused restore, %d before", after, before)
				}
			})
		}
	})

	t.Run("without the secret", func(t *testing.T) {
		x := f.restore("restore-without-secret", request(nil))
		out := succeeded(t, x)
		want := []providerOutcome{{"CorpOIDC", false, "client_secret"}, {"CorpSAML", true, ""}}
		if diff := cmp.Diff(want, outcomes(out.Created)); diff != "" {
			t.Errorf("identity providers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"CorpSAML"}, f.providers(out.Target.UserPoolID)); diff != "" {
			t.Errorf("the new pool's providers (-want +got):\n%s", diff)
		}
		if last := f.lastMessage(); !strings.Contains(last, "identity provider CorpOIDC (OIDC) NOT created") || !strings.Contains(last, "identity provider CorpSAML (SAML) created") {
			t.Errorf("summary email does not say which providers were created:\n%s", last)
		}
		// A client that had a secret gets a new one, unknown to the apps: the report says so.
		got := f.clientSecret(out.Target.UserPoolID, out.Created.Clients[backendID])
		if got == "" || got == backendSecret {
			t.Errorf("backend client's copy has secret %q, want a new one", got)
		}
	})

	t.Run("with the secret", func(t *testing.T) {
		x := f.restore("restore-with-secret", request(func(in map[string]any) {
			in["providerSecrets"] = map[string]any{"CorpOIDC": map[string]any{"secretArn": oidcArn}}
			in["clientSecrets"] = map[string]any{backendID: backendArn}
		}))
		out := succeeded(t, x)
		want := []providerOutcome{{"CorpOIDC", true, ""}, {"CorpSAML", true, ""}}
		if diff := cmp.Diff(want, outcomes(out.Created)); diff != "" {
			t.Errorf("identity providers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"CorpOIDC", "CorpSAML"}, f.providers(out.Target.UserPoolID)); diff != "" {
			t.Errorf("the new pool's providers (-want +got):\n%s", diff)
		}
		ip, err := c.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(out.Target.UserPoolID), ProviderName: aws.String("CorpOIDC")})
		if err != nil || ip.IdentityProvider.ProviderDetails["client_secret"] != oidcSecret || ip.IdentityProvider.ProviderDetails["client_id"] != "tokyo-app" {
			t.Errorf("CorpOIDC in the new pool: %v; want its client id and the supplied secret", err)
		}
		if got := f.clientSecret(out.Target.UserPoolID, out.Created.Clients[backendID]); got != backendSecret {
			t.Errorf("backend client's copy has another secret than the supplied one")
		}
		cl, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(out.Target.UserPoolID), ClientId: aws.String(out.Created.Clients[backendID])})
		if err != nil || !slices.Contains(cl.UserPoolClient.SupportedIdentityProviders, "CorpOIDC") {
			t.Errorf("backend client's copy: %v; want it to offer CorpOIDC again", err)
		}
		for _, ev := range x.History() {
			for _, raw := range []json.RawMessage{ev.Input, ev.Output} {
				if strings.Contains(string(raw), oidcSecret) || strings.Contains(string(raw), backendSecret) {
					t.Fatalf("a secret value is in the execution's history (%s %s)", ev.Type, ev.State)
				}
			}
		}
		if last := f.lastMessage(); strings.Contains(last, oidcSecret) || strings.Contains(last, backendSecret) {
			t.Error("a secret value is in the summary email")
		}
	})
}

type providerOutcome struct {
	Name    string
	Created bool
	// Reason is a word the reason must contain.
	Reason string
}

// outcomes are the report's identity providers, by name, with the reason's word kept only when
// the reason contains it.
func outcomes(c *restore.CreatedPool) []providerOutcome {
	var out []providerOutcome
	for _, ip := range c.IdentityProviders {
		o := providerOutcome{Name: ip.Name, Created: ip.Created}
		if strings.Contains(ip.Reason, "client_secret") && strings.Contains(ip.Reason, "not supplied") {
			o.Reason = "client_secret"
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b providerOutcome) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func succeeded(t *testing.T, x *asl.Execution) restore.ReportOutput {
	t.Helper()
	if x.Status() != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\npath %v", x.Status(), x.ErrorName(), x.Cause(), x.Path())
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Created == nil {
		t.Fatalf("no created pool in the report: %s", x.Output())
	}
	return out
}

// providers lists the names of a pool's identity providers, sorted.
func (f *fixture) providers(pool string) []string {
	f.t.Helper()
	out, err := f.stack.Clients.Cognito(f.sc.Tokyo.Region).ListIdentityProviders(context.Background(), &cip.ListIdentityProvidersInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60)})
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, p := range out.Providers {
		names = append(names, aws.ToString(p.ProviderName))
	}
	slices.Sort(names)
	return names
}

func (f *fixture) clientSecret(pool, client string) string {
	f.t.Helper()
	out, err := f.stack.Clients.Cognito(f.sc.Tokyo.Region).DescribeUserPoolClient(context.Background(), &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: aws.String(client)})
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(out.UserPoolClient.ClientSecret)
}

func (f *fixture) lastMessage() string {
	msgs := f.stack.AWS.SNS().Messages()
	return msgs[len(msgs)-1].Subject + "\n" + msgs[len(msgs)-1].Message
}
