package devstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

// Scenario is the classic deployment the demo, tests and `make local` seed: a primary pool in
// Tokyo, an empty DR pool in Osaka, the backup bucket and the operators' topic in Osaka.
type Scenario struct {
	Tokyo, Osaka PoolSpec
	TokyoID      string
	OsakaID      string
	Bucket       string
	BucketRegion string
	TopicArn     string
}

// notificationTopic is the scenario's SNS topic, in ControlRegion.
const notificationTopic = "cognito-dr-notifications"

// SeedScenario creates the scenario with users in the Tokyo pool.
func (s *Stack) SeedScenario(ctx context.Context, users int) (*Scenario, error) {
	return s.SeedScenarioWith(ctx, TokyoPool(users), OsakaPool())
}

// SeedScenarioWith creates the scenario from the given pool specs (a case-insensitive pair, say).
func (s *Stack) SeedScenarioWith(ctx context.Context, tokyo, osaka PoolSpec) (*Scenario, error) {
	sc := &Scenario{Tokyo: tokyo, Osaka: osaka, Bucket: "cognito-dr-backups-osaka", BucketRegion: ControlRegion}
	var err error
	if sc.TokyoID, err = s.SeedPool(sc.Tokyo); err != nil {
		return nil, err
	}
	if sc.OsakaID, err = s.SeedPool(sc.Osaka); err != nil {
		return nil, err
	}
	if err := s.AWS.CreateBucket(sc.Bucket); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", sc.Bucket, err)
	}
	if sc.TopicArn, err = s.CreateTopic(ctx, ControlRegion, notificationTopic); err != nil {
		return nil, err
	}
	return sc, nil
}

// BackupRequest is the console input that backs the Tokyo pool up to Osaka, with import CSVs
// built for the Osaka pool.
func (sc *Scenario) BackupRequest() map[string]any {
	return map[string]any{
		"userPoolId": sc.TokyoID, "region": sc.Tokyo.Region,
		"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion,
		"targetUserPoolId": sc.OsakaID, "targetRegion": sc.Osaka.Region,
	}
}

// SetDeployedModes writes the modes a deployment starts with, the primary active and the DR pool
// fenced (message is the fenced pool's FENCED_MESSAGE, empty for the built-in one), where none is
// set: deploying again must not undo a failover. It returns both pools' mode parameters by pool ID.
func (s *Stack) SetDeployedModes(ctx context.Context, primary, dr GatePool, message string) (map[string]poolmode.Parameter, error) {
	params := map[string]poolmode.Parameter{}
	now := time.Now().UTC()
	for _, p := range []struct {
		pool GatePool
		mode poolmode.Mode
	}{{primary, poolmode.Active}, {dr, poolmode.Fenced}} {
		param := poolmode.Parameter{Client: s.Clients.SSM(p.pool.Region), Name: poolmode.ParameterName(p.pool.ID)}
		_, err := param.Get(ctx)
		if errors.Is(err, poolmode.ErrNotSet) {
			err = param.Set(ctx, poolmode.State{Mode: p.mode, Since: now, Cause: poolmode.CauseDeploy, Message: message})
		}
		if err != nil {
			return nil, err
		}
		params[p.pool.ID] = param
	}
	return params, nil
}
