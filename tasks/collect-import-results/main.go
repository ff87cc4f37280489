// Command collect-import-results is the Lambda of the failback state machine's CollectImportResults task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.CollectImportResultsTask) }
