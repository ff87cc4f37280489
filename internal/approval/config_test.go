package approval

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestLoadConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	_, err := LoadConfig(env(nil))
	if err == nil {
		t.Fatal("empty environment accepted")
	}
	for _, name := range []string{"APPROVAL_BUCKET", "BASE_URL", "APPROVAL_SIGNING_KEY_PARAM"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	full := map[string]string{"APPROVAL_BUCKET": "b", "BASE_URL": "https://x.lambda-url.ap-northeast-3.on.aws", "APPROVAL_SIGNING_KEY_PARAM": "/cognito-dr/approval-key"}
	c, err := LoadConfig(env(full))
	if err != nil || c.Bucket != "b" || c.SigningKeyParam != "/cognito-dr/approval-key" {
		t.Errorf("LoadConfig = %+v, %v", c, err)
	}
	full["APPROVAL_SIGNING_KEY"] = "k"
	if _, err := LoadConfig(env(full)); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Errorf("two key settings: %v", err)
	}
}

func TestSigningKeyFromSSMAndSecretsManager(t *testing.T) {
	type call struct{ Target, Scope string }
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		json.Unmarshal(body, &in)
		auth := r.Header.Get("Authorization")
		_, scope, _ := strings.Cut(auth, "/ap-northeast-3/")
		scope, _, _ = strings.Cut(scope, ",")
		calls = append(calls, call{r.Header.Get("X-Amz-Target"), scope})
		switch r.Header.Get("X-Amz-Target") {
		case "AmazonSSM.GetParameter":
			if in["Name"] != "/k" || in["WithDecryption"] != true {
				t.Errorf("GetParameter input %v", in)
			}
			io.WriteString(w, `{"Parameter":{"Name":"/k","Type":"SecureString","Value":"from-ssm"}}`)
		case "secretsmanager.GetSecretValue":
			if in["SecretId"] == "missing" {
				w.WriteHeader(400)
				io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
				return
			}
			io.WriteString(w, `{"Name":"k","SecretString":"from-secrets-manager"}`)
		}
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "ap-northeast-3", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		})}
	for _, tt := range []struct {
		c    Config
		want string
	}{
		{Config{SigningKeyParam: "/k"}, "from-ssm"},
		{Config{SigningKeySecret: "k"}, "from-secrets-manager"},
		{Config{SigningKey: "direct"}, "direct"},
	} {
		got, err := SigningKey(t.Context(), cfg, tt.c)
		if err != nil || string(got) != tt.want {
			t.Errorf("SigningKey(%+v) = %q, %v; want %q", tt.c, got, err, tt.want)
		}
	}
	want := []call{{"AmazonSSM.GetParameter", "ssm/aws4_request"}, {"secretsmanager.GetSecretValue", "secretsmanager/aws4_request"}}
	if len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("calls = %v, want %v", calls, want)
	}
	_, err := SigningKey(t.Context(), cfg, Config{SigningKeySecret: "missing"})
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing secret: %v", err)
	}
}

type fakeSSM struct {
	in  *ssm.GetParameterInput
	out *ssm.GetParameterOutput
	err error
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.in = in
	return f.out, f.err
}

type fakeSecrets struct {
	in  *secretsmanager.GetSecretValueInput
	out *secretsmanager.GetSecretValueOutput
	err error
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.in = in
	return f.out, f.err
}

func TestKeySources(t *testing.T) {
	p := &fakeSSM{out: &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String("from-ssm")}}}
	s := &fakeSecrets{out: &secretsmanager.GetSecretValueOutput{SecretString: aws.String("from-secret")}}
	k := KeySources{SSM: p, SecretsManager: s}

	got, err := k.SigningKey(t.Context(), Config{SigningKeyParam: "/cognito-dr/approval-key"})
	if err != nil || string(got) != "from-ssm" {
		t.Errorf("parameter: %q, %v", got, err)
	}
	if aws.ToString(p.in.Name) != "/cognito-dr/approval-key" || !aws.ToBool(p.in.WithDecryption) {
		t.Errorf("GetParameter input: name %q, decryption %v", aws.ToString(p.in.Name), aws.ToBool(p.in.WithDecryption))
	}
	arn := "arn:aws:secretsmanager:ap-northeast-3:123456789012:secret:cognito-dr/approval-signing-key-AbCdEf"
	got, err = k.SigningKey(t.Context(), Config{SigningKeySecret: arn})
	if err != nil || string(got) != "from-secret" || aws.ToString(s.in.SecretId) != arn {
		t.Errorf("secret: %q, %v, SecretId %q", got, err, aws.ToString(s.in.SecretId))
	}
	s.out = &secretsmanager.GetSecretValueOutput{SecretBinary: []byte("binary-key")}
	if got, err = k.SigningKey(t.Context(), Config{SigningKeySecret: arn}); err != nil || string(got) != "binary-key" {
		t.Errorf("binary secret: %q, %v", got, err)
	}
	// Neither call is made for a key given directly.
	p.in, s.in = nil, nil
	if got, err = (KeySources{}).SigningKey(t.Context(), Config{SigningKey: "direct"}); err != nil || string(got) != "direct" {
		t.Errorf("direct: %q, %v", got, err)
	}

	// Errors name the parameter or secret and never carry a value.
	s.out, s.err = nil, errors.New("AccessDeniedException: not allowed")
	if _, err := k.SigningKey(t.Context(), Config{SigningKeySecret: arn}); err == nil || !strings.Contains(err.Error(), arn) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("secret error: %v", err)
	}
	s.out, s.err = &secretsmanager.GetSecretValueOutput{}, nil
	if _, err := k.SigningKey(t.Context(), Config{SigningKeySecret: arn}); err == nil || !strings.Contains(err.Error(), "no value") {
		t.Errorf("empty secret: %v", err)
	}
	p.out = &ssm.GetParameterOutput{}
	if _, err := k.SigningKey(t.Context(), Config{SigningKeyParam: "/k"}); err == nil || !strings.Contains(err.Error(), "/k") {
		t.Errorf("empty parameter: %v", err)
	}
	if _, err := k.SigningKey(t.Context(), Config{}); err == nil {
		t.Errorf("no key setting accepted")
	}
}
