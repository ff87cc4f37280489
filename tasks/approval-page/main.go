// Command approval-page is the Lambda behind the failback approval links (a Function URL or an API
// Gateway HTTP API, payload format 2.0). GET shows the plan; POST records the decision once and
// resumes the waiting execution. Configuration: see approval.Config.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/lambdahttp"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	svc, err := approval.FromEnv(context.Background(), os.Getenv, log)
	if err != nil {
		// Exit so a misconfigured deployment fails its first invocation with the settings named.
		log.Error("approval page cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(lambdahttp.Handler(svc))
}
