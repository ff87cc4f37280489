package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The files of a data directory. scenario.json is written last, so a directory holding it holds
// a whole saved state.
const (
	scenarioFile   = "scenario.json"
	cognitoFile    = "cognito.json"
	logsFile       = "logs.json"
	s3File         = "s3.gob"
	snsFile        = "sns.json"
	executionsFile = "executions.gob"
	ssmFile        = "ssm.json"
)

// Save writes the stack's state into dir, one file per service, each replaced atomically
// (a temporary file renamed over it): the Cognito pools and users (with their identity providers,
// resource servers and domains), the CloudWatch Logs, every S3 bucket and object, the SNS topics
// and subscriptions, Parameter Store (the pools' modes), the executions of sm (a running one as ABORTED, see localstates.Server.Save;
// sm may be nil), and the scenario's ids. Restore and RestoreExecutions read it back.
func (s *Stack) Save(dir string, sc *Scenario, sm *StateMachines) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{cognitoFile, s.Cognito.Save},
		{logsFile, s.Logs.Save},
		{s3File, s.AWS.SaveS3},
		{snsFile, s.AWS.SaveSNS},
		{ssmFile, s.SSM.Save},
		{executionsFile, func(w io.Writer) error {
			if sm == nil {
				return nil
			}
			return sm.API.Save(w)
		}},
		{scenarioFile, func(w io.Writer) error { return json.NewEncoder(w).Encode(sc) }},
	}
	for _, f := range files {
		if err := writeAtomic(filepath.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("save %s: %w", f.name, err)
		}
	}
	return nil
}

func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Restore loads a state Save wrote into dir: pools and users, logs, S3, SNS topics and
// subscriptions, Parameter Store, and the scenario, whose SNS topic it creates again (a directory
// saved without SNS or Parameter Store has none). It returns nil and no error when dir holds no saved state (it may
// not exist), so the caller seeds instead. Executions come back with RestoreExecutions, once the
// state machines are registered.
func (s *Stack) Restore(ctx context.Context, dir string) (*Scenario, error) {
	raw, err := os.ReadFile(filepath.Join(dir, scenarioFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var sc Scenario
	if err := json.Unmarshal(raw, &sc); err != nil {
		return nil, fmt.Errorf("load %s: %w", scenarioFile, err)
	}
	for _, f := range []struct {
		name string
		read func(io.Reader) error
		// optional: a directory saved before the file existed loads without it
		optional bool
	}{{cognitoFile, s.Cognito.Load, false}, {logsFile, s.Logs.Load, false}, {s3File, s.AWS.LoadS3, false}, {snsFile, s.AWS.LoadSNS, true}, {ssmFile, s.SSM.Load, true}} {
		err := readFile(filepath.Join(dir, f.name), f.read)
		if f.optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", f.name, err)
		}
	}
	if sc.TopicArn, err = s.CreateTopic(ctx, ControlRegion, notificationTopic); err != nil {
		return nil, err
	}
	return &sc, nil
}

// OpenScenario gives the stack its scenario and serves the state machines, as `cognito-dr local`
// does: the state saved in dataDir when it holds one (restored is then true), else a scenario
// seeded with users in the Tokyo pool. An empty dataDir always seeds. Either way the pools' mode
// parameters are set as a deployment sets them (Tokyo active, Osaka fenced) where none is (a
// saved mode, a failover's say, stays). The caller closes sm.API.
func (s *Stack) OpenScenario(ctx context.Context, dataDir string, users int) (sc *Scenario, sm *StateMachines, restored bool, err error) {
	return s.OpenScenarioWith(ctx, dataDir, TokyoPool(users), OsakaPool())
}

// OpenScenarioWith is OpenScenario seeding the given pools (SyntheticPools, say) when dataDir
// holds no saved state.
func (s *Stack) OpenScenarioWith(ctx context.Context, dataDir string, tokyo, osaka PoolSpec) (sc *Scenario, sm *StateMachines, restored bool, err error) {
	if dataDir != "" {
		if sc, err = s.Restore(ctx, dataDir); err != nil {
			return nil, nil, false, err
		}
	}
	restored = sc != nil
	if !restored {
		if sc, err = s.SeedScenarioWith(ctx, tokyo, osaka); err != nil {
			return nil, nil, false, err
		}
	}
	primary, dr := sc.GatePools()
	if _, err = s.SetDeployedModes(ctx, primary, dr, ""); err != nil {
		return nil, nil, false, err
	}
	if sm, err = s.ServeStateMachines(sc); err != nil {
		return nil, nil, false, err
	}
	if restored {
		if err := sm.RestoreExecutions(dataDir); err != nil {
			sm.API.Close()
			return nil, nil, false, err
		}
	}
	return sc, sm, restored, nil
}

// RestoreExecutions loads the executions Save wrote into dir, if any, into sm's API.
func (sm *StateMachines) RestoreExecutions(dir string) error {
	err := readFile(filepath.Join(dir, executionsFile), sm.API.Load)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", executionsFile, err)
	}
	return nil
}

func readFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return read(f)
}
