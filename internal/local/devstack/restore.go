package devstack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// RestoreRunner is the restore state machine on the local stack with its approval pages.
type RestoreRunner struct {
	Steps     *restore.Steps
	Exec      *asl.Executor
	Approvals *approval.Service
}

// RestoreWorkflow wires the restore workflow for the scenario: steps on the stack's clients, the
// import tasks bound to the same handlers as failback's, approvals answered through svc (nil: a
// service of its own, its pages served by the stack, decisions delivered to this executor). wrap,
// if set, may replace task handlers before they are bound.
func (s *Stack) RestoreWorkflow(sc *Scenario, svc *approval.Service, wrap func(map[string]boundary.Func), opts ...asl.Option) (*RestoreRunner, error) {
	own := svc == nil
	if own {
		var err error
		if svc, err = s.localApprovals(sc); err != nil {
			return nil, err
		}
	}
	steps := restore.NewSteps(s.Clients, sc.TopicArn, ImportLogsRoleArn)
	steps.Approvals = svc
	functions := steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if wrap != nil {
		wrap(functions)
	}
	exec, err := Executor(statemachines.Restore, functions, opts...)
	if err != nil {
		return nil, err
	}
	if own {
		svc.Callbacks = Callbacks{Executor: exec}
	}
	return &RestoreRunner{Steps: steps, Exec: exec, Approvals: svc}, nil
}

// localApprovals is an approval service with a fresh signing key, its pages served by the stack.
func (s *Stack) localApprovals(sc *Scenario) (*approval.Service, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	signer, err := approval.NewSigner(key)
	if err != nil {
		return nil, err
	}
	svc := &approval.Service{
		Store:  &approval.S3Store{Client: s.Clients.S3(sc.BucketRegion), Bucket: sc.Bucket},
		Signer: signer,
		Log:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	svc.BaseURL = s.ServeApprovals(svc)
	return svc, nil
}

// RestoreRequest is the console input that restores the snapshot of manifestKey into the
// existing pool target in region.
func (sc *Scenario) RestoreRequest(manifestKey, target, region string) map[string]any {
	return map[string]any{
		"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion, "snapshot": manifestKey,
		"target": map[string]any{"userPoolId": target, "region": region},
	}
}

// BackupTokyo runs the backup state machine once for the scenario and returns the manifest key
// of the snapshot it took.
func (s *Stack) BackupTokyo(ctx context.Context, sc *Scenario, name string, opts ...asl.Option) (string, error) {
	return s.BackupTokyoWith(ctx, sc, name, nil, opts...)
}

// BackupTokyoWith is BackupTokyo with the backup's steps changed by configure first (a short
// export budget, say, so the snapshot's users come in several parts).
func (s *Stack) BackupTokyoWith(ctx context.Context, sc *Scenario, name string, configure func(*backup.Steps), opts ...asl.Option) (string, error) {
	steps := backup.NewSteps(s.Clients, backup.Config{TopicArn: sc.TopicArn})
	if configure != nil {
		configure(steps)
	}
	exec, err := Executor(statemachines.Backup, steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil))), opts...)
	if err != nil {
		return "", err
	}
	in, err := json.Marshal(sc.BackupRequest())
	if err != nil {
		return "", err
	}
	x, err := exec.Run(ctx, name, in)
	if x == nil {
		return "", err
	}
	if x.Status() != asl.StatusSucceeded {
		return "", fmt.Errorf("backup %s: %s %s %s", name, x.Status(), x.ErrorName(), x.Cause())
	}
	var out struct {
		ManifestKey string `json:"manifestKey"`
	}
	if err := json.Unmarshal(x.Output(), &out); err != nil || out.ManifestKey == "" {
		return "", fmt.Errorf("backup %s: no manifest key in %s (%v)", name, x.Output(), err)
	}
	return out.ManifestKey, nil
}
