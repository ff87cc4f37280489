package cognito

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// appClient is a user pool app client: what InitiateAuth and the other public operations name.
type appClient struct {
	id, poolID, region string
	secret             string
	flows              map[types.ExplicitAuthFlowsType]bool
	preventUserExist   bool // PreventUserExistenceErrors ENABLED
	accessTTL, idTTL   time.Duration
	refreshTTL         time.Duration
	sessionTTL         time.Duration
	out                userPoolClientJSON
}

type userPoolClientJSON struct {
	types.UserPoolClientType
	CreationDate     float64
	LastModifiedDate float64
}

var knownFlows = []types.ExplicitAuthFlowsType{
	types.ExplicitAuthFlowsTypeAdminNoSrpAuth, types.ExplicitAuthFlowsTypeCustomAuthFlowOnly,
	types.ExplicitAuthFlowsTypeUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth,
	types.ExplicitAuthFlowsTypeAllowCustomAuth, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth,
	types.ExplicitAuthFlowsTypeAllowUserSrpAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth,
	types.ExplicitAuthFlowsTypeAllowUserAuth,
}

func validityOf(v *int32, unit types.TimeUnitsType, def time.Duration, defUnit types.TimeUnitsType) time.Duration {
	if v == nil {
		return def
	}
	if unit == "" {
		unit = defUnit
	}
	n := time.Duration(*v)
	switch unit {
	case types.TimeUnitsTypeSeconds:
		return n * time.Second
	case types.TimeUnitsTypeMinutes:
		return n * time.Minute
	case types.TimeUnitsTypeHours:
		return n * time.Hour
	default:
		return n * 24 * time.Hour
	}
}

func nonZero(v int32) *int32 {
	if v == 0 {
		return nil
	}
	return &v
}

func (e *Emulator) createUserPoolClient(region string, body []byte) (any, error) {
	var in cip.CreateUserPoolClientInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if aws.ToString(in.ClientName) == "" {
		return nil, errNull("clientName")
	}
	flows := map[types.ExplicitAuthFlowsType]bool{}
	for _, f := range in.ExplicitAuthFlows {
		if !slices.Contains(knownFlows, f) {
			return nil, errInvalidParameter("1 validation error detected: Value '[%s]' at 'explicitAuthFlows' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ADMIN_NO_SRP_AUTH, CUSTOM_AUTH_FLOW_ONLY, USER_PASSWORD_AUTH, ALLOW_ADMIN_USER_PASSWORD_AUTH, ALLOW_CUSTOM_AUTH, ALLOW_USER_PASSWORD_AUTH, ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_AUTH]]", f)
		}
		flows[f] = true
		// The legacy names imply their ALLOW_ counterparts and refresh.
		switch f {
		case types.ExplicitAuthFlowsTypeUserPasswordAuth:
			flows[types.ExplicitAuthFlowsTypeAllowUserPasswordAuth] = true
			flows[types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth] = true
		case types.ExplicitAuthFlowsTypeAdminNoSrpAuth:
			flows[types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth] = true
			flows[types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth] = true
		}
	}
	if len(in.ExplicitAuthFlows) == 0 {
		// AWS's default when ExplicitAuthFlows is not given.
		in.ExplicitAuthFlows = []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserSrpAuth, types.ExplicitAuthFlowsTypeAllowCustomAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}
		for _, f := range in.ExplicitAuthFlows {
			flows[f] = true
		}
	}
	switch in.PreventUserExistenceErrors {
	case "":
		in.PreventUserExistenceErrors = types.PreventUserExistenceErrorTypesLegacy
	case types.PreventUserExistenceErrorTypesLegacy, types.PreventUserExistenceErrorTypesEnabled:
	default:
		return nil, errInvalidParameter("1 validation error detected: Value '%s' at 'preventUserExistenceErrors' failed to satisfy constraint: Member must satisfy enum value set: [LEGACY, ENABLED]", in.PreventUserExistenceErrors)
	}
	units := in.TokenValidityUnits
	if units == nil {
		units = &types.TokenValidityUnitsType{}
	}
	c := &appClient{
		poolID: p.id, region: p.region, flows: flows,
		preventUserExist: in.PreventUserExistenceErrors == types.PreventUserExistenceErrorTypesEnabled,
		accessTTL:        validityOf(in.AccessTokenValidity, units.AccessToken, time.Hour, types.TimeUnitsTypeHours),
		idTTL:            validityOf(in.IdTokenValidity, units.IdToken, time.Hour, types.TimeUnitsTypeHours),
		refreshTTL:       validityOf(nonZero(in.RefreshTokenValidity), units.RefreshToken, 30*24*time.Hour, types.TimeUnitsTypeDays),
		sessionTTL:       3 * time.Minute,
	}
	if c.accessTTL < 5*time.Minute || c.accessTTL > 24*time.Hour || c.idTTL < 5*time.Minute || c.idTTL > 24*time.Hour {
		return nil, errInvalidParameter("Invalid range for token validity.")
	}
	if v := in.AuthSessionValidity; v != nil {
		if err := checkRange("authSessionValidity", *v, 3, 15); err != nil {
			return nil, err
		}
		c.sessionTTL = time.Duration(*v) * time.Minute
	}
	p.mu.RLock()
	refErr := p.checkClientReferences(in.SupportedIdentityProviders, in.AllowedOAuthScopes)
	p.mu.RUnlock()
	if refErr != nil {
		return nil, refErr
	}
	e.auth.mu.Lock()
	for {
		c.id = strings.ToLower(e.randomAlnum(26))
		if e.auth.clients[c.id] == nil {
			break
		}
	}
	switch {
	case aws.ToString(in.ClientSecret) != "":
		c.secret = *in.ClientSecret
	case in.GenerateSecret:
		c.secret = strings.ToLower(newSecret(32))
	}
	now := epoch(e.now())
	c.out = userPoolClientJSON{
		UserPoolClientType: types.UserPoolClientType{
			UserPoolId: aws.String(p.id), ClientName: in.ClientName, ClientId: aws.String(c.id),
			ExplicitAuthFlows:          in.ExplicitAuthFlows,
			PreventUserExistenceErrors: in.PreventUserExistenceErrors,
			AccessTokenValidity:        aws.Int32(int32(c.accessTTL / time.Minute)),
			IdTokenValidity:            aws.Int32(int32(c.idTTL / time.Minute)),
			RefreshTokenValidity:       int32(c.refreshTTL / time.Minute),
			TokenValidityUnits:         &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeMinutes, IdToken: types.TimeUnitsTypeMinutes, RefreshToken: types.TimeUnitsTypeMinutes},
			AuthSessionValidity:        aws.Int32(int32(c.sessionTTL / time.Minute)),
			EnableTokenRevocation:      cmpOr(in.EnableTokenRevocation, aws.Bool(true)),
			ReadAttributes:             in.ReadAttributes,
			WriteAttributes:            in.WriteAttributes,
			// Echoed as given: what an app needs to sign in through the hosted pages.
			AllowedOAuthFlows:                        in.AllowedOAuthFlows,
			AllowedOAuthFlowsUserPoolClient:          aws.Bool(in.AllowedOAuthFlowsUserPoolClient),
			AllowedOAuthScopes:                       in.AllowedOAuthScopes,
			AnalyticsConfiguration:                   in.AnalyticsConfiguration,
			CallbackURLs:                             in.CallbackURLs,
			LogoutURLs:                               in.LogoutURLs,
			DefaultRedirectURI:                       in.DefaultRedirectURI,
			SupportedIdentityProviders:               in.SupportedIdentityProviders,
			RefreshTokenRotation:                     in.RefreshTokenRotation,
			EnablePropagateAdditionalUserContextData: in.EnablePropagateAdditionalUserContextData,
		},
		CreationDate: now, LastModifiedDate: now,
	}
	if c.secret != "" {
		c.out.ClientSecret = aws.String(c.secret)
	}
	e.auth.clients[c.id] = c
	e.auth.mu.Unlock()
	return map[string]any{"UserPoolClient": c.out}, nil
}

func (e *Emulator) describeUserPoolClient(region string, body []byte) (any, error) {
	var in cip.DescribeUserPoolClientInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	c, err := e.client(region, in.ClientId)
	if err != nil || c.poolID != p.id {
		return nil, errClientNotFound(aws.ToString(in.ClientId))
	}
	return map[string]any{"UserPoolClient": c.out}, nil
}

func (e *Emulator) deleteUserPoolClient(region string, body []byte) (any, error) {
	var in cip.DeleteUserPoolClientInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	c, err := e.client(region, in.ClientId)
	if err != nil || c.poolID != p.id {
		return nil, errClientNotFound(aws.ToString(in.ClientId))
	}
	e.auth.mu.Lock()
	delete(e.auth.clients, c.id)
	e.auth.mu.Unlock()
	return struct{}{}, nil
}

func errClientNotFound(id string) *apiError {
	return newError("ResourceNotFoundException", "User pool client %s does not exist.", id)
}

// client finds an app client whose pool still exists in region.
func (e *Emulator) client(region string, id *string) (*appClient, error) {
	if id == nil || *id == "" {
		return nil, errNull("clientId")
	}
	e.auth.mu.Lock()
	c := e.auth.clients[*id]
	e.auth.mu.Unlock()
	if c == nil || (region != "" && c.region != region) {
		return nil, errClientNotFound(*id)
	}
	e.mu.RLock()
	p := e.pools[c.poolID]
	e.mu.RUnlock()
	if p == nil {
		return nil, errClientNotFound(*id)
	}
	return c, nil
}

// clientAndPool resolves the app client of a public operation and its pool.
func (e *Emulator) clientAndPool(region string, id *string) (*appClient, *pool, error) {
	c, err := e.client(region, id)
	if err != nil {
		return nil, nil, err
	}
	p, err := e.pool(c.region, &c.poolID)
	if err != nil {
		return nil, nil, errClientNotFound(c.id)
	}
	return c, p, nil
}

// checkSecretHash enforces SECRET_HASH for clients with a secret:
// Base64(HMAC-SHA256(secret, username + clientId)). names are the names the hash may use
// (the name the caller gave and the user's username).
func (c *appClient) checkSecretHash(hash *string, names ...string) *apiError {
	if c.secret == "" {
		return nil
	}
	if hash == nil || *hash == "" {
		return newError("NotAuthorizedException", "Client %s is configured for secret but secret was not received", c.id)
	}
	for _, n := range names {
		if n != "" && hmac.Equal([]byte(*hash), []byte(SecretHash(c.secret, n, c.id))) {
			return nil
		}
	}
	return newError("NotAuthorizedException", "Unable to verify secret hash for client %s", c.id)
}

// SecretHash computes the SECRET_HASH a client with a secret must send for username.
func SecretHash(clientSecret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(username + clientID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// listUserPoolClients pages a pool's app clients in creation order. Like AWS, it returns only
// their ids and names: WriteAttributes and the other settings come from DescribeUserPoolClient.
func (e *Emulator) listUserPoolClients(region string, body []byte) (any, error) {
	var in cip.ListUserPoolClientsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := e.pool(region, in.UserPoolId)
	if err != nil {
		return nil, err
	}
	limit := int32(60)
	if in.MaxResults != nil {
		if apiErr := checkRange("maxResults", *in.MaxResults, 1, 60); apiErr != nil {
			return nil, apiErr
		}
		limit = *in.MaxResults
	}
	scope := "ListUserPoolClients\x00" + p.id
	from, err := e.cursor(scope, in.NextToken)
	if err != nil {
		return nil, err
	}
	e.auth.mu.Lock()
	var all []*appClient
	for _, c := range e.auth.clients {
		if c.poolID == p.id {
			all = append(all, c)
		}
	}
	e.auth.mu.Unlock()
	slices.SortFunc(all, func(a, b *appClient) int {
		if d := a.out.CreationDate - b.out.CreationDate; d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	out := struct {
		UserPoolClients []types.UserPoolClientDescription
		NextToken       *string `json:",omitempty"`
	}{UserPoolClients: []types.UserPoolClientDescription{}}
	start := min(int(from), len(all))
	end := min(start+int(limit), len(all))
	for _, c := range all[start:end] {
		out.UserPoolClients = append(out.UserPoolClients, types.UserPoolClientDescription{ClientId: aws.String(c.id), ClientName: c.out.ClientName, UserPoolId: aws.String(p.id)})
	}
	if end < len(all) {
		out.NextToken = aws.String(e.token(scope, uint64(end)))
	}
	return out, nil
}

// cmpOr returns v, or def when v is nil.
func cmpOr[T any](v, def *T) *T {
	if v == nil {
		return def
	}
	return v
}
