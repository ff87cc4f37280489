package devstack

import (
	"io"
	"log/slog"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

// FailoverRunner is the failover state machine on the local stack.
type FailoverRunner struct {
	Steps *failover.Steps
	Exec  *asl.Executor
}

// Failover wires the failover workflow: steps on the stack's clients, outcomes to topicArn. wrap,
// if set, may replace task handlers before they are bound (tests bring a Region back between
// two fence attempts this way).
func (s *Stack) Failover(topicArn string, wrap func(map[string]boundary.Func), opts ...asl.Option) (*FailoverRunner, error) {
	steps := failover.NewSteps(s.Clients, topicArn)
	functions := steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if wrap != nil {
		wrap(functions)
	}
	exec, err := Executor(statemachines.Failover, functions, opts...)
	if err != nil {
		return nil, err
	}
	return &FailoverRunner{Steps: steps, Exec: exec}, nil
}

// FailoverRequest is the console input that fails the scenario over from Tokyo to Osaka.
func (sc *Scenario) FailoverRequest() map[string]any {
	return map[string]any{
		"primaryUserPoolId": sc.TokyoID, "primaryRegion": sc.Tokyo.Region,
		"drUserPoolId": sc.OsakaID, "drRegion": sc.Osaka.Region,
		"message": "Tokyo is closed for now: sign in through the Osaka address",
		"bucket":  sc.Bucket, "bucketRegion": sc.BucketRegion,
	}
}
