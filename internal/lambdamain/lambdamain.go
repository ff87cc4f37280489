// Package lambdamain is the whole of a task Lambda's main: logs, configuration from the
// environment, AWS clients, and one typed task or trigger started on the Lambda runtime.
package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
)

// Logger is the Lambda's logger: aws-lambda-go's lambdacontext handler, which adds the
// invocation's requestId to every line, writes JSON when the function's log format is JSON
// (AWS_LAMBDA_LOG_FORMAT) and drops lines below the function's application log level
// (AWS_LAMBDA_LOG_LEVEL).
func Logger() *slog.Logger { return lambdacontext.NewLogger() }

// Start runs task t. It exits if t's settings are incomplete or malformed or its steps cannot be
// built, so a misconfigured deployment fails at its first invocation with every problem named
// in the log.
func Start[S, In, Out any](t boundary.Task[S, In, Out]) {
	log := Logger()
	h, err := build(context.Background(), t, os.Getenv, log)
	if err != nil {
		log.Error("task cannot start", slog.String("task", t.Name), slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(h)
}

func build(ctx context.Context, t interface {
	Start(context.Context, func(string) string, *awsclients.Clients, *slog.Logger) (boundary.Func, error)
}, getenv func(string) string, log *slog.Logger) (boundary.Func, error) {
	clients, err := awsclients.Load(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return t.Start(ctx, getenv, clients, log)
}

// StartTrigger runs Cognito trigger t. It never exits: a trigger that cannot start would fail
// every sign-up or sign-in, so configuration and AWS client problems are the handler's to
// report, invocation by invocation, while it answers Cognito.
func StartTrigger(t boundary.Trigger) {
	lambda.Start(t.Start(os.Getenv, func(ctx context.Context) (*awsclients.Clients, error) { return awsclients.Load(ctx, os.Getenv) }, Logger()))
}
