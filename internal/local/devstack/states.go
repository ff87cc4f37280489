package devstack

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localaws "github.com/cognito-dr/cognito-dr/internal/local/loopback"
	localstates "github.com/cognito-dr/cognito-dr/internal/local/states"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// StateMachineARN is the ARN the local stack gives a project state machine: cognito-dr-<name> in
// the control Region, as the CDK stack names them.
func StateMachineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:cognito-dr-%s", ControlRegion, localaws.DefaultAccountID, name)
}

// StateMachines is the stack's Step Functions API with the project's state machines registered.
type StateMachines struct {
	API *localstates.Server
	// ARNs by state machine name (statemachines.Backup, …).
	ARNs map[string]string
	// Failback is the failback runner behind the API: its approval pages are served by the
	// stack, and decisions reach the execution through the Step Functions API, as in AWS.
	Failback    *FailbackRunner
	Replication *Replication
	Failover    *FailoverRunner
	// Restore shares the failback's approval pages and decisions.
	Restore *RestoreRunner
}

// ServeStateMachines registers backup, failback, failover, restore and reconcile for the scenario on the stack's
// Step Functions API, each bound to the same handlers the Lambdas run. Call it once per stack
// (the approval pages mount once).
func (s *Stack) ServeStateMachines(sc *Scenario, opts ...asl.Option) (*StateMachines, error) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	api := localstates.New(nil)
	sm := &StateMachines{API: api, ARNs: map[string]string{}}
	register := func(name string, exec *asl.Executor) error {
		def, err := deployedDefinition(name)
		if err != nil {
			return err
		}
		arn := StateMachineARN(name)
		sm.ARNs[name] = arn
		return api.Register(localstates.Machine{
			ARN: arn, Definition: def, Executor: exec,
			RoleARN: fmt.Sprintf("arn:aws:iam::%s:role/cognito-dr-%s", localaws.DefaultAccountID, name),
		})
	}

	steps := backup.NewSteps(s.Clients, backup.Config{TopicArn: sc.TopicArn})
	exec, err := Executor(statemachines.Backup, steps.Functions(log), opts...)
	if err != nil {
		return nil, err
	}
	if err := register(statemachines.Backup, exec); err != nil {
		return nil, err
	}

	if sm.Failback, err = s.Failback(sc, nil, opts...); err != nil {
		return nil, err
	}
	client := sfn.NewFromConfig(s.AWS.AWSConfig(ControlRegion))
	sm.Failback.Approvals.Callbacks = approval.StepFunctions{Client: client}
	if err := register(statemachines.Failback, sm.Failback.Exec); err != nil {
		return nil, err
	}

	if sm.Failover, err = s.Failover(sc.TopicArn, nil, opts...); err != nil {
		return nil, err
	}
	if err := register(statemachines.Failover, sm.Failover.Exec); err != nil {
		return nil, err
	}

	if sm.Replication, err = s.Replication(sc, nil, log, opts...); err != nil {
		return nil, err
	}
	if err := register(statemachines.Reconcile, sm.Replication.Exec); err != nil {
		return nil, err
	}

	if sm.Restore, err = s.RestoreWorkflow(sc, sm.Failback.Approvals, nil, opts...); err != nil {
		return nil, err
	}
	if err := register(statemachines.Restore, sm.Restore.Exec); err != nil {
		return nil, err
	}
	s.AWS.ServeStepFunctions(api)
	return sm, nil
}

// deployedDefinition is the named definition as the CDK stack deploys it on the local stack:
// every function placeholder replaced by the function's local ARN, as Executor binds them.
func deployedDefinition(name string) ([]byte, error) {
	def, err := statemachines.Definition(name)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, p := range asl.Placeholders(def) {
		vars[p] = FunctionARN(ControlRegion, p)
	}
	return asl.Substitute(def, vars)
}
