package devstack

import (
	"fmt"
	"maps"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// ControlRegion is where the local stack's state machines and functions "run": the DR Region,
// which must work while the primary is down.
const ControlRegion = "ap-northeast-3"

// Executor binds the named state machine, exactly as embedded, to handlers keyed by the ASL
// placeholders their function ARNs replace: the same substitution the CDK stack makes.
func Executor(name string, functions map[string]boundary.Func, opts ...asl.Option) (*asl.Executor, error) {
	def, err := statemachines.Definition(name)
	if err != nil {
		return nil, err
	}
	vars := make(map[string]string, len(functions))
	tasks := make(map[string]asl.TaskFunc, len(functions))
	for placeholder, fn := range functions {
		arn := FunctionARN(ControlRegion, placeholder)
		vars[placeholder] = arn
		tasks[arn] = asl.TaskFunc(fn)
	}
	// Tasks that use the lambda:invoke integration (needed for .waitForTaskToken) name their
	// function in Parameters; the same functions serve them.
	invoke := asl.LambdaInvoke(maps.Clone(tasks))
	tasks[asl.LambdaInvokeResource] = invoke
	tasks[asl.LambdaInvokeResource+".waitForTaskToken"] = invoke
	def, err = asl.Substitute(def, vars)
	if err != nil {
		return nil, fmt.Errorf("state machine %s: %w", name, err)
	}
	m, err := asl.Parse(def)
	if err != nil {
		return nil, fmt.Errorf("state machine %s: %w", name, err)
	}
	arn := StateMachineARN(name)
	return asl.NewExecutor(m, tasks, append([]asl.Option{asl.WithStateMachineARN(arn)}, opts...)...)
}
