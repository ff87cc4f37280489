package cognito

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
)

const (
	postConfirmationARN = "arn:aws:lambda:ap-northeast-1:123456789012:function:post-confirmation"
	preTokenARN         = "arn:aws:lambda:ap-northeast-1:123456789012:function:pre-token"
	testPassword        = "Correct-Horse-1"
)

// testClock is an emulator clock tests move by hand, for TOTP steps and code expiry.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authEnv is an emulator served over HTTP with one pool and one app client.
type authEnv struct {
	e        *Emulator
	c        *cip.Client
	url      string
	clock    *testClock
	poolID   string
	clientID string
}

func newAuthEnv(t *testing.T, in *cip.CreateUserPoolInput, client *cip.CreateUserPoolClientInput) *authEnv {
	t.Helper()
	clock := &testClock{t: testNow}
	// Cognito's 5 s trigger timeout, on the wall clock: the tests' triggers answer at once, and a
	// short timeout would race them on a loaded machine. A test of the timeout sets its own.
	e := New(Options{Seed: 42, Clock: clock.Now, DisableQuotas: true})
	mux := http.NewServeMux()
	mux.Handle(JWKSPath, e.JWKSHandler())
	mux.Handle("/", e)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := cip.New(cip.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "secret"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: loopback.HTTPClient(),
	})
	env := &authEnv{e: e, c: c, url: srv.URL, clock: clock}
	env.poolID = createTOTPPool(t, c, in)
	if client == nil {
		client = &cip.CreateUserPoolClientInput{}
	}
	client.UserPoolId = &env.poolID
	if client.ClientName == nil {
		client.ClientName = aws.String("app")
	}
	if client.ExplicitAuthFlows == nil {
		client.ExplicitAuthFlows = []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}
	}
	cout, err := c.CreateUserPoolClient(context.Background(), client)
	if err != nil {
		t.Fatalf("CreateUserPoolClient: %v", err)
	}
	env.clientID = aws.ToString(cout.UserPoolClient.ClientId)
	return env
}

// mfaPoolInput is the DR pool shape: email as username, email auto-verified, MFA required,
// PostConfirmation and PreTokenGeneration triggers.
func mfaPoolInput() *cip.CreateUserPoolInput {
	return &cip.CreateUserPoolInput{
		PoolName:               aws.String("dr-auth"),
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		MfaConfiguration:       types.UserPoolMfaTypeOn,
		LambdaConfig:           &types.LambdaConfigType{PostConfirmation: aws.String(postConfirmationARN), PreTokenGeneration: aws.String(preTokenARN)},
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("primary_sub"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)},
		},
	}
}

func plainPoolInput() *cip.CreateUserPoolInput {
	return &cip.CreateUserPoolInput{
		PoolName:               aws.String("plain"),
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
	}
}

func (env *authEnv) signIn(ctx context.Context, username, password string) (*cip.InitiateAuthOutput, error) {
	return env.c.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: &env.clientID, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	})
}

func (env *authEnv) respond(ctx context.Context, name types.ChallengeNameType, session *string, resp map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
	return env.c.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: &env.clientID, ChallengeName: name, Session: session, ChallengeResponses: resp})
}

func (env *authEnv) totp(t *testing.T, secret string) string {
	t.Helper()
	code, err := TOTPCode(secret, env.clock.Now())
	if err != nil {
		t.Fatalf("TOTPCode: %v", err)
	}
	return code
}

// rawCall sends a signed-looking JSON 1.1 request, for operations newer than the pinned SDK.
func (env *authEnv) rawCall(t *testing.T, op string, in any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, env.url+"/", bytes.NewReader(b))
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261127/"+testRegion+"/cognito-idp/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// verifyIDToken checks an ID token the way an app does: signature against the pool's JWKS
// (fetched over HTTP), issuer, audience and token_use; it returns the claims.
func (env *authEnv) verifyIDToken(t *testing.T, tok string) map[string]any {
	t.Helper()
	resp, err := http.Get(env.url + JWKSPath + env.poolID + "/.well-known/jwks.json")
	if err != nil {
		t.Fatalf("get JWKS: %v", err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []jwk }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token has %d parts", len(parts))
	}
	var hdr struct{ Kid, Alg string }
	decodeSegment(t, parts[0], &hdr)
	var key *rsa.PublicKey
	for _, k := range set.Keys {
		if k.Kid == hdr.Kid {
			n, _ := base64.RawURLEncoding.DecodeString(k.N)
			e, _ := base64.RawURLEncoding.DecodeString(k.E)
			key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}
	}
	if key == nil || hdr.Alg != "RS256" {
		t.Fatalf("no RS256 key %q in the pool's JWKS", hdr.Kid)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	var claims map[string]any
	decodeSegment(t, parts[1], &claims)
	want := map[string]any{"iss": "https://cognito-idp." + testRegion + ".amazonaws.com/" + env.poolID, "aud": env.clientID, "token_use": "id"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3600 {
		t.Errorf("exp - iat = %v, want 3600", exp-iat)
	}
	return claims
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("decode JWT segment: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode JWT segment: %v", err)
	}
}

// triggerLog records the events a fake Lambda receives.
type triggerLog struct {
	mu     sync.Mutex
	events []json.RawMessage
}

func (l *triggerLog) record(ev json.RawMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *triggerLog) all() []json.RawMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]json.RawMessage(nil), l.events...)
}

// echo is a trigger that records its event and returns it unchanged.
func (l *triggerLog) echo(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
	l.record(ev)
	return ev, nil
}

// addClaim is a PreTokenGeneration trigger that adds claim=value to the ID token.
func (l *triggerLog) addClaim(claim, value string) LambdaFunc {
	return func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
		l.record(ev)
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			return nil, err
		}
		m["response"] = map[string]any{"claimsOverrideDetails": map[string]any{"claimsToAddOrOverride": map[string]string{claim: value}}}
		return json.Marshal(m)
	}
}

func mustSub(t *testing.T, e *Emulator, poolID, username string) string {
	t.Helper()
	e.mu.RLock()
	p := e.pools[poolID]
	e.mu.RUnlock()
	p.mu.RLock()
	defer p.mu.RUnlock()
	u := p.lookup(username)
	if u == nil {
		t.Fatalf("no user %s", username)
	}
	return u.subStr()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%s: %s", apiCode(err), apiMessage(err))
}

// createTOTPPool creates a pool the way AWS allows TOTP-only MFA: CreateUserPool with MFA OFF
// (it refuses ON or OPTIONAL without SMS), then SetUserPoolMfaConfig with the software token.
func createTOTPPool(t *testing.T, c *cip.Client, in *cip.CreateUserPoolInput) string {
	t.Helper()
	ctx := context.Background()
	mfa := in.MfaConfiguration
	create := *in
	if in.SmsConfiguration == nil {
		create.MfaConfiguration = types.UserPoolMfaTypeOff
	}
	out, err := c.CreateUserPool(ctx, &create)
	if err != nil {
		t.Fatalf("CreateUserPool: %v", err)
	}
	id := aws.ToString(out.UserPool.Id)
	if create.MfaConfiguration != mfa {
		if _, err := c.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &id, MfaConfiguration: mfa,
			SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}); err != nil {
			t.Fatalf("SetUserPoolMfaConfig: %v", err)
		}
	}
	return id
}
