package ssm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/loopback"
	localssm "github.com/cognito-dr/cognito-dr/internal/local/ssm"
)

var at = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// start serves a Store on the loopback endpoint, as the dev stack does, and returns SDK clients
// for two Regions.
func start(t *testing.T) (*localssm.Store, *ssm.Client, *ssm.Client) {
	t.Helper()
	store := localssm.New(localssm.Options{AccountID: "000000000000", Clock: func() time.Time { return at }})
	st, err := loopback.Start(loopback.Config{SSM: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return store, ssm.NewFromConfig(st.AWSConfig("ap-northeast-1")), ssm.NewFromConfig(st.AWSConfig("ap-northeast-3"))
}

func TestPutAndGetParameter(t *testing.T) {
	ctx := context.Background()
	_, tokyo, osaka := start(t)
	const name = "/cognito-dr/tokyo/mode"
	if _, err := tokyo.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)}); !errors.As(err, new(*types.ParameterNotFound)) {
		t.Fatalf("GetParameter of a missing parameter: %v, want ParameterNotFound", err)
	}
	put := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(`{"mode":"active"}`), Type: types.ParameterTypeString}
	out, err := tokyo.PutParameter(ctx, put)
	if err != nil || out.Version != 1 || out.Tier != types.ParameterTierStandard {
		t.Fatalf("PutParameter: %+v, %v; want version 1, Standard", out, err)
	}
	if _, err := tokyo.PutParameter(ctx, put); !errors.As(err, new(*types.ParameterAlreadyExists)) {
		t.Fatalf("PutParameter over an existing one without Overwrite: %v, want ParameterAlreadyExists", err)
	}
	put.Value, put.Overwrite = aws.String(`{"mode":"fenced"}`), aws.Bool(true)
	if out, err := tokyo.PutParameter(ctx, put); err != nil || out.Version != 2 {
		t.Fatalf("PutParameter with Overwrite: %+v, %v; want version 2", out, err)
	}
	got, err := tokyo.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	want := types.Parameter{
		ARN: aws.String("arn:aws:ssm:ap-northeast-1:000000000000:parameter/cognito-dr/tokyo/mode"), DataType: aws.String("text"),
		LastModifiedDate: aws.Time(at), Name: aws.String(name), Type: types.ParameterTypeString, Value: aws.String(`{"mode":"fenced"}`), Version: 2,
	}
	if diff := cmp.Diff(want, *got.Parameter, cmp.AllowUnexported(types.Parameter{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("GetParameter (-want +got):\n%s", diff)
	}
	// Parameter Store is regional.
	if _, err := osaka.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)}); !errors.As(err, new(*types.ParameterNotFound)) {
		t.Errorf("the Tokyo parameter read in Osaka: %v, want ParameterNotFound", err)
	}
	many, err := tokyo.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{name, "/nope"}})
	if err != nil || len(many.Parameters) != 1 || !cmp.Equal(many.InvalidParameters, []string{"/nope"}) {
		t.Errorf("GetParameters: %+v, %v", many, err)
	}
}

func TestPutParameterValidation(t *testing.T) {
	ctx := context.Background()
	_, tokyo, _ := start(t)
	for _, in := range []*ssm.PutParameterInput{
		{Name: aws.String("/x"), Value: aws.String("v")}, // a new parameter needs a type
		{Name: aws.String("/x"), Value: aws.String(""), Type: types.ParameterTypeString},
		{Name: aws.String("/x"), Value: aws.String(string(make([]byte, 4097))), Type: types.ParameterTypeString},
	} {
		_, err := tokyo.PutParameter(ctx, in)
		var ae interface{ ErrorCode() string }
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
			t.Errorf("PutParameter %q: %v, want ValidationException", aws.ToString(in.Value), err)
		}
	}
}

func TestUnreachableRegion(t *testing.T) {
	ctx := context.Background()
	store, tokyo, osaka := start(t)
	if _, err := osaka.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/m"), Value: aws.String("v"), Type: types.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	store.SetUnreachable("ap-northeast-3", true)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := osaka.GetParameter(short, &ssm.GetParameterInput{Name: aws.String("/m")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read in an unreachable Region: %v, want the caller's deadline", err)
	}
	if _, err := tokyo.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/m")}); !errors.As(err, new(*types.ParameterNotFound)) {
		t.Errorf("another Region still answers: %v", err)
	}
	store.SetUnreachable("ap-northeast-3", false)
	if _, err := osaka.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/m")}); err != nil {
		t.Errorf("after the Region is back: %v", err)
	}
}
