// Command compare-final-plan is the Lambda of the failback state machine's CompareFinalPlan task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.CompareFinalPlanTask) }
