// Package poolconfig is a user pool's configuration as a backup keeps it (pool.json): everything
// DescribeUserPool, GetUserPoolMfaConfig and the pool's app clients, groups, identity providers,
// resource servers and domain say, without a secret. Capture reads it from a pool; Create makes an
// equivalent pool from it; SchemaGaps says whether an existing pool can take a snapshot's users,
// and AddMissing adds the custom attributes it lacks. Every Cognito call is paced with
// internal/quota (Ops).
package poolconfig

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// Version is the format version of Config; Decode refuses others.
const Version = 1

// Config is one pool's configuration at capture time. The AWS SDK's own types carry what the
// API returned, so a field AWS adds travels without a change here.
type Config struct {
	Version    int       `json:"version"`
	UserPoolID string    `json:"userPoolId"`
	Region     string    `json:"region"`
	CapturedAt time.Time `json:"capturedAt"`
	// Pool is DescribeUserPool's answer: schema (custom attributes with their constraints),
	// policies, sign-in and alias attributes, case sensitivity, messages, email and SMS
	// configuration, account recovery, attribute update settings, deletion protection, tier,
	// LambdaConfig.
	Pool types.UserPoolType `json:"pool"`
	MFA  MFA                `json:"mfa"`
	// Clients are the app clients as DescribeUserPoolClient returned them, without ClientSecret.
	Clients           []Client                   `json:"clients"`
	Groups            []Group                    `json:"groups"`
	IdentityProviders []IdentityProvider         `json:"identityProviders"`
	ResourceServers   []types.ResourceServerType `json:"resourceServers"`
	// Domain is DescribeUserPoolDomain's answer for the pool's domain (custom, else prefix); nil
	// when the pool has none.
	Domain *types.DomainDescriptionType `json:"domain,omitempty"`
}

// MFA is GetUserPoolMfaConfig's answer.
type MFA struct {
	MfaConfiguration              types.UserPoolMfaType             `json:"mfaConfiguration"`
	SmsMfaConfiguration           *types.SmsMfaConfigType           `json:"smsMfaConfiguration,omitempty"`
	SoftwareTokenMfaConfiguration *types.SoftwareTokenMfaConfigType `json:"softwareTokenMfaConfiguration,omitempty"`
	EmailMfaConfiguration         *types.EmailMfaConfigType         `json:"emailMfaConfiguration,omitempty"`
	WebAuthnConfiguration         *types.WebAuthnConfigurationType  `json:"webAuthnConfiguration,omitempty"`
}

// Client is one app client. Its secret is never kept: HasSecret says it had one, and a client
// created from it gets a new one unless Options.ClientSecrets supplies it.
type Client struct {
	types.UserPoolClientType
	HasSecret bool `json:"hasSecret"`
}

// Group is one group's definition (members are in the snapshot's memberships file).
type Group struct {
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
	Precedence  *int32  `json:"precedence,omitempty"`
	RoleArn     *string `json:"roleArn,omitempty"`
}

// IdentityProvider is one federated identity provider, its secrets removed.
type IdentityProvider struct {
	types.IdentityProviderType
	// SecretsRemoved names the ProviderDetails keys removed at capture (client_secret,
	// private_key): Create makes the provider only when Options.ProviderSecrets gives them.
	SecretsRemoved []string `json:"secretsRemoved,omitempty"`
}

// secretDetails are the ProviderDetails keys that hold a secret (CreateIdentityProvider:
// client_secret for Google, Facebook, Login with Amazon and OIDC, private_key for Sign in with Apple).
var secretDetails = []string{"client_secret", "private_key"}

// Ops are every operation this package calls; get its pacer with quota.Registry.Pacer(region, Ops).
var Ops = quota.MustOps(
	"DescribeUserPool", "GetUserPoolMfaConfig", "ListUserPoolClients", "DescribeUserPoolClient", "ListGroups",
	"ListIdentityProviders", "DescribeIdentityProvider", "ListResourceServers", "DescribeUserPoolDomain",
	"CreateUserPool", "SetUserPoolMfaConfig", "CreateResourceServer", "CreateIdentityProvider",
	"CreateUserPoolClient", "CreateGroup", "CreateUserPoolDomain", "AddCustomAttributes", "ListUserPools",
)

// Encode writes cfg as indented JSON.
func Encode(cfg Config) ([]byte, error) {
	if cfg.Version == 0 {
		cfg.Version = Version
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// Decode reads a Config; an unreadable file or another version is SnapshotInvalid.
func Decode(r io.Reader) (Config, error) {
	var cfg Config
	if err := json.NewDecoder(r).Decode(&cfg); err != nil {
		return Config{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("pool configuration: %v", err)}
	}
	if cfg.Version != Version {
		return Config{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("pool configuration: version %d, this release reads version %d", cfg.Version, Version)}
	}
	if cfg.UserPoolID == "" || cfg.Pool.Id == nil {
		return Config{}, &stateerr.SnapshotInvalid{Msg: "pool configuration: no pool"}
	}
	return cfg, nil
}

// Triggers lists the pool's Lambda triggers as "<Trigger> <function ARN>", sorted.
func (c Config) Triggers() []string {
	return triggers(c.Pool.LambdaConfig)
}

func triggers(l *types.LambdaConfigType) []string {
	if l == nil {
		return nil
	}
	var out []string
	add := func(name string, arn *string) {
		if arn != nil && *arn != "" {
			out = append(out, name+" "+*arn)
		}
	}
	add("PreSignUp", l.PreSignUp)
	add("CustomMessage", l.CustomMessage)
	add("PostConfirmation", l.PostConfirmation)
	add("PreAuthentication", l.PreAuthentication)
	add("PostAuthentication", l.PostAuthentication)
	add("DefineAuthChallenge", l.DefineAuthChallenge)
	add("CreateAuthChallenge", l.CreateAuthChallenge)
	add("VerifyAuthChallengeResponse", l.VerifyAuthChallengeResponse)
	add("PreTokenGeneration", l.PreTokenGeneration)
	add("UserMigration", l.UserMigration)
	if c := l.PreTokenGenerationConfig; c != nil {
		add("PreTokenGenerationConfig", c.LambdaArn)
	}
	if c := l.CustomSMSSender; c != nil {
		add("CustomSMSSender", c.LambdaArn)
	}
	if c := l.CustomEmailSender; c != nil {
		add("CustomEmailSender", c.LambdaArn)
	}
	if c := l.InboundFederation; c != nil {
		add("InboundFederation", c.LambdaArn)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// regionOf is the Region part of a pool id ("ap-northeast-1_AbC" → "ap-northeast-1").
func regionOf(poolID string) string {
	r, _, _ := strings.Cut(poolID, "_")
	return r
}
