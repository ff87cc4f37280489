// Command export-failback-pools is the Lambda of the failback state machine's ExportPools and
// ExportFinalPools loops.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.ExportFailbackPoolsTask) }
