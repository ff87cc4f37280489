// Command failover-activate is the Lambda of the failover state machine's ActivateDr task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

func main() { lambdamain.Start(failover.FailoverActivateTask) }
