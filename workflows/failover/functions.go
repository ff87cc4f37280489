package failover

import (
	"context"
	"log/slog"
	"os"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
)

var topicSetting = boundary.Setting{Name: "TOPIC_ARN"}

// The tasks of failover.asl.json: each Lambda main starts one, the local executor binds them all
// (Steps.Functions), the ASL lint checks them against the states and the CDK stack deploys them.
// FencePrimary serves both fencing states (the first attempt and the retries).
var (
	FailoverCheckTask = boundary.Task[*Steps, CheckInput, Run]{
		Name: "failover-check", Placeholder: "FailoverCheckFunctionArn",
		Load: load, Step: (*Steps).CheckRequest,
	}
	FailoverFenceTask = boundary.Task[*Steps, RunInput, Run]{
		Name: "failover-fence", Placeholder: "FailoverFenceFunctionArn",
		Load: load, Step: (*Steps).FencePrimary,
	}
	FailoverActivateTask = boundary.Task[*Steps, RunInput, Run]{
		Name: "failover-activate", Placeholder: "FailoverActivateFunctionArn",
		Load: load, Step: (*Steps).ActivateDr,
	}
	FailoverPauseTask = boundary.Task[*Steps, RunInput, Run]{
		Name: "failover-pause", Placeholder: "FailoverPauseFunctionArn",
		Load: load, Step: (*Steps).PauseReconcile,
	}
	FailoverVerifyTask = boundary.Task[*Steps, RunInput, Run]{
		Name: "failover-verify", Placeholder: "FailoverVerifyFunctionArn",
		Load: load, Step: (*Steps).Verify,
	}
	FailoverNotifyTask = boundary.Task[*Steps, NotifyInput, Report]{
		Name: "failover-notify", Placeholder: "FailoverNotifyFunctionArn",
		Settings: []boundary.Setting{topicSetting},
		Load:     load, Step: (*Steps).NotifyFailover,
	}
)

// Tasks are the tasks of failover.asl.json.
var Tasks = []boundary.Def[*Steps]{
	FailoverCheckTask, FailoverFenceTask, FailoverActivateTask, FailoverPauseTask, FailoverVerifyTask, FailoverNotifyTask,
}

// FailoverWatchTask is the mode watch: no state machine's task, a Lambda its EventBridge schedule
// invokes every minute with a WatchInput. Its metrics go to the function's standard output
// (embedded metric format), from which CloudWatch Logs extracts them.
var FailoverWatchTask = boundary.Task[*Steps, WatchInput, WatchResult]{
	Name: "failover-watch",
	Load: func(ctx context.Context, env *boundary.Env, clients *awsclients.Clients, log *slog.Logger) (*Steps, error) {
		s, err := load(ctx, env, clients, log)
		if err != nil {
			return nil, err
		}
		s.Metrics = os.Stdout
		return s, nil
	},
	Step: (*Steps).WatchModes,
}

// Functions maps each task placeholder of failover.asl.json to its handler on s: the local
// executor's binding.
func (s *Steps) Functions(log *slog.Logger) map[string]boundary.Func {
	return boundary.Bind(Tasks, s, log)
}

// load is a failover task's Load: the steps on clients, with TOPIC_ARN when the task declares it.
func load(_ context.Context, env *boundary.Env, clients *awsclients.Clients, _ *slog.Logger) (*Steps, error) {
	s := NewSteps(clients, "")
	if env.Declares(topicSetting.Name) {
		s.TopicArn = env.Get(topicSetting.Name)
	}
	return s, nil
}

// NewSteps builds the steps on AWS clients.
func NewSteps(clients *awsclients.Clients, topicArn string) *Steps {
	return &Steps{
		Failover: &failover.Failover{
			SSM:       func(region string) poolmode.SSM { return clients.SSM(region) },
			Scheduler: func(region string) failover.Scheduler { return clients.Scheduler(region) },
		},
		SNS:      func(region string) notify.Publisher { return clients.SNS(region) },
		TopicArn: topicArn,
	}
}
