package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
)

// SecretRef names where one identity provider's secrets are, in AWS Secrets Manager: one secret
// whose SecretString is a JSON object of the ProviderDetails keys capture removed
// ({"client_secret": "…"}), or one secret per key whose whole SecretString is that key's value.
type SecretRef struct {
	SecretArn string            `json:"secretArn,omitempty"`
	Keys      map[string]string `json:"keys,omitempty"`
}

// Secrets is the one Secrets Manager call of the restore, in a secret's Region.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// supplied are the secrets a request names, read. They go to poolconfig.Create and nowhere else:
// never into the plan (the execution's history), a log line or an error.
type supplied struct {
	// providers are the ProviderDetails values per identity provider (poolconfig.Options.ProviderSecrets).
	providers map[string]map[string]string
	// clients are the secrets per captured app client id (poolconfig.Options.ClientSecrets).
	clients map[string]string
}

// readSecrets reads the secrets req names for the pool cfg describes and checks them against it:
// every provider and app client named exists in the snapshot's pool and had a secret, every
// ARN is a Secrets Manager secret's, every secret can be read, and together they give every key
// capture removed. All problems are named at once, as InvalidInput; a value is never part of
// an error. Secrets Manager failures other than a missing or refused secret are returned as
// they are (a retry may cure them).
func (s *Steps) readSecrets(ctx context.Context, req Request, cfg poolconfig.Config) (supplied, error) {
	out := supplied{providers: map[string]map[string]string{}, clients: map[string]string{}}
	if len(req.ProviderSecrets) == 0 && len(req.ClientSecrets) == 0 {
		return out, nil
	}
	var p preflight.Problems
	r := secretReader{steps: s, read: map[string]string{}, problems: &p}
	providers := map[string]poolconfig.IdentityProvider{}
	for _, ip := range cfg.IdentityProviders {
		providers[aws.ToString(ip.ProviderName)] = ip
	}
	for _, name := range slices.Sorted(maps.Keys(req.ProviderSecrets)) {
		ref := req.ProviderSecrets[name]
		ip, ok := providers[name]
		switch {
		case !ok:
			p.Add("providerSecrets names identity provider %s, which the snapshot's pool does not have (it has %s)", name, orNone(slices.Sorted(maps.Keys(providers))))
			continue
		case len(ip.SecretsRemoved) == 0:
			p.Add("providerSecrets names identity provider %s, which has no secret to supply", name)
			continue
		case (ref.SecretArn == "") == (len(ref.Keys) == 0):
			p.Add("providerSecrets.%s needs exactly one of secretArn (a JSON secret of %s) and keys (a secret ARN per key)", name, strings.Join(ip.SecretsRemoved, ", "))
			continue
		}
		values := map[string]string{}
		if ref.SecretArn != "" {
			raw, ok := r.get(ctx, "providerSecrets."+name+".secretArn", ref.SecretArn)
			if !ok {
				continue
			}
			var doc map[string]string
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				p.Add("secret %s (providerSecrets.%s) is not a JSON object of string ProviderDetails keys", ref.SecretArn, name)
				continue
			}
			for _, k := range ip.SecretsRemoved {
				if doc[k] == "" {
					p.Add("secret %s (providerSecrets.%s) has no %s key", ref.SecretArn, name, k)
					continue
				}
				values[k] = doc[k]
			}
		} else {
			for _, k := range slices.Sorted(maps.Keys(ref.Keys)) {
				if !slices.Contains(ip.SecretsRemoved, k) {
					p.Add("providerSecrets.%s.keys names %s; the provider's secrets are %s", name, k, strings.Join(ip.SecretsRemoved, ", "))
				}
			}
			for _, k := range ip.SecretsRemoved {
				a, ok := ref.Keys[k]
				if !ok {
					p.Add("providerSecrets.%s.keys has no %s", name, k)
					continue
				}
				if v, ok := r.get(ctx, "providerSecrets."+name+".keys."+k, a); ok {
					values[k] = v
				}
			}
		}
		if len(values) == len(ip.SecretsRemoved) {
			out.providers[name] = values
		}
	}
	clients := map[string]poolconfig.Client{}
	for _, c := range cfg.Clients {
		clients[aws.ToString(c.ClientId)] = c
	}
	for _, id := range slices.Sorted(maps.Keys(req.ClientSecrets)) {
		c, ok := clients[id]
		switch {
		case !ok:
			p.Add("clientSecrets names app client %s, which the snapshot's pool does not have", id)
			continue
		case !c.HasSecret:
			p.Add("clientSecrets names app client %s (%s), which has no secret", id, aws.ToString(c.ClientName))
			continue
		}
		if v, ok := r.get(ctx, "clientSecrets."+id, req.ClientSecrets[id]); ok {
			out.clients[id] = v
		}
	}
	if r.err != nil {
		return supplied{}, r.err
	}
	if err := p.Err("restore secrets"); err != nil {
		return supplied{}, fmt.Errorf("%w; nothing was changed", err)
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// secretReader reads each secret once, recording what stops it as a problem.
type secretReader struct {
	steps    *Steps
	read     map[string]string
	problems *preflight.Problems
	// err is the first failure that is not the input's fault.
	err error
}

// get returns the SecretString of the secret at secretArn, which field named.
func (r *secretReader) get(ctx context.Context, field, secretArn string) (string, bool) {
	if v, ok := r.read[secretArn]; ok {
		return v, true
	}
	a, err := arn.Parse(secretArn)
	if err != nil || a.Service != "secretsmanager" || a.Region == "" || a.AccountID == "" || !strings.HasPrefix(a.Resource, "secret:") {
		r.problems.Add("%s %q is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)", field, secretArn)
		return "", false
	}
	out, err := r.steps.Secrets(a.Region).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretArn)})
	var ae smithy.APIError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException":
		r.problems.Add("%s: secret %s does not exist or has no current value", field, secretArn)
		return "", false
	case errors.As(err, &ae) && (ae.ErrorCode() == "AccessDeniedException" || ae.ErrorCode() == "DecryptionFailure"):
		r.problems.Add("%s: the restore may not read secret %s (%s): list it in the deployment's restore.secretArns, and let the restore's roles use its KMS key", field, secretArn, ae.ErrorCode())
		return "", false
	default:
		if r.err == nil {
			r.err = fmt.Errorf("read secret %s: %w", secretArn, err)
		}
		return "", false
	}
	if aws.ToString(out.SecretString) == "" {
		r.problems.Add("%s: secret %s holds no string value", field, secretArn)
		return "", false
	}
	r.read[secretArn] = *out.SecretString
	return *out.SecretString, true
}
