// Command activate-primary is the Lambda of the failback state machine's ActivatePrimary task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.ActivatePrimaryTask) }
