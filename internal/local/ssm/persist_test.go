package ssm_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// A store loaded from a saved one answers as it did: same values, types, versions and dates in
// each Region, and the next overwrite continues the version.
func TestSaveAndLoadKeepParameters(t *testing.T) {
	ctx := context.Background()
	saved, tokyo, osaka := start(t)
	const name = "/cognito-dr/pool/mode"
	put := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(`{"mode":"active"}`), Type: types.ParameterTypeString}
	if _, err := tokyo.PutParameter(ctx, put); err != nil {
		t.Fatal(err)
	}
	put.Value, put.Overwrite = aws.String(`{"mode":"fenced"}`), aws.Bool(true)
	if _, err := tokyo.PutParameter(ctx, put); err != nil {
		t.Fatal(err)
	}
	if _, err := osaka.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("a,b"), Type: types.ParameterTypeStringList}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := saved.Save(&buf); err != nil {
		t.Fatal(err)
	}
	state := buf.String()

	fresh, tokyo2, osaka2 := start(t)
	if err := fresh.Load(strings.NewReader(state)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		client  *ssm.Client
		value   string
		typ     types.ParameterType
		version int64
	}{{tokyo2, `{"mode":"fenced"}`, types.ParameterTypeString, 2}, {osaka2, "a,b", types.ParameterTypeStringList, 1}} {
		got, err := c.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		p := got.Parameter
		if aws.ToString(p.Value) != c.value || p.Type != c.typ || p.Version != c.version || !aws.ToTime(p.LastModifiedDate).Equal(at) {
			t.Errorf("restored parameter: value %q type %s version %d modified %v; want %q %s %d %v",
				aws.ToString(p.Value), p.Type, p.Version, aws.ToTime(p.LastModifiedDate), c.value, c.typ, c.version, at)
		}
	}
	out, err := tokyo2.PutParameter(ctx, put)
	if err != nil || out.Version != 3 {
		t.Fatalf("overwrite after a restart: %+v, %v; want version 3", out, err)
	}
	if _, err := tokyo2.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("x"), Type: types.ParameterTypeString}); !errors.As(err, new(*types.ParameterAlreadyExists)) {
		t.Errorf("create over a restored parameter: %v, want ParameterAlreadyExists", err)
	}

	// Loading over what the store holds is refused, and nothing is loaded.
	if err := fresh.Load(strings.NewReader(state)); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("Load over existing parameters: %v, want an error naming %s", err, name)
	}
}
