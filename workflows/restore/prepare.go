package restore

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// PrepareTarget makes the target ready for the snapshot's users, the restore's first write:
// with createPool it creates a pool from the snapshot's pool.json (poolconfig.Create: everything
// CreateUserPool accepts, then MFA, app clients, groups, resource servers; identity providers
// without their secrets, the domain and the triggers are reported, not created; a retry finishes
// the same pool); with missing
// custom attributes the request allows adding, it adds them (AddCustomAttributes). It returns
// the plan, pointed at the target.
func (s *Steps) PrepareTarget(ctx context.Context, in PlanRef) (Plan, error) {
	p := in.Plan
	if p.Snapshot.PoolConfig == nil {
		return Plan{}, stateerr.Invalid("prepare target: the snapshot has no %s", PoolConfigFile)
	}
	store := s.S3(p.Region)
	cfg, err := readPoolConfig(ctx, store, p.Bucket, *p.Snapshot.PoolConfig)
	if err != nil {
		return Plan{}, err
	}
	c := s.Cognito(p.Target.Region)
	pace := s.Quota.Pacer(p.Target.Region, poolconfig.Ops)
	switch p.Prepare {
	case PrepareCreatePool:
		// The execution's name as the token: a retried task finishes the pool an earlier attempt
		// began (poolconfig finds it by its tag) instead of creating another.
		secrets, err := s.readSecrets(ctx, p.Request, cfg)
		if err != nil {
			return Plan{}, err
		}
		opts := poolconfig.Options{Token: p.ExecutionName, ProviderSecrets: secrets.providers, ClientSecrets: secrets.clients}
		if p.Request.Drill {
			// The drill deletes its scratch pool when it is done; the tag lets IAM limit that
			// deletion to scratch pools (aws:ResourceTag).
			opts.DeletionProtection = types.DeletionProtectionTypeInactive
			opts.Tags = map[string]string{DrillTag: "true"}
		}
		made, err := poolconfig.Create(ctx, c, pace, cfg, p.TargetName, opts)
		if err != nil {
			return Plan{}, fmt.Errorf("create the target pool %q in %s: %w", p.TargetName, p.Target.Region, err)
		}
		created := createdPool(made)
		p.Created = &created
		p.Target.UserPoolID = created.UserPoolID
		if err := pace.Wait(ctx, "DescribeUserPool"); err != nil {
			return Plan{}, err
		}
		pool, err := preflight.DescribePool(ctx, c, p.Target.UserPoolID, p.Target.Region)
		if err != nil {
			return Plan{}, fmt.Errorf("the created pool: %w", err)
		}
		described := poolpair.Describe(pool)
		if p.Match, err = poolpair.NewMatcher(described, described); err != nil {
			return Plan{}, stateerr.Invalid("%v", err)
		}
	case PrepareAddAttributes:
		if err := pace.Wait(ctx, "DescribeUserPool"); err != nil {
			return Plan{}, err
		}
		pool, err := preflight.DescribePool(ctx, c, p.Target.UserPoolID, p.Target.Region)
		if err != nil {
			return Plan{}, fmt.Errorf("target pool: %w", err)
		}
		// The gaps are read again, so a retry after a partial add adds only what is still missing.
		if err := poolconfig.AddMissing(ctx, c, pace, p.Target.UserPoolID, poolconfig.SchemaGaps(cfg, pool)); err != nil {
			return Plan{}, err
		}
	default:
		return Plan{}, stateerr.Invalid("prepare target: nothing to do for %q", p.Prepare)
	}
	p.setImport()
	return p, nil
}

// createdPool is what a restore reports of a created pool.
func createdPool(c poolconfig.Created) CreatedPool {
	out := CreatedPool{UserPoolID: c.UserPoolID, Clients: c.ClientIDs, IdentityProviders: c.IdentityProviders}
	if c.Domain.Captured != "" && c.Domain.Created == "" {
		out.Notes = append(out.Notes, fmt.Sprintf("domain %s: %s", c.Domain.Captured, c.Domain.Reason))
	}
	out.Notes = append(out.Notes, c.Notes...)
	slices.Sort(out.Notes)
	return out
}
