package readiness_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/readiness"
)

// regionSSM is one Region's Parameter Store; err fails every read.
type regionSSM struct {
	values map[string]string
	err    error
}

func (r *regionSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if r.err != nil {
		return nil, r.err
	}
	v, ok := r.values[aws.ToString(in.Name)]
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

func (r *regionSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	r.values[aws.ToString(in.Name)] = aws.ToString(in.Value)
	return &ssm.PutParameterOutput{}, nil
}

func TestModes(t *testing.T) {
	cfg := readiness.Config{PrimaryPool: "ap-northeast-1_Tokyo1", PrimaryRegion: "ap-northeast-1", DRPool: "ap-northeast-3_Osaka1", DRRegion: "ap-northeast-3"}
	since := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name        string
		primary, dr poolmode.Mode // "" leaves the parameter unset
		drErr       error
		want        readiness.Status
		reasonHas   string
	}{
		{"primary active, DR fenced", poolmode.Active, poolmode.Fenced, nil, readiness.OK, "primary ap-northeast-1_Tokyo1 active since 2026-11-30T00:00:00Z"},
		{"failed over", poolmode.Fenced, poolmode.Active, nil, readiness.OK, "DR ap-northeast-3_Osaka1 active"},
		{"active/active", poolmode.Active, poolmode.Active, nil, readiness.Fail, "both pools are active"},
		{"fenced/fenced", poolmode.Fenced, poolmode.Fenced, nil, readiness.Fail, "both pools are fenced"},
		{"DR mode not set", poolmode.Active, "", nil, readiness.Warn, "DR pool ap-northeast-3_Osaka1 has no mode"},
		{"DR Region unreadable", poolmode.Active, poolmode.Fenced, errors.New("AccessDeniedException"), readiness.Warn, "AccessDeniedException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stores := map[string]*regionSSM{cfg.PrimaryRegion: {values: map[string]string{}}, cfg.DRRegion: {values: map[string]string{}}}
			for _, p := range []struct {
				pool, region string
				mode         poolmode.Mode
			}{{cfg.PrimaryPool, cfg.PrimaryRegion, c.primary}, {cfg.DRPool, cfg.DRRegion, c.dr}} {
				if p.mode == "" {
					continue
				}
				param := poolmode.Parameter{Client: stores[p.region], Name: poolmode.ParameterName(p.pool)}
				if err := param.Set(t.Context(), poolmode.State{Mode: p.mode, Since: since, Cause: poolmode.CauseDeploy}); err != nil {
					t.Fatal(err)
				}
			}
			stores[cfg.DRRegion].err = c.drErr
			got := readiness.Modes(t.Context(), func(region string) poolmode.SSM { return stores[region] }, cfg)
			if got.Name != readiness.CheckModes || got.Status != c.want || !strings.Contains(got.Reason, c.reasonHas) {
				t.Errorf("Modes = %s %s %q, want %s with %q", got.Name, got.Status, got.Reason, c.want, c.reasonHas)
			}
		})
	}
}
