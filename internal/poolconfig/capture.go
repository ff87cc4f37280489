package poolconfig

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// CaptureAPI is what Capture calls on the pool's Region; all of it is read-only.
type CaptureAPI interface {
	preflight.DescribePoolAPI
	GetUserPoolMfaConfig(ctx context.Context, in *cip.GetUserPoolMfaConfigInput, optFns ...func(*cip.Options)) (*cip.GetUserPoolMfaConfigOutput, error)
	cip.ListUserPoolClientsAPIClient
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
	cip.ListGroupsAPIClient
	cip.ListIdentityProvidersAPIClient
	DescribeIdentityProvider(ctx context.Context, in *cip.DescribeIdentityProviderInput, optFns ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error)
	cip.ListResourceServersAPIClient
	DescribeUserPoolDomain(ctx context.Context, in *cip.DescribeUserPoolDomainInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolDomainOutput, error)
}

// Capture reads the configuration of pool poolID, each call paced by pacer (built with Ops).
// App client secrets and identity providers' secrets are removed, never returned. A pool that
// does not exist is PoolNotFound.
func Capture(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, poolID string) (Config, error) {
	cfg := Config{Version: Version, UserPoolID: poolID, Region: regionOf(poolID), CapturedAt: time.Now().UTC()}
	if err := pacer.Wait(ctx, "DescribeUserPool"); err != nil {
		return Config{}, err
	}
	pool, err := preflight.DescribePool(ctx, api, poolID, cfg.Region)
	if err != nil {
		return Config{}, err
	}
	cfg.Pool = *pool
	steps := []func(context.Context, CaptureAPI, *quota.Pacer, *Config) error{captureMFA, captureClients, captureGroups, captureProviders, captureServers, captureDomain}
	for _, step := range steps {
		if err := step(ctx, api, pacer, &cfg); err != nil {
			return Config{}, fmt.Errorf("capture the configuration of %s: %w", poolID, err)
		}
	}
	return cfg, nil
}

func captureMFA(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, cfg *Config) error {
	if err := pacer.Wait(ctx, "GetUserPoolMfaConfig"); err != nil {
		return err
	}
	out, err := api.GetUserPoolMfaConfig(ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: aws.String(cfg.UserPoolID)})
	if err != nil {
		return fmt.Errorf("get MFA configuration: %w", err)
	}
	cfg.MFA = MFA{
		MfaConfiguration:              out.MfaConfiguration,
		SmsMfaConfiguration:           out.SmsMfaConfiguration,
		SoftwareTokenMfaConfiguration: out.SoftwareTokenMfaConfiguration,
		EmailMfaConfiguration:         out.EmailMfaConfiguration,
		WebAuthnConfiguration:         out.WebAuthnConfiguration,
	}
	return nil
}

// captureClients lists the app clients, then describes each: the listing has only ids and names.
func captureClients(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, cfg *Config) error {
	cfg.Clients = []Client{}
	pages := cip.NewListUserPoolClientsPaginator(api, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(cfg.UserPoolID), MaxResults: aws.Int32(60)})
	for pages.HasMorePages() {
		if err := pacer.Wait(ctx, "ListUserPoolClients"); err != nil {
			return err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list app clients: %w", err)
		}
		for _, d := range page.UserPoolClients {
			if err := pacer.Wait(ctx, "DescribeUserPoolClient"); err != nil {
				return err
			}
			out, err := api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(cfg.UserPoolID), ClientId: d.ClientId})
			if err != nil {
				return fmt.Errorf("describe app client %s: %w", aws.ToString(d.ClientId), err)
			}
			c := Client{UserPoolClientType: *out.UserPoolClient}
			c.HasSecret = aws.ToString(c.ClientSecret) != ""
			c.ClientSecret = nil
			cfg.Clients = append(cfg.Clients, c)
		}
	}
	return nil
}

func captureGroups(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, cfg *Config) error {
	cfg.Groups = []Group{}
	pages := cip.NewListGroupsPaginator(api, &cip.ListGroupsInput{UserPoolId: aws.String(cfg.UserPoolID), Limit: aws.Int32(60)})
	for pages.HasMorePages() {
		if err := pacer.Wait(ctx, "ListGroups"); err != nil {
			return err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		for _, g := range page.Groups {
			cfg.Groups = append(cfg.Groups, Group{Name: aws.ToString(g.GroupName), Description: g.Description, Precedence: g.Precedence, RoleArn: g.RoleArn})
		}
	}
	return nil
}

// captureProviders describes every identity provider and removes its secrets.
func captureProviders(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, cfg *Config) error {
	cfg.IdentityProviders = []IdentityProvider{}
	pages := cip.NewListIdentityProvidersPaginator(api, &cip.ListIdentityProvidersInput{UserPoolId: aws.String(cfg.UserPoolID), MaxResults: aws.Int32(60)})
	for pages.HasMorePages() {
		if err := pacer.Wait(ctx, "ListIdentityProviders"); err != nil {
			return err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list identity providers: %w", err)
		}
		for _, d := range page.Providers {
			if err := pacer.Wait(ctx, "DescribeIdentityProvider"); err != nil {
				return err
			}
			out, err := api.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: aws.String(cfg.UserPoolID), ProviderName: d.ProviderName})
			if err != nil {
				return fmt.Errorf("describe identity provider %s: %w", aws.ToString(d.ProviderName), err)
			}
			ip := IdentityProvider{IdentityProviderType: *out.IdentityProvider}
			ip.ProviderDetails = maps.Clone(ip.ProviderDetails)
			for _, k := range secretDetails {
				if _, ok := ip.ProviderDetails[k]; ok {
					delete(ip.ProviderDetails, k)
					ip.SecretsRemoved = append(ip.SecretsRemoved, k)
				}
			}
			// A provider type that needs a secret needs it whether or not the answer showed it.
			for _, k := range needsSecret[ip.ProviderType] {
				if !slices.Contains(ip.SecretsRemoved, k) {
					ip.SecretsRemoved = append(ip.SecretsRemoved, k)
				}
			}
			cfg.IdentityProviders = append(cfg.IdentityProviders, ip)
		}
	}
	return nil
}

// needsSecret are the secret ProviderDetails keys CreateIdentityProvider requires per type.
var needsSecret = map[types.IdentityProviderTypeType][]string{
	types.IdentityProviderTypeTypeFacebook:        {"client_secret"},
	types.IdentityProviderTypeTypeGoogle:          {"client_secret"},
	types.IdentityProviderTypeTypeLoginWithAmazon: {"client_secret"},
	types.IdentityProviderTypeTypeSignInWithApple: {"private_key"},
	types.IdentityProviderTypeTypeOidc:            {"client_secret"},
}

func captureServers(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, cfg *Config) error {
	cfg.ResourceServers = []types.ResourceServerType{}
	pages := cip.NewListResourceServersPaginator(api, &cip.ListResourceServersInput{UserPoolId: aws.String(cfg.UserPoolID), MaxResults: aws.Int32(50)})
	for pages.HasMorePages() {
		if err := pacer.Wait(ctx, "ListResourceServers"); err != nil {
			return err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list resource servers: %w", err)
		}
		cfg.ResourceServers = append(cfg.ResourceServers, page.ResourceServers...)
	}
	return nil
}

// captureDomain describes the pool's custom domain, else its prefix domain.
func captureDomain(ctx context.Context, api CaptureAPI, pacer *quota.Pacer, cfg *Config) error {
	domain := aws.ToString(cfg.Pool.CustomDomain)
	if domain == "" {
		domain = aws.ToString(cfg.Pool.Domain)
	}
	if domain == "" {
		return nil
	}
	if err := pacer.Wait(ctx, "DescribeUserPoolDomain"); err != nil {
		return err
	}
	out, err := api.DescribeUserPoolDomain(ctx, &cip.DescribeUserPoolDomainInput{Domain: aws.String(domain)})
	var denied interface{ ErrorCode() string }
	switch {
	case err == nil && out.DomainDescription != nil && aws.ToString(out.DomainDescription.Domain) != "":
		cfg.Domain = out.DomainDescription
	case err == nil, errors.As(err, &denied) && denied.ErrorCode() == "AccessDeniedException":
		// The action names a domain, not a pool, so a role granted only on the pool may be
		// refused: keep what DescribeUserPool said (the name, and whether it is custom).
		cfg.Domain = &types.DomainDescriptionType{Domain: aws.String(domain), UserPoolId: aws.String(cfg.UserPoolID)}
		if cfg.Pool.CustomDomain != nil {
			cfg.Domain.CustomDomainConfig = &types.CustomDomainConfigType{}
		}
	default:
		return fmt.Errorf("describe domain %s: %w", domain, err)
	}
	return nil
}
