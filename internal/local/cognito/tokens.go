package cognito

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// JWKSPath is where JWKSHandler expects to be mounted on the local stack; it serves
// <JWKSPath><poolId>/.well-known/jwks.json. On AWS the same document is at
// https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json, the token issuer
// plus /.well-known/jwks.json.
const JWKSPath = "/_local/cognito-idp/"

// scopeAdmin is the scope of access tokens from the user pools API.
const scopeAdmin = "aws.cognito.signin.user.admin"

// grant is one sign-in: the refresh token and every access/ID token issued from it share its
// origin_jti, so revoking the grant revokes them all (Cognito's token revocation).
type grant struct {
	poolID, clientID string
	sub              [16]byte
	originJTI        string
	refresh          string
	refreshExpires   time.Time
	authTime         int64 // Unix seconds
	revoked          bool
}

type grants struct {
	byOrigin  map[string]*grant
	byRefresh map[string]*grant
	byUser    map[string][]*grant // poolID + "/" + sub
}

func (g *grants) init() {
	g.byOrigin = map[string]*grant{}
	g.byRefresh = map[string]*grant{}
	g.byUser = map[string][]*grant{}
}

func userKey(poolID string, sub [16]byte) string { return poolID + "/" + string(sub[:]) }

// revokeTokens revokes every refresh and access token issued to the user, as GlobalSignOut,
// AdminUserGlobalSignOut and AdminDisableUser do. Callers may hold the pool lock.
func (e *Emulator) revokeTokens(poolID string, sub [16]byte) {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	k := userKey(poolID, sub)
	// Revoked grants stay indexed, so a revoked token is told apart from a forged one.
	for _, g := range e.auth.grants.byUser[k] {
		g.revoked = true
	}
	e.auth.grants.byUser[k] = nil
}

func (e *Emulator) signingKey() *rsa.PrivateKey {
	e.auth.keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("localcognito: generate RSA key: " + err.Error())
		}
		e.auth.key = k
	})
	return e.auth.key
}

// kid names the pool's key. One RSA key serves every pool of an emulator (generating one per
// pool would slow tests); the kid differs per pool, so a token does not verify against another
// pool's JWKS.
func kid(poolID string, k *rsa.PublicKey) string {
	h := sha256.Sum256(append([]byte(poolID+"/"), k.N.Bytes()...))
	return base64.StdEncoding.EncodeToString(h[:])
}

func issuer(region, poolID string) string {
	return "https://cognito-idp." + region + ".amazonaws.com/" + poolID
}

type jwk struct {
	Alg string `json:"alg"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	Use string `json:"use"`
}

// JWKS returns the JSON Web Key Set that verifies the pool's ID and access tokens.
func (e *Emulator) JWKS(poolID string) ([]byte, bool) {
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	if p == nil {
		return nil, false
	}
	pub := &e.signingKey().PublicKey
	b, _ := json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{
		Alg: "RS256", Kty: "RSA", Use: "sig", Kid: kid(poolID, pub),
		E: b64(big.NewInt(int64(pub.E)).Bytes()), N: b64(pub.N.Bytes()),
	}}})
	return b, true
}

// JWKSHandler serves GET <prefix>/<poolId>/.well-known/jwks.json; mount it at JWKSPath.
func (e *Emulator) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutSuffix(r.URL.Path, "/.well-known/jwks.json")
		if r.Method != http.MethodGet && r.Method != http.MethodHead || !ok {
			http.NotFound(w, r)
			return
		}
		poolID := rest[strings.LastIndexByte(rest, '/')+1:]
		b, ok := e.JWKS(poolID)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signJWT renders claims as an RS256 JWT under the pool's kid.
func (e *Emulator) signJWT(poolID string, claims map[string]any) string {
	k := e.signingKey()
	hdr, _ := json.Marshal(map[string]string{"kid": kid(poolID, &k.PublicKey), "alg": "RS256"})
	body, _ := json.Marshal(claims)
	signing := b64(hdr) + "." + b64(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		panic("localcognito: sign JWT: " + err.Error())
	}
	return signing + "." + b64(sig)
}

// parseJWT verifies a token the emulator signed and returns its claims.
func (e *Emulator) parseJWT(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&e.signingKey().PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, false
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(body, &claims) != nil {
		return nil, false
	}
	return claims, true
}

// tokenSet is what a successful sign-in returns (AuthenticationResultType).
type tokenSet struct {
	AccessToken  string
	IdToken      string
	RefreshToken string `json:",omitempty"`
	ExpiresIn    int32
	TokenType    string
}

// claimsFor is the user snapshot tokens are made from, taken under the pool lock.
type claimsFor struct {
	username string
	sub      [16]byte
	attrs    []attr
	groups   []string
	status   string
}

func snapshot(u *user) claimsFor {
	c := claimsFor{username: u.username, sub: u.sub, attrs: append([]attr(nil), u.attrs...), status: statusNames[u.status]}
	for _, g := range u.groups {
		c.groups = append(c.groups, g.name)
	}
	return c
}

// attrMap is the user's attributes as triggers see them: sub first, plus cognito:user_status.
func (c claimsFor) attrMap() map[string]string {
	m := map[string]string{"sub": subString(c.sub), "cognito:user_status": c.status}
	for _, a := range c.attrs {
		m[a.name] = a.value
	}
	return m
}

func subString(s [16]byte) string { return (&user{sub: s}).subStr() }

// tokenOverrides are what a PreTokenGeneration trigger asked for.
type tokenOverrides struct {
	idAdd, accessAdd           map[string]any
	idSuppress, accessSuppress []string
	groups                     []string
	groupsSet                  bool
}

// claims Cognito sets that a trigger cannot add, override or suppress.
var reservedClaims = map[string]bool{
	"acr": true, "amr": true, "aud": true, "auth_time": true, "azp": true, "exp": true, "iat": true,
	"identities": true, "iss": true, "sub": true, "token_use": true, "nonce": true, "at_hash": true,
	"cognito:username": true, "origin_jti": true, "jti": true, "event_id": true, "client_id": true,
	"scope": true, "username": true,
}

// issueTokens signs an ID and an access token for g (and returns g's refresh token when
// withRefresh). The caller holds no lock.
func (e *Emulator) issueTokens(region string, c *appClient, g *grant, u claimsFor, ov tokenOverrides, withRefresh bool) tokenSet {
	now := e.now()
	iss := issuer(region, c.poolID)
	sub := subString(u.sub)
	groups := u.groups
	if ov.groupsSet {
		groups = ov.groups
	}
	id := map[string]any{
		"sub": sub, "iss": iss, "aud": c.id, "token_use": "id", "cognito:username": u.username,
		"origin_jti": g.originJTI, "event_id": uuid.NewString(), "auth_time": g.authTime,
		"iat": now.Unix(), "exp": now.Add(c.idTTL).Unix(), "jti": uuid.NewString(),
	}
	for _, a := range u.attrs {
		switch a.name {
		case "email_verified", "phone_number_verified":
			id[a.name] = a.value == "true"
		default:
			id[a.name] = a.value
		}
	}
	if len(groups) > 0 {
		id["cognito:groups"] = groups
	}
	for k, v := range ov.idAdd {
		if !reservedClaims[k] {
			id[k] = v
		}
	}
	for _, k := range ov.idSuppress {
		if !reservedClaims[k] {
			delete(id, k)
		}
	}
	access := map[string]any{
		"sub": sub, "iss": iss, "client_id": c.id, "token_use": "access", "scope": scopeAdmin,
		"origin_jti": g.originJTI, "event_id": id["event_id"], "auth_time": g.authTime,
		"iat": now.Unix(), "exp": now.Add(c.accessTTL).Unix(), "jti": uuid.NewString(), "username": u.username,
	}
	if len(groups) > 0 {
		access["cognito:groups"] = groups
	}
	for k, v := range ov.accessAdd {
		if !reservedClaims[k] {
			access[k] = v
		}
	}
	for _, k := range ov.accessSuppress {
		if !reservedClaims[k] {
			delete(access, k)
		}
	}
	out := tokenSet{
		AccessToken: e.signJWT(c.poolID, access),
		IdToken:     e.signJWT(c.poolID, id),
		ExpiresIn:   int32(c.accessTTL / time.Second),
		TokenType:   "Bearer",
	}
	if withRefresh {
		out.RefreshToken = g.refresh
	}
	return out
}

// newGrant records a sign-in of the user through c.
func (e *Emulator) newGrant(c *appClient, sub [16]byte) *grant {
	now := e.now()
	g := &grant{
		poolID: c.poolID, clientID: c.id, sub: sub, originJTI: uuid.NewString(),
		refresh:        "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ." + newSecret(96),
		refreshExpires: now.Add(c.refreshTTL), authTime: now.Unix(),
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	e.auth.grants.byOrigin[g.originJTI] = g
	e.auth.grants.byRefresh[g.refresh] = g
	k := userKey(c.poolID, sub)
	e.auth.grants.byUser[k] = append(e.auth.grants.byUser[k], g)
	return g
}

// accessUser resolves an access token to its pool and user, with Cognito's messages; the pool
// is returned locked (write if write) when err is nil.
func (e *Emulator) accessUser(token *string, write bool) (*pool, *user, error) {
	if token == nil || *token == "" {
		return nil, nil, errNull("accessToken")
	}
	claims, ok := e.parseJWT(*token)
	if !ok || claims["token_use"] != "access" {
		return nil, nil, newError("NotAuthorizedException", "Invalid Access Token")
	}
	exp, _ := claims["exp"].(float64)
	if e.now().Unix() >= int64(exp) {
		return nil, nil, newError("NotAuthorizedException", "Access Token has expired")
	}
	origin, _ := claims["origin_jti"].(string)
	e.auth.mu.Lock()
	g := e.auth.grants.byOrigin[origin]
	revoked := g == nil || g.revoked
	e.auth.mu.Unlock()
	if revoked {
		return nil, nil, newError("NotAuthorizedException", "Access Token has been revoked")
	}
	e.mu.RLock()
	p := e.pools[g.poolID]
	e.mu.RUnlock()
	if p == nil {
		return nil, nil, newError("NotAuthorizedException", "Invalid Access Token")
	}
	if write {
		p.mu.Lock()
	} else {
		p.mu.RLock()
	}
	u := p.userBySub(g.sub, write)
	if u == nil {
		if write {
			p.mu.Unlock()
		} else {
			p.mu.RUnlock()
		}
		return nil, nil, errUserNotFound()
	}
	return p, u, nil
}

// regionOfToken reads the Region from an access token's issuer, for routing unsigned calls.
func regionOfToken(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct{ Iss string }
	_ = json.Unmarshal(body, &c)
	host, _, _ := strings.Cut(strings.TrimPrefix(c.Iss, "https://"), "/")
	r, _ := strings.CutPrefix(host, "cognito-idp.")
	r, _ = strings.CutSuffix(r, ".amazonaws.com")
	return r
}
