// Command failover-verify is the Lambda of the failover state machine's Verify task.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

func main() { lambdamain.Start(failover.FailoverVerifyTask) }
