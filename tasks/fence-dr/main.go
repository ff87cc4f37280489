// Command fence-dr is the Lambda of the failback state machine's FenceDr task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.FenceDrTask) }
