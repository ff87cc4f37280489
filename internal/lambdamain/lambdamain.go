// Package lambdamain is the whole of a task Lambda's main: JSON logs, configuration from the
// environment, AWS clients, and the handler of one state machine task started on the Lambda runtime.
package lambdamain

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cognito-dr/cognito-dr/internal/awsclients"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
)

// Loader builds the task handlers of one workflow, keyed by their ASL placeholder.
type Loader func(getenv func(string) string, clients *awsclients.Clients, log *slog.Logger) (map[string]boundary.Func, error)

// Start runs the handler that replaces placeholder in the workflow's ASL. It exits if the
// configuration is incomplete, so a misconfigured deployment fails at its first invocation with
// the missing settings named in the log.
func Start(placeholder string, load Loader) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	handler, err := build(placeholder, load, log)
	if err != nil {
		log.Error("task cannot start", slog.String("task", placeholder), slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(handler)
}

func build(placeholder string, load Loader, log *slog.Logger) (boundary.Func, error) {
	clients, err := awsclients.Load(context.Background(), os.Getenv)
	if err != nil {
		return nil, err
	}
	handlers, err := load(os.Getenv, clients, log)
	if err != nil {
		return nil, err
	}
	h, ok := handlers[placeholder]
	if !ok {
		return nil, fmt.Errorf("workflow has no task %s", placeholder)
	}
	return h, nil
}
