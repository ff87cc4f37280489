// Command failover-notify is the Lambda of the failover state machine's NotifyResult, NotifyFailed and
// NotifyFailedAfterChanges tasks.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

func main() { lambdamain.Start(failover.FailoverNotifyTask) }
