// Command reopen-dr is the Lambda of the failback state machine's ReopenDrAfterRejection and ReopenDrAfterTimeout tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

func main() { lambdamain.Start(failback.ReopenDrTask) }
