// Command plan-failback is the Lambda of the failback state machine's PlanFailback and PlanFinalDelta tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.PlanFailbackTask) }
