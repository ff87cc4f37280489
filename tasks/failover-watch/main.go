// Command failover-watch is the mode watch's Lambda: invoked every minute by its EventBridge schedule, it
// publishes both pools' modes as CloudWatch metrics for the stack's alarms.
package main

import (
	"github.com/cognito-dr/cognito-dr/internal/lambdamain"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
)

func main() { lambdamain.Start(failover.FailoverWatchTask) }
