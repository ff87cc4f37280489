package backup

import (
	"context"
	"fmt"

	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// CapturePoolConfig writes pool.json beside the user files: the pool's settings, MFA, app
// clients (without secrets), groups, identity providers (without secrets), resource servers and
// domain, everything needed to create an equivalent pool. Each call is paced to its quota.
func (s *Steps) CapturePoolConfig(ctx context.Context, in PoolConfigInput) (PoolConfigOutput, error) {
	if in.Source.UserPoolID == "" || in.Source.Region == "" || in.Snapshot.Bucket == "" || in.Snapshot.Prefix == "" {
		return PoolConfigOutput{}, stateerr.Invalid("capture pool configuration: source and snapshot are required")
	}
	region := in.Source.Region
	cfg, err := poolconfig.Capture(ctx, s.Cognito(region), s.Quota.Pacer(region, poolconfig.Ops), in.Source.UserPoolID)
	if err != nil {
		return PoolConfigOutput{}, err
	}
	cfg.CapturedAt = s.now().UTC()
	body, err := poolconfig.Encode(cfg)
	if err != nil {
		return PoolConfigOutput{}, err
	}
	obj, err := s3stream.Put(ctx, s.S3(in.Snapshot.Region), in.Snapshot.Bucket, in.Snapshot.Prefix+PoolConfigFile, body)
	if err != nil {
		return PoolConfigOutput{}, fmt.Errorf("write %s: %w", PoolConfigFile, err)
	}
	return PoolConfigOutput{Object: obj, Clients: len(cfg.Clients), Groups: len(cfg.Groups),
		IdentityProviders: len(cfg.IdentityProviders), ResourceServers: len(cfg.ResourceServers)}, nil
}
