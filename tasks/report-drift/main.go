// Command report-drift is the Lambda of the reconcile state machine's ReportDrift task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func main() { lambdamain.Start(replication.ReportDriftTask) }
