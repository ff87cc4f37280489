package secretsmanager_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
	localsecrets "github.com/cognito-dr/cognito-dr/internal/local/secretsmanager"
)

var at = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// start serves a Store on the loopback endpoint, as the dev stack does, and returns SDK clients
// for two Regions.
func start(t *testing.T) (*secretsmanager.Client, *secretsmanager.Client) {
	t.Helper()
	store := localsecrets.New(localsecrets.Options{AccountID: "000000000000", Clock: func() time.Time { return at }})
	st, err := loopback.Start(loopback.Config{SecretsManager: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return secretsmanager.NewFromConfig(st.AWSConfig("ap-northeast-1")), secretsmanager.NewFromConfig(st.AWSConfig("ap-northeast-3"))
}

var arnPattern = regexp.MustCompile(`^arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:cognito-dr/idp/corp-[A-Za-z0-9]{6}$`)

// TestCreatePutGetSecret: a secret created with a value is read back by its name and by its ARN
// (the name, a hyphen and six random characters); PutSecretValue makes a new current version;
// a binary secret comes back as bytes.
func TestCreatePutGetSecret(t *testing.T) {
	ctx := context.Background()
	tokyo, _ := start(t)
	const name = "cognito-dr/idp/corp"
	made, err := tokyo.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"client_secret":"s1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(made.ARN)
	if !arnPattern.MatchString(arn) || aws.ToString(made.Name) != name || aws.ToString(made.VersionId) == "" {
		t.Fatalf("CreateSecret: ARN %s name %s version %s", arn, aws.ToString(made.Name), aws.ToString(made.VersionId))
	}
	for _, id := range []string{name, arn} {
		got, err := tokyo.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetSecretValue(%s): %v", id, err)
		}
		if aws.ToString(got.SecretString) != `{"client_secret":"s1"}` || aws.ToString(got.ARN) != arn || got.VersionStages[0] != "AWSCURRENT" || !got.CreatedDate.Equal(at) {
			t.Errorf("GetSecretValue(%s): %s %s %v %v", id, aws.ToString(got.SecretString), aws.ToString(got.ARN), got.VersionStages, got.CreatedDate)
		}
	}
	put, err := tokyo.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(`{"client_secret":"s2"}`)})
	if err != nil || aws.ToString(put.VersionId) == aws.ToString(made.VersionId) {
		t.Fatalf("PutSecretValue: %+v, %v; want a new version", put, err)
	}
	got, err := tokyo.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil || aws.ToString(got.SecretString) != `{"client_secret":"s2"}` || aws.ToString(got.VersionId) != aws.ToString(put.VersionId) {
		t.Errorf("after PutSecretValue: %+v, %v", got, err)
	}
	if _, err := tokyo.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("key.pem"), SecretBinary: []byte{0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	bin, err := tokyo.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("key.pem")})
	if err != nil || string(bin.SecretBinary) != "\x00\x01\x02" || bin.SecretString != nil {
		t.Errorf("binary secret: %+v, %v", bin, err)
	}
}

// TestSecretErrors: what AWS refuses is refused with its exception: an unknown secret or ARN, a
// secret that has no value yet, a second secret of one name, a string and a binary value together.
// Secrets are regional: one made in Tokyo is not found in Osaka.
func TestSecretErrors(t *testing.T) {
	ctx := context.Background()
	tokyo, osaka := start(t)
	made, err := tokyo.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("cognito-dr/idp/corp"), SecretString: aws.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokyo.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}
	notFound := func(err error) bool { return errors.As(err, new(*types.ResourceNotFoundException)) }
	for _, tt := range []struct {
		name string
		err  error
		ok   func(error) bool
	}{
		{"unknown name", get(ctx, tokyo, "nope"), notFound},
		{"unknown ARN", get(ctx, tokyo, aws.ToString(made.ARN)+"x"), notFound},
		{"other Region", get(ctx, osaka, aws.ToString(made.ARN)), notFound},
		{"no value yet", get(ctx, tokyo, "empty"), notFound},
		{"name taken", func() error {
			_, err := tokyo.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty")})
			return err
		}(), func(err error) bool { return errors.As(err, new(*types.ResourceExistsException)) }},
		{"string and binary", func() error {
			_, err := tokyo.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("a"), SecretBinary: []byte("b")})
			return err
		}(), func(err error) bool { return errors.As(err, new(*types.InvalidParameterException)) }},
		{"put to unknown", func() error {
			_, err := tokyo.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("a")})
			return err
		}(), notFound},
	} {
		if !tt.ok(tt.err) {
			t.Errorf("%s: %v", tt.name, tt.err)
		}
	}
}

func get(ctx context.Context, c *secretsmanager.Client, id string) error {
	_, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	return err
}
