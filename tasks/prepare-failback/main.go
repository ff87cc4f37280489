// Command prepare-failback is the Lambda of the failback state machine's PreparePlan and
// PrepareFinalPlan tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.PrepareFailbackTask) }
