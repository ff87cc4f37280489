// Command export-after is the Lambda of the reconcile state machine's ExportAfter task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.Start(replication.ExportAfterTask) }
