package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// RetryBucket is the local replicate trigger's retry store: in the primary Region (Tokyo),
// because the trigger runs there and its failures are the DR Region's.
const RetryBucket = "cognito-dr-replication-tokyo"

// Replication is the scenario's replication on the local stack: the two Cognito triggers, the
// retry store they share with reconcile, and the reconcile state machine.
type Replication struct {
	Steps *replication.Steps
	// Retry is the same S3 retry store production uses, on the local S3.
	Retry *replication.S3RetryStore
	Exec  *asl.Executor
	// Replicate is the Tokyo pool's PostConfirmation trigger and PreToken the Osaka pool's
	// PreTokenGeneration trigger, as Lambda invokes them (event JSON in, event JSON out).
	Replicate, PreToken boundary.Func
	// ReplicateARN and PreTokenARN are the function ARNs the pools' LambdaConfig name.
	ReplicateARN, PreTokenARN string
}

// Replication wires replication for the scenario. wrap, if set, may replace reconcile task
// handlers before they are bound (fault tests crash a task this way); log receives the
// triggers' and tasks' log lines (nil discards them).
func (s *Stack) Replication(sc *Scenario, wrap func(map[string]boundary.Func), log *slog.Logger, opts ...asl.Option) (*Replication, error) {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if err := s.AWS.CreateBucket(RetryBucket); err != nil {
		return nil, err
	}
	steps := replication.NewSteps(s.Clients)
	steps.TopicArn = sc.TopicArn
	steps.DRUserPoolID, steps.DRRegion = sc.OsakaID, sc.Osaka.Region
	retry := &replication.S3RetryStore{Client: s.Clients.S3(sc.Tokyo.Region), Bucket: RetryBucket}
	steps.Retry = retry
	functions := steps.Functions(log)
	if wrap != nil {
		wrap(functions)
	}
	exec, err := Executor(statemachines.Reconcile, functions, opts...)
	if err != nil {
		return nil, err
	}
	return &Replication{
		Steps: steps, Retry: retry, Exec: exec,
		Replicate:    replication.ReplicateTrigger(steps, log),
		PreToken:     replication.PreTokenTrigger(steps, log),
		ReplicateARN: fmt.Sprintf("arn:aws:lambda:%s:%s:function:cognito-dr-replicate", sc.Tokyo.Region, localaws.DefaultAccountID),
		PreTokenARN:  fmt.Sprintf("arn:aws:lambda:%s:%s:function:cognito-dr-pre-token", sc.Osaka.Region, localaws.DefaultAccountID),
	}, nil
}

// BindTriggers registers the triggers with a Lambda registry under their ARNs: the emulator's
// RegisterLambda once it offers one (the journey test binds them this way), after which the
// pools' LambdaConfig (PostConfirmation on Tokyo = ReplicateARN, PreTokenGeneration on Osaka =
// PreTokenARN) makes Cognito invoke them.
func (r *Replication) BindTriggers(register func(arn string, fn boundary.Func)) {
	register(r.ReplicateARN, r.Replicate)
	register(r.PreTokenARN, r.PreToken)
}

// RegisterTriggers binds the triggers in the Cognito emulator under their ARNs. The pools invoke
// them once their LambdaConfig names the ARNs: PostConfirmation = ReplicateARN on Tokyo,
// PreTokenGeneration = PreTokenARN on Osaka (UpdateUserPool replaces the whole configuration, so
// set it with the rest of the pool's settings).
func (s *Stack) RegisterTriggers(r *Replication) {
	r.BindTriggers(func(arn string, fn boundary.Func) { s.Cognito.RegisterLambda(arn, localcognito.LambdaFunc(fn)) })
}

// ReconcileRequest is the scheduled input that reconciles Osaka with Tokyo.
func (sc *Scenario) ReconcileRequest(mirrorDeletes bool) map[string]any {
	in := map[string]any{
		"primaryUserPoolId": sc.TokyoID, "primaryRegion": sc.Tokyo.Region,
		"drUserPoolId": sc.OsakaID, "drRegion": sc.Osaka.Region,
		"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion,
	}
	if mirrorDeletes {
		in["mirrorDeletes"] = true
	}
	return in
}

// ReplicateToOsakaExcept is ReplicateToOsaka leaving out the Tokyo users skip selects (by seed
// index), which then drift as missing. The copies carry no TOTP: secrets cannot be copied.
func (s *Stack) ReplicateToOsakaExcept(sc *Scenario, at time.Time, skip func(i int) bool) error {
	return s.Cognito.SeedUsers(sc.OsakaID, func(yield func(localcognito.SeedUser) bool) {
		i := -1
		for u := range sc.Tokyo.SeedUsers() {
			i++
			if skip != nil && skip(i) {
				continue
			}
			sub := u.Attributes["sub"]
			delete(u.Attributes, "sub")
			if sc.Osaka.DR {
				u.Attributes[replication.PrimarySubAttribute] = sub
			}
			u.Created = at
			u.HasSoftwareToken, u.MFAEnabled, u.MFAPreferred = false, nil, ""
			if !yield(u) {
				return
			}
		}
	})
}

// ReconcileRun is one reconcile execution's result, for tests and the benchmark.
type ReconcileRun struct {
	Output  replication.Output
	Path    []string
	Seconds float64
}

// RunReconcile runs one reconcile of the scenario to its end and returns its counts and wall
// time. reg, if not nil, replaces the default pacing (the AWS default quotas).
func (s *Stack) RunReconcile(ctx context.Context, sc *Scenario, name string, mirrorDeletes bool, reg *quota.Registry) (ReconcileRun, error) {
	r, err := s.Replication(sc, nil, nil)
	if err != nil {
		return ReconcileRun{}, err
	}
	if reg != nil {
		r.Steps.Quota = reg
	}
	return r.Run(ctx, name, sc.ReconcileRequest(mirrorDeletes))
}

// Run starts a reconcile execution with input and waits for its end.
func (r *Replication) Run(ctx context.Context, name string, input map[string]any) (ReconcileRun, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return ReconcileRun{}, err
	}
	start := time.Now()
	x, err := r.Exec.Start(ctx, name, raw)
	if err != nil {
		return ReconcileRun{}, err
	}
	if err := x.Wait(ctx); err != nil {
		return ReconcileRun{}, err
	}
	run := ReconcileRun{Path: x.Path(), Seconds: time.Since(start).Seconds()}
	if x.Status() != asl.StatusSucceeded {
		return run, fmt.Errorf("reconcile %s: %s %s: %s", name, x.Status(), x.ErrorName(), x.Cause())
	}
	if err := json.Unmarshal(x.Output(), &run.Output); err != nil {
		return run, fmt.Errorf("reconcile %s output: %w", name, err)
	}
	return run, nil
}

// PostConfirmationEvent is the event Cognito sends the Tokyo pool's PostConfirmation trigger when
// the user with email and sub confirms their sign-up: what the replicate benchmark invokes.
func (sc *Scenario) PostConfirmationEvent(email, sub string) json.RawMessage {
	ev := map[string]any{
		"version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp", "region": sc.Tokyo.Region,
		"userPoolId": sc.TokyoID, "userName": sub,
		"callerContext": map[string]any{"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "local-app-client"},
		"request": map[string]any{"userAttributes": map[string]string{
			"sub": sub, "email": email, "email_verified": "true", "given_name": "Bench", "custom:tenant": Tenants[len(email)%len(Tenants)],
			"cognito:user_status": "CONFIRMED", "cognito:email_alias": email,
		}},
		"response": map[string]any{},
	}
	raw, _ := json.Marshal(ev)
	return raw
}
